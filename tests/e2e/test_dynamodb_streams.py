"""DynamoDB Streams through boto3: view types, every shard iterator type, records in order,
a disabled stream's closed shard, and TTL deletions as service REMOVE records."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from haneul import registry

KEYS = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")


def _stream(ddb, streams, view):
    ddb.create_table(TableName="t", StreamSpecification={"StreamEnabled": True, "StreamViewType": view}, **KEYS)
    arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    return arn, shard


def _read(streams, arn, shard, kind="TRIM_HORIZON", **kw):
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **kw)["ShardIterator"]
    return streams.get_records(ShardIterator=it)


def _changes(ddb):
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "2"}})
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "v": {"N": "2"}})       # no change: no record
    ddb.delete_item(TableName="t", Key={"pk": {"S": "a"}})
    ddb.delete_item(TableName="t", Key={"pk": {"S": "a"}})                      # nothing to delete: no record


@pytest.mark.parametrize("view,images", [
    ("KEYS_ONLY", [set(), set(), set()]),
    ("NEW_IMAGE", [{"NewImage"}, {"NewImage"}, set()]),
    ("OLD_IMAGE", [set(), {"OldImage"}, {"OldImage"}]),
    ("NEW_AND_OLD_IMAGES", [{"NewImage"}, {"NewImage", "OldImage"}, {"OldImage"}]),
])
def test_view_types(aws_client, view, images):
    ddb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    arn, shard = _stream(ddb, streams, view)
    _changes(ddb)
    records = _read(streams, arn, shard)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for record, want in zip(records, images):
        body = record["dynamodb"]
        assert body["Keys"] == {"pk": {"S": "a"}} and body["StreamViewType"] == view
        assert {k for k in body if k.endswith("Image")} == want
        assert record["eventSource"] == "aws:dynamodb" and record["awsRegion"] == "us-east-1"
    if view == "NEW_AND_OLD_IMAGES":
        assert records[1]["dynamodb"]["OldImage"]["v"] == {"N": "1"}
        assert records[1]["dynamodb"]["NewImage"]["v"] == {"N": "2"}


def test_iterator_types_and_order(aws_client):
    ddb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    arn, shard = _stream(ddb, streams, "KEYS_ONLY")
    for i in range(5):
        ddb.put_item(TableName="t", Item={"pk": {"S": f"k{i}"}})
    records = _read(streams, arn, shard)["Records"]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == [f"k{i}" for i in range(5)]
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs)
    at = _read(streams, arn, shard, "AT_SEQUENCE_NUMBER", SequenceNumber=seqs[2])["Records"]
    assert [r["dynamodb"]["SequenceNumber"] for r in at] == seqs[2:]
    after = _read(streams, arn, shard, "AFTER_SEQUENCE_NUMBER", SequenceNumber=seqs[2])["Records"]
    assert [r["dynamodb"]["SequenceNumber"] for r in after] == seqs[3:]
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    out = streams.get_records(ShardIterator=latest)
    assert out["Records"] == []
    ddb.put_item(TableName="t", Item={"pk": {"S": "k5"}})
    nxt = streams.get_records(ShardIterator=out["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in nxt["Records"]] == ["k5"]
    limited = streams.get_records(ShardIterator=streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"], Limit=2)
    assert len(limited["Records"]) == 2
    rest = streams.get_records(ShardIterator=limited["NextShardIterator"])["Records"]
    assert [r["dynamodb"]["SequenceNumber"] for r in rest][:3] == seqs[2:]
    with pytest.raises(ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="LATEST")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_disabled_stream_closes_its_shard(aws_client):
    ddb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    arn, shard = _stream(ddb, streams, "KEYS_ONLY")
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}})
    ddb.update_table(TableName="t", StreamSpecification={"StreamEnabled": False})
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "DISABLED"
    assert "EndingSequenceNumber" in desc["Shards"][0]["SequenceNumberRange"]
    ddb.put_item(TableName="t", Item={"pk": {"S": "b"}})            # not recorded
    out = _read(streams, arn, shard)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in out["Records"]] == ["a"]
    assert "NextShardIterator" not in streams.get_records(ShardIterator=out["NextShardIterator"]) \
        if "NextShardIterator" in out else True
    listed = streams.list_streams()["Streams"]
    assert [(s["StreamArn"], s["TableName"]) for s in listed] == [(arn, "t")]
    with pytest.raises(ClientError) as e:
        streams.describe_stream(StreamArn=arn + "x")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.skipif("dynamodb" not in registry.ENGINES, reason="the TTL sweeper is not registered in ENGINES yet")
def test_ttl_sweeper_deletes_expired_items_with_service_records(aws_client):
    ddb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    arn, shard = _stream(ddb, streams, "OLD_IMAGE")
    ddb.update_time_to_live(TableName="t", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.put_item(TableName="t", Item={"pk": {"S": "gone"}, "exp": {"N": str(int(time.time()) - 5)}})
    ddb.put_item(TableName="t", Item={"pk": {"S": "kept"}, "exp": {"N": str(int(time.time()) + 3600)}})
    deadline = time.time() + 10
    while time.time() < deadline and ddb.scan(TableName="t")["Count"] == 2:
        time.sleep(0.2)
    assert [i["pk"]["S"] for i in ddb.scan(TableName="t")["Items"]] == ["kept"]
    remove = _read(streams, arn, shard)["Records"][-1]
    assert remove["eventName"] == "REMOVE"
    assert remove["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
