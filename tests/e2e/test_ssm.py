"""SSM Parameter Store through boto3 and the AWS CLI against the live server."""

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


@pytest.fixture
def ssm(aws_client):
    return aws_client("ssm")


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    return e.value.response["Error"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_get_overwrite_history(ssm, aws_account):
    assert ssm.put_parameter(Name="/app/db/url", Value="one", Type="String", Description="db")["Version"] == 1
    put = ssm.put_parameter(Name="/app/db/url", Value="two", Overwrite=True)
    assert (put["Version"], put["Tier"]) == (2, "Standard")
    p = ssm.get_parameter(Name="/app/db/url")["Parameter"]
    assert (p["Name"], p["Value"], p["Type"], p["Version"], p["DataType"]) == ("/app/db/url", "two", "String", 2, "text")
    assert p["ARN"] == f"arn:aws:ssm:us-east-1:{aws_account}:parameter/app/db/url"
    assert isinstance(p["LastModifiedDate"], dt.datetime)
    assert abs(p["LastModifiedDate"].timestamp() - dt.datetime.now().timestamp()) < 120
    history = ssm.get_parameter_history(Name="/app/db/url")["Parameters"]
    assert [(h["Version"], h["Value"], h["Description"], h["Labels"]) for h in history] == [
        (1, "one", "db", []), (2, "two", "db", [])]
    assert history[0]["LastModifiedUser"].startswith("arn:aws:")


def test_labels_and_selectors(ssm):
    for v in ("a", "b", "c"):
        ssm.put_parameter(Name="/sel/p", Value=v, Type="String", Overwrite=True)
    out = ssm.label_parameter_version(Name="/sel/p", ParameterVersion=1, Labels=["prod", "9bad", "awsx"])
    assert out["ParameterVersion"] == 1 and sorted(out["InvalidLabels"]) == ["9bad", "awsx"]
    p = ssm.get_parameter(Name="/sel/p:prod")["Parameter"]
    assert (p["Value"], p["Version"], p["Selector"]) == ("a", 1, ":prod")
    assert ssm.get_parameter(Name="/sel/p:2")["Parameter"]["Value"] == "b"
    got = ssm.get_parameters(Names=["/sel/p:prod", "/sel/p:7", "/sel/nope"])
    assert [x["Value"] for x in got["Parameters"]] == ["a"]
    assert sorted(got["InvalidParameters"]) == ["/sel/nope", "/sel/p:7"]
    err, status = error_of(ssm.get_parameter, Name="/sel/p:7")
    assert (err["Code"], status) == ("ParameterVersionNotFound", 400)
    assert err["Message"] == "Systems Manager could not find version 7 of /sel/p. Verify the version and try again."
    removed = ssm.unlabel_parameter_version(Name="/sel/p", ParameterVersion=1, Labels=["prod", "x"])
    assert removed["RemovedLabels"] == ["prod"] and removed["InvalidLabels"] == ["x"]


def test_paginators(ssm):
    for i in range(23):
        ssm.put_parameter(Name=f"/pages/p{i:02d}", Value=str(i), Type="String")
    ssm.put_parameter(Name="/pages/deeper/q", Value="q", Type="String")
    by_path = ssm.get_paginator("get_parameters_by_path")
    names = [p["Name"] for page in by_path.paginate(Path="/pages") for p in page["Parameters"]]
    assert names == [f"/pages/p{i:02d}" for i in range(23)]
    names = [p["Name"] for page in by_path.paginate(Path="/pages", Recursive=True,
                                                     PaginationConfig={"PageSize": 7})
             for p in page["Parameters"]]
    assert len(names) == 24 and "/pages/deeper/q" in names
    describe = ssm.get_paginator("describe_parameters")
    described = [p["Name"] for page in describe.paginate(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/pages"]}]) for p in page["Parameters"]]
    assert sorted(described) == sorted(names)
    for i in range(60):
        ssm.put_parameter(Name="/pages/p00", Value=f"v{i}", Overwrite=True)
    history = ssm.get_paginator("get_parameter_history")
    versions = [p["Version"] for page in history.paginate(Name="/pages/p00") for p in page["Parameters"]]
    assert versions == list(range(1, 62))


def test_describe_filters_and_tags(ssm):
    ssm.put_parameter(Name="/tagged/a", Value="x", Type="String", Tags=[{"Key": "team", "Value": "blue"}])
    ssm.put_parameter(Name="/tagged/b", Value="x,y", Type="StringList")
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId="/tagged/b", Tags=[{"Key": "team", "Value": "red"}])
    found = ssm.describe_parameters(ParameterFilters=[{"Key": "tag:team", "Values": ["red"]}])["Parameters"]
    assert [p["Name"] for p in found] == ["/tagged/b"]
    found = ssm.describe_parameters(ParameterFilters=[{"Key": "Type", "Values": ["StringList"]},
                                                      {"Key": "Path", "Values": ["/tagged"]}])["Parameters"]
    assert [(p["Name"], p["Type"], p["Tier"], p["Policies"]) for p in found] == [("/tagged/b", "StringList", "Standard", [])]
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/tagged/a")["TagList"] == [
        {"Key": "team", "Value": "blue"}]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId="/tagged/a", TagKeys=["team"])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/tagged/a")["TagList"] == []
    err, _ = error_of(ssm.list_tags_for_resource, ResourceType="Parameter", ResourceId="/tagged/none")
    assert err["Code"] == "InvalidResourceId"
    err, _ = error_of(ssm.describe_parameters, ParameterFilters=[{"Key": "Label", "Values": ["x"]}])
    assert err["Code"] == "InvalidFilterKey"


def test_delete(ssm):
    ssm.put_parameter(Name="gone", Value="x", Type="String")
    ssm.delete_parameter(Name="gone")
    err, status = error_of(ssm.delete_parameter, Name="gone")
    assert (err["Code"], err["Message"], status) == ("ParameterNotFound", "Parameter gone not found.", 400)
    ssm.put_parameter(Name="d1", Value="x", Type="String")
    out = ssm.delete_parameters(Names=["d1", "d2"])
    assert out["DeletedParameters"] == ["d1"] and out["InvalidParameters"] == ["d2"]


def test_tiers_and_policies(ssm):
    err, status = error_of(ssm.put_parameter, Name="big", Value="x" * 4097, Type="String")
    assert (err["Code"], status) == ("ValidationException", 400)
    assert err["Message"].startswith("Standard tier parameters support a maximum parameter value of 4096 characters.")
    assert ssm.put_parameter(Name="big", Value="x" * 4097, Type="String", Tier="Intelligent-Tiering")["Tier"] == "Advanced"
    err, _ = error_of(ssm.put_parameter, Name="big", Value="x", Tier="Standard", Overwrite=True)
    assert "downgrade" in err["Message"]
    err, _ = error_of(ssm.put_parameter, Name="huge", Value="x" * 8193, Type="String", Tier="Advanced")
    assert err["Code"] == "ValidationException"
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    policies = json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": expires}}])
    ssm.put_parameter(Name="expiring", Value="x", Type="String", Tier="Advanced", Policies=policies)
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["expiring"]}])["Parameters"][0]
    assert meta["Policies"][0]["PolicyType"] == "Expiration" and meta["Policies"][0]["PolicyStatus"] == "Pending"
    err, _ = error_of(ssm.put_parameter, Name="bad-policy", Value="x", Type="String", Tier="Advanced",
                      Policies='[{"Type": "Rotate", "Version": "1.0", "Attributes": {}}]')
    assert err["Code"] == "InvalidPolicyTypeException"


def test_service_settings(ssm, aws_account):
    sid = "/ssm/parameter-store/default-parameter-tier"
    assert ssm.get_service_setting(SettingId=sid)["ServiceSetting"]["SettingValue"] == "Standard"
    ssm.update_service_setting(SettingId=f"arn:aws:ssm:us-east-1:{aws_account}:servicesetting{sid}",
                               SettingValue="Advanced")
    assert ssm.put_parameter(Name="defaulted", Value="x", Type="String")["Tier"] == "Advanced"
    assert ssm.reset_service_setting(SettingId=sid)["ServiceSetting"]["Status"] == "Default"
    err, _ = error_of(ssm.get_service_setting, SettingId="/ssm/opsinsights/opscenter")
    assert err["Code"] == "ServiceSettingNotFound"


@pytest.mark.parametrize("kwargs,code,fragment", [
    ({"Name": "secret", "Value": "x", "Type": "SecureString"}, "UnsupportedParameterType", "KMS"),
    ({"Name": "/aws/mine", "Value": "x", "Type": "String"}, "AccessDeniedException", "reserved parameter name"),
    ({"Name": "ssm-thing", "Value": "x", "Type": "String"}, "ValidationException", 'prefixed with "aws" or "ssm"'),
    ({"Name": "/" + "/".join(["l"] * 16), "Value": "x", "Type": "String"},
     "HierarchyLevelLimitExceededException", "15 levels"),
    ({"Name": "a b", "Value": "x", "Type": "String"}, "ValidationException", "Parameter name"),
    ({"Name": "nodata", "Value": "x", "Type": "String", "DataType": "Text"}, "ValidationException",
     "The following data type is not supported: Text"),
    ({"Name": "ami", "Value": "ami-nope", "Type": "String", "DataType": "aws:ec2:image"},
     "ValidationException", "not a valid image ID"),
    ({"Name": "pat", "Value": "abc", "Type": "String", "AllowedPattern": r"\d+"},
     "ParameterPatternMismatchException", "allowedPattern"),
    ({"Name": "notype", "Value": "x"}, "ValidationException", "A parameter type is required"),
    ({"Name": "tags", "Value": "x", "Type": "String", "Overwrite": True, "Tags": [{"Key": "a", "Value": "b"}]},
     "ValidationException", "tags and overwrite"),
])
def test_put_errors(ssm, kwargs, code, fragment):
    err, status = error_of(ssm.put_parameter, **kwargs)
    assert err["Code"] == code and fragment in err["Message"], err
    assert status == 400


def test_existing_parameter_error(ssm):
    ssm.put_parameter(Name="dup", Value="x", Type="String")
    err, status = error_of(ssm.put_parameter, Name="dup", Value="y", Type="String")
    assert (err["Code"], status) == ("ParameterAlreadyExists", 400)
    assert ssm.get_parameter(Name="dup")["Parameter"]["Value"] == "x"


def test_bad_input_reaches_the_server(aws_client):
    """Requests botocore would refuse: wrong types, missing members, out-of-range numbers."""
    raw = aws_client("ssm", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    cases = [
        lambda: raw.put_parameter(Name="n", Value=123, Type="String"),
        lambda: raw.put_parameter(Name="n", Type="String"),                      # no Value
        lambda: raw.put_parameter(Value="x", Type="String"),                     # no Name
        lambda: raw.put_parameter(Name="n", Value="x", Type="Strin"),
        lambda: raw.put_parameter(Name="n" * 2049, Value="x", Type="String"),
        lambda: raw.get_parameters(Names=[f"p{i}" for i in range(11)]),
        lambda: raw.get_parameters_by_path(Path="/", MaxResults=11),
        lambda: raw.get_parameter_history(Name="n", MaxResults=51),
        lambda: raw.label_parameter_version(Name="n", Labels=["l" * 101]),
        lambda: raw.describe_parameters(ParameterFilters=[{"Key": "Bogus", "Values": ["x"]}]),
        lambda: raw.get_parameter(Name=["not", "a", "string"]),
    ]
    for case in cases:
        err, status = error_of(case)
        assert status == 400, err
        assert err["Code"] in ("ValidationException", "SerializationException"), err
    assert raw.describe_parameters()["Parameters"] == []      # nothing was created


def test_aws_cli(haneul_server, aws_account, ssm):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=aws_account, AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="")
    aws = os.path.join(os.path.dirname(sys.executable), "aws")

    def cli(*args):
        return subprocess.run([aws, "--endpoint-url", haneul_server.endpoint, "ssm", *args, "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=60)

    r = cli("put-parameter", "--name", "/cli/greeting", "--value", "hello", "--type", "String")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"Version": 1, "Tier": "Standard"}
    r = cli("get-parameter", "--name", "/cli/greeting", "--query", "Parameter.Value")
    assert json.loads(r.stdout) == "hello"
    cli("put-parameter", "--name", "/cli/list", "--value", "a,b", "--type", "StringList")
    r = cli("get-parameters-by-path", "--path", "/cli")
    assert sorted(p["Name"] for p in json.loads(r.stdout)["Parameters"]) == ["/cli/greeting", "/cli/list"]
    r = cli("get-parameter", "--name", "/cli/missing")
    assert r.returncode in (254, 255) and "ParameterNotFound" in r.stderr and "Parameter /cli/missing not found." in r.stderr
    # AWS CLI v1 exits 255 on a service error, v2 exits 254
    r = cli("put-parameter", "--name", "/cli/greeting", "--value", "again", "--type", "String")
    assert r.returncode in (254, 255) and "ParameterAlreadyExists" in r.stderr
    assert ssm.get_parameter(Name="/cli/greeting")["Parameter"]["Value"] == "hello"
