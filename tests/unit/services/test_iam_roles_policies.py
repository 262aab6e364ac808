"""IAM roles, instance profiles, managed and inline policies, account-wide operations."""

import csv
import datetime as dt
import io
import json
import re
from urllib.parse import unquote

import pytest

from haneul.errors import AwsError
from haneul.services.iam import sts_lookups
from haneul.services.iam.service import Iam
from tests.unit.services.helpers import Harness

ACCOUNT = "123456789012"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@pytest.fixture
def iam():
    return Harness(Iam, account=ACCOUNT)


def fails(iam, method, request, code, **kw):
    with pytest.raises(AwsError) as info:
        iam.call(method, request, **kw)
    assert info.value.code == code
    return info.value.message


def role(iam, name="r", **kw):
    return iam.call("create_role", {"RoleName": name, "AssumeRolePolicyDocument": TRUST, **kw})["Role"]


def test_create_role_returns_the_document_url_encoded(iam):
    r = role(iam, Path="/service/", MaxSessionDuration=7200, Description="d")
    assert re.fullmatch(r"AROA[A-Z2-7]{17}", r["RoleId"]) and r["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/service/r"
    assert unquote(r["AssumeRolePolicyDocument"]) == TRUST and "%22" in r["AssumeRolePolicyDocument"]
    got = iam.call("get_role", {"RoleName": "R"})["Role"]
    assert got["MaxSessionDuration"] == 7200 and got["Description"] == "d" and got["RoleLastUsed"] == {}
    assert fails(iam, "create_role", {"RoleName": "R", "AssumeRolePolicyDocument": TRUST},
                 "EntityAlreadyExistsException") == "Role with name R already exists."
    assert fails(iam, "get_role", {"RoleName": "x"}, "NoSuchEntityException") == "The role with name x cannot be found."


def test_trust_policy_checks(iam):
    # an identity policy as trust policy: the Resource is named before the missing Principal
    # (https://github.com/kubernetes-sigs/external-dns/issues/3085)
    assert fails(iam, "create_role", {"RoleName": "bad", "AssumeRolePolicyDocument": POLICY},
                 "MalformedPolicyDocumentException") == "Has prohibited field Resource"
    other = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ghost"}, "Action": "sts:AssumeRole"}]})
    assert fails(iam, "create_role", {"RoleName": "bad", "AssumeRolePolicyDocument": other},
                 "MalformedPolicyDocumentException") == \
        f'Invalid principal in policy: "AWS":"arn:aws:iam::{ACCOUNT}:role/ghost"'
    role(iam, "ghost")
    role(iam, "trusting", AssumeRolePolicyDocument=other)     # now the principal exists
    big = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:SourceAccount": ["1" * 12] * 200}}}]})
    assert fails(iam, "update_assume_role_policy", {"RoleName": "ghost", "PolicyDocument": big},
                 "LimitExceededException") == "Cannot exceed quota for ACLSizePerRole: 2048"


def test_role_updates_tags_and_sts_lookup(iam):
    role(iam, Tags=[{"Key": "team", "Value": "a"}])
    iam.call("update_role", {"RoleName": "r", "MaxSessionDuration": 43200, "Description": "new"})
    assert iam.call("update_role_description", {"RoleName": "r", "Description": "x"})["Role"]["Description"] == "x"
    iam.call("tag_role", {"RoleName": "r", "Tags": [{"Key": "env", "Value": "p"}]})
    iam.call("untag_role", {"RoleName": "r", "TagKeys": ["team"]})
    assert iam.call("list_role_tags", {"RoleName": "r"})["Tags"] == [{"Key": "env", "Value": "p"}]
    found = sts_lookups.lookup_role(iam.store.conn, ACCOUNT, "r")
    assert found["arn"] == f"arn:aws:iam::{ACCOUNT}:role/r" and found["max_session_duration"] == 43200
    assert found["role_id"].startswith("AROA") and found["tags"] == {"env": "p"} and found["trust_policy"] == TRUST
    assert sts_lookups.lookup_role(iam.store.conn, ACCOUNT, "R") is None
    assert sts_lookups.lookup_role(iam.store.conn, "999999999999", "r") is None


def test_list_roles_pages_without_tags(iam):
    for i in range(5):
        role(iam, f"role{i}", Tags=[{"Key": "k", "Value": "v"}])
    page1 = iam.call("list_roles", {"MaxItems": 2})
    page2 = iam.call("list_roles", {"MaxItems": 2, "Marker": page1["Marker"]})
    page3 = iam.call("list_roles", {"MaxItems": 2, "Marker": page2["Marker"]})
    names = [r["RoleName"] for p in (page1, page2, page3) for r in p["Roles"]]
    assert names == [f"role{i}" for i in range(5)] and not page3["IsTruncated"]
    assert "Tags" not in page1["Roles"][0]


def test_role_deletion_conflicts(iam):
    role(iam)
    iam.call("create_instance_profile", {"InstanceProfileName": "ip"})
    iam.call("add_role_to_instance_profile", {"InstanceProfileName": "ip", "RoleName": "r"})
    iam.call("put_role_policy", {"RoleName": "r", "PolicyName": "inline", "PolicyDocument": POLICY})
    iam.call("attach_role_policy", {"RoleName": "r", "PolicyArn": BASIC})
    assert fails(iam, "delete_role", {"RoleName": "r"}, "DeleteConflictException") == \
        "Cannot delete entity, must remove roles from instance profile first."
    assert fails(iam, "delete_instance_profile", {"InstanceProfileName": "ip"}, "DeleteConflictException") == \
        "Cannot delete entity, must remove roles from instance profile first."
    iam.call("remove_role_from_instance_profile", {"InstanceProfileName": "ip", "RoleName": "r"})
    assert fails(iam, "delete_role", {"RoleName": "r"}, "DeleteConflictException") == \
        "Cannot delete entity, must delete policies first."
    iam.call("delete_role_policy", {"RoleName": "r", "PolicyName": "INLINE"})
    assert fails(iam, "delete_role", {"RoleName": "r"}, "DeleteConflictException") == \
        "Cannot delete entity, must detach all policies first."
    iam.call("detach_role_policy", {"RoleName": "r", "PolicyArn": BASIC})
    iam.call("delete_role", {"RoleName": "r"})


def test_instance_profiles(iam):
    role(iam)
    role(iam, "r2")
    ip = iam.call("create_instance_profile", {"InstanceProfileName": "ip", "Path": "/p/"})["InstanceProfile"]
    assert ip["InstanceProfileId"].startswith("AIPA") and ip["Roles"] == []
    iam.call("add_role_to_instance_profile", {"InstanceProfileName": "ip", "RoleName": "r"})
    assert fails(iam, "add_role_to_instance_profile", {"InstanceProfileName": "ip", "RoleName": "r2"},
                 "LimitExceededException") == "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"
    got = iam.call("get_instance_profile", {"InstanceProfileName": "ip"})["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == ["r"]
    assert [p["InstanceProfileName"] for p in
            iam.call("list_instance_profiles_for_role", {"RoleName": "r"})["InstanceProfiles"]] == ["ip"]
    assert fails(iam, "get_instance_profile", {"InstanceProfileName": "no"}, "NoSuchEntityException") == \
        "Instance Profile no cannot be found."


def test_managed_policy_versions(iam):
    created = iam.call("create_policy", {"PolicyName": "p", "PolicyDocument": POLICY, "Path": "/x/",
                                         "Description": "desc"})["Policy"]
    arn = created["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/x/p" and created["PolicyId"].startswith("ANPA")
    assert created["DefaultVersionId"] == "v1"
    assert fails(iam, "create_policy", {"PolicyName": "P", "PolicyDocument": POLICY},
                 "EntityAlreadyExistsException") == "A policy called P already exists. Duplicate names are not allowed."
    for _ in range(4):
        iam.call("create_policy_version", {"PolicyArn": arn, "PolicyDocument": POLICY})
    assert fails(iam, "create_policy_version", {"PolicyArn": arn, "PolicyDocument": POLICY},
                 "LimitExceededException").startswith("A managed policy can have up to 5 versions.")
    versions = iam.call("list_policy_versions", {"PolicyArn": arn})["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert fails(iam, "delete_policy_version", {"PolicyArn": arn, "VersionId": "v1"}, "DeleteConflictException") == \
        "Cannot delete the default version of a policy."
    iam.call("set_default_policy_version", {"PolicyArn": arn, "VersionId": "v3"})
    assert iam.call("get_policy", {"PolicyArn": arn})["Policy"]["DefaultVersionId"] == "v3"
    version = iam.call("get_policy_version", {"PolicyArn": arn, "VersionId": "v3"})["PolicyVersion"]
    assert version["IsDefaultVersion"] and unquote(version["Document"]) == POLICY
    assert fails(iam, "delete_policy", {"PolicyArn": arn}, "DeleteConflictException").startswith(
        "This policy has more than one version.")
    for v in ("v1", "v2", "v4", "v5"):
        iam.call("delete_policy_version", {"PolicyArn": arn, "VersionId": v})
    fails(iam, "get_policy_version", {"PolicyArn": arn, "VersionId": "v9"}, "NoSuchEntityException")
    iam.call("create_user", {"UserName": "u"})
    iam.call("attach_user_policy", {"UserName": "u", "PolicyArn": arn})
    assert iam.call("get_policy", {"PolicyArn": arn})["Policy"]["AttachmentCount"] == 1
    assert fails(iam, "delete_policy", {"PolicyArn": arn}, "DeleteConflictException") == \
        "Cannot delete a policy attached to entities."
    iam.call("detach_user_policy", {"UserName": "u", "PolicyArn": arn})
    iam.call("delete_policy", {"PolicyArn": arn})
    assert fails(iam, "get_policy", {"PolicyArn": arn}, "NoSuchEntityException") == f"Policy {arn} was not found."


def test_managed_policy_document_rules(iam):
    assert fails(iam, "create_policy", {"PolicyName": "old", "PolicyDocument": json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})},
        "MalformedPolicyDocumentException") == "Policy document must be version 2012-10-17 or greater."
    big = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [f"s3:Action{i:04d}" for i in range(400)], "Resource": "*"}]})
    assert fails(iam, "create_policy", {"PolicyName": "big", "PolicyDocument": big}, "LimitExceededException") == \
        "Cannot exceed quota for PolicySize: 6144"


def test_aws_managed_policies(iam):
    aws = iam.call("list_policies", {"Scope": "AWS", "MaxItems": 1000})["Policies"]
    names = {p["PolicyName"] for p in aws}
    for required in ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "AmazonS3ReadOnlyAccess",
                     "AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole",
                     "AWSLambdaDynamoDBExecutionRole", "AWSLambdaRole", "AWSStepFunctionsFullAccess",
                     "AmazonSNSFullAccess", "AWSXRayDaemonWriteAccess", "ReadOnlyAccess", "SecurityAudit",
                     "AmazonS3FullAccess", "AmazonDynamoDBFullAccess", "AWSLambda_FullAccess",
                     "AmazonSQSFullAccess", "CloudWatchLogsFullAccess", "AWSLambdaSQSQueueExecutionRole",
                     "AWSStepFunctionsConsoleFullAccess", "AWSStepFunctionsReadOnlyAccess"):
        assert required in names
    admin = iam.call("get_policy", {"PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})["Policy"]
    version = iam.call("get_policy_version", {"PolicyArn": admin["Arn"], "VersionId": admin["DefaultVersionId"]})
    assert json.loads(unquote(version["PolicyVersion"]["Document"]))["Statement"] == [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]
    basic = iam.call("get_policy", {"PolicyArn": BASIC})["Policy"]
    assert basic["Path"] == "/service-role/"
    assert iam.call("list_policies", {"Scope": "Local"})["Policies"] == []
    role(iam)
    iam.call("attach_role_policy", {"RoleName": "r", "PolicyArn": BASIC})
    attached = iam.call("list_policies", {"OnlyAttached": True})["Policies"]
    assert [(p["PolicyName"], p["AttachmentCount"]) for p in attached] == [("AWSLambdaBasicExecutionRole", 1)]
    assert fails(iam, "delete_policy", {"PolicyArn": BASIC}, "AccessDenied")
    assert fails(iam, "attach_role_policy", {"RoleName": "r", "PolicyArn": "arn:aws:iam::aws:policy/Nope"},
                 "NoSuchEntityException") == "Policy arn:aws:iam::aws:policy/Nope does not exist or is not attachable."


def test_managed_policy_data_is_what_the_generator_writes():
    """The committed JSON is exactly what build_managed_policies.py writes from AWS's pages
    and archived GetPolicyVersion answers, and every entry names where it came from."""
    from haneul.services.iam.data import build_managed_policies as build
    with open(build.OUT, encoding="utf-8") as f:
        assert f.read() == build.render()
    data = json.loads(build.render())
    for name, p in data.items():
        assert re.match(r"https://docs\.aws\.amazon\.com/|https://github\.com/zoph-io/MAMIP/blob/[0-9a-f]{40}/policies/"
                        + re.escape(name) + "$", p["Source"]), name
        assert p["Document"]["Version"] == "2012-10-17"
    assert data["AdministratorAccess"]["CreateDate"] == "2015-02-06T18:39:46+00:00"   # v1: its one version's date
    audit = data["SecurityAudit"]
    assert audit["DefaultVersionId"] == "v45" and audit["CreateDate"] is None
    assert audit["UpdateDate"] == "2024-10-30T18:36:49+00:00"
    assert [s["Sid"] for s in audit["Document"]["Statement"]] == ["BaseSecurityAuditStatement", "APIGatewayAccess"]
    assert len(data["ReadOnlyAccess"]["Document"]["Statement"][0]["Action"]) == 1321


def test_aws_managed_policy_without_creation_date(iam):
    """GetPolicyVersion gives a version's date, not the policy's: a policy past v1 read from
    the archive answers without CreateDate but with UpdateDate."""
    read_only = iam.call("get_policy", {"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})["Policy"]
    assert read_only["DefaultVersionId"] == "v87" and read_only["CreateDate"] is None
    assert read_only["UpdateDate"] == dt.datetime(2022, 5, 23, 20, 16, 18, tzinfo=dt.timezone.utc).timestamp()
    basic = iam.call("get_policy", {"PolicyArn": BASIC})["Policy"]
    assert basic["CreateDate"] == dt.datetime(2015, 4, 9, 15, 3, tzinfo=dt.timezone.utc).timestamp()
    assert iam.call("list_policy_versions", {"PolicyArn": BASIC})["Versions"][0]["VersionId"] == "v1"


def test_attachment_quota_and_entities_for_policy(iam):
    role(iam)
    arns = []
    for i in range(11):
        arns.append(iam.call("create_policy", {"PolicyName": f"p{i}", "PolicyDocument": POLICY})["Policy"]["Arn"])
    for arn in arns[:10]:
        iam.call("attach_role_policy", {"RoleName": "r", "PolicyArn": arn})
    assert fails(iam, "attach_role_policy", {"RoleName": "r", "PolicyArn": arns[10]}, "LimitExceededException") == \
        "Cannot exceed quota for PoliciesPerRole: 10"
    iam.call("create_group", {"GroupName": "g"})
    iam.call("create_user", {"UserName": "u", "PermissionsBoundary": arns[0]})
    iam.call("attach_group_policy", {"GroupName": "g", "PolicyArn": arns[0]})
    entities = iam.call("list_entities_for_policy", {"PolicyArn": arns[0]})
    assert entities["PolicyGroups"][0]["GroupName"] == "g" and entities["PolicyRoles"][0]["RoleName"] == "r"
    assert entities["PolicyUsers"][0]["UserName"] == "u"     # as its permissions boundary
    only_roles = iam.call("list_entities_for_policy", {"PolicyArn": arns[0], "EntityFilter": "Role"})
    assert only_roles["PolicyGroups"] == [] and len(only_roles["PolicyRoles"]) == 1
    assert iam.call("get_policy", {"PolicyArn": arns[0]})["Policy"]["PermissionsBoundaryUsageCount"] == 1
    fails(iam, "detach_role_policy", {"RoleName": "r", "PolicyArn": arns[10]}, "NoSuchEntityException")


def test_inline_policies_and_sizes(iam):
    iam.call("create_user", {"UserName": "u"})
    iam.call("put_user_policy", {"UserName": "u", "PolicyName": "a", "PolicyDocument": POLICY})
    got = iam.call("get_user_policy", {"UserName": "u", "PolicyName": "A"})
    assert got["PolicyName"] == "a" and unquote(got["PolicyDocument"]) == POLICY
    assert iam.call("list_user_policies", {"UserName": "u"})["PolicyNames"] == ["a"]
    assert fails(iam, "get_user_policy", {"UserName": "u", "PolicyName": "zz"}, "NoSuchEntityException") == \
        "The user policy with name zz cannot be found."
    principal = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})
    assert fails(iam, "put_user_policy", {"UserName": "u", "PolicyName": "b", "PolicyDocument": principal},
                 "MalformedPolicyDocumentException") == "Policy document should not specify a principal."
    big = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [f"s3:Get{i:03d}" for i in range(200)], "Resource": "*"}]})
    assert fails(iam, "put_user_policy", {"UserName": "u", "PolicyName": "b", "PolicyDocument": big},
                 "LimitExceededException") == "Maximum policy size of 2048 bytes exceeded for user u"
    iam.call("create_group", {"GroupName": "g"})
    iam.call("put_group_policy", {"GroupName": "g", "PolicyName": "gp", "PolicyDocument": POLICY})
    assert iam.call("list_group_policies", {"GroupName": "g"})["PolicyNames"] == ["gp"]
    assert fails(iam, "delete_group", {"GroupName": "g"}, "DeleteConflictException") == \
        "Cannot delete entity, must delete policies first."


def test_permissions_boundaries(iam):
    role(iam)
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    iam.call("put_role_permissions_boundary", {"RoleName": "r", "PermissionsBoundary": admin})
    assert iam.call("get_role", {"RoleName": "r"})["Role"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": admin}
    assert [p["PolicyName"] for p in iam.call("list_policies", {"PolicyUsageFilter": "PermissionsBoundary"})[
        "Policies"]] == ["AdministratorAccess"]
    iam.call("delete_role_permissions_boundary", {"RoleName": "r"})
    assert "PermissionsBoundary" not in iam.call("get_role", {"RoleName": "r"})["Role"]
    fails(iam, "put_role_permissions_boundary",
          {"RoleName": "r", "PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/none"}, "NoSuchEntityException")


def test_service_linked_roles(iam):
    created = iam.call("create_service_linked_role", {"AWSServiceName": "autoscaling.amazonaws.com"})["Role"]
    assert created["RoleName"] == "AWSServiceRoleForAutoScaling"
    assert created["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert fails(iam, "delete_role", {"RoleName": "AWSServiceRoleForAutoScaling"}, "UnmodifiableEntityException")
    fails(iam, "create_service_linked_role", {"AWSServiceName": "autoscaling.amazonaws.com"}, "InvalidInputException")
    task = iam.call("delete_service_linked_role", {"RoleName": "AWSServiceRoleForAutoScaling"})["DeletionTaskId"]
    assert iam.call("get_service_linked_role_deletion_status", {"DeletionTaskId": task})["Status"] == "SUCCEEDED"


def test_account_alias_summary_and_details(iam):
    iam.call("create_account_alias", {"AccountAlias": "my-corp"})
    assert iam.call("list_account_aliases")["AccountAliases"] == ["my-corp"]
    other = Harness(Iam, account="210987654321", store=iam.store)
    fails(other, "create_account_alias", {"AccountAlias": "my-corp"}, "EntityAlreadyExistsException")
    iam.call("delete_account_alias", {"AccountAlias": "my-corp"})
    role(iam)
    iam.call("create_user", {"UserName": "u"})
    iam.call("create_group", {"GroupName": "g"})
    iam.call("add_user_to_group", {"GroupName": "g", "UserName": "u"})
    iam.call("attach_role_policy", {"RoleName": "r", "PolicyArn": BASIC})
    summary = iam.call("get_account_summary")["SummaryMap"]
    assert summary["Users"] == 1 and summary["Roles"] == 1 and summary["Groups"] == 1
    details = iam.call("get_account_authorization_details")
    assert details["UserDetailList"][0]["GroupList"] == ["g"]
    assert details["RoleDetailList"][0]["AttachedManagedPolicies"][0]["PolicyArn"] == BASIC
    assert [p["PolicyName"] for p in details["Policies"]] == ["AWSLambdaBasicExecutionRole"]
    paged = iam.call("get_account_authorization_details", {"MaxItems": 1})
    assert paged["IsTruncated"] and len(paged["UserDetailList"]) == 1
    only = iam.call("get_account_authorization_details", {"Filter": ["Role"]})
    assert only["UserDetailList"] == [] and len(only["RoleDetailList"]) == 1


def test_credential_report(iam):
    fails(iam, "get_credential_report", {}, "CredentialReportNotPresentException")
    iam.call("create_user", {"UserName": "u"})
    iam.call("create_login_profile", {"UserName": "u", "Password": "Passw0rd!x"})
    iam.call("create_access_key", {"UserName": "u"})
    assert iam.call("generate_credential_report")["State"] == "STARTED"
    assert iam.call("generate_credential_report")["State"] == "COMPLETE"
    report = iam.call("get_credential_report")
    assert report["ReportFormat"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
    assert rows[0]["user"] == "<root_account>" and rows[0]["password_enabled"] == "not_supported"
    assert rows[1]["user"] == "u" and rows[1]["password_enabled"] == "true"
    assert rows[1]["password_last_used"] == "no_information" and rows[1]["access_key_1_active"] == "true"
    assert rows[1]["access_key_2_active"] == "false" and rows[1]["cert_1_active"] == "false"
    iam.clock.advance(4 * 3600 + 1)
    fails(iam, "get_credential_report", {}, "CredentialReportExpiredException")


def test_providers_and_server_certificates(iam):
    saml = iam.call("create_saml_provider", {"Name": "idp", "SAMLMetadataDocument": "<EntityDescriptor>" + "x" * 1000})
    arn = saml["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:saml-provider/idp"
    assert iam.call("get_saml_provider", {"SAMLProviderArn": arn})["SAMLMetadataDocument"].startswith("<Entity")
    assert [p["Arn"] for p in iam.call("list_saml_providers")["SAMLProviderList"]] == [arn]
    iam.call("delete_saml_provider", {"SAMLProviderArn": arn})
    oidc = iam.call("create_open_id_connect_provider", {"Url": "https://token.example.com/x",
                                                        "ClientIDList": ["sts.amazonaws.com"],
                                                        "ThumbprintList": ["a" * 40]})["OpenIDConnectProviderArn"]
    assert oidc == f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.example.com/x"
    iam.call("add_client_id_to_open_id_connect_provider", {"OpenIDConnectProviderArn": oidc, "ClientID": "c2"})
    got = iam.call("get_open_id_connect_provider", {"OpenIDConnectProviderArn": oidc})
    assert got["Url"] == "token.example.com/x" and got["ClientIDList"] == ["sts.amazonaws.com", "c2"]
    fails(iam, "create_open_id_connect_provider", {"Url": "https://token.example.com/x"},
          "EntityAlreadyExistsException")
    fails(iam, "upload_server_certificate", {"ServerCertificateName": "c", "CertificateBody": "nope",
                                             "PrivateKey": "k"}, "MalformedCertificateException")


def test_outbound_federation_feeds_sts(iam):
    assert sts_lookups.outbound_federation(iam.store.conn, ACCOUNT) is None
    fails(iam, "get_outbound_web_identity_federation_info", {}, "FeatureDisabledException")
    issuer = iam.call("enable_outbound_web_identity_federation")["IssuerIdentifier"]
    assert sts_lookups.outbound_federation(iam.store.conn, ACCOUNT) == {"enabled": True, "issuer": issuer}
    iam.call("disable_outbound_web_identity_federation")
    assert sts_lookups.outbound_federation(iam.store.conn, ACCOUNT)["enabled"] is False


def test_context_keys(iam):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                                                              "Condition": {"StringEquals": {"aws:RequestTag/x": "y"},
                                                                            "Bool": {"aws:SecureTransport": "true"}}}]})
    assert iam.call("get_context_keys_for_custom_policy", {"PolicyInputList": [doc]})["ContextKeyNames"] == [
        "aws:RequestTag/x", "aws:SecureTransport"]
