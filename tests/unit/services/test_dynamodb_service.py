"""DynamoDB service methods called directly (tables, items, Query/Scan, indexes,
transactions, TTL, streams)."""

from __future__ import annotations

import pytest

from haneul.errors import AwsError
from haneul.services.dynamodb.service import DynamoDB
from haneul.services.dynamodbstreams.service import DynamoDBStreams
from tests.unit.services.helpers import Harness

KEYS = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
        "BillingMode": "PAY_PER_REQUEST"}


@pytest.fixture
def h():
    h = Harness(DynamoDB)
    h.call("create_table", {"TableName": "t", **KEYS})
    return h


def put(h, pk, sk, **attrs):
    item = {"pk": {"S": pk}, "sk": {"N": str(sk)}, **{k: v for k, v in attrs.items()}}
    h.call("put_item", {"TableName": "t", "Item": item})


def err(h, method, req):
    with pytest.raises(AwsError) as e:
        h.call(method, req)
    return e.value


def test_create_reports_creating_then_active(h):
    out = h.call("create_table", {"TableName": "u", **KEYS})
    assert out["TableDescription"]["TableStatus"] == "CREATING"
    assert h.call("describe_table", {"TableName": "u"})["Table"]["TableStatus"] == "ACTIVE"
    assert err(h, "create_table", {"TableName": "u", **KEYS}).code == "ResourceInUseException"
    assert h.call("list_tables", {"Limit": 1}) == {"TableNames": ["t"], "LastEvaluatedTableName": "t"}


def test_create_validation(h):
    bad = dict(KEYS, AttributeDefinitions=KEYS["AttributeDefinitions"] + [{"AttributeName": "x", "AttributeType": "S"}])
    assert err(h, "create_table", {"TableName": "v", **bad}).message == (
        "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match "
        "number of attributes defined in AttributeDefinitions")
    prov = dict(KEYS, BillingMode="PROVISIONED")
    assert "must both be specified when BillingMode is PROVISIONED" in err(h, "create_table", {"TableName": "v", **prov}).message


def test_items_and_return_values(h):
    put(h, "a", 1, v={"S": "x"})
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    out = h.call("update_item", {"TableName": "t", "Key": key, "UpdateExpression": "SET v = :y, w = :y",
                                 "ExpressionAttributeValues": {":y": {"S": "y"}}, "ReturnValues": "UPDATED_OLD"})
    assert out["Attributes"] == {"v": {"S": "x"}}
    out = h.call("delete_item", {"TableName": "t", "Key": key, "ReturnValues": "ALL_OLD"})
    assert out["Attributes"]["w"] == {"S": "y"}
    assert h.call("get_item", {"TableName": "t", "Key": key}) == {}
    assert err(h, "get_item", {"TableName": "t", "Key": {"pk": {"S": "a"}}}).message == \
        "The provided key element does not match the schema"
    assert err(h, "get_item", {"TableName": "nope", "Key": key}).code == "ResourceNotFoundException"
    e = err(h, "put_item", {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}}})
    assert e.message == "One or more parameter values were invalid: Type mismatch for key sk expected: N actual: S"


def test_condition_failure_returns_old_item(h):
    put(h, "a", 1, v={"S": "x"})
    e = err(h, "put_item", {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    assert e.code == "ConditionalCheckFailedException" and e.fields["Item"]["v"] == {"S": "x"}


def test_item_size_limit(h):
    e = err(h, "put_item", {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "b": {"S": "x" * 409600}}})
    assert e.message == "Item size has exceeded the maximum allowed size"


def test_query_order_limit_and_paging(h):
    for i in range(-5, 5):
        put(h, "a", i)
    put(h, "b", 0)
    req = {"TableName": "t", "KeyConditionExpression": "pk = :p AND sk >= :z",
           "ExpressionAttributeValues": {":p": {"S": "a"}, ":z": {"N": "-2"}}, "Limit": 4, "ScanIndexForward": False}
    page = h.call("query", req)
    assert [i["sk"]["N"] for i in page["Items"]] == ["4", "3", "2", "1"]
    page = h.call("query", dict(req, ExclusiveStartKey=page["LastEvaluatedKey"]))
    assert [i["sk"]["N"] for i in page["Items"]] == ["0", "-1", "-2"] and "LastEvaluatedKey" not in page
    count = h.call("query", {"TableName": "t", "KeyConditionExpression": "pk = :p", "Select": "COUNT",
                             "ExpressionAttributeValues": {":p": {"S": "a"}}})
    assert count == {"Count": 10, "ScannedCount": 10}
    e = err(h, "query", {"TableName": "t", "KeyConditionExpression": "sk = :z",
                         "ExpressionAttributeValues": {":z": {"N": "1"}}})
    assert e.message == "Query condition missed key schema element: pk"


def test_parallel_scan_covers_every_item_once(h):
    for i in range(50):
        put(h, f"p{i}", i)
    seen = []
    for seg in range(4):
        seen += [i["pk"]["S"] for i in h.call("scan", {"TableName": "t", "Segment": seg, "TotalSegments": 4})["Items"]]
    assert sorted(seen) == sorted(f"p{i}" for i in range(50))


def test_gsi_backfill_sparse_and_projection(h):
    put(h, "a", 1, g={"S": "x"}, other={"S": "o"})
    put(h, "a", 2)
    h.call("update_table", {"TableName": "t", "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
                            "GlobalSecondaryIndexUpdates": [{"Create": {
                                "IndexName": "gi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}}]})
    put(h, "b", 3, g={"S": "x"})
    out = h.call("query", {"TableName": "t", "IndexName": "gi", "KeyConditionExpression": "g = :g",
                           "ExpressionAttributeValues": {":g": {"S": "x"}}})
    assert out["Count"] == 2 and all("other" not in i for i in out["Items"])
    assert h.call("scan", {"TableName": "t", "IndexName": "gi"})["Count"] == 2


def test_transactions(h):
    put(h, "a", 1, n={"N": "1"})
    items = [{"Update": {"TableName": "t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                         "UpdateExpression": "SET n = n + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
             {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}},
                                 "ConditionExpression": "attribute_exists(pk)"}}]
    e = err(h, "transact_write_items", {"TransactItems": items})
    assert e.code == "TransactionCanceledException"
    assert [r["Code"] for r in e.fields["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    h.call("transact_write_items", {"TransactItems": items[:1], "ClientRequestToken": "tok"})
    h.call("transact_write_items", {"TransactItems": items[:1], "ClientRequestToken": "tok"})   # idempotent
    got = h.call("transact_get_items", {"TransactItems": [{"Get": {"TableName": "t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}}]})
    assert got["Responses"][0]["Item"]["n"] == {"N": "2"}


def test_ttl_deletes_expired_items_with_service_stream_record(h):
    h.call("update_table", {"TableName": "t", "StreamSpecification": {"StreamEnabled": True,
                                                                       "StreamViewType": "NEW_AND_OLD_IMAGES"}})
    h.call("update_time_to_live", {"TableName": "t", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "exp"}})
    put(h, "a", 1, exp={"N": str(int(h.clock.t) + 10)})
    put(h, "a", 2, exp={"N": str(int(h.clock.t) + 1000)})
    h.clock.advance(60)
    assert h.call("scan", {"TableName": "t"})["Count"] == 2      # expired items stay until the sweeper runs
    import asyncio
    from haneul.services.dynamodb import ttl
    assert asyncio.run(ttl.sweep_once(h.store, clock=h.clock)) == 1
    assert h.call("scan", {"TableName": "t"})["Count"] == 1
    streams = Harness(DynamoDBStreams, store=h.store)
    streams.clock = h.clock
    arn = streams.call("list_streams", {"TableName": "t"})["Streams"][0]["StreamArn"]
    shard = streams.call("describe_stream", {"StreamArn": arn})["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.call("get_shard_iterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})
    records = streams.call("get_records", {"ShardIterator": it["ShardIterator"]})["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "REMOVE"]
    assert records[2]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert records[2]["dynamodb"]["OldImage"]["sk"] == {"N": "1"}
