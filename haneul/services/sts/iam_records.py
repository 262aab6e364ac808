"""What STS needs to know from IAM, in one place.

Each function asks IAM's records (haneul/services/iam/sts_lookups.py); where IAM has no
record, STS behaves as AWS does for an entity with default settings: a role's
MaxSessionDuration is 3600 seconds.  Trust policies are not evaluated until the policy
engine exists.
"""

from __future__ import annotations

import sqlite3

DEFAULT_MAX_SESSION_DURATION = 3600


def lookup_role(db: sqlite3.Connection, account: str, role_name: str) -> dict | None:
    """The IAM role `role_name` of `account`, or None when IAM has no record of it.

    A record is a dict with: role_id ("AROA..."), arn, path, max_session_duration (seconds),
    tags ({key: value}), trust_policy (JSON text).
    """
    from haneul.services.iam import sts_lookups
    return sts_lookups.lookup_role(db, account, role_name)


def assume_role_denial(db: sqlite3.Connection, role: dict, *, caller_arn: str, caller_account: str,
                       external_id: str | None, mfa_present: bool, source_identity: str | None,
                       tags: dict[str, str]) -> str | None:
    """Why the role's trust policy refuses this caller (an AccessDenied message), or None.
    Only consulted when `lookup_role` found the role."""
    return None


def verify_mfa_code(db: sqlite3.Connection, account: str, serial_number: str, token_code: str) -> bool | None:
    """True/False when IAM knows the MFA device `serial_number`, None when it does not
    (then the code is accepted, as nothing can check it)."""
    from haneul.services.iam import sts_lookups
    return sts_lookups.verify_mfa_code(db, account, serial_number, token_code)


def outbound_federation(db: sqlite3.Connection, account: str) -> dict | None:
    """IAM's outbound web identity federation settings for `account`:
    {"enabled": bool, "issuer": "https://..."}; None while IAM keeps no such record
    (GetWebIdentityToken then works with an issuer Haneul derives from its endpoint)."""
    from haneul.services.iam import sts_lookups
    return sts_lookups.outbound_federation(db, account)
