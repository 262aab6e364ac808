"""DynamoDB state in the store.

    ddb_table        one row per table: JSON description (`meta`), live item count and size
    ddb_item         (tid, hk, rk) -> item; hk/rk are the encodings of keys.py, so a Query is
                     an index range read and a GetItem a point read
    ddb_index_item   (tid, index, hk, rk, table hk, table rk) for every secondary index entry
    ddb_stream       stream descriptions; ddb_stream_record the change records, in order
    ddb_token        TransactWriteItems client request tokens (10 minutes)
    ddb_backup       on-demand backups (table description); ddb_backup_item their copied items
    ddb_record       exports and imports (JSON descriptions), by kind and ARN
"""

from __future__ import annotations

import json
import pickle
import uuid
from functools import lru_cache

from haneul.errors import AwsError
from haneul.services.dynamodb.expressions import values as V
from haneul.services.dynamodb.keys import KeySchema

SCHEMA = [
    """CREATE TABLE ddb_table (id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL,
        region TEXT NOT NULL, name TEXT NOT NULL, meta TEXT NOT NULL, item_count INTEGER NOT NULL DEFAULT 0,
        size_bytes INTEGER NOT NULL DEFAULT 0, UNIQUE(account, region, name));
    CREATE TABLE ddb_item (tid INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL, item BLOB NOT NULL,
        size INTEGER NOT NULL, expires REAL, PRIMARY KEY (tid, hk, rk)) WITHOUT ROWID;
    CREATE INDEX ddb_item_expires ON ddb_item(tid, expires) WHERE expires IS NOT NULL;
    CREATE TABLE ddb_index_item (tid INTEGER NOT NULL, idx TEXT NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
        thk BLOB NOT NULL, trk BLOB NOT NULL, PRIMARY KEY (tid, idx, hk, rk, thk, trk)) WITHOUT ROWID;
    CREATE TABLE ddb_stream (arn TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
        table_name TEXT NOT NULL, tid INTEGER NOT NULL, label TEXT NOT NULL, view_type TEXT NOT NULL,
        status TEXT NOT NULL, created REAL NOT NULL, key_schema TEXT NOT NULL, shard TEXT NOT NULL);
    CREATE INDEX ddb_stream_table ON ddb_stream(account, region, table_name);
    CREATE TABLE ddb_stream_record (arn TEXT NOT NULL, seq INTEGER NOT NULL, created REAL NOT NULL,
        record BLOB NOT NULL, PRIMARY KEY (arn, seq)) WITHOUT ROWID;
    CREATE TABLE ddb_token (account TEXT NOT NULL, region TEXT NOT NULL, token TEXT NOT NULL,
        digest TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (account, region, token))""",
    """CREATE TABLE ddb_backup (arn TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
        table_name TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, created REAL NOT NULL,
        meta TEXT NOT NULL, size_bytes INTEGER NOT NULL, item_count INTEGER NOT NULL);
    CREATE INDEX ddb_backup_owner ON ddb_backup(account, region, created);
    CREATE TABLE ddb_backup_item (arn TEXT NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL, item BLOB NOT NULL,
        PRIMARY KEY (arn, hk, rk)) WITHOUT ROWID;
    CREATE TABLE ddb_record (account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, arn TEXT NOT NULL,
        created REAL NOT NULL, body TEXT NOT NULL, PRIMARY KEY (account, region, kind, arn))""",
]

TTL_LIMIT = 5 * 365 * 86400     # expiry times more than five years in the past are ignored


def not_found() -> AwsError:
    return AwsError("ResourceNotFoundException", "Requested resource not found")


def dump_item(item: dict) -> bytes:
    return pickle.dumps(item, protocol=5)


def load_item(blob: bytes) -> dict:
    return pickle.loads(blob)


class Index:
    __slots__ = ("name", "kind", "schema", "projection", "desc")

    def __init__(self, kind: str, desc: dict, types: dict):
        self.name = desc["IndexName"]
        self.kind = kind
        self.schema = KeySchema(desc["KeySchema"], types)
        self.projection = desc["Projection"]
        self.desc = desc


class Table:
    """A table's description, parsed once per distinct `meta` text."""

    def __init__(self, tid: int, meta: dict):
        self.id = tid
        self.meta = meta
        self.name = meta["TableName"]
        types = {a["AttributeName"]: a["AttributeType"] for a in meta["AttributeDefinitions"]}
        self.types = types
        self.schema = KeySchema(meta["KeySchema"], types)
        self.indexes: dict[str, Index] = {}
        for d in meta.get("LocalSecondaryIndexes", []):
            self.indexes[d["IndexName"]] = Index("LSI", d, types)
        for d in meta.get("GlobalSecondaryIndexes", []):
            self.indexes[d["IndexName"]] = Index("GSI", d, types)
        stream = meta.get("StreamSpecification") or {}
        self.stream_view = stream.get("StreamViewType") if stream.get("StreamEnabled") else None
        self.stream_arn = meta.get("LatestStreamArn") if self.stream_view else None
        ttl = meta.get("TimeToLive") or {}
        self.ttl_attribute = ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None

    def expires(self, item: dict) -> float | None:
        if self.ttl_attribute is None:
            return None
        v = item.get(self.ttl_attribute)
        if v is None or "N" not in v:
            return None
        try:
            return float(v["N"])
        except ValueError:
            return None


@lru_cache(maxsize=1024)
def _parse(tid: int, meta: str) -> Table:
    return Table(tid, json.loads(meta))


class Tables:
    """Table rows of one account and region."""

    def __init__(self, db, account: str, region: str):
        self.db, self.account, self.region = db, account, region

    def find(self, name: str) -> Table | None:
        if name.startswith("arn:"):
            name = name.rsplit("/", 1)[-1] if ":table/" in name else name
        row = self.db.execute("SELECT id, meta FROM ddb_table WHERE account=? AND region=? AND name=?",
                              (self.account, self.region, name)).fetchone()
        return _parse(row[0], row[1]) if row else None

    def get(self, name: str) -> Table:
        t = self.find(name)
        if t is None:
            raise not_found()
        return t

    def names(self) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT name FROM ddb_table WHERE account=? AND region=? ORDER BY name",
            (self.account, self.region))]

    def create(self, meta: dict) -> Table:
        cur = self.db.execute("INSERT INTO ddb_table(account, region, name, meta) VALUES(?,?,?,?)",
                              (self.account, self.region, meta["TableName"], json.dumps(meta)))
        return Table(cur.lastrowid, meta)

    def save(self, table: Table, meta: dict) -> Table:
        text = json.dumps(meta)
        self.db.execute("UPDATE ddb_table SET meta=? WHERE id=?", (text, table.id))
        return _parse(table.id, text)

    def counts(self, table: Table) -> tuple[int, int]:
        row = self.db.execute("SELECT item_count, size_bytes FROM ddb_table WHERE id=?", (table.id,)).fetchone()
        return (row[0], row[1]) if row else (0, 0)

    def drop(self, table: Table) -> None:
        for sql in ("DELETE FROM ddb_item WHERE tid=?", "DELETE FROM ddb_index_item WHERE tid=?",
                    "DELETE FROM ddb_table WHERE id=?"):
            self.db.execute(sql, (table.id,))


# -- items ---------------------------------------------------------------------------------
def get_item(db, table: Table, key: dict) -> dict | None:
    hk, rk = table.schema.encoded(key)
    row = db.execute("SELECT item FROM ddb_item WHERE tid=? AND hk=? AND rk=?", (table.id, hk, rk)).fetchone()
    return load_item(row[0]) if row else None


def get_item_sized(db, table: Table, key: dict) -> tuple[dict | None, int | None]:
    """The item (None: absent) and its stored size, for a write that replaces it."""
    hk, rk = table.schema.encoded(key)
    row = db.execute("SELECT item, size FROM ddb_item WHERE tid=? AND hk=? AND rk=?",
                     (table.id, hk, rk)).fetchone()
    return (load_item(row[0]), row[1]) if row else (None, 0)


def index_projection(table: Table, index: Index, item: dict) -> dict:
    p = index.projection
    kind = p.get("ProjectionType", "ALL")
    if kind == "ALL":
        return item
    keep = set(table.schema.names) | set(index.schema.names)
    if kind == "INCLUDE":
        keep |= set(p.get("NonKeyAttributes", []))
    return {k: v for k, v in item.items() if k in keep}


def write_item(db, ctx, table: Table, key: dict, old: dict | None, new: dict | None,
               service_identity: bool = False, new_size: int | None = None,
               old_size: int | None = None) -> None:
    """Store `new` (None: delete) in place of `old`, keeping indexes, counters, TTL and the
    table's stream in step.  The caller has validated everything (and may pass the sizes it
    knows: `new`'s, measured then, and `old`'s, as stored)."""
    if old is None and new is None:
        return
    hk, rk = table.schema.encoded(key)
    tid = table.id
    if old is None:
        old_size = 0
    elif old_size is None:
        old_size = V.item_size(old)
    if new is None:
        db.execute("DELETE FROM ddb_item WHERE tid=? AND hk=? AND rk=?", (tid, hk, rk))
        new_size = 0
    else:
        if new_size is None:
            new_size = V.item_size(new)
        db.execute("INSERT OR REPLACE INTO ddb_item(tid, hk, rk, item, size, expires) VALUES(?,?,?,?,?,?)",
                   (tid, hk, rk, dump_item(new), new_size, table.expires(new)))
    for index in table.indexes.values():
        before = index.schema.index_entry(old) if old is not None else None
        after = index.schema.index_entry(new) if new is not None else None
        if before == after:
            continue
        if before is not None:
            db.execute("DELETE FROM ddb_index_item WHERE tid=? AND idx=? AND hk=? AND rk=? AND thk=? AND trk=?",
                       (tid, index.name, before[0], before[1], hk, rk))
        if after is not None:
            db.execute("INSERT OR REPLACE INTO ddb_index_item(tid, idx, hk, rk, thk, trk) VALUES(?,?,?,?,?,?)",
                       (tid, index.name, after[0], after[1], hk, rk))
    delta = (0 if old is None else -1) + (0 if new is None else 1)
    db.execute("UPDATE ddb_table SET item_count=item_count+?, size_bytes=size_bytes+? WHERE id=?",
               (delta, new_size - old_size, tid))
    if table.stream_arn is not None and old != new:
        from haneul.services.dynamodb.streams import append_record
        append_record(db, ctx, table, key, old, new, service_identity)


def sweep_expired(db, ctx, table: Table, limit: int = 100) -> int:
    """Delete items whose TTL has passed (as DynamoDB's background process does), each with
    a REMOVE stream record from the service principal."""
    if table.ttl_attribute is None:
        return 0
    now = ctx.now()
    rows = db.execute("SELECT item FROM ddb_item WHERE tid=? AND expires IS NOT NULL AND expires <= ? "
                      "AND expires >= ? LIMIT ?", (table.id, now, now - TTL_LIMIT, limit)).fetchall()
    for (blob,) in rows:
        item = load_item(blob)
        write_item(db, ctx, table, table.schema.key_of(item), item, None, service_identity=True)
    return len(rows)


def backfill_expiry(db, table: Table) -> None:
    """TTL turned on or off: recompute every item's expiry time."""
    rows = db.execute("SELECT hk, rk, item FROM ddb_item WHERE tid=?", (table.id,)).fetchall()
    for hk, rk, blob in rows:
        db.execute("UPDATE ddb_item SET expires=? WHERE tid=? AND hk=? AND rk=?",
                   (table.expires(load_item(blob)), table.id, hk, rk))


def backfill_index(db, table: Table, index: Index) -> None:
    db.execute("DELETE FROM ddb_index_item WHERE tid=? AND idx=?", (table.id, index.name))
    for hk, rk, blob in db.execute("SELECT hk, rk, item FROM ddb_item WHERE tid=?", (table.id,)).fetchall():
        entry = index.schema.index_entry(load_item(blob))
        if entry is not None:
            db.execute("INSERT OR REPLACE INTO ddb_index_item(tid, idx, hk, rk, thk, trk) VALUES(?,?,?,?,?,?)",
                       (table.id, index.name, entry[0], entry[1], hk, rk))


def new_table_id() -> str:
    return str(uuid.uuid4())
