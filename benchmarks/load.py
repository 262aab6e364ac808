"""Load driver: measure any AWS-speaking server at an endpoint URL with wrk.

The requests are built once with botocore (its serializer and its own SigV4 signer, so they
are byte for byte what an SDK would send) and then replayed by wrk from a generated Lua
script, so the client is never the bottleneck (boto3 tops out near 1,900 calls/s a thread).

Used by run.py, and usable alone against a server that is already running:

    python benchmarks/load.py --endpoint http://127.0.0.1:4566 --ops ssm.GetParameter
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import botocore.config
import botocore.session

ACCESS_KEY = "000000000000"
SECRET_KEY = "test"
REGION = "us-east-1"
CONNECTION_LEVELS = (1, 8, 64)
MARKER = "BENCH_JSON "
BUSY_CORES = 0.15  # CPU used by other processes during a run above which it is disturbed


@dataclass(frozen=True)
class RawRequest:
    """One signed HTTP request, ready to replay."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


class Endpoint:
    """Clients and signed raw requests for one server."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._session = botocore.session.Session()
        self._clients: dict[tuple, Any] = {}

    def client(self, service: str, **config: Any) -> Any:
        key = (service, tuple(sorted(config.items())))
        if key not in self._clients:
            self._clients[key] = self._session.create_client(
                service,
                region_name=REGION,
                endpoint_url=self.url,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
                config=botocore.config.Config(
                    retries={"max_attempts": 1, "mode": "standard"},
                    connect_timeout=5,
                    read_timeout=60,
                    **config,
                ),
            )
        return self._clients[key]

    def sign(self, service: str, operation: str, params: dict, **config: Any) -> RawRequest:
        """Serialize and sign a call exactly as botocore would send it, without sending it."""
        client = self.client(service, **config)

        def capture(request: Any, **_: Any) -> None:
            raise _Captured(request)

        client.meta.events.register_first("before-send", capture, unique_id="bench-capture")
        try:
            method = getattr(client, botocore.xform_name(operation))
            method(**params)
        except _Captured as captured:
            req = captured.request
        finally:
            client.meta.events.unregister("before-send", unique_id="bench-capture")
        headers = {}
        for name, value in req.headers.items():
            if name.lower() in ("content-length", "host", "expect"):
                continue  # wrk sets Host and Content-Length itself
            headers[name] = value.decode() if isinstance(value, bytes) else str(value)
        body = req.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = body.read()
        return RawRequest(req.method, req.url, headers, body)


def send_once(request: RawRequest, timeout: float = 30.0) -> tuple[int, bytes]:
    """Send one raw request with a plain HTTP call; return (status, body)."""
    parts = urllib.parse.urlsplit(request.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.request(request.method, request.path, body=request.body, headers=request.headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- wrk ---------------------------------------------------------------------------------

def _lua_string(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    out = []
    for byte in data:
        char = chr(byte)
        if 32 <= byte < 127 and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _lua_request(request: RawRequest) -> str:
    headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in request.headers.items())
    return (
        f"{{method = {_lua_string(request.method)}, path = {_lua_string(request.path)}, "
        f"headers = {{{headers}}}, body = {_lua_string(request.body)}}}"
    )


_LUA_DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "bytes": %d, '
    .. '"errors_connect": %d, "errors_read": %d, "errors_write": %d, '
    .. '"errors_status": %d, "errors_timeout": %d, '
    .. '"latency_mean_us": %.1f, "latency_max_us": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
    "__MARKER__", summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def lua_script(requests: list[RawRequest]) -> str:
    """A wrk script that replays the given requests (rotating when there are several)."""
    if len(requests) == 1:
        (only,) = requests
        lines = [
            f"wrk.method = {_lua_string(only.method)}",
            f"wrk.path = {_lua_string(only.path)}",
            f"wrk.body = {_lua_string(only.body)}",
        ]
        lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in only.headers.items()]
        body = "\n".join(lines) + "\n"
    else:
        entries = ",\n  ".join(_lua_request(r) for r in requests)
        body = (
            f"local specs = {{\n  {entries}\n}}\n"
            "local prepared = {}\n"
            "local index = 0\n"
            "function init(args)\n"
            "  for i, r in ipairs(specs) do\n"
            "    prepared[i] = wrk.format(r.method, r.path, r.headers, r.body)\n"
            "  end\n"
            "  index = math.random(#prepared) - 1\n"
            "end\n"
            "function request()\n"
            "  index = index % #prepared + 1\n"
            "  return prepared[index]\n"
            "end\n"
        )
    return body + _LUA_DONE.replace("__MARKER__", MARKER)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str,
    requests: list[RawRequest],
    connections: int,
    duration: float,
    timeout: float = 10.0,
    cpus: str | None = None,
) -> dict:
    """Run wrk once (on the given CPUs, if any); return its summary with req/s and
    latencies in milliseconds."""
    threads = 1 if connections == 1 else 2
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(requests))
    try:
        cmd = (["taskset", "-c", cpus] if cpus else []) + [
            "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
            f"--timeout={round(timeout)}s", "--latency", "-s", script.name, url,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + timeout + 30)
    finally:
        os.unlink(script.name)
    line = next((l for l in proc.stdout.splitlines() if l.startswith(MARKER)), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout[-500:]}")
    raw = json.loads(line[len(MARKER):])
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in raw if k.startswith("errors_"))
    ok = raw["requests"] - raw["errors_status"]
    return {
        "connections": connections,
        "threads": threads,
        "duration_s": round(seconds, 3),
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "ok_rps": round(ok / seconds, 1) if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": round(raw["latency_mean_us"] / 1000, 3),
        "max_ms": raw["latency_max_us"] / 1000,
        "errors": errors,
        "errors_detail": {k[len("errors_"):]: raw[k] for k in raw if k.startswith("errors_")},
    }


# --- what else used the CPU during a run --------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _busy_seconds() -> float:
    """CPU seconds spent busy by all cores since boot (steal not counted)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / _TICK


def _process_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / _TICK


class CpuWatch:
    """Splits the CPU used during a run into the server's, ours (harness + wrk) and others'."""

    def __init__(self, server_pids=None) -> None:
        self.server_pids = server_pids or (lambda: [])

    def __enter__(self) -> "CpuWatch":
        self._pids = self.server_pids()
        self._start = (time.perf_counter(), _busy_seconds(), _process_seconds(self._pids), self._ours())
        return self

    def __exit__(self, *exc: Any) -> None:
        wall0, busy0, server0, ours0 = self._start
        wall = time.perf_counter() - wall0
        server = _process_seconds(self._pids) - server0
        ours = self._ours() - ours0
        busy = _busy_seconds() - busy0
        self.result = {
            "server_cores": round(server / wall, 2),
            "client_cores": round(ours / wall, 2),
            "other_cores": round(max(0.0, busy - server - ours) / wall, 2),
        }

    @staticmethod
    def _ours() -> float:
        import resource
        me = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has exited
        return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


# --- one operation against one endpoint --------------------------------------------------

def prepare(endpoint: Endpoint, op: Any, tag: str) -> tuple[dict, list[RawRequest]]:
    """Run the operation's setup, then sign its request variants."""
    context = op.setup(endpoint, tag) if op.setup else {}
    raw = getattr(op, "raw", None)  # data-plane entries (deployed APIs) build plain HTTP requests
    requests = [
        raw(endpoint, context, i) if raw else endpoint.sign(op.service, op.operation, op.params(context, i),
                                                            **op.config)
        for i in range(op.variants)
    ]
    return context, requests


def verify(requests: list[RawRequest], op: Any) -> dict:
    """Send each distinct request once with a plain HTTP call; report statuses and problems."""
    statuses, problems = [], []
    for request in requests:
        status, body = send_once(request)
        statuses.append(status)
        if not 200 <= status < 300:
            problems.append(f"HTTP {status}: {body[:300].decode(errors='replace')}")
        elif op.check:
            problem = op.check(body)
            if problem:
                problems.append(problem)
    return {"statuses": sorted(set(statuses)), "problems": problems[:3]}


def measure_operation(
    endpoint_url: str,
    name: str,
    op: Any,
    connection_levels: tuple[int, ...] = CONNECTION_LEVELS,
    duration: float = 5.0,
    warmup: float = 1.0,
    log=print,
    server_pids=None,
    client_cpus: str | None = None,
    retry_busy: int = 0,
    wait_quiet=None,
) -> dict:
    """Set up, verify and load one operation at each connection level (fresh setup per level)."""
    endpoint = Endpoint(endpoint_url)
    levels = op.connections or connection_levels
    result: dict = {"operation": name, "runs": []}
    for level_index, connections in enumerate(levels):
        tag = f"{int(time.time() * 1000) % 10**9}-{connections}"
        try:
            context, requests = prepare(endpoint, op, tag)
        except Exception as exc:  # a server that lacks the setup calls
            result["runs"].append({"connections": connections, "failed": f"setup: {exc}"})
            log(f"    {name} c={connections}: setup failed: {exc}")
            continue
        checked = verify(requests, op)
        note = f"statuses {checked['statuses']}"
        if checked["problems"]:
            result["runs"].append({"connections": connections, "failed": "; ".join(checked["problems"]),
                                   "verify": checked})
            log(f"    {name} c={connections}: verify failed: {checked['problems'][0]}")
            continue
        if warmup and level_index == 0:
            run_wrk(endpoint.url, requests, 8 if max(levels) >= 8 else 1, warmup, cpus=client_cpus)
        for attempt in range(retry_busy + 1):
            with CpuWatch(server_pids) as cpu:
                run = run_wrk(endpoint.url, requests, connections, duration, cpus=client_cpus)
            run["cpu"] = cpu.result
            run["attempt"] = attempt + 1
            if server_pids is None:  # the server's CPU is not told apart from others'
                cpu.result = {"client_cores": cpu.result["client_cores"]}
                break
            if cpu.result["other_cores"] <= BUSY_CORES or attempt == retry_busy:
                break
            log(f"    {name} c={connections}: other processes used {cpu.result['other_cores']} "
                f"cores during the run; repeating it")
            if wait_quiet:
                wait_quiet()
        if server_pids is not None:
            note += f"; cores: server {cpu.result['server_cores']}, client {cpu.result['client_cores']}"
        if cpu.result.get("other_cores", 0) > BUSY_CORES:
            note += f"; BUSY: other processes used {cpu.result['other_cores']} cores"
        run["verify"] = checked
        after = verify(requests[:1], op)  # still answering as it should after the load?
        run["verify_after"] = after
        if after["problems"]:
            note += f"; after the run: {after['problems'][0]}"
        run["context"] = {k: v for k, v in context.items() if isinstance(v, (str, int, float))}
        numbers = [f"{k} {v:,}" for k, v in context.items() if isinstance(v, (int, float))]
        if numbers:
            note += "; " + ", ".join(numbers)
        result["runs"].append(run)
        log(
            f"    {name} c={connections}: {run['rps']:,.0f} req/s  p50 {run['p50_ms']:.2f} ms  "
            f"p99 {run['p99_ms']:.2f} ms  errors {run['errors']}  ({note})"
        )
    return result


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from operations import OPERATIONS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:4566")
    parser.add_argument("--ops", default=",".join(n for n, o in OPERATIONS.items() if o.default),
                        help=f"comma-separated, from: {', '.join(OPERATIONS)}")
    parser.add_argument("--connections", default=",".join(map(str, CONNECTION_LEVELS)))
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--server-pid", type=int,
                        help="the server's PID: report its CPU and flag runs other processes disturbed")
    args = parser.parse_args(argv)
    if not wrk_available():
        parser.error("wrk is not installed: run benchmarks/peers.sh setup (or apt-get install wrk)")
    levels = tuple(int(c) for c in args.connections.split(","))
    results = []
    import operations
    tokens = [t for t in args.ops.split(",") if t]
    for name in operations.unknown(tokens):
        parser.error(f"unknown operation {name!r}")
    for name in operations.select(tokens):
        print(f"  {name}", file=sys.stderr)
        pids = (lambda: [args.server_pid]) if args.server_pid else None
        results.append(measure_operation(args.endpoint, name, OPERATIONS[name], levels, args.duration,
                                         log=lambda m: print(m, file=sys.stderr), server_pids=pids))
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
