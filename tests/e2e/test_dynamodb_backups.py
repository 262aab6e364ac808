"""DynamoDB backups, point-in-time recovery, exports to S3, imports, resource policies and
Kinesis streaming destinations through boto3."""

from __future__ import annotations

import gzip
import json

import pytest
from botocore.exceptions import ClientError

TABLE = dict(
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
    GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                             "Projection": {"ProjectionType": "ALL"}}],
    BillingMode="PAY_PER_REQUEST")


def _error(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.fixture
def ddb(aws_client):
    client = aws_client("dynamodb")
    client.create_table(TableName="src", **TABLE)
    for i in range(5):
        client.put_item(TableName="src", Item={"pk": {"S": f"k{i}"}, "g": {"S": "x"}, "b": {"B": bytes([i])}})
    return client


def test_backup_and_restore_copy_items(ddb):
    details = ddb.create_backup(TableName="src", BackupName="nightly")["BackupDetails"]
    assert details["BackupStatus"] == "AVAILABLE" and details["BackupType"] == "USER"
    arn = details["BackupArn"]
    ddb.put_item(TableName="src", Item={"pk": {"S": "after"}})        # not in the backup
    desc = ddb.describe_backup(BackupArn=arn)["BackupDescription"]
    assert desc["SourceTableDetails"]["ItemCount"] == 5 and desc["SourceTableDetails"]["TableName"] == "src"
    assert desc["SourceTableFeatureDetails"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by_g"
    assert [b["BackupArn"] for b in ddb.list_backups(TableName="src")["BackupSummaries"]] == [arn]
    out = ddb.restore_table_from_backup(TargetTableName="copy", BackupArn=arn)["TableDescription"]
    assert out["RestoreSummary"]["SourceBackupArn"] == arn
    assert ddb.scan(TableName="copy", Select="COUNT")["Count"] == 5
    assert ddb.query(TableName="copy", IndexName="by_g", KeyConditionExpression="g = :g",
                     ExpressionAttributeValues={":g": {"S": "x"}})["Count"] == 5
    assert ddb.get_item(TableName="copy", Key={"pk": {"S": "k3"}})["Item"]["b"] == {"B": b"\x03"}
    assert _error(ddb.restore_table_from_backup, TargetTableName="copy", BackupArn=arn) == \
        ("TableAlreadyExistsException", "Table already exists: copy")
    ddb.delete_table(TableName="src")
    assert ddb.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]["BackupName"] == "nightly"
    assert ddb.delete_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]["BackupStatus"] == "DELETED"
    assert _error(ddb.describe_backup, BackupArn=arn) == ("BackupNotFoundException", f"Backup not found: {arn}")
    assert _error(ddb.create_backup, TableName="nope", BackupName="bak") == \
        ("TableNotFoundException", "Table not found: nope")


def test_point_in_time_recovery(ddb):
    out = ddb.describe_continuous_backups(TableName="src")["ContinuousBackupsDescription"]
    assert out["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    assert _error(ddb.restore_table_to_point_in_time, SourceTableName="src", TargetTableName="pitr",
                  UseLatestRestorableTime=True) == \
        ("PointInTimeRecoveryUnavailableException", "Point in time recovery is not enabled for table 'src'")
    out = ddb.update_continuous_backups(TableName="src", PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7})["ContinuousBackupsDescription"]
    assert out["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert out["PointInTimeRecoveryDescription"]["RecoveryPeriodInDays"] == 7
    assert _error(ddb.update_continuous_backups, TableName="src", PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": False, "RecoveryPeriodInDays": 7}) == (
        "ValidationException",
        "Invalid Request: Cannot specify RecoveryPeriodInDays when disabling point-in-time recovery.")
    assert _error(ddb.restore_table_to_point_in_time, SourceTableName="src", TargetTableName="pitr") == (
        "ValidationException",
        "Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must be specified, but not both")
    ddb.restore_table_to_point_in_time(SourceTableName="src", TargetTableName="pitr", UseLatestRestorableTime=True)
    assert ddb.scan(TableName="pitr", Select="COUNT")["Count"] == 5


def test_export_writes_dynamodb_json_to_s3(ddb, aws_client):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="exports-bucket")
    arn = ddb.describe_table(TableName="src")["Table"]["TableArn"]
    assert _error(ddb.export_table_to_point_in_time, TableArn=arn, S3Bucket="exports-bucket")[0] == \
        "PointInTimeRecoveryUnavailableException"
    ddb.update_continuous_backups(TableName="src", PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True})
    desc = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports-bucket", S3Prefix="snap")[
        "ExportDescription"]
    assert desc["ExportStatus"] == "COMPLETED" and desc["ItemCount"] == 5
    summary = json.loads(s3.get_object(Bucket="exports-bucket", Key=desc["ExportManifest"])["Body"].read())
    files = json.loads(s3.get_object(Bucket="exports-bucket", Key=summary["manifestFilesS3Key"])["Body"].read())
    data = gzip.decompress(s3.get_object(Bucket="exports-bucket", Key=files["dataFileS3Key"])["Body"].read())
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert sorted(line["Item"]["pk"]["S"] for line in lines) == [f"k{i}" for i in range(5)]
    assert {"B": "AA=="} in [line["Item"]["b"] for line in lines]
    assert ddb.describe_export(ExportArn=desc["ExportArn"])["ExportDescription"]["ExportStatus"] == "COMPLETED"
    assert [e["ExportArn"] for e in ddb.list_exports(TableArn=arn)["ExportSummaries"]] == [desc["ExportArn"]]
    failed = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="no-such-bucket-here")["ExportDescription"]
    assert failed["ExportStatus"] == "FAILED" and failed["FailureCode"] == "NoSuchBucket"


def test_import_is_recorded_with_its_table(ddb):
    out = ddb.import_table(S3BucketSource={"S3Bucket": "some-bucket", "S3KeyPrefix": "p"}, InputFormat="DYNAMODB_JSON",
                           TableCreationParameters={"TableName": "imported", "KeySchema": TABLE["KeySchema"],
                                                    "AttributeDefinitions": TABLE["AttributeDefinitions"][:1],
                                                    "BillingMode": "PAY_PER_REQUEST"})["ImportTableDescription"]
    assert ddb.describe_table(TableName="imported")["Table"]["TableName"] == "imported"
    assert ddb.describe_import(ImportArn=out["ImportArn"])["ImportTableDescription"]["ImportArn"] == out["ImportArn"]
    assert [i["ImportArn"] for i in ddb.list_imports()["ImportSummaryList"]] == [out["ImportArn"]]


def test_resource_policies(ddb, aws_account):
    arn = ddb.describe_table(TableName="src")["Table"]["TableArn"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{aws_account}:root"},
        "Action": "dynamodb:GetItem", "Resource": arn}]})
    assert _error(ddb.get_resource_policy, ResourceArn=arn) == \
        ("PolicyNotFoundException", f"Resource-based policy not found for the provided ResourceArn: {arn}")
    rev = ddb.put_resource_policy(ResourceArn=arn, Policy=policy)["RevisionId"]
    got = ddb.get_resource_policy(ResourceArn=arn)
    assert (got["Policy"], got["RevisionId"]) == (policy, rev)
    assert _error(ddb.put_resource_policy, ResourceArn=arn, Policy="{not json") == (
        "ValidationException",
        "One or more parameter values were invalid: Invalid policy document: This policy contains invalid Json")
    assert _error(ddb.put_resource_policy, ResourceArn=arn, Policy=policy, ExpectedRevisionId="123")[0] == \
        "PolicyNotFoundException"
    assert ddb.delete_resource_policy(ResourceArn=arn)["RevisionId"] == rev
    assert _error(ddb.get_resource_policy, ResourceArn=arn)[0] == "PolicyNotFoundException"


def test_kinesis_streaming_destinations(ddb):
    stream = "arn:aws:kinesis:us-east-1:000000000000:stream/changes"
    out = ddb.enable_kinesis_streaming_destination(TableName="src", StreamArn=stream)
    assert out["DestinationStatus"] == "ENABLING"
    dests = ddb.describe_kinesis_streaming_destination(TableName="src")["KinesisDataStreamDestinations"]
    assert dests == [{"StreamArn": stream, "DestinationStatus": "ACTIVE",
                      "ApproximateCreationDateTimePrecision": "MILLISECOND"}]
    ddb.update_kinesis_streaming_destination(TableName="src", StreamArn=stream, UpdateKinesisStreamingConfiguration={
        "ApproximateCreationDateTimePrecision": "MICROSECOND"})
    assert ddb.disable_kinesis_streaming_destination(TableName="src", StreamArn=stream)["DestinationStatus"] == \
        "DISABLING"
    assert ddb.describe_kinesis_streaming_destination(TableName="src")["KinesisDataStreamDestinations"][0][
        "DestinationStatus"] == "DISABLED"
    assert _error(ddb.disable_kinesis_streaming_destination, TableName="src", StreamArn=stream)[0] == \
        "ValidationException"
