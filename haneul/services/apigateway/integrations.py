"""Calling what an integration points at: Lambda functions, any AWS service action or
path Haneul implements (in process, through the dispatcher), and HTTP endpoints."""

from __future__ import annotations

import asyncio
import base64
import http.client
import re
import time
import urllib.parse
from dataclasses import dataclass, field

import orjson

from haneul.context import Principal, RequestContext
from haneul.errors import AwsError

_LAMBDA_URI = re.compile(r"^arn:aws[a-z-]*:apigateway:[^:]*:lambda:path/[0-9-]+/functions/(.+?)/invocations/?$")
_AWS_URI = re.compile(r"^arn:aws[a-z-]*:apigateway:(?P<region>[^:]*):(?P<service>[^:/]+)(?::[^:/]*)?:"
                      r"(?P<kind>action|path)/(?P<rest>.*)$")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}


@dataclass
class Result:
    status: int
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    error_message: str | None = None     # a Lambda function error's errorMessage


class IntegrationError(Exception):
    """The integration could not be called (AWS answers 500/502/504 with a gateway response)."""

    def __init__(self, response_type: str, message: str, status: int):
        super().__init__(message)
        self.response_type = response_type
        self.message = message
        self.status = status


def owner_context(ctx: RequestContext, account: str, region: str) -> RequestContext:
    """The context integrations run in: the API owner's account and region."""
    return RequestContext(account=account, region=region, store=ctx.store, request_id=ctx.request_id,
                          principal=Principal(access_key=account, account=account,
                                              arn=f"arn:aws:iam::{account}:root"),
                          endpoint=ctx.endpoint, host=ctx.host, app=ctx.app, clock=ctx.clock)


def lambda_function(uri: str) -> str | None:
    m = _LAMBDA_URI.match(uri or "")
    return urllib.parse.unquote(m.group(1)) if m else None


async def invoke_lambda(owner: RequestContext, function: str, payload: bytes) -> Result:
    try:
        out = await owner.app.dispatcher.call(owner, "lambda", "Invoke",
                                              {"FunctionName": function, "Payload": payload})
    except AwsError as err:
        if err.code in ("TooManyRequestsException",):
            raise IntegrationError("THROTTLED", "Too Many Requests", 429) from None
        raise IntegrationError("API_CONFIGURATION_ERROR", "Internal server error", 500) from None
    body = out.get("Payload") or b""
    if not isinstance(body, (bytes, bytearray)):
        body = bytes(str(body), "utf-8")
    result = Result(200, {"Content-Type": "application/json"}, bytes(body))
    if out.get("FunctionError"):
        try:
            doc = orjson.loads(body)
            result.error_message = str(doc.get("errorMessage", "")) if isinstance(doc, dict) else str(doc)
        except orjson.JSONDecodeError:
            result.error_message = body.decode("utf-8", "replace")
    return result


def parse_aws_uri(uri: str) -> tuple[str, str, str, str] | None:
    """(region, service prefix, 'action'|'path', rest) of an AWS integration URI."""
    m = _AWS_URI.match(uri or "")
    if not m:
        return None
    return m.group("region"), m.group("service"), m.group("kind"), m.group("rest")


def service_for_prefix(prefix: str) -> str:
    from haneul import routing
    names = routing.indexes().by_signing.get(prefix)
    if names:
        return names[0]
    return {"states": "stepfunctions", "execute-api": "apigateway"}.get(prefix, prefix)


async def call_aws(owner: RequestContext, uri: str, http_method: str, body: bytes, headers: dict,
                   query: dict) -> Result:
    parsed = parse_aws_uri(uri)
    if parsed is None:
        raise IntegrationError("API_CONFIGURATION_ERROR", "Internal server error", 500)
    _region, prefix, kind, rest = parsed
    service = service_for_prefix(prefix)
    from haneul import catalog
    meta = catalog.services().get(service)
    if meta is None:
        return _aws_error(AwsError("UnknownOperationException", f"Unknown service {prefix}", 400))
    protocols = catalog.protocols(meta)
    if kind == "action" and ({"json", "rest-json", "smithy-rpc-v2-cbor"} & set(protocols)):
        action = rest.split("&", 1)[0].split("?", 1)[0]
        try:
            doc = _json_body(body)
            out = await owner.app.dispatcher.call(owner, service, action, doc, json_document=True)
        except AwsError as err:
            return _aws_error(err)
        return Result(200, {"Content-Type": "application/json"}, orjson.dumps(out))
    # query-protocol actions and path forms go through the HTTP stack, as AWS sends them
    if kind == "action":
        action, _, extra = rest.partition("&")
        params = [("Action", action)] + urllib.parse.parse_qsl(extra) + list(query.items())
        text = body.decode("utf-8", "replace").strip()
        if text and "=" in text and not text.startswith("{"):
            params += urllib.parse.parse_qsl(text, keep_blank_values=True)
        form = urllib.parse.urlencode(params).encode()
        return await _via_http(owner, catalog.signing_name(meta), "POST", "/", "",
                               {"content-type": "application/x-www-form-urlencoded"}, form)
    path = "/" + rest.lstrip("/")
    path = urllib.parse.quote(path, safe="/~!$&'()*+,;=:@%")
    return await _via_http(owner, catalog.signing_name(meta), http_method or "POST", path,
                           urllib.parse.urlencode(query), headers, body)


def _json_body(body: bytes):
    text = body.decode("utf-8", "replace").strip() if body else ""
    if not text:
        return {}
    from haneul.services.apigateway.mapping import parse_json_lenient
    try:
        doc = parse_json_lenient(text)
    except ValueError:
        raise AwsError("SerializationException", "Start of structure or map found where not expected.", 400) \
            from None
    if not isinstance(doc, dict):
        raise AwsError("SerializationException", "Start of list found where not expected", 400)
    return doc


def _aws_error(err: AwsError) -> Result:
    status = err.status or 400
    return Result(status, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": err.code},
                  orjson.dumps({"__type": err.code, "message": err.message}))


async def _via_http(owner: RequestContext, signing: str, method: str, path: str, query: str, headers: dict,
                    body: bytes) -> Result:
    from haneul.protocol.message import HttpRequest
    hdrs = {k.lower(): str(v) for k, v in (headers or {}).items() if k.lower() not in HOP_BY_HOP}
    host = "localhost"
    hdrs["host"] = host
    date = time.strftime("%Y%m%d", time.gmtime())
    hdrs["authorization"] = (f"AWS4-HMAC-SHA256 Credential={owner.account}/{date}/{owner.region}/{signing}/"
                             "aws4_request, SignedHeaders=host, Signature=" + "0" * 64)
    hdrs["content-length"] = str(len(body or b""))
    req = HttpRequest(method.upper(), path, query, hdrs, body or b"", host, "http")
    resp, *_ = await owner.app.dispatcher.handle(req)
    payload = resp.body
    if not isinstance(payload, (bytes, bytearray)):
        payload = b"".join([chunk async for chunk in payload])
    return Result(resp.status, {k: v for k, v in resp.headers}, bytes(payload))


async def call_http(uri: str, method: str, headers: dict, body: bytes, timeout: float) -> Result:
    """An HTTP request to the integration endpoint, in a thread (blocking client)."""
    return await asyncio.to_thread(_http_blocking, uri, method, headers, body, timeout)


def _http_blocking(uri: str, method: str, headers: dict, body: bytes, timeout: float) -> Result:
    parts = urllib.parse.urlsplit(uri)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname, parts.port, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    hdrs = {k: v for k, v in (headers or {}).items() if k.lower() not in HOP_BY_HOP}
    try:
        conn.request(method.upper(), target, body=body if body else None, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        out_headers: dict = {}
        for k, v in resp.getheaders():
            out_headers[k] = f"{out_headers[k]},{v}" if k in out_headers else v
        return Result(resp.status, out_headers, data)
    except TimeoutError:
        raise IntegrationError("INTEGRATION_TIMEOUT", "Endpoint request timed out", 504) from None
    except OSError:
        raise IntegrationError("INTEGRATION_FAILURE", "Internal server error", 500) from None
    finally:
        conn.close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
