"""GetParametersByPath and DescribeParameters: paths, filters and pagination."""

import pytest

from tests.unit.services.ssm_helpers import harness, put, raises


@pytest.fixture
def h():
    h = harness()
    put(h, "/foo/name1", "value1")
    put(h, "/foo/name2", "value2")
    put(h, "/bar/name3", "value3")
    put(h, "/bar/name3/name4", "value4")
    put(h, "/baz/name1", "value1,value2,value3", Type="StringList")
    put(h, "/baz/name2", "value1")
    put(h, "foo", "bar")
    put(h, "baz", "qux")
    put(h, "/foobar/x", "not under /foo")
    return h


def by_path(h, **req):
    return h.call("get_parameters_by_path", req)


def names_of(resp):
    return [p["Name"] for p in resp["Parameters"]]


# -- GetParametersByPath --------------------------------------------------------------------
def test_root_one_level_is_the_names_without_hierarchy(h):
    assert names_of(by_path(h, Path="/")) == ["baz", "foo"]


def test_root_recursive_is_everything_in_name_order(h):
    assert names_of(by_path(h, Path="/", Recursive=True, MaxResults=10)) == [
        "/bar/name3", "/bar/name3/name4", "baz", "/baz/name1", "/baz/name2", "foo",
        "/foo/name1", "/foo/name2", "/foobar/x"]


def test_one_level_and_recursive_under_a_path(h):
    assert names_of(by_path(h, Path="/foo")) == ["/foo/name1", "/foo/name2"]
    assert names_of(by_path(h, Path="/foo/")) == ["/foo/name1", "/foo/name2"]
    assert names_of(by_path(h, Path="/bar")) == ["/bar/name3"]
    assert names_of(by_path(h, Path="/bar", Recursive=True)) == ["/bar/name3", "/bar/name3/name4"]
    assert names_of(by_path(h, Path="/bar/name3")) == ["/bar/name3/name4"]
    assert names_of(by_path(h, Path="/nothing")) == []


def test_by_path_returns_full_parameters(h):
    p = by_path(h, Path="/baz")["Parameters"][0]
    assert p["Value"] == "value1,value2,value3" and p["Type"] == "StringList"
    assert p["ARN"].endswith(":parameter/baz/name1") and p["Version"] == 1


def test_by_path_type_filters(h):
    f = [{"Key": "Type", "Option": "Equals", "Values": ["StringList"]}]
    assert names_of(by_path(h, Path="/baz", ParameterFilters=f)) == ["/baz/name1"]
    f = [{"Key": "Type", "Values": ["String"]}]          # Option defaults to Equals
    assert names_of(by_path(h, Path="/baz", ParameterFilters=f)) == ["/baz/name2"]
    f = [{"Key": "Type", "Option": "BeginsWith", "Values": ["String"]}]
    assert names_of(by_path(h, Path="/baz", ParameterFilters=f)) == ["/baz/name1", "/baz/name2"]
    f = [{"Key": "KeyId", "Values": ["alias/aws/ssm"]}]
    assert names_of(by_path(h, Path="/baz", ParameterFilters=f)) == []


@pytest.mark.parametrize("key", ["Name", "Path", "Tier", "DataType", "tag:team"])
def test_by_path_refuses_describe_only_filter_keys(h, key):
    with raises("InvalidFilterKey", f"The following filter key is not valid: {key}. Valid filter keys "
                "include: [Type, KeyId]."):
        by_path(h, Path="/baz", ParameterFilters=[{"Key": key, "Values": ["x"]}])


def test_by_path_label_filter_returns_the_labelled_version(h):
    put(h, "/foo/name2", "value2b", Overwrite=True)
    h.call("label_parameter_version", {"Name": "/foo/name2", "ParameterVersion": 1, "Labels": ["Label1"]})
    resp = by_path(h, Path="/foo", ParameterFilters=[{"Key": "Label", "Values": ["Label1"]}])
    assert [(p["Name"], p["Value"], p["Version"]) for p in resp["Parameters"]] == [("/foo/name2", "value2", 1)]
    with raises("InvalidFilterOption"):
        by_path(h, Path="/foo", ParameterFilters=[{"Key": "Label", "Option": "BeginsWith", "Values": ["L"]}])


def test_by_path_pagination(h):
    collected, token, pages = [], None, 0
    while True:
        req = {"Path": "/", "Recursive": True, "MaxResults": 4}
        if token:
            req["NextToken"] = token
        resp = by_path(h, **req)
        pages += 1
        collected += names_of(resp)
        token = resp.get("NextToken")
        if not token:
            break
    assert pages == 3 and len(collected) == 9 == len(set(collected))


def test_by_path_default_page_is_ten():
    h = harness()
    for i in range(12):
        put(h, f"/many/p{i:02d}")
    first = by_path(h, Path="/many")
    assert len(first["Parameters"]) == 10 and "NextToken" in first
    rest = by_path(h, Path="/many", NextToken=first["NextToken"])
    assert names_of(rest) == ["/many/p10", "/many/p11"] and "NextToken" not in rest


def test_by_path_page_survives_deletes_between_calls(h):
    first = by_path(h, Path="/", Recursive=True, MaxResults=2)
    h.call("delete_parameter", {"Name": "baz"})     # the next name after the page
    second = by_path(h, Path="/", Recursive=True, MaxResults=2, NextToken=first["NextToken"])
    assert names_of(second) == ["/baz/name1", "/baz/name2"]


def test_by_path_bad_token_and_bad_path(h):
    with raises("InvalidNextToken"):
        by_path(h, Path="/", NextToken="not-a-token")
    for path in ("foo", "/###", "//"):
        with raises("ValidationException", contains="The parameter doesn't meet the parameter name requirements"):
            by_path(h, Path=path)


def test_by_path_uses_the_primary_key_range(h):
    # Parameters of other accounts and regions are never looked at.
    h.call("put_parameter", {"Name": "/foo/other", "Value": "x", "Type": "String"}, account="999999999999")
    assert names_of(by_path(h, Path="/foo")) == ["/foo/name1", "/foo/name2"]


# -- DescribeParameters ---------------------------------------------------------------------
def describe(h, **req):
    return h.call("describe_parameters", req)


def test_describe_metadata():
    h = harness()
    put(h, "aa", "11", Description="my description", AllowedPattern=r"\d+")
    put(h, "bb", "22")
    aa, bb = describe(h)["Parameters"]
    assert aa["Name"] == "aa" and aa["Description"] == "my description" and aa["AllowedPattern"] == r"\d+"
    assert aa["Version"] == 1 and aa["Tier"] == "Standard" and aa["Policies"] == [] and aa["DataType"] == "text"
    assert aa["LastModifiedUser"] == "arn:aws:iam::123456789012:root"
    assert aa["ARN"] == "arn:aws:ssm:us-east-1:123456789012:parameter/aa"
    assert "Value" not in aa and "KeyId" not in aa
    assert "Description" not in bb and "AllowedPattern" not in bb


def test_describe_paging_default_ten():
    h = harness()
    for i in range(25):
        put(h, f"param-{i:02d}")
    got, token = [], None
    while True:
        resp = describe(h, **({"NextToken": token} if token else {}))
        assert len(resp["Parameters"]) <= 10
        got += names_of(resp)
        token = resp.get("NextToken")
        if not token:
            break
    assert got == [f"param-{i:02d}" for i in range(25)]
    assert len(describe(h, MaxResults=50)["Parameters"]) == 25


def test_describe_name_filters():
    h = harness()
    for name in ("param", "/param-2", "/tangent-3", "tangram-4", "standby-5"):
        put(h, name)
    assert names_of(describe(h, ParameterFilters=[{"Key": "Name", "Values": ["param"]}])) == ["param"]
    assert names_of(describe(h, ParameterFilters=[{"Key": "Name", "Values": ["/param"]}])) == ["param"]
    assert names_of(describe(h, ParameterFilters=[{"Key": "Name", "Values": ["param-2"]}])) == ["/param-2"]
    f = [{"Key": "Name", "Option": "BeginsWith", "Values": ["param"]}]
    assert names_of(describe(h, ParameterFilters=f)) == ["param", "/param-2"]
    f = [{"Key": "Name", "Option": "Contains", "Values": ["ram"]}]
    assert sorted(names_of(describe(h, ParameterFilters=f))) == ["/param-2", "param", "tangram-4"]
    f = [{"Key": "Name", "Option": "Contains", "Values": ["/tan"]}]
    assert sorted(names_of(describe(h, ParameterFilters=f))) == ["/tangent-3", "tangram-4"]


def test_describe_path_filters(h):
    def path(option, *values):
        f = {"Key": "Path", "Values": list(values)}
        if option:
            f["Option"] = option
        return sorted(names_of(describe(h, ParameterFilters=[f], MaxResults=50)))

    assert path(None, "/fo") == []
    assert path(None, "/") == ["baz", "foo"]
    assert path(None, "/", "/foo") == ["/foo/name1", "/foo/name2", "baz", "foo"]
    assert path(None, "/foo/") == ["/foo/name1", "/foo/name2"]
    assert path("OneLevel", "/bar/name3") == ["/bar/name3/name4"]
    assert path("Recursive", "/fo") == []
    assert len(path("Recursive", "/")) == 9
    assert path("Recursive", "/foo", "/bar") == ["/bar/name3", "/bar/name3/name4", "/foo/name1", "/foo/name2"]


def test_describe_type_tier_datatype_and_keyid_filters(h):
    put(h, "/amis/a", "ami-12345678", DataType="aws:ec2:image")
    put(h, "/adv/a", "x", Tier="Advanced")
    f = lambda k, *v, o=None: names_of(describe(h, MaxResults=50, ParameterFilters=[
        {"Key": k, "Values": list(v), **({"Option": o} if o else {})}]))
    assert f("Type", "StringList") == ["/baz/name1"]
    assert f("Tier", "Advanced") == ["/adv/a"]
    assert f("DataType", "aws:ec2:image") == ["/amis/a"]
    assert f("DataType", "aws:", o="BeginsWith") == ["/amis/a"]
    assert f("KeyId", "alias/aws/ssm") == []


def test_describe_tag_filters():
    h = harness()
    put(h, "/foo/bar", "spam")
    put(h, "/spam/eggs", "eggs", Tags=[{"Key": "spam", "Value": "eggs"}])
    for x in "ab":
        put(h, f"test_my_param_01_{x}", Tags=[{"Key": "hello", "Value": "world"}, {"Key": "x", "Value": x}])
    d = lambda *f: names_of(describe(h, ParameterFilters=list(f)))
    assert d({"Key": "tag:spam", "Values": ["eggs"]}) == ["/spam/eggs"]
    assert d({"Key": "tag:spam"}) == ["/spam/eggs"]                      # the tag merely exists
    assert d({"Key": "tag:x", "Values": ["b"]}, {"Key": "tag:hello", "Values": ["world"]}) == ["test_my_param_01_b"]
    assert len(d({"Key": "tag:hello", "Option": "BeginsWith", "Values": ["w"]})) == 2
    assert d({"Key": "tag:nope"}) == []


def test_describe_legacy_filters():
    h = harness()
    for i in range(12):
        put(h, f"param-{i}", Type="StringList" if i % 5 == 0 else "String")
    assert names_of(describe(h, Filters=[{"Key": "Name", "Values": ["param-1"]}])) == [
        "param-1", "param-10", "param-11"]
    assert names_of(describe(h, Filters=[{"Key": "Type", "Values": ["StringList"]}])) == [
        "param-0", "param-10", "param-5"]


def test_describe_filters_and_parameter_filters_together(h):
    with raises("ValidationException", "You can use either Filters or ParameterFilters in a single request."):
        describe(h, Filters=[{"Key": "Name", "Values": ["test"]}],
                 ParameterFilters=[{"Key": "Name", "Values": ["test"]}])


@pytest.mark.parametrize("filters,code,message", [
    ([{"Key": "Label", "Values": ["x"]}], "InvalidFilterKey",
     "The following filter key is not valid: Label. Valid filter keys include: [Path, Name, Type, KeyId, Tier]."),
    ([{"Key": "Name"}], "InvalidFilterValue",
     "The following filter values are missing : null for filter key Name."),
    ([{"Key": "Name", "Values": ["test"]}, {"Key": "Name", "Values": ["test test"]}], "InvalidFilterKey",
     "The following filter is duplicated in the request: Name. A request can contain only one "
     "occurrence of a specific filter."),
    ([{"Key": "Path", "Option": "Equals", "Values": ["/test"]}], "InvalidFilterOption",
     "The following filter option is not valid: Equals. Valid options include: [Recursive, OneLevel]."),
    ([{"Key": "Tier", "Values": ["test"]}], "InvalidFilterValue",
     "The following filter value is not valid: test. Valid values include: [Standard, Advanced, Intelligent-Tiering]."),
    ([{"Key": "Type", "Values": ["test"]}], "InvalidFilterValue",
     "The following filter value is not valid: test. Valid values include: [String, StringList, SecureString]."),
    ([{"Key": "Name", "Option": "option", "Values": ["test"]}], "InvalidFilterOption",
     "The following filter option is not valid: option. Valid options include: [BeginsWith, Equals]."),
    ([{"Key": "Type", "Option": "Contains", "Values": ["String"]}], "InvalidFilterOption", None),
    ([{"Key": "Path", "Values": ["/aws", "/ssm"]}], "ValidationException",
     'Filters for common parameters can\'t be prefixed with "aws" or "ssm" (case-insensitive). '
     "When using global parameters, please specify within a global namespace."),
])
def test_describe_filter_errors(h, filters, code, message):
    with raises(code, message):
        describe(h, ParameterFilters=filters)


@pytest.mark.parametrize("value", ["/###", "//", "test"])
def test_describe_invalid_path_values(h, value):
    with raises("ValidationException", contains='The parameter name must begin with a forward slash "/".'):
        describe(h, ParameterFilters=[{"Key": "Path", "Values": [value]}])


def test_describe_shared_lists_nothing(h):
    assert describe(h, Shared=True) == {"Parameters": []}


def test_describe_bad_token(h):
    with raises("InvalidNextToken"):
        describe(h, NextToken="%%%")


def _plans(h, method, request):
    """The query plans of every SELECT on ssm_parameter a call runs."""
    statements = []
    h.store.conn.set_trace_callback(statements.append)
    try:
        h.call(method, request)
    finally:
        h.store.conn.set_trace_callback(None)
    plans = []
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT") and "FROM ssm_parameter " in sql + " ":
            plans += [row[3] for row in h.store.conn.execute("EXPLAIN QUERY PLAN " + sql)]
    return plans


def test_get_parameter_is_a_primary_key_lookup(h):
    plans = _plans(h, "get_parameter", {"Name": "/foo/name1"})
    assert plans and all("SCAN" not in p for p in plans), plans
    assert any("PRIMARY KEY (account=? AND region=? AND key=?)" in p for p in plans), plans


def test_by_path_is_an_index_range_not_a_table_scan(h):
    plans = _plans(h, "get_parameters_by_path", {"Path": "/foo", "Recursive": True})
    assert plans and all("SCAN" not in p for p in plans), plans
    assert any("key>? AND key<?" in p for p in plans), plans
