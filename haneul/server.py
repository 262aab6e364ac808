"""The ASGI application: one event loop, raw ASGI (no framework on the hot path)."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import orjson

from haneul import __version__, registry
from haneul.config import Config
from haneul.dispatch import Dispatcher
from haneul.protocol.message import ClientDisconnected, HttpRequest
from haneul.store import Store

log = logging.getLogger("haneul")
access_log = logging.getLogger("haneul.request")


class App:
    def __init__(self, config: Config | None = None):
        self.config = config or Config.from_env()
        self.store: Store | None = None
        self.dispatcher: Dispatcher | None = None
        self.started = time.time()
        self.engines: list[str] = []
        self.access_log: AccessLog | None = None
        self.internal = {
            "/_haneul/health": self.health,
            "/_localstack/health": self.health,
            "/_haneul/reset": self.reset,
            "/moto-api/reset": self.reset,
        }

    # -- lifespan ------------------------------------------------------------------------
    def open(self) -> None:
        if self.store is None:
            self.store = Store(None if self.config.ephemeral else self.config.data_dir)
            self.dispatcher = Dispatcher(self.store, self)
        if self.access_log is None and access_log.isEnabledFor(logging.INFO):
            self.access_log = AccessLog(access_log)

    async def start_engines(self) -> None:
        """Background work of services (resuming workflows, pollers, sweeps), for the
        services this data directory has used; the others start theirs when first called
        (see `service_loaded`), so an idle server loads nothing it does not need."""
        used = {r[0] for r in self.store.conn.execute("SELECT namespace FROM _schema")}
        for service in registry.ENGINES:
            if service in used:
                await self.start_engine(service)

    async def start_engine(self, service: str) -> None:
        if service in self.engines or service not in registry.ENGINES:
            return
        module, start, _stop = registry.ENGINES[service]
        fn = registry.load_target(f"{module}:{start}")
        if fn is None:
            return
        self.engines.append(service)
        try:
            await fn(self)
        except Exception:
            self.engines.remove(service)
            log.exception("the %s engine did not start", service)

    def service_loaded(self, service: str) -> None:
        """Called by the dispatcher when a service is first used in this process.  Its model
        and code stay for the process's life: gc.freeze() takes them out of the collector's
        full passes (pauses of 100+ ms under load otherwise)."""
        gc.freeze()
        if service in registry.ENGINES and service not in self.engines:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return          # no loop (in-process tests): nothing to run engines on
            asyncio.ensure_future(self.start_engine(service))

    async def stop_engines(self) -> None:
        task = getattr(self, "_engines_task", None)
        if task is not None and not task.done():
            task.cancel()
        for service in reversed(self.engines):
            module, _start, stop = registry.ENGINES[service]
            fn = registry.load_target(f"{module}:{stop}") if stop else None
            if fn is not None:
                try:
                    await asyncio.wait_for(fn(self), 10)
                except Exception:
                    log.exception("the %s engine did not stop cleanly", service)
        self.engines.clear()

    def close(self) -> None:
        if self.access_log is not None:
            self.access_log.flush()
        if self.store is not None:
            self.store.close()
            self.store = None

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    try:
                        self.open()
                    except Exception as e:  # pragma: no cover - reported to uvicorn
                        await send({"type": "lifespan.startup.failed", "message": str(e)})
                        return
                    await send({"type": "lifespan.startup.complete"})
                    # engines start once the port answers, so they add nothing to cold start
                    self._engines_task = asyncio.ensure_future(self.start_engines())
                elif message["type"] == "lifespan.shutdown":
                    await self.stop_engines()
                    self.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    # -- requests ------------------------------------------------------------------------
    async def http(self, scope, receive, send):
        started = time.perf_counter()
        if self.store is None:
            self.open()
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        raw_headers = scope["headers"]      # ASGI servers give lower-case names
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_headers}
        if len(headers) != len(raw_headers):   # repeated headers: join their values
            headers = {}
            for k, v in raw_headers:
                key, val = k.decode("latin-1").lower(), v.decode("latin-1")
                headers[key] = f"{headers[key]},{val}" if key in headers else val
        method = scope["method"]

        handler = self.internal.get(path)
        if handler is not None:
            status, doc = await handler(method)
            await _send(send, status, [(b"content-type", b"application/json")], orjson.dumps(doc))
            return

        req = HttpRequest(method, path, scope.get("query_string", b"").decode("latin-1"), headers,
                          None, headers.get("host", ""), scope.get("scheme", "http"), receive)
        client = scope.get("client")
        if client:
            req.client = client[0]
        try:
            resp, ctx, service, operation = await self.dispatcher.handle(req, self.config.max_body)
        except ClientDisconnected:
            return
        if req.body is None or (req.stream is not None and not req.stream.finished):
            if not await req.discard_unread():
                resp.headers.append(("Connection", "close"))
        out_headers = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in resp.headers]
        payload = resp.body
        if isinstance(payload, (bytes, bytearray)):
            await _send(send, resp.status, out_headers, payload)
        else:   # an async iterator of chunks (streamed bodies)
            await send({"type": "http.response.start", "status": resp.status, "headers": out_headers})
            async for chunk in payload:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        if self.access_log is not None:
            self.access_log.add(service, operation, ctx.account, resp.status,
                                (time.perf_counter() - started) * 1000)

    # -- introspection -----------------------------------------------------------------
    async def health(self, method: str):
        loaded = set(self.dispatcher.loaded()) if self.dispatcher else set()
        services = {name: ("running" if name in loaded else "available")
                    for name in registry.SERVICES if registry.available(name)}
        return 200, {"services": services, "edition": "haneul", "version": __version__,
                     "uptime": round(time.time() - self.started, 3),
                     "persistence": not self.config.ephemeral}

    async def reset(self, method: str):
        if method not in ("POST", "PUT", "DELETE"):
            return 405, {"message": "use POST to reset all state"}
        self.store.reset()
        return 200, {"status": "reset"}


class AccessLog:
    """One line per request (service, operation, account, status, milliseconds), written
    in batches: going through `logging` and a write per request cost a quarter of the
    throughput of a small call.  Lines reach the log within 0.2 s, and at shutdown."""

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self.lines: list[str] = []
        self.scheduled = False
        self._second = -1
        self._stamp = ""

    def add(self, service, operation, account, status, ms) -> None:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%H:%M:%S", time.localtime(now))
        self.lines.append(f"{self._stamp} I haneul.request: {service} {operation} {account} {status} {ms:.1f}ms")
        if len(self.lines) >= 256:
            self.flush()
        elif not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_later(0.2, self.flush)

    def flush(self) -> None:
        self.scheduled = False
        if not self.lines:
            return
        text, self.lines = "\n".join(self.lines) + "\n", []
        for handler in self.logger.handlers or logging.getLogger().handlers:
            stream = getattr(handler, "stream", None)
            if stream is not None:
                stream.write(text)
                stream.flush()
                return


async def _send(send, status: int, headers: list, body: bytes) -> None:
    """A whole body.  A Content-Length the handler set stands (HEAD answers carry the
    object's size and no body)."""
    headers = list(headers)
    if not any(k.lower() == b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(config: Config | None = None) -> App:
    return App(config)
