"""Lambda end to end: asynchronous invocation (queue, retries, destinations, DLQ) and the
SQS event source mapping (batching, partial batch responses)."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.lambda_fixtures.harness import ROLE, client, zip_folder

ACCOUNT = "210000000003"


@pytest.fixture(scope="module")
def aws(haneul_server):
    lam = client(haneul_server, "lambda", ACCOUNT)
    sqs = client(haneul_server, "sqs", ACCOUNT)
    return lam, sqs


def receive(sqs, url, want: int, timeout: float = 15.0) -> list[dict]:
    got, deadline = [], time.time() + timeout
    while len(got) < want and time.time() < deadline:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  MessageAttributeNames=["All"])
        for m in out.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def queue(sqs, name, **attrs):
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def test_event_invoke_success_destination(aws):
    lam, sqs = aws
    url, arn = queue(sqs, "ok-dest")
    lam.create_function(FunctionName="async-echo", Runtime="python3.12", Role=ROLE.format(account=ACCOUNT),
                        Handler="app.echo", Code={"ZipFile": zip_folder("python_app")})
    lam.put_function_event_invoke_config(FunctionName="async-echo",
                                         DestinationConfig={"OnSuccess": {"Destination": arn}})
    resp = lam.invoke(FunctionName="async-echo", InvocationType="Event", Payload=b'{"n": 5}')
    assert resp["StatusCode"] == 202 and resp["Payload"].read() == b""
    [message] = receive(sqs, url, 1)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestPayload"] == {"n": 5}
    assert record["responsePayload"]["event"] == {"n": 5}
    assert record["requestContext"]["requestId"] == resp["ResponseMetadata"]["RequestId"]


def test_event_invoke_retries_then_failure_destination_and_dlq(aws):
    lam, sqs = aws
    fail_url, fail_arn = queue(sqs, "fail-dest")
    dlq_url, dlq_arn = queue(sqs, "dlq")
    role = ROLE.format(account=ACCOUNT)
    lam.create_function(FunctionName="flaky", Runtime="python3.12", Role=role, Handler="app.flaky",
                        Code={"ZipFile": zip_folder("python_app")})
    cfg = lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=1,
                                               DestinationConfig={"OnFailure": {"Destination": fail_arn}})
    assert cfg["MaximumRetryAttempts"] == 1
    lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"n": 1}')
    [message] = receive(sqs, fail_url, 1)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "always fails 1"

    lam.create_function(FunctionName="flaky-dlq", Runtime="python3.12", Role=role, Handler="app.flaky",
                        Code={"ZipFile": zip_folder("python_app")}, DeadLetterConfig={"TargetArn": dlq_arn})
    lam.put_function_event_invoke_config(FunctionName="flaky-dlq", MaximumRetryAttempts=0)
    lam.invoke(FunctionName="flaky-dlq", InvocationType="Event", Payload=b'{"n": 2}')
    [message] = receive(sqs, dlq_url, 1)
    assert json.loads(message["Body"]) == {"n": 2}
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "always fails 2"


def test_sqs_event_source_mapping_with_partial_failures(aws):
    lam, sqs = aws
    in_url, in_arn = queue(sqs, "esm-in", VisibilityTimeout=30)
    out_url, _ = queue(sqs, "esm-out")
    lam.create_function(FunctionName="consumer", Runtime="python3.12", Role=ROLE.format(account=ACCOUNT),
                        Handler="app.batch", Code={"ZipFile": zip_folder("python_app")},
                        Environment={"Variables": {"OUTPUT_QUEUE": out_url}}, Timeout=20)
    for body in ("one", "two", "please fail", "three"):
        sqs.send_message(QueueUrl=in_url, MessageBody=body)
    mapping = lam.create_event_source_mapping(EventSourceArn=in_arn, FunctionName="consumer", BatchSize=10,
                                              MaximumBatchingWindowInSeconds=1,
                                              FunctionResponseTypes=["ReportBatchItemFailures"])
    assert mapping["State"] == "Creating" and mapping["BatchSize"] == 10
    got = receive(sqs, out_url, 3)
    bodies = sorted(json.loads(m["Body"])["body"] for m in got)
    assert bodies == ["one", "three", "two"]
    assert all(json.loads(m["Body"])["source"] == "aws:sqs" for m in got)
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Enabled"
    time.sleep(0.3)
    attrs = sqs.get_queue_attributes(QueueUrl=in_url, AttributeNames=["All"])["Attributes"]
    # the failed message is still on the queue (in flight until its visibility timeout ends)
    assert int(attrs["ApproximateNumberOfMessagesNotVisible"]) + int(attrs["ApproximateNumberOfMessages"]) == 1
    listed = lam.list_event_source_mappings(FunctionName="consumer")["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [mapping["UUID"]]
    assert lam.delete_event_source_mapping(UUID=mapping["UUID"])["State"] == "Deleting"
