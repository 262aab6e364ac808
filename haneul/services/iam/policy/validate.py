"""IAM policy documents checked the way IAM checks them at write time.

Pure: text in, parsed document out, or `MalformedPolicy(message)` with IAM's message.
The checks run in IAM's order, so a document with several faults gets the message IAM
gives first: JSON syntax and element shapes ("Syntax errors in policy."), the version,
IAM's legacy parser (white space before the document, Effect spelling, date conditions,
resource ARNs), statement ids (characters before uniqueness), principals (in a trust
policy a Resource is named before a missing Principal), actions, resources.  Where each
message and ordering was seen on AWS: tests/e2e/test_iam_policy_errors.py.

Kinds of document:
- IDENTITY: managed and inline policies and permissions boundaries: no Principal, needs
  Action and Resource.
- TRUST: a role's assume-role policy: needs Principal, no Resource, only sts actions.
- RESOURCE: a resource-based policy (S3, SQS, ... may reuse this): needs Principal.

Sizes (IAM counts characters other than white space) are the caller's business:
`significant_size` gives the number IAM compares with its quotas.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

IDENTITY, TRUST, RESOURCE = "identity", "trust", "resource"
VERSIONS = ("2008-10-17", "2012-10-17")
TOP_ELEMENTS = {"Version", "Id", "Statement"}
STATEMENT_ELEMENTS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                      "Resource", "NotResource", "Condition"}
CONDITION_OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
    "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
    "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals",
    "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
}
PARTITIONS = {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
TRUST_ACTIONS = {"sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
                 "sts:TagSession", "sts:SetSourceIdentity", "sts:SetContext"}
IAM_RESOURCE_TYPES = ("user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/",
                      "server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/",
                      "report/", "access-report/")
PRINCIPAL_TYPES = {"AWS", "Service", "Federated", "CanonicalUser"}
_SID_RE = re.compile(r"[0-9A-Za-z]*")
_VENDOR_BAD = re.compile(r"[^a-zA-Z0-9\-.]")
_SERVICE_PRINCIPAL = re.compile(r"[a-z0-9][a-z0-9.\-]*\.(amazonaws\.com(\.cn)?|amazon\.com|aws\.internal|"
                                r"c2s\.ic\.gov|sc2s\.sgov\.gov)")
_ACCOUNT = re.compile(r"\d{12}")
_DATE = re.compile(r"-?\d{1,9}(-\d{1,2}(-\d{1,2})?)?(t(\d{1,2}(:\d{1,2}(:\d{1,2}(\.\d{1,9})?)?)?)?"
                   r"(z|[+-]\d{2}(:?\d{2})?)?)?")

SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"
VERSION_TOO_OLD = "Policy document must be version 2012-10-17 or greater."
NO_PRINCIPALS = ("Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: "
                 "The passed in policy has a statement with no principals!")


class MalformedPolicy(Exception):
    """A document IAM refuses; str(exc) is IAM's message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def significant_size(document: str) -> int:
    """The size IAM compares with its policy-size quotas: characters other than white space."""
    return sum(1 for ch in document if not ch.isspace())


def check(document: str, kind: str = IDENTITY, *, require_current_version: bool = False,
          principal_exists: Callable[[str], bool] | None = None) -> dict:
    """The parsed document, or MalformedPolicy.  `require_current_version`: managed
    policies must say Version 2012-10-17.  `principal_exists(arn)` answers whether an
    IAM user or role named in a trust policy exists (IAM refuses unknown ones)."""
    policy = _parse(document)
    statements = _statements(policy)
    for statement in statements:
        _statement_syntax(statement)
    version = policy.get("Version")
    if (require_current_version and version != "2012-10-17") or (
            version != "2012-10-17" and "${" in document):
        raise MalformedPolicy(VERSION_TOO_OLD)
    if document[:1].isspace():
        raise MalformedPolicy(LEGACY)   # white space before the opening brace
    resource_error = _legacy(statements)
    if kind == IDENTITY:
        for statement in statements:
            if "Sid" in statement and not _SID_RE.fullmatch(statement["Sid"]):
                raise MalformedPolicy("Statement IDs (SID) must be alpha-numeric. Check that your input "
                                      "satisfies the regular expression [0-9A-Za-z]*")
    sids = set()
    for statement in statements:
        sid = statement.get("Sid")
        if sid:
            if sid in sids:
                raise MalformedPolicy("Statement IDs (SID) in a single policy must be unique.")
            sids.add(sid)
    if kind == IDENTITY:
        for statement in statements:
            if "Principal" in statement or "NotPrincipal" in statement:
                raise MalformedPolicy("Policy document should not specify a principal.")
    else:
        if kind == TRUST:
            for statement in statements:
                if "Resource" in statement or "NotResource" in statement:
                    raise MalformedPolicy("Has prohibited field Resource")
        for statement in statements:
            if "Principal" not in statement and "NotPrincipal" not in statement:
                raise MalformedPolicy("Missing required field Principal")
    for statement in statements:
        if not _present(statement, "Action") and not _present(statement, "NotAction"):
            raise MalformedPolicy("Policy statement must contain actions.")
    if resource_error:
        raise MalformedPolicy(resource_error)
    for statement in statements:
        for action in _values(statement, "Action") + _values(statement, "NotAction"):
            _action(action)
    if kind == IDENTITY:
        for statement in statements:
            if not _present(statement, "Resource") and not _present(statement, "NotResource"):
                raise MalformedPolicy("Policy statement must contain resources.")
    if kind == TRUST:
        for statement in statements:
            for action in _values(statement, "Action"):
                if action not in TRUST_ACTIONS and action not in ("sts:*", "*"):
                    raise MalformedPolicy("Trust Policy statement actions can only be sts:AssumeRole, "
                                          "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity")
    if kind != IDENTITY:
        for statement in statements:
            for element in ("Principal", "NotPrincipal"):
                if element in statement:
                    _principal(statement[element], kind, principal_exists)
    return policy


# -- syntax ---------------------------------------------------------------------------
def _parse(document: str) -> dict:
    try:
        policy = json.loads(document, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):
        raise MalformedPolicy(SYNTAX) from None
    if not isinstance(policy, dict) or "Statement" not in policy or set(policy) - TOP_ELEMENTS:
        raise MalformedPolicy(SYNTAX)
    if "Version" in policy and policy["Version"] not in VERSIONS:
        raise MalformedPolicy(SYNTAX)
    if "Id" in policy and not isinstance(policy["Id"], str):
        raise MalformedPolicy(SYNTAX)
    return policy


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key}")
        out[key] = value
    return out


def _statements(policy: dict) -> list[dict]:
    raw = policy["Statement"]
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list) or not statements:
        raise MalformedPolicy(SYNTAX)
    return statements


def _statement_syntax(statement: Any) -> None:
    if not isinstance(statement, dict) or set(statement) - STATEMENT_ELEMENTS:
        raise MalformedPolicy(SYNTAX)
    for a, b in (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal")):
        if a in statement and b in statement:
            raise MalformedPolicy(SYNTAX)
    effect = statement.get("Effect")
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
        raise MalformedPolicy(SYNTAX)
    for element in ("Action", "NotAction", "Resource", "NotResource"):
        if element in statement and not _string_or_strings(statement[element]):
            raise MalformedPolicy(SYNTAX)
    if "Sid" in statement and not isinstance(statement["Sid"], str):
        raise MalformedPolicy(SYNTAX)
    for element in ("Principal", "NotPrincipal"):
        if element in statement:
            value = statement[element]
            if value != "*" and not (isinstance(value, dict) and value and all(
                    isinstance(k, str) and _string_or_strings(v) for k, v in value.items())):
                raise MalformedPolicy(SYNTAX)
    if "Condition" in statement:
        condition = statement["Condition"]
        if not isinstance(condition, dict):
            raise MalformedPolicy(SYNTAX)
        for operator, block in condition.items():
            if not isinstance(block, dict):
                raise MalformedPolicy(SYNTAX)
            for value in block.values():
                if not isinstance(value, (str, bool, int, float, list)) or (
                        isinstance(value, list) and not all(isinstance(v, (str, bool, int, float)) for v in value)):
                    raise MalformedPolicy(SYNTAX)
            if operator_name(operator) not in CONDITION_OPERATORS and block:
                raise MalformedPolicy(SYNTAX)


def operator_name(operator: str) -> str:
    """A condition operator without its set prefix and IfExists suffix."""
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(prefix):
            operator = operator[len(prefix):]
            break
    if operator.endswith("IfExists") and operator != "IfExists":
        operator = operator[:-len("IfExists")]
    return operator


def _string_or_strings(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _values(statement: dict, element: str) -> list[str]:
    value = statement.get(element)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _present(statement: dict, element: str) -> bool:
    return element in statement and statement[element] != []


# -- IAM's legacy parser ------------------------------------------------------------------
def _legacy(statements: list[dict]) -> str:
    """Raise for what the legacy parser refuses; return the first resource-format error
    (IAM reports it only after the statement id and action checks)."""
    for statement in statements:
        if statement["Effect"] not in ("Allow", "Deny"):
            raise MalformedPolicy(LEGACY)
        for operator, block in (statement.get("Condition") or {}).items():
            if operator_name(operator).startswith("Date"):
                for value in block.values():
                    for v in value if isinstance(value, list) else [value]:
                        if not _date(str(v)):
                            raise MalformedPolicy(LEGACY)
    first_error = ""
    for statement in statements:
        for element in ("Resource", "NotResource"):
            for resource in sorted(_values(statement, element), reverse=True):
                error = _resource_error(resource)
                if error and not first_error:
                    first_error = error
                if resource != "*" and not error and ":" in resource:
                    parts = resource.split(":")
                    if (resource.count(":") < 5 and "::" in resource) or (len(parts) > 2 and parts[2] == ""):
                        raise MalformedPolicy(LEGACY)
    return first_error


def _date(value: str) -> bool:
    low = value.lower()
    if "t" in low or "-" in low:
        return bool(_DATE.fullmatch(low))
    return value.isdigit()


def _resource_error(resource: str) -> str:
    if resource == "*":
        return ""
    if ":" not in resource:
        return f'Resource {resource} must be in ARN format or "*".'
    parts = resource.split(":", 5)
    partition = parts[1] if len(parts) > 1 else ""
    if partition != "*" and partition not in PARTITIONS:
        # segments the resource lacks read "*"; empty ones stay empty
        rest = resource.split(":")[2:]
        shown = [rest[0] if rest and (rest[0] or len(rest) > 1) else "*",
                 rest[1] if len(rest) > 1 else "*", rest[2] if len(rest) > 2 else "*",
                 ":".join(rest[3:]) if len(rest) > 3 else "*"]
        return f'Partition "{partition}" is not valid for resource "arn:{partition}:{":".join(shown)}".'
    if len(parts) < 3:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    service = parts[2]
    region = parts[3] if len(parts) > 3 else ""
    resource_id = parts[5] if len(parts) > 5 else ""
    if service == "iam":
        if region:
            return f"IAM resource {resource} cannot contain region information."
        if not resource_id.startswith(IAM_RESOURCE_TYPES) and resource_id not in ("*", ""):
            return ('IAM resource path must either be "*" or start with ' + ", ".join(IAM_RESOURCE_TYPES) + ".")
    if service == "s3" and region and not resource_id.startswith("accesspoint/"):
        return f"Resource {resource} can not contain region information."
    return ""


# -- actions and principals ---------------------------------------------------------------
def _action(action: str) -> None:
    parts = action.split(":")
    if len(parts) == 1 and parts[0] != "*":
        raise MalformedPolicy("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
    if len(parts) > 2:
        raise MalformedPolicy("Actions/Condition can contain only one colon.")
    if len(parts) == 2 and ("*" in parts[0] or "?" in parts[0]):
        raise MalformedPolicy("Action vendors (e.g., aws, ec2, etc.) must not contain wildcards")
    if parts[0] != "*" and _VENDOR_BAD.search(parts[0]):
        raise MalformedPolicy(f"Vendor {parts[0]} is not valid")


def _principal(value: Any, kind: str, exists: Callable[[str], bool] | None) -> None:
    if value == "*":
        return
    if not any([ids] if isinstance(ids, str) else ids for ids in value.values()):
        raise MalformedPolicy(NO_PRINCIPALS)
    for principal_type, ids in value.items():
        if principal_type not in PRINCIPAL_TYPES:
            raise MalformedPolicy(SYNTAX)
        for principal in [ids] if isinstance(ids, str) else ids:
            if not _valid_principal(principal_type, principal, exists):
                raise MalformedPolicy(f'Invalid principal in policy: "{principal_type.upper()}":"{principal}"')


def _valid_principal(principal_type: str, principal: str, exists: Callable[[str], bool] | None) -> bool:
    if principal_type == "Service":
        return bool(_SERVICE_PRINCIPAL.fullmatch(principal))
    if principal_type == "Federated":
        return bool(principal) and (principal.startswith("arn:") or "." in principal)
    if principal_type == "CanonicalUser":
        return bool(re.fullmatch(r"[0-9a-f]{64}", principal))
    if principal == "*" or _ACCOUNT.fullmatch(principal):
        return True
    m = re.fullmatch(r"arn:(aws[\w-]*):(iam|sts)::(\d{12}):(.+)", principal)
    if not m:
        return False
    service, resource = m.group(2), m.group(4)
    if service == "sts":
        return resource.startswith(("assumed-role/", "federated-user/"))
    if resource == "root":
        return True
    if resource.startswith(("user/", "role/")):
        return exists(principal) if exists is not None else True
    return False
