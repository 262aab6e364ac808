"""haneul.protocol.query: form parameters as botocore's query and ec2 serializers write
them, read back through the key trie; responses read by botocore's parsers."""

from __future__ import annotations

import copy
import datetime as dt
from urllib.parse import parse_qsl, urlencode

import botocore.session
import pytest
from botocore import parsers, serialize
from botocore.model import ServiceModel

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.protocol import get_codec
from haneul.protocol.message import HttpRequest
from haneul.protocol.query import form_pairs, form_params
from haneul.protocol.shapes import ServiceSpec, service_spec

SESSION = botocore.session.get_session()
CTX = RequestContext(account="123456789012", region="us-east-1", store=None, request_id="rid-1")


def form_request(body: dict | str | bytes, query: str = "") -> HttpRequest:
    if isinstance(body, dict):
        body = urlencode(body)
    if isinstance(body, str):
        body = body.encode()
    return HttpRequest("POST", "/", query, {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
                       body)


def send(protocol: str, botocore_op, haneul_op, params: dict) -> dict:
    """Serialize with botocore, parse with Haneul."""
    wire = serialize.create_serializer(protocol, include_validation=False).serialize_to_request(params, botocore_op)
    return get_codec(protocol).parse(haneul_op, form_request(wire["body"]))


def send_real(service: str, operation: str, params: dict, protocol: str | None = None) -> dict:
    model = SESSION.get_service_model(service)
    return send(protocol or model.protocol, model.operation_model(operation),
                service_spec(service).operation(operation), params)


# -- a synthetic model, so every list and map form is present ---------------------------------------
SYNTHETIC = {
    "metadata": {"protocol": "query", "apiVersion": "2020-01-01", "endpointPrefix": "fake",
                 "serviceId": "Fake", "signatureVersion": "v4"},
    "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"},
                          "input": {"shape": "In"}}},
    "shapes": {
        "In": {"type": "structure", "members": {
            "FlatMap": {"shape": "NamedMap", "flattened": True, "locationName": "Entry"},
            "Map": {"shape": "PlainMap"},
            "FlatList": {"shape": "Strings", "flattened": True, "locationName": "Item"},
            "List": {"shape": "Strings"},
            "Nested": {"shape": "ListOfLists"},
            "Structs": {"shape": "StructList"},
            "Count": {"shape": "Int"},
            "Enabled": {"shape": "Bool"},
            "When": {"shape": "Time"},
            "Data": {"shape": "Blob"},
            "Ratio": {"shape": "Double"},
        }},
        "NamedMap": {"type": "map", "key": {"shape": "S", "locationName": "Name"},
                     "value": {"shape": "S", "locationName": "Value"}},
        "PlainMap": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
        "Strings": {"type": "list", "member": {"shape": "S"}},
        "ListOfLists": {"type": "list", "member": {"shape": "Strings"}},
        "StructList": {"type": "list", "member": {"shape": "Pair", "locationName": "Pair"}},
        "Pair": {"type": "structure", "members": {"K": {"shape": "S"}, "V": {"shape": "Strings"}}},
        "S": {"type": "string"}, "Int": {"type": "integer"}, "Bool": {"type": "boolean"},
        "Time": {"type": "timestamp"}, "Blob": {"type": "blob"}, "Double": {"type": "double"},
    },
}
BOTO_OP = ServiceModel(copy.deepcopy(SYNTHETIC), "fake").operation_model("Op")
HANEUL_SPEC = ServiceSpec("fake", copy.deepcopy(SYNTHETIC))
HANEUL_OP = HANEUL_SPEC.operation("Op")


def test_flattened_and_plain_lists_and_maps():
    params = {"FlatMap": {"a": "1", "b": "2"}, "Map": {"x": "y", "z": "w"},
              "FlatList": ["p", "q", "r"], "List": ["s"],
              "Nested": [["t", "u"], ["v"]],
              "Structs": [{"K": "k1", "V": ["v1", "v2"]}, {"K": "k2"}]}
    assert send("query", BOTO_OP, HANEUL_OP, params) == params


def test_empty_lists_are_sent_as_an_empty_value_and_read_back_empty():
    params = {"List": [], "FlatList": [], "Nested": [[], ["x"]]}
    wire = serialize.create_serializer("query", False).serialize_to_request(params, BOTO_OP)["body"]
    assert wire["List"] == "" and wire["Item"] == ""
    assert send("query", BOTO_OP, HANEUL_OP, params) == params


def test_scalars():
    params = {"Count": -42, "Enabled": False, "When": dt.datetime(2024, 2, 29, 12, 30, 15, 250000,
                                                                 tzinfo=dt.timezone.utc),
              "Data": b"\x00\xffbytes", "Ratio": 0.125}
    assert send("query", BOTO_OP, HANEUL_OP, params) == params


def test_list_items_are_ordered_by_number_not_by_text():
    body = {f"List.member.{i}": f"v{i}" for i in (10, 2, 1, 11, 3)}
    got = get_codec("query").parse(HANEUL_OP, form_request(body))
    assert got["List"] == ["v1", "v2", "v3", "v10", "v11"]


def test_action_and_version_are_not_members():
    got = get_codec("query").parse(HANEUL_OP, form_request({"Action": "Op", "Version": "2020-01-01",
                                                            "Count": "3"}))
    assert got == {"Count": 3}


@pytest.mark.parametrize("body,member", [({"Count": "three"}, "Count"), ({"Count": "1.5"}, "Count"),
                                         ({"Enabled": "yes"}, "Enabled"), ({"Ratio": "half"}, "Ratio"),
                                         ({"When": "not a date"}, "When"), ({"Data": "***"}, "Data")])
def test_wire_type_errors_are_serialization_exceptions(body, member):
    with pytest.raises(AwsError) as e:
        get_codec("query").parse(HANEUL_OP, form_request(body))
    assert (e.value.code, e.value.status) == ("SerializationException", 400)
    assert member in e.value.message


def test_a_structure_key_without_its_own_value_is_an_error():
    with pytest.raises(AwsError) as e:
        get_codec("query").parse(HANEUL_OP, form_request({"Count.sub": "1"}))
    assert e.value.code == "SerializationException"


def test_form_params_join_the_query_string_and_the_body():
    req = form_request({"B": "2", "Same": "body"}, query="A=1&Same=query")
    assert form_params(req) == [("A", "1"), ("Same", "query"), ("B", "2"), ("Same", "body")]


def test_form_params_refuse_a_body_that_is_not_utf8():
    with pytest.raises(AwsError) as e:
        form_params(form_request(b"Action=Op&Name=\xff\xfe"))
    assert e.value.code == "SerializationException"


@pytest.mark.parametrize("text", [
    "", "&", "a", "a=", "=b", "a=b&&c", "a==b", "a=b=c", "a+b=c+d", "%", "%2", "%zz=1", "x=%ff%fe",
    "a;b=c", "&a=1&", "%20%2B=%26", "k=%E2%82%AC+%7E", "Tags.member.1.Value=a%3Db%26c"])
def test_form_pairs_read_as_parse_qsl_does(text):
    assert form_pairs(text) == parse_qsl(text, keep_blank_values=True)


def test_plus_and_percent_encoding_are_decoded():
    got = get_codec("query").parse(HANEUL_OP, form_request(b"List.member.1=a+b%2Bc%26d"))
    assert got["List"] == ["a b+c&d"]


# -- real models ---------------------------------------------------------------------------------
def test_sns_message_attributes_map():
    params = {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "hello",
              "MessageAttributes": {"color": {"DataType": "String", "StringValue": "blue"},
                                    "raw": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}}}
    assert send_real("sns", "Publish", params) == params


def test_iam_member_lists_including_an_empty_one():
    params = {"RoleName": "r", "AssumeRolePolicyDocument": "{}",
              "Tags": [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "dev"}]}
    assert send_real("iam", "CreateRole", params) == params
    params["Tags"] = []
    assert send_real("iam", "CreateRole", params) == params


def test_sdb_flattened_list_named_by_its_member():
    params = {"DomainName": "d", "ItemName": "i", "AttributeNames": ["a", "b"]}
    wire = serialize.create_serializer("query", False).serialize_to_request(
        params, SESSION.get_service_model("sdb").operation_model("GetAttributes"))["body"]
    assert "AttributeName.1" in wire
    assert send_real("sdb", "GetAttributes", params) == params


def test_ec2_names_and_flattened_lists():
    params = {"InstanceIds": ["i-1", "i-2"], "DryRun": True,
              "Filters": [{"Name": "tag:team", "Values": ["core", "web"]}, {"Name": "vpc-id", "Values": ["v"]}]}
    wire = serialize.create_serializer("ec2", False).serialize_to_request(
        params, SESSION.get_service_model("ec2").operation_model("DescribeInstances"))["body"]
    assert {"InstanceId.1", "Filter.1.Value.2"} <= set(wire)      # ec2 names, flattened
    assert send_real("ec2", "DescribeInstances", params) == params


EC2_SYNTHETIC = {
    "metadata": {"protocol": "ec2", "apiVersion": "2016-11-15", "endpointPrefix": "fake",
                 "serviceId": "Fake", "signatureVersion": "v4"},
    "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"},
                          "input": {"shape": "In"}}},
    "shapes": {
        "In": {"type": "structure", "members": {
            "Both": {"shape": "S", "locationName": "ignoredName", "queryName": "QueryWins"},
            "Located": {"shape": "S", "locationName": "lowerFirst"},
            "Plain": {"shape": "S"},
            "Ids": {"shape": "Strings", "locationName": "instanceId"},
            "Nested": {"shape": "Items", "locationName": "item"},
        }},
        "Strings": {"type": "list", "member": {"shape": "S", "locationName": "item"}},
        "Items": {"type": "list", "member": {"shape": "Item"}},
        "Item": {"type": "structure", "members": {"Tags": {"shape": "Strings", "queryName": "Tag"}}},
        "S": {"type": "string"},
    },
}


def test_ec2_query_name_then_capitalized_location_name():
    boto_op = ServiceModel(copy.deepcopy(EC2_SYNTHETIC), "fake").operation_model("Op")
    op = ServiceSpec("fake", copy.deepcopy(EC2_SYNTHETIC)).operation("Op")
    params = {"Both": "b", "Located": "l", "Plain": "p", "Ids": ["i1", "i2"],
              "Nested": [{"Tags": ["t1", "t2"]}, {"Tags": []}, {"Tags": ["t3"]}]}
    wire = serialize.create_serializer("ec2", False).serialize_to_request(params, boto_op)["body"]
    assert {"QueryWins", "LowerFirst", "Plain", "InstanceId.1", "Item.1.Tag.2"} <= set(wire)
    assert not any(k.startswith("Item.2") for k in wire)     # ec2 sends nothing for an empty list
    params["Nested"] = [{"Tags": ["t1", "t2"]}, {"Tags": ["t3"]}]
    assert send("ec2", boto_op, op, params) == params


def test_ec2_empty_list_is_not_sent():
    assert send_real("ec2", "DescribeInstances", {"InstanceIds": []}) == {}


# -- responses -------------------------------------------------------------------------------------
def test_query_response_is_read_by_botocore():
    op = service_spec("sts").operation("GetCallerIdentity")
    output = {"UserId": "AIDAEXAMPLE", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/alice"}
    resp = get_codec("query").serialize(op, output, CTX)
    parsed = parsers.create_parser("query").parse(
        {"status_code": resp.status, "headers": dict(resp.headers), "body": resp.body},
        SESSION.get_service_model("sts").operation_model("GetCallerIdentity").output_shape)
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1"
    parsed.pop("ResponseMetadata")
    assert parsed == output


def test_ec2_response_is_read_by_botocore():
    op = service_spec("ec2").operation("DescribeAvailabilityZones")
    output = {"AvailabilityZones": [{"ZoneName": "us-east-1a", "State": "available"},
                                    {"ZoneName": "us-east-1b", "State": "available"}]}
    resp = get_codec("ec2").serialize(op, output, CTX)
    parsed = parsers.create_parser("ec2").parse(
        {"status_code": resp.status, "headers": dict(resp.headers), "body": resp.body},
        SESSION.get_service_model("ec2").operation_model("DescribeAvailabilityZones").output_shape)
    assert parsed["AvailabilityZones"] == output["AvailabilityZones"]


def test_query_response_escapes_text():
    op = service_spec("sts").operation("GetCallerIdentity")
    output = {"UserId": "<&>\"'", "Account": "1", "Arn": "a]]>b"}
    resp = get_codec("query").serialize(op, output, CTX)
    parsed = parsers.create_parser("query").parse(
        {"status_code": 200, "headers": dict(resp.headers), "body": resp.body},
        SESSION.get_service_model("sts").operation_model("GetCallerIdentity").output_shape)
    assert (parsed["UserId"], parsed["Arn"]) == ("<&>\"'", "a]]>b")
