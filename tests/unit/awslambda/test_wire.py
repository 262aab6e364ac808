"""The event stream framing of InvokeWithResponseStream, read back by botocore's parser."""

import asyncio

from botocore.eventstream import EventStreamBuffer

from haneul.protocol.shapes import service_spec
from haneul.services.awslambda import wire


def _messages(data: bytes):
    buf = EventStreamBuffer()
    buf.add_data(data)
    return list(buf)


def test_frames_parse_with_botocore():
    op = service_spec("lambda").operation("InvokeWithResponseStream")

    async def events():
        yield {"PayloadChunk": {"Payload": b"hello "}}
        yield {"PayloadChunk": {"Payload": b"world"}}
        yield {"InvokeComplete": {"ErrorCode": "Unhandled", "ErrorDetails": "x"}}

    codec = wire.LambdaRestJson()
    resp = codec.serialize(op, {"StatusCode": 200, "ExecutedVersion": "3", "EventStream": events()}, None)
    assert resp.status == 200 and resp.header("Content-Type") == wire.CONTENT_TYPE
    assert resp.header("X-Amz-Executed-Version") == "3"

    async def collect():
        return b"".join([frame async for frame in resp.body])

    messages = _messages(asyncio.run(collect()))
    assert [m.headers[":event-type"] for m in messages] == ["PayloadChunk", "PayloadChunk", "InvokeComplete"]
    assert messages[0].payload == b"hello " and messages[0].headers[":content-type"] == "application/octet-stream"
    assert messages[2].headers[":message-type"] == "event"
    assert messages[2].payload == b'{"ErrorCode":"Unhandled","ErrorDetails":"x"}'


def test_plain_answers_unchanged():
    op = service_spec("lambda").operation("InvokeWithResponseStream")
    resp = wire.LambdaRestJson().serialize(op, {"StatusCode": 204, "ExecutedVersion": "$LATEST"}, None)
    assert resp.status == 204 and resp.body == b""


def test_exception_frame():
    [message] = _messages(wire.encode_exception("ServiceException", "bad"))
    assert message.headers[":message-type"] == "exception" and message.headers[":exception-type"] == "ServiceException"


def test_no_content_has_no_body():
    op = service_spec("lambda").operation("DeleteFunction")
    resp = wire.LambdaRestJson().serialize(op, {"StatusCode": 204}, None)
    assert resp.status == 204 and resp.body == b"" and resp.header("Content-Type") is None
