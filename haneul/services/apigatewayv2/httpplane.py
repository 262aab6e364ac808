"""The HTTP API data plane: stages ($default or named), routes (method + path with
{params} and {greedy+}, $default), CORS, JWT / Lambda / IAM authorization, and the
integrations: Lambda proxy (payload 2.0 and 1.0), HTTP_PROXY and the AWS subtypes."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections import OrderedDict
from urllib.parse import unquote, urlencode

import orjson

from haneul import registry
from haneul.errors import AwsError
from haneul.protocol.message import HttpResponse
from haneul.services.apigateway import authorizers, iamauth, integrations, mapping
from haneul.services.apigateway.records import reading
from haneul.services.apigateway.restplane import canonical
from haneul.services.apigatewayv2 import jwt, store, subtypes

_CACHE: "OrderedDict[tuple, Compiled]" = OrderedDict()


class Fail(Exception):
    def __init__(self, status: int, message: str, headers: list | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


class Route:
    __slots__ = ("doc", "method", "segments", "default")

    def __init__(self, doc: dict):
        self.doc = doc
        key = doc["RouteKey"]
        self.default = key == "$default"
        self.method, _, path = key.partition(" ")
        self.segments = [p for p in path.split("/") if p] if not self.default else []

    def match(self, method: str, segs: list[str]):
        if self.default or (self.method != "ANY" and self.method != method):
            return None
        params: dict = {}
        literals = 0
        for i, part in enumerate(self.segments):
            if part.startswith("{") and part.endswith("+}"):
                if i >= len(segs):
                    return None
                params[part[1:-2]] = "/".join(segs[i:])
                return (literals, 0, self.method != "ANY"), params
            if i >= len(segs):
                return None
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = segs[i]
            elif part != segs[i]:
                return None
            else:
                literals += 1
        if len(segs) != len(self.segments):
            return None
        return (literals, 1, self.method != "ANY"), params


class Compiled:
    def __init__(self, snapshot: dict):
        self.api = snapshot.get("api") or {}
        self.routes = [Route(r) for r in snapshot.get("routes") or ()]
        self.integrations = {i["IntegrationId"]: i for i in snapshot.get("integrations") or ()}
        self.authorizers = {a["AuthorizerId"]: a for a in snapshot.get("authorizers") or ()}

    def match(self, method: str, path: str):
        segs = [unquote(p) for p in path.split("/") if p]
        best = None
        for route in self.routes:
            found = route.match(method, segs)
            if found and (best is None or found[0] > best[0]):
                best = (found[0], route, found[1])
        if best is not None:
            return best[1], best[2]
        for route in self.routes:
            if route.default:
                return route, {}
        return None


def _compiled(db, owner, api_id: str, deployment_id: str) -> Compiled | None:
    key = (owner.account, owner.region, api_id, deployment_id)
    found = _CACHE.get(key)
    if found is None:
        snap = store.get(db, owner, "snapshot", api_id, deployment_id)
        if snap is None:
            return None
        found = _CACHE[key] = Compiled(snap)
        if len(_CACHE) > 256:
            _CACHE.popitem(last=False)
    return found


def _json(status: int, doc: dict, request_id: str, headers: list | None = None) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json"), ("Apigw-Requestid", request_id)]
                        + (headers or []), orjson.dumps(doc))


async def serve(ctx, req, api_id: str, account: str, region: str, stage_name: str | None, path: str) -> HttpResponse:
    owner = integrations.owner_context(ctx, account, region)
    prefix = ""
    with reading(ctx.store) as db:
        api = store.get(db, owner, "api", "", api_id)
        if api is None:
            return _json(404, {"message": "Not Found"}, ctx.request_id)
        if api.get("ProtocolType") == "WEBSOCKET":
            return _json(501, {"message": "WebSocket APIs are not implemented by Haneul yet"}, ctx.request_id)
        stages = {s["StageName"]: s for s in store.items(db, owner, "stage", api_id)}
        stage = None
        if stage_name is not None:
            stage = stages.get(stage_name)
        else:
            first, _, rest = path.lstrip("/").partition("/")
            if first and first in stages and first != "$default":
                stage, path, prefix = stages[first], "/" + rest, "/" + first
            else:
                stage = stages.get("$default")
        dep = _compiled(db, owner, api_id, stage["DeploymentId"]) if stage and stage.get("DeploymentId") else None
    if dep is None:
        return _json(404, {"message": "Not Found"}, ctx.request_id)
    cors = _cors_headers(dep.api.get("CorsConfiguration"), req)
    try:
        if cors is not None and req.method == "OPTIONS" and "access-control-request-method" in req.headers:
            return HttpResponse(204, cors[1] + [("Apigw-Requestid", ctx.request_id)], b"")
        resp = await _route(ctx, owner, req, dep, stage, api_id, path, prefix)
    except Fail as f:
        resp = _json(f.status, {"message": f.message}, ctx.request_id, f.headers)
    if cors is not None:
        names = {k.lower() for k, _ in resp.headers}
        resp.headers.extend((k, v) for k, v in cors[0] if k.lower() not in names)
    return resp


def _cors_headers(config: dict | None, req):
    """(headers for responses, headers for a preflight) or None when CORS is off or the
    origin is not allowed."""
    if not config or "origin" not in req.headers:
        return None
    origin = req.headers["origin"]
    origins = config.get("AllowOrigins") or []
    if "*" not in origins and origin not in origins:
        return [], []
    creds = bool(config.get("AllowCredentials"))
    allow_origin = origin if (creds or "*" not in origins) else "*"
    common = [("Access-Control-Allow-Origin", allow_origin)]
    if creds:
        common.append(("Access-Control-Allow-Credentials", "true"))
    response = list(common)
    if config.get("ExposeHeaders"):
        response.append(("Access-Control-Expose-Headers", ",".join(config["ExposeHeaders"])))
    preflight = list(common)
    methods = config.get("AllowMethods") or []
    if methods:
        wanted = req.headers.get("access-control-request-method", "")
        preflight.append(("Access-Control-Allow-Methods", wanted if "*" in methods else ",".join(methods)))
    headers = config.get("AllowHeaders") or []
    if headers:
        wanted = req.headers.get("access-control-request-headers", "")
        preflight.append(("Access-Control-Allow-Headers", wanted if "*" in headers else ",".join(headers)))
    if config.get("MaxAge") is not None:
        preflight.append(("Access-Control-Max-Age", str(config["MaxAge"])))
    return response, preflight


class Incoming:
    """The request as identity sources and parameter mappings read it."""

    def __init__(self, req, api_id: str, path_params: dict, stage_variables: dict, context: dict):
        self.req = req
        self.api_id = api_id
        self.path_params = path_params
        self.stage_variables = stage_variables
        self.context = context
        self.query_map: dict[str, list[str]] = {}
        for k, v in req.params:
            self.query_map.setdefault(k, []).append(v)

    def header(self, name: str):
        return self.req.headers.get(name.lower())

    def query(self, name: str):
        values = self.query_map.get(name)
        return ",".join(values) if values else None


async def _route(ctx, owner, req, dep: Compiled, stage: dict, api_id: str, path: str, prefix: str) -> HttpResponse:
    found = dep.match(req.method, path)
    if found is None:
        raise Fail(404, "Not Found")
    route, path_params = found
    doc = route.doc
    variables = stage.get("StageVariables") or {}
    now = time.time()
    context = {"accountId": owner.account, "apiId": api_id, "domainName": (ctx.host or "").split(":")[0],
               "domainPrefix": (ctx.host or "").split(".")[0], "requestId": ctx.request_id,
               "routeKey": doc["RouteKey"], "stage": stage["StageName"], "httpMethod": req.method,
               "path": prefix + path, "protocol": "HTTP/1.1",
               "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)), "timeEpoch": int(now * 1000),
               "identity": {"sourceIp": req.headers.get("x-forwarded-for", "127.0.0.1").split(",")[0].strip(),
                            "userAgent": req.headers.get("user-agent", "")}, "authorizer": {}}
    incoming = Incoming(req, api_id, path_params, variables, context)
    settings = (stage.get("RouteSettings") or {}).get(doc["RouteKey"]) or stage.get("DefaultRouteSettings") or {}
    if settings.get("ThrottlingRateLimit") is not None or settings.get("ThrottlingBurstLimit") is not None:
        from haneul.services.apigateway import throttling
        if not throttling.take(("v2", owner.account, api_id, stage["StageName"], doc["RouteKey"]),
                               float(settings.get("ThrottlingRateLimit", 10000.0)),
                               int(settings.get("ThrottlingBurstLimit", 5000))):
            raise Fail(429, "Too Many Requests")
    authorizer_ctx = await _authorize(ctx, owner, req, dep, doc, incoming, stage, path, prefix, path_params)
    integration = dep.integrations.get((doc.get("Target") or "").replace("integrations/", ""))
    if integration is None:
        raise Fail(500, "Internal Server Error")
    timeout = (integration.get("TimeoutInMillis") or 30000) / 1000.0
    try:
        return await _within(_integrate(ctx, owner, req, dep, doc, integration, incoming, stage, path,
                                        prefix, path_params, authorizer_ctx), timeout)
    except asyncio.TimeoutError:
        raise Fail(503, "Service Unavailable") from None
    except integrations.IntegrationError as e:
        raise Fail(500 if e.status < 500 else (503 if e.status == 504 else 500),
                   "Service Unavailable" if e.status == 504 else "Internal Server Error") from None


async def _authorize(ctx, owner, req, dep, route: dict, incoming: Incoming, stage: dict, path: str, prefix: str,
                     path_params: dict) -> dict:
    kind = route.get("AuthorizationType") or "NONE"
    if kind == "NONE":
        return {}
    if kind == "AWS_IAM":
        try:
            who = iamauth.caller(ctx.store, req, owner.region, ctx.now())
        except iamauth.Refused as r:
            # an unsigned request is a bare Forbidden on HTTP APIs; a bad signature says why
            if r.response_type == "MISSING_AUTHENTICATION_TOKEN":
                raise Fail(403, "Forbidden") from None
            raise Fail(403, r.message, [("x-amzn-ErrorType", r.error_type)]) from None
        incoming.context["identity"].update(who)
        return {"iam": {"accessKey": who["accessKey"], "accountId": who["accountId"], "callerId": who["caller"],
                        "cognitoIdentity": None, "principalOrgId": None, "userArn": who["userArn"],
                        "userId": who["user"]}}
    authorizer = dep.authorizers.get(route.get("AuthorizerId") or "")
    if authorizer is None:
        raise Fail(500, "Internal Server Error")
    if kind == "JWT":
        sources = authorizer.get("IdentitySource") or ["$request.header.Authorization"]
        values = authorizers.identity_values(",".join(sources), incoming)
        if not values:
            raise Fail(401, "Unauthorized", [("www-authenticate", 'Bearer')])
        try:
            claims = await jwt.validate(values[0], authorizer.get("JwtConfiguration") or {},
                                        route.get("AuthorizationScopes"))
        except jwt.JwtRejected as r:
            raise Fail(r.status, r.message, [("www-authenticate", 'Bearer error="invalid_token"')]
                       if r.status == 401 else []) from None
        scopes = str(claims.get("scope") or "").split() or None
        return {"jwt": {"claims": {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in claims.items()},
                        "scopes": scopes}}
    route_arn = (f"arn:aws:execute-api:{owner.region}:{owner.account}:{incoming.api_id}/{stage['StageName']}/"
                 f"{req.method}{path}")
    version = authorizer.get("AuthorizerPayloadFormatVersion") or "2.0"
    event = _event_v2(req, route, incoming, stage, path, prefix, path_params, {}) if version == "2.0" else \
        _event_v1(req, route, incoming, stage, path, prefix, path_params, {})
    if version == "2.0":
        event["type"] = "REQUEST"
        event["routeArn"] = route_arn
        event["identitySource"] = authorizers.identity_values(",".join(authorizer.get("IdentitySource") or []),
                                                              incoming) or []
    else:
        event["type"] = "REQUEST"
        event["methodArn"] = route_arn
    try:
        result = await authorizers.authorize_http(owner, authorizer, incoming, route_arn, event)
    except authorizers.Denied as d:
        raise Fail(d.status if d.status in (401, 403) else 500,
                   {401: "Unauthorized", 403: "Forbidden"}.get(d.status, "Internal Server Error")) from None
    return {"lambda": result}


def _headers_v2(req) -> dict:
    return {k: v for k, v in req.headers.items()}


def _body(req, encode: bool) -> tuple[str | None, bool]:
    data = req.body or b""
    if not data:
        return None, False
    ctype = req.headers.get("content-type", "")
    textual = any(t in ctype for t in ("json", "text", "xml", "x-www-form-urlencoded", "javascript")) or not ctype
    if textual:
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(data).decode(), True


def _event_v2(req, route: dict, incoming: Incoming, stage: dict, path: str, prefix: str, path_params: dict,
              authorizer: dict) -> dict:
    body, b64 = _body(req, True)
    headers = _headers_v2(req)
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()] if "cookie" in headers else None
    context = incoming.context
    request_context = {"accountId": context["accountId"], "apiId": context["apiId"],
                       "domainName": context["domainName"], "domainPrefix": context["domainPrefix"],
                       "http": {"method": req.method, "path": prefix + path, "protocol": "HTTP/1.1",
                                "sourceIp": context["identity"]["sourceIp"],
                                "userAgent": context["identity"]["userAgent"]},
                       "requestId": context["requestId"], "routeKey": route["RouteKey"], "stage": stage["StageName"],
                       "time": context["time"], "timeEpoch": context["timeEpoch"]}
    if authorizer:
        request_context["authorizer"] = authorizer
    event = {"version": "2.0", "routeKey": route["RouteKey"], "rawPath": prefix + path,
             "rawQueryString": req.query, "headers": headers, "requestContext": request_context,
             "isBase64Encoded": b64}
    if cookies:
        event["cookies"] = cookies
    if incoming.query_map:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in incoming.query_map.items()}
    if path_params:
        event["pathParameters"] = path_params
    if stage.get("StageVariables"):
        event["stageVariables"] = stage["StageVariables"]
    if body is not None:
        event["body"] = body
    return event


def _event_v1(req, route: dict, incoming: Incoming, stage: dict, path: str, prefix: str, path_params: dict,
              authorizer: dict) -> dict:
    body, b64 = _body(req, True)
    context = incoming.context
    headers = {canonical(k): v for k, v in req.headers.items()}
    request_context = {"accountId": context["accountId"], "apiId": context["apiId"],
                       "domainName": context["domainName"], "domainPrefix": context["domainPrefix"],
                       "extendedRequestId": context["requestId"], "httpMethod": req.method,
                       "identity": {"accessKey": None, "accountId": None, "caller": None,
                                    "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None,
                                    "cognitoIdentityId": None, "cognitoIdentityPoolId": None, "principalOrgId": None,
                                    "user": None, "userArn": None, **context["identity"]},
                       "path": prefix + path, "protocol": "HTTP/1.1", "requestId": context["requestId"],
                       "requestTime": context["time"], "requestTimeEpoch": context["timeEpoch"],
                       "resourceId": route["RouteKey"], "resourcePath": route["RouteKey"].partition(" ")[2] or "/",
                       "stage": stage["StageName"]}
    if authorizer:
        flat = dict(authorizer.get("lambda") or {})
        if "jwt" in authorizer:
            flat = {"claims": authorizer["jwt"]["claims"], "scopes": authorizer["jwt"]["scopes"]}
        request_context["authorizer"] = flat
    return {"version": "1.0", "resource": route["RouteKey"].partition(" ")[2] or "/", "path": prefix + path,
            "httpMethod": req.method, "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in incoming.query_map.items()} or None,
            "multiValueQueryStringParameters": incoming.query_map or None, "requestContext": request_context,
            "pathParameters": path_params or None, "stageVariables": stage.get("StageVariables") or None,
            "body": body, "isBase64Encoded": b64}


def _value(expr, req, incoming: Incoming, authorizer: dict):
    """An HTTP API parameter mapping value: $request.body[.path], $request.header.x,
    $request.querystring.x, $request.path[.x], $context.x, $stageVariables.x, ${...}
    inside text, or a literal."""
    if not isinstance(expr, str):
        return expr
    if "${" in expr:
        return re.sub(r"\$\{([^}]+)\}", lambda m: _text(_value("$" + m.group(1), req, incoming, authorizer)), expr)
    if not expr.startswith("$"):
        return expr
    if expr == "$request.body":
        return (req.body or b"").decode("utf-8", "replace")
    if expr.startswith("$request.body."):
        return mapping.InputVar((req.body or b"").decode("utf-8", "replace")).path("$" + expr[len("$request.body"):])
    if expr.startswith("$request.header."):
        return req.headers.get(expr[len("$request.header."):].lower())
    if expr.startswith("$request.querystring."):
        return incoming.query(expr[len("$request.querystring."):])
    if expr == "$request.path":
        return incoming.context["path"]
    if expr.startswith("$request.path."):
        return incoming.path_params.get(expr[len("$request.path."):])
    if expr.startswith("$stageVariables."):
        return (incoming.stage_variables or {}).get(expr[len("$stageVariables."):])
    if expr.startswith("$context."):
        cur = dict(incoming.context, authorizer=authorizer.get("lambda") or authorizer.get("jwt") or {})
        for part in expr[len("$context."):].split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        return cur
    return expr


def _text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


async def _integrate(ctx, owner, req, dep, route, integration, incoming, stage, path, prefix, path_params,
                     authorizer) -> HttpResponse:
    kind = integration["IntegrationType"]
    subtype = integration.get("IntegrationSubtype")
    if kind == "AWS_PROXY" and subtype:
        resp = await _subtype(owner, subtype, integration, req, incoming, authorizer)
    elif kind == "AWS_PROXY":
        function = integrations.lambda_function(integration.get("IntegrationUri") or "") or \
            integration.get("IntegrationUri")
        version = integration.get("PayloadFormatVersion") or "2.0"
        event = (_event_v2 if version == "2.0" else _event_v1)(req, route, incoming, stage, path, prefix,
                                                                path_params, authorizer)
        result = await integrations.invoke_lambda(owner, function, orjson.dumps(event))
        if result.error_message is not None:
            raise Fail(500, "Internal Server Error")
        resp = _lambda_response(result.body, version)
    elif kind == "HTTP_PROXY":
        resp = await _http_proxy(req, integration, incoming, authorizer, path_params)
    else:
        raise Fail(500, "Internal Server Error")
    resp.headers.append(("Apigw-Requestid", ctx.request_id))
    return _response_parameters(resp, integration, req, incoming, authorizer)


async def _subtype(owner, subtype: str, integration: dict, req, incoming, authorizer) -> HttpResponse:
    values = {k: _value(v, req, incoming, authorizer) for k, v in (integration.get("RequestParameters") or {}).items()}
    try:
        service, operation, request = subtypes.build_request(subtype, values)
    except subtypes.SubtypeError as e:
        return HttpResponse(e.status, [("Content-Type", "application/json")], orjson.dumps(e.body))
    if not registry.available(service):
        return HttpResponse(500, [("Content-Type", "application/json")], orjson.dumps(
            {"message": f"Haneul does not implement {subtypes.NAMES.get(service, service)} ({service}) yet, so the "
                        f"{subtype} integration cannot run"}))
    try:
        out = await owner.app.dispatcher.call(owner, service, operation, request, json_document=True)
    except AwsError as err:
        return HttpResponse(err.status or 400, [("Content-Type", "application/json"), ("x-amzn-ErrorType", err.code)],
                            orjson.dumps({"__type": err.code, "message": err.message}))
    return HttpResponse(200, [("Content-Type", "application/json")], orjson.dumps(out))


async def _http_proxy(req, integration: dict, incoming: Incoming, authorizer: dict, path_params: dict) -> HttpResponse:
    uri = integration.get("IntegrationUri") or ""
    headers = {canonical(k): v for k, v in req.headers.items() if k not in integrations.HOP_BY_HOP}
    query = {k: v[-1] for k, v in incoming.query_map.items()}
    path_override = None
    for target, source in (integration.get("RequestParameters") or {}).items():
        action, _, where = target.partition(":")
        value = _text(_value(source, req, incoming, authorizer))
        place, _, name = where.partition(".")
        if place == "header":
            if action == "remove":
                headers.pop(canonical(name), None)
            elif action == "append" and canonical(name) in headers:
                headers[canonical(name)] += "," + value
            else:
                headers[canonical(name)] = value
        elif place == "querystring":
            if action == "remove":
                query.pop(name, None)
            else:
                query[name] = value
        elif place == "path":
            path_override = value
    target = re.sub(r"\{([A-Za-z0-9_.+-]+)\}", lambda m: path_params.get(m.group(1).rstrip("+"), ""), uri)
    if path_override is not None:
        scheme, _, rest = target.partition("://")
        target = f"{scheme}://{rest.split('/', 1)[0]}/{path_override.lstrip('/')}"
    if query:
        target += ("&" if "?" in target else "?") + urlencode(query)
    method = integration.get("IntegrationMethod") or req.method
    if method == "ANY":
        method = req.method
    result = await integrations.call_http(target, method, headers, req.body or b"",
                                          (integration.get("TimeoutInMillis") or 30000) / 1000.0)
    out = [(k, v) for k, v in result.headers.items() if k.lower() not in integrations.HOP_BY_HOP]
    return HttpResponse(result.status, out, result.body)


def _lambda_response(payload: bytes, version: str) -> HttpResponse:
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        if version == "2.0":
            return HttpResponse(200, [("Content-Type", "application/json")], payload)
        raise Fail(500, "Internal Server Error") from None
    if version == "2.0" and not (isinstance(doc, dict) and "statusCode" in doc):
        body = doc if isinstance(doc, str) else json.dumps(doc)
        return HttpResponse(200, [("Content-Type", "application/json")], body.encode())
    if not isinstance(doc, dict):
        raise Fail(500, "Internal Server Error")
    try:
        status = int(doc.get("statusCode", 200))
    except (TypeError, ValueError):
        raise Fail(500, "Internal Server Error") from None
    headers = []
    multi = doc.get("multiValueHeaders") or {}
    for k, v in (doc.get("headers") or {}).items():
        if k not in multi:
            headers.append((k, "true" if v is True else "false" if v is False else str(v)))
    for k, values in multi.items():
        headers.extend((k, str(v)) for v in (values if isinstance(values, list) else [values]))
    for cookie in doc.get("cookies") or ():
        headers.append(("Set-Cookie", cookie))
    body = doc.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body).encode()
    if doc.get("isBase64Encoded") and data:
        try:
            data = base64.b64decode(data)
        except ValueError:
            raise Fail(500, "Internal Server Error") from None
    if version == "2.0" and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, data)


def _response_parameters(resp: HttpResponse, integration: dict, req, incoming, authorizer) -> HttpResponse:
    mappings = (integration.get("ResponseParameters") or {}).get(str(resp.status))
    if not mappings:
        return resp
    for target, source in mappings.items():
        action, _, where = target.partition(":")
        if where.lower() == "statuscode":
            try:
                resp.status = int(_text(_value(source, req, incoming, authorizer)))
            except ValueError:
                pass
            continue
        place, _, name = where.partition(".")
        if place != "header":
            continue
        if action == "remove":
            resp.headers = [(k, v) for k, v in resp.headers if k.lower() != name.lower()]
            continue
        value = source
        if isinstance(source, str) and source.startswith("$response.header."):
            value = resp.header(source[len("$response.header."):]) or ""
        elif isinstance(source, str) and source.startswith("$response.body"):
            value = _text(mapping.InputVar(bytes(resp.body).decode("utf-8", "replace")).path(
                "$" + source[len("$response.body"):]))
        else:
            value = _text(_value(source, req, incoming, authorizer))
        if action == "overwrite":
            resp.headers = [(k, v) for k, v in resp.headers if k.lower() != name.lower()]
        resp.headers.append((name, value))
    return resp


_timeout = getattr(asyncio, "timeout", None)


async def _within(awaitable, seconds: float):
    """`await awaitable`, or asyncio.TimeoutError after `seconds`.  asyncio.timeout (3.11+)
    runs it in the current task; wait_for would start a task per call."""
    if _timeout is None:
        return await asyncio.wait_for(awaitable, seconds)
    async with _timeout(seconds):
        return await awaitable
