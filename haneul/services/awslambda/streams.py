"""Stream event source mappings: DynamoDB Streams, and Kinesis once Haneul has it.

One asyncio task per enabled mapping reads each shard in order through the dispatcher
(in-process DescribeStream / ListShards, GetShardIterator, GetRecords), gathers up to
BatchSize records within MaximumBatchingWindowInSeconds (polling an idle shard four times
a second, as AWS does), and invokes the function synchronously.  As on AWS:

- A shard waits while its batch fails.  A failed batch is retried after a backoff of
  HANEUL_LAMBDA_RETRY_DELAY (1 s) doubled per attempt, at most 60 s, until it succeeds,
  MaximumRetryAttempts is used up, or its records are older than MaximumRecordAgeInSeconds
  (-1, the default for both, means "until the stream drops the record").
- BisectBatchOnFunctionError splits a failing batch in two and runs each half (no backoff
  before a split); a half inherits the failed attempts of the batch it came from, so a
  poison record is isolated and discarded once its attempts exceed the retry limit.
- ReportBatchItemFailures: the function answers {"batchItemFailures": [{"itemIdentifier":
  "<sequence number>"}]}.  Records before the lowest reported one are done, the rest is
  retried (it counts as a failed attempt).  An empty or null answer is success; an
  identifier that is missing, empty or not in the batch fails the whole batch.
- Discarded records are described, not copied, to DestinationConfig.OnFailure (SQS queue,
  SNS topic) as DDBStreamBatchInfo / KinesisBatchInfo with the condition
  RetryAttemptsExhausted or RecordAgeExceeded.
- The last sequence number processed on each shard is kept in the mapping's row, so a
  restart resumes after it.  A mapping that has processed nothing yet starts again at its
  StartingPosition.

ParallelizationFactor, TumblingWindowInSeconds and FilterCriteria are stored and answered;
batches of one shard run one at a time and records are not filtered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time

from haneul import registry
from haneul.errors import AwsError

log = logging.getLogger("haneul.lambda")
POLL_SECONDS = 0.25
MAX_BACKOFF = 60.0
STREAM_KINDS = ("dynamodb", "kinesis")


def source_kind(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 5 else ""


def unpollable_reason(kind: str) -> str | None:
    """Why nothing can poll a source of this kind here, or None when it can be polled."""
    if kind == "dynamodb":
        return None if registry.available("dynamodbstreams") else \
            "Haneul has no DynamoDB Streams service: the mapping is stored, nothing polls it"
    if kind == "kinesis":
        return None if registry.available("kinesis") else \
            "Haneul has no Kinesis service yet: the mapping is stored, nothing polls it"
    if kind == "kafka":
        return "Haneul does not poll Kafka event sources: the mapping is stored, nothing polls it"
    return None


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- sources ----------------------------------------------------------------------------------
class DynamoDBSource:
    info_key = "DDBStreamBatchInfo"

    def __init__(self, dispatcher, ctx, arn: str, role: str = ""):
        self.dispatcher, self.ctx, self.arn = dispatcher, ctx, arn

    async def _call(self, operation: str, request: dict, document: bool = False) -> dict:
        return await self.dispatcher.call(self.ctx, "dynamodbstreams", operation, request, json_document=document)

    async def shards(self) -> list[str]:
        out = await self._call("DescribeStream", {"StreamArn": self.arn})
        return [s["ShardId"] for s in out["StreamDescription"].get("Shards", [])]

    async def iterator(self, shard: str, kind: str, sequence: str | None = None,
                       timestamp: float | None = None) -> str | None:
        request = {"StreamArn": self.arn, "ShardId": shard, "ShardIteratorType": kind}
        if sequence is not None:
            request["SequenceNumber"] = sequence
        return (await self._call("GetShardIterator", request)).get("ShardIterator")

    async def read(self, iterator: str, limit: int) -> tuple[list[dict], str | None]:
        out = await self._call("GetRecords", {"ShardIterator": iterator, "Limit": max(1, min(limit, 1000))},
                               document=True)
        return out.get("Records") or [], out.get("NextShardIterator")

    @staticmethod
    def sequence(record: dict) -> str:
        return record["dynamodb"]["SequenceNumber"]

    @staticmethod
    def arrival(record: dict) -> float:
        return float(record["dynamodb"].get("ApproximateCreationDateTime") or time.time())

    def event(self, record: dict, shard: str) -> dict:
        return dict(record, eventSourceARN=self.arn)


class KinesisSource(DynamoDBSource):
    """Written against Kinesis's API as botocore models it; it runs once Haneul has a
    Kinesis service (registry.available("kinesis"))."""
    info_key = "KinesisBatchInfo"

    def __init__(self, dispatcher, ctx, arn: str, role: str = ""):
        super().__init__(dispatcher, ctx, arn)
        self.role = role

    async def _call(self, operation: str, request: dict, document: bool = False) -> dict:
        return await self.dispatcher.call(self.ctx, "kinesis", operation, request, json_document=document)

    async def shards(self) -> list[str]:
        shards, token = [], None
        while True:
            out = await self._call("ListShards", {"NextToken": token} if token else {"StreamARN": self.arn})
            shards += [s["ShardId"] for s in out.get("Shards", [])]
            token = out.get("NextToken")
            if not token:
                return shards

    async def iterator(self, shard, kind, sequence=None, timestamp=None):
        request = {"StreamARN": self.arn, "ShardId": shard, "ShardIteratorType": kind}
        if sequence is not None:
            request["StartingSequenceNumber"] = sequence
        if timestamp is not None:
            request["Timestamp"] = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
        return (await self._call("GetShardIterator", request)).get("ShardIterator")

    async def read(self, iterator, limit):
        out = await self._call("GetRecords", {"ShardIterator": iterator, "StreamARN": self.arn,
                                              "Limit": max(1, min(limit, 10000))}, document=True)
        return out.get("Records") or [], out.get("NextShardIterator")

    @staticmethod
    def sequence(record):
        return record["SequenceNumber"]

    @staticmethod
    def arrival(record):
        return float(record.get("ApproximateArrivalTimestamp") or time.time())

    def event(self, record, shard):
        return {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": record.get("PartitionKey", ""),
                            "sequenceNumber": record["SequenceNumber"], "data": record.get("Data", ""),
                            "approximateArrivalTimestamp": self.arrival(record)},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": f"{shard}:{record['SequenceNumber']}", "eventName": "aws:kinesis:record",
                "invokeIdentityArn": self.role, "awsRegion": self.ctx.region, "eventSourceARN": self.arn}


SOURCES = {"dynamodb": DynamoDBSource, "kinesis": KinesisSource}


# -- one shard's batches ----------------------------------------------------------------------
def batch_failures(payload: bytes, sequences: list[str]) -> int | None:
    """Index of the first record to retry from a ReportBatchItemFailures answer: None when
    everything succeeded, 0 when the answer is malformed (the whole batch failed)."""
    try:
        doc = json.loads(payload or b"null")
    except (ValueError, RecursionError):
        return 0
    if not isinstance(doc, dict) or doc.get("batchItemFailures") in (None, []):
        return None
    failures = doc["batchItemFailures"]
    if not isinstance(failures, list):
        return 0
    first = None
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in sequences:
            return 0
        index = sequences.index(ident)
        first = index if first is None else min(first, index)
    return first


class ShardProcessor:
    """Runs one gathered batch of a shard to its end: success, or discard after the retry
    and age limits, bisecting on the way when asked.  The side effects (invoke, discard,
    checkpoint, pause) are methods, so tests can replace them."""

    def __init__(self, doc: dict, source, shard: str, invoke, discard, checkpoint, pause=asyncio.sleep,
                 retry_delay: float = 1.0, clock=time.time):
        self.doc, self.source, self.shard = doc, source, shard
        self.invoke, self.discard, self.checkpoint, self.pause = invoke, discard, checkpoint, pause
        self.retry_delay, self.clock = retry_delay, clock
        self.result = "OK"

    async def process(self, records: list[dict]) -> None:
        doc = self.doc
        max_age = doc.get("MaximumRecordAgeInSeconds", -1)
        retries = doc.get("MaximumRetryAttempts", -1)
        reporting = "ReportBatchItemFailures" in (doc.get("FunctionResponseTypes") or [])
        pending: list[tuple[list[dict], int]] = [(records, 0)]
        while pending:
            batch, attempts = pending.pop(0)
            if max_age is not None and max_age >= 0:
                now = self.clock()
                expired = [r for r in batch if now - self.source.arrival(r) > max_age]
                if expired:
                    await self.discard(expired, "RecordAgeExceeded", attempts, None)
                    batch = [r for r in batch if r not in expired]
                    if not batch:
                        await self.checkpoint(expired[-1])
                        continue
            payload = json.dumps({"Records": [self.source.event(r, self.shard) for r in batch]}).encode()
            outcome = await self.invoke(payload)
            if outcome is None:                 # throttled or not invocable now: same batch again
                await self.pause(max(self.retry_delay, POLL_SECONDS))
                pending.insert(0, (batch, attempts))
                continue
            if outcome.error_type is not None:
                failed_from = 0
            elif reporting:
                failed_from = batch_failures(outcome.payload, [self.source.sequence(r) for r in batch])
            else:
                failed_from = None
            if failed_from is None:
                await self.checkpoint(batch[-1])
                continue
            self.result = "PROBLEM: Function call failed"
            if failed_from:
                await self.checkpoint(batch[failed_from - 1])
            rest = batch[failed_from:]
            attempts += 1
            if retries is not None and retries >= 0 and attempts > retries:
                await self.discard(rest, "RetryAttemptsExhausted", attempts, outcome)
                await self.checkpoint(rest[-1])
                continue
            if outcome.error_type is not None and doc.get("BisectBatchOnFunctionError") and len(rest) > 1:
                half = (len(rest) + 1) // 2
                pending[:0] = [(rest[:half], attempts), (rest[half:], attempts)]
                continue
            await self.pause(min(MAX_BACKOFF, self.retry_delay * 2 ** (attempts - 1)))
            pending.insert(0, (rest, attempts))

    def failure_record(self, records: list[dict], condition: str, attempts: int, outcome,
                       function_arn: str, request_id: str = "") -> dict:
        first, last = records[0], records[-1]
        doc = {"requestContext": {"requestId": request_id, "functionArn": function_arn, "condition": condition,
                                  "approximateInvokeCount": attempts},
               "version": "1.0", "timestamp": _iso(self.clock()),
               self.source.info_key: {
                   "shardId": self.shard, "startSequenceNumber": self.source.sequence(first),
                   "endSequenceNumber": self.source.sequence(last),
                   "approximateArrivalOfFirstRecord": _iso(self.source.arrival(first)),
                   "approximateArrivalOfLastRecord": _iso(self.source.arrival(last)),
                   "batchSize": len(records), "streamArn": self.source.arn}}
        if outcome is not None:
            doc["responseContext"] = {"statusCode": 200, "executedVersion": getattr(outcome, "version", "$LATEST"),
                                      "functionError": "Unhandled"}
        return doc


# -- the mapping's task -----------------------------------------------------------------------
def _load(store, uuid: str) -> dict | None:
    with store.transaction() as db:
        row = db.execute("SELECT * FROM lambda_esm WHERE uuid=?", (uuid,)).fetchone()
    return dict(row) if row is not None else None


def _update(store, uuid: str, **fields) -> None:
    """Change service-owned members of the stored mapping (never the user's settings)."""
    with store.transaction() as db:
        row = db.execute("SELECT doc FROM lambda_esm WHERE uuid=?", (uuid,)).fetchone()
        if row is None:
            return
        doc = json.loads(row["doc"])
        positions = fields.pop("_position", None)
        if positions is not None:
            doc.setdefault("_positions", {})[positions[0]] = positions[1]
        doc.update(fields)
        db.execute("UPDATE lambda_esm SET doc=? WHERE uuid=?", (json.dumps(doc), uuid))


async def _seek(source, doc: dict, shard: str) -> str | None:
    done = (doc.get("_positions") or {}).get(shard)
    if done:
        try:
            return await source.iterator(shard, "AFTER_SEQUENCE_NUMBER", done)
        except AwsError as e:           # trimmed past it: the oldest record left
            log.info("event source mapping %s: %s; reading from the oldest record", doc.get("UUID"), e.message)
            return await source.iterator(shard, "TRIM_HORIZON")
    start = doc.get("StartingPosition") or "LATEST"
    if start == "AT_TIMESTAMP":
        return await source.iterator(shard, "AT_TIMESTAMP", timestamp=doc.get("StartingPositionTimestamp"))
    return await source.iterator(shard, start)


async def _gather(source, iterator: str, size: int, window: float) -> tuple[list[dict], str | None]:
    records: list[dict] = []
    deadline = None
    while iterator and len(records) < size:
        got, iterator = await source.read(iterator, size - len(records))
        records += got
        if not window:
            break
        if records and deadline is None:
            deadline = time.monotonic() + window
        if deadline is None or time.monotonic() >= deadline:
            break
        if not got:
            await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    return records, iterator


async def run(app, store, uuid: str, positions: dict) -> None:
    """The poller of one stream mapping.  `positions` (shard -> iterator after the last
    finished batch) outlives the task, so an update that restarts it loses nothing."""
    from haneul.services.awslambda.invoking import retry_delay, run_function, send_to, system_context
    while True:
        row = _load(store, uuid)
        if row is None:
            return
        doc = json.loads(row["doc"])
        if not doc.get("_enabled"):
            return
        ctx = system_context(app, store, row["account"], row["region"], doc.get("_endpoint", ""))
        kind = source_kind(doc["EventSourceArn"])
        source = SOURCES[kind](app.dispatcher, ctx, doc["EventSourceArn"], doc.get("_role", ""))
        try:
            shards = await source.shards()
            for shard in shards:
                if shard not in positions:
                    positions[shard] = await _seek(source, doc, shard)
        except AwsError as e:
            log.info("event source mapping %s cannot read %s: %s", uuid, doc["EventSourceArn"], e.message)
            _update(store, uuid, LastProcessingResult=f"PROBLEM: {e.code}: {e.message}"[:200])
            await asyncio.sleep(5.0)
            continue
        if doc.get("State") == "Creating":
            _update(store, uuid, State="Enabled")
        name, _, qualifier = doc["FunctionArn"].split(":function:", 1)[1].partition(":")
        busy = False
        for shard in shards:
            iterator = positions.get(shard)
            if not iterator:
                continue
            try:
                records, after = await _gather(source, iterator, doc.get("BatchSize") or 100,
                                               doc.get("MaximumBatchingWindowInSeconds") or 0)
            except AwsError as e:
                log.info("event source mapping %s: reading %s: %s", uuid, shard, e.message)
                positions.pop(shard, None)          # seek again from the checkpoint
                continue
            if not records:
                positions[shard] = after
                continue
            busy = True

            async def invoke(payload: bytes):
                try:
                    outcome, config, request_id = await run_function(ctx, name, qualifier or None, payload)
                except AwsError as e:
                    log.info("event source mapping %s: %s", uuid, e.message)
                    return None
                outcome.version, outcome.request_id = config["Version"], request_id
                return outcome

            async def discard(batch, condition, attempts, outcome, shard=shard):
                target = ((doc.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
                if target:
                    record = processor.failure_record(batch, condition, attempts, outcome, doc["FunctionArn"],
                                                      getattr(outcome, "request_id", ""))
                    await send_to(ctx, target, json.dumps(record))

            async def checkpoint(record, shard=shard):
                _update(store, uuid, _position=(shard, source.sequence(record)))

            processor = ShardProcessor(doc, source, shard, invoke, discard, checkpoint, retry_delay=retry_delay())
            await processor.process(records)
            positions[shard] = after
            if doc.get("LastProcessingResult") != processor.result:
                _update(store, uuid, LastProcessingResult=processor.result)
                doc["LastProcessingResult"] = processor.result
        if not busy:
            await asyncio.sleep(POLL_SECONDS)
