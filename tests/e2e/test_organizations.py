"""Organizations against a live Haneul through boto3 and the AWS CLI."""

import json
import os
import subprocess
import sys
import time

import pytest
from botocore.exceptions import ClientError

from haneul.testing import make_client

SCP = "SERVICE_CONTROL_POLICY"
MALFORMED = "The provided policy document does not meet the requirements of the specified policy type."


def deny(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": action, "Resource": "*"}]})


def error(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.response


def neighbour(account: str, n: int = 1) -> str:
    return f"{(int(account) + n) % 10**12:012d}"


@pytest.fixture
def org(aws_client):
    client = aws_client("organizations")
    client.create_organization(FeatureSet="ALL")
    return client


def new_account(org, name: str) -> str:
    car = org.create_account(AccountName=name, Email=f"{name}-{time.time_ns()}@example.org")["CreateAccountStatus"]
    assert car["State"] == "IN_PROGRESS"
    status = org.describe_create_account_status(CreateAccountRequestId=car["Id"])["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"
    return status["AccountId"]


def test_organization_and_accounts(org, aws_account, haneul_server):
    described = org.describe_organization()["Organization"]
    assert described["MasterAccountId"] == aws_account and described["FeatureSet"] == "ALL"
    assert described["Arn"] == f"arn:aws:organizations::{aws_account}:organization/{described['Id']}"
    member = new_account(org, "dev")
    accounts = {a["Id"]: a for a in org.list_accounts()["Accounts"]}
    assert set(accounts) == {aws_account, member}
    assert accounts[member]["Arn"] == f"arn:aws:organizations::{aws_account}:account/{described['Id']}/{member}"
    assert accounts[member]["JoinedTimestamp"].tzinfo is not None
    # the new account is usable at once: requests signed with its id land in its namespace
    as_member = make_client(haneul_server.endpoint, "organizations", member)
    assert as_member.describe_organization()["Organization"]["Id"] == described["Id"]
    err = error(as_member.list_accounts)
    assert err["Error"]["Code"] == "AccessDeniedException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    err = error(make_client(haneul_server.endpoint, "organizations", neighbour(aws_account, 7)).describe_organization)
    assert err["Error"] == {"Code": "AWSOrganizationsNotInUseException",
                            "Message": "Your account is not a member of an organization."}
    err = error(org.create_organization)
    assert err["Error"]["Code"] == "AlreadyInOrganizationException"


def test_tree_with_scps_at_several_levels(org, aws_account):
    root = org.list_roots()["Roots"][0]["Id"]
    assert org.enable_policy_type(RootId=root, PolicyType=SCP)["Root"]["PolicyTypes"] == [
        {"Type": SCP, "Status": "ENABLED"}]
    eng = org.create_organizational_unit(ParentId=root, Name="Engineering")["OrganizationalUnit"]["Id"]
    prod = org.create_organizational_unit(ParentId=eng, Name="Prod")["OrganizationalUnit"]["Id"]
    member = new_account(org, "prod")
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=prod)
    policies = {}
    for name, target, action in [("root-deny-leave", root, "organizations:LeaveOrganization"),
                                 ("eng-deny-iam-users", eng, "iam:CreateUser"),
                                 ("prod-deny-delete", prod, "s3:DeleteBucket"),
                                 ("acct-deny-ec2", member, "ec2:TerminateInstances")]:
        pid = org.create_policy(Name=name, Description=name, Type=SCP, Content=deny(action))["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=pid, TargetId=target)
        policies[name] = pid
    org.attach_policy(PolicyId=policies["eng-deny-iam-users"], TargetId=prod)

    def names(target):
        pages = org.get_paginator("list_policies_for_target").paginate(TargetId=target, Filter=SCP)
        return [p["Name"] for page in pages for p in page["Policies"]]

    assert names(root) == ["FullAWSAccess", "root-deny-leave"]
    assert names(eng) == ["FullAWSAccess", "eng-deny-iam-users"]
    assert names(prod) == ["FullAWSAccess", "prod-deny-delete", "eng-deny-iam-users"]
    assert names(member) == ["FullAWSAccess", "acct-deny-ec2"]
    targets = org.list_targets_for_policy(PolicyId=policies["eng-deny-iam-users"])["Targets"]
    assert [(t["TargetId"], t["Type"], t["Name"]) for t in targets] == [
        (eng, "ORGANIZATIONAL_UNIT", "Engineering"), (prod, "ORGANIZATIONAL_UNIT", "Prod")]
    everywhere = [t["Type"] for page in org.get_paginator("list_targets_for_policy").paginate(
        PolicyId="p-FullAWSAccess") for t in page["Targets"]]
    assert sorted(everywhere) == ["ACCOUNT", "ACCOUNT", "ORGANIZATIONAL_UNIT", "ORGANIZATIONAL_UNIT", "ROOT"]
    full = org.describe_policy(PolicyId="p-FullAWSAccess")["Policy"]["PolicySummary"]
    assert full["AwsManaged"] is True
    # rules on attachment
    err = error(org.attach_policy, PolicyId=policies["root-deny-leave"], TargetId=root)
    assert err["Error"]["Code"] == "DuplicatePolicyAttachmentException"
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=member)
    err = error(org.detach_policy, PolicyId=policies["acct-deny-ec2"], TargetId=member)
    assert err["Error"]["Code"] == "ConstraintViolationException"
    assert err["Reason"] == "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
    err = error(org.detach_policy, PolicyId="p-FullAWSAccess", TargetId=member)
    assert err["Error"]["Code"] == "PolicyNotAttachedException"
    err = error(org.delete_policy, PolicyId=policies["prod-deny-delete"])
    assert err["Error"]["Code"] == "PolicyInUseException"
    parents = org.list_parents(ChildId=member)["Parents"]
    assert parents == [{"Id": prod, "Type": "ORGANIZATIONAL_UNIT"}]
    assert org.list_children(ParentId=eng, ChildType="ORGANIZATIONAL_UNIT")["Children"] == [
        {"Id": prod, "Type": "ORGANIZATIONAL_UNIT"}]


def test_policy_type_errors(org):
    root = org.list_roots()["Roots"][0]["Id"]
    pid = org.create_policy(Name="p", Description="", Type=SCP, Content=deny("s3:*"))["Policy"]["PolicySummary"]["Id"]
    err = error(org.attach_policy, PolicyId=pid, TargetId=root)
    assert err["Error"]["Code"] == "PolicyTypeNotEnabledException"
    err = error(org.disable_policy_type, RootId=root, PolicyType=SCP)
    assert err["Error"]["Code"] == "PolicyTypeNotEnabledException"
    org.enable_policy_type(RootId=root, PolicyType="TAG_POLICY")
    err = error(org.enable_policy_type, RootId=root, PolicyType="TAG_POLICY")
    assert err["Error"]["Code"] == "PolicyTypeAlreadyEnabledException"
    err = error(org.describe_policy, PolicyId="p-00000000")
    assert err["Error"]["Code"] == "PolicyNotFoundException"


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"Version": "2012-10-17"}),
    json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Perhaps", "Action": "*"}}),
    json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Resource": "*"}}),
    json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Principal": "*", "Action": "*"}}),
    json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3", "Resource": "*"}}),
    json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*",
                                                       "Condition": {"StringAlmost": {"a": "b"}}}}),
])
def test_malformed_scps(org, content):
    err = error(org.create_policy, Name="bad", Description="", Type=SCP, Content=content)
    assert err["Error"] == {"Code": "MalformedPolicyDocumentException", "Message": MALFORMED}


def test_policy_size_and_tag_policy(org, aws_account):
    too_big = deny("s3:*") + " " * 5200
    err = error(org.create_policy, Name="big", Description="", Type=SCP, Content=too_big)
    assert (err["Error"]["Code"], err["Reason"]) == ("ConstraintViolationException", "POLICY_CONTENT_LIMIT_EXCEEDED")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="TAG_POLICY")
    content = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": ["1", "2"]}}}}
    pid = org.create_policy(Name="tags", Description="", Type="TAG_POLICY",
                            Content=json.dumps(content))["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=pid, TargetId=root)
    eff = org.describe_effective_policy(PolicyType="TAG_POLICY", TargetId=aws_account)["EffectivePolicy"]
    assert json.loads(eff["PolicyContent"]) == {"tags": {"costcenter": {"tag_key": "CostCenter", "tag_value": ["1", "2"]}}}
    err = error(org.create_policy, Name="badtags", Description="", Type="TAG_POLICY",
                Content=json.dumps({"tags": {"a": {"tag_key": {"@@assign": "B"}}}}))
    assert err["Error"]["Code"] == "MalformedPolicyDocumentException"


def test_invitation_handshake_between_accounts(org, aws_account, haneul_server):
    guest_id = neighbour(aws_account, 11)
    guest = make_client(haneul_server.endpoint, "organizations", guest_id)
    hs = org.invite_account_to_organization(Target={"Id": guest_id, "Type": "ACCOUNT"}, Notes="welcome")["Handshake"]
    assert hs["State"] == "OPEN" and hs["Action"] == "INVITE"
    err = error(org.invite_account_to_organization, Target={"Id": guest_id, "Type": "ACCOUNT"})
    assert err["Error"]["Code"] == "DuplicateHandshakeException"
    received = guest.list_handshakes_for_account()["Handshakes"]
    assert [h["Id"] for h in received] == [hs["Id"]]
    assert guest.accept_handshake(HandshakeId=hs["Id"])["Handshake"]["State"] == "ACCEPTED"
    err = error(guest.accept_handshake, HandshakeId=hs["Id"])
    assert err["Error"]["Code"] == "HandshakeAlreadyInStateException"
    assert org.describe_account(AccountId=guest_id)["Account"]["JoinedMethod"] == "INVITED"
    listed = org.list_handshakes_for_organization(Filter={"ActionType": "INVITE"})["Handshakes"]
    assert [(h["Id"], h["State"]) for h in listed] == [(hs["Id"], "ACCEPTED")]
    # a second guest declines, a third invitation is cancelled
    second_id, third_id = neighbour(aws_account, 12), neighbour(aws_account, 13)
    second = make_client(haneul_server.endpoint, "organizations", second_id)
    h2 = org.invite_account_to_organization(Target={"Id": second_id, "Type": "ACCOUNT"})["Handshake"]
    assert second.decline_handshake(HandshakeId=h2["Id"])["Handshake"]["State"] == "DECLINED"
    h3 = org.invite_account_to_organization(Target={"Id": third_id, "Type": "ACCOUNT"})["Handshake"]
    err = error(guest.cancel_handshake, HandshakeId=h3["Id"])
    assert err["Error"]["Code"] == "HandshakeNotFoundException"
    assert org.cancel_handshake(HandshakeId=h3["Id"])["Handshake"]["State"] == "CANCELED"
    err = error(make_client(haneul_server.endpoint, "organizations", third_id).accept_handshake, HandshakeId=h3["Id"])
    assert err["Error"]["Code"] == "InvalidHandshakeTransitionException"
    # the guest leaves again
    guest.leave_organization()
    assert error(guest.describe_organization)["Error"]["Code"] == "AWSOrganizationsNotInUseException"


def test_pagination_and_tags(org):
    root = org.list_roots()["Roots"][0]["Id"]
    made = [org.create_organizational_unit(ParentId=root, Name=f"ou-{i:02d}",
                                           Tags=[{"Key": "n", "Value": str(i)}])["OrganizationalUnit"]["Id"]
            for i in range(23)]
    first = org.list_organizational_units_for_parent(ParentId=root, MaxResults=10)
    assert len(first["OrganizationalUnits"]) == 10 and "NextToken" in first
    pages = list(org.get_paginator("list_organizational_units_for_parent").paginate(
        ParentId=root, PaginationConfig={"PageSize": 5}))
    assert [o["Id"] for p in pages for o in p["OrganizationalUnits"]] == made and len(pages) == 5
    org.tag_resource(ResourceId=made[0], Tags=[{"Key": "team", "Value": "a"}])
    org.untag_resource(ResourceId=made[0], TagKeys=["n"])
    assert org.list_tags_for_resource(ResourceId=made[0])["Tags"] == [{"Key": "team", "Value": "a"}]
    err = error(org.list_tags_for_resource, ResourceId="ou-zzzz-zzzzzzzz")
    assert err["Error"]["Code"] == "TargetNotFoundException"
    err = error(org.list_organizational_units_for_parent, ParentId="bogus")
    assert err["Error"]["Code"] == "InvalidInputException"


def test_delegated_admin_and_service_access(org):
    member = new_account(org, "sec")
    org.enable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com")
    assert [s["ServicePrincipal"] for s in org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]] \
        == ["guardduty.amazonaws.com"]
    org.register_delegated_administrator(AccountId=member, ServicePrincipal="guardduty.amazonaws.com")
    assert [a["Id"] for a in org.list_delegated_administrators()["DelegatedAdministrators"]] == [member]
    assert [s["ServicePrincipal"] for s in org.list_delegated_services_for_account(AccountId=member)["DelegatedServices"]] \
        == ["guardduty.amazonaws.com"]
    err = error(org.register_delegated_administrator, AccountId=member, ServicePrincipal="guardduty.amazonaws.com")
    assert err["Error"]["Code"] == "AccountAlreadyRegisteredException"
    org.deregister_delegated_administrator(AccountId=member, ServicePrincipal="guardduty.amazonaws.com")
    org.disable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com")
    assert org.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []


def test_aws_cli(haneul_server, aws_account):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=aws_account, AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="")
    aws = os.path.join(os.path.dirname(sys.executable), "aws")

    def cli(*args):
        return subprocess.run([aws, "--endpoint-url", haneul_server.endpoint, "organizations", *args,
                               "--output", "json"], env=env, capture_output=True, text=True, timeout=60)

    r = cli("create-organization", "--feature-set", "ALL")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Organization"]["MasterAccountId"] == aws_account
    root = json.loads(cli("list-roots", "--query", "Roots[0].Id").stdout)
    assert cli("enable-policy-type", "--root-id", root, "--policy-type", SCP).returncode == 0
    r = cli("create-policy", "--name", "cli-deny", "--description", "from the cli", "--type", SCP,
            "--content", deny("sqs:DeleteQueue"))
    assert r.returncode == 0, r.stderr
    pid = json.loads(r.stdout)["Policy"]["PolicySummary"]["Id"]
    assert cli("attach-policy", "--policy-id", pid, "--target-id", root).returncode == 0
    r = cli("list-policies-for-target", "--target-id", root, "--filter", SCP, "--query", "Policies[].Name")
    assert json.loads(r.stdout) == ["FullAWSAccess", "cli-deny"]
    r = cli("create-policy", "--name", "broken", "--description", "", "--type", SCP, "--content", "{")
    assert r.returncode in (254, 255) and "MalformedPolicyDocumentException" in r.stderr and MALFORMED in r.stderr


def test_invalid_input_carries_a_reason(org):
    """Model-constraint failures: InvalidInputException with the Reason AWS documents."""
    err = error(org.describe_policy, PolicyId="nope")
    assert (err["Error"]["Code"], err["Reason"]) == ("InvalidInputException", "INVALID_SYNTAX_POLICY_ID")
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    err = error(org.attach_policy, PolicyId="p-FullAWSAccess", TargetId="bad")
    assert (err["Error"]["Code"], err["Reason"]) == ("InvalidInputException", "INVALID_PATTERN_TARGET_ID")
    err = error(org.list_policies, Filter="NOPE")
    assert err["Reason"] == "INVALID_ENUM_POLICY_TYPE"
    err = error(org.describe_account, AccountId="12")
    assert err["Reason"] == "INVALID_PATTERN"


def test_created_account_access_role(org, aws_account, haneul_server):
    """The role CreateAccount makes is there at once, trusts the management account, holds
    AdministratorAccess, and the management account can assume it."""
    member = new_account(org, "ops")
    iam = make_client(haneul_server.endpoint, "iam", member)
    role = iam.get_role(RoleName="OrganizationAccountAccessRole")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{aws_account}:root"}
    attached = iam.list_attached_role_policies(RoleName="OrganizationAccountAccessRole")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]
    sts = make_client(haneul_server.endpoint, "sts", aws_account)
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="admin")["Credentials"]
    who = make_client(haneul_server.endpoint, "sts", member, access_key=creds["AccessKeyId"],
                      secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])
    assert who.get_caller_identity()["Arn"] == f"arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/admin"
