"""The TTL sweeper: a background task that deletes expired items of TTL-enabled tables, as
DynamoDB's own background process does, each deletion with its service-principal REMOVE
stream record.  It works in small batches, one short transaction each, and yields to the
event loop between them, so requests never wait long behind it."""

from __future__ import annotations

import asyncio
import logging
import os

from haneul.context import RequestContext
from haneul.services.dynamodb import storage

log = logging.getLogger(__name__)

INTERVAL = float(os.environ.get("HANEUL_DYNAMODB_TTL_INTERVAL", "1.0"))   # seconds between sweeps
BATCH = 25                   # items deleted per transaction
PER_TABLE = 1000             # items deleted per table per sweep (the rest wait for the next)


def ttl_tables(db) -> list[tuple[str, str, storage.Table]]:
    rows = db.execute("SELECT id, account, region, meta FROM ddb_table "
                      "WHERE meta LIKE '%\"TimeToLiveStatus\": \"ENABLED\"%'").fetchall()
    return [(r[1], r[2], storage._parse(r[0], r[3])) for r in rows]


async def sweep_once(store, clock=None) -> int:
    """One pass over every TTL-enabled table; returns how many items were deleted."""
    with store.transaction() as db:
        tables = ttl_tables(db)
    deleted = 0
    for account, region, table in tables:
        done = 0
        while done < PER_TABLE:
            ctx = RequestContext(account=account, region=region, store=store, service="dynamodb",
                                 operation="TimeToLive", **({"clock": clock} if clock else {}))
            with store.transaction() as db:
                ctx.db = db
                fresh = storage.Tables(db, account, region).find(table.name)
                if fresh is None or fresh.id != table.id or fresh.ttl_attribute is None:
                    break
                n = storage.sweep_expired(db, ctx, fresh, BATCH)
            done += n
            await asyncio.sleep(0)
            if n < BATCH:
                break
        deleted += done
    return deleted


async def run(store, interval: float = INTERVAL) -> None:
    while True:
        try:
            await sweep_once(store)
        except asyncio.CancelledError:
            raise
        except Exception:           # noqa: BLE001 - a failed sweep must not end the sweeper
            log.exception("DynamoDB TTL sweep failed")
        await asyncio.sleep(interval)
