"""Identifiers and ARNs in the shapes AWS Organizations makes them."""

from __future__ import annotations

import secrets
import string

_LOWER = string.ascii_lowercase + string.digits


def _chars(n: int, alphabet: str = _LOWER) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def organization_id() -> str:
    return "o-" + _chars(10)


def root_id() -> str:
    return "r-" + _chars(4)


def ou_id(root: str) -> str:
    return f"ou-{root[2:]}-{_chars(8)}"


def policy_id() -> str:
    return "p-" + _chars(8)


def handshake_id() -> str:
    return "h-" + _chars(10)


def create_account_request_id() -> str:
    return "car-" + _chars(32)


def resource_policy_id() -> str:
    return "rp-" + _chars(8)


def transfer_id() -> str:
    return "rt-" + _chars(10)


def account_id() -> str:
    """Twelve digits that do not start with 0 (so nothing strips a leading zero)."""
    return secrets.choice("123456789") + _chars(11, string.digits)


# -- ARNs ---------------------------------------------------------------------------------
def _base(mgmt: str) -> str:
    return f"arn:aws:organizations::{mgmt}"


def organization_arn(mgmt: str, org: str) -> str:
    return f"{_base(mgmt)}:organization/{org}"


def account_arn(mgmt: str, org: str, account: str) -> str:
    return f"{_base(mgmt)}:account/{org}/{account}"


def root_arn(mgmt: str, org: str, root: str) -> str:
    return f"{_base(mgmt)}:root/{org}/{root}"


def ou_arn(mgmt: str, org: str, ou: str) -> str:
    return f"{_base(mgmt)}:ou/{org}/{ou}"


def policy_arn(mgmt: str, org: str, policy_type: str, policy: str, aws_managed: bool = False) -> str:
    if aws_managed:
        return f"arn:aws:organizations::aws:policy/{policy_type.lower()}/{policy}"
    return f"{_base(mgmt)}:policy/{org}/{policy_type.lower()}/{policy}"


def handshake_arn(mgmt: str, org: str, action: str, handshake: str) -> str:
    return f"{_base(mgmt)}:handshake/{org}/{action.lower()}/{handshake}"


def resource_policy_arn(mgmt: str, org: str, rp: str) -> str:
    return f"{_base(mgmt)}:resourcepolicy/{org}/{rp}"


def transfer_arn(mgmt: str, org: str, direction: str, transfer: str) -> str:
    return f"{_base(mgmt)}:transfer/{org}/billing/{direction}/{transfer}"


def kind_of(target: str) -> str | None:
    """ROOT | ORGANIZATIONAL_UNIT | ACCOUNT | POLICY | RESOURCE_POLICY | TRANSFER, or None."""
    if target.startswith("r-"):
        return "ROOT"
    if target.startswith("ou-"):
        return "ORGANIZATIONAL_UNIT"
    if target.isdigit() and len(target) == 12:
        return "ACCOUNT"
    if target.startswith("p-"):
        return "POLICY"
    if target.startswith("rp-"):
        return "RESOURCE_POLICY"
    if target.startswith("rt-"):
        return "TRANSFER"
    return None
