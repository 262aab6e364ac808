"""haneul.protocol.uri: REST routes from requestUri templates, as botocore fills them."""

from __future__ import annotations

import pytest

from haneul.protocol import uri
from haneul.protocol.shapes import ServiceSpec, service_spec


def make_spec(ops: dict[str, tuple], shapes: dict | None = None) -> ServiceSpec:
    """ops: name -> (method, requestUri[, input shape name[, extra op fields]])."""
    operations = {}
    for name, (method, request_uri, *rest) in ops.items():
        op = {"name": name, "http": {"method": method, "requestUri": request_uri}}
        if rest and rest[0]:
            op["input"] = {"shape": rest[0]}
        if len(rest) > 1:
            op.update(rest[1])
        operations[name] = op
    model = {"metadata": {"protocol": "rest-json", "apiVersion": "2020-01-01", "endpointPrefix": "fake"},
             "operations": operations, "shapes": shapes or {"S": {"type": "string"}}}
    return ServiceSpec("fake", model)


def op_at(spec, method, path, query="", headers=None):
    from urllib.parse import parse_qsl
    found = uri.match(spec, method, path, parse_qsl(query, keep_blank_values=True), headers or {})
    return (found[0].name, found[1]) if found else None


def test_labels_are_percent_decoded():
    spec = make_spec({"GetThing": ("GET", "/things/{Id}")})
    assert op_at(spec, "GET", "/things/a%20b%2Fc") == ("GetThing", {"Id": "a b/c"})


def test_a_plain_label_does_not_take_a_slash():
    spec = make_spec({"GetThing": ("GET", "/things/{Id}")})
    assert op_at(spec, "GET", "/things/a/b") is None


def test_a_greedy_label_takes_the_rest_of_the_path():
    spec = make_spec({"GetObject": ("GET", "/{Bucket}/{Key+}")})
    assert op_at(spec, "GET", "/bkt/dir/sub%20dir/file.txt") == (
        "GetObject", {"Bucket": "bkt", "Key": "dir/sub dir/file.txt"})


def test_a_trailing_slash_is_tolerated():
    spec = make_spec({"GetThing": ("GET", "/things/{Id}")})
    assert op_at(spec, "GET", "/things/x/") == ("GetThing", {"Id": "x"})


def test_the_method_must_match():
    spec = make_spec({"GetThing": ("GET", "/things/{Id}")})
    assert op_at(spec, "DELETE", "/things/x") is None


def test_an_empty_label_does_not_match():
    spec = make_spec({"GetThing": ("GET", "/things/{Id}")})
    assert op_at(spec, "GET", "/things/") is None


def test_a_literal_query_key_is_required_and_wins():
    spec = make_spec({"ListObjects": ("GET", "/{Bucket}"),
                      "ListUploads": ("GET", "/{Bucket}?uploads")})
    assert op_at(spec, "GET", "/bkt", "uploads") == ("ListUploads", {"Bucket": "bkt"})
    assert op_at(spec, "GET", "/bkt", "uploads=") == ("ListUploads", {"Bucket": "bkt"})
    assert op_at(spec, "GET", "/bkt") == ("ListObjects", {"Bucket": "bkt"})
    assert op_at(spec, "GET", "/bkt", "prefix=a") == ("ListObjects", {"Bucket": "bkt"})


def test_a_literal_query_value_must_be_equal():
    spec = make_spec({"ListV1": ("GET", "/{Bucket}"), "ListV2": ("GET", "/{Bucket}?list-type=2")})
    assert op_at(spec, "GET", "/bkt", "list-type=2")[0] == "ListV2"
    assert op_at(spec, "GET", "/bkt", "list-type=3")[0] == "ListV1"


def test_more_literal_query_keys_win():
    spec = make_spec({"A": ("POST", "/x?one"), "B": ("POST", "/x?one&two")})
    assert op_at(spec, "POST", "/x", "one&two")[0] == "B"
    assert op_at(spec, "POST", "/x", "one")[0] == "A"


def test_a_literal_segment_beats_a_label():
    spec = make_spec({"GetThing": ("GET", "/things/{Id}"), "GetSpecial": ("GET", "/things/special")})
    assert op_at(spec, "GET", "/things/special") == ("GetSpecial", {})
    assert op_at(spec, "GET", "/things/other") == ("GetThing", {"Id": "other"})


def test_a_plain_label_beats_a_greedy_one():
    spec = make_spec({"Greedy": ("GET", "/files/{Path+}"), "Plain": ("GET", "/files/{Name}")})
    assert op_at(spec, "GET", "/files/a") == ("Plain", {"Name": "a"})
    assert op_at(spec, "GET", "/files/a/b") == ("Greedy", {"Path": "a/b"})


SHARED_SHAPES = {
    "S": {"type": "string"},
    "PutIn": {"type": "structure", "required": ["Bucket", "Key"],
              "members": {"Bucket": {"shape": "S", "location": "uri", "locationName": "Bucket"},
                          "Key": {"shape": "S", "location": "uri", "locationName": "Key"}}},
    "CopyIn": {"type": "structure", "required": ["Bucket", "Key", "CopySource"],
               "members": {"Bucket": {"shape": "S", "location": "uri", "locationName": "Bucket"},
                           "Key": {"shape": "S", "location": "uri", "locationName": "Key"},
                           "CopySource": {"shape": "S", "location": "header",
                                          "locationName": "x-amz-copy-source"}}},
    "PartIn": {"type": "structure", "required": ["Bucket", "Key", "PartNumber"],
               "members": {"Bucket": {"shape": "S", "location": "uri", "locationName": "Bucket"},
                           "Key": {"shape": "S", "location": "uri", "locationName": "Key"},
                           "PartNumber": {"shape": "S", "location": "querystring",
                                          "locationName": "partNumber"}}},
}


def test_required_header_and_query_members_tell_shared_uris_apart():
    spec = make_spec({"Put": ("PUT", "/{Bucket}/{Key+}", "PutIn"),
                      "Copy": ("PUT", "/{Bucket}/{Key+}", "CopyIn"),
                      "Part": ("PUT", "/{Bucket}/{Key+}", "PartIn")}, SHARED_SHAPES)
    assert op_at(spec, "PUT", "/b/k")[0] == "Put"
    assert op_at(spec, "PUT", "/b/k", headers={"x-amz-copy-source": "a/b"})[0] == "Copy"
    assert op_at(spec, "PUT", "/b/k", "partNumber=1")[0] == "Part"


def test_a_deprecated_operation_loses_to_its_replacement():
    spec = make_spec({"OldGet": ("GET", "/v1/things/{Id}", None, {"deprecated": True}),
                      "NewGet": ("GET", "/v1/things/{Id}")})
    assert op_at(spec, "GET", "/v1/things/t")[0] == "NewGet"


def test_real_s3_routes():
    s3 = service_spec("s3")
    assert op_at(s3, "GET", "/bkt", "uploads")[0] == "ListMultipartUploads"
    assert op_at(s3, "POST", "/bkt/big.bin", "uploads")[0] == "CreateMultipartUpload"
    assert op_at(s3, "POST", "/bkt/big.bin", "uploadId=u1")[0] == "CompleteMultipartUpload"
    assert op_at(s3, "POST", "/bkt", "delete")[0] == "DeleteObjects"
    assert op_at(s3, "GET", "/bkt/k", "tagging")[0] == "GetObjectTagging"
    assert op_at(s3, "GET", "/bkt", "tagging")[0] == "GetBucketTagging"
    assert op_at(s3, "GET", "/")[0] == "ListBuckets"


def test_match_scored_returns_none_when_nothing_fits():
    assert uri.match_scored(service_spec("s3"), "TRACE", "/bkt", []) is None


def test_host_labels():
    s3control = service_spec("s3control")
    op = s3control.operation("ListAccessPoints")
    assert op.host_prefix == "{AccountId}."
    assert uri.host_labels(op, "123456789012.localhost:4566") == {"AccountId": "123456789012"}
    assert uri.host_labels(op, "localhost:4566") == {}
    assert uri.host_labels(service_spec("s3").operation("GetObject"), "anything.localhost") == {}


@pytest.mark.parametrize("bad_host", ["../x.localhost", "a_b.localhost", ".localhost"])
def test_host_labels_accept_only_host_characters(bad_host):
    op = service_spec("s3control").operation("ListAccessPoints")
    assert uri.host_labels(op, bad_host) == {}
