"""IAM users, groups, credentials and MFA devices, called directly."""

import base64
import re

import pytest

from haneul.context import Principal
from haneul.errors import AwsError
from haneul.services.iam import keys, mfa
from haneul.services.iam.service import Iam
from tests.unit.services.helpers import Harness

ACCOUNT = "123456789012"


@pytest.fixture
def iam():
    return Harness(Iam, account=ACCOUNT)


def fails(iam, method, request, code, **kw):
    with pytest.raises(AwsError) as info:
        iam.call(method, request, **kw)
    assert info.value.code == code
    return info.value.message


def test_create_user_ids_arns_and_case_insensitive_names(iam):
    user = iam.call("create_user", {"UserName": "Alice", "Path": "/eng/"})["User"]
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", user["UserId"])
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/eng/Alice"
    assert user["CreateDate"] == iam.clock.t
    assert fails(iam, "create_user", {"UserName": "alice"}, "EntityAlreadyExistsException") == \
        "User with name alice already exists."
    assert iam.call("get_user", {"UserName": "ALICE"})["User"]["UserName"] == "Alice"
    assert fails(iam, "get_user", {"UserName": "nobody"}, "NoSuchEntityException") == \
        "The user with name nobody cannot be found."


def test_get_user_without_name_is_the_caller(iam):
    assert iam.call("get_user")["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    iam.call("create_user", {"UserName": "bob"})
    principal = Principal(access_key="AKIA", account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/bob", kind="user")
    assert iam.call("get_user", principal=principal)["User"]["UserName"] == "bob"


def test_list_users_pagination_and_path_prefix(iam):
    for i in range(7):
        iam.call("create_user", {"UserName": f"u{i}", "Path": "/a/" if i % 2 else "/"})
    first = iam.call("list_users", {"MaxItems": 3})
    assert [u["UserName"] for u in first["Users"]] == ["u0", "u1", "u2"] and first["IsTruncated"]
    rest = iam.call("list_users", {"MaxItems": 10, "Marker": first["Marker"]})
    assert [u["UserName"] for u in rest["Users"]] == ["u3", "u4", "u5", "u6"] and not rest["IsTruncated"]
    assert "Marker" not in rest
    assert [u["UserName"] for u in iam.call("list_users", {"PathPrefix": "/a/"})["Users"]] == ["u1", "u3", "u5"]
    assert fails(iam, "list_users", {"Marker": "garbage!"}, "ValidationError")


def test_update_user_renames_everything(iam):
    iam.call("create_user", {"UserName": "old"})
    iam.call("create_group", {"GroupName": "g"})
    iam.call("add_user_to_group", {"GroupName": "g", "UserName": "old"})
    key = iam.call("create_access_key", {"UserName": "old"})["AccessKey"]["AccessKeyId"]
    iam.call("update_user", {"UserName": "old", "NewUserName": "new", "NewPath": "/p/"})
    user = iam.call("get_user", {"UserName": "new"})["User"]
    assert user["Arn"].endswith(":user/p/new")
    assert [u["UserName"] for u in iam.call("get_group", {"GroupName": "g"})["Users"]] == ["new"]
    assert iam.call("list_access_keys", {"UserName": "new"})["AccessKeyMetadata"][0]["AccessKeyId"] == key


def test_user_tags(iam):
    iam.call("create_user", {"UserName": "t", "Tags": [{"Key": "a", "Value": "1"}]})
    iam.call("tag_user", {"UserName": "t", "Tags": [{"Key": "A", "Value": "2"}, {"Key": "b", "Value": "3"}]})
    assert iam.call("list_user_tags", {"UserName": "t"})["Tags"] == [{"Key": "a", "Value": "2"},
                                                                     {"Key": "b", "Value": "3"}]
    iam.call("untag_user", {"UserName": "t", "TagKeys": ["a"]})
    assert iam.call("get_user", {"UserName": "t"})["User"]["Tags"] == [{"Key": "b", "Value": "3"}]
    fails(iam, "tag_user", {"UserName": "t", "Tags": [{"Key": "x", "Value": ""}, {"Key": "X", "Value": ""}]},
          "InvalidInputException")
    fails(iam, "tag_user", {"UserName": "t", "Tags": [{"Key": f"k{i}", "Value": ""} for i in range(50)]},
          "LimitExceededException")


def test_groups_and_membership(iam):
    group = iam.call("create_group", {"GroupName": "devs"})["Group"]
    assert group["GroupId"].startswith("AGPA") and group["Arn"].endswith(":group/devs")
    iam.call("create_user", {"UserName": "u"})
    iam.call("add_user_to_group", {"GroupName": "devs", "UserName": "u"})
    iam.call("add_user_to_group", {"GroupName": "devs", "UserName": "u"})   # idempotent
    assert [g["GroupName"] for g in iam.call("list_groups_for_user", {"UserName": "u"})["Groups"]] == ["devs"]
    assert fails(iam, "delete_group", {"GroupName": "devs"}, "DeleteConflictException") == \
        "Cannot delete entity, must remove users from group first."
    assert fails(iam, "delete_user", {"UserName": "u"}, "DeleteConflictException") == \
        "Cannot delete entity, must remove users from group first."
    iam.call("remove_user_from_group", {"GroupName": "devs", "UserName": "u"})
    iam.call("update_group", {"GroupName": "devs", "NewGroupName": "ops"})
    iam.call("delete_group", {"GroupName": "ops"})
    assert iam.call("list_groups")["Groups"] == []
    for i in range(10):
        iam.call("create_group", {"GroupName": f"g{i}"})
        iam.call("add_user_to_group", {"GroupName": f"g{i}", "UserName": "u"})
    iam.call("create_group", {"GroupName": "g10"})
    assert fails(iam, "add_user_to_group", {"GroupName": "g10", "UserName": "u"}, "LimitExceededException") == \
        "Cannot exceed quota for GroupsPerUser: 10"


def test_access_keys(iam):
    iam.call("create_user", {"UserName": "k"})
    first = iam.call("create_access_key", {"UserName": "k"})["AccessKey"]
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", first["AccessKeyId"]) and len(first["SecretAccessKey"]) == 40
    iam.call("create_access_key", {"UserName": "k"})
    assert fails(iam, "create_access_key", {"UserName": "k"}, "LimitExceededException") == \
        "Cannot exceed quota for AccessKeysPerUser: 2"
    listed = iam.call("list_access_keys", {"UserName": "k"})["AccessKeyMetadata"]
    assert all("SecretAccessKey" not in k for k in listed) and len(listed) == 2
    iam.call("update_access_key", {"UserName": "k", "AccessKeyId": first["AccessKeyId"], "Status": "Inactive"})
    found = keys.lookup_access_key(iam.store.conn, first["AccessKeyId"])
    assert found == {"account": ACCOUNT, "user_name": "k", "arn": f"arn:aws:iam::{ACCOUNT}:user/k",
                     "user_id": iam.call("get_user", {"UserName": "k"})["User"]["UserId"], "status": "Inactive",
                     "secret": first["SecretAccessKey"]}
    assert keys.lookup_access_key(iam.store.conn, "AKIANOTAKEY000000000") is None
    last = iam.call("get_access_key_last_used", {"AccessKeyId": first["AccessKeyId"]})
    assert last == {"UserName": "k", "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}
    keys.record_use(iam.store.conn, first["AccessKeyId"], 1_700_000_100.0, "s3", "eu-west-1")
    last = iam.call("get_access_key_last_used", {"AccessKeyId": first["AccessKeyId"]})["AccessKeyLastUsed"]
    assert last == {"LastUsedDate": 1_700_000_100.0, "ServiceName": "s3", "Region": "eu-west-1"}
    assert fails(iam, "delete_user", {"UserName": "k"}, "DeleteConflictException") == \
        "Cannot delete entity, must delete access keys first."
    for k in listed:
        iam.call("delete_access_key", {"UserName": "k", "AccessKeyId": k["AccessKeyId"]})
    fails(iam, "delete_access_key", {"UserName": "k", "AccessKeyId": first["AccessKeyId"]}, "NoSuchEntityException")
    iam.call("delete_user", {"UserName": "k"})


def test_login_profile_and_password_policy(iam):
    iam.call("create_user", {"UserName": "p"})
    iam.call("update_account_password_policy", {"MinimumPasswordLength": 10, "RequireNumbers": True})
    assert fails(iam, "create_login_profile", {"UserName": "p", "Password": "short"},
                 "PasswordPolicyViolationException") == \
        "Password should have at least 10 characters; Password should have at least one number"
    profile = iam.call("create_login_profile", {"UserName": "p", "Password": "longenough1",
                                                "PasswordResetRequired": True})["LoginProfile"]
    assert profile == {"UserName": "p", "CreateDate": iam.clock.t, "PasswordResetRequired": True}
    fails(iam, "create_login_profile", {"UserName": "p", "Password": "longenough1"}, "EntityAlreadyExistsException")
    assert fails(iam, "delete_user", {"UserName": "p"}, "DeleteConflictException") == \
        "Cannot delete entity, must delete login profile first."
    me = Principal(access_key="AKIA", account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/p", kind="user")
    fails(iam, "change_password", {"OldPassword": "wrong", "NewPassword": "anotherone2"}, "InvalidInputException",
          principal=me)
    iam.call("change_password", {"OldPassword": "longenough1", "NewPassword": "anotherone2"}, principal=me)
    assert iam.call("get_login_profile", {"UserName": "p"})["LoginProfile"]["PasswordResetRequired"] is False
    iam.call("delete_login_profile", {"UserName": "p"})
    assert fails(iam, "get_login_profile", {"UserName": "p"}, "NoSuchEntityException") == \
        "Login Profile for User p cannot be found."
    policy = iam.call("get_account_password_policy")["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 10 and policy["ExpirePasswords"] is False
    iam.call("delete_account_password_policy")
    fails(iam, "get_account_password_policy", {}, "NoSuchEntityException")


SSH_BODY = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDDbBFvsOv6s7fJQ8EFjA0UFOb1XQ8VmuoLOcPvPTV3T0zdnkxiuaAN"
            "zi5fh3X8T4ZZpK0RhxN5ZFTgNw3tHsPSNVdMJRajcRrKXlPYiWfEdc8Nx0kvZe8M8NHYWkymeeUrs6n5HuPtvPXrHyxNdtLpcdmA"
            "cbxzyj4mYqz3Cf0J5ZStkyHxLp8pbbBRaEqZ0P9gYcLJ2QbLO+AnjNRbhNVrJWWGPCHDPSQsqbYNjbXXXW8KpuqbfZjHd8O2qlfD"
            "+06Cmap0HiXRSf6bMCqtLZ6rxmeiShr7WJ9cJeFJvKgAc3CSTHfmYg3p+yHXbmvt8HsmYZTqMCFoX4xX7uG7YtHj test")


def test_ssh_keys_signing_certificates_and_service_credentials(iam):
    iam.call("create_user", {"UserName": "s"})
    key = iam.call("upload_ssh_public_key", {"UserName": "s", "SSHPublicKeyBody": SSH_BODY})["SSHPublicKey"]
    assert key["SSHPublicKeyId"].startswith("APKA") and re.fullmatch(r"([0-9a-f]{2}:){15}[0-9a-f]{2}",
                                                                     key["Fingerprint"])
    fails(iam, "upload_ssh_public_key", {"UserName": "s", "SSHPublicKeyBody": SSH_BODY},
          "DuplicateSSHPublicKeyException")
    fails(iam, "upload_ssh_public_key", {"UserName": "s", "SSHPublicKeyBody": "nonsense"},
          "UnrecognizedPublicKeyEncodingException")
    pem = iam.call("get_ssh_public_key", {"UserName": "s", "SSHPublicKeyId": key["SSHPublicKeyId"],
                                          "Encoding": "PEM"})["SSHPublicKey"]["SSHPublicKeyBody"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    iam.call("update_ssh_public_key", {"UserName": "s", "SSHPublicKeyId": key["SSHPublicKeyId"], "Status": "Inactive"})
    assert iam.call("list_ssh_public_keys", {"UserName": "s"})["SSHPublicKeys"][0]["Status"] == "Inactive"
    assert fails(iam, "delete_user", {"UserName": "s"}, "DeleteConflictException") == \
        "Cannot delete entity, must delete SSH public keys first."
    iam.call("delete_ssh_public_key", {"UserName": "s", "SSHPublicKeyId": key["SSHPublicKeyId"]})

    fails(iam, "upload_signing_certificate", {"UserName": "s", "CertificateBody": "junk"},
          "MalformedCertificateException")
    cred = iam.call("create_service_specific_credential", {"UserName": "s",
                                                           "ServiceName": "codecommit.amazonaws.com"})
    cred = cred["ServiceSpecificCredential"]
    assert cred["ServicePassword"] and cred["ServiceUserName"].startswith("s-at-")
    listed = iam.call("list_service_specific_credentials", {"UserName": "s"})["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in listed] == [cred["ServiceSpecificCredentialId"]]
    assert "ServicePassword" not in listed[0]
    iam.call("delete_service_specific_credential", {"UserName": "s",
                                                    "ServiceSpecificCredentialId": cred["ServiceSpecificCredentialId"]})
    iam.call("delete_user", {"UserName": "s"})


def test_virtual_mfa_devices_verify_real_totp_codes(iam):
    iam.call("create_user", {"UserName": "m"})
    device = iam.call("create_virtual_mfa_device", {"VirtualMFADeviceName": "m-phone"})["VirtualMFADevice"]
    serial, seed = device["SerialNumber"], device["Base32StringSeed"].decode()
    assert serial == f"arn:aws:iam::{ACCOUNT}:mfa/m-phone" and base64.b32decode(seed)
    step = int(iam.clock.t // 30)
    fails(iam, "enable_mfa_device", {"UserName": "m", "SerialNumber": serial, "AuthenticationCode1": "000000",
                                     "AuthenticationCode2": "111111"}, "InvalidAuthenticationCodeException")
    iam.call("enable_mfa_device", {"UserName": "m", "SerialNumber": serial,
                                   "AuthenticationCode1": mfa.totp(seed, step - 1),
                                   "AuthenticationCode2": mfa.totp(seed, step)})
    assert iam.call("list_mfa_devices", {"UserName": "m"})["MFADevices"][0]["SerialNumber"] == serial
    assert iam.call("list_virtual_mfa_devices", {"AssignmentStatus": "Assigned"})["VirtualMFADevices"][0][
        "User"]["UserName"] == "m"
    from haneul.services.iam import sts_lookups
    assert sts_lookups.verify_mfa_code(iam.store.conn, ACCOUNT, serial, mfa.totp(seed, step), iam.clock.t) is True
    assert sts_lookups.verify_mfa_code(iam.store.conn, ACCOUNT, serial, "123456", iam.clock.t) in (False, True)
    assert sts_lookups.verify_mfa_code(iam.store.conn, ACCOUNT, "arn:aws:iam::1:mfa/x", "1", iam.clock.t) is None
    assert fails(iam, "delete_user", {"UserName": "m"}, "DeleteConflictException") == \
        "Cannot delete entity, must delete MFA device first."
    fails(iam, "delete_virtual_mfa_device", {"SerialNumber": serial}, "DeleteConflictException")
    iam.call("deactivate_mfa_device", {"UserName": "m", "SerialNumber": serial})
    iam.call("delete_virtual_mfa_device", {"SerialNumber": serial})
    iam.call("delete_user", {"UserName": "m"})
