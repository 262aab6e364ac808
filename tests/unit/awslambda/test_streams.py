"""Stream event source mappings without a server: the batch rules of streams.py
(retries, bisect, record age, partial batch responses) against a scripted function."""

import asyncio
import json

import pytest

from haneul.services.awslambda import streams
from haneul.services.awslambda.environment import Outcome

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"


def record(seq: int, created: float = 1000.0, key: str | None = None) -> dict:
    return {"eventID": str(seq), "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "dynamodb": {"Keys": {"pk": {"S": key or f"k{seq}"}}, "SequenceNumber": f"{seq:021d}",
                         "ApproximateCreationDateTime": created}}


class Run:
    """A ShardProcessor whose function answers from `answer(keys) -> Outcome | None`."""

    def __init__(self, doc: dict, answer, now: float = 1000.0):
        self.calls, self.discarded, self.checkpoints, self.pauses = [], [], [], []
        self.answer = answer
        source = streams.DynamoDBSource(None, None, ARN)

        async def invoke(payload):
            keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in json.loads(payload)["Records"]]
            assert all(r["eventSourceARN"] == ARN for r in json.loads(payload)["Records"])
            self.calls.append(keys)
            return self.answer(keys)

        async def discard(batch, condition, attempts, outcome):
            self.discarded.append(([r["dynamodb"]["Keys"]["pk"]["S"] for r in batch], condition, attempts))
            self.record = self.processor.failure_record(batch, condition, attempts, outcome, "arn:fn")

        async def checkpoint(rec):
            self.checkpoints.append(rec["dynamodb"]["Keys"]["pk"]["S"])

        async def pause(seconds):
            self.pauses.append(seconds)

        self.processor = streams.ShardProcessor(doc, source, "shard-1", invoke, discard, checkpoint, pause,
                                                retry_delay=1.0, clock=lambda: now)

    def process(self, records):
        asyncio.run(self.processor.process(records))
        return self


def ok(keys):
    return Outcome(b"null")


def failing_on(bad):
    return lambda keys: Outcome(b'{"errorMessage":"x"}', "Unhandled") if bad in keys else Outcome(b"null")


def test_success_checkpoints_the_last_record():
    run = Run({}, ok).process([record(1), record(2)])
    assert run.calls == [["k1", "k2"]] and run.checkpoints == ["k2"] and run.processor.result == "OK"


def test_retries_with_backoff_then_discards():
    run = Run({"MaximumRetryAttempts": 2}, failing_on("k2")).process([record(1), record(2)])
    assert run.calls == [["k1", "k2"]] * 3
    assert run.pauses == [1.0, 2.0]
    assert run.discarded == [(["k1", "k2"], "RetryAttemptsExhausted", 3)]
    assert run.checkpoints == ["k2"] and run.processor.result.startswith("PROBLEM")
    info = run.record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2 and info["startSequenceNumber"] == f"{1:021d}" and info["shardId"] == "shard-1"
    assert run.record["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_zero_retries_discards_after_one_call():
    run = Run({"MaximumRetryAttempts": 0}, failing_on("k1")).process([record(1)])
    assert run.calls == [["k1"]] and run.discarded == [(["k1"], "RetryAttemptsExhausted", 1)]


def test_bisect_isolates_the_failing_record():
    records = [record(i) for i in range(1, 5)]
    run = Run({"MaximumRetryAttempts": 2, "BisectBatchOnFunctionError": True}, failing_on("k3")).process(records)
    assert run.calls == [["k1", "k2", "k3", "k4"], ["k1", "k2"], ["k3", "k4"], ["k3"], ["k4"]]
    assert run.discarded == [(["k3"], "RetryAttemptsExhausted", 3)]
    assert run.pauses == [] and run.checkpoints == ["k2", "k3", "k4"]


def test_unlimited_retries_keep_trying_until_success():
    attempts = {"n": 0}

    def flaky(keys):
        attempts["n"] += 1
        return Outcome(b"{}", "Unhandled") if attempts["n"] < 8 else Outcome(b"null")

    run = Run({}, flaky).process([record(1)])
    assert len(run.calls) == 8 and run.discarded == [] and run.checkpoints == ["k1"]
    assert run.pauses == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]


def test_partial_batch_response_retries_from_the_lowest_failure():
    seq = f"{3:021d}"
    answers = iter([Outcome(json.dumps({"batchItemFailures": [{"itemIdentifier": f"{4:021d}"},
                                                                {"itemIdentifier": seq}]}).encode()),
                    Outcome(b'{"batchItemFailures": []}')])
    run = Run({"FunctionResponseTypes": ["ReportBatchItemFailures"]}, lambda keys: next(answers))
    run.process([record(i) for i in range(1, 5)])
    assert run.calls == [["k1", "k2", "k3", "k4"], ["k3", "k4"]]
    assert run.checkpoints == ["k2", "k4"] and run.pauses == [1.0]


@pytest.mark.parametrize("answer", [b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
                                    b'{"batchItemFailures": [{"itemIdentifier": "nope"}]}',
                                    b'{"batchItemFailures": [{}]}', b'not json'])
def test_malformed_partial_response_fails_the_whole_batch(answer):
    run = Run({"FunctionResponseTypes": ["ReportBatchItemFailures"], "MaximumRetryAttempts": 0},
              lambda keys: Outcome(answer))
    run.process([record(1), record(2)])
    assert run.discarded == [(["k1", "k2"], "RetryAttemptsExhausted", 1)]


@pytest.mark.parametrize("answer", [b"null", b"{}", b'{"batchItemFailures": null}', b'"done"'])
def test_empty_partial_response_is_success(answer):
    run = Run({"FunctionResponseTypes": ["ReportBatchItemFailures"]}, lambda keys: Outcome(answer))
    run.process([record(1)])
    assert run.checkpoints == ["k1"] and run.discarded == []


def test_partial_response_ignored_without_report_batch_item_failures():
    run = Run({}, lambda keys: Outcome(b'{"batchItemFailures": [{"itemIdentifier": "x"}]}'))
    run.process([record(1)])
    assert run.checkpoints == ["k1"]


def test_records_older_than_the_maximum_age_are_discarded_before_the_call():
    run = Run({"MaximumRecordAgeInSeconds": 60}, ok, now=1100.0)
    run.process([record(1, created=1000.0), record(2, created=1090.0)])
    assert run.discarded == [(["k1"], "RecordAgeExceeded", 0)] and "responseContext" not in run.record
    assert run.calls == [["k2"]] and run.checkpoints == ["k2"]
    run = Run({"MaximumRecordAgeInSeconds": 60}, ok, now=2000.0).process([record(1), record(2)])
    assert run.calls == [] and run.checkpoints == ["k2"]


def test_throttled_or_missing_function_retries_without_counting():
    answers = iter([None, None, Outcome(b"null")])
    run = Run({"MaximumRetryAttempts": 0}, lambda keys: next(answers)).process([record(1)])
    assert len(run.calls) == 3 and run.discarded == [] and run.checkpoints == ["k1"]


def test_batch_failures_index():
    seqs = ["1", "2", "3"]
    assert streams.batch_failures(b'{"batchItemFailures": [{"itemIdentifier": "2"}]}', seqs) == 1
    assert streams.batch_failures(b'{"batchItemFailures": []}', seqs) is None
    assert streams.batch_failures(b'{"batchItemFailures": "x"}', seqs) == 0


def test_unpollable_reasons():
    assert streams.unpollable_reason("dynamodb") is None
    assert streams.unpollable_reason("sqs") is None
    assert "Kafka" in streams.unpollable_reason("kafka")


def test_kinesis_event_shape():
    source = streams.KinesisSource(None, type("Ctx", (), {"region": "us-east-1"})(),
                                   "arn:aws:kinesis:us-east-1:123456789012:stream/s", role="arn:role")
    event = source.event({"SequenceNumber": "49", "Data": "aGk=", "PartitionKey": "p",
                          "ApproximateArrivalTimestamp": 1.5}, "shardId-000000000000")
    assert event["kinesis"] == {"kinesisSchemaVersion": "1.0", "partitionKey": "p", "sequenceNumber": "49",
                                "data": "aGk=", "approximateArrivalTimestamp": 1.5}
    assert event["eventID"] == "shardId-000000000000:49" and event["eventName"] == "aws:kinesis:record"
    assert event["invokeIdentityArn"] == "arn:role" and source.info_key == "KinesisBatchInfo"
