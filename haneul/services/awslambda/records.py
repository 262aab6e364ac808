"""Lambda's tables and the reads and writes every operation shares.

A function's configuration is kept per version (`$LATEST` and each published number) as
the JSON of its FunctionConfiguration, so publishing a version is copying a row and an
answer is that document plus the few computed members (State, LastUpdateStatus).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import functools
import json
import random
import sqlite3
import uuid
import weakref

from haneul.errors import AwsError
from haneul.services.awslambda import names

SCHEMA = [
    """CREATE TABLE lambda_function (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        created REAL NOT NULL, tags TEXT NOT NULL DEFAULT '{}',
        reserved INTEGER, next_version INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (account, region, name));
    CREATE TABLE lambda_version (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
        config TEXT NOT NULL, code TEXT NOT NULL,
        PRIMARY KEY (account, region, name, version));
    CREATE TABLE lambda_alias (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, alias TEXT NOT NULL,
        version TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', routing TEXT,
        revision_id TEXT NOT NULL,
        PRIMARY KEY (account, region, name, alias));
    CREATE TABLE lambda_policy (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, qualifier TEXT NOT NULL,
        statements TEXT NOT NULL, revision_id TEXT NOT NULL,
        PRIMARY KEY (account, region, name, qualifier));
    CREATE TABLE lambda_layer (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        next_version INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (account, region, name));
    CREATE TABLE lambda_layer_version (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
        doc TEXT NOT NULL, blob TEXT NOT NULL, policy TEXT NOT NULL DEFAULT '[]',
        revision_id TEXT NOT NULL,
        PRIMARY KEY (account, region, name, version));
    CREATE TABLE lambda_event_invoke_config (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, qualifier TEXT NOT NULL,
        doc TEXT NOT NULL, modified REAL NOT NULL,
        PRIMARY KEY (account, region, name, qualifier));
    CREATE TABLE lambda_provisioned (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, qualifier TEXT NOT NULL,
        requested INTEGER NOT NULL, modified REAL NOT NULL,
        PRIMARY KEY (account, region, name, qualifier));
    CREATE TABLE lambda_url (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, qualifier TEXT NOT NULL,
        url_id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL, created REAL NOT NULL, modified REAL NOT NULL,
        PRIMARY KEY (account, region, name, qualifier));
    CREATE TABLE lambda_esm (
        uuid TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
        name TEXT NOT NULL, doc TEXT NOT NULL, modified REAL NOT NULL);
    CREATE TABLE lambda_event_queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, region TEXT NOT NULL,
        name TEXT NOT NULL, qualifier TEXT NOT NULL, request_id TEXT NOT NULL,
        payload BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, not_before REAL NOT NULL,
        created REAL NOT NULL, endpoint TEXT NOT NULL, claimed INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE lambda_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, region TEXT NOT NULL,
        name TEXT NOT NULL, request_id TEXT NOT NULL, created REAL NOT NULL, log TEXT NOT NULL);
    CREATE INDEX lambda_log_function ON lambda_log(account, region, name, id)""",
    # provisioned concurrency is started again after a restart, with the endpoint its
    # environments call back; code signing configs; per-function recursion and runtime updates
    """ALTER TABLE lambda_provisioned ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';
    ALTER TABLE lambda_function ADD COLUMN code_signing TEXT;
    ALTER TABLE lambda_function ADD COLUMN recursion TEXT NOT NULL DEFAULT 'Terminate';
    CREATE TABLE lambda_code_signing (
        account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
        modified REAL NOT NULL, tags TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (account, region, id));
    CREATE TABLE lambda_runtime_management (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, qualifier TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (account, region, name, qualifier))""",
]

LATEST = "$LATEST"
LOGS_KEPT_PER_FUNCTION = 200
LOG_FLUSH_SECONDS = 0.1          # invocation logs are written in batches at most this late
LOG_FLUSH_ROWS = 500
_pending_logs: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()     # store -> [row]
_since_trim: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()       # store -> Counter


def revision() -> str:
    return str(uuid.uuid4())


def timestamp(t: float) -> str:
    """Lambda's LastModified format: 2024-05-01T12:00:00.000+0000."""
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}+0000"


# -- functions ----------------------------------------------------------------------------
def function_row(db, ctx, name: str):
    row = db.execute("SELECT * FROM lambda_function WHERE account=? AND region=? AND name=?",
                     (ctx.account, ctx.region, name)).fetchone()
    if row is None:
        raise names.not_found(ctx.account, ctx.region, name)
    return row


def load_version(db, account: str, region: str, name: str, version: str) -> tuple[dict, dict] | None:
    row = db.execute("SELECT config, code FROM lambda_version WHERE account=? AND region=? AND name=? "
                     "AND version=?", (account, region, name, version)).fetchone()
    if row is None:
        return None
    return json.loads(row["config"]), json.loads(row["code"])


def save_version(db, account: str, region: str, name: str, version: str, config: dict, code: dict) -> None:
    db.execute("INSERT INTO lambda_version(account, region, name, version, config, code) VALUES(?,?,?,?,?,?) "
               "ON CONFLICT(account, region, name, version) DO UPDATE SET config=excluded.config, "
               "code=excluded.code", (account, region, name, version, json.dumps(config), json.dumps(code)))


def alias_row(db, ctx, name: str, alias: str):
    return db.execute("SELECT * FROM lambda_alias WHERE account=? AND region=? AND name=? AND alias=?",
                      (ctx.account, ctx.region, name, alias)).fetchone()


def resolve(db, ctx, name: str, qualifier: str | None, pick: bool = False
            ) -> tuple[dict, dict, str | None]:
    """(config, code, alias) of the version a qualifier names.  With `pick`, an alias with
    weighted routing chooses one of its two versions at random, as Invoke does."""
    function_row(db, ctx, name)
    alias = None
    version = qualifier or LATEST
    if qualifier and names.check_qualifier(qualifier) == "alias":
        row = alias_row(db, ctx, name, qualifier)
        if row is None:
            raise names.not_found(ctx.account, ctx.region, name, qualifier)
        alias, version = qualifier, row["version"]
        if pick and row["routing"]:
            weights = json.loads(row["routing"]).get("AdditionalVersionWeights") or {}
            draw = random.random()
            for extra, weight in weights.items():
                if draw < weight:
                    version = extra
                    break
                draw -= weight
    found = load_version(db, ctx.account, ctx.region, name, version)
    if found is None:
        raise names.not_found(ctx.account, ctx.region, name, qualifier)
    return found[0], found[1], alias


@functools.lru_cache(maxsize=512)
def _parsed(text: str):
    return json.loads(text)


def resolve_for_invoke(db, ctx, name: str, qualifier: str | None) -> tuple[dict, dict, int | None]:
    """(config, code, reserved concurrency) of the version an invocation runs, as
    `resolve(pick=True)` finds it, in one query when no alias is named.  The documents
    are parsed once per text and shared: callers must not change them."""
    if qualifier and names.check_qualifier(qualifier) == "alias":
        config, code, _ = resolve(db, ctx, name, qualifier, pick=True)
        return config, code, reserved_of(db, ctx.account, ctx.region, name)
    row = db.execute("SELECT f.reserved, v.config, v.code FROM lambda_function f LEFT JOIN lambda_version v "
                     "ON v.account=f.account AND v.region=f.region AND v.name=f.name AND v.version=? "
                     "WHERE f.account=? AND f.region=? AND f.name=?",
                     (qualifier or LATEST, ctx.account, ctx.region, name)).fetchone()
    if row is None:
        raise names.not_found(ctx.account, ctx.region, name)
    if row["config"] is None:
        raise names.not_found(ctx.account, ctx.region, name, qualifier)
    return _parsed(row["config"]), _parsed(row["code"]), row["reserved"]


def rendered(config: dict) -> dict:
    """The FunctionConfiguration answer: the stored document without private members."""
    return {k: v for k, v in config.items() if not k.startswith("_")}


def tags_of(db, ctx, name: str) -> dict:
    return json.loads(function_row(db, ctx, name)["tags"])


def reserved_of(db, account: str, region: str, name: str) -> int | None:
    row = db.execute("SELECT reserved FROM lambda_function WHERE account=? AND region=? AND name=?",
                     (account, region, name)).fetchone()
    return None if row is None else row["reserved"]


def store_log(db, account: str, region: str, name: str, request_id: str, created: float, log: str) -> None:
    cur = db.execute("INSERT INTO lambda_log(account, region, name, request_id, created, log) "
                     "VALUES(?,?,?,?,?,?)", (account, region, name, request_id, created, log))
    if cur.lastrowid % 50 == 0:       # trim now and then, not on every invocation
        _trim_logs(db, account, region, name)


def _trim_logs(db, account: str, region: str, name: str) -> None:
    db.execute("DELETE FROM lambda_log WHERE account=? AND region=? AND name=? AND id < ("
               "SELECT id FROM lambda_log WHERE account=? AND region=? AND name=? "
               "ORDER BY id DESC LIMIT 1 OFFSET ?)",
               (account, region, name, account, region, name, LOGS_KEPT_PER_FUNCTION - 1))


def queue_log(store, account: str, region: str, name: str, request_id: str, created: float, log: str) -> None:
    """Keep an invocation's log, written with the others of the next LOG_FLUSH_SECONDS in
    one transaction (a commit per warm invocation cost more than the invocation).  Readers
    call flush_logs first, so nothing is ever missing from what they see."""
    rows = _pending_logs.get(store)
    if rows is None:
        rows = _pending_logs[store] = []
    rows.append((account, region, name, request_id, created, log))
    if len(rows) >= LOG_FLUSH_ROWS:
        flush_logs(store)
    elif len(rows) == 1:
        try:
            asyncio.get_running_loop().call_later(LOG_FLUSH_SECONDS, flush_logs, store)
        except RuntimeError:            # no event loop (a thread, a test): write now
            flush_logs(store)


def flush_logs(store) -> None:
    rows = _pending_logs.pop(store, None)
    if not rows:
        return
    counts = _since_trim.get(store)
    if counts is None:
        counts = _since_trim[store] = collections.Counter()
    try:
        with store.transaction() as db:
            db.executemany("INSERT INTO lambda_log(account, region, name, request_id, created, log) "
                           "VALUES(?,?,?,?,?,?)", rows)
            for row in rows:
                counts[row[:3]] += 1
            for fn, n in list(counts.items()):
                if n >= 50:           # trim now and then, not on every invocation
                    _trim_logs(db, *fn)
                    del counts[fn]
    except sqlite3.ProgrammingError:      # the store was closed (server stopping)
        pass


def invocation_logs(store, account: str, region: str, name: str, limit: int = 50) -> list[dict]:
    """The latest invocation logs of a function, newest first (until CloudWatch Logs exists)."""
    flush_logs(store)
    with store.transaction() as db:
        rows = db.execute("SELECT request_id, created, log FROM lambda_log WHERE account=? AND region=? "
                          "AND name=? ORDER BY id DESC LIMIT ?", (account, region, name, limit)).fetchall()
    return [dict(r) for r in rows]


def check_revision(given: str | None, current: str) -> None:
    if given and given != current:
        raise AwsError("PreconditionFailedException",
                       "The Revision Id provided does not match the latest Revision Id. Call the "
                       "GetFunction/GetAlias API to retrieve the latest Revision Id", Type="User")
