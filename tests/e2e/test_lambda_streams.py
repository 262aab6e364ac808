"""Lambda end to end: DynamoDB Streams event source mappings (starting positions, batches,
bisect on error, retry limits, on-failure destinations, partial batch responses), and the
mappings nothing here can poll (Kinesis without a Kinesis service)."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.e2e.lambda_fixtures.harness import ROLE, zip_folder


@pytest.fixture
def aws(aws_client, aws_account):
    lam, ddb, sqs = aws_client("lambda"), aws_client("dynamodb"), aws_client("sqs")

    def queue(name):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def table(name):
        out = ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                               AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                               BillingMode="PAY_PER_REQUEST",
                               StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        return out["TableDescription"]["LatestStreamArn"]

    def function(name, out_url, **variables):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE.format(account=aws_account),
                            Handler="app.stream", Code={"ZipFile": zip_folder("python_app")}, Timeout=20,
                            Environment={"Variables": {"OUTPUT_QUEUE": out_url, **variables}})

    def put(name, *keys, kind="plain"):
        for key in keys:
            ddb.put_item(TableName=name, Item={"pk": {"S": key}, "kind": {"S": "poison" if key == "P" else kind}})

    return {"lambda": lam, "ddb": ddb, "sqs": sqs, "queue": queue, "table": table, "function": function,
            "put": put}


def receive(sqs, url, want: int, timeout: float = 20.0, settle: float = 0.0) -> list[dict]:
    """`want` messages (bodies parsed), then `settle` more seconds to catch extra ones."""
    got, deadline = [], time.time() + timeout
    while time.time() < deadline:
        if len(got) >= want:
            if not settle:
                break
            deadline, settle = time.time() + settle, 0.0
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in out.get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def wait_enabled(lam, uuid: str, timeout: float = 10.0) -> dict:
    deadline = time.time() + timeout
    while True:
        got = lam.get_event_source_mapping(UUID=uuid)
        if got["State"] == "Enabled" or time.time() > deadline:
            return got
        time.sleep(0.05)


def test_trim_horizon_batches_and_event_shape(aws):
    out_url, _ = aws["queue"]("out")
    stream = aws["table"]("orders")
    aws["function"]("on-orders", out_url)
    aws["put"]("orders", "a", "b", "c")
    mapping = aws["lambda"].create_event_source_mapping(EventSourceArn=stream, FunctionName="on-orders",
                                                        StartingPosition="TRIM_HORIZON", BatchSize=10)
    assert mapping["State"] == "Creating" and mapping["BatchSize"] == 10
    assert mapping["MaximumRetryAttempts"] == -1 and mapping["MaximumRecordAgeInSeconds"] == -1
    assert mapping["BisectBatchOnFunctionError"] is False and mapping["ParallelizationFactor"] == 1
    got = receive(aws["sqs"], out_url, 3)
    assert [m["key"] for m in got] == ["a", "b", "c"]
    assert {(m["event"], m["source"], m["arn"], m["size"]) for m in got} == {("INSERT", "aws:dynamodb", stream, 3)}
    aws["ddb"].update_item(TableName="orders", Key={"pk": {"S": "b"}}, UpdateExpression="SET n = :n",
                           ExpressionAttributeValues={":n": {"N": "1"}})
    aws["ddb"].delete_item(TableName="orders", Key={"pk": {"S": "c"}})
    got = receive(aws["sqs"], out_url, 2)
    assert [(m["key"], m["event"]) for m in got] == [("b", "MODIFY"), ("c", "REMOVE")]
    state = aws["lambda"].get_event_source_mapping(UUID=mapping["UUID"])
    assert state["State"] == "Enabled" and state["LastProcessingResult"] == "OK"


def test_latest_skips_earlier_records_and_disable_pauses(aws):
    lam = aws["lambda"]
    out_url, _ = aws["queue"]("out")
    stream = aws["table"]("events")
    aws["function"]("on-events", out_url)
    aws["put"]("events", "before")
    mapping = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName="on-events",
                                              StartingPosition="LATEST")
    assert wait_enabled(lam, mapping["UUID"])["State"] == "Enabled"
    aws["put"]("events", "after")
    assert [m["key"] for m in receive(aws["sqs"], out_url, 1, settle=0.5)] == ["after"]
    assert lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)["State"] == "Disabling"
    aws["put"]("events", "while-off")
    assert receive(aws["sqs"], out_url, 1, timeout=1.0) == []
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    assert [m["key"] for m in receive(aws["sqs"], out_url, 1)] == ["while-off"]


def test_bisect_isolates_the_poison_record_and_reports_it(aws):
    out_url, _ = aws["queue"]("out")
    fail_url, fail_arn = aws["queue"]("failures")
    stream = aws["table"]("jobs")
    aws["function"]("on-jobs", out_url)
    aws["put"]("jobs", "a", "b", "P", "c")
    mapping = aws["lambda"].create_event_source_mapping(
        EventSourceArn=stream, FunctionName="on-jobs", StartingPosition="TRIM_HORIZON", BatchSize=4,
        BisectBatchOnFunctionError=True, MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": fail_arn}})
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": fail_arn}}
    got = receive(aws["sqs"], out_url, 3, settle=0.5)
    assert sorted(m["key"] for m in got) == ["a", "b", "c"]
    [failure] = receive(aws["sqs"], fail_url, 1)
    info = failure["DDBStreamBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestContext"]["functionArn"].endswith(":function:on-jobs")
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert info["batchSize"] == 1 and info["streamArn"] == stream
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert aws["lambda"].get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"].startswith("PROBLEM")


def test_partial_batch_response_retries_from_the_failed_record(aws):
    out_url, _ = aws["queue"]("out")
    fail_url, fail_arn = aws["queue"]("failures")
    stream = aws["table"]("payments")
    aws["function"]("on-payments", out_url, REPORT="1")
    aws["put"]("payments", "a", "P", "b")
    aws["lambda"].create_event_source_mapping(
        EventSourceArn=stream, FunctionName="on-payments", StartingPosition="TRIM_HORIZON", BatchSize=3,
        FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": fail_arn}})
    [failure] = receive(aws["sqs"], fail_url, 1)
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2          # the poison record and the one after it
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    # "a" was done before the failure and is not sent again; "b" came after it and was discarded
    assert [m["key"] for m in receive(aws["sqs"], out_url, 1, settle=0.5)] == ["a"]
    aws["put"]("payments", "next")
    assert [m["key"] for m in receive(aws["sqs"], out_url, 1)] == ["next"]


def test_mapping_validation_and_unpolled_sources(aws, aws_account):
    lam = aws["lambda"]
    out_url, queue_arn = aws["queue"]("q")
    stream = aws["table"]("t")
    aws["function"]("fn", out_url)

    def error(**kw):
        with pytest.raises(ClientError) as e:
            lam.create_event_source_mapping(FunctionName="fn", **kw)
        return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]

    code, message = error(EventSourceArn=stream)
    assert code == "InvalidParameterValueException" and "startingPosition" in message
    code, message = error(EventSourceArn=stream, StartingPosition="AT_TIMESTAMP")
    assert code == "InvalidParameterValueException" and "AT_TIMESTAMP" in message
    code, message = error(EventSourceArn=stream, StartingPosition="LATEST", MaximumRecordAgeInSeconds=30)
    assert code == "InvalidParameterValueException" and "MaximumRecordAgeInSeconds" in message
    code, message = error(EventSourceArn=queue_arn, BisectBatchOnFunctionError=True)
    assert code == "InvalidParameterValueException" and "BisectBatchOnFunctionError" in message
    kinesis = f"arn:aws:kinesis:us-east-1:{aws_account}:stream/clicks"
    mapping = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=kinesis,
                                              StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=1700000000)
    got = lam.get_event_source_mapping(UUID=mapping["UUID"])
    assert "Kinesis" in got["StateTransitionReason"] and "nothing polls" in got["StateTransitionReason"]
    assert got["StartingPositionTimestamp"].timestamp() == 1700000000
