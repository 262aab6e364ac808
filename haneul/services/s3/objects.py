"""Objects: put, get, head, delete (one and many), and the version bookkeeping they share."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
from urllib.parse import parse_qsl

from haneul.errors import AwsError
from haneul.services.base import from_epoch
from haneul.services.s3 import access, bodies, conditions, restore, storage
from haneul.services.s3.storage import get_bucket

HEADER_FIELDS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage",
                 "CacheControl", "Expires", "WebsiteRedirectLocation", "ServerSideEncryption",
                 "SSEKMSKeyId", "BucketKeyEnabled")


def http_date(t: float) -> str:
    """RFC 1123 date; an instant past year 9999 (a 32-bit count of days from now) is written
    as the last second HTTP can express, not as an error."""
    return email.utils.formatdate(min(int(t), restore.LAST_SECOND), usegmt=True)


def no_such_key(key: str) -> AwsError:
    return AwsError("NoSuchKey", "The specified key does not exist.", Key=key)


def _check_version_id(version_id: str) -> None:
    if version_id != "null" and (len(version_id) < 1 or len(version_id) > 1024):
        raise AwsError("InvalidArgument", "Invalid version id specified", status=400,
                       ArgumentName="versionId", ArgumentValue=version_id)


def find_version(db, bucket, key: str, version_id: str | None, for_read: bool = False):
    """The row a request addresses; NoSuchKey/NoSuchVersion, or 405 for a delete marker."""
    if version_id is None:
        row = storage.current(db, bucket["name"], key)
        if row is None:
            raise no_such_key(key)
        if row["delete_marker"]:
            headers = {"x-amz-delete-marker": "true"}
            if bucket["versioning"]:
                headers["x-amz-version-id"] = row["version_id"]
            err = no_such_key(key)
            err.headers = headers
            raise err
        return row
    _check_version_id(version_id)
    row = storage.version(db, bucket["name"], key, version_id)
    if row is None:
        raise AwsError("NoSuchVersion", "The specified version does not exist.", status=404,
                       Key=key, VersionId=version_id)
    if row["delete_marker"]:
        raise AwsError("MethodNotAllowed", "The specified method is not allowed against this resource.",
                       status=405, headers={"x-amz-delete-marker": "true", "x-amz-version-id": version_id,
                                            "Last-Modified": http_date(row["modified"])},
                       Method="GET" if for_read else "PUT", ResourceType="DeleteMarker")
    return row


def tags_from_header(text: str | None) -> dict:
    if not text:
        return {}
    tags = dict(parse_qsl(text, keep_blank_values=True))
    from haneul.services.s3.buckets import check_tags
    check_tags([{"Key": k, "Value": v} for k, v in tags.items()], limit=10)
    return tags


def object_headers(request: dict, bucket_encryption: dict | None) -> dict:
    out = {k: request[k] for k in HEADER_FIELDS if request.get(k) is not None}
    if isinstance(out.get("Expires"), dt.datetime):
        out["Expires"] = out["Expires"].timestamp()
    enc = out.get("ContentEncoding")
    if enc is not None:
        kept = [e for e in enc.split(",") if e.strip() and e.strip().lower() != "aws-chunked"]
        if kept:
            out["ContentEncoding"] = ",".join(kept)
        else:
            del out["ContentEncoding"]
    out.setdefault("ContentType", "binary/octet-stream")
    if "ServerSideEncryption" not in out:
        rule = ((bucket_encryption or {}).get("Rules") or [{}])[0].get("ApplyServerSideEncryptionByDefault") or {}
        out["ServerSideEncryption"] = rule.get("SSEAlgorithm", "AES256")
        if rule.get("KMSMasterKeyID"):
            out["SSEKMSKeyId"] = rule["KMSMasterKeyID"]
    return out


def check_metadata(meta: dict | None) -> dict:
    meta = {k.lower(): v for k, v in (meta or {}).items()}
    if sum(len(k) + len(v) for k, v in meta.items()) > 2048:
        raise AwsError("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size",
                       status=400, MaxSizeAllowed="2048")
    return meta


def lock_fields(db, bucket, request: dict, now: float) -> dict:
    mode, until, hold = (request.get("ObjectLockMode"), request.get("ObjectLockRetainUntilDate"),
                         request.get("ObjectLockLegalHoldStatus"))
    if (mode or until or hold) and not bucket["object_lock"]:
        raise AwsError("InvalidRequest", "Bucket is missing Object Lock Configuration", status=400)
    if bool(mode) != bool(until):
        raise AwsError("InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode "
                       "must both be supplied", status=400)
    out = {"lock_mode": mode, "lock_until": until.timestamp() if isinstance(until, dt.datetime) else until,
           "legal_hold": hold}
    if out["lock_until"] is not None and out["lock_until"] <= now:
        raise AwsError("InvalidArgument", "The retain until date must be in the future!", status=400)
    if not mode and bucket["object_lock"]:
        conf = storage.config(db, bucket["name"], "object_lock") or {}
        default = (conf.get("Rule") or {}).get("DefaultRetention")
        if default:
            days = default.get("Days") or 365 * (default.get("Years") or 0)
            # held at the last second of year 9999, which every date form can still write
            out["lock_mode"], out["lock_until"] = default["Mode"], min(now + days * 86400, restore.LAST_SECOND)
    return out


def write_version(db, bucket, key: str, fields: dict, now: float) -> str | None:
    """Insert a new current version of `key` (a body or a delete marker) and retire the
    previous one as versioning says.  Returns the version id S3 reports, if any."""
    name = bucket["name"]
    versioning = bucket["versioning"]
    if versioning == "Enabled":
        version_id = storage.new_version_id()
    else:
        version_id = "null"
        for (data,) in db.execute("DELETE FROM s3_object WHERE bucket=? AND key=? AND version_id='null' "
                                  "RETURNING data", (name, key)).fetchall():
            storage.discard(db, data)
    if versioning:          # a bucket never versioned has no version but the "null" one just removed
        db.execute("UPDATE s3_object SET latest=0 WHERE bucket=? AND key=? AND latest=1", (name, key))
    row = {"bucket": name, "key": key, "version_id": version_id, "seq": storage.next_seq(db),
           "latest": 1, "modified": now, **fields}
    cols = ",".join(row)
    db.execute(f"INSERT INTO s3_object({cols}) VALUES({','.join('?' * len(row))})", list(row.values()))
    return version_id if versioning else None


def check_lock(row, request: dict, now: float) -> None:
    if row["legal_hold"] == "ON":
        raise AwsError("AccessDenied", "Access Denied because object protected by object lock.", status=403)
    if row["lock_until"] and row["lock_until"] > now:
        if row["lock_mode"] == "COMPLIANCE" or not request.get("BypassGovernanceRetention"):
            raise AwsError("AccessDenied", "Access Denied because object protected by object lock.", status=403)


def _json_map(text: str) -> dict:
    return json.loads(text) if text != "{}" else {}       # most objects have no metadata or tags


def describe(row, bucket, request: dict, head: bool) -> dict:
    """Response members describing a stored version (GetObject/HeadObject)."""
    headers = json.loads(row["headers"])
    out = {"ETag": row["etag"], "LastModified": from_epoch(int(row["modified"])), "AcceptRanges": "bytes",
           "Metadata": _json_map(row["metadata"]) or None}
    for k in HEADER_FIELDS:
        if headers.get(k) is not None:
            out[k] = from_epoch(headers[k]) if k == "Expires" else headers[k]
    if bucket["versioning"]:
        out["VersionId"] = row["version_id"]
    if row["storage_class"] != "STANDARD":
        out["StorageClass"] = row["storage_class"]
    tags = _json_map(row["tags"])
    if tags and not head:
        out["TagCount"] = len(tags)
    if row["lock_mode"]:
        out["ObjectLockMode"], out["ObjectLockRetainUntilDate"] = row["lock_mode"], from_epoch(row["lock_until"])
    if row["legal_hold"]:
        out["ObjectLockLegalHoldStatus"] = row["legal_hold"]
    if (request.get("ChecksumMode") or "").upper() == "ENABLED" and row["checksum"]:
        out[f"Checksum{row['checksum_algorithm']}"] = row["checksum"]
        out["ChecksumType"] = row["checksum_type"]
    for member, field in (("ResponseCacheControl", "CacheControl"), ("ResponseContentDisposition", "ContentDisposition"),
                          ("ResponseContentEncoding", "ContentEncoding"), ("ResponseContentLanguage", "ContentLanguage"),
                          ("ResponseContentType", "ContentType"), ("ResponseExpires", "Expires")):
        if request.get(member) is not None:
            out[field] = request[member]
    return {k: v for k, v in out.items() if v is not None}


def _span(row, request: dict) -> tuple[int, int, bool]:
    """(start, end, partial) of the bytes a GET asks for."""
    size = row["size"]
    part = request.get("PartNumber")
    if part is not None:
        parts = json.loads(row["parts"]) if row["parts"] else [[size, None]]
        if not 1 <= part <= len(parts):
            raise AwsError("InvalidPartNumber", "The requested partnumber is not satisfiable", status=416,
                           PartNumberRequested=str(part), ActualPartCount=str(len(parts)))
        start = sum(p[0] for p in parts[:part - 1])
        return start, start + parts[part - 1][0], bool(row["parts"])
    span = conditions.parse_range(request.get("Range"), size)
    if span is None:
        return 0, size, False
    return span[0], span[1], True


_PUT_CONFIGS = ("encryption", "ownership", "lifecycle", "notification")


class ObjectOperations:
    @bodies.drains
    async def put_object(self, ctx, request):
        return await self.store_object(ctx, request)

    async def store_object(self, ctx, request, event: str = "ObjectCreated:Put", received=None):
        """PutObject, and browser POST uploads (event "ObjectCreated:Post", their body already
        `received` into a blob file)."""
        bucket_name, key = request["Bucket"], request["Key"]
        with ctx.store.transaction() as db:
            bucket = get_bucket(db, bucket_name)
            access.check(ctx, db, bucket, "s3:PutObject", key)
            if request.get("ACL") or any(request.get(g) for g in ("GrantRead", "GrantFullControl",
                                                                    "GrantReadACP", "GrantWriteACP")):
                from haneul.services.s3.acls import check_acl_allowed
                check_acl_allowed(db, bucket, request)
        meta = check_metadata(request.get("Metadata"))
        tags = tags_from_header(request.get("Tagging"))
        if received is None:
            expect = bodies.Expect(request, ctx.headers or {}, ctx.store)
            received = await bodies.receive(ctx.store.blobs, request.get("Body"), expect,
                                            durable=not ctx.store.ephemeral)
        try:
            with ctx.store.transaction() as db:
                bucket = get_bucket(db, bucket_name)
                if request.get("IfMatch") is not None or request.get("IfNoneMatch") is not None:
                    conditions.check_write(request, storage.current(db, bucket_name, key))
                # the configurations a PUT consults, read at once; the notification one is
                # read here, in the same transaction: most buckets have none, and notify()
                # would open a transaction of its own to find that out
                conf = storage.configs(db, bucket_name, _PUT_CONFIGS)
                fields = self._body_fields(ctx, db, bucket, request, received, meta, tags, conf)
                version_id = write_version(db, bucket, key, fields, ctx.now())
                expiration = expiration_of(db, bucket_name, key, received.size, tags, ctx.now(),
                                           config=conf["lifecycle"])
                notifying = conf["notification"] is not None
        except BaseException:
            ctx.store.blobs.delete(received.blob)
            raise
        storage.collect_soon(ctx.store)
        if notifying:
            self.notify(ctx, bucket_name, key, event, size=received.size, etag=received.etag,
                        version_id=version_id)
        out = {"ETag": received.etag, "VersionId": version_id, "Expiration": expiration,
               "ServerSideEncryption": fields_headers(fields).get("ServerSideEncryption"),
               f"Checksum{received.algorithm}": received.checksum, "ChecksumType": "FULL_OBJECT"}
        return {k: v for k, v in out.items() if v is not None}

    def _body_fields(self, ctx, db, bucket, request, received, meta, tags, conf: dict) -> dict:
        from haneul.services.s3.acls import acl_from_request, ownership_rule
        acl = None
        rule = ownership_rule(conf["ownership"])
        if rule != "BucketOwnerEnforced":
            acl = json.dumps(acl_from_request(request, ctx.account, bucket=False, bucket_owner=bucket["account"]))
        owner = bucket["account"] if rule != "ObjectWriter" else ctx.account
        return {"data": json.dumps([[received.blob, received.size]]), "size": received.size,
                "etag": received.etag, "owner": owner, "storage_class": request.get("StorageClass") or "STANDARD",
                "headers": json.dumps(object_headers(request, conf["encryption"])),
                "metadata": json.dumps(meta) if meta else "{}", "tags": json.dumps(tags) if tags else "{}",
                "checksum_algorithm": received.algorithm,
                "checksum": received.checksum, "checksum_type": "FULL_OBJECT" if received.checksum else None,
                "acl": acl, **lock_fields(db, bucket, request, ctx.now())}

    def get_object(self, ctx, request):
        return self._read(ctx, request, head=False)

    def head_object(self, ctx, request):
        return self._read(ctx, request, head=True)

    def _read(self, ctx, request, head: bool):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        key = request["Key"]
        access.check(ctx, db, bucket, "s3:GetObjectVersion" if request.get("VersionId") else "s3:GetObject", key,
                     request=request)
        row = find_version(db, bucket, key, request.get("VersionId"), for_read=True)
        conditions.check_read(request, row)
        if not head:
            restore.check_readable(row, ctx.now())
        out = describe(row, bucket, request, head)
        restored = restore.header(row, ctx.now())
        if restored:
            out["Restore"] = restored
        expiration = expiration_of(db, bucket["name"], key, row["size"], None, row["modified"], row)
        if expiration:
            out["Expiration"] = expiration
        start, end, partial = _span(row, request)
        out["ContentLength"] = end - start
        if partial:
            out["ContentRange"] = f"bytes {start}-{end - 1}/{row['size']}"
            for k in [k for k in out if k.startswith("Checksum")]:
                del out[k]                       # a checksum covers the whole object only
        if request.get("PartNumber") is not None and row["parts"]:
            out["PartsCount"] = len(json.loads(row["parts"]))
        if head:
            return out
        manifest = json.loads(row["data"])
        if end - start <= bodies.SMALL:
            out["Body"] = bodies.read_small(ctx.store.blobs, manifest, start, end)
        else:
            out["Body"] = bodies.open_stream(ctx.store.blobs, manifest, start, end)
        return out

    # -- delete ---------------------------------------------------------------------------
    def delete_object(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        key = request["Key"]
        access.check(ctx, db, bucket, "s3:DeleteObject", key)
        current = storage.current(db, bucket["name"], key)
        if request.get("IfMatch") is not None:
            if current is None or current["delete_marker"]:
                raise no_such_key(key)
            if not conditions.etag_matches(request["IfMatch"], current["etag"]):
                raise conditions.precondition_failed("If-Match")
        out = self._delete(ctx, db, bucket, key, request.get("VersionId"), request)
        storage_after(ctx)
        return out

    def _delete(self, ctx, db, bucket, key, version_id, request) -> dict:
        name = bucket["name"]
        now = ctx.now()
        if version_id is not None:
            _check_version_id(version_id)
            row = storage.version(db, name, key, version_id)
            if row is None:
                return {"VersionId": version_id}
            check_lock(row, request, now)
            storage.remove_row(db, row)
            if row["latest"]:
                storage.promote_latest(db, name, key)
            self.notify(ctx, name, key, "ObjectRemoved:Delete", version_id=version_id)
            return {"VersionId": version_id, "DeleteMarker": True if row["delete_marker"] else None}
        if not bucket["versioning"]:
            row = storage.version(db, name, key, "null")
            if row is not None:
                storage.remove_row(db, row)
                storage.promote_latest(db, name, key)
                self.notify(ctx, name, key, "ObjectRemoved:Delete")
            return {}
        marker = {"delete_marker": 1, "owner": ctx.account, "data": "[]"}
        vid = write_version(db, bucket, key, marker, now)
        self.notify(ctx, name, key, "ObjectRemoved:DeleteMarkerCreated", version_id=vid)
        return {"DeleteMarker": True, "VersionId": vid}

    def delete_objects(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        headers = ctx.headers or {}
        if headers and "content-md5" not in headers and not any(h.startswith("x-amz-checksum-") for h in headers):
            raise AwsError("InvalidRequest", "Missing required header for this request: Content-Md5", status=400)
        spec = request.get("Delete") or {}
        objects = spec.get("Objects") or []
        if not objects or len(objects) > 1000:
            raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate "
                           "against our published schema", status=400)
        deleted, errors = [], []
        for obj in objects:
            key, vid = obj["Key"], obj.get("VersionId")
            try:
                access.check(ctx, db, bucket, "s3:DeleteObject", key)
                with ctx.store.transaction():
                    res = self._delete(ctx, db, bucket, key, vid, request)
            except AwsError as e:
                errors.append({"Key": key, "VersionId": vid, "Code": e.code, "Message": e.message})
                continue
            if spec.get("Quiet"):
                continue
            entry = {"Key": key, "VersionId": vid}
            if res.get("DeleteMarker"):
                entry["DeleteMarker"] = True
                entry["DeleteMarkerVersionId"] = res["VersionId"] if vid is None else vid
            deleted.append({k: v for k, v in entry.items() if v is not None})
        storage_after(ctx)
        return {"Deleted": deleted or None, "Errors": [{k: v for k, v in e.items() if v is not None}
                                                       for e in errors] or None}


def expiration_of(db, bucket: str, key: str, size: int, tags: dict | None, modified: float, row=None,
                  config: dict | None = ...) -> str | None:
    """x-amz-expiration for the current version of `key`, when a lifecycle rule expires it
    (`config`: the bucket's lifecycle configuration, when the caller has read it)."""
    if config is ...:
        config = storage.config(db, bucket, "lifecycle")
    if not config:
        return None
    from haneul.services.s3.lifecycle import expiration_header
    if tags is None:
        tags = json.loads(row["tags"]) if row is not None else {}
    return expiration_header(config, key, size, tags, modified)


def fields_headers(fields: dict) -> dict:
    return json.loads(fields["headers"])


def storage_after(ctx) -> None:
    """Delete queued blob files once the dispatcher's transaction has committed."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_soon(storage.collect_soon, ctx.store)
