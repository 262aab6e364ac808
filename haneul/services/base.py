"""Plain helpers every service uses.  No metaclass, no registration magic."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any, Callable, Iterable, Sequence

from haneul.context import RequestContext
from haneul.errors import AwsError


class Service:
    """A service is a class whose methods are named after the operations in snake_case
    (`GetParameter` -> `get_parameter`) and take (ctx, request) -> response dict.

    `SCHEMA` is the list of SQL migration steps for the service's tables (append only).
    The dispatcher runs each synchronous method inside one store transaction and hands
    it the connection as `ctx.db`; `async def` methods (long polls) open their own
    transactions with `ctx.store.transaction()`.
    """

    SCHEMA: list[str] = []
    # Wire code for constraint violations found before dispatch.
    VALIDATION_ERROR = "ValidationException"
    # Enum shapes whose values the service checks itself (it accepts more than the model).
    UNCHECKED_ENUMS: frozenset[str] = frozenset()
    # A service whose validation errors carry more than a message defines
    #   def validation_error(self, problems: list[str], message: str) -> AwsError
    # (problems are the single "Value ... failed to satisfy constraint: ..." lines).

    def __init__(self, app=None):
        self.app = app


def utcnow(ctx: RequestContext | None = None) -> dt.datetime:
    t = ctx.now() if ctx else dt.datetime.now(dt.timezone.utc).timestamp()
    return dt.datetime.fromtimestamp(t, dt.timezone.utc)


def from_epoch(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc)


def arn(ctx: RequestContext, service: str, resource: str, region: str | None = None,
        account: str | None = None) -> str:
    reg = ctx.region if region is None else region
    acct = ctx.account if account is None else account
    return f"arn:aws:{service}:{reg}:{acct}:{resource}"


# -- pagination ---------------------------------------------------------------------------
def encode_token(state: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def decode_token(token: str, error: Callable[[], AwsError]) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except Exception:
        raise error() from None


def paginate(items: Sequence[Any], limit: int, token: str | None, key: Callable[[Any], Any],
             error: Callable[[], AwsError]) -> tuple[list[Any], str | None]:
    """Page through `items` sorted by `key`; the token remembers the last key returned,
    so a page is correct even if items are added or removed between calls."""
    start = 0
    if token:
        last = decode_token(token, error)
        start = next((i for i, it in enumerate(items) if key(it) > last), len(items))
    page = list(items[start:start + limit])
    more = start + limit < len(items)
    return page, (encode_token(key(page[-1])) if more and page else None)


# -- tags ---------------------------------------------------------------------------------
def tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags.items()]


def tag_dict(tags: Iterable[dict[str, str]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {t[key]: t.get(value, "") for t in tags or ()}
