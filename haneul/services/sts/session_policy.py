"""Session policies and session tags: validation and AWS's "packed size".

AWS compresses the inline session policy, the managed policy ARNs and the session tags
into a packed binary form with a separate limit, and reports how much of it a request
used (PackedPolicySize, a percentage).  The real packing format is not public; Haneul
approximates it with zlib over the minified policy, the ARNs and the tags, against a
budget chosen so that ordinary policies near the 2,048-character plaintext limit fit and
highly random ones (or many long tags) do not, which is how AWS behaves in practice.
"""

from __future__ import annotations

import json
import math
import re
import zlib

from haneul.errors import AwsError

MAX_PLAINTEXT = 2048
MAX_POLICY_ARNS = 10
PACKED_BUDGET = 640           # compressed bytes that make 100%
VERSIONS = ("2012-10-17", "2008-10-17")
ARN_RE = re.compile(r"^arn:[^:]+:[^:]+:[^:]*:[^:]*:[^:]+$")


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


def length_error(value: str, member: str, limit: int) -> AwsError:
    return validation_error(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must have length less than or equal to {limit}")


def check_policy(policy: str | None) -> str | None:
    """Validate an inline session policy; return it minified (None if absent)."""
    if policy is None:
        return None
    if len(policy) > MAX_PLAINTEXT:
        raise length_error(policy, "policy", MAX_PLAINTEXT)
    try:
        document = json.loads(policy)
    except json.JSONDecodeError as exc:
        raise AwsError("MalformedPolicyDocumentException", _json_error(policy, exc)) from None
    _check_document(document)
    return json.dumps(document, separators=(",", ":"))


def _json_error(text: str, exc: json.JSONDecodeError) -> str:
    # Worded as AWS's (Jackson) parser reports it.
    if exc.pos >= len(text):
        return (f"Unexpected end-of-input: expected close marker for OBJECT\n at [line: {exc.lineno}, "
                f"column: {exc.colno}]")
    char = text[exc.pos]
    return (f"Unexpected character ('{char}' (code {ord(char)})): expected a valid value (number, String, "
            f"array, object, 'true', 'false' or 'null')\n at [line: {exc.lineno}, column: {exc.colno}]")


def _malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicyDocumentException", message)


def _check_document(document) -> None:
    if not isinstance(document, dict):
        raise _malformed("Syntax errors in policy.")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise _malformed("Syntax errors in policy.")
    if "Version" in document and document["Version"] not in VERSIONS:
        raise _malformed("The policy must contain a valid version string")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise _malformed("Syntax errors in policy.")
    for statement in statements:
        _check_statement(statement)


_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition",
                   "Principal", "NotPrincipal"}


def _check_statement(statement) -> None:
    if not isinstance(statement, dict) or set(statement) - _STATEMENT_KEYS:
        raise _malformed("Syntax errors in policy.")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise _malformed("Syntax errors in policy.")
    if "Principal" in statement or "NotPrincipal" in statement:
        raise _malformed("Policy document should not specify a principal.")
    if "Action" not in statement and "NotAction" not in statement:
        raise _malformed("Policy statement must contain actions.")
    if "Resource" not in statement and "NotResource" not in statement:
        raise _malformed("Policy statement must contain resources.")
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in statement:
            value = statement[key]
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str) for v in values):
                raise _malformed("Syntax errors in policy.")
    if "Condition" in statement and not isinstance(statement["Condition"], dict):
        raise _malformed("Syntax errors in policy.")


def check_policy_arns(policy_arns: list[dict] | None) -> list[str]:
    arns = [entry.get("arn", "") for entry in policy_arns or []]
    if len(arns) > MAX_POLICY_ARNS:
        raise validation_error(
            f"1 validation error detected: Value '{policy_arns}' at 'policyArns' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_POLICY_ARNS}")
    for arn in arns:
        if not ARN_RE.match(arn or ""):
            raise validation_error(f"{arn} is invalid")
    return arns


def check_tags(tags: list[dict] | None, transitive_keys: list[str] | None = None,
               inherited_transitive: dict[str, str] | None = None) -> dict[str, str]:
    """Session tags as a dict, checked the way STS checks them (keys are case-insensitive)."""
    result: dict[str, str] = {}
    seen: set[str] = set()
    for tag in tags or []:
        key = tag["Key"]
        if key.lower() in seen:
            raise AwsError("InvalidParameterValue",
                           "Duplicate tag keys found. Please note that Tag keys are case insensitive.", 400)
        seen.add(key.lower())
        result[key] = tag.get("Value", "")
    if inherited_transitive and seen & {k.lower() for k in inherited_transitive}:
        raise AwsError("InvalidParameterValue",
                       "One of the specified transitive tag keys can't be set because it conflicts with a "
                       "transitive tag key from the calling session.", 400)
    for key in transitive_keys or []:
        if key.lower() not in seen:
            raise AwsError("InvalidParameterValue",
                           "The specified transitive tag key must be included in the requested tags.", 400)
    return result


def packed(policy: str | None, policy_arns: list[str], tags: dict[str, str]) -> tuple[bytes, bytes]:
    """(policy part, tags part) of the packed session data, uncompressed."""
    policy_part = "\n".join(([policy] if policy else []) + list(policy_arns)).encode()
    tags_part = "\n".join(f"{k}={v}" for k, v in tags.items()).encode()
    return policy_part, tags_part


def packed_percent(policy_part: bytes, tags_part: bytes) -> tuple[int, int]:
    """(percentage used by the whole packed form, percentage used by the tags alone)."""
    def size(data: bytes) -> int:
        return len(zlib.compress(data, 9)) if data else 0
    both = policy_part + (b"\n" if policy_part and tags_part else b"") + tags_part
    return (math.ceil(size(both) * 100 / PACKED_BUDGET), math.ceil(size(tags_part) * 100 / PACKED_BUDGET))


def check_packed(policy: str | None, policy_arns: list[str], tags: dict[str, str]) -> tuple[int, bytes]:
    """PackedPolicySize for the request, or PackedPolicyTooLarge.  Also returns the packed
    bytes, which the session token carries."""
    policy_part, tags_part = packed(policy, policy_arns, tags)
    total, tags_only = packed_percent(policy_part, tags_part)
    if tags_only > 100:
        raise AwsError("PackedPolicyTooLargeException",
                       f"Packed size of session tags consumes {tags_only}% of allotted space.")
    if total > 100:
        raise AwsError("PackedPolicyTooLargeException",
                       f"Packed policy consumes {total}% of allotted space, please use smaller policy.")
    return total, policy_part + tags_part
