"""The services Haneul implements: botocore service name -> "module:Class" (lazy import)."""

from __future__ import annotations

import importlib

SERVICES: dict[str, str] = {
    "sts": "haneul.services.sts.service:Sts",
    "ssm": "haneul.services.ssm.service:Ssm",
    "sqs": "haneul.services.sqs.service:Sqs",
}


def load_class(service: str):
    target = SERVICES[service]
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
