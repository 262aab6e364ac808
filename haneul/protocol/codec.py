"""What every protocol codec does, and the error facts they share."""

from __future__ import annotations

from haneul.errors import AwsError
from haneul.protocol.message import HttpRequest, HttpResponse
from haneul.protocol.shapes import Operation, ServiceSpec, Shape


class Codec:
    name = ""

    def parse(self, op: Operation, req: HttpRequest, target=None) -> dict:
        raise NotImplementedError

    def serialize(self, op: Operation, output: dict, ctx) -> HttpResponse:
        raise NotImplementedError

    def serialize_error(self, spec: ServiceSpec | None, op: Operation | None, err: AwsError,
                        ctx) -> HttpResponse:
        raise NotImplementedError


class ErrorFacts:
    """An AwsError looked up in the model: wire code, status, fault, shape, members."""

    __slots__ = ("code", "status", "sender", "shape", "message_member", "query_code", "members")

    def __init__(self, spec: ServiceSpec | None, err: AwsError):
        shape = spec.error_shape(err.code) if spec is not None else None
        self.shape: Shape | None = shape
        self.code = err.code
        trait = shape.error if shape is not None else {}
        self.status = trait.get("httpStatusCode") or err.status or 400
        self.sender = trait.get("senderFault", err.sender) if trait else err.sender
        if err.status and not trait.get("httpStatusCode"):
            self.status = err.status
        self.query_code = err.query_code or trait.get("code")
        self.message_member = "message"
        if shape is not None:
            for name in shape.members:
                if name.lower() in ("message", "errormessage"):
                    self.message_member = name
                    break
        members = {k: v for k, v in err.fields.items() if v is not None}
        if err.message:
            members.setdefault(self.message_member, err.message)
        self.members = members

    @property
    def fault(self) -> str:
        return "Sender" if self.sender else "Receiver"
