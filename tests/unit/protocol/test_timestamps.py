"""haneul.protocol.timestamps: iso8601, rfc822 and unixTimestamp, both ways."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.utils import parse_timestamp

from haneul.protocol import timestamps

UTC = dt.timezone.utc
WHEN = dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)          # epoch 1620284889, a Thursday
EPOCH = 1620284889


def test_reference_epoch_is_right():
    assert WHEN.timestamp() == EPOCH


# -- parsing -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("2021-05-06T07:08:09Z", WHEN),
    ("2021-05-06T07:08:09z", WHEN),
    ("2021-05-06T07:08:09+00:00", WHEN),
    ("2021-05-06T16:08:09+09:00", WHEN),
    ("2021-05-06T02:08:09-05:00", WHEN),
    ("2021-05-06T07:08:09", WHEN),                          # no zone: UTC
    ("2021-05-06T07:08:09.5Z", WHEN + dt.timedelta(milliseconds=500)),
    ("2021-05-06T07:08:09.123Z", WHEN + dt.timedelta(milliseconds=123)),
    ("2021-05-06T07:08:09.123456Z", WHEN + dt.timedelta(microseconds=123456)),
    ("2021-05-06T07:08:09.123456789Z", WHEN + dt.timedelta(microseconds=123456)),   # Go's RFC3339Nano
    ("Thu, 06 May 2021 07:08:09 GMT", WHEN),
    ("Thu, 06 May 2021 16:08:09 +0900", WHEN),
    ("1620284889", WHEN),
    ("1620284889.25", WHEN + dt.timedelta(milliseconds=250)),
    ("  1620284889  ", WHEN),
    ("0", dt.datetime(1970, 1, 1, tzinfo=UTC)),
])
def test_parse(text, expected):
    got = timestamps.parse(text)
    assert got == expected
    assert got.tzinfo is not None


@pytest.mark.parametrize("text", ["", "yesterday", "2021-13-45T00:00:00Z", "Thu, 32 Foo 2021", "nan",
                                  "2021-05-06T07:08:09Zjunk"])
def test_unparsable_text_raises_value_error(text):
    with pytest.raises(ValueError):
        timestamps.parse(text)


@pytest.mark.parametrize("text", ["inf", "-inf", "1e20"])
def test_out_of_range_epoch_raises_value_error(text):
    with pytest.raises(ValueError):
        timestamps.parse(text)


# -- formatting --------------------------------------------------------------------------------------
def test_iso8601_whole_seconds_have_no_fraction():
    assert timestamps.iso8601(WHEN) == "2021-05-06T07:08:09Z"


@pytest.mark.parametrize("micro,text", [(500000, ".500Z"), (123000, ".123Z"), (1000, ".001Z"),
                                        (123456, ".123Z")])
def test_iso8601_fractions_are_milliseconds(micro, text):
    assert timestamps.iso8601(WHEN.replace(microsecond=micro)) == "2021-05-06T07:08:09" + text


@pytest.mark.parametrize("seconds,text", [
    (EPOCH, "2021-05-06T07:08:09Z"), (EPOCH + 0.5, "2021-05-06T07:08:09.500Z"),
    (EPOCH + 0.0004, "2021-05-06T07:08:09.000Z"), (EPOCH + 0.9996, "2021-05-06T07:08:09.999Z"),
    (-1.5, "1969-12-31T23:59:58.500Z"), (float(EPOCH), "2021-05-06T07:08:09Z")])
def test_iso8601_of_epoch_seconds(seconds, text):
    assert timestamps.iso8601(seconds) == text


def test_iso8601_pads_early_years():
    assert timestamps.iso8601(dt.datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0005-01-02T03:04:05Z"


def test_iso8601_converts_other_zones_to_utc():
    tokyo = dt.datetime(2021, 5, 6, 16, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert timestamps.iso8601(tokyo) == "2021-05-06T07:08:09Z"


def test_rfc822_is_imf_fixdate_in_gmt():
    assert timestamps.rfc822(WHEN) == "Thu, 06 May 2021 07:08:09 GMT"
    tokyo = dt.datetime(2021, 5, 6, 16, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert timestamps.rfc822(tokyo) == "Thu, 06 May 2021 07:08:09 GMT"
    assert timestamps.rfc822(dt.datetime(2024, 2, 29, tzinfo=UTC)) == "Thu, 29 Feb 2024 00:00:00 GMT"


def test_epoch_is_an_integer_for_whole_seconds():
    value = timestamps.epoch(WHEN)
    assert value == EPOCH and isinstance(value, int)


def test_epoch_keeps_milliseconds():
    assert timestamps.epoch(WHEN.replace(microsecond=250000)) == EPOCH + 0.25
    assert timestamps.epoch(WHEN.replace(microsecond=123456)) == pytest.approx(EPOCH + 0.123, abs=1e-6)


def test_epoch_passes_numbers_through():
    assert timestamps.epoch(12.5) == 12.5
    assert timestamps.epoch(7) == 7


@pytest.mark.parametrize("value", [WHEN, EPOCH, float(EPOCH), "2021-05-06T07:08:09Z",
                                   dt.datetime(2021, 5, 6, 7, 8, 9)])
def test_every_service_value_form_is_accepted(value):
    assert timestamps.iso8601(value) == "2021-05-06T07:08:09Z"
    assert timestamps.rfc822(value) == "Thu, 06 May 2021 07:08:09 GMT"
    assert timestamps.epoch(value) == EPOCH


@pytest.mark.parametrize("fmt,expected", [("iso8601", "2021-05-06T07:08:09Z"),
                                          ("rfc822", "Thu, 06 May 2021 07:08:09 GMT"),
                                          ("unixTimestamp", EPOCH), ("UNIXTIMESTAMP", EPOCH)])
def test_format_by_model_name(fmt, expected):
    assert timestamps.format(WHEN, fmt) == expected


# -- both ways, and botocore agrees -------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["iso8601", "rfc822", "unixTimestamp"])
@pytest.mark.parametrize("when", [WHEN, WHEN.replace(microsecond=250000), dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
                                  dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC)])
def test_round_trip_and_botocore_reads_the_same_instant(fmt, when):
    text = str(timestamps.format(when, fmt))
    expected = when.replace(microsecond=0) if fmt == "rfc822" else when     # HTTP dates have no fraction
    assert timestamps.parse(text) == expected
    assert parse_timestamp(text) == expected
