"""A minimal HTTP/1.1 server on a loopback port, for the Lambda Runtime API.

Runtime clients (ours, AWS's runtime interface clients, a bootstrap script using curl)
send small requests with Content-Length or chunked bodies and keep connections alive, and
send a request only once the previous one is answered.  Serving them from an asyncio
Protocol (no stream reader, no task per request) keeps warm-invoke overhead low.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

log = logging.getLogger("haneul.lambda")

Handler = Callable[[str, str, dict, bytes], "tuple[int, dict, bytes] | Awaitable[tuple[int, dict, bytes]]"]
STREAMING = "lambda-runtime-function-response-mode"
MAX_BODY = 16 * 1024 * 1024
_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            413: "Payload Too Large", 500: "Internal Server Error"}


class Parked:
    """An answer given later (a `/next` long poll until an invocation arrives): `give`
    writes it on the spot, in the giver's own step.  A future would write it one loop
    iteration later, behind whatever else is ready on a busy loop."""
    __slots__ = ("connection", "keep", "given")

    def __init__(self):
        self.connection: _Connection | None = None
        self.keep = True
        self.given = False

    def done(self) -> bool:
        return self.given

    def cancel(self) -> None:
        self.given = True

    def give(self, answer: tuple[int, dict, bytes]) -> None:
        self.given = True
        conn = self.connection
        if conn is not None and conn.waiting is self:
            conn.waiting = None
            conn._write(*answer, self.keep)
            if conn.buf and conn.transport is not None:
                conn._process()


class LoopbackServer:
    """`handler(method, target, headers, body)` answers (status, headers, body): directly,
    as a `Parked` answer to be given later (a `/next` long poll), as a future of one, or
    as a coroutine.  A direct answer is written from `data_received`, with no task and no
    stream machinery: that is the warm invocation's path, two requests per invocation."""

    def __init__(self, handler: Handler, stream_handler=None):
        self.handler = handler
        # a chunked POST with `Lambda-Runtime-Function-Response-Mode: streaming` goes to
        # stream_handler(method, target, headers, ChunkedBody) as its chunks arrive
        self.stream_handler = stream_handler
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.connections: set[_Connection] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Connection(self), host, port, backlog=64)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for conn in list(self.connections):
            conn.close()


class _Connection(asyncio.Protocol):
    def __init__(self, server: LoopbackServer):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiting = None          # the future or task whose answer the connection awaits
        self.stream: asyncio.StreamReader | None = None      # a streamed body being read
        # answers to pipelined requests held back while a later request of the same batch
        # waits: they go out in one write with its answer (see _process)
        self.held: list[bytes] = []

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.connections.add(self)

    def connection_lost(self, exc) -> None:
        self.server.connections.discard(self)
        if self.stream is not None:
            self.stream.feed_eof()
        if self.waiting is not None and not self.waiting.done():
            self.waiting.cancel()        # a /next long poll nobody will read
        self.waiting = None
        self.transport = None

    def close(self) -> None:
        if self.waiting is not None and not self.waiting.done():
            self.waiting.cancel()
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.stream is not None:
            self.stream.feed_data(data)
            return
        self.buf += data
        if self.waiting is None:
            self._process()

    def _process(self) -> None:
        """Answer the complete requests in the buffer.  When a client pipelines (our
        bootstrap sends its /response and the next /next in one segment), the answers to
        the earlier requests are held while the last one waits, and written with its
        answer: one write and one wake-up of the runtime per invocation instead of two.
        A client that waits for each answer has nothing pipelined, so nothing is held."""
        self._answer_buffered()
        if self.held and (self.waiting is None or self.waiting.done()) and self.transport is not None:
            self.transport.write(b"".join(self.held))
            self.held.clear()

    def _answer_buffered(self) -> None:
        buf = self.buf
        while self.waiting is None and self.transport is not None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 65536:
                    self.transport.close()
                return
            lines = buf[:end].decode("latin-1").split("\r\n")
            try:
                method, target, _version = lines[0].split(" ", 2)
            except ValueError:
                self.transport.close()
                return
            headers = {}
            for line in lines[1:]:
                k, sep, v = line.partition(":")
                if sep:
                    headers[k.strip().lower()] = v.strip()
            keep = headers.get("connection", "").lower() != "close"
            chunked = headers.get("transfer-encoding", "").lower() == "chunked"
            start = end + 4
            if chunked and self.server.stream_handler is not None and headers.get(STREAMING) == "streaming":
                self._stream(method, target, headers, keep, bytes(buf[start:]))
                del buf[:]
                return
            if chunked:
                try:
                    found = _chunked_body(buf, start)
                except ValueError:
                    self.transport.close()
                    return
                if found is None:
                    return                          # the rest of the body is on its way
                body, stop = found
            else:
                try:
                    length = int(headers.get("content-length") or 0)
                except ValueError:
                    self.transport.close()
                    return
                if length > MAX_BODY:
                    self._write(413, {}, b'{"errorMessage":"payload too large"}', False)
                    return
                if len(buf) < start + length:
                    return
                body, stop = bytes(buf[start:start + length]), start + length
            del buf[:stop]
            try:
                answer = self.server.handler(method, target, headers, body)
            except Exception:
                log.exception("loopback handler failed")
                answer = _FAILED
            if isinstance(answer, tuple):
                self._write(*answer, keep, hold=True)
                continue
            if isinstance(answer, Parked):
                answer.connection, answer.keep = self, keep
                self.waiting = answer
                return
            if not asyncio.isfuture(answer):           # a coroutine
                answer = asyncio.ensure_future(answer)
            self.waiting = answer
            answer.add_done_callback(lambda fut, keep=keep: self._answered(fut, keep))
            return

    def _answered(self, fut, keep: bool) -> None:
        if fut is not self.waiting:
            return
        self.waiting = None
        if fut.cancelled() or self.transport is None:
            return
        if fut.exception() is not None:
            log.error("loopback handler failed", exc_info=fut.exception())
            answer = _FAILED
        else:
            answer = fut.result()
        self._write(*answer, keep)
        if self.buf and self.transport is not None:
            self._process()

    def _stream(self, method: str, target: str, headers: dict, keep: bool, rest: bytes) -> None:
        """A streamed response body: read chunk by chunk by the stream handler."""
        reader = self.stream = asyncio.StreamReader(limit=MAX_BODY)
        reader.feed_data(rest)

        async def run():
            chunks = ChunkedBody(reader)
            try:
                answer = await self.server.stream_handler(method, target, headers, chunks)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("loopback stream handler failed")
                answer = _FAILED
            try:
                async for _ in chunks:      # whatever the handler left unread
                    pass
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                keep_open = False
            else:
                keep_open = keep
            self.stream = None
            return answer, keep_open

        task = asyncio.ensure_future(run())
        self.waiting = task

        def done(fut):
            if fut is not self.waiting:
                return
            self.waiting = None
            self.stream = None
            if fut.cancelled() or self.transport is None:
                return
            if fut.exception() is not None:
                log.error("loopback stream failed", exc_info=fut.exception())
                self.transport.close()
                return
            answer, keep_open = fut.result()
            self._write(*answer, keep_open)
        task.add_done_callback(done)

    def _write(self, status: int, headers: dict, body: bytes, keep: bool, hold: bool = False) -> None:
        """Write one answer (with any held before it); `hold` keeps it back for the
        caller to flush once the requests pipelined behind it are answered or waiting."""
        if self.transport is None:
            return
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\nContent-Length: {len(body)}\r\n"
        if "Content-Type" not in headers:
            head += "Content-Type: application/json\r\n"
        for k, v in headers.items():
            head += f"{k}: {v}\r\n"
        if not keep:
            head += "Connection: close\r\n"
        self.held.append((head + "\r\n").encode("latin-1") + body)
        if hold and keep:
            return
        self.transport.write(b"".join(self.held))
        self.held.clear()
        if not keep:
            self.transport.close()
            self.transport = None


_FAILED = (500, {}, b'{"errorMessage":"internal error"}')


def _chunked_body(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    """A complete chunked body in `buf` from `pos`: (body, end), or None while incomplete."""
    parts = []
    total = 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0].strip() or b"0", 16)
        pos = eol + 2
        if size == 0:
            while True:                          # trailers, then the empty line
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                if eol == pos:
                    return b"".join(parts), pos + 2
                pos = eol + 2
        total += size
        if total > MAX_BODY:
            raise ValueError("chunked body too large")
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos:pos + size]))
        pos += size + 2


class ChunkedBody:
    """A chunked request body read as it arrives; `trailers` is filled at its end."""

    def __init__(self, reader: asyncio.StreamReader):
        self.reader = reader
        self.trailers: dict[str, str] = {}
        self.done = False
        self.total = 0

    def __aiter__(self):
        return self

    async def __anext__(self) -> bytes:
        while not self.done:
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:
                    line = await self.reader.readuntil(b"\r\n")
                    if line == b"\r\n":
                        break
                    k, _, v = line.decode("latin-1").partition(":")
                    self.trailers[k.strip().lower()] = v.strip()
                self.done = True
                break
            self.total += size
            if self.total > MAX_BODY:
                raise ConnectionError("chunked body too large")
            data = await self.reader.readexactly(size)
            await self.reader.readexactly(2)
            if data:
                return data
        raise StopAsyncIteration
