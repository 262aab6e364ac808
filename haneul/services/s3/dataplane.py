"""What S3 serves outside its API model, all unsigned: CORS preflights (OPTIONS),
browser POST uploads (multipart/form-data signed inside the form) and website endpoints.

Each handler is `async def f(ctx, req, labels) -> HttpResponse`; routing sends them here
(labels: bucket and key, or bucket and path for websites).  Buckets are looked up by
name: bucket names are global, whatever account `ctx` defaults to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
from urllib.parse import quote, unquote, urlsplit
from haneul.protocol.xml import escape

from haneul import identity
from haneul.errors import AwsError
from haneul.protocol.message import HttpRequest, HttpResponse
from haneul.services.s3 import bodies, chunksig, cors, postform, storage
from haneul.services.s3.website import Site

_STORAGE_CLASSES = frozenset(("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
                              "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE"))
# form field -> PutObject member
_FORM_MEMBERS = {
    "content-type": "ContentType", "cache-control": "CacheControl", "content-disposition": "ContentDisposition",
    "content-encoding": "ContentEncoding", "content-language": "ContentLanguage", "acl": "ACL",
    "x-amz-storage-class": "StorageClass", "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
    "x-amz-website-redirect-location": "WebsiteRedirectLocation", "x-amz-checksum-algorithm": "ChecksumAlgorithm",
    "x-amz-checksum-crc32": "ChecksumCRC32", "x-amz-checksum-crc32c": "ChecksumCRC32C",
    "x-amz-checksum-crc64nvme": "ChecksumCRC64NVME", "x-amz-checksum-sha1": "ChecksumSHA1",
    "x-amz-checksum-sha256": "ChecksumSHA256", "x-amz-object-lock-mode": "ObjectLockMode",
    "x-amz-object-lock-legal-hold": "ObjectLockLegalHoldStatus",
}


def _codec():
    from haneul.protocol import get_codec
    return get_codec("rest-xml", "s3")


def xml_error(ctx, err: AwsError) -> HttpResponse:
    """S3's bare <Error> document, as its API answers."""
    from haneul.protocol.shapes import service_spec
    return _codec().serialize_error(service_spec("s3"), None, err, ctx)


def _ids(ctx) -> list[tuple[str, str]]:
    from haneul.services.s3.wire import host_id
    return [("x-amz-request-id", ctx.request_id), ("x-amz-id-2", host_id())]


def _bucket_cors(ctx, bucket: str):
    """(exists, CORS configuration or None)."""
    with ctx.store.transaction() as db:
        row = db.execute("SELECT name FROM s3_bucket WHERE name=?", (bucket,)).fetchone()
        return row is not None, (storage.config(db, bucket, "cors") if row is not None else None)


# -- CORS preflight -------------------------------------------------------------------------
async def preflight(ctx, req: HttpRequest, labels: dict) -> HttpResponse:
    bucket, key = labels.get("bucket") or "", unquote(labels.get("key") or "")
    try:
        exists, config = _bucket_cors(ctx, bucket) if bucket else (False, None)
        headers = cors.preflight(config, req.headers, bool(key), exists)
    except AwsError as err:
        return xml_error(ctx, err)
    return HttpResponse(200, headers + _ids(ctx) + [("Content-Length", "0")], b"")


# -- website endpoints ----------------------------------------------------------------------
async def website(ctx, req: HttpRequest, labels: dict) -> HttpResponse:
    anonymous = dataclasses.replace(ctx, principal=identity.principal_for(None))
    return Site(anonymous, labels.get("bucket") or "", req.method, labels.get("path") or "/", req.headers,
                req.scheme).answer()


# -- browser POST uploads -------------------------------------------------------------------
POST_LIMIT = 5 * 1024 ** 3
async def post_object(ctx, req: HttpRequest, labels: dict) -> HttpResponse:
    bucket = labels.get("bucket") or ""
    origin = req.headers.get("origin")
    try:
        resp = await _post_object(ctx, req, bucket)
    except AwsError as err:
        resp = xml_error(ctx, err)
        extra = []
    else:
        extra = _ids(ctx)
    if origin and bucket:
        _, config = _bucket_cors(ctx, bucket)
        if config:
            resp.headers.extend(cors.actual(config, origin, "POST"))
    resp.headers.extend(extra)
    return resp


post_object.streams_body = True       # the dispatcher leaves the body unread: the file streams to disk


def _principal(ctx, fields: dict) -> tuple:
    """Who signed the form, after checking the signature where Haneul knows the secret
    (IAM and STS keys); other keys are taken at their word, as everywhere in Haneul."""
    policy = fields.get("policy")
    if "x-amz-credential" in fields or "x-amz-signature" in fields or "x-amz-algorithm" in fields:
        for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "policy"):
            if not fields.get(name):
                raise postform.missing_field(name)
        if fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
            raise AwsError("InvalidArgument", "Unsupported algorithm", status=400,
                           ArgumentName="x-amz-algorithm", ArgumentValue=fields["x-amz-algorithm"])
        scope = fields["x-amz-credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise AwsError("InvalidArgument", "Invalid argument.", status=400, ArgumentName="x-amz-credential",
                           ArgumentValue=fields["x-amz-credential"])
        cred = identity.Credential(access_key=scope[0], date=scope[1], region=scope[2], service=scope[3],
                                   signature=fields["x-amz-signature"], algorithm="AWS4-HMAC-SHA256",
                                   session_token=fields.get("x-amz-security-token"))
        secret = chunksig.known_secret(ctx.store, scope[0])
        if secret is not None and postform.signature_v4(secret, scope[1], scope[2], policy, scope[3]) \
                != fields["x-amz-signature"].lower():
            raise postform.signature_mismatch()
    elif "awsaccesskeyid" in fields or "signature" in fields:
        for name, label in (("awsaccesskeyid", "AWSAccessKeyId"), ("signature", "Signature"), ("policy", "policy")):
            if not fields.get(name):
                raise postform.missing_field(label)
        cred = identity.Credential(access_key=fields["awsaccesskeyid"], signature=fields["signature"],
                                   algorithm="AWS", session_token=fields.get("x-amz-security-token"))
        secret = chunksig.known_secret(ctx.store, cred.access_key)
        if secret is not None and postform.signature_v2(secret, policy) != fields["signature"]:
            raise postform.signature_mismatch()
    else:
        if policy:
            raise postform.missing_field("AWSAccessKeyId")
        return identity.principal_for(None), False
    return identity.principal_for(cred, ctx.store), True


async def _post_object(ctx, req: HttpRequest, bucket: str) -> HttpResponse:
    # what follows the file (or what an error left unread) is discarded by the server
    form = postform.FormReader(req.body if req.body is not None else req.open_stream(),
                               req.headers.get("content-type", ""))
    return await _store_form(ctx, req, bucket, form)


async def _store_form(ctx, req: HttpRequest, bucket: str, form) -> HttpResponse:
    fields, file = await form.fields()
    with ctx.store.transaction() as db:
        storage.get_bucket(db, bucket)
    if "key" not in fields:
        raise postform.missing_field("key")
    if file is None:
        raise AwsError("InvalidArgument", "POST requires exactly one file upload per request.", status=400,
                       ArgumentName="file", ArgumentValue="0")
    principal, signed = _principal(ctx, fields)
    length_range = None
    if signed:
        doc = postform.decode_policy(fields["policy"])
        length_range = postform.check_policy(doc, fields, bucket, None, ctx.now())
    key = fields["key"].replace("${filename}", file.filename.replace("\\", "/").rsplit("/", 1)[-1])
    if not key:
        raise AwsError("InvalidArgument", "User key must have a length greater than 0.", status=400,
                       ArgumentName="key", ArgumentValue="")
    request = _put_request(bucket, key, fields)
    # the file streams to a blob file; its size is checked against the policy before it is stored
    received = await bodies.receive(ctx.store.blobs, _limited(form.file_chunks(), length_range),
                                    bodies.Expect(request, {}), durable=not ctx.store.ephemeral)
    try:
        postform.check_length(length_range, received.size)
        sub = dataclasses.replace(ctx, principal=principal, account=principal.account, headers={}, db=None)
        from haneul.services.s3.service import S3
        svc = ctx.app.dispatcher.service("s3") if ctx.app is not None and ctx.app.dispatcher is not None else S3()
        out = await svc.store_object(sub, request, event="ObjectCreated:Post", received=received)
    except BaseException:
        ctx.store.blobs.delete(received.blob)
        raise
    return _post_answer(ctx, req, fields, bucket, key, out)


async def _limited(chunks, length_range: tuple | None):
    """The file's chunks, stopped with EntityTooLarge as soon as the policy's maximum (or
    S3's 5 GB for one POST) is passed."""
    high = min(length_range[1], POST_LIMIT) if length_range is not None else POST_LIMIT
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > high:
            postform.check_length((0, high), size)
        yield chunk


def _put_request(bucket: str, key: str, fields: dict) -> dict:
    request: dict = {"Bucket": bucket, "Key": key}
    for name, member in _FORM_MEMBERS.items():
        if fields.get(name):
            request[member] = fields[name]
    if request.get("StorageClass") and request["StorageClass"] not in _STORAGE_CLASSES:
        raise AwsError("InvalidStorageClass", "The storage class you specified is not valid", status=400,
                       StorageClassRequested=request["StorageClass"])
    if fields.get("expires"):
        parsed = email.utils.parsedate_to_datetime(fields["expires"]) if "," in fields["expires"] else None
        if parsed is not None:
            request["Expires"] = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    if fields.get("x-amz-object-lock-retain-until-date"):
        from haneul.protocol import timestamps
        request["ObjectLockRetainUntilDate"] = timestamps.parse(fields["x-amz-object-lock-retain-until-date"])
    meta = {k[len("x-amz-meta-"):]: v for k, v in fields.items() if k.startswith("x-amz-meta-")}
    if meta:
        request["Metadata"] = meta
    if fields.get("tagging"):
        request["Tagging"] = postform.tagging_query(fields["tagging"])
    return request


def _post_answer(ctx, req, fields: dict, bucket: str, key: str, out: dict) -> HttpResponse:
    host = req.host or ctx.host
    if host.split(":")[0].startswith(bucket + "."):
        location = f"{req.scheme}://{host}/{quote(key)}"
    else:
        location = f"{req.scheme}://{host}/{bucket}/{quote(key)}"
    etag = out["ETag"]
    headers = [("ETag", etag), ("Location", location)]
    if out.get("VersionId"):
        headers.append(("x-amz-version-id", out["VersionId"]))
    if out.get("ServerSideEncryption"):
        headers.append(("x-amz-server-side-encryption", out["ServerSideEncryption"]))
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect and urlsplit(redirect).scheme in ("http", "https"):
        sep = "&" if "?" in redirect else "?"
        target = f"{redirect}{sep}bucket={quote(bucket)}&key={quote(key)}&etag={quote(etag)}"
        return HttpResponse(303, [h for h in headers if h[0] != "Location"] + [("Location", target)], b"")
    status = fields.get("success_action_status")
    if status == "201":
        doc = (f'<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>{escape(location)}</Location>'
               f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(key)}</Key><ETag>{escape(etag)}</ETag>"
               "</PostResponse>")
        return HttpResponse(201, headers + [("Content-Type", "application/xml")], doc.encode())
    return HttpResponse(200 if status == "200" else 204, headers, b"")
