"""haneul.config: defaults and HANEUL_* environment variables."""

from __future__ import annotations

import os

import pytest

from haneul.config import Config, default_data_dir


def test_defaults_are_localstacks_port_on_loopback():
    c = Config.from_env({})
    assert (c.host, c.port) == ("127.0.0.1", 4566)
    assert c.ephemeral is False
    assert c.log_level == "info"
    assert c.max_body == 100 * 1024 * 1024


def test_default_data_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == os.path.join(str(tmp_path), "haneul")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == os.path.join(str(tmp_path / "home"), ".local", "share", "haneul")


def test_every_variable_is_read():
    c = Config.from_env({"HANEUL_HOST": "0.0.0.0", "HANEUL_PORT": "4567", "HANEUL_DATA_DIR": "/srv/haneul",
                         "HANEUL_EPHEMERAL": "1", "HANEUL_LOG_LEVEL": "DEBUG", "HANEUL_MAX_BODY": "1024"})
    assert (c.host, c.port, c.data_dir, c.ephemeral, c.log_level, c.max_body) == (
        "0.0.0.0", 4567, "/srv/haneul", True, "debug", 1024)
    assert isinstance(c.port, int) and isinstance(c.max_body, int)


@pytest.mark.parametrize("text", ["1", "true", "TRUE", "True", "yes", "on", " on "])
def test_truthy_ephemeral(text):
    assert Config.from_env({"HANEUL_EPHEMERAL": text}).ephemeral is True


@pytest.mark.parametrize("text", ["", "0", "false", "no", "off", "nope"])
def test_falsy_ephemeral(text):
    assert Config.from_env({"HANEUL_EPHEMERAL": text}).ephemeral is False


def test_other_variables_are_ignored():
    c = Config.from_env({"PORT": "9999", "HOST": "example.com", "haneul_port": "1"})
    assert (c.host, c.port) == ("127.0.0.1", 4566)


def test_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("HANEUL_PORT", "4999")
    monkeypatch.setenv("HANEUL_DATA_DIR", "/tmp/from-env")
    c = Config.from_env()
    assert (c.port, c.data_dir) == (4999, "/tmp/from-env")


def test_a_port_that_is_not_a_number_is_an_error():
    with pytest.raises(ValueError):
        Config.from_env({"HANEUL_PORT": "http"})
