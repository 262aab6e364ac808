"""The HTTP request and response as the codecs see them."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote


class ClientDisconnected(Exception):
    """The client went away before sending its whole body."""


class HttpRequest:
    __slots__ = ("method", "path", "query", "headers", "body", "host", "_params", "scheme",
                 "receive", "stream", "client")

    def __init__(self, method: str, path: str, query: str, headers: dict[str, str],
                 body: bytes | None = b"", host: str = "", scheme: str = "http", receive=None):
        self.method = method
        self.path = path            # as sent: still percent-encoded
        self.query = query          # raw query string
        self.headers = headers      # lower-case names; repeated headers joined with ","
        self.body = body            # None until read: see read_body() and open_stream()
        self.host = host or headers.get("host", "")
        self.scheme = scheme
        self._params = None
        self.receive = receive      # the ASGI receive callable, for unread bodies
        self.stream = None
        self.client = "127.0.0.1"   # the peer's address

    async def read_body(self, limit: int) -> bytes:
        """The whole body, refused past `limit` bytes (413 in the client's protocol)."""
        if self.body is not None:
            return self.body
        declared = self.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        chunks, size = [], 0
        async for chunk in self.open_stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        self.body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.stream = None          # spent: codecs read `body` from now on
        return self.body

    async def discard_unread(self, limit: int = 8 << 20) -> bool:
        """Read and drop what the client sent and nobody read (an error answered before
        the body was needed), so the connection's next request starts clean.  False when
        more than `limit` bytes remain: the connection should then be closed."""
        if self.body is not None and self.stream is None:
            return True
        stream = self.open_stream()
        dropped = 0
        try:
            async for chunk in stream:
                dropped += len(chunk)
                if dropped > limit:
                    return False
        except ClientDisconnected:
            return False
        return True

    def open_stream(self) -> "BodyStream":
        """The body as it arrives, for operations whose payload streams (S3 PutObject):
        large bodies are never held in memory whole."""
        if self.stream is None:
            self.stream = BodyStream(self.receive, self.body)
        return self.stream

    @property
    def params(self) -> list[tuple[str, str]]:
        """Query string pairs, decoded, in order (repeated keys kept)."""
        if self._params is None:
            self._params = parse_qsl(self.query, keep_blank_values=True)
        return self._params

    @property
    def unquoted_path(self) -> str:
        return unquote(self.path)


class BodyStream:
    """An async iterator over the request body's chunks, read once."""

    def __init__(self, receive, body: bytes | None = None):
        self._receive = receive
        self._done = receive is None
        self._pending = body
        self.received = 0

    @property
    def finished(self) -> bool:
        return self._done and self._pending is None

    def __aiter__(self):
        return self

    async def __anext__(self) -> bytes:
        if self._pending is not None:
            chunk, self._pending = self._pending, None
            if chunk:
                self.received += len(chunk)
                return chunk
        while not self._done:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._done = True
                raise ClientDisconnected()
            self._done = not message.get("more_body", False)
            chunk = message.get("body", b"")
            if chunk:
                self.received += len(chunk)
                return chunk
        raise StopAsyncIteration

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self])


def _too_large(limit: int):
    from haneul.errors import AwsError
    return AwsError("RequestEntityTooLarge", f"Request body is larger than {limit} bytes", 413)


class HttpResponse:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int = 200, headers: list[tuple[str, str]] | None = None,
                 body=b""):
        self.status = status
        self.headers = headers if headers is not None else []
        self.body = body            # bytes, or an async iterator of bytes for streams

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None
