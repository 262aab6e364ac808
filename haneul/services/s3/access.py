"""Who may touch a bucket, and whether a bucket is public, as S3 defines it.

The owner account may do anything its bucket policy does not explicitly deny.  Another
account, or an anonymous caller, needs an Allow in the bucket policy (or, while ACLs are
enabled, a grant in the bucket's ACL); Block Public Access (bucket and account level)
takes public grants away.  Statements are evaluated as IAM does (Principal/NotPrincipal,
Action/NotAction, Resource/NotResource, Condition blocks over the request's context keys:
policy_conditions.py); a condition that pins the caller to fixed values (aws:SourceIp
ranges, aws:SourceVpc, aws:PrincipalOrgID ...) makes an Allow non-public.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json

from haneul.errors import AwsError
from haneul.services.s3 import policy_conditions, storage

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
# condition keys that, with fixed values, make a grant non-public (S3's "meaning of public")
_PINNING = {"aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner",
            "aws:sourceaccount", "aws:principalorgid", "aws:principalaccount", "aws:principalarn",
            "aws:userid", "s3:dataaccesspointarn", "s3:dataaccesspointaccount", "aws:principalorgpaths",
            "s3:x-amz-server-side-encryption-aws-kms-key-id"}
# operators whose fixed values restrict who matches (negated ones and ...IfExists do not)
_RESTRICTING = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"}

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
        if not isinstance(entries, dict) or op.endswith("IfExists") or op.startswith("ForAllValues:"):
            continue
        base = op.split(":")[-1]
        for key, values in entries.items():
            k = key.lower()
            values = values if isinstance(values, list) else [values]
            fixed = all("*" not in str(v) and "?" not in str(v) for v in values)
            if base in _RESTRICTING and k in _PINNING and fixed:
                if k == "aws:userid" and any(str(v).startswith("AROA") and str(v).endswith(":*") for v in values):
                    continue
                return True
            if k == "aws:sourceip" and base == "IpAddress":
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
        except (ValueError, RecursionError):
            return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        everyone = _principal_is_public(st.get("Principal")) or "NotPrincipal" in st
        if everyone and not _pinned(st.get("Condition")):
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


def _principal_matches(principal, ctx, anonymous: bool = False) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    aws = principal.get("AWS")
    values = aws if isinstance(aws, list) else [aws]
    if anonymous:
        return "*" in values
    me = ctx.principal
    account = ctx.account
    role_arn = _role_of(me.arn) if me is not None and me.arn else None
    for v in values:
        if v is None:
            continue
        v = str(v)
        if v == "*" or v == account or v == f"arn:aws:iam::{account}:root":
            return True
        if me is not None and me.arn and v in (me.arn, role_arn):
            return True
    canonical = principal.get("CanonicalUser")
    if canonical is not None and storage.canonical_id(account) in (canonical if isinstance(canonical, list)
                                                                  else [canonical]):
        return True
    return False


def _role_of(arn: str) -> str | None:
    """arn:aws:sts::A:assumed-role/R/session -> arn:aws:iam::A:role/R (what policies name)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        return f"arn:aws:iam::{parts[4]}:role/{role}"
    return None


def _applies_to(st: dict, ctx, anonymous: bool) -> bool:
    if "Principal" in st:
        return _principal_matches(st["Principal"], ctx, anonymous)
    if "NotPrincipal" in st:
        return not _principal_matches(st["NotPrincipal"], ctx, anonymous)
    return False


_PRINCIPAL_TYPES = {"root": "Account", "user": "User", "assumed-role": "AssumedRole", "federated": "FederatedUser",
                    "anonymous": "Anonymous"}


def context_keys(ctx, db, bucket, key: str | None, request: dict | None) -> dict:
    """The condition keys of this request (lower-case names), as S3 and IAM define them."""
    import time as _time
    headers = ctx.headers or {}
    me = ctx.principal
    anonymous = me is None or me.kind == "anonymous"
    now = ctx.now() if ctx.clock else _time.time()
    keys: dict = {
        "aws:securetransport": "true" if getattr(ctx, "secure_transport", False) else "false",
        "aws:sourceip": _source_ip(ctx),
        "aws:currenttime": _iso(now), "aws:epochtime": str(int(now)),
        "aws:requestedregion": ctx.region, "aws:principaltype": _PRINCIPAL_TYPES.get(
            me.kind if me else "anonymous", "Account"),
        "s3:resourceaccount": bucket["account"],
    }
    for name in ("referer", "user-agent"):
        if headers.get(name):
            keys["aws:" + name.replace("-", "")] = headers[name]
    if not anonymous:
        keys["aws:principalaccount"] = me.account
        keys["aws:principalarn"] = _role_of(me.arn) or me.arn if me.arn else f"arn:aws:iam::{me.account}:root"
        keys["aws:userid"] = me.user_id or me.account
        if me.kind == "user" and me.arn:
            keys["aws:username"] = me.arn.rsplit("/", 1)[-1]
        org = _org_of(db, me.account)
        if org:
            keys["aws:principalorgid"] = org
        auth = headers.get("authorization", "")
        keys["s3:signatureversion"] = "AWS" if auth.startswith("AWS ") else "AWS4-HMAC-SHA256"
        keys["s3:authtype"] = "REST-HEADER" if auth else "REST-QUERY-STRING"
    for header in ("x-amz-acl", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
                   "x-amz-storage-class", "x-amz-content-sha256", "x-amz-copy-source", "x-amz-metadata-directive",
                   "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-full-control", "x-amz-object-lock-mode",
                   "x-amz-object-lock-legal-hold", "x-amz-website-redirect-location"):
        if headers.get(header) is not None:
            keys["s3:" + header] = headers[header]
    if headers.get("x-amz-tagging"):
        from urllib.parse import parse_qsl
        tags = parse_qsl(headers["x-amz-tagging"], keep_blank_values=True)
        keys["s3:requestobjecttagkeys"] = [k for k, _ in tags]
        for k, v in tags:
            keys[f"s3:requestobjecttag/{k.lower()}"] = v
    request = request or {}
    for member, name in (("Prefix", "s3:prefix"), ("Delimiter", "s3:delimiter"), ("MaxKeys", "s3:max-keys"),
                         ("VersionId", "s3:versionid")):
        if request.get(member) is not None:
            keys[name] = str(request[member])
    if key is not None:
        row = storage.current(db, bucket["name"], key)
        if row is not None and row["tags"]:
            for k, v in json.loads(row["tags"]).items():
                keys[f"s3:existingobjecttag/{k.lower()}"] = v
    return keys


def _source_ip(ctx) -> str:
    forwarded = (ctx.headers or {}).get("x-forwarded-for")
    if forwarded:            # a proxy in front of Haneul names the real caller
        return forwarded.split(",")[0].strip()
    return getattr(ctx, "source_ip", None) or "127.0.0.1"


def _iso(t: float) -> str:
    import datetime as dt
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _org_of(db, account: str) -> str | None:
    import sqlite3
    try:
        row = db.execute("SELECT org FROM org_account WHERE id=?", (account,)).fetchone()
        if row is None:
            row = db.execute("SELECT id FROM org_organization WHERE mgmt=?", (account,)).fetchone()
    except sqlite3.OperationalError:      # Organizations never ran here
        return None
    return row[0] if row else None


def _evaluate(policy: dict, ctx, action: str, resource: str, anonymous: bool, public_ok: bool,
              keys=None):
    """'Deny', 'Allow' or None.  `keys` is a callable giving the condition keys (built
    only when a statement has a Condition)."""
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    verdict = None
    cached: list = []
    for st in statements:
        if not _applies_to(st, ctx, anonymous):
            continue
        everyone = _principal_is_public(st.get("Principal")) or "NotPrincipal" in st
        if everyone and not public_ok and st.get("Effect") == "Allow" and not _pinned(st.get("Condition")):
            continue
        if "Action" in st and not _matches(st["Action"], action):
            continue
        if "NotAction" in st and _matches(st["NotAction"], action):
            continue
        if "Resource" in st and not _matches(st["Resource"], resource):
            continue
        if "NotResource" in st and _matches(st["NotResource"], resource):
            continue
        if st.get("Condition"):
            if not cached:
                cached.append(keys() if keys is not None else {})
            if not policy_conditions.holds(st["Condition"], cached[0]):
                continue
        if st.get("Effect") == "Deny":
            return "Deny"
        if st.get("Effect") == "Allow":
            verdict = "Allow"
    return verdict


def check(ctx, db, bucket, action: str, key: str | None = None, request: dict | None = None) -> None:
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
        except (ValueError, RecursionError):
            policy = None
    resource = f"arn:aws:s3:::{bucket['name']}" + (f"/{key}" if key is not None else "")
    if owner and not policy:
        return
    pab = effective_pab(db, bucket) if not owner else None
    verdict = None
    if policy:
        public_ok = owner or not pab["RestrictPublicBuckets"]
        verdict = _evaluate(policy, ctx, action, resource, anonymous, public_ok,
                            keys=lambda: context_keys(ctx, db, bucket, key, request))
    if verdict == "Deny":
        raise denied()
    if owner or verdict == "Allow":
        return
    if not pab["IgnorePublicAcls"] and _acl_allows(db, bucket, action, key, anonymous):
        return
    raise denied()


_ACL_PERMISSION = {"s3:GetObject": "READ", "s3:GetObjectVersion": "READ", "s3:ListBucket": "READ", "s3:PutObject": "WRITE",
                   "s3:DeleteObject": "WRITE", "s3:ListBucketMultipartUploads": "READ"}


def _acl_allows(db, bucket, action, key, anonymous) -> bool:
    needed = _ACL_PERMISSION.get(action)
    if needed is None:
        return False
    acl = None
    reading = action in ("s3:GetObject", "s3:GetObjectVersion")
    if key is not None and reading:
        row = storage.current(db, bucket["name"], key)
        if row is not None and row["acl"]:
            acl = json.loads(row["acl"])
    if acl is None and (key is None or not reading):
        acl = storage.config(db, bucket["name"], "acl")
    groups = {ALL_USERS} if anonymous else {ALL_USERS, AUTH_USERS}
    for grant in (acl or {}).get("Grants", []):
        if grant.get("Grantee", {}).get("URI") in groups and grant.get("Permission") in (needed, "FULL_CONTROL"):
            return True
    return False
