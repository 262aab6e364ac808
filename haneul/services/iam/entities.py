"""What the resource modules share: finding entities (with IAM's not-found messages),
their response shapes, policy documents as IAM returns them (URL-encoded), and the
calling user."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from haneul.context import RequestContext
from haneul.services.iam import errors, ids, managed
from haneul.services.iam.policy import validate
from haneul.services.iam.records import Records

# Quotas IAM applies by default.
LIMITS = {
    "PoliciesPerUser": 10, "PoliciesPerRole": 10, "PoliciesPerGroup": 10, "GroupsPerUser": 10,
    "AccessKeysPerUser": 2, "VersionsPerPolicy": 5, "InstanceSessionsPerInstanceProfile": 1,
    "SigningCertificatesPerUser": 2, "SSHPublicKeysPerUser": 5, "MFADevicesPerUser": 8,
    "PolicySize": 6144, "ACLSizePerRole": 2048, "UserPolicySize": 2048, "RolePolicySize": 10240,
    "GroupPolicySize": 5120, "Users": 5000, "Groups": 300, "Roles": 1000, "Policies": 1500,
    "InstanceProfiles": 1000, "ServerCertificates": 20, "Providers": 100,
}

NOT_FOUND = {
    "user": "The user with name {} cannot be found.",
    "role": "The role with name {} cannot be found.",
    "group": "The group with name {} cannot be found.",
    "instance-profile": "Instance Profile {} cannot be found.",
    "server-certificate": "The Server Certificate with name {} cannot be found.",
}


def records(ctx: RequestContext) -> Records:
    return Records(ctx.db, ctx.account)


def require(rec: Records, kind: str, name: str) -> dict:
    entity = rec.get(kind, name)
    if entity is None:
        raise errors.no_such_entity(NOT_FOUND[kind].format(name))
    return entity


@lru_cache(maxsize=4096)
def encode_document(document: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986); SDKs decode them.  Cached:
    many roles share one trust policy, and ListRoles encodes a page of them."""
    return quote(document, safe="-_.~")


def check_document(document: str, kind: str = validate.IDENTITY, rec: Records | None = None,
                   managed_policy: bool = False) -> dict:
    exists = None
    if rec is not None:
        exists = lambda principal_arn: principal_exists(rec, principal_arn)  # noqa: E731
    try:
        return validate.check(document, kind, require_current_version=managed_policy, principal_exists=exists)
    except validate.MalformedPolicy as exc:
        raise errors.malformed_policy(exc.message) from None


def principal_exists(rec: Records, principal_arn: str) -> bool:
    """Whether the user or role an AWS principal names exists (any account in this store)."""
    parts = principal_arn.split(":", 5)
    account, resource = parts[4], parts[5]
    kind, _, rest = resource.partition("/")
    name = rest.rsplit("/", 1)[-1]
    other = Records(rec.db, account)
    entity = other.get(kind, name)
    return entity is not None and entity["arn"] == principal_arn


# -- shapes ---------------------------------------------------------------------------
def boundary(data: dict) -> dict | None:
    arn = data.get("boundary")
    return {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn} if arn else None


def user_shape(user: dict, full: bool = True) -> dict:
    data = user["data"]
    out = {"Path": user["path"], "UserName": user["name"], "UserId": user["id"], "Arn": user["arn"],
           "CreateDate": user["created"]}
    if data.get("password_last_used"):
        out["PasswordLastUsed"] = data["password_last_used"]
    if full:
        if data.get("boundary"):
            out["PermissionsBoundary"] = boundary(data)
        if data.get("tags"):
            out["Tags"] = data["tags"]
    return out


def group_shape(group: dict) -> dict:
    return {"Path": group["path"], "GroupName": group["name"], "GroupId": group["id"], "Arn": group["arn"],
            "CreateDate": group["created"]}


def role_shape(role: dict, full: bool = True) -> dict:
    data = role["data"]
    out = {"Path": role["path"], "RoleName": role["name"], "RoleId": role["id"], "Arn": role["arn"],
           "CreateDate": role["created"], "AssumeRolePolicyDocument": encode_document(data["trust"]),
           "MaxSessionDuration": data.get("max_session", 3600)}
    if data.get("description") is not None:
        out["Description"] = data["description"]
    if full:
        if data.get("boundary"):
            out["PermissionsBoundary"] = boundary(data)
        if data.get("tags"):
            out["Tags"] = data["tags"]
        last = data.get("last_used") or {}
        out["RoleLastUsed"] = {"LastUsedDate": last["date"], "Region": last["region"]} if last else {}
    return out


def profile_shape(rec: Records, profile: dict) -> dict:
    keys = [r[0] for r in rec.rows("SELECT role_key FROM iam_profile_role WHERE account=? AND region=? "
                                   "AND profile_key=?", profile["name"].lower())]
    out = {"Path": profile["path"], "InstanceProfileName": profile["name"], "InstanceProfileId": profile["id"],
           "Arn": profile["arn"], "CreateDate": profile["created"],
           "Roles": [role_shape(r, full=False) for r in rec.by_keys("role", keys)]}
    if profile["data"].get("tags"):
        out["Tags"] = profile["data"]["tags"]
    return out


# -- the caller -------------------------------------------------------------------------
def caller_user_name(ctx: RequestContext) -> str | None:
    """The IAM user who signed the request, or None for the root user (or a role)."""
    p = ctx.principal
    if p is not None and p.kind == "user" and p.arn and ":user/" in p.arn:
        return p.arn.rsplit("/", 1)[-1]
    return None


def target_user(ctx: RequestContext, rec: Records, request: dict) -> dict | None:
    """The user an operation with an optional UserName acts on; None means the root user."""
    name = request.get("UserName") or caller_user_name(ctx)
    return require(rec, "user", name) if name else None


# -- managed policy lookups shared by attach, boundaries and details ----------------------
def find_policy(rec: Records, policy_arn: str) -> dict | None:
    """A customer managed policy of this account or an AWS managed policy, as
    {arn, name, path, id, aws: bool, entity (customer only)}."""
    if managed.is_aws_arn(policy_arn):
        p = managed.get(policy_arn)
        return {"arn": p["arn"], "name": p["name"], "path": p["path"], "id": p["id"], "aws": True} if p else None
    parts = ids.split_policy_arn(policy_arn)
    if parts is None or parts[0] != rec.account:
        return None
    entity = rec.get("policy", parts[2])
    if entity is None or entity["arn"] != policy_arn:
        return None
    return {"arn": entity["arn"], "name": entity["name"], "path": entity["path"], "id": entity["id"],
            "aws": False, "entity": entity}


def check_policy_arn(policy_arn: str) -> None:
    if not policy_arn.startswith("arn:") or policy_arn.count(":") < 5:
        raise errors.invalid_input(f"ARN {policy_arn} is not valid.")


def attachable_policy(rec: Records, policy_arn: str) -> dict:
    check_policy_arn(policy_arn)
    found = find_policy(rec, policy_arn)
    if found is None:
        raise errors.no_such_entity(f"Policy {policy_arn} does not exist or is not attachable.")
    return found
