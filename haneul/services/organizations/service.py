"""AWS Organizations: one organization per management account, its tree of OUs and
accounts, policies of every type, handshakes, delegation and tags.

Organizations is global, so nothing here is keyed by region; every record hangs off
the organization.  Operations live with their resource: accounts.py (the organization
and its accounts), tree.py (root and OUs), policies.py, handshakes.py (+ transfers.py),
delegation.py, tagging.py; access.py says who may call what.  effective.py is the read
side other services (IAM enforcement) use to find the SCPs bounding an account.
"""

from __future__ import annotations

from haneul.services.base import Service
from haneul.services.organizations.accounts import AccountOps
from haneul.services.organizations.delegation import DelegationOps
from haneul.services.organizations.policies import PolicyOps
from haneul.services.organizations.records import SCHEMA
from haneul.services.organizations.tagging import TagOps
from haneul.services.organizations.transfers import TransferOps
from haneul.services.organizations.tree import TreeOps


class Organizations(AccountOps, TreeOps, PolicyOps, TransferOps, DelegationOps, TagOps, Service):
    SCHEMA = SCHEMA
    VALIDATION_ERROR = "InvalidInputException"
