"""Static website hosting (bucket.s3-website.<region>.localhost): index and error
documents, RedirectAllRequestsTo, RoutingRules, per-object redirects, and S3's HTML error
pages.  Reads are anonymous: the content must be public (bucket policy or ACL)."""

from __future__ import annotations

import json
from urllib.parse import unquote
from haneul.protocol.xml import escape

from haneul.errors import AwsError
from haneul.protocol.message import HttpResponse
from haneul.services.s3 import access, bodies, conditions, storage
from haneul.services.s3.objects import HEADER_FIELDS, http_date

_REASONS = {301: "Moved Permanently", 302: "Found", 304: "Not Modified", 307: "Temporary Redirect",
            400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            412: "Precondition Failed", 416: "Requested Range Not Satisfiable"}
_HEADER_NAMES = {"ContentType": "Content-Type", "ContentEncoding": "Content-Encoding",
                 "ContentDisposition": "Content-Disposition", "ContentLanguage": "Content-Language",
                 "CacheControl": "Cache-Control", "Expires": "Expires"}


class WebError(Exception):
    def __init__(self, status: int, code: str, message: str, **fields):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def error_page(err: WebError, request_id: str, host_id: str, doc_error: WebError | None = None) -> bytes:
    title = f"{err.status} {_REASONS.get(err.status, '')}".strip()
    items = [("Code", err.code), ("Message", err.message), *err.fields.items(),
             ("RequestId", request_id), ("HostId", host_id)]
    lines = ["<html>", f"<head><title>{title}</title></head>", "<body>", f"<h1>{title}</h1>", "<ul>"]
    lines += [f"<li>{k}: {escape(str(v))}</li>" for k, v in items]
    lines += ["</ul>"]
    if doc_error is not None:
        lines += ["<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>", "<ul>",
                  f"<li>Code: {doc_error.code}</li>", f"<li>Message: {escape(doc_error.message)}</li>",
                  *[f"<li>{k}: {escape(str(v))}</li>" for k, v in doc_error.fields.items()], "</ul>"]
    lines += ["<hr/>", "</body>", "</html>", ""]
    return "\n".join(lines).encode()


def _redirect(status: int, location: str) -> HttpResponse:
    return HttpResponse(status, [("Location", location), ("Content-Length", "0")], b"")


def _target(redirect: dict, key: str, matched_prefix: str, scheme: str, host: str, status: int = 301) -> HttpResponse:
    if redirect.get("ReplaceKeyWith") is not None:
        new_key = redirect["ReplaceKeyWith"]
    elif redirect.get("ReplaceKeyPrefixWith") is not None:
        new_key = redirect["ReplaceKeyPrefixWith"] + key[len(matched_prefix):]
    else:
        new_key = key
    code = int(redirect.get("HttpRedirectCode") or status)
    location = f"{redirect.get('Protocol') or scheme}://{redirect.get('HostName') or host}/{new_key}"
    return _redirect(code, location)


def _rule_for(config: dict, key: str, error_code: int | None):
    for rule in config.get("RoutingRules") or []:
        cond = rule.get("Condition") or {}
        prefix = cond.get("KeyPrefixEquals")
        code = cond.get("HttpErrorCodeReturnedEquals")
        if prefix is not None and not key.startswith(prefix):
            continue
        if code is not None and str(code) != str(error_code):
            continue
        if code is None and error_code is not None:
            continue                     # prefix-only rules redirect before the lookup
        if prefix is None and code is None:
            continue
        return rule, prefix or ""
    return None


class Site:
    """One website request, answered from the store."""

    def __init__(self, ctx, bucket_name: str, method: str, raw_path: str, headers: dict, scheme: str):
        self.ctx, self.method, self.headers, self.scheme = ctx, method, headers, scheme
        self.bucket_name = bucket_name
        self.host = headers.get("host", ctx.host)
        self.key = unquote(raw_path.lstrip("/")) if raw_path else ""

    def answer(self) -> HttpResponse:
        try:
            return self._answer()
        except WebError as err:
            return self._error_response(err)

    def _answer(self) -> HttpResponse:
        if self.method not in ("GET", "HEAD"):
            raise WebError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.",
                           Method=self.method, ResourceType="OBJECT")
        with self.ctx.store.transaction() as db:
            bucket = db.execute("SELECT * FROM s3_bucket WHERE name=?", (self.bucket_name,)).fetchone()
            if bucket is None:
                raise WebError(404, "NoSuchBucket", "The specified bucket does not exist",
                               BucketName=self.bucket_name)
            config = storage.config(db, self.bucket_name, "website")
            if config is None:
                raise WebError(404, "NoSuchWebsiteConfiguration",
                               "The specified bucket does not have a website configuration",
                               BucketName=self.bucket_name)
            self.bucket, self.config = bucket, config
        everything = config.get("RedirectAllRequestsTo")
        if everything:
            location = f"{everything.get('Protocol') or self.scheme}://{everything['HostName']}/{self.key}"
            return _redirect(301, location)
        ruled = _rule_for(config, self.key, None)
        if ruled:
            return _target(ruled[0]["Redirect"], self.key, ruled[1], self.scheme, self.host)
        suffix = (config.get("IndexDocument") or {}).get("Suffix", "index.html")
        key = self.key
        if key == "" or key.endswith("/"):
            key += suffix
        try:
            return self._serve(key, 200)
        except WebError as err:
            if err.status == 404 and not key.endswith(suffix) and self._readable(f"{key}/{suffix}"):
                return _redirect(302, f"/{self.key}/")
            raise

    def _readable(self, key: str) -> bool:
        try:
            self._row(key)
            return True
        except WebError:
            return False

    def _row(self, key: str):
        with self.ctx.store.transaction() as db:
            try:
                access.check(self.ctx, db, self.bucket, "s3:GetObject", key)
            except AwsError:
                raise WebError(403, "AccessDenied", "Access Denied") from None
            row = storage.current(db, self.bucket_name, key)
        if row is None or row["delete_marker"]:
            raise WebError(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return row

    def _serve(self, key: str, status: int, conditional: bool = True) -> HttpResponse:
        row = self._row(key)
        headers_doc = json.loads(row["headers"])
        if headers_doc.get("WebsiteRedirectLocation"):
            return _redirect(301, headers_doc["WebsiteRedirectLocation"])
        if conditional:
            request = {"IfMatch": self.headers.get("if-match"), "IfNoneMatch": self.headers.get("if-none-match")}
            for member, header in (("IfModifiedSince", "if-modified-since"),
                                   ("IfUnmodifiedSince", "if-unmodified-since")):
                if self.headers.get(header):
                    try:
                        from haneul.protocol import timestamps
                        request[member] = timestamps.parse(self.headers[header])
                    except ValueError:
                        pass
            try:
                conditions.check_read(request, row)
            except AwsError as e:
                if e.status == 304:
                    return HttpResponse(304, [("ETag", row["etag"]), ("Last-Modified", http_date(row["modified"]))])
                raise WebError(412, "PreconditionFailed", e.message, Condition=e.fields.get("Condition")) from None
        out = [("Last-Modified", http_date(row["modified"])), ("ETag", row["etag"]),
               ("Accept-Ranges", "bytes")]
        for field in HEADER_FIELDS:
            value = headers_doc.get(field)
            if field in _HEADER_NAMES and value is not None:
                out.append((_HEADER_NAMES[field], http_date(value) if field == "Expires" else str(value)))
        for k, v in json.loads(row["metadata"]).items():
            out.append((f"x-amz-meta-{k}", v))
        if self.bucket["versioning"]:
            out.append(("x-amz-version-id", row["version_id"]))
        size = row["size"]
        start, end = 0, size
        rng = self.headers.get("range") if status == 200 else None
        if rng:
            try:
                span = conditions.parse_range(rng, size)
            except AwsError:
                raise WebError(416, "InvalidRange", "The requested range is not satisfiable",
                               RangeRequested=rng, ActualObjectSize=str(size)) from None
            if span is not None:
                start, end = span
                status = 206
                out.append(("Content-Range", f"bytes {start}-{end - 1}/{size}"))
        out.append(("Content-Length", str(end - start)))
        if self.method == "HEAD":
            return HttpResponse(status, out, b"")
        manifest = json.loads(row["data"])
        if end - start <= bodies.SMALL:
            body = bodies.read_small(self.ctx.store.blobs, manifest, start, end)
        else:
            body = bodies.open_stream(self.ctx.store.blobs, manifest, start, end)
        return HttpResponse(status, out, body)

    def _error_response(self, err: WebError) -> HttpResponse:
        config = getattr(self, "config", None)
        if config is not None and err.status in (403, 404):
            ruled = _rule_for(config, self.key, err.status)
            if ruled:
                return _target(ruled[0]["Redirect"], self.key, ruled[1], self.scheme, self.host)
        from haneul.services.s3.wire import host_id
        request_id, hid = self.ctx.request_id, host_id()
        doc_error = None
        error_key = ((config or {}).get("ErrorDocument") or {}).get("Key")
        if error_key and err.status in (403, 404):
            try:
                resp = self._serve(error_key, err.status, conditional=False)
                if resp.status == err.status:
                    return resp
            except WebError as e:
                doc_error = e
        body = error_page(err, request_id, hid, doc_error)
        headers = [("Content-Type", "text/html; charset=utf-8"), ("x-amz-request-id", request_id),
                   ("x-amz-id-2", hid)]
        headers += [("x-amz-error-code", err.code), ("x-amz-error-message", err.message)]
        headers += [(f"x-amz-error-detail-{k}", str(v)) for k, v in err.fields.items()]
        if self.method == "HEAD":
            headers.append(("Content-Length", str(len(body))))
            return HttpResponse(err.status, headers, b"")
        return HttpResponse(err.status, headers, body)
