"""IAM condition operators, as AWS documents them ("IAM JSON policy elements: Condition
operators" and "Single-valued vs. multivalued context keys").

Pure: `test(operator, key, policy_values, context)` answers whether one condition entry
holds, and whether the key was missing from the request context.  The context maps a
lower-cased key name to its list of string values (a single-valued key is a list of one).

Rules, in AWS's words turned into code:
- A key absent from the context makes a positive operator false and a negated one
  (StringNotEquals, NotIpAddress, ArnNotLike, ...) true; `...IfExists` makes any
  operator true when the key is absent; `Null` tests the absence itself.
- Several policy values are ORed; a positive operator holds when a context value matches
  any of them, a negated one when no context value matches any of them.
- `ForAnyValue:` holds when at least one context value satisfies the operator (false for
  an absent or empty key); `ForAllValues:` when every context value does (true for an
  absent or empty key).
- String comparisons are case-sensitive except `...IgnoreCase`; `StringLike` and the
  `Arn` operators take `*` and `?` wildcards, the ARN ones segment by segment.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
from typing import Callable

from haneul.services.iam.policy.wildcard import like

Context = dict[str, list[str]]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _date(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 date/time or of a number of epoch seconds."""
    number = _number(text)
    if number is not None:
        return number
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


def _bytes(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None


def _network(text: str):
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip().split("/")[0])
    except ValueError:
        return None


def _arn_like(value: str, pattern: str) -> bool:
    """ARN operators compare the six colon-separated segments separately."""
    have, want = value.split(":", 5), pattern.split(":", 5)
    if len(have) != 6 or len(want) != 6:
        return False
    return all(like(w, h) for h, w in zip(have, want))


def _compare(convert: Callable[[str], object], check: Callable[[object, object], bool]):
    def match(value: str, wanted: str) -> bool:
        a, b = convert(value), convert(wanted)
        return a is not None and b is not None and check(a, b)
    return match


def _ip_in(value: str, wanted: str) -> bool:
    address, network = _address(value), _network(wanted)
    return address is not None and network is not None and address.version == network.version \
        and address in network


# operator -> (one-value matcher, negated?)
_BASE: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda v, w: v == w, False),
    "StringNotEquals": (lambda v, w: v == w, True),
    "StringEqualsIgnoreCase": (lambda v, w: v.lower() == w.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda v, w: v.lower() == w.lower(), True),
    "StringLike": (lambda v, w: like(w, v), False),
    "StringNotLike": (lambda v, w: like(w, v), True),
    "NumericEquals": (_compare(_number, lambda a, b: a == b), False),
    "NumericNotEquals": (_compare(_number, lambda a, b: a == b), True),
    "NumericLessThan": (_compare(_number, lambda a, b: a < b), False),
    "NumericLessThanEquals": (_compare(_number, lambda a, b: a <= b), False),
    "NumericGreaterThan": (_compare(_number, lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_compare(_number, lambda a, b: a >= b), False),
    "DateEquals": (_compare(_date, lambda a, b: a == b), False),
    "DateNotEquals": (_compare(_date, lambda a, b: a == b), True),
    "DateLessThan": (_compare(_date, lambda a, b: a < b), False),
    "DateLessThanEquals": (_compare(_date, lambda a, b: a <= b), False),
    "DateGreaterThan": (_compare(_date, lambda a, b: a > b), False),
    "DateGreaterThanEquals": (_compare(_date, lambda a, b: a >= b), False),
    "Bool": (lambda v, w: v.lower() == w.lower(), False),
    "BinaryEquals": (_compare(_bytes, lambda a, b: a == b), False),
    "IpAddress": (_ip_in, False),
    "NotIpAddress": (_ip_in, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
}


class UnknownOperator(ValueError):
    pass


def parse_operator(operator: str) -> tuple[str, str, bool]:
    """(set prefix "" / "ForAnyValue" / "ForAllValues", base operator, IfExists?)."""
    prefix, _, rest = operator.rpartition(":")
    if prefix not in ("", "ForAnyValue", "ForAllValues"):
        raise UnknownOperator(operator)
    if_exists = rest.endswith("IfExists") and rest != "IfExists"
    base = rest[:-len("IfExists")] if if_exists else rest
    if base != "Null" and base not in _BASE:
        raise UnknownOperator(operator)
    if base == "Null" and (if_exists or prefix):
        raise UnknownOperator(operator)
    return prefix, base, if_exists


def test(operator: str, key: str, wanted: list[str], context: Context) -> tuple[bool, bool]:
    """(holds, key missing from the context) for one `"Operator": {"key": wanted}` entry.
    `wanted` are the policy's values as strings, policy variables already substituted."""
    prefix, base, if_exists = parse_operator(operator)
    values = context.get(key.lower())
    missing = values is None
    if base == "Null":
        return any((w.lower() == "true") == missing for w in wanted), False
    if missing:
        if if_exists or prefix == "ForAllValues":
            return True, True
        if prefix == "ForAnyValue":
            return False, True
        return _BASE[base][1], True
    one, negated = _BASE[base]

    def satisfied(value: str) -> bool:
        hit = any(one(value, w) for w in wanted)
        return not hit if negated else hit

    if prefix == "ForAnyValue":
        return any(satisfied(v) for v in values), False
    if prefix == "ForAllValues":
        return all(satisfied(v) for v in values), False
    hit = any(one(v, w) for v in values for w in wanted)
    return (not hit if negated else hit), False
