"""CopyObject: metadata and tagging directives, conditional copies, copies onto itself."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import unquote

from haneul.errors import AwsError
from haneul.services.base import from_epoch
from haneul.services.s3 import access, bodies, conditions, restore, storage
from haneul.services.s3.objects import (HEADER_FIELDS, check_metadata, find_version, lock_fields,
                                        object_headers, tags_from_header, write_version)
from haneul.services.s3.storage import get_bucket


def parse_copy_source(source: str) -> tuple[str, str, str | None]:
    """"bucket/key?versionId=v" (URL-encoded, optional leading slash)."""
    text, _, query = source.partition("?")
    version = None
    if query.startswith("versionId="):
        version = unquote(query[len("versionId="):])
    text = unquote(text).lstrip("/")
    bucket, _, key = text.partition("/")
    if not bucket or not key:
        raise AwsError("InvalidArgument", "Invalid copy source object key", status=400,
                       ArgumentName="x-amz-copy-source", ArgumentValue=source)
    return bucket, key, version


class CopyOperations:
    async def copy_object(self, ctx, request):
        bucket_name, key = request["Bucket"], request["Key"]
        src_bucket, src_key, src_version = parse_copy_source(request["CopySource"])
        directive = request.get("MetadataDirective") or "COPY"
        tag_directive = request.get("TaggingDirective") or "COPY"
        if directive not in ("COPY", "REPLACE") or tag_directive not in ("COPY", "REPLACE"):
            raise AwsError("InvalidArgument", "Unknown metadata directive.", status=400)
        with ctx.store.transaction() as db:
            bucket = get_bucket(db, bucket_name)
            access.check(ctx, db, bucket, "s3:PutObject", key)
            sbucket = get_bucket(db, src_bucket)
            access.check(ctx, db, sbucket, "s3:GetObject", src_key)
            src = find_version(db, sbucket, src_key, src_version, for_read=True)
            conditions.check_read(request, src, prefix="CopySource")
            restore.check_readable(src, ctx.now(), source=True)
            same = (bucket_name == src_bucket and key == src_key and src_version in (None, src["version_id"]))
            changes = (directive == "REPLACE" or request.get("StorageClass") or request.get("WebsiteRedirectLocation")
                       or request.get("ServerSideEncryption") or request.get("SSEKMSKeyId"))
            if same and not changes:
                raise AwsError("InvalidRequest", "This copy request is illegal because it is trying to copy an "
                               "object to itself without changing the object's metadata, storage class, website "
                               "redirect location or encryption attributes.", status=400)
            manifest = json.loads(src["data"])
            linked = [[bodies.link_copy(ctx.store.blobs, b), size] for b, size in manifest]
            src = dict(src)
            encryption = storage.config(db, bucket_name, "encryption")
        algo = (request.get("ChecksumAlgorithm") or "").upper() or src["checksum_algorithm"]
        try:
            etag, checksum, ctype = src["etag"], src["checksum"], src["checksum_type"]
            recompute = len(manifest) > 1 or algo != src["checksum_algorithm"]
            if recompute:
                digest = await asyncio.to_thread(bodies.digest_of, ctx.store.blobs, linked,
                                                 [algo] if algo else [])
                etag = f'"{digest["MD5"]}"'
                checksum, ctype = (digest.get(algo), "FULL_OBJECT") if algo else (None, None)
            with ctx.store.transaction() as db:
                bucket = get_bucket(db, bucket_name)
                conditions.check_write(request, storage.current(db, bucket_name, key))
                if directive == "REPLACE":
                    headers = object_headers(request, encryption)
                    meta = check_metadata(request.get("Metadata"))
                else:
                    headers = {k: v for k, v in json.loads(src["headers"]).items() if k in HEADER_FIELDS}
                    for k in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled"):
                        if request.get(k) is not None:
                            headers[k] = request[k]
                    meta = json.loads(src["metadata"])
                tags = tags_from_header(request.get("Tagging")) if tag_directive == "REPLACE" \
                    else json.loads(src["tags"])
                from haneul.services.s3.acls import acl_from_request, ownership
                own = ownership(db, bucket_name)
                fields = {"data": json.dumps(linked), "size": src["size"], "etag": etag,
                          "owner": bucket["account"] if own != "ObjectWriter" else ctx.account,
                          "storage_class": request.get("StorageClass") or "STANDARD",
                          "headers": json.dumps(headers), "metadata": json.dumps(meta), "tags": json.dumps(tags),
                          "checksum_algorithm": algo if checksum else None, "checksum": checksum,
                          "checksum_type": ctype if checksum else None,
                          "parts": None,
                          "acl": json.dumps(acl_from_request(request, ctx.account, False, bucket["account"]))
                          if own != "BucketOwnerEnforced" else None,
                          **lock_fields(db, bucket, request, ctx.now())}
                version_id = write_version(db, bucket, key, fields, ctx.now())
        except BaseException:
            for b, _ in linked:
                ctx.store.blobs.delete(b)
            raise
        storage.collect_garbage(ctx.store)
        self.notify(ctx, bucket_name, key, "ObjectCreated:Copy", size=src["size"], etag=etag, version_id=version_id)
        result = {"ETag": etag, "LastModified": from_epoch(int(ctx.now()))}
        if checksum:
            result[f"Checksum{algo}"] = checksum
            result["ChecksumType"] = ctype
        out = {"CopyObjectResult": result, "VersionId": version_id,
               "CopySourceVersionId": src["version_id"] if sbucket["versioning"] else None,
               "ServerSideEncryption": headers.get("ServerSideEncryption")}
        return {k: v for k, v in out.items() if v is not None}
