"""haneul.protocol.rest: members bound to labels, query string, headers and payload, as
botocore's rest-json serializer writes them and its parser reads them back."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import email.utils
from urllib.parse import urlsplit

import pytest
from botocore import parsers, serialize
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.model import ServiceModel

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.protocol import get_codec, uri
from haneul.protocol.message import HttpRequest
from haneul.protocol.rest import split_header_list
from haneul.protocol.shapes import ServiceSpec

UTC = dt.timezone.utc
WHEN = dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)        # a Thursday
CTX = RequestContext(account="123456789012", region="us-east-1", store=None, request_id="rid")


# -- split_header_list ---------------------------------------------------------------------------
@pytest.mark.parametrize("text,items", [
    ("a", ["a"]),
    ("a,b,c", ["a", "b", "c"]),
    ("a, b ,  c", ["a", "b", "c"]),
    ('"b,c"', ["b,c"]),
    ('a, "b,c", d', ["a", "b,c", "d"]),
    ('"say \\"hi\\"", x', ['say "hi"', "x"]),
    ('"a\\\\b"', ["a\\b"]),                  # an escaped backslash inside quotes
    ('" padded "', ["padded"]),
    ("a,,b", ["a", "", "b"]),
])
def test_split_header_list(text, items):
    assert split_header_list(text) == items


@pytest.mark.parametrize("values", [["plain", "with,comma", 'with "quotes"', 'both, "of" them'],
                                    ["a"], ["", "x"]])
def test_split_header_list_reads_what_botocore_writes(values):
    ser = serialize.create_serializer("rest-json", include_validation=False)
    written = ",".join(ser._escape_header_list_string(v) for v in values)
    assert split_header_list(written) == values


# -- a synthetic rest-json operation holding every binding -----------------------------------------
MODEL = {
    "metadata": {"protocol": "rest-json", "apiVersion": "2020-01-01", "endpointPrefix": "fake",
                 "serviceId": "Fake", "signatureVersion": "v4", "jsonVersion": "1.1"},
    "operations": {
        "Put": {"name": "Put", "http": {"method": "PUT", "requestUri": "/things/{Id}/{Path+}?mode=x"},
                "input": {"shape": "PutIn"}, "output": {"shape": "PutOut"}},
        "Upload": {"name": "Upload", "http": {"method": "POST", "requestUri": "/upload/{Id}"},
                   "input": {"shape": "UploadIn"}, "output": {"shape": "UploadOut"}},
    },
    "shapes": {
        "PutIn": {"type": "structure", "required": ["Id", "Path"], "members": {
            "Id": {"shape": "S", "location": "uri", "locationName": "Id"},
            "Path": {"shape": "S", "location": "uri", "locationName": "Path"},
            "Limit": {"shape": "Int", "location": "querystring", "locationName": "limit"},
            "Since": {"shape": "Time", "location": "querystring", "locationName": "since"},
            "Names": {"shape": "Strings", "location": "querystring", "locationName": "name"},
            "Extra": {"shape": "QueryMap", "location": "querystring"},
            "Tags": {"shape": "Strings", "location": "header", "locationName": "x-tags"},
            "Modified": {"shape": "Time", "location": "header", "locationName": "x-modified"},
            "Epoch": {"shape": "EpochTime", "location": "header", "locationName": "x-epoch"},
            "Doc": {"shape": "JsonHeader", "location": "header", "locationName": "x-doc"},
            "Digest": {"shape": "Blob", "location": "header", "locationName": "x-digest"},
            "Flag": {"shape": "Bool", "location": "header", "locationName": "x-flag"},
            "Meta": {"shape": "HeaderMap", "location": "headers", "locationName": "x-meta-"},
            "Body": {"shape": "Inner"},
            "Count": {"shape": "Int"},
        }},
        "PutOut": {"type": "structure", "members": {
            "Status": {"shape": "Int", "location": "statusCode"},
            "Modified": {"shape": "Time", "location": "header", "locationName": "x-modified"},
            "Tags": {"shape": "Strings", "location": "header", "locationName": "x-tags"},
            "Doc": {"shape": "JsonHeader", "location": "header", "locationName": "x-doc"},
            "Meta": {"shape": "HeaderMap", "location": "headers", "locationName": "x-meta-"},
            "Created": {"shape": "Time"},
            "Inner": {"shape": "Inner"},
        }},
        "UploadIn": {"type": "structure", "required": ["Id"], "payload": "Data", "members": {
            "Id": {"shape": "S", "location": "uri", "locationName": "Id"},
            "Data": {"shape": "Blob"},
        }},
        "UploadOut": {"type": "structure", "payload": "Data", "members": {
            "Data": {"shape": "Blob"},
            "Type": {"shape": "S", "location": "header", "locationName": "Content-Type"},
        }},
        "Inner": {"type": "structure", "members": {"When": {"shape": "Time"}, "Raw": {"shape": "Blob"},
                                                   "N": {"shape": "Double"}}},
        "QueryMap": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
        "HeaderMap": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
        "Strings": {"type": "list", "member": {"shape": "S"}},
        "JsonHeader": {"type": "string", "jsonvalue": True},
        "EpochTime": {"type": "timestamp", "timestampFormat": "unixTimestamp"},
        "S": {"type": "string"}, "Int": {"type": "integer"}, "Bool": {"type": "boolean"},
        "Time": {"type": "timestamp"}, "Blob": {"type": "blob"}, "Double": {"type": "double"},
    },
}
BOTO = ServiceModel(copy.deepcopy(MODEL), "fake")
SPEC = ServiceSpec("fake", copy.deepcopy(MODEL))


def to_request(operation: str, params: dict) -> HttpRequest:
    wire = serialize.create_serializer("rest-json", include_validation=False).serialize_to_request(
        params, BOTO.operation_model(operation))
    prepare_request_dict(wire, "http://localhost:4566")
    prepared = create_request_object(wire).prepare()
    parts = urlsplit(prepared.url)
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else str(v)) for k, v in prepared.headers.items()}
    body = prepared.body or b""
    return HttpRequest(prepared.method, parts.path, parts.query, headers,
                       body.encode() if isinstance(body, str) else body, "localhost:4566")


def parse(operation: str, req: HttpRequest) -> dict:
    op, labels = uri.match(SPEC, req.method, req.path, req.params, req.headers)
    assert op.name == operation

    class Target:
        pass
    t = Target()
    t.labels = labels
    return get_codec("rest-json").parse(op, req, t)


def test_every_request_binding_reads_what_botocore_sends():
    params = {"Id": "thing 1", "Path": "a/b c/d.txt", "Limit": 25, "Since": WHEN,
              "Names": ["n1", "n,2"], "Extra": {"color": "blue", "size": "L"},
              "Tags": ["plain", "with,comma", 'with "quote"'], "Modified": WHEN,
              "Epoch": WHEN,
              "Doc": {"k": [1, "two", None, True]}, "Flag": False,
              "Meta": {"owner": "alice", "team": "core"},
              "Body": {"When": WHEN, "Raw": b"raw\x00", "N": 2.5}, "Count": 3}
    req = to_request("Put", params)
    # what a client puts on the wire, by the documented formats
    assert req.headers["x-modified"] == "Thu, 06 May 2021 07:08:09 GMT"
    assert req.headers["x-epoch"] == "1620284889"
    assert base64.b64decode(req.headers["x-doc"]) == b'{"k":[1,"two",null,true]}'
    got = parse("Put", req)
    assert got == params


def test_query_string_map_leaves_out_named_and_literal_keys():
    req = to_request("Put", {"Id": "i", "Path": "p", "Limit": 1, "Extra": {"free": "yes"}})
    assert "mode=x" in req.query and "limit=1" in req.query
    assert parse("Put", req)["Extra"] == {"free": "yes"}


def test_blob_headers_are_base64():
    # Smithy's HTTP binding: a blob bound to a header is base64 (botocore's client writes
    # str(bytes) instead, so this is built by hand)
    req = to_request("Put", {"Id": "i", "Path": "p"})
    req.headers["x-digest"] = base64.b64encode(b"\x00\x01\xfe\xff").decode()
    assert parse("Put", req)["Digest"] == b"\x00\x01\xfe\xff"


def test_header_timestamps_accept_every_http_date_form():
    req = to_request("Put", {"Id": "i", "Path": "p"})
    for text in ("Thu, 06 May 2021 07:08:09 GMT", "2021-05-06T07:08:09Z", "1620284889"):
        req.headers["x-modified"] = text
        assert parse("Put", req)["Modified"] == WHEN


@pytest.mark.parametrize("header,value", [
    ("x-modified", "yesterday"),
    ("x-doc", "not base64 json!"),
    ("x-doc", base64.b64encode(b"{not json").decode()),
    ("x-digest", "@@@"),
    ("x-flag", "maybe"),
])
def test_bad_header_values_are_serialization_exceptions(header, value):
    req = to_request("Put", {"Id": "i", "Path": "p"})
    req.headers[header] = value
    with pytest.raises(AwsError) as e:
        parse("Put", req)
    assert (e.value.code, e.value.status) == ("SerializationException", 400)


def test_bad_query_value_is_a_serialization_exception():
    req = to_request("Put", {"Id": "i", "Path": "p"})
    req.query += "&limit=many"
    req._params = None
    with pytest.raises(AwsError) as e:
        parse("Put", req)
    assert e.value.code == "SerializationException"


@pytest.mark.parametrize("extra", [0, 20])      # fewer and more headers than members
def test_located_members_are_read_in_model_order_whatever_order_the_request_has(extra):
    # PutIn lists Modified before Flag: with both bad, Modified is reported, and the
    # parsed members come in the model's order, not the request's
    padding = {f"x-pad-{i}": "1" for i in range(extra)}
    req = to_request("Put", {"Id": "i", "Path": "p"})
    req.headers = {"x-flag": "maybe", "x-modified": "yesterday", **req.headers, **padding}
    with pytest.raises(AwsError) as e:
        parse("Put", req)
    assert "Modified" in e.value.message and "Flag" not in e.value.message
    req = to_request("Put", {"Id": "i", "Path": "p", "Limit": 3})
    req.headers = {"x-flag": "true", "x-modified": "1620284889", **req.headers, **padding}
    got = parse("Put", req)
    order = list(SPEC.operation("Put").input.members)
    assert list(got) == sorted(got, key=order.index)
    assert (got["Flag"], got["Modified"], got["Limit"]) == (True, WHEN, 3)


@pytest.mark.parametrize("where", ["header", "query"])
def test_out_of_range_timestamp_is_a_serialization_exception(where):
    req = to_request("Put", {"Id": "i", "Path": "p"})
    if where == "header":
        req.headers["x-modified"] = "1e20"
    else:
        req.query += "&since=1e20"
        req._params = None
    with pytest.raises(AwsError) as e:
        parse("Put", req)
    assert e.value.code == "SerializationException"


def test_empty_header_list():
    req = to_request("Put", {"Id": "i", "Path": "p"})
    req.headers["x-tags"] = ""
    assert parse("Put", req)["Tags"] == []


def test_blob_payload_is_the_raw_body():
    req = to_request("Upload", {"Id": "u", "Data": b"\x89PNG\r\n\x1a\n"})
    assert req.body == b"\x89PNG\r\n\x1a\n"
    assert parse("Upload", req) == {"Id": "u", "Data": b"\x89PNG\r\n\x1a\n"}


# -- responses: Haneul writes, botocore reads ------------------------------------------------------
def botocore_reads(operation: str, resp) -> dict:
    from botocore.awsrequest import HeadersDict
    headers = HeadersDict()
    for k, v in resp.headers:
        headers[k] = v
    parsed = parsers.create_parser("rest-json").parse(
        {"status_code": resp.status, "headers": headers, "body": resp.body},
        BOTO.operation_model(operation).output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def test_response_headers_status_and_body():
    output = {"Status": 202, "Modified": WHEN, "Tags": ["a", "b", "c d"],
              "Doc": {"nested": {"list": [1, 2]}}, "Meta": {"owner": "bob"},
              "Created": dt.datetime(2021, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),
              "Inner": {"Raw": b"\x00\xff", "N": 1.5}}
    resp = get_codec("rest-json").serialize(SPEC.operation("Put"), output, CTX)
    assert resp.status == 202
    assert resp.header("x-modified") == "Thu, 06 May 2021 07:08:09 GMT"
    assert botocore_reads("Put", resp) == output


def test_response_header_list_items_with_commas_are_quoted():
    # botocore's parser splits header lists on every comma, so this is read with Haneul's own
    # split_header_list, which follows RFC 7230 quoted-strings
    resp = get_codec("rest-json").serialize(SPEC.operation("Put"), {"Tags": ["a", "b,c", 'd "e"']}, CTX)
    assert resp.header("x-tags") == 'a,"b,c","d \\"e\\""'
    assert split_header_list(resp.header("x-tags")) == ["a", "b,c", 'd "e"']


def test_response_blob_payload():
    resp = get_codec("rest-json").serialize(SPEC.operation("Upload"),
                                            {"Data": b"\x00binary", "Type": "image/png"}, CTX)
    assert resp.body == b"\x00binary"
    assert resp.header("content-type") == "image/png"


def test_response_without_members_has_an_empty_json_object():
    resp = get_codec("rest-json").serialize(SPEC.operation("Put"), {}, CTX)
    assert resp.status == 200
    assert resp.body == b"{}"


def test_rfc822_header_format_is_imf_fixdate():
    """RFC 7231 IMF-fixdate: day name, 2-digit day, GMT."""
    resp = get_codec("rest-json").serialize(
        SPEC.operation("Put"), {"Modified": dt.datetime(2024, 3, 1, 0, 0, 0, tzinfo=UTC)}, CTX)
    text = resp.header("x-modified")
    assert text == "Fri, 01 Mar 2024 00:00:00 GMT"
    assert email.utils.parsedate_to_datetime(text) == dt.datetime(2024, 3, 1, tzinfo=UTC)
