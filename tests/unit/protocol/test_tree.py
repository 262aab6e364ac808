"""haneul.protocol.tree: shape-directed reading and writing of JSON documents, checked
against botocore's json serializer and parser."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from botocore import parsers, serialize
from botocore.model import ServiceModel

from haneul.errors import AwsError
from haneul.protocol import leaves
from haneul.protocol.awsjson import read_document, write_document
from haneul.protocol.shapes import ServiceSpec
from haneul.protocol.tree import compile_reader, compile_writer

UTC = dt.timezone.utc
WHEN = dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)

MODEL = {
    "metadata": {"protocol": "json", "apiVersion": "2020-01-01", "endpointPrefix": "fake",
                 "serviceId": "Fake", "signatureVersion": "v4", "jsonVersion": "1.1",
                 "targetPrefix": "Fake"},
    "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"},
                          "input": {"shape": "Doc"}, "output": {"shape": "Doc"}}},
    "shapes": {
        "Doc": {"type": "structure", "members": {
            "Name": {"shape": "S"}, "Count": {"shape": "I"}, "When": {"shape": "T"},
            "IsoWhen": {"shape": "TI"}, "Data": {"shape": "B"}, "Items": {"shape": "ItemList"},
            "Index": {"shape": "ItemMap"}, "Tree": {"shape": "Node"}, "Free": {"shape": "Document"},
            "Plain": {"shape": "PlainList"}, "Ratio": {"shape": "D"},
        }},
        "ItemList": {"type": "list", "member": {"shape": "Item"}},
        "ItemMap": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "Item"}},
        "Item": {"type": "structure", "members": {"Name": {"shape": "S"}, "At": {"shape": "T"},
                                                  "Blobs": {"shape": "BlobList"}}},
        "BlobList": {"type": "list", "member": {"shape": "B"}},
        "PlainList": {"type": "list", "member": {"shape": "S"}},
        "Node": {"type": "structure", "members": {"Value": {"shape": "I"}, "Children": {"shape": "NodeList"}}},
        "NodeList": {"type": "list", "member": {"shape": "Node"}},
        "Document": {"type": "structure", "members": {}, "document": True},
        "S": {"type": "string"}, "I": {"type": "integer"}, "D": {"type": "double"},
        "T": {"type": "timestamp"}, "TI": {"type": "timestamp", "timestampFormat": "iso8601"},
        "B": {"type": "blob"},
    },
}
BOTO = ServiceModel(copy.deepcopy(MODEL), "fake")


def fresh_doc_shape():
    return ServiceSpec("fake", copy.deepcopy(MODEL)).shape("Doc")


FULL = {"Name": "n", "Count": 3, "When": WHEN, "IsoWhen": WHEN.replace(microsecond=500000),
        "Data": b"\x00\x01", "Ratio": 0.5,
        "Items": [{"Name": "a", "At": WHEN, "Blobs": [b"x", b"\xff"]}, {"Name": "b"}],
        "Index": {"k": {"Name": "c", "At": WHEN}},
        "Tree": {"Value": 1, "Children": [{"Value": 2, "Children": [{"Value": 3}]}]},
        "Free": {"anything": [1, "two", {"three": None}]}, "Plain": ["p", "q"]}


def test_reads_what_botocore_writes():
    wire = serialize.create_serializer("json", include_validation=False).serialize_to_request(
        FULL, BOTO.operation_model("Op"))
    doc = json.loads(wire["body"])
    assert doc["IsoWhen"].startswith("2021-05-06T07:08:09.5")     # the member's timestampFormat
    assert doc["When"] == 1620284889
    assert read_document(fresh_doc_shape(), doc) == FULL


def test_writes_what_botocore_reads():
    doc = write_document(fresh_doc_shape(), FULL)
    assert doc["IsoWhen"] == "2021-05-06T07:08:09.500Z"     # the member's timestampFormat
    assert doc["When"] == 1620284889                        # json's default: epoch seconds
    body = json.dumps(doc).encode()
    parsed = parsers.create_parser("json").parse(
        {"status_code": 200, "headers": {}, "body": body}, BOTO.operation_model("Op").output_shape)
    parsed.pop("ResponseMetadata", None)
    assert parsed == FULL


def test_unknown_members_are_ignored_and_nulls_dropped():
    got = read_document(fresh_doc_shape(), {"Name": "n", "Unknown": {"x": 1}, "Count": None})
    assert got == {"Name": "n"}


def test_null_list_items_and_map_values_are_kept_as_none():
    got = read_document(fresh_doc_shape(), {"Plain": ["a", None], "Index": {"k": None}})
    assert got == {"Plain": ["a", None], "Index": {"k": None}}


@pytest.mark.parametrize("doc,path,found", [
    ({"Name": 5}, "Name", "a number"),
    ({"Count": "3"}, "Count", "a string"),
    ({"Items": {"Name": "a"}}, "Items", "an object"),
    ({"Items": [{"Name": "a"}, "b"]}, "Items.2", "a string"),
    ({"Items": [{}, {"Name": ["x"]}]}, "Items.2.Name", "an array"),
    ({"Index": ["a"]}, "Index", "an array"),
    ({"Index": {"k": {"At": True}}}, "Index.k.At", None),
    ({"Tree": {"Children": [{"Children": [{"Value": "deep"}]}]}}, "Tree.Children.1.Children.1.Value", "a string"),
    ({"Items": [{"Blobs": ["ok==", "%%%"]}]}, "Items.1.Blobs.2", None),
])
def test_wrong_wire_types_are_serialization_exceptions_with_the_path(doc, path, found):
    with pytest.raises(AwsError) as e:
        read_document(fresh_doc_shape(), doc)
    assert (e.value.code, e.value.status) == ("SerializationException", 400)
    assert f"'{path}'" in e.value.message
    if found:
        assert e.value.message.endswith(f"but found {found}")


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_body_must_be_an_object(body):
    with pytest.raises(AwsError) as e:
        read_document(fresh_doc_shape(), body)
    assert e.value.code == "SerializationException"


def test_document_members_pass_through_untouched():
    free = {"deep": [{"x": False, "y": None, "When": "2021-05-06T07:08:09Z", "Data": "AAE="}]}
    assert read_document(fresh_doc_shape(), {"Free": free}) == {"Free": free}
    assert write_document(fresh_doc_shape(), {"Free": free}) == {"Free": free}


def test_plain_shapes_need_no_writer():
    shape = ServiceSpec("fake", copy.deepcopy(MODEL)).shape("PlainList")
    assert compile_writer(shape, leaves.JSON_WRITE, "t") is None
    assert write_document(shape, ["a"]) == ["a"]


def test_compiled_forms_are_cached_per_tag():
    shape = fresh_doc_shape()
    a = compile_reader(shape, leaves.JSON_READ, "one")
    assert compile_reader(shape, leaves.JSON_READ, "one") is a
    assert compile_reader(shape, leaves.CBOR_READ, "two") is not a


def test_cbor_table_reads_raw_bytes_where_json_wants_base64():
    shape = fresh_doc_shape()
    assert read_document(shape, {"Data": b"\x00raw"}, tag="cbor_in", table=leaves.CBOR_READ) == {"Data": b"\x00raw"}
    with pytest.raises(AwsError):
        read_document(fresh_doc_shape(), {"Data": b"\x00raw"})


def test_recursive_writer_converts_at_every_depth():
    shape = ServiceSpec("fake", copy.deepcopy({
        **MODEL, "shapes": {**MODEL["shapes"],
                            "Node": {"type": "structure", "members": {"At": {"shape": "T"},
                                                                      "Children": {"shape": "NodeList"}}}}})).shape("Doc")
    out = write_document(shape, {"Tree": {"At": WHEN, "Children": [{"At": WHEN, "Children": [{"At": WHEN}]}]}})
    assert out == {"Tree": {"At": 1620284889, "Children": [{"At": 1620284889,
                                                            "Children": [{"At": 1620284889}]}]}}
