"""Mapping between a method request, an integration and a method response: the `$context`
of templates, template selection by content type, passthrough behaviours, and parameter
mappings (`integration.request.header.x` <- `method.request.querystring.y`, ...)."""

from __future__ import annotations

import json
import time
from typing import Any

from haneul.services.apigateway import vtl
from haneul.services.apigateway.vtl.variables import InputVar, _compact


class UnsupportedMediaType(Exception):
    """No template for the request's content type and passthrough refused (415)."""


def new_context(**fields) -> dict:
    """A `$context` map; the override maps are there for templates to fill."""
    ctx = {"requestOverride": {"header": {}, "querystring": {}, "path": {}},
           "responseOverride": {"header": {}, "status": None}}
    ctx.update(fields)
    return ctx


def new_context_for_tests() -> dict:
    return new_context(requestId="00000000-0000-0000-0000-000000000000", stage="test")


def render_template(template: str, body: str, context: dict, params: dict, stage_variables: dict,
                    extra: dict | None = None) -> str:
    """Render one mapping template with $input (over `body`), $util, $context and
    $stageVariables."""
    namespace = {"input": InputVar(body, params), "util": vtl.UTIL, "context": context,
                 "stageVariables": stage_variables or {}}
    if extra:
        namespace.update(extra)
    return vtl.render(template, namespace)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def select_template(templates: dict | None, content_type: str | None, passthrough: str | None
                    ) -> tuple[bool, str | None]:
    """(use_template, template) for a request; raises UnsupportedMediaType as AWS does.

    WHEN_NO_MATCH passes the body through when no template matches; WHEN_NO_TEMPLATES only
    when none is defined; NEVER never (415).  A request without Content-Type is taken as
    application/json."""
    templates = templates or {}
    wanted = media_type(content_type) or "application/json"
    for key, value in templates.items():
        if key.lower() == wanted:
            return True, value
    behaviour = (passthrough or "WHEN_NO_MATCH").upper()
    if behaviour == "WHEN_NO_MATCH":
        return False, None
    if behaviour == "WHEN_NO_TEMPLATES" and not templates:
        return False, None
    raise UnsupportedMediaType()


def response_template(templates: dict | None, accept: str | None) -> str | None:
    """The integration response template for the client's Accept header (else
    application/json, else the first)."""
    if not templates:
        return None
    lowered = {k.lower(): v for k, v in templates.items()}
    for part in (accept or "").split(","):
        m = media_type(part)
        if m in lowered:
            return lowered[m]
    if "application/json" in lowered:
        return lowered["application/json"]
    return next(iter(templates.values()))


def _json_path(body: str, path: str) -> Any:
    if not path:
        return body
    try:
        return InputVar(body).path(path)
    except ValueError:
        return None


def source_value(expr: str, method_params: dict, stage_variables: dict, context: dict,
                 body: str = "", response: dict | None = None) -> Any:
    """The value a parameter mapping's right side names, or None.

    'literal', stageVariables.x, context.a.b, method.request.{path|querystring|header|
    multivalueheader|multivaluequerystring}.x, method.request.body[.JSONPath],
    integration.response.{header|multivalueheader}.x, integration.response.body[.JSONPath]."""
    expr = expr.strip()
    if len(expr) >= 2 and expr[0] == "'" and expr[-1] == "'":
        return expr[1:-1]
    if expr.startswith("stageVariables."):
        return (stage_variables or {}).get(expr[len("stageVariables."):])
    if expr.startswith("context."):
        cur: Any = context
        for part in expr[len("context."):].split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        return None if cur is None else (cur if isinstance(cur, str) else _text(cur))
    if expr.startswith("method.request."):
        rest = expr[len("method.request."):]
        if rest == "body":
            return body
        if rest.startswith("body."):
            return _text(_json_path(body, "$" + rest[4:]))
        where, _, name = rest.partition(".")
        if where == "header":
            return _header(method_params.get("header") or {}, name)
        if where == "multivalueheader":
            values = _header(method_params.get("multivalueheader") or {}, name)
            return ",".join(values) if values else None
        if where == "multivaluequerystring":
            values = (method_params.get("multivaluequerystring") or {}).get(name)
            return ",".join(values) if values else None
        return (method_params.get(where) or {}).get(name)
    if expr.startswith("integration.response.") and response is not None:
        rest = expr[len("integration.response."):]
        if rest == "body":
            return response.get("body", "")
        if rest.startswith("body."):
            return _text(_json_path(response.get("body", ""), "$" + rest[4:]))
        where, _, name = rest.partition(".")
        if where in ("header", "multivalueheader"):
            return _header(response.get("headers") or {}, name)
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return _compact(value)


def _header(headers: dict, name: str):
    name = name.lower()
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None


def now_fields() -> dict:
    t = time.time()
    return {"requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t)),
            "requestTimeEpoch": int(t * 1000)}


def parse_json_lenient(text: str) -> Any:
    """A mapped body as JSON.  `$util.escapeJavaScript` turns ' into \\' which strict JSON
    refuses; AWS's services read it, so we do too."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return json.loads(text.replace("\\'", "'"))
