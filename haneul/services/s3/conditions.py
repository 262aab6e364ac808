"""Conditional requests (RFC 7232 as S3 applies them) and byte ranges."""

from __future__ import annotations

import datetime as dt
import re

from haneul.errors import AwsError

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def _ts(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value)


def _etags(header: str) -> list[str]:
    return [e.strip().strip('"') for e in header.split(",")]


def etag_matches(header: str, etag: str) -> bool:
    values = _etags(header)
    return "*" in values or etag.strip('"') in values


def precondition_failed(condition: str) -> AwsError:
    return AwsError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                    status=412, Condition=condition)


def not_modified(row) -> AwsError:
    from haneul.services.s3.objects import http_date
    return AwsError("NotModified", "Not Modified", status=304,
                    headers={"ETag": row["etag"], "Last-Modified": http_date(row["modified"])})


def check_read(request: dict, row, prefix: str = "") -> None:
    """If-Match / If-Unmodified-Since -> 412, If-None-Match / If-Modified-Since -> 304 (412 for
    copy sources, prefix "CopySource")."""
    modified = int(row["modified"])
    if_match = request.get(prefix + "IfMatch")
    if_unmodified = _ts(request.get(prefix + "IfUnmodifiedSince"))
    if_none = request.get(prefix + "IfNoneMatch")
    if_modified = _ts(request.get(prefix + "IfModifiedSince"))
    name = "x-amz-copy-source-" if prefix else ""
    if if_match is not None:
        if not etag_matches(if_match, row["etag"]):
            raise precondition_failed(f"{name}If-Match" if prefix else "If-Match")
    elif if_unmodified is not None and modified > if_unmodified:
        raise precondition_failed(f"{name}If-Unmodified-Since" if prefix else "If-Unmodified-Since")
    if if_none is not None:
        if etag_matches(if_none, row["etag"]):
            if prefix:
                raise precondition_failed(f"{name}If-None-Match")
            raise not_modified(row)
    elif if_modified is not None and modified <= if_modified:
        if prefix:
            raise precondition_failed(f"{name}If-Modified-Since")
        raise not_modified(row)


def check_write(request: dict, current) -> None:
    """Conditional writes: If-None-Match: * (create only) and If-Match: <etag>."""
    if_none = request.get("IfNoneMatch")
    if if_none is not None:
        if if_none.strip() != "*":
            raise AwsError("NotImplemented", "A header you provided implies functionality that is not "
                           "implemented", status=501, Header="If-None-Match")
        if current is not None and not current["delete_marker"]:
            raise precondition_failed("If-None-Match")
    if_match = request.get("IfMatch")
    if if_match is not None:
        if current is None or current["delete_marker"]:
            raise AwsError("NoSuchKey", "The specified key does not exist.", Key=request.get("Key"))
        if not etag_matches(if_match, current["etag"]):
            raise precondition_failed("If-Match")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end) for a satisfiable single range, None to send the whole object;
    InvalidRange (416) when it cannot be satisfied."""
    if not header:
        return None
    m = _RANGE.match(header)
    if m is None:
        return None                    # malformed or several ranges: S3 sends it all
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        n = int(last)
        if n == 0:
            raise invalid_range(header, size)
        return max(0, size - n), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise invalid_range(header, size)
    return start, end


def invalid_range(header: str, size: int) -> AwsError:
    return AwsError("InvalidRange", "The requested range is not satisfiable", status=416,
                    RangeRequested=header, ActualObjectSize=str(size))
