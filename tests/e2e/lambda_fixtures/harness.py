"""Helpers of the Lambda end-to-end tests.  The tests run against the session's normal
`haneul_server` (haneul.testing): Lambda is in the registry, and function URLs and code
downloads are served on the server's own port."""

from __future__ import annotations

import http.client
import io
import os
import zipfile
from urllib.parse import urlsplit

from haneul.testing import make_client

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE = "arn:aws:iam::{account}:role/lambda-role"


def zip_folder(name: str, executable: tuple[str, ...] = ()) -> bytes:
    """A zip of tests/e2e/lambda_fixtures/<name>/ (files at the zip's root)."""
    root = os.path.join(HERE, name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for folder, _, files in os.walk(root):
            for f in sorted(files):
                path = os.path.join(folder, f)
                arcname = os.path.relpath(path, root)
                info = zipfile.ZipInfo(arcname)
                mode = 0o755 if (arcname in executable or os.access(path, os.X_OK)) else 0o644
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as fh:
                    z.writestr(info, fh.read())
    return buf.getvalue()


def zip_files(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100755 if name == "bootstrap" else 0o100644) << 16
            z.writestr(info, text)
    return buf.getvalue()


def client(server, service: str, account: str, region: str = "us-east-1", **kw):
    """A client in a fixed account, for module-scoped fixtures (the per-test `aws_client`
    fixture picks a fresh account per test)."""
    from botocore.config import Config
    return make_client(server.endpoint, service, account, region,
                       config=Config(retries={"max_attempts": 1}, read_timeout=60, connect_timeout=5), **kw)


def url_request(server, function_url: str, method: str, target: str, body: bytes | None = None,
                headers: dict | None = None, timeout: float = 30) -> tuple[int, dict, bytes]:
    """Call a function URL.  `<id>.lambda-url.<region>.localhost` does not resolve in DNS,
    so the request goes to the server's own address with the URL's host in `Host`."""
    endpoint = urlsplit(server.endpoint)
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers={"Host": urlsplit(function_url).netloc, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()
