"""DynamoDB through boto3: client and resource APIs, batch writer, waiters, errors,
indexes, transactions, streams, and conditional updates raced by 64 clients."""

from __future__ import annotations

import threading
from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config
from botocore.exceptions import ClientError


def _create(ddb, name="t", more=(), **extra):
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "N"}, *more], **extra)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})


def _resource(haneul_server, aws_account):
    return boto3.resource("dynamodb", endpoint_url=haneul_server.endpoint, region_name="us-east-1",
                          aws_access_key_id=aws_account, aws_secret_access_key="x")


def test_resource_batch_writer_query_and_scan(aws_client, haneul_server, aws_account):
    _create(aws_client("dynamodb"))
    table = _resource(haneul_server, aws_account).Table("t")
    with table.batch_writer() as batch:
        for i in range(120):
            batch.put_item(Item={"pk": f"p{i % 3}", "sk": i, "tags": {"a", "b"}, "doc": {"n": [1, Decimal("2.5")]}})
    out = table.query(KeyConditionExpression=Key("pk").eq("p1") & Key("sk").between(10, 40),
                      FilterExpression=Attr("doc.n[1]").gt(2), ScanIndexForward=False)
    assert [i["sk"] for i in out["Items"]] == [s for s in range(40, 9, -1) if s % 3 == 1]
    assert out["Items"][0]["tags"] == {"a", "b"}
    total, start = 0, None
    while True:
        kw = {"Limit": 50, **({"ExclusiveStartKey": start} if start else {})}
        page = table.scan(**kw)
        total += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert total == 120


def test_update_expressions_and_errors(aws_client):
    ddb = aws_client("dynamodb")
    _create(ddb)
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    out = ddb.update_item(TableName="t", Key=key, UpdateExpression="SET #c = if_not_exists(#c, :z) + :one, l = :l",
                          ExpressionAttributeNames={"#c": "count"},
                          ExpressionAttributeValues={":z": {"N": "0"}, ":one": {"N": "1"}, ":l": {"L": []}},
                          ReturnValues="ALL_NEW")
    assert out["Attributes"]["count"] == {"N": "1"}
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName="t", Key=key, UpdateExpression="SET count = :v",
                        ExpressionAttributeValues={":v": {"N": "1"}})
    assert e.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: count"}
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName="t", Item=key, ConditionExpression="attribute_not_exists(pk)",
                     ExpressionAttributeValues={":v": {"N": "1"}})
    assert e.value.response["Error"]["Message"] == \
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}"
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException) as e:
        ddb.put_item(TableName="t", Item=key, ConditionExpression="attribute_not_exists(pk)",
                     ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert e.value.response["Item"]["count"] == {"N": "1"}
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.get_item(TableName="missing", Key=key)


def test_gsi_transactions_and_streams(aws_client):
    ddb = aws_client("dynamodb")
    _create(ddb, GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                          "Projection": {"ProjectionType": "ALL"}}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            more=[{"AttributeName": "g", "AttributeType": "S"}])
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "x"}}}},
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}}}}])
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as e:
        ddb.transact_write_items(TransactItems=[
            {"Delete": {"TableName": "t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}},
                                "ConditionExpression": "attribute_exists(g)"}}])
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    got = ddb.query(TableName="t", IndexName="by_g", KeyConditionExpression="g = :g",
                    ExpressionAttributeValues={":g": {"S": "x"}})
    assert got["Count"] == 1
    ddb.delete_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    streams = aws_client("dynamodbstreams")
    arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "REMOVE"]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs)


def test_deletion_protection_and_tags(aws_client):
    ddb = aws_client("dynamodb")
    _create(ddb, DeletionProtectionEnabled=True, Tags=[{"Key": "team", "Value": "sky"}])
    arn = ddb.describe_table(TableName="t")["Table"]["TableArn"]
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "sky"}]
    with pytest.raises(ClientError):
        ddb.delete_table(TableName="t")
    ddb.update_table(TableName="t", DeletionProtectionEnabled=False)
    assert ddb.delete_table(TableName="t")["TableDescription"]["TableStatus"] == "DELETING"


def test_64_clients_race_conditional_increments(haneul_server, aws_account):
    ddb = boto3.client("dynamodb", endpoint_url=haneul_server.endpoint, region_name="us-east-1",
                       aws_access_key_id=aws_account, aws_secret_access_key="x",
                       config=Config(max_pool_connections=64, retries={"max_attempts": 1}))
    _create(ddb)
    keys = [{"pk": {"S": f"k{i}"}, "sk": {"N": "0"}} for i in range(4)]
    for k in keys:
        ddb.put_item(TableName="t", Item={**k, "n": {"N": "0"}, "version": {"N": "0"}})
    per_thread, errors = 5, []

    def worker(t):
        key = keys[t % len(keys)]
        done = 0
        try:
            while done < per_thread:
                item = ddb.get_item(TableName="t", Key=key, ConsistentRead=True)["Item"]
                v = item["version"]["N"]
                try:
                    ddb.update_item(TableName="t", Key=key, UpdateExpression="SET n = n + :one, version = :next",
                                    ConditionExpression="version = :v",
                                    ExpressionAttributeValues={":one": {"N": "1"}, ":v": {"N": v},
                                                               ":next": {"N": str(int(v) + 1)}})
                    done += 1
                except ddb.exceptions.ConditionalCheckFailedException:
                    pass
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(64)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    total = sum(int(ddb.get_item(TableName="t", Key=k)["Item"]["n"]["N"]) for k in keys)
    assert total == 64 * per_thread
