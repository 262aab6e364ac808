"""haneul.protocol.cbor: smithy-rpc-v2-cbor requests from botocore's serializer, responses
and error bodies read by botocore's rpc-v2-cbor parser."""

from __future__ import annotations

import datetime as dt
import math

import botocore.session
import cbor2
import pytest
from botocore import parsers, serialize
from botocore.awsrequest import HeadersDict

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.protocol import get_codec
from haneul.protocol.message import HttpRequest
from haneul.protocol.shapes import service_spec

SESSION = botocore.session.get_session()
CTX = RequestContext(account="123456789012", region="us-east-1", store=None, request_id="rid")
CBOR = get_codec("smithy-rpc-v2-cbor")
PROTOCOL = "smithy-rpc-v2-cbor"
UTC = dt.timezone.utc
WHEN = dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)


def headers_of(resp) -> HeadersDict:
    h = HeadersDict()
    for k, v in resp.headers:
        h[k] = v
    return h


def botocore_parse(resp, shape=None) -> dict:
    return parsers.create_parser(PROTOCOL).parse(
        {"status_code": resp.status, "headers": headers_of(resp), "body": resp.body}, shape)


def request_from_botocore(service: str, operation: str, params: dict) -> HttpRequest:
    op = SESSION.get_service_model(service).operation_model(operation)
    wire = serialize.create_serializer(PROTOCOL, include_validation=False).serialize_to_request(params, op)
    return HttpRequest("POST", wire["url_path"], "", {k.lower(): v for k, v in wire["headers"].items()},
                       wire["body"])


def test_request_from_botocore():
    params = {"MetricData": [{"MetricName": "Latency", "Timestamp": WHEN, "Value": 12.5, "Unit": "Milliseconds",
                              "Dimensions": [{"Name": "Api", "Value": "orders"}]}],
              "Namespace": "App"}
    req = request_from_botocore("cloudwatch", "PutMetricData", params)
    assert req.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert CBOR.parse(service_spec("cloudwatch").operation("PutMetricData"), req) == params


def test_blobs_travel_as_raw_bytes():
    params = {"Document": {"Bytes": b"%PDF-\x00\x01\xff"}, "FeatureTypes": ["TABLES"]}
    req = request_from_botocore("textract", "AnalyzeDocument", params)
    assert b"%PDF-\x00\x01\xff" in req.body          # a CBOR byte string, not base64
    assert CBOR.parse(service_spec("textract").operation("AnalyzeDocument"), req) == params


def test_empty_body_is_an_empty_request():
    op = service_spec("cloudwatch").operation("ListDashboards")
    assert CBOR.parse(op, HttpRequest("POST", "/", "", {}, b"")) == {}


@pytest.mark.parametrize("body", [b"\xff\xff\xff", b"\xbf\x61", cbor2.dumps([1, 2])])
def test_malformed_cbor_is_a_serialization_exception(body):
    op = service_spec("cloudwatch").operation("ListDashboards")
    with pytest.raises(AwsError) as e:
        CBOR.parse(op, HttpRequest("POST", "/", "", {}, body))
    assert (e.value.code, e.value.status) == ("SerializationException", 400)


def test_wrong_type_in_cbor_is_a_serialization_exception():
    op = service_spec("cloudwatch").operation("ListDashboards")
    with pytest.raises(AwsError) as e:
        CBOR.parse(op, HttpRequest("POST", "/", "", {}, cbor2.dumps({"DashboardNamePrefix": 5})))
    assert e.value.code == "SerializationException"
    assert "DashboardNamePrefix" in e.value.message


def test_response_read_by_botocore():
    op = service_spec("cloudwatch").operation("GetMetricData")
    output = {"MetricDataResults": [{"Id": "q1", "Label": "Latency", "StatusCode": "Complete",
                                     "Timestamps": [WHEN, WHEN.replace(microsecond=500000)],
                                     "Values": [1.0, 2.5]}],
              "Messages": []}
    resp = CBOR.serialize(op, output, CTX)
    assert resp.header("smithy-protocol") == "rpc-v2-cbor"
    assert resp.header("content-type") == "application/cbor"
    decoded = cbor2.loads(resp.body)
    stamp = decoded["MetricDataResults"][0]["Timestamps"][0]
    assert isinstance(stamp, dt.datetime) or (isinstance(stamp, cbor2.CBORTag) and stamp.tag == 1)
    parsed = botocore_parse(resp, SESSION.get_service_model("cloudwatch").operation_model("GetMetricData").output_shape)
    parsed.pop("ResponseMetadata", None)
    assert parsed == output


def test_special_floats_in_a_response():
    op = service_spec("cloudwatch").operation("GetMetricData")
    output = {"MetricDataResults": [{"Id": "q", "Values": [math.inf, -math.inf, 0.5]}]}
    parsed = botocore_parse(CBOR.serialize(op, output, CTX),
                            SESSION.get_service_model("cloudwatch").operation_model("GetMetricData").output_shape)
    assert parsed["MetricDataResults"][0]["Values"] == [math.inf, -math.inf, 0.5]


def test_error_code_and_message_are_read_by_botocore():
    spec = service_spec("cloudwatch")
    resp = CBOR.serialize_error(spec, spec.operation("DescribeAlarms"),
                                AwsError("ResourceNotFound", "no such alarm"), CTX)
    assert resp.status == 404
    parsed = botocore_parse(resp)["Error"]
    assert (parsed["Code"], parsed["Message"]) == ("ResourceNotFound", "no such alarm")


def test_modeled_error_members_are_read_by_botocore():
    spec = service_spec("cloudwatch")
    resp = CBOR.serialize_error(spec, spec.operation("TagResource"),
                                AwsError("ResourceNotFoundException", "gone",
                                         fields={"ResourceType": "alarm", "ResourceId": "a1"}), CTX)
    shape = SESSION.get_service_model("cloudwatch").shape_for("ResourceNotFoundException")
    parsed = botocore_parse(resp, shape)
    assert (parsed["ResourceType"], parsed["ResourceId"]) == ("alarm", "a1")


def test_query_compatible_code_header():
    spec = service_spec("cloudwatch")
    err = AwsError("LimitExceededFault", "too many")
    resp = CBOR.serialize_error(spec, spec.operation("PutMetricAlarm"), err, CTX)
    # the model's awsQueryError code becomes the legacy code clients look up
    assert resp.header("x-amzn-query-error") == "LimitExceeded;Sender"
    parsed = botocore_parse(resp)["Error"]
    assert parsed["Code"] == "LimitExceeded"
    assert parsed["QueryErrorCode"] == "LimitExceededFault"


def test_unmodeled_error_without_a_spec():
    resp = CBOR.serialize_error(None, None, AwsError("InternalFailure", "oops", 500, sender=False), CTX)
    assert resp.status == 500
    assert botocore_parse(resp)["Error"]["Code"] == "InternalFailure"
