"""The model's constraints checked before dispatch, with AWS's messages:

  1 validation error detected: Value 'x' at 'name' failed to satisfy constraint:
  Member must have length less than or equal to 10

Paths name members with a lower-case first letter and list items as `list.N.member`,
as AWS's front ends do.  A pattern must match the whole value, as AWS's validators
require (IAM refuses "my role" against [\\w+=,.@-]+ although the pattern is unanchored);
Java-only regex classes such as \\p{L} are translated to Python equivalents.
"""

from __future__ import annotations

import re
import warnings

_LETTERS = ("a-zA-Z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u03ff"
            "\u0400-\u052f\u0531-\u0587\u05d0-\u05ea\u0620-\u064a\u0900-\u0939\u0e01-\u0e30"
            "\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af")
# Java-only classes as the contents of a Python character class.
_PROPS = {
    "L": _LETTERS, "IsAlphabetic": _LETTERS, "Lu": "A-Z\u00c0-\u00de", "Ll": "a-z\u00df-\u00ff",
    "N": "0-9\u00b2\u00b3\u00b9\u00bc-\u00be\u0660-\u0669", "Nd": "0-9", "Digit": "0-9",
    "Z": " \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000", "Zs": " \u00a0\u3000",
    "P": "!-#%-*,-/:;?@\\[-\\]_{}\u00a1\u00a7\u00ab\u00b6\u00b7\u00bb\u00bf",
    "Punct": "!-/:-@\\[-`{-~", "S": "$+<=>^`|~\u00a2-\u00a6\u00a8\u00a9\u00ac\u00ae-\u00b1",
    "Alnum": "a-zA-Z0-9", "Alpha": "a-zA-Z", "XDigit": "0-9a-fA-F", "ASCII": "\x00-\x7f",
    "Print": "\x20-\x7e", "Graph": "\x21-\x7e", "Cntrl": "\x00-\x1f\x7f", "Space": r"\s",
    "Upper": "A-Z", "Lower": "a-z", "C": "\x00-\x1f\x7f-\x9f", "M": "\u0300-\u036f",
    "Cc": "\x00-\x1f\x7f-\x9f",
}
_PROP_RE = re.compile(r"\\([pP])\{(?:Is)?([A-Za-z]+)\}")
_BAD = object()


_SURROGATES = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)


def _pair(m) -> str:
    hi, lo = int(m.group(1), 16), int(m.group(2), 16)
    return "\\U%08x" % (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))


def _translate(text: str) -> str:
    """Rewrite Java's \\p{...} classes and UTF-16 surrogate pairs; raise re.error when a
    class cannot be expressed."""
    text = _SURROGATES.sub(_pair, text)
    out, depth, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            m = _PROP_RE.match(text, i)
            if m:
                content = _PROPS.get(m.group(2)) or _PROPS.get("Is" + m.group(2))
                if content is None or (m.group(1) == "P" and depth):
                    raise re.error(f"unsupported class {m.group(0)}")
                if depth:
                    out.append(content)
                else:
                    out.append(("[^" if m.group(1) == "P" else "[") + content + "]")
                i = m.end()
                continue
            out.append(text[i:i + 2])
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        out.append(c)
        i += 1
    return "".join(out)


def compile_pattern(shape):
    cached = shape._cache.get("pattern")
    if cached is not None:
        return None if cached is _BAD else cached
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)   # Java's "[a-z&&...]"-looking text
            compiled = re.compile(_translate(shape.pattern))
    except re.error:
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
