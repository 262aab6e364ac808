"""STS operations called directly (no HTTP): identities, AssumeRole, session and federation tokens."""

import datetime as dt
import json
import re

import pytest

from haneul.context import Principal
from haneul.errors import AwsError
from haneul.services.sts import credentials
from haneul.services.sts.service import Sts
from tests.unit.services.helpers import Harness

ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::111122223333:role/Deploy"
POLICY = json.dumps({"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})


@pytest.fixture
def h():
    harness = Harness(Sts, account=ACCOUNT)
    yield harness
    harness.store.close()


def as_creds(creds: dict, account: str = "000000000000") -> Principal:
    """The principal the identity layer would build for a request signed with `creds`
    (it only knows the key; the account is whatever it guessed)."""
    return Principal(access_key=creds["AccessKeyId"], account=account, session_token=creds["SessionToken"])


def fails(h, method, request=None, code=None, **kw) -> AwsError:
    with pytest.raises(AwsError) as info:
        h.call(method, request or {}, **kw)
    if code is not None:
        assert info.value.code == code, info.value
    return info.value


def assume(h, role=ROLE, session="s1", **extra):
    return h.call("assume_role", {"RoleArn": role, "RoleSessionName": session, **extra})


def epoch(value: dt.datetime) -> float:
    return value.timestamp()


# -- GetCallerIdentity --------------------------------------------------------------------
def test_caller_identity_without_principal_is_root_of_context_account(h):
    assert h.call("get_caller_identity") == {
        "UserId": ACCOUNT, "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"}


def test_caller_identity_of_root_principal_uses_principal_account(h):
    principal = Principal(access_key="444455556666", account="444455556666")
    out = h.call("get_caller_identity", principal=principal)
    assert out == {"UserId": "444455556666", "Account": "444455556666", "Arn": "arn:aws:iam::444455556666:root"}


def test_caller_identity_partition_follows_region(h):
    out = h.call("get_caller_identity", region="cn-north-1")
    assert out["Arn"] == f"arn:aws-cn:iam::{ACCOUNT}:root"


def test_caller_identity_of_iam_user_principal(h):
    principal = Principal(access_key="AKIAEXAMPLE", account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
                          user_id="AIDAEXAMPLEEXAMPLE", kind="user")
    assert h.call("get_caller_identity", principal=principal) == {
        "UserId": "AIDAEXAMPLEEXAMPLE", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice"}


def test_caller_identity_with_assumed_role_credentials(h):
    out = assume(h, session="build-42")
    me = h.call("get_caller_identity", principal=as_creds(out["Credentials"]))
    assert me["Arn"] == "arn:aws:sts::111122223333:assumed-role/Deploy/build-42"
    assert me["Account"] == "111122223333"
    assert me["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]
    assert re.fullmatch(r"AROA[A-Z2-7]{17}:build-42", me["UserId"])


def test_caller_identity_with_expired_credentials(h):
    creds = assume(h, DurationSeconds=900)["Credentials"]
    h.clock.advance(899)
    h.call("get_caller_identity", principal=as_creds(creds))
    h.clock.advance(1)
    err = fails(h, "get_caller_identity", principal=as_creds(creds), code="ExpiredTokenException")
    assert "expired" in err.message


# -- AssumeRole -----------------------------------------------------------------------------
def test_assume_role_response(h):
    out = assume(h, role="arn:aws:iam::111122223333:role/team/ci/Deploy", session="s@x.com")
    creds = out["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", creds["AccessKeyId"])
    assert len(creds["SecretAccessKey"]) == 40
    assert creds["SessionToken"].startswith("IQoJb3JpZ2luX2Vj")
    assert epoch(creds["Expiration"]) == h.clock.t + 3600          # default duration
    # The path is not part of the assumed-role ARN.
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::111122223333:assumed-role/Deploy/s@x.com"
    assert out["AssumedRoleUser"]["AssumedRoleId"].endswith(":s@x.com")
    assert "PackedPolicySize" not in out               # no policy, no tags
    assert "SourceIdentity" not in out
    assert out["SessionTokenSize"] == len(creds["SessionToken"])
    assert 0 < out["SessionTokenUtilization"] <= 100


def test_assumed_role_key_belongs_to_role_account(h):
    creds = assume(h)["Credentials"]
    assert credentials.account_from_access_key_id(creds["AccessKeyId"]) == "111122223333"
    assert h.call("get_access_key_info", {"AccessKeyId": creds["AccessKeyId"]}) == {"Account": "111122223333"}


def test_role_id_is_stable_per_role_and_differs_between_roles(h):
    first = assume(h, session="a")["AssumedRoleUser"]["AssumedRoleId"].split(":")[0]
    again = assume(h, session="b")["AssumedRoleUser"]["AssumedRoleId"].split(":")[0]
    other = assume(h, role="arn:aws:iam::111122223333:role/Other")["AssumedRoleUser"]["AssumedRoleId"]
    assert first == again and other.split(":")[0] != first


def test_assume_role_stores_the_session(h):
    out = assume(h, Policy=POLICY, Tags=[{"Key": "team", "Value": "blue"}], TransitiveTagKeys=["team"],
                 ExternalId="ext-1", SourceIdentity="alice", SerialNumber="arn:aws:iam::123456789012:mfa/a",
                 TokenCode="123456", PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}])
    with h.store.transaction() as db:
        rec = credentials.lookup(db, out["Credentials"]["AccessKeyId"], now=h.clock.t)
    assert rec["kind"] == "assumed-role" and rec["principal_kind"] == "assumed-role"
    assert rec["role_arn"] == ROLE and rec["role_session_name"] == "s1"
    assert rec["tags"] == {"team": "blue"} and rec["transitive_tag_keys"] == ["team"]
    assert json.loads(rec["policy"]) == json.loads(POLICY)
    assert rec["policy_arns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert rec["external_id"] == "ext-1" and rec["source_identity"] == "alice"
    assert rec["mfa"] is True and rec["chained"] is False
    assert rec["caller_arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert rec["session_token"] == out["Credentials"]["SessionToken"]
    assert out["SourceIdentity"] == "alice"


@pytest.mark.parametrize("arn", ["nothing-valid-in-here", "arn::b:::something/test-role",
                                 "arn:a::::something/test-role", "arn:a:::something/test-role",
                                 "arn:a:a::aaaaaaaaaa:"])
def test_malformed_role_arn(h, arn):
    err = fails(h, "assume_role", {"RoleArn": arn, "RoleSessionName": "Session1"}, "ValidationError")
    assert err.message == f"{arn} is invalid"
    assert err.status == 400


@pytest.mark.parametrize("arn", ["arn:aws:iam::111122223333:user/bob", "arn:aws:s3:::bucket/role/x",
                                 "arn:aws:iam::notanaccount:role/R", "arn:aws:iam:::role/R",
                                 "arn:aws:iam::111122223333:role/"])
def test_arn_that_is_not_a_role_is_access_denied(h, arn):
    err = fails(h, "assume_role", {"RoleArn": arn, "RoleSessionName": "s"}, "AccessDenied")
    assert err.status == 403
    assert err.message == (f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: "
                           f"sts:AssumeRole on resource: {arn}")


def test_cross_account_and_partition(h):
    out = assume(h, role="arn:aws-cn:iam::210987654321:role/R")
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws-cn:sts::210987654321:assumed-role/R/s1"


@pytest.mark.parametrize("seconds", [900, 1800, 3600])
def test_duration_within_default_max(h, seconds):
    creds = assume(h, DurationSeconds=seconds)["Credentials"]
    assert epoch(creds["Expiration"]) == h.clock.t + seconds


def test_duration_above_role_max_session_duration(h):
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "DurationSeconds": 3601},
                "ValidationError")
    assert err.message == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


def test_duration_uses_iam_role_record_when_there_is_one(h, monkeypatch):
    from haneul.services.sts import iam_records
    role = {"role_id": "AROAEXAMPLEEXAMPLE12", "arn": "arn:aws:iam::111122223333:role/ops/Deploy",
            "max_session_duration": 43200, "tags": {}, "trust_policy": "{}", "path": "/ops/"}
    seen = []

    def lookup(db, account, name):
        seen.append((account, name))
        return role
    monkeypatch.setattr(iam_records, "lookup_role", lookup)
    out = assume(h, DurationSeconds=43200)
    assert seen == [("111122223333", "Deploy")]
    assert out["AssumedRoleUser"]["AssumedRoleId"] == "AROAEXAMPLEEXAMPLE12:s1"
    assert epoch(out["Credentials"]["Expiration"]) == h.clock.t + 43200
    with h.store.transaction() as db:
        assert credentials.lookup(db, out["Credentials"]["AccessKeyId"])["role_arn"] == role["arn"]


def test_trust_policy_denial_from_iam(h, monkeypatch):
    from haneul.services.sts import iam_records
    monkeypatch.setattr(iam_records, "lookup_role", lambda db, a, n: {"role_id": "AROAX", "arn": ROLE,
                                                                      "max_session_duration": 3600})
    monkeypatch.setattr(iam_records, "assume_role_denial",
                        lambda db, role, **kw: f"denied {kw['external_id']}")
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "ExternalId": "x1"}, "AccessDenied")
    assert err.message == "denied x1"


def test_role_chaining(h):
    first = assume(h, session="one")["Credentials"]
    out = h.call("assume_role", {"RoleArn": "arn:aws:iam::444455556666:role/Next", "RoleSessionName": "two"},
                 principal=as_creds(first))
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::444455556666:assumed-role/Next/two"
    with h.store.transaction() as db:
        rec = credentials.lookup(db, out["Credentials"]["AccessKeyId"])
    assert rec["chained"] is True
    assert rec["caller_arn"] == "arn:aws:sts::111122223333:assumed-role/Deploy/one"
    assert rec["parent_access_key"] == first["AccessKeyId"]


def test_role_chaining_is_limited_to_one_hour(h):
    first = assume(h)["Credentials"]
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "DurationSeconds": 3601},
                "ValidationError", principal=as_creds(first))
    assert err.message == ("The requested DurationSeconds exceeds the 1 hour session limit for roles "
                           "assumed by role chaining.")


def test_session_token_credentials_may_assume_a_role_without_chaining(h):
    session = h.call("get_session_token")["Credentials"]
    out = h.call("assume_role", {"RoleArn": ROLE, "RoleSessionName": "s"}, principal=as_creds(session))
    with h.store.transaction() as db:
        assert credentials.lookup(db, out["Credentials"]["AccessKeyId"])["chained"] is False


def test_federated_user_cannot_assume_role(h):
    fed = h.call("get_federation_token", {"Name": "bob"})["Credentials"]
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s"}, "AccessDenied",
                principal=as_creds(fed))
    assert err.message == (f"User: arn:aws:sts::{ACCOUNT}:federated-user/bob is not authorized to perform: "
                           f"sts:AssumeRole on resource: {ROLE}")


def test_policy_gives_packed_policy_size(h):
    out = assume(h, Policy=POLICY)
    assert 0 < out["PackedPolicySize"] < 50
    bigger = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": f"s3:GetObject{i}", "Resource": f"arn:aws:s3:::b{i * 7919}/*"}
        for i in range(12)]})
    assert assume(h, Policy=bigger)["PackedPolicySize"] > out["PackedPolicySize"]


def test_policy_longer_than_2048(h):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "b" * 2100}]})
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "Policy": policy}, "ValidationError")
    assert "at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048" \
        in err.message


def test_packed_policy_too_large(h):
    import random
    rng = random.Random(7)
    resources = ["arn:aws:s3:::" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(75))
                 for _ in range(20)]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}]}, separators=(",", ":"))
    assert len(policy) <= 2048
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "Policy": policy},
                "PackedPolicyTooLargeException")
    assert re.fullmatch(r"Packed policy consumes \d+% of allotted space, please use smaller policy\.", err.message)


def test_too_many_session_tags_for_packed_space(h):
    import random
    rng = random.Random(3)
    tags = [{"Key": f"k{i}" + "".join(rng.choice("abcdefghij") for _ in range(60)),
             "Value": "".join(rng.choice("ABCDEFGHIJKLMNOP0123456789") for _ in range(200))} for i in range(50)]
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "Tags": tags},
                "PackedPolicyTooLargeException")
    assert re.fullmatch(r"Packed size of session tags consumes \d+% of allotted space\.", err.message)


@pytest.mark.parametrize("policy,message", [
    ("not json", "Unexpected character ('n' (code 110))"),
    ('{"Version": "2012-10-17", "Statement": [}', "Unexpected character ('}' (code 125))"),
    ('{"Version": "2012-10-17"', "Unexpected end-of-input"),
    ('[]', "Syntax errors in policy."),
    ('{"Version": "2012-10-17"}', "Syntax errors in policy."),
    ('{"Version": "2012-10-17", "Statement": [], "Extra": 1}', "Syntax errors in policy."),
    ('{"Version": "1999-01-01", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
     "The policy must contain a valid version string"),
    ('{"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}', "Syntax errors in policy."),
    ('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}',
     "Policy document should not specify a principal."),
    ('{"Statement": [{"Effect": "Allow", "Resource": "*"}]}', "Policy statement must contain actions."),
    ('{"Statement": [{"Effect": "Allow", "Action": "*"}]}', "Policy statement must contain resources."),
    ('{"Statement": [{"Effect": "Allow", "Action": 5, "Resource": "*"}]}', "Syntax errors in policy."),
])
def test_malformed_session_policy(h, policy, message):
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "Policy": policy},
                "MalformedPolicyDocumentException")
    assert err.message.startswith(message)


def test_single_statement_object_and_notaction_are_valid(h):
    policy = '{"Statement": {"Effect": "Deny", "NotAction": ["iam:*"], "NotResource": "arn:aws:s3:::x"}}'
    assert "PackedPolicySize" in assume(h, Policy=policy)


def test_policy_arns(h):
    arns = [{"arn": f"arn:aws:iam::111122223333:policy/p{i}"} for i in range(10)]
    assert assume(h, PolicyArns=arns)["PackedPolicySize"] > 0
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s",
                                   "PolicyArns": arns + [{"arn": "arn:aws:iam::111122223333:policy/p10"}]},
                "ValidationError")
    assert "Member must have length less than or equal to 10" in err.message
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "PolicyArns": [{"arn": "bad-arn"}]},
                "ValidationError")
    assert err.message == "bad-arn is invalid"


def test_session_tags_validation(h):
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s",
                                   "Tags": [{"Key": "SessionTag1", "Value": "v"}],
                                   "TransitiveTagKeys": ["InvalidKey"]}, "InvalidParameterValue")
    assert err.message == "The specified transitive tag key must be included in the requested tags."
    assert err.status == 400
    # Transitive keys match tags case-insensitively.
    assume(h, Tags=[{"Key": "SessionTag1", "Value": "v"}], TransitiveTagKeys=["sessiontag1"])
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s",
                                   "Tags": [{"Key": "SessionTag1", "Value": "a"},
                                            {"Key": "sessiontag1", "Value": "b"}]}, "InvalidParameterValue")
    assert err.message == "Duplicate tag keys found. Please note that Tag keys are case insensitive."


def test_transitive_tags_pass_down_a_role_chain(h):
    first = assume(h, Tags=[{"Key": "Project", "Value": "x"}, {"Key": "Temp", "Value": "y"}],
                   TransitiveTagKeys=["project"])["Credentials"]
    second = h.call("assume_role", {"RoleArn": ROLE, "RoleSessionName": "two",
                                    "Tags": [{"Key": "Other", "Value": "z"}]}, principal=as_creds(first))
    assert second["PackedPolicySize"] > 0
    with h.store.transaction() as db:
        rec = credentials.lookup(db, second["Credentials"]["AccessKeyId"])
    assert rec["tags"] == {"Project": "x", "Other": "z"}          # Temp was not transitive
    assert rec["transitive_tag_keys"] == ["Project"]
    third = h.call("assume_role", {"RoleArn": ROLE, "RoleSessionName": "three"},
                   principal=as_creds(second["Credentials"]))
    with h.store.transaction() as db:
        assert credentials.lookup(db, third["Credentials"]["AccessKeyId"])["tags"] == {"Project": "x"}


@pytest.mark.parametrize("key", ["Project", "PROJECT"])
def test_transitive_tag_cannot_be_overridden(h, key):
    first = assume(h, Tags=[{"Key": "Project", "Value": "x"}], TransitiveTagKeys=["Project"])["Credentials"]
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "Tags": [{"Key": key, "Value": "y"}]},
                "InvalidParameterValue", principal=as_creds(first))
    assert err.message == ("One of the specified transitive tag keys can't be set because it conflicts with a "
                           "transitive tag key from the calling session.")


def test_source_identity(h):
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "SourceIdentity": "aws:me"},
                "ValidationError")
    assert "aws:" in err.message
    first = assume(h, SourceIdentity="alice")
    assert first["SourceIdentity"] == "alice"
    # It persists down a chain, and cannot be changed there.
    second = h.call("assume_role", {"RoleArn": ROLE, "RoleSessionName": "two"},
                    principal=as_creds(first["Credentials"]))
    assert second["SourceIdentity"] == "alice"
    fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "three", "SourceIdentity": "mallory"},
          "AccessDenied", principal=as_creds(first["Credentials"]))


def test_mfa_parameters(h, monkeypatch):
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "TokenCode": "123456"}, "AccessDenied")
    assert "must provide both MFA serial number and one time pass code" in err.message
    from haneul.services.sts import iam_records
    monkeypatch.setattr(iam_records, "verify_mfa_code", lambda db, account, serial, code: code == "111111")
    assume(h, SerialNumber="arn:aws:iam::123456789012:mfa/a", TokenCode="111111")
    err = fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "SerialNumber": "GAHT12345678",
                                   "TokenCode": "222222"}, "AccessDenied")
    assert err.message == "MultiFactorAuthentication failed with invalid MFA one time pass code."


def test_provided_contexts_cannot_be_verified(h):
    fails(h, "assume_role", {"RoleArn": ROLE, "RoleSessionName": "s", "ProvidedContexts": [
        {"ProviderArn": "arn:aws:iam::aws:contextProvider/IdentityCenter", "ContextAssertion": "abcd"}]},
          "InvalidContextAssertionException")


def test_minimum_session_token_size(h):
    out = assume(h, MinimumSessionTokenSize=4000)
    assert len(out["Credentials"]["SessionToken"]) >= 4000
    assert out["SessionTokenSize"] == len(out["Credentials"]["SessionToken"])
    assert out["SessionTokenUtilization"] >= 97


# -- GetSessionToken ----------------------------------------------------------------------
def test_session_token_for_root_is_capped_at_one_hour(h):
    out = h.call("get_session_token")
    assert epoch(out["Credentials"]["Expiration"]) == h.clock.t + 3600
    out = h.call("get_session_token", {"DurationSeconds": 129600})
    assert epoch(out["Credentials"]["Expiration"]) == h.clock.t + 3600
    out = h.call("get_session_token", {"DurationSeconds": 900})
    assert epoch(out["Credentials"]["Expiration"]) == h.clock.t + 900
    assert out["SessionTokenSize"] == len(out["Credentials"]["SessionToken"])


def test_session_token_for_iam_user(h):
    user = Principal(access_key="AKIAUSER", account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
                     user_id="AIDAALICE", kind="user")
    out = h.call("get_session_token", principal=user)
    assert epoch(out["Credentials"]["Expiration"]) == h.clock.t + 43200      # default 12 hours
    out = h.call("get_session_token", {"DurationSeconds": 129600}, principal=user)
    assert epoch(out["Credentials"]["Expiration"]) == h.clock.t + 129600
    me = h.call("get_caller_identity", principal=as_creds(out["Credentials"]))
    assert me == {"UserId": "AIDAALICE", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice"}
    with h.store.transaction() as db:
        rec = credentials.lookup(db, out["Credentials"]["AccessKeyId"])
    assert rec["kind"] == "session" and rec["principal_kind"] == "user"


def test_session_token_credentials_identify_as_root(h):
    creds = h.call("get_session_token", {"SerialNumber": "arn:aws:iam::123456789012:mfa/root",
                                         "TokenCode": "123456"})["Credentials"]
    assert h.call("get_caller_identity", principal=as_creds(creds)) == {
        "UserId": ACCOUNT, "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"}
    with h.store.transaction() as db:
        assert credentials.lookup(db, creds["AccessKeyId"])["mfa"] is True


@pytest.mark.parametrize("source", ["assume", "session", "federation"])
def test_session_credentials_cannot_get_session_or_federation_tokens(h, source):
    creds = {"assume": lambda: assume(h),
             "session": lambda: h.call("get_session_token"),
             "federation": lambda: h.call("get_federation_token", {"Name": "bob"})}[source]()["Credentials"]
    err = fails(h, "get_session_token", principal=as_creds(creds), code="AccessDenied")
    assert err.message == "Cannot call GetSessionToken with session credentials"
    assert err.status == 403
    err = fails(h, "get_federation_token", {"Name": "x"}, principal=as_creds(creds), code="AccessDenied")
    assert err.message == "Cannot call GetFederationToken with session credentials"


# -- GetFederationToken -------------------------------------------------------------------
def test_federation_token(h):
    out = h.call("get_federation_token", {"Name": "Bob", "DurationSeconds": 900})
    assert out["FederatedUser"] == {"FederatedUserId": f"{ACCOUNT}:Bob",
                                    "Arn": f"arn:aws:sts::{ACCOUNT}:federated-user/Bob"}
    assert out["PackedPolicySize"] == 0
    assert epoch(out["Credentials"]["Expiration"]) == h.clock.t + 900
    me = h.call("get_caller_identity", principal=as_creds(out["Credentials"]))
    assert me == {"UserId": f"{ACCOUNT}:Bob", "Account": ACCOUNT, "Arn": f"arn:aws:sts::{ACCOUNT}:federated-user/Bob"}
    with h.store.transaction() as db:
        rec = credentials.lookup(db, out["Credentials"]["AccessKeyId"])
    assert rec["kind"] == "federated-user" and rec["principal_kind"] == "federated"


def test_federation_token_duration_limits(h):
    assert epoch(h.call("get_federation_token", {"Name": "a"})["Credentials"]["Expiration"]) == h.clock.t + 3600
    user = Principal(access_key="AKIAUSER", account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/proxy",
                     user_id="AIDAPROXY", kind="user")
    out = h.call("get_federation_token", {"Name": "a"}, principal=user)
    assert epoch(out["Credentials"]["Expiration"]) == h.clock.t + 43200
    out = h.call("get_federation_token", {"Name": "a", "DurationSeconds": 129600}, principal=user)
    assert epoch(out["Credentials"]["Expiration"]) == h.clock.t + 129600


def test_federation_token_with_policy_and_tags(h):
    out = h.call("get_federation_token", {"Name": "a", "Policy": POLICY,
                                          "Tags": [{"Key": "dept", "Value": "eng"}]})
    assert out["PackedPolicySize"] > 0
    with h.store.transaction() as db:
        rec = credentials.lookup(db, out["Credentials"]["AccessKeyId"])
    assert rec["tags"] == {"dept": "eng"}
    fails(h, "get_federation_token", {"Name": "a", "Policy": "{"}, "MalformedPolicyDocumentException")
    fails(h, "get_federation_token", {"Name": "a", "Tags": [{"Key": "A", "Value": "1"}, {"Key": "a", "Value": "2"}]},
          "InvalidParameterValue")


@pytest.mark.parametrize("op,payload", [
    ("get_access_key_info", {"AccessKeyId": "ASIAQAAAAAAAAAAAAAAA"}),
    ("decode_authorization_message", {"EncodedMessage": "x"}),
    ("get_web_identity_token", {"Audience": ["a"], "SigningAlgorithm": "RS256"}),
])
def test_federated_credentials_may_only_call_a_few_operations(h, op, payload):
    creds = h.call("get_federation_token", {"Name": "bob"})["Credentials"]
    err = fails(h, op, payload, "AccessDenied", principal=as_creds(creds))
    assert err.message.startswith(f"User: arn:aws:sts::{ACCOUNT}:federated-user/bob is not authorized to perform: sts:")


# -- GetAccessKeyInfo ---------------------------------------------------------------------
def test_access_key_info(h):
    assert h.call("get_access_key_info", {"AccessKeyId": "210987654321"}) == {"Account": "210987654321"}
    assert h.call("get_access_key_info", {"AccessKeyId": "AKIASP2TPHJSQH3FJRUX"}) == {"Account": "171436882533"}
    # A pre-2018 style key Haneul did not issue: the default account.
    assert h.call("get_access_key_info", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE"}) == {"Account": "000000000000"}
    fed = h.call("get_federation_token", {"Name": "x"})["Credentials"]
    assert h.call("get_access_key_info", {"AccessKeyId": fed["AccessKeyId"]}) == {"Account": ACCOUNT}


def test_access_key_info_prefers_the_stored_session(h, monkeypatch):
    out = assume(h)
    key = out["Credentials"]["AccessKeyId"]
    monkeypatch.setattr(credentials, "account_from_access_key_id", lambda k: "999999999999")
    assert h.call("get_access_key_info", {"AccessKeyId": key}) == {"Account": "111122223333"}


def test_access_key_info_default_account_from_config(h):
    class App:
        class config:
            default_account = "555555555555"
    assert h.call("get_access_key_info", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE"}, app=App()) == {
        "Account": "555555555555"}


@pytest.mark.parametrize("op,payload,member", [
    ("assume_role", {"RoleArn": ROLE, "RoleSessionName": "Session1:2"}, "roleSessionName"),
    ("assume_role", {"RoleArn": ROLE, "RoleSessionName": "a/b"}, "roleSessionName"),
    ("get_federation_token", {"Name": "bob smith"}, "name"),
])
def test_names_that_go_into_arns_must_fully_match_the_pattern(h, op, payload, member):
    err = fails(h, op, payload, "ValidationError")
    value = payload.get("RoleSessionName") or payload.get("Name")
    assert err.message == (f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
                           "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
