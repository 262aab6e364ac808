"""The variables API Gateway gives mapping templates: `$input`, `$util` (and the context
maps built by the data plane)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from haneul.services.stepfunctions.asl.jsonpath import PathNotFound, compile_path

_UNPARSED = object()


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class InputVar:
    """`$input`: the request (or, in a response template, the integration response)."""

    VTL_METHODS = ("json", "path", "params")

    def __init__(self, body: str, params: dict | None = None):
        self.body = body or ""
        self._params = params or {"path": {}, "querystring": {}, "header": {}}
        self._doc: Any = _UNPARSED

    def vtl_property(self, name: str) -> Any:
        if name == "body":
            return self.body
        if name == "params":
            return self._params
        return None

    def document(self) -> Any:
        if self._doc is _UNPARSED:
            text = self.body.strip()
            try:
                self._doc = json.loads(text) if text else {}
            except (ValueError, RecursionError):
                self._doc = _UNPARSED
                return _UNPARSED
        return self._doc

    def _find(self, path: str) -> Any:
        doc = self.document()
        path = (path or "$").strip()
        if doc is _UNPARSED:
            if path == "$":
                return self.body
            raise ValueError(f"Unable to parse the body as JSON to evaluate {path}")
        try:
            compiled = compile_path(path if path.startswith("$") else "$." + path)
        except Exception:
            raise ValueError(f"Invalid JSONPath expression {path}") from None
        try:
            return compiled.find(doc)
        except PathNotFound:
            return None

    def path(self, path: str = "$") -> Any:
        """`$input.path(x)`: the value at the JSONPath, as an object templates can walk."""
        return self._find(path)

    def json(self, path: str = "$") -> str:
        """`$input.json(x)`: the value at the JSONPath as JSON text (compact)."""
        value = self._find(path)
        if value is None:
            return ""
        if value is self.body and self.document() is _UNPARSED:
            return self.body
        return _compact(value)

    def params(self, name: str | None = None) -> Any:
        """`$input.params()`: {path, querystring, header}; `$input.params(x)`: x from the
        path, then the query string, then the headers."""
        if name is None:
            return self._params
        for where in ("path", "querystring", "header"):
            values = self._params.get(where) or {}
            if where == "header":
                for k, v in values.items():
                    if k.lower() == name.lower():
                        return v
            elif name in values:
                return values[name]
        return ""


def escape_javascript(text: Any) -> str:
    """Apache Commons Lang 2's StringEscapeUtils.escapeJavaScript, which API Gateway uses:
    quotes (single ones too), backslash and slash escaped, control characters and
    non-ASCII as \\uXXXX."""
    if text is None:
        return ""
    from haneul.services.apigateway.vtl.javaish import to_string
    text = to_string(text)
    if text.isascii():               # the usual case, on every request of a template using it
        return text.translate(_ASCII_ESCAPES)
    return _NON_ASCII.sub(_escape_char, text.translate(_ASCII_ESCAPES))


def _escape_char(m) -> str:
    code = ord(m.group())
    if code > 0xFFFF:
        hi, lo = divmod(code - 0x10000, 0x400)
        return f"\\u{0xD800 + hi:04X}\\u{0xDC00 + lo:04X}"
    return f"\\u{code:04X}"


_JS_ESCAPES = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r",
               "'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/"}
_ASCII_ESCAPES = {code: _JS_ESCAPES.get(chr(code), f"\\u{code:04X}") for code in range(32)}
_ASCII_ESCAPES.update({ord(ch): out for ch, out in _JS_ESCAPES.items()})
_NON_ASCII = re.compile("[\u0080-\U0010FFFF]")


class UtilVar:
    """`$util`."""

    VTL_METHODS = ("escapeJavaScript", "parseJson", "urlEncode", "urlDecode", "base64Encode",
                   "base64Decode")

    def escapeJavaScript(self, text):   # noqa: N802 - the template's name
        return escape_javascript(text)

    def parseJson(self, text):          # noqa: N802
        if text is None:
            return None
        from haneul.services.apigateway.vtl.javaish import to_string
        return json.loads(to_string(text))

    def urlEncode(self, text):          # noqa: N802
        from haneul.services.apigateway.vtl.javaish import to_string
        return quote_plus(to_string(text), safe="*").replace("~", "%7E")

    def urlDecode(self, text):          # noqa: N802
        from haneul.services.apigateway.vtl.javaish import to_string
        return unquote_plus(to_string(text))

    def base64Encode(self, text):       # noqa: N802
        from haneul.services.apigateway.vtl.javaish import to_string
        data = text if isinstance(text, bytes) else to_string(text).encode()
        return base64.b64encode(data).decode()

    def base64Decode(self, text):       # noqa: N802
        from haneul.services.apigateway.vtl.javaish import to_string
        return base64.b64decode(to_string(text)).decode("utf-8", "replace")


UTIL = UtilVar()
