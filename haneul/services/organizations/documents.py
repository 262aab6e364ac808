"""Policy content checked as Organizations checks it at write time.

Authorization policies (SCPs, RCPs) follow the IAM grammar with each type's
restrictions; management policies (tag, backup, AI opt-out, ...) are JSON trees with
the inheritance operators (@@assign, @@append, @@remove,
@@operators_allowed_for_child_policies).  Organizations answers every grammar
problem with one message (errors.malformed_policy); a document over its type's size
limit is a ConstraintViolationException (POLICY_CONTENT_LIMIT_EXCEEDED).
"""

from __future__ import annotations

import json
import re
from typing import Any

from haneul.services.organizations import errors

AUTHORIZATION = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
# Maximum characters per type, from AWS's "Quotas and service limits for AWS Organizations"
# page (orgs_reference_limits, read 2026-11-27): SCP and RCP 5,120; AI services opt-out
# 2,500; backup, tag, declarative, chat applications and Security Hub policies 10,000.
# Whitespace counts when saved through the API.
MAX_SIZE = {"SERVICE_CONTROL_POLICY": 5120, "RESOURCE_CONTROL_POLICY": 5120,
            "AISERVICES_OPT_OUT_POLICY": 2500, "BACKUP_POLICY": 10000, "TAG_POLICY": 10000}
DEFAULT_MAX_SIZE = 10000
# The top-level element each management policy type must use.
TOP_LEVEL = {"TAG_POLICY": "tags", "BACKUP_POLICY": "plans", "AISERVICES_OPT_OUT_POLICY": "services",
             "CHATBOT_POLICY": "chatbot", "DECLARATIVE_POLICY_EC2": "ec2_attributes"}
OPERATORS = ("@@assign", "@@append", "@@remove", "@@operators_allowed_for_child_policies")
# Services whose resources RCPs can protect.
RCP_SERVICES = {"s3", "sts", "sqs", "secretsmanager", "kms", "ecr", "aoss", "cognito-identity", "logs",
                "dynamodb"}
VERSIONS = ("2012-10-17", "2008-10-17")
_ACTION = re.compile(r"^(\*|[a-zA-Z0-9-]+:[a-zA-Z0-9*?_-]+)$")
_SID = re.compile(r"^[a-zA-Z0-9]*$")
_CONDITION_OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
    "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
    "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals",
    "ArnNotLike", "Null"}


class Malformed(Exception):
    """The document breaks the grammar (the reason helps tests; AWS does not say it)."""


def check(policy_type: str, content: str) -> dict:
    """The parsed document, or raise the AwsError Organizations answers."""
    if len(content) > MAX_SIZE.get(policy_type, DEFAULT_MAX_SIZE):
        raise errors.constraint("POLICY_CONTENT_LIMIT_EXCEEDED", "You have exceeded the maximum policy size.")
    try:
        return parse(policy_type, content)
    except Malformed:
        raise errors.malformed_policy() from None


def parse(policy_type: str, content: str) -> dict:
    try:
        doc = json.loads(content, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, Malformed) as e:
        raise Malformed(f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise Malformed("the document is not a JSON object")
    if policy_type in AUTHORIZATION:
        _authorization(policy_type, doc)
    else:
        _management(policy_type, doc)
    return doc


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Malformed("duplicate key")
    return dict(pairs)


# -- SCPs and RCPs --------------------------------------------------------------------------
def _authorization(policy_type: str, doc: dict) -> None:
    unknown = set(doc) - {"Version", "Statement", "Id"}
    if unknown:
        raise Malformed(f"unknown top-level element {sorted(unknown)[0]}")
    if "Version" in doc and doc["Version"] not in VERSIONS:
        raise Malformed("Version")
    if "Id" in doc and not isinstance(doc["Id"], str):
        raise Malformed("Id")
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise Malformed("Statement must be an object or a non-empty list")
    sids: set[str] = set()
    for st in statements:
        if not isinstance(st, dict):
            raise Malformed("each statement must be an object")
        _statement(policy_type, st)
        sid = st.get("Sid")
        if sid is not None:
            if sid in sids:
                raise Malformed("duplicate Sid")
            sids.add(sid)


def _statement(policy_type: str, st: dict) -> None:
    rcp = policy_type == "RESOURCE_CONTROL_POLICY"
    allowed = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
    if rcp:
        allowed = (allowed - {"NotAction"}) | {"Principal"}
    unknown = set(st) - allowed
    if unknown:
        raise Malformed(f"element {sorted(unknown)[0]} is not supported")
    if "Sid" in st and (not isinstance(st["Sid"], str) or not _SID.match(st["Sid"])):
        raise Malformed("Sid")
    if st.get("Effect") not in ("Allow", "Deny"):
        raise Malformed("Effect must be Allow or Deny")
    if rcp and st["Effect"] != "Deny":
        raise Malformed("RCP statements must deny")
    if ("Action" in st) == ("NotAction" in st):
        raise Malformed("exactly one of Action and NotAction")
    actions = _strings(st.get("Action", st.get("NotAction")), "Action")
    for a in actions:
        if not _ACTION.match(a):
            raise Malformed(f"bad action {a}")
        if rcp and a != "*" and a.split(":", 1)[0].lower() not in RCP_SERVICES:
            raise Malformed(f"RCPs do not support {a}")
    if "Resource" in st and "NotResource" in st:
        raise Malformed("both Resource and NotResource")
    for key in ("Resource", "NotResource"):
        if key in st:
            for r in _strings(st[key], key):
                if r != "*" and not r.startswith("arn:"):
                    raise Malformed(f"bad resource {r}")
    if rcp:
        if "Principal" not in st:
            raise Malformed("RCP statements need Principal")
        if st["Principal"] != "*":
            raise Malformed("RCP Principal must be *")
        if "Resource" not in st and "NotResource" not in st:
            raise Malformed("RCP statements need Resource")
    if "Condition" in st:
        _condition(st["Condition"])


def _strings(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise Malformed(f"{what} must be a string or a non-empty list of strings")
    return value


def _condition(cond: Any) -> None:
    if not isinstance(cond, dict) or not cond:
        raise Malformed("Condition must be an object")
    for op, block in cond.items():
        base = op
        for prefix in ("ForAllValues:", "ForAnyValue:"):
            if base.startswith(prefix):
                base = base[len(prefix):]
        if base.endswith("IfExists") and base != "Null":
            base = base[:-len("IfExists")]
        if base not in _CONDITION_OPERATORS:
            raise Malformed(f"unknown condition operator {op}")
        if not isinstance(block, dict) or not block:
            raise Malformed("condition block must be an object")
        for key, value in block.items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, (str, bool, int, float)) for v in values):
                raise Malformed(f"bad condition value for {key}")


# -- management policies ------------------------------------------------------------------
def _management(policy_type: str, doc: dict) -> None:
    top = TOP_LEVEL.get(policy_type)
    if top is not None and (list(doc) != [top] or not isinstance(doc[top], dict)):
        raise Malformed(f"{policy_type} must hold one object named {top}")
    _operators(doc)
    if policy_type == "TAG_POLICY":
        _tag_policy(doc["tags"])
    elif policy_type == "AISERVICES_OPT_OUT_POLICY":
        _opt_out_policy(doc["services"])


def _operators(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("@@"):
                if key not in OPERATORS:
                    raise Malformed(f"unknown operator {key}")
                if key == "@@operators_allowed_for_child_policies":
                    allowed = value if isinstance(value, list) else None
                    if not allowed or not all(v in ("@@all", "@@none") + OPERATORS[:3] for v in allowed):
                        raise Malformed("bad @@operators_allowed_for_child_policies")
                elif isinstance(value, dict):
                    raise Malformed(f"{key} takes a value, not an object")
            else:
                _operators(value)
    elif isinstance(node, list):
        for v in node:
            _operators(v)


def _tag_policy(tags: dict) -> None:
    for key, spec in tags.items():
        if key.startswith("@@"):
            continue
        if not isinstance(spec, dict):
            raise Malformed("each tag must be an object")
        unknown = {k for k in spec if not k.startswith("@@")} - {"tag_key", "tag_value", "enforced_for", "report_required_tag_for"}
        if unknown:
            raise Malformed(f"unknown tag policy element {sorted(unknown)[0]}")
        tag_key = spec.get("tag_key", {}).get("@@assign") if isinstance(spec.get("tag_key"), dict) else None
        if tag_key is not None and (not isinstance(tag_key, str) or tag_key.lower() != key.lower()):
            raise Malformed("tag_key must name the tag")


def _opt_out_policy(services: dict) -> None:
    for name, spec in services.items():
        if name.startswith("@@"):
            continue
        if not isinstance(spec, dict):
            raise Malformed("each service must be an object")
        opt = spec.get("opt_out_policy")
        if opt is not None:
            value = opt.get("@@assign") if isinstance(opt, dict) else None
            if value is not None and value not in ("optIn", "optOut"):
                raise Malformed("opt_out_policy must be optIn or optOut")
