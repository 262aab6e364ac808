"""DynamoDB benchmark operations, and a check that Query latency stays flat as a table grows.

Operations (merge into operations.OPERATIONS: `OPERATIONS.update(ops_dynamodb.OPERATIONS)`):

    dynamodb.PutItem            16 rotating items into an empty table
    dynamodb.GetItem            one stored item
    dynamodb.Query              100 items of one partition of a 10,000-item table (every server)
    dynamodb.Query@1M           the same query on a 1,000,000-item table (Haneul only: the prefill
                                goes over HTTP, minutes for Haneul and far longer for the peers)
    dynamodb.UpdateItem         SET n = n + :one with ConditionExpression attribute_exists(pk)
    dynamodb.TransactWriteItems two Puts and a ConditionCheck in one transaction

Query scaling without HTTP (builds tables by writing rows through the storage layer):

    .venv/bin/python benchmarks/ops_dynamodb.py scaling [--sizes 1000,10000,100000,1000000]

prints SQLite's plan for the Query (it must be an index range read) and the median latency
of the service's query method at each size.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.operations import Operation
else:
    from .operations import Operation

TABLE_KEYS = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
              "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                       {"AttributeName": "sk", "AttributeType": "N"}],
              "BillingMode": "PAY_PER_REQUEST"}
PARTITION = 100            # items per partition: a Query returns exactly one partition
PAYLOAD = "x" * 100        # each item carries ~130 bytes


def _item(i: int) -> dict:
    return {"pk": {"S": f"p{i // PARTITION:07d}"}, "sk": {"N": str(i % PARTITION)}, "v": {"S": PAYLOAD},
            "n": {"N": str(i)}}


def _table(endpoint: Any, name: str) -> None:
    ddb = endpoint.client("dynamodb")
    ddb.create_table(TableName=name, **TABLE_KEYS)
    for _ in range(100):
        if ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
            return
        time.sleep(0.1)


def prefill(endpoint: Any, table: str, count: int, workers: int = 4) -> None:
    """`count` items through signed BatchWriteItem requests (25 items each) replayed over
    keep-alive connections from several threads."""
    batches = (count + 24) // 25
    failures: list[str] = []

    def worker(first: int) -> None:
        conn = None
        signer = type(endpoint)(endpoint.url)        # botocore clients are not shared between threads
        try:
            for b in range(first, batches, workers):
                items = [_item(i) for i in range(b * 25, min(count, b * 25 + 25))]
                req = signer.sign("dynamodb", "BatchWriteItem", {
                    "RequestItems": {table: [{"PutRequest": {"Item": it}} for it in items]}})
                if conn is None:
                    parts = urllib.parse.urlsplit(req.url)
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200 or b'"UnprocessedItems":{}' not in body.replace(b" ", b""):
                    failures.append(f"HTTP {response.status}: {body[:200]!r}")
                    return
        except Exception as e:          # noqa: BLE001 - reported by the caller
            failures.append(repr(e))
        finally:
            if conn is not None:
                conn.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"prefill failed: {failures[0]}")


# --- setups ------------------------------------------------------------------------------

def _empty_table(endpoint: Any, tag: str) -> dict:
    name = f"bench-put-{tag}"
    _table(endpoint, name)
    return {"table": name}


def _one_item(endpoint: Any, tag: str, prefix: str = "bench-get") -> dict:
    name = f"{prefix}-{tag}"
    _table(endpoint, name)
    endpoint.client("dynamodb").put_item(TableName=name, Item={**_item(0), "n": {"N": "0"}})
    return {"table": name}


def _filled(count: int):
    def setup(endpoint: Any, tag: str) -> dict:
        name = f"bench-query-{count}-{tag}"
        _table(endpoint, name)
        started = time.perf_counter()
        prefill(endpoint, name, count)
        seconds = time.perf_counter() - started
        return {"table": name, "items": count, "prefill_s": round(seconds, 1),
                "partition": f"p{(count // PARTITION) // 2:07d}"}
    return setup


def _transact_table(endpoint: Any, tag: str) -> dict:
    name = f"bench-tx-{tag}"
    _table(endpoint, name)
    endpoint.client("dynamodb").put_item(TableName=name, Item={"pk": {"S": "guard"}, "sk": {"N": "0"}})
    return {"table": name}


# --- checks ------------------------------------------------------------------------------

def _has_item(body: bytes) -> str | None:
    return None if b'"Item"' in body else f"no item: {body[:200]!r}"


def _hundred_items(body: bytes) -> str | None:
    try:
        count = json.loads(body)["Count"]
    except (ValueError, KeyError):
        return f"unexpected body: {body[:200]!r}"
    return None if count == PARTITION else f"{count} items, expected {PARTITION}"


def _query(ctx: dict, i: int) -> dict:
    return {"TableName": ctx["table"], "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": ctx["partition"]}}}


OPERATIONS: dict[str, Operation] = {
    "dynamodb.PutItem": Operation(
        "dynamodb", "PutItem", lambda ctx, i: {"TableName": ctx["table"], "Item": _item(i)},
        setup=_empty_table, variants=16, description="an empty table, 16 rotating ~130-byte items"),
    "dynamodb.GetItem": Operation(
        "dynamodb", "GetItem", lambda ctx, i: {"TableName": ctx["table"], "Key": {"pk": _item(0)["pk"],
                                                                                  "sk": _item(0)["sk"]}},
        setup=_one_item, check=_has_item, description="one stored item"),
    "dynamodb.Query": Operation(
        "dynamodb", "Query", _query, setup=_filled(10_000), check=_hundred_items,
        description="100 items (one partition) of a 10,000-item table"),
    "dynamodb.Query@1M": Operation(
        "dynamodb", "Query", _query, setup=_filled(1_000_000), check=_hundred_items, connections=(8,),
        servers=("haneul",), default=False,
        description="100 items (one partition) of a 1,000,000-item table, prefilled over HTTP"),
    "dynamodb.UpdateItem": Operation(
        "dynamodb", "UpdateItem",
        lambda ctx, i: {"TableName": ctx["table"], "Key": {"pk": _item(0)["pk"], "sk": _item(0)["sk"]},
                        "UpdateExpression": "SET n = n + :one", "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}},
        setup=lambda endpoint, tag: _one_item(endpoint, tag, "bench-update"),
        description="SET n = n + 1 on one item, under attribute_exists(pk)"),
    "dynamodb.TransactWriteItems": Operation(
        "dynamodb", "TransactWriteItems",
        lambda ctx, i: {"TransactItems": [
            {"Put": {"TableName": ctx["table"], "Item": {"pk": {"S": f"a{i}"}, "sk": {"N": "1"}, "v": {"S": "x"}}}},
            {"Put": {"TableName": ctx["table"], "Item": {"pk": {"S": f"b{i}"}, "sk": {"N": "1"}, "v": {"S": "y"}}}},
            {"ConditionCheck": {"TableName": ctx["table"], "Key": {"pk": {"S": "guard"}, "sk": {"N": "0"}},
                                "ConditionExpression": "attribute_exists(pk)"}}]},
        setup=_transact_table, variants=8, description="two Puts and a ConditionCheck, 8 rotating key pairs"),
}


# --- Query scaling, without HTTP -------------------------------------------------------------

def scaling(sizes: list[int], runs: int = 200) -> list[dict]:
    import tempfile

    from haneul.context import RequestContext
    from haneul.services.dynamodb import storage
    from haneul.services.dynamodb.service import DynamoDB
    from haneul.store import Store

    tmp = tempfile.TemporaryDirectory(prefix="haneul-ddb-scaling-")
    store = Store(tmp.name)
    store.migrate("dynamodb", DynamoDB.SCHEMA)
    svc = DynamoDB()
    ctx = RequestContext(account="000000000000", region="us-east-1", store=store)

    def call(method: str, req: dict) -> dict:
        with store.transaction() as db:
            ctx.db = db
            return getattr(svc, method)(ctx, req)

    call("create_table", {"TableName": "scale", **TABLE_KEYS})
    with store.transaction() as db:
        table = storage.Tables(db, ctx.account, ctx.region).get("scale")
    results, have = [], 0
    for size in sorted(sizes):
        started = time.perf_counter()
        while have < size:
            chunk = min(size, have + 50_000)
            rows = []
            for i in range(have, chunk):
                item = _item(i)
                hk, rk = table.schema.encoded(item)
                rows.append((table.id, hk, rk, storage.dump_item(item), 130, None))
            with store.transaction() as db:
                db.executemany("INSERT INTO ddb_item(tid, hk, rk, item, size, expires) VALUES(?,?,?,?,?,?)", rows)
                db.execute("UPDATE ddb_table SET item_count=item_count+? WHERE id=?", (len(rows), table.id))
            have = chunk
        built = time.perf_counter() - started
        with store.transaction() as db:
            db.execute("ANALYZE")
        partition = f"p{(size // PARTITION) // 2:07d}"
        req = {"TableName": "scale", "KeyConditionExpression": "pk = :p",
               "ExpressionAttributeValues": {":p": {"S": partition}}}
        assert call("query", req)["Count"] == PARTITION
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            call("query", req)
            times.append(time.perf_counter() - t0)
        times.sort()
        with store.transaction() as db:
            plan = [r[3] for r in db.execute(
                "EXPLAIN QUERY PLAN SELECT hk, rk, item, size FROM ddb_item WHERE tid=? AND hk=? ORDER BY rk",
                (table.id, b"x"))]
        results.append({"items": size, "build_s": round(built, 1), "p50_ms": round(times[len(times) // 2] * 1e3, 3),
                        "p90_ms": round(times[int(len(times) * 0.9)] * 1e3, 3), "plan": plan})
        print(json.dumps(results[-1]), flush=True)
    store.close()
    tmp.cleanup()
    return results


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scaling", help="Query latency as a table grows (no HTTP)")
    s.add_argument("--sizes", default="1000,10000,100000,1000000")
    s.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    if args.command == "scaling":
        scaling([int(x) for x in args.sizes.split(",")], args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
