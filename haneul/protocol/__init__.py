"""Wire protocols, driven by botocore's service models.  One codec per protocol name."""

from __future__ import annotations

import importlib

CODECS = {
    "json": "haneul.protocol.awsjson:AwsJson",
    "rest-json": "haneul.protocol.rest:RestJson",
    "rest-xml": "haneul.protocol.rest:RestXml",
    "query": "haneul.protocol.query:Query",
    "ec2": "haneul.protocol.query:Ec2",
    "smithy-rpc-v2-cbor": "haneul.protocol.cbor:Cbor",
}

_instances: dict = {}


def get_codec(name: str):
    inst = _instances.get(name)
    if inst is None:
        module, _, cls = CODECS[name].partition(":")
        inst = _instances[name] = getattr(importlib.import_module(module), cls)()
    return inst
