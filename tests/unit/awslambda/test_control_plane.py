"""Lambda's control plane called directly (no server, no processes)."""

import io
import json
import zipfile

import pytest

from haneul.errors import AwsError
from haneul.services.awslambda.service import Lambda
from tests.unit.services.helpers import Harness

ROLE = "arn:aws:iam::123456789012:role/r"


def _zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(e, c):\n    return 1\n")
    return buf.getvalue()


@pytest.fixture
def h():
    h = Harness(Lambda)
    h.call("create_function", {"FunctionName": "fn", "Runtime": "python3.12", "Role": ROLE,
                               "Handler": "app.handler", "Code": {"ZipFile": _zip()}})
    return h


def test_create_answers_pending_then_active(h):
    out = h.call("create_function", {"FunctionName": "fn2", "Runtime": "python3.12", "Role": ROLE,
                                     "Handler": "app.handler", "Code": {"ZipFile": _zip()}, "Publish": True})
    assert out["State"] == "Pending" and out["Version"] == "1"
    got = h.call("get_function", {"FunctionName": "fn2"})
    assert got["Configuration"]["State"] == "Active" and got["Configuration"]["LastUpdateStatus"] == "Successful"
    assert "/_haneul/lambda/code/" in got["Code"]["Location"]


def test_revision_ids_guard_updates(h):
    conf = h.call("get_function_configuration", {"FunctionName": "fn"})
    with pytest.raises(AwsError) as e:
        h.call("update_function_configuration", {"FunctionName": "fn", "Timeout": 5, "RevisionId": "stale"})
    assert e.value.code == "PreconditionFailedException"
    out = h.call("update_function_configuration", {"FunctionName": "fn", "Timeout": 5,
                                                   "RevisionId": conf["RevisionId"]})
    assert out["Timeout"] == 5 and out["RevisionId"] != conf["RevisionId"]


def test_publish_is_idempotent_and_checks_sha(h):
    assert h.call("publish_version", {"FunctionName": "fn"})["Version"] == "1"
    assert h.call("publish_version", {"FunctionName": "fn"})["Version"] == "1"
    with pytest.raises(AwsError) as e:
        h.call("publish_version", {"FunctionName": "fn", "CodeSha256": "other"})
    assert e.value.code == "InvalidParameterValueException"
    h.call("update_function_configuration", {"FunctionName": "fn", "Description": "changed"})
    assert h.call("publish_version", {"FunctionName": "fn"})["Version"] == "2"


def test_alias_routing_rules(h):
    h.call("publish_version", {"FunctionName": "fn"})
    with pytest.raises(AwsError) as e:
        h.call("create_alias", {"FunctionName": "fn", "Name": "a", "FunctionVersion": "$LATEST",
                                "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.1}}})
    assert "$LATEST is not supported" in e.value.message
    with pytest.raises(AwsError):
        h.call("create_alias", {"FunctionName": "fn", "Name": "a", "FunctionVersion": "7"})
    out = h.call("create_alias", {"FunctionName": "fn", "Name": "a", "FunctionVersion": "1"})
    assert out["AliasArn"].endswith(":function:fn:a")
    with pytest.raises(AwsError) as e:
        h.call("create_alias", {"FunctionName": "fn", "Name": "a", "FunctionVersion": "1"})
    assert e.value.code == "ResourceConflictException"


def test_list_functions_pages(h):
    for i in range(3):
        h.call("create_function", {"FunctionName": f"p{i}", "Runtime": "python3.12", "Role": ROLE,
                                   "Handler": "app.handler", "Code": {"ZipFile": _zip()}})
    first = h.call("list_functions", {"MaxItems": 2})
    second = h.call("list_functions", {"MaxItems": 2, "Marker": first["NextMarker"]})
    names = [f["FunctionName"] for f in first["Functions"] + second["Functions"]]
    assert names == ["fn", "p0", "p1", "p2"] and "NextMarker" not in second


def test_account_settings_and_reserved(h):
    h.call("put_function_concurrency", {"FunctionName": "fn", "ReservedConcurrentExecutions": 100})
    out = h.call("get_account_settings", {})
    assert out["AccountLimit"]["UnreservedConcurrentExecutions"] == 900
    assert out["AccountUsage"]["FunctionCount"] == 1


def test_unknown_runtime_and_image_refused(h):
    for request in ({"Runtime": "java21"}, {"Runtime": "python3.12", "PackageType": "Image"}):
        with pytest.raises(AwsError) as e:
            h.call("create_function", {"FunctionName": "x", "Role": ROLE, "Handler": "a.b",
                                       "Code": {"ZipFile": _zip()}, **request})
        assert e.value.code == "InvalidParameterValueException"


def test_esm_stored_without_poller_outside_a_loop(h):
    out = h.call("create_event_source_mapping", {"FunctionName": "fn", "BatchSize": 5,
                                                 "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q"})
    assert out["State"] == "Creating"
    got = h.call("get_event_source_mapping", {"UUID": out["UUID"]})
    assert got["State"] == "Enabled" and got["BatchSize"] == 5
    with pytest.raises(AwsError) as e:
        h.call("create_event_source_mapping", {"FunctionName": "fn", "BatchSize": 50,
                                               "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q2"})
    assert "Maximum batch window" in e.value.message
    assert json.loads(json.dumps(h.call("list_event_source_mappings", {}), default=str))
