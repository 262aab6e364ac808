"""IAM against a live Haneul through boto3 and the AWS CLI."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def error(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.response["Error"]


@pytest.fixture
def iam(aws_client):
    return aws_client("iam")


def test_lambda_tutorial_flow(iam, aws_account):
    role = iam.create_role(RoleName="lambda-ex", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    assert role["Arn"] == f"arn:aws:iam::{aws_account}:role/lambda-ex"
    assert role["AssumeRolePolicyDocument"] == TRUST          # boto3 decodes IAM's URL-encoded document
    iam.attach_role_policy(RoleName="lambda-ex", PolicyArn=BASIC)
    got = iam.get_role(RoleName="lambda-ex")["Role"]
    assert got["RoleId"].startswith("AROA") and got["MaxSessionDuration"] == 3600
    attached = iam.list_attached_role_policies(RoleName="lambda-ex")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]
    version = iam.get_policy_version(PolicyArn=BASIC, VersionId="v1")["PolicyVersion"]
    assert version["Document"]["Statement"][0]["Action"] == ["logs:CreateLogGroup", "logs:CreateLogStream",
                                                              "logs:PutLogEvents"]


def test_users_groups_keys_and_paginators(iam):
    for i in range(5):
        iam.create_user(UserName=f"user{i}", Path="/team/", Tags=[{"Key": "n", "Value": str(i)}])
    pages = list(iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["Users"]) for p in pages] == [2, 2, 1]
    assert pages[0]["IsTruncated"] and "Marker" in pages[0]
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="user0")
    assert [u["UserName"] for u in iam.get_group(GroupName="devs")["Users"]] == ["user0"]
    key = iam.create_access_key(UserName="user0")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
    iam.create_access_key(UserName="user0")
    err = error(iam.create_access_key, UserName="user0")
    assert err["Code"] == "LimitExceeded" and err["Message"] == "Cannot exceed quota for AccessKeysPerUser: 2"
    err = error(iam.delete_user, UserName="user0")
    assert err["Code"] == "DeleteConflict"
    assert err["Message"] == "Cannot delete entity, must delete access keys first."
    err = error(iam.get_user, UserName="ghost")
    assert err == {"Type": "Sender", "Code": "NoSuchEntity", "Message": "The user with name ghost cannot be found."}
    assert iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["UserName"] == "user0"


def test_deletion_conflicts(iam):
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.create_instance_profile(InstanceProfileName="ip")
    iam.add_role_to_instance_profile(InstanceProfileName="ip", RoleName="r")
    assert error(iam.delete_role, RoleName="r")["Message"] == \
        "Cannot delete entity, must remove roles from instance profile first."
    iam.remove_role_from_instance_profile(InstanceProfileName="ip", RoleName="r")
    iam.put_role_policy(RoleName="r", PolicyName="inline", PolicyDocument=json.dumps(POLICY))
    assert error(iam.delete_role, RoleName="r")["Message"] == "Cannot delete entity, must delete policies first."
    iam.delete_role_policy(RoleName="r", PolicyName="inline")
    arn = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    assert error(iam.delete_role, RoleName="r")["Message"] == "Cannot delete entity, must detach all policies first."
    assert error(iam.delete_policy, PolicyArn=arn)["Message"] == "Cannot delete a policy attached to entities."
    iam.detach_role_policy(RoleName="r", PolicyArn=arn)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(POLICY), SetAsDefault=True)
    assert error(iam.delete_policy_version, PolicyArn=arn, VersionId="v2")["Code"] == "DeleteConflict"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)
    iam.delete_role(RoleName="r")
    iam.create_group(GroupName="g")
    iam.create_user(UserName="u")
    iam.add_user_to_group(GroupName="g", UserName="u")
    assert error(iam.delete_group, GroupName="g") == {
        "Type": "Sender", "Code": "DeleteConflict", "Message": "Cannot delete entity, must remove users from group first."}


# Malformed policy documents: tests/e2e/test_iam_policy_errors.py


def test_managed_policies_scope_and_attachment(iam):
    aws = [p["PolicyName"] for page in iam.get_paginator("list_policies").paginate(Scope="AWS") for p in page["Policies"]]
    assert {"AdministratorAccess", "PowerUserAccess", "AWSLambdaBasicExecutionRole", "AWSStepFunctionsFullAccess"} <= set(aws)
    assert iam.list_policies(Scope="Local")["Policies"] == []
    iam.create_user(UserName="admin")
    iam.attach_user_policy(UserName="admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    attached = iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]
    assert [(p["PolicyName"], p["AttachmentCount"]) for p in attached] == [("AdministratorAccess", 1)]
    entities = iam.list_entities_for_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert [u["UserName"] for u in entities["PolicyUsers"]] == ["admin"]


def test_credential_report_csv(iam, aws_account):
    iam.create_user(UserName="reported")
    iam.create_access_key(UserName="reported")
    assert error(iam.get_credential_report)["Code"] == "ReportNotPresent"
    assert iam.generate_credential_report()["State"] == "STARTED"
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
    assert rows[0]["arn"] == f"arn:aws:iam::{aws_account}:root"
    assert rows[1]["user"] == "reported" and rows[1]["access_key_1_active"] == "true"
    assert list(rows[0])[-4:] == ["cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"]


def test_account_summary_alias_and_authorization_details(iam, aws_account):
    iam.create_account_alias(AccountAlias=f"alias-{aws_account}")
    assert iam.list_account_aliases()["AccountAliases"] == [f"alias-{aws_account}"]
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    assert iam.get_account_summary()["SummaryMap"]["Roles"] == 1
    details = iam.get_account_authorization_details(Filter=["Role"])
    assert details["RoleDetailList"][0]["AssumeRolePolicyDocument"] == TRUST


def test_sts_sees_iam_keys(aws_client, iam, aws_account):
    iam.create_user(UserName="k")
    key = iam.create_access_key(UserName="k")["AccessKey"]
    assert aws_client("sts").get_access_key_info(AccessKeyId=key["AccessKeyId"])["Account"] == aws_account


def cli(haneul_server, aws_account, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, AWS_ACCESS_KEY_ID=aws_account, AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    return subprocess.run([aws, "--endpoint-url", haneul_server.endpoint, "iam", *args, "--output", "json"],
                          capture_output=True, text=True, env=env, timeout=60)


def test_aws_cli(haneul_server, aws_account):
    out = cli(haneul_server, aws_account, "create-role", "--role-name", "cli-role",
              "--assume-role-policy-document", json.dumps(TRUST))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Role"]["AssumeRolePolicyDocument"] == TRUST
    assert cli(haneul_server, aws_account, "attach-role-policy", "--role-name", "cli-role",
               "--policy-arn", BASIC).returncode == 0
    listed = json.loads(cli(haneul_server, aws_account, "list-attached-role-policies", "--role-name",
                            "cli-role").stdout)
    assert listed["AttachedPolicies"][0]["PolicyArn"] == BASIC
    bad = cli(haneul_server, aws_account, "create-policy", "--policy-name", "x", "--policy-document", "{}")
    assert bad.returncode != 0 and "MalformedPolicyDocument" in bad.stderr and "Syntax errors in policy." in bad.stderr
