"""Lambda authorizers (TOKEN and REQUEST) with their result cache, and the IAM-policy
check of their answers; also HTTP APIs' Lambda authorizers (simple responses)."""

from __future__ import annotations

import fnmatch
import json
import re
import time

import orjson

from haneul.services.apigateway import integrations

_CACHE: dict[tuple, tuple[float, dict]] = {}


class Denied(Exception):
    """The authorizer refused: response_type UNAUTHORIZED (401), ACCESS_DENIED (403) or
    AUTHORIZER_CONFIGURATION_ERROR / AUTHORIZER_FAILURE (500)."""

    def __init__(self, response_type: str, message: str | None, status: int):
        super().__init__(message or response_type)
        self.response_type = response_type
        self.message = message
        self.status = status


def flush(account: str, api_id: str) -> None:
    for key in [k for k in _CACHE if k[0] == account and k[1] == api_id]:
        _CACHE.pop(key, None)


def identity_values(source: str | None, request) -> list[str] | None:
    """The identity source values of a request (`request` offers header(), query(),
    stage_variables, context), or None when one is missing."""
    values = []
    for item in [s.strip() for s in (source or "").split(",") if s.strip()]:
        value = None
        if item.startswith("method.request.header."):
            value = request.header(item[len("method.request.header."):])
        elif item.startswith("method.request.querystring."):
            value = request.query(item[len("method.request.querystring."):])
        elif item.startswith("$request.header."):
            value = request.header(item[len("$request.header."):])
        elif item.startswith("$request.querystring."):
            value = request.query(item[len("$request.querystring."):])
        elif item.startswith("stageVariables.") or item.startswith("$stageVariables."):
            value = (request.stage_variables or {}).get(item.split(".", 1)[1])
        elif item.startswith("context.") or item.startswith("$context."):
            cur = request.context
            for part in item.split(".")[1:]:
                cur = cur.get(part) if isinstance(cur, dict) else None
            value = cur if isinstance(cur, str) else None
        if not value:
            return None
        values.append(value)
    return values


def _arn_matches(pattern: str, arn: str) -> bool:
    return fnmatch.fnmatchcase(arn, pattern.replace("[", "[[]"))


def evaluate_policy(policy: dict | None, method_arn: str) -> bool:
    """Allow unless no statement allows or one explicitly denies (raises Denied)."""
    if not isinstance(policy, dict):
        raise Denied("AUTHORIZER_CONFIGURATION_ERROR", None, 500)
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for st in statements:
        actions = st.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) or a == "*" for a in actions):
            continue
        resources = st.get("Resource") or []
        resources = [resources] if isinstance(resources, str) else resources
        if not any(_arn_matches(r, method_arn) for r in resources):
            continue
        if (st.get("Effect") or "").lower() == "deny":
            raise Denied("ACCESS_DENIED", "User is not authorized to access this resource with an explicit deny",
                         403)
        if (st.get("Effect") or "").lower() == "allow":
            allowed = True
    if not allowed:
        raise Denied("ACCESS_DENIED", "User is not authorized to access this resource", 403)
    return True


async def _call(owner, authorizer: dict, event: dict) -> dict:
    function = integrations.lambda_function(authorizer.get("authorizerUri") or "")
    if function is None:
        raise Denied("AUTHORIZER_CONFIGURATION_ERROR", None, 500)
    try:
        result = await integrations.invoke_lambda(owner, function, orjson.dumps(event))
    except integrations.IntegrationError:
        raise Denied("AUTHORIZER_CONFIGURATION_ERROR", None, 500) from None
    if result.error_message is not None:
        if result.error_message == "Unauthorized":
            raise Denied("UNAUTHORIZED", "Unauthorized", 401)
        raise Denied("AUTHORIZER_CONFIGURATION_ERROR", None, 500)
    try:
        out = orjson.loads(result.body)
    except orjson.JSONDecodeError:
        raise Denied("AUTHORIZER_CONFIGURATION_ERROR", None, 500) from None
    if not isinstance(out, dict):
        raise Denied("AUTHORIZER_CONFIGURATION_ERROR", None, 500)
    return out


def _flatten_context(ctx_map) -> dict:
    """An authorizer's context: string, number and boolean values only."""
    out = {}
    for k, v in (ctx_map or {}).items():
        if isinstance(v, (dict, list)):
            raise Denied("AUTHORIZER_CONFIGURATION_ERROR", None, 500)
        out[k] = v
    return out


async def authorize_rest(owner, authorizer: dict, request, method_arn: str, event_base: dict) -> dict:
    """Run a REST API TOKEN/REQUEST authorizer; returns $context.authorizer (principalId,
    context values, usageIdentifierKey)."""
    kind = authorizer.get("type")
    ttl = int(authorizer.get("authorizerResultTtlInSeconds") or 0)
    if kind == "TOKEN":
        values = identity_values(authorizer.get("identitySource"), request)
        if values is None:
            raise Denied("UNAUTHORIZED", "Unauthorized", 401)
        pattern = authorizer.get("identityValidationExpression")
        if pattern and not re.fullmatch(pattern, values[0]):
            raise Denied("UNAUTHORIZED", "Unauthorized", 401)
        event = {"type": "TOKEN", "authorizationToken": values[0], "methodArn": method_arn}
    elif kind == "REQUEST":
        values = identity_values(authorizer.get("identitySource"), request) if authorizer.get("identitySource") \
            else []
        if values is None:
            if ttl > 0:
                raise Denied("UNAUTHORIZED", "Unauthorized", 401)
            values = []
        event = dict(event_base, type="REQUEST", methodArn=method_arn)
    else:
        raise Denied("AUTHORIZER_CONFIGURATION_ERROR", "Cognito user pool authorizers are not implemented by "
                     "Haneul yet", 500)
    key = (owner.account, request.api_id, authorizer["id"], tuple(values)) if ttl > 0 and values else None
    cached = _CACHE.get(key) if key else None
    if cached is not None and cached[0] > time.monotonic():
        out = cached[1]
    else:
        out = await _call(owner, authorizer, event)
        if key:
            if len(_CACHE) > 20000:
                _CACHE.clear()
            _CACHE[key] = (time.monotonic() + ttl, out)
    if not out.get("principalId") and out.get("principalId") != 0:
        raise Denied("AUTHORIZER_CONFIGURATION_ERROR", None, 500)
    evaluate_policy(out.get("policyDocument"), method_arn)
    result = {"principalId": str(out["principalId"])}
    result.update({k: v for k, v in _flatten_context(out.get("context")).items()})
    if out.get("usageIdentifierKey"):
        result["usageIdentifierKey"] = out["usageIdentifierKey"]
    return result


async def authorize_http(owner, authorizer: dict, request, route_arn: str, event: dict) -> dict:
    """An HTTP API Lambda authorizer (payload 1.0 or 2.0, simple or IAM-policy responses);
    returns the authorizer context ($context.authorizer / requestContext.authorizer.lambda)."""
    sources = authorizer.get("IdentitySource") or []
    ttl = int(authorizer.get("AuthorizerResultTtlInSeconds") or 0)
    values = identity_values(",".join(sources), request) if sources else []
    if values is None:
        raise Denied("UNAUTHORIZED", "Unauthorized", 401)
    key = (owner.account, request.api_id, authorizer["AuthorizerId"], tuple(values)) if ttl > 0 and values else None
    cached = _CACHE.get(key) if key else None
    if cached is not None and cached[0] > time.monotonic():
        out = cached[1]
    else:
        shell = {"authorizerUri": authorizer.get("AuthorizerUri")}
        out = await _call(owner, shell, event)
        if key:
            _CACHE[key] = (time.monotonic() + ttl, out)
    if authorizer.get("EnableSimpleResponses"):
        if out.get("isAuthorized") is not True:
            raise Denied("ACCESS_DENIED", "Forbidden", 403)
        return _flatten_context(out.get("context"))
    try:
        evaluate_policy(out.get("policyDocument"), route_arn)
    except Denied as err:
        if err.status == 403:
            raise Denied("ACCESS_DENIED", "Forbidden", 403) from None
        raise
    result = _flatten_context(out.get("context"))
    if out.get("principalId") is not None:
        result["principalId"] = out["principalId"]
    return result


async def test_invoke(ctx, request: dict, authorizer: dict) -> dict:
    """TestInvokeAuthorizer: the authorizer run once with the given headers/parameters."""
    from haneul.services.apigateway.integrations import owner_context
    owner = owner_context(ctx, ctx.account, ctx.region)
    headers = request.get("headers") or {}

    class Req:
        api_id = request["restApiId"]
        stage_variables = request.get("stageVariables") or {}
        context: dict = {}

        @staticmethod
        def header(name):
            for k, v in headers.items():
                if k.lower() == name.lower():
                    return v
            return None

        @staticmethod
        def query(name):
            from urllib.parse import parse_qsl
            return dict(parse_qsl((request.get("pathWithQueryString") or "").partition("?")[2])).get(name)
    method_arn = f"arn:aws:execute-api:{ctx.region}:{ctx.account}:{request['restApiId']}/test-invoke-stage/GET/"
    started = time.perf_counter()
    event = {"type": "REQUEST", "methodArn": method_arn, "headers": headers,
             "queryStringParameters": None, "stageVariables": Req.stage_variables}
    if authorizer.get("type") == "TOKEN":
        values = identity_values(authorizer.get("identitySource"), Req)
        if values is None:
            return {"clientStatus": 401, "log": "Unauthorized: identity source missing", "latency": 0}
        event = {"type": "TOKEN", "authorizationToken": values[0], "methodArn": method_arn}
    try:
        out = await _call(owner, authorizer, event)
    except Denied as err:
        return {"clientStatus": err.status, "log": f"Authorizer failed: {err.response_type}",
                "latency": int((time.perf_counter() - started) * 1000)}
    return {"clientStatus": 200, "log": "Authorizer ran", "principalId": str(out.get("principalId", "")),
            "policy": json.dumps(out.get("policyDocument")), "authorization": {},
            "claims": {k: str(v) for k, v in (out.get("context") or {}).items()},
            "latency": int((time.perf_counter() - started) * 1000)}
