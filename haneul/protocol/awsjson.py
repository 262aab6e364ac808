"""The `json` protocol (awsJson 1.0 and 1.1): POST /, X-Amz-Target, a JSON body."""

from __future__ import annotations

import json
import re

import orjson

from haneul.protocol import leaves
from haneul.protocol.codec import Codec, ErrorFacts
from haneul.protocol.message import HttpRequest, HttpResponse
from haneul.protocol.tree import WireTypeError, compile_reader, compile_writer


# orjson reads integers beyond 64 bits as (lossy) floats: such bodies go to the json module
_HUGE_INT = re.compile(rb"[0-9]{20}")


def loads(body: bytes):
    if not body or not body.strip():
        return {}
    try:
        if _HUGE_INT.search(body) is None:
            return orjson.loads(body)
        return json.loads(body)
    except ValueError:   # orjson.JSONDecodeError is a ValueError too
        raise WireTypeError("Malformed JSON body: the request body is not valid JSON") from None


def dumps(value) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), default=str).encode()


def read_document(shape, doc, tag="json_in", table=leaves.JSON_READ) -> dict:
    if shape is None:
        return {}
    if not isinstance(doc, dict):
        raise WireTypeError("Expected an object for the request body")
    return compile_reader(shape, table, tag)(doc, "")


def write_document(shape, value, tag="json_out", table=leaves.JSON_WRITE):
    if shape is None or value is None:
        return {}
    writer = compile_writer(shape, table, tag)
    return writer(value) if writer is not None else value


class AwsJson(Codec):
    name = "json"

    def parse(self, op, req: HttpRequest, target=None) -> dict:
        return read_document(op.input, loads(req.body))

    def content_type(self, op, ctx) -> str:
        version = op.spec.metadata.get("jsonVersion", "1.0")
        return f"application/x-amz-json-{version}"

    def serialize(self, op, output, ctx) -> HttpResponse:
        body = dumps(write_document(op.output, output or {}))
        return HttpResponse(200, [("Content-Type", self.content_type(op, ctx))], body)

    def serialize_error(self, spec, op, err, ctx) -> HttpResponse:
        facts = ErrorFacts(spec, err)
        doc = {"__type": facts.code}
        doc.update(write_document(facts.shape, facts.members) if facts.shape is not None
                   else facts.members)
        version = (spec.metadata.get("jsonVersion", "1.0") if spec is not None else "1.0")
        headers = [("Content-Type", f"application/x-amz-json-{version}"),
                   ("x-amzn-ErrorType", facts.code)]
        if facts.query_code and spec is not None and spec.query_compatible:
            headers.append(("x-amzn-query-error", f"{facts.query_code};{facts.fault}"))
        headers.extend(err.headers.items())
        return HttpResponse(facts.status, headers, dumps(doc))
