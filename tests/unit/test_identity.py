"""haneul.identity: credentials as botocore's signers write them, accounts, principals."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from haneul.errors import AwsError
from haneul.identity import DEFAULT_ACCOUNT, Credential, account_for_key, parse_credential, principal_for
from haneul.services.sts import credentials as sts_credentials
from haneul.store import Store

KEY, SECRET, TOKEN = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "FwoGZX/tok+en=="


def lower_headers(req: AWSRequest) -> dict[str, str]:
    return {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in req.headers.items()}


def query_params(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def sigv4_headers(service="sqs", region="eu-west-2", token=None, key=KEY) -> dict[str, str]:
    req = AWSRequest("POST", f"https://{service}.{region}.amazonaws.com/", data=b"Action=X")
    SigV4Auth(Credentials(key, SECRET, token), service, region).add_auth(req)
    return lower_headers(req)


# -- parse_credential: SigV4 -------------------------------------------------------------------
def test_sigv4_header():
    headers = sigv4_headers()
    cred = parse_credential(headers, [])
    assert cred is not None
    assert (cred.access_key, cred.region, cred.service) == (KEY, "eu-west-2", "sqs")
    assert re.fullmatch(r"\d{8}", cred.date)
    assert cred.date == headers["x-amz-date"][:8]
    assert cred.algorithm == "AWS4-HMAC-SHA256"
    assert cred.signed_headers.split(";") == sorted(cred.signed_headers.split(";"))
    assert {"host", "x-amz-date"} <= set(cred.signed_headers.split(";"))
    assert re.fullmatch(r"[0-9a-f]{64}", cred.signature)
    assert cred.signature in headers["authorization"]
    assert cred.presigned is False
    assert cred.session_token is None


def test_sigv4_header_with_session_token():
    cred = parse_credential(sigv4_headers(token=TOKEN), [])
    assert cred.session_token == TOKEN
    assert "x-amz-security-token" in cred.signed_headers.split(";")


@pytest.mark.parametrize("service,region", [("s3", "us-east-1"), ("execute-api", "ap-southeast-2"),
                                            ("states", "cn-north-1")])
def test_sigv4_service_and_region_come_from_the_scope(service, region):
    cred = parse_credential(sigv4_headers(service, region), [])
    assert (cred.service, cred.region) == (service, region)


def test_sigv4_header_without_spaces_after_commas():
    auth = ("AWS4-HMAC-SHA256 Credential=AKID/20210506/us-west-1/kms/aws4_request,"
            "SignedHeaders=host;x-amz-date,Signature=" + "ab" * 32)
    cred = parse_credential({"authorization": auth}, [])
    assert (cred.access_key, cred.region, cred.service) == ("AKID", "us-west-1", "kms")
    assert cred.signed_headers == "host;x-amz-date"
    assert cred.signature == "ab" * 32


def test_sigv4a_header_keeps_the_service():
    auth = ("AWS4-ECDSA-P256-SHA256 Credential=AKID/20210506/s3/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045022100ab")
    cred = parse_credential({"authorization": auth, "x-amz-region-set": "*"}, [])
    assert (cred.access_key, cred.service) == ("AKID", "s3")


def test_presigned_sigv4_query():
    req = AWSRequest("GET", "https://bucket.s3.amazonaws.com/key.txt")
    SigV4QueryAuth(Credentials(KEY, SECRET, TOKEN), "s3", "ap-south-1", expires=300).add_auth(req)
    params = query_params(req.url)
    cred = parse_credential({"host": "bucket.s3.amazonaws.com"}, params)
    assert cred.presigned is True
    assert (cred.access_key, cred.region, cred.service) == (KEY, "ap-south-1", "s3")
    assert cred.algorithm == "AWS4-HMAC-SHA256"
    assert cred.signed_headers == dict(params)["X-Amz-SignedHeaders"]
    assert cred.signature == dict(params)["X-Amz-Signature"]
    assert cred.session_token == TOKEN


def test_authorization_header_wins_over_query_parameters():
    params = [("X-Amz-Credential", "OTHER/20210506/eu-central-1/sqs/aws4_request")]
    cred = parse_credential(sigv4_headers("sns", "us-west-2"), params)
    assert (cred.access_key, cred.service, cred.presigned) == (KEY, "sns", False)


# -- parse_credential: SigV2 -------------------------------------------------------------------
def test_sigv2_header():
    req = AWSRequest("GET", "https://s3.amazonaws.com/bucket/key")
    HmacV1Auth(Credentials(KEY, SECRET)).add_auth(req)
    headers = lower_headers(req)
    cred = parse_credential(headers, [])
    assert cred.access_key == KEY
    assert cred.algorithm == "AWS"
    assert cred.signature == headers["authorization"].rsplit(":", 1)[1]
    assert (cred.region, cred.service, cred.presigned) == ("", "", False)


def test_sigv2_header_with_session_token():
    req = AWSRequest("GET", "https://s3.amazonaws.com/bucket/key")
    HmacV1Auth(Credentials(KEY, SECRET, TOKEN)).add_auth(req)
    assert parse_credential(lower_headers(req), []).session_token == TOKEN


def test_sigv2_presigned_query():
    req = AWSRequest("GET", "https://s3.amazonaws.com/bucket/key")
    HmacV1QueryAuth(Credentials(KEY, SECRET), expires=60).add_auth(req)
    params = query_params(req.url)
    cred = parse_credential({}, params)
    assert cred.access_key == KEY
    assert cred.presigned is True
    assert cred.algorithm == "AWS"
    assert cred.signature == dict(params)["Signature"]


# -- parse_credential: nothing usable -----------------------------------------------------------
@pytest.mark.parametrize("headers,params", [
    ({}, []),
    ({"authorization": "Bearer eyJhbGciOi"}, []),
    ({"authorization": "Basic dXNlcjpwYXNz"}, []),
    ({"authorization": "AWS4-HMAC-SHA256 garbage"}, []),
    ({"authorization": "AWS4-HMAC-SHA256"}, []),
    ({}, [("Action", "ListQueues"), ("Version", "2012-11-05")]),
    ({}, [("X-Amz-Signature", "abc")]),
])
def test_garbage_or_missing_credentials_give_none(headers, params):
    assert parse_credential(headers, params) is None


def test_truncated_scope_keeps_only_the_key():
    cred = parse_credential({"authorization": "AWS4-HMAC-SHA256 Credential=AKID/2021, Signature=00"}, [])
    assert cred.access_key == "AKID"
    assert (cred.region, cred.service) == ("", "")


# -- account_for_key ------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["123456789012", "000000000001", "999999999999"])
def test_twelve_digit_keys_are_accounts(key):
    assert account_for_key(key) == key


@pytest.mark.parametrize("key", ["AKIAIOSFODNN7EXAMPLE", "test", "12345678901", "1234567890123",
                                 "12345678901a", " 23456789012", "", None])
def test_other_keys_are_the_default_account(key):
    assert account_for_key(key) == "000000000000" == DEFAULT_ACCOUNT


@pytest.mark.parametrize("key", ["123456789012\n", "\u0661\u0662\u0663\u0664\u0665\u0666"
                                 "\u0667\u0668\u0669\u0660\u0661\u0662"])
def test_near_account_keys_are_not_accounts(key):
    assert account_for_key(key) == DEFAULT_ACCOUNT


def test_presigned_key_with_a_newline_is_not_an_account():
    cred = parse_credential({}, [("X-Amz-Credential", "123456789012\n/20210506/us-east-1/s3/aws4_request")])
    assert principal_for(cred).account in (DEFAULT_ACCOUNT, "123456789012")


# -- principal_for -----------------------------------------------------------------------------------
def test_no_credential_is_anonymous():
    p = principal_for(None)
    assert p.kind == "anonymous"
    assert p.account == DEFAULT_ACCOUNT
    assert p.arn == ""


def test_account_key_is_that_accounts_root():
    p = principal_for(Credential(access_key="123456789012"))
    assert p.account == "123456789012"
    assert p.arn == "arn:aws:iam::123456789012:root"
    assert p.kind == "root"


def test_other_key_is_the_default_accounts_root():
    p = principal_for(Credential(access_key=KEY))
    assert p.account == DEFAULT_ACCOUNT
    assert p.arn == f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"
    assert p.access_key == KEY


@pytest.fixture
def sts_store():
    store = Store(None)
    store.migrate("sts", sts_credentials.SCHEMA)
    yield store
    store.close()


def issue(store, now=None, duration=3600, account="111122223333"):
    arn = f"arn:aws:sts::{account}:assumed-role/Deployer/session-1"
    with store.transaction() as db:
        return sts_credentials.issue(
            db, account=account, kind="assumed-role", principal_kind="assumed-role", arn=arn,
            user_id="AROAEXAMPLE:session-1", now=time.time() if now is None else now,
            duration=duration, role_arn=f"arn:aws:iam::{account}:role/Deployer",
            role_session_name="session-1")


def test_sts_session_resolves_to_its_principal(sts_store):
    row = issue(sts_store)
    key = row["access_key_id"]
    assert key.startswith("ASIA")
    p = principal_for(Credential(access_key=key, session_token=row["session_token"]), sts_store)
    assert p.account == "111122223333"          # the session's account, not the default
    assert p.arn == "arn:aws:sts::111122223333:assumed-role/Deployer/session-1"
    assert p.kind == "assumed-role"
    assert p.user_id == "AROAEXAMPLE:session-1"
    assert p.session_token == row["session_token"]


def test_sts_session_through_a_signed_request(sts_store):
    row = issue(sts_store)
    cred = parse_credential(sigv4_headers(token=row["session_token"], key=row["access_key_id"]), [])
    assert principal_for(cred, sts_store).account == "111122223333"


def test_wrong_session_token_is_invalid_client_token_id(sts_store):
    row = issue(sts_store)
    with pytest.raises(AwsError) as e:
        principal_for(Credential(access_key=row["access_key_id"], session_token="not-the-token"), sts_store)
    assert e.value.code == "InvalidClientTokenId"
    assert e.value.status == 403
    assert e.value.message == "The security token included in the request is invalid."


def test_expired_session_is_expired_token(sts_store):
    row = issue(sts_store, now=time.time() - 7200, duration=3600)
    with pytest.raises(AwsError) as e:
        principal_for(Credential(access_key=row["access_key_id"], session_token=row["session_token"]),
                      sts_store)
    assert e.value.code == "ExpiredToken"
    assert "expired" in e.value.message


def test_session_valid_until_its_expiration(sts_store):
    row = issue(sts_store, now=time.time() - 3000, duration=3600)
    p = principal_for(Credential(access_key=row["access_key_id"], session_token=row["session_token"]),
                      sts_store)
    assert p.kind == "assumed-role"


def test_sts_lookup_is_not_used_without_a_store(sts_store):
    row = issue(sts_store)
    p = principal_for(Credential(access_key=row["access_key_id"], session_token="anything"))
    assert p.kind == "root"
    assert p.account == DEFAULT_ACCOUNT


def test_unknown_temporary_key_falls_back_to_the_default_account(sts_store):
    p = principal_for(Credential(access_key="ASIAQAAAAAAAAAAAAAAA", session_token="t"), sts_store)
    assert p.account == DEFAULT_ACCOUNT
    assert p.kind == "root"


def test_store_where_sts_never_ran_is_fine():
    store = Store(None)
    try:
        p = principal_for(Credential(access_key="ASIAQAAAAAAAAAAAAAAA", session_token="t"), store)
        assert p.account == DEFAULT_ACCOUNT
    finally:
        store.close()
