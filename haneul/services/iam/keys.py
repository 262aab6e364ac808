"""Access keys for the identity layer: which user a long-term (AKIA) key belongs to."""

from __future__ import annotations

import sqlite3


def lookup_access_key(conn: sqlite3.Connection, access_key_id: str) -> dict | None:
    """{account, user_name, arn, user_id, status, secret} for a key CreateAccessKey issued,
    or None.  A root user's key has user_name None and the account's root ARN."""
    try:
        row = conn.execute(
            "SELECT k.account, k.status, k.secret, e.name, e.arn, e.id FROM iam_access_key k "
            "LEFT JOIN iam_entity e ON e.account = k.account AND e.region = k.region AND e.kind = 'user' "
            "AND e.key = k.user_key WHERE k.access_key_id = ?", (access_key_id,)).fetchone()
    except sqlite3.OperationalError:      # IAM never ran in this store: nobody holds this key
        return None
    if row is None:
        return None
    account, status, secret, name, arn, user_id = row
    if name is None:
        arn, user_id = f"arn:aws:iam::{account}:root", account
    return {"account": account, "user_name": name, "arn": arn, "user_id": user_id, "status": status,
            "secret": secret}


def record_use(conn: sqlite3.Connection, access_key_id: str, when: float, service: str, region: str) -> None:
    """Remember a key's last use (GetAccessKeyLastUsed, the credential report)."""
    try:
        conn.execute("UPDATE iam_access_key SET last_used=?, last_service=?, last_region=? WHERE access_key_id=?",
                     (when, service, region, access_key_id))
    except sqlite3.OperationalError:
        pass
