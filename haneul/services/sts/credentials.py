"""Temporary credentials: their formats, their table, and the lookup the identity layer uses.

Access key ids follow AWS's format since 2018: a 4-letter prefix (ASIA temporary, AKIA
long-term) and 16 base32 characters whose first 6 bytes carry the account id in bits
46..7 with the top bit set.  So `account_from_access_key_id` recovers the account of any
key Haneul issues (and of any real post-2018 key), with no table lookup.

Credentials are stored without a region: STS is a global service and a session token
issued by any regional endpoint works everywhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
import sqlite3
import time
import zlib
from typing import Any

SCHEMA = [
    """CREATE TABLE sts_credential (
        access_key_id TEXT PRIMARY KEY,
        secret_access_key TEXT NOT NULL,
        session_token TEXT NOT NULL,
        account TEXT NOT NULL,
        kind TEXT NOT NULL,                 -- assumed-role | federated-user | session
        principal_kind TEXT NOT NULL,       -- root | user | assumed-role | federated
        arn TEXT NOT NULL,
        user_id TEXT NOT NULL,
        issued REAL NOT NULL,
        expiration REAL NOT NULL,
        role_arn TEXT,
        role_session_name TEXT,
        source_identity TEXT,
        tags TEXT NOT NULL DEFAULT '{}',            -- session tags, JSON object
        transitive_tag_keys TEXT NOT NULL DEFAULT '[]',
        policy TEXT,                                -- inline session policy
        policy_arns TEXT NOT NULL DEFAULT '[]',     -- managed session policies
        scoped_policies TEXT NOT NULL DEFAULT '[]', -- GetScopedCredentials layers
        mfa INTEGER NOT NULL DEFAULT 0,
        chained INTEGER NOT NULL DEFAULT 0,
        external_id TEXT,
        parent_access_key TEXT,
        caller_arn TEXT
    );
    CREATE INDEX sts_credential_expiration ON sts_credential(expiration)""",
    """CREATE TABLE sts_secret (name TEXT PRIMARY KEY, value BLOB NOT NULL)""",
    """CREATE TABLE sts_signing_key (
        account TEXT NOT NULL, algorithm TEXT NOT NULL, kid TEXT NOT NULL,
        private_key TEXT NOT NULL, created REAL NOT NULL,
        PRIMARY KEY (account, algorithm))""",
    """CREATE TABLE sts_trade_in_token (
        token_hash TEXT PRIMARY KEY, account TEXT NOT NULL, principal_arn TEXT NOT NULL,
        user_id TEXT NOT NULL, principal_kind TEXT NOT NULL, duration INTEGER NOT NULL,
        policy TEXT, expiration REAL NOT NULL, redeemed INTEGER NOT NULL DEFAULT 0)""",
]

# Rows are kept this long after they expire, so a late request still hears ExpiredToken
# rather than InvalidClientTokenId, as AWS answers.
EXPIRED_GRACE_SECONDS = 7 * 24 * 3600
MAX_SESSION_TOKEN_SIZE = 4096          # SessionTokenUtilization is relative to this
_TOKEN_MAGIC = b"!\n\torigin_ec"       # base64 "IQoJb3JpZ2luX2Vj", how AWS tokens begin
_NEW_FORMAT_FIRST = set("QRSTUVWXYZ234567")   # base32 digits with the top bit set
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


# -- formats ----------------------------------------------------------------------------
def new_access_key_id(account: str, prefix: str = "ASIA") -> str:
    """`prefix` + 16 base32 characters encoding `account` the way AWS does."""
    head = (1 << 47) | (int(account) << 7) | secrets.randbits(7)
    raw = head.to_bytes(6, "big") + secrets.token_bytes(4)
    return prefix + base64.b32encode(raw).decode("ascii")


def account_from_access_key_id(access_key_id: str) -> str | None:
    """The account encoded in a post-2018 style key id, or None for other keys."""
    key = access_key_id or ""
    if len(key) != 20 or key[4] not in _NEW_FORMAT_FIRST or not key[:4].isalpha():
        return None
    try:
        raw = base64.b32decode(key[4:])
    except (ValueError, TypeError):
        return None
    account = (int.from_bytes(raw[:6], "big") & 0x7FFFFFFFFF80) >> 7
    return f"{account:012d}" if account < 10**12 else None


def new_secret_access_key() -> str:
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")   # 40 characters


def new_session_token(packed: bytes = b"", minimum_size: int = 0) -> str:
    """An opaque token that grows with the session's packed policies and tags, as AWS's do."""
    body = _TOKEN_MAGIC + secrets.token_bytes(240) + (zlib.compress(packed, 9) if packed else b"")
    token = base64.b64encode(body).decode("ascii")
    if len(token) < minimum_size:
        missing = math.ceil((minimum_size - len(token)) * 3 / 4) + 3
        token = base64.b64encode(body + secrets.token_bytes(missing)).decode("ascii")
    return token


def session_token_utilization(token: str) -> int:
    return min(100, math.ceil(len(token) * 100 / MAX_SESSION_TOKEN_SIZE))


def unique_id(prefix: str, seed: str | None = None) -> str:
    """AWS unique ids: a 4-letter prefix and 17 uppercase base32 characters.  With a seed
    the id is stable (the same role always gets the same AROA id)."""
    data = hashlib.sha256(seed.encode()).digest() if seed is not None else secrets.token_bytes(16)
    number = int.from_bytes(data[:11], "big")
    chars = []
    for _ in range(17):
        number, digit = divmod(number, 32)
        chars.append(_BASE32[digit])
    return prefix + "".join(chars)


# -- storage ----------------------------------------------------------------------------
def issue(conn: sqlite3.Connection, *, account: str, kind: str, principal_kind: str, arn: str,
          user_id: str, now: float, duration: int, packed: bytes = b"", minimum_token_size: int = 0,
          expiration: float | None = None, **extra: Any) -> dict:
    """Create, store and return a credential row (as `lookup` would return it)."""
    issued = float(int(now))
    row = {
        "access_key_id": new_access_key_id(account),
        "secret_access_key": new_secret_access_key(),
        "session_token": new_session_token(packed, minimum_token_size),
        "account": account, "kind": kind, "principal_kind": principal_kind,
        "arn": arn, "user_id": user_id, "issued": issued,
        "expiration": float(expiration) if expiration is not None else issued + duration,
        "role_arn": extra.pop("role_arn", None),
        "role_session_name": extra.pop("role_session_name", None),
        "source_identity": extra.pop("source_identity", None),
        "tags": json.dumps(extra.pop("tags", None) or {}),
        "transitive_tag_keys": json.dumps(extra.pop("transitive_tag_keys", None) or []),
        "policy": extra.pop("policy", None),
        "policy_arns": json.dumps(extra.pop("policy_arns", None) or []),
        "scoped_policies": json.dumps(extra.pop("scoped_policies", None) or []),
        "mfa": int(bool(extra.pop("mfa", False))),
        "chained": int(bool(extra.pop("chained", False))),
        "external_id": extra.pop("external_id", None),
        "parent_access_key": extra.pop("parent_access_key", None),
        "caller_arn": extra.pop("caller_arn", None),
    }
    if extra:
        raise TypeError(f"unknown credential fields: {sorted(extra)}")
    columns = ", ".join(row)
    conn.execute(f"INSERT INTO sts_credential ({columns}) VALUES ({', '.join('?' * len(row))})",
                 tuple(row.values()))
    conn.execute("DELETE FROM sts_credential WHERE expiration < ?", (now - EXPIRED_GRACE_SECONDS,))
    return _decode(row, now)


def lookup(conn: sqlite3.Connection, access_key_id: str, now: float | None = None) -> dict | None:
    """The temporary credentials with this access key id, or None if Haneul never issued them.

    Returns {account, arn, user_id, kind ("assumed-role" | "federated-user" | "session"),
    principal_kind (the haneul.context.Principal kind: root | user | assumed-role |
    federated), expiration (epoch seconds), expired (bool, against `now`, default the wall
    clock), session_token, secret_access_key, source_identity, tags, transitive_tag_keys,
    policy, policy_arns, scoped_policies, role_arn, role_session_name, mfa, chained, ...}.
    An expired row is still returned (with expired=True) so the caller can answer
    ExpiredToken instead of InvalidClientTokenId.
    """
    row = conn.execute("SELECT * FROM sts_credential WHERE access_key_id=?", (access_key_id,)).fetchone()
    if row is None:
        return None
    return _decode(dict(row), time.time() if now is None else now)


def _decode(row: dict, now: float) -> dict:
    out = dict(row)
    for key in ("tags", "transitive_tag_keys", "policy_arns", "scoped_policies"):
        out[key] = json.loads(out[key]) if isinstance(out[key], str) else out[key]
    out["mfa"], out["chained"] = bool(out["mfa"]), bool(out["chained"])
    out["expired"] = now >= out["expiration"]
    return out


def secret(conn: sqlite3.Connection, name: str, size: int = 32) -> bytes:
    """A random secret created on first use and kept in the store (HMAC keys)."""
    row = conn.execute("SELECT value FROM sts_secret WHERE name=?", (name,)).fetchone()
    if row is not None:
        return bytes(row[0])
    value = secrets.token_bytes(size)
    conn.execute("INSERT INTO sts_secret(name, value) VALUES(?, ?)", (name, value))
    return value


# -- trade-in tokens (IAM delegation requests) -----------------------------------------------
def issue_trade_in_token(conn: sqlite3.Connection, *, account: str, principal_arn: str, user_id: str,
                         principal_kind: str, duration: int, now: float, valid_for: int = 3600,
                         policy: str | None = None) -> str:
    """A token GetDelegatedAccessToken exchanges for credentials of `principal_arn`.
    For IAM's SendDelegationToken; only a hash of the token is stored."""
    token = "HNTIT" + base64.urlsafe_b64encode(secrets.token_bytes(48)).decode("ascii").rstrip("=")
    conn.execute(
        "INSERT INTO sts_trade_in_token(token_hash, account, principal_arn, user_id, principal_kind,"
        " duration, policy, expiration) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
        (_token_hash(token), account, principal_arn, user_id, principal_kind, duration, policy,
         now + valid_for))
    return token


def redeem_trade_in_token(conn: sqlite3.Connection, token: str) -> dict | None:
    row = conn.execute("SELECT * FROM sts_trade_in_token WHERE token_hash=?", (_token_hash(token),)).fetchone()
    return dict(row) if row is not None else None


def mark_trade_in_token_redeemed(conn: sqlite3.Connection, token: str) -> None:
    conn.execute("UPDATE sts_trade_in_token SET redeemed=1 WHERE token_hash=?", (_token_hash(token),))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
