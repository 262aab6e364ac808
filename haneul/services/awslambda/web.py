"""Code download URLs (GetFunction's Code.Location, GetLayerVersion's Content.Location).

A URL carries a signed, expiring token naming the blob, so nothing else in the data
directory can be fetched through it.  Until the main server routes
`/_haneul/lambda/code/<token>` to `serve_code`, the URLs point at a small loopback server
of the Lambda engine, started on first use.  That server also answers function URL
requests (Host `<id>.lambda-url.<region>.*`, see urls.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import socket
import time

from haneul.services.awslambda.engine import engine_for
from haneul.services.awslambda.loopback import LoopbackServer

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
    except ValueError:
        return None
    return (blob, name) if expires >= time.time() else None


def code_url(ctx, blob: str, name: str) -> str:
    token = sign(blob, name, time.time() + VALID_SECONDS)
    port = _server_port(ctx)
    base = f"http://127.0.0.1:{port}" if port else ctx.endpoint
    return f"{base}{PATH}{token}"


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


def _server_port(ctx) -> int | None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None             # no event loop (unit tests calling methods directly)
    engine = engine_for(ctx.app, ctx.store)
    server = getattr(engine, "code_server", None)
    if server is None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.setblocking(False)
        store = ctx.store

        app = ctx.app

        async def handle(method, target, headers, body):
            from haneul.services.awslambda import urls
            if urls.url_id_of(headers.get("host", "")):
                return await urls.serve(app, store, method, target, headers, body)
            if method not in ("GET", "HEAD"):
                return 405, {}, b""
            return await serve_code(store, target.split("?", 1)[0])

        server = LoopbackServer(handle)
        server.port = sock.getsockname()[1]
        engine.code_server = server

        async def run():
            server.server = await asyncio.start_server(server._serve, sock=sock)
        engine.spawn_task(run())
    return server.port
