"""Lambda benchmarks (issue 6).

Two parts:

1. Table entries for run.py / load.py (wrk replays signed requests), hooked in by
   operations.py as ops_iam is:

       from ops_lambda import OPERATIONS as LAMBDA_OPERATIONS
       OPERATIONS.update(LAMBDA_OPERATIONS)

   - `lambda.Invoke`: RequestResponse Invoke of a Python hello function, 1 and 8
     connections (8 connections warm 8 environments during the warm-up second).
   - `lambda.GetFunctionConfiguration`: the same function's configuration, the round trip
     of a plain control-plane call: Invoke p50 minus this p50 is the cost of running the
     handler through an execution environment.

2. `python benchmarks/ops_lambda.py [--endpoint URL] [--moto URL]`: what wrk cannot measure,
   with boto3 clients (boto3 itself costs ~0.5 ms a call; the figures include it):
   cold start of a hello function (client latency and the REPORT's Init Duration), warm
   latency p50/p99 and throughput at 1 and 8 client threads, the overhead beyond the
   handler measured inside (client latency less the REPORT's Duration, which runs from
   handing the event to /next to the /response; and a GetFunctionConfiguration round
   trip beside it), and 100 concurrent invocations of a function that sleeps 0.5 s.
   Without --endpoint it starts `python -m haneul start --ephemeral` on a free port.
   `--only engine` (opt-in, no server): the Runtime API round trip alone, the execution
   engine in this process invoking warm Python and Node.js hello functions, 1 and 8 in
   flight: invocations/s, p50, and the engine's and the runtime processes' CPU per
   invocation (run it from a worktree of another commit for an A/B of that commit's code).
   With --moto it also tries the same calls on a running moto server and records what
   happens (moto runs Lambda functions in Docker containers).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from typing import Any

try:
    from operations import Operation
except ImportError:                    # run directly from the repository root
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from operations import Operation

ROLE = "arn:aws:iam::000000000000:role/bench-lambda"
HELLO = "def handler(event, context):\n    return {'hello': 'world'}\n"
NOOP = "def handler(event, context):\n    return None\n"
SLEEPER = "import time\ndef handler(event, context):\n    time.sleep(event.get('s', 0.5))\n    return 'slept'\n"


def zip_source(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", source)
    return buf.getvalue()


def create_function(lam, name: str, source: str, runtime: str = "python3.12", timeout: int = 10) -> None:
    try:
        lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": zip_source(source)}, Timeout=timeout, MemorySize=128)
    except lam.exceptions.ResourceConflictException:
        pass
    for _ in range(100):       # Pending -> Active
        if lam.get_function_configuration(FunctionName=name).get("State", "Active") == "Active":
            return
        time.sleep(0.1)


# --- table entries ----------------------------------------------------------------------------
def _hello(endpoint: Any, tag: str) -> dict:
    name = f"bench-hello-{tag}"[:64]
    create_function(endpoint.client("lambda"), name, HELLO)
    return {"name": name}


def _said_hello(body: bytes) -> str | None:
    return None if b'"hello"' in body else f"unexpected body: {body[:200]!r}"


def _configuration(body: bytes) -> str | None:
    return None if b'"FunctionName"' in body else f"unexpected body: {body[:200]!r}"


OPERATIONS: dict[str, Operation] = {
    "lambda.Invoke": Operation(
        "lambda", "Invoke", lambda ctx, i: {"FunctionName": ctx["name"], "Payload": b"{}"},
        setup=_hello, check=_said_hello, connections=(1, 8), servers=("haneul", "ministack"),
        description="RequestResponse Invoke of a warm Python hello function",
    ),
    "lambda.GetFunctionConfiguration": Operation(
        "lambda", "GetFunctionConfiguration", lambda ctx, i: {"FunctionName": ctx["name"]},
        setup=_hello, check=_configuration, connections=(1, 8),
        description="the same function's configuration: a control-plane round trip",
    ),
}


# --- the standalone measurements ----------------------------------------------------------------
DURATION, INIT = re.compile(r"\tDuration: ([0-9.]+) ms"), re.compile(r"Init Duration: ([0-9.]+) ms")


def _client(endpoint: str, service: str = "lambda"):
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="000000000000",
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 0}, max_pool_connections=128, read_timeout=60))


def _report(resp) -> tuple[float | None, float | None]:
    text = base64.b64decode(resp.get("LogResult", "")).decode(errors="replace")
    duration, init = DURATION.search(text), INIT.search(text)
    return (float(duration.group(1)) if duration else None), (float(init.group(1)) if init else None)


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def cold_starts(endpoint: str, runs: int) -> dict:
    lam = _client(endpoint)
    tag = str(int(time.time() * 1000))[-8:]
    client_ms, init_ms = [], []
    for i in range(runs):
        name = f"bench-cold-{tag}-{i}"
        create_function(lam, name, HELLO)
        started = time.perf_counter()
        resp = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
        client_ms.append((time.perf_counter() - started) * 1000)
        resp["Payload"].read()
        init_ms.append(_report(resp)[1] or 0.0)
        _client(endpoint).delete_function(FunctionName=name)   # see the note in main()
    return {"runs": runs, "client_p50_ms": statistics.median(client_ms), "init_p50_ms": statistics.median(init_ms),
            "client_ms": [round(x, 1) for x in client_ms]}


def warm(endpoint: str, threads: int, seconds: float) -> dict:
    lam0 = _client(endpoint)
    name = f"bench-warm-{threads}-{int(time.time() * 1000) % 10**8}"
    create_function(lam0, name, NOOP)
    latencies: list[float] = []
    handler_ms: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds + 1.0      # the first second warms the environments

    def worker():
        lam = _client(endpoint)
        warmup_until = time.perf_counter() + 1.0
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                resp = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
                resp["Payload"].read()
            except Exception as e:          # noqa: BLE001 - counted, not raised
                with lock:
                    errors.append(type(e).__name__)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if started >= warmup_until:
                with lock:
                    latencies.append(elapsed)
                    duration, _ = _report(resp)
                    if duration is not None:
                        handler_ms.append(elapsed - duration)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    config_ms = []
    for _ in range(200):
        started = time.perf_counter()
        lam0.get_function_configuration(FunctionName=name)
        config_ms.append((time.perf_counter() - started) * 1000)
    _client(endpoint).delete_function(FunctionName=name)
    return {"threads": threads, "calls": len(latencies), "errors": len(errors), "req_s": len(latencies) / seconds,
            "p50_ms": _pct(latencies, 50), "p99_ms": _pct(latencies, 99),
            "beyond_duration_p50_ms": _pct(handler_ms, 50) if handler_ms else None,
            "get_configuration_p50_ms": _pct(config_ms, 50)}


def concurrent(endpoint: str, count: int = 100, sleep: float = 0.5) -> dict:
    lam0 = _client(endpoint)
    name = f"bench-burst-{int(time.time() * 1000) % 10**8}"
    create_function(lam0, name, SLEEPER, timeout=30)
    results: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def one():
        lam = _client(endpoint)
        barrier.wait()
        try:
            resp = lam.invoke(FunctionName=name, Payload=json.dumps({"s": sleep}).encode())
            body = resp["Payload"].read()
            outcome = "ok" if body == b'"slept"' and "FunctionError" not in resp else f"bad {body[:80]!r}"
        except Exception as e:          # noqa: BLE001
            outcome = type(e).__name__
        with lock:
            results.append(outcome)

    started = time.perf_counter()
    pool = [threading.Thread(target=one) for _ in range(count)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    _client(endpoint).delete_function(FunctionName=name)       # its idle environments go with it
    errors = [r for r in results if r != "ok"]
    return {"invocations": count, "ok": count - len(errors), "errors": sorted(set(errors)), "wall_s": round(wall, 2)}


def try_moto(endpoint: str) -> dict:
    """What moto does with the same calls (it starts a Docker container per function)."""
    lam = _client(endpoint)
    out: dict = {}
    try:        # moto checks the role: create it in moto's own account
        iam = _client(endpoint, "iam")
        try:
            role = iam.create_role(RoleName="bench-lambda", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "lambda.amazonaws.com"}}]}))
            arn = role["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            arn = iam.get_role(RoleName="bench-lambda")["Role"]["Arn"]
        lam.create_function(FunctionName="bench-moto-hello", Runtime="python3.12", Role=arn, Handler="app.handler",
                            Code={"ZipFile": zip_source(HELLO)})
        out["create"] = "ok"
    except Exception as e:          # noqa: BLE001
        return {"create": f"{type(e).__name__}: {e}"[:300]}
    started = time.perf_counter()
    try:
        resp = lam.invoke(FunctionName="bench-moto-hello", Payload=b"{}")
        out["invoke"] = {"status": resp["StatusCode"], "function_error": resp.get("FunctionError"),
                         "payload": resp["Payload"].read()[:300].decode(errors="replace")}
    except Exception as e:          # noqa: BLE001
        out["invoke"] = f"{type(e).__name__}: {e}"[:300]
    out["invoke_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return out


def engine_runs(runtimes: list[str], levels: list[int], seconds: float) -> list[dict]:
    """The Runtime API round trip alone: Haneul's execution engine in this process (no HTTP
    front, no store lookups) invoking a warm hello function, `level` invocations in flight
    on as many environments.  Per invocation: the engine's CPU (this process) and the
    runtime processes' CPU (from /proc), and the p50 wall time of one invocation."""
    import asyncio
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)             # the checkout this script is in, not an installed copy
    from haneul.services.awslambda import code as code_pkg
    from haneul.services.awslambda import runtimes as rt
    from haneul.services.awslambda.engine import Engine, FunctionSpec
    from haneul.services.awslambda.environment import Invocation
    from haneul.store import Store

    def worker_seconds(engine) -> float:
        ticks = 0
        for pool in engine.pools.values():
            for env in pool:
                with open(f"/proc/{env.proc.pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    async def measure(runtime: str, level: int) -> dict:
        store = Store(None)
        engine = Engine(None, store)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            if runtime.startswith("nodejs"):
                z.writestr("app.js", "exports.handler = async () => ({hello: 'world'});\n")
            else:
                z.writestr("app.py", HELLO)
        data = buf.getvalue()
        spec = FunctionSpec(account="000000000000", region="us-east-1", name="bench", version="$LATEST",
                            revision="r1", runtime=runtime, handler="app.handler", timeout=10, memory=128,
                            role="", variables={}, code_blob=store.blobs.write(data),
                            code_hex=code_pkg.inspect_zip(data)["hex"], layers=[], endpoint="http://127.0.0.1:1",
                            log_group="/aws/lambda/bench")
        arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"

        def invocation() -> Invocation:
            return Invocation(os.urandom(16).hex(), b'{"a":1}', arn, time.time() + 10)
        try:
            await asyncio.gather(*[engine.invoke(spec, invocation(), None, 0) for _ in range(level)])
            walls: list[float] = []
            count = 0
            stop = time.perf_counter() + 0.5            # warm-up, then the measured run
            for measured in (False, True):
                async def loop():
                    nonlocal count
                    while time.perf_counter() < stop:
                        started = time.perf_counter()
                        await engine.invoke(spec, invocation(), None, 0)
                        if measured:
                            walls.append(time.perf_counter() - started)
                            count += 1
                if measured:
                    stop = time.perf_counter() + seconds
                    cpu, workers, began = time.process_time(), worker_seconds(engine), time.perf_counter()
                await asyncio.gather(*[loop() for _ in range(level)])
            elapsed = time.perf_counter() - began
            return {"runtime": runtime, "in_flight": level, "per_s": round(count / elapsed),
                    "p50_us": round(_pct(walls, 50) * 1e6),
                    "engine_cpu_us": round((time.process_time() - cpu) / count * 1e6, 1),
                    "runtime_cpu_us": round((worker_seconds(engine) - workers) / count * 1e6, 1)}
        finally:
            await engine.close()
            store.close()

    rows = []
    for runtime in runtimes:
        if rt.interpreter(runtime) is None:
            rows.append({"runtime": runtime, "skipped": "no interpreter"})
            continue
        for level in levels:
            rows.append(asyncio.run(measure(runtime, level)))
    return rows


def _start_haneul() -> tuple[subprocess.Popen, str]:
    import socket
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "haneul", "start", "--port", str(port), "--ephemeral",
                             "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            with urllib.request.urlopen(endpoint + "/_haneul/health", timeout=1):
                return proc, endpoint
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("haneul did not start")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", help="a running Haneul (default: start one)")
    ap.add_argument("--moto", help="a running moto server to try the same calls on")
    ap.add_argument("--seconds", type=float, default=3.0, help="measured seconds per warm run")
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--concurrent", type=int, default=100)
    ap.add_argument("--only", default="cold,warm,concurrent",
                    help="comma-separated parts to run: cold, warm, concurrent, and (opt-in) engine")
    ap.add_argument("--runtimes", default="python3.12,nodejs20.x", help="for the engine part")
    args = ap.parse_args(argv)
    parts = set(args.only.split(","))
    if parts == {"engine"}:                 # in this process: no server to start
        for row in engine_runs(args.runtimes.split(","), [1, 8], args.seconds):
            print("engine", json.dumps(row), flush=True)
        return 0
    # DeleteFunction runs on a client of its own: the plain rest-json codec answers its 204
    # with a "{}" body that a kept-alive connection would read as its next response's start
    proc = None
    endpoint = args.endpoint
    if endpoint is None:
        proc, endpoint = _start_haneul()
    results: dict = {"endpoint": endpoint}
    try:
        if "cold" in parts:
            results["cold_start"] = cold_starts(endpoint, args.cold_runs)
            print("cold start", json.dumps(results["cold_start"]), flush=True)
        if "warm" in parts:
            results["warm"] = [warm(endpoint, n, args.seconds) for n in (1, 8)]
            for row in results["warm"]:
                print("warm", json.dumps(row), flush=True)
        if "concurrent" in parts:
            results["concurrent"] = concurrent(endpoint, args.concurrent)
            print("concurrent", json.dumps(results["concurrent"]), flush=True)
        if "engine" in parts:
            for row in engine_runs(args.runtimes.split(","), [1, 8], args.seconds):
                print("engine", json.dumps(row), flush=True)
        if args.moto:
            results["moto"] = try_moto(args.moto)
            print("moto", json.dumps(results["moto"]), flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
