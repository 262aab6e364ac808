"""What STS needs to know from IAM, in one place.

IAM is not implemented yet, so each function answers "no record" (None).  STS then
behaves as AWS does for an entity with default settings: a role's MaxSessionDuration is
3600 seconds, the trust policy is not evaluated, MFA codes are not verified.  When IAM
lands, these functions read its tables and STS picks the answers up unchanged.
"""

from __future__ import annotations

import sqlite3

DEFAULT_MAX_SESSION_DURATION = 3600


def lookup_role(db: sqlite3.Connection, account: str, role_name: str) -> dict | None:
    """The IAM role `role_name` of `account`, or None when IAM has no record of it.

    A record is a dict with: role_id ("AROA..."), arn, path, max_session_duration (seconds),
    tags ({key: value}), trust_policy (JSON text).
    """
    return None


def assume_role_denial(db: sqlite3.Connection, role: dict, *, caller_arn: str, caller_account: str,
                       external_id: str | None, mfa_present: bool, source_identity: str | None,
                       tags: dict[str, str]) -> str | None:
    """Why the role's trust policy refuses this caller (an AccessDenied message), or None.
    Only consulted when `lookup_role` found the role."""
    return None


def verify_mfa_code(db: sqlite3.Connection, account: str, serial_number: str, token_code: str) -> bool | None:
    """True/False when IAM knows the MFA device `serial_number`, None when it does not
    (then the code is accepted, as nothing can check it)."""
    return None


def outbound_federation(db: sqlite3.Connection, account: str) -> dict | None:
    """IAM's outbound web identity federation settings for `account`:
    {"enabled": bool, "issuer": "https://..."}; None while IAM keeps no such record
    (GetWebIdentityToken then works with an issuer Haneul derives from its endpoint)."""
    return None
