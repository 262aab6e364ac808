"""Bucket policy evaluation: condition operators and keys, NotPrincipal, and "is public"."""

import json

import pytest

from haneul.context import Principal
from haneul.errors import AwsError
from haneul.services.s3 import access
from haneul.services.s3.policy_conditions import holds
from haneul.services.s3.service import S3
from tests.unit.services.helpers import Harness, finishes

OWNER, OTHER = "111111111111", "222222222222"


def test_operators_and_qualifiers():
    keys = {"aws:sourceip": "10.1.2.3", "s3:prefix": "home/alice/", "aws:securetransport": "false",
            "s3:max-keys": "50", "aws:currenttime": "2024-01-02T00:00:00Z", "tags": ["a", "b"]}
    assert holds({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}, keys)
    assert not holds({"NotIpAddress": {"aws:SourceIp": "10.1.0.0/16"}}, keys)
    assert holds({"StringLike": {"s3:prefix": ["home/${aws:username}/*", "x"]}}, {**keys, "aws:username": "alice"})
    assert not holds({"StringEquals": {"s3:prefix": "home/"}}, keys)
    assert holds({"Bool": {"aws:SecureTransport": "false"}}, keys)
    assert holds({"NumericLessThanEquals": {"s3:max-keys": "100"}}, keys)
    assert holds({"DateGreaterThan": {"aws:CurrentTime": "2023-12-31T00:00:00Z"}}, keys)
    assert not holds({"StringEquals": {"aws:PrincipalOrgID": "o-1"}}, keys)        # missing key fails
    assert holds({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}}, keys)
    assert holds({"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}}, keys)
    assert holds({"Null": {"aws:PrincipalOrgID": "true", "s3:prefix": "false"}}, keys)
    assert holds({"ForAllValues:StringEquals": {"tags": ["a", "b", "c"]}}, keys)
    assert not holds({"ForAllValues:StringEquals": {"tags": ["a"]}}, keys)
    assert holds({"ForAnyValue:StringEquals": {"tags": ["b"]}}, keys)
    assert holds({"ForAllValues:StringEquals": {"absent": ["x"]}}, keys)
    assert not holds({"NoSuchOperator": {"s3:prefix": "x"}}, keys)


def _setup(policy):
    h = Harness(S3, account=OWNER)
    h.call("create_bucket", {"Bucket": "pol-bucket"})
    h.call("delete_public_access_block", {"Bucket": "pol-bucket"})
    h.call("put_bucket_policy", {"Bucket": "pol-bucket", "Policy": json.dumps({"Version": "2012-10-17",
                                                                              "Statement": policy})})
    return h


def _as(h, account, kind="root", **kw):
    principal = Principal(access_key=account, account=account, arn=f"arn:aws:iam::{account}:root",
                          user_id=account, kind=kind)
    return dict(account=account, principal=principal, **kw)


def _list(h, **kw):
    return h.call("list_objects_v2", {"Bucket": "pol-bucket", **kw.pop("request", {})}, **kw)


def test_secure_transport_deny_and_source_ip():
    h = _setup([{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::pol-bucket",
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:ListBucket",
                 "Resource": "arn:aws:s3:::pol-bucket", "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}])
    with pytest.raises(AwsError):                    # not over TLS: even the owner is refused
        _list(h, **_as(h, OWNER, secure_transport=False))
    assert _list(h, **_as(h, OWNER))["KeyCount"] == 0
    with pytest.raises(AwsError):
        _list(h, **_as(h, OTHER))
    _list(h, **_as(h, OTHER, headers={"x-forwarded-for": "192.0.2.9"}))


def test_prefix_condition_and_not_principal():
    h = _setup([{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "s3:ListBucket",
                 "Resource": "arn:aws:s3:::pol-bucket", "Condition": {"StringLike": {"s3:prefix": "public/*"}}},
                {"Effect": "Deny", "NotPrincipal": {"AWS": [OWNER, OTHER]}, "Action": "s3:*",
                 "Resource": ["arn:aws:s3:::pol-bucket", "arn:aws:s3:::pol-bucket/*"]}])
    _list(h, request={"Prefix": "public/x"}, **_as(h, OTHER))
    with pytest.raises(AwsError):
        _list(h, request={"Prefix": "private/"}, **_as(h, OTHER))
    with pytest.raises(AwsError):
        _list(h, request={"Prefix": "public/x"}, **_as(h, "333333333333"))
    assert h.call("get_bucket_policy_status", {"Bucket": "pol-bucket"})["PolicyStatus"]["IsPublic"] is False


def test_principal_org_id():
    h = _setup([{"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::pol-bucket",
                 "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}])
    with h.store.transaction() as db:
        db.execute("CREATE TABLE IF NOT EXISTS org_account (id TEXT PRIMARY KEY, org TEXT)")
        db.execute("CREATE TABLE IF NOT EXISTS org_organization (id TEXT PRIMARY KEY, mgmt TEXT)")
        db.execute("INSERT INTO org_account(id, org) VALUES(?, 'o-abc123')", (OTHER,))
    _list(h, **_as(h, OTHER))
    with pytest.raises(AwsError):
        _list(h, **_as(h, "333333333333"))
    assert h.call("get_bucket_policy_status", {"Bucket": "pol-bucket"})["PolicyStatus"]["IsPublic"] is False


@pytest.mark.parametrize("statement, public", [
    ({"Principal": "*"}, True),
    ({"Principal": {"AWS": "*"}, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, True),
    ({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}, False),
    ({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}}, True),
    ({"Principal": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}, True),
    ({"Principal": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}, False),
    ({"Principal": "*", "Condition": {"StringLike": {"aws:SourceVpce": "vpce-*"}}}, True),
    ({"Principal": "*", "Condition": {"StringNotEquals": {"aws:SourceAccount": OTHER}}}, True),
    ({"Principal": "*", "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": OTHER}}}, True),
    ({"NotPrincipal": {"AWS": OTHER}}, True),
    ({"Principal": {"AWS": OTHER}}, False),
])
def test_is_public(statement, public):
    doc = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **statement}]}
    assert access.policy_is_public(doc) is public


def test_pathological_wildcards_in_bucket_policy_conditions_finish():
    evil = "*a" * 14 + "*b"
    keys = {"s3:prefix": "a" * 60, "aws:sourcearn": "arn:aws:s3:::" + "a" * 60}
    assert finishes(lambda: not holds({"StringLike": {"s3:prefix": evil}}, keys))
    assert finishes(lambda: not holds({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::" + evil}}, keys))
