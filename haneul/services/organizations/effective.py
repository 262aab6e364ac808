"""What an IAM enforcement engine needs from Organizations, as pure reads of the store.

`scps_for_account(conn, account)` gives the SCP documents that bound an account's
principals, one list per level of the tree from the root down through each OU to the
account itself.  A request is allowed by SCPs only when every level has a statement
allowing it and no level denies it.  SCPs do not apply to the management account (nor
to accounts outside an organization, nor when SCPs are not enabled): the answer is
then [], meaning "no SCP restriction".  `rcps_for_account` does the same for resource
control policies, which bound the account's resources.
"""

from __future__ import annotations

import json
import sqlite3

from haneul.services.organizations.records import Records


class _Rows:
    """Read with sqlite3.Row rows (the store's connections already use them)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn, self.saved = conn, conn.row_factory

    def __enter__(self) -> Records:
        if self.saved is not sqlite3.Row:
            self.conn.row_factory = sqlite3.Row
        return Records(self.conn)

    def __exit__(self, *exc) -> None:
        if self.saved is not sqlite3.Row:
            self.conn.row_factory = self.saved


def _org_row(rec: Records, account: str):
    """The organization an account belongs to (None also before Organizations has ever
    been used, when its tables do not exist yet)."""
    try:
        row = rec.one("SELECT org FROM org_account WHERE id=?", account)
    except sqlite3.OperationalError:
        return None
    return rec.organization(row["org"]) if row is not None and row["org"] else None


def _levels(conn: sqlite3.Connection, account: str, kind: str) -> list[list[dict]]:
    with _Rows(conn) as rec:
        org = _org_row(rec, account)
        if org is None or org["mgmt"] == account or kind not in rec.enabled_types(org["id"]):
            return []
        return [[json.loads(p.content) for p in rec.attached(org["id"], node, kind)]
                for node in rec.path(org, account)]


def scps_for_account(conn: sqlite3.Connection, account: str) -> list[list[dict]]:
    return _levels(conn, account, "SERVICE_CONTROL_POLICY")


def rcps_for_account(conn: sqlite3.Connection, account: str) -> list[list[dict]]:
    return _levels(conn, account, "RESOURCE_CONTROL_POLICY")


def organization_of(conn: sqlite3.Connection, account: str) -> dict | None:
    """The values of the aws:PrincipalOrgID / aws:PrincipalOrgPaths / aws:ResourceOrgID
    condition keys for an account: {"OrgId", "ManagementAccount", "Path"} or None."""
    with _Rows(conn) as rec:
        org = _org_row(rec, account)
        if org is None:
            return None
        nodes = rec.path(org, account)[:-1]
        return {"OrgId": org["id"], "ManagementAccount": org["mgmt"],
                "Path": org["id"] + "/" + "".join(n + "/" for n in nodes)}


def service_standing(conn: sqlite3.Connection, account: str, principal: str) -> dict | None:
    """Where an account stands for a service principal's organization features (IAM's
    centralized root access needs them): {"OrgId", "ManagementAccount", "AllFeatures",
    "TrustedAccess", "DelegatedAdministrator"}, or None outside an organization."""
    with _Rows(conn) as rec:
        org = _org_row(rec, account)
        if org is None:
            return None
        trusted = rec.one("SELECT 1 FROM org_service_access WHERE org=? AND principal=?", org["id"], principal)
        delegated = rec.one("SELECT 1 FROM org_delegated WHERE org=? AND account=? AND principal=?",
                            org["id"], account, principal)
        return {"OrgId": org["id"], "ManagementAccount": org["mgmt"], "AllFeatures": org["feature_set"] == "ALL",
                "TrustedAccess": trusted is not None, "DelegatedAdministrator": delegated is not None}
