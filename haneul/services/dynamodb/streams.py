"""Change records of tables with a stream: written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
import os
import pickle

from haneul.services.dynamodb.expressions import values as V

SHARD_PREFIX = "shardId-"


def sequence_text(seq: int) -> str:
    return str(10 ** 20 + seq)


def sequence_of(text: str) -> int | None:
    try:
        return int(text) - 10 ** 20
    except (TypeError, ValueError):
        return None


def stream_label(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def shard_id(now: float) -> str:
    return f"{SHARD_PREFIX}{int(now * 1000):020d}-{os.urandom(4).hex()}"


def create_stream(db, ctx, table_name: str, tid: int, view_type: str, key_schema: list) -> tuple[str, str]:
    now = ctx.now()
    label = stream_label(now)
    arn = f"arn:aws:dynamodb:{ctx.region}:{ctx.account}:table/{table_name}/stream/{label}"
    import json
    db.execute("INSERT OR REPLACE INTO ddb_stream(arn, account, region, table_name, tid, label, view_type, "
               "status, created, key_schema, shard) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
               (arn, ctx.account, ctx.region, table_name, tid, label, view_type, "ENABLED", now,
                json.dumps(key_schema), shard_id(now)))
    return arn, label


def disable_stream(db, arn: str) -> None:
    db.execute("UPDATE ddb_stream SET status='DISABLED' WHERE arn=?", (arn,))


def append_record(db, ctx, table, key: dict, old: dict | None, new: dict | None, service: bool) -> None:
    view = table.stream_view
    arn = table.stream_arn
    seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM ddb_stream_record WHERE arn=?", (arn,)).fetchone()[0]
    now = ctx.now()
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    body = {"ApproximateCreationDateTime": float(int(now)), "Keys": key,
            "SequenceNumber": sequence_text(seq), "StreamViewType": view}
    size = V.item_size(key)
    if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
        body["NewImage"] = new
        size += V.item_size(new)
    if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
        body["OldImage"] = old
        size += V.item_size(old)
    body["SizeBytes"] = size
    record = {"eventID": os.urandom(16).hex(), "eventName": name, "eventVersion": "1.1",
              "eventSource": "aws:dynamodb", "awsRegion": ctx.region, "dynamodb": body}
    if service:
        record["userIdentity"] = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    db.execute("INSERT INTO ddb_stream_record(arn, seq, created, record) VALUES(?,?,?,?)",
               (arn, seq, now, pickle.dumps(record, protocol=5)))
