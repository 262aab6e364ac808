"""The operations the benchmarks know: one table entry each.

An entry names the botocore service and operation, builds the request parameters from the
context its setup returned, and may check the verifying response's body. A later service
(S3, DynamoDB, Lambda ...) is added here as entries, not as new code paths:

    "dynamodb.GetItem": Operation("dynamodb", "GetItem", params=..., setup=...),
"""

from __future__ import annotations

import http.client
import importlib
import json
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

MESSAGE_VARIANTS = 16
QUEUED_BACKLOG = 100_000


@dataclass(frozen=True)
class Operation:
    service: str                                   # botocore service name
    operation: str                                 # PascalCase operation name
    params: Callable[[dict, int], dict]            # (setup context, variant index) -> params
    setup: Callable[[Any, str], dict] | None = None  # (load.Endpoint, unique tag) -> context
    variants: int = 1                              # distinct requests wrk rotates through
    check: Callable[[bytes], str | None] | None = None  # response body -> problem or None
    config: dict = field(default_factory=dict)     # botocore Config options (s3 addressing ...)
    connections: tuple[int, ...] | None = None     # overrides the default 1, 8, 64
    default: bool = True                           # part of a plain run
    servers: tuple[str, ...] | None = None         # limit a plain run to these servers
    description: str = ""


# --- setups ------------------------------------------------------------------------------

def _create_queue(endpoint: Any, name: str) -> str:
    return endpoint.client("sqs").create_queue(QueueName=name)["QueueUrl"]


def _empty_queue(endpoint: Any, tag: str) -> dict:
    return {"queue_url": _create_queue(endpoint, f"bench-send-{tag}")}


def _queue_with_messages(endpoint: Any, tag: str, count: int = 100) -> dict:
    url = _create_queue(endpoint, f"bench-recv-{tag}")
    sqs = endpoint.client("sqs")
    for start in range(0, count, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": f"prefilled {start + i}"} for i in range(10)],
        )
    return {"queue_url": url, "prefilled": count}


def prefill(endpoint: Any, queue_url: str, count: int, workers: int = 4) -> int:
    """Queue `count` messages fast: one signed SendMessageBatch replayed over keep-alive
    connections from several threads (identical bodies still make distinct messages)."""
    batch = endpoint.sign("sqs", "SendMessageBatch", {
        "QueueUrl": queue_url,
        "Entries": [{"Id": str(i), "MessageBody": f"backlog message {i} " + "x" * 64} for i in range(10)],
    })
    batches = count // 10
    parts = urllib.parse.urlsplit(batch.url)
    failures: list[str] = []

    def worker(share: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            for _ in range(share):
                conn.request(batch.method, batch.path, body=batch.body, headers=batch.headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200 or b"Failed\":[{" in body:
                    failures.append(f"HTTP {response.status}: {body[:200]!r}")
                    return
        finally:
            conn.close()

    shares = [batches // workers + (1 if i < batches % workers else 0) for i in range(workers)]
    threads = [threading.Thread(target=worker, args=(s,)) for s in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"prefill failed: {failures[0]}")
    return batches * 10


def _queue_with_backlog(endpoint: Any, tag: str) -> dict:
    url = _create_queue(endpoint, f"bench-backlog-{tag}")
    started = time.perf_counter()
    prefill(endpoint, url, QUEUED_BACKLOG)
    seconds = time.perf_counter() - started
    attrs = endpoint.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    queued = int(attrs.get("ApproximateNumberOfMessages", 0))
    if queued < QUEUED_BACKLOG:
        raise RuntimeError(f"only {queued} messages queued after prefill")
    return {"queue_url": url, "queued_before": queued, "prefill_s": round(seconds, 2),
            "prefill_msgs_per_s": round(queued / seconds)}


def _parameter(endpoint: Any, tag: str) -> dict:
    name = f"/bench/get/{tag}"
    endpoint.client("ssm").put_parameter(Name=name, Value="benchmark value", Type="String")
    return {"name": name}


# --- checks ------------------------------------------------------------------------------

def _received_a_message(body: bytes) -> str | None:
    return None if b"ReceiptHandle" in body else f"no message received: {body[:200]!r}"


def _parameter_value(body: bytes) -> str | None:
    try:
        value = json.loads(body)["Parameter"]["Value"]
    except (ValueError, KeyError, TypeError):
        return f"unexpected body: {body[:200]!r}"
    return None if value == "benchmark value" else f"wrong value {value!r}"


def _send_message_params(ctx: dict, i: int) -> dict:
    return {"QueueUrl": ctx["queue_url"], "MessageBody": f"benchmark message {i:02d} " + "x" * 64}


OPERATIONS: dict[str, Operation] = {
    "sqs.SendMessage": Operation(
        "sqs", "SendMessage", _send_message_params, setup=_empty_queue,
        variants=MESSAGE_VARIANTS, description="standard queue, empty at start, 16 rotating bodies",
    ),
    "sqs.ReceiveMessage": Operation(
        "sqs", "ReceiveMessage",
        lambda ctx, i: {"QueueUrl": ctx["queue_url"], "MaxNumberOfMessages": 1,
                        "WaitTimeSeconds": 0, "VisibilityTimeout": 0},
        setup=_queue_with_messages, check=_received_a_message,
        description="100 queued messages, VisibilityTimeout=0 so they stay receivable",
    ),
    "ssm.PutParameter": Operation(
        "ssm", "PutParameter",
        lambda ctx, i: {"Name": f"/bench/put/{ctx['tag']}", "Value": f"value {i}",
                        "Type": "String", "Overwrite": True},
        setup=lambda endpoint, tag: {"tag": tag}, variants=8,
        description="one parameter overwritten with 8 rotating values",
    ),
    "ssm.GetParameter": Operation(
        "ssm", "GetParameter", lambda ctx, i: {"Name": ctx["name"]},
        setup=_parameter, check=_parameter_value,
    ),
    # The baseline for @100k, measured right before it: the machine's speed drifts over minutes.
    "sqs.SendMessage@0": Operation(
        "sqs", "SendMessage", _send_message_params, setup=_empty_queue,
        variants=MESSAGE_VARIANTS, connections=(8,), servers=("haneul",),
        description="as sqs.SendMessage at 8 connections, just before sqs.SendMessage@100k",
    ),
    "sqs.SendMessage@100k": Operation(
        "sqs", "SendMessage", _send_message_params, setup=_queue_with_backlog,
        variants=MESSAGE_VARIANTS, connections=(8,), servers=("haneul",),
        description="as sqs.SendMessage, on a queue holding 100,000 messages",
    ),
}


def _merge_service_modules() -> None:
    """Other services' entries live beside this file in ops_<service>.py, each with its own
    OPERATIONS table; merge them after the foundation's. A module that fails to import is
    reported and left out, so one broken module does not stop the harness."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    this = sys.modules[__name__]
    for alias in ("operations", "benchmarks.operations"):  # one module, however imported
        sys.modules.setdefault(alias, this)
    for module in sorted(p.stem for p in Path(here).glob("ops_*.py")):
        try:
            entries = importlib.import_module(module).OPERATIONS
        except Exception as exc:  # noqa: BLE001 - anything a half-written module raises
            print(f"benchmarks: {module}.py left out: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        for name, op in entries.items():
            OPERATIONS.setdefault(name, op)


def select(tokens: list[str], server: str | None = None) -> list[str]:
    """Operation names from `--ops` tokens: an exact name is taken as asked; a service prefix
    (`sqs`, `dynamodb`) stands for that service's default operations for `server`."""
    family = server.split("-")[0] if server else None  # haneul-quiet runs what haneul runs
    chosen = []
    for token in tokens:
        if token in OPERATIONS:
            chosen.append(token)
            continue
        chosen += [n for n, o in OPERATIONS.items()
                   if n.split(".")[0] == token and o.default
                   and (family is None or o.servers is None or family in o.servers)]
    return list(dict.fromkeys(chosen))


def unknown(tokens: list[str]) -> list[str]:
    services = {n.split(".")[0] for n in OPERATIONS}
    return [t for t in tokens if t not in OPERATIONS and t not in services]


_merge_service_modules()
