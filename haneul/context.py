"""What a service method knows about the request it serves."""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haneul.store import Store


@dataclass
class Principal:
    """Who signed the request.  IAM fills `arn`/`kind` for users and roles later;
    until then every caller is its account's root."""

    access_key: str
    account: str
    arn: str = ""
    user_id: str = ""
    kind: str = "root"          # root | user | assumed-role | federated
    session_token: str | None = None


@dataclass
class RequestContext:
    account: str
    region: str
    store: "Store"
    service: str = ""
    operation: str = ""
    principal: Principal | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    endpoint: str = "http://localhost:4566"   # scheme://host[:port] the client used
    host: str = "localhost"
    protocol: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    app: Any = None                            # the running App (dispatcher, signals)
    db: sqlite3.Connection | None = None       # the request's transaction
    clock: Any = time.time
    source_ip: str = "127.0.0.1"
    # aws:SecureTransport.  Haneul serves plain HTTP; code written for AWS talks TLS there,
    # so a loopback caller counts as secure unless HANEUL_SECURE_TRANSPORT=strict (then only
    # https requests do): CDK's enforceSSL bucket policies then behave as on AWS.
    secure_transport: bool = True

    def now(self) -> float:
        return self.clock()
