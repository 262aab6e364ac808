"""Attribute values in DynamoDB's JSON form ({"S": "x"}, {"N": "1.5"}, {"B": b"..."}, ...):
validation with AWS's messages, canonical numbers (38 digits, decimal.Decimal), ordering,
equality, sizes."""

from __future__ import annotations

import decimal
from decimal import Decimal

from haneul.errors import AwsError

TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
LONG_TYPE = {"S": "STRING", "N": "NUMBER", "B": "BINARY", "BOOL": "BOOLEAN", "NULL": "NULL",
             "L": "LIST", "M": "MAP", "SS": "STRING_SET", "NS": "NUMBER_SET", "BS": "BINARY_SET"}

# Exact arithmetic: results are checked against DynamoDB's limits afterwards.
EXACT = decimal.Context(prec=400, Emax=999999, Emin=-999999)


class ValueProblem(Exception):
    """An attribute value DynamoDB refuses; the message is AWS's."""


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


# -- numbers ------------------------------------------------------------------------------
def number_problem(d: Decimal) -> str | None:
    if not d:
        return None
    t = d.normalize(EXACT).as_tuple()
    digits = len(t.digits)
    magnitude = digits + t.exponent - 1      # exponent of the leading digit
    if magnitude > 125:
        return "Number overflow. Attempting to store a number with magnitude larger than supported range"
    if magnitude < -130:
        return "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    if digits > 38:
        return "Attempting to store more than 38 significant digits in a Number"
    return None


def parse_number(text) -> Decimal:
    if not isinstance(text, str) or not text.strip():
        raise ValueProblem("The parameter cannot be converted to a numeric value")
    try:
        d = Decimal(text.strip())
    except decimal.InvalidOperation:
        raise ValueProblem(f"The parameter cannot be converted to a numeric value: {text}") from None
    if not d.is_finite():
        raise ValueProblem(f"The parameter cannot be converted to a numeric value: {text}")
    problem = number_problem(d)
    if problem:
        raise ValueProblem(problem)
    return d


def number_text(d: Decimal) -> str:
    """DynamoDB's canonical text: no exponent, no trailing zeros, "0" for zero."""
    if not d:
        return "0"
    return format(d.normalize(EXACT), "f")


def checked_number(d: Decimal) -> dict:
    problem = number_problem(d)
    if problem:
        raise invalid(problem)
    return {"N": number_text(d)}


# -- validation ---------------------------------------------------------------------------
def _value_str(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_value_str(x) for x in v) + "]"
    if isinstance(v, bytes):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(v)} cap={len(v)}]"
    return str(v)


def canonical(av) -> dict:
    """A validated copy of one attribute value with numbers canonical, or ValueProblem."""
    if not isinstance(av, dict) or not av:
        raise ValueProblem("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
    if len(av) > 1:
        raise ValueProblem("Supplied AttributeValue has more than one datatypes set, must contain "
                           "exactly one of the supported datatypes")
    (t, v), = av.items()
    if t == "S":
        return av
    if t == "N":
        return {"N": number_text(parse_number(v))}
    if t == "B":
        return av
    if t == "BOOL":
        return av
    if t == "NULL":
        if v is not True:
            raise ValueProblem("One or more parameter values were invalid: Null attribute value types "
                               "must have the value of true")
        return av
    if t == "SS":
        if not v:
            raise ValueProblem("One or more parameter values were invalid: An string set  may not be empty")
        if len(set(v)) != len(v):
            raise ValueProblem(f"One or more parameter values were invalid: Input collection {_value_str(v)} "
                               "contains duplicates.")
        return av
    if t == "NS":
        if not v:
            raise ValueProblem("One or more parameter values were invalid: An number set  may not be empty")
        nums = [parse_number(x) for x in v]
        if len(set(nums)) != len(nums):
            raise ValueProblem("Input collection contains duplicates")
        return {"NS": [number_text(x) for x in nums]}
    if t == "BS":
        if not v:
            raise ValueProblem("One or more parameter values were invalid: Binary sets should not be empty")
        if len(set(v)) != len(v):
            raise ValueProblem(f"One or more parameter values were invalid: Input collection {_value_str(v)}"
                               "of type BS contains duplicates.")
        return av
    if t == "M":
        return {"M": {k: canonical(x) for k, x in v.items()}}
    if t == "L":
        return {"L": [canonical(x) for x in v]}
    raise ValueProblem("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")


def canonical_item(item: dict) -> dict:
    """An item's attributes validated (ValidationException with AWS's message)."""
    try:
        return {k: canonical(v) for k, v in item.items()}
    except ValueProblem as e:
        raise invalid(str(e)) from None


def type_of(av: dict) -> str:
    return next(iter(av))


# -- comparison ---------------------------------------------------------------------------
def _set_key(t: str, x):
    return Decimal(x) if t == "NS" else x


def same(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return False
    (ta, va), = a.items()
    (tb, vb), = b.items()
    if ta != tb:
        return False
    if ta == "N":
        return Decimal(va) == Decimal(vb)
    if ta in ("SS", "BS"):
        return len(va) == len(vb) and set(va) == set(vb)
    if ta == "NS":
        return len(va) == len(vb) and {Decimal(x) for x in va} == {Decimal(x) for x in vb}
    if ta == "L":
        return len(va) == len(vb) and all(same(x, y) for x, y in zip(va, vb))
    if ta == "M":
        return va.keys() == vb.keys() and all(same(x, vb[k]) for k, x in va.items())
    return va == vb


def order(a: dict | None, b: dict | None) -> int | None:
    """-1/0/1 for two scalars of one type (S by UTF-8 bytes, N by value, B by bytes)."""
    if a is None or b is None:
        return None
    (ta, va), = a.items()
    (tb, vb), = b.items()
    if ta != tb:
        return None
    if ta == "N":
        x, y = Decimal(va), Decimal(vb)
    elif ta == "S":
        x, y = va.encode(), vb.encode()
    elif ta == "B":
        x, y = va, vb
    else:
        return None
    return -1 if x < y else (1 if x > y else 0)


def set_has(s: dict, element) -> bool:
    (t, v), = s.items()
    if t == "NS":
        d = Decimal(element)
        return any(Decimal(x) == d for x in v)
    return element in v


def size_of(av: dict) -> int | None:
    (t, v), = av.items()
    if t == "S":
        return len(v)
    if t in ("B", "SS", "NS", "BS", "L", "M"):
        return len(v)
    return None


# -- storage size (how AWS counts an item toward 400 KB) ----------------------------------
def number_size(text: str) -> int:
    d = Decimal(text)
    if not d:
        return 1
    digits = len(d.normalize(EXACT).as_tuple().digits)
    return (digits + 1) // 2 + 1 + (1 if d < 0 else 0)


def value_size(av: dict) -> int:
    (t, v), = av.items()
    if t == "S":
        return len(v.encode())
    if t == "N":
        return number_size(v)
    if t == "B":
        return len(v)
    if t in ("BOOL", "NULL"):
        return 1
    if t == "SS":
        return sum(len(x.encode()) for x in v)
    if t == "NS":
        return sum(number_size(x) for x in v)
    if t == "BS":
        return sum(len(x) for x in v)
    if t == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if t == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in v.items())
    return 0


def item_size(item: dict) -> int:
    return sum(len(k.encode()) + value_size(v) for k, v in item.items())


def deep_copy(av: dict) -> dict:
    (t, v), = av.items()
    if t == "M":
        return {"M": {k: deep_copy(x) for k, x in v.items()}}
    if t == "L":
        return {"L": [deep_copy(x) for x in v]}
    if t in ("SS", "NS", "BS"):
        return {t: list(v)}
    return av


def plain(av: dict) -> str:
    """A value as DynamoDB shows it inside messages: {N:5}, {S:abc}."""
    (t, v), = av.items()
    if t == "B":
        return f"{{B:java.nio.HeapByteBuffer[pos=0 lim={len(v)} cap={len(v)}]}}"
    return f"{{{t}:{v}}}"
