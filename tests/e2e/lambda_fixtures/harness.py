"""Shared fixtures of the Lambda end-to-end tests: a server with Lambda registered, zips of
the sample functions in this folder, and functions created once per module."""

from __future__ import annotations

import io
import os
import sys
import zipfile

import pytest

from haneul import registry
from haneul.testing import ServerProcess, make_client

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE = "arn:aws:iam::{account}:role/lambda-role"
# Until the registry lists Lambda, start the server through a wrapper that adds it.
WRAPPER = ("import sys, haneul.registry as r; "
           "r.SERVICES.setdefault('lambda', 'haneul.services.awslambda.service:Lambda'); "
           "from haneul.cli import main; sys.exit(main(sys.argv[1:]))")


class LambdaServer(ServerProcess):
    def start(self, timeout: float = 20.0):
        if "lambda" in registry.SERVICES:
            return super().start(timeout)
        import subprocess
        import time
        import urllib.request
        cmd = [sys.executable, "-c", WRAPPER, "start", "--port", str(self.port), "--log-level", "warning",
               "--ephemeral"]
        env = dict(os.environ, **(self.env or {}))
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haneul exited with {self.proc.returncode}: {self.output()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/_haneul/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"haneul did not start: {self.output()}")


@pytest.fixture(scope="session")
def lambda_server():
    endpoint = os.environ.get("HANEUL_ENDPOINT")
    if endpoint and "lambda" in registry.SERVICES:
        class External:
            pass
        ext = External()
        ext.endpoint = endpoint.rstrip("/")
        yield ext
        return
    server = LambdaServer(env={"HANEUL_LAMBDA_RETRY_DELAY": "0.2"}).start()
    try:
        yield server
    finally:
        server.stop()


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
    from botocore.config import Config
    return make_client(server.endpoint, service, account, region,
                       config=Config(retries={"max_attempts": 1}, read_timeout=60, connect_timeout=5), **kw)
