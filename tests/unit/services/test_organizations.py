"""Organizations: the organization, accounts, the OU tree, access rules, tags."""

import json
import re
from urllib.parse import unquote

import pytest

from haneul.errors import AwsError
from haneul.services.organizations.service import Organizations
from tests.unit.services.helpers import Harness

MGMT, OTHER, OUTSIDER = "111111111111", "222222222222", "333333333333"


@pytest.fixture
def h():
    return Harness(Organizations, account=MGMT)


def err(h, method, request=None, **kw) -> AwsError:
    with pytest.raises(AwsError) as e:
        h.call(method, request or {}, **kw)
    return e.value


@pytest.fixture
def org(h):
    return h.call("create_organization", {"FeatureSet": "ALL"})["Organization"]


def root_id(h):
    return h.call("list_roots")["Roots"][0]["Id"]


def create_account(h, name="dev", email=None):
    status = h.call("create_account", {"AccountName": name, "Email": email or f"{name}@example.org"})
    status = h.call("describe_create_account_status",
                    {"CreateAccountRequestId": status["CreateAccountStatus"]["Id"]})["CreateAccountStatus"]
    return status["AccountId"]


def test_create_organization_shapes(h, org):
    assert re.fullmatch(r"o-[a-z0-9]{10}", org["Id"])
    assert org["Arn"] == f"arn:aws:organizations::{MGMT}:organization/{org['Id']}"
    assert org["MasterAccountId"] == MGMT and org["FeatureSet"] == "ALL"
    assert org["MasterAccountArn"] == f"arn:aws:organizations::{MGMT}:account/{org['Id']}/{MGMT}"
    assert org["AvailablePolicyTypes"] == [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]
    root = h.call("list_roots")["Roots"][0]
    assert re.fullmatch(r"r-[a-z0-9]{4}", root["Id"]) and root["Name"] == "Root" and root["PolicyTypes"] == []
    assert root["Arn"] == f"arn:aws:organizations::{MGMT}:root/{org['Id']}/{root['Id']}"
    accounts = h.call("list_accounts")["Accounts"]
    assert [a["Id"] for a in accounts] == [MGMT]
    assert accounts[0]["JoinedMethod"] == "CREATED" and accounts[0]["Status"] == "ACTIVE"
    assert h.call("describe_organization")["Organization"]["Id"] == org["Id"]


def test_consolidated_billing_has_no_policy_types(h):
    org = h.call("create_organization", {"FeatureSet": "CONSOLIDATED_BILLING"})["Organization"]
    assert org["AvailablePolicyTypes"] == []
    e = err(h, "enable_policy_type", {"RootId": root_id(h), "PolicyType": "SERVICE_CONTROL_POLICY"})
    assert e.code == "PolicyTypeNotAvailableForOrganizationException"
    e = err(h, "create_policy", {"Name": "x", "Type": "SERVICE_CONTROL_POLICY", "Description": "",
                                 "Content": '{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*"}}'})
    assert e.code == "PolicyTypeNotAvailableForOrganizationException"


def test_not_in_use_and_already_in(h, org):
    assert err(h, "describe_organization", account=OUTSIDER).code == "AWSOrganizationsNotInUseException"
    assert err(h, "list_accounts", account=OUTSIDER).message == "Your account is not a member of an organization."
    assert err(h, "create_organization", {}).code == "AlreadyInOrganizationException"


def test_create_account_is_asynchronous_and_usable(h, org):
    out = h.call("create_account", {"AccountName": "prod", "Email": "prod@example.org",
                                    "Tags": [{"Key": "env", "Value": "prod"}]})["CreateAccountStatus"]
    assert out["State"] == "IN_PROGRESS" and "AccountId" not in out
    assert re.fullmatch(r"car-[a-z0-9]{32}", out["Id"])
    listed = h.call("list_create_account_status", {"States": ["IN_PROGRESS"]})["CreateAccountStatuses"]
    assert [s["Id"] for s in listed] == [out["Id"]]
    h.clock.advance(5)
    done = h.call("list_create_account_status", {"States": ["SUCCEEDED"]})["CreateAccountStatuses"]
    assert done[0]["State"] == "SUCCEEDED" and re.fullmatch(r"[1-9]\d{11}", done[0]["AccountId"])
    account = done[0]["AccountId"]
    described = h.call("describe_account", {"AccountId": account})["Account"]
    assert described["Name"] == "prod" and described["Email"] == "prod@example.org"
    assert described["JoinedMethod"] == "CREATED"
    assert described["Arn"] == f"arn:aws:organizations::{MGMT}:account/{org['Id']}/{account}"
    assert described["Paths"] == [f"{org['Id']}/{root_id(h)}/{account}/"]
    assert h.call("list_tags_for_resource", {"ResourceId": account})["Tags"] == [{"Key": "env", "Value": "prod"}]
    # the new account can act at once: it is a member
    assert h.call("describe_organization", account=account)["Organization"]["Id"] == org["Id"]


def test_next_describe_completes_the_request(h, org):
    car = h.call("create_account", {"AccountName": "a", "Email": "a@example.org"})["CreateAccountStatus"]["Id"]
    status = h.call("describe_create_account_status", {"CreateAccountRequestId": car})["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED" and "CompletedTimestamp" in status
    e = err(h, "describe_create_account_status", {"CreateAccountRequestId": "car-" + "0" * 32})
    assert e.code == "CreateAccountStatusNotFoundException"


def test_duplicate_email_fails_the_request(h, org):
    create_account(h, "a", "same@example.org")
    car = h.call("create_account", {"AccountName": "b", "Email": "same@example.org"})["CreateAccountStatus"]["Id"]
    status = h.call("describe_create_account_status", {"CreateAccountRequestId": car})["CreateAccountStatus"]
    assert status["State"] == "FAILED" and status["FailureReason"] == "EMAIL_ALREADY_EXISTS"
    assert len(h.call("list_accounts")["Accounts"]) == 2


def test_govcloud_account_pair(h, org):
    car = h.call("create_gov_cloud_account", {"AccountName": "g", "Email": "g@example.org"})["CreateAccountStatus"]
    status = h.call("describe_create_account_status", {"CreateAccountRequestId": car["Id"]})["CreateAccountStatus"]
    assert status["AccountId"] != status["GovCloudAccountId"]


def test_member_gets_access_denied(h, org):
    member = create_account(h)
    for method, request in [("list_accounts", {}), ("create_organizational_unit", {"ParentId": root_id(h), "Name": "x"}),
                            ("describe_account", {"AccountId": MGMT}), ("list_roots", {}),
                            ("delete_organization", {})]:
        e = err(h, method, request, account=member)
        assert (e.code, e.message) == ("AccessDeniedException", "You don't have permissions to access this resource.")
    assert h.call("describe_organization", account=member)["Organization"]["MasterAccountId"] == MGMT


def test_delegated_administrator_reads(h, org):
    member = create_account(h)
    h.call("register_delegated_administrator", {"AccountId": member, "ServicePrincipal": "guardduty.amazonaws.com"})
    assert len(h.call("list_accounts", account=member)["Accounts"]) == 2
    assert err(h, "create_organizational_unit", {"ParentId": root_id(h), "Name": "x"},
               account=member).code == "AccessDeniedException"
    admins = h.call("list_delegated_administrators")["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == [member] and "DelegationEnabledDate" in admins[0]
    services = h.call("list_delegated_services_for_account", {"AccountId": member})["DelegatedServices"]
    assert [s["ServicePrincipal"] for s in services] == ["guardduty.amazonaws.com"]
    assert err(h, "register_delegated_administrator", {"AccountId": member, "ServicePrincipal":
               "guardduty.amazonaws.com"}).code == "AccountAlreadyRegisteredException"
    e = err(h, "register_delegated_administrator", {"AccountId": MGMT, "ServicePrincipal": "guardduty.amazonaws.com"})
    assert (e.code, e.fields["Reason"]) == ("ConstraintViolationException",
                                            "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR")
    e = err(h, "register_delegated_administrator", {"AccountId": member, "ServicePrincipal": "nope"})
    assert (e.code, e.fields["Reason"]) == ("InvalidInputException", "UNRECOGNIZED_SERVICE_PRINCIPAL")
    assert err(h, "remove_account_from_organization", {"AccountId": member}).fields["Reason"] == \
        "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG"
    h.call("deregister_delegated_administrator", {"AccountId": member, "ServicePrincipal": "guardduty.amazonaws.com"})
    assert err(h, "list_delegated_services_for_account", {"AccountId": member}).code == "AccountNotRegisteredException"
    assert err(h, "deregister_delegated_administrator", {"AccountId": member, "ServicePrincipal":
               "guardduty.amazonaws.com"}).code == "AccountNotRegisteredException"
    assert err(h, "list_accounts", account=member).code == "AccessDeniedException"


def test_resource_policy_delegates_operations(h, org):
    member = create_account(h)
    doc = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},'
           '"Action":["organizations:Describe*","organizations:List*","organizations:CreatePolicy"],'
           '"Resource":"*"}]}' % member)
    out = h.call("put_resource_policy", {"Content": doc})["ResourcePolicy"]
    assert re.fullmatch(r"rp-[a-z0-9]{8}", out["ResourcePolicySummary"]["Id"])
    assert out["ResourcePolicySummary"]["Arn"].startswith(f"arn:aws:organizations::{MGMT}:resourcepolicy/{org['Id']}/rp-")
    assert h.call("list_roots", account=member, operation="ListRoots")["Roots"]
    assert err(h, "create_organizational_unit", {"ParentId": root_id(h), "Name": "x"}, account=member,
               operation="CreateOrganizationalUnit").code == "AccessDeniedException"
    assert h.call("describe_resource_policy", account=member)["ResourcePolicy"]["Content"] == doc
    assert err(h, "put_resource_policy", {"Content": "nope"}).fields["Reason"] == "INVALID_RESOURCE_POLICY_JSON"
    bad = '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*"}]}'
    assert err(h, "put_resource_policy", {"Content": bad}).fields["Reason"] == "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY"
    h.call("delete_resource_policy")
    assert err(h, "describe_resource_policy").code == "ResourcePolicyNotFoundException"
    assert err(h, "delete_resource_policy").code == "ResourcePolicyNotFoundException"


def test_ou_tree(h, org):
    root = root_id(h)
    a = h.call("create_organizational_unit", {"ParentId": root, "Name": "A",
                                               "Tags": [{"Key": "k", "Value": "v"}]})["OrganizationalUnit"]
    assert re.fullmatch(rf"ou-{root[2:]}-[a-z0-9]{{8}}", a["Id"])
    assert a["Arn"] == f"arn:aws:organizations::{MGMT}:ou/{org['Id']}/{a['Id']}"
    assert a["Path"] == f"{org['Id']}/{root}/{a['Id']}/"
    b = h.call("create_organizational_unit", {"ParentId": a["Id"], "Name": "B"})["OrganizationalUnit"]
    assert err(h, "create_organizational_unit", {"ParentId": root, "Name": "A"}).code == \
        "DuplicateOrganizationalUnitException"
    assert err(h, "create_organizational_unit", {"ParentId": "ou-zzzz-zzzzzzzz", "Name": "Q"}).code == \
        "ParentNotFoundException"
    assert [o["Id"] for o in h.call("list_organizational_units_for_parent", {"ParentId": root})["OrganizationalUnits"]] == [a["Id"]]
    assert h.call("list_children", {"ParentId": a["Id"], "ChildType": "ORGANIZATIONAL_UNIT"})["Children"] == \
        [{"Id": b["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    assert h.call("list_parents", {"ChildId": b["Id"]})["Parents"] == [{"Id": a["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    assert h.call("list_parents", {"ChildId": a["Id"]})["Parents"] == [{"Id": root, "Type": "ROOT"}]
    assert err(h, "list_parents", {"ChildId": "444444444444"}).code == "ChildNotFoundException"
    account = create_account(h)
    h.call("move_account", {"AccountId": account, "SourceParentId": root, "DestinationParentId": b["Id"]})
    assert [x["Id"] for x in h.call("list_accounts_for_parent", {"ParentId": b["Id"]})["Accounts"]] == [account]
    assert h.call("describe_account", {"AccountId": account})["Account"]["Paths"] == \
        [f"{org['Id']}/{root}/{a['Id']}/{b['Id']}/{account}/"]
    assert err(h, "move_account", {"AccountId": account, "SourceParentId": root, "DestinationParentId": b["Id"]}).code \
        == "DuplicateAccountException"
    assert err(h, "move_account", {"AccountId": account, "SourceParentId": root, "DestinationParentId": a["Id"]}).code \
        == "SourceParentNotFoundException"
    assert err(h, "move_account", {"AccountId": account, "SourceParentId": b["Id"],
                                   "DestinationParentId": "ou-zzzz-zzzzzzzz"}).code == "DestinationParentNotFoundException"
    assert err(h, "delete_organizational_unit", {"OrganizationalUnitId": a["Id"]}).code == \
        "OrganizationalUnitNotEmptyException"
    renamed = h.call("update_organizational_unit", {"OrganizationalUnitId": b["Id"], "Name": "B2"})
    assert renamed["OrganizationalUnit"]["Name"] == "B2"
    h.call("move_account", {"AccountId": account, "SourceParentId": b["Id"], "DestinationParentId": root})
    h.call("delete_organizational_unit", {"OrganizationalUnitId": b["Id"]})
    assert err(h, "describe_organizational_unit", {"OrganizationalUnitId": b["Id"]}).code == \
        "OrganizationalUnitNotFoundException"


def test_ou_depth_limit(h, org):
    parent = root_id(h)
    for i in range(5):
        parent = h.call("create_organizational_unit", {"ParentId": parent, "Name": f"L{i}"})["OrganizationalUnit"]["Id"]
    e = err(h, "create_organizational_unit", {"ParentId": parent, "Name": "deep"})
    assert e.fields["Reason"] == "OU_DEPTH_LIMIT_EXCEEDED"


def test_pagination(h, org):
    root = root_id(h)
    made = [h.call("create_organizational_unit", {"ParentId": root, "Name": f"ou{i:02d}"})["OrganizationalUnit"]["Id"]
            for i in range(25)]
    first = h.call("list_organizational_units_for_parent", {"ParentId": root})
    assert len(first["OrganizationalUnits"]) == 20 and first["NextToken"]
    rest = h.call("list_organizational_units_for_parent", {"ParentId": root, "NextToken": first["NextToken"]})
    assert "NextToken" not in rest
    assert [o["Id"] for o in first["OrganizationalUnits"] + rest["OrganizationalUnits"]] == made
    seen, token = [], None
    while True:
        out = h.call("list_children", {"ParentId": root, "ChildType": "ORGANIZATIONAL_UNIT", "MaxResults": 7,
                                       **({"NextToken": token} if token else {})})
        seen += [c["Id"] for c in out["Children"]]
        token = out.get("NextToken")
        if not token:
            break
    assert seen == made
    assert err(h, "list_accounts", {"NextToken": "garbage"}).fields["Reason"] == "INVALID_NEXT_TOKEN"


def test_remove_leave_close_delete(h, org):
    a, b, c = create_account(h, "a"), create_account(h, "b"), create_account(h, "c")
    e = err(h, "remove_account_from_organization", {"AccountId": MGMT})
    assert e.code == "MasterCannotLeaveOrganizationException"
    assert err(h, "leave_organization").code == "MasterCannotLeaveOrganizationException"
    h.call("remove_account_from_organization", {"AccountId": a})
    assert err(h, "describe_account", {"AccountId": a}).code == "AccountNotFoundException"
    assert err(h, "describe_organization", account=a).code == "AWSOrganizationsNotInUseException"
    h.call("leave_organization", account=b)
    assert err(h, "leave_organization", account=b).code == "AWSOrganizationsNotInUseException"
    h.call("close_account", {"AccountId": c})
    acct = h.call("describe_account", {"AccountId": c})["Account"]
    assert (acct["Status"], acct["State"]) == ("PENDING_CLOSURE", "PENDING_CLOSURE")
    h.clock.advance(10)
    acct = h.call("describe_account", {"AccountId": c})["Account"]
    assert (acct["Status"], acct["State"]) == ("SUSPENDED", "CLOSED")
    assert err(h, "close_account", {"AccountId": c}).code == "AccountAlreadyClosedException"
    assert err(h, "close_account", {"AccountId": MGMT}).fields["Reason"] == "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"
    assert err(h, "delete_organization").code == "OrganizationNotEmptyException"
    h.call("remove_account_from_organization", {"AccountId": c})
    h.call("delete_organization")
    assert err(h, "describe_organization").code == "AWSOrganizationsNotInUseException"
    # a removed account may found its own organization
    assert h.call("create_organization", {}, account=a)["Organization"]["MasterAccountId"] == a


def test_tags(h, org):
    root = root_id(h)
    ou = h.call("create_organizational_unit", {"ParentId": root, "Name": "t"})["OrganizationalUnit"]["Id"]
    for resource in (root, ou, MGMT):
        h.call("tag_resource", {"ResourceId": resource, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]})
        h.call("untag_resource", {"ResourceId": resource, "TagKeys": ["a"]})
        assert h.call("list_tags_for_resource", {"ResourceId": resource})["Tags"] == [{"Key": "b", "Value": "2"}]
    assert err(h, "tag_resource", {"ResourceId": "ou-zzzz-zzzzzzzz", "Tags": []}).code == "TargetNotFoundException"
    assert err(h, "tag_resource", {"ResourceId": "p-FullAWSAccess", "Tags": []}).code == "TargetNotFoundException"
    e = err(h, "tag_resource", {"ResourceId": root, "Tags": [{"Key": "x", "Value": "1"}, {"Key": "x", "Value": "2"}]})
    assert e.fields["Reason"] == "DUPLICATE_TAG_KEY"
    e = err(h, "tag_resource", {"ResourceId": root, "Tags": [{"Key": f"k{i}", "Value": ""} for i in range(50)]})
    assert e.fields["Reason"] == "MAX_TAG_LIMIT_EXCEEDED"


def test_service_access(h, org):
    h.call("enable_aws_service_access", {"ServicePrincipal": "cloudtrail.amazonaws.com"})
    h.call("enable_aws_service_access", {"ServicePrincipal": "cloudtrail.amazonaws.com"})
    h.call("enable_aws_service_access", {"ServicePrincipal": "config.amazonaws.com"})
    listed = h.call("list_aws_service_access_for_organization")["EnabledServicePrincipals"]
    assert [s["ServicePrincipal"] for s in listed] == ["cloudtrail.amazonaws.com", "config.amazonaws.com"]
    h.call("disable_aws_service_access", {"ServicePrincipal": "cloudtrail.amazonaws.com"})
    assert len(h.call("list_aws_service_access_for_organization")["EnabledServicePrincipals"]) == 1
    assert err(h, "enable_aws_service_access", {"ServicePrincipal": "bogus"}).fields["Reason"] == \
        "UNRECOGNIZED_SERVICE_PRINCIPAL"


def test_global_across_regions(h, org):
    assert h.call("describe_organization", region="eu-west-1")["Organization"]["Id"] == org["Id"]
    ou = h.call("create_organizational_unit", {"ParentId": root_id(h), "Name": "x"}, region="ap-south-1")
    listed = h.call("list_organizational_units_for_parent", {"ParentId": root_id(h)}, region="us-west-2")
    assert [o["Id"] for o in listed["OrganizationalUnits"]] == [ou["OrganizationalUnit"]["Id"]]


@pytest.mark.parametrize("operation, request_, reason", [
    ("DescribePolicy", {"PolicyId": "nope"}, "INVALID_SYNTAX_POLICY_ID"),
    ("AttachPolicy", {"PolicyId": "p-FullAWSAccess", "TargetId": "bad"}, "INVALID_PATTERN_TARGET_ID"),
    ("DescribeAccount", {"AccountId": "12"}, "INVALID_PATTERN"),
    ("DescribeAccount", {}, "INPUT_REQUIRED"),
    ("ListPolicies", {"Filter": "NOPE"}, "INVALID_ENUM_POLICY_TYPE"),
    ("ListAccounts", {"MaxResults": 0}, "MIN_VALUE_EXCEEDED"),
    ("ListAccounts", {"MaxResults": 21}, "MAX_VALUE_EXCEEDED"),
    ("CreateOrganizationalUnit", {"ParentId": "r-abcd", "Name": ""}, "MIN_LENGTH_EXCEEDED"),
    ("CreateOrganizationalUnit", {"ParentId": "r-abcd", "Name": "x" * 200}, "MAX_LENGTH_EXCEEDED"),
])
def test_model_constraint_failures_carry_a_reason(operation, request_, reason):
    """The dispatcher's validation_error hook: InvalidInputException with the Reason the
    API reference gives for the constraint, and the usual validation message."""
    from haneul.protocol import validate
    from haneul.protocol.shapes import service_spec
    problems = validate.validate(service_spec("organizations").operation(operation).input, request_)
    assert problems
    e = Organizations().validation_error(problems, validate.message(problems))
    assert (e.code, e.fields["Reason"]) == ("InvalidInputException", reason)
    assert str(e).startswith("InvalidInputException: 1 validation error detected")


def test_created_account_has_the_access_role(h, org):
    """CreateAccount makes OrganizationAccountAccessRole in the new account, in the same
    transaction, trusting the management account, with AdministratorAccess attached; the
    IAM tables are created on the way when IAM was never called in this store."""
    from haneul.services.iam.service import Iam
    account = create_account(h)
    iam = Harness(Iam, account=account, store=h.store)
    role = iam.call("get_role", {"RoleName": "OrganizationAccountAccessRole"})["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    trust = json.loads(unquote(role["AssumeRolePolicyDocument"]))
    assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MGMT}:root"},
                                   "Action": "sts:AssumeRole"}]
    attached = iam.call("list_attached_role_policies", {"RoleName": "OrganizationAccountAccessRole"})
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    named = h.call("create_account", {"AccountName": "ops", "Email": "ops@example.org", "RoleName": "Admin"})
    status = h.call("describe_create_account_status",
                    {"CreateAccountRequestId": named["CreateAccountStatus"]["Id"]})["CreateAccountStatus"]
    other = Harness(Iam, account=status["AccountId"], store=h.store)
    assert other.call("get_role", {"RoleName": "Admin"})["Role"]["RoleName"] == "Admin"
    assert other.call("list_roles")["Roles"][0]["RoleName"] == "Admin"


def test_access_role_provisioning_is_checked():
    from haneul.services.iam import provision
    from haneul.store import Store
    store = Store(None)
    with store.transaction() as db:
        with pytest.raises(AwsError) as e:
            provision.create_role(db, OTHER, "r", "{not json", [], 1.0)
        assert e.value.code == "MalformedPolicyDocumentException"
        with pytest.raises(AwsError) as e:
            provision.create_role(db, OTHER, "r", ACCESS_TRUST, ["arn:aws:iam::aws:policy/Nope"], 1.0)
        assert e.value.code == "NoSuchEntityException"
        provision.create_role(db, OTHER, "r", ACCESS_TRUST, [], 1.0)
        with pytest.raises(AwsError) as e:
            provision.create_role(db, OTHER, "R", ACCESS_TRUST, [], 1.0)
        assert e.value.code == "EntityAlreadyExistsException"


ACCESS_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MGMT}:root"}, "Action": "sts:AssumeRole"}]}
