"""The HTTP request and response as the codecs see them."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote


class HttpRequest:
    __slots__ = ("method", "path", "query", "headers", "body", "host", "_params", "scheme")

    def __init__(self, method: str, path: str, query: str, headers: dict[str, str],
                 body: bytes = b"", host: str = "", scheme: str = "http"):
        self.method = method
        self.path = path            # as sent: still percent-encoded
        self.query = query          # raw query string
        self.headers = headers      # lower-case names; repeated headers joined with ","
        self.body = body
        self.host = host or headers.get("host", "")
        self.scheme = scheme
        self._params = None

    @property
    def params(self) -> list[tuple[str, str]]:
        """Query string pairs, decoded, in order (repeated keys kept)."""
        if self._params is None:
            self._params = parse_qsl(self.query, keep_blank_values=True)
        return self._params

    @property
    def unquoted_path(self) -> str:
        return unquote(self.path)


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
