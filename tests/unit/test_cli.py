"""haneul.cli: version, coverage and status (against no server, and against a stand-in)."""

from __future__ import annotations

import json
import re
import socket
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import botocore
import botocore.session
import pytest

from haneul import cli, registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("HANEUL_HOST", raising=False)
    monkeypatch.delenv("HANEUL_PORT", raising=False)


def test_version_is_the_packages_version(capsys):
    assert cli.main(["version"]) == 0
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert capsys.readouterr().out.strip() == f"haneul {declared}"


def test_no_command_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "start" in capsys.readouterr().out


def rows(text: str) -> dict[str, list[str]]:
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if len(cells) == 4 and cells[0] != "service":
            out[cells[0]] = cells[1:]
    return out


def implemented(service: str) -> tuple[int, int]:
    """(operations with a method named as botocore names them, operations in the model)."""
    ops = botocore.session.get_session().get_service_model(service).operation_names
    cls = registry.load_class(service)
    return sum(1 for op in ops if callable(getattr(cls, botocore.xform_name(op), None))), len(ops)


@pytest.mark.parametrize("service", ["sts", "ssm", "sqs"])
def test_coverage_counts_each_services_operations(service, capsys):
    assert cli.main(["coverage"]) == 0
    table = rows(capsys.readouterr().out)
    impl, total = implemented(service)
    assert impl > 0
    assert table[service] == [str(impl), str(total), f"{100 * impl / total:.0f}%"]


def test_coverage_total_line(capsys):
    assert cli.main(["coverage"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"(\d+) of (\d+) operations implemented", out)
    assert m
    session = botocore.session.get_session()
    expected_total = sum(len(session.get_service_model(s).operation_names) for s in registry.SERVICES)
    assert int(m.group(2)) == expected_total
    assert int(m.group(1)) >= sum(implemented(s)[0] for s in ("sts", "ssm", "sqs"))


def test_coverage_missing_names_the_unimplemented_operations(capsys):
    assert cli.main(["coverage", "--missing"]) == 0
    out = capsys.readouterr().out
    ops = botocore.session.get_session().get_service_model("sts").operation_names
    cls = registry.load_class("sts")
    missing = [op for op in ops if not callable(getattr(cls, botocore.xform_name(op), None))]
    present = [op for op in ops if op not in missing]
    for op in missing:
        assert f"missing: {op}" in out
    for op in present:
        assert not re.search(rf"missing: {op}\b", out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_status_without_a_server_exits_1(capsys):
    port = free_port()
    assert cli.main(["status", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert "not running" in err
    assert f"127.0.0.1:{port}" in err


def test_status_reads_the_port_from_the_environment(monkeypatch, capsys):
    port = free_port()
    monkeypatch.setenv("HANEUL_PORT", str(port))
    assert cli.main(["status"]) == 1
    assert f":{port}" in capsys.readouterr().err


def test_status_against_a_running_server(capsys):
    health = {"version": "9.9.9", "uptime": 12, "persistence": True,
              "services": {"sqs": "running", "sts": "available"}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(health).encode() if self.path == "/_haneul/health" else b"{}"
            self.send_response(200 if self.path == "/_haneul/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        assert cli.main(["status", "--port", str(server.server_port)]) == 0
    finally:
        server.shutdown()
        server.server_close()
    out = capsys.readouterr().out
    assert "9.9.9" in out and "persistent" in out
    table = {cells[0]: cells[1] for cells in
             ([c.strip() for c in re.split(r"[│┃|]", line) if c.strip()] for line in out.splitlines())
             if len(cells) == 2}
    assert table["sqs"] == "running" and table["sts"] == "available"
