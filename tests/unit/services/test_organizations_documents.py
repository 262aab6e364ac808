"""Policy content validation per type, and the inheritance of management policies."""

import json

import pytest

from haneul.errors import AwsError
from haneul.services.organizations import documents, inheritance

MESSAGE = "The provided policy document does not meet the requirements of the specified policy type."
SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"


def stmt(**kw):
    return json.dumps({"Version": "2012-10-17", "Statement": [kw]})


VALID_SCPS = [
    stmt(Effect="Deny", Action="s3:*", Resource="*"),
    stmt(Effect="Allow", Action=["ec2:Describe*", "s3:Get*"]),          # Resource may be left out
    stmt(Effect="Deny", NotAction=["iam:*", "sts:*"], NotResource="arn:aws:iam::*:role/Admin",
         Condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}),
    stmt(Sid="DenyLeave", Effect="Deny", Action="organizations:LeaveOrganization", Resource="*",
         Condition={"ForAnyValue:StringLike": {"aws:TagKeys": "x*"}, "BoolIfExists": {"aws:MultiFactorAuthPresent": False}}),
    json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}),
]

MALFORMED_SCPS = {
    "not json": "{not json",
    "array": "[]",
    "two objects": '{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*"}}{"Statement":[]}',
    "no statement": json.dumps({"Version": "2012-10-17"}),
    "empty statement list": json.dumps({"Version": "2012-10-17", "Statement": []}),
    "bad version": json.dumps({"Version": "2020-01-01", "Statement": {"Effect": "Deny", "Action": "*"}}),
    "unknown top level": json.dumps({"Version": "2012-10-17", "Foo": 1, "Statement": {"Effect": "Deny", "Action": "*"}}),
    "bad effect": stmt(Effect="Maybe", Action="*"),
    "no effect": stmt(Action="*"),
    "no action": stmt(Effect="Deny", Resource="*"),
    "action and notaction": stmt(Effect="Deny", Action="*", NotAction="s3:*"),
    "action without colon": stmt(Effect="Deny", Action="s3"),
    "empty action list": stmt(Effect="Deny", Action=[]),
    "principal in scp": stmt(Effect="Deny", Principal="*", Action="*"),
    "resource and notresource": stmt(Effect="Deny", Action="*", Resource="*", NotResource="*"),
    "resource not arn": stmt(Effect="Deny", Action="*", Resource="bucket"),
    "unknown condition operator": stmt(Effect="Deny", Action="*", Condition={"StringSorta": {"a": "b"}}),
    "condition not object": stmt(Effect="Deny", Action="*", Condition="yes"),
    "duplicate sid": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "A", "Effect": "Deny", "Action": "*"}, {"Sid": "A", "Effect": "Deny", "Action": "s3:*"}]}),
    "bad sid": stmt(Sid="no spaces allowed", Effect="Deny", Action="*"),
    "duplicate key": '{"Version":"2012-10-17","Statement":{"Effect":"Deny","Effect":"Allow","Action":"*"}}',
}


@pytest.mark.parametrize("content", VALID_SCPS)
def test_valid_scps(content):
    assert documents.check(SCP, content)


@pytest.mark.parametrize("name", sorted(MALFORMED_SCPS))
def test_malformed_scps(name):
    with pytest.raises(AwsError) as e:
        documents.check(SCP, MALFORMED_SCPS[name])
    assert (e.value.code, e.value.message) == ("MalformedPolicyDocumentException", MESSAGE)


def test_size_limits():
    padding = " " * 5200
    big = '{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*"}}' + padding
    with pytest.raises(AwsError) as e:
        documents.check(SCP, big)
    assert (e.value.code, e.value.fields["Reason"]) == ("ConstraintViolationException", "POLICY_CONTENT_LIMIT_EXCEEDED")
    assert e.value.message == "You have exceeded the maximum policy size."
    exactly = stmt(Effect="Deny", Action="*")
    assert documents.check(SCP, exactly + " " * (5120 - len(exactly)))
    opt_out = json.dumps({"services": {"default": {"opt_out_policy": {"@@assign": "optOut"}}}})
    with pytest.raises(AwsError):
        documents.check("AISERVICES_OPT_OUT_POLICY", opt_out + " " * 2500)


def test_rcp_rules():
    ok = stmt(Effect="Deny", Principal="*", Action=["s3:*", "sqs:SendMessage"], Resource="*")
    assert documents.check(RCP, ok)
    for bad in (stmt(Effect="Allow", Principal="*", Action="s3:*", Resource="*"),
                stmt(Effect="Deny", Action="s3:*", Resource="*"),
                stmt(Effect="Deny", Principal={"AWS": "123456789012"}, Action="s3:*", Resource="*"),
                stmt(Effect="Deny", Principal="*", Action="ec2:RunInstances", Resource="*"),
                stmt(Effect="Deny", Principal="*", NotAction="s3:*", Resource="*")):
        with pytest.raises(AwsError) as e:
            documents.check(RCP, bad)
        assert e.value.code == "MalformedPolicyDocumentException"


def test_management_policies():
    tag = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": ["1"]}}}}
    assert documents.check("TAG_POLICY", json.dumps(tag))
    assert documents.check("BACKUP_POLICY", json.dumps({"plans": {"daily": {"regions": {"@@assign": ["us-east-1"]}}}}))
    assert documents.check("AISERVICES_OPT_OUT_POLICY", json.dumps(
        {"services": {"@@operators_allowed_for_child_policies": ["@@none"],
                      "default": {"opt_out_policy": {"@@assign": "optOut"}}}}))
    assert documents.check("SECURITYHUB_POLICY", json.dumps({"anything": {"@@assign": 1}}))
    for kind, doc in [("TAG_POLICY", {"tag": {}}),
                      ("TAG_POLICY", {"tags": {"a": {"tag_key": {"@@assign": "B"}}}}),
                      ("TAG_POLICY", {"tags": {"a": {"tag_colour": {"@@assign": "x"}}}}),
                      ("TAG_POLICY", {"tags": {"a": {"tag_key": {"@@replace": "a"}}}}),
                      ("AISERVICES_OPT_OUT_POLICY", {"services": {"default": {"opt_out_policy": {"@@assign": "maybe"}}}}),
                      ("BACKUP_POLICY", ["plans"]),
                      ("BACKUP_POLICY", {"plans": {"p": {"@@operators_allowed_for_child_policies": "@@all"}}})]:
        with pytest.raises(AwsError) as e:
            documents.check(kind, json.dumps(doc))
        assert e.value.code == "MalformedPolicyDocumentException", doc


def test_inheritance_operators():
    root = {"services": {"default": {"opt_out_policy": {"@@assign": "optOut",
                                                        "@@operators_allowed_for_child_policies": ["@@none"]}},
                         "rekognition": {"opt_out_policy": {"@@assign": "optOut"}}}}
    child = {"services": {"default": {"opt_out_policy": {"@@assign": "optIn"}},
                          "rekognition": {"opt_out_policy": {"@@assign": "optIn"}}}}
    out = inheritance.effective([[root], [child]])
    assert out == {"services": {"default": {"opt_out_policy": "optOut"}, "rekognition": {"opt_out_policy": "optIn"}}}
    # restrictions bind lower levels, not the level that sets them
    assert inheritance.effective([[root, child]])["services"]["default"]["opt_out_policy"] == "optIn"
    lists = [[{"t": {"v": {"@@assign": ["a", "b", "c"]}}}], [{"t": {"v": {"@@remove": ["b"]}}}],
             [{"t": {"v": {"@@append": ["d", "a"]}}}]]
    assert inheritance.effective(lists) == {"t": {"v": ["a", "c", "d"]}}
    assert inheritance.effective([[], []]) is None
    assert inheritance.effective([[{"t": {"v": {"@@assign": 1}}}], [{"t": {"@@remove": None}}]]) == {}
