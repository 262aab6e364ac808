"""haneul.protocol.awsjson: request bodies, responses and error bodies that botocore's
json parser reads back (code, message, modeled members, query-compatible codes)."""

from __future__ import annotations

import datetime as dt

import botocore.session
import orjson
import pytest
from botocore import parsers
from botocore.awsrequest import HeadersDict

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.protocol import get_codec
from haneul.protocol.awsjson import dumps, loads
from haneul.protocol.message import HttpRequest
from haneul.protocol.shapes import service_spec

SESSION = botocore.session.get_session()
CTX = RequestContext(account="123456789012", region="us-east-1", store=None, request_id="rid")
JSON = get_codec("json")


def headers_of(resp) -> HeadersDict:
    h = HeadersDict()
    for k, v in resp.headers:
        h[k] = v
    return h


def botocore_parse(resp, shape=None) -> dict:
    return parsers.create_parser("json").parse(
        {"status_code": resp.status, "headers": headers_of(resp), "body": resp.body}, shape)


def error(service: str, operation: str, err: AwsError):
    spec = service_spec(service)
    return JSON.serialize_error(spec, spec.operation(operation), err, CTX)


# -- errors --------------------------------------------------------------------------------------
def test_error_code_and_message_are_read_by_botocore():
    resp = error("ssm", "GetParameter", AwsError("ParameterNotFound", "Parameter /x not found.", 400))
    assert resp.status == 400
    parsed = botocore_parse(resp)
    assert parsed["Error"]["Code"] == "ParameterNotFound"
    assert parsed["Error"]["Message"] == "Parameter /x not found."
    assert resp.header("x-amzn-ErrorType") == "ParameterNotFound"


@pytest.mark.parametrize("service,version", [("ssm", "1.1"), ("dynamodb", "1.0"), ("sqs", "1.0")])
def test_content_type_follows_the_json_version(service, version):
    assert SESSION.get_service_model(service).metadata["jsonVersion"] == version
    spec = service_spec(service)
    op = spec.operation(spec.operation_names[0])
    resp = JSON.serialize_error(spec, op, AwsError("Whatever", "m"), CTX)
    assert resp.header("content-type") == f"application/x-amz-json-{version}"


def test_message_member_spelled_with_a_capital_is_read():
    resp = error("ssm", "GetParameter", AwsError("InternalServerError", "broken", 500, sender=False))
    doc = orjson.loads(resp.body)
    assert doc["Message"] == "broken" and "message" not in doc
    assert botocore_parse(resp)["Error"]["Message"] == "broken"


def test_modeled_error_members_are_read_by_botocore():
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}]
    resp = error("dynamodb", "TransactWriteItems",
                 AwsError("TransactionCanceledException", "Transaction cancelled",
                          fields={"CancellationReasons": reasons}))
    shape = SESSION.get_service_model("dynamodb").shape_for("TransactionCanceledException")
    parsed = botocore_parse(resp, shape)
    assert parsed["CancellationReasons"] == reasons
    assert botocore_parse(resp)["Error"]["Code"] == "TransactionCanceledException"


def test_query_compatible_service_sends_the_legacy_code_header():
    err = AwsError("QueueDoesNotExist", "The specified queue does not exist.")
    err.query_code = "AWS.SimpleQueueService.NonExistentQueue"
    resp = error("sqs", "GetQueueUrl", err)
    assert resp.header("x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    parsed = botocore_parse(resp)["Error"]
    assert parsed["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert parsed["QueryErrorCode"] == "QueueDoesNotExist"
    assert parsed["Type"] == "Sender"


def test_service_that_is_not_query_compatible_sends_no_legacy_header():
    err = AwsError("ParameterNotFound", "x")
    err.query_code = "Legacy.Code"
    resp = error("ssm", "GetParameter", err)
    assert resp.header("x-amzn-query-error") is None
    assert botocore_parse(resp)["Error"]["Code"] == "ParameterNotFound"


def test_error_without_a_spec():
    resp = JSON.serialize_error(None, None, AwsError("UnknownOperationException", "no such op", 400), CTX)
    assert resp.status == 400
    parsed = botocore_parse(resp)["Error"]
    assert (parsed["Code"], parsed["Message"]) == ("UnknownOperationException", "no such op")


def test_extra_error_headers_are_sent():
    resp = error("ssm", "GetParameter", AwsError("ThrottlingException", "slow down", 400,
                                                 headers={"Retry-After": "2"}))
    assert resp.header("retry-after") == "2"


# -- requests and responses ---------------------------------------------------------------------------
def test_empty_or_blank_body_is_an_empty_request():
    op = service_spec("sqs").operation("ListQueues")
    for body in (b"", b"  \n"):
        assert JSON.parse(op, HttpRequest("POST", "/", "", {}, body)) == {}


@pytest.mark.parametrize("body", [b"{not json", b'{"QueueName": "q"', b"\xff\xfe"])
def test_malformed_json_is_a_serialization_exception(body):
    op = service_spec("sqs").operation("CreateQueue")
    with pytest.raises(AwsError) as e:
        JSON.parse(op, HttpRequest("POST", "/", "", {}, body))
    assert (e.value.code, e.value.status) == ("SerializationException", 400)


def test_integers_up_to_64_bits_are_exact():
    assert loads(b'{"n": 9223372036854775807, "m": -9223372036854775808}') == {
        "n": 2 ** 63 - 1, "m": -(2 ** 63)}


def test_integers_beyond_64_bits_are_read_exactly():
    got = loads(b'{"n": 123456789012345678901234567890}')["n"]
    assert got == 123456789012345678901234567890 and isinstance(got, int)


def test_dumps_handles_what_orjson_refuses():
    assert orjson.loads(dumps({"n": 2 ** 70})) == {"n": 2 ** 70}


def test_response_read_by_botocore():
    op = service_spec("ssm").operation("GetParameter")
    when = dt.datetime(2021, 5, 6, 7, 8, 9, 500000, tzinfo=dt.timezone.utc)
    output = {"Parameter": {"Name": "/a", "Type": "String", "Value": "v", "Version": 3,
                            "LastModifiedDate": when, "ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/a"}}
    resp = JSON.serialize(op, output, CTX)
    assert resp.status == 200
    assert orjson.loads(resp.body)["Parameter"]["LastModifiedDate"] == 1620284889.5
    parsed = botocore_parse(resp, SESSION.get_service_model("ssm").operation_model("GetParameter").output_shape)
    parsed.pop("ResponseMetadata", None)
    assert parsed == output


def test_empty_output_is_an_empty_object():
    op = service_spec("sqs").operation("DeleteQueue")
    assert JSON.serialize(op, None, CTX).body == b"{}"
