"""Lambda's wire quirk: InvokeWithResponseStream answers an event stream
(`application/vnd.amazon.eventstream`), PayloadChunk events then one InvokeComplete.

The framing is AWS's event stream encoding (botocore.eventstream reads it): each message
is  total length (4 bytes) | headers length (4) | CRC32 of those 8 bytes (4) | headers |
payload | CRC32 of everything before (4), all big-endian; a header is  name length (1) |
name | type (1; 7 = string) | value length (2) | value.  An event carries the headers
:message-type=event, :event-type=<member name> and :content-type.

`LambdaRestJson` is rest-json whose eventstream payloads (an async iterator of
{event name: members} dicts) are sent as those frames while they are produced.  It is
chosen through haneul.protocol.SERVICE_CODECS[("lambda", "rest-json")].  The encoder is
protocol-generic (S3 SelectObjectContent, Bedrock's streams use the same framing) and can
move to haneul/protocol/ when a second service needs it.
"""

from __future__ import annotations

import struct
import zlib

from haneul.protocol.awsjson import dumps, write_document
from haneul.protocol.rest import RestJson

CONTENT_TYPE = "application/vnd.amazon.eventstream"


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    head = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + head + payload
    return message + struct.pack(">I", zlib.crc32(message))


def encode_event(stream_shape, event: dict) -> bytes:
    """One {event name: members} dict of an eventstream union as a message."""
    [(name, members)] = event.items()
    shape = stream_shape.members[name]
    payload_member = next((m for m, s in shape.members.items() if s.ser.get("eventpayload")), None)
    if payload_member is not None:
        target = shape.members[payload_member]
        value = (members or {}).get(payload_member) or b""
        if target.type == "blob":
            body, content_type = bytes(value), "application/octet-stream"
        elif target.type == "string":
            body, content_type = value.encode(), "text/plain"
        else:
            body, content_type = dumps(write_document(target, value)), "application/json"
    else:
        body, content_type = dumps(write_document(shape, members or {})), "application/json"
    return encode_message({":event-type": name, ":content-type": content_type, ":message-type": "event"}, body)


def encode_exception(name: str, message: str) -> bytes:
    return encode_message({":exception-type": name, ":content-type": "application/json",
                           ":message-type": "exception"}, dumps({"message": message}))


class LambdaRestJson(RestJson):
    def serialize(self, op, output, ctx):
        resp = super().serialize(op, output, ctx)
        if resp.status in (204, 304) and isinstance(resp.body, (bytes, bytearray)):
            # DeleteFunction answers 204: a body there would be read as the start of the
            # connection's next response
            resp.body = b""
            resp.headers = [(k, v) for k, v in resp.headers if k.lower() != "content-type"]
        return resp

    def bind_out(self, shape, output, headers, status):
        payload = shape.ser.get("payload")
        member = shape.members.get(payload) if payload else None
        if member is None or not member.ser.get("eventstream") or output.get(payload) is None:
            return super().bind_out(shape, output, headers, status)
        events = output[payload]
        status, _ = super().bind_out(shape, {k: v for k, v in output.items() if k != payload}, headers, status)
        headers[:] = [(k, v) for k, v in headers if k.lower() != "content-type"]
        headers.append(("Content-Type", CONTENT_TYPE))

        async def frames():
            async for event in events:
                yield encode_event(member, event)
        return status, frames()
