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


def _signed_chunks(data, secret, amz_date, seed, trailer=None, size=65536):
    """An aws-chunked body signed chunk by chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER])."""
    import hashlib

    from haneul import signing
    key = signing.signing_key(secret, amz_date[:8], "us-east-1", "s3")
    scope = f"{amz_date}\n{amz_date[:8]}/us-east-1/s3/aws4_request\n"
    previous, wire = seed, b""
    pieces = [data[i:i + size] for i in range(0, len(data), size)] + [b""]
    for piece in pieces:
        sig = signing.hmac_hex(key, f"AWS4-HMAC-SHA256-PAYLOAD\n{scope}{previous}\n{signing.EMPTY_SHA256}\n"
                                    f"{hashlib.sha256(piece).hexdigest()}")
        wire += b"%x;chunk-signature=%s\r\n" % (len(piece), sig.encode()) + piece + (b"\r\n" if piece else b"")
        previous = sig
    if trailer is None:
        return wire + b"\r\n"
    name, value = trailer
    canonical = f"{name}:{value}\n"
    sig = signing.hmac_hex(key, f"AWS4-HMAC-SHA256-TRAILER\n{scope}{previous}\n"
                                f"{hashlib.sha256(canonical.encode()).hexdigest()}")
    return wire + f"{name}:{value}\r\nx-amz-trailer-signature:{sig}\r\n\r\n".encode()


def test_chunk_signatures_are_checked_for_keys_haneul_knows(aws_client, aws_account, haneul_server):
    iam, s3 = aws_client("iam"), aws_client("s3")
    iam.create_user(UserName="streamer")
    iam.put_user_policy(UserName="streamer", PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="streamer")["AccessKey"]
    bucket = f"signed-chunks-{aws_account}"
    s3.create_bucket(Bucket=bucket)
    data = b"signed-chunk-" * 12000
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    seed = "a" * 64

    def put(name, wire, access_key, mode, trailer=None):
        headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{amz_date[:8]}/us-east-1/s3/"
                                    f"aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                                    f"Signature={seed}",
                   "x-amz-date": amz_date, "x-amz-content-sha256": mode, "Content-Encoding": "aws-chunked",
                   "x-amz-decoded-content-length": str(len(data)), "Content-Length": str(len(wire))}
        if trailer:
            headers["x-amz-trailer"] = trailer
        return _raw_put(haneul_server.endpoint, f"/{bucket}/{name}", wire, headers)

    plain = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    good = _signed_chunks(data, key["SecretAccessKey"], amz_date, seed)
    status, _, text = put("good.bin", good, key["AccessKeyId"], plain)
    assert status == 200, text
    assert s3.get_object(Bucket=bucket, Key="good.bin")["Body"].read() == data
    tampered = good.replace(b"signed-chunk-", b"SIGNED-chunk-", 1)
    status, _, text = put("tampered.bin", tampered, key["AccessKeyId"], plain)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in text
    wrong_secret = _signed_chunks(data, "not-the-secret", amz_date, seed)
    status, _, text = put("wrong.bin", wrong_secret, key["AccessKeyId"], plain)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in text
    # with a trailer: its own signature closes the chain
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    trailed = _signed_chunks(data, key["SecretAccessKey"], amz_date, seed, ("x-amz-checksum-crc32", crc))
    status, _, text = put("trailer.bin", trailed, key["AccessKeyId"], mode, "x-amz-checksum-crc32")
    assert status == 200, text
    forged = trailed[:trailed.rindex(b"x-amz-trailer-signature:") + 24] + b"0" * 64 + b"\r\n\r\n"
    status, _, text = put("forged.bin", forged, key["AccessKeyId"], mode, "x-amz-checksum-crc32")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in text
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 2
    # a key whose secret Haneul does not know is taken at its word, as for every request
    status, _, _ = put("unknown.bin", wrong_secret, aws_account, plain)
    assert status == 200
    # an Authorization header the chain cannot be read from does not skip the check for a known key
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={key['AccessKeyId']}/{amz_date[:8]}/us-east-1/s3/"
                                f"aws4_request, Signature={seed}",
               "x-amz-date": amz_date, "x-amz-content-sha256": plain, "Content-Encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(len(data)), "Content-Length": str(len(wrong_secret))}
    status, _, text = _raw_put(haneul_server.endpoint, f"/{bucket}/malformed.bin", wrong_secret, headers)
    assert status == 400 and b"<Code>AuthorizationHeaderMalformed</Code>" in text, text
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 3
