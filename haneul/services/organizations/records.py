"""Organizations tables and the SQL that reads them.

Organizations is global: nothing is keyed by region.  Everything hangs off the
organization id; an account belongs to at most one organization (`org_account.org`,
'' once it has left), so the caller's account finds its organization with one lookup.
AWS managed policies (FullAWSAccess, RCPFullAWSAccess) are not rows: they exist in
every organization with all features and are built by `managed_policy`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from haneul.services.organizations import ids

SCHEMA = [
    """CREATE TABLE org_organization (
        id TEXT PRIMARY KEY, mgmt TEXT NOT NULL UNIQUE, feature_set TEXT NOT NULL,
        root_id TEXT NOT NULL, created REAL NOT NULL, mgmt_email TEXT NOT NULL,
        mgmt_name TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE org_policy_type (
        org TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL,
        PRIMARY KEY (org, type));
    CREATE TABLE org_account (
        id TEXT PRIMARY KEY, org TEXT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL,
        parent TEXT NOT NULL, joined_method TEXT NOT NULL, joined REAL NOT NULL,
        state TEXT NOT NULL, closed REAL);
    CREATE INDEX org_account_org ON org_account (org, parent);
    CREATE INDEX org_account_email ON org_account (email);
    CREATE TABLE org_ou (
        id TEXT PRIMARY KEY, org TEXT NOT NULL, parent TEXT NOT NULL, name TEXT NOT NULL,
        created REAL NOT NULL);
    CREATE INDEX org_ou_parent ON org_ou (org, parent);
    CREATE TABLE org_policy (
        org TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL,
        description TEXT NOT NULL, content TEXT NOT NULL, created REAL NOT NULL,
        PRIMARY KEY (org, id));
    CREATE TABLE org_attachment (
        org TEXT NOT NULL, policy TEXT NOT NULL, target TEXT NOT NULL, type TEXT NOT NULL,
        attached REAL NOT NULL, UNIQUE (org, policy, target));
    CREATE INDEX org_attachment_target ON org_attachment (org, target, type);
    CREATE TABLE org_tag (
        org TEXT NOT NULL, resource TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (org, resource, key)) WITHOUT ROWID;
    CREATE TABLE org_handshake (
        id TEXT PRIMARY KEY, org TEXT NOT NULL, mgmt TEXT NOT NULL, action TEXT NOT NULL,
        state TEXT NOT NULL, requested REAL NOT NULL, expires REAL NOT NULL,
        parties TEXT NOT NULL, resources TEXT NOT NULL, target TEXT NOT NULL,
        parent TEXT, tags TEXT, updated REAL NOT NULL);
    CREATE INDEX org_handshake_org ON org_handshake (org);
    CREATE INDEX org_handshake_target ON org_handshake (target);
    CREATE TABLE org_create_status (
        id TEXT PRIMARY KEY, org TEXT NOT NULL, account_name TEXT NOT NULL, account_id TEXT,
        govcloud_id TEXT, requested REAL NOT NULL, completes REAL NOT NULL, state TEXT NOT NULL,
        failure TEXT);
    CREATE INDEX org_create_status_org ON org_create_status (org, requested);
    CREATE TABLE org_service_access (
        org TEXT NOT NULL, principal TEXT NOT NULL, enabled REAL NOT NULL,
        PRIMARY KEY (org, principal)) WITHOUT ROWID;
    CREATE TABLE org_delegated (
        org TEXT NOT NULL, account TEXT NOT NULL, principal TEXT NOT NULL, enabled REAL NOT NULL,
        PRIMARY KEY (org, account, principal)) WITHOUT ROWID;
    CREATE TABLE org_resource_policy (
        org TEXT PRIMARY KEY, id TEXT NOT NULL, content TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE org_transfer (
        id TEXT PRIMARY KEY, source_org TEXT NOT NULL, target_org TEXT NOT NULL,
        source_mgmt TEXT NOT NULL, target_mgmt TEXT NOT NULL, name TEXT NOT NULL,
        type TEXT NOT NULL, status TEXT NOT NULL, start REAL NOT NULL, end REAL,
        handshake TEXT NOT NULL) WITHOUT ROWID""",
]

FULL_ACCESS = {"SERVICE_CONTROL_POLICY": "p-FullAWSAccess", "RESOURCE_CONTROL_POLICY": "p-RCPFullAWSAccess"}
_MANAGED = {
    "p-FullAWSAccess": ("SERVICE_CONTROL_POLICY", "FullAWSAccess",
                        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    "p-RCPFullAWSAccess": ("RESOURCE_CONTROL_POLICY", "RCPFullAWSAccess",
                           {"Version": "2012-10-17", "Statement": [
                               {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}),
}
MANAGED_DESCRIPTION = "Allows access to every operation"


@dataclass
class Policy:
    org: str
    id: str
    type: str
    name: str
    description: str
    content: str
    aws_managed: bool = False


def managed_policy(org: str, policy_id: str) -> Policy | None:
    found = _MANAGED.get(policy_id)
    if found is None:
        return None
    kind, name, doc = found
    return Policy(org, policy_id, kind, name, MANAGED_DESCRIPTION, json.dumps(doc, indent=4), True)


class Records:
    """The SQL of one request, bound to its transaction."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def one(self, sql: str, *args) -> sqlite3.Row | None:
        return self.db.execute(sql, args).fetchone()

    def all(self, sql: str, *args) -> list[sqlite3.Row]:
        return self.db.execute(sql, args).fetchall()

    # -- organizations and accounts ------------------------------------------------------
    def organization(self, org: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM org_organization WHERE id=?", org)

    def account(self, account: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM org_account WHERE id=?", account)

    def member(self, org: str, account: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM org_account WHERE id=? AND org=?", account, org)

    def accounts(self, org: str, parent: str | None = None) -> list[sqlite3.Row]:
        if parent is None:
            return self.all("SELECT * FROM org_account WHERE org=? ORDER BY joined, rowid", org)
        return self.all("SELECT * FROM org_account WHERE org=? AND parent=? ORDER BY joined, rowid", org, parent)

    def account_by_email(self, email: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM org_account WHERE email=? COLLATE NOCASE", email)

    # -- tree -----------------------------------------------------------------------------
    def ou(self, org: str, ou: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM org_ou WHERE id=? AND org=?", ou, org)

    def ous(self, org: str, parent: str) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM org_ou WHERE org=? AND parent=? ORDER BY created, rowid", org, parent)

    def all_ous(self, org: str) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM org_ou WHERE org=? ORDER BY created, rowid", org)

    def path(self, org_row: sqlite3.Row, node: str) -> list[str]:
        """The ids from the root down to `node` (inclusive); [] when it is not in the tree."""
        out: list[str] = []
        current = node
        for _ in range(64):
            out.append(current)
            if current == org_row["root_id"]:
                return list(reversed(out))
            if current.startswith("ou-"):
                row = self.ou(org_row["id"], current)
            else:
                row = self.member(org_row["id"], current)
            if row is None:
                return []
            current = row["parent"]
        return []

    # -- policies -------------------------------------------------------------------------
    def enabled_types(self, org: str) -> dict[str, str]:
        return {r["type"]: r["status"] for r in
                self.all("SELECT type, status FROM org_policy_type WHERE org=? ORDER BY rowid", org)}

    def policy(self, org: str, policy_id: str) -> Policy | None:
        managed = managed_policy(org, policy_id)
        if managed is not None:
            return managed
        row = self.one("SELECT * FROM org_policy WHERE org=? AND id=?", org, policy_id)
        if row is None:
            return None
        return Policy(org, row["id"], row["type"], row["name"], row["description"], row["content"])

    def policies(self, org: str, kind: str) -> list[Policy]:
        out = [managed_policy(org, pid) for pid, (k, _, _) in _MANAGED.items() if k == kind]
        rows = self.all("SELECT * FROM org_policy WHERE org=? AND type=? ORDER BY created, rowid", org, kind)
        return out + [Policy(org, r["id"], r["type"], r["name"], r["description"], r["content"]) for r in rows]

    def attached(self, org: str, target: str, kind: str | None = None) -> list[Policy]:
        sql = "SELECT policy FROM org_attachment WHERE org=? AND target=?"
        args: tuple = (org, target)
        if kind is not None:
            sql += " AND type=?"
            args += (kind,)
        rows = self.all(sql + " ORDER BY attached, rowid", *args)
        return [p for p in (self.policy(org, r["policy"]) for r in rows) if p is not None]

    def targets(self, org: str, policy_id: str) -> list[str]:
        return [r["target"] for r in self.all(
            "SELECT target FROM org_attachment WHERE org=? AND policy=? ORDER BY attached, rowid", org, policy_id)]

    def attach(self, org: str, policy: Policy, target: str, now: float) -> None:
        self.db.execute("INSERT OR IGNORE INTO org_attachment(org, policy, target, type, attached) "
                        "VALUES (?, ?, ?, ?, ?)", (org, policy.id, target, policy.type, now))

    def attach_defaults(self, org: str, target: str, now: float) -> None:
        """A new root, OU or account gets the AWS managed policy of each enabled type."""
        for kind in self.enabled_types(org):
            pid = FULL_ACCESS.get(kind)
            if pid:
                self.attach(org, managed_policy(org, pid), target, now)

    def detach_all(self, org: str, target: str) -> None:
        self.db.execute("DELETE FROM org_attachment WHERE org=? AND target=?", (org, target))

    # -- tags -----------------------------------------------------------------------------
    def tags(self, org: str, resource: str) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.all(
            "SELECT key, value FROM org_tag WHERE org=? AND resource=? ORDER BY key", org, resource)}

    def set_tags(self, org: str, resource: str, tags: dict[str, str]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO org_tag(org, resource, key, value) VALUES (?, ?, ?, ?)",
                            [(org, resource, k, v) for k, v in tags.items()])

    def drop_tags(self, org: str, resource: str) -> None:
        self.db.execute("DELETE FROM org_tag WHERE org=? AND resource=?", (org, resource))

    # -- delegated administrators ---------------------------------------------------------
    def delegations(self, org: str, account: str) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM org_delegated WHERE org=? AND account=? ORDER BY enabled, principal",
                        org, account)


def account_shape(org: sqlite3.Row, row: sqlite3.Row, now: float) -> dict:
    state = account_state(row, now)
    return {"Id": row["id"], "Arn": ids.account_arn(org["mgmt"], org["id"], row["id"]),
            "Email": row["email"], "Name": row["name"],
            "Status": "SUSPENDED" if state == "CLOSED" else state,
            "State": state, "JoinedMethod": row["joined_method"], "JoinedTimestamp": row["joined"]}


# Closing an account takes a little while: PENDING_CLOSURE, then SUSPENDED (Status)/CLOSED (State).
CLOSE_SECONDS = 2.0


def account_state(row: sqlite3.Row, now: float) -> str:
    if row["state"] == "PENDING_CLOSURE" and row["closed"] is not None and now >= row["closed"] + CLOSE_SECONDS:
        return "CLOSED"
    return row["state"]


def root_shape(org: sqlite3.Row, types: dict[str, str]) -> dict:
    return {"Id": org["root_id"], "Arn": ids.root_arn(org["mgmt"], org["id"], org["root_id"]),
            "Name": "Root", "PolicyTypes": [{"Type": t, "Status": s} for t, s in types.items()]}


def ou_shape(org: sqlite3.Row, row: sqlite3.Row, path: list[str] | None = None) -> dict:
    out = {"Id": row["id"], "Arn": ids.ou_arn(org["mgmt"], org["id"], row["id"]), "Name": row["name"]}
    if path:
        out["Path"] = org["id"] + "/" + "/".join(path) + "/"
    return out


def policy_summary(org: sqlite3.Row, p: Policy) -> dict:
    return {"Id": p.id, "Arn": ids.policy_arn(org["mgmt"], org["id"], p.type, p.id, p.aws_managed),
            "Name": p.name, "Description": p.description, "Type": p.type, "AwsManaged": p.aws_managed}


def organization_shape(org: sqlite3.Row, types: dict[str, str]) -> dict:
    available = ([{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]
                 if org["feature_set"] == "ALL" else [])
    return {"Id": org["id"], "Arn": ids.organization_arn(org["mgmt"], org["id"]),
            "FeatureSet": org["feature_set"],
            "MasterAccountArn": ids.account_arn(org["mgmt"], org["id"], org["mgmt"]),
            "MasterAccountId": org["mgmt"], "MasterAccountEmail": org["mgmt_email"],
            "AvailablePolicyTypes": available}
