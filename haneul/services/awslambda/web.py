"""Code download URLs (GetFunction's Code.Location, GetLayerVersion's Content.Location).

A URL carries a signed, expiring token naming the blob, so nothing else in the data
directory can be fetched through it.  Haneul's own port serves `/_haneul/lambda/code/<token>`
(haneul.registry -> awslambda/routes.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time


PATH = "/_haneul/lambda/code/"
VALID_SECONDS = 600
_SECRET = secrets.token_bytes(32)


def sign(blob: str, name: str, expires: float) -> str:
    body = base64.urlsafe_b64encode(json.dumps([blob, name, int(expires)]).encode()).decode().rstrip("=")
    mac = hmac.new(_SECRET, body.encode(), hashlib.sha256).hexdigest()[:40]
    return f"{body}.{mac}"


def verify(token: str) -> tuple[str, str] | None:
    body, _, mac = token.partition(".")
    if not hmac.compare_digest(mac, hmac.new(_SECRET, body.encode(), hashlib.sha256).hexdigest()[:40]):
        return None
    try:
        blob, name, expires = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, RecursionError):
        return None
    return (blob, name) if expires >= time.time() else None


def code_url(ctx, blob: str, name: str) -> str:
    token = sign(blob, name, time.time() + VALID_SECONDS)
    return f"{ctx.endpoint}{PATH}{token}"     # served on Haneul's port (awslambda/routes.py)


async def serve_code(store, path: str) -> tuple[int, dict, bytes]:
    """Answer GET <PATH><token>: the zip, or 403 as S3 answers an expired presigned URL."""
    found = verify(path[len(PATH):]) if path.startswith(PATH) else None
    if found is None:
        return 403, {"Content-Type": "application/xml"}, (
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>"
            b"<Message>Request has expired</Message></Error>")
    blob, name = found
    try:
        data = await asyncio.to_thread(store.blobs.read, blob)
    except (OSError, ValueError):
        return 404, {}, b""
    return 200, {"Content-Type": "application/zip",
                 "Content-Disposition": f'attachment; filename="{name}.zip"'}, data
