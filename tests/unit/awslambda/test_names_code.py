"""Function names and ARNs; deployment package checks; partial batch responses."""

import io
import zipfile

import pytest

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.services.awslambda import code, names
from haneul.services.awslambda.mappings import _batch_failures, sqs_record

CTX = RequestContext(account="123456789012", region="us-east-1", store=None)


@pytest.mark.parametrize("ref,qualifier,expected", [
    ("fn", None, ("fn", None)),
    ("fn:live", None, ("fn", "live")),
    ("fn:$LATEST", None, ("fn", "$LATEST")),
    ("123456789012:function:fn:3", None, ("fn", "3")),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn", "2", ("fn", "2")),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn:2", "2", ("fn", "2")),
])
def test_parse_function_forms(ref, qualifier, expected):
    assert names.parse_function(CTX, ref, qualifier) == expected


def test_parse_function_refusals():
    with pytest.raises(AwsError) as e:
        names.parse_function(CTX, "fn:1", "2")
    assert "derived qualifier" in e.value.message
    with pytest.raises(AwsError) as e:
        names.parse_function(CTX, "arn:aws:lambda:eu-west-1:123456789012:function:fn")
    assert "not reachable in this region" in e.value.message
    with pytest.raises(AwsError):
        names.parse_function(CTX, "bad name")
    with pytest.raises(AwsError):
        names.parse_function(CTX, "fn:live", allow_qualifier=False)
    assert names.not_found("1", "r", "fn", "3").message == "Function not found: arn:aws:lambda:r:1:function:fn:3"


def test_qualifier_kinds():
    assert [names.check_qualifier(q) for q in ("$LATEST", "12", "prod")] == ["latest", "version", "alias"]


def _zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_inspect_zip_limits(monkeypatch):
    info = code.inspect_zip(_zip({"a.py": "x = 1\n"}))
    assert info["size"] > 0 and info["unzipped"] == 6 and len(info["hex"]) == 64
    with pytest.raises(AwsError) as e:
        code.inspect_zip(b"nope")
    assert e.value.code == "InvalidParameterValueException"
    with pytest.raises(AwsError) as e:
        code.inspect_zip(_zip({"../evil.py": "x"}))
    assert "unsafe path" in e.value.message
    monkeypatch.setattr(code, "MAX_UNZIPPED", 10)
    with pytest.raises(AwsError) as e:
        code.inspect_zip(_zip({"big.txt": "x" * 11}))
    assert "Unzipped size must be smaller than 10 bytes" in e.value.message
    monkeypatch.setattr(code, "MAX_ZIPPED", 5)
    with pytest.raises(AwsError) as e:
        code.inspect_zip(_zip({"a": "b"}))
    assert e.value.code == "RequestTooLargeException"


def test_batch_failures_parsing():
    assert _batch_failures(b'{"batchItemFailures": [{"itemIdentifier": "m1"}]}') == {"m1"}
    assert _batch_failures(b'{"batchItemFailures": []}') == set()
    assert _batch_failures(b"null") == set()
    assert _batch_failures(b'{"batchItemFailures": [{"itemIdentifier": ""}]}') is None
    assert _batch_failures(b"garbage") is None


def test_sqs_record_shape():
    record = sqs_record({"MessageId": "m", "ReceiptHandle": "r", "Body": "b", "MD5OfBody": "x",
                         "Attributes": {"SentTimestamp": "1"},
                         "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
                        "arn:aws:sqs:us-east-1:1:q", "us-east-1")
    assert record["eventSource"] == "aws:sqs" and record["messageAttributes"]["k"]["stringValue"] == "v"
    assert record["messageAttributes"]["k"]["dataType"] == "String"
