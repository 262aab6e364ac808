"""ListPoliciesGrantingServiceAccess and the Organizations root-access features of IAM."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from haneul.testing import make_client


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def error(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]


@pytest.fixture
def iam(aws_client):
    return aws_client("iam")


def test_policies_granting_service_access(iam, aws_account):
    iam.create_user(UserName="dev")
    iam.put_user_policy(UserName="dev", PolicyName="queues", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["sqs:Send*", "SQS:ReceiveMessage"], "Resource": "*"}))
    iam.put_user_policy(UserName="dev", PolicyName="no-s3", PolicyDocument=doc(
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}))
    iam.create_group(GroupName="ops")
    iam.add_user_to_group(GroupName="ops", UserName="dev")
    iam.attach_group_policy(GroupName="ops", PolicyArn="arn:aws:iam::aws:policy/PowerUserAccess")
    out = iam.list_policies_granting_service_access(Arn=f"arn:aws:iam::{aws_account}:user/dev",
                                                    ServiceNamespaces=["sqs", "s3", "iam", "organizations"])
    by = {e["ServiceNamespace"]: e["Policies"] for e in out["PoliciesGrantingServiceAccess"]}
    power = {"PolicyName": "PowerUserAccess", "PolicyType": "MANAGED",
             "PolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}
    assert by["sqs"] == [{"PolicyName": "queues", "PolicyType": "INLINE", "EntityType": "USER",
                          "EntityName": "dev"}, power]
    assert by["s3"] == [power]                      # NotAction iam:*, organizations:*, account:* leaves s3
    assert by["iam"] == [power]                     # ... and its second statement names iam:ListRoles
    assert by["organizations"] == [power]
    group = iam.list_policies_granting_service_access(Arn=f"arn:aws:iam::{aws_account}:group/ops",
                                                      ServiceNamespaces=["sqs"])
    assert group["PoliciesGrantingServiceAccess"] == [{"ServiceNamespace": "sqs", "Policies": [power]}]
    assert group["IsTruncated"] is False
    err = error(iam.list_policies_granting_service_access, Arn=f"arn:aws:iam::{aws_account}:role/none",
                ServiceNamespaces=["s3"])
    assert err["Code"] == "NoSuchEntity"


def test_organizations_root_access_features(aws_client, aws_account, haneul_server):
    iam = aws_client("iam")
    assert error(iam.list_organizations_features)["Code"] == "OrganizationNotFoundException"
    org = aws_client("organizations")
    org.create_organization(FeatureSet="ALL")
    assert error(iam.enable_organizations_root_sessions)["Code"] == "ServiceAccessNotEnabledException"
    org.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    org_id = org.describe_organization()["Organization"]["Id"]
    assert iam.list_organizations_features()["EnabledFeatures"] == []
    out = iam.enable_organizations_root_sessions()
    assert out["OrganizationId"] == org_id and out["EnabledFeatures"] == ["RootSessions"]
    out = iam.enable_organizations_root_credentials_management()
    assert out["EnabledFeatures"] == ["RootCredentialsManagement", "RootSessions"]
    # a member account may not, unless it is IAM's delegated administrator
    car = org.create_account(AccountName="sec", Email=f"sec-{time.time_ns()}@example.org")["CreateAccountStatus"]
    member = org.describe_create_account_status(CreateAccountRequestId=car["Id"])["CreateAccountStatus"]["AccountId"]
    member_iam = make_client(haneul_server.endpoint, "iam", member)
    assert error(member_iam.list_organizations_features)["Code"] == \
        "AccountNotManagementOrDelegatedAdministratorException"
    org.register_delegated_administrator(AccountId=member, ServicePrincipal="iam.amazonaws.com")
    assert member_iam.list_organizations_features()["EnabledFeatures"] == ["RootCredentialsManagement",
                                                                           "RootSessions"]
    assert error(member_iam.enable_organizations_root_sessions)["Code"] == "CallerIsNotManagementAccountException"
    assert member_iam.disable_organizations_root_sessions()["EnabledFeatures"] == ["RootCredentialsManagement"]
    assert iam.disable_organizations_root_credentials_management()["EnabledFeatures"] == []
