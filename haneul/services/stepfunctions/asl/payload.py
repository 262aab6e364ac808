"""Input and output processing: JSONPath payload templates (`"key.$": path`), paths,
ResultPath, and JSONata templates (`"{% expr %}"` anywhere in a value)."""

from __future__ import annotations

import json
import re
from typing import Any

from haneul.services.stepfunctions.asl import intrinsics, jsonata_eval
from haneul.services.stepfunctions.asl.errors import StatesError, query_error, runtime
from haneul.services.stepfunctions.asl.jsonpath import InvalidPath, PathNotFound, compile_path

_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)(.*)$", re.S)


# one encoder: json.dumps with non-default options builds a new encoder on every call
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def compact(value: Any) -> str:
    return _ENCODER.encode(value)


# json.dumps(value, separators=(",", ":")): non-ASCII escaped, as the API answers and Lambda
# payloads have it
compact_ascii = json.JSONEncoder(separators=(",", ":")).encode


class Scope:
    """What expressions of one state can see."""

    __slots__ = ("context", "variables")

    def __init__(self, context: dict, variables: dict):
        self.context = context
        self.variables = variables


# -- JSONPath -----------------------------------------------------------------------------------
def resolve_reference(ref: str, data: Any, scope: Scope, field: str) -> Any:
    """A `.$` value or a *Path field: $.path, $$.context, $var.path or States.fn(...)."""
    if intrinsics.is_intrinsic(ref):
        return intrinsics.evaluate(ref, data, scope.context, scope.variables)
    if ref.startswith("$$"):
        return _find(ref, scope.context, field, ref)
    if ref == "$" or ref.startswith(("$.", "$[")):
        return _find(ref, data, field, ref)
    m = _VAR.match(ref)
    if m:
        name, rest = m.group(1), m.group(2)
        if name not in scope.variables:
            raise runtime(f"The JSONPath '{ref}' specified for the field '{field}' could not be "
                          f"found in the input '{compact(data)}'")
        return _find("$" + rest, scope.variables[name], field, ref, data)
    raise runtime(f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic "
                  f"function call")


def _find(path: str, root: Any, field: str, shown: str, shown_input: Any = None) -> Any:
    try:
        return compile_path(path).find(root)
    except PathNotFound:
        raise runtime(f"The JSONPath '{shown}' specified for the field '{field}' could not be found in "
                      f"the input '{compact(root if shown_input is None else shown_input)}'") from None
    except InvalidPath as err:
        raise runtime(str(err)) from None


def apply_path(path: str | None, data: Any, scope: Scope, kind: str) -> Any:
    """InputPath / OutputPath: null gives {}; a missing path is AWS's 'Invalid path'."""
    if path is None:
        return {}
    if path == "$":
        return data
    if path.startswith("$$"):
        root = scope.context
        p = path[1:]
    elif path.startswith(("$.", "$[")):
        root, p = data, path
    else:
        m = _VAR.match(path)
        if not m or m.group(1) not in scope.variables:
            raise runtime(f"Invalid path '{path}' : No results for path: {path}")
        root, p = scope.variables[m.group(1)], "$" + m.group(2)
    try:
        return compile_path(p).find(root)
    except PathNotFound as err:
        raise runtime(f"Invalid path '{path}' : No results for path: {err.normalized}") from None
    except InvalidPath as err:
        raise runtime(str(err)) from None


def template(tpl: Any, data: Any, scope: Scope, field: str) -> Any:
    """A JSONPath payload template (Parameters, ResultSelector, ItemSelector, Assign).
    A template is compiled once (a machine's definition is parsed once, so its templates are
    the same objects execution after execution): keys split, each reference's kind decided."""
    if not isinstance(tpl, (dict, list)):
        return tpl
    if not tpl:                  # often a fresh `{}` default: nothing worth keeping
        return type(tpl)()
    entry = _TEMPLATES.get(id(tpl))
    if entry is None:            # the entry holds the template: its id is not reused meanwhile
        if len(_TEMPLATES) >= 4096:
            _TEMPLATES.clear()
        entry = _TEMPLATES[id(tpl)] = (tpl, _compile(tpl))
    return entry[1](data, scope)


_TEMPLATES: dict[int, tuple[Any, Any]] = {}


def _compile(tpl: Any):
    """tpl -> fill(data, scope), building the template's value."""
    if isinstance(tpl, dict):
        parts = [(key[:-2], _reference(value, key)) if key.endswith(".$") and isinstance(value, str)
                 else (key, _compile(value)) for key, value in tpl.items()]

        def fill_dict(data, scope):
            return {name: part(data, scope) for name, part in parts}
        return fill_dict
    if isinstance(tpl, list):
        items = [_compile(v) for v in tpl]

        def fill_list(data, scope):
            return [item(data, scope) for item in items]
        return fill_list
    return lambda data, scope: tpl


def _reference(ref: str, key: str):
    """A `.$` value as a function of (data, scope): input and context paths go straight to
    the path; intrinsics, variables and invalid references take resolve_reference's way."""
    if not intrinsics.is_intrinsic(ref):
        if ref == "$" or ref.startswith(("$.", "$[")):
            return lambda data, scope: _find(ref, data, key, ref)
        if ref.startswith("$$"):
            return lambda data, scope: _find(ref, scope.context, key, ref)
    return lambda data, scope: resolve_reference(ref, data, scope, key)


def result_path(path: str | None, state_input: Any, result: Any) -> Any:
    """Place `result` into `state_input` at ResultPath ($ replaces; null discards)."""
    if path is None:
        return state_input
    if path == "$":
        return result
    if not path.startswith("$"):
        raise runtime(f"Invalid ResultPath: {path}")
    compiled = compile_path(path)
    # only the containers on the path are copied: values are never changed in place, so the
    # rest can be shared with the input
    out = _shallow(state_input) if isinstance(state_input, (dict, list)) else {}
    if not isinstance(out, dict) and compiled.segments and compiled.segments[0][0] == "name":
        out = {}
    node = out
    segs = compiled.segments
    for i, (kind, arg) in enumerate(segs):
        last = i == len(segs) - 1
        if kind == "name":
            if last:
                node[arg] = result
            else:
                nxt = node.get(arg)
                nxt = node[arg] = _shallow(nxt) if isinstance(nxt, (dict, list)) else {}
                node = nxt
        elif kind == "index" and isinstance(node, list) and -len(node) <= arg < len(node):
            if last:
                node[arg] = result
            else:
                nxt = node[arg]
                if isinstance(nxt, (dict, list)):
                    nxt = node[arg] = _shallow(nxt)
                node = nxt
        else:
            raise runtime(f"Invalid ResultPath: {path}")
    return out


def _shallow(value: dict | list) -> dict | list:
    return dict(value) if isinstance(value, dict) else list(value)


# -- JSONata ------------------------------------------------------------------------------------
def jsonata_value(value: Any, states: dict, variables: dict, field: str,
                  allow_undefined: bool = False) -> Any:
    """Evaluate every `{% %}` string inside `value` (objects and arrays recursively)."""
    if isinstance(value, str):
        if jsonata_eval.is_expression(value):
            text = jsonata_eval.expression_text(value)
            result = jsonata_eval.evaluate(text, states, variables, field)
            if result is jsonata_eval.UNDEFINED:
                if allow_undefined:
                    return jsonata_eval.UNDEFINED
                raise query_error(f"The JSONata expression '{text}' specified for the field "
                                  f"'{field}' returned nothing (undefined).")
            return result
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            r = jsonata_value(v, states, variables, f"{field}/{k}", allow_undefined=True)
            if r is jsonata_eval.UNDEFINED:
                text = jsonata_eval.expression_text(v)
                raise query_error(f"The JSONata expression '{text}' specified for the field "
                                  f"'{field}/{k}' returned nothing (undefined).")
            out[k] = r
        return out
    if isinstance(value, list):
        out_list = []
        for i, v in enumerate(value):
            r = jsonata_value(v, states, variables, f"{field}[{i}]", allow_undefined=True)
            if r is not jsonata_eval.UNDEFINED:
                out_list.append(r)
        return out_list
    return value


__all__ = ["Scope", "template", "apply_path", "result_path", "resolve_reference",
           "jsonata_value", "compact", "StatesError"]
