"""haneul.protocol.xml: safe parsing, namespaces, attributes, and XML botocore reads."""

from __future__ import annotations

import copy
import datetime as dt
import math
import time

import botocore.session
import pytest
from botocore import parsers, serialize
from botocore.model import ServiceModel

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.protocol import get_codec
from haneul.protocol.message import HttpRequest
from haneul.protocol.shapes import ServiceSpec, service_spec
from haneul.protocol.xml import XmlWriter, parse_xml, read_xml, scalar_from_text, scalar_text

SESSION = botocore.session.get_session()
CTX = RequestContext(account="123456789012", region="us-east-1", store=None, request_id="rid")
UTC = dt.timezone.utc

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Tagging><TagSet><Tag><Key>k</Key><Value>&lol9;</Value></Tag></TagSet></Tagging>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Tagging [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Tagging><TagSet><Tag><Key>k</Key><Value>&xxe;</Value></Tag></TagSet></Tagging>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Tagging [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]>
<Tagging><TagSet/></Tagging>"""

INTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Tagging [<!ENTITY name "expanded">]>
<Tagging><TagSet><Tag><Key>k</Key><Value>&name;</Value></Tag></TagSet></Tagging>"""


# -- safety ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, INTERNAL_ENTITY],
                         ids=["billion-laughs", "external-entity", "parameter-entity", "internal-entity"])
def test_entity_payloads_are_refused_not_expanded(payload):
    start = time.monotonic()
    with pytest.raises(AwsError) as e:
        parse_xml(payload)
    assert time.monotonic() - start < 1.0
    assert (e.value.code, e.value.status) == ("MalformedXML", 400)
    assert "lol" not in e.value.message and "root:" not in e.value.message


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_rest_xml_request_with_entities_is_refused(payload):
    op = service_spec("s3").operation("PutBucketTagging")
    req = HttpRequest("PUT", "/bkt", "tagging", {"content-type": "application/xml"}, payload)

    class T:
        labels = {"Bucket": "bkt"}
    with pytest.raises(AwsError) as e:
        get_codec("rest-xml").parse(op, req, T())
    assert e.value.code == "MalformedXML"


@pytest.mark.parametrize("payload", [b"<a><b></a>", b"not xml", b"<a>\x00</a>", b""])
def test_malformed_xml_is_refused(payload):
    with pytest.raises(AwsError) as e:
        parse_xml(payload)
    assert e.value.code == "MalformedXML"


# -- reading ---------------------------------------------------------------------------------------
def test_namespaced_elements_are_read_by_local_name():
    op = service_spec("s3").operation("PutBucketTagging")
    body = (b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<s3:Tagging xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:TagSet>'
            b'<s3:Tag><s3:Key>team</s3:Key><s3:Value>core &amp; web</s3:Value></s3:Tag>'
            b'</s3:TagSet></s3:Tagging>')
    root = parse_xml(body)
    assert read_xml(op.input.members["Tagging"], root) == {"TagSet": [{"Key": "team", "Value": "core & web"}]}


def test_xml_attribute_with_a_namespace_prefix_from_botocore():
    """S3's Grantee carries its type as xsi:type, an xmlAttribute."""
    params = {"Bucket": "bkt", "AccessControlPolicy": {
        "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "abc", "DisplayName": "me"}, "Permission": "READ"},
                   {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                    "Permission": "WRITE"}],
        "Owner": {"ID": "abc"}}}
    wire = serialize.create_serializer("rest-xml", include_validation=False).serialize_to_request(
        params, SESSION.get_service_model("s3").operation_model("PutBucketAcl"))
    assert b'xsi:type="CanonicalUser"' in wire["body"]
    op = service_spec("s3").operation("PutBucketAcl")
    got = read_xml(op.input.members["AccessControlPolicy"], parse_xml(wire["body"]))
    assert got == params["AccessControlPolicy"]


def test_xml_attribute_is_written_so_botocore_reads_it():
    op = service_spec("s3").operation("GetBucketAcl")
    output = {"Owner": {"ID": "abc"},
              "Grants": [{"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                          "Permission": "READ"}]}
    resp = get_codec("rest-xml").serialize(op, output, CTX)
    assert b"http://www.w3.org/2001/XMLSchema-instance" in resp.body
    parsed = parsers.create_parser("rest-xml").parse(
        {"status_code": 200, "headers": dict(resp.headers), "body": resp.body},
        SESSION.get_service_model("s3").operation_model("GetBucketAcl").output_shape)
    assert parsed["Grants"] == output["Grants"]
    assert parsed["Owner"] == output["Owner"]


def test_namespace_from_the_metadata_is_on_the_root():
    model = copy.deepcopy(SYN)
    model["metadata"]["xmlNamespace"] = "https://fake.example.com/doc/2020-01-01/"
    op = ServiceSpec("fake", model).operation("Op")
    resp = get_codec("rest-xml").serialize(op, {"Text": "t"}, CTX)
    root = parse_xml(resp.body)
    assert root.tag == "{https://fake.example.com/doc/2020-01-01/}Doc"
    assert root[0].tag == "{https://fake.example.com/doc/2020-01-01/}Text"


def test_prefixed_namespace_of_a_member_shape_is_declared():
    model = copy.deepcopy(SYN)
    model["shapes"]["Doc"]["members"]["Inner"] = {
        "shape": "Inner", "xmlNamespace": {"prefix": "x", "uri": "urn:example:inner"}}
    model["shapes"]["Inner"] = {"type": "structure", "members": {"V": {"shape": "S"}}}
    out: list[str] = []
    XmlWriter("member").structure(out, ServiceSpec("fake", model).shape("Doc"), {"Inner": {"V": "v"}}, "Doc")
    text = "".join(out)
    assert 'xmlns:x="urn:example:inner"' in text
    parse_xml(text.encode())        # well-formed


def test_s3_response_root_is_the_documented_element():
    """botocore's S3 model names no root element, so the generic codec writes the output
    shape's name; S3 documents <Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">,
    which S3's own codec supplies."""
    pytest.importorskip("haneul.services.s3.wire")
    op = service_spec("s3").operation("GetBucketTagging")
    codec = get_codec("rest-xml", "s3")           # S3's own codec, once it has one
    resp = codec.serialize(op, {"TagSet": [{"Key": "k", "Value": "v"}]}, CTX)
    assert parse_xml(resp.body).tag == "{http://s3.amazonaws.com/doc/2006-03-01/}Tagging"


# -- scalars ---------------------------------------------------------------------------------------
SYN = {
    "metadata": {"protocol": "rest-xml", "apiVersion": "2020-01-01", "endpointPrefix": "fake",
                 "serviceId": "Fake", "signatureVersion": "v4"},
    "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"},
                          "input": {"shape": "Doc", "locationName": "Doc"}, "output": {"shape": "Doc"}}},
    "shapes": {
        "Doc": {"type": "structure", "members": {
            "Text": {"shape": "S"}, "Num": {"shape": "I"}, "Big": {"shape": "L"}, "Ratio": {"shape": "D"},
            "On": {"shape": "B"}, "When": {"shape": "T"}, "Epoch": {"shape": "TE"}, "Raw": {"shape": "Bl"},
            "Flat": {"shape": "SL", "flattened": True, "locationName": "Item"},
            "Wrapped": {"shape": "SL"},
            "Named": {"shape": "NamedList"},
            "Map": {"shape": "M"},
            "FlatMap": {"shape": "M", "flattened": True},
            "Id": {"shape": "S", "xmlAttribute": True, "locationName": "id"},
        }},
        "SL": {"type": "list", "member": {"shape": "S"}},
        "NamedList": {"type": "list", "member": {"shape": "S", "locationName": "Entry"}},
        "M": {"type": "map", "key": {"shape": "S", "locationName": "K"}, "value": {"shape": "S", "locationName": "V"}},
        "S": {"type": "string"}, "I": {"type": "integer"}, "L": {"type": "long"}, "D": {"type": "double"},
        "B": {"type": "boolean"}, "T": {"type": "timestamp"},
        "TE": {"type": "timestamp", "timestampFormat": "unixTimestamp"}, "Bl": {"type": "blob"},
    },
}
BOTO_SYN = ServiceModel(copy.deepcopy(SYN), "fake")
SPEC_SYN = ServiceSpec("fake", copy.deepcopy(SYN))

FULL = {"Text": "a < b & c > \"d\" 'e' ]]>", "Num": -7, "Big": 2 ** 40, "Ratio": 0.25, "On": True,
        "When": dt.datetime(2021, 5, 6, 7, 8, 9, 120000, tzinfo=UTC),
        "Epoch": dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC), "Raw": b"\x00\x01<>",
        "Flat": ["f1", "f2"], "Wrapped": ["w1"], "Named": ["n1", "n2"],
        "Map": {"a": "1", "b": "2"}, "FlatMap": {"x": "y"}, "Id": "attr&\"value\""}


def test_every_form_written_is_read_by_botocore():
    out: list[str] = []
    XmlWriter("member").structure(out, SPEC_SYN.shape("Doc"), FULL, "Doc")
    body = "".join(out).encode()
    parsed = parsers.create_parser("rest-xml").parse(
        {"status_code": 200, "headers": {}, "body": body}, BOTO_SYN.operation_model("Op").output_shape)
    parsed.pop("ResponseMetadata", None)
    assert parsed == FULL


def test_every_form_botocore_writes_is_read():
    wire = serialize.create_serializer("rest-xml", include_validation=False).serialize_to_request(
        FULL, BOTO_SYN.operation_model("Op"))
    got = read_xml(SPEC_SYN.shape("Doc"), parse_xml(wire["body"]))
    assert got == FULL


@pytest.mark.parametrize("value,text", [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"),
                                        (1.5, "1.5"), (3, "3")])
def test_special_floats(value, text):
    shape = SPEC_SYN.shape("D")
    assert scalar_text(shape, value) == text
    back = scalar_from_text(shape, text, "x")
    assert (math.isnan(back) and math.isnan(value)) or back == value


@pytest.mark.parametrize("shape_name,text", [("I", "1.5"), ("I", "ten"), ("B", "TRUE"), ("B", "1"),
                                             ("T", "someday"), ("Bl", "not base64!"), ("D", "one"),
                                             ("I", "2147483648"), ("I", "-2147483649")])
def test_bad_scalars_are_serialization_exceptions(shape_name, text):
    with pytest.raises(AwsError) as e:
        scalar_from_text(SPEC_SYN.shape(shape_name), text, "Doc.Member")
    assert (e.value.code, e.value.status) == ("SerializationException", 400)
    assert "Doc.Member" in e.value.message
