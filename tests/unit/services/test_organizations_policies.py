"""Organizations policies: records, attachment, policy types, the AWS managed SCP, the
effective policies and the SCP levels an enforcement engine reads."""

import json
import re

import pytest

from haneul.errors import AwsError
from haneul.services.organizations.effective import organization_of, rcps_for_account, scps_for_account
from haneul.services.organizations.service import Organizations
from tests.unit.services.helpers import Harness

MGMT = "111111111111"
SCP = "SERVICE_CONTROL_POLICY"
DENY_S3 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})
FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@pytest.fixture
def h():
    h = Harness(Organizations, account=MGMT)
    h.call("create_organization", {"FeatureSet": "ALL"})
    return h


def err(h, method, request=None, **kw) -> AwsError:
    with pytest.raises(AwsError) as e:
        h.call(method, request or {}, **kw)
    return e.value


def root(h):
    return h.call("list_roots")["Roots"][0]["Id"]


def enable(h, kind=SCP):
    return h.call("enable_policy_type", {"RootId": root(h), "PolicyType": kind})["Root"]


def policy(h, name="deny-s3", content=DENY_S3, kind=SCP, **extra):
    return h.call("create_policy", {"Name": name, "Description": "d", "Type": kind, "Content": content,
                                    **extra})["Policy"]["PolicySummary"]["Id"]


def account(h, name="dev"):
    car = h.call("create_account", {"AccountName": name, "Email": f"{name}@example.org"})["CreateAccountStatus"]["Id"]
    return h.call("describe_create_account_status", {"CreateAccountRequestId": car})["CreateAccountStatus"]["AccountId"]


def ou(h, parent, name):
    return h.call("create_organizational_unit", {"ParentId": parent, "Name": name})["OrganizationalUnit"]["Id"]


def ids_for(h, target, kind=SCP):
    return [p["Id"] for p in h.call("list_policies_for_target", {"TargetId": target, "Filter": kind})["Policies"]]


def test_create_describe_update_delete(h):
    org = h.call("describe_organization")["Organization"]["Id"]
    pid = policy(h, Tags=[{"Key": "team", "Value": "sec"}])
    assert re.fullmatch(r"p-[a-z0-9]{8}", pid)
    got = h.call("describe_policy", {"PolicyId": pid})["Policy"]
    assert got["Content"] == DENY_S3
    assert got["PolicySummary"] == {"Id": pid, "Arn": f"arn:aws:organizations::{MGMT}:policy/{org}/service_control_policy/{pid}",
                                    "Name": "deny-s3", "Description": "d", "Type": SCP, "AwsManaged": False}
    assert err(h, "create_policy", {"Name": "deny-s3", "Description": "", "Type": SCP, "Content": DENY_S3}).code == \
        "DuplicatePolicyException"
    updated = h.call("update_policy", {"PolicyId": pid, "Name": "renamed", "Description": "new"})["Policy"]
    assert (updated["PolicySummary"]["Name"], updated["PolicySummary"]["Description"], updated["Content"]) == \
        ("renamed", "new", DENY_S3)
    assert h.call("list_tags_for_resource", {"ResourceId": pid})["Tags"] == [{"Key": "team", "Value": "sec"}]
    names = [p["Name"] for p in h.call("list_policies", {"Filter": SCP})["Policies"]]
    assert names == ["FullAWSAccess", "renamed"]
    h.call("delete_policy", {"PolicyId": pid})
    e = err(h, "describe_policy", {"PolicyId": pid})
    assert (e.code, e.message) == ("PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.")


def test_full_aws_access_is_managed_and_attached_everywhere(h):
    a = ou(h, root(h), "A")
    acct = account(h)
    managed = h.call("describe_policy", {"PolicyId": "p-FullAWSAccess"})["Policy"]
    assert managed["PolicySummary"]["AwsManaged"] is True
    assert managed["PolicySummary"]["Arn"] == "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
    assert json.loads(managed["Content"]) == FULL
    assert ids_for(h, acct) == []
    out = enable(h)
    assert out["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    assert err(h, "enable_policy_type", {"RootId": root(h), "PolicyType": SCP}).code == "PolicyTypeAlreadyEnabledException"
    for target in (root(h), a, acct, MGMT):
        assert ids_for(h, target) == ["p-FullAWSAccess"]
    # new OUs and accounts get it too
    b = ou(h, a, "B")
    assert ids_for(h, b) == ["p-FullAWSAccess"] and ids_for(h, account(h, "late")) == ["p-FullAWSAccess"]
    assert err(h, "update_policy", {"PolicyId": "p-FullAWSAccess", "Name": "x"}).fields["Reason"] == "IMMUTABLE_POLICY"
    assert err(h, "delete_policy", {"PolicyId": "p-FullAWSAccess"}).fields["Reason"] == "IMMUTABLE_POLICY"


def test_attach_detach_rules(h):
    pid = policy(h)
    acct = account(h)
    assert err(h, "attach_policy", {"PolicyId": pid, "TargetId": acct}).code == "PolicyTypeNotEnabledException"
    enable(h)
    h.call("attach_policy", {"PolicyId": pid, "TargetId": acct})
    assert ids_for(h, acct) == ["p-FullAWSAccess", pid]
    e = err(h, "attach_policy", {"PolicyId": pid, "TargetId": acct})
    assert e.code == "DuplicatePolicyAttachmentException"
    assert err(h, "attach_policy", {"PolicyId": pid, "TargetId": "999999999999"}).code == "TargetNotFoundException"
    assert err(h, "attach_policy", {"PolicyId": "p-zzzzzzzz", "TargetId": acct}).code == "PolicyNotFoundException"
    assert err(h, "delete_policy", {"PolicyId": pid}).code == "PolicyInUseException"
    h.call("detach_policy", {"PolicyId": "p-FullAWSAccess", "TargetId": acct})
    e = err(h, "detach_policy", {"PolicyId": pid, "TargetId": acct})
    assert (e.code, e.fields["Reason"]) == ("ConstraintViolationException", "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    assert err(h, "detach_policy", {"PolicyId": "p-FullAWSAccess", "TargetId": acct}).code == "PolicyNotAttachedException"
    for i in range(4):
        h.call("attach_policy", {"PolicyId": policy(h, f"p{i}"), "TargetId": acct})
    e = err(h, "attach_policy", {"PolicyId": policy(h, "sixth"), "TargetId": acct})
    assert e.fields["Reason"] == "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"


def test_tree_with_scps_at_every_level(h):
    r = root(h)
    enable(h)
    a = ou(h, r, "A")
    b = ou(h, a, "B")
    acct = account(h)
    h.call("move_account", {"AccountId": acct, "SourceParentId": r, "DestinationParentId": b})
    p_root, p_a, p_b, p_acct = (policy(h, n, json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": f"{svc}:*", "Resource": "*"}]})) for n, svc in
        [("root", "ec2"), ("a", "s3"), ("b", "sqs"), ("acct", "sns")])
    for pid, target in ((p_root, r), (p_a, a), (p_b, b), (p_acct, acct)):
        h.call("attach_policy", {"PolicyId": pid, "TargetId": target})
    h.call("attach_policy", {"PolicyId": p_a, "TargetId": b})
    assert ids_for(h, b) == ["p-FullAWSAccess", p_b, p_a]
    targets = h.call("list_targets_for_policy", {"PolicyId": p_a})["Targets"]
    assert [(t["TargetId"], t["Type"], t["Name"]) for t in targets] == [(a, "ORGANIZATIONAL_UNIT", "A"),
                                                                         (b, "ORGANIZATIONAL_UNIT", "B")]
    full = h.call("list_targets_for_policy", {"PolicyId": "p-FullAWSAccess"})["Targets"]
    assert {t["Type"] for t in full} == {"ROOT", "ORGANIZATIONAL_UNIT", "ACCOUNT"}
    levels = scps_for_account(h.store.conn, acct)
    assert [[st["Statement"][0]["Action"] for st in level] for level in levels] == [
        ["*", "ec2:*"], ["*", "s3:*"], ["*", "sqs:*", "s3:*"], ["*", "sns:*"]]
    assert scps_for_account(h.store.conn, MGMT) == []          # SCPs never bind the management account
    assert scps_for_account(h.store.conn, "999999999999") == []
    org = organization_of(h.store.conn, acct)
    assert org["Path"] == f"{org['OrgId']}/{r}/{a}/{b}/" and org["ManagementAccount"] == MGMT
    assert rcps_for_account(h.store.conn, acct) == []
    h.call("disable_policy_type", {"RootId": r, "PolicyType": SCP})
    assert scps_for_account(h.store.conn, acct) == [] and ids_for(h, b) == []
    assert err(h, "disable_policy_type", {"RootId": r, "PolicyType": SCP}).code == "PolicyTypeNotEnabledException"
    assert err(h, "enable_policy_type", {"RootId": "r-zzzz", "PolicyType": SCP}).code == "RootNotFoundException"


def test_resource_control_policies(h):
    acct = account(h)
    enable(h, "RESOURCE_CONTROL_POLICY")
    assert ids_for(h, acct, "RESOURCE_CONTROL_POLICY") == ["p-RCPFullAWSAccess"]
    rcp = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                              "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    pid = policy(h, "rcp", rcp, "RESOURCE_CONTROL_POLICY")
    h.call("attach_policy", {"PolicyId": pid, "TargetId": acct})
    assert err(h, "detach_policy", {"PolicyId": "p-RCPFullAWSAccess", "TargetId": acct}).fields["Reason"] == \
        "NON_DETACHABLE_POLICY"
    assert [len(level) for level in rcps_for_account(h.store.conn, acct)] == [1, 2]


def test_effective_tag_policy(h):
    r = root(h)
    a = ou(h, r, "A")
    acct = account(h)
    h.call("move_account", {"AccountId": acct, "SourceParentId": r, "DestinationParentId": a})
    assert err(h, "describe_effective_policy", {"PolicyType": "TAG_POLICY", "TargetId": acct}).code == \
        "EffectivePolicyNotFoundException"
    enable(h, "TAG_POLICY")
    parent = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"},
                                      "tag_value": {"@@assign": ["100", "200"]},
                                      "enforced_for": {"@@assign": ["secretsmanager:*"]}}}}
    child = {"tags": {"costcenter": {"tag_value": {"@@append": ["300"]}},
                      "project": {"tag_key": {"@@assign": "Project"}}}}
    h.call("attach_policy", {"PolicyId": policy(h, "parent", json.dumps(parent), "TAG_POLICY"), "TargetId": r})
    h.call("attach_policy", {"PolicyId": policy(h, "child", json.dumps(child), "TAG_POLICY"), "TargetId": a})
    eff = h.call("describe_effective_policy", {"PolicyType": "TAG_POLICY", "TargetId": acct})["EffectivePolicy"]
    assert eff["TargetId"] == acct and eff["PolicyType"] == "TAG_POLICY"
    assert json.loads(eff["PolicyContent"]) == {"tags": {
        "costcenter": {"tag_key": "CostCenter", "tag_value": ["100", "200", "300"], "enforced_for": ["secretsmanager:*"]},
        "project": {"tag_key": "Project"}}}
    # the member account may read its own effective policy
    mine = h.call("describe_effective_policy", {"PolicyType": "TAG_POLICY"}, account=acct)["EffectivePolicy"]
    assert mine["TargetId"] == acct
    assert err(h, "describe_effective_policy", {"PolicyType": "TAG_POLICY", "TargetId": r}).fields["Reason"] == \
        "TARGET_NOT_SUPPORTED"
    out = h.call("list_effective_policy_validation_errors", {"AccountId": acct, "PolicyType": "TAG_POLICY"})
    assert out["EffectivePolicyValidationErrors"] == [] and out["Path"].endswith(f"/{a}/{acct}/")
    assert h.call("list_accounts_with_invalid_effective_policy", {"PolicyType": "TAG_POLICY"})["Accounts"] == []


def test_policy_pagination_and_filters(h):
    made = [policy(h, f"p{i:02d}") for i in range(23)]
    pages, token = [], None
    while True:
        out = h.call("list_policies", {"Filter": SCP, "MaxResults": 10, **({"NextToken": token} if token else {})})
        pages.append(len(out["Policies"]))
        token = out.get("NextToken")
        if not token:
            break
    assert pages == [10, 10, 4]
    assert h.call("list_policies", {"Filter": "TAG_POLICY"})["Policies"] == []
    assert len(made) == 23


def test_effective_reads_need_no_organizations_tables():
    import sqlite3
    conn = sqlite3.connect(":memory:")
    assert scps_for_account(conn, MGMT) == [] and organization_of(conn, MGMT) is None
    assert conn.row_factory is None


def test_effective_reads_on_a_plain_connection(h):
    import sqlite3
    enable(h)
    acct = account(h)
    conn = h.store.conn
    conn.row_factory = None
    try:
        assert scps_for_account(conn, acct) == [[FULL], [FULL]]
        assert conn.row_factory is None
    finally:
        conn.row_factory = sqlite3.Row
