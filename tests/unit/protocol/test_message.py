"""Request bodies: read whole with a bound, or streamed chunk by chunk."""

import asyncio

import pytest

from haneul.errors import AwsError
from haneul.protocol.message import ClientDisconnected, HttpRequest


def receiver(chunks, disconnect=False):
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                for i, c in enumerate(chunks)]
    if disconnect:
        messages[-1]["more_body"] = True
        messages.append({"type": "http.disconnect"})

    async def receive():
        return messages.pop(0)
    return receive


def request(chunks, headers=None, **kw):
    return HttpRequest("PUT", "/b/k", "", headers or {}, None, "localhost", receive=receiver(chunks, **kw))


def test_read_body_joins_chunks():
    req = request([b"ab", b"", b"cd"])
    assert asyncio.run(req.read_body(10)) == b"abcd"
    assert asyncio.run(req.read_body(10)) == b"abcd"     # read once, kept


def test_read_body_refuses_more_than_the_limit_while_reading():
    req = request([b"12345", b"67890", b"x"])
    with pytest.raises(AwsError) as e:
        asyncio.run(req.read_body(10))
    assert e.value.status == 413 and e.value.code == "RequestEntityTooLarge"


def test_read_body_refuses_a_declared_length_over_the_limit_before_reading():
    req = request([b"never read"], headers={"content-length": "11"})
    with pytest.raises(AwsError):
        asyncio.run(req.read_body(10))


def test_stream_yields_chunks_as_they_arrive():
    req = request([b"a" * 3, b"b" * 4])

    async def consume():
        return [c async for c in req.open_stream()]
    assert asyncio.run(consume()) == [b"aaa", b"bbbb"]
    assert req.stream.received == 7


def test_stream_reports_a_client_that_went_away():
    req = request([b"part"], disconnect=True)

    async def consume():
        return [c async for c in req.open_stream()]
    with pytest.raises(ClientDisconnected):
        asyncio.run(consume())
