"""DynamoDB Streams: the change records DynamoDB writes (haneul.services.dynamodb.streams),
one shard per stream, read with shard iterators."""

from __future__ import annotations

import base64
import json
import pickle

from haneul.errors import AwsError
from haneul.services.base import Service
from haneul.services.dynamodb.storage import SCHEMA as DYNAMODB_SCHEMA
from haneul.services.dynamodb.streams import sequence_of, sequence_text

RETENTION = 24 * 3600.0
ITERATOR_TTL = 15 * 60.0


def _stream_not_found(arn: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"Requested resource not found: Stream: {arn} not found")


def _bad_iterator() -> AwsError:
    return AwsError("ValidationException", "Invalid ShardIterator")


class DynamoDBStreams(Service):
    SCHEMA: list[str] = []
    NAMESPACE = "dynamodbstreams"

    @staticmethod
    def _stream(ctx, arn: str):
        ctx.store.migrate("dynamodb", DYNAMODB_SCHEMA)     # streams live in DynamoDB's tables
        row = ctx.db.execute("SELECT * FROM ddb_stream WHERE arn=? AND account=? AND region=?",
                             (arn, ctx.account, ctx.region)).fetchone()
        if row is None:
            raise _stream_not_found(arn)
        return row

    def list_streams(self, ctx, req: dict) -> dict:
        ctx.store.migrate("dynamodb", DYNAMODB_SCHEMA)
        sql = "SELECT arn, table_name, label FROM ddb_stream WHERE account=? AND region=? AND created>=?"
        args = [ctx.account, ctx.region, ctx.now() - RETENTION]
        if req.get("TableName"):
            sql += " AND table_name=?"
            args.append(req["TableName"])
        if req.get("ExclusiveStartStreamArn"):
            sql += " AND arn>?"
            args.append(req["ExclusiveStartStreamArn"])
        limit = req.get("Limit", 100)
        rows = ctx.db.execute(sql + " ORDER BY arn LIMIT ?", [*args, limit + 1]).fetchall()
        out = {"Streams": [{"StreamArn": r[0], "TableName": r[1], "StreamLabel": r[2]} for r in rows[:limit]]}
        if len(rows) > limit:
            out["LastEvaluatedStreamArn"] = rows[limit - 1][0]
        return out

    def describe_stream(self, ctx, req: dict) -> dict:
        row = self._stream(ctx, req["StreamArn"])
        first = ctx.db.execute("SELECT MIN(seq), MAX(seq) FROM ddb_stream_record WHERE arn=?",
                               (row["arn"],)).fetchone()
        rng = {"StartingSequenceNumber": sequence_text(first[0] or 1)}
        if row["status"] == "DISABLED":
            rng["EndingSequenceNumber"] = sequence_text(first[1] or 0)
        shard = {"ShardId": row["shard"], "SequenceNumberRange": rng}
        desc = {"StreamArn": row["arn"], "StreamLabel": row["label"], "StreamStatus": row["status"],
                "StreamViewType": row["view_type"], "CreationRequestDateTime": row["created"],
                "TableName": row["table_name"], "KeySchema": json.loads(row["key_schema"]),
                "Shards": [shard]}
        return {"StreamDescription": desc}

    def get_shard_iterator(self, ctx, req: dict) -> dict:
        row = self._stream(ctx, req["StreamArn"])
        if req["ShardId"] != row["shard"]:
            raise AwsError("ResourceNotFoundException",
                           f"Requested resource not found: Shard does not exist")
        kind = req["ShardIteratorType"]
        seq_text = req.get("SequenceNumber")
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            seq = sequence_of(seq_text) if seq_text else None
            if seq is None:
                raise AwsError("ValidationException",
                               f"Invalid SequenceNumber: {seq_text}" if seq_text else
                               "SequenceNumber must be provided for ShardIteratorType "
                               f"{kind}")
            position = seq if kind == "AT_SEQUENCE_NUMBER" else seq + 1
        elif kind == "TRIM_HORIZON":
            first = ctx.db.execute("SELECT MIN(seq) FROM ddb_stream_record WHERE arn=? AND created>=?",
                                   (row["arn"], ctx.now() - RETENTION)).fetchone()[0]
            position = first or 1
        else:  # LATEST
            last = ctx.db.execute("SELECT MAX(seq) FROM ddb_stream_record WHERE arn=?", (row["arn"],)).fetchone()[0]
            position = (last or 0) + 1
        return {"ShardIterator": self._iterator(row["arn"], row["shard"], position, ctx.now())}

    @staticmethod
    def _iterator(arn: str, shard: str, position: int, now: float) -> str:
        raw = json.dumps([arn, shard, position, now]).encode()
        return base64.urlsafe_b64encode(raw).decode()

    def get_records(self, ctx, req: dict) -> dict:
        try:
            arn, shard, position, issued = json.loads(base64.urlsafe_b64decode(req["ShardIterator"].encode()))
        except Exception:
            raise _bad_iterator() from None
        if ctx.now() - issued > ITERATOR_TTL:
            raise AwsError("ExpiredIteratorException", "Iterator expired. The iterator was created at time "
                           f"{issued} while right now it is {ctx.now()}.")
        row = self._stream(ctx, arn)
        limit = req.get("Limit", 1000)
        rows = ctx.db.execute("SELECT seq, record FROM ddb_stream_record WHERE arn=? AND seq>=? ORDER BY seq "
                              "LIMIT ?", (arn, position, limit)).fetchall()
        records = [pickle.loads(r[1]) for r in rows]
        nxt = rows[-1][0] + 1 if rows else position
        out = {"Records": records}
        if row["status"] == "ENABLED" or rows:
            out["NextShardIterator"] = self._iterator(arn, shard, nxt, ctx.now())
        return out
