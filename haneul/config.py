"""Settings from command-line flags and HANEUL_* environment variables (flags win)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(base, "haneul")


def _bool(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: str = field(default_factory=default_data_dir)
    ephemeral: bool = False
    log_level: str = "info"
    # bytes held in memory for one request body: a 50 MB Lambda zip arrives base64'd (~67 MB)
    max_body: int = 100 * 1024 * 1024
    # "loopback": loopback callers count as TLS (aws:SecureTransport); "strict": https only
    secure_transport: str = "loopback"

    @classmethod
    def from_env(cls, env=None) -> "Config":
        env = os.environ if env is None else env
        c = cls()
        c.host = env.get("HANEUL_HOST", c.host)
        c.port = int(env.get("HANEUL_PORT", c.port))
        c.data_dir = env.get("HANEUL_DATA_DIR", c.data_dir)
        c.ephemeral = _bool(env.get("HANEUL_EPHEMERAL")) or c.ephemeral
        c.log_level = env.get("HANEUL_LOG_LEVEL", c.log_level).lower()
        c.max_body = int(env.get("HANEUL_MAX_BODY", c.max_body))
        c.secure_transport = env.get("HANEUL_SECURE_TRANSPORT", c.secure_transport).lower()
        return c
