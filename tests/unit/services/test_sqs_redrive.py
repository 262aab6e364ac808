"""Dead-letter queues (move on receive) and message move tasks (redrive back)."""

import json

import pytest

from haneul.errors import AwsError
from haneul.services.sqs.service import Sqs
from tests.unit.services.helpers import Harness

ACCOUNT = "123456789012"


@pytest.fixture
def h():
    return Harness(Sqs, account=ACCOUNT)


def error(h, method, request):
    with pytest.raises(AwsError) as e:
        h.call(method, request)
    return e.value


def arn(name):
    return f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"


def setup_pair(h, max_receives=2, fifo=False):
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    dlq = h.call("create_queue", {"QueueName": "dlq" + suffix, "Attributes": extra})["QueueUrl"]
    src = h.call("create_queue", {"QueueName": "src" + suffix, "Attributes": {**extra, "RedrivePolicy":
              json.dumps({"deadLetterTargetArn": arn("dlq" + suffix), "maxReceiveCount": max_receives})}}
                 )["QueueUrl"]
    return src, dlq


def receive(h, url, **kw):
    return h.call("receive_message", {"QueueUrl": url, "MaxNumberOfMessages": 10, **kw})["Messages"]


def count(h, url):
    return int(h.call("get_queue_attributes", {"QueueUrl": url, "AttributeNames": [
        "ApproximateNumberOfMessages"]})["Attributes"]["ApproximateNumberOfMessages"])


def test_message_moves_to_dlq_after_max_receives(h):
    src, dlq = setup_pair(h, max_receives=2)
    sent = h.call("send_message", {"QueueUrl": src, "MessageBody": "poison", "MessageAttributes": {
        "k": {"DataType": "String", "StringValue": "v"}}})
    for _ in range(2):
        assert [m["Body"] for m in receive(h, src, VisibilityTimeout=0)] == ["poison"]
    # The third receive moves it instead of delivering it.
    assert receive(h, src) == []
    assert count(h, src) == 0 and count(h, dlq) == 1
    [m] = receive(h, dlq, AttributeNames=["All"], MessageAttributeNames=["All"])
    assert m["MessageId"] == sent["MessageId"] and m["Body"] == "poison"
    assert m["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
    assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert m["Attributes"]["DeadLetterQueueSourceArn"] == arn("src")
    assert m["Attributes"]["SentTimestamp"] == "1700000000000"


def test_good_messages_still_delivered_while_poison_moves(h):
    src, dlq = setup_pair(h, max_receives=1)
    h.call("send_message", {"QueueUrl": src, "MessageBody": "bad"})
    receive(h, src, VisibilityTimeout=0)
    h.call("send_message", {"QueueUrl": src, "MessageBody": "good"})
    assert [m["Body"] for m in receive(h, src)] == ["good"]
    assert [m["Body"] for m in receive(h, dlq)] == ["bad"]


def test_fifo_dead_letter_keeps_group_and_order(h):
    src, dlq = setup_pair(h, max_receives=1, fifo=True)
    for i in range(2):
        h.call("send_message", {"QueueUrl": src, "MessageBody": f"m{i}", "MessageGroupId": "g"})
    assert [m["Body"] for m in receive(h, src, VisibilityTimeout=0)] == ["m0", "m1"]
    assert receive(h, src) == []
    got = receive(h, dlq, AttributeNames=["MessageGroupId", "SequenceNumber"])
    assert [m["Body"] for m in got] == ["m0", "m1"]
    assert got[0]["Attributes"]["MessageGroupId"] == "g"


def test_start_message_move_task_redrives_to_the_original_source(h):
    src, dlq = setup_pair(h, max_receives=1)
    for i in range(3):
        h.call("send_message", {"QueueUrl": src, "MessageBody": str(i)})
    receive(h, src, VisibilityTimeout=0)
    receive(h, src)
    assert count(h, dlq) == 3
    handle = h.call("start_message_move_task", {"SourceArn": arn("dlq")})["TaskHandle"]
    assert count(h, dlq) == 0 and count(h, src) == 3
    [task] = h.call("list_message_move_tasks", {"SourceArn": arn("dlq")})["Results"]
    assert task == {"Status": "COMPLETED", "SourceArn": arn("dlq"),
                    "ApproximateNumberOfMessagesMoved": 3, "ApproximateNumberOfMessagesToMove": 3,
                    "StartedTimestamp": 1700000000000}
    # Redriven messages start over: they are delivered again rather than bounced back.
    got = receive(h, src, AttributeNames=["ApproximateReceiveCount"])
    assert sorted(m["Body"] for m in got) == ["0", "1", "2"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in got} == {"1"}
    err = error(h, "cancel_message_move_task", {"TaskHandle": handle})
    assert err.code == "InvalidParameterValueException"


def test_move_task_to_a_destination_at_a_rate(h):
    src, dlq = setup_pair(h, max_receives=1)
    other = h.call("create_queue", {"QueueName": "other"})["QueueUrl"]
    for i in range(10):
        h.call("send_message", {"QueueUrl": src, "MessageBody": str(i)})
    receive(h, src, VisibilityTimeout=0)
    receive(h, src)
    handle = h.call("start_message_move_task", {"SourceArn": arn("dlq"), "DestinationArn": arn("other"),
                                                "MaxNumberOfMessagesPerSecond": 2})["TaskHandle"]
    h.clock.advance(2)
    [task] = h.call("list_message_move_tasks", {"SourceArn": arn("dlq"), "MaxResults": 10})["Results"]
    assert task["Status"] == "RUNNING" and task["TaskHandle"] == handle
    assert task["ApproximateNumberOfMessagesMoved"] == 4 and task["MaxNumberOfMessagesPerSecond"] == 2
    assert task["DestinationArn"] == arn("other")
    assert count(h, other) == 4 and count(h, dlq) == 6
    err = error(h, "start_message_move_task", {"SourceArn": arn("dlq")})
    assert err.message == ("There is already a task running. Only one active task is allowed "
                           "for a source queue arn at a given time.")
    h.clock.advance(1)
    assert h.call("cancel_message_move_task", {"TaskHandle": handle}) == {
        "ApproximateNumberOfMessagesMoved": 6}
    h.clock.advance(10)
    [task] = h.call("list_message_move_tasks", {"SourceArn": arn("dlq")})["Results"]
    assert task["Status"] == "CANCELLED" and "TaskHandle" not in task
    assert count(h, other) == 6 and count(h, dlq) == 4


def test_move_task_progress_is_seen_by_receivers_too(h):
    src, dlq = setup_pair(h, max_receives=1)
    h.call("send_message", {"QueueUrl": src, "MessageBody": "x"})
    receive(h, src, VisibilityTimeout=0)
    receive(h, src)
    h.call("start_message_move_task", {"SourceArn": arn("dlq"), "MaxNumberOfMessagesPerSecond": 1})
    assert receive(h, src) == []
    h.clock.advance(1)
    assert [m["Body"] for m in receive(h, src)] == ["x"]


def test_move_task_errors(h):
    setup_pair(h)
    h.call("create_queue", {"QueueName": "plain"})
    err = error(h, "start_message_move_task", {"SourceArn": "nonsense"})
    assert err.message == ("You must use this format to specify the SourceArn: "
                           "arn:<partition>:<service>:<region>:<account-id>:<resource-id>")
    err = error(h, "start_message_move_task", {"SourceArn": arn("nope")})
    assert (err.code, err.status) == ("ResourceNotFoundException", 404)
    assert err.message == "The resource that you specified for the SourceArn parameter doesn't exist."
    err = error(h, "start_message_move_task", {"SourceArn": arn("plain")})
    assert err.message == "Source queue must be configured as a Dead Letter Queue."
    err = error(h, "start_message_move_task", {"SourceArn": arn("dlq"), "DestinationArn": arn("nope")})
    assert err.message == "The resource that you specified for the DestinationArn parameter doesn't exist."
    assert error(h, "list_message_move_tasks", {"SourceArn": arn("nope")}).code == "ResourceNotFoundException"
    assert h.call("list_message_move_tasks", {"SourceArn": arn("dlq")}) == {"Results": []}
    assert error(h, "cancel_message_move_task", {"TaskHandle": "!!"}).code == "InvalidParameterValueException"


def test_move_task_fails_when_the_original_source_is_gone(h):
    src, dlq = setup_pair(h, max_receives=1)
    h.call("send_message", {"QueueUrl": src, "MessageBody": "x"})
    receive(h, src, VisibilityTimeout=0)
    receive(h, src)
    keeper = h.call("create_queue", {"QueueName": "keeper", "Attributes": {"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": arn("dlq"), "maxReceiveCount": 1})}})["QueueUrl"]
    assert keeper
    h.call("delete_queue", {"QueueUrl": src})
    h.call("start_message_move_task", {"SourceArn": arn("dlq")})
    [task] = h.call("list_message_move_tasks", {"SourceArn": arn("dlq")})["Results"]
    assert task["Status"] == "FAILED"
    assert task["FailureReason"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert count(h, dlq) == 1
