"""The REST API data plane: a request to a deployed stage goes through routing, throttling,
authorization, API keys, validation, the integration and the response mappings, and
errors become gateway responses, as API Gateway does it."""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import json
import re
import time

import orjson

from haneul.protocol.message import HttpResponse
from haneul.services.apigateway import (authorizers, deployment_cache, iamauth, integrations, mapping,
                                        records, throttling, validation, vtl)
from haneul.services.apigateway.apiparts import DEFAULT_TEMPLATE, GATEWAY_RESPONSES

ERROR_TYPES = {403: "ForbiddenException", 401: "UnauthorizedException", 400: "BadRequestException",
               404: "NotFoundException", 429: "TooManyRequestsException", 413: "RequestTooLargeException",
               415: "UnsupportedMediaTypeException", 500: "InternalServerErrorException",
               502: "BadGatewayException", 504: "IntegrationTimeoutException"}
TYPE_NAMES = {"MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
              "ACCESS_DENIED": "AccessDeniedException", "QUOTA_EXCEEDED": "LimitExceededException",
              "INVALID_API_KEY": "ForbiddenException"}
_PROXY_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"}


class Gateway(Exception):
    """Answer with the gateway response of `response_type`."""

    def __init__(self, response_type: str, message: str | None, status: int | None = None, detail: str = "",
                 body: bytes | None = None, error_type: str | None = None):
        super().__init__(message)
        self.error_type = error_type      # x-amzn-ErrorType when not the response type's own
        self.response_type = response_type
        self.message = message
        self.status = status
        self.detail = detail
        self.body = body


def canonical(name: str) -> str:
    return "-".join(p[:1].upper() + p[1:] for p in name.split("-"))


class Incoming:
    """The method request as templates, authorizers and events see it."""

    def __init__(self, req, api_id: str, path: str, stage_variables: dict, context: dict):
        self.req = req
        self.api_id = api_id
        self.method = req.method
        self.path = path
        self.headers = {canonical(k): v for k, v in req.headers.items()}
        self.query_map: dict[str, str] = {}
        self.multi_query: dict[str, list[str]] = {}
        for k, v in req.params:
            self.query_map[k] = v
            self.multi_query.setdefault(k, []).append(v)
        self.body = req.body or b""
        self.stage_variables = stage_variables
        self.context = context

    def header(self, name: str) -> str | None:
        return self.req.headers.get(name.lower())

    def query(self, name: str) -> str | None:
        return self.query_map.get(name)


def is_binary(types: list | None, content_type: str | None) -> bool:
    if not types or not content_type:
        return False
    m = mapping.media_type(content_type)
    return any(fnmatch.fnmatchcase(m, t.lower()) for t in types)


async def serve(ctx, req, api_id: str, account: str, region: str, stage_name: str, path: str) -> HttpResponse:
    owner = integrations.owner_context(ctx, account, region)
    with records.reading(ctx.store) as db:
        stage = records.get(db, owner, "stage", api_id, stage_name) if stage_name else None
        dep = deployment_cache.compiled(db, owner, api_id, stage["deploymentId"]) if stage else None
    if dep is None:
        return _plain(403, {"message": "Forbidden"}, ctx.request_id, "ForbiddenException")
    return await run(ctx, owner, req, dep, stage, api_id, path)


async def run(ctx, owner, req, dep, stage: dict, api_id: str, path: str, test: bool = False) -> HttpResponse:
    """Serve one request with a compiled deployment and its stage (`test`: TestInvokeMethod,
    which skips authorization and API keys)."""
    stage_name = stage["stageName"]
    variables = stage.get("variables") or {}
    host = ctx.host or "localhost"
    context = mapping.new_context(
        accountId=owner.account, apiId=api_id, stage=stage_name, requestId=ctx.request_id,
        extendedRequestId=ctx.request_id[:16], awsEndpointRequestId=ctx.request_id, httpMethod=req.method,
        domainName=host.split(":")[0], domainPrefix=host.split(".")[0], path=f"/{stage_name}{path}",
        protocol="HTTP/1.1", deploymentId=stage["deploymentId"], resourcePath="", resourceId="",
        identity={"sourceIp": req.headers.get("x-forwarded-for", "127.0.0.1").split(",")[0].strip(),
                  "userAgent": req.headers.get("user-agent"), "accountId": None, "caller": None, "user": None,
                  "userArn": None, "apiKey": None, "apiKeyId": None, "accessKey": None,
                  "cognitoIdentityPoolId": None, "cognitoIdentityId": None, "cognitoAuthenticationType": None,
                  "cognitoAuthenticationProvider": None, "principalOrgId": None},
        authorizer={}, error={}, **mapping.now_fields())
    incoming = Incoming(req, api_id, path, variables, context)
    try:
        return await _pipeline(ctx, owner, req, dep, stage, incoming, context, variables, path, test)
    except Gateway as g:
        return gateway_response(dep, g, context, variables, incoming)


async def _pipeline(ctx, owner, req, dep, stage, incoming, context, variables, path, test) -> HttpResponse:
    started = time.perf_counter()
    found = dep.match(path)
    if found is None:
        raise Gateway("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    resource, path_params = found
    methods = resource.get("resourceMethods") or {}
    method = methods.get(req.method) or methods.get("ANY")
    if method is None or not method.get("methodIntegration"):
        raise Gateway("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    context["resourceId"] = resource["id"]
    context["resourcePath"] = resource["path"]
    params = {"path": path_params, "querystring": dict(incoming.query_map),
              "header": dict(incoming.headers),
              "multivalueheader": {k: [v] for k, v in incoming.headers.items()},
              "multivaluequerystring": dict(incoming.multi_query)}
    api = dep.api
    account, api_id = owner.account, incoming.api_id
    try:
        throttling.check_stage(account, api_id, stage, resource["path"], req.method)
    except throttling.Throttled as t:
        raise Gateway(t.response_type, t.message) from None

    method_arn = (f"arn:aws:execute-api:{owner.region}:{account}:{api_id}/{stage['stageName']}/{req.method}"
                  f"{resource['path'] if resource['path'] != '/' else '/'}")
    kind = "NONE" if test else (method.get("authorizationType") or "NONE")
    if kind == "AWS_IAM":
        try:
            context["identity"].update(iamauth.caller(ctx.store, req, owner.region, ctx.now()))
        except iamauth.Refused as r:
            raise Gateway(r.response_type, r.message, 403, error_type=r.error_type) from None
    elif kind == "CUSTOM":
        authorizer = dep.authorizers.get(method.get("authorizerId"))
        if authorizer is None:
            raise Gateway("AUTHORIZER_CONFIGURATION_ERROR", None)
        event = proxy_event(incoming, resource, path_params, variables, context, api, for_authorizer=True)
        try:
            context["authorizer"] = await authorizers.authorize_rest(owner, authorizer, incoming, method_arn, event)
        except authorizers.Denied as d:
            raise Gateway(d.response_type, d.message, d.status) from None
    elif kind == "COGNITO_USER_POOLS":
        if not req.headers.get("authorization"):
            raise Gateway("UNAUTHORIZED", "Unauthorized")
        raise Gateway("AUTHORIZER_CONFIGURATION_ERROR", "Cognito user pool authorizers are not implemented by "
                      "Haneul yet")

    if method.get("apiKeyRequired") and not test:
        if (api.get("apiKeySource") or "HEADER") == "AUTHORIZER":
            value = (context.get("authorizer") or {}).get("usageIdentifierKey")
        else:
            value = req.headers.get("x-api-key")
        try:
            with ctx.store.transaction() as db:
                key = throttling.check_key(db, owner, api_id, stage["stageName"], value, resource["path"],
                                           req.method)
        except throttling.Throttled as t:
            raise Gateway(t.response_type, t.message) from None
        context["identity"]["apiKey"] = key["value"]
        context["identity"]["apiKeyId"] = key["id"]

    validator = dep.validators.get(method.get("requestValidatorId") or "")
    body_text = incoming.body.decode("utf-8", "replace")
    if validator is not None:
        try:
            if validator.get("validateRequestParameters"):
                validation.check_parameters(method, params)
            if validator.get("validateRequestBody"):
                validation.check_body(dep, method, req.headers.get("content-type"), body_text)
        except validation.ValidationFailed as v:
            context["error"]["validationErrorString"] = v.detail or None
            raise Gateway(v.response_type, v.message) from None

    integration = method["methodIntegration"]
    timeout = (integration.get("timeoutInMillis") or 29000) / 1000.0
    try:
        response = await _within(
            _integrate(ctx, owner, integration, incoming, resource, path_params, params, variables, context,
                       api, body_text), timeout)
    except asyncio.TimeoutError:
        raise Gateway("INTEGRATION_TIMEOUT", "Endpoint request timed out") from None
    except integrations.IntegrationError as e:
        raise Gateway(e.response_type, e.message, e.status) from None
    except mapping.UnsupportedMediaType:
        raise Gateway("UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type") from None
    except vtl.VtlError:
        raise Gateway("API_CONFIGURATION_ERROR", "Internal server error", 500) from None
    context["responseLatency"] = int((time.perf_counter() - started) * 1000)
    _standard_headers(response, context)
    return response


def _standard_headers(response: HttpResponse, context: dict) -> None:
    names = {k.lower() for k, _ in response.headers}
    if "content-type" not in names:
        response.headers.append(("Content-Type", "application/json"))
    response.headers.append(("x-amzn-RequestId", context["requestId"]))
    response.headers.append(("x-amz-apigw-id", context.get("extendedRequestId") or ""))
    response.headers.append(("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{context['requestId'][:24]}"))


def proxy_event(incoming: Incoming, resource: dict, path_params: dict, variables: dict, context: dict, api: dict,
                for_authorizer: bool = False) -> dict:
    """The Lambda proxy integration's input (payload format 1.0)."""
    body = incoming.body
    binary = is_binary(api.get("binaryMediaTypes"), incoming.req.headers.get("content-type"))
    if body:
        text = base64.b64encode(body).decode() if binary else body.decode("utf-8", "replace")
    else:
        text = None
    request_context = {
        "resourceId": context.get("resourceId"), "resourcePath": resource["path"],
        "httpMethod": incoming.method, "extendedRequestId": context.get("extendedRequestId"),
        "requestTime": context.get("requestTime"), "path": context.get("path"),
        "accountId": context.get("accountId"), "protocol": "HTTP/1.1", "stage": context.get("stage"),
        "domainPrefix": context.get("domainPrefix"), "requestTimeEpoch": context.get("requestTimeEpoch"),
        "requestId": context.get("requestId"), "identity": dict(context.get("identity") or {}),
        "domainName": context.get("domainName"), "deploymentId": context.get("deploymentId"),
        "apiId": context.get("apiId")}
    if context.get("authorizer"):
        request_context["authorizer"] = dict(context["authorizer"])
    headers = incoming.headers
    return {"resource": resource["path"], "path": incoming.path or "/", "httpMethod": incoming.method,
            "headers": headers or None,
            "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": incoming.query_map or None,
            "multiValueQueryStringParameters": incoming.multi_query or None,
            "pathParameters": path_params or None, "stageVariables": variables or None,
            "requestContext": request_context, "body": text, "isBase64Encoded": bool(binary and body)}


def _substitute(text: str, variables: dict) -> str:
    return re.sub(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}", lambda m: (variables or {}).get(m.group(1), ""), text)


async def _integrate(ctx, owner, integration, incoming, resource, path_params, params, variables, context, api,
                     body_text) -> HttpResponse:
    kind = integration["type"]
    uri = _substitute(integration.get("uri") or "", variables)
    if kind == "AWS_PROXY":
        function = integrations.lambda_function(uri)
        if function is None:
            raise integrations.IntegrationError("API_CONFIGURATION_ERROR", "Internal server error", 500)
        event = proxy_event(incoming, resource, path_params, variables, context, api)
        result = await integrations.invoke_lambda(owner, function, orjson.dumps(event))
        if result.error_message is not None:
            raise integrations.IntegrationError("DEFAULT_5XX", "Internal server error", 502)
        return _proxy_response(result.body, api, incoming)

    # request parameter mappings (integration.request.{header,querystring,path}.x)
    out_headers: dict[str, str] = {}
    out_query: dict[str, str] = {}
    out_path: dict[str, str] = {}
    for target, source in (integration.get("requestParameters") or {}).items():
        value = mapping.source_value(source, params, variables, context, body_text)
        if value is None:
            continue
        parts = target.split(".", 3)
        if len(parts) == 4 and parts[0] == "integration" and parts[1] == "request":
            {"header": out_headers, "querystring": out_query, "path": out_path}.get(
                parts[2], {})[parts[3]] = value

    if kind == "HTTP_PROXY":
        for k, v in incoming.req.headers.items():
            out_headers.setdefault(canonical(k), v)
        query = dict(incoming.query_map)
        query.update(out_query)
        target = _http_uri(uri, out_path, path_params, query)
        result = await integrations.call_http(target, integration.get("httpMethod") or incoming.method
                                              if integration.get("httpMethod") != "ANY" else incoming.method,
                                              out_headers, incoming.body,
                                              (integration.get("timeoutInMillis") or 29000) / 1000.0)
        headers = [(k, v) for k, v in result.headers.items() if k.lower() not in integrations.HOP_BY_HOP]
        return HttpResponse(result.status, headers, result.body)

    # MOCK, AWS, HTTP: the request template, then the integration
    ctype = incoming.req.headers.get("content-type")
    use, template = mapping.select_template(integration.get("requestTemplates"), ctype,
                                            integration.get("passthroughBehavior"))
    if use:
        body_out = mapping.render_template(template or "", body_text, context, params, variables).encode()
    else:
        body_out = incoming.body
    override = context["requestOverride"]
    out_headers.update({k: str(v) for k, v in override["header"].items()})
    out_query.update({k: str(v) for k, v in override["querystring"].items()})
    out_path.update({k: str(v) for k, v in override["path"].items()})

    if kind == "MOCK":
        status = 200
        if use and body_out.strip():
            try:
                doc = mapping.parse_json_lenient(body_out.decode("utf-8", "replace"))
                if isinstance(doc, dict) and doc.get("statusCode") is not None:
                    status = int(doc["statusCode"])
            except (ValueError, TypeError):
                pass
        elif not use and body_out.strip():
            try:
                doc = json.loads(body_out)
                if isinstance(doc, dict) and doc.get("statusCode") is not None:
                    status = int(doc["statusCode"])
            except (ValueError, TypeError, RecursionError):
                pass
        result = integrations.Result(status, {}, b"")
        key = str(status)
    elif kind == "AWS":
        function = integrations.lambda_function(uri)
        if function is not None:
            result = await integrations.invoke_lambda(owner, function, body_out or b"{}")
            key = result.error_message if result.error_message is not None else None
        else:
            result = await integrations.call_aws(owner, _http_uri(uri, out_path, path_params, {}),
                                                 integration.get("httpMethod") or "POST", body_out,
                                                 out_headers, out_query)
            key = str(result.status)
    else:  # HTTP
        target = _http_uri(uri, out_path, path_params, out_query)
        result = await integrations.call_http(target, integration.get("httpMethod") or "GET", out_headers,
                                              body_out, (integration.get("timeoutInMillis") or 29000) / 1000.0)
        key = str(result.status)
    return _integration_response(integration, result, key, incoming, params, variables, context, api)


def _http_uri(uri: str, out_path: dict, path_params: dict, query: dict) -> str:
    from urllib.parse import quote, urlencode

    def fill(m):
        name = m.group(1).rstrip("+")
        value = out_path.get(name, path_params.get(name, ""))
        return quote(value, safe="/")
    target = re.sub(r"\{([A-Za-z0-9_.+-]+)\}", fill, uri)
    if query:
        target += ("&" if "?" in target else "?") + urlencode(query)
    return target


def _select(responses: dict, key: str | None) -> dict | None:
    default = None
    for r in responses.values():
        pattern = r.get("selectionPattern")
        if not pattern:
            if default is None:
                default = r
            continue
        if key is not None:
            try:
                if re.fullmatch(pattern, key, re.S):
                    return r
            except re.error:
                continue
    return default


def _integration_response(integration, result, key, incoming, params, variables, context, api) -> HttpResponse:
    responses = integration.get("integrationResponses") or {}
    chosen = _select(responses, key)
    if chosen is None:
        raise integrations.IntegrationError("API_CONFIGURATION_ERROR", "Internal server error", 500)
    raw_body = result.body or b""
    body_text = raw_body.decode("utf-8", "replace")
    context["integration"] = {"status": result.status, "integrationStatus": result.status,
                              "requestId": context.get("requestId"), "error": result.error_message or ""}
    context["status"] = int(chosen["statusCode"])
    context["integrationStatus"] = result.status
    response_data = {"body": body_text, "headers": result.headers}
    headers: list[tuple[str, str]] = []
    for target, source in (chosen.get("responseParameters") or {}).items():
        if not target.startswith("method.response.header."):
            continue
        value = mapping.source_value(source, params, variables, context, incoming.body.decode("utf-8", "replace"),
                                     response_data)
        if value is not None:
            headers.append((target[len("method.response.header."):], str(value)))
    template = mapping.response_template(chosen.get("responseTemplates"), incoming.req.headers.get("accept"))
    if template:
        out = mapping.render_template(template, body_text, context, params, variables).encode()
        ctype = _template_type(chosen.get("responseTemplates"), template)
    else:
        out = raw_body
        ctype = "application/json"
    handling = chosen.get("contentHandling")
    if handling == "CONVERT_TO_TEXT":
        out = base64.b64encode(out)
    elif handling == "CONVERT_TO_BINARY":
        try:
            out = base64.b64decode(out)
        except ValueError:
            raise integrations.IntegrationError("API_CONFIGURATION_ERROR", "Internal server error", 500) from None
    status = int(chosen["statusCode"])
    override = context["responseOverride"]
    if override.get("status") not in (None, ""):
        try:
            status = int(override["status"])
        except (TypeError, ValueError):
            pass
    for k, v in override.get("header", {}).items():
        headers = [(hk, hv) for hk, hv in headers if hk.lower() != k.lower()] + [(k, str(v))]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", ctype))
    return HttpResponse(status, headers, out)


def _template_type(templates: dict, template: str) -> str:
    for k, v in (templates or {}).items():
        if v is template or v == template:
            return k
    return "application/json"


def _proxy_response(payload: bytes, api: dict, incoming: Incoming) -> HttpResponse:
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise integrations.IntegrationError("DEFAULT_5XX", "Internal server error", 502) from None
    if not isinstance(doc, dict) or set(doc) - _PROXY_KEYS:
        raise integrations.IntegrationError("DEFAULT_5XX", "Internal server error", 502)
    status = doc.get("statusCode", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise integrations.IntegrationError("DEFAULT_5XX", "Internal server error", 502)
    body = doc.get("body")
    if body is not None and not isinstance(body, str):
        raise integrations.IntegrationError("DEFAULT_5XX", "Internal server error", 502)
    headers: list[tuple[str, str]] = []
    single = doc.get("headers") or {}
    multi = doc.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise integrations.IntegrationError("DEFAULT_5XX", "Internal server error", 502)
    for k, v in single.items():
        if k not in multi:
            headers.append((k, _scalar(v)))
    for k, values in multi.items():
        for v in values if isinstance(values, list) else [values]:
            headers.append((k, _scalar(v)))
    data = (body or "").encode()
    if doc.get("isBase64Encoded") and body:
        ctype = next((v for k, v in headers if k.lower() == "content-type"), None)
        if is_binary(api.get("binaryMediaTypes"), ctype) or \
                is_binary(api.get("binaryMediaTypes"), incoming.req.headers.get("accept")):
            try:
                data = base64.b64decode(body)
            except ValueError:
                raise integrations.IntegrationError("DEFAULT_5XX", "Internal server error", 502) from None
    return HttpResponse(status, headers, data)


def _scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def gateway_response(dep, g: Gateway, context: dict, variables: dict, incoming: Incoming | None) -> HttpResponse:
    kind = g.response_type
    default_status = int(GATEWAY_RESPONSES.get(kind) or g.status or 500)
    if g.status and kind in ("DEFAULT_4XX", "DEFAULT_5XX", "AUTHORIZER_CONFIGURATION_ERROR",
                             "API_CONFIGURATION_ERROR", "INTEGRATION_FAILURE"):
        default_status = g.status
    custom = dep.gateway_responses.get(kind) if dep else None
    if custom is None and dep is not None:
        custom = dep.gateway_responses.get("DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX")
        if custom is not None:
            custom = dict(custom, statusCode=None)
    status = int((custom or {}).get("statusCode") or default_status)
    context["error"] = dict(context.get("error") or {}, message=g.message, responseType=kind,
                            messageString=json.dumps(g.message) if g.message is not None else "null")
    templates = (custom or {}).get("responseTemplates") or DEFAULT_TEMPLATE
    template = mapping.response_template(templates, None) or DEFAULT_TEMPLATE["application/json"]
    if custom is None and kind == "ACCESS_DENIED" and g.message and "not authorized" in g.message:
        body = orjson.dumps({"Message": g.message})
    else:
        try:
            body = mapping.render_template(template, "", context, {}, variables).encode()
        except vtl.VtlError:
            body = orjson.dumps({"message": g.message})
    headers = [("Content-Type", "application/json"),
               ("x-amzn-ErrorType", g.error_type or TYPE_NAMES.get(kind) or
                ERROR_TYPES.get(status, "InternalServerErrorException"))]
    params = {"header": dict(incoming.headers) if incoming else {}, "querystring": incoming.query_map if incoming
              else {}, "path": {}}
    for target, source in ((custom or {}).get("responseParameters") or {}).items():
        if target.startswith("gatewayresponse.header."):
            value = mapping.source_value(source.replace("method.request.", "method.request."), params, variables,
                                         context)
            if value is not None:
                name = target[len("gatewayresponse.header."):]
                headers = [(k, v) for k, v in headers if k.lower() != name.lower()] + [(name, value)]
    resp = HttpResponse(status, headers, body)
    resp.headers.append(("x-amzn-RequestId", context.get("requestId", "")))
    return resp


def _plain(status: int, doc: dict, request_id: str, error_type: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type),
                                 ("x-amzn-RequestId", request_id)], orjson.dumps(doc))


_timeout = getattr(asyncio, "timeout", None)


async def _within(awaitable, seconds: float):
    """`await awaitable`, or asyncio.TimeoutError after `seconds`.  asyncio.timeout (3.11+)
    runs it in the current task; wait_for would start a task per call."""
    if _timeout is None:
        return await asyncio.wait_for(awaitable, seconds)
    async with _timeout(seconds):
        return await awaitable
