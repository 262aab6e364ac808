"""IAM pagination (Marker / IsTruncated / MaxItems, 100 by default) and tags on every
taggable IAM resource, through boto3."""

import json

import pytest

from tests.e2e.test_iam import BASIC, TRUST, error
from tests.unit.services.test_iam_certificates_identity import CERT, KEY


@pytest.fixture
def iam(aws_client):
    return aws_client("iam")


def test_default_page_is_100_and_markers_continue(iam):
    for i in range(101):
        iam.create_group(GroupName=f"g{i:03d}")
    first = iam.list_groups()
    assert len(first["Groups"]) == 100 and first["IsTruncated"] is True
    rest = iam.list_groups(Marker=first["Marker"])
    assert [g["GroupName"] for g in rest["Groups"]] == ["g100"]
    assert rest["IsTruncated"] is False and "Marker" not in rest
    assert len(list(iam.get_paginator("list_groups").paginate(PaginationConfig={"PageSize": 40}))) == 3


def test_max_items_on_roles_policies_attachments_and_tags(iam):
    for name in ("a", "b", "c"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST),
                        Tags=[{"Key": f"k{i}", "Value": str(i)} for i in range(3)])
    page = iam.list_roles(MaxItems=2)
    assert [r["RoleName"] for r in page["Roles"]] == ["a", "b"] and page["IsTruncated"]
    page = iam.list_roles(MaxItems=2, Marker=page["Marker"])
    assert [r["RoleName"] for r in page["Roles"]] == ["c"] and not page["IsTruncated"]

    aws = iam.list_policies(Scope="AWS", MaxItems=5)
    assert len(aws["Policies"]) == 5 and aws["IsTruncated"]
    following = iam.list_policies(Scope="AWS", MaxItems=5, Marker=aws["Marker"])["Policies"]
    assert not {p["Arn"] for p in following} & {p["Arn"] for p in aws["Policies"]}

    for arn in (BASIC, "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"):
        iam.attach_role_policy(RoleName="a", PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName="a", MaxItems=2)
    assert len(attached["AttachedPolicies"]) == 2 and attached["IsTruncated"]
    attached = iam.list_attached_role_policies(RoleName="a", MaxItems=2, Marker=attached["Marker"])
    assert len(attached["AttachedPolicies"]) == 1 and not attached["IsTruncated"]

    tags = iam.list_role_tags(RoleName="a", MaxItems=2)
    assert [t["Key"] for t in tags["Tags"]] == ["k0", "k1"] and tags["IsTruncated"]
    tags = iam.list_role_tags(RoleName="a", MaxItems=2, Marker=tags["Marker"])
    assert [t["Key"] for t in tags["Tags"]] == ["k2"] and not tags["IsTruncated"]

    assert error(iam.list_roles, Marker="not-a-marker")["Code"] == "ValidationError"


def _tag_cycle(iam, noun: str, **ident):
    """Tag<noun> adds and overwrites, List<noun>Tags reads back, Untag<noun> removes."""
    tag, untag, listing = (getattr(iam, f"tag_{noun}"), getattr(iam, f"untag_{noun}"),
                           getattr(iam, f"list_{noun}_tags"))
    assert listing(**ident)["Tags"] == [{"Key": "team", "Value": "core"}]
    tag(**ident, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "TEAM", "Value": "infra"}])
    assert listing(**ident)["Tags"] == [{"Key": "team", "Value": "infra"}, {"Key": "env", "Value": "dev"}]
    untag(**ident, TagKeys=["team"])
    assert listing(**ident)["Tags"] == [{"Key": "env", "Value": "dev"}]


def test_tags_on_every_taggable_resource(iam, aws_account):
    created = [{"Key": "team", "Value": "core"}]
    iam.create_user(UserName="u", Tags=created)
    _tag_cycle(iam, "user", UserName="u")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=created)
    _tag_cycle(iam, "role", RoleName="r")
    assert iam.get_role(RoleName="r")["Role"]["Tags"] == [{"Key": "env", "Value": "dev"}]
    arn = iam.create_policy(PolicyName="p", Tags=created, PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))["Policy"]["Arn"]
    _tag_cycle(iam, "policy", PolicyArn=arn)
    iam.create_instance_profile(InstanceProfileName="ip", Tags=created)
    _tag_cycle(iam, "instance_profile", InstanceProfileName="ip")
    oidc = iam.create_open_id_connect_provider(Url="https://token.example.com", ClientIDList=["c"],
                                               ThumbprintList=["a" * 40], Tags=created)["OpenIDConnectProviderArn"]
    _tag_cycle(iam, "open_id_connect_provider", OpenIDConnectProviderArn=oidc)
    saml = iam.create_saml_provider(Name="idp", SAMLMetadataDocument="<EntityDescriptor>" + "x" * 1000,
                                    Tags=created)["SAMLProviderArn"]
    _tag_cycle(iam, "saml_provider", SAMLProviderArn=saml)
    iam.upload_server_certificate(ServerCertificateName="web", CertificateBody=CERT, PrivateKey=KEY, Tags=created)
    _tag_cycle(iam, "server_certificate", ServerCertificateName="web")
    mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="phone", Tags=created)["VirtualMFADevice"]["SerialNumber"]
    assert mfa == f"arn:aws:iam::{aws_account}:mfa/phone"
    _tag_cycle(iam, "mfa_device", SerialNumber=mfa)
    err = error(iam.tag_user, UserName="u", Tags=[{"Key": "aws:x", "Value": "y"}])
    assert (err["Code"], err["Message"]) == ("InvalidInput", "User-defined tags cannot start with the reserved prefix aws:.")
    err = error(iam.tag_user, UserName="u", Tags=[{"Key": f"k{i}", "Value": ""} for i in range(50)])
    assert (err["Code"], err["Message"]) == ("LimitExceeded", "The number of tags has reached the maximum limit of 50.")


def test_list_roles_shows_each_change_to_a_role(iam):
    """ListRoles memoizes what it makes of each stored row: a change must show at once."""
    iam.create_role(RoleName="listed", AssumeRolePolicyDocument=json.dumps(TRUST))
    before = iam.list_roles()["Roles"]
    assert [(r["RoleName"], r.get("Description"), r["MaxSessionDuration"]) for r in before] == [
        ("listed", None, 3600)]
    iam.update_role(RoleName="listed", Description="now described", MaxSessionDuration=7200)
    changed = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"Service": "ec2.amazonaws.com"}}]}
    iam.update_assume_role_policy(RoleName="listed", PolicyDocument=json.dumps(changed))
    (after,) = iam.list_roles()["Roles"]
    assert (after["Description"], after["MaxSessionDuration"]) == ("now described", 7200)
    assert after["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    iam.delete_role(RoleName="listed")
    iam.create_role(RoleName="listed", AssumeRolePolicyDocument=json.dumps(TRUST))
    (again,) = iam.list_roles()["Roles"]
    assert again["RoleId"] != after["RoleId"] and "Description" not in again
