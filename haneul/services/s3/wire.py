"""S3's wire quirks over the generic rest-xml codec.

- Response documents carry S3's own root element names (ListBucketResult,
  InitiateMultipartUploadResult, Tagging ...) in the 2006-03-01 namespace: botocore's
  model only knows the output shapes' names, which other SDKs would refuse.
- Errors are a bare <Error> document with RequestId and HostId; HEAD answers never
  carry a body (errors included) and 304 Not Modified carries none either.
- Object bodies stream out: an async iterator as the payload passes through.
- Presigned URLs are refused once expired, as S3 refuses them.
"""

from __future__ import annotations

import base64
import contextvars
import datetime as dt
import os
import time
from haneul.protocol.xml import escape

from haneul.errors import AwsError
from haneul.protocol.codec import ErrorFacts
from haneul.protocol.message import HttpResponse
from haneul.protocol.rest import RestXml
from haneul.protocol.tree import WireTypeError
from haneul.protocol.xml import MalformedXml

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

# output shape (or payload shape) -> the root element S3 documents and sends
ROOTS = {
    "CompleteMultipartUploadOutput": "CompleteMultipartUploadResult",
    "CreateMultipartUploadOutput": "InitiateMultipartUploadResult",
    "CreateSessionOutput": "CreateSessionResult",
    "DeleteObjectsOutput": "DeleteResult",
    "GetBucketAccelerateConfigurationOutput": "AccelerateConfiguration",
    "GetBucketAclOutput": "AccessControlPolicy",
    "GetObjectAclOutput": "AccessControlPolicy",
    "GetBucketCorsOutput": "CORSConfiguration",
    "GetBucketLifecycleOutput": "LifecycleConfiguration",
    "GetBucketLifecycleConfigurationOutput": "LifecycleConfiguration",
    "GetBucketLocationOutput": "LocationConstraint",
    "GetBucketLoggingOutput": "BucketLoggingStatus",
    "NotificationConfigurationDeprecated": "NotificationConfiguration",
    "NotificationConfiguration": "NotificationConfiguration",
    "GetBucketRequestPaymentOutput": "RequestPaymentConfiguration",
    "GetBucketTaggingOutput": "Tagging",
    "GetObjectTaggingOutput": "Tagging",
    "GetBucketVersioningOutput": "VersioningConfiguration",
    "GetBucketWebsiteOutput": "WebsiteConfiguration",
    "GetObjectAttributesOutput": "GetObjectAttributesResponse",
    "ListBucketAnalyticsConfigurationsOutput": "ListBucketAnalyticsConfigurationResult",
    "ListBucketIntelligentTieringConfigurationsOutput": "ListBucketIntelligentTieringConfigurationsOutput",
    "ListBucketInventoryConfigurationsOutput": "ListInventoryConfigurationsResult",
    "ListBucketMetricsConfigurationsOutput": "ListMetricsConfigurationsResult",
    "ListBucketsOutput": "ListAllMyBucketsResult",
    "ListDirectoryBucketsOutput": "ListAllMyDirectoryBucketsResult",
    "ListMultipartUploadsOutput": "ListMultipartUploadsResult",
    "ListObjectVersionsOutput": "ListVersionsResult",
    "ListObjectsOutput": "ListBucketResult",
    "ListObjectsV2Output": "ListBucketResult",
    "ListPartsOutput": "ListPartsResult",
    "ObjectLockLegalHold": "LegalHold",
    "ObjectLockRetention": "Retention",
}


# (bucket, origin, method) of the request being answered, when it carries an Origin header:
# its response gets the Access-Control-* headers of the bucket's matching CORS rule.
# Set by parse() and read by serialize()/serialize_error() within the same request task.
_cors_request: contextvars.ContextVar = contextvars.ContextVar("s3_cors_request", default=None)


def host_id() -> str:
    return base64.b64encode(os.urandom(48)).decode()


class S3Xml(RestXml):
    def read_body(self, shape, body, payload_root):
        # S3 answers any value of its XML bodies it cannot read (a word where a number goes, a
        # number beyond its type) as MalformedXML, not the generic SerializationException
        try:
            return super().read_body(shape, body, payload_root)
        except MalformedXml:
            raise
        except WireTypeError:
            raise MalformedXml("The XML you provided was not well-formed or did not validate against our "
                               "published schema") from None

    def root_name(self, shape) -> str:
        return ROOTS.get(shape.name) or shape.ser.get("name") or shape.name

    def write_body(self, shape, value, payload_root):
        fast = _LISTINGS.get(shape.name)
        if fast is not None and _plain_listing(value):
            return _write_listing(value, ROOTS[shape.name], fast)
        if shape.name == "GetBucketLocationOutput":
            loc = value.get("LocationConstraint")
            inner = escape(loc) if loc else ""
            return (f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{NAMESPACE}">'
                    f'{inner}</LocationConstraint>').encode()
        out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        if shape.type == "structure":
            ns = "" if "xmlNamespace" in shape.ser else f' xmlns="{NAMESPACE}"'
            self.writer.structure(out, shape, value, self.root_name(shape), ns)
        else:
            self.writer.element(out, shape, value, self.root_name(shape))
        return "".join(out).encode()

    def parse(self, op, req, target=None) -> dict:
        origin = req.headers.get("origin")
        bucket = target.labels.get("Bucket") if origin and target is not None else None
        method = req.headers.get("access-control-request-method") or req.method
        _cors_request.set((bucket, origin, method) if bucket else None)
        if "X-Amz-Expires" in req.query or "Expires=" in req.query:
            _check_presigned(dict(req.params))
        request = super().parse(op, req, target)
        payload = op.input.ser.get("payload") if op.input is not None else None
        if payload and req.body and op.input.members[payload].ser.get("streaming"):
            # the body was read whole before routing (a form content type): its stream is spent
            request[payload] = req.body
        return request

    def serialize(self, op, output, ctx) -> HttpResponse:
        output = output or {}
        resp = super().serialize(op, output, ctx)
        if op.name == "GetBucketLocation" and not resp.body:
            resp.body = self.write_body(op.output, output, payload_root=False)
            resp.headers.append(("Content-Type", "application/xml"))
        if op.name == "RestoreObject" and output.get("Accepted"):
            resp.status = 202                    # a restore started (200: the copy was already there)
        if op.name in ("GetObject", "HeadObject") and output.get("ContentRange") and resp.status == 200:
            resp.status = 206
        if op.name == "GetObject" and resp.status in (200, 206) and not _has(resp, "content-type"):
            resp.headers.append(("Content-Type", "binary/octet-stream"))
        resp.headers.append(("x-amz-request-id", ctx.request_id))
        resp.headers.append(("x-amz-id-2", host_id()))
        _add_cors(resp.headers, ctx)
        if op.method == "HEAD":
            resp.body = _empty()
        elif isinstance(resp.body, (bytes, bytearray)):
            # the server sets Content-Length for whole bodies; only streams need ours
            resp.headers = [(k, v) for k, v in resp.headers if k.lower() != "content-length"]
        return resp

    def serialize_error(self, spec, op, err, ctx) -> HttpResponse:
        facts = ErrorFacts(spec, err)
        headers = [(k, str(v)) for k, v in err.headers.items()]
        headers.append(("x-amz-request-id", ctx.request_id if ctx else ""))
        headers.append(("x-amz-id-2", host_id()))
        _add_cors(headers, ctx)
        if facts.status == 304 or (op is not None and op.method == "HEAD"):
            return HttpResponse(facts.status, headers, b"")
        code = facts.query_code or facts.code
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<Error>', f"<Code>{escape(code)}</Code>",
                 f"<Message>{escape(err.message)}</Message>"]
        for k, v in err.fields.items():
            if v is None or k in ("Code", "Message", "message"):
                continue
            parts.append(f"<{k}>{escape(_text(v))}</{k}>")
        parts.append(f"<RequestId>{ctx.request_id if ctx else ''}</RequestId>"
                     f"<HostId>{_header(headers, 'x-amz-id-2')}</HostId></Error>")
        headers.append(("Content-Type", "application/xml"))
        return HttpResponse(facts.status, headers, "".join(parts).encode())


# -- listings, written directly ------------------------------------------------------------
# A listing page is most of S3's XML: written here from its member order (the model's),
# element for element what the generic writer produces, without walking shapes per key.
_LISTINGS = {
    "ListObjectsV2Output": ("IsTruncated", "Contents", "Name", "Prefix", "Delimiter", "MaxKeys", "CommonPrefixes",
                            "EncodingType", "KeyCount", "ContinuationToken", "NextContinuationToken", "StartAfter"),
    "ListObjectsOutput": ("IsTruncated", "Marker", "NextMarker", "Contents", "Name", "Prefix", "Delimiter",
                          "MaxKeys", "CommonPrefixes", "EncodingType"),
}
_CONTENT_MEMBERS = frozenset(("Key", "LastModified", "ETag", "ChecksumAlgorithm", "ChecksumType", "Size",
                              "StorageClass", "Owner"))


def _plain_listing(value: dict) -> bool:
    """Only members the direct writer knows (anything else takes the generic path)."""
    return all(_CONTENT_MEMBERS.issuperset(c) and set(c.get("Owner") or ()) <= {"ID", "DisplayName"}
               for c in value.get("Contents") or ())


def _iso8601(value) -> str:
    if isinstance(value, dt.datetime) and value.tzinfo is dt.timezone.utc:
        ms = value.microsecond
        base = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
                f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
        return f"{base}.{ms // 1000:03d}Z" if ms else base + "Z"
    from haneul.protocol.timestamps import iso8601
    return iso8601(value)


def _esc(text: str) -> str:
    return escape(text) if ("&" in text or "<" in text or ">" in text) else text


def _content_xml(c: dict) -> str:
    owner = c.get("Owner")
    if owner is not None:
        owner_xml = "<Owner>" + (f"<DisplayName>{_esc(owner['DisplayName'])}</DisplayName>"
                                 if owner.get("DisplayName") is not None else "") + \
            (f"<ID>{_esc(owner['ID'])}</ID>" if owner.get("ID") is not None else "") + "</Owner>"
    else:
        owner_xml = ""
    modified, etag, algos = c.get("LastModified"), c.get("ETag"), c.get("ChecksumAlgorithm")
    ctype, size, klass = c.get("ChecksumType"), c.get("Size"), c.get("StorageClass")
    return (f"<Contents><Key>{_esc(c['Key'])}</Key>"
            f"{'' if modified is None else f'<LastModified>{_iso8601(modified)}</LastModified>'}"
            f"{'' if etag is None else f'<ETag>{_esc(etag)}</ETag>'}"
            f"{''.join(f'<ChecksumAlgorithm>{_esc(a)}</ChecksumAlgorithm>' for a in algos) if algos else ''}"
            f"{'' if ctype is None else f'<ChecksumType>{_esc(ctype)}</ChecksumType>'}"
            f"{'' if size is None else f'<Size>{size}</Size>'}"
            f"{'' if klass is None else f'<StorageClass>{_esc(klass)}</StorageClass>'}"
            f"{owner_xml}</Contents>")


def _write_listing(value: dict, root: str, order: tuple) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{root} xmlns="{NAMESPACE}">']
    append = out.append
    for name in order:
        v = value.get(name)
        if v is None:
            continue
        if name == "Contents":
            out.extend(map(_content_xml, v))
        elif name == "CommonPrefixes":
            for p in v:
                append(f"<CommonPrefixes><Prefix>{_esc(p['Prefix'])}</Prefix></CommonPrefixes>"
                       if p.get("Prefix") is not None else "<CommonPrefixes></CommonPrefixes>")
        elif v is True or v is False:
            append(f"<{name}>{'true' if v else 'false'}</{name}>")
        else:
            append(f"<{name}>{_esc(str(v))}</{name}>")
    append(f"</{root}>")
    return "".join(out).encode()


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return str(v)


def _header(headers, name: str) -> str:
    return next((v for k, v in headers if k == name), "")


def _add_cors(headers: list, ctx) -> None:
    """Access-Control-* headers when the request's Origin matches a CORS rule of its bucket."""
    pending = _cors_request.get()
    if pending is None or ctx is None or ctx.store is None:
        return
    _cors_request.set(None)
    bucket, origin, method = pending
    from haneul.services.s3 import cors, storage
    with ctx.store.transaction() as db:
        config = storage.config(db, bucket, "cors")
    if config:
        headers.extend(cors.actual(config, origin, method))


def _has(resp, name: str) -> bool:
    return any(k.lower() == name for k, _ in resp.headers)


async def _empty():
    return
    yield  # pragma: no cover - makes this an async generator


def _check_presigned(q: dict) -> None:
    """SigV4 (X-Amz-Date + X-Amz-Expires) and SigV2 (Expires) query authentication."""
    now = time.time()
    if "X-Amz-Expires" in q and "X-Amz-Date" in q:
        raw = q["X-Amz-Expires"]
        if not raw.isdigit():
            raise AwsError("AuthorizationQueryParametersError",
                           "X-Amz-Expires should be a number", status=400)
        expires = int(raw)
        if expires > 604800:
            raise AwsError("AuthorizationQueryParametersError",
                           "X-Amz-Expires must be less than a week (in seconds) that is, the given "
                           "X-Amz-Expires must be less than 604800 seconds", status=400)
        try:
            signed = dt.datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        except ValueError:
            raise AwsError("AuthorizationQueryParametersError",
                           "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
                           status=400) from None
        if now > signed.timestamp() + expires:
            raise AwsError("AccessDenied", "Request has expired", status=403,
                           **{"X-Amz-Expires": str(expires)},
                           Expires=_iso(signed.timestamp() + expires), ServerTime=_iso(now))
    elif "Expires" in q and "AWSAccessKeyId" in q and q["Expires"].isdigit():
        if now > int(q["Expires"]):
            raise AwsError("AccessDenied", "Request has expired", status=403,
                           Expires=_iso(int(q["Expires"])), ServerTime=_iso(now))


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
