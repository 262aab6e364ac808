"""Which interpreter serves a runtime, and the refusal that says what to install or set."""

import os
import stat

import pytest

from haneul.errors import AwsError
from haneul.services.awslambda import runtimes


@pytest.fixture(autouse=True)
def fresh_lookup():
    runtimes._find.cache_clear()
    runtimes._node_major.cache_clear()
    yield
    runtimes._find.cache_clear()
    runtimes._node_major.cache_clear()


def _fake_node(tmp_path, version: str) -> str:
    path = tmp_path / f"node{version.split('.')[0]}"
    path.write_text(f"#!/bin/sh\necho v{version}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_the_setting_serves_its_runtime_when_the_major_matches(tmp_path, monkeypatch):
    node22 = _fake_node(tmp_path, "22.23.3")
    monkeypatch.setenv("HANEUL_LAMBDA_NODEJS22_X", node22)
    assert runtimes.interpreter("nodejs22.x") == node22
    runtimes.check("nodejs22.x")
    assert runtimes.command("nodejs22.x", "/task")[0] == node22


def test_a_setting_of_another_major_is_refused_and_the_message_says_why(tmp_path, monkeypatch):
    node20 = _fake_node(tmp_path, "20.20.2")
    monkeypatch.setenv("HANEUL_LAMBDA_NODEJS22_X", node20)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))                  # no ~/.nvm
    assert runtimes.interpreter("nodejs22.x") is None
    with pytest.raises(AwsError) as e:
        runtimes.check("nodejs22.x")
    message = e.value.message
    assert e.value.code == "InvalidParameterValueException"
    assert f"HANEUL_LAMBDA_NODEJS22_X={node20} is Node.js 20" in message
    assert "npm install --prefix ~/.haneul-node/22 node@22" in message and "set HANEUL_LAMBDA_NODEJS22_X" in message


def test_node_on_path_of_another_major_is_named(tmp_path, monkeypatch):
    folder = tmp_path / "bin"
    folder.mkdir()
    node = _fake_node(folder, "20.1.0")
    os.rename(node, folder / "node")
    monkeypatch.delenv("HANEUL_LAMBDA_NODEJS18_X", raising=False)
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert runtimes.interpreter("nodejs18.x") is None and runtimes.interpreter("nodejs20.x") == str(folder / "node")
    message = runtimes.missing("nodejs18.x")
    assert f"the node on PATH ({folder / 'node'}) is Node.js 20" in message and "node@18" in message


def test_python_refusal_names_the_interpreter_and_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.delenv("HANEUL_LAMBDA_PYTHON3_9", raising=False)
    assert runtimes.interpreter("python3.9") is None
    message = runtimes.missing("python3.9")
    assert "no python3.9 on PATH" in message and "HANEUL_LAMBDA_PYTHON3_9" in message
