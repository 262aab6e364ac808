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


def _levels(conn: sqlite3.Connection, account: str, kind: str) -> list[list[dict]]:
    conn_rows = conn.row_factory
    try:
        conn.row_factory = sqlite3.Row
        rec = Records(conn)
        row = rec.one("SELECT org FROM org_account WHERE id=?", account)
        if row is None or not row["org"]:
            return []
        org = rec.organization(row["org"])
        if org is None or org["mgmt"] == account or kind not in rec.enabled_types(org["id"]):
            return []
        return [[json.loads(p.content) for p in rec.attached(org["id"], node, kind)]
                for node in rec.path(org, account)]
    finally:
        conn.row_factory = conn_rows


def scps_for_account(conn: sqlite3.Connection, account: str) -> list[list[dict]]:
    return _levels(conn, account, "SERVICE_CONTROL_POLICY")


def rcps_for_account(conn: sqlite3.Connection, account: str) -> list[list[dict]]:
    return _levels(conn, account, "RESOURCE_CONTROL_POLICY")


def organization_of(conn: sqlite3.Connection, account: str) -> dict | None:
    """The values of the aws:PrincipalOrgID / aws:PrincipalOrgPaths / aws:ResourceOrgID
    condition keys for an account: {"OrgId", "ManagementAccount", "Path"} or None."""
    conn_rows = conn.row_factory
    try:
        conn.row_factory = sqlite3.Row
        rec = Records(conn)
        row = rec.one("SELECT org FROM org_account WHERE id=?", account)
        if row is None or not row["org"]:
            return None
        org = rec.organization(row["org"])
        if org is None:
            return None
        nodes = rec.path(org, account)[:-1]
        return {"OrgId": org["id"], "ManagementAccount": org["mgmt"],
                "Path": org["id"] + "/" + "".join(n + "/" for n in nodes)}
    finally:
        conn.row_factory = conn_rows
