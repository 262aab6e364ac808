"""Access key formats, the credential table and `lookup` (used by the identity layer)."""

import base64
import re

import pytest

from haneul.services.sts import credentials
from haneul.store import Store

KEY_RE = re.compile(r"^ASIA[A-Z2-7]{16}$")


@pytest.fixture
def db():
    store = Store(None)
    store.migrate("sts", credentials.SCHEMA)
    with store.transaction() as conn:
        yield conn
    store.close()


@pytest.mark.parametrize("account", ["000000000000", "000000000001", "123456789012", "999999999999"])
def test_access_key_id_encodes_its_account(account):
    key = credentials.new_access_key_id(account)
    assert KEY_RE.match(key)
    assert key[4] in "QRSTUVWXYZ234567"        # the post-2018 marker bit
    assert credentials.account_from_access_key_id(key) == account


def test_long_term_prefix():
    key = credentials.new_access_key_id("123456789012", prefix="AKIA")
    assert key.startswith("AKIA") and len(key) == 20
    assert credentials.account_from_access_key_id(key) == "123456789012"


@pytest.mark.parametrize("key,account", [
    # Published examples of real keys and the accounts they decode to.
    ("ASIAY34FZKBOKMUTVV7A", "609629065308"),
    ("AKIASP2TPHJSQH3FJRUX", "171436882533"),
    ("AKIAQNZGKIQY56JQ7WML", "029608264753"),
])
def test_decodes_real_aws_keys(key, account):
    assert credentials.account_from_access_key_id(key) == account


@pytest.mark.parametrize("key", ["AKIAIOSFODNN7EXAMPLE", "test", "", "ASIAQ1111111111111111",
                                 "ASIAQAAAAAAAAAAAAAA", "ASIAQAAAAAAAAAAAAAA!", "1234QAAAAAAAAAAAAAAA"])
def test_keys_without_an_encoded_account(key):
    assert credentials.account_from_access_key_id(key) is None


def test_keys_are_unique():
    keys = {credentials.new_access_key_id("123456789012") for _ in range(500)}
    assert len(keys) == 500


def test_secret_and_token_formats():
    secret = credentials.new_secret_access_key()
    assert len(secret) == 40 and re.fullmatch(r"[A-Za-z0-9+/]{40}", secret)
    token = credentials.new_session_token()
    assert token.startswith("IQoJb3JpZ2luX2Vj")
    base64.b64decode(token, validate=True)
    assert credentials.new_session_token(minimum_size=3000).__len__() >= 3000
    small = credentials.new_session_token(b"x" * 10)
    large = credentials.new_session_token(bytes(range(256)) * 8)
    assert len(large) > len(small)            # tokens grow with packed policies and tags


def test_unique_id_format_and_stability():
    a = credentials.unique_id("AROA", seed="aws:123456789012:MyRole")
    assert re.fullmatch(r"AROA[A-Z2-7]{17}", a)
    assert a == credentials.unique_id("AROA", seed="aws:123456789012:MyRole")
    assert a != credentials.unique_id("AROA", seed="aws:123456789012:Other")
    assert credentials.unique_id("AROA") != credentials.unique_id("AROA")


def test_issue_then_lookup(db):
    row = credentials.issue(db, account="111122223333", kind="assumed-role", principal_kind="assumed-role",
                            arn="arn:aws:sts::111122223333:assumed-role/R/s", user_id="AROAX:s",
                            now=1000.5, duration=900, tags={"a": "b"}, transitive_tag_keys=["a"],
                            policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"], mfa=True)
    found = credentials.lookup(db, row["access_key_id"], now=1500)
    assert found["account"] == "111122223333"
    assert found["arn"] == "arn:aws:sts::111122223333:assumed-role/R/s"
    assert found["user_id"] == "AROAX:s"
    assert found["kind"] == "assumed-role"
    assert found["principal_kind"] == "assumed-role"
    assert found["expiration"] == 1900.0           # issued time is whole seconds
    assert found["session_token"] == row["session_token"]
    assert found["secret_access_key"] == row["secret_access_key"]
    assert found["tags"] == {"a": "b"} and found["transitive_tag_keys"] == ["a"]
    assert found["policy_arns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert found["mfa"] is True and found["expired"] is False


def test_lookup_reports_expiry(db):
    row = credentials.issue(db, account="111122223333", kind="session", principal_kind="root",
                            arn="arn:aws:iam::111122223333:root", user_id="111122223333", now=1000,
                            duration=900)
    assert credentials.lookup(db, row["access_key_id"], now=1899)["expired"] is False
    assert credentials.lookup(db, row["access_key_id"], now=1900)["expired"] is True
    assert credentials.lookup(db, "ASIAQAAAAAAAAAAAAAAA") is None


def test_long_expired_rows_are_purged_but_recent_ones_kept(db):
    old = credentials.issue(db, account="111122223333", kind="session", principal_kind="root",
                            arn="arn:aws:iam::111122223333:root", user_id="111122223333", now=0, duration=900)
    recent = credentials.issue(db, account="111122223333", kind="session", principal_kind="root",
                               arn="arn:aws:iam::111122223333:root", user_id="111122223333",
                               now=credentials.EXPIRED_GRACE_SECONDS, duration=900)
    credentials.issue(db, account="111122223333", kind="session", principal_kind="root",
                      arn="arn:aws:iam::111122223333:root", user_id="111122223333",
                      now=credentials.EXPIRED_GRACE_SECONDS + 1000, duration=900)
    assert credentials.lookup(db, old["access_key_id"]) is None
    assert credentials.lookup(db, recent["access_key_id"])["expired"] is True


def test_issue_rejects_unknown_fields(db):
    with pytest.raises(TypeError):
        credentials.issue(db, account="1", kind="session", principal_kind="root", arn="a", user_id="u",
                          now=0, duration=1, bogus=1)


def test_secret_is_created_once(db):
    first = credentials.secret(db, "k")
    assert len(first) == 32 and credentials.secret(db, "k") == first
    assert credentials.secret(db, "other") != first
