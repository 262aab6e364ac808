"""AWS Organizations: one organization per management account, its tree of OUs and
accounts, policies of every type, handshakes, delegation and tags.

Organizations is global, so nothing here is keyed by region; every record hangs off
the organization.  Operations live with their resource: accounts.py (the organization
and its accounts), tree.py (root and OUs), policies.py, handshakes.py (+ transfers.py),
delegation.py, tagging.py; access.py says who may call what.  effective.py is the read
side other services (IAM enforcement) use to find the SCPs bounding an account.
"""

from __future__ import annotations

import re

from haneul.errors import AwsError
from haneul.services.base import Service
from haneul.services.organizations import errors
from haneul.services.organizations.accounts import AccountOps
from haneul.services.organizations.delegation import DelegationOps
from haneul.services.organizations.policies import PolicyOps
from haneul.services.organizations.records import SCHEMA
from haneul.services.organizations.tagging import TagOps
from haneul.services.organizations.transfers import TransferOps
from haneul.services.organizations.tree import TreeOps

# "Value 'x' at 'policyId' failed to satisfy constraint: Member must ..." -> (member path, constraint)
_PROBLEM = re.compile(r"^Value .* at '([^']*)' failed to satisfy constraint: (.*)$", re.S)
# Members whose pattern failures have their own reason (the InvalidInputException reasons
# of the API reference: INVALID_SYNTAX_POLICY_ID, INVALID_PATTERN_TARGET_ID, ...).
_PATTERN_REASONS = {"policyId": "INVALID_SYNTAX_POLICY_ID", "targetId": "INVALID_PATTERN_TARGET_ID",
                    "organizationArn": "INVALID_SYNTAX_ORGANIZATION_ARN"}
_POLICY_TYPE_MEMBERS = {"policyType", "type", "filter"}


def validation_reason(problem: str) -> str:
    """The InvalidInputException Reason for one model-constraint problem line."""
    m = _PROBLEM.match(problem)
    if m is None:
        return "INVALID_PATTERN"
    path, constraint = m.groups()
    member = path.rsplit(".", 1)[-1]
    if constraint == "Member must not be null":
        return "INPUT_REQUIRED"
    if ".member" in path and not constraint.startswith("Member must have length"):
        return "INVALID_LIST_MEMBER"
    if constraint.startswith("Member must satisfy enum value set"):
        return "INVALID_ENUM_POLICY_TYPE" if member in _POLICY_TYPE_MEMBERS else "INVALID_ENUM"
    if constraint.startswith("Member must satisfy regular expression pattern"):
        return _PATTERN_REASONS.get(member, "INVALID_PATTERN")
    if constraint.startswith("Member must have length greater"):
        return "MIN_LENGTH_EXCEEDED"
    if constraint.startswith("Member must have length less"):
        return "MAX_LENGTH_EXCEEDED"
    if constraint.startswith("Member must have value greater"):
        return "MIN_VALUE_EXCEEDED"
    if constraint.startswith("Member must have value less"):
        return "MAX_VALUE_EXCEEDED"
    return "INVALID_PATTERN"


class Organizations(AccountOps, TreeOps, PolicyOps, TransferOps, DelegationOps, TagOps, Service):
    SCHEMA = SCHEMA
    VALIDATION_ERROR = "InvalidInputException"

    def validation_error(self, problems: list[str], message: str) -> AwsError:
        """Model-constraint failures answered as Organizations answers them: an
        InvalidInputException whose Reason names the first broken constraint."""
        return errors.invalid_input(validation_reason(problems[0]), message)
