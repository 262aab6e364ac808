"""Multipart uploads: create, upload part (and part copy), list, complete, abort.

Each part is its own blob file; completing an upload makes the object the list of its
parts' files, so nothing is copied however large the object is.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets

from haneul.errors import AwsError
from haneul.services.base import from_epoch
from haneul.services.s3 import access, bodies, checksums, conditions, listing, restore, storage
from haneul.services.s3.objects import (check_metadata, find_version, lock_fields, object_headers,
                                        tags_from_header, write_version)
from haneul.services.s3.storage import get_bucket

MIN_PART = 5 << 20
SETTINGS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl",
            "WebsiteRedirectLocation", "ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled",
            "StorageClass", "Tagging", "ACL", "ObjectLockMode", "ObjectLockLegalHoldStatus",
            "ChecksumAlgorithm", "ChecksumType", "GrantRead", "GrantFullControl", "GrantReadACP",
            "GrantWriteACP")


def no_such_upload(upload_id: str) -> AwsError:
    return AwsError("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, "
                    "or the upload may have been aborted or completed.", status=404, UploadId=upload_id)


def _upload(db, bucket: str, key: str, upload_id: str):
    row = db.execute("SELECT * FROM s3_upload WHERE upload_id=? AND bucket=? AND key=?",
                     (upload_id, bucket, key)).fetchone()
    if row is None:
        raise no_such_upload(upload_id)
    return row


def _part_number(n: int) -> None:
    if not 1 <= n <= 10000:
        raise AwsError("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive",
                       status=400, ArgumentName="partNumber", ArgumentValue=str(n))


class MultipartOperations:
    def create_multipart_upload(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:PutObject", request["Key"])
        check_metadata(request.get("Metadata"))
        tags_from_header(request.get("Tagging"))
        lock_fields(db, bucket, request, ctx.now())
        algo = request.get("ChecksumAlgorithm")
        ctype = request.get("ChecksumType")
        if ctype == "FULL_OBJECT" and algo not in (None, "CRC32", "CRC32C", "CRC64NVME"):
            raise AwsError("InvalidRequest", f"The FULL_OBJECT checksum type cannot be used with the "
                           f"{algo.lower()} checksum algorithm.", status=400)
        if algo == "CRC64NVME" and ctype == "COMPOSITE":
            raise AwsError("InvalidRequest", "The COMPOSITE checksum type cannot be used with the crc64nvme "
                           "checksum algorithm.", status=400)
        if algo and not ctype:
            ctype = "FULL_OBJECT" if algo == "CRC64NVME" else "COMPOSITE"
        settings = {k: request[k] for k in SETTINGS if request.get(k) is not None}
        if algo:
            settings["ChecksumType"] = ctype
        settings["Metadata"] = request.get("Metadata") or {}
        if request.get("ObjectLockRetainUntilDate") is not None:
            settings["ObjectLockRetainUntilDate"] = request["ObjectLockRetainUntilDate"].timestamp()
        if request.get("Expires") is not None:
            settings["Expires"] = request["Expires"].timestamp()
        upload_id = secrets.token_urlsafe(48)
        db.execute("INSERT INTO s3_upload(upload_id, bucket, key, initiated, owner, settings) VALUES(?,?,?,?,?,?)",
                   (upload_id, bucket["name"], request["Key"], ctx.now(), ctx.account, json.dumps(settings)))
        enc = storage.config(db, bucket["name"], "encryption")
        out = {"Bucket": bucket["name"], "Key": request["Key"], "UploadId": upload_id,
               "ServerSideEncryption": object_headers(request, enc).get("ServerSideEncryption"),
               "ChecksumAlgorithm": algo, "ChecksumType": ctype if algo else None}
        out.update(_abort_fields(db, bucket["name"], request["Key"], ctx.now()))
        return {k: v for k, v in out.items() if v is not None}

    @bodies.drains
    async def upload_part(self, ctx, request):
        bucket_name, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        number = request["PartNumber"]
        _part_number(number)
        with ctx.store.transaction() as db:
            bucket = get_bucket(db, bucket_name)
            access.check(ctx, db, bucket, "s3:PutObject", key)
            settings = json.loads(_upload(db, bucket_name, key, upload_id)["settings"])
        expect = bodies.Expect(request, ctx.headers or {}, ctx.store)
        algo = settings.get("ChecksumAlgorithm")
        if algo and expect.algorithm and expect.algorithm != algo.upper():
            raise AwsError("InvalidRequest", f"Checksum Type mismatch occurred, expected checksum Type: "
                           f"{algo.lower()}, actual checksum Type: {expect.algorithm.lower()}", status=400)
        received = await bodies.receive(ctx.store.blobs, request.get("Body"), expect,
                                        default_algorithm=algo.upper() if algo else None,
                                        durable=not ctx.store.ephemeral)
        try:
            with ctx.store.transaction() as db:
                _upload(db, bucket_name, key, upload_id)
                old = db.execute("SELECT blob, size FROM s3_part WHERE upload_id=? AND part_number=?",
                                 (upload_id, number)).fetchone()
                if old is not None:
                    storage.discard(db, [[old[0], old[1]]])
                db.execute("INSERT OR REPLACE INTO s3_part(upload_id, part_number, blob, size, etag, modified, "
                           "checksum) VALUES(?,?,?,?,?,?,?)", (upload_id, number, received.blob, received.size,
                                                              received.etag, ctx.now(),
                                                              received.checksum if algo else None))
        except BaseException:
            ctx.store.blobs.delete(received.blob)
            raise
        storage.collect_garbage(ctx.store)
        out = {"ETag": received.etag, "ServerSideEncryption": settings.get("ServerSideEncryption", "AES256")}
        if algo or expect.algorithm:
            out[f"Checksum{received.algorithm}"] = received.checksum
        return out

    async def upload_part_copy(self, ctx, request):
        from haneul.services.s3.copies import parse_copy_source
        bucket_name, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        number = request["PartNumber"]
        _part_number(number)
        src_bucket, src_key, src_version = parse_copy_source(request["CopySource"])
        with ctx.store.transaction() as db:
            bucket = get_bucket(db, bucket_name)
            access.check(ctx, db, bucket, "s3:PutObject", key)
            _upload(db, bucket_name, key, upload_id)
            sbucket = get_bucket(db, src_bucket)
            access.check(ctx, db, sbucket, "s3:GetObject", src_key)
            src = find_version(db, sbucket, src_key, src_version, for_read=True)
            conditions.check_read(request, src, prefix="CopySource")
            restore.check_readable(src, ctx.now(), source=True)
            manifest = json.loads(src["data"])
            size = src["size"]
        start, end = 0, size
        rng = request.get("CopySourceRange")
        if rng:
            span = conditions.parse_range(rng, size)
            if span is None or not rng.strip().startswith("bytes=") or rng.strip().endswith("-"):
                raise AwsError("InvalidArgument", "The x-amz-copy-source-range value must be of the form "
                               "bytes=first-last where first and last are the zero-based offsets of the first "
                               "and last bytes to copy", status=400, ArgumentName="x-amz-copy-source-range",
                               ArgumentValue=rng)
            start, end = span
        # hold the source files open while copying, so an overwrite cannot pull them away
        blob, md5, length = await asyncio.to_thread(bodies.write_range, ctx.store.blobs, manifest, start, end)
        with ctx.store.transaction() as db:
            _upload(db, bucket_name, key, upload_id)
            settings = json.loads(_upload(db, bucket_name, key, upload_id)["settings"])
            old = db.execute("SELECT blob, size FROM s3_part WHERE upload_id=? AND part_number=?",
                             (upload_id, number)).fetchone()
            if old is not None:
                storage.discard(db, [[old[0], old[1]]])
            checksum = None
            algo = settings.get("ChecksumAlgorithm")
            if algo:
                digest = await asyncio.to_thread(bodies.digest_of, ctx.store.blobs, [[blob, length]], [algo.upper()])
                checksum = digest[algo.upper()]
            now = ctx.now()
            db.execute("INSERT OR REPLACE INTO s3_part(upload_id, part_number, blob, size, etag, modified, checksum) "
                       "VALUES(?,?,?,?,?,?,?)", (upload_id, number, blob, length, f'"{md5}"', now, checksum))
        storage.collect_garbage(ctx.store)
        result = {"ETag": f'"{md5}"', "LastModified": from_epoch(int(now))}
        if checksum:
            result[f"Checksum{algo.upper()}"] = checksum
        out = {"CopyPartResult": result}
        if src_version:
            out["CopySourceVersionId"] = src_version
        return out

    def list_parts(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:ListMultipartUploadParts", request["Key"])
        up = _upload(db, bucket["name"], request["Key"], request["UploadId"])
        settings = json.loads(up["settings"])
        limit = min(request.get("MaxParts") if request.get("MaxParts") is not None else 1000, 1000)
        marker = int(request.get("PartNumberMarker") or 0)
        rows = db.execute("SELECT * FROM s3_part WHERE upload_id=? AND part_number>? ORDER BY part_number LIMIT ?",
                          (up["upload_id"], marker, limit + 1)).fetchall()
        truncated = len(rows) > limit
        rows = rows[:limit]
        algo = settings.get("ChecksumAlgorithm")
        parts = []
        for r in rows:
            p = {"PartNumber": r["part_number"], "LastModified": from_epoch(round(r["modified"], 3)),
                 "ETag": r["etag"], "Size": r["size"]}
            if algo and r["checksum"]:
                p[f"Checksum{algo.upper()}"] = r["checksum"]
            parts.append(p)
        out = {"Bucket": bucket["name"], "Key": up["key"], "UploadId": up["upload_id"],
               "PartNumberMarker": marker, "MaxParts": limit, "IsTruncated": truncated, "Parts": parts or None,
               "Initiator": {"ID": storage.canonical_id(up["owner"])}, "Owner": storage.owner(up["owner"]),
               "StorageClass": settings.get("StorageClass", "STANDARD"), "ChecksumAlgorithm": algo,
               "ChecksumType": settings.get("ChecksumType")}
        if truncated and rows:
            out["NextPartNumberMarker"] = rows[-1]["part_number"]
        out.update(_abort_fields(db, bucket["name"], up["key"], up["initiated"]))
        return {k: v for k, v in out.items() if v is not None}

    def list_multipart_uploads(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:ListBucketMultipartUploads")
        prefix, delim = request.get("Prefix") or "", request.get("Delimiter") or ""
        limit = min(request.get("MaxUploads") if request.get("MaxUploads") is not None else 1000, 1000)
        key_marker, id_marker = request.get("KeyMarker") or "", request.get("UploadIdMarker") or ""
        enc = listing._encoder(request)      # encoding-type=url: keys go back percent-encoded
        rows = db.execute("SELECT * FROM s3_upload WHERE bucket=? AND key >= ? ORDER BY key, initiated, upload_id",
                          (bucket["name"], prefix)).fetchall()
        uploads, prefixes, truncated = [], [], False
        past_marker = not key_marker
        seen_id_marker = False
        for r in rows:
            if not r["key"].startswith(prefix):
                if r["key"] > prefix:
                    break
                continue
            if not past_marker:
                if r["key"] < key_marker:
                    continue
                if r["key"] == key_marker:
                    if not id_marker:
                        continue
                    if not seen_id_marker:
                        seen_id_marker = r["upload_id"] == id_marker
                        continue
            if delim:
                i = r["key"].find(delim, len(prefix))
                if i >= 0:
                    cp = r["key"][:i + len(delim)]
                    if cp not in prefixes:
                        if len(uploads) + len(prefixes) >= limit:
                            truncated = True
                            break
                        prefixes.append(cp)
                    continue
            if len(uploads) + len(prefixes) >= limit:
                truncated = True
                break
            uploads.append(r)
        out = {"Bucket": bucket["name"], "KeyMarker": enc(key_marker), "UploadIdMarker": id_marker,
               "Prefix": enc(prefix), "Delimiter": enc(delim) if delim else None, "MaxUploads": limit,
               "IsTruncated": truncated, "EncodingType": request.get("EncodingType"),
               "Uploads": [{"UploadId": r["upload_id"], "Key": enc(r["key"]), "Initiated": from_epoch(round(r["initiated"], 3)),
                            "StorageClass": json.loads(r["settings"]).get("StorageClass", "STANDARD"),
                            "Owner": storage.owner(r["owner"]), "Initiator": {"ID": storage.canonical_id(r["owner"])},
                            **({"ChecksumAlgorithm": json.loads(r["settings"])["ChecksumAlgorithm"]}
                               if json.loads(r["settings"]).get("ChecksumAlgorithm") else {})}
                           for r in uploads] or None,
               "CommonPrefixes": [{"Prefix": enc(p)} for p in prefixes] or None}
        if truncated and uploads:
            out["NextKeyMarker"], out["NextUploadIdMarker"] = enc(uploads[-1]["key"]), uploads[-1]["upload_id"]
        return {k: v for k, v in out.items() if v is not None}

    def abort_multipart_upload(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:AbortMultipartUpload", request["Key"])
        up = _upload(db, bucket["name"], request["Key"], request["UploadId"])
        for part in db.execute("SELECT blob, size FROM s3_part WHERE upload_id=?", (up["upload_id"],)).fetchall():
            storage.discard(db, [[part[0], part[1]]])
        db.execute("DELETE FROM s3_part WHERE upload_id=?", (up["upload_id"],))
        db.execute("DELETE FROM s3_upload WHERE upload_id=?", (up["upload_id"],))
        from haneul.services.s3.objects import storage_after
        storage_after(ctx)
        return {}

    def complete_multipart_upload(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        key, upload_id = request["Key"], request["UploadId"]
        access.check(ctx, db, bucket, "s3:PutObject", key)
        up = _upload(db, bucket["name"], key, upload_id)
        settings = json.loads(up["settings"])
        wanted = (request.get("MultipartUpload") or {}).get("Parts") or []
        if not wanted:
            raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate "
                           "against our published schema", status=400)
        stored = {r["part_number"]: r for r in db.execute("SELECT * FROM s3_part WHERE upload_id=?", (upload_id,))}
        algo = (settings.get("ChecksumAlgorithm") or "").upper() or None
        last = 0
        chosen = []
        for i, p in enumerate(wanted):
            n = p.get("PartNumber")
            if n is None or n <= last:
                raise AwsError("InvalidPartOrder", "The list of parts was not in ascending order. Parts must be "
                               "ordered by part number.", status=400, UploadId=upload_id)
            last = n
            row = stored.get(n)
            if row is None or (p.get("ETag") or "").strip('"') != row["etag"].strip('"'):
                raise AwsError("InvalidPart", "One or more of the specified parts could not be found.  The part "
                               "may not have been uploaded, or the specified entity tag may not have matched "
                               "the part's entity tag.", status=400, UploadId=upload_id, PartNumber=str(n),
                               ETag=p.get("ETag"))
            if algo:
                given = p.get(f"Checksum{algo}")
                if given is None and settings.get("ChecksumType") == "COMPOSITE":
                    raise AwsError("InvalidRequest", f"The upload was created using a {algo.lower()} checksum. "
                                   f"The complete request must include the checksum for each part. It was "
                                   f"missing for part {n} in the request.", status=400)
                if given is not None and given != row["checksum"]:
                    raise AwsError("InvalidPart", "One or more of the specified parts could not be found.  The "
                                   "part may not have been uploaded, or the specified entity tag may not have "
                                   "matched the part's entity tag.", status=400, UploadId=upload_id,
                                   PartNumber=str(n), ETag=p.get("ETag"))
            chosen.append(row)
        for row in chosen[:-1]:
            if row["size"] < MIN_PART:
                raise AwsError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed "
                               "object size.", status=400, ProposedSize=str(row["size"]),
                               MinSizeAllowed=str(MIN_PART), PartNumber=str(row["part_number"]),
                               ETag=row["etag"].strip('"'))
        conditions.check_write(request, storage.current(db, bucket["name"], key))
        etag = checksums.multipart_etag([r["etag"] for r in chosen])
        checksum = ctype = None
        if algo and all(r["checksum"] for r in chosen):
            ctype = settings.get("ChecksumType", "COMPOSITE")
            if ctype == "FULL_OBJECT":
                checksum = checksums.full_object(algo, [(r["checksum"], r["size"]) for r in chosen])
            else:
                checksum = checksums.composite(algo, [r["checksum"] for r in chosen])
            claimed = request.get(f"Checksum{algo}")
            if claimed is not None and claimed != checksum:
                raise AwsError("BadDigest", f"The {algo.lower()} you specified for the full object did not "
                               "match the calculated checksum.", status=400)
        for n, row in stored.items():
            if row not in chosen:
                storage.discard(db, [[row["blob"], row["size"]]])
        request_like = dict(settings)
        if "ObjectLockRetainUntilDate" in settings:
            request_like["ObjectLockRetainUntilDate"] = settings["ObjectLockRetainUntilDate"]
        from haneul.services.s3.acls import acl_from_request, ownership
        own = ownership(db, bucket["name"])
        fields = {
            "data": json.dumps([[r["blob"], r["size"]] for r in chosen]),
            "size": sum(r["size"] for r in chosen), "etag": etag,
            "owner": bucket["account"] if own != "ObjectWriter" else up["owner"],
            "storage_class": settings.get("StorageClass", "STANDARD"),
            "headers": json.dumps(object_headers(settings, storage.config(db, bucket["name"], "encryption"))),
            "metadata": json.dumps(check_metadata(settings.get("Metadata"))),
            "tags": json.dumps(tags_from_header(settings.get("Tagging"))),
            "checksum_algorithm": algo if checksum else None, "checksum": checksum, "checksum_type": ctype,
            "parts": json.dumps([[r["size"], r["checksum"]] for r in chosen]),
            "acl": json.dumps(acl_from_request(settings, up["owner"], False, bucket["account"]))
            if own != "BucketOwnerEnforced" else None,
            **lock_fields(db, bucket, request_like, ctx.now()),
        }
        db.execute("DELETE FROM s3_part WHERE upload_id=?", (upload_id,))
        db.execute("DELETE FROM s3_upload WHERE upload_id=?", (upload_id,))
        version_id = write_version(db, bucket, key, fields, ctx.now())
        from haneul.services.s3.objects import storage_after
        storage_after(ctx)
        self.notify(ctx, bucket["name"], key, "ObjectCreated:CompleteMultipartUpload", size=fields["size"],
                    etag=etag, version_id=version_id)
        from haneul.services.s3.objects import expiration_of
        out = {"Location": f"{ctx.endpoint}/{bucket['name']}/{key}", "Bucket": bucket["name"], "Key": key,
               "ETag": etag, "VersionId": version_id,
               "Expiration": expiration_of(db, bucket["name"], key, fields["size"], json.loads(fields["tags"]),
                                           ctx.now()),
               "ServerSideEncryption": json.loads(fields["headers"]).get("ServerSideEncryption"),
               "ChecksumType": ctype}
        if checksum:
            out[f"Checksum{algo}"] = checksum
        return {k: v for k, v in out.items() if v is not None}


def _abort_fields(db, bucket: str, key: str, initiated: float) -> dict:
    """AbortDate/AbortRuleId when a lifecycle rule will abort this upload."""
    config = storage.config(db, bucket, "lifecycle")
    if not config:
        return {}
    from haneul.services.s3.lifecycle import abort_rule
    found = abort_rule(config, key, initiated)
    return {"AbortDate": from_epoch(found[0]), "AbortRuleId": found[1]} if found else {}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
