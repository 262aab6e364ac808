"""Scenario S1's throughput, end to end and by layer, with wrk.

    .venv/bin/python benchmarks/s1_throughput.py [--targets s1,sync,invoke,mock]
        [--connections 1,8,64] [--duration 3] [--endpoint URL] [--cpus-server 0 --cpus-wrk 1]

Starts Haneul (`--ephemeral --log-level warning`, or with a scratch data directory with
--persist) on a free port unless --endpoint names a running server, sets up S1 with examples/s1_sync_workflow/setup.py, and measures with wrk:

- `s1`: POST to the REST API's invoke URL (`/_aws/execute-api/{api}/prod/orders`):
  API Gateway (AWS integration, VTL) -> StartSyncExecution of the EXPRESS machine ->
  Lambda validator -> DynamoDB putItem -> response template.  Rotating order bodies.
- `s1http` (opt-in): the same through the HTTP API's StepFunctions-StartSyncExecution route.
- `s1sync` (opt-in): StartSyncExecution of S1's EXPRESS machine called directly (signed like
  boto3), the same orders: `s1` less `s1sync` is what API Gateway adds.
- `sync`: StartSyncExecution of a 5-state Pass/Choice EXPRESS machine alone
  (benchmarks/ops_stepfunctions.py's machine), signed like boto3.
- `invoke`: Lambda Invoke (RequestResponse) of a warm Python hello function.
- `mock`: a REST API method with a MOCK integration.

Each line: requests/s, p50 and p99 at each connection count.  Every response is checked
once before the run; wrk's non-2xx count is printed too.  Keep runs short on a shared
machine (the default is 3 s a point: 4 targets x 3 levels ~ 45 s).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "examples" / "s1_sync_workflow")]

import load  # noqa: E402
import operations  # noqa: E402,F401 - before ops_lambda: it imports each ops_*.py whole, once
from load import Endpoint, RawRequest, run_wrk, send_once  # noqa: E402
from ops_lambda import HELLO, create_function  # noqa: E402
from ops_stepfunctions import SYNC_MACHINE  # noqa: E402

import setup as s1_setup  # noqa: E402  (examples/s1_sync_workflow/setup.py)

PYTHON = ROOT / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cpus: str | None, data_dir: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    argv = [str(PYTHON if PYTHON.exists() else sys.executable), "-m", "haneul", "start", "--port", str(port),
            *(["--data-dir", data_dir] if data_dir else ["--ephemeral"]), "--log-level", "warning"]
    if cpus:
        argv = ["taskset", "-c", cpus, *argv]
    proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(os.devnull, "wb"), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/_haneul/health", timeout=1).read()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("haneul did not start")
            time.sleep(0.05)
    stop_server(proc)
    raise RuntimeError("haneul did not answer")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def plain(url: str, path: str, body: bytes, method: str = "POST") -> RawRequest:
    return RawRequest(method, url + path, {"Content-Type": "application/json"}, body)


def targets(url: str, wanted: list[str]) -> dict[str, tuple[list[RawRequest], callable]]:
    ep = Endpoint(url)
    out = {}
    if {"s1", "s1http", "s1sync"} & set(wanted):
        made = s1_setup.setup(url)
        bodies = [json.dumps({"orderId": f"o-{i}", "item": ("tea", "coffee", "cake")[i % 3], "qty": 1 + i % 5})
                  for i in range(32)]
        if "s1sync" in wanted:      # S1's machine without API Gateway: what the gateway adds is s1 less this
            out["s1sync"] = ([ep.sign("stepfunctions", "StartSyncExecution",
                                      {"stateMachineArn": made["express"], "input": b},
                                      inject_host_prefix=False) for b in bodies],
                             lambda body: None if b"ACCEPTED" in body else f"unexpected: {body[:200]!r}")
        for name, key in (("s1", "rest_url"), ("s1http", "http_url")):
            if name in wanted:
                path = made[key][len(url):]
                out[name] = ([plain(url, path, b.encode()) for b in bodies],
                             lambda body: None if b'ACCEPTED' in body else f"unexpected: {body[:200]!r}")
    if "sync" in wanted:
        sfn = ep.client("stepfunctions", inject_host_prefix=False)
        arn = sfn.create_state_machine(name="bench-s1-sync", definition=json.dumps(SYNC_MACHINE),
                                       roleArn="arn:aws:iam::000000000000:role/x", type="EXPRESS")["stateMachineArn"]
        reqs = [ep.sign("stepfunctions", "StartSyncExecution",
                        {"stateMachineArn": arn, "input": json.dumps({"id": f"o-{i}", "qty": i + 3})},
                        inject_host_prefix=False) for i in range(8)]
        out["sync"] = (reqs, lambda body: None if b'"SUCCEEDED"' in body else f"unexpected: {body[:200]!r}")
    if "invoke" in wanted:
        create_function(ep.client("lambda"), "bench-s1-hello", HELLO)
        reqs = [ep.sign("lambda", "Invoke", {"FunctionName": "bench-s1-hello", "Payload": b"{}"})]
        out["invoke"] = (reqs, lambda body: None if b'"hello"' in body else f"unexpected: {body[:200]!r}")
    if "mock" in wanted:
        gw = ep.client("apigateway")
        api = gw.create_rest_api(name="bench-s1-mock")
        res = gw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="ping")
        key = dict(restApiId=api["id"], resourceId=res["id"], httpMethod="GET")
        gw.put_method(**key, authorizationType="NONE")
        gw.put_integration(**key, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
        gw.put_method_response(**key, statusCode="200")
        gw.put_integration_response(**key, statusCode="200",
                                    responseTemplates={"application/json": '{"pong": true}'})
        gw.create_deployment(restApiId=api["id"], stageName="prod")
        req = RawRequest("GET", f"{url}/_aws/execute-api/{api['id']}/prod/ping", {}, b"")
        out["mock"] = ([req], lambda body: None if b'"pong"' in body else f"unexpected: {body[:200]!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", default="s1,sync,invoke,mock")
    p.add_argument("--connections", default="1,8,64")
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--warmup", type=float, default=2.0,
                   help="seconds at the highest connection count before measuring (Lambda environments start)")
    p.add_argument("--endpoint", help="a running server (else one is started)")
    p.add_argument("--cpus-server", help="taskset CPUs for the started server, e.g. 0")
    p.add_argument("--cpus-wrk", help="taskset CPUs for wrk, e.g. 1")
    p.add_argument("--persist", action="store_true",
                   help="the started server keeps its state in a temporary data directory (as `haneul start` "
                        "does by default) rather than --ephemeral")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    wanted = [t.strip() for t in args.targets.split(",") if t.strip()]
    levels = [int(c) for c in args.connections.split(",")]
    proc = None
    url = args.endpoint
    scratch = tempfile.TemporaryDirectory(prefix="haneul-s1-") if args.persist else None
    if url is None:
        proc, url = start_server(args.cpus_server, scratch.name if scratch else None)
    results = []
    try:
        for name, (reqs, check) in targets(url, wanted).items():
            status, body = send_once(reqs[0])
            problem = check(body) if status < 300 else f"status {status}: {body[:200]!r}"
            if problem:
                print(f"{name}: {problem}", file=sys.stderr)
                continue
            if args.warmup:
                run_wrk(url, reqs, max(levels), args.warmup, cpus=args.cpus_wrk)
            for c in levels:
                r = run_wrk(url, reqs, c, args.duration, cpus=args.cpus_wrk)
                r["target"] = name
                results.append(r)
                print(f"{name:7s} c={c:<3d} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.2f} ms  "
                      f"p99 {r['p99_ms']:7.2f} ms  errors {r['errors']}", flush=True)
    finally:
        if proc is not None:
            stop_server(proc)
        if scratch is not None:
            scratch.cleanup()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
