"""SQS against a live Haneul: boto3 (JSON protocol), the AWS CLI, and raw signed
query-protocol requests as older SDKs send them."""

import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from haneul.services.sqs.md5 import md5_of_attributes


@pytest.fixture
def sqs(aws_client):
    return aws_client("sqs")


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    r = e.value.response
    return r["Error"], r["ResponseMetadata"]["HTTPStatusCode"], r["ResponseMetadata"]["HTTPHeaders"]


# -- JSON protocol (boto3) -----------------------------------------------------------------
def test_queue_lifecycle(sqs, aws_account, haneul_server):
    url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "45"},
                           tags={"team": "shop"})["QueueUrl"]
    assert url == f"{haneul_server.endpoint}/{aws_account}/orders"
    assert sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "45"})["QueueUrl"] == url
    assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == url
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "45"
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{aws_account}:orders"
    assert abs(int(attrs["CreatedTimestamp"]) - time.time()) < 120
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "shop"}
    assert sqs.list_queues(QueueNamePrefix="ord")["QueueUrls"] == [url]
    sqs.delete_queue(QueueUrl=url)
    assert "QueueUrls" not in sqs.list_queues()


def test_errors_carry_the_legacy_query_codes(sqs, aws_account):
    err, status, headers = error_of(sqs.get_queue_url, QueueName="missing")
    assert status == 400
    assert err["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert err["QueryErrorCode"] == "QueueDoesNotExist"
    assert err["Message"] == "The specified queue does not exist."
    assert headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="missing")
    url = sqs.create_queue(QueueName="e")["QueueUrl"]
    err, status, _ = error_of(sqs.delete_message, QueueUrl=url, ReceiptHandle="bogus")
    assert (err["Code"], status) == ("ReceiptHandleIsInvalid", 404)
    err, status, _ = error_of(sqs.create_queue, QueueName="e", Attributes={"VisibilityTimeout": "1"})
    assert (err["Code"], err["QueryErrorCode"], status) == ("QueueAlreadyExists", "QueueNameExists", 400)
    err, status, _ = error_of(sqs.send_message, QueueUrl=url, MessageBody="x", DelaySeconds=901)
    assert (err["Code"], err["QueryErrorCode"]) == ("InvalidParameterValue", "InvalidParameterValueException")
    sqs.purge_queue(QueueUrl=url)
    err, status, _ = error_of(sqs.purge_queue, QueueUrl=url)
    assert (err["Code"], status) == ("AWS.SimpleQueueService.PurgeQueueInProgress", 403)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)


def test_send_receive_delete_with_attributes_and_digests(sqs):
    url = sqs.create_queue(QueueName="msgs")["QueueUrl"]
    attributes = {"text": {"DataType": "String", "StringValue": "héllo"},
                  "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffdata"},
                  "num": {"DataType": "Number", "StringValue": "3.14"}}
    sent = sqs.send_message(QueueUrl=url, MessageBody="body ✓", MessageAttributes=attributes,
                            MessageSystemAttributes={"AWSTraceHeader": {
                                "DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}})
    assert sent["MD5OfMessageBody"] == hashlib.md5("body ✓".encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)
    assert "MD5OfMessageSystemAttributes" in sent
    [m] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"],
                              MessageSystemAttributeNames=["All"])["Messages"]
    assert m["Body"] == "body ✓" and m["MessageId"] == sent["MessageId"]
    assert m["MessageAttributes"] == attributes
    assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert m["Attributes"]["AWSTraceHeader"] == "Root=1-5759e988-bd862e3fe1be46a994272793"
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert abs(int(m["Attributes"]["SentTimestamp"]) / 1000 - time.time()) < 120
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                    "ApproximateNumberOfMessagesNotVisible"])["Attributes"] == {
        "ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_any_queue_url_host_is_accepted(sqs, aws_account):
    sqs.create_queue(QueueName="hosts")
    for url in (f"http://sqs.us-east-1.localhost.localstack.cloud:4566/{aws_account}/hosts",
                f"https://sqs.us-east-1.amazonaws.com/{aws_account}/hosts",
                f"http://localhost:4566/{aws_account}/hosts"):
        sqs.send_message(QueueUrl=url, MessageBody=url)
    got = sqs.receive_message(QueueUrl=f"http://localhost:4566/{aws_account}/hosts",
                              MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 3


def test_long_poll_returns_when_a_message_arrives_and_the_server_keeps_serving(sqs, aws_client):
    url = sqs.create_queue(QueueName="poll")["QueueUrl"]
    other = aws_client("sqs")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        started = time.monotonic()
        polling = pool.submit(sqs.receive_message, QueueUrl=url, WaitTimeSeconds=10)
        time.sleep(0.5)
        assert not polling.done()
        # The long poll blocks nothing: other calls are answered at once.
        t = time.monotonic()
        other.list_queues()
        assert time.monotonic() - t < 1
        other.send_message(QueueUrl=url, MessageBody="wake up")
        got = polling.result(timeout=5)
        elapsed = time.monotonic() - started
    assert [m["Body"] for m in got["Messages"]] == ["wake up"]
    assert elapsed < 3


def test_long_poll_times_out_empty(sqs):
    url = sqs.create_queue(QueueName="quiet", Attributes={"ReceiveMessageWaitTimeSeconds": "1"})["QueueUrl"]
    started = time.monotonic()
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    assert time.monotonic() - started >= 0.9


def test_visibility_and_delay_in_real_time(sqs):
    url = sqs.create_queue(QueueName="vis")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    [m] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, VisibilityTimeout=1)["Messages"]
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    [again] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5,
                                  MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert again["MessageId"] == m["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0)
    assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1


def test_receive_attribute_names_take_message_system_attribute_names(sqs):
    url = sqs.create_queue(QueueName="legacy-names")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    [m] = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount", "SenderId"])["Messages"]
    assert set(m["Attributes"]) == {"ApproximateReceiveCount", "SenderId"}


def test_fifo_queue(sqs):
    url = sqs.create_queue(QueueName="jobs.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    seq = []
    for i in range(3):
        seq.append(sqs.send_message(QueueUrl=url, MessageBody=f"a{i}", MessageGroupId="a")["SequenceNumber"])
    sqs.send_message(QueueUrl=url, MessageBody="b0", MessageGroupId="b")
    dup = sqs.send_message(QueueUrl=url, MessageBody="a0", MessageGroupId="a")
    assert dup["SequenceNumber"] == seq[0]
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in first] == ["a0", "a1"]
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in rest] == ["b0"]
    err, _, _ = error_of(sqs.send_message, QueueUrl=url, MessageBody="x")
    assert (err["Code"], err["Message"]) == ("MissingParameter",
                                            "The request must contain the parameter MessageGroupId.")


def test_batches(sqs):
    url = sqs.create_queue(QueueName="batch")["QueueUrl"]
    out = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "bad\x00"},
        {"Id": "c", "MessageBody": "three"}])
    assert sorted(e["Id"] for e in out["Successful"]) == ["a", "c"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in out["Failed"]] == [
        ("b", "InvalidMessageContents", True)]
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    out = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": f"e{i}", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 60}
        for i, m in enumerate(msgs)])
    assert len(out["Successful"]) == 2 and out.get("Failed", []) == []
    out = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": f"e{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
    assert len(out["Successful"]) == 2
    err, _, _ = error_of(sqs.delete_message_batch, QueueUrl=url, Entries=[
        {"Id": "x", "ReceiptHandle": "r"}, {"Id": "x", "ReceiptHandle": "r"}])
    assert err["Code"] == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    with pytest.raises(sqs.exceptions.EmptyBatchRequest):
        sqs.send_message_batch(QueueUrl=url, Entries=[])


def test_dead_letter_queue_and_redrive(sqs, aws_account):
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})["QueueUrl"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=src).get("Messages", []) == []
    [m] = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0,
                              MessageSystemAttributeNames=["DeadLetterQueueSourceArn"])["Messages"]
    assert m["Attributes"]["DeadLetterQueueSourceArn"] == f"arn:aws:sqs:us-east-1:{aws_account}:src"
    sqs.start_message_move_task(SourceArn=dlq_arn)
    [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert task["Status"] == "COMPLETED" and task["ApproximateNumberOfMessagesMoved"] == 1
    assert [x["Body"] for x in sqs.receive_message(QueueUrl=src)["Messages"]] == ["poison"]


def test_permissions_and_tags(sqs, aws_account):
    url = sqs.create_queue(QueueName="perm")["QueueUrl"]
    sqs.add_permission(QueueUrl=url, Label="share", AWSAccountIds=[aws_account], Actions=["SendMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Statement"][0]["Action"] == "SQS:SendMessage"
    sqs.remove_permission(QueueUrl=url, Label="share")
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    sqs.tag_queue(QueueUrl=url, Tags={"a": "1", "b": "2"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["a"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"b": "2"}


def test_list_queues_paginator(sqs):
    for i in range(7):
        sqs.create_queue(QueueName=f"page-{i}")
    pages = list(sqs.get_paginator("list_queues").paginate(QueueNamePrefix="page-",
                                                           PaginationConfig={"PageSize": 3}))
    assert [len(p["QueueUrls"]) for p in pages] == [3, 3, 1]


def test_resource_api(aws_client, haneul_server, aws_account):
    import boto3
    session = boto3.session.Session(aws_access_key_id=aws_account, aws_secret_access_key="x",
                                    region_name="us-east-1")
    resource = session.resource("sqs", endpoint_url=haneul_server.endpoint)
    queue = resource.create_queue(QueueName="res")
    queue.send_message(MessageBody="via resource")
    [m] = queue.receive_messages(WaitTimeSeconds=1)
    assert m.body == "via resource"
    m.delete()
    assert queue.attributes["ApproximateNumberOfMessages"] == "0"


def test_aws_cli(haneul_server, aws_account):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=aws_account, AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="")
    aws = os.path.join(os.path.dirname(sys.executable), "aws")

    def cli(*args):
        r = subprocess.run([aws, "--endpoint-url", haneul_server.endpoint, "sqs", *args, "--output", "json"],
                           env=env, capture_output=True, text=True, timeout=60)
        return r

    r = cli("create-queue", "--queue-name", "cli")
    assert r.returncode == 0, r.stderr
    url = json.loads(r.stdout)["QueueUrl"]
    r = cli("send-message", "--queue-url", url, "--message-body", "from the cli",
            "--message-attributes", '{"k": {"DataType": "String", "StringValue": "v"}}')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["MD5OfMessageAttributes"] == md5_of_attributes(
        {"k": {"DataType": "String", "StringValue": "v"}})
    r = cli("receive-message", "--queue-url", url, "--message-attribute-names", "All")
    [m] = json.loads(r.stdout)["Messages"]
    assert m["Body"] == "from the cli" and m["MessageAttributes"]["k"]["StringValue"] == "v"
    r = cli("get-queue-url", "--queue-name", "nope")
    assert r.returncode in (254, 255) and "NonExistentQueue" in r.stderr


# -- query protocol (raw signed requests) --------------------------------------------------
NS = {"q": "http://queue.amazonaws.com/doc/2012-11-05/"}


@pytest.fixture
def query(haneul_server, aws_account):
    def call(params: dict, path: str = "/"):
        body = urllib.parse.urlencode({**params, "Version": "2012-11-05"})
        req = AWSRequest("POST", haneul_server.endpoint + path, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(Credentials(aws_account, "test"), "sqs", "us-east-1").add_auth(req)
        http = urllib.request.Request(req.url, data=body.encode(), headers=dict(req.headers), method="POST")
        try:
            with urllib.request.urlopen(http, timeout=30) as resp:
                return resp.status, ET.fromstring(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, ET.fromstring(e.read())
    return call


def local(tree, name):
    """Every element named `name`, whatever its namespace."""
    return [e for e in tree.iter() if e.tag.rsplit("}", 1)[-1] == name]


def text(tree, name):
    found = local(tree, name)
    return found[0].text if found else None


def test_query_create_send_and_errors(query, aws_account, haneul_server):
    status, tree = query({"Action": "CreateQueue", "QueueName": "legacy"})
    assert status == 200
    url = text(tree, "QueueUrl")
    assert url == f"{haneul_server.endpoint}/{aws_account}/legacy"
    status, tree = query({"Action": "SendMessage", "QueueUrl": url, "MessageBody": "hello"})
    assert status == 200 and text(tree, "MD5OfMessageBody") == hashlib.md5(b"hello").hexdigest()
    status, tree = query({"Action": "GetQueueUrl", "QueueName": "nope"})
    assert status == 400
    assert text(tree, "Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert text(tree, "Type") == "Sender"
    assert text(tree, "Message") == "The specified queue does not exist for this wsdl version."
    query({"Action": "PurgeQueue", "QueueUrl": url})
    status, tree = query({"Action": "PurgeQueue", "QueueUrl": url})
    assert status == 403 and text(tree, "Code") == "AWS.SimpleQueueService.PurgeQueueInProgress"


def test_query_flattened_lists_and_maps(query, aws_account, haneul_server):
    status, tree = query({"Action": "CreateQueue", "QueueName": "flat",
                          "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "17"})
    url = text(tree, "QueueUrl")
    status, tree = query({"Action": "GetQueueAttributes", "QueueUrl": url, "AttributeName.1": "VisibilityTimeout"})
    assert status == 200
    [attr] = local(tree, "Attribute")
    assert (text(attr, "Name"), text(attr, "Value")) == ("VisibilityTimeout", "17")
    status, tree = query({"Action": "SendMessageBatch", "QueueUrl": url,
                          "SendMessageBatchRequestEntry.1.Id": "a",
                          "SendMessageBatchRequestEntry.1.MessageBody": "one",
                          "SendMessageBatchRequestEntry.2.Id": "b",
                          "SendMessageBatchRequestEntry.2.MessageBody": "two",
                          "SendMessageBatchRequestEntry.2.MessageAttribute.1.Name": "k",
                          "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType": "String",
                          "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue": "v"})
    assert status == 200 and len(local(tree, "SendMessageBatchResultEntry")) == 2
    status, tree = query({"Action": "ReceiveMessage", "QueueUrl": url, "MaxNumberOfMessages": "10",
                          "AttributeName.1": "All", "MessageAttributeName.1": "All"})
    messages = local(tree, "Message")
    assert sorted(text(m, "Body") for m in messages) == ["one", "two"]
    assert local(tree, "MessageAttribute")


def test_query_queue_url_as_the_request_path(query, aws_account):
    query({"Action": "CreateQueue", "QueueName": "bypath"})
    status, tree = query({"Action": "SendMessage", "MessageBody": "via path"},
                         path=f"/{aws_account}/bypath")
    assert status == 200, ET.tostring(tree)


def test_policies_nested_past_the_json_parser_are_invalid_values(sqs):
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    deep = '{"a":' * 20000 + "1" + "}" * 20000   # past any recursion limit: JSONata raises the server's to 10,000
    for name in ("Policy", "RedrivePolicy", "RedriveAllowPolicy"):
        with pytest.raises(ClientError) as e:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={name: deep})
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, name
