"""The pure parts of SQS: attribute digests (against digests real SQS returned), queue URL
and ARN parsing, message and batch validation."""

import pytest

from haneul.errors import AwsError
from haneul.services.sqs import validation as check
from haneul.services.sqs.md5 import md5_of_attributes, md5_of_body
from haneul.services.sqs.urls import parse_queue_arn, parse_queue_url, partition, queue_arn


def s(value):
    return {"DataType": "String", "StringValue": value}


# Digests recorded from real SQS (LocalStack's AWS-validated snapshots and the AWS CLI
# reference examples, which print the first and last 8 hex digits).
@pytest.mark.parametrize("attributes, digest", [
    ({"General": s("Kenobi"), "Hello": s("There"), "Help.Me": s("Me")},
     "4c360f3fdafd970e05fae2f149d997f5"),
    ({"General": s("Kenobi"), "Hello": s("There")}, "fca026605781cb4126a1e9044df24232"),
    ({"Hello": s("There")}, "a311262e065454b75da111d535b8dacd"),
    ({"Hello": s("There"), "Help.Me": s("Me")}, "83fee93c1bcd8b9a5a923ffacdc636c7"),
    ({"Foo": s("Bar")}, "ae7155c6026991b6d54b11589678bf9c"),
    ({"attr1": {"DataType": "Binary", "BinaryValue":
                b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"}},
     "8cbe4db156db8a94db8b801b7addb984"),
])
def test_attribute_digest_matches_sqs(attributes, digest):
    assert md5_of_attributes(attributes) == digest


@pytest.mark.parametrize("attributes, head, tail", [
    ({"SellerName": s("Example Store"), "City": s("Any City"), "Region": s("WA"),
      "PostalCode": s("99065"), "PricePerGallon": {"DataType": "Number", "StringValue": "1.99"}},
     "10809b55", "baf283ef"),
    ({"PostalCode": s("ABC123"), "City": s("Any City")}, "9424c491", "26bc3ae7"),
    ({"PostalCode": s("ABC123")}, "b8e89563", "e088e74f"),
])
def test_attribute_digest_matches_aws_cli_examples(attributes, head, tail):
    digest = md5_of_attributes(attributes)
    assert digest.startswith(head) and digest.endswith(tail)


def test_digest_ignores_attribute_order_and_distinguishes_transport_types():
    a = {"b": s("1"), "a": s("2")}
    assert md5_of_attributes(a) == md5_of_attributes(dict(reversed(list(a.items()))))
    assert md5_of_attributes({"x": s("v")}) != md5_of_attributes(
        {"x": {"DataType": "String", "BinaryValue": b"v"}})
    # Number travels as a string (transport byte 1) but its type name is hashed.
    assert md5_of_attributes({"x": {"DataType": "Number", "StringValue": "1"}}) != \
        md5_of_attributes({"x": s("1")})


def test_trace_header_system_attribute_digest():
    assert md5_of_attributes({"AWSTraceHeader": s("some-trace-id")}) == \
        "fdce4f2818803f2f73becc09a54792c0"


def test_no_attributes_no_digest_and_body_digest():
    assert md5_of_attributes({}) is None and md5_of_attributes(None) is None
    assert md5_of_body("msg") == "6e2baaf3b97dbeef01c0043275f9a0e7"
    assert md5_of_body("test") == "098f6bcd4621d373cade4e832627b4f6"


# -- URLs and ARNs -----------------------------------------------------------------------
@pytest.mark.parametrize("url, expected", [
    ("http://localhost:4566/000000000000/q", ("000000000000", "q")),
    ("http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/q", ("000000000000", "q")),
    ("https://sqs.us-east-1.amazonaws.com/123/q.fifo", ("123", "q.fifo")),
    ("http://localhost:4566/queue/eu-west-1/111111111111/q", ("111111111111", "q")),
    ("https://queue.amazonaws.com/222222222222/my-queue/", ("222222222222", "my-queue")),
    ("q", ("999999999999", "q")),
    ("/333333333333/q", ("333333333333", "q")),
])
def test_parse_queue_url_accepts_every_form(url, expected):
    assert parse_queue_url(url, "999999999999") == expected


@pytest.mark.parametrize("url", ["", "http://localhost:4566/", "http://localhost:4566/q"])
def test_parse_queue_url_rejects_what_names_no_queue(url):
    assert parse_queue_url(url, "999999999999") is None


def test_arns_and_partitions():
    assert queue_arn("us-east-1", "123456789012", "q") == "arn:aws:sqs:us-east-1:123456789012:q"
    assert partition("cn-north-1") == "aws-cn" and partition("us-gov-west-1") == "aws-us-gov"
    assert parse_queue_arn("arn:aws:sqs:eu-west-1:123456789012:q") == ("eu-west-1", "123456789012", "q")
    assert parse_queue_arn("arn:aws:sns:eu-west-1:123456789012:t") is None
    assert parse_queue_arn("dummy") is None


# -- validation --------------------------------------------------------------------------
def code_of(fn, *args):
    with pytest.raises(AwsError) as e:
        fn(*args)
    return e.value.code, e.value.message


@pytest.mark.parametrize("body", ["ok", "tab\tnew\nline\r", "\ud7ff\ue000\ufffd", "\U0001F600",
                                  "\U0010ffff"])
def test_valid_body_characters(body):
    assert check.check_body(body) == body


@pytest.mark.parametrize("body", ["\x00", "a\x08b", "\x1f", "\ufffe", "\uffff", "\ud800"])
def test_invalid_body_characters(body):
    code, message = code_of(check.check_body, body)
    assert code == "InvalidMessageContents"
    assert message.startswith("Invalid characters found. Valid unicode characters are #x9")


def test_empty_body_is_a_missing_parameter():
    assert code_of(check.check_body, "") == (
        "MissingRequiredParameterException", "The request must contain the parameter MessageBody.")


@pytest.mark.parametrize("attributes, message", [
    ({f"a{i}": s("v") for i in range(11)},
     "Number of message attributes [11] exceeds the allowed maximum [10]."),
    ({"": s("v")}, "The request must contain non-empty message (user) attribute names."),
    ({"a" * 257: s("v")}, "Message (user) attribute name must be shorter than 256 bytes."),
    ({"AWS.x": s("v")}, "You can't use message attribute names beginning with 'AWS.' or "
     "'Amazon.'. These strings are reserved for internal use. Additionally, they cannot start "
     "or end with '.'."),
    ({"amazon.x": s("v")}, None),
    ({".x": s("v")}, None),
    ({"x..y": s("v")}, None),
    ({"bad name": s("v")}, "Message (user) attributes name can only contain upper and lower "
     "score characters, digits, periods, hyphens and underscores. "),
    ({"x": {"DataType": "Weird", "StringValue": "v"}}, "The type of message (user) attribute "
     "'x' is invalid. You must use only the following supported type prefixes: Binary, Number, String."),
    ({"x": s("")}, "Message (user) attribute 'x' must contain a non-empty value of type 'String'."),
    ({"x": {"DataType": "Number", "StringValue": "abc"}},
     "Can't cast the value of message (user) attribute 'x' to a number."),
    ({"x": {"DataType": "Binary"}},
     "Message (user) attribute 'x' must contain a non-empty value of type 'Binary'."),
    ({"x": {"DataType": "StringList", "StringListValues": ["a"]}},
     "Message attribute list values in SendMessage operation are not supported."),
    ({"x": {"DataType": "String." + "a" * 250, "StringValue": "v"}},
     "Message (user) attribute type must be shorter than 256 bytes."),
])
def test_message_attribute_errors(attributes, message):
    code, got = code_of(check.check_message_attributes, attributes)
    assert code == "InvalidParameterValueException"
    if message:
        assert got == message
    else:
        assert got.startswith("You can't use message attribute names")


def test_message_attribute_custom_types_are_accepted():
    out = check.check_message_attributes({
        "n": {"DataType": "Number.int", "StringValue": "-1.5e3"},
        "b": {"DataType": "Binary.gif", "BinaryValue": b"\x00\x01"},
        "t": {"DataType": "String.json", "StringValue": "{}"}})
    assert out["b"] == {"DataType": "Binary.gif", "BinaryValue": b"\x00\x01"}
    assert out["n"]["StringValue"] == "-1.5e3"


def test_system_attributes_only_trace_header():
    assert code_of(check.check_system_attributes, {"Foo": s("x")})[1] == \
        "Message system attribute name 'Foo' is invalid."
    assert check.check_system_attributes({"AWSTraceHeader": s("Root=1")}) == \
        {"AWSTraceHeader": s("Root=1")}


def test_size_counts_body_and_attribute_names_types_values():
    attrs = {"ab": s("xyz")}                       # 2 + 6 + 3
    assert check.message_size("héllo", attrs) == 6 + 11
    check.check_size("a" * 1024, None, 1024)
    assert code_of(check.check_size, "a" * 1025, None, 1024) == (
        "InvalidParameterValueException",
        "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.")
    with pytest.raises(AwsError):
        check.check_size("a" * 1000, attrs | {"more": s("b" * 20)}, 1024)


def test_batch_checks_in_order():
    assert code_of(check.check_batch, [], "SendMessageBatchRequestEntry") == (
        "EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.")
    assert code_of(check.check_batch, [{"Id": str(i)} for i in range(11)], "X") == (
        "TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent 11.")
    for bad in ("", "a:b", "x" * 81, "with space"):
        assert code_of(check.check_batch, [{"Id": bad}], "X")[0] == "InvalidBatchEntryId"
    assert code_of(check.check_batch, [{"Id": "a"}, {"Id": "a"}], "X") == (
        "BatchEntryIdsNotDistinct", "Id a repeated.")
    assert code_of(check.check_batch_size, [{"MessageBody": "a" * 600}, {"MessageBody": "b" * 500}],
                   1024) == ("BatchRequestTooLong",
                             "Batch requests cannot be longer than 1024 bytes. You have sent 1100 bytes.")


@pytest.mark.parametrize("request_, message", [
    ({"MaxNumberOfMessages": 11},
     "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."),
    ({"MaxNumberOfMessages": 0}, None),
    ({"WaitTimeSeconds": 21},
     "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."),
    ({"VisibilityTimeout": 43201}, "Value 43201 for parameter VisibilityTimeout is invalid. "
     "Reason: Must be >= 0 and <= 43200, if provided."),
])
def test_receive_parameter_ranges(request_, message):
    code, got = code_of(check.check_receive, request_)
    assert code == "InvalidParameterValueException"
    assert message is None or got == message


def test_message_attribute_name_filters():
    names = ["General", "Hello", "Help.Me"]
    pick = lambda f: [n for n in names if check.attribute_filter(f)(n)]  # noqa: E731
    assert pick(["All"]) == names and pick([".*"]) == names
    assert pick(["Hel.*"]) == ["Hello", "Help.Me"]
    assert pick(["Help.*"]) == ["Help.Me"]
    assert pick(["Hello", "Nope"]) == ["Hello"]
    assert pick([]) == [] and pick(None) == []
