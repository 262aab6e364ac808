"""DynamoDB tables through boto3: AWS's messages for missing tables, deletion protection,
streams switched on and off, UpdateTable's rules, GSI backfill, tags and TTL settings."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

KEYS = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST")


def _error(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.fixture
def ddb(aws_client):
    client = aws_client("dynamodb")
    client.create_table(TableName="t", **KEYS)
    return client


def test_missing_table_messages(ddb):
    missing = "Requested resource not found: Table: nope not found"
    assert _error(ddb.describe_table, TableName="nope") == ("ResourceNotFoundException", missing)
    assert _error(ddb.delete_table, TableName="nope") == ("ResourceNotFoundException", missing)
    assert _error(ddb.update_table, TableName="nope", BillingMode="PROVISIONED",
                  ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}) == \
        ("ResourceNotFoundException", missing)
    assert _error(ddb.describe_time_to_live, TableName="nope") == ("ResourceNotFoundException", missing)
    # item operations say less
    assert _error(ddb.get_item, TableName="nope", Key={"pk": {"S": "a"}, "sk": {"N": "1"}}) == \
        ("ResourceNotFoundException", "Requested resource not found")
    assert _error(ddb.query, TableName="nope", KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": {"S": "a"}})[0] == "ResourceNotFoundException"


def test_create_existing_table_and_describe(ddb):
    assert _error(ddb.create_table, TableName="t", **KEYS) == \
        ("ResourceInUseException", "Table already exists: t")
    table = ddb.describe_table(TableName="t")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TableArn"].endswith(":table/t") and table["ItemCount"] == 0
    assert ddb.describe_table(TableName=table["TableArn"])["Table"]["TableName"] == "t"
    ddb.get_waiter("table_exists").wait(TableName="t", WaiterConfig={"Delay": 1, "MaxAttempts": 3})


def test_deletion_protection(ddb):
    ddb.update_table(TableName="t", DeletionProtectionEnabled=True)
    assert ddb.describe_table(TableName="t")["Table"]["DeletionProtectionEnabled"] is True
    assert _error(ddb.delete_table, TableName="t") == (
        "ValidationException",
        "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
    ddb.update_table(TableName="t", DeletionProtectionEnabled=False)
    out = ddb.delete_table(TableName="t")["TableDescription"]
    assert out["TableStatus"] == "DELETING"
    assert _error(ddb.describe_table, TableName="t")[0] == "ResourceNotFoundException"


def test_update_table_needs_a_change(ddb):
    code, message = _error(ddb.update_table, TableName="t")
    assert code == "ValidationException"
    assert message.startswith("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
                              "GlobalSecondaryIndexUpdates")
    assert message.endswith("is required")


def test_stream_enable_disable_messages(ddb):
    assert _error(ddb.update_table, TableName="t", StreamSpecification={"StreamEnabled": False}) == \
        ("ValidationException", "Table has no stream to disable: TableName: t")
    assert _error(ddb.update_table, TableName="t", StreamSpecification={"StreamEnabled": True}) == (
        "ValidationException",
        "One or more parameter values were invalid: If stream is being enabled then UpdateViewType is required")
    out = ddb.update_table(TableName="t", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    arn = out["TableDescription"]["LatestStreamArn"]
    assert arn.startswith(out["TableDescription"]["TableArn"] + "/stream/")
    assert _error(ddb.update_table, TableName="t",
                  StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}) == \
        ("ValidationException", "Table already has an enabled stream: TableName: t")
    ddb.update_table(TableName="t", StreamSpecification={"StreamEnabled": False})
    streams = ddb.describe_table(TableName="t")["Table"]
    assert streams.get("StreamSpecification", {"StreamEnabled": False})["StreamEnabled"] is False
    assert _error(ddb.update_table, TableName="t", StreamSpecification={"StreamEnabled": False}) == \
        ("ValidationException", "Table has no stream to disable: TableName: t")


def test_create_without_key_schema_or_definitions(aws_client):
    ddb = aws_client("dynamodb")
    assert _error(ddb.create_table, TableName="k", BillingMode="PAY_PER_REQUEST") == (
        "ValidationException",
        "2 validation errors detected: Value null at 'attributeDefinitions' failed to satisfy constraint: "
        "Member must not be null; Value null at 'keySchema' failed to satisfy constraint: Member must not be null")


def test_create_with_stream_needs_view_type(aws_client):
    ddb = aws_client("dynamodb")
    assert _error(ddb.create_table, TableName="s", StreamSpecification={"StreamEnabled": True}, **KEYS) == (
        "ValidationException",
        "One or more parameter values were invalid: Table is being created with a stream enabled, "
        "UpdateViewType is required")


def test_gsi_backfill_and_delete(ddb):
    for i in range(30):
        item = {"pk": {"S": f"p{i}"}, "sk": {"N": str(i)}}
        if i % 3 == 0:
            item["g"] = {"S": "even" if i % 2 == 0 else "odd"}
        ddb.put_item(TableName="t", Item=item)
    out = ddb.update_table(
        TableName="t", AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "by_g", "KeySchema": [
            {"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
    assert out["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by_g"
    got = ddb.query(TableName="t", IndexName="by_g", KeyConditionExpression="g = :g",
                    ExpressionAttributeValues={":g": {"S": "even"}})
    assert [i["sk"]["N"] for i in got["Items"]] == ["0", "6", "12", "18", "24"]
    assert set(got["Items"][0]) == {"pk", "sk", "g"}
    assert ddb.scan(TableName="t", IndexName="by_g")["Count"] == 10     # sparse: only items with g
    desc = ddb.describe_table(TableName="t")["Table"]["GlobalSecondaryIndexes"][0]
    assert desc["IndexStatus"] == "ACTIVE" and desc["ItemCount"] == 10
    assert _error(ddb.update_table, TableName="t", AttributeDefinitions=[
        {"AttributeName": "g", "AttributeType": "S"}], GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}}]) == \
        ("ValidationException", "Attempting to create an index which already exists")
    ddb.update_table(TableName="t", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_g"}}])
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName="t")["Table"]
    assert _error(ddb.query, TableName="t", IndexName="by_g", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "even"}}) == \
        ("ValidationException", "The table does not have the specified index: by_g")


def test_billing_mode_switch(ddb):
    ddb.update_table(TableName="t", BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    table = ddb.describe_table(TableName="t")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    code, message = _error(ddb.update_table, TableName="t",
                           ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    assert message.startswith("The provisioned throughput for the table will not change.")


def test_tags_and_ttl_settings(ddb):
    arn = ddb.describe_table(TableName="t")["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ddb.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    code, message = _error(ddb.tag_resource, ResourceArn=arn,
                           Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert (code, message) == ("ValidationException",
                               "Number of Tags exceed the current limit for the provided ResourceArn")
    assert ddb.describe_time_to_live(TableName="t")["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    ddb.update_time_to_live(TableName="t", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert ddb.describe_time_to_live(TableName="t")["TimeToLiveDescription"] == \
        {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    assert _error(ddb.update_time_to_live, TableName="t",
                  TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}) == \
        ("ValidationException", "TimeToLive is already enabled")
    assert _error(ddb.update_time_to_live, TableName="t",
                  TimeToLiveSpecification={"Enabled": False, "AttributeName": "other"}) == \
        ("ValidationException", "TimeToLive is active on a different AttributeName: current AttributeName is exp")


def test_list_tables_pages(aws_client):
    ddb = aws_client("dynamodb")
    for name in ("ccc", "aaa", "bbb"):
        ddb.create_table(TableName=name, **KEYS)
    first = ddb.list_tables(Limit=2)
    assert first == {"TableNames": ["aaa", "bbb"], "LastEvaluatedTableName": "bbb",
                     "ResponseMetadata": first["ResponseMetadata"]}
    assert ddb.list_tables(ExclusiveStartTableName="bbb")["TableNames"] == ["ccc"]
    names = [n for page in ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 1})
             for n in page["TableNames"]]
    assert names == ["aaa", "bbb", "ccc"]
