"""Shape-directed conversion of nested values (JSON and CBOR documents).

`compile_reader(shape, leaves)` turns a wire document into the service's request dict;
`compile_writer(shape, leaves)` turns a service's response dict into a wire document.
Structures, lists and maps are walked here; what differs between protocols is only how
leaves (timestamps, blobs, numbers...) look, given as a table keyed by shape type name,
in the manner of botocore's `_serialize_type_<name>` dispatch.  Each shape is compiled
once into a closure and cached on the shape; shapes containing nothing to convert are
passed through untouched (the common case, and the fast one).
"""

from __future__ import annotations

from typing import Any, Callable

from haneul.errors import AwsError

Reader = Callable[[Any, str], Any]
Writer = Callable[[Any], Any]


class WireTypeError(AwsError):
    def __init__(self, message: str):
        super().__init__("SerializationException", message, 400)


def _type_name(value) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def _expect(kind, value, path, what):
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise WireTypeError(f"Expected {what} for '{path}' but found {_type_name(value)}")


# The model's integer types are Java's: a number beyond the type's range cannot be read,
# and AWS refuses it as malformed input instead of truncating it (or letting it reach the
# service, where SQLite cannot store it).
_BITS = {"byte": 7, "short": 15, "integer": 31, "long": 63}


def in_range(type_name: str, value: int, path: str) -> int:
    bits = _BITS.get(type_name)
    if bits is not None and not -(1 << bits) <= value < (1 << bits):
        raise WireTypeError(f"Value {value} for '{path}' is out of range for type {type_name}")
    return value


def compile_reader(shape, leaves: dict[str, Callable], tag: str) -> Reader:
    cache = shape._cache
    fn = cache.get(tag)
    if fn is not None:
        return fn
    box: list = [None]
    cache[tag] = lambda v, p: box[0](v, p)      # placeholder for recursive shapes
    fn = _build_reader(shape, leaves, tag)
    box[0] = fn
    cache[tag] = fn
    return fn


def _build_reader(shape, leaves, tag) -> Reader:
    t = shape.type
    if t == "structure":
        if shape.document:
            return lambda v, p: v
        fields = []
        everything = leaves.get("all_members", False)
        for name, member in shape.members.items():
            if member.ser.get("location") and not everything:   # bound to URI/header/query
                continue
            wire = name if everything else member.wire_name(name)
            fields.append((wire, name, compile_reader(member, leaves, tag)))

        def read_structure(value, path):
            if not isinstance(value, dict):
                _expect(dict, value, path, "an object")
            out = {}
            for wire, name, read in fields:
                v = value.get(wire)
                if v is not None:
                    out[name] = read(v, f"{path}.{name}" if path else name)
            return out
        return read_structure
    if t == "list":
        read_member = compile_reader(shape.member, leaves, tag)

        def read_list(value, path):
            if not isinstance(value, list):
                _expect(list, value, path, "an array")
            return [None if v is None else read_member(v, f"{path}.{i}") for i, v in enumerate(value, 1)]
        return read_list
    if t == "map":
        read_key = compile_reader(shape.key, leaves, tag)
        read_value = compile_reader(shape.value, leaves, tag)

        def read_map(value, path):
            if not isinstance(value, dict):
                _expect(dict, value, path, "an object")
            return {read_key(k, path): (None if v is None else read_value(v, f"{path}.{k}"))
                    for k, v in value.items()}
        return read_map
    leaf = leaves.get(t)
    return leaf if leaf is not None else (lambda v, p: v)


def compile_writer(shape, leaves: dict[str, Callable], tag: str) -> Writer | None:
    """None means the value needs no conversion (plain strings, numbers, nested plain)."""
    cache = shape._cache
    if tag in cache:
        fn = cache[tag]
        return fn if fn is not _IDENTITY else None
    box: list = [None]
    cache[tag] = lambda v: box[0](v)             # recursive shapes always convert
    fn = _build_writer(shape, leaves, tag)
    box[0] = fn or (lambda v: v)
    cache[tag] = fn if fn is not None else _IDENTITY
    return fn


def _IDENTITY(v):
    return v


def _build_writer(shape, leaves, tag) -> Writer | None:
    t = shape.type
    if t == "structure":
        if shape.document:
            return None
        fields = []
        plain = True
        everything = leaves.get("all_members", False)
        for name, member in shape.members.items():
            if member.ser.get("location") and not everything:
                plain = False
                continue
            write = compile_writer(member, leaves, tag)
            wire = member.wire_name(name) if leaves.get("rename", True) else name
            if write is not None or wire != name:
                plain = False
            fields.append((name, wire, write))
        if plain:
            return None
        def write_structure(value):
            out = {}
            for name, wire, write in fields:
                v = value.get(name)
                if v is not None:
                    out[wire] = write(v) if write is not None else v
            return out
        return write_structure
    if t == "list":
        write_member = compile_writer(shape.member, leaves, tag)
        if write_member is None:
            return None
        return lambda value: [None if v is None else write_member(v) for v in value]
    if t == "map":
        write_value = compile_writer(shape.value, leaves, tag)
        if write_value is None:
            return None
        return lambda value: {k: (None if v is None else write_value(v)) for k, v in value.items()}
    if t == "timestamp" and "timestampFormat" in shape.ser and "timestamp_format" in leaves:
        return leaves["timestamp_format"](shape.ser["timestampFormat"])
    return leaves.get(t)
