"""Storage of API Gateway's records: one table of JSON documents keyed by kind, parent and
id, in the member names of the model's output shapes (so a record is its Get answer)."""

from __future__ import annotations

import json
import secrets
import string
from typing import Any, Callable

from haneul.errors import AwsError
from haneul.services.base import decode_token, encode_token

SCHEMA = [
    """CREATE TABLE apigw_doc (account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL,
        parent TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, seq INTEGER,
        PRIMARY KEY (account, region, kind, parent, id));
    CREATE TABLE apigw_usage (account TEXT NOT NULL, region TEXT NOT NULL, plan TEXT NOT NULL,
        key_id TEXT NOT NULL, period TEXT NOT NULL, used INTEGER NOT NULL,
        PRIMARY KEY (account, region, plan, key_id, period));
    CREATE INDEX apigw_doc_by_id ON apigw_doc(kind, id)""",
]

_ALNUM = string.ascii_lowercase + string.digits


def new_id(length: int = 10, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def not_found(message: str) -> AwsError:
    return AwsError("NotFoundException", message, 404)


def bad_request(message: str) -> AwsError:
    return AwsError("BadRequestException", message, 400)


def conflict(message: str) -> AwsError:
    return AwsError("ConflictException", message, 409)


class reading:   # noqa: N801 - used as `with reading(store) as db:`, like store.transaction()
    """A read-only look at the store for the data plane's per-request lookups: the store's
    lock without BEGIN/COMMIT.  Every writer holds that lock for its whole transaction, so
    what is read under it is consistent."""

    __slots__ = ("store",)

    def __init__(self, store):
        self.store = store

    def __enter__(self):
        self.store.lock.acquire()
        return self.store.conn

    def __exit__(self, *exc) -> None:
        self.store.lock.release()


def get(db, ctx, kind: str, parent: str, id_: str, table: str = "apigw_doc") -> dict | None:
    row = db.execute(f"SELECT doc FROM {table} WHERE account=? AND region=? AND kind=? AND parent=? AND id=?",
                     (ctx.account, ctx.region, kind, parent, id_)).fetchone()
    return json.loads(row[0]) if row else None


def must(db, ctx, kind: str, parent: str, id_: str, message: str, table: str = "apigw_doc") -> dict:
    doc = get(db, ctx, kind, parent, id_, table)
    if doc is None:
        raise not_found(message)
    return doc


def put(db, ctx, kind: str, parent: str, id_: str, doc: dict, table: str = "apigw_doc") -> dict:
    db.execute(f"INSERT INTO {table}(account, region, kind, parent, id, doc, seq) VALUES(?,?,?,?,?,?,"
               f"(SELECT COALESCE(MAX(seq), 0) + 1 FROM {table} WHERE account=? AND region=? AND kind=?)) "
               "ON CONFLICT(account, region, kind, parent, id) DO UPDATE SET doc=excluded.doc",
               (ctx.account, ctx.region, kind, parent, id_, json.dumps(doc, separators=(",", ":")),
                ctx.account, ctx.region, kind))
    return doc


def delete(db, ctx, kind: str, parent: str, id_: str | None = None, table: str = "apigw_doc") -> int:
    if id_ is None:
        cur = db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND kind=? AND parent=?",
                         (ctx.account, ctx.region, kind, parent))
    else:
        cur = db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND kind=? AND parent=? AND id=?",
                         (ctx.account, ctx.region, kind, parent, id_))
    return cur.rowcount


def delete_under(db, ctx, parent_prefix: str, table: str = "apigw_doc") -> None:
    """Every record whose parent is `parent_prefix` or below it (`api`, `api/...`)."""
    db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND (parent=? OR parent LIKE ?)",
               (ctx.account, ctx.region, parent_prefix, parent_prefix + "/%"))


def items(db, ctx, kind: str, parent: str | None = "", table: str = "apigw_doc") -> list[dict]:
    """Records of a kind in creation order (parent None: every parent)."""
    if parent is None:
        rows = db.execute(f"SELECT doc FROM {table} WHERE account=? AND region=? AND kind=? ORDER BY seq",
                          (ctx.account, ctx.region, kind))
    else:
        rows = db.execute(f"SELECT doc FROM {table} WHERE account=? AND region=? AND kind=? AND parent=? "
                          "ORDER BY seq", (ctx.account, ctx.region, kind, parent))
    return [json.loads(r[0]) for r in rows]


def page(docs: list[dict], request: dict, key: Callable[[dict], Any] | None = None,
         limit_default: int = 25) -> dict:
    """{items, position} for `limit`/`position` requests (position is opaque)."""
    limit = request.get("limit") or limit_default
    if limit > 500:
        limit = 500
    start = 0
    token = request.get("position")
    if token:
        start = decode_token(token, lambda: bad_request("Invalid position parameter"))
        if not isinstance(start, int):
            raise bad_request("Invalid position parameter")
    if key is not None:
        docs = sorted(docs, key=key)
    chunk = docs[start:start + limit]
    out: dict = {"items": chunk}
    if start + limit < len(docs):
        out["position"] = encode_token(start + limit)
    return out


def clean(doc: dict) -> dict:
    """Without None values and internal (underscore) members."""
    return {k: v for k, v in doc.items() if v is not None and not k.startswith("_")}
