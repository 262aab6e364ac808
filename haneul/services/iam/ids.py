"""Identifiers as IAM makes them: unique ids (AIDA users, AROA roles, AGPA groups,
ANPA policies, AIPA instance profiles, ASCA server certificates, APKA SSH keys ...),
AKIA access key ids that carry their account (so STS GetAccessKeyInfo answers without
a lookup), and ARNs with paths."""

from __future__ import annotations

import re
import secrets

from haneul.services.sts.credentials import new_access_key_id, new_secret_access_key, unique_id

USER, ROLE, GROUP, POLICY, PROFILE = "AIDA", "AROA", "AGPA", "ANPA", "AIPA"
SERVER_CERT, SSH_KEY, SERVICE_CRED = "ASCA", "APKA", "ACCA"

PATH_RE = re.compile(r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)")
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_id(prefix: str) -> str:
    """prefix + 17 base32 characters: 21 characters, as AWS's unique ids."""
    return unique_id(prefix)


def new_access_key(account: str) -> tuple[str, str]:
    return new_access_key_id(account, "AKIA"), new_secret_access_key()


def signing_certificate_id() -> str:
    """Signing certificate ids are 32 uppercase base32 characters."""
    return "".join(secrets.choice(_BASE32) for _ in range(32))


def arn(account: str, kind: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:{kind}{path}{name}"


def split_policy_arn(policy_arn: str) -> tuple[str, str, str] | None:
    """arn:aws:iam::<account|aws>:policy<path><name> -> (account, path, name)."""
    m = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}|aws):policy(/(?:[^/]+/)*)([^/]+)", policy_arn)
    if not m:
        return None
    return m.group(1), m.group(2), m.group(3)
