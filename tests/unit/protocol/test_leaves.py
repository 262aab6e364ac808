"""haneul.protocol.leaves: JSON and CBOR leaf values; a wrong wire type is a
SerializationException (400), as AWS's JSON front ends answer."""

from __future__ import annotations

import base64
import datetime as dt
import math

import pytest

from haneul.errors import AwsError
from haneul.protocol import leaves

UTC = dt.timezone.utc
WHEN = dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)


def refused(fn, value, path="Thing.Member"):
    with pytest.raises(AwsError) as e:
        fn(value, path)
    assert (e.value.code, e.value.status) == ("SerializationException", 400)
    assert path in e.value.message
    return e.value.message


R = leaves.JSON_READ


@pytest.mark.parametrize("value", [5, 5.5, True, None, [], {}])
def test_string_refuses_non_strings(value):
    refused(R["string"], value)


def test_string_error_names_what_was_found():
    assert refused(R["string"], 5) == "Expected a string for 'Thing.Member' but found a number"
    assert "found a boolean" in refused(R["string"], True)
    assert "found an array" in refused(R["string"], [])
    assert "found an object" in refused(R["string"], {})


@pytest.mark.parametrize("name", ["integer", "long", "short", "byte"])
def test_integers(name):
    assert R[name](42, "p") == 42
    assert R[name](-1, "p") == -1
    assert R[name](3.0, "p") == 3 and isinstance(R[name](3.0, "p"), int)
    for bad in ("42", 4.5, True, False, None, [1]):
        refused(R[name], bad)


def test_big_integer_stays_exact():
    assert R["long"](2 ** 63 - 1, "p") == 2 ** 63 - 1


@pytest.mark.parametrize("name,bits", [("integer", 31), ("long", 63), ("short", 15), ("byte", 7)])
def test_integers_beyond_the_type_range_are_refused(name, bits):
    assert R[name](-(2 ** bits), "p") == -(2 ** bits)
    refused(R[name], 2 ** bits)
    refused(R[name], -(2 ** bits) - 1)
    refused(R[name], float(2 ** 70))


@pytest.mark.parametrize("name", ["float", "double"])
def test_floats(name):
    assert R[name](1, "p") == 1.0 and isinstance(R[name](1, "p"), float)
    assert R[name](2.5, "p") == 2.5
    assert math.isnan(R[name]("NaN", "p"))
    assert R[name]("Infinity", "p") == math.inf
    assert R[name]("-Infinity", "p") == -math.inf
    for bad in ("1.5", "nan", "inf", True, None, {}):
        refused(R[name], bad)


def test_boolean():
    assert R["boolean"](True, "p") is True
    assert R["boolean"](False, "p") is False
    for bad in ("true", 1, 0, None):
        refused(R["boolean"], bad)


def test_timestamp_from_epoch_and_text():
    assert R["timestamp"](1620284889, "p") == WHEN
    assert R["timestamp"](1620284889.5, "p") == WHEN + dt.timedelta(milliseconds=500)
    assert R["timestamp"]("2021-05-06T07:08:09Z", "p") == WHEN
    assert R["timestamp"]("1620284889", "p") == WHEN


@pytest.mark.parametrize("bad", [True, None, [], {}, "someday", 1e300, float("nan")])
def test_timestamp_refuses(bad):
    refused(R["timestamp"], bad)


def test_json_blob_is_base64():
    assert R["blob"](base64.b64encode(b"\x00\xff").decode(), "p") == b"\x00\xff"
    assert R["blob"]("", "p") == b""
    for bad in ("not base64!", "abc", 5, None, [1]):
        refused(R["blob"], bad)


def test_cbor_blob_is_raw_bytes():
    C = leaves.CBOR_READ
    assert C["blob"](b"\x00\xff", "p") == b"\x00\xff"
    assert C["blob"](bytearray(b"ab"), "p") == b"ab"
    refused(C["blob"], 5)
    # other leaves are the JSON ones
    assert C["integer"] is R["integer"]


def test_json_writers():
    W = leaves.JSON_WRITE
    assert W["timestamp"](WHEN) == 1620284889
    assert W["timestamp"](WHEN.replace(microsecond=250000)) == 1620284889.25
    assert W["blob"](b"\x00\xff") == base64.b64encode(b"\x00\xff").decode()
    assert W["blob"]("text") == base64.b64encode(b"text").decode()
    assert W["timestamp_format"]("iso8601")(WHEN) == "2021-05-06T07:08:09Z"
    assert W["timestamp_format"]("rfc822")(WHEN) == "Thu, 06 May 2021 07:08:09 GMT"


def test_cbor_writers():
    import cbor2
    W = leaves.CBOR_WRITE
    tagged = W["timestamp"](WHEN)
    assert isinstance(tagged, cbor2.CBORTag) and tagged.tag == 1 and tagged.value == 1620284889
    assert W["blob"]("text") == b"text"
    assert W["float"](3) == 3.0 and isinstance(W["float"](3), float)
    assert W["rename"] is False
