"""Buckets: create, delete, head, list, location, versioning and tags."""

from __future__ import annotations

import base64
import ipaddress
import json
import re

from haneul.errors import AwsError
from haneul.services.base import from_epoch
from haneul.services.s3 import access, storage
from haneul.services.s3.storage import get_bucket

REGIONS = frozenset((
    "af-south-1 ap-east-1 ap-east-2 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 "
    "ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 "
    "ap-southeast-6 ap-southeast-7 ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-north-1 "
    "eu-south-1 eu-south-2 eu-west-1 eu-west-2 eu-west-3 il-central-1 me-central-1 me-south-1 "
    "mx-central-1 sa-east-1 us-east-1 us-east-2 us-west-1 us-west-2 cn-north-1 cn-northwest-1 "
    "us-gov-east-1 us-gov-west-1").split())
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def valid_bucket_name(name: str) -> bool:
    if not _NAME.match(name) or ".." in name or ".-" in name or "-." in name:
        return False
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return False
    try:
        ipaddress.IPv4Address(name)
        return False
    except ValueError:
        return True


def location_of(region: str) -> str | None:
    return None if region == "us-east-1" else region


class BucketOperations:
    def create_bucket(self, ctx, request):
        name = request["Bucket"]
        if not valid_bucket_name(name):
            raise AwsError("InvalidBucketName", "The specified bucket is not valid.", BucketName=name)
        conf = request.get("CreateBucketConfiguration") or {}
        constraint = conf.get("LocationConstraint")
        if constraint == "EU":
            constraint = "eu-west-1"
        if constraint is not None and (constraint not in REGIONS or constraint == "us-east-1"):
            raise AwsError("InvalidLocationConstraint", "The specified location-constraint is not valid",
                           status=400, LocationConstraint=constraint)
        if ctx.region != "us-east-1":
            if constraint is None:
                raise AwsError("IllegalLocationConstraintException", "The unspecified location constraint "
                               "is incompatible for the region specific endpoint this request was sent to.",
                               status=400)
            if constraint != ctx.region:
                raise AwsError("IllegalLocationConstraintException", f"The {constraint} location constraint "
                               "is incompatible for the region specific endpoint this request was sent to.",
                               status=400)
        region = constraint or "us-east-1"
        db = ctx.db
        row = db.execute("SELECT account, region FROM s3_bucket WHERE name=?", (name,)).fetchone()
        if row is not None:
            if row["account"] != ctx.account:
                raise AwsError("BucketAlreadyExists", "The requested bucket name is not available. The "
                               "bucket namespace is shared by all users of the system. Please select a "
                               "different name and try again.", BucketName=name)
            if row["region"] == "us-east-1" and region == "us-east-1":
                return {"Location": f"/{name}"}      # S3's legacy us-east-1 answer
            raise AwsError("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket "
                           "succeeded and you already own it.", BucketName=name)
        ownership = request.get("ObjectOwnership") or "BucketOwnerEnforced"
        acl = request.get("ACL")
        grants = any(request.get(g) for g in ("GrantFullControl", "GrantRead", "GrantReadACP",
                                              "GrantWrite", "GrantWriteACP"))
        if ownership == "BucketOwnerEnforced" and ((acl and acl != "private") or grants):
            raise AwsError("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with "
                           "ObjectOwnership's BucketOwnerEnforced setting", status=400)
        lock = bool(request.get("ObjectLockEnabledForBucket"))
        db.execute("INSERT INTO s3_bucket(name, account, region, created, versioning, object_lock) "
                   "VALUES(?,?,?,?,?,?)", (name, ctx.account, region, ctx.now(),
                                           "Enabled" if lock else "", int(lock)))
        storage.set_config(db, name, "ownership", {"Rules": [{"ObjectOwnership": ownership}]})
        storage.set_config(db, name, "public_access_block", {k: True for k in access.PAB_KEYS})
        from haneul.services.s3.acls import acl_from_request
        storage.set_config(db, name, "acl", acl_from_request(request, ctx.account, bucket=True))
        if lock:
            storage.set_config(db, name, "object_lock", {"ObjectLockEnabled": "Enabled"})
        tags = conf.get("Tags")
        if tags:
            storage.set_config(db, name, "tagging", {"TagSet": tags})
        return {"Location": f"/{name}" if region == "us-east-1" else f"{ctx.endpoint}/{name}/",
                "BucketArn": f"arn:aws:s3:::{name}"}

    def delete_bucket(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:DeleteBucket")
        if db.execute("SELECT 1 FROM s3_object WHERE bucket=? LIMIT 1", (bucket["name"],)).fetchone():
            versioned = bucket["versioning"] != ""
            raise AwsError("BucketNotEmpty", "The bucket you tried to delete is not empty" +
                           (". You must delete all versions in the bucket." if versioned else ""),
                           status=409, BucketName=bucket["name"])
        for up in db.execute("SELECT upload_id FROM s3_upload WHERE bucket=?", (bucket["name"],)).fetchall():
            for part in db.execute("SELECT blob, size FROM s3_part WHERE upload_id=?", (up[0],)).fetchall():
                storage.discard(db, [[part[0], part[1]]])
            db.execute("DELETE FROM s3_part WHERE upload_id=?", (up[0],))
        db.execute("DELETE FROM s3_upload WHERE bucket=?", (bucket["name"],))
        db.execute("DELETE FROM s3_bucket WHERE name=?", (bucket["name"],))
        return {}

    def head_bucket(self, ctx, request):
        bucket = get_bucket(ctx.db, request["Bucket"])
        access.check(ctx, ctx.db, bucket, "s3:ListBucket")
        return {"BucketRegion": bucket["region"], "AccessPointAlias": False,
                "BucketArn": f"arn:aws:s3:::{bucket['name']}"}

    def list_buckets(self, ctx, request):
        prefix = request.get("Prefix") or ""
        region = request.get("BucketRegion")
        limit = request.get("MaxBuckets")
        if limit is not None and not 1 <= limit <= 10000:
            raise AwsError("InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000.",
                           status=400, ArgumentName="max-buckets", ArgumentValue=str(limit))
        after = ""
        token = request.get("ContinuationToken")
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except ValueError:
                raise AwsError("InvalidArgument", "The continuation token provided is incorrect",
                               status=400, ArgumentName="continuation-token") from None
        sql = "SELECT name, created, region FROM s3_bucket WHERE account=? AND name > ? AND name >= ?"
        args: list = [ctx.account, after, prefix]
        if region:
            sql += " AND region=?"
            args.append(region)
        sql += " ORDER BY name"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit + 1)
        rows = [r for r in ctx.db.execute(sql, args).fetchall() if r["name"].startswith(prefix)]
        out: dict = {"Owner": storage.owner(ctx.account)}
        if limit is not None and len(rows) > limit:
            rows = rows[:limit]
            out["ContinuationToken"] = base64.urlsafe_b64encode(rows[-1]["name"].encode()).decode()
        out["Buckets"] = [{"Name": r["name"], "CreationDate": from_epoch(r["created"]),
                           "BucketRegion": r["region"], "BucketArn": f"arn:aws:s3:::{r['name']}"} for r in rows]
        if request.get("Prefix") is not None:
            out["Prefix"] = prefix
        return out

    def get_bucket_location(self, ctx, request):
        bucket = get_bucket(ctx.db, request["Bucket"])
        access.check(ctx, ctx.db, bucket, "s3:GetBucketLocation")
        return {"LocationConstraint": location_of(bucket["region"])}

    # -- versioning ---------------------------------------------------------------------
    def put_bucket_versioning(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:PutBucketVersioning")
        conf = request.get("VersioningConfiguration") or {}
        status = conf.get("Status")
        if status not in (None, "Enabled", "Suspended"):
            raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate "
                           "against our published schema", status=400)
        if status == "Suspended" and bucket["object_lock"]:
            raise AwsError("InvalidBucketState", "An Object Lock configuration is present on this bucket, "
                           "so the versioning state cannot be changed.", status=409)
        if status:
            db.execute("UPDATE s3_bucket SET versioning=? WHERE name=?", (status, bucket["name"]))
        if conf.get("MFADelete"):
            storage.set_config(db, bucket["name"], "mfa_delete", conf["MFADelete"])
        return {}

    def get_bucket_versioning(self, ctx, request):
        bucket = get_bucket(ctx.db, request["Bucket"])
        access.check(ctx, ctx.db, bucket, "s3:GetBucketVersioning")
        out = {}
        if bucket["versioning"]:
            out["Status"] = bucket["versioning"]
        mfa = storage.config(ctx.db, bucket["name"], "mfa_delete")
        if mfa:
            out["MFADelete"] = mfa
        return out

    # -- tags ---------------------------------------------------------------------------
    def put_bucket_tagging(self, ctx, request):
        bucket = get_bucket(ctx.db, request["Bucket"])
        access.check(ctx, ctx.db, bucket, "s3:PutBucketTagging")
        tags = (request.get("Tagging") or {}).get("TagSet") or []
        check_tags(tags, limit=50)
        storage.set_config(ctx.db, bucket["name"], "tagging", {"TagSet": tags})
        return {}

    def get_bucket_tagging(self, ctx, request):
        bucket = get_bucket(ctx.db, request["Bucket"])
        access.check(ctx, ctx.db, bucket, "s3:GetBucketTagging")
        conf = storage.config(ctx.db, bucket["name"], "tagging")
        if not conf or not conf.get("TagSet"):
            raise AwsError("NoSuchTagSet", "The TagSet does not exist", status=404, BucketName=bucket["name"])
        return conf

    def delete_bucket_tagging(self, ctx, request):
        bucket = get_bucket(ctx.db, request["Bucket"])
        access.check(ctx, ctx.db, bucket, "s3:PutBucketTagging")
        storage.delete_config(ctx.db, bucket["name"], "tagging")
        return {}


def check_tags(tags: list, limit: int) -> None:
    keys = [t.get("Key") for t in tags]
    if len(keys) != len(set(keys)):
        raise AwsError("InvalidTag", "Cannot provide multiple Tags with the same key", status=400)
    if len(tags) > limit:
        raise AwsError("BadRequest", f"{'Object' if limit == 10 else 'Bucket'} tags cannot be greater "
                       f"than {limit}", status=400)
    for t in tags:
        if not t.get("Key") or len(t["Key"]) > 128:
            raise AwsError("InvalidTag", "The TagKey you have provided is invalid", status=400)
        if len(t.get("Value") or "") > 256:
            raise AwsError("InvalidTag", "The TagValue you have provided is invalid", status=400)
        if t["Key"].startswith("aws:"):
            raise AwsError("InvalidTag", "Your TagKey cannot be prefixed with aws:", status=400)


def tags_json(tags: dict) -> str:
    return json.dumps(tags)
