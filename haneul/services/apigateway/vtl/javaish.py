"""Java's view of Python values, as API Gateway's Velocity (Java) shows them: how a value
prints, what is true in `#if`, how `==` compares, and the methods Java objects offer."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

_MISSING = object()


def to_string(value: Any) -> str:
    """`toString()` of the Java value: true/false, {k=v, ...}, [a, b], 1.0E20, "" for null."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return double_string(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{to_string(k)}={_inner(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, range)):
        return "[" + ", ".join(_inner(v) for v in value) + "]"
    if hasattr(value, "keys") and hasattr(value, "__iter__") and not hasattr(value, "to_java_string"):
        return "[" + ", ".join(_inner(v) for v in value) + "]"      # a key set
    text = getattr(value, "to_java_string", None)
    if text is not None:
        return text()
    return str(value)


def _inner(value: Any) -> str:
    return "null" if value is None else to_string(value)


def double_string(x: float) -> str:
    """Java's Double.toString: plain between 10^-3 and 10^7, else d.dddE±n."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    if 1e-3 <= abs(x) < 1e7:
        text = repr(x)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(x)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) - 1 + exponent
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def truthy(value: Any) -> bool:
    """Velocity 1.7's #if: null is false, a Boolean is itself, anything else is true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    return True


def equals(a: Any, b: Any) -> bool:
    """Velocity's `==`: numbers by value, same classes by equals(), others by toString()."""
    if a is None or b is None:
        return a is b
    a_num = isinstance(a, (int, float)) and not isinstance(a, bool)
    b_num = isinstance(b, (int, float)) and not isinstance(b, bool)
    if a_num and b_num:
        return a == b
    if type(a) is type(b) or (isinstance(a, dict) and isinstance(b, dict)) or \
            (isinstance(a, list) and isinstance(b, list)):
        return a == b
    return to_string(a) == to_string(b)


def _number(v: Any):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v


def arithmetic(op: str, a: Any, b: Any) -> Any:
    """+ - * / % as Velocity does them: integer math stays integral (division truncates),
    anything that is not a number gives null (string + joins, as Velocity 1.7 does)."""
    if op == "+" and (isinstance(a, str) or isinstance(b, str)):
        return to_string(a) + to_string(b)
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return None
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y == 0 and op in ("/", "%"):
        return None
    if op == "/":
        if isinstance(x, int) and isinstance(y, int):
            q = abs(x) // abs(y)
            return q if (x >= 0) == (y >= 0) else -q
        return x / y
    if op == "%":
        if isinstance(x, int) and isinstance(y, int):
            r = abs(x) % abs(y)
            return r if x >= 0 else -r
        return math.fmod(x, y)
    raise ValueError(op)


def compare(op: str, a: Any, b: Any) -> bool:
    x, y = _number(a), _number(b)
    if x is None or y is None:
        if isinstance(a, str) and isinstance(b, str):
            x, y = a, b
        else:
            return False
    return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


# -- methods of Java objects ------------------------------------------------------------
def _java_regex(pattern: str) -> str:
    # Java's possessive quantifiers and \p{javaX} are rare in templates; the syntax is close
    return pattern


def _split(s: str, regex: str, limit: int = 0) -> list:
    parts = re.split(_java_regex(regex), s) if regex else list(s)
    if limit > 0:
        parts = re.split(_java_regex(regex), s, maxsplit=limit - 1)
    elif limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def _index_of(seq, value, start: int = 0) -> int:
    try:
        return seq.index(value, start)
    except ValueError:
        return -1


def _last_index_of(seq, value) -> int:
    if isinstance(seq, str):
        return seq.rfind(value)
    for i in range(len(seq) - 1, -1, -1):
        if equals(seq[i], value):
            return i
    return -1


def _substring(s: str, begin: int, end: int | None = None) -> str:
    if end is None:
        end = len(s)
    if begin < 0 or end > len(s) or begin > end:
        raise IndexError(f"begin {begin}, end {end}, length {len(s)}")
    return s[begin:end]


def _list_add(lst: list, *args) -> bool | None:
    if len(args) == 2:
        lst.insert(args[0], args[1])
        return None
    lst.append(args[0])
    return True


def _list_remove(lst: list, item):
    if isinstance(item, int) and not isinstance(item, bool):
        return lst.pop(item)
    try:
        lst.remove(item)
        return True
    except ValueError:
        return False


def _list_set(lst: list, index: int, value):
    old = lst[index]
    lst[index] = value
    return old


def _put(d: dict, key, value):
    old = d.get(key)
    d[key] = value
    return old


def _put_if_absent(d: dict, key, value):
    old = d.get(key)
    if old is None:
        d[key] = value
    return old


def _put_all(d: dict, other: dict) -> None:
    d.update(other)


class Entry:
    __slots__ = ("key", "value")

    def __init__(self, key, value):
        self.key, self.value = key, value

    def to_java_string(self) -> str:
        return f"{to_string(self.key)}={_inner(self.value)}"


def _hash(s: str) -> int:
    h = 0
    for ch in s:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


STRING_METHODS = {
    "length": len,
    "size": len,
    "isEmpty": lambda s: len(s) == 0,
    "contains": lambda s, v: to_string(v) in s,
    "startsWith": lambda s, p, offset=0: s.startswith(p, offset),
    "endsWith": lambda s, p: s.endswith(p),
    "indexOf": lambda s, v, start=0: s.find(to_string(v), start),
    "lastIndexOf": _last_index_of,
    "substring": _substring,
    "charAt": lambda s, i: s[i],
    "concat": lambda s, o: s + o,
    "toUpperCase": lambda s: s.upper(),
    "toLowerCase": lambda s: s.lower(),
    "trim": lambda s: s.strip(" \t\n\r\x0b\x0c\x00"),
    "strip": lambda s: s.strip(),
    "replace": lambda s, a, b: s.replace(to_string(a), to_string(b)),
    "replaceAll": lambda s, p, r: re.sub(_java_regex(p), _java_replacement(r), s),
    "replaceFirst": lambda s, p, r: re.sub(_java_regex(p), _java_replacement(r), s, count=1),
    "matches": lambda s, p: re.fullmatch(_java_regex(p), s, re.S) is not None,
    "split": _split,
    "equals": lambda s, o: isinstance(o, str) and s == o,
    "equalsIgnoreCase": lambda s, o: isinstance(o, str) and s.lower() == o.lower(),
    "compareTo": lambda s, o: (s > o) - (s < o),
    "toString": lambda s: s,
    "hashCode": _hash,
    "getBytes": lambda s: list(s.encode()),
    "toCharArray": list,
    "chars": lambda s: [ord(c) for c in s],
    "isBlank": lambda s: not s.strip(),
    "repeat": lambda s, n: s * n,
}

LIST_METHODS = {
    "size": len,
    "isEmpty": lambda lst: len(lst) == 0,
    "get": lambda lst, i: lst[i],
    "contains": lambda lst, v: any(equals(x, v) for x in lst),
    "add": _list_add,
    "addAll": lambda lst, other: (lst.extend(other), True)[1],
    "remove": _list_remove,
    "set": _list_set,
    "indexOf": lambda lst, v: next((i for i, x in enumerate(lst) if equals(x, v)), -1),
    "lastIndexOf": _last_index_of,
    "subList": lambda lst, a, b: lst[a:b],
    "clear": lambda lst: lst.clear(),
    "toString": to_string,
    "equals": lambda lst, o: lst == o,
    "iterator": iter,
}

MAP_METHODS = {
    "size": len,
    "isEmpty": lambda d: len(d) == 0,
    "get": lambda d, k: d.get(k),
    "getOrDefault": lambda d, k, default: d.get(k, default),
    "put": _put,
    "putAll": _put_all,
    "putIfAbsent": _put_if_absent,
    "remove": lambda d, k: d.pop(k, None),
    "containsKey": lambda d, k: k in d,
    "containsValue": lambda d, v: any(equals(x, v) for x in d.values()),
    "keySet": lambda d: list(d.keys()),
    "values": lambda d: list(d.values()),
    "entrySet": lambda d: [Entry(k, v) for k, v in d.items()],
    "clear": lambda d: d.clear(),
    "toString": to_string,
    "equals": lambda d, o: d == o,
}

NUMBER_METHODS = {
    "toString": to_string,
    "intValue": int,
    "longValue": int,
    "doubleValue": float,
    "floatValue": float,
    "equals": lambda n, o: equals(n, o),
    "compareTo": lambda n, o: (n > o) - (n < o),
}

BOOL_METHODS = {
    "toString": to_string,
    "booleanValue": lambda b: b,
    "equals": lambda b, o: b is o,
}


def _java_replacement(r: str) -> str:
    """Java's $1 group references -> Python's \\g<1>; Python's backslashes kept literal."""
    out, i = [], 0
    r = to_string(r)
    while i < len(r):
        c = r[i]
        if c == "\\" and i + 1 < len(r):
            out.append(r[i + 1].replace("\\", "\\\\"))
            i += 2
            continue
        if c == "$" and i + 1 < len(r) and r[i + 1].isdigit():
            j = i + 1
            while j < len(r) and r[j].isdigit():
                j += 1
            out.append(f"\\g<{r[i + 1:j]}>")
            i = j
            continue
        out.append("\\\\" if c == "\\" else c)
        i += 1
    return "".join(out)


def methods_for(obj: Any) -> dict | None:
    if isinstance(obj, str):
        return STRING_METHODS
    if isinstance(obj, bool):
        return BOOL_METHODS
    if isinstance(obj, (int, float)):
        return NUMBER_METHODS
    if isinstance(obj, dict):
        return MAP_METHODS
    if isinstance(obj, list):
        return LIST_METHODS
    return None


def get_property(obj: Any, name: str) -> Any:
    """`$obj.name` without parentheses: a map's key, an object's attribute, or a Java bean
    getter (`$list.empty` -> isEmpty(), `$s.bytes` -> getBytes())."""
    if obj is None or name.startswith("_"):
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    if isinstance(obj, Entry):
        return obj.key if name == "key" else obj.value if name == "value" else None
    methods = methods_for(obj)
    if methods is not None:
        cap = name[:1].upper() + name[1:]
        for candidate in ("get" + cap, "is" + cap):
            fn = methods.get(candidate)
            if fn is not None:
                return fn(obj)
        return None
    getter = getattr(obj, "vtl_property", None)
    if getter is not None:
        return getter(name)
    return None


def call_method(obj: Any, name: str, args: list) -> Any:
    """`$obj.name(args)`; a missing method gives null (rendered as nothing)."""
    if obj is None or name.startswith("_"):
        return None
    methods = methods_for(obj)
    if methods is not None:
        fn = methods.get(name)
        if fn is None and isinstance(obj, Entry):
            return None
        if fn is None:
            if name.startswith("get") and isinstance(obj, dict) and not args:
                return None
            return None
        return fn(obj, *args)
    if isinstance(obj, Entry):
        return {"getKey": obj.key, "getValue": obj.value}.get(name)
    exposed = getattr(obj, "VTL_METHODS", ())
    if name in exposed:
        return getattr(obj, name)(*args)
    return None
