"""Invoke (RequestResponse, Event, DryRun), InvokeAsync, and the asynchronous event queue.

Event invocations are rows of `lambda_event_queue`, so they survive a restart.  One asyncio
task claims due rows and runs each as its own task: a function error is retried (twice by
default, MaximumRetryAttempts) after 1 s then 2 s (HANEUL_LAMBDA_RETRY_DELAY scales these;
AWS waits about 1 and 2 minutes), a throttle is retried without counting, and the last
failure goes to the OnFailure destination or the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import os
import time
import uuid

import orjson

from haneul.context import Principal, RequestContext
from haneul.errors import AwsError
from haneul.services.awslambda import names, records
from haneul.services.awslambda.engine import FunctionSpec, engine_for, throttle
from haneul.services.awslambda.environment import Invocation, Outcome
from haneul.services.awslambda.settings import reserved_total

log = logging.getLogger("haneul.lambda")
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 256 * 1024
DEFAULT_RETRIES = 2
DEFAULT_MAX_AGE = 6 * 3600
CLAIMED = 1


def retry_delay() -> float:
    return float(os.environ.get("HANEUL_LAMBDA_RETRY_DELAY", "1"))


def spec_for(ctx, config: dict, code: dict) -> FunctionSpec:
    return FunctionSpec(
        account=ctx.account, region=ctx.region, name=config["FunctionName"], version=config["Version"],
        revision=config["RevisionId"], runtime=config["Runtime"], handler=config["Handler"],
        timeout=int(config["Timeout"]), memory=int(config["MemorySize"]), role=config.get("Role", ""),
        variables=(config.get("Environment") or {}).get("Variables") or {}, code_blob=code["blob"],
        code_hex=code["hex"], layers=[tuple(x) for x in code.get("layers", [])], endpoint=ctx.endpoint,
        log_group=(config.get("LoggingConfig") or {}).get("LogGroup", f"/aws/lambda/{config['FunctionName']}"))


def check_json(payload: bytes) -> None:
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise AwsError("InvalidRequestContentException",
                       f"Could not parse request body into json: Could not parse payload into json: {e}",
                       Type="User") from None


def system_context(app, store, account: str, region: str, endpoint: str) -> RequestContext:
    return RequestContext(account=account, region=region, store=store, endpoint=endpoint, app=app,
                          principal=Principal(access_key="", account=account, arn=f"arn:aws:iam::{account}:root",
                                              user_id=account))


async def run_function(ctx, name: str, qualifier: str | None, payload: bytes,
                       client_context: str | None = None, request_id: str | None = None,
                       stream: asyncio.Queue | None = None) -> tuple[Outcome, dict, str]:
    """Invoke a function version synchronously: (outcome, config, request id)."""
    with ctx.store.transaction() as db:
        config, code, reserved = records.resolve_for_invoke(db, ctx, name, qualifier)
        total = reserved_total(db, ctx.account, ctx.region) if reserved is None else 0   # only the unreserved pool needs it
    if reserved == 0:
        raise throttle("ReservedFunctionConcurrentInvocationLimitExceeded")
    spec = spec_for(ctx, config, code)
    request_id = request_id or str(uuid.uuid4())
    invoked = names.function_arn(ctx.account, ctx.region, name, qualifier)
    inv = Invocation(request_id, payload or b"{}", invoked, 0.0, client_context,
                     trace_id=f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Sampled=0", stream=stream)
    engine = engine_for(ctx.app, ctx.store)
    outcome = await engine.invoke(spec, inv, reserved, total, qualifier)
    records.queue_log(ctx.store, ctx.account, ctx.region, name, request_id, time.time(), outcome.log)
    return outcome, config, request_id


class InvokeOps:
    async def invoke(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        kind = request.get("InvocationType") or "RequestResponse"
        payload = request.get("Payload") or b""
        if isinstance(payload, str):
            payload = payload.encode()
        limit = MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
        if len(payload) > limit:
            raise AwsError("RequestTooLargeException", f"Request must be smaller than {limit} bytes for the "
                           "InvokeFunction operation", Type="User")
        if payload:
            check_json(payload)
        if kind == "DryRun":
            with ctx.store.transaction() as db:
                records.resolve(db, ctx, name, qualifier)
            return {"StatusCode": 204, "Payload": b""}
        if kind == "Event":
            with ctx.store.transaction() as db:
                records.resolve(db, ctx, name, qualifier)
                request_id = enqueue(db, ctx, name, qualifier, payload or b"{}")
            engine_for(ctx.app, ctx.store)
            wake_queue(ctx.app, ctx.store)
            return {"StatusCode": 202, "Payload": b""}
        client_context = request.get("ClientContext")
        if client_context:
            try:
                client_context = base64.b64decode(client_context).decode()
            except ValueError:
                raise AwsError("InvalidRequestContentException", "Client context must be a valid Base64-encoded "
                               "JSON object.", Type="User") from None
        outcome, config, request_id = await run_function(ctx, name, qualifier, payload, client_context,
                                                         ctx.request_id)
        out = {"StatusCode": 200, "Payload": outcome.payload, "ExecutedVersion": config["Version"]}
        if outcome.error_type:
            out["FunctionError"] = "Unhandled"
        if request.get("LogType") == "Tail":
            out["LogResult"] = base64.b64encode(outcome.log.encode()[-4096:]).decode()
        return out

    async def invoke_with_response_stream(self, ctx, request: dict) -> dict:
        """The answer streams as PayloadChunk events while the function writes (Node.js
        handlers wrapped in awslambda.streamifyResponse, custom runtimes posting with
        Lambda-Runtime-Function-Response-Mode: streaming); a buffered response (Python,
        plain Node.js handlers) is one PayloadChunk.  InvokeComplete ends the stream and
        carries a function error as ErrorCode/ErrorDetails, as AWS does."""
        from haneul.protocol import SERVICE_CODECS
        if ("lambda", "rest-json") not in SERVICE_CODECS:      # the plain codec cannot frame events
            raise AwsError("NotImplementedException", "InvokeWithResponseStream needs Lambda's event stream codec "
                           "in haneul.protocol.SERVICE_CODECS (haneul.services.awslambda.wire:LambdaRestJson)", 501)
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        kind = request.get("InvocationType") or "RequestResponse"
        payload = request.get("Payload") or b""
        if isinstance(payload, str):
            payload = payload.encode()
        if len(payload) > MAX_SYNC_PAYLOAD:
            raise AwsError("RequestTooLargeException", f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes "
                           "for the InvokeWithResponseStream operation", Type="User")
        if payload:
            check_json(payload)
        with ctx.store.transaction() as db:
            config, _, _ = records.resolve(db, ctx, name, qualifier)
        if kind == "DryRun":
            return {"StatusCode": 204, "ExecutedVersion": config["Version"]}
        client_context = request.get("ClientContext")
        if client_context:
            try:
                client_context = base64.b64decode(client_context).decode()
            except ValueError:
                raise AwsError("InvalidRequestContentException", "Client context must be a valid Base64-encoded "
                               "JSON object.", Type="User") from None
        chunks: asyncio.Queue = asyncio.Queue()
        task = asyncio.ensure_future(run_function(ctx, name, qualifier, payload, client_context, ctx.request_id,
                                                  stream=chunks))
        first = asyncio.ensure_future(chunks.get())
        await asyncio.wait({task, first}, return_when=asyncio.FIRST_COMPLETED)
        if task.done() and not first.done():
            first.cancel()
            task.result()                    # raises throttles, missing functions... as plain errors
        tail = request.get("LogType") == "Tail"

        async def events():
            streamed = first.done() and not first.cancelled()
            try:
                if streamed:
                    while True:
                        chunk = await _next_chunk(chunks, task)
                        if chunk is None:
                            break
                        if chunk:
                            yield {"PayloadChunk": {"Payload": chunk}}
                outcome, _, _ = await task
                if not streamed and outcome.error_type is None and outcome.payload:
                    yield {"PayloadChunk": {"Payload": outcome.payload}}
                complete = {}
                if outcome.error_type is not None:
                    complete = {"ErrorCode": outcome.error_type,
                                "ErrorDetails": outcome.payload.decode("utf-8", "replace")}
                if tail:
                    complete["LogResult"] = base64.b64encode(outcome.log.encode()[-4096:]).decode()
                yield {"InvokeComplete": complete}
            finally:
                if not task.done():          # the client went away: the invocation still ends
                    task.add_done_callback(lambda t: t.exception())

        return {"StatusCode": 200, "ExecutedVersion": config["Version"],
                "ResponseStreamContentType": "application/vnd.amazon.eventstream", "EventStream": events()}

    async def invoke_async(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"])
        body = request.get("InvokeArgs") or b""
        if not isinstance(body, (bytes, bytearray)):
            chunks = [c async for c in body]
            body = b"".join(chunks)
        if len(body) > MAX_ASYNC_PAYLOAD:
            raise AwsError("RequestTooLargeException", f"Request must be smaller than {MAX_ASYNC_PAYLOAD} bytes "
                           "for the InvokeFunction operation", Type="User")
        with ctx.store.transaction() as db:
            records.resolve(db, ctx, name, qualifier)
            enqueue(db, ctx, name, qualifier, bytes(body) or b"{}")
        wake_queue(ctx.app, ctx.store)
        return {"Status": 202}


async def _next_chunk(chunks: asyncio.Queue, task: asyncio.Task):
    """The next streamed chunk: bytes, or None at the end (also when the invocation ended
    without closing its stream: a timeout or a crash)."""
    while True:
        if not chunks.empty():
            item = chunks.get_nowait()
            return b"" if isinstance(item, tuple) else item
        if task.done():
            return None
        getter = asyncio.ensure_future(chunks.get())
        await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            item = getter.result()
            return b"" if isinstance(item, tuple) else item
        getter.cancel()


# -- the event queue ------------------------------------------------------------------------
def enqueue(db, ctx, name: str, qualifier: str | None, payload: bytes, request_id: str | None = None) -> str:
    request_id = request_id or ctx.request_id or str(uuid.uuid4())
    now = time.time()
    db.execute("INSERT INTO lambda_event_queue(account, region, name, qualifier, request_id, payload, "
               "not_before, created, endpoint) VALUES(?,?,?,?,?,?,?,?,?)",
               (ctx.account, ctx.region, name, qualifier or "", request_id, payload, now, now, ctx.endpoint))
    return request_id


def wake_queue(app, store) -> None:
    engine = engine_for(app, store)
    if getattr(engine, "queue_task", None) is None or engine.queue_task.done():
        engine.queue_wake = asyncio.Event()
        engine.queue_task = engine.spawn_task(_queue_loop(app, store, engine))
    engine.queue_wake.set()


async def _queue_loop(app, store, engine) -> None:
    while True:
        engine.queue_wake.clear()
        now = time.time()
        with store.transaction() as db:
            rows = db.execute("SELECT * FROM lambda_event_queue WHERE claimed=0 AND not_before<=? ORDER BY id "
                              "LIMIT 50", (now,)).fetchall()
            for row in rows:
                db.execute("UPDATE lambda_event_queue SET claimed=1 WHERE id=?", (row["id"],))
            upcoming = db.execute("SELECT MIN(not_before) FROM lambda_event_queue WHERE claimed=0").fetchone()[0]
        for row in rows:
            engine.spawn_task(_run_event(app, store, dict(row)))
        wait = 30.0 if upcoming is None else max(0.0, upcoming - time.time())
        try:
            await asyncio.wait_for(engine.queue_wake.wait(), timeout=min(wait, 30.0))
        except asyncio.TimeoutError:
            pass


def _reschedule(store, row: dict, delay: float, count: bool) -> None:
    with store.transaction() as db:
        db.execute("UPDATE lambda_event_queue SET claimed=0, not_before=?, attempts=attempts+? WHERE id=?",
                   (time.time() + delay, 1 if count else 0, row["id"]))


def _finish(store, row: dict) -> None:
    with store.transaction() as db:
        db.execute("DELETE FROM lambda_event_queue WHERE id=?", (row["id"],))


async def _run_event(app, store, row: dict) -> None:
    ctx = system_context(app, store, row["account"], row["region"], row["endpoint"])
    qualifier = row["qualifier"] or None
    try:
        with store.transaction() as db:
            settings = invoke_settings(db, row["account"], row["region"], row["name"], qualifier)
    except AwsError:
        settings = {}
    max_age = settings.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE)
    retries = settings.get("MaximumRetryAttempts", DEFAULT_RETRIES)
    if time.time() - row["created"] > max_age:
        await _deliver_failure(ctx, row, settings, None, "EventAgeExceeded")
        _finish(store, row)
        return
    try:
        outcome, config, _ = await run_function(ctx, row["name"], qualifier, row["payload"],
                                                request_id=row["request_id"])
    except AwsError as e:
        if e.code == "TooManyRequestsException":
            _reschedule(store, row, min(60.0, retry_delay() * (1 + row["attempts"])), count=False)
            wake_queue(app, store)
            return
        log.info("dropping event %s for %s: %s", row["request_id"], row["name"], e.message)
        _finish(store, row)
        return
    except Exception:
        log.exception("event invocation of %s failed", row["name"])
        _finish(store, row)
        return
    if outcome.error_type is None:
        await _deliver(ctx, row, settings, "OnSuccess", outcome, config, "Success")
        _finish(store, row)
        return
    if row["attempts"] < retries:
        _reschedule(store, row, retry_delay() * (2 ** row["attempts"]), count=True)
        wake_queue(app, store)
        return
    await _deliver_failure(ctx, row, settings, (outcome, config), "RetriesExhausted")
    _finish(store, row)


def invoke_settings(db, account: str, region: str, name: str, qualifier: str | None) -> dict:
    row = db.execute("SELECT doc FROM lambda_event_invoke_config WHERE account=? AND region=? AND name=? AND "
                     "qualifier=?", (account, region, name, qualifier or records.LATEST)).fetchone()
    out = json.loads(row["doc"]) if row else {}
    version = db.execute("SELECT config FROM lambda_version WHERE account=? AND region=? AND name=? AND version=?",
                         (account, region, name, qualifier if qualifier and qualifier.isdigit()
                          else records.LATEST)).fetchone()
    if version is not None:
        out["_dlq"] = (json.loads(version["config"]).get("DeadLetterConfig") or {}).get("TargetArn")
    return out


def _record(ctx, row: dict, condition: str, outcome: Outcome | None, config: dict | None) -> dict:
    version = config["Version"] if config else records.LATEST
    doc = {"version": "1.0",
           "timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
           "requestContext": {"requestId": row["request_id"],
                              "functionArn": names.function_arn(ctx.account, ctx.region, row["name"], version),
                              "condition": condition, "approximateInvokeCount": row["attempts"] + 1},
           "requestPayload": _json_or_text(row["payload"])}
    if outcome is not None:
        doc["responseContext"] = {"statusCode": 200, "executedVersion": version}
        if outcome.error_type:
            doc["responseContext"]["functionError"] = "Unhandled"
        doc["responsePayload"] = _json_or_text(outcome.payload)
    return doc


def _json_or_text(data: bytes):
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return data.decode("utf-8", "replace")


async def _deliver(ctx, row, settings, kind, outcome, config, condition) -> bool:
    target = ((settings.get("DestinationConfig") or {}).get(kind) or {}).get("Destination")
    if not target:
        return False
    await send_to(ctx, target, json.dumps(_record(ctx, row, condition, outcome, config)),
                  detail_type=f"Lambda Function Invocation Result - {'Success' if kind == 'OnSuccess' else 'Failure'}")
    return True


async def _deliver_failure(ctx, row, settings, result, condition) -> None:
    outcome, config = result if result else (None, None)
    if await _deliver(ctx, row, settings, "OnFailure", outcome, config, condition):
        return
    dlq = settings.get("_dlq")
    if dlq:
        error = {}
        if outcome is not None:
            try:
                error = json.loads(outcome.payload)
            except (ValueError, RecursionError):
                error = {}
        attributes = {"RequestID": {"DataType": "String", "StringValue": row["request_id"]},
                      "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                      "ErrorMessage": {"DataType": "String",
                                       "StringValue": str(error.get("errorMessage", condition))[:1024] or condition}}
        await send_to(ctx, dlq, row["payload"].decode("utf-8", "replace"), attributes=attributes)


async def send_to(ctx, target: str, body: str, attributes: dict | None = None, detail_type: str = "") -> None:
    """Deliver a message to an SQS queue, SNS topic, Lambda function or event bus by ARN."""
    parts = target.split(":")
    service = parts[2] if len(parts) > 5 else ""
    dispatcher = ctx.app.dispatcher if ctx.app is not None else None
    try:
        if dispatcher is None:
            raise AwsError("NotImplementedException", "no dispatcher")
        if service == "sqs":
            url = (await dispatcher.call(ctx, "sqs", "GetQueueUrl", {
                "QueueName": parts[5], "QueueOwnerAWSAccountId": parts[4]}))["QueueUrl"]
            request = {"QueueUrl": url, "MessageBody": body}
            if attributes:
                request["MessageAttributes"] = attributes
            await dispatcher.call(ctx, "sqs", "SendMessage", request)
        elif service == "sns":
            await dispatcher.call(ctx, "sns", "Publish", {"TopicArn": target, "Message": body})
        elif service == "lambda":
            await dispatcher.call(ctx, "lambda", "Invoke", {"FunctionName": target, "InvocationType": "Event",
                                                            "Payload": body.encode()})
        elif service == "events":
            await dispatcher.call(ctx, "events", "PutEvents", {"Entries": [{
                "Source": "lambda", "DetailType": detail_type, "Detail": body, "EventBusName": target}]})
        else:
            log.warning("unsupported destination %s", target)
    except AwsError as e:
        log.warning("could not deliver to %s: %s %s", target, e.code, e.message)


async def resume(app) -> None:
    """After a restart: release claims left by the previous process and run what is due."""
    store = app.store
    with store.transaction() as db:
        db.execute("UPDATE lambda_event_queue SET claimed=0 WHERE claimed=1")
        pending = db.execute("SELECT COUNT(*) FROM lambda_event_queue").fetchone()[0]
    if pending:
        wake_queue(app, store)
