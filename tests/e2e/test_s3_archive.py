"""Archived storage classes over the wire: lifecycle transitions applied by the background
sweep, GetObject refused until RestoreObject, x-amz-restore, restore notifications, and the
legacy PutBucketLifecycle / GetBucketLifecycle operations.

The server here runs with a fast sweep and a short restore (HANEUL_S3_SWEEP_SECONDS,
HANEUL_S3_RESTORE_SECONDS), so the waits below are fractions of a second."""

import json

import pytest
from botocore.exceptions import ClientError

from haneul.testing import ServerProcess, make_client, wait_until

ACCOUNT = "246813579024"


@pytest.fixture(scope="module")
def fast_server():
    server = ServerProcess(env={"HANEUL_S3_SWEEP_SECONDS": "0.2", "HANEUL_S3_RESTORE_SECONDS": "0.5"}).start()
    try:
        yield server
    finally:
        server.stop()


def test_transition_then_restore_with_notifications(fast_server):
    s3 = make_client(fast_server.endpoint, "s3", ACCOUNT)
    sqs = make_client(fast_server.endpoint, "sqs", ACCOUNT)
    url = sqs.create_queue(QueueName="restores")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bucket = "archive-flow"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:ObjectRestore:*", "s3:LifecycleTransition"]}]})
    s3.put_object(Bucket=bucket, Key="cold/report.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket=bucket, Key="warm/report.csv", Body=b"a,b\n1,2\n")
    # a past Date is due at once; the size filter lets a small object move (the default 128 KiB minimum would not)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "freeze", "Status": "Enabled", "Filter": {"And": {"Prefix": "cold/", "ObjectSizeGreaterThan": 0}},
         "Transitions": [{"Date": "2020-01-01T00:00:00Z", "StorageClass": "GLACIER"}]}]})
    wait_until(lambda: s3.head_object(Bucket=bucket, Key="cold/report.csv").get("StorageClass") == "GLACIER")
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="warm/report.csv")
    listed = {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {"cold/report.csv": "GLACIER", "warm/report.csv": "STANDARD"}

    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="cold/report.csv")
    assert err.value.response["Error"]["Code"] == "InvalidObjectState"
    assert err.value.response["Error"]["StorageClass"] == "GLACIER"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    out = s3.restore_object(Bucket=bucket, Key="cold/report.csv",
                            RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}})
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert s3.head_object(Bucket=bucket, Key="cold/report.csv")["Restore"] == 'ongoing-request="true"'
    with pytest.raises(ClientError) as err:
        s3.restore_object(Bucket=bucket, Key="cold/report.csv", RestoreRequest={"Days": 1})
    assert err.value.response["Error"]["Code"] == "RestoreAlreadyInProgress"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    restored = wait_until(lambda: 'ongoing-request="false"' in (
        s3.head_object(Bucket=bucket, Key="cold/report.csv").get("Restore") or "") and
        s3.head_object(Bucket=bucket, Key="cold/report.csv")["Restore"])
    assert 'expiry-date="' in restored and restored.endswith(' 00:00:00 GMT"')
    got = s3.get_object(Bucket=bucket, Key="cold/report.csv")
    assert got["Body"].read() == b"a,b\n1,2\n" and got["Restore"] == restored
    status = s3.list_objects_v2(Bucket=bucket, Prefix="cold/", OptionalObjectAttributes=["RestoreStatus"])
    assert status["Contents"][0]["RestoreStatus"]["IsRestoreInProgress"] is False
    assert status["Contents"][0]["RestoreStatus"]["RestoreExpiryDate"].hour == 0
    again = s3.restore_object(Bucket=bucket, Key="cold/report.csv", RestoreRequest={"Days": 2})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200

    names = []
    def events():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
            body = json.loads(m["Body"])
            names.extend(r["eventName"] for r in body.get("Records", []))
        return "ObjectRestore:Completed" in names
    wait_until(events)
    assert names == ["LifecycleTransition", "ObjectRestore:Post", "ObjectRestore:Completed"]


def test_restore_refused_for_readable_classes(fast_server):
    s3 = make_client(fast_server.endpoint, "s3", ACCOUNT)
    s3.create_bucket(Bucket="archive-ir")
    s3.put_object(Bucket="archive-ir", Key="k", Body=b"x", StorageClass="GLACIER_IR")
    assert s3.get_object(Bucket="archive-ir", Key="k")["Body"].read() == b"x"
    with pytest.raises(ClientError) as err:
        s3.restore_object(Bucket="archive-ir", Key="k", RestoreRequest={"Days": 1})
    assert err.value.response["Error"]["Code"] == "InvalidObjectState"
    with pytest.raises(ClientError) as err:
        s3.put_bucket_lifecycle_configuration(Bucket="archive-ir", LifecycleConfiguration={"Rules": [
            {"ID": "ia", "Status": "Enabled", "Filter": {}, "Transitions": [{"Days": 7, "StorageClass": "STANDARD_IA"}]}]})
    assert err.value.response["Error"]["Code"] == "InvalidArgument"


def test_legacy_lifecycle_operations_share_the_configuration(fast_server):
    s3 = make_client(fast_server.endpoint, "s3", ACCOUNT)
    s3.create_bucket(Bucket="archive-legacy")
    s3.put_bucket_lifecycle(Bucket="archive-legacy", LifecycleConfiguration={"Rules": [
        {"ID": "old", "Prefix": "tmp/", "Status": "Enabled", "Transition": {"Days": 30, "StorageClass": "GLACIER"},
         "Expiration": {"Days": 365}}]})
    rule = s3.get_bucket_lifecycle(Bucket="archive-legacy")["Rules"][0]
    assert rule["Prefix"] == "tmp/" and rule["Transition"] == {"Days": 30, "StorageClass": "GLACIER"}
    modern = s3.get_bucket_lifecycle_configuration(Bucket="archive-legacy")["Rules"][0]
    assert modern["Transitions"] == [{"Days": 30, "StorageClass": "GLACIER"}]
    assert modern["Expiration"] == {"Days": 365}


def test_out_of_range_days_refused_and_the_largest_keep_objects_readable(fast_server):
    s3 = make_client(fast_server.endpoint, "s3", ACCOUNT)
    s3.create_bucket(Bucket="archive-far")
    s3.put_object(Bucket="archive-far", Key="cold", Body=b"x", StorageClass="GLACIER")
    with pytest.raises(ClientError) as err:
        s3.restore_object(Bucket="archive-far", Key="cold", RestoreRequest={"Days": 2**40})
    assert (err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("MalformedXML", 400)
    for days in (2**40, 0):
        with pytest.raises(ClientError) as err:
            s3.put_bucket_lifecycle_configuration(Bucket="archive-far", LifecycleConfiguration={"Rules": [
                {"ID": "x", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": days}}]})
        assert err.value.response["Error"]["Code"] == ("MalformedXML" if days else "InvalidArgument")
    # the largest counts S3 accepts: past year 9999, written as its last second
    far = "Fri, 31 Dec 9999 23:59:59 GMT"
    s3.put_bucket_lifecycle_configuration(Bucket="archive-far", LifecycleConfiguration={"Rules": [
        {"ID": "far", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 2**31 - 1}}]})
    assert far in s3.put_object(Bucket="archive-far", Key="k", Body=b"v")["Expiration"]
    assert s3.restore_object(Bucket="archive-far", Key="cold",
                             RestoreRequest={"Days": 2**31 - 1})["ResponseMetadata"]["HTTPStatusCode"] == 202
    wait_until(lambda: 'ongoing-request="false"' in s3.head_object(Bucket="archive-far", Key="cold")["Restore"])
    head = s3.head_object(Bucket="archive-far", Key="cold")
    assert far in head["Restore"] and far in head["Expiration"]
    assert s3.get_object(Bucket="archive-far", Key="cold")["Body"].read() == b"x"
