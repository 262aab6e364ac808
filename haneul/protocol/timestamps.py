"""Timestamps in the three wire formats: iso8601, rfc822 (HTTP date) and unixTimestamp."""

from __future__ import annotations

import datetime as dt
import email.utils

UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)


def to_datetime(value) -> dt.datetime:
    """A service's value (aware/naive datetime, epoch seconds, or ISO string) as aware UTC."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return _EPOCH + dt.timedelta(seconds=value)
    return parse(str(value))


def parse(text: str) -> dt.datetime:
    """Any format a client may send: epoch seconds, ISO 8601 or an HTTP date."""
    text = text.strip()
    try:
        return _EPOCH + dt.timedelta(seconds=float(text))
    except OverflowError:
        raise ValueError(f"timestamp out of range: {text!r}") from None
    except ValueError:
        pass
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        value = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"unparsable timestamp: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def epoch(value) -> float | int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    seconds = (to_datetime(value) - _EPOCH).total_seconds()
    return int(seconds) if seconds == int(seconds) else round(seconds, 3)


def iso8601(value) -> str:
    if value.__class__ is float or value.__class__ is int:     # epoch seconds, as services store them
        d = _NAIVE_EPOCH + dt.timedelta(seconds=value)
    else:
        d = to_datetime(value)
        if d.tzinfo is not UTC:
            d = d.astimezone(UTC)
        d = d.replace(tzinfo=None)
    # a naive datetime's isoformat (C) is the cheapest formatter: an aware one's costs
    # half again, a hand-written f-string twice, strftime more than the rest of an entry
    return d.isoformat(timespec="milliseconds" if d.microsecond else "seconds") + "Z"


def rfc822(value) -> str:
    return email.utils.format_datetime(to_datetime(value).astimezone(UTC), usegmt=True)


def format(value, fmt: str):
    fmt = fmt.lower()
    if fmt == "unixtimestamp":
        return epoch(value)
    if fmt == "rfc822":
        return rfc822(value)
    return iso8601(value)
