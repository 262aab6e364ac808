"""Leaf conversions per shape type for the document protocols (JSON and CBOR)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math

from haneul.protocol import timestamps
from haneul.protocol.tree import WireTypeError, _expect, in_range

_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _string(v, p):
    if not isinstance(v, str):
        _expect(str, v, p, "a string")
    return v


def _integer(type_name):
    def read(v, p):
        if not isinstance(v, int) or isinstance(v, bool):
            if isinstance(v, float) and v.is_integer():
                return in_range(type_name, int(v), p)
            _expect(int, v, p, "an integer")
        return in_range(type_name, v, p)
    return read


def _float(v, p):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if isinstance(v, str) and v in _SPECIAL:
            return _SPECIAL[v]
        _expect(float, v, p, "a number")
    return float(v)


def _boolean(v, p):
    if not isinstance(v, bool):
        _expect(bool, v, p, "a boolean")
    return v


def _timestamp(v, p):
    if isinstance(v, dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        _expect(float, v, p, "a timestamp")
    try:
        return timestamps.to_datetime(v) if not isinstance(v, str) else timestamps.parse(v)
    except (ValueError, OverflowError):
        raise WireTypeError(f"Invalid timestamp for '{p}'") from None


def _blob_b64(v, p):
    if not isinstance(v, str):
        _expect(str, v, p, "a base64 string")
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise WireTypeError(f"Invalid base64 value for '{p}'") from None


def _blob_raw(v, p):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, str):
        return v.encode()
    _expect(bytes, v, p, "a byte string")


JSON_READ = {"string": _string, "character": _string, "integer": _integer("integer"),
             "long": _integer("long"), "byte": _integer("byte"), "short": _integer("short"), "float": _float, "double": _float,
             "boolean": _boolean, "timestamp": _timestamp, "blob": _blob_b64,
             "bigdecimal": _float, "biginteger": _integer("biginteger")}

CBOR_READ = {**JSON_READ, "blob": _blob_raw}


def _b64(v) -> str:
    if isinstance(v, str):
        v = v.encode()
    return base64.b64encode(v).decode()


def _epoch(v):
    return timestamps.epoch(v)


def _float_out(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def timestamp_writer(fmt: str):
    return lambda v: timestamps.format(v, fmt)


JSON_WRITE = {"timestamp": _epoch, "blob": _b64, "timestamp_format": timestamp_writer}


def _cbor_timestamp(v):
    import cbor2
    return cbor2.CBORTag(1, timestamps.epoch(v))


def _cbor_blob(v):
    return v.encode() if isinstance(v, str) else bytes(v)


def _cbor_float(v):
    return float(v)


# botocore's rpcv2 parser reads response members by member name, never by locationName.
CBOR_WRITE = {"timestamp": _cbor_timestamp, "blob": _cbor_blob, "float": _cbor_float,
              "double": _cbor_float, "rename": False}


# Documents that name every member by its model name, wherever the wire would put it
# (Step Functions' aws-sdk tasks, API Gateway's AWS integrations): Dispatcher.call.
DOCUMENT_READ = {**JSON_READ, "all_members": True}
DOCUMENT_WRITE = {**JSON_WRITE, "all_members": True, "rename": False}
