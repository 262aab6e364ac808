"""The IAM policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy) through boto3."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from haneul.testing import make_client


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=4)


def error(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response


@pytest.fixture
def iam(aws_client):
    return aws_client("iam")


def test_principal_policy_of_a_user_with_groups_boundary_and_managed_policies(iam, aws_account):
    iam.create_user(UserName="alejandro")
    iam.put_user_policy(UserName="alejandro", PolicyName="Grant-Access-To-CodeCommit-ListRepo",
                        PolicyDocument=doc({"Effect": "Allow", "Action": "codecommit:ListRepositories",
                                            "Resource": "*"}))
    iam.create_group(GroupName="readers")
    iam.add_user_to_group(GroupName="readers", UserName="alejandro")
    iam.attach_group_policy(GroupName="readers", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    arn = f"arn:aws:iam::{aws_account}:user/alejandro"
    out = iam.simulate_principal_policy(PolicySourceArn=arn,
                                        ActionNames=["codecommit:ListRepositories", "s3:GetObject", "s3:PutObject"])
    results = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    listed = results["codecommit:ListRepositories"]
    assert listed["EvalDecision"] == "allowed" and listed["EvalResourceName"] == "*"
    assert listed["MatchedStatements"] == [{
        "SourcePolicyId": "Grant-Access-To-CodeCommit-ListRepo", "SourcePolicyType": "user",
        "StartPosition": {"Line": 4, "Column": 9}, "EndPosition": {"Line": 8, "Column": 10}}]
    read = results["s3:GetObject"]["MatchedStatements"]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in read] == [("AmazonS3ReadOnlyAccess", "aws-managed")]
    assert results["s3:PutObject"]["EvalDecision"] == "implicitDeny"
    # a permissions boundary on the user caps what its policies allow
    iam.put_user_permissions_boundary(UserName="alejandro",
                                      PermissionsBoundary="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    out = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["codecommit:ListRepositories"])
    capped = out["EvaluationResults"][0]
    assert capped["EvalDecision"] == "implicitDeny"
    assert capped["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_explicit_deny_context_and_missing_values(iam, aws_account):
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.attach_role_policy(RoleName="app", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    iam.put_role_policy(RoleName="app", PolicyName="before-launch", PolicyDocument=doc(
        {"Effect": "Deny", "Action": "dynamodb:CreateBackup", "Resource": "*",
         "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}))
    arn = f"arn:aws:iam::{aws_account}:role/app"

    def run(**kw):
        return iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["dynamodb:CreateBackup"],
                                             **kw)["EvaluationResults"][0]
    early = run(ContextEntries=[{"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2029-06-01T00:00:00Z"],
                                 "ContextKeyType": "date"}])
    assert early["EvalDecision"] == "explicitDeny"
    assert [m["SourcePolicyId"] for m in early["MatchedStatements"]] == ["before-launch"]
    late = run(ContextEntries=[{"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2031-01-01T00:00:00Z"],
                                "ContextKeyType": "date"}])
    assert late["EvalDecision"] == "allowed"
    assert late["MatchedStatements"][0]["SourcePolicyType"] == "aws-managed"
    unknown = run()
    assert unknown["EvalDecision"] == "allowed" and unknown["MissingContextValues"] == ["aws:CurrentTime"]


def test_custom_policy_resources_variables_and_pagination(iam):
    policy = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"},
                 {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})
    alice = [{"ContextKeyName": "aws:username", "ContextKeyValues": ["alice"], "ContextKeyType": "string"}]
    kw = dict(PolicyInputList=[policy], ActionNames=["s3:GetObject", "s3:DeleteObject"],
              ResourceArns=["arn:aws:s3:::home/alice/a", "arn:aws:s3:::home/bob/b"], ContextEntries=alice)
    out = iam.simulate_custom_policy(**kw)
    got = [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in out["EvaluationResults"]]
    assert got == [("s3:GetObject", "arn:aws:s3:::home/alice/a", "allowed"),
                   ("s3:GetObject", "arn:aws:s3:::home/bob/b", "implicitDeny"),
                   ("s3:DeleteObject", "arn:aws:s3:::home/alice/a", "explicitDeny"),
                   ("s3:DeleteObject", "arn:aws:s3:::home/bob/b", "explicitDeny")]
    first = out["EvaluationResults"][0]
    assert first["ResourceSpecificResults"][0]["EvalResourceDecision"] == "allowed"
    assert first["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    # without the context key the variable cannot be resolved: reported per resource
    missing = iam.simulate_custom_policy(**{**kw, "ContextEntries": []})["EvaluationResults"][0]
    assert missing["EvalDecision"] == "implicitDeny"
    assert missing["ResourceSpecificResults"][0]["MissingContextValues"] == ["aws:username"]
    # pages of two
    page1 = iam.simulate_custom_policy(**kw, MaxItems=3)
    assert page1["IsTruncated"] and len(page1["EvaluationResults"]) == 3
    page2 = iam.simulate_custom_policy(**kw, MaxItems=3, Marker=page1["Marker"])
    assert not page2["IsTruncated"] and len(page2["EvaluationResults"]) == 1
    paginated = iam.get_paginator("simulate_custom_policy").paginate(**kw, PaginationConfig={"PageSize": 1})
    assert sum(len(p["EvaluationResults"]) for p in paginated) == 4


def test_resource_policy_same_and_cross_account(iam, aws_account):
    caller = f"arn:aws:iam::{aws_account}:user/bob"
    bucket_policy = doc({"Effect": "Allow", "Principal": {"AWS": caller}, "Action": "s3:GetObject",
                         "Resource": "arn:aws:s3:::shared/*"})
    same = iam.simulate_custom_policy(
        PolicyInputList=[doc({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})],
        ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"], ResourcePolicy=bucket_policy,
        CallerArn=caller)["EvaluationResults"][0]
    assert same["EvalDecision"] == "allowed"
    assert same["MatchedStatements"][0] == {"SourcePolicyId": "ResourcePolicy", "SourcePolicyType": "resource",
                                           "StartPosition": {"Line": 4, "Column": 9},
                                           "EndPosition": {"Line": 11, "Column": 10}}
    other = "444455556666" if aws_account != "444455556666" else "555566667777"
    cross = iam.simulate_custom_policy(
        PolicyInputList=[doc({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})],
        ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"], ResourcePolicy=bucket_policy,
        ResourceOwner=f"arn:aws:iam::{other}:root", CallerArn=caller)["EvaluationResults"][0]
    assert cross["EvalDecision"] == "implicitDeny"
    assert cross["EvalDecisionDetails"] == {"IAM Policy": "implicitDeny", "Resource Policy": "allowed"}
    err = error(iam.simulate_custom_policy, PolicyInputList=[doc({"Effect": "Allow", "Action": "*",
                                                                 "Resource": "*"})],
                ActionNames=["s3:GetObject"], ResourcePolicy=bucket_policy)
    assert err["Error"]["Code"] == "InvalidInput"


def test_errors(iam, aws_account):
    err = error(iam.simulate_principal_policy, PolicySourceArn=f"arn:aws:iam::{aws_account}:user/nobody",
                ActionNames=["s3:GetObject"])
    assert err["Error"]["Code"] == "NoSuchEntity"
    err = error(iam.simulate_custom_policy, PolicyInputList=["{not json"], ActionNames=["s3:GetObject"])
    assert err["Error"]["Code"] == "InvalidInput"
    err = error(iam.simulate_custom_policy, PolicyInputList=[doc({"Effect": "Allow", "Action": "*",
                                                                 "Resource": "*"})], ActionNames=["GetObject"])
    assert err["Error"]["Code"] == "InvalidInput"
    err = error(iam.simulate_principal_policy, PolicySourceArn=f"arn:aws:s3:::bucket-{aws_account}", ActionNames=["s3:GetObject"])
    assert err["Error"]["Code"] == "InvalidInput"


def test_service_control_policies_of_the_organization(aws_client, aws_account, haneul_server):
    org = aws_client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    deny_iam = org.create_policy(Name="no-iam", Type="SERVICE_CONTROL_POLICY", Description="d",
                                 Content=json.dumps({"Version": "2012-10-17", "Statement": [
                                     {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}))["Policy"]
    org.attach_policy(PolicyId=deny_iam["PolicySummary"]["Id"], TargetId=root)
    car = org.create_account(AccountName="member", Email=f"m-{time.time_ns()}@example.org")["CreateAccountStatus"]
    member = org.describe_create_account_status(CreateAccountRequestId=car["Id"])["CreateAccountStatus"]["AccountId"]
    member_iam = make_client(haneul_server.endpoint, "iam", member)
    member_iam.create_user(UserName="admin")
    member_iam.attach_user_policy(UserName="admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    out = member_iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{member}:user/admin",
                                               ActionNames=["iam:CreateUser", "s3:ListBucket"])
    results = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert results["iam:CreateUser"]["EvalDecision"] == "explicitDeny"
    assert results["iam:CreateUser"]["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    assert results["s3:ListBucket"]["EvalDecision"] == "allowed"
    assert results["s3:ListBucket"]["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    # the management account is not bound by SCPs
    iam = aws_client("iam")
    iam.create_user(UserName="root-admin")
    iam.attach_user_policy(UserName="root-admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    mine = iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{aws_account}:user/root-admin",
                                         ActionNames=["iam:CreateUser"])["EvaluationResults"][0]
    assert mine["EvalDecision"] == "allowed" and "OrganizationsDecisionDetail" not in mine


def test_custom_policy_with_a_pathological_wildcard_answers_quickly(aws_client):
    # a backtracking matcher would spend years on this (and freeze the server meanwhile)
    from botocore.config import Config
    iam = aws_client("iam", config=Config(retries={"max_attempts": 1}, read_timeout=10))
    evil = "*a" * 14 + "*b"
    policy = doc({"Effect": "Allow", "Action": "s3:" + evil, "Resource": "*"},
                 {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::" + evil},
                 {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                  "Condition": {"StringLike": {"aws:username": evil}}})
    started = time.monotonic()
    out = iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["s3:" + "a" * 60],
        ResourceArns=["arn:aws:s3:::" + "a" * 60],
        ContextEntries=[{"ContextKeyName": "aws:username", "ContextKeyValues": ["a" * 60],
                         "ContextKeyType": "string"}])
    assert out["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    assert time.monotonic() - started < 5
