"""IAM's tables and the row access every resource module shares.

IAM is global: every row is keyed by account with region "" (one namespace per account).
Named entities (users, groups, roles, customer managed policies, instance profiles, SAML
and OIDC providers, server certificates, virtual MFA devices) share `iam_entity`, keyed
by the lowercased name so names are unique case-insensitively as IAM requires; their
attributes that need no index live in the `data` JSON.  Relations (group membership,
attachments, inline policies, policy versions, instance profile roles) have their own
tables so deletion rules and listings are index lookups.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterator

import orjson

SCHEMA = [
    """CREATE TABLE iam_entity (
        account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
        name TEXT NOT NULL, path TEXT NOT NULL, id TEXT NOT NULL, arn TEXT NOT NULL,
        created REAL NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (account, region, kind, key));
    CREATE TABLE iam_member (
        account TEXT NOT NULL, region TEXT NOT NULL, group_key TEXT NOT NULL, user_key TEXT NOT NULL,
        PRIMARY KEY (account, region, group_key, user_key));
    CREATE INDEX iam_member_user ON iam_member(account, region, user_key);
    CREATE TABLE iam_attached (
        account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
        policy_arn TEXT NOT NULL, attached REAL NOT NULL,
        PRIMARY KEY (account, region, kind, key, policy_arn));
    CREATE INDEX iam_attached_policy ON iam_attached(account, region, policy_arn);
    CREATE TABLE iam_inline (
        account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
        name_key TEXT NOT NULL, name TEXT NOT NULL, document TEXT NOT NULL,
        PRIMARY KEY (account, region, kind, key, name_key));
    CREATE TABLE iam_policy_version (
        account TEXT NOT NULL, region TEXT NOT NULL, policy_key TEXT NOT NULL, version INTEGER NOT NULL,
        document TEXT NOT NULL, is_default INTEGER NOT NULL, created REAL NOT NULL,
        PRIMARY KEY (account, region, policy_key, version));
    CREATE TABLE iam_profile_role (
        account TEXT NOT NULL, region TEXT NOT NULL, profile_key TEXT NOT NULL, role_key TEXT NOT NULL,
        PRIMARY KEY (account, region, profile_key, role_key));
    CREATE INDEX iam_profile_role_role ON iam_profile_role(account, region, role_key);
    CREATE TABLE iam_access_key (
        access_key_id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
        user_key TEXT NOT NULL, secret TEXT NOT NULL, status TEXT NOT NULL, created REAL NOT NULL,
        last_used REAL, last_service TEXT, last_region TEXT);
    CREATE INDEX iam_access_key_user ON iam_access_key(account, region, user_key);
    CREATE TABLE iam_credential (
        account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
        user_key TEXT NOT NULL, created REAL NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (account, region, kind, id));
    CREATE INDEX iam_credential_user ON iam_credential(account, region, user_key, kind);
    CREATE TABLE iam_account (
        account TEXT NOT NULL, region TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (account, region))""",
]

REGION = ""   # IAM is global


class Records:
    """SQL for one account's IAM rows, inside the request's transaction."""

    __slots__ = ("db", "account")

    def __init__(self, db: sqlite3.Connection, account: str):
        self.db, self.account = db, account

    # -- named entities ---------------------------------------------------------------
    def get(self, kind: str, name: str) -> dict | None:
        row = self.db.execute(
            "SELECT name, path, id, arn, created, data FROM iam_entity "
            "WHERE account=? AND region=? AND kind=? AND key=?",
            (self.account, REGION, kind, name.lower())).fetchone()
        return entity(row) if row is not None else None

    def insert(self, kind: str, entity: dict) -> None:
        self.db.execute(
            "INSERT INTO iam_entity(account, region, kind, key, name, path, id, arn, created, data) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (self.account, REGION, kind, entity["name"].lower(), entity["name"], entity["path"],
             entity["id"], entity["arn"], entity["created"], json.dumps(entity["data"])))

    def save(self, kind: str, entity: dict, old_name: str | None = None) -> None:
        """Write back an entity (renamed when `old_name` differs from its name)."""
        self.db.execute(
            "UPDATE iam_entity SET key=?, name=?, path=?, arn=?, data=? "
            "WHERE account=? AND region=? AND kind=? AND key=?",
            (entity["name"].lower(), entity["name"], entity["path"], entity["arn"],
             json.dumps(entity["data"]), self.account, REGION, kind, (old_name or entity["name"]).lower()))

    def delete(self, kind: str, name: str) -> None:
        self.db.execute("DELETE FROM iam_entity WHERE account=? AND region=? AND kind=? AND key=?",
                        (self.account, REGION, kind, name.lower()))

    def all(self, kind: str, path_prefix: str | None = None, after: str | None = None,
            limit: int | None = None) -> list[dict]:
        """Entities of `kind` in key order; `after`/`limit` read one page."""
        return [entity(r) for r in self.entity_rows(kind, path_prefix, after, limit)]

    def entity_rows(self, kind: str, path_prefix: str | None = None, after: str | None = None,
                    limit: int | None = None) -> list[tuple]:
        """The stored rows `all` decodes, as plain tuples (name, path, id, arn, created,
        data text): hashable, so a listing can memoize what it makes of each row version."""
        sql = ("SELECT name, path, id, arn, created, data FROM iam_entity "
               "WHERE account=? AND region=? AND kind=?")
        args: list[Any] = [self.account, REGION, kind]
        if path_prefix and path_prefix != "/":
            sql += " AND substr(path, 1, ?) = ?"
            args += [len(path_prefix), path_prefix]
        if after is not None:
            sql += " AND key > ?"
            args.append(after)
        sql += " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        cursor = self.db.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, args).fetchall()

    def count(self, kind: str) -> int:
        return self.db.execute("SELECT count(*) FROM iam_entity WHERE account=? AND region=? AND kind=?",
                               (self.account, REGION, kind)).fetchone()[0]

    def by_keys(self, kind: str, keys: list[str]) -> list[dict]:
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        return [entity(r) for r in self.db.execute(
            f"SELECT name, path, id, arn, created, data FROM iam_entity WHERE account=? AND region=? "
            f"AND kind=? AND key IN ({marks}) ORDER BY key", (self.account, REGION, kind, *keys))]

    # -- relations ------------------------------------------------------------------------
    def exec(self, sql: str, *args) -> sqlite3.Cursor:
        """Run `sql` whose first two placeholders are account and region."""
        return self.db.execute(sql, (self.account, REGION, *args))

    def rows(self, sql: str, *args) -> Iterator[sqlite3.Row]:
        return iter(self.exec(sql, *args).fetchall())

    def scalar(self, sql: str, *args) -> Any:
        row = self.exec(sql, *args).fetchone()
        return row[0] if row is not None else None

    # -- account settings -----------------------------------------------------------------
    def settings(self) -> dict:
        raw = self.scalar("SELECT data FROM iam_account WHERE account=? AND region=?")
        return json.loads(raw) if raw else {}

    def save_settings(self, data: dict) -> None:
        self.exec("INSERT INTO iam_account(account, region, data) VALUES (?,?,?) "
                  "ON CONFLICT(account, region) DO UPDATE SET data=excluded.data", json.dumps(data))


def entity(row) -> dict:
    """A stored row (name, path, id, arn, created, data text) as the entity dict."""
    return {"name": row[0], "path": row[1], "id": row[2], "arn": row[3], "created": row[4],
            "data": load_data(row[5])}


def load_data(text: str) -> Any:
    """A stored `data` column.  orjson reads a page of roles several times faster than
    json; json.dumps wrote it, and only json reads what orjson refuses (a lone surrogate
    escape, an integer past 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
