"""A minimal HTTP/1.1 server on a loopback port, for the Lambda Runtime API.

Runtime clients (ours, AWS's runtime interface clients, a bootstrap script using curl)
send small requests with Content-Length or chunked bodies and keep connections alive.
Serving them directly on asyncio streams costs a few tens of microseconds per request,
which keeps warm-invoke overhead low.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

log = logging.getLogger("haneul.lambda")

Handler = Callable[[str, str, dict, bytes], Awaitable[tuple[int, dict, bytes]]]
STREAMING = "lambda-runtime-function-response-mode"
MAX_BODY = 16 * 1024 * 1024
_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            413: "Payload Too Large", 500: "Internal Server Error"}


class LoopbackServer:
    def __init__(self, handler: Handler, stream_handler=None):
        self.handler = handler
        # a chunked POST with `Lambda-Runtime-Function-Response-Mode: streaming` goes to
        # stream_handler(method, target, headers, ChunkedBody) as its chunks arrive
        self.stream_handler = stream_handler
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.connections: set[asyncio.Task] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self.server = await asyncio.start_server(self._serve, host, port, backlog=64)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for task in list(self.connections):
            task.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.connections.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, _version = lines[0].split(" ", 2)
                except ValueError:
                    return
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                chunked = headers.get("transfer-encoding", "").lower() == "chunked"
                if chunked and self.stream_handler is not None and headers.get(STREAMING) == "streaming":
                    chunks = ChunkedBody(reader)
                    try:
                        status, out_headers, out = await self.stream_handler(method, target, headers, chunks)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("loopback stream handler failed")
                        status, out_headers, out = 500, {}, b'{"errorMessage":"internal error"}'
                    async for _ in chunks:      # whatever the handler left unread
                        pass
                    keep = headers.get("connection", "").lower() != "close"
                    await _write(writer, status, out_headers, out, keep)
                    if not keep:
                        return
                    continue
                if chunked:
                    body = await _read_chunked(reader)
                else:
                    length = int(headers.get("content-length") or 0)
                    if length > MAX_BODY:
                        await _write(writer, 413, {}, b'{"errorMessage":"payload too large"}', False)
                        return
                    body = await reader.readexactly(length) if length else b""
                try:
                    status, out_headers, out = await self.handler(method, target, headers, body)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("loopback handler failed")
                    status, out_headers, out = 500, {}, b'{"errorMessage":"internal error"}'
                keep = headers.get("connection", "").lower() != "close"
                await _write(writer, status, out_headers, out, keep)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # close() cancels its own connection tasks (a /next long poll never ends by
            # itself); ending quietly keeps asyncio's stream callback from logging them
            return
        finally:
            self.connections.discard(task)
            writer.close()


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


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":   # trailers
                pass
            return b"".join(parts)
        total += size
        if total > MAX_BODY:
            raise ConnectionError("chunked body too large")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _write(writer, status: int, headers: dict, body: bytes, keep: bool) -> None:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}", f"Content-Length: {len(body)}"]
    if "Content-Type" not in headers:
        head.append("Content-Type: application/json")
    head += [f"{k}: {v}" for k, v in headers.items()]
    if not keep:
        head.append("Connection: close")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
