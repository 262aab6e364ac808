"""FIFO queues: group ordering and blocking, deduplication, sequence numbers, delays,
expired receipt handles, ReceiveRequestAttemptId."""

import hashlib

import pytest

from haneul.errors import AwsError
from haneul.services.sqs.service import Sqs
from tests.unit.services.helpers import Harness


@pytest.fixture
def h():
    return Harness(Sqs)


def make(h, name="f.fifo", **attributes):
    return h.call("create_queue", {"QueueName": name, "Attributes": {"FifoQueue": "true", **attributes}}
                  )["QueueUrl"]


@pytest.fixture
def url(h):
    return make(h, ContentBasedDeduplication="true")


def error(h, method, request):
    with pytest.raises(AwsError) as e:
        h.call(method, request)
    return e.value


def send(h, url, body, group="g", **kw):
    return h.call("send_message", {"QueueUrl": url, "MessageBody": body, "MessageGroupId": group, **kw})


def bodies(h, url, n=10, **kw):
    got = h.call("receive_message", {"QueueUrl": url, "MaxNumberOfMessages": n, **kw})["Messages"]
    return [m["Body"] for m in got], got


def test_messages_of_a_group_in_order_and_in_flight_blocks_the_group(h, url):
    for i in range(4):
        send(h, url, f"g{i}")
    got, msgs = bodies(h, url, 2)
    assert got == ["g0", "g1"]
    # The group has messages in flight: nothing more from it.
    assert bodies(h, url)[0] == []
    h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": msgs[0]["ReceiptHandle"]})
    assert bodies(h, url)[0] == []
    h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": msgs[1]["ReceiptHandle"]})
    assert bodies(h, url)[0] == ["g2", "g3"]


def test_other_groups_are_not_blocked(h, url):
    send(h, url, "a1", group="a")
    send(h, url, "a2", group="a")
    send(h, url, "b1", group="b")
    assert bodies(h, url, 1)[0] == ["a1"]
    assert bodies(h, url, 10)[0] == ["b1"]
    assert bodies(h, url, 10)[0] == []


def test_as_many_of_one_group_as_possible_first(h, url):
    for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")]:
        send(h, url, body, group=group)
    assert bodies(h, url, 4)[0] == ["a1", "a2", "a3", "b1"]


def test_visibility_expiry_redelivers_the_group_in_order(h, url):
    for i in range(3):
        send(h, url, str(i))
    assert bodies(h, url, 1, VisibilityTimeout=10)[0] == ["0"]
    h.clock.advance(10)
    got, msgs = bodies(h, url, 10, AttributeNames=["ApproximateReceiveCount"])
    assert got == ["0", "1", "2"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in msgs] == ["2", "1", "1"]


def test_change_visibility_to_zero_unblocks_the_group(h, url):
    send(h, url, "0")
    send(h, url, "1")
    _, [m] = bodies(h, url, 1)
    h.call("change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                         "VisibilityTimeout": 0})
    assert bodies(h, url)[0] == ["0", "1"]


def test_group_id_is_required_and_delay_per_message_is_refused(h, url):
    err = error(h, "send_message", {"QueueUrl": url, "MessageBody": "x"})
    assert (err.code, err.message) == ("MissingRequiredParameterException",
                                       "The request must contain the parameter MessageGroupId.")
    err = error(h, "send_message", {"QueueUrl": url, "MessageBody": "x", "MessageGroupId": "g",
                                    "DelaySeconds": 2})
    assert err.message == ("Value 2 for parameter DelaySeconds is invalid. Reason: The request "
                           "include parameter that is not valid for this queue type.")
    send(h, url, "x", DelaySeconds=0)
    err = error(h, "send_message", {"QueueUrl": url, "MessageBody": "x", "MessageGroupId": "bad group"})
    assert err.message == ("Value bad group for parameter MessageGroupId is invalid. Reason: "
                           "MessageGroupId can only include alphanumeric and punctuation "
                           "characters. 1 to 128 in length.")


def test_deduplication_id_required_without_content_based_dedup(h):
    url = make(h)
    err = error(h, "send_message", {"QueueUrl": url, "MessageBody": "x", "MessageGroupId": "g"})
    assert err.message == ("The queue should either have ContentBasedDeduplication enabled or "
                           "MessageDeduplicationId provided explicitly")
    send(h, url, "x", MessageDeduplicationId="d1")


def test_deduplication_within_five_minutes(h):
    url = make(h)
    first = send(h, url, "Test message 1", MessageDeduplicationId="d")
    again = send(h, url, "another message", MessageDeduplicationId="d")
    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    assert again["MD5OfMessageBody"] == hashlib.md5(b"another message").hexdigest()
    assert bodies(h, url)[0] == ["Test message 1"]
    # Still deduplicated after the message was deleted...
    h.clock.advance(299)
    assert send(h, url, "x", MessageDeduplicationId="d")["MessageId"] == first["MessageId"]
    # ...but not after the interval.
    h.clock.advance(1)
    assert send(h, url, "x", MessageDeduplicationId="d")["MessageId"] != first["MessageId"]


def test_content_based_deduplication_uses_the_body_sha256(h, url):
    first = send(h, url, "same")
    assert send(h, url, "same", group="other")["MessageId"] == first["MessageId"]
    _, [m] = bodies(h, url, AttributeNames=["MessageDeduplicationId"])
    assert m["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(b"same").hexdigest()
    # An explicit id wins over the content.
    assert send(h, url, "same", MessageDeduplicationId="explicit")["MessageId"] != first["MessageId"]


def test_deduplication_scope_message_group(h):
    url = make(h, ContentBasedDeduplication="true", DeduplicationScope="messageGroup")
    a = send(h, url, "same", group="a")
    b = send(h, url, "same", group="b")
    assert a["MessageId"] != b["MessageId"]
    assert send(h, url, "same", group="a")["MessageId"] == a["MessageId"]


def test_sequence_numbers_are_20_digits_and_increasing(h, url):
    numbers = [send(h, url, str(i))["SequenceNumber"] for i in range(3)]
    assert all(len(n) == 20 and n.isdigit() for n in numbers)
    assert [int(n) for n in numbers] == sorted(int(n) for n in numbers)
    _, msgs = bodies(h, url, AttributeNames=["All"])
    assert [m["Attributes"]["SequenceNumber"] for m in msgs] == numbers
    assert msgs[0]["Attributes"]["MessageGroupId"] == "g"


def test_queue_delay_is_retroactive(h, url):
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"DelaySeconds": "10"}})
    send(h, url, "x")
    assert bodies(h, url)[0] == []
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"DelaySeconds": "0"}})
    assert bodies(h, url)[0] == ["x"]


def test_delete_with_expired_receipt_handle_fails(h, url):
    send(h, url, "g1-m1")
    _, [m] = bodies(h, url, 1, VisibilityTimeout=1)
    h.clock.advance(2)
    err = error(h, "delete_message", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]})
    assert err.code == "InvalidParameterValueException"
    assert err.message == (f"Value {m['ReceiptHandle']} for parameter ReceiptHandle is invalid. "
                           "Reason: The receipt handle has expired.")


def test_change_visibility_of_a_message_not_in_flight(h, url):
    send(h, url, "x")
    _, [m] = bodies(h, url, 1, VisibilityTimeout=1)
    h.clock.advance(2)
    err = error(h, "change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                                 "VisibilityTimeout": 10})
    assert err.code == "MessageNotInflight"
    assert Sqs.QUERY_ERROR_CODES["MessageNotInflight"] == "AWS.SimpleQueueService.MessageNotInflight"


def test_receive_request_attempt_id_returns_the_same_messages(h, url):
    for i in range(3):
        send(h, url, str(i))
    _, first = bodies(h, url, 2, ReceiveRequestAttemptId="attempt-1", VisibilityTimeout=30)
    h.clock.advance(20)
    _, again = bodies(h, url, 2, ReceiveRequestAttemptId="attempt-1", VisibilityTimeout=30)
    assert [(m["MessageId"], m["ReceiptHandle"]) for m in again] == \
        [(m["MessageId"], m["ReceiptHandle"]) for m in first]
    # The retry reset the visibility timeout: still hidden 29 s after it.
    h.clock.advance(29)
    assert bodies(h, url)[0] == []
    # A modified message (deleted) ends the replay: a new receive happens.
    h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": first[0]["ReceiptHandle"]})
    h.clock.advance(1)
    got, _ = bodies(h, url, 2, ReceiveRequestAttemptId="attempt-1")
    assert got == ["1", "2"]


def test_send_batch_fifo_checks_are_request_errors(h, url):
    err = error(h, "send_message_batch", {"QueueUrl": url, "Entries": [
        {"Id": "a", "MessageBody": "x", "MessageGroupId": "g"}, {"Id": "b", "MessageBody": "y"}]})
    assert (err.code, err.message) == ("InvalidParameterValueException",
                                       "The request must contain the parameter MessageGroupId.")
    plain = make(h, "plain.fifo")
    err = error(h, "send_message_batch", {"QueueUrl": plain, "Entries": [
        {"Id": "a", "MessageBody": "x", "MessageGroupId": "g"}]})
    assert err.message.startswith("The queue should either have ContentBasedDeduplication enabled")
    out = h.call("send_message_batch", {"QueueUrl": url, "Entries": [
        {"Id": "a", "MessageBody": "x", "MessageGroupId": "g"},
        {"Id": "b", "MessageBody": "y", "MessageGroupId": "g"}]})
    assert [e["Id"] for e in out["Successful"]] == ["a", "b"]
    assert all(len(e["SequenceNumber"]) == 20 for e in out["Successful"])
    assert bodies(h, url)[0] == ["x", "y"]


def test_counts_include_blocked_group_messages(h, url):
    for i in range(3):
        send(h, url, str(i))
    bodies(h, url, 1)
    got = h.call("get_queue_attributes", {"QueueUrl": url, "AttributeNames": ["All"]})["Attributes"]
    assert (got["ApproximateNumberOfMessages"], got["ApproximateNumberOfMessagesNotVisible"]) == ("2", "1")
