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
        server_fault = shape is not None and bool(shape.raw.get("fault"))
        # The model's word wins: its status, and its fault (an `error` trait without
        # senderFault, or a `fault` shape, is the service's fault: clients retry those).
        if trait:
            self.sender = bool(trait.get("senderFault", False))
        elif shape is not None:
            self.sender = not server_fault
        else:
            self.sender = err.sender
        self.status = trait.get("httpStatusCode") or err.status or (500 if server_fault else 400)
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
