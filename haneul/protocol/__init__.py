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

# A service's wire quirks: a codec subclass for (service, protocol), next to the service.
SERVICE_CODECS = {
    ("sqs", "query"): "haneul.services.sqs.wire:SqsQuery",
    ("s3", "rest-xml"): "haneul.services.s3.wire:S3Xml",
    ("s3control", "rest-xml"): "haneul.services.s3control.wire:S3ControlXml",
    ("lambda", "rest-json"): "haneul.services.awslambda.wire:LambdaRestJson",   # event streams
}

# Models as a protocol's clients knew them, merged over botocore's: SQS's JSON model lost
# the XML names its legacy query clients still send and expect.
MODEL_PATCHES = {
    ("sqs", "query"): "haneul.services.sqs.wire:QUERY_MODEL",
}

_instances: dict = {}


def _load(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _exists(target: str) -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec(target.partition(":")[0]) is not None
    except ModuleNotFoundError:
        return False


def get_codec(name: str, service: str | None = None):
    """The codec for a protocol, or the service's own subclass of it where one exists."""
    key = (service, name)
    if key not in SERVICE_CODECS or (key not in _instances and not _exists(SERVICE_CODECS[key])):
        key = name
    inst = _instances.get(key)
    if inst is None:
        target = SERVICE_CODECS[key] if isinstance(key, tuple) else CODECS[name]
        inst = _instances[key] = _load(target)()
    return inst


def model_patch(service: str, protocol: str) -> dict | None:
    target = MODEL_PATCHES.get((service, protocol))
    return _load(target) if target else None
