"""The model's constraints checked before dispatch, with AWS's messages:

  1 validation error detected: Value 'x' at 'name' failed to satisfy constraint:
  Member must have length less than or equal to 10

Paths name members with a lower-case first letter and list items as `list.N.member`,
as AWS's front ends do.  A pattern must match the whole value, as AWS's validators
require (IAM refuses "my role" against [\\w+=,.@-]+ although the pattern is unanchored);
Java's Unicode classes such as \\p{L} are matched by the `regex` module; UTF-16 surrogate
pairs in patterns become code points.  The few Java-only constructs neither module knows
(29 of ~10,000 patterns in botocore's models) are not checked.
"""

from __future__ import annotations

import re
import warnings

_BAD = object()
_SURROGATES = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)


def _pair(m) -> str:
    hi, lo = int(m.group(1), 16), int(m.group(2), 16)
    return "\\U%08x" % (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))


def compile_pattern(shape):
    """Java-style patterns with Unicode classes (\\p{L}...) or class intersections go to the
    `regex` module, which knows them; the rest compile with `re` (faster to import)."""
    cached = shape._cache.get("pattern")
    if cached is not None:
        return None if cached is _BAD else cached
    text = _SURROGATES.sub(_pair, shape.pattern)
    try:
        if "\\p{" in text or "\\P{" in text or "&&" in text:
            import regex     # V1 reads Java's class intersections, [a-z&&[^q]]
            compiled = regex.compile(text, regex.V1 if "&&" in text else regex.V0)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)   # Java's "[a-z&&...]"-looking text
                compiled = re.compile(text)
    except Exception:        # re.error / regex.error: a Java construct neither knows
        compiled = _BAD
    shape._cache["pattern"] = compiled
    return None if compiled is _BAD else compiled


def _java_str(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_java_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (bytes, bytearray)):
        return "java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]" % (len(value), len(value))
    return str(value)


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def validate(shape, value, unchecked_enums: frozenset = frozenset()) -> list[str]:
    """`unchecked_enums`: enum shapes the service checks itself, because the service
    accepts more than the model lists (SQS takes message attribute names in ReceiveMessage's
    AttributeNames, typed as QueueAttributeName).  The set is fixed per service, so the
    compiled checkers, cached on the service's shapes, stay valid."""
    errors: list[str] = []
    if shape is not None:
        check = compiled(shape, unchecked_enums)
        if check is not None:
            check(value, "", errors)
    return errors


def _fail(errors, value, path, constraint):
    shown = "null" if value is None else f"'{_java_str(value)}'"
    errors.append(f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}")


def compiled(shape, unchecked: frozenset = frozenset()):
    """A checker fn(value, path, errors) for the shape, or None when nothing in it is
    constrained.  Built once per shape (recursive shapes get a forwarding stub)."""
    cache = shape._cache
    if "validator" in cache:
        return cache["validator"]
    box: list = [None]
    cache["validator"] = lambda v, p, e: box[0] and box[0](v, p, e)
    fn = _build(shape, unchecked)
    box[0] = fn
    cache["validator"] = fn
    return fn


def _build(shape, unchecked):
    t = shape.type
    if t == "structure":
        if shape.document:
            return None
        members = shape.members
        required = [(name, _lower_first(name)) for name in shape.required if name in members]
        checks = []
        for name, member in members.items():
            fn = compiled(member, unchecked)
            if fn is not None:
                checks.append((name, _lower_first(name), fn))
        if not required and not checks:
            return None

        def check_structure(value, path, errors):
            if not isinstance(value, dict):
                return
            for name, wire in required:
                if value.get(name) is None:
                    _fail(errors, None, _join(path, wire), "Member must not be null")
            for name, wire, fn in checks:
                v = value.get(name)
                if v is not None:
                    fn(v, _join(path, wire), errors)
        return check_structure
    if t == "list":
        member_fn = compiled(shape.member, unchecked)
        sized = shape.min is not None or shape.max is not None
        if member_fn is None and not sized:
            return None

        def check_list(value, path, errors):
            if not isinstance(value, list):
                return
            if sized:
                _length(shape, value, len(value), path, errors)
            if member_fn is not None:
                for i, v in enumerate(value, 1):
                    if v is not None:
                        member_fn(v, f"{path}.{i}.member", errors)
        return check_list
    if t == "map":
        key_fn, value_fn = compiled(shape.key, unchecked), compiled(shape.value, unchecked)
        sized = shape.min is not None or shape.max is not None
        if key_fn is None and value_fn is None and not sized:
            return None

        def check_map(value, path, errors):
            if not isinstance(value, dict):
                return
            if sized:
                _length(shape, value, len(value), path, errors)
            for k, v in value.items():
                if key_fn is not None:
                    key_fn(k, f"{path}.{k}.member.key", errors)
                if value_fn is not None and v is not None:
                    value_fn(v, f"{path}.{k}.member.value", errors)
        return check_map
    if t == "string":
        pattern = compile_pattern(shape) if shape.pattern else None
        enum = frozenset(shape.enum) if shape.enum and shape.name not in unchecked else None
        sized = shape.min is not None or shape.max is not None
        if pattern is None and enum is None and not sized:
            return None
        enum_text = "Member must satisfy enum value set: [" + ", ".join(shape.enum or ()) + "]"
        pattern_text = f"Member must satisfy regular expression pattern: {shape.pattern}"

        def check_string(value, path, errors):
            if not isinstance(value, str):
                return
            if sized:
                _length(shape, value, len(value), path, errors)
            if enum is not None and value not in enum:
                _fail(errors, value, path, enum_text)
            if pattern is not None and pattern.fullmatch(value) is None:
                _fail(errors, value, path, pattern_text)
        return check_string
    if t == "blob":
        if shape.min is None and shape.max is None:
            return None

        def check_blob(value, path, errors):
            if isinstance(value, (bytes, bytearray)):
                _length(shape, value, len(value), path, errors)
        return check_blob
    if t in ("integer", "long", "float", "double", "short", "byte"):
        lo, hi = shape.min, shape.max
        if lo is None and hi is None:
            return None

        def check_number(value, path, errors):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return
            if lo is not None and value < lo:
                _fail(errors, value, path, f"Member must have value greater than or equal to {_num(lo)}")
            if hi is not None and value > hi:
                _fail(errors, value, path, f"Member must have value less than or equal to {_num(hi)}")
        return check_number
    return None


def _num(n):
    return int(n) if isinstance(n, float) and n.is_integer() else n


def _length(shape, value, n, path, errors):
    if shape.min is not None and n < shape.min:
        _fail(errors, value, path, f"Member must have length greater than or equal to {_num(shape.min)}")
    if shape.max is not None and n > shape.max:
        _fail(errors, value, path, f"Member must have length less than or equal to {_num(shape.max)}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def message(errors: list[str]) -> str:
    n = len(errors)
    head = f"{n} validation error{'s' if n != 1 else ''} detected: "
    return head + "; ".join(errors)
