"""LabelParameterVersion, UnlabelParameterVersion and the tagging operations."""

import pytest

from tests.unit.services.ssm_helpers import harness, put, raises


@pytest.fixture
def h():
    h = harness()
    for i in range(3):
        put(h, "test", f"value-{i}", Overwrite=True)
    return h


def labels_by_version(h, name="test"):
    return {p["Version"]: p["Labels"] for p in h.call("get_parameter_history", {"Name": name})["Parameters"]}


def label(h, version=None, *labels, name="test"):
    req = {"Name": name, "Labels": list(labels)}
    if version is not None:
        req["ParameterVersion"] = version
    return h.call("label_parameter_version", req)


def test_label_defaults_to_the_latest_version(h):
    assert label(h, None, "test-label") == {"InvalidLabels": [], "ParameterVersion": 3}
    assert labels_by_version(h) == {1: [], 2: [], 3: ["test-label"]}


def test_labelling_twice_is_harmless(h):
    label(h, 1, "test-label")
    assert label(h, 1, "test-label") == {"InvalidLabels": [], "ParameterVersion": 1}
    assert labels_by_version(h)[1] == ["test-label"]


def test_label_moves_between_versions(h):
    label(h, 1, "test-label1", "test-label2", "test-label3")
    label(h, 2, "test-label2", "test-label3")
    assert labels_by_version(h) == {1: ["test-label1"], 2: ["test-label2", "test-label3"], 3: []}
    assert h.call("get_parameter", {"Name": "test:test-label2"})["Parameter"]["Version"] == 2


@pytest.mark.parametrize("bad", ["awsabc", "AWSabc", "ssmabc", "SSM-x", "9abc", "abc/123", "a b", "x:y"])
def test_invalid_labels_are_reported_not_attached(h, bad):
    out = label(h, 1, bad, "good")
    assert out == {"InvalidLabels": [bad], "ParameterVersion": 1}
    assert labels_by_version(h)[1] == ["good"]


def test_ten_labels_per_version(h):
    label(h, 1, *[f"l{i}" for i in range(5)])
    with raises("ParameterVersionLabelLimitExceeded", contains="maximum 10 labels"):
        label(h, 1, *[f"m{i}" for i in range(6)])
    assert len(labels_by_version(h)[1]) == 5       # nothing of the refused call was attached
    label(h, 1, *[f"m{i}" for i in range(5)])
    assert len(labels_by_version(h)[1]) == 10
    label(h, 1, "l0", "m0")                        # already there: no new labels, no error
    with raises("ParameterVersionLabelLimitExceeded"):
        label(h, 1, "one-more")


def test_label_missing_parameter_or_version(h):
    with raises("ParameterNotFound", "Parameter nope not found."):
        label(h, None, "x", name="nope")
    with raises("ParameterVersionNotFound",
                "Systems Manager could not find version 5 of test. Verify the version and try again."):
        label(h, 5, "x")


def test_unlabel(h):
    label(h, 2, "a", "b")
    out = h.call("unlabel_parameter_version", {"Name": "test", "ParameterVersion": 2, "Labels": ["a", "zzz"]})
    assert out == {"RemovedLabels": ["a"], "InvalidLabels": ["zzz"]}
    assert labels_by_version(h)[2] == ["b"]
    out = h.call("unlabel_parameter_version", {"Name": "test", "ParameterVersion": 1, "Labels": ["b"]})
    assert out == {"RemovedLabels": [], "InvalidLabels": ["b"]}
    with raises("ParameterVersionNotFound"):
        h.call("unlabel_parameter_version", {"Name": "test", "ParameterVersion": 9, "Labels": ["b"]})
    with raises("ParameterNotFound"):
        h.call("unlabel_parameter_version", {"Name": "nope", "ParameterVersion": 1, "Labels": ["b"]})


# -- tags -----------------------------------------------------------------------------------
def tags(h, resource_id="test"):
    return h.call("list_tags_for_resource", {"ResourceType": "Parameter", "ResourceId": resource_id})["TagList"]


def add(h, resource_id="test", **pairs):
    return h.call("add_tags_to_resource", {"ResourceType": "Parameter", "ResourceId": resource_id,
                                           "Tags": [{"Key": k, "Value": v} for k, v in pairs.items()]})


def test_add_overwrite_list_and_remove_tags(h):
    assert add(h, b="2", a="1") == {}
    add(h, a="one")
    assert tags(h) == [{"Key": "a", "Value": "one"}, {"Key": "b", "Value": "2"}]
    h.call("remove_tags_from_resource", {"ResourceType": "Parameter", "ResourceId": "test",
                                         "TagKeys": ["a", "absent"]})
    assert tags(h) == [{"Key": "b", "Value": "2"}]


def test_tags_by_name_with_or_without_slash_and_by_arn():
    h = harness()
    put(h, "/svc/p")
    add(h, "/svc/p", k="v")
    assert tags(h, "arn:aws:ssm:us-east-1:123456789012:parameter/svc/p") == [{"Key": "k", "Value": "v"}]


def test_fifty_tags_at_most(h):
    add(h, **{f"k{i}": "v" for i in range(50)})
    with raises("TooManyTagsError"):
        add(h, extra="v")
    add(h, k0="replaced")                          # replacing an existing key is fine
    assert len(tags(h)) == 50


def test_put_parameter_with_too_many_tags(h):
    with raises("ValidationException", contains="50"):
        put(h, "lots", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])


def test_tags_of_missing_or_other_resources(h):
    with raises("InvalidResourceId"):
        add(h, "nope", a="b")
    with raises("InvalidResourceId"):
        tags(h, "nope")
    for resource_type in ("Document", "MaintenanceWindow", "ManagedInstance", "PatchBaseline"):
        with raises("InvalidResourceId"):
            h.call("list_tags_for_resource", {"ResourceType": resource_type, "ResourceId": "x"})
    with raises("InvalidResourceType"):
        h.call("list_tags_for_resource", {"ResourceType": "foo", "ResourceId": "bar"})


def test_tags_follow_the_parameter(h):
    add(h, a="b")
    h.call("delete_parameter", {"Name": "test"})
    with raises("InvalidResourceId"):
        tags(h)
