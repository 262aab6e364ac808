"""PATCH operations of the Update* calls ({op, path, value, from}), applied to a record
with the value types taken from the record's model shape (patch values are strings)."""

from __future__ import annotations

from typing import Any, Callable

from haneul.services.apigateway.records import bad_request
from haneul.protocol.shapes import service_spec


def shape_of(operation: str, service: str = "apigateway"):
    """The output shape of an operation (the record's shape)."""
    return service_spec(service).operation(operation).output


def unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def split_path(path: str) -> list[str]:
    if not path or not path.startswith("/"):
        raise bad_request(f"Invalid patch path '{path}'")
    return [unescape(p) for p in path.split("/")[1:]]


def coerce(shape, value: Any, path: str) -> Any:
    if value is None or shape is None:
        return value
    if shape.type == "boolean":
        text = str(value).lower()
        if text not in ("true", "false"):
            raise bad_request(f"Invalid boolean value '{value}' for {path}")
        return text == "true"
    if shape.type in ("integer", "long"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"Invalid integer value '{value}' for {path}") from None
    if shape.type in ("double", "float"):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"Invalid number value '{value}' for {path}") from None
    if shape.type == "list":
        return [coerce(shape.member, v.strip(), path) for v in str(value).split(",") if v.strip()]
    if shape.type in ("structure", "map") and isinstance(value, str):
        import json
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            raise bad_request(f"Invalid value for {path}") from None
    return value


Special = Callable[[dict, str, list, Any, str], bool]


def apply(doc: dict, operations: list[dict] | None, shape, special: Special | None = None,
          readonly: tuple[str, ...] = ("id", "createdDate")) -> dict:
    """Apply each operation to `doc` in place; `special(doc, op, parts, value, path)` may
    handle a path itself (returns True when it did)."""
    for operation in operations or ():
        op = operation.get("op")
        path = operation.get("path") or ""
        value = operation.get("value")
        if op not in ("add", "remove", "replace", "move", "copy", "test"):
            raise bad_request("Invalid patch operation specified. Must be one of: [add, remove, replace, move, copy]")
        parts = split_path(path)
        if special is not None and special(doc, op, parts, value, path):
            continue
        if op == "test":
            continue
        if op in ("move", "copy"):
            source = split_path(operation.get("from") or "")
            found = _walk_get(doc, source)
            if op == "move":
                _apply_one(doc, shape, "remove", source, None, operation.get("from"), readonly)
            _apply_one(doc, shape, "add", parts, found, path, readonly, raw=True)
            continue
        _apply_one(doc, shape, op, parts, value, path, readonly)
    return doc


def _walk_get(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, dict):
            cur = cur.get(p)
        else:
            return None
    return cur


def _invalid(op: str, path: str):
    return bad_request(f"Invalid patch path '{path}' specified for op '{op}'")


def _apply_one(doc, shape, op, parts, value, path, readonly, raw=False):
    if not parts or parts[0] == "" or (len(parts) == 1 and parts[0] in readonly):
        raise _invalid(op, path)
    container: Any = doc
    cur_shape = shape
    for i, part in enumerate(parts[:-1]):
        sub = _member(cur_shape, part)
        if sub is None:
            raise _invalid(op, path)
        if isinstance(container, list):
            raise _invalid(op, path)
        nxt = container.get(part)
        if nxt is None:
            if op == "remove":
                return
            nxt = [] if sub.type == "list" else {}
            container[part] = nxt
        container, cur_shape = nxt, sub
    last = parts[-1]
    if cur_shape is not None and cur_shape.type == "list":      # /binaryMediaTypes/image~1png
        item = last if value is None or op != "replace" else value
        item = coerce(cur_shape.member, item, path) if not raw else item
        if op == "add":
            if item not in container:
                container.append(item)
        elif op == "remove":
            if last in container:
                container.remove(last)
        else:
            if last in container:
                container[container.index(last)] = item
            else:
                container.append(item)
        return
    target = _member(cur_shape, last)
    if target is None:
        raise _invalid(op, path)
    if op == "remove":
        if target.type == "list" and value is not None and isinstance(container.get(last), list):
            if value in container[last]:
                container[last].remove(value)
            return
        container.pop(last, None)
        return
    new = value if raw else coerce(target, value, path)
    if target.type == "list" and op == "add" and isinstance(container.get(last), list):
        for v in new or ():
            if v not in container[last]:
                container[last].append(v)
        return
    container[last] = new


def _member(shape, name: str):
    if shape is None:
        return None
    if shape.type == "structure":
        return shape.members.get(name)
    if shape.type == "map":
        return shape.value
    return None
