"""IAM pagination: Marker / IsTruncated / MaxItems (default 100, at most 1000).  The
marker remembers the last key returned, so pages stay right while the list changes."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from haneul.services.base import decode_token, encode_token
from haneul.services.iam.errors import validation
from haneul.services.iam.records import entity

DEFAULT_MAX_ITEMS = 100


def _bad_marker():
    return validation("Invalid Marker.")


def page(items: Sequence[Any], request: dict, key: Callable[[Any], Any], member: str) -> dict:
    """{member: page, IsTruncated: bool, Marker?: str} for `items` already sorted by `key`."""
    limit = request.get("MaxItems") or DEFAULT_MAX_ITEMS
    start = 0
    marker = request.get("Marker")
    if marker:
        last = decode_token(marker, _bad_marker)
        if isinstance(last, list):
            last = tuple(last)
        start = next((i for i, it in enumerate(items) if _k(key(it)) > last), len(items))
    chunk = list(items[start:start + limit])
    out = {member: chunk, "IsTruncated": start + limit < len(items)}
    if out["IsTruncated"] and chunk:
        out["Marker"] = encode_token(key(chunk[-1]))
    return out


def _k(value):
    return tuple(value) if isinstance(value, list) else value


def page_entities(rec, kind: str, request: dict, member: str,
                  item: Callable[[tuple], Any] = entity) -> dict:
    """`page` for named entities, done in SQL (key order, LIMIT), so a page of a long
    list reads only that page: ListRoles over 1,000 roles costs one page of rows.
    `item` makes each stored row into the listed item (the entity dict by default)."""
    limit = request.get("MaxItems") or DEFAULT_MAX_ITEMS
    after = decode_token(request["Marker"], _bad_marker) if request.get("Marker") else None
    if after is not None and not isinstance(after, str):
        raise _bad_marker()
    rows = rec.entity_rows(kind, request.get("PathPrefix"), after=after, limit=limit + 1)
    out = {member: [item(r) for r in rows[:limit]], "IsTruncated": len(rows) > limit}
    if out["IsTruncated"]:
        out["Marker"] = encode_token(rows[limit - 1][0].lower())
    return out
