"""Encoded authorization failure messages (EC2's "Encoded authorization failure message: ...").

A service that denies a request calls `encode(db, authorization_message(...))` and puts the
result in its error; `sts:DecodeAuthorizationMessage` turns it back into the JSON document.
The encoding is compressed JSON authenticated with an HMAC key kept in the store, so only
messages Haneul itself produced decode; anything else is InvalidAuthorizationMessage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import zlib

from haneul.services.sts.credentials import secret

_KEY_NAME = "authorization-message"
_TAG_SIZE = 16


def authorization_message(*, allowed: bool, explicit_deny: bool, principal_arn: str, principal_id: str,
                          action: str, resource: str, conditions: dict[str, list[str]] | None = None,
                          matched_statements: list[dict] | None = None) -> dict:
    """The decoded document in the shape AWS uses."""
    return {
        "allowed": allowed,
        "explicitDeny": explicit_deny,
        "matchedStatements": {"items": matched_statements or []},
        "failures": {"items": []},
        "context": {
            "principal": {"id": principal_id, "arn": principal_arn},
            "action": action,
            "resource": resource,
            "conditions": {"items": [
                {"key": key, "values": {"items": [{"value": v} for v in values]}}
                for key, values in (conditions or {}).items()
            ]},
        },
    }


def encode(db: sqlite3.Connection, message: dict | str) -> str:
    text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
    body = zlib.compress(text.encode("utf-8"), 9)
    tag = hmac.new(secret(db, _KEY_NAME), body, hashlib.sha256).digest()[:_TAG_SIZE]
    return base64.urlsafe_b64encode(tag + body).decode("ascii").rstrip("=")


def decode(db: sqlite3.Connection, encoded: str) -> str | None:
    """The decoded JSON text, or None if `encoded` is not a message Haneul encoded."""
    try:
        raw = base64.urlsafe_b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) <= _TAG_SIZE:
        return None
    tag, body = raw[:_TAG_SIZE], raw[_TAG_SIZE:]
    expected = hmac.new(secret(db, _KEY_NAME), body, hashlib.sha256).digest()[:_TAG_SIZE]
    if not hmac.compare_digest(tag, expected):
        return None
    try:
        return zlib.decompress(body).decode("utf-8")
    except (zlib.error, UnicodeDecodeError):
        return None
