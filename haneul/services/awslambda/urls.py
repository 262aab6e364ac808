"""Function URL invocations over plain HTTP (payload format 2.0, as API Gateway HTTP APIs).

`serve(app, ...)` answers a request whose Host is `<url id>.lambda-url.<region>.<anything>`;
Haneul's main port routes those hosts here (haneul.registry.HOST_ROUTES -> routes.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time
import uuid
from urllib.parse import parse_qsl

from haneul.errors import AwsError
from haneul.services.awslambda.invoking import run_function, system_context

HOST_RE = re.compile(r"^([a-z0-9]{32})\.lambda-url\.([a-z0-9-]+)\.")
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-www-form-urlencoded")


def server_endpoint(app) -> str:
    config = getattr(app, "config", None)
    if config is None:
        return "http://127.0.0.1:4566"
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
    return f"http://{host}:{config.port}"


def url_id_of(host: str) -> str | None:
    m = HOST_RE.match(host or "")
    return m.group(1) if m else None


def _json(status: int, message: str) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps({"Message": message}).encode()


def build_event(url_id: str, account: str, method: str, target: str, headers: dict, body: bytes,
                source_ip: str = "127.0.0.1") -> dict:
    path, _, query = target.partition("?")
    content_type = headers.get("content-type", "")
    textual = not body or any(content_type.startswith(t) for t in _TEXT_TYPES)
    params: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        params[k] = f"{params[k]},{v}" if k in params else v
    now = time.time()
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {k: v for k, v in headers.items() if k != "cookie"},
        "requestContext": {
            "accountId": "anonymous", "apiId": url_id, "domainName": headers.get("host", ""),
            "domainPrefix": url_id,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": headers.get("user-agent", "")},
            "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000)},
        "isBase64Encoded": not textual,
    }
    if params:
        event["queryStringParameters"] = params
    if headers.get("cookie"):
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";") if c.strip()]
    if body:
        event["body"] = body.decode("utf-8", "replace") if textual else base64.b64encode(body).decode()
    return event


def response_of(payload: bytes) -> tuple[int, dict, bytes]:
    """The HTTP answer a function's result stands for (format 2.0 rules)."""
    try:
        result = json.loads(payload or b"null")
    except (ValueError, RecursionError):
        return 200, {"Content-Type": "application/json"}, payload
    if isinstance(result, dict) and "statusCode" in result:
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        for cookie in result.get("cookies") or []:
            headers.setdefault("Set-Cookie", cookie)
        return int(result["statusCode"]), headers, data
    return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()


async def serve(app, store, method: str, target: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
    url_id = url_id_of(headers.get("host", ""))
    if url_id is None:
        return _json(404, "Not Found")
    with store.transaction() as db:
        try:
            row = db.execute("SELECT * FROM lambda_url WHERE url_id=?", (url_id,)).fetchone()
        except Exception:
            row = None
    if row is None:
        return _json(404, "Not Found")
    doc = json.loads(row["doc"])
    if doc.get("AuthType") == "AWS_IAM" and "authorization" not in headers:
        return _json(403, "Forbidden")
    ctx = system_context(app, store, row["account"], row["region"], server_endpoint(app))
    event = build_event(url_id, row["account"], method, target, headers, body)
    qualifier = None if row["qualifier"] == "$LATEST" else row["qualifier"]
    try:
        outcome, _, _ = await run_function(ctx, row["name"], qualifier, json.dumps(event).encode())
    except AwsError as e:
        if e.code == "TooManyRequestsException":
            return _json(429, "Rate Exceeded.")
        return _json(502, "Internal Server Error")
    if outcome.error_type is not None:
        return _json(502, "Internal Server Error")
    return response_of(outcome.payload)
