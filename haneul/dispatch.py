"""From an HTTP request to a service method and back.

    identity -> routing -> codec.parse -> validate -> Service.<operation>(ctx, request)
             -> codec.serialize (or serialize_error)

`Dispatcher.call` is the in-process entry other services use (Step Functions tasks,
API Gateway integrations): same validation, same errors, no HTTP.
"""

from __future__ import annotations

import inspect
import logging
import os

import orjson
from botocore import xform_name  # the package root only: cheap, and exactly boto3's names

from haneul import catalog, identity, registry, routing
from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.protocol import get_codec as codec_for
from haneul.protocol import validate
from haneul.protocol.message import HttpRequest, HttpResponse
from haneul.protocol.shapes import service_spec

log = logging.getLogger("haneul.request")


class Dispatcher:
    def __init__(self, store, app=None):
        self.store = store
        self.app = app
        self._services: dict[str, object] = {}
        self._methods: dict[tuple[str, str], tuple] = {}

    # -- services ----------------------------------------------------------------------
    def service(self, name: str):
        svc = self._services.get(name)
        if svc is None and name in registry.SERVICES:
            cls = registry.load_class(name)
            if cls is None:
                return None
            self.store.migrate(name, cls.SCHEMA)
            svc = self._services[name] = cls(self.app)
            if self.app is not None and hasattr(self.app, "service_loaded"):
                self.app.service_loaded(name)
        return svc

    def loaded(self) -> list[str]:
        return list(self._services)

    def method(self, service: str, operation: str):
        key = (service, operation)
        found = self._methods.get(key)
        if found is None:
            svc = self.service(service)
            fn = getattr(svc, xform_name(operation), None) if svc is not None else None
            found = (svc, fn, inspect.iscoroutinefunction(fn) if fn else False)
            self._methods[key] = found
        return found

    # -- HTTP --------------------------------------------------------------------------
    async def handle(self, req: HttpRequest, max_body: int = 64 << 20
                     ) -> tuple[HttpResponse, RequestContext, str, str]:
        """Answer one request; also returns what the access log needs.  The body is read
        here, after routing, unless the operation streams its payload."""
        cred = identity.parse_credential(
            req.headers, req.params if "X-Amz-" in req.query or "AWSAccessKeyId" in req.query else [])
        host = req.host or "localhost"
        ctx = RequestContext(
            account=identity.DEFAULT_ACCOUNT,
            region=(cred.region if cred is not None and cred.region else identity.DEFAULT_REGION),
            store=self.store, endpoint=f"{req.scheme}://{host}", host=host, headers=req.headers,
            app=self.app, request_id=request_id(), source_ip=req.client,
            secure_transport=req.scheme == "https" or (
                _loopback(req.client) and getattr(getattr(self.app, "config", None),
                                                   "secure_transport", "loopback") != "strict"))
        spec = op = None
        codec = None
        try:
            if req.body is None and not _rest_candidate(req):
                await req.read_body(max_body)        # query/json/cbor route on the body
            target = routing.route(req, cred)
            ctx.service, ctx.operation, ctx.protocol = target.service, target.operation or "", target.protocol
            if target.protocol == "raw":
                resp = await self.data_plane(ctx, req, target, cred, max_body)
                return resp, ctx, ctx.service, "-"
            codec = codec_for(target.protocol, target.service)
            principal = ctx.principal = identity.principal_for(cred, self.store)
            ctx.account = principal.account
            if target.service not in catalog.services():
                raise AwsError("NotImplementedException",
                               f"Haneul does not serve {target.service} requests yet", 501)
            spec = service_spec(target.service, target.protocol)
            op = spec.operation(target.operation)
            if req.body is None:
                if streams_input(op):
                    req.open_stream()
                    req.body = b""
                else:
                    await req.read_body(max_body)
            request = codec.parse(op, req, target)
            output = await self.invoke(ctx, spec, op, request)
            resp = codec.serialize(op, output, ctx)
        except AwsError as err:
            resp = self.error_response(err, spec, op, codec, req, ctx)
        except Exception:
            log.exception("internal error in %s.%s", ctx.service, ctx.operation)
            err = AwsError("InternalFailure", "The request processing has failed because of an "
                           "unknown error, exception or failure.", 500, sender=False)
            resp = self.error_response(err, spec, op, codec, req, ctx)
        if not any(k.lower() == "x-amz-request-id" for k, _ in resp.headers):   # S3 sets its own
            resp.headers.append(("x-amzn-RequestId", ctx.request_id))
        return resp, ctx, ctx.service or "-", ctx.operation or "-"

    async def data_plane(self, ctx, req, target, cred, max_body) -> HttpResponse:
        """Deployed APIs and function URLs: plain HTTP in, plain HTTP out."""
        handler = registry.load_target(target.operation)
        try:
            ctx.principal = identity.principal_for(cred, self.store)
        except AwsError:        # a stale session token: the data plane decides (API Gateway's AWS_IAM)
            ctx.principal = identity.principal_for(None)
        ctx.account = ctx.principal.account
        if handler is None:
            body = orjson.dumps({"message": f"Haneul does not serve {target.service} data-plane requests yet"})
            return HttpResponse(501, [("Content-Type", "application/json")], body)
        if req.body is None and not getattr(handler, "streams_body", False):
            await req.read_body(max_body)        # handlers marked streams_body read req.open_stream()
        try:
            return await handler(ctx, req, target.labels)
        except AwsError as err:
            return HttpResponse(err.status or 400, [("Content-Type", "application/json"),
                                                    ("x-amzn-ErrorType", err.code)],
                                orjson.dumps({"message": err.message}))

    def error_response(self, err, spec, op, codec, req, ctx) -> HttpResponse:
        if codec is None:
            codec = codec_for(_guess_protocol(req))
        if spec is not None and err.query_code is None:
            svc = self._services.get(spec.name)
            codes = getattr(svc, "QUERY_ERROR_CODES", None)
            if codes:
                err.query_code = codes.get(err.code)
        return codec.serialize_error(spec, op, err, ctx)

    # -- the call itself ---------------------------------------------------------------
    async def invoke(self, ctx: RequestContext, spec, op, request: dict):
        svc, fn, is_async = self.method(spec.name, op.name)
        if fn is None:
            if svc is None:
                raise AwsError("NotImplementedException",
                               f"Haneul does not implement the {spec.name} service yet "
                               f"(operation {op.name})", 501)
            raise AwsError("NotImplementedException",
                           f"Haneul does not implement {spec.name}.{op.name} yet", 501)
        if op.input is not None:
            problems = validate.validate(op.input, request, getattr(svc, "UNCHECKED_ENUMS", frozenset()))
            if problems:
                custom = getattr(svc, "validation_error", None)     # e.g. Organizations adds Reason
                if custom is not None:
                    raise custom(problems, validate.message(problems))
                raise AwsError(getattr(svc, "VALIDATION_ERROR", "ValidationException"),
                               validate.message(problems), 400)
        if is_async:
            return await fn(ctx, request)
        with self.store.transaction() as db:
            ctx.db = db
            try:
                return fn(ctx, request)
            finally:
                ctx.db = None

    async def call(self, ctx: RequestContext, service: str, operation: str, request: dict, *,
                   account: str | None = None, region: str | None = None,
                   json_document: bool = False) -> dict:
        """In-process call from another service, as `ctx`'s caller (or in `account` /
        `region`, for deliveries such as S3 notifications to a queue's owner).

        `json_document=True` takes and gives JSON-shaped documents (blobs in base64,
        timestamps as numbers), as Step Functions' aws-sdk tasks and API Gateway mapping
        templates hold them; otherwise Python values, as services exchange them.
        """
        spec = service_spec(service)
        op = spec.operation(operation)
        if op is None:
            raise routing.unknown_operation(service, operation)
        if json_document:
            from haneul.protocol import leaves
            from haneul.protocol.awsjson import read_document
            request = read_document(op.input, request or {}, tag="doc_in", table=leaves.DOCUMENT_READ)
        sub = RequestContext(account=account or ctx.account, region=region or ctx.region,
                             store=self.store, service=service, operation=operation,
                             principal=ctx.principal, endpoint=ctx.endpoint, host=ctx.host,
                             app=self.app, clock=ctx.clock, source_ip=ctx.source_ip,
                             request_id=request_id(),   # cheaper than the field's uuid4 default
                             secure_transport=True)     # in-process calls never cross a network
        output = await self.invoke(sub, spec, op, request or {})
        if json_document:
            from haneul.protocol import leaves
            from haneul.protocol.awsjson import write_document
            output = write_document(op.output, output or {}, tag="doc_out", table=leaves.DOCUMENT_WRITE)
            output = orjson.loads(orjson.dumps(output, default=str))
        return output


def _loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip in ("::1", "localhost")


def _rest_candidate(req: HttpRequest) -> bool:
    """Could this be a REST request, routed by method, path and headers alone?"""
    h = req.headers
    return not ("x-amz-target" in h or "smithy-protocol" in h
                or "x-www-form-urlencoded" in h.get("content-type", ""))


def streams_input(op) -> bool:
    """Does the operation take a streaming blob payload (S3 PutObject, UploadPart...)?"""
    cached = op._cache.get("streams_input")
    if cached is None:
        shape = op.input
        payload = shape.ser.get("payload") if shape is not None else None
        member = shape.members.get(payload) if payload else None
        cached = op._cache["streams_input"] = bool(
            member is not None and member.type == "blob" and member.ser.get("streaming"))
    return cached


def request_id() -> str:
    """A random (version 4) UUID; cheaper than uuid.uuid4() on the hot path."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def _guess_protocol(req: HttpRequest) -> str:
    if req.headers.get("smithy-protocol") == "rpc-v2-cbor":
        return "smithy-rpc-v2-cbor"
    if "x-amz-target" in req.headers:
        return "json"
    if "x-www-form-urlencoded" in req.headers.get("content-type", "") or "Action=" in req.query:
        return "query"
    return "rest-xml" if "/" in req.path[1:] or not req.headers.get("content-type", "").endswith("json") else "rest-json"


