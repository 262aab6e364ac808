"""Per-object settings: tags, Object Lock retention and legal hold, GetObjectAttributes."""

from __future__ import annotations

import datetime as dt
import json

from haneul.errors import AwsError
from haneul.services.base import from_epoch
from haneul.services.s3 import access
from haneul.services.s3.buckets import check_tags
from haneul.services.s3.objects import find_version
from haneul.services.s3.storage import get_bucket


def _target(ctx, request, action):
    db = ctx.db
    bucket = get_bucket(db, request["Bucket"])
    access.check(ctx, db, bucket, action, request["Key"])
    row = find_version(db, bucket, request["Key"], request.get("VersionId"))
    return bucket, row


def _update(db, row, **cols) -> None:
    sets = ", ".join(f"{k}=?" for k in cols)
    db.execute(f"UPDATE s3_object SET {sets} WHERE bucket=? AND key=? AND version_id=?",
               (*cols.values(), row["bucket"], row["key"], row["version_id"]))


def _vid(bucket, row) -> dict:
    return {"VersionId": row["version_id"]} if bucket["versioning"] else {}


def _no_lock(bucket):
    if not bucket["object_lock"]:
        raise AwsError("InvalidRequest", "Bucket is missing Object Lock Configuration", status=400)


class ObjectMetaOperations:
    def put_object_tagging(self, ctx, request):
        bucket, row = _target(ctx, request, "s3:PutObjectTagging")
        tags = (request.get("Tagging") or {}).get("TagSet") or []
        check_tags(tags, limit=10)
        _update(ctx.db, row, tags=json.dumps({t["Key"]: t.get("Value", "") for t in tags}))
        return _vid(bucket, row)

    def get_object_tagging(self, ctx, request):
        bucket, row = _target(ctx, request, "s3:GetObjectTagging")
        tags = json.loads(row["tags"])
        return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()], **_vid(bucket, row)}

    def delete_object_tagging(self, ctx, request):
        bucket, row = _target(ctx, request, "s3:DeleteObjectTagging")
        _update(ctx.db, row, tags="{}")
        return _vid(bucket, row)

    def put_object_retention(self, ctx, request):
        bucket, row = _target(ctx, request, "s3:PutObjectRetention")
        _no_lock(bucket)
        ret = request.get("Retention") or {}
        mode, until = ret.get("Mode"), ret.get("RetainUntilDate")
        until_ts = until.timestamp() if isinstance(until, dt.datetime) else until
        if until_ts is not None and until_ts <= ctx.now():
            raise AwsError("InvalidArgument", "The retain until date must be in the future!", status=400)
        current_until = row["lock_until"] or 0
        if row["lock_mode"] and current_until > ctx.now():
            weakening = (until_ts or 0) < current_until or mode != row["lock_mode"]
            if weakening and (row["lock_mode"] == "COMPLIANCE" or not request.get("BypassGovernanceRetention")):
                raise AwsError("AccessDenied", "Access Denied because object protected by object lock.", status=403)
        _update(ctx.db, row, lock_mode=mode, lock_until=until_ts)
        return {}

    def get_object_retention(self, ctx, request):
        bucket, row = _target(ctx, request, "s3:GetObjectRetention")
        _no_lock(bucket)
        if not row["lock_mode"]:
            raise AwsError("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                           "configuration", status=404)
        return {"Retention": {"Mode": row["lock_mode"], "RetainUntilDate": from_epoch(row["lock_until"])}}

    def put_object_legal_hold(self, ctx, request):
        bucket, row = _target(ctx, request, "s3:PutObjectLegalHold")
        _no_lock(bucket)
        status = (request.get("LegalHold") or {}).get("Status")
        if status not in ("ON", "OFF"):
            raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate "
                           "against our published schema", status=400)
        _update(ctx.db, row, legal_hold=status)
        return {}

    def get_object_legal_hold(self, ctx, request):
        bucket, row = _target(ctx, request, "s3:GetObjectLegalHold")
        _no_lock(bucket)
        if not row["legal_hold"]:
            raise AwsError("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                           "configuration", status=404)
        return {"LegalHold": {"Status": row["legal_hold"]}}

    def get_object_attributes(self, ctx, request):
        bucket, row = _target(ctx, request, "s3:GetObjectAttributes")
        wanted = set(request.get("ObjectAttributes") or [])
        out: dict = {"LastModified": from_epoch(int(row["modified"])), **_vid(bucket, row)}
        if "ETag" in wanted:
            out["ETag"] = row["etag"].strip('"')
        if "StorageClass" in wanted:
            out["StorageClass"] = row["storage_class"]
        if "ObjectSize" in wanted:
            out["ObjectSize"] = row["size"]
        if "Checksum" in wanted and row["checksum"]:
            out["Checksum"] = {f"Checksum{row['checksum_algorithm']}": row["checksum"],
                               "ChecksumType": row["checksum_type"]}
        if "ObjectParts" in wanted and row["parts"]:
            parts = json.loads(row["parts"])
            limit = request.get("MaxParts") or 1000
            marker = int(request.get("PartNumberMarker") or 0)
            listed = []
            for i, (size, checksum) in enumerate(parts, 1):
                if i <= marker or len(listed) >= limit:
                    continue
                p = {"PartNumber": i, "Size": size}
                if checksum and row["checksum_algorithm"]:
                    p[f"Checksum{row['checksum_algorithm']}"] = checksum
                listed.append(p)
            out["ObjectParts"] = {"TotalPartsCount": len(parts), "PartNumberMarker": marker,
                                  "MaxParts": limit, "IsTruncated": marker + len(listed) < len(parts),
                                  "Parts": listed}
            if listed and marker + len(listed) < len(parts):
                out["ObjectParts"]["NextPartNumberMarker"] = listed[-1]["PartNumber"]
        return out
