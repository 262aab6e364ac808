"""Parameter data types: the value checks PutParameter runs for each DataType.

AWS checks aws:ec2:image asynchronously (the call succeeds, the version is
silently dropped if the AMI is bad).  Haneul has no EC2 images to look up, so it
checks the AMI ID format synchronously and answers ValidationException, which
tells the caller at once what AWS would only tell through an event.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
from typing import Callable
from urllib.parse import urlparse

from haneul.errors import AwsError

_AMI = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _float(v: str) -> bool:
    try:
        return math.isfinite(float(v))
    except ValueError:
        return False


def _binary(v: str) -> bool:
    try:
        base64.b64decode(v, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _hostname(v: str) -> bool:
    v = v[:-1] if v.endswith(".") else v
    return 0 < len(v) <= 253 and all(_HOST_LABEL.match(part) for part in v.split("."))


def _ip(version: int) -> Callable[[str], bool]:
    def check(v: str) -> bool:
        try:
            return ipaddress.ip_address(v).version == version
        except ValueError:
            return False
    return check


def _url(v: str) -> bool:
    parsed = urlparse(v)
    return bool(parsed.scheme and parsed.netloc)


def _json(v: str) -> bool:
    try:
        json.loads(v)
        return True
    except (ValueError, RecursionError):
        return False


def _strip_json_comments(text: str) -> str:
    """JSON with // and /* */ comments -> JSON, leaving string contents alone."""
    out, i, in_string = [], 0, False
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


# data type -> (value check, whether StringList items may use it)
CHECKS: dict[str, tuple[Callable[[str], bool], bool]] = {
    "text": (lambda v: True, True),
    "aws:ec2:image": (lambda v: bool(_AMI.match(v)), False),
    "aws:ssm:integration": (lambda v: True, False),
    "aws:region": (lambda v: bool(_REGION.match(v)), True),
    "aws:account:id": (lambda v: bool(_ACCOUNT.match(v)), True),
    "boolean": (lambda v: v.lower() in ("true", "false"), True),
    "integer": (lambda v: bool(_INTEGER.match(v)), True),
    "float": (_float, True),
    "binary": (_binary, False),
    "hostname": (_hostname, True),
    "email": (lambda v: bool(_EMAIL.match(v)), True),
    "ipv4-address": (_ip(4), True),
    "ipv6-address": (_ip(6), True),
    "url": (_url, True),
    "json": (_json, False),
    "jsonc": (lambda v: _json(_strip_json_comments(v)), False),
}

# AWS refuses to move a parameter to or from these two data types.
FIXED = ("aws:ec2:image", "aws:ssm:integration")


def check(data_type: str, parameter_type: str, value: str) -> None:
    if data_type not in CHECKS:
        raise AwsError("ValidationException",
                       f"The following data type is not supported: {data_type} "
                       "(Data type names are all lowercase.)")
    valid, list_ok = CHECKS[data_type]
    if data_type == "aws:ssm:integration" and parameter_type != "SecureString":
        raise AwsError("ValidationException",
                       "The aws:ssm:integration data type is supported only for SecureString parameters.")
    if parameter_type == "StringList" and not list_ok:
        raise AwsError("ValidationException",
                       f"The {data_type} data type is not supported for the following input type: "
                       "StringList")
    items = value.split(",") if parameter_type == "StringList" else [value]
    for item in items:
        if not valid(item):
            if data_type == "aws:ec2:image":
                raise AwsError("ValidationException",
                               f"Parameter value, {item}, is not a valid image ID for data type "
                               "aws:ec2:image. An AMI ID looks like ami-12345678 or ami-0123456789abcdef0.")
            raise AwsError("ValidationException",
                           f"Parameter value, {item}, is not valid for data type {data_type}.")


def check_change(old: str, new: str) -> None:
    if old != new and (old in FIXED or new in FIXED):
        raise AwsError("ValidationException",
                       f"You can't change the data type of a parameter from {old} to {new}. "
                       f"Parameters can't be changed to or from {FIXED[0]} or {FIXED[1]}.")
