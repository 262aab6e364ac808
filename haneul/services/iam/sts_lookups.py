"""The answers STS asks IAM for (haneul/services/sts/iam_records.py has the same
signatures): roles, MFA codes, outbound federation settings."""

from __future__ import annotations

import json
import sqlite3

from haneul.services.iam import mfa
from haneul.services.iam.records import Records


def lookup_role(db: sqlite3.Connection, account: str, role_name: str) -> dict | None:
    """{role_id, arn, path, max_session_duration, tags, trust_policy} or None."""
    try:
        role = Records(db, account).get("role", role_name)
    except sqlite3.OperationalError:
        return None
    if role is None or role["name"] != role_name:   # role names in ARNs are matched exactly
        return None
    data = role["data"]
    return {"role_id": role["id"], "arn": role["arn"], "path": role["path"], "name": role["name"],
            "max_session_duration": data.get("max_session", 3600),
            "tags": {t["Key"]: t["Value"] for t in data.get("tags", [])}, "trust_policy": data["trust"]}


def verify_mfa_code(db: sqlite3.Connection, account: str, serial_number: str, token_code: str,
                    now: float | None = None) -> bool | None:
    import time
    try:
        return mfa.verify(Records(db, account), serial_number, token_code, now if now is not None else time.time())
    except sqlite3.OperationalError:
        return None


def outbound_federation(db: sqlite3.Connection, account: str) -> dict | None:
    try:
        raw = db.execute("SELECT data FROM iam_account WHERE account=? AND region=''", (account,)).fetchone()
    except sqlite3.OperationalError:
        return None
    federation = json.loads(raw[0]).get("outbound_federation") if raw else None
    if not federation:
        return None
    return {"enabled": bool(federation.get("enabled")), "issuer": federation.get("issuer")}
