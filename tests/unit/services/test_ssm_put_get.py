"""PutParameter, GetParameter(s), selectors, deletes, history and the version limit."""

import datetime as dt

import pytest

from tests.unit.services.ssm_helpers import harness, put, raises

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def h():
    return harness(account=ACCOUNT, region=REGION)


def test_put_then_get_returns_every_member(h):
    assert put(h, "/app/db/url", "postgres://x", Description="the db") == {"Version": 1, "Tier": "Standard"}
    p = h.call("get_parameter", {"Name": "/app/db/url"})["Parameter"]
    assert p == {
        "Name": "/app/db/url", "Type": "String", "Value": "postgres://x", "Version": 1,
        "LastModifiedDate": dt.datetime.fromtimestamp(h.clock.t, dt.timezone.utc),
        "ARN": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/db/url", "DataType": "text"}


def test_arn_drops_one_leading_slash_and_flat_names_have_none(h):
    put(h, "flat")
    assert h.call("get_parameter", {"Name": "flat"})["Parameter"]["ARN"].endswith(":parameter/flat")


def test_slash_and_no_slash_name_the_same_parameter(h):
    put(h, "/TestParam1", "one")
    with raises("ParameterAlreadyExists"):
        put(h, "TestParam1", "two")
    p = h.call("get_parameter", {"Name": "TestParam1"})["Parameter"]
    assert (p["Name"], p["Value"]) == ("/TestParam1", "one")


def test_get_by_own_arn(h):
    put(h, "/a/b", "x")
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/a/b"
    assert h.call("get_parameter", {"Name": arn})["Parameter"]["Value"] == "x"
    with raises("ParameterNotFound"):
        h.call("get_parameter", {"Name": f"arn:aws:ssm:{REGION}:999999999999:parameter/a/b"})


def test_parameters_are_scoped_by_account_and_region(h):
    put(h, "p", "home")
    with raises("ParameterNotFound"):
        h.call("get_parameter", {"Name": "p"}, region="eu-west-1")
    with raises("ParameterNotFound"):
        h.call("get_parameter", {"Name": "p"}, account="210987654321")
    h.call("put_parameter", {"Name": "p", "Value": "other", "Type": "String"}, account="210987654321")
    assert h.call("get_parameter", {"Name": "p"}, account="210987654321")["Parameter"]["Value"] == "other"
    assert h.call("get_parameter", {"Name": "p"})["Parameter"]["Value"] == "home"


def test_get_missing_parameter(h):
    with raises("ParameterNotFound", "Parameter test_noexist not found."):
        h.call("get_parameter", {"Name": "test_noexist"})


def test_existing_without_overwrite_is_refused_and_unchanged(h):
    put(h, "p", "one")
    h.clock.advance(5)
    with raises("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set "
                "the overwrite option in the request to true."):
        put(h, "p", "two")
    p = h.call("get_parameter", {"Name": "p"})["Parameter"]
    assert (p["Value"], p["Version"]) == ("one", 1)


def test_overwrite_keeps_type_description_pattern_and_tags(h):
    put(h, "p", "1", Type="StringList", Description="d", AllowedPattern=r"[0-9,]+",
        Tags=[{"Key": "team", "Value": "a"}])
    h.clock.advance(10)
    assert h.call("put_parameter", {"Name": "p", "Value": "2,3", "Overwrite": True})["Version"] == 2
    meta = h.call("describe_parameters", {})["Parameters"][0]
    assert (meta["Type"], meta["Description"], meta["AllowedPattern"], meta["Version"]) == \
        ("StringList", "d", "[0-9,]+", 2)
    assert meta["LastModifiedDate"] == dt.datetime.fromtimestamp(h.clock.t, dt.timezone.utc)
    assert h.call("list_tags_for_resource", {"ResourceType": "Parameter", "ResourceId": "p"})["TagList"] == \
        [{"Key": "team", "Value": "a"}]


def test_overwrite_may_change_type(h):
    put(h, "p", "a")
    put(h, "p", "a,b", Type="StringList", Overwrite=True)
    assert h.call("get_parameter", {"Name": "p"})["Parameter"]["Type"] == "StringList"


def test_retained_pattern_checks_the_new_value(h):
    put(h, "/MyService/Test/MaxConnections", "100", AllowedPattern=r"\d{1,4}")
    # AWS's own walkthrough: 10,000 fails the pattern kept from the first version.
    with raises("ParameterPatternMismatchException",
                r"Parameter value, cannot be validated against allowedPattern: \d{1,4}"):
        h.call("put_parameter", {"Name": "/MyService/Test/MaxConnections", "Value": "10,000",
                                 "Type": "String", "Overwrite": True})


def test_pattern_must_match_the_whole_value(h):
    with raises("ParameterPatternMismatchException"):
        put(h, "p", "12345", AllowedPattern=r"\d{1,4}")
    put(h, "p", "1234", AllowedPattern=r"\d{1,4}")


def test_invalid_allowed_pattern(h):
    with raises("InvalidAllowedPatternException"):
        put(h, "p", "x", AllowedPattern="([a-z")


def test_type_is_required_on_create(h):
    with raises("ValidationException", "A parameter type is required when you create a parameter."):
        h.call("put_parameter", {"Name": "p", "Value": "x"})


def test_empty_value_is_refused(h):
    with raises("ValidationException", "1 validation error detected: Value '' at 'value' failed to "
                "satisfy constraint: Member must have length greater than or equal to 1."):
        put(h, "p", "")


@pytest.mark.parametrize("value", ["{{ssm:other}}", "a {{x}} b", "{{\n}}"])
def test_values_may_not_nest_parameters(h, value):
    with raises("ValidationException", 'Parameter value can\'t nest another parameter. Do not use "{{}}" '
                "in the value."):
        put(h, "p", value)


def test_single_braces_are_fine(h):
    put(h, "p", '{"json": {"ok": true}}')


def test_tags_with_overwrite_is_refused(h):
    with raises("ValidationException", contains="tags and overwrite can't be used together"):
        put(h, "p", "x", Overwrite=True, Tags=[{"Key": "a", "Value": "b"}])


def test_key_id_only_for_secure_string(h):
    with raises("ValidationException", "KeyId is required for SecureString type parameter only."):
        put(h, "p", "x", KeyId="alias/mine")


def test_secure_string_is_refused_and_nothing_is_stored(h):
    with raises("UnsupportedParameterType", contains="KMS"):
        put(h, "secret", "hunter2", Type="SecureString")
    with raises("ParameterNotFound"):
        h.call("get_parameter", {"Name": "secret"})
    rows = h.store.conn.execute("SELECT COUNT(*) FROM ssm_parameter_version").fetchone()[0]
    assert rows == 0


def test_existing_string_cannot_become_secure_string(h):
    put(h, "p", "plain")
    with raises("UnsupportedParameterType"):
        put(h, "p", "hunter2", Type="SecureString", Overwrite=True)
    assert h.call("get_parameter", {"Name": "p"})["Parameter"]["Value"] == "plain"


@pytest.mark.parametrize("name,code,message", [
    ("ssm_test", "ValidationException",
     'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).'),
    ("AWS_TEST", "ValidationException",
     'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).'),
    ("/SSM/PATH/TO/VAR", "ValidationException",
     'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can '
     "consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, "
     "numbers and the following 3 symbols .-_"),
    ("/aws_test/path/to/var", "AccessDeniedException", "No access to reserved parameter name: /aws_test/path/to/var."),
    ("MyParameter3/L1", "ValidationException", "Parameter name must be a fully qualified name."),
    ("bad#name", "ValidationException", None),
    ("/a//b", "ValidationException", None),
    ("/a/b/", "ValidationException", None),
    ("has space", "ValidationException", None),
])
def test_invalid_names(h, name, code, message):
    with raises(code, message):
        put(h, name)


def test_spaces_around_a_name_are_trimmed(h):
    put(h, "  trimmed  ")
    assert h.call("get_parameter", {"Name": "trimmed"})["Parameter"]["Name"] == "trimmed"


def test_hierarchy_depth_is_limited_to_fifteen_levels(h):
    ok = "/Level-1/L2/L3/L4/L5/L6/L7/L8/L9/L10/L11/L12/L13/L14/parameter-name"
    put(h, ok)
    with raises("HierarchyLevelLimitExceededException", contains="maximum of 15 levels"):
        put(h, "/Level-1/L2/L3/L4/L5/L6/L7/L8/L9/L10/L11/L12/L13/L14/L15/L16/parameter-name")


def test_name_length_counts_the_arn_prefix(h):
    prefix = len(f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/")
    put(h, "n" * (1011 - prefix))
    with raises("ValidationException", contains="1011"):
        put(h, "m" * (1012 - prefix))


@pytest.mark.parametrize("data_type,value", [
    ("not_text", "x"), ("Text", "x"), ("something weird", "x")])
def test_unknown_data_type(h, data_type, value):
    with raises("ValidationException", f"The following data type is not supported: {data_type} "
                "(Data type names are all lowercase.)"):
        put(h, "p", value, DataType=data_type)


def test_ami_data_type_checks_the_format(h):
    put(h, "/amis/golden", "ami-0123456789abcdef0", DataType="aws:ec2:image")
    put(h, "/amis/old", "ami-12345678", DataType="aws:ec2:image")
    assert h.call("get_parameter", {"Name": "/amis/golden"})["Parameter"]["DataType"] == "aws:ec2:image"
    for bad in ("ami-xyz", "i-0123456789abcdef0", "ami-0123456789ABCDEF0", "ami-123"):
        with raises("ValidationException", contains="not a valid image ID"):
            put(h, "/amis/bad", bad, DataType="aws:ec2:image")
    with raises("ValidationException", contains="StringList"):
        put(h, "/amis/list", "ami-12345678", Type="StringList", DataType="aws:ec2:image")


def test_data_type_cannot_change_to_or_from_ami(h):
    put(h, "p", "ami-12345678")
    with raises("ValidationException", contains="change the data type"):
        put(h, "p", "ami-12345678", DataType="aws:ec2:image", Overwrite=True)
    put(h, "q", "ami-12345678", DataType="aws:ec2:image")
    # omitting DataType keeps the data type, so the value is still checked as an AMI
    with raises("ValidationException", contains="not a valid image ID"):
        h.call("put_parameter", {"Name": "q", "Value": "nope", "Overwrite": True})


@pytest.mark.parametrize("data_type,good,bad", [
    ("integer", "-42", "4.2"), ("float", "4.2e3", "nan"), ("boolean", "true", "yes"),
    ("ipv4-address", "10.0.0.1", "10.0.0.256"), ("ipv6-address", "::1", "10.0.0.1"),
    ("aws:region", "eu-west-1", "europe"), ("aws:account:id", "123456789012", "1234"),
    ("json", '{"a": [1, 2]}', "{a: 1}"), ("jsonc", '{"a": 1 /* one */} // end', "{,}"),
    ("email", "a@example.com", "a@b"), ("hostname", "db-1.internal", "-bad-.host"),
    ("url", "https://example.com/x", "example.com"), ("binary", "aGVsbG8=", "not base64!"),
])
def test_value_data_types(h, data_type, good, bad):
    put(h, "p", good, DataType=data_type)
    with raises("ValidationException", contains=data_type):
        put(h, "q", bad, DataType=data_type)


def test_string_list_items_are_checked_one_by_one(h):
    put(h, "ports", "80,443", Type="StringList", DataType="integer")
    with raises("ValidationException", contains="http"):
        put(h, "ports2", "80,http", Type="StringList", DataType="integer")


# -- selectors ------------------------------------------------------------------------------
def test_version_and_label_selectors(h):
    put(h, "test-2", "one")
    put(h, "test-2", "two", Overwrite=True)
    h.call("label_parameter_version", {"Name": "test-2", "ParameterVersion": 1, "Labels": ["stable"]})
    by_version = h.call("get_parameter", {"Name": "test-2:1"})["Parameter"]
    assert (by_version["Name"], by_version["Value"], by_version["Version"], by_version["Selector"]) == \
        ("test-2", "one", 1, ":1")
    by_label = h.call("get_parameter", {"Name": "test-2:stable"})["Parameter"]
    assert (by_label["Value"], by_label["Version"], by_label["Selector"]) == ("one", 1, ":stable")
    assert "Selector" not in h.call("get_parameter", {"Name": "test-2"})["Parameter"]


def test_selector_errors(h):
    put(h, "test-2", "one")
    with raises("ParameterVersionNotFound", "Systems Manager could not find version 2 of test-2. "
                "Verify the version and try again."):
        h.call("get_parameter", {"Name": "test-2:2"})
    with raises("ParameterNotFound", "Parameter test-2:2:3 not found."):
        h.call("get_parameter", {"Name": "test-2:2:3"})
    with raises("ParameterNotFound", "Parameter test-3:2 not found."):
        h.call("get_parameter", {"Name": "test-3:2"})
    with raises("ParameterNotFound", "Parameter test-2:nolabel not found."):
        h.call("get_parameter", {"Name": "test-2:nolabel"})


def test_get_parameters_splits_found_and_invalid(h):
    for i in range(3):
        put(h, "test-param", f"value-{i + 1}", Overwrite=True)
    h.call("label_parameter_version", {"Name": "test-param", "ParameterVersion": 1, "Labels": ["test-label"]})
    out = h.call("get_parameters", {"Names": ["test-param:test-label", "test-param:invalid-label",
                                              "test-param", "test-param:2", "test-param:9", "missing",
                                              "test-param"]})
    assert out["InvalidParameters"] == ["test-param:invalid-label", "test-param:9", "missing"]
    assert [(p["Value"], p.get("Selector")) for p in out["Parameters"]] == [
        ("value-1", ":test-label"), ("value-3", None), ("value-2", ":2")]


def test_get_parameters_none_found(h):
    assert h.call("get_parameters", {"Names": ["nope"]}) == {"Parameters": [], "InvalidParameters": ["nope"]}


# -- deletes --------------------------------------------------------------------------------
def test_delete_removes_history_labels_and_tags(h):
    put(h, "p", "1", Tags=[{"Key": "k", "Value": "v"}])
    put(h, "p", "2", Overwrite=True)
    h.call("label_parameter_version", {"Name": "p", "Labels": ["l"]})
    assert h.call("delete_parameter", {"Name": "p"}) == {}
    with raises("ParameterNotFound", "Parameter p not found."):
        h.call("delete_parameter", {"Name": "p"})
    put(h, "p", "new")
    assert h.call("get_parameter_history", {"Name": "p"})["Parameters"][0]["Labels"] == []
    assert len(h.call("get_parameter_history", {"Name": "p"})["Parameters"]) == 1
    assert h.call("list_tags_for_resource", {"ResourceType": "Parameter", "ResourceId": "p"})["TagList"] == []
    assert h.call("get_parameter", {"Name": "p"})["Parameter"]["Version"] == 1


def test_delete_parameters(h):
    put(h, "a")
    put(h, "/b/c")
    out = h.call("delete_parameters", {"Names": ["a", "b/c", "/b/c", "nope"]})
    assert out == {"DeletedParameters": ["a", "/b/c"], "InvalidParameters": ["b/c", "nope"]}
    assert h.call("describe_parameters", {})["Parameters"] == []


# -- history --------------------------------------------------------------------------------
def test_history_lists_every_version_with_its_own_fields(h):
    for i in range(3):
        put(h, "test", f"value-{i}", Description=f"version {i}", Overwrite=True)
        h.clock.advance(60)
    history = h.call("get_parameter_history", {"Name": "test"})
    assert "NextToken" not in history
    assert [(p["Version"], p["Value"], p["Description"], p["Labels"]) for p in history["Parameters"]] == [
        (1, "value-0", "version 0", []), (2, "value-1", "version 1", []), (3, "value-2", "version 2", [])]
    first = history["Parameters"][0]
    assert first["LastModifiedUser"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert first["Tier"] == "Standard" and first["Policies"] == [] and first["DataType"] == "text"


def test_history_pages(h):
    for i in range(12):
        put(h, "p", str(i), Overwrite=True)
    seen, token = [], None
    while True:
        req = {"Name": "p", "MaxResults": 5}
        if token:
            req["NextToken"] = token
        page = h.call("get_parameter_history", req)
        seen += [p["Version"] for p in page["Parameters"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == list(range(1, 13))
    with raises("InvalidNextToken"):
        h.call("get_parameter_history", {"Name": "p", "NextToken": "garbage!"})


def test_history_of_missing_parameter(h):
    with raises("ParameterNotFound", "Parameter invalid_parameter_name not found."):
        h.call("get_parameter_history", {"Name": "invalid_parameter_name"})


# -- the 100-version limit ------------------------------------------------------------------
def test_oldest_version_is_dropped_after_one_hundred(h):
    for i in range(101):
        put(h, "test-param", f"value-{i + 1}", Overwrite=True)
    versions = []
    token = None
    while True:
        page = h.call("get_parameter_history", {"Name": "test-param", **({"NextToken": token} if token else {})})
        versions += page["Parameters"]
        token = page.get("NextToken")
        if not token:
            break
    assert len(versions) == 100
    assert (versions[0]["Version"], versions[0]["Value"]) == (2, "value-2")
    assert versions[-1]["Version"] == 101
    with raises("ParameterVersionNotFound"):
        h.call("get_parameter", {"Name": "test-param:1"})


def test_labelled_oldest_version_blocks_the_101st(h):
    for i in range(100):
        put(h, "test-param", f"value-{i + 1}", Overwrite=True)
    h.call("label_parameter_version", {"Name": "test-param", "ParameterVersion": 1, "Labels": ["keep"]})
    with raises("ParameterMaxVersionLimitExceeded",
                "You attempted to create a new version of test-param by calling the PutParameter API "
                "with the overwrite flag. Version 1, the oldest version, can't be deleted because it has "
                "a label associated with it. Move the label to another version of the parameter, and try "
                "again."):
        put(h, "test-param", "new-value", Overwrite=True)
    h.call("label_parameter_version", {"Name": "test-param", "ParameterVersion": 50, "Labels": ["keep"]})
    assert put(h, "test-param", "new-value", Overwrite=True)["Version"] == 101
