"""S3 event notifications to SQS, aws-chunked uploads on the wire, and anonymous access."""

import base64
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

import pytest
from botocore.exceptions import ClientError


def test_object_events_reach_sqs(aws_client, aws_account):
    s3, sqs = aws_client("s3"), aws_client("sqs")
    url = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bucket = f"events-{aws_account}"
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn + "-missing", "Events": ["s3:ObjectCreated:*"]}]})
    assert e.value.response["Error"]["Code"] == "InvalidArgument"
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"Id": "uploads", "QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}}]})
    conf = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert conf["QueueConfigurations"][0]["Id"] == "uploads"
    s3.put_object(Bucket=bucket, Key="in/file one.txt", Body=b"12345")
    s3.put_object(Bucket=bucket, Key="other/ignored", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="in/file one.txt")
    bodies, deadline = [], time.time() + 10
    while len(bodies) < 3 and time.time() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.append(json.loads(m["Body"]))
    assert bodies[0]["Event"] == "s3:TestEvent"
    records = [b["Records"][0] for b in bodies[1:]]
    assert [r["eventName"] for r in records] == ["ObjectCreated:Put", "ObjectRemoved:Delete"]
    obj = records[0]["s3"]["object"]
    assert obj["key"] == "in/file+one.txt" and obj["size"] == 5 and records[0]["s3"]["bucket"]["name"] == bucket
    assert records[0]["s3"]["configurationId"] == "uploads" and records[0]["eventSource"] == "aws:s3"


def _raw_put(endpoint, path, body, headers):
    parts = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("PUT", path, body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read()


def test_aws_chunked_unsigned_trailer_upload(aws_client, aws_account, haneul_server):
    s3 = aws_client("s3")
    bucket = f"chunked-{aws_account}"
    s3.create_bucket(Bucket=bucket)
    data = b"chunk-data-" * 10000
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    wire = b""
    for i in range(0, len(data), 65536):
        piece = data[i:i + 65536]
        wire += b"%x\r\n" % len(piece) + piece + b"\r\n"
    wire += b"0\r\nx-amz-checksum-crc32:" + crc.encode() + b"\r\n\r\n"
    auth = (f"AWS4-HMAC-SHA256 Credential={aws_account}/20250101/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256, Signature=" + "0" * 64)
    headers = {"Authorization": auth, "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
               "x-amz-decoded-content-length": str(len(data)), "Content-Length": str(len(wire))}
    status, resp_headers, _ = _raw_put(haneul_server.endpoint, f"/{bucket}/chunked.bin", wire, headers)
    assert status == 200 and resp_headers["x-amz-checksum-crc32"] == crc
    got = s3.get_object(Bucket=bucket, Key="chunked.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32"] == crc
    assert "ContentEncoding" not in got           # aws-chunked is not stored
    bad = wire.replace(crc.encode(), b"AAAAAA==")
    status, _, text = _raw_put(haneul_server.endpoint, f"/{bucket}/bad.bin", bad, headers)
    assert status == 400 and b"<Code>BadDigest</Code>" in text


def test_public_read_through_policy_and_cross_account(aws_client, aws_account, haneul_server):
    from haneul.testing import make_client
    s3 = aws_client("s3")
    bucket = f"public-{aws_account}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>hi</h1>")
    url = f"{haneul_server.endpoint}/{bucket}/index.html"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 403
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    assert urllib.request.urlopen(url).read() == b"<h1>hi</h1>"
    other = make_client(haneul_server.endpoint, "s3", "555566667777")
    assert other.get_object(Bucket=bucket, Key="index.html")["Body"].read() == b"<h1>hi</h1>"
    with pytest.raises(ClientError) as e:
        other.put_object(Bucket=bucket, Key="x", Body=b"no")
    assert e.value.response["Error"]["Code"] == "AccessDenied"


def test_object_events_invoke_lambda_and_other_destinations_are_stored(aws_client, aws_account):
    from tests.e2e.lambda_fixtures.harness import ROLE, zip_folder
    s3, sqs, lam = aws_client("s3"), aws_client("sqs"), aws_client("lambda")
    url = sqs.create_queue(QueueName="lambda-results")["QueueUrl"]
    dest = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    fn = lam.create_function(FunctionName="s3-echo", Runtime="python3.12", Role=ROLE.format(account=aws_account),
                             Handler="app.echo", Code={"ZipFile": zip_folder("python_app")})["FunctionArn"]
    lam.put_function_event_invoke_config(FunctionName="s3-echo", DestinationConfig={"OnSuccess": {"Destination": dest}})
    bucket = f"lambda-events-{aws_account}"
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn + "-missing", "Events": ["s3:ObjectCreated:*"]}]})
    assert e.value.response["Error"]["Code"] == "InvalidArgument"
    topic = f"arn:aws:sns:us-east-1:{aws_account}:uploads"
    conf = {"LambdaFunctionConfigurations": [{"Id": "fn", "LambdaFunctionArn": fn, "Events": ["s3:ObjectCreated:*"]}],
            "EventBridgeConfiguration": {}}
    from haneul import registry
    if not registry.available("sns"):        # stored and returned; delivered once SNS runs here
        conf["TopicConfigurations"] = [{"Id": "t", "TopicArn": topic, "Events": ["s3:ObjectRemoved:*"]}]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=conf)
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert got["LambdaFunctionConfigurations"][0]["LambdaFunctionArn"] == fn and "EventBridgeConfiguration" in got
    s3.put_object(Bucket=bucket, Key="photos/cat.jpg", Body=b"meow")
    deadline, messages = time.time() + 20, []
    while not messages and time.time() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    assert messages, "the function was not invoked"
    payload = json.loads(messages[0]["Body"])["requestPayload"]
    record = payload["Records"][0]
    assert record["eventName"] == "ObjectCreated:Put" and record["s3"]["configurationId"] == "fn"
    assert record["s3"]["object"]["key"] == "photos/cat.jpg" and record["s3"]["bucket"]["name"] == bucket
