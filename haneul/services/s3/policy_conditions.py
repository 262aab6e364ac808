"""IAM policy Condition blocks as bucket policies use them: the operators (String*,
Numeric*, Date*, Bool, IpAddress/NotIpAddress, Arn*, Null, BinaryEquals), their
...IfExists forms and ForAnyValue:/ForAllValues: set qualifiers, over a request's context
keys (aws:SecureTransport, aws:SourceIp, aws:PrincipalOrgID, s3:prefix ...).

Semantics (IAM's): a block holds when every operator holds; an operator holds when every
key in it holds; a key holds when any of its values matches (negated operators: when none
does).  A key missing from the request fails the condition, except for Null, ...IfExists,
ForAllValues (vacuously true) and the negated operators with IfExists.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import re

# wildcards matched in linear time: a backtracking regex of a policy's `*`s is a ReDoS
from haneul.services.iam.policy.wildcard import like

_VAR = re.compile(r"\$\{([^}]+)\}")


def _as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _number(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _date(v) -> float | None:
    if isinstance(v, (int, float)) or (isinstance(v, str) and v.replace(".", "", 1).isdigit()):
        return float(v)
    try:
        when = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)).timestamp()


def _ip_in(value, cidr) -> bool:
    try:
        return ipaddress.ip_address(str(value)) in ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        return False


def _arn_like(value: str, pattern: str) -> bool:
    v, p = str(value).split(":", 5), str(pattern).split(":", 5)
    if len(v) != 6 or len(p) != 6:
        return False
    return all(like(pp, vv) for vv, pp in zip(v, p))


def _compare(base: str, actual, expected) -> bool:
    """One value against one policy value, for a base (non-negated) operator."""
    if base == "StringEquals":
        return _text(actual) == _text(expected)
    if base == "StringEqualsIgnoreCase":
        return _text(actual).lower() == _text(expected).lower()
    if base == "StringLike":
        return like(_text(expected), _text(actual))
    if base in ("NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
                "NumericGreaterThanEquals"):
        a, e = _number(actual), _number(expected)
        return a is not None and e is not None and _ordered(base[7:], a, e)
    if base in ("DateEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"):
        a, e = _date(actual), _date(expected)
        return a is not None and e is not None and _ordered(base[4:], a, e)
    if base == "Bool":
        return _text(actual).lower() == _text(expected).lower()
    if base == "IpAddress":
        return _ip_in(actual, expected)
    if base in ("ArnEquals", "ArnLike"):
        return _arn_like(actual, expected)
    if base == "BinaryEquals":
        try:
            return base64.b64decode(str(expected)) == (actual if isinstance(actual, bytes) else str(actual).encode())
        except ValueError:
            return False
    return False


def _ordered(kind: str, a: float, e: float) -> bool:
    return {"Equals": a == e, "LessThan": a < e, "LessThanEquals": a <= e,
            "GreaterThan": a > e, "GreaterThanEquals": a >= e}[kind]


_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
            "NotIpAddress": "IpAddress", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}
KNOWN = frozenset(("StringEquals", "StringEqualsIgnoreCase", "StringLike", "NumericEquals", "NumericLessThan",
                   "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
                   "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool",
                   "IpAddress", "ArnEquals", "ArnLike", "BinaryEquals", "Null", *_NEGATED))


def substitute(value, keys: dict) -> str:
    """Policy variables: ${aws:username}, ${*} ${?} ${$} escapes."""
    text = _text(value)
    if "${" not in text:
        return text

    def repl(m):
        name = m.group(1)
        if name in ("*", "?", "$"):
            return name
        name, _, default = name.partition(", ")
        found = keys.get(name.lower())
        if found is None:
            return default.strip("'") if default else m.group(0)
        return _text(found[0] if isinstance(found, list) else found)
    return _VAR.sub(repl, text)


def operator_holds(operator: str, entries: dict, keys: dict) -> bool:
    """One operator of a Condition block against the request's context keys
    (lower-case key names -> value or list of values)."""
    qualifier = ""
    if ":" in operator:
        qualifier, _, operator = operator.partition(":")
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[:-len("IfExists")]
    if operator not in KNOWN:
        return False                          # unknown operators never match (IAM refuses them)
    for key, expected in (entries or {}).items():
        expected = [substitute(v, keys) if isinstance(v, str) else v for v in _as_list(expected)]
        actual = keys.get(key.lower())
        if operator == "Null":
            missing = actual is None or actual == []
            if not any(_text(e).lower() == ("true" if missing else "false") for e in expected):
                return False
            continue
        if actual is None or actual == []:
            if if_exists or qualifier == "ForAllValues":
                continue
            return False
        values = _as_list(actual)
        base = _NEGATED.get(operator, operator)
        negated = operator in _NEGATED
        if qualifier == "ForAllValues":
            ok = all(any(_compare(base, v, e) for e in expected) != negated for v in values)
        elif qualifier == "ForAnyValue":
            ok = any(any(_compare(base, v, e) for e in expected) != negated for v in values)
        else:
            hit = any(_compare(base, v, e) for v in values for e in expected)
            ok = not hit if negated else hit
        if not ok:
            return False
    return True


def holds(condition: dict | None, keys: dict) -> bool:
    return all(operator_holds(op, entries, keys) for op, entries in (condition or {}).items())
