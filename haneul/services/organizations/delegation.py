"""Trusted service access, delegated administrators and the organization's resource
policy (which delegates Organizations operations to member accounts)."""

from __future__ import annotations

import fnmatch
import json

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.services.base import tag_dict
from haneul.services.organizations import errors, ids
from haneul.services.organizations.access import Access, Scope, page
from haneul.services.organizations.records import account_shape
from haneul.services.organizations.tagging import check_tags

# Services that integrate with Organizations (the "AWS services that you can use with
# AWS Organizations" list).  Any other *.amazonaws.com principal is accepted too, so a
# service newer than this list still works; anything else is unrecognized.
KNOWN_PRINCIPALS = frozenset({
    "access-analyzer.amazonaws.com", "account.amazonaws.com", "auditmanager.amazonaws.com",
    "aws-artifact-account-sync.amazonaws.com", "backup.amazonaws.com", "member.org.stacksets.cloudformation.amazonaws.com",
    "cloudtrail.amazonaws.com", "compute-optimizer.amazonaws.com", "config.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com", "controltower.amazonaws.com", "detective.amazonaws.com",
    "devops-guru.amazonaws.com", "ds.amazonaws.com", "fms.amazonaws.com", "guardduty.amazonaws.com",
    "health.amazonaws.com", "inspector2.amazonaws.com", "ipam.amazonaws.com", "license-manager.amazonaws.com",
    "macie.amazonaws.com", "mgn.amazonaws.com", "ram.amazonaws.com", "securityhub.amazonaws.com",
    "securitylake.amazonaws.com", "servicecatalog.amazonaws.com", "servicequotas.amazonaws.com",
    "sso.amazonaws.com", "ssm.amazonaws.com", "stacksets.cloudformation.amazonaws.com",
    "storage-lens.s3.amazonaws.com", "tagpolicies.tag.amazonaws.com", "wellarchitected.amazonaws.com",
    "reporting.trustedadvisor.amazonaws.com", "iam.amazonaws.com", "cost-optimization-hub.bcm.amazonaws.com",
    "malware-protection.guardduty.amazonaws.com", "networkmanager.amazonaws.com", "aws-marketplace.amazonaws.com",
})
MAX_DELEGATED_PER_SERVICE = 5


def check_principal(principal: str) -> None:
    if principal not in KNOWN_PRINCIPALS and not principal.endswith(".amazonaws.com"):
        raise errors.unrecognized_principal()


def _not_registered() -> AwsError:
    return AwsError("AccountNotRegisteredException",
                    "The provided account is not a registered delegated administrator for your organization.")


class DelegationOps(Access):
    # -- trusted access -------------------------------------------------------------------
    def enable_aws_service_access(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        principal = request["ServicePrincipal"]
        check_principal(principal)
        if scope.org["feature_set"] != "ALL":
            raise errors.not_all_features()
        ctx.db.execute("INSERT OR IGNORE INTO org_service_access(org, principal, enabled) VALUES (?, ?, ?)",
                       (scope.id, principal, scope.now))
        return {}

    def disable_aws_service_access(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        check_principal(request["ServicePrincipal"])
        ctx.db.execute("DELETE FROM org_service_access WHERE org=? AND principal=?",
                       (scope.id, request["ServicePrincipal"]))
        return {}

    def list_aws_service_access_for_organization(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        rows = scope.rec.all("SELECT * FROM org_service_access WHERE org=? ORDER BY principal", scope.id)
        shapes = [{"ServicePrincipal": r["principal"], "DateEnabled": r["enabled"]} for r in rows]
        items, more = page(shapes, request, key=lambda s: s["ServicePrincipal"])
        return {"EnabledServicePrincipals": items, **more}

    # -- delegated administrators ---------------------------------------------------------
    def register_delegated_administrator(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        account, principal = request["AccountId"], request["ServicePrincipal"]
        check_principal(principal)
        if account == scope.mgmt:
            raise errors.constraint("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
                                    "You cannot register master account/yourself as delegated administrator "
                                    "for your organization.")
        row = scope.rec.member(scope.id, account)
        if row is None:
            raise errors.account_not_found()
        if row["state"] != "ACTIVE":
            raise errors.constraint("CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR",
                                    "You can't register a suspended account as a delegated administrator.")
        if scope.rec.one("SELECT 1 FROM org_delegated WHERE org=? AND account=? AND principal=?",
                         scope.id, account, principal):
            raise AwsError("AccountAlreadyRegisteredException",
                           "The provided account is already a delegated administrator for your organization.")
        count = scope.rec.one("SELECT COUNT(*) FROM org_delegated WHERE org=? AND principal=?",
                              scope.id, principal)[0]
        if count >= MAX_DELEGATED_PER_SERVICE:
            raise errors.constraint("MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED",
                                    "You attempted to register more delegated administrators than allowed "
                                    "for the service principal.")
        ctx.db.execute("INSERT INTO org_delegated(org, account, principal, enabled) VALUES (?, ?, ?, ?)",
                       (scope.id, account, principal, scope.now))
        return {}

    def deregister_delegated_administrator(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        account, principal = request["AccountId"], request["ServicePrincipal"]
        check_principal(principal)
        if scope.rec.member(scope.id, account) is None:
            raise errors.account_not_found()
        deleted = ctx.db.execute("DELETE FROM org_delegated WHERE org=? AND account=? AND principal=?",
                                 (scope.id, account, principal)).rowcount
        if not deleted:
            raise _not_registered()
        return {}

    def list_delegated_administrators(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        principal = request.get("ServicePrincipal")
        if principal:
            check_principal(principal)
            rows = scope.rec.all("SELECT account, MIN(enabled) AS enabled FROM org_delegated WHERE org=? AND "
                                 "principal=? GROUP BY account ORDER BY MIN(enabled), account", scope.id, principal)
        else:
            rows = scope.rec.all("SELECT account, MIN(enabled) AS enabled FROM org_delegated WHERE org=? "
                                 "GROUP BY account ORDER BY MIN(enabled), account", scope.id)
        shapes = []
        for r in rows:
            account = scope.rec.member(scope.id, r["account"])
            if account is not None:
                shape = account_shape(scope.org, account, scope.now)
                shape["DelegationEnabledDate"] = r["enabled"]
                shapes.append(shape)
        items, more = page(shapes, request)
        return {"DelegatedAdministrators": items, **more}

    def list_delegated_services_for_account(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        account = request["AccountId"]
        if scope.rec.member(scope.id, account) is None:
            raise errors.account_not_found()
        rows = scope.rec.delegations(scope.id, account)
        if not rows:
            raise _not_registered()
        shapes = [{"ServicePrincipal": r["principal"], "DelegationEnabledDate": r["enabled"]} for r in rows]
        items, more = page(shapes, request, key=lambda s: s["ServicePrincipal"])
        return {"DelegatedServices": items, **more}

    # -- resource policy ------------------------------------------------------------------
    def _resource_policy_shape(self, scope: Scope, rp_id: str, content: str) -> dict:
        return {"ResourcePolicySummary": {"Id": rp_id, "Arn": ids.resource_policy_arn(scope.mgmt, scope.id, rp_id)},
                "Content": content}

    def put_resource_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        if not scope.is_mgmt:
            raise errors.access_denied()
        content = request["Content"]
        _check_resource_policy(content)
        existing = scope.rec.one("SELECT * FROM org_resource_policy WHERE org=?", scope.id)
        if existing is not None and request.get("Tags"):
            raise errors.constraint("TAG_POLICY_VIOLATION",
                                    "You can't add tags when updating an existing resource policy; "
                                    "use TagResource.")
        rp_id = existing["id"] if existing is not None else ids.resource_policy_id()
        check_tags(request.get("Tags"), {})
        ctx.db.execute("INSERT OR REPLACE INTO org_resource_policy(org, id, content) VALUES (?, ?, ?)",
                       (scope.id, rp_id, content))
        if request.get("Tags"):
            scope.rec.set_tags(scope.id, rp_id, tag_dict(request["Tags"]))
        return {"ResourcePolicy": self._resource_policy_shape(scope, rp_id, content)}

    def describe_resource_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._member(ctx)
        row = scope.rec.one("SELECT * FROM org_resource_policy WHERE org=?", scope.id)
        if row is None:
            raise AwsError("ResourcePolicyNotFoundException",
                           "We can't find a resource policy request with the parameter that you specified.")
        return {"ResourcePolicy": self._resource_policy_shape(scope, row["id"], row["content"])}

    def delete_resource_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        if not scope.is_mgmt:
            raise errors.access_denied()
        row = scope.rec.one("SELECT * FROM org_resource_policy WHERE org=?", scope.id)
        if row is None:
            raise AwsError("ResourcePolicyNotFoundException",
                           "We can't find a resource policy request with the parameter that you specified.")
        ctx.db.execute("DELETE FROM org_resource_policy WHERE org=?", (scope.id,))
        scope.rec.drop_tags(scope.id, row["id"])
        return {}


def _check_resource_policy(content: str) -> None:
    try:
        doc = json.loads(content)
    except (ValueError, RecursionError):
        doc = None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements or not all(isinstance(s, dict) for s in statements):
        raise errors.invalid_input("INVALID_RESOURCE_POLICY_JSON", "The resource policy is not valid JSON.")
    for st in statements:
        if st.get("Effect") not in ("Allow", "Deny") or "Principal" not in st:
            raise errors.invalid_input("INVALID_RESOURCE_POLICY_JSON", "The resource policy is not valid JSON.")
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not actions or not all(isinstance(a, str) and fnmatch.fnmatchcase(a.lower(), "organizations:*")
                                  for a in actions):
            raise errors.invalid_input("UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
                                       "The resource policy contains an unsupported action.")
