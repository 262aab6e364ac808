"""One execution environment: a runtime process and the Runtime API it talks to.

The process runs in its own session (process group), with the function's unzipped code as
its working directory, a private TMPDIR, and stdout/stderr appended to a log file the
engine reads after each invocation.  It serves one invocation at a time: `/next` hands it
the pending event; `/response` or `/error` settles that invocation; the first `/next`
ends the init phase.  Timeouts and crashes kill the whole process group.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, field

from haneul.services.awslambda.loopback import LoopbackServer, Parked

PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE = 6 * 1024 * 1024 + 100          # AWS allows 6291556 bytes
LOG_FILE_CAP = 8 * 1024 * 1024
_TIMED_OUT, _EXITED = object(), object()       # how an invocation ended when the runtime did not say


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    arn: str
    deadline: float                      # epoch seconds
    client_context: str | None = None
    trace_id: str = ""
    future: asyncio.Future | None = None
    # InvokeWithResponseStream: ("start", content type), then bytes chunks as a streaming
    # runtime sends them, then None.  A buffered response puts nothing here.
    stream: asyncio.Queue | None = None


@dataclass
class Outcome:
    payload: bytes
    error_type: str | None = None        # set when the function failed
    log: str = ""
    duration_ms: float = 0.0
    init_ms: float | None = None
    status: str = "success"              # success | error | timeout | crash


@dataclass
class Environment:
    env_id: str
    key: tuple
    argv: list
    env: dict
    cwd: str
    folder: str
    timeout: float
    state: str = "new"                   # new | idle | busy | dead
    last_used: float = field(default_factory=time.monotonic)
    proc: asyncio.subprocess.Process | None = None
    server: LoopbackServer | None = None
    init_ms: float | None = None
    log_pos: int = 0
    uses: int = 0
    provisioned: str | None = None       # the qualifier whose provisioned concurrency this is

    def __post_init__(self):
        loop = asyncio.get_running_loop()
        self.ready = loop.create_future()            # first /next: (True, None) or init error
        self.pending: collections.deque = collections.deque()       # invocations not yet handed out
        self.next_waiter: Parked | None = None                      # a /next long poll waiting
        self.current: Invocation | None = None
        self.exited: asyncio.Task | None = None
        self.log_path = os.path.join(self.folder, "log")
        self.init_error: tuple[str, bytes] | None = None
        self.log_fd: int | None = None
        self.status_fd: int | None = None

    # -- Runtime API -----------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict, body: bytes):
        """The Runtime API: an answer, or for a /next with nothing pending a future of one
        (the loopback server writes it when the next invocation arrives)."""
        path = target.split("?", 1)[0]
        if not path.startswith(PREFIX):
            return 404, {}, b'{"errorMessage":"not found"}'
        path = path[len(PREFIX):]
        if path == "/invocation/next" and method == "GET":
            if not self.ready.done():
                self.ready.set_result(None)
            if self.pending:
                return _next_answer(self.pending.popleft())
            self.next_waiter = Parked()
            return self.next_waiter
        if path == "/init/error" and method == "POST":
            self.init_error = (headers.get("lambda-runtime-function-error-type", "Runtime.Unknown"), body)
            if not self.ready.done():
                self.ready.set_result(self.init_error)
            return 202, {}, b'{"status":"OK"}'
        if path.startswith("/invocation/") and method == "POST":
            _, _, rest = path.partition("/invocation/")
            request_id, _, kind = rest.partition("/")
            inv = self.current
            if inv is None or inv.request_id != request_id or inv.future.done():
                return 400, {}, json.dumps({"errorMessage": f"Invalid request ID: {request_id}",
                                            "errorType": "InvalidRequestID"}).encode()
            if kind == "response":
                if len(body) > MAX_RESPONSE:
                    inv.future.set_result(("Function.ResponseSizeTooLarge", json.dumps({
                        "errorMessage": f"Response payload size exceeded maximum allowed payload size "
                                        f"({MAX_RESPONSE - 100 + 4} bytes).",
                        "errorType": "Function.ResponseSizeTooLarge"}).encode()))
                    return 413, {}, b'{"errorMessage":"payload too large","errorType":"RequestEntityTooLarge"}'
                inv.future.set_result((None, body))
                return 202, {}, b'{"status":"OK"}'
            if kind == "error":
                error_type = headers.get("lambda-runtime-function-error-type") or "Unhandled"
                try:
                    json.loads(body or b"null")
                except (ValueError, RecursionError):
                    body = json.dumps({"errorMessage": body.decode("utf-8", "replace"),
                                       "errorType": error_type}).encode()
                inv.future.set_result((error_type, body or b"{}"))
                return 202, {}, b'{"status":"OK"}'
        return 404, {}, b'{"errorMessage":"unknown runtime API path"}'

    async def handle_stream(self, method: str, target: str, headers: dict, chunks):
        """A streamed /response (Lambda-Runtime-Function-Response-Mode: streaming): chunks go
        to the caller as they arrive; an error reported in the trailers ends it as an error."""
        path = target.split("?", 1)[0][len(PREFIX):]
        _, _, rest = path.partition("/invocation/")
        request_id, _, kind = rest.partition("/")
        inv = self.current
        if method != "POST" or kind != "response" or inv is None or inv.request_id != request_id \
                or inv.future.done():
            return 400, {}, json.dumps({"errorMessage": f"Invalid request ID: {request_id}",
                                        "errorType": "InvalidRequestID"}).encode()
        if inv.stream is not None:
            inv.stream.put_nowait(("start", headers.get("content-type") or "application/octet-stream"))
        parts = []
        async for chunk in chunks:
            parts.append(chunk)
            if inv.stream is not None:
                inv.stream.put_nowait(chunk)
        if inv.stream is not None:
            inv.stream.put_nowait(None)
        error_type = chunks.trailers.get("lambda-runtime-function-error-type")
        if error_type:
            try:
                body = base64.b64decode(chunks.trailers.get("lambda-runtime-function-error-body", ""))
            except ValueError:
                body = b""
            inv.future.set_result((error_type, body or json.dumps({"errorType": error_type}).encode()))
        elif not inv.future.done():
            inv.future.set_result((None, b"".join(parts)))
        return 202, {}, b'{"status":"OK"}'

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, init_timeout: float = 10.0) -> Outcome | None:
        """Start the process and wait for its init phase.  None when ready, else the
        Outcome (init error, crash or timeout) the triggering invocation answers."""
        os.makedirs(os.path.join(self.folder, "tmp"), exist_ok=True)
        self.server = LoopbackServer(self.handle, self.handle_stream)
        port = await self.server.start()
        self.env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{port}"
        started = time.perf_counter()
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, cwd=self.cwd, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log_fd, stderr=log_fd, start_new_session=True)
        except OSError as e:
            self.stop()
            kind = "Runtime.InvalidEntrypoint"
            return Outcome(json.dumps({"errorType": kind, "errorMessage":
                                       f"Error: fork/exec {self.argv[0]}: {e.strerror or e}"}).encode(),
                           kind, status="crash")
        finally:
            os.close(log_fd)
        self.exited = asyncio.ensure_future(self.proc.wait())
        done, _ = await asyncio.wait({self.ready, self.exited}, timeout=init_timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        self.init_ms = (time.perf_counter() - started) * 1000
        if self.ready in done and self.ready.result() is None:
            self.state = "idle"
            return None
        error = self.ready.result() if self.ready.done() else None
        self.stop()
        if error is not None:
            kind, body = error
            return Outcome(body, kind, init_ms=self.init_ms, status="error")
        if not done:
            kind = "Runtime.Unknown"
            return Outcome(json.dumps({"errorType": "Sandbox.Timedout", "errorMessage":
                                       f"Error: init phase timed out after {init_timeout:.2f} seconds"}).encode(),
                           "Sandbox.Timedout", init_ms=self.init_ms, status="timeout")
        return Outcome(_exit_doc(None, self.proc.returncode), "Runtime.ExitError",
                       init_ms=self.init_ms, status="crash")

    async def run(self, inv: Invocation) -> Outcome:
        """Hand the environment one invocation and wait for its end (or its deadline)."""
        self.state = "busy"
        self.uses += 1
        loop = asyncio.get_running_loop()
        inv.future = loop.create_future()
        self.current = inv
        started = time.perf_counter()
        waiter = self.next_waiter
        if waiter is not None and not waiter.done():
            self.next_waiter = None
            waiter.give(_next_answer(inv))
        else:
            self.pending.append(inv)
        remaining = max(0.0, inv.deadline - time.time())
        # one future settles the invocation: the runtime's /response or /error, the process's
        # exit, or the deadline (cheaper than asyncio.wait on every warm invocation)
        future = inv.future

        def settle(marker):
            if not future.done():
                future.set_result(marker)
        timer = loop.call_later(remaining, settle, _TIMED_OUT)
        on_exit = lambda _task: settle(_EXITED)     # noqa: E731
        self.exited.add_done_callback(on_exit)
        try:
            settled = await future
        finally:
            timer.cancel()
            self.exited.remove_done_callback(on_exit)
        duration = (time.perf_counter() - started) * 1000
        self.current = None
        self.last_used = time.monotonic()
        if settled is not _TIMED_OUT and settled is not _EXITED:
            error_type, body = settled
            self.state = "idle"
            return Outcome(body, error_type, duration_ms=duration, status="error" if error_type else "success")
        if settled is _EXITED:
            code = self.proc.returncode
            self.stop()
            return Outcome(_exit_doc(inv.request_id, code), "Runtime.ExitError", duration_ms=duration,
                           status="crash")
        self.stop()
        return Outcome(json.dumps({"errorType": "Sandbox.Timedout", "errorMessage":
                                   f"RequestId: {inv.request_id} Error: Task timed out after "
                                   f"{self.timeout:.2f} seconds"}).encode(),
                       "Sandbox.Timedout", duration_ms=duration, status="timeout")

    def read_log(self) -> str:
        """What the process wrote since the last call.  The file stays open: a warm
        invocation costs one fstat, and a read only when something was written."""
        try:
            if self.log_fd is None:
                self.log_fd = os.open(self.log_path, os.O_RDONLY)
            size = os.fstat(self.log_fd).st_size
            if size <= self.log_pos:
                if size < self.log_pos:          # truncated under us
                    self.log_pos = size
                return ""
            data = os.pread(self.log_fd, LOG_FILE_CAP, self.log_pos)
            self.log_pos += len(data)
            if self.log_pos > LOG_FILE_CAP:
                os.truncate(self.log_path, 0)
                self.log_pos = 0
        except OSError:
            return ""
        finally:
            if self.state == "dead":             # read after stop(): keep no descriptor
                self._close_files()
        return data.decode("utf-8", "replace")

    def max_memory_mb(self) -> int:
        """VmHWM of the process, from its /proc status file (kept open: re-read at offset 0)."""
        try:
            if self.status_fd is None:
                self.status_fd = os.open(f"/proc/{self.proc.pid}/status", os.O_RDONLY)
            data = os.pread(self.status_fd, 8192, 0)
            at = data.index(b"VmHWM:")
            return max(1, int(data[at + 6:data.index(b"\n", at)].split()[0]) // 1024)
        except (OSError, AttributeError, ValueError, IndexError):
            pass
        finally:
            if self.state == "dead":
                self._close_files()
        return 0

    def stop(self) -> None:
        """Kill the process group and close the Runtime API.  Safe to call twice."""
        self.state = "dead"
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        elif self.proc is not None:
            try:      # children the runtime left behind
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.server is not None:
            self.server.close()
            self.server = None
        self._close_files()

    def _close_files(self) -> None:
        for fd in (self.log_fd, self.status_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.log_fd = self.status_fd = None

    def remove_files(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _next_answer(inv: Invocation) -> tuple[int, dict, bytes]:
    out = {"Lambda-Runtime-Aws-Request-Id": inv.request_id,
           "Lambda-Runtime-Deadline-Ms": str(int(inv.deadline * 1000)),
           "Lambda-Runtime-Invoked-Function-Arn": inv.arn,
           "Lambda-Runtime-Trace-Id": inv.trace_id}
    if inv.client_context:
        out["Lambda-Runtime-Client-Context"] = inv.client_context
    return 200, out, inv.payload


def _exit_doc(request_id: str | None, code: int | None) -> bytes:
    if code is not None and code < 0:
        reason = f"signal: {signal.Signals(-code).name.lower().removeprefix('sig')}" \
            if -code in signal.Signals._value2member_map_ else f"signal: {-code}"
        if reason == "signal: kill":
            reason = "signal: killed"
    else:
        reason = f"exit status {code}"
    prefix = f"RequestId: {request_id} " if request_id else ""
    return json.dumps({"errorType": "Runtime.ExitError",
                       "errorMessage": f"{prefix}Error: Runtime exited with error: {reason}"}).encode()
