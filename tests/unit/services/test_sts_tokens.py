"""STS operations beyond AssumeRole: scoped credentials, AssumeRoot, authorization messages,
web identity tokens and delegated access tokens."""

import json

import pytest

from haneul.context import Principal
from haneul.errors import AwsError
from haneul.services.sts import authorization_message, credentials, jwt_signing, web_identity_token
from haneul.services.sts.service import Sts
from tests.unit.services.helpers import Harness

ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::111122223333:role/Deploy"
POLICY = json.dumps({"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
TASK = {"arn": "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"}


@pytest.fixture
def h():
    harness = Harness(Sts, account=ACCOUNT)
    yield harness
    harness.store.close()


def as_creds(creds: dict) -> Principal:
    return Principal(access_key=creds["AccessKeyId"], account="000000000000", session_token=creds["SessionToken"])


def fails(h, method, request=None, code=None, **kw) -> AwsError:
    with pytest.raises(AwsError) as info:
        h.call(method, request or {}, **kw)
    if code is not None:
        assert info.value.code == code, info.value
    return info.value


def role_creds(h, **extra) -> dict:
    return h.call("assume_role", {"RoleArn": ROLE, "RoleSessionName": "s1", **extra})["Credentials"]


def record(h, access_key: str) -> dict:
    with h.store.transaction() as db:
        return credentials.lookup(db, access_key, now=h.clock.t)


# -- GetScopedCredentials -------------------------------------------------------------------
def test_scoped_credentials_keep_identity_and_add_a_policy_layer(h):
    parent = role_creds(h, SourceIdentity="alice", Tags=[{"Key": "t", "Value": "v"}])
    out = h.call("get_scoped_credentials", {"Policy": POLICY}, principal=as_creds(parent))
    assert out["ScopedPoliciesCount"] == 1
    assert out["SourceIdentity"] == "alice"
    parent_rec = record(h, parent["AccessKeyId"])
    assert out["SessionInfo"] == {"ScopedSessionId": parent_rec["user_id"], "Arn": parent_rec["arn"]}
    creds = out["Credentials"]
    assert creds["AccessKeyId"] != parent["AccessKeyId"]
    assert creds["Expiration"] == parent["Expiration"]          # inherited lifetime
    me = h.call("get_caller_identity", principal=as_creds(creds))
    assert me["Arn"] == "arn:aws:sts::111122223333:assumed-role/Deploy/s1"
    rec = record(h, creds["AccessKeyId"])
    assert rec["scoped_policies"] == [json.dumps(json.loads(POLICY), separators=(",", ":"))]
    assert rec["tags"] == {"t": "v"} and rec["source_identity"] == "alice"
    assert rec["parent_access_key"] == parent["AccessKeyId"]


def test_scoped_credentials_layers_are_limited_to_three(h):
    creds = role_creds(h)
    for count in (1, 2, 3):
        out = h.call("get_scoped_credentials", {"Policy": POLICY}, principal=as_creds(creds))
        assert out["ScopedPoliciesCount"] == count
        creds = out["Credentials"]
    fails(h, "get_scoped_credentials", {"Policy": POLICY}, "AccessDenied", principal=as_creds(creds))
    # Shortening the lifetime without another policy is still allowed.
    out = h.call("get_scoped_credentials", {"DurationSeconds": 60}, principal=as_creds(creds))
    assert out["ScopedPoliciesCount"] == 3


def test_scoped_credentials_duration(h):
    parent = role_creds(h, DurationSeconds=1800)
    out = h.call("get_scoped_credentials", {"DurationSeconds": 1}, principal=as_creds(parent))
    assert out["Credentials"]["Expiration"].timestamp() == h.clock.t + 1
    assert out["ScopedPoliciesCount"] == 0
    h.clock.advance(1000)
    err = fails(h, "get_scoped_credentials", {"DurationSeconds": 801}, "InsufficientSessionLifetimeException",
                principal=as_creds(parent))
    assert "remaining lifetime" in err.message
    h.call("get_scoped_credentials", {"DurationSeconds": 800}, principal=as_creds(parent))


def test_scoped_credentials_need_temporary_credentials_and_a_parameter(h):
    fails(h, "get_scoped_credentials", {"Policy": POLICY}, "InvalidSubjectCredentialsException")
    user = Principal(access_key="AKIAUSER", account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/a", kind="user")
    fails(h, "get_scoped_credentials", {"Policy": POLICY}, "InvalidSubjectCredentialsException", principal=user)
    fails(h, "get_scoped_credentials", {}, "ValidationError", principal=as_creds(role_creds(h)))
    fails(h, "get_scoped_credentials", {"Policy": "nope"}, "MalformedPolicyDocumentException",
          principal=as_creds(role_creds(h)))


def test_scoped_credentials_from_session_and_federation_tokens(h):
    for creds in (h.call("get_session_token")["Credentials"],
                  h.call("get_federation_token", {"Name": "bob"})["Credentials"]):
        out = h.call("get_scoped_credentials", {"Policy": POLICY}, principal=as_creds(creds))
        assert record(h, out["Credentials"]["AccessKeyId"])["kind"] == record(h, creds["AccessKeyId"])["kind"]


# -- AssumeRoot -----------------------------------------------------------------------------
def test_assume_root_with_root_credentials_is_denied(h):
    fails(h, "assume_root", {"TargetPrincipal": "210987654321", "TaskPolicyArn": TASK}, "AccessDenied")


@pytest.mark.parametrize("target", ["210987654321", "arn:aws:iam::210987654321:root"])
def test_assume_root_from_a_role(h, target):
    admin = role_creds(h, SourceIdentity="ops")
    out = h.call("assume_root", {"TargetPrincipal": target, "TaskPolicyArn": TASK}, principal=as_creds(admin))
    creds = out["Credentials"]
    assert creds["Expiration"].timestamp() == h.clock.t + 900
    assert out["SourceIdentity"] == "ops"
    assert h.call("get_caller_identity", principal=as_creds(creds)) == {
        "UserId": "210987654321", "Account": "210987654321", "Arn": "arn:aws:iam::210987654321:root"}
    rec = record(h, creds["AccessKeyId"])
    assert rec["policy_arns"] == [TASK["arn"]] and rec["principal_kind"] == "root"
    short = h.call("assume_root", {"TargetPrincipal": target, "TaskPolicyArn": TASK, "DurationSeconds": 300},
                   principal=as_creds(admin))
    assert short["Credentials"]["Expiration"].timestamp() == h.clock.t + 300


@pytest.mark.parametrize("target,task", [
    ("12345", TASK),
    ("arn:aws:iam::210987654321:user/x", TASK),
    ("210987654321", {"arn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ("210987654321", {"arn": "arn:aws:iam::aws:policy/root-task/Nope"}),
])
def test_assume_root_validation(h, target, task):
    fails(h, "assume_root", {"TargetPrincipal": target, "TaskPolicyArn": task}, "ValidationError",
          principal=as_creds(role_creds(h)))


# -- DecodeAuthorizationMessage ---------------------------------------------------------------
def test_decode_a_message_haneul_encoded(h):
    message = authorization_message.authorization_message(
        allowed=False, explicit_deny=True, principal_arn=f"arn:aws:iam::{ACCOUNT}:user/bob",
        principal_id="AIDABOB", action="ec2:RunInstances", resource="arn:aws:ec2:us-east-1:123456789012:instance/*",
        conditions={"aws:Region": ["us-east-1"]})
    with h.store.transaction() as db:
        encoded = authorization_message.encode(db, message)
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    decoded = json.loads(h.call("decode_authorization_message", {"EncodedMessage": encoded})["DecodedMessage"])
    assert decoded == message
    assert decoded["explicitDeny"] is True
    assert decoded["context"]["conditions"]["items"] == [
        {"key": "aws:Region", "values": {"items": [{"value": "us-east-1"}]}}]


@pytest.mark.parametrize("encoded", ["x", "not a message at all", "rHU-pVHMSckD0OAc5l3r9-gKN1XZjZ2X9J3w0fZ31lica",
                                     "====", "\u00e9t\u00e9"])
def test_decode_foreign_messages(h, encoded):
    err = fails(h, "decode_authorization_message", {"EncodedMessage": encoded},
                "InvalidAuthorizationMessageException")
    assert err.message


def test_decode_rejects_a_tampered_message(h):
    with h.store.transaction() as db:
        encoded = authorization_message.encode(db, {"allowed": False})
    tampered = encoded[:-2] + ("A" if encoded[-2] != "A" else "B") + encoded[-1]
    fails(h, "decode_authorization_message", {"EncodedMessage": tampered}, "InvalidAuthorizationMessageException")


def test_messages_of_another_store_do_not_decode(h):
    other = Harness(Sts)
    with other.store.transaction() as db:
        encoded = authorization_message.encode(db, "{}")
    other.store.close()
    fails(h, "decode_authorization_message", {"EncodedMessage": encoded}, "InvalidAuthorizationMessageException")


# -- GetWebIdentityToken ----------------------------------------------------------------------
def claims_of(h, token: str, account: str = ACCOUNT) -> dict:
    with h.store.transaction() as db:
        keys = web_identity_token.jwks(db, account)["keys"]
    header = json.loads(jwt_signing.b64url_decode(token.split(".")[0]))
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    claims = jwt_signing.verify_jwt(token, jwk)
    assert claims is not None, "signature does not verify"
    return claims


@pytest.mark.parametrize("algorithm,kty", [("RS256", "RSA"), ("ES384", "EC")])
def test_web_identity_token_is_signed_and_verifiable(h, algorithm, kty):
    out = h.call("get_web_identity_token", {"Audience": ["https://api.example.com"], "SigningAlgorithm": algorithm})
    header = json.loads(jwt_signing.b64url_decode(out["WebIdentityToken"].split(".")[0]))
    assert header["alg"] == algorithm and header["typ"] == "JWT"
    claims = claims_of(h, out["WebIdentityToken"])
    assert claims["aud"] == "https://api.example.com"
    assert claims["sub"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert claims["iss"] == f"http://localhost:4566/_haneul/sts/{ACCOUNT}"
    assert claims["exp"] - claims["iat"] == 300                    # default duration
    assert claims["iat"] == int(h.clock.t)
    assert out["Expiration"].timestamp() == claims["exp"]
    assert claims["https://sts.amazonaws.com/"]["aws_account"] == ACCOUNT
    assert claims["https://sts.amazonaws.com/"]["source_region"] == "us-east-1"
    with h.store.transaction() as db:
        assert [k["kty"] for k in web_identity_token.jwks(db, ACCOUNT)["keys"]] == [kty]


def test_web_identity_token_keys_are_reused_per_account(h):
    a = h.call("get_web_identity_token", {"Audience": ["x"], "SigningAlgorithm": "ES384"})["WebIdentityToken"]
    b = h.call("get_web_identity_token", {"Audience": ["x"], "SigningAlgorithm": "ES384"})["WebIdentityToken"]
    kid = lambda t: json.loads(jwt_signing.b64url_decode(t.split(".")[0]))["kid"]  # noqa: E731
    assert kid(a) == kid(b)
    other = h.call("get_web_identity_token", {"Audience": ["x"], "SigningAlgorithm": "ES384"},
                   principal=Principal(access_key="210987654321", account="210987654321"))["WebIdentityToken"]
    assert kid(other) != kid(a)
    assert claims_of(h, other, "210987654321")["https://sts.amazonaws.com/"]["aws_account"] == "210987654321"


def test_web_identity_token_for_a_role_session(h):
    creds = role_creds(h, Tags=[{"Key": "team", "Value": "blue"}])
    out = h.call("get_web_identity_token", {"Audience": ["a", "b"], "SigningAlgorithm": "ES384",
                                            "DurationSeconds": 1800, "Tags": [{"Key": "job", "Value": "7"}]},
                 principal=as_creds(creds))
    claims = claims_of(h, out["WebIdentityToken"], "111122223333")
    assert claims["sub"] == ROLE
    assert claims["aud"] == ["a", "b"]
    assert claims["exp"] - claims["iat"] == 1800
    aws = claims["https://sts.amazonaws.com/"]
    assert aws["principal_id"] == ROLE and aws["aws_account"] == "111122223333"
    assert aws["principal_tags"] == {"team": "blue"} and aws["request_tags"] == {"job": "7"}


def test_web_identity_token_cannot_outlive_the_session(h):
    creds = role_creds(h, DurationSeconds=900)
    h.clock.advance(800)
    fails(h, "get_web_identity_token", {"Audience": ["a"], "SigningAlgorithm": "RS256", "DurationSeconds": 101},
          "SessionDurationEscalationException", principal=as_creds(creds))
    h.call("get_web_identity_token", {"Audience": ["a"], "SigningAlgorithm": "RS256", "DurationSeconds": 100},
           principal=as_creds(creds))


@pytest.mark.parametrize("extra", [{"SigningAlgorithm": "RS384"}, {"SubjectMode": "OriginIdentity"},
                                   {"Scope": "read"}])
def test_web_identity_token_validation(h, extra):
    fails(h, "get_web_identity_token", {"Audience": ["a"], "SigningAlgorithm": "RS256", **extra}, "ValidationError")


def test_web_identity_token_follows_iam_outbound_federation_settings(h, monkeypatch):
    from haneul.services.sts import iam_records
    monkeypatch.setattr(iam_records, "outbound_federation", lambda db, account: {"enabled": False})
    fails(h, "get_web_identity_token", {"Audience": ["a"], "SigningAlgorithm": "RS256"},
          "OutboundWebIdentityFederationDisabledException")
    monkeypatch.setattr(iam_records, "outbound_federation",
                        lambda db, account: {"enabled": True, "issuer": "https://issuer.example"})
    token = h.call("get_web_identity_token", {"Audience": ["a"], "SigningAlgorithm": "RS256"})["WebIdentityToken"]
    assert claims_of(h, token)["iss"] == "https://issuer.example"


def test_web_identity_token_payload_limit(h):
    tags = [{"Key": f"k{i}" + "x" * 120, "Value": "v" * 256} for i in range(50)]
    fails(h, "get_web_identity_token", {"Audience": ["a"], "SigningAlgorithm": "RS256", "Tags": tags},
          "JWTPayloadSizeExceededException")


def test_openid_configuration():
    doc = web_identity_token.openid_configuration("https://h/x")
    assert doc["issuer"] == "https://h/x" and doc["jwks_uri"] == "https://h/x/.well-known/jwks.json"


# -- GetDelegatedAccessToken ------------------------------------------------------------------
def test_delegated_access_token(h):
    with h.store.transaction() as db:
        token = credentials.issue_trade_in_token(
            db, account="210987654321", principal_arn="arn:aws:iam::210987654321:user/approver",
            user_id="AIDAAPPROVER", principal_kind="user", duration=1200, now=h.clock.t, policy=POLICY)
    out = h.call("get_delegated_access_token", {"TradeInToken": token})
    assert out["AssumedPrincipal"] == "arn:aws:iam::210987654321:user/approver"
    creds = out["Credentials"]
    assert creds["Expiration"].timestamp() == h.clock.t + 1200
    assert h.call("get_caller_identity", principal=as_creds(creds)) == {
        "UserId": "AIDAAPPROVER", "Account": "210987654321", "Arn": "arn:aws:iam::210987654321:user/approver"}
    assert record(h, creds["AccessKeyId"])["policy"] == POLICY
    # A trade-in token is exchanged once.
    fails(h, "get_delegated_access_token", {"TradeInToken": token}, "ExpiredTradeInTokenException")


def test_delegated_access_token_expiry_and_unknown_tokens(h):
    with h.store.transaction() as db:
        token = credentials.issue_trade_in_token(
            db, account="210987654321", principal_arn="arn:aws:iam::210987654321:user/a", user_id="AIDAA",
            principal_kind="user", duration=900, now=h.clock.t, valid_for=60)
    h.clock.advance(60)
    fails(h, "get_delegated_access_token", {"TradeInToken": token}, "ExpiredTradeInTokenException")
    fails(h, "get_delegated_access_token", {"TradeInToken": "made-up"}, "ValidationError")
