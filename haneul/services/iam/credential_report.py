"""The credential report: one CSV row for the root user and each IAM user, with the
columns AWS's report has, in AWS's order and value conventions (true/false, N/A,
no_information, not_supported, ISO 8601 times)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from haneul.services.iam.records import Records

COLUMNS = [
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
    "password_next_rotation", "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
]
EXPIRES_AFTER = 4 * 3600   # AWS keeps a generated report for four hours


def iso(t: float | None) -> str:
    if t is None:
        return "N/A"
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).replace(microsecond=0).isoformat()


def _keys(rec: Records, user_key: str) -> list[list[str]]:
    rows = rec.rows("SELECT status, created, last_used, last_region, last_service FROM iam_access_key "
                    "WHERE account=? AND region=? AND user_key=? ORDER BY created, access_key_id", user_key)
    out = []
    for r in rows:
        used = r[2] is not None
        out.append(["true" if r[0] == "Active" else "false", iso(r[1]), iso(r[2]) if used else "N/A",
                    r[3] if used else "N/A", r[4] if used else "N/A"])
    while len(out) < 2:
        out.append(["false", "N/A", "N/A", "N/A", "N/A"])
    return out[:2]


def _certs(rec: Records, user_key: str) -> list[list[str]]:
    import json
    rows = rec.rows("SELECT created, data FROM iam_credential WHERE account=? AND region=? AND user_key=? "
                    "AND kind='signing-certificate' ORDER BY created, id", user_key)
    out = [["true" if json.loads(r[1])["status"] == "Active" else "false", iso(r[0])] for r in rows]
    while len(out) < 2:
        out.append(["false", "N/A"])
    return out[:2]


def build(rec: Records, now: float, account_created: float) -> bytes:
    settings = rec.settings()
    max_age = (settings.get("password_policy") or {}).get("MaxPasswordAge")
    mfa_users = {m["data"].get("user") for m in rec.all("mfa") if m["data"].get("user")}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    root_keys = _keys(rec, "")
    writer.writerow(["<root_account>", f"arn:aws:iam::{rec.account}:root", iso(account_created), "not_supported",
                     "no_information", "not_supported", "not_supported", "false",
                     *root_keys[0], *root_keys[1], "false", "N/A", "false", "N/A"])
    for user in rec.all("user"):
        key = user["name"].lower()
        profile = user["data"].get("login_profile")
        if profile:
            last_used = iso(user["data"]["password_last_used"]) if user["data"].get("password_last_used") \
                else "no_information"
            changed = iso(profile["created"])
            rotation = iso(profile["created"] + max_age * 86400) if max_age else "N/A"
            password = ["true", last_used, changed, rotation]
        else:
            password = ["false", "N/A", "N/A", "N/A"]
        keys, certs = _keys(rec, key), _certs(rec, key)
        writer.writerow([user["name"], user["arn"], iso(user["created"]), *password,
                         "true" if key in mfa_users else "false", *keys[0], *keys[1], *certs[0], *certs[1]])
    return buf.getvalue().encode()
