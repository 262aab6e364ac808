"""pytest fixtures for testing against a live Haneul (`pytest -p haneul.testing`; also
registered as the `haneul` pytest plugin entry point).

- `haneul_server`: one server for the whole session on a free port, in memory.  Set
  HANEUL_ENDPOINT to use a server you started yourself instead.
- `aws_account`: a fresh 12-digit account id per test, so tests need no global reset.
- `aws_client(service, region=...)`: a boto3 client for that server, signed with the
  test's account id as access key.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.parse import urlsplit

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A `haneul start` child process."""

    def __init__(self, port: int | None = None, data_dir: str | None = None, ephemeral: bool = True,
                 env: dict | None = None):
        self.port = port or free_port()
        self.data_dir = data_dir
        self.ephemeral = ephemeral and data_dir is None
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="haneul-test-", suffix=".log", delete=False)

    def start(self, timeout: float = 20.0) -> "ServerProcess":
        cmd = [sys.executable, "-m", "haneul", "start", "--port", str(self.port), "--log-level", "warning"]
        cmd += ["--ephemeral"] if self.ephemeral else ["--data-dir", self.data_dir]
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
        raise RuntimeError(f"haneul did not start in {timeout}s: {self.output()}")

    def output(self) -> str:
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def wait_until(check, timeout: float = 10.0, interval: float = 0.1):
    """Poll `check()` until it returns something truthy (returned); AssertionError after
    `timeout` seconds.  For background work a test cannot drive with a clock."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout} s")


def account_for(nodeid: str) -> str:
    """A stable 12-digit account for a test id (stable so reruns are reproducible)."""
    digest = int(hashlib.sha256(nodeid.encode()).hexdigest(), 16)
    return str(100000000000 + digest % 899999999999)


def make_client(endpoint: str, service: str, account: str, region: str = "us-east-1", **kw):
    import boto3
    from botocore.config import Config
    config = kw.pop("config", None) or Config(retries={"max_attempts": 1}, connect_timeout=5,
                                                 read_timeout=60)
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=kw.pop("access_key", account),
                        aws_secret_access_key=kw.pop("secret_key", "test-secret"),
                        aws_session_token=kw.pop("session_token", None), config=config, **kw)


class ExternalServer:
    """A server someone else started (HANEUL_ENDPOINT): used as is, never stopped."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint.rstrip("/")
        self.port = urlsplit(self.endpoint).port


def serve(server_class=None):
    """Yield HANEUL_ENDPOINT's server if set, else a started `server_class()` stopped after:
    the body of a session fixture."""
    endpoint = os.environ.get("HANEUL_ENDPOINT")
    if endpoint:
        yield ExternalServer(endpoint)
        return
    server = (server_class or ServerProcess)().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def haneul_server():
    yield from serve()


@pytest.fixture
def aws_account(request) -> str:
    return account_for(request.node.nodeid)


@pytest.fixture
def aws_client(haneul_server, aws_account):
    def factory(service: str, region: str = "us-east-1", **kw):
        return make_client(haneul_server.endpoint, service, aws_account, region, **kw)
    return factory
