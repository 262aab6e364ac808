"""The TTL sweeper: expired items deleted in small batches with REMOVE stream records from
the service principal; start/stop hooks run and end the background task."""

from __future__ import annotations

import asyncio

from haneul.services import dynamodb as ddb_package
from haneul.services.dynamodb import ttl
from haneul.services.dynamodb.service import DynamoDB
from haneul.services.dynamodbstreams.service import DynamoDBStreams
from tests.unit.services.helpers import Harness

KEYS = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}


def _table(h, name="t", stream=True):
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "OLD_IMAGE"}} if stream else {}
    h.call("create_table", {"TableName": name, **KEYS, **extra})
    h.call("update_time_to_live", {"TableName": name,
                                   "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "exp"}})


def _put(h, pk, exp, table="t"):
    item = {"pk": {"S": pk}}
    if exp is not None:
        item["exp"] = {"N": str(exp)}
    h.call("put_item", {"TableName": table, "Item": item})


def _records(h, table="t"):
    s = Harness(DynamoDBStreams, store=h.store)
    s.clock = h.clock
    arn = s.call("list_streams", {"TableName": table})["Streams"][0]["StreamArn"]
    shard = s.call("describe_stream", {"StreamArn": arn})["StreamDescription"]["Shards"][0]["ShardId"]
    it = s.call("get_shard_iterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})
    return s.call("get_records", {"ShardIterator": it["ShardIterator"]})["Records"]


def test_sweep_deletes_only_expired_items_in_batches():
    h = Harness(DynamoDB)
    _table(h)
    now = int(h.clock.t)
    for i in range(60):
        _put(h, f"old{i}", now - 10)
    _put(h, "future", now + 3600)
    _put(h, "no-ttl", None)
    _put(h, "text-ttl", None)
    h.call("put_item", {"TableName": "t", "Item": {"pk": {"S": "s"}, "exp": {"S": "1"}}})   # not a number
    _put(h, "ancient", now - 6 * 365 * 86400)        # more than five years old: ignored by DynamoDB
    assert asyncio.run(ttl.sweep_once(h.store, clock=h.clock)) == 60
    left = sorted(i["pk"]["S"] for i in h.call("scan", {"TableName": "t"})["Items"])
    assert left == ["ancient", "future", "no-ttl", "s", "text-ttl"]
    removes = [r for r in _records(h) if r["eventName"] == "REMOVE"]
    assert len(removes) == 60
    assert all(r["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"} for r in removes)
    assert removes[0]["dynamodb"]["OldImage"]["exp"] == {"N": str(now - 10)}
    assert asyncio.run(ttl.sweep_once(h.store, clock=h.clock)) == 0


def test_sweep_skips_tables_without_ttl_and_caps_each_pass(monkeypatch):
    h = Harness(DynamoDB)
    _table(h, stream=False)
    h.call("create_table", {"TableName": "plain", **KEYS})
    now = int(h.clock.t)
    for i in range(30):
        _put(h, f"x{i}", now - 1)
        _put(h, f"x{i}", now - 1, table="plain")
    monkeypatch.setattr(ttl, "PER_TABLE", 10)
    monkeypatch.setattr(ttl, "BATCH", 5)
    assert asyncio.run(ttl.sweep_once(h.store, clock=h.clock)) == 10
    assert h.call("describe_table", {"TableName": "plain"})["Table"]["ItemCount"] == 30
    h.call("update_time_to_live", {"TableName": "t", "TimeToLiveSpecification": {"Enabled": False,
                                                                                  "AttributeName": "exp"}})
    assert asyncio.run(ttl.sweep_once(h.store, clock=h.clock)) == 0


def test_start_and_stop_run_the_sweeper(monkeypatch):
    h = Harness(DynamoDB)
    _table(h, stream=False)
    _put(h, "old", 1)              # expired more than five years ago: DynamoDB leaves it

    class Dispatcher:
        def service(self, name):
            return None

    class App:
        store = h.store
        dispatcher = Dispatcher()

    import time
    h.call("put_item", {"TableName": "t", "Item": {"pk": {"S": "now"}, "exp": {"N": str(int(time.time()) - 5)}}})
    monkeypatch.setattr(ttl, "INTERVAL", 0.01)

    async def scenario():
        app = App()
        await ddb_package.start(app)
        for _ in range(100):
            await asyncio.sleep(0.01)
            with h.store.transaction() as db:
                if db.execute("SELECT COUNT(*) FROM ddb_item").fetchone()[0] == 1:
                    break
        await ddb_package.stop(app)
        assert app not in ddb_package._sweepers
    asyncio.run(scenario())
    items = h.call("scan", {"TableName": "t"}, clock=lambda: 0.0)["Items"]
    assert [i["pk"]["S"] for i in items] == ["old"]      # exp=1 is more than five years back: kept
