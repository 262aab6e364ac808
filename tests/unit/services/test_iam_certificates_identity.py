"""IAM certificates (validity read from the PEM) and what the identity layer needs from
IAM (access keys resolved to their user)."""

import datetime as dt

import pytest

from haneul import identity
from haneul.errors import AwsError
from haneul.services.iam import certificates
from haneul.services.iam.service import Iam
from tests.unit.services.helpers import Harness

ACCOUNT = "123456789012"
# openssl req -x509 -newkey rsa:1024 -nodes -days 3650 -subj "/CN=haneul.test"
CERT = """-----BEGIN CERTIFICATE-----
MIICCDCCAXGgAwIBAgIUKOdHwuan6eoOa4jzml7aTHZ3vZ8wDQYJKoZIhvcNAQEL
BQAwFjEUMBIGA1UEAwwLaGFuZXVsLnRlc3QwHhcNMjYxMTI3MDcxMzMzWhcNMzYx
MTI0MDcxMzMzWjAWMRQwEgYDVQQDDAtoYW5ldWwudGVzdDCBnzANBgkqhkiG9w0B
AQEFAAOBjQAwgYkCgYEAzD/a/YlebrZE5erNk21c7OsRJ/2JXrt93pMxkS99Dd6q
vTzm+ZYhddyoxmGk3kFv3+H0lcE7uh2ZQv3y+F3nKPUIWOve6BzGD7bTfijLiWlg
z9JeIQEnQaMXva7w3AGcf50dcIt2OTpW2TUfF6wL7zaO90alZjr8BFa8oSxr7s0C
AwEAAaNTMFEwHQYDVR0OBBYEFIRsQuLtrWLJ4ZgKzcWoPTSA5BYWMB8GA1UdIwQY
MBaAFIRsQuLtrWLJ4ZgKzcWoPTSA5BYWMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZI
hvcNAQELBQADgYEAehlb/7/iW8mK+JDb7ojhQlkLQZBPPxRA7nx1m7TVaKrqEieV
XMOAYoTvalCgYIr5l9j3G2IRsuEEw1AQRzAGIrVJUd3bj+FbvbGY67Z6BwG0uXh+
eWrGsRr8mQxmxpiz9hZXKhi0WH4PtoKSyjvUsmv5pgwtz5ZbKJLpuiQNcvM=
-----END CERTIFICATE-----
"""
KEY = "-----BEGIN PRIVATE KEY-----\nMIIC...\n-----END PRIVATE KEY-----\n"
NOT_AFTER = dt.datetime(2036, 11, 24, 7, 13, 33, tzinfo=dt.timezone.utc).timestamp()


@pytest.fixture
def iam():
    return Harness(Iam, account=ACCOUNT)


def test_certificate_validity_is_read_from_the_der():
    validity = certificates.parse(CERT)
    assert validity["not_after"] == NOT_AFTER and validity["not_before"] < NOT_AFTER
    for bad in ("", "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"):
        with pytest.raises(AwsError) as info:
            certificates.parse(bad)
        assert info.value.code == "MalformedCertificateException"


def test_server_certificates(iam):
    meta = iam.call("upload_server_certificate", {"ServerCertificateName": "web", "Path": "/cf/",
                                                  "CertificateBody": CERT, "PrivateKey": KEY,
                                                  "Tags": [{"Key": "a", "Value": "b"}]})
    meta = meta["ServerCertificateMetadata"]
    assert meta["ServerCertificateId"].startswith("ASCA") and meta["Expiration"] == NOT_AFTER
    assert meta["Arn"] == f"arn:aws:iam::{ACCOUNT}:server-certificate/cf/web"
    got = iam.call("get_server_certificate", {"ServerCertificateName": "web"})["ServerCertificate"]
    assert got["CertificateBody"] == CERT and "PrivateKey" not in got and got["Tags"] == [{"Key": "a", "Value": "b"}]
    iam.call("update_server_certificate", {"ServerCertificateName": "web", "NewServerCertificateName": "www"})
    listed = iam.call("list_server_certificates", {"PathPrefix": "/cf/"})["ServerCertificateMetadataList"]
    assert [c["ServerCertificateName"] for c in listed] == ["www"]
    iam.call("delete_server_certificate", {"ServerCertificateName": "www"})
    with pytest.raises(AwsError) as info:
        iam.call("get_server_certificate", {"ServerCertificateName": "www"})
    assert info.value.message == "The Server Certificate with name www cannot be found."


def test_signing_certificates(iam):
    iam.call("create_user", {"UserName": "u"})
    cert = iam.call("upload_signing_certificate", {"UserName": "u", "CertificateBody": CERT})["Certificate"]
    assert len(cert["CertificateId"]) == 32 and cert["Status"] == "Active"
    iam.call("update_signing_certificate", {"UserName": "u", "CertificateId": cert["CertificateId"],
                                            "Status": "Inactive"})
    assert iam.call("list_signing_certificates", {"UserName": "u"})["Certificates"][0]["Status"] == "Inactive"
    with pytest.raises(AwsError) as info:
        iam.call("delete_user", {"UserName": "u"})
    assert info.value.message == "Cannot delete entity, must delete signing certificates first."
    iam.call("delete_signing_certificate", {"UserName": "u", "CertificateId": cert["CertificateId"]})
    iam.call("delete_user", {"UserName": "u"})


def test_requests_signed_with_a_users_key_are_attributed_to_the_user(iam):
    iam.call("create_user", {"UserName": "alice"})
    key = iam.call("create_access_key", {"UserName": "alice"})["AccessKey"]["AccessKeyId"]
    principal = identity.principal_for(identity.Credential(access_key=key, region="us-east-1"), iam.store)
    assert (principal.account, principal.kind, principal.arn) == (ACCOUNT, "user",
                                                                   f"arn:aws:iam::{ACCOUNT}:user/alice")


def test_sts_assume_role_uses_the_iam_role_id(iam):
    import json
    from haneul.services.sts.service import Sts
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]})
    role = iam.call("create_role", {"RoleName": "r", "AssumeRolePolicyDocument": trust})["Role"]
    sts = Harness(Sts, account=ACCOUNT, store=iam.store)
    out = sts.call("assume_role", {"RoleArn": role["Arn"], "RoleSessionName": "s"})
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:s"
