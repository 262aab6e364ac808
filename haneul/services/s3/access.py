"""Who may touch a bucket, and whether a bucket is public, as S3 defines it.

The owner account may do anything its bucket policy does not explicitly deny.  Another
account, or an anonymous caller, needs an Allow in the bucket policy (or, while ACLs are
enabled, a grant in the bucket's ACL); Block Public Access (bucket and account level)
takes public grants away.  Statements with conditions are not evaluated here, except
that they make a grant non-public when they pin the caller (aws:SourceIp, SourceVpc...).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json

from haneul.errors import AwsError
from haneul.services.s3 import storage

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
# condition keys that, with fixed values, make a grant non-public (S3's "meaning of public")
_PINNING = {"aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner",
            "aws:sourceaccount", "aws:principalorgid", "aws:principalaccount", "aws:principalarn",
            "aws:userid", "s3:dataaccesspointarn", "s3:dataaccesspointaccount", "aws:principalorgpaths"}

ACCOUNT_PAB_SCHEMA = """CREATE TABLE IF NOT EXISTS s3_account_public_access_block (
    account TEXT PRIMARY KEY, value TEXT NOT NULL)"""


def denied() -> AwsError:
    return AwsError("AccessDenied", "Access Denied", status=403)


def account_pab(db, account: str) -> dict | None:
    row = db.execute("SELECT value FROM s3_account_public_access_block WHERE account=?", (account,)).fetchone()
    return json.loads(row[0]) if row else None


def effective_pab(db, bucket) -> dict:
    own = storage.config(db, bucket["name"], "public_access_block") or {}
    acct = account_pab(db, bucket["account"]) or {}
    return {k: bool(own.get(k)) or bool(acct.get(k)) for k in PAB_KEYS}


# -- "is public" ----------------------------------------------------------------------------
def _principal_is_public(principal) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS")
        values = aws if isinstance(aws, list) else [aws]
        return "*" in values
    return False


def _pinned(condition: dict) -> bool:
    for op, entries in (condition or {}).items():
        if not isinstance(entries, dict):
            continue
        for key, values in entries.items():
            k = key.lower()
            values = values if isinstance(values, list) else [values]
            if k in _PINNING and all("*" not in str(v) and "?" not in str(v) for v in values):
                return True
            if k == "aws:sourceip" and "Not" not in op:
                try:
                    if all(ipaddress.ip_network(str(v), strict=False).num_addresses < 2 ** 24 for v in values):
                        return True
                except ValueError:
                    continue
    return False


def policy_is_public(policy: dict | str | None) -> bool:
    if not policy:
        return False
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        if _principal_is_public(st.get("Principal")) and not _pinned(st.get("Condition")):
            return True
    return False


def acl_is_public(acl: dict | None) -> bool:
    for grant in (acl or {}).get("Grants", []):
        if grant.get("Grantee", {}).get("URI") in (ALL_USERS, AUTH_USERS):
            return True
    return False


def bucket_is_public(db, bucket) -> bool:
    pab = effective_pab(db, bucket)
    policy = storage.config(db, bucket["name"], "policy")
    acl = storage.config(db, bucket["name"], "acl")
    return (policy_is_public(policy) and not pab["RestrictPublicBuckets"]) or \
        (acl_is_public(acl) and not pab["IgnorePublicAcls"])


# -- checks ---------------------------------------------------------------------------------
def _matches(patterns, value: str) -> bool:
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(value, str(p)) or fnmatch.fnmatchcase(value.lower(), str(p).lower())
               for p in patterns if p is not None)


def _principal_matches(principal, ctx) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    aws = principal.get("AWS")
    values = aws if isinstance(aws, list) else [aws]
    me = ctx.principal
    account = ctx.account
    for v in values:
        if v is None:
            continue
        v = str(v)
        if v == "*" or v == account or v == f"arn:aws:iam::{account}:root":
            return True
        if me is not None and me.arn and v == me.arn:
            return True
    return False


def _evaluate(policy: dict, ctx, action: str, resource: str, anonymous: bool, public_ok: bool):
    """'Deny', 'Allow' or None."""
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    verdict = None
    for st in statements:
        if st.get("Condition"):
            continue
        principal = st.get("Principal")
        if principal is None or not _principal_matches(principal, ctx):
            continue
        if anonymous and not _principal_is_public(principal):
            continue
        if _principal_is_public(principal) and not public_ok and st.get("Effect") == "Allow":
            continue
        if "Action" in st and not _matches(st["Action"], action):
            continue
        if "NotAction" in st and _matches(st["NotAction"], action):
            continue
        if "Resource" in st and not _matches(st["Resource"], resource):
            continue
        if st.get("Effect") == "Deny":
            return "Deny"
        if st.get("Effect") == "Allow":
            verdict = "Allow"
    return verdict


def check(ctx, db, bucket, action: str, key: str | None = None) -> None:
    """Raise AccessDenied unless the caller may do `action` ("s3:GetObject") here."""
    if "s3-accelerate" in (ctx.host or "") and storage.config(db, bucket["name"], "accelerate") != "Enabled":
        raise AwsError("InvalidRequest", "S3 Transfer Acceleration is not configured on this bucket", status=400)
    principal = ctx.principal
    anonymous = principal is not None and principal.kind == "anonymous"
    owner = not anonymous and ctx.account == bucket["account"]
    policy = storage.config(db, bucket["name"], "policy")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            policy = None
    resource = f"arn:aws:s3:::{bucket['name']}" + (f"/{key}" if key is not None else "")
    if owner and not policy:
        return
    pab = effective_pab(db, bucket) if not owner else None
    verdict = None
    if policy:
        public_ok = owner or not pab["RestrictPublicBuckets"]
        verdict = _evaluate(policy, ctx, action, resource, anonymous, public_ok)
    if verdict == "Deny":
        raise denied()
    if owner or verdict == "Allow":
        return
    if not pab["IgnorePublicAcls"] and _acl_allows(db, bucket, action, key, anonymous):
        return
    raise denied()


_ACL_PERMISSION = {"s3:GetObject": "READ", "s3:ListBucket": "READ", "s3:PutObject": "WRITE",
                   "s3:DeleteObject": "WRITE", "s3:ListBucketMultipartUploads": "READ"}


def _acl_allows(db, bucket, action, key, anonymous) -> bool:
    needed = _ACL_PERMISSION.get(action)
    if needed is None:
        return False
    acl = None
    if key is not None and action == "s3:GetObject":
        row = storage.current(db, bucket["name"], key)
        if row is not None and row["acl"]:
            acl = json.loads(row["acl"])
    if acl is None and (key is None or action != "s3:GetObject"):
        acl = storage.config(db, bucket["name"], "acl")
    groups = {ALL_USERS} if anonymous else {ALL_USERS, AUTH_USERS}
    for grant in (acl or {}).get("Grants", []):
        if grant.get("Grantee", {}).get("URI") in groups and grant.get("Permission") in (needed, "FULL_CONTROL"):
            return True
    return False
