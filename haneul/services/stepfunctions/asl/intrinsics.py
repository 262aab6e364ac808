"""The 18 intrinsic functions (States.Format ... States.UUID), parsed once and cached.

Arguments are string literals ('...' with \\' \\{ \\} \\\\ escapes), numbers, true/false/null,
JSONPaths into the input (`$.x`) or the context object (`$$.x`), variables (`$name.x`)
and nested intrinsic calls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import uuid
from functools import lru_cache
from typing import Any, Callable

from haneul.services.stepfunctions.asl.errors import StatesError, intrinsic_error, runtime
from haneul.services.stepfunctions.asl.jsonpath import PathNotFound, compile_path

FUNCTION_NAMES = {
    "States.Format", "States.StringToJson", "States.JsonToString", "States.Array",
    "States.ArrayPartition", "States.ArrayContains", "States.ArrayRange", "States.ArrayGetItem",
    "States.ArrayLength", "States.ArrayUnique", "States.Base64Encode", "States.Base64Decode",
    "States.Hash", "States.JsonMerge", "States.MathRandom", "States.MathAdd",
    "States.StringSplit", "States.UUID",
}
ARRAY_LIMIT = 1000
BASE64_LIMIT = 10000
HASH_LIMIT = 10000


class IntrinsicSyntaxError(ValueError):
    pass


def is_intrinsic(text: Any) -> bool:
    return isinstance(text, str) and text.startswith("States.") and "(" in text


# -- parsing ----------------------------------------------------------------------------------
class _Call:
    __slots__ = ("name", "args")

    def __init__(self, name, args):
        self.name, self.args = name, args


class _Ref:
    __slots__ = ("kind", "path", "var", "text")

    def __init__(self, kind, path, var, text):
        self.kind, self.path, self.var, self.text = kind, path, var, text


class _Lit:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


@lru_cache(maxsize=4096)
def parse(text: str) -> _Call:
    p = _Parser(text)
    node = p.expr()
    p.ws()
    if p.i != len(text) or not isinstance(node, _Call):
        raise IntrinsicSyntaxError(f"Invalid intrinsic function: {text}")
    return node


class _Parser:
    def __init__(self, s: str):
        self.s, self.i = s, 0

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t\n\r":
            self.i += 1

    def expr(self):
        self.ws()
        s, i = self.s, self.i
        if i >= len(s):
            raise IntrinsicSyntaxError("unexpected end")
        c = s[i]
        if c == "'":
            return _Lit(self.string())
        if c == "$":
            return self.ref()
        if s.startswith("States.", i):
            j = s.index("(", i) if "(" in s[i:] else -1
            if j < 0:
                raise IntrinsicSyntaxError(f"Invalid intrinsic function: {s}")
            name = s[i:j].strip()
            if name not in FUNCTION_NAMES:
                raise IntrinsicSyntaxError(f"Unknown intrinsic function: {name}")
            self.i = j + 1
            args = []
            self.ws()
            if self.i < len(s) and s[self.i] == ")":
                self.i += 1
                return _Call(name, args)
            while True:
                args.append(self.expr())
                self.ws()
                if self.i >= len(s):
                    raise IntrinsicSyntaxError("unclosed call")
                if s[self.i] == ",":
                    self.i += 1
                    continue
                if s[self.i] == ")":
                    self.i += 1
                    return _Call(name, args)
                raise IntrinsicSyntaxError(f"unexpected {s[self.i]!r}")
        m = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null").match(s, i)
        if m:
            self.i = m.end()
            return _Lit(json.loads(m.group(0)))
        raise IntrinsicSyntaxError(f"unexpected {c!r} in {s}")

    def string(self) -> str:
        s = self.s
        self.i += 1
        out = []
        while self.i < len(s):
            c = s[self.i]
            if c == "\\" and self.i + 1 < len(s):
                out.append("\\" + s[self.i + 1] if s[self.i + 1] in "{}" else s[self.i + 1])
                self.i += 2
                continue
            if c == "'":
                self.i += 1
                return "".join(out)
            out.append(c)
            self.i += 1
        raise IntrinsicSyntaxError("unterminated string")

    def ref(self):
        s = self.s
        j = self.i
        depth = 0
        quote = None
        while j < len(s):
            c = s[j]
            if quote:
                if c == quote:
                    quote = None
            elif c in "'\"" and depth:
                quote = c
            elif c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
            elif depth == 0 and (c in ",)" or c in " \t"):
                break
            j += 1
        text = s[self.i:j]
        self.i = j
        if text.startswith("$$"):
            return _Ref("context", compile_path(text), None, text)
        if text == "$" or text.startswith(("$.", "$[")):
            return _Ref("input", compile_path(text), None, text)
        m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)(.*)$", text)
        if not m:
            raise IntrinsicSyntaxError(f"invalid reference {text}")
        return _Ref("var", compile_path("$" + m.group(2)), m.group(1), text)


# -- evaluation -------------------------------------------------------------------------------
def evaluate(text: str, input_: Any, context: Any, variables: dict | None) -> Any:
    try:
        call = parse(text)
    except IntrinsicSyntaxError as e:
        raise intrinsic_error(str(e)) from None
    return _eval(call, input_, context, variables)


def _eval(node, inp, ctx, variables):
    if isinstance(node, _Lit):
        return node.value
    if isinstance(node, _Ref):
        if node.kind == "var":
            if variables is None or node.var not in variables:
                raise runtime(f"The variable '${node.var}' could not be found")
            root = variables[node.var]
        else:
            root = ctx if node.kind == "context" else inp
        try:
            return node.path.find(root)
        except PathNotFound:
            raise runtime(f"The JSONPath '{node.text}' could not be found in the input "
                          f"'{json.dumps(root, separators=(',', ':'))}'") from None
    args = [_eval(a, inp, ctx, variables) for a in node.args]
    return FUNCTIONS[node.name](node.name, args)


def _need(name, args, count: int | tuple):
    counts = count if isinstance(count, tuple) else (count,)
    if len(args) not in counts:
        raise intrinsic_error(f"Invalid number of arguments for {name}: expected "
                              f"{' or '.join(map(str, counts))}, received {len(args)}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer())


def _java_str(v) -> str:
    """How States.Format renders a non-string value (Java toString of the JSON tree)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int):          # bool was handled above; json.dumps would give the same
        return str(v)
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return repr(v)
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_java_str(x) for x in v) + "]"
    return "{" + ", ".join(f"{k}={_java_str(x)}" for k, x in v.items()) + "}"


def _format(name, args):
    if not args or not isinstance(args[0], str):
        raise intrinsic_error(f"{name} requires a string template as its first argument")
    template = args[0]
    values = args[1:]
    out = []
    used = 0
    i = 0
    while i < len(template):
        if template[i] == "\\" and i + 1 < len(template) and template[i + 1] in "{}":
            out.append(template[i + 1])
            i += 2
            continue
        if template.startswith("{}", i):
            if used >= len(values):
                raise intrinsic_error(f"Number of arguments in {name} do not match the number of placeholders")
            out.append(_java_str(values[used]))
            used += 1
            i += 2
            continue
        out.append(template[i])
        i += 1
    if used != len(values):
        raise intrinsic_error(f"Number of arguments in {name} do not match the number of placeholders")
    return "".join(out)


def _string_to_json(name, args):
    _need(name, args, 1)
    if not isinstance(args[0], str):
        raise intrinsic_error(f"{name} requires a string argument")
    text = args[0].strip()
    if not text:
        return None
    try:
        val = json.loads(text)
    except (ValueError, RecursionError):
        raise intrinsic_error(f"{name} could not parse the string as JSON: {args[0]}") from None
    return 0 if val == 0 and isinstance(val, (int, float)) and not isinstance(val, bool) else val


def _json_to_string(name, args):
    _need(name, args, 1)
    return json.dumps(args[0], separators=(",", ":"), ensure_ascii=False)


def _array(name, args):
    return list(args)


def _array_partition(name, args):
    _need(name, args, 2)
    arr, size = args
    if not isinstance(arr, list) or not _is_int(size) or size <= 0:
        raise intrinsic_error(f"{name} requires an array and a positive integer chunk size")
    size = int(size)
    return [arr[i:i + size] for i in range(0, len(arr), size)]


def _array_contains(name, args):
    _need(name, args, 2)
    if not isinstance(args[0], list):
        raise intrinsic_error(f"{name} requires an array as its first argument")
    return any(_json_equal(x, args[1]) for x in args[0])


def _json_equal(a, b) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def _array_range(name, args):
    _need(name, args, 3)
    if not all(_is_int(a) for a in args):
        raise intrinsic_error(f"{name} requires integer arguments")
    start, end, step = (int(a) for a in args)
    if step == 0:
        raise intrinsic_error(f"{name} step cannot be 0")
    out = list(range(start, end + (1 if step > 0 else -1), step))
    if len(out) > ARRAY_LIMIT:
        raise intrinsic_error(f"{name} result exceeds the maximum array size of {ARRAY_LIMIT}")
    return out


def _array_get_item(name, args):
    _need(name, args, 2)
    arr, idx = args
    if not isinstance(arr, list) or not _is_int(idx):
        raise intrinsic_error(f"{name} requires an array and an integer index")
    idx = int(idx)
    if not 0 <= idx < len(arr):
        raise intrinsic_error(f"{name} index {idx} out of bounds for length {len(arr)}")
    return arr[idx]


def _array_length(name, args):
    _need(name, args, 1)
    if not isinstance(args[0], list):
        raise intrinsic_error(f"{name} requires an array argument")
    return len(args[0])


def _array_unique(name, args):
    _need(name, args, 1)
    if not isinstance(args[0], list):
        raise intrinsic_error(f"{name} requires an array argument")
    out: list = []
    seen: set = set()
    for x in args[0]:
        key = json.dumps(x, sort_keys=True) + type(x).__name__[:1]
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


def _base64_encode(name, args):
    _need(name, args, 1)
    if not isinstance(args[0], str):
        raise intrinsic_error(f"{name} requires a string argument")
    if len(args[0]) > BASE64_LIMIT:
        raise intrinsic_error(f"{name} input exceeds the maximum of {BASE64_LIMIT} characters")
    return base64.b64encode(args[0].encode()).decode()


def _base64_decode(name, args):
    _need(name, args, 1)
    if not isinstance(args[0], str):
        raise intrinsic_error(f"{name} requires a string argument")
    if len(args[0]) > BASE64_LIMIT:
        raise intrinsic_error(f"{name} input exceeds the maximum of {BASE64_LIMIT} characters")
    try:
        return base64.b64decode(args[0], validate=True).decode()
    except Exception:
        raise intrinsic_error(f"{name} could not decode the input as base64") from None


_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(name, args):
    _need(name, args, 2)
    data, algo = args
    if algo not in _HASHES:
        raise intrinsic_error(f"{name} algorithm {algo} is not supported; use one of "
                              f"{', '.join(_HASHES)}")
    if not isinstance(data, str):
        data = _json_to_string(name, [data])
    if len(data) > HASH_LIMIT:
        raise intrinsic_error(f"{name} input exceeds the maximum of {HASH_LIMIT} characters")
    return hashlib.new(_HASHES[algo], data.encode()).hexdigest()


def _json_merge(name, args):
    _need(name, args, 3)
    a, b, deep = args
    if not isinstance(a, dict) or not isinstance(b, dict):
        raise intrinsic_error(f"{name} requires two JSON objects")
    if deep is not False:
        raise intrinsic_error(f"{name} supports only shallow merge (the third argument must be false)")
    return {**a, **b}


def _math_random(name, args):
    _need(name, args, (2, 3))
    if not all(_is_int(a) or isinstance(a, float) for a in args[:2]):
        raise intrinsic_error(f"{name} requires numeric bounds")
    start, end = (int(a) for a in args[:2])
    rng = random.Random(args[2]) if len(args) == 3 else random
    if end <= start:
        raise intrinsic_error(f"{name} end must be greater than start")
    return rng.randrange(start, end)


def _java_round(v: float) -> int:
    return int(math.floor(v + 0.5))


def _math_add(name, args):
    _need(name, args, 2)
    for a in args:
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            raise intrinsic_error(f"{name} requires numeric arguments")
    return _java_round(args[0]) + _java_round(args[1])


def _string_split(name, args):
    _need(name, args, 2)
    s, delims = args
    if not isinstance(s, str) or not isinstance(delims, str):
        raise intrinsic_error(f"{name} requires string arguments")
    if not delims:
        return [s] if s else []
    parts = re.split("[" + re.escape(delims) + "]", s)
    return [p for p in parts if p]


def _uuid(name, args):
    _need(name, args, 0)
    return str(uuid.uuid4())


FUNCTIONS: dict[str, Callable[[str, list], Any]] = {
    "States.Format": _format, "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string, "States.Array": _array,
    "States.ArrayPartition": _array_partition, "States.ArrayContains": _array_contains,
    "States.ArrayRange": _array_range, "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length, "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode, "States.Base64Decode": _base64_decode,
    "States.Hash": _hash, "States.JsonMerge": _json_merge, "States.MathRandom": _math_random,
    "States.MathAdd": _math_add, "States.StringSplit": _string_split, "States.UUID": _uuid,
}

__all__ = ["evaluate", "is_intrinsic", "parse", "StatesError", "FUNCTION_NAMES"]
