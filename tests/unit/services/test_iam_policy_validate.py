"""IAM policy documents refused with IAM's messages (haneul/services/iam/policy/validate.py)."""

import json

import pytest

from haneul.services.iam.policy import validate
from haneul.services.iam.policy.validate import IDENTITY, TRUST, MalformedPolicy, check


def doc(*statements, version="2012-10-17", **top):
    body = {"Statement": list(statements), **top}
    if version is not None:
        body["Version"] = version
    return json.dumps(body)


ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
TRUSTS = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}


def message(document, kind=IDENTITY, **kw):
    with pytest.raises(MalformedPolicy) as info:
        check(document, kind, **kw)
    return info.value.message


def test_valid_identity_and_trust_documents():
    assert check(doc(ALLOW))["Version"] == "2012-10-17"
    assert check(doc(TRUSTS), TRUST)
    assert check(json.dumps({"Version": "2012-10-17", "Statement": ALLOW}))   # a single statement object
    assert check(doc({"Effect": "Deny", "NotAction": ["iam:*"], "NotResource": "arn:aws:s3:::b/*"}))
    assert check(doc({**ALLOW, "Condition": {"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*"]},
                                             "Bool": {"aws:SecureTransport": True}}}))


@pytest.mark.parametrize("document", [
    "{not json", "[]", json.dumps({"Version": "2012-10-17"}),
    doc({**ALLOW, "Effect": "Permit"}), doc({**ALLOW, "Extra": 1}), doc(ALLOW, Unknown=1),
    doc({**ALLOW, "NotAction": "s3:*"}), doc({**ALLOW, "Action": {"a": 1}}), doc({**ALLOW, "Sid": 5}),
    doc(ALLOW, version="2010-01-01"), doc({**ALLOW, "Condition": {"StringEqualz": {"a:b": "c"}}}),
    doc({**ALLOW, "Condition": {"StringEquals": "x"}}), doc(), '{"Statement": [], "Statement": []}',
])
def test_syntax_errors(document):
    assert message(document) == "Syntax errors in policy."


def test_identity_policy_rules():
    assert message(doc({**ALLOW, "Principal": "*"})) == "Policy document should not specify a principal."
    assert message(doc({"Effect": "Allow", "Resource": "*"})) == "Policy statement must contain actions."
    assert message(doc({"Effect": "Allow", "Action": []  , "Resource": "*"})) == "Policy statement must contain actions."
    assert message(doc({"Effect": "Allow", "Action": "s3:*"})) == "Policy statement must contain resources."
    assert message(doc({**ALLOW, "Sid": "a-b"})).startswith("Statement IDs (SID) must be alpha-numeric.")
    assert message(doc({**ALLOW, "Sid": "A"}, {**ALLOW, "Sid": "A"})) == \
        "Statement IDs (SID) in a single policy must be unique."


def test_legacy_parsing_and_versions():
    assert message(doc({**ALLOW, "Effect": "allow"})) == "The policy failed legacy parsing"
    assert message(doc({**ALLOW, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "yesterday"}}})) == \
        "The policy failed legacy parsing"
    assert message(doc(ALLOW, version=None), require_current_version=True) == \
        "Policy document must be version 2012-10-17 or greater."
    assert message(doc({**ALLOW, "Resource": "arn:aws:s3:::${aws:username}"}, version="2008-10-17")) == \
        "Policy document must be version 2012-10-17 or greater."
    assert check(doc(ALLOW, version=None))          # inline policies may omit the version


def test_actions_need_a_vendor():
    assert message(doc({**ALLOW, "Action": "GetObject"})) == \
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    assert message(doc({**ALLOW, "Action": "s3:Get:Object"})) == "Actions/Condition can contain only one colon."
    assert message(doc({**ALLOW, "Action": "s 3:Get"})) == "Vendor s 3 is not valid"


def test_resources_must_be_arns():
    assert message(doc({**ALLOW, "Resource": "bucket"})) == 'Resource bucket must be in ARN format or "*".'
    # https://github.com/cloudera-labs/cloudera.exe/issues/112: empty segments are shown empty
    assert message(doc({**ALLOW, "Resource": "arn:${ARN_PARTITION}:s3:::XYZ-ABC-DEFG"})) == \
        'Partition "${ARN_PARTITION}" is not valid for resource "arn:${ARN_PARTITION}:s3:::XYZ-ABC-DEFG".'
    assert message(doc({**ALLOW, "Resource": "arn:foo:s3"})) == \
        'Partition "foo" is not valid for resource "arn:foo:s3:*:*:*".'
    assert message(doc({**ALLOW, "Resource": "arn:aws:iam:us-east-1:123456789012:user/x"})) == \
        "IAM resource arn:aws:iam:us-east-1:123456789012:user/x cannot contain region information."
    assert message(doc({**ALLOW, "Resource": "arn:aws:iam::123456789012:thing/x"})).startswith(
        'IAM resource path must either be "*" or start with user/, ')
    assert message(doc({**ALLOW, "Resource": "arn:aws:s3:us-east-1::b"})) == \
        "Resource arn:aws:s3:us-east-1::b can not contain region information."


def test_trust_policy_rules():
    no_principal = {k: v for k, v in TRUSTS.items() if k != "Principal"}
    assert message(doc(no_principal), TRUST) == "Missing required field Principal"
    assert message(doc({**TRUSTS, "Resource": "*"}), TRUST) == "Has prohibited field Resource"
    assert message(doc({**TRUSTS, "Action": "s3:GetObject"}), TRUST).startswith(
        "Trust Policy statement actions can only be sts:AssumeRole")
    assert message(doc({**TRUSTS, "Principal": {"Service": "nonsense"}}), TRUST) == \
        'Invalid principal in policy: "SERVICE":"nonsense"'
    assert message(doc({**TRUSTS, "Principal": {"AWS": "arn:aws:iam::123456789012:role/none"}}), TRUST,
                   principal_exists=lambda arn: False) == \
        'Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/none"'
    assert message(doc({**TRUSTS, "Principal": {"AWS": "bob"}}), TRUST) == 'Invalid principal in policy: "AWS":"bob"'
    for ok in ("*", "123456789012", "arn:aws:iam::123456789012:root",
               "arn:aws:sts::123456789012:assumed-role/r/s"):
        assert check(doc({**TRUSTS, "Principal": {"AWS": ok}}), TRUST)
    assert check(doc({**TRUSTS, "Principal": {"AWS": "arn:aws:iam::123456789012:role/r"}}), TRUST,
                 principal_exists=lambda arn: True)
    assert check(doc({**TRUSTS, "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                      "Action": "sts:AssumeRoleWithWebIdentity"}), TRUST)


def test_first_fault_wins_in_iams_order():
    # both a bad resource and a duplicate Sid: IAM names the Sid first
    bad = doc({**ALLOW, "Sid": "A", "Resource": "bucket"}, {**ALLOW, "Sid": "A"})
    assert message(bad) == "Statement IDs (SID) in a single policy must be unique."


def test_significant_size_ignores_white_space():
    assert validate.significant_size('{ "a" :\n\t"b c" }') == 10


def test_orderings_seen_on_aws():
    # https://github.com/Wolox/carthage_cache/issues/22: Sids both duplicated and not
    # alpha-numeric: IAM names the characters first
    bad = doc({**ALLOW, "Sid": "autogenerated-id"}, {**ALLOW, "Sid": "autogenerated-id"})
    assert message(bad).startswith("Statement IDs (SID) must be alpha-numeric.")
    # https://github.com/kubernetes-sigs/external-dns/issues/3085: an identity policy given as a
    # trust policy (no Principal, a Resource): IAM names the Resource
    route53 = {"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"],
               "Resource": ["arn:aws:route53:::hostedzone/*"]}
    assert message(doc(route53), TRUST) == "Has prohibited field Resource"
    # https://github.com/hashicorp/terraform/issues/13449: a trust policy put as an inline
    # policy (Principal, no Resource): IAM names the principal
    assert message(doc(TRUSTS)) == "Policy document should not specify a principal."


def test_leading_white_space_fails_legacy_parsing():
    # https://github.com/dan-v/awslambdaproxy/pull/3, https://htnosm.hatenablog.com/entry/2023/07/30/090000
    assert message("\n" + doc(ALLOW)) == "The policy failed legacy parsing"
    assert message(" " + doc(ALLOW)) == "The policy failed legacy parsing"
    assert check(doc(ALLOW) + "\n")


def test_action_vendor_wildcards():
    # https://github.com/boogy/iam-policy-validator/pull/172
    assert message(doc({**ALLOW, "Action": ["*:Untag*", "s3:GetObject"]})) == \
        "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards"
    assert check(doc({**ALLOW, "Action": ["*", "s3:Get*", "iam:*AccessKey*"]}))


def test_statement_with_no_principals():
    # https://github.com/skyscrapers/terraform-concourse/issues/25 (an empty principals list)
    assert message(doc({**TRUSTS, "Principal": {"AWS": []}}), TRUST) == (
        "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: "
        "The passed in policy has a statement with no principals!")


def test_service_principal_without_a_service():
    # https://github.com/aws-samples/aws-cdk-examples/issues/801
    assert message(doc({**TRUSTS, "Principal": {"Service": "amazonaws.com"}}), TRUST) == \
        'Invalid principal in policy: "SERVICE":"amazonaws.com"'
