"""Event source mappings.  SQS queues are polled here; DynamoDB Streams (and Kinesis, once
Haneul has it) by streams.py.  A mapping nothing can poll (Kinesis without a Kinesis
service, Kafka) is stored and answered, and says so in StateTransitionReason.

Each enabled SQS mapping is one asyncio task: it long-polls the queue through the
dispatcher (in-process ReceiveMessage), gathers up to BatchSize messages within
MaximumBatchingWindowInSeconds, invokes the function synchronously, and deletes the
messages the function handled (all of them, or all but the batchItemFailures it reported
when ReportBatchItemFailures is on).  A failed batch stays on the queue and comes back
after its visibility timeout, as on AWS (then to the queue's redrive DLQ).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid as uuidlib

from haneul.errors import AwsError
from haneul.services.awslambda import names, records, streams
from haneul.services.awslambda.engine import engine_for
from haneul.services.base import decode_token, encode_token, from_epoch

log = logging.getLogger("haneul.lambda")


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, Type="User")


_source_kind = streams.source_kind
STREAM_ONLY = ("StartingPosition", "StartingPositionTimestamp", "MaximumRecordAgeInSeconds",
               "BisectBatchOnFunctionError", "MaximumRetryAttempts", "ParallelizationFactor",
               "TumblingWindowInSeconds", "DestinationConfig")
STREAM_DEFAULTS = {"MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": False,
                   "MaximumRetryAttempts": -1, "ParallelizationFactor": 1, "TumblingWindowInSeconds": 0,
                   "DestinationConfig": {"OnFailure": {}}}


class MappingOps:
    def _esm_row(self, ctx, uuid: str):
        row = ctx.db.execute("SELECT * FROM lambda_esm WHERE uuid=? AND account=? AND region=?",
                             (uuid, ctx.account, ctx.region)).fetchone()
        if row is None:
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", Type="User")
        return row

    def _esm_answer(self, doc: dict, modified: float) -> dict:
        out = {k: v for k, v in doc.items() if not k.startswith("_")}
        out["LastModified"] = from_epoch(modified)
        return out

    def _check_batching(self, kind: str, doc: dict) -> None:
        size, window = doc.get("BatchSize"), doc.get("MaximumBatchingWindowInSeconds", 0)
        if kind == "sqs":
            if size > 10000 or size < 1:
                raise invalid("BatchSize must be between 1 and 10000 for SQS event sources.")
            if size > 10 and not window:
                raise invalid("Maximum batch window in seconds must be greater than 0 if maximum batch size "
                              "is greater than 10")
        elif kind in streams.STREAM_KINDS:
            age = doc.get("MaximumRecordAgeInSeconds", -1)
            if age != -1 and not 60 <= age <= 604800:
                raise invalid("MaximumRecordAgeInSeconds must be -1 (infinite) or between 60 and 604800 seconds.")

    def _check_stream_members(self, kind: str, request: dict) -> None:
        if kind in streams.STREAM_KINDS:
            return
        for member in STREAM_ONLY:
            if member in request and not (member == "DestinationConfig" and kind == "kafka"):
                raise invalid(f"Unsupported {member} parameter for given event source mapping type.")

    def create_event_source_mapping(self, ctx, request: dict) -> dict:
        source = request.get("EventSourceArn")
        if not source:
            raise invalid("Unrecognized event source, must be kinesis, dynamodb stream or sqs.")
        kind = _source_kind(source)
        if kind not in ("sqs", "kinesis", "dynamodb", "kafka"):
            raise invalid("Unrecognized event source, must be kinesis, dynamodb stream or sqs.")
        self._check_stream_members(kind, request)
        if kind in streams.STREAM_KINDS:
            start = request.get("StartingPosition")
            if not start:
                raise invalid("1 validation error detected: Value null at 'startingPosition' failed to satisfy "
                              "constraint: Member must not be null.")
            if start == "AT_TIMESTAMP" and kind != "kinesis":
                raise invalid("Unsupported starting position AT_TIMESTAMP for DynamoDB Streams event sources.")
            if start == "AT_TIMESTAMP" and not request.get("StartingPositionTimestamp"):
                raise invalid("StartingPositionTimestamp must be provided with starting position AT_TIMESTAMP.")
        name, qualifier = names.parse_function(ctx, request["FunctionName"])
        config, _, _ = records.resolve(ctx.db, ctx, name, qualifier)
        fn_arn = names.function_arn(ctx.account, ctx.region, name, qualifier)
        for row in ctx.db.execute("SELECT uuid, doc FROM lambda_esm WHERE account=? AND region=? AND name=?",
                                  (ctx.account, ctx.region, name)).fetchall():
            doc = json.loads(row["doc"])
            if doc["EventSourceArn"] == source and doc["FunctionArn"] == fn_arn:
                raise AwsError("ResourceConflictException", f"An event source mapping with {kind.upper()} arn "
                               f"(\" {source} \") and function (\" {name} \") already exists. Please update or "
                               f"delete the existing mapping with UUID {row['uuid']}", Type="User")
        uuid = str(uuidlib.uuid4())
        enabled = request.get("Enabled", True)
        doc = {"UUID": uuid, "BatchSize": request.get("BatchSize") or (10 if kind == "sqs" else 100),
               "MaximumBatchingWindowInSeconds": request.get("MaximumBatchingWindowInSeconds", 0),
               "EventSourceArn": source, "FunctionArn": fn_arn,
               "LastProcessingResult": "No records processed",
               "State": "Creating", "StateTransitionReason": "USER_INITIATED",
               "FunctionResponseTypes": request.get("FunctionResponseTypes") or [],
               "EventSourceMappingArn": f"arn:aws:lambda:{ctx.region}:{ctx.account}:event-source-mapping:{uuid}",
               "_enabled": enabled, "_endpoint": ctx.endpoint}
        reason = streams.unpollable_reason(kind)
        if kind in streams.STREAM_KINDS:
            doc.update(STREAM_DEFAULTS, StartingPosition=request["StartingPosition"], _role=config.get("Role", ""))
            if request.get("StartingPositionTimestamp") is not None:
                doc["StartingPositionTimestamp"] = _epoch(request["StartingPositionTimestamp"])
        if reason:
            doc["StateTransitionReason"] = reason
        for member in ("FilterCriteria", "ScalingConfig", "DestinationConfig", "MaximumRetryAttempts",
                       "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError", "ParallelizationFactor",
                       "TumblingWindowInSeconds", "MetricsConfig"):
            if member in request:
                doc[member] = request[member]
        self._check_batching(kind, doc)
        now = ctx.now()
        # a polled stream mapping is Creating until its poller has taken its starting position
        state = "Disabled" if not enabled else "Creating" if kind in streams.STREAM_KINDS and not reason \
            else "Enabled"
        stored = dict(doc, State=state)
        ctx.db.execute("INSERT INTO lambda_esm(uuid, account, region, name, doc, modified) VALUES(?,?,?,?,?,?)",
                       (uuid, ctx.account, ctx.region, name, json.dumps(stored), now))
        if enabled:
            start_poller(ctx.app, ctx.store, uuid, kind)
        return self._esm_answer(doc, now)

    def get_event_source_mapping(self, ctx, request: dict) -> dict:
        row = self._esm_row(ctx, request["UUID"])
        return self._esm_answer(json.loads(row["doc"]), row["modified"])

    def update_event_source_mapping(self, ctx, request: dict) -> dict:
        row = self._esm_row(ctx, request["UUID"])
        doc = json.loads(row["doc"])
        name = row["name"]
        if request.get("FunctionName"):
            name, qualifier = names.parse_function(ctx, request["FunctionName"])
            records.resolve(ctx.db, ctx, name, qualifier)
            doc["FunctionArn"] = names.function_arn(ctx.account, ctx.region, name, qualifier)
        kind = _source_kind(doc["EventSourceArn"])
        self._check_stream_members(kind, request)
        for member in ("BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "FilterCriteria",
                       "ScalingConfig", "DestinationConfig", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds",
                       "BisectBatchOnFunctionError", "ParallelizationFactor", "TumblingWindowInSeconds"):
            if member in request:
                doc[member] = request[member]
        self._check_batching(kind, doc)
        answer_state = None
        if "Enabled" in request:
            doc["_enabled"] = request["Enabled"]
            answer_state = "Enabling" if request["Enabled"] else "Disabling"
            doc["State"] = "Enabled" if request["Enabled"] else "Disabled"
        now = ctx.now()
        ctx.db.execute("UPDATE lambda_esm SET doc=?, name=?, modified=? WHERE uuid=?",
                       (json.dumps(doc), name, now, row["uuid"]))
        stop_poller(ctx.app, ctx.store, row["uuid"])
        if doc["_enabled"]:
            start_poller(ctx.app, ctx.store, row["uuid"], kind)
        out = self._esm_answer(doc, now)
        out["State"] = answer_state or "Updating"
        return out

    def delete_event_source_mapping(self, ctx, request: dict) -> dict:
        row = self._esm_row(ctx, request["UUID"])
        ctx.db.execute("DELETE FROM lambda_esm WHERE uuid=?", (row["uuid"],))
        stop_poller(ctx.app, ctx.store, row["uuid"], forget=True)
        out = self._esm_answer(json.loads(row["doc"]), row["modified"])
        out["State"] = "Deleting"
        return out

    def list_event_source_mappings(self, ctx, request: dict) -> dict:
        rows = ctx.db.execute("SELECT * FROM lambda_esm WHERE account=? AND region=? ORDER BY uuid",
                              (ctx.account, ctx.region)).fetchall()
        items = []
        for row in rows:
            doc = json.loads(row["doc"])
            if request.get("EventSourceArn") and doc["EventSourceArn"] != request["EventSourceArn"]:
                continue
            if request.get("FunctionName"):
                name, qualifier = names.parse_function(ctx, request["FunctionName"])
                if doc["FunctionArn"] not in (names.function_arn(ctx.account, ctx.region, name, qualifier),):
                    if qualifier or row["name"] != name:
                        continue
            items.append(self._esm_answer(doc, row["modified"]))
        start = decode_token(request["Marker"], lambda: invalid("Invalid marker")) if request.get("Marker") else 0
        limit = request.get("MaxItems") or 100
        out = {"EventSourceMappings": items[start:start + limit]}
        if start + limit < len(items):
            out["NextMarker"] = encode_token(start + limit)
        return out


def _epoch(value) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


# -- pollers ----------------------------------------------------------------------------------
def _pollers(app, store) -> dict:
    engine = engine_for(app, store)
    if not hasattr(engine, "pollers"):
        engine.pollers = {}
    return engine.pollers


def _stream_positions(app, store, uuid: str) -> dict:
    """shard -> iterator after the last finished batch; kept while the server runs, so an
    update that restarts the poller goes on where it was."""
    engine = engine_for(app, store)
    if not hasattr(engine, "stream_positions"):
        engine.stream_positions = {}
    return engine.stream_positions.setdefault(uuid, {})


def start_poller(app, store, uuid: str, kind: str = "sqs") -> None:
    if kind != "sqs" and (kind not in streams.STREAM_KINDS or streams.unpollable_reason(kind)):
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return                      # unit tests without a loop: nothing polls
    pollers = _pollers(app, store)
    task = pollers.get(uuid)
    if task is None or task.done():
        coro = _poll(app, store, uuid) if kind == "sqs" else \
            streams.run(app, store, uuid, _stream_positions(app, store, uuid))
        pollers[uuid] = engine_for(app, store).spawn_task(coro)


def stop_poller(app, store, uuid: str, forget: bool = False) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    task = _pollers(app, store).pop(uuid, None)
    if task is not None:
        task.cancel()
    if forget:
        getattr(engine_for(app, store), "stream_positions", {}).pop(uuid, None)


def _message_attributes(attrs: dict) -> dict:
    out = {}
    for name, value in (attrs or {}).items():
        item = {"dataType": value.get("DataType"), "stringListValues": [], "binaryListValues": []}
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            import base64
            raw = value["BinaryValue"]
            item["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw
        out[name] = item
    return out


def sqs_record(message: dict, source: str, region: str) -> dict:
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""), "attributes": message.get("Attributes", {}),
            "messageAttributes": _message_attributes(message.get("MessageAttributes")),
            "md5OfBody": message.get("MD5OfBody", ""), "eventSource": "aws:sqs",
            "eventSourceARN": source, "awsRegion": region}


async def _poll(app, store, uuid: str) -> None:
    from haneul.services.awslambda.invoking import run_function, system_context
    queue_url = None
    idle_pause = 0.0
    while True:
        if idle_pause:
            await asyncio.sleep(idle_pause)
            idle_pause = 0.0
        with store.transaction() as db:
            row = db.execute("SELECT * FROM lambda_esm WHERE uuid=?", (uuid,)).fetchone()
        if row is None:
            return
        doc = json.loads(row["doc"])
        if not doc.get("_enabled"):
            return
        ctx = system_context(app, store, row["account"], row["region"], doc.get("_endpoint", ""))
        source = doc["EventSourceArn"]
        parts = source.split(":")
        dispatcher = app.dispatcher
        try:
            if queue_url is None:
                queue_url = (await dispatcher.call(ctx, "sqs", "GetQueueUrl", {
                    "QueueName": parts[5], "QueueOwnerAWSAccountId": parts[4]}))["QueueUrl"]
            batch = await _gather(dispatcher, ctx, queue_url, doc)
        except AwsError as e:
            log.info("event source mapping %s cannot read %s: %s", uuid, source, e.message)
            queue_url = None
            idle_pause = 5.0
            continue
        if not batch:
            continue
        event = {"Records": [sqs_record(m, source, row["region"]) for m in batch]}
        name, _, qualifier = doc["FunctionArn"].split(":function:", 1)[1].partition(":")
        try:
            outcome, _, _ = await run_function(ctx, name, qualifier or None, json.dumps(event).encode())
        except AwsError as e:
            log.info("event source mapping %s: %s", uuid, e.message)
            idle_pause = 1.0
            continue
        handled = batch
        if outcome.error_type is None and "ReportBatchItemFailures" in doc.get("FunctionResponseTypes", []):
            failed = _batch_failures(outcome.payload)
            if failed is None:          # malformed answer: the whole batch failed
                handled = []
            else:
                handled = [m for m in batch if m["MessageId"] not in failed]
        elif outcome.error_type is not None:
            handled = []
        result = "OK" if outcome.error_type is None else "PROBLEM: Function call failed"
        if handled:
            for i in range(0, len(handled), 10):
                chunk = handled[i:i + 10]
                await dispatcher.call(ctx, "sqs", "DeleteMessageBatch", {
                    "QueueUrl": queue_url,
                    "Entries": [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)]})
        if doc.get("LastProcessingResult") != result:
            with store.transaction() as db:
                current = db.execute("SELECT doc FROM lambda_esm WHERE uuid=?", (uuid,)).fetchone()
                if current is not None:
                    fresh = json.loads(current["doc"])
                    fresh["LastProcessingResult"] = result
                    db.execute("UPDATE lambda_esm SET doc=? WHERE uuid=?", (json.dumps(fresh), uuid))


async def _gather(dispatcher, ctx, queue_url: str, doc: dict) -> list[dict]:
    size = doc.get("BatchSize", 10)
    window = doc.get("MaximumBatchingWindowInSeconds", 0) or 0
    batch: list[dict] = []
    deadline = None
    while len(batch) < size:
        if deadline is None:
            wait = 20
        else:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wait = max(0, min(20, int(remaining)))
        out = await dispatcher.call(ctx, "sqs", "ReceiveMessage", {
            "QueueUrl": queue_url, "MaxNumberOfMessages": min(10, size - len(batch)), "WaitTimeSeconds": wait,
            "MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"]})
        messages = out.get("Messages") or []
        batch += messages
        if not window:
            if batch:
                break
            continue
        if batch and deadline is None:
            deadline = time.monotonic() + window
        if deadline is not None and wait == 0 and not messages:
            await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    return batch


def _batch_failures(payload: bytes) -> set | None:
    try:
        doc = json.loads(payload or b"null")
    except (ValueError, RecursionError):
        return None
    if doc is None or not isinstance(doc, dict):
        return set()
    failures = doc.get("batchItemFailures")
    if failures is None:
        return set()
    out = set()
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident:
            return None
        out.add(ident)
    return out


async def resume(app) -> None:
    """After a restart: start the pollers of enabled mappings."""
    with app.store.transaction() as db:
        rows = db.execute("SELECT uuid, doc FROM lambda_esm").fetchall()
    for row in rows:
        doc = json.loads(row["doc"])
        if doc.get("_enabled"):
            start_poller(app, app.store, row["uuid"], _source_kind(doc["EventSourceArn"]))
