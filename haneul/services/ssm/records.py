"""Parameter Store tables and the SQL that reads and writes them.

ssm_parameter holds each parameter's current version (GetParameter is one
primary-key lookup, GetParametersByPath an index range over `key`),
ssm_parameter_version every retained version, ssm_parameter_label the labels
(a label names one version of one parameter, hence the primary key), ssm_tag the
tags of any SSM resource and ssm_setting the customised service settings.
"""

from __future__ import annotations

import sqlite3
from typing import Iterator

_VERSION_COLUMNS = ("type", "data_type", "tier", "value", "description", "allowed_pattern", "key_id",
                    "policies", "last_modified", "last_modified_user")

SCHEMA = [
    """CREATE TABLE ssm_parameter (
        account TEXT NOT NULL, region TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
        version INTEGER NOT NULL, type TEXT NOT NULL, data_type TEXT NOT NULL, tier TEXT NOT NULL,
        value TEXT NOT NULL, description TEXT, allowed_pattern TEXT, key_id TEXT, policies TEXT,
        expires_at REAL, last_modified REAL NOT NULL, last_modified_user TEXT NOT NULL,
        PRIMARY KEY (account, region, key)) WITHOUT ROWID;
    CREATE INDEX ssm_parameter_expiry ON ssm_parameter (account, region, expires_at)
        WHERE expires_at IS NOT NULL;
    CREATE INDEX ssm_parameter_tier ON ssm_parameter (account, region, tier);
    CREATE TABLE ssm_parameter_version (
        account TEXT NOT NULL, region TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL,
        type TEXT NOT NULL, data_type TEXT NOT NULL, tier TEXT NOT NULL, value TEXT NOT NULL,
        description TEXT, allowed_pattern TEXT, key_id TEXT, policies TEXT,
        last_modified REAL NOT NULL, last_modified_user TEXT NOT NULL,
        PRIMARY KEY (account, region, key, version)) WITHOUT ROWID;
    CREATE TABLE ssm_parameter_label (
        account TEXT NOT NULL, region TEXT NOT NULL, key TEXT NOT NULL, label TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (account, region, key, label)) WITHOUT ROWID;
    CREATE INDEX ssm_parameter_label_version ON ssm_parameter_label (account, region, key, version);
    CREATE TABLE ssm_tag (
        account TEXT NOT NULL, region TEXT NOT NULL, resource_type TEXT NOT NULL,
        resource_id TEXT NOT NULL, tag_key TEXT NOT NULL, tag_value TEXT NOT NULL,
        PRIMARY KEY (account, region, resource_type, resource_id, tag_key)) WITHOUT ROWID;
    CREATE TABLE ssm_setting (
        account TEXT NOT NULL, region TEXT NOT NULL, setting_id TEXT NOT NULL, value TEXT NOT NULL,
        last_modified REAL NOT NULL, last_modified_user TEXT NOT NULL,
        PRIMARY KEY (account, region, setting_id)) WITHOUT ROWID""",
]


class Records:
    """The SQL of one request: bound to its transaction, account and region."""

    def __init__(self, db: sqlite3.Connection, account: str, region: str):
        self.db, self.account, self.region = db, account, region
        self.scope = (account, region)

    # -- parameters ---------------------------------------------------------------------
    def current(self, key: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM ssm_parameter WHERE account=? AND region=? AND key=?",
                               (*self.scope, key)).fetchone()

    def version(self, key: str, version: int) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM ssm_parameter_version WHERE account=? AND region=? AND key=? AND version=?",
            (*self.scope, key, version)).fetchone()

    def versions(self, key: str, after: int, limit: int) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM ssm_parameter_version WHERE account=? AND region=? AND key=? AND version>? "
            "ORDER BY version LIMIT ?", (*self.scope, key, after, limit)).fetchall()

    def version_span(self, key: str) -> tuple[int, int | None]:
        """(how many versions are retained, the oldest one)."""
        row = self.db.execute(
            "SELECT COUNT(*), MIN(version) FROM ssm_parameter_version WHERE account=? AND region=? AND key=?",
            (*self.scope, key)).fetchone()
        return row[0], row[1]

    def drop_version(self, key: str, version: int) -> None:
        self.db.execute("DELETE FROM ssm_parameter_version WHERE account=? AND region=? AND key=? AND version=?",
                        (*self.scope, key, version))

    def count_tier(self, tier: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM ssm_parameter WHERE account=? AND region=? AND tier=?",
                               (*self.scope, tier)).fetchone()[0]

    def write(self, key: str, name: str, version: int, fields: dict, expires_at: float | None) -> None:
        """Make `fields` (the _VERSION_COLUMNS) the new current version."""
        values = [fields[c] for c in _VERSION_COLUMNS]
        self.db.execute(
            f"INSERT OR REPLACE INTO ssm_parameter (account, region, key, name, version, expires_at, "
            f"{', '.join(_VERSION_COLUMNS)}) VALUES ({', '.join('?' * (6 + len(values)))})",
            (*self.scope, key, name, version, expires_at, *values))
        self.db.execute(
            f"INSERT INTO ssm_parameter_version (account, region, key, version, "
            f"{', '.join(_VERSION_COLUMNS)}) VALUES ({', '.join('?' * (4 + len(values)))})",
            (*self.scope, key, version, *values))

    def delete(self, key: str) -> None:
        for table in ("ssm_parameter", "ssm_parameter_version", "ssm_parameter_label"):
            self.db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND key=?", (*self.scope, key))
        self.db.execute("DELETE FROM ssm_tag WHERE account=? AND region=? AND resource_type='Parameter' "
                        "AND resource_id=?", (*self.scope, key))

    def expired(self, now: float) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT key FROM ssm_parameter WHERE account=? AND region=? AND expires_at IS NOT NULL "
            "AND expires_at<=?", (*self.scope, now))]

    def scan(self, after: str, prefix: str = "", one_level: bool = False) -> Iterator[sqlite3.Row]:
        """Current parameters in key order after `after`, within `prefix` (an index range:
        "a/" .. "a0", since "0" follows "/"), optionally only direct children."""
        sql = "SELECT * FROM ssm_parameter WHERE account=? AND region=? AND key>?"
        args: list = [*self.scope, after]
        if prefix:
            sql += " AND key>=? AND key<?"
            args += [prefix, prefix[:-1] + "0"]
        if one_level:
            sql += " AND instr(substr(key, ?), '/')=0"
            args.append(len(prefix) + 1)
        return iter(self.db.execute(sql + " ORDER BY key", args))

    # -- labels -------------------------------------------------------------------------
    def labels(self, key: str, version: int | None = None) -> dict[int, list[str]]:
        sql = "SELECT version, label FROM ssm_parameter_label WHERE account=? AND region=? AND key=?"
        args: list = [*self.scope, key]
        if version is not None:
            sql += " AND version=?"
            args.append(version)
        out: dict[int, list[str]] = {}
        for row in self.db.execute(sql + " ORDER BY version, label", args):
            out.setdefault(row[0], []).append(row[1])
        return out

    def label_version(self, key: str, labels: list[str]) -> int | None:
        """The (newest) version carrying one of `labels`."""
        row = self.db.execute(
            f"SELECT MAX(version) FROM ssm_parameter_label WHERE account=? AND region=? AND key=? "
            f"AND label IN ({', '.join('?' * len(labels))})", (*self.scope, key, *labels)).fetchone()
        return row[0]

    def attach(self, key: str, label: str, version: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO ssm_parameter_label VALUES (?, ?, ?, ?, ?)",
                        (*self.scope, key, label, version))

    def detach(self, key: str, label: str) -> None:
        self.db.execute("DELETE FROM ssm_parameter_label WHERE account=? AND region=? AND key=? AND label=?",
                        (*self.scope, key, label))

    # -- tags ---------------------------------------------------------------------------
    def tags(self, resource_type: str, resource_id: str) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT tag_key, tag_value FROM ssm_tag WHERE account=? AND region=? AND resource_type=? "
            "AND resource_id=? ORDER BY tag_key", (*self.scope, resource_type, resource_id))}

    def set_tags(self, resource_type: str, resource_id: str, tags: dict[str, str]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO ssm_tag VALUES (?, ?, ?, ?, ?, ?)",
                            [(*self.scope, resource_type, resource_id, k, v) for k, v in tags.items()])

    def remove_tags(self, resource_type: str, resource_id: str, keys: list[str]) -> None:
        self.db.executemany("DELETE FROM ssm_tag WHERE account=? AND region=? AND resource_type=? "
                            "AND resource_id=? AND tag_key=?",
                            [(*self.scope, resource_type, resource_id, k) for k in keys])
