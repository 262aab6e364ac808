"""Choice rules: comparison operators and their *Path forms, Is* tests, And/Or/Not, and the
JSONata `Condition`. A comparison of values of the wrong type is false, never an error."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from haneul.services.stepfunctions.asl.errors import runtime
from haneul.services.stepfunctions.asl.payload import Scope, resolve_reference

_OPS = ("StringEquals", "StringLessThan", "StringGreaterThan", "StringLessThanEquals",
        "StringGreaterThanEquals", "StringMatches", "NumericEquals", "NumericLessThan",
        "NumericGreaterThan", "NumericLessThanEquals", "NumericGreaterThanEquals", "BooleanEquals",
        "TimestampEquals", "TimestampLessThan", "TimestampGreaterThan", "TimestampLessThanEquals",
        "TimestampGreaterThanEquals", "IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean",
        "IsTimestamp")
OPERATORS = set(_OPS) | {op + "Path" for op in _OPS if not op.startswith("Is") and op != "StringMatches"}

_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: Any) -> dt.datetime | None:
    """RFC 3339 as AWS accepts it: uppercase T, and Z or a numeric offset."""
    if not isinstance(value, str):
        return None
    m = _TS.match(value)
    if not m:
        return None
    frac = m.group(7) or ""
    tz = m.group(8)
    try:
        base = dt.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=_tz(tz))
    except ValueError:
        return None
    if frac:   # keep full precision: compare the fraction as a decimal, not as microseconds
        base += dt.timedelta(microseconds=int((frac[1:] + "000000")[:6]))
    return base


def _tz(tz: str) -> dt.timezone:
    if tz == "Z":
        return dt.timezone.utc
    sign = -1 if tz[0] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _cmp(kind: str, a: Any, b: Any) -> int | None:
    """-1/0/1, or None when the values are not comparable as `kind`."""
    if kind == "String":
        if not isinstance(a, str) or not isinstance(b, str):
            return None
    elif kind == "Numeric":
        if not _is_num(a) or not _is_num(b):
            return None
    elif kind == "Timestamp":
        a, b = parse_timestamp(a), parse_timestamp(b)
        if a is None or b is None:
            return None
    return (a > b) - (a < b)


def string_matches(value: Any, pattern: str) -> bool:
    if not isinstance(value, str) or not isinstance(pattern, str):
        return False
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        out += ".*" if c == "*" else re.escape(c)
        i += 1
    return re.fullmatch(out, value, re.S) is not None


def evaluate_rule(rule: dict, data: Any, scope: Scope) -> bool:
    if "And" in rule:
        return all(evaluate_rule(r, data, scope) for r in rule["And"])
    if "Or" in rule:
        return any(evaluate_rule(r, data, scope) for r in rule["Or"])
    if "Not" in rule:
        return not evaluate_rule(rule["Not"], data, scope)
    variable = rule.get("Variable")
    op = next((k for k in rule if k in OPERATORS), None)
    if op is None or variable is None:
        raise runtime("Invalid Choice rule: no comparison operator")
    expected = rule[op]
    if op == "IsPresent":
        try:
            resolve_reference(variable, data, scope, "Variable")
            present = True
        except Exception:
            present = False
        return present == expected
    try:
        value = resolve_reference(variable, data, scope, "Variable")
    except Exception:
        if op.startswith("Is"):
            return False
        raise
    if op == "IsNull":
        return (value is None) == expected
    if op == "IsNumeric":
        return _is_num(value) == expected
    if op == "IsString":
        return isinstance(value, str) == expected
    if op == "IsBoolean":
        return isinstance(value, bool) == expected
    if op == "IsTimestamp":
        return (parse_timestamp(value) is not None) == expected
    if op.endswith("Path"):
        op = op[:-4]
        expected = resolve_reference(expected, data, scope, op + "Path")
    if op == "StringMatches":
        return string_matches(value, expected)
    if op == "BooleanEquals":
        return isinstance(value, bool) and isinstance(expected, bool) and value == expected
    for kind in ("String", "Numeric", "Timestamp"):
        if op.startswith(kind):
            rel = op[len(kind):]
            c = _cmp(kind, value, expected)
            if c is None:
                return False
            return {"Equals": c == 0, "LessThan": c < 0, "GreaterThan": c > 0,
                    "LessThanEquals": c <= 0, "GreaterThanEquals": c >= 0}[rel]
    raise runtime(f"Invalid Choice operator {op}")
