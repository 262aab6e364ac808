"""SQS messages on standard queues: send, receive, delete, visibility, delay, retention,
message attributes, batches."""

import pytest

from haneul.context import Principal
from haneul.errors import AwsError
from haneul.services.sqs.md5 import md5_of_attributes
from haneul.services.sqs.service import Sqs
from tests.unit.services.helpers import Harness

ACCOUNT = "123456789012"


@pytest.fixture
def h():
    return Harness(Sqs, account=ACCOUNT)


@pytest.fixture
def url(h):
    return h.call("create_queue", {"QueueName": "q"})["QueueUrl"]


def error(h, method, request, **kw):
    with pytest.raises(AwsError) as e:
        h.call(method, request, **kw)
    return e.value


def send(h, url, body="hello", **kw):
    return h.call("send_message", {"QueueUrl": url, "MessageBody": body, **kw})


def receive(h, url, **kw):
    return h.call("receive_message", {"QueueUrl": url, **kw})["Messages"]


def counts(h, url):
    got = h.call("get_queue_attributes", {"QueueUrl": url, "AttributeNames": [
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"]})["Attributes"]
    return (int(got["ApproximateNumberOfMessages"]), int(got["ApproximateNumberOfMessagesNotVisible"]),
            int(got["ApproximateNumberOfMessagesDelayed"]))


# -- send / receive / delete ---------------------------------------------------------------
def test_send_returns_digests_and_id(h, url):
    out = send(h, url, "msg", MessageAttributes={"Foo": {"DataType": "String", "StringValue": "Bar"}})
    assert out["MD5OfMessageBody"] == "6e2baaf3b97dbeef01c0043275f9a0e7"
    assert out["MD5OfMessageAttributes"] == "ae7155c6026991b6d54b11589678bf9c"
    assert len(out["MessageId"]) == 36 and "SequenceNumber" not in out
    assert "MD5OfMessageSystemAttributes" not in send(h, url)


def test_receive_returns_the_message_and_hides_it(h, url):
    sent = send(h, url, "hello")
    [m] = receive(h, url)
    assert m["MessageId"] == sent["MessageId"] and m["Body"] == "hello"
    assert m["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert "Attributes" not in m and "MessageAttributes" not in m
    assert receive(h, url) == []
    assert counts(h, url) == (0, 1, 0)


def test_empty_receive_returns_an_empty_list_at_once(h, url):
    assert h.call("receive_message", {"QueueUrl": url, "WaitTimeSeconds": 0}) == {"Messages": []}


def test_max_number_of_messages(h, url):
    for i in range(15):
        send(h, url, str(i))
    assert len(receive(h, url)) == 1
    assert len(receive(h, url, MaxNumberOfMessages=10)) == 10
    assert len(receive(h, url, MaxNumberOfMessages=10)) == 4
    assert counts(h, url) == (0, 15, 0)


def test_messages_come_out_in_send_order(h, url):
    for i in range(5):
        send(h, url, str(i))
        h.clock.advance(0.001)
    assert [m["Body"] for m in receive(h, url, MaxNumberOfMessages=10)] == ["0", "1", "2", "3", "4"]


def test_delete_removes_the_message(h, url):
    send(h, url)
    [m] = receive(h, url)
    h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]})
    assert counts(h, url) == (0, 0, 0)
    h.clock.advance(31)
    assert receive(h, url) == []
    # Deleting again is not an error.
    h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]})


def test_invalid_receipt_handles(h, url):
    err = error(h, "delete_message", {"QueueUrl": url, "ReceiptHandle": "garbage"})
    assert (err.code, err.status) == ("ReceiptHandleIsInvalid", 404)
    assert err.message == 'The input receipt handle "garbage" is not a valid receipt handle.'
    other = h.call("create_queue", {"QueueName": "other"})["QueueUrl"]
    send(h, other)
    [m] = receive(h, other)
    err = error(h, "delete_message", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]})
    assert err.code == "ReceiptHandleIsInvalid"


def test_stale_receipt_handle_does_not_delete(h, url):
    send(h, url)
    [first] = receive(h, url, VisibilityTimeout=5)
    h.clock.advance(6)
    [second] = receive(h, url)
    assert first["ReceiptHandle"] != second["ReceiptHandle"]
    h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": first["ReceiptHandle"]})
    assert counts(h, url) == (0, 1, 0)
    h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": second["ReceiptHandle"]})
    assert counts(h, url) == (0, 0, 0)


def test_latest_handle_deletes_even_after_visibility_expired(h, url):
    send(h, url)
    [m] = receive(h, url, VisibilityTimeout=5)
    h.clock.advance(10)
    h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]})
    assert counts(h, url) == (0, 0, 0)


# -- visibility ----------------------------------------------------------------------------
def test_queue_visibility_timeout(h, url):
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"VisibilityTimeout": "3"}})
    send(h, url)
    assert len(receive(h, url)) == 1
    h.clock.advance(2.9)
    assert receive(h, url) == []
    h.clock.advance(0.1)
    [m] = receive(h, url, AttributeNames=["ApproximateReceiveCount"])
    assert m["Attributes"] == {"ApproximateReceiveCount": "2"}


def test_receive_visibility_timeout_overrides_queue_and_zero_keeps_visible(h, url):
    send(h, url)
    assert len(receive(h, url, VisibilityTimeout=100)) == 1
    h.clock.advance(99)
    assert receive(h, url) == []
    h.clock.advance(1)
    assert len(receive(h, url, VisibilityTimeout=0)) == 1
    assert len(receive(h, url)) == 1


def test_change_message_visibility(h, url):
    send(h, url)
    [m] = receive(h, url)
    h.call("change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                         "VisibilityTimeout": 100})
    h.clock.advance(99)
    assert receive(h, url) == []
    h.clock.advance(1)
    [m] = receive(h, url)
    h.call("change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                         "VisibilityTimeout": 0})
    assert counts(h, url) == (1, 0, 0)
    assert len(receive(h, url)) == 1


def test_change_visibility_counts_twelve_hours_from_the_receive(h, url):
    send(h, url)
    [m] = receive(h, url)
    h.clock.advance(100)
    err = error(h, "change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                                 "VisibilityTimeout": 43200})
    assert err.code == "InvalidParameterValueException"
    assert err.message == ("Value 43200 for parameter VisibilityTimeout is invalid. Reason: Total "
                           "VisibilityTimeout for the message is beyond the limit [43200 seconds]")
    h.call("change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                         "VisibilityTimeout": 43100})


def test_change_visibility_errors(h, url):
    send(h, url)
    [m] = receive(h, url)
    err = error(h, "change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                                 "VisibilityTimeout": 43201})
    assert err.message == ("Value 43201 for parameter VisibilityTimeout is invalid. Reason: "
                           "Must be between 0 and 43200.")
    assert error(h, "change_message_visibility", {"QueueUrl": url, "ReceiptHandle": "x",
                                                  "VisibilityTimeout": 1}).code == "ReceiptHandleIsInvalid"
    h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]})
    err = error(h, "change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                                 "VisibilityTimeout": 1})
    assert err.message == (f"Value {m['ReceiptHandle']} for parameter ReceiptHandle is invalid. "
                           "Reason: Message does not exist or is not available for visibility "
                           "timeout change.")


def test_change_visibility_after_expiry_is_accepted_on_standard_queues(h, url):
    send(h, url)
    [m] = receive(h, url, VisibilityTimeout=1)
    h.clock.advance(2)
    h.call("change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                         "VisibilityTimeout": 30})
    assert receive(h, url) == []


# -- delay and retention -------------------------------------------------------------------
def test_queue_delay_and_per_message_delay(h, url):
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"DelaySeconds": "2"}})
    send(h, url, "queue-delay")
    send(h, url, "own-delay", DelaySeconds=5)
    send(h, url, "no-delay", DelaySeconds=0)
    assert counts(h, url) == (1, 0, 2)
    assert [m["Body"] for m in receive(h, url, MaxNumberOfMessages=10)] == ["no-delay"]
    h.clock.advance(2)
    assert [m["Body"] for m in receive(h, url, MaxNumberOfMessages=10)] == ["queue-delay"]
    h.clock.advance(3)
    assert [m["Body"] for m in receive(h, url, MaxNumberOfMessages=10)] == ["own-delay"]


def test_delay_seconds_range(h, url):
    err = error(h, "send_message", {"QueueUrl": url, "MessageBody": "x", "DelaySeconds": 901})
    assert err.message == ("Value 901 for parameter DelaySeconds is invalid. Reason: "
                           "DelaySeconds must be >= 0 and <= 900.")


def test_expired_messages_vanish(h, url):
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"MessageRetentionPeriod": "60"}})
    send(h, url, "old")
    h.clock.advance(30)
    send(h, url, "new")
    [m] = receive(h, url, VisibilityTimeout=0)
    h.clock.advance(30)
    assert counts(h, url) == (1, 0, 0)
    assert [m["Body"] for m in receive(h, url, MaxNumberOfMessages=10)] == ["new"]


def test_shorter_retention_applies_to_messages_already_queued(h, url):
    send(h, url)
    h.clock.advance(120)
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"MessageRetentionPeriod": "60"}})
    assert receive(h, url) == []
    assert counts(h, url) == (0, 0, 0)


# -- body and size -------------------------------------------------------------------------
def test_body_validation(h, url):
    assert error(h, "send_message", {"QueueUrl": url, "MessageBody": ""}).code == \
        "MissingRequiredParameterException"
    err = error(h, "send_message", {"QueueUrl": url, "MessageBody": "bad\x00"})
    assert err.code == "InvalidMessageContents"
    assert Sqs.QUERY_ERROR_CODES["InvalidParameterValueException"] == "InvalidParameterValue"
    assert Sqs.QUERY_ERROR_CODES["MissingRequiredParameterException"] == "MissingParameter"


def test_maximum_message_size_counts_attributes(h, url):
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"MaximumMessageSize": "1024"}})
    send(h, url, "a" * 1024)
    err = error(h, "send_message", {"QueueUrl": url, "MessageBody": "a" * 1025})
    assert err.message == "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    with pytest.raises(AwsError):
        send(h, url, "a" * 1000, MessageAttributes={"attr": {"DataType": "String", "StringValue": "b" * 20}})


def test_default_maximum_is_one_mebibyte(h, url):
    send(h, url, "a" * 1_048_576)
    assert error(h, "send_message", {"QueueUrl": url, "MessageBody": "a" * 1_048_577}).code == \
        "InvalidParameterValueException"


def test_deduplication_id_is_not_for_standard_queues(h, url):
    err = error(h, "send_message", {"QueueUrl": url, "MessageBody": "x", "MessageDeduplicationId": "d"})
    assert err.message == ("Value d for parameter MessageDeduplicationId is invalid. Reason: The "
                           "request include parameter that is not valid for this queue type.")


def test_message_group_id_on_a_standard_queue_is_a_fair_queue_tenant(h, url):
    send(h, url, "a", MessageGroupId="tenant-1")
    send(h, url, "b", MessageGroupId="tenant-1")
    got = receive(h, url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"])
    # No FIFO blocking on standard queues: both come at once.
    assert [(m["Body"], m["Attributes"]) for m in got] == [
        ("a", {"MessageGroupId": "tenant-1"}), ("b", {"MessageGroupId": "tenant-1"})]


# -- attributes on receive -----------------------------------------------------------------
def test_system_attributes(h, url):
    principal = Principal(access_key="AKIA", account=ACCOUNT, user_id="AIDAEXAMPLE")
    h.call("send_message", {"QueueUrl": url, "MessageBody": "x"}, principal=principal)
    h.clock.advance(5)
    [m] = receive(h, url, AttributeNames=["All"])
    assert m["Attributes"] == {"SenderId": "AIDAEXAMPLE", "SentTimestamp": "1700000000000",
                               "ApproximateReceiveCount": "1",
                               "ApproximateFirstReceiveTimestamp": "1700000005000"}
    h.clock.advance(31)
    [m] = receive(h, url, MessageSystemAttributeNames=["ApproximateReceiveCount",
                                                       "ApproximateFirstReceiveTimestamp"],
                  AttributeNames=["SentTimestamp"])
    assert m["Attributes"] == {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000",
                               "ApproximateFirstReceiveTimestamp": "1700000005000"}


def test_sender_id_of_root_is_the_account(h, url):
    send(h, url)
    [m] = receive(h, url, AttributeNames=["SenderId"])
    assert m["Attributes"] == {"SenderId": ACCOUNT}


def test_trace_header_system_attribute(h, url):
    out = send(h, url, MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String",
                                                                   "StringValue": "Root=1-abc"}})
    assert out["MD5OfMessageSystemAttributes"] == md5_of_attributes(
        {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}})
    h.call("send_message", {"QueueUrl": url, "MessageBody": "y"},
           headers={"x-amzn-trace-id": "Root=1-from-header"})
    got = receive(h, url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["AWSTraceHeader"])
    assert [m["Attributes"]["AWSTraceHeader"] for m in got] == ["Root=1-abc", "Root=1-from-header"]
    err = error(h, "send_message", {"QueueUrl": url, "MessageBody": "x", "MessageSystemAttributes": {
        "Other": {"DataType": "String", "StringValue": "v"}}})
    assert err.message == "Message system attribute name 'Other' is invalid."


def test_message_attribute_filters_and_digest_of_what_is_returned(h, url):
    attributes = {"General": {"DataType": "String", "StringValue": "Kenobi"},
                  "Hello": {"DataType": "String", "StringValue": "There"},
                  "Help.Me": {"DataType": "String", "StringValue": "Me"}}
    send(h, url, "msg", MessageAttributes=attributes)

    def get(names):
        [m] = receive(h, url, VisibilityTimeout=0, **({"MessageAttributeNames": names} if names else {}))
        return m.get("MessageAttributes"), m.get("MD5OfMessageAttributes")

    assert get(None) == (None, None)
    assert get(["All"]) == (attributes, "4c360f3fdafd970e05fae2f149d997f5")
    assert get([".*"]) == (attributes, "4c360f3fdafd970e05fae2f149d997f5")
    assert get(["Foo"]) == (None, None)
    assert get(["General", "Hello"])[1] == "fca026605781cb4126a1e9044df24232"
    assert get(["Hello", "Nope"])[1] == "a311262e065454b75da111d535b8dacd"
    assert get(["Hel.*"])[1] == "83fee93c1bcd8b9a5a923ffacdc636c7"


def test_binary_attributes_round_trip(h, url):
    value = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
    out = send(h, url, "test", MessageAttributes={"attr1": {"DataType": "Binary", "BinaryValue": value}})
    assert out["MD5OfMessageAttributes"] == "8cbe4db156db8a94db8b801b7addb984"
    [m] = receive(h, url, MessageAttributeNames=["All"])
    assert m["MessageAttributes"] == {"attr1": {"DataType": "Binary", "BinaryValue": value}}
    assert m["MD5OfMessageAttributes"] == "8cbe4db156db8a94db8b801b7addb984"


# -- batches -------------------------------------------------------------------------------
def test_send_message_batch_with_a_failing_entry(h, url):
    out = h.call("send_message_batch", {"QueueUrl": url, "Entries": [
        {"Id": "ok1", "MessageBody": "a"},
        {"Id": "bad", "MessageBody": "\x01"},
        {"Id": "ok2", "MessageBody": "b", "DelaySeconds": 5,
         "MessageAttributes": {"k": {"DataType": "Number", "StringValue": "1"}}},
        {"Id": "toolate", "MessageBody": "c", "DelaySeconds": 1000},
    ]})
    assert [e["Id"] for e in out["Successful"]] == ["ok1", "ok2"]
    assert out["Successful"][1]["MD5OfMessageAttributes"] == md5_of_attributes(
        {"k": {"DataType": "Number", "StringValue": "1"}})
    assert out["Failed"] == [
        {"Id": "bad", "SenderFault": True, "Code": "InvalidMessageContents", "Message":
         "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF "
         "| #xE000 to #xFFFD | #x10000 to #x10FFFF"},
        {"Id": "toolate", "SenderFault": True, "Code": "InvalidParameterValue", "Message":
         "Value 1000 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."}]
    assert counts(h, url) == (1, 0, 1)


def test_send_batch_request_errors(h, url):
    assert error(h, "send_message_batch", {"QueueUrl": url, "Entries": []}).code == "EmptyBatchRequest"
    err = error(h, "send_message_batch", {"QueueUrl": url, "Entries": [
        {"Id": str(i), "MessageBody": "x"} for i in range(11)]})
    assert err.code == "TooManyEntriesInBatchRequest"
    err = error(h, "send_message_batch", {"QueueUrl": url, "Entries": [
        {"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]})
    assert (err.code, err.message) == ("BatchEntryIdsNotDistinct", "Id a repeated.")
    err = error(h, "send_message_batch", {"QueueUrl": url, "Entries": [
        {"Id": "a", "MessageBody": "x" * 600_000}, {"Id": "b", "MessageBody": "y" * 600_000}]})
    assert err.code == "BatchRequestTooLong"
    assert err.message == "Batch requests cannot be longer than 1048576 bytes. You have sent 1200000 bytes."
    assert counts(h, url) == (0, 0, 0)
    assert Sqs.QUERY_ERROR_CODES["BatchRequestTooLong"] == "AWS.SimpleQueueService.BatchRequestTooLong"


def test_delete_message_batch(h, url):
    for i in range(3):
        send(h, url, str(i))
    messages = receive(h, url, MaxNumberOfMessages=10)
    out = h.call("delete_message_batch", {"QueueUrl": url, "Entries": [
        {"Id": "a", "ReceiptHandle": messages[0]["ReceiptHandle"]},
        {"Id": "b", "ReceiptHandle": "nonsense"},
        {"Id": "c", "ReceiptHandle": messages[2]["ReceiptHandle"]}]})
    assert out["Successful"] == [{"Id": "a"}, {"Id": "c"}]
    assert out["Failed"] == [{"Id": "b", "SenderFault": True, "Code": "ReceiptHandleIsInvalid",
                              "Message": 'The input receipt handle "nonsense" is not a valid receipt handle.'}]
    assert counts(h, url) == (0, 1, 0)
    err = error(h, "delete_message_batch", {"QueueUrl": url, "Entries": []})
    assert err.message == "There should be at least one DeleteMessageBatchRequestEntry in the request."
    err = error(h, "delete_message_batch", {"QueueUrl": url, "Entries": [{"Id": "x:y", "ReceiptHandle": "r"}]})
    assert err.message == ("A batch entry id can only contain alphanumeric characters, hyphens and "
                           "underscores. It can be at most 80 letters long.")


def test_change_message_visibility_batch(h, url):
    for i in range(2):
        send(h, url, str(i))
    messages = receive(h, url, MaxNumberOfMessages=10)
    out = h.call("change_message_visibility_batch", {"QueueUrl": url, "Entries": [
        {"Id": "a", "ReceiptHandle": messages[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "b", "ReceiptHandle": messages[1]["ReceiptHandle"], "VisibilityTimeout": 300},
        {"Id": "c", "ReceiptHandle": "bad", "VisibilityTimeout": 1}]})
    assert out["Successful"] == [{"Id": "a"}, {"Id": "b"}]
    assert [(f["Id"], f["Code"]) for f in out["Failed"]] == [("c", "ReceiptHandleIsInvalid")]
    assert [m["Body"] for m in receive(h, url, MaxNumberOfMessages=10)] == ["0"]
    err = error(h, "change_message_visibility_batch", {"QueueUrl": url, "Entries": [
        {"Id": str(i), "ReceiptHandle": "r"} for i in range(20)]})
    assert err.message == "Maximum number of entries per request are 10. You have sent 20."
