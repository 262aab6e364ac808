"""smithy-rpc-v2-cbor: POST /service/{service}/operation/{operation}, CBOR bodies."""

from __future__ import annotations

import cbor2

from haneul.protocol import leaves
from haneul.protocol.awsjson import read_document, write_document
from haneul.protocol.codec import Codec, ErrorFacts
from haneul.protocol.message import HttpRequest, HttpResponse
from haneul.protocol.tree import WireTypeError

HEADERS = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]


def loads(body: bytes):
    if not body:
        return {}
    try:
        return cbor2.loads(body)
    except Exception:
        raise WireTypeError("Malformed CBOR body") from None


class Cbor(Codec):
    name = "smithy-rpc-v2-cbor"

    def parse(self, op, req: HttpRequest, target=None) -> dict:
        return read_document(op.input, loads(req.body), tag="cbor_in", table=leaves.CBOR_READ)

    def serialize(self, op, output, ctx) -> HttpResponse:
        doc = write_document(op.output, output or {}, tag="cbor_out", table=leaves.CBOR_WRITE)
        return HttpResponse(200, list(HEADERS), cbor2.dumps(doc))

    def serialize_error(self, spec, op, err, ctx) -> HttpResponse:
        facts = ErrorFacts(spec, err)
        doc = {"__type": facts.code}
        doc.update(write_document(facts.shape, facts.members, tag="cbor_out", table=leaves.CBOR_WRITE)
                   if facts.shape is not None else facts.members)
        headers = list(HEADERS)
        if facts.query_code and spec is not None and spec.query_compatible:
            headers.append(("x-amzn-query-error", f"{facts.query_code};{facts.fault}"))
        headers.extend(err.headers.items())
        return HttpResponse(facts.status, headers, cbor2.dumps(doc))
