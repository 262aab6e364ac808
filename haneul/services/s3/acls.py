"""ACLs: canned ACLs, x-amz-grant-* headers, AccessControlPolicy documents, and object
ownership (BucketOwnerEnforced disables ACLs, as for every new bucket since 2023)."""

from __future__ import annotations

import json
import re

from haneul.errors import AwsError
from haneul.services.s3 import access, storage
from haneul.services.s3.storage import get_bucket

CANNED = {
    "private": [],
    "public-read": [(access.ALL_USERS, "READ")],
    "public-read-write": [(access.ALL_USERS, "READ"), (access.ALL_USERS, "WRITE")],
    "authenticated-read": [(access.AUTH_USERS, "READ")],
    "log-delivery-write": [(access.LOG_DELIVERY, "WRITE"), (access.LOG_DELIVERY, "READ_ACP")],
    "bucket-owner-read": [], "bucket-owner-full-control": [], "aws-exec-read": [],
}
_GRANT_HEADERS = {"GrantFullControl": "FULL_CONTROL", "GrantRead": "READ", "GrantReadACP": "READ_ACP",
                  "GrantWrite": "WRITE", "GrantWriteACP": "WRITE_ACP"}
_GRANTEE = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*"?([^",]+)"?\s*')


def _grantee(kind: str, value: str) -> dict:
    if kind == "uri":
        return {"Type": "Group", "URI": value}
    if kind == "emailAddress":
        return {"Type": "AmazonCustomerByEmail", "EmailAddress": value}
    return {"Type": "CanonicalUser", "ID": value}


def acl_from_request(request: dict, account: str, bucket: bool, bucket_owner: str | None = None) -> dict:
    me = storage.canonical_id(account)
    grants = [{"Grantee": {"Type": "CanonicalUser", "ID": me}, "Permission": "FULL_CONTROL"}]
    canned = request.get("ACL")
    headers = {k: request[k] for k in _GRANT_HEADERS if request.get(k)}
    if canned and headers:
        raise AwsError("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed",
                       status=400)
    if canned:
        if canned not in CANNED:
            raise AwsError("InvalidArgument", "", status=400, ArgumentName="x-amz-acl", ArgumentValue=canned)
        for uri, perm in CANNED[canned]:
            grants.append({"Grantee": {"Type": "Group", "URI": uri}, "Permission": perm})
        if canned in ("bucket-owner-read", "bucket-owner-full-control") and bucket_owner and bucket_owner != account:
            grants.append({"Grantee": {"Type": "CanonicalUser", "ID": storage.canonical_id(bucket_owner)},
                           "Permission": "READ" if canned == "bucket-owner-read" else "FULL_CONTROL"})
    elif headers:
        grants = []
        for member, perm in _GRANT_HEADERS.items():
            for item in (request.get(member) or "").split(","):
                m = _GRANTEE.fullmatch(item)
                if item.strip() and not m:
                    raise AwsError("InvalidArgument", "Invalid grant header", status=400)
                if m:
                    grants.append({"Grantee": _grantee(m.group(1), m.group(2)), "Permission": perm})
    return {"Owner": storage.owner(account), "Grants": grants}


def ownership(db, bucket_name: str) -> str:
    return ownership_rule(storage.config(db, bucket_name, "ownership"))


def ownership_rule(conf: dict | None) -> str:
    """The ObjectOwnership an "ownership" configuration sets (ObjectWriter without one)."""
    if not conf:
        return "ObjectWriter"
    return conf["Rules"][0]["ObjectOwnership"]


def check_acl_allowed(db, bucket, request: dict) -> None:
    """With BucketOwnerEnforced, only ACLs that grant the owner full control are accepted."""
    if ownership(db, bucket["name"]) != "BucketOwnerEnforced":
        _block_public(db, bucket, request)
        return
    canned = request.get("ACL")
    if (canned and canned not in ("private", "bucket-owner-full-control")) or \
            any(request.get(g) for g in _GRANT_HEADERS):
        raise AwsError("AccessControlListNotSupported", "The bucket does not allow ACLs", status=400)
    policy = request.get("AccessControlPolicy")
    if policy and any(g.get("Grantee", {}).get("ID") != storage.canonical_id(bucket["account"])
                      for g in policy.get("Grants", [])):
        raise AwsError("AccessControlListNotSupported", "The bucket does not allow ACLs", status=400)


def _block_public(db, bucket, request):
    if not access.effective_pab(db, bucket)["BlockPublicAcls"]:
        return
    canned = request.get("ACL")
    public = canned in ("public-read", "public-read-write", "authenticated-read")
    public = public or any(access.ALL_USERS in (request.get(g) or "") or access.AUTH_USERS in (request.get(g) or "")
                           for g in _GRANT_HEADERS)
    public = public or access.acl_is_public(request.get("AccessControlPolicy"))
    if public:
        raise access.denied()


class AclOperations:
    def put_bucket_acl(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:PutBucketAcl")
        check_acl_allowed(db, bucket, request)
        policy = request.get("AccessControlPolicy")
        acl = ({"Owner": policy.get("Owner") or storage.owner(bucket["account"]), "Grants": policy.get("Grants", [])}
               if policy else acl_from_request(request, bucket["account"], bucket=True))
        storage.set_config(db, bucket["name"], "acl", acl)
        return {}

    def get_bucket_acl(self, ctx, request):
        bucket = get_bucket(ctx.db, request["Bucket"])
        access.check(ctx, ctx.db, bucket, "s3:GetBucketAcl")
        return storage.config(ctx.db, bucket["name"], "acl") or acl_from_request({}, bucket["account"], True)

    def put_object_acl(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:PutObjectAcl", request["Key"])
        from haneul.services.s3.objects import find_version
        row = find_version(db, bucket, request["Key"], request.get("VersionId"))
        check_acl_allowed(db, bucket, request)
        policy = request.get("AccessControlPolicy")
        acl = ({"Owner": policy.get("Owner") or storage.owner(row["owner"]), "Grants": policy.get("Grants", [])}
               if policy else acl_from_request(request, row["owner"], bucket=False, bucket_owner=bucket["account"]))
        db.execute("UPDATE s3_object SET acl=? WHERE bucket=? AND key=? AND version_id=?",
                   (json.dumps(acl), row["bucket"], row["key"], row["version_id"]))
        return {}

    def get_object_acl(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:GetObjectAcl", request["Key"])
        from haneul.services.s3.objects import find_version
        row = find_version(db, bucket, request["Key"], request.get("VersionId"))
        return json.loads(row["acl"]) if row["acl"] else acl_from_request({}, row["owner"], bucket=False)
