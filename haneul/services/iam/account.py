"""Account-wide IAM: alias, password policy, summary, authorization details, credential
report, outbound web identity federation, STS token preferences, context keys."""

from __future__ import annotations

import uuid

from haneul.context import RequestContext
from haneul.services.iam import credential_report, errors, managed
from haneul.services.iam.entities import (LIMITS, check_document, encode_document, find_policy, group_shape,
                                          profile_shape, records, role_shape, user_shape)
from haneul.services.iam.paging import page
from haneul.services.iam.policies import policy_shape
from haneul.services.iam.policy import validate
from haneul.services.iam.simulation import principal_entity, principal_policies

PASSWORD_DEFAULTS = {"MinimumPasswordLength": 6, "RequireSymbols": False, "RequireNumbers": False,
                     "RequireUppercaseCharacters": False, "RequireLowercaseCharacters": False,
                     "AllowUsersToChangePassword": False, "HardExpiry": False}


def account_settings(ctx: RequestContext, rec) -> dict:
    """The account's IAM settings; the first call records the account's creation time."""
    settings = rec.settings()
    if "created" not in settings:
        settings["created"] = ctx.now()
        rec.save_settings(settings)
    return settings


class Account:
    # -- alias ---------------------------------------------------------------------------
    def create_account_alias(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        alias = request["AccountAlias"]
        taken = ctx.db.execute("SELECT account FROM iam_account WHERE region='' AND "
                               "json_extract(data, '$.alias') = ?", (alias,)).fetchone()
        if taken is not None and taken[0] != ctx.account:
            raise errors.already_exists(f"The account alias {alias} already exists.")
        settings = account_settings(ctx, rec)
        settings["alias"] = alias
        rec.save_settings(settings)
        return {}

    def delete_account_alias(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        settings = account_settings(ctx, rec)
        if settings.get("alias") != request["AccountAlias"]:
            raise errors.no_such_entity(f"The account alias {request['AccountAlias']} cannot be found.")
        del settings["alias"]
        rec.save_settings(settings)
        return {}

    def list_account_aliases(self, ctx: RequestContext, request: dict) -> dict:
        alias = records(ctx).settings().get("alias")
        return page([alias] if alias else [], request, lambda a: a, "AccountAliases")

    # -- password policy -------------------------------------------------------------------
    def update_account_password_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        policy = dict(PASSWORD_DEFAULTS)
        policy.update({k: v for k, v in request.items() if v is not None})
        if not policy.get("MaxPasswordAge"):
            policy.pop("MaxPasswordAge", None)
        if not policy.get("PasswordReusePrevention"):
            policy.pop("PasswordReusePrevention", None)
        policy["ExpirePasswords"] = bool(policy.get("MaxPasswordAge"))
        settings = account_settings(ctx, rec)
        settings["password_policy"] = policy
        rec.save_settings(settings)
        return {}

    def get_account_password_policy(self, ctx: RequestContext, request: dict) -> dict:
        policy = records(ctx).settings().get("password_policy")
        if policy is None:
            raise errors.no_such_entity(f"The Password Policy with domain name {ctx.account} cannot be found.")
        return {"PasswordPolicy": policy}

    def delete_account_password_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        settings = rec.settings()
        if settings.pop("password_policy", None) is None:
            raise errors.no_such_entity(f"The Password Policy with domain name {ctx.account} cannot be found.")
        rec.save_settings(settings)
        return {}

    # -- summary -----------------------------------------------------------------------------
    def get_account_summary(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        settings = rec.settings()
        mfa = rec.all("mfa")
        root_keys = rec.scalar("SELECT count(*) FROM iam_access_key WHERE account=? AND region=? AND user_key=''")
        versions = rec.scalar("SELECT count(*) FROM iam_policy_version WHERE account=? AND region=?")
        providers = rec.count("saml-provider") + rec.count("oidc-provider")
        summary = {
            "Users": rec.count("user"), "UsersQuota": LIMITS["Users"],
            "Groups": rec.count("group"), "GroupsQuota": LIMITS["Groups"],
            "Roles": rec.count("role"), "RolesQuota": LIMITS["Roles"],
            "Policies": rec.count("policy"), "PoliciesQuota": LIMITS["Policies"],
            "InstanceProfiles": rec.count("instance-profile"), "InstanceProfilesQuota": LIMITS["InstanceProfiles"],
            "ServerCertificates": rec.count("server-certificate"),
            "ServerCertificatesQuota": LIMITS["ServerCertificates"],
            "MFADevices": len(mfa), "MFADevicesInUse": sum(1 for m in mfa if m["data"].get("user")),
            "AccountMFAEnabled": 0, "AccountAccessKeysPresent": 1 if root_keys else 0,
            "AccountPasswordPresent": 0, "AccountSigningCertificatesPresent": 0,
            "Providers": providers, "PolicyVersionsInUse": versions, "PolicyVersionsInUseQuota": 10000,
            "UserPolicySizeQuota": LIMITS["UserPolicySize"], "GroupPolicySizeQuota": LIMITS["GroupPolicySize"],
            "RolePolicySizeQuota": LIMITS["RolePolicySize"], "PolicySizeQuota": LIMITS["PolicySize"],
            "AssumeRolePolicySizeQuota": LIMITS["ACLSizePerRole"], "GroupsPerUserQuota": LIMITS["GroupsPerUser"],
            "SigningCertificatesPerUserQuota": LIMITS["SigningCertificatesPerUser"],
            "AccessKeysPerUserQuota": LIMITS["AccessKeysPerUser"],
            "AttachedPoliciesPerGroupQuota": LIMITS["PoliciesPerGroup"],
            "AttachedPoliciesPerRoleQuota": LIMITS["PoliciesPerRole"],
            "AttachedPoliciesPerUserQuota": LIMITS["PoliciesPerUser"],
            "VersionsPerPolicyQuota": LIMITS["VersionsPerPolicy"],
            "GlobalEndpointTokenVersion": 2 if settings.get("token_version") == "v2Token" else 1,
        }
        return {"SummaryMap": summary}

    # -- authorization details ----------------------------------------------------------------
    def get_account_authorization_details(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        wanted = set(request.get("Filter") or ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"])
        items: list[tuple[str, str, dict]] = []
        for kind, filt in (("user", "User"), ("group", "Group"), ("role", "Role")):
            if filt in wanted:
                items += [(kind, e["name"].lower(), e) for e in rec.all(kind)]
        if "LocalManagedPolicy" in wanted:
            items += [("policy", e["name"].lower(), e) for e in rec.all("policy")]
        if "AWSManagedPolicy" in wanted:
            attached = {r[0] for r in rec.rows("SELECT DISTINCT policy_arn FROM iam_attached WHERE account=? "
                                               "AND region=?")}
            items += [("zaws", p["name"].lower(), p) for p in managed.all_policies() if p["arn"] in attached]
        order = {"user": 0, "group": 1, "role": 2, "policy": 3, "zaws": 4}
        items.sort(key=lambda it: (order[it[0]], it[1]))
        out = page(items, request, lambda it: [order[it[0]], it[1]], "Items")
        result = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": [],
                  "IsTruncated": out["IsTruncated"]}
        if "Marker" in out:
            result["Marker"] = out["Marker"]
        for kind, _, e in out["Items"]:
            if kind == "user":
                result["UserDetailList"].append(self._user_detail(rec, e))
            elif kind == "group":
                detail = group_shape(e)
                detail["GroupPolicyList"] = self._inline(rec, "group", e)
                detail["AttachedManagedPolicies"] = self._attached(rec, "group", e)
                result["GroupDetailList"].append(detail)
            elif kind == "role":
                result["RoleDetailList"].append(self._role_detail(rec, e))
            else:
                result["Policies"].append(self._policy_detail(rec, kind, e))
        return result

    @staticmethod
    def _inline(rec, kind: str, entity: dict) -> list[dict]:
        return [{"PolicyName": r[0], "PolicyDocument": encode_document(r[1])} for r in rec.rows(
            "SELECT name, document FROM iam_inline WHERE account=? AND region=? AND kind=? AND key=? ORDER BY name_key",
            kind, entity["name"].lower())]

    @staticmethod
    def _attached(rec, kind: str, entity: dict) -> list[dict]:
        out = []
        for r in rec.rows("SELECT policy_arn FROM iam_attached WHERE account=? AND region=? AND kind=? AND key=?",
                          kind, entity["name"].lower()):
            found = find_policy(rec, r[0])
            if found:
                out.append({"PolicyName": found["name"], "PolicyArn": found["arn"]})
        return sorted(out, key=lambda p: p["PolicyName"].lower())

    def _user_detail(self, rec, user: dict) -> dict:
        detail = user_shape(user)
        detail["UserPolicyList"] = self._inline(rec, "user", user)
        groups = [r[0] for r in rec.rows("SELECT group_key FROM iam_member WHERE account=? AND region=? AND user_key=?",
                                         user["name"].lower())]
        detail["GroupList"] = [g["name"] for g in rec.by_keys("group", groups)]
        detail["AttachedManagedPolicies"] = self._attached(rec, "user", user)
        return detail

    def _role_detail(self, rec, role: dict) -> dict:
        detail = role_shape(role)
        detail.pop("MaxSessionDuration", None)
        detail.pop("Description", None)
        keys = [r[0] for r in rec.rows("SELECT profile_key FROM iam_profile_role WHERE account=? AND region=? "
                                       "AND role_key=?", role["name"].lower())]
        detail["InstanceProfileList"] = [profile_shape(rec, p) for p in rec.by_keys("instance-profile", keys)]
        detail["RolePolicyList"] = self._inline(rec, "role", role)
        detail["AttachedManagedPolicies"] = self._attached(rec, "role", role)
        return detail

    @staticmethod
    def _policy_detail(rec, kind: str, e: dict) -> dict:
        if kind == "policy":
            detail = policy_shape(rec, {"arn": e["arn"], "aws": False, "entity": e}, full=False)
            if e["data"].get("description") is not None:
                detail["Description"] = e["data"]["description"]
            detail["PolicyVersionList"] = [
                {"Document": encode_document(r["document"]), "VersionId": f"v{r['version']}",
                 "IsDefaultVersion": bool(r["is_default"]), "CreateDate": r["created"]}
                for r in rec.rows("SELECT * FROM iam_policy_version WHERE account=? AND region=? AND policy_key=? "
                                  "ORDER BY version DESC", e["name"].lower())]
            return detail
        detail = policy_shape(rec, {"arn": e["arn"], "aws": True})
        detail["PolicyVersionList"] = [{"Document": encode_document(e["document"]), "VersionId": e["version"],
                                        "IsDefaultVersion": True, "CreateDate": e["updated"]}]
        return detail

    # -- credential report --------------------------------------------------------------------
    def generate_credential_report(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        settings = account_settings(ctx, rec)
        report = settings.get("credential_report")
        fresh = report is not None and ctx.now() - report["generated"] < credential_report.EXPIRES_AFTER
        content = credential_report.build(rec, ctx.now(), settings["created"])
        settings["credential_report"] = {"generated": ctx.now(), "content": content.decode()}
        rec.save_settings(settings)
        if fresh:
            return {"State": "COMPLETE"}
        return {"State": "STARTED", "Description": "No report exists. Starting a new report generation task"}

    def get_credential_report(self, ctx: RequestContext, request: dict) -> dict:
        report = records(ctx).settings().get("credential_report")
        if report is None:
            raise errors.AwsError("CredentialReportNotPresentException",
                                  "Unknown: Credential report does not exist. Use GenerateCredentialReport to "
                                  "generate one.")
        if ctx.now() - report["generated"] >= credential_report.EXPIRES_AFTER:
            raise errors.AwsError("CredentialReportExpiredException",
                                  "The credential report is expired. Use GenerateCredentialReport to generate a "
                                  "new one.")
        return {"Content": report["content"].encode(), "ReportFormat": "text/csv", "GeneratedTime": report["generated"]}

    # -- outbound web identity federation, STS preferences --------------------------------------
    def enable_outbound_web_identity_federation(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        settings = account_settings(ctx, rec)
        federation = settings.get("outbound_federation") or {}
        if federation.get("enabled"):
            raise errors.AwsError("FeatureEnabledException", "Outbound web identity federation is already enabled.")
        federation["enabled"] = True
        federation.setdefault("issuer", f"https://{uuid.uuid4()}.tokens.sts.global.api.aws")
        settings["outbound_federation"] = federation
        rec.save_settings(settings)
        return {"IssuerIdentifier": federation["issuer"]}

    def disable_outbound_web_identity_federation(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        settings = account_settings(ctx, rec)
        federation = settings.get("outbound_federation") or {}
        if not federation.get("enabled"):
            raise errors.AwsError("FeatureDisabledException", "Outbound web identity federation is already disabled.")
        federation["enabled"] = False
        settings["outbound_federation"] = federation
        rec.save_settings(settings)
        return {}

    def get_outbound_web_identity_federation_info(self, ctx: RequestContext, request: dict) -> dict:
        federation = records(ctx).settings().get("outbound_federation") or {}
        if not federation.get("enabled"):
            raise errors.AwsError("FeatureDisabledException", "Outbound web identity federation is disabled.")
        return {"IssuerIdentifier": federation["issuer"], "JwtVendingEnabled": True}

    def set_security_token_service_preferences(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        settings = account_settings(ctx, rec)
        settings["token_version"] = request["GlobalEndpointTokenVersion"]
        rec.save_settings(settings)
        return {}

    # -- context keys ---------------------------------------------------------------------------
    @staticmethod
    def _context_keys(documents: list[str]) -> list[str]:
        keys: dict[str, None] = {}
        for document in documents:
            policy = check_document(document, validate.IDENTITY)
            statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
            for statement in statements:
                for block in (statement.get("Condition") or {}).values():
                    for key in block:
                        keys.setdefault(key, None)
        return list(keys)

    def get_context_keys_for_custom_policy(self, ctx: RequestContext, request: dict) -> dict:
        return {"ContextKeyNames": self._context_keys(request["PolicyInputList"])}

    def get_context_keys_for_principal_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        kind, entity = principal_entity(rec, request["PolicySourceArn"])
        docs = [p.document for p in principal_policies(rec, kind, entity)]
        return {"ContextKeyNames": self._context_keys(docs + list(request.get("PolicyInputList") or []))}
