"""The pure policy evaluator (policy/evaluate.py) and condition operators (policy/conditions.py)."""

import json
import random
import re

import pytest

from haneul.services.iam.policy import conditions
from haneul.services.iam.policy.evaluate import (ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, PolicyError, Principal,
                                                  Request, decide, evaluate, parse)
from haneul.services.iam.policy.wildcard import Actions, Wildcard, like
from tests.unit.services.helpers import finishes

ACCOUNT = "111122223333"
ALICE = Principal.of(f"arn:aws:iam::{ACCOUNT}:user/alice")


def policy(*statements, version="2012-10-17", pid="p", ptype="none"):
    return parse(json.dumps({"Version": version, "Statement": list(statements)}, indent=4), pid, ptype)


def allow(action="*", resource="*", **kw):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **kw}


def deny(action="*", resource="*", **kw):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **kw}


def request(action="s3:GetObject", resource="*", context=None, principal=ALICE):
    return Request(action, resource, principal, {k.lower(): v for k, v in (context or {}).items()})


def decision(policies, req, **kw):
    return evaluate(req, policies, **kw).decision


# -- actions and resources -----------------------------------------------------------------
def test_explicit_deny_beats_allow_beats_implicit_deny():
    assert decision([policy(allow("s3:*"))], request()) == ALLOWED
    assert decision([policy(allow("s3:*")), policy(deny("s3:GetObject"))], request()) == EXPLICIT_DENY
    assert decision([policy(allow("sqs:*"))], request()) == IMPLICIT_DENY
    assert decision([], request()) == IMPLICIT_DENY


def test_actions_are_case_insensitive_with_wildcards():
    assert decision([policy(allow("S3:getobj?ct"))], request()) == ALLOWED
    assert decision([policy(allow(["sqs:*", "s3:Get*"]))], request()) == ALLOWED
    assert decision([policy(allow("s3:Put*"))], request()) == IMPLICIT_DENY


def test_not_action_and_not_resource():
    st = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert decision([policy(st)], request()) == ALLOWED
    assert decision([policy(st)], request("iam:CreateUser")) == IMPLICIT_DENY
    st = {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::public/*"}
    both = [policy(allow("s3:*")), policy(st)]
    assert decision(both, request(resource="arn:aws:s3:::public/x")) == ALLOWED
    assert decision(both, request(resource="arn:aws:s3:::private/x")) == EXPLICIT_DENY


def test_resources_are_case_sensitive_with_wildcards():
    p = [policy(allow("s3:*", "arn:aws:s3:::Bucket/*"))]
    assert decision(p, request(resource="arn:aws:s3:::Bucket/a/b")) == ALLOWED
    assert decision(p, request(resource="arn:aws:s3:::bucket/a")) == IMPLICIT_DENY
    p = [policy(allow("s3:*", "arn:aws:s3:::log-??"))]
    assert decision(p, request(resource="arn:aws:s3:::log-01")) == ALLOWED
    assert decision(p, request(resource="arn:aws:s3:::log-001")) == IMPLICIT_DENY


def test_policy_variables_in_resources():
    p = [policy(allow("s3:*", "arn:aws:s3:::home/${aws:username}/*"))]
    ok = request(resource="arn:aws:s3:::home/alice/f", context={"aws:username": ["alice"]})
    assert decision(p, ok) == ALLOWED
    other = request(resource="arn:aws:s3:::home/bob/f", context={"aws:username": ["alice"]})
    assert decision(p, other) == IMPLICIT_DENY
    missing = evaluate(request(resource="arn:aws:s3:::home/alice/f"), p)
    assert missing.decision == IMPLICIT_DENY and missing.missing == ["aws:username"]
    # a default value, and ${*} is a literal star, not a wildcard
    p = [policy(allow("s3:*", "arn:aws:s3:::b/${aws:username, 'anon'}/${*}"))]
    assert decision(p, request(resource="arn:aws:s3:::b/anon/*")) == ALLOWED
    assert decision(p, request(resource="arn:aws:s3:::b/anon/x")) == IMPLICIT_DENY
    # version 2008-10-17 has no variables: the text is taken literally
    p = [policy(allow("s3:*", "arn:aws:s3:::b/${aws:username}"), version="2008-10-17")]
    assert decision(p, request(resource="arn:aws:s3:::b/${aws:username}",
                               context={"aws:username": ["alice"]})) == ALLOWED


# -- conditions ----------------------------------------------------------------------------
@pytest.mark.parametrize("operator,wanted,values,holds", [
    ("StringEquals", ["a"], ["a"], True),
    ("StringEquals", ["A"], ["a"], False),
    ("StringNotEquals", ["a"], ["b"], True),
    ("StringNotEquals", ["a", "b"], ["b"], False),
    ("StringEqualsIgnoreCase", ["ABC"], ["abc"], True),
    ("StringNotEqualsIgnoreCase", ["ABC"], ["abc"], False),
    ("StringLike", ["dev-*"], ["dev-1"], True),
    ("StringLike", ["dev-?"], ["dev-12"], False),
    ("StringNotLike", ["dev-*"], ["prod"], True),
    ("NumericEquals", ["10"], ["10.0"], True),
    ("NumericNotEquals", ["10"], ["11"], True),
    ("NumericLessThan", ["10"], ["9"], True),
    ("NumericLessThanEquals", ["10"], ["10"], True),
    ("NumericGreaterThan", ["10"], ["10"], False),
    ("NumericGreaterThanEquals", ["10"], ["10"], True),
    ("NumericEquals", ["10"], ["ten"], False),
    ("DateLessThan", ["2020-01-01T00:00:00Z"], ["2019-12-31T23:59:59Z"], True),
    ("DateGreaterThan", ["2020-01-01T00:00:00Z"], ["1577836801"], True),
    ("DateEquals", ["2020-01-01T00:00:00Z"], ["2020-01-01T09:00:00+09:00"], True),
    ("DateNotEquals", ["2020-01-01"], ["2020-01-02"], True),
    ("DateLessThanEquals", ["2020-01-01T00:00:00Z"], ["2020-01-01T00:00:00Z"], True),
    ("DateGreaterThanEquals", ["2020-01-01T00:00:00Z"], ["2019-01-01T00:00:00Z"], False),
    ("Bool", ["true"], ["TRUE"], True),
    ("Bool", ["true"], ["false"], False),
    ("BinaryEquals", ["QmluYXJ5"], ["QmluYXJ5"], True),
    ("BinaryEquals", ["QmluYXJ5"], ["QmluYXJ6"], False),
    ("IpAddress", ["203.0.113.0/24"], ["203.0.113.7"], True),
    ("IpAddress", ["203.0.113.0/24"], ["198.51.100.1"], False),
    ("IpAddress", ["2001:db8::/32"], ["2001:db8::1"], True),
    ("NotIpAddress", ["203.0.113.0/24"], ["198.51.100.1"], True),
    ("ArnLike", ["arn:aws:iam::*:role/dev-*"], ["arn:aws:iam::111122223333:role/dev-x"], True),
    ("ArnEquals", ["arn:aws:sns:*:111122223333:topic"], ["arn:aws:sns:us-east-1:111122223333:topic"], True),
    ("ArnLike", ["arn:aws:s3:::b/*"], ["arn:aws:s3:::c/x"], False),
    ("ArnNotLike", ["arn:aws:s3:::b/*"], ["arn:aws:s3:::c/x"], True),
    ("ArnNotEquals", ["arn:aws:s3:::b"], ["arn:aws:s3:::b"], False),
    ("ForAnyValue:StringEquals", ["a", "b"], ["x", "b"], True),
    ("ForAnyValue:StringEquals", ["a"], ["x", "y"], False),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "b"], True),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "c"], False),
    ("ForAllValues:StringEquals", ["a"], [], True),
    ("ForAnyValue:StringEquals", ["a"], [], False),
    ("ForAllValues:StringNotEquals", ["a"], ["b", "c"], True),
    ("ForAnyValue:StringNotEquals", ["a"], ["a", "c"], True),
    ("StringEqualsIfExists", ["a"], ["b"], False),
])
def test_condition_operators(operator, wanted, values, holds):
    assert conditions.test(operator, "k", wanted, {"k": values}) == (holds, False)


@pytest.mark.parametrize("operator,holds", [
    ("StringEquals", False), ("StringNotEquals", True), ("StringLike", False), ("StringNotLike", True),
    ("NumericLessThan", False), ("NotIpAddress", True), ("ArnNotLike", True), ("Bool", False),
    ("StringEqualsIfExists", True), ("NumericLessThanIfExists", True),
    ("ForAllValues:StringEquals", True), ("ForAnyValue:StringEquals", False),
])
def test_absent_keys(operator, holds):
    assert conditions.test(operator, "aws:Missing", ["x"], {}) == (holds, True)


def test_null_tests_presence_and_keys_are_case_insensitive():
    assert conditions.test("Null", "aws:TokenIssueTime", ["true"], {}) == (True, False)
    assert conditions.test("Null", "aws:TokenIssueTime", ["false"], {}) == (False, False)
    assert conditions.test("Null", "aws:TokenIssueTime", ["false"], {"aws:tokenissuetime": ["1"]}) == (True, False)
    assert conditions.test("StringEquals", "AWS:UserName", ["a"], {"aws:username": ["a"]}) == (True, False)


def test_unknown_operators_are_refused():
    for bad in ("StringSortOf", "ForSomeValues:StringEquals", "ForAnyValue:Null", "NullIfExists"):
        with pytest.raises(conditions.UnknownOperator):
            conditions.parse_operator(bad)
    with pytest.raises(PolicyError):
        policy(allow(Condition={"StringSortOf": {"k": "v"}}))


def test_conditions_in_statements_and_missing_keys():
    mfa = [policy(allow("ec2:*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))]
    assert decision(mfa, request("ec2:RunInstances", context={"aws:MultiFactorAuthPresent": ["true"]})) == ALLOWED
    ev = evaluate(request("ec2:RunInstances"), mfa)
    assert ev.decision == IMPLICIT_DENY and ev.missing == ["aws:MultiFactorAuthPresent"]
    # every block of a statement must hold; values of one key are ORed
    st = allow("s3:*", Condition={"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]},
                                  "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    ctx = {"aws:RequestedRegion": ["eu-central-1"], "aws:SourceIp": ["10.1.2.3"]}
    assert decision([policy(st)], request(context=ctx)) == ALLOWED
    ctx["aws:SourceIp"] = ["192.0.2.1"]
    assert decision([policy(st)], request(context=ctx)) == IMPLICIT_DENY
    # a variable in a condition value, and booleans/numbers written as JSON scalars
    own = allow("iam:*", Condition={"StringEquals": {"iam:ResourceTag/owner": "${aws:username}"},
                                    "Bool": {"aws:SecureTransport": True}})
    ctx = {"iam:ResourceTag/owner": ["alice"], "aws:username": ["alice"], "aws:SecureTransport": ["true"]}
    assert decision([policy(own)], request("iam:GetUser", context=ctx)) == ALLOWED
    ctx["aws:username"] = ["bob"]
    assert decision([policy(own)], request("iam:GetUser", context=ctx)) == IMPLICIT_DENY


def test_deny_with_negated_condition_applies_when_key_absent():
    region_lock = deny("*", Condition={"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}})
    p = [policy(allow()), policy(region_lock)]
    assert decision(p, request()) == EXPLICIT_DENY
    assert decision(p, request(context={"aws:RequestedRegion": ["us-east-1"]})) == ALLOWED


# -- statement positions and matched statements --------------------------------------------
def test_matched_statements_carry_positions():
    text = '{\n    "Version": "2012-10-17",\n    "Statement": [{\n        "Effect": "Allow",\n' \
           '        "Action": "s3:*",\n        "Resource": "*"\n    }, {"Effect": "Deny", "Action": "s3:Delete*",' \
           ' "Resource": "*"}]\n}'
    p = parse(text, "Grant", "user")
    assert [(s.start, s.end) for s in p.statements] == [((3, 19), (7, 6)), ((7, 8), (7, 67))]
    out = evaluate(request("s3:DeleteObject"), [p])
    assert out.decision == EXPLICIT_DENY and [(m[0].id, m[1].start) for m in out.matched] == [("Grant", (7, 8))]
    single = parse('{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}', "x", "none")
    assert single.statements[0].start == (1, 15) and single.statements[0].end == (1, 66)


def test_malformed_documents():
    for text in ("{", "[]", '{"Version": "2012-10-17"}', '{"Statement": [{"Effect": "Maybe"}]}'):
        with pytest.raises(PolicyError):
            parse(text, "x", "none")


# -- boundaries, resource policies, SCPs ---------------------------------------------------
def test_permissions_boundary_caps_identity_policies():
    identity = [policy(allow("s3:*")), policy(allow("iam:*"))]
    boundary = [policy(allow("s3:*"))]
    ok = evaluate(request(), identity, boundary)
    assert ok.decision == ALLOWED and ok.boundary_allowed is True
    capped = evaluate(request("iam:CreateUser"), identity, boundary)
    assert capped.decision == IMPLICIT_DENY and capped.boundary_allowed is False
    assert evaluate(request(), identity, [policy(deny("s3:GetObject"))]).decision == EXPLICIT_DENY
    assert evaluate(request(), identity).boundary_allowed is None


def test_resource_policy_same_account():
    bucket = "arn:aws:s3:::b/k"
    to_alice = policy({"Effect": "Allow", "Principal": {"AWS": ALICE.arn}, "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::b/*"}, pid="ResourcePolicy", ptype="resource")
    # naming the user allows without any identity policy, and is not capped by a boundary
    out = evaluate(request(resource=bucket), [], resource_policy=to_alice, resource_account=ACCOUNT)
    assert out.decision == ALLOWED and out.matched[0][0].type == "resource"
    assert evaluate(request(resource=bucket), [], [policy(allow("sqs:*"))], to_alice, resource_account=ACCOUNT) \
        .decision == ALLOWED
    # naming the account delegates to the identity policies
    to_account = policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:*", "Resource": "*"})
    assert evaluate(request(resource=bucket), [], resource_policy=to_account,
                    resource_account=ACCOUNT).decision == IMPLICIT_DENY
    assert evaluate(request(resource=bucket), [policy(allow("s3:*"))], resource_policy=to_account,
                    resource_account=ACCOUNT).decision == ALLOWED
    # a deny in the resource policy wins; another principal is not matched
    denied = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"})
    assert evaluate(request(resource=bucket), [policy(allow())], resource_policy=denied,
                    resource_account=ACCOUNT).decision == EXPLICIT_DENY
    bob = Principal.of(f"arn:aws:iam::{ACCOUNT}:user/bob")
    assert evaluate(request(resource=bucket, principal=bob), [], resource_policy=to_alice,
                    resource_account=ACCOUNT).decision == IMPLICIT_DENY
    # NotPrincipal: everyone but the named
    not_alice = policy({"Effect": "Deny", "NotPrincipal": {"AWS": ALICE.arn}, "Action": "s3:*", "Resource": "*"})
    assert evaluate(request(resource=bucket), [policy(allow())], resource_policy=not_alice,
                    resource_account=ACCOUNT).decision == ALLOWED
    assert evaluate(request(resource=bucket, principal=bob), [policy(allow())], resource_policy=not_alice,
                    resource_account=ACCOUNT).decision == EXPLICIT_DENY


def test_role_sessions_and_services_as_principals():
    role = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/app/Worker"},
                   "Action": "sqs:SendMessage", "Resource": "*"})
    session = Principal.of(f"arn:aws:sts::{ACCOUNT}:assumed-role/Worker/i-123")
    assert session.kind == "assumed-role"
    assert evaluate(request("sqs:SendMessage", principal=session), [], resource_policy=role,
                    resource_account=ACCOUNT).decision == ALLOWED
    events = policy({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                     "Action": "lambda:InvokeFunction", "Resource": "*"})
    assert evaluate(request("lambda:InvokeFunction", principal=Principal.of("events.amazonaws.com")), [],
                    resource_policy=events, resource_account=ACCOUNT).decision == ALLOWED


def test_cross_account_needs_both_sides():
    other = "444455556666"
    grant = policy({"Effect": "Allow", "Principal": {"AWS": ALICE.arn}, "Action": "s3:*", "Resource": "*"})
    alone = evaluate(request(), [], resource_policy=grant, resource_account=other)
    assert alone.decision == IMPLICIT_DENY
    assert alone.details == {"IAM Policy": IMPLICIT_DENY, "Resource Policy": ALLOWED}
    both = evaluate(request(), [policy(allow("s3:*"))], resource_policy=grant, resource_account=other)
    assert both.decision == ALLOWED and len(both.matched) == 2
    assert evaluate(request(), [policy(allow("s3:*"))], resource_policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": "999999999999"}, "Action": "s3:*", "Resource": "*"}),
        resource_account=other).decision == IMPLICIT_DENY


def test_service_control_policies():
    full = policy(allow(), pid="FullAWSAccess")
    no_iam = policy(deny("iam:*"), pid="DenyIam")
    only_s3 = policy(allow("s3:*"), pid="OnlyS3")
    identity = [policy(allow())]
    out = evaluate(request(), identity, scps=[[full], [only_s3]])
    assert out.decision == ALLOWED and out.organizations_allowed is True
    out = evaluate(request("sqs:SendMessage"), identity, scps=[[full], [only_s3]])
    assert out.decision == IMPLICIT_DENY and out.organizations_allowed is False
    out = evaluate(request("iam:CreateUser"), identity, scps=[[full, no_iam]])
    assert out.decision == EXPLICIT_DENY and out.matched[0][0].id == "DenyIam"
    # SCPs grant nothing by themselves
    assert evaluate(request(), [], scps=[[full]]).decision == IMPLICIT_DENY


def test_decide_reports_allow_statements_of_every_policy():
    a, b = policy(allow("s3:*"), pid="a"), policy(allow("s3:Get*"), pid="b")
    out = decide([a, b], request())
    assert out.decision == ALLOWED and [p.id for p, _ in out.matched] == ["a", "b"]


# -- wildcards (policy/wildcard.py): linear, same answers as a `.*`/`.` regex --------------

def _regex_reference(pieces, ignore_case=False):
    """The former backtracking translation, fine for the short random cases below."""
    body = "".join("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
                   if wild else re.escape(text) for text, wild in pieces)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def test_wildcard_agrees_with_regex_semantics_on_random_cases():
    rng = random.Random(20261127)
    for _ in range(6000):
        pattern = "".join(rng.choice("aab*?.:B") for _ in range(rng.randint(0, 9)))
        text = "".join(rng.choice("aabb.:AB\n") for _ in range(rng.randint(0, 12)))
        for ignore_case in (False, True):
            want = _regex_reference(((pattern, True),), ignore_case).fullmatch(text) is not None
            assert like(pattern, text, ignore_case) is want, (pattern, text, ignore_case)
        # with literal pieces (a policy variable's value: its `*` and `?` are plain characters)
        pieces = tuple((p, rng.random() < 0.6) for p in pattern.split("."))
        want = _regex_reference(pieces).fullmatch(text) is not None
        assert Wildcard(pieces).matches(text) is want, (pieces, text)
        # a text built to match: every `*` expanded at random, every `?` one character
        built = "".join(rng.choice(["", "a", "b*", "?ab"]) if c == "*" else rng.choice("ab") if c == "?" else c
                        for c in pattern)
        assert like(pattern, built), (pattern, built)


def test_action_sets_agree_with_one_by_one_matching():
    rng = random.Random(7)
    services = ["s3", "S3", "ec2", "s?", "*", "e*2", "sqs"]
    names = ["Get*", "get?bject", "*", "List*Buckets", "Describe*", "Put", "*Object", ""]
    for _ in range(600):
        patterns = tuple(rng.choice(services) + rng.choice([":", ":", ""]) + rng.choice(names)
                         for _ in range(rng.randint(1, 6)))
        action = rng.choice(["s3", "ec2", "sqs", "s4", "e2"]) + rng.choice([":", ""]) + \
            rng.choice(["GetObject", "getobject", "ListAllBuckets", "DescribeThings", "Put", "PutObject", ""])
        want = any(_regex_reference(((p, True),), True).fullmatch(action) for p in patterns)
        assert Actions(patterns).matches(action) is want, (patterns, action)


def test_pathological_wildcards_finish():
    evil = "*a" * 14 + "*b"
    condition = policy(allow(Condition={"StringLike": {"aws:username": evil}}))
    assert finishes(lambda: IMPLICIT_DENY == decision([condition], request(context={"aws:username": ["a" * 60]})))
    arn_like = policy(allow(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::" + evil}}))
    assert finishes(lambda: IMPLICIT_DENY == decision([arn_like], request(
        context={"aws:SourceArn": ["arn:aws:s3:::" + "a" * 60]})))
    resource = policy(allow(resource="arn:aws:s3:::" + "*a" * 12 + "b"))
    assert finishes(lambda: IMPLICIT_DENY == decision([resource], request(resource="arn:aws:s3:::" + "a" * 40)))
    with_variable = policy(allow(resource="arn:aws:s3:::${aws:username}" + "*a" * 12 + "b"))
    assert finishes(lambda: IMPLICIT_DENY == decision([with_variable], request(
        resource="arn:aws:s3:::x" + "a" * 40, context={"aws:username": ["x"]})))
    action = policy(allow(action="s3:" + evil), allow(action="*" + evil))
    assert finishes(lambda: IMPLICIT_DENY == decision([action], request(action="s3:" + "a" * 60)))
    # and the same shapes still match when the text does end in b
    assert decision([resource], request(resource="arn:aws:s3:::" + "a" * 40 + "b")) == ALLOWED
    assert decision([action], request(action="s3:" + "a" * 60 + "B")) == ALLOWED
