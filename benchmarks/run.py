"""Benchmark runner: Haneul against moto and ministack, in one run, on this machine.

For each selected server: cold start (process start to the first successful AWS call,
median of a few runs), idle RSS, then every selected operation at 1, 8 and 64 connections
with wrk (see load.py). Prints one table per operation with Haneul's ratio to each peer,
and writes the results as JSON under benchmarks/results/.

    .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --servers haneul,moto --ops ssm.GetParameter --duration 5

The peers come from benchmarks/peers.sh setup (a scratch venv outside the project).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import load  # noqa: E402
import operations  # noqa: E402
from operations import OPERATIONS  # noqa: E402

PEERS_BIN = HERE / ".peers" / "venv" / "bin"
RESULTS = HERE / "results"
HANEUL_PYTHON = ROOT / ".venv" / "bin" / "python"


@dataclass(frozen=True)
class Server:
    """How to start one server: argv and environment, with {port} filled in."""

    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    requires: tuple[Path, ...] = ()
    hint: str = ""


SERVERS: dict[str, Server] = {
    "haneul": Server(
        (str(HANEUL_PYTHON if HANEUL_PYTHON.exists() else sys.executable),
         "-m", "haneul", "start", "--port", "{port}", "--ephemeral"),
        requires=(ROOT / "haneul" / "cli.py", ROOT / "haneul" / "server.py"),
        hint="haneul's CLI and server are not written yet",
    ),
    # Haneul without its per-request access log (opt-in: shows what the log line costs).
    "haneul-quiet": Server(
        (str(HANEUL_PYTHON if HANEUL_PYTHON.exists() else sys.executable),
         "-m", "haneul", "start", "--port", "{port}", "--ephemeral", "--log-level", "warning"),
        requires=(ROOT / "haneul" / "cli.py", ROOT / "haneul" / "server.py"),
        hint="haneul's CLI and server are not written yet",
    ),
    "moto": Server(
        (str(PEERS_BIN / "moto_server"), "-p", "{port}"),
        requires=(PEERS_BIN / "moto_server",),
        hint="run benchmarks/peers.sh setup",
    ),
    "ministack": Server(
        (str(PEERS_BIN / "ministack"),),
        env={"GATEWAY_PORT": "{port}"},
        requires=(PEERS_BIN / "ministack",),
        hint="run benchmarks/peers.sh setup",
    ),
    # Not a peer: the HTTP stack's ceiling on this machine (see bare_asgi.py); opt-in.
    "bare": Server(
        (str(HANEUL_PYTHON if HANEUL_PYTHON.exists() else sys.executable), "-m", "uvicorn",
         "bare_asgi:app", "--port", "{port}", "--log-level", "warning", "--no-access-log"),
        cwd=HERE,
    ),
}
DEFAULT_SERVERS = ("haneul", "moto", "ministack")


# --- processes ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    """One server process started in its own session (so stopping it stops its children)."""

    def __init__(self, name: str, server: Server, log_dir: Path, cpus: str | None = None) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [a.format(port=self.port) for a in server.argv]
        if cpus:  # taskset execs the server, so the PID stays the server's
            argv = ["taskset", "-c", cpus, *argv]
        env = dict(os.environ, **{k: v.format(port=self.port) for k, v in server.env.items()})
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, env=env, cwd=server.cwd, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def wait_ready(self, probes: list[load.RawRequest], limit: float = 60.0) -> float:
        """Seconds from process start to the first 2xx answer to any probe."""
        rebased = [rebase(p, self.url) for p in probes]
        last = "no answer"
        while time.perf_counter() - self.started < limit:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            for probe in rebased:
                try:
                    status, body = load.send_once(probe, timeout=10)
                except OSError:
                    break  # not listening yet
                if 200 <= status < 300:
                    return time.perf_counter() - self.started
                last = f"HTTP {status}: {body[:200]!r}"
            else:
                time.sleep(0.02)
                continue
            time.sleep(0.003)
        raise RuntimeError(f"{self.name} not ready after {limit:.0f} s ({last}); see {self.log_path}")

    def rss_mb(self) -> float:
        """VmRSS of the process and its descendants, in MB."""
        return sum(_vmrss_kb(pid) for pid in _tree(self.proc.pid)) / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()


def _vmrss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rebase(request: load.RawRequest, url: str) -> load.RawRequest:
    return load.RawRequest(request.method, url + request.path, request.headers, request.body)


def probe_requests(url: str) -> list[load.RawRequest]:
    """The readiness calls: STS GetCallerIdentity, else SQS ListQueues."""
    endpoint = load.Endpoint(url)
    return [endpoint.sign("sts", "GetCallerIdentity", {}), endpoint.sign("sqs", "ListQueues", {})]


# --- the run -----------------------------------------------------------------------------

def cold_start(name: str, args: argparse.Namespace, log_dir: Path) -> dict:
    """Start the server `--cold-start-runs` times; time each to its first successful call."""
    cold = []
    with load.CpuWatch() as cpu:  # the servers are our children, waited for: counted as ours
        for _ in range(args.cold_start_runs):
            running = Running(name, SERVERS[name], log_dir, args.server_cpus)
            try:
                cold.append(running.wait_ready(probe_requests(running.url)) * 1000)
            finally:
                running.stop()
    if not cold:
        return {}
    others = cpu.result["other_cores"]
    print(f"  {name}: cold start median {statistics.median(cold):.0f} ms  "
          f"(runs: {', '.join(f'{c:.0f}' for c in cold)})"
          + (f"  BUSY: other processes used {others} cores" if others > load.BUSY_CORES else ""),
          flush=True)
    return {"cold_start_ms": {"median": round(statistics.median(cold), 1),
                              "runs": [round(c, 1) for c in cold], "other_cores": others}}


def measure_all(servers: list[str], args: argparse.Namespace, log_dir: Path,
                save=lambda results: None) -> list[dict]:
    """Cold starts first (one process at a time), then every server runs side by side, idle
    but for the one being loaded, and each operation is measured on each server in turn, so
    whatever else the machine does falls on all of them alike."""
    results = {name: {"server": name, "operations": []} for name in servers}
    print("cold start")
    for name in servers:
        try:
            results[name].update(cold_start(name, args, log_dir))
        except Exception as exc:
            print(f"  {name}: failed: {exc}")
            results[name]["failed"] = str(exc)
    running: dict[str, Running] = {}
    try:
        print("idle RSS after one call")
        for name in servers:
            if results[name].get("failed"):
                continue
            instance = Running(name, SERVERS[name], log_dir, args.server_cpus)
            running[name] = instance
            try:
                instance.wait_ready(probe_requests(instance.url))
            except Exception as exc:
                print(f"  {name}: failed: {exc}")
                results[name]["failed"] = str(exc)
                continue
            time.sleep(0.5)
            results[name]["idle_rss_mb"] = round(instance.rss_mb(), 1)
            print(f"  {name}: {results[name]['idle_rss_mb']:.1f} MB")
        ops = list(dict.fromkeys(op for name in servers for op in selected_ops(args, name)))
        for op_name in ops:
            print(f"\n{op_name}")
            for name in servers:
                if results[name].get("failed") or op_name not in selected_ops(args, name):
                    continue
                instance = running[name]
                print(f"  {name}", flush=True)
                try:
                    measured = load.measure_operation(
                        instance.url, op_name, OPERATIONS[op_name], args.levels, args.duration,
                        args.warmup, log=lambda m: print(m, flush=True),
                        server_pids=lambda: _tree(instance.proc.pid), client_cpus=args.client_cpus,
                        retry_busy=args.retry_busy,
                        wait_quiet=(lambda: wait_quiet(args.wait_quiet)) if args.wait_quiet else None)
                except Exception as exc:
                    measured = {"operation": op_name, "runs": [], "failed": str(exc)}
                    print(f"    failed: {exc}")
                results[name]["operations"].append(measured)
                save(list(results.values()))  # a run cut short keeps what it measured
        for name, instance in running.items():
            if instance.proc.poll() is None:
                results[name]["rss_after_mb"] = round(instance.rss_mb(), 1)
    finally:
        for instance in running.values():
            instance.stop()
    return list(results.values())


def selected_ops(args: argparse.Namespace, server: str) -> list[str]:
    if args.ops:
        return operations.select(args.ops, server)
    family = server.split("-")[0]  # haneul-quiet runs what haneul runs
    return [n for n, o in OPERATIONS.items() if o.default and (o.servers is None or family in o.servers)]


def wait_quiet(limit: float, busy_cores: float = 0.2) -> bool:
    """Wait (up to `limit` seconds) until the machine has been near idle for 5 seconds."""
    deadline = time.time() + limit
    while True:
        start, wall = load._busy_seconds(), time.perf_counter()
        time.sleep(5)
        used = (load._busy_seconds() - start) / (time.perf_counter() - wall)
        if used < busy_cores:
            return True
        if time.time() > deadline:
            print(f"machine still busy ({used:.2f} cores in use); measuring anyway")
            return False
        print(f"waiting for a quiet machine ({used:.2f} cores in use) ...", flush=True)


def machine_info() -> dict:
    def peer_version(package: str) -> str | None:
        for site in (HERE / ".peers" / "venv" / "lib").glob("python*/site-packages"):
            for dist in site.glob(f"{package}-*.dist-info"):
                return dist.name[len(package) + 1:-len(".dist-info")]
        return None

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "haneul_commit": commit,
        "moto": peer_version("moto"),
        "ministack": peer_version("ministack"),
        "wrk": (wrk.stdout or wrk.stderr).split("Copyright")[0].strip(),
    }


# --- tables ------------------------------------------------------------------------------

def _best(results: list[dict], server: str, op: str, connections: int) -> dict | None:
    for r in results:
        if r["server"] == server:
            for measured in r["operations"]:
                if measured["operation"] == op:
                    for run in measured["runs"]:
                        if run["connections"] == connections and "rps" in run:
                            return run
    return None


def tables(results: list[dict]) -> list[tuple[str, list[str], list[list[str]]]]:
    servers = [r["server"] for r in results]
    peers = [s for s in servers if s in ("moto", "ministack")]
    out = []
    ops = list(dict.fromkeys(m["operation"] for r in results for m in r["operations"]))
    for op in ops:
        header = ["server", "conns", "req/s", "p50 ms", "p99 ms", "errors", "busy"]
        if "haneul" in servers:
            header += [f"haneul / {p}" for p in peers]
        rows = []
        for r in results:
            measured = next((m for m in r["operations"] if m["operation"] == op), None)
            if measured is None:
                continue
            if measured.get("failed"):
                rows.append([r["server"], "-", "failed", "", "", measured["failed"][:60], ""])
            for run in measured["runs"]:
                if "rps" not in run:
                    rows.append([r["server"], str(run["connections"]), "failed", "", "",
                                 run.get("failed", "")[:60], ""])
                    continue
                errors = f"{run['errors']:,}"
                if run.get("verify_after", {}).get("problems"):
                    errors += " (check failed after the run)"
                others = run.get("cpu", {}).get("other_cores", 0)
                row = [r["server"], str(run["connections"]), f"{run['rps']:,.0f}",
                       f"{run['p50_ms']:.2f}", f"{run['p99_ms']:.2f}", errors,
                       f"{others:.2f}" if others > load.BUSY_CORES else ""]
                if "haneul" in servers:
                    for peer in peers:
                        mine = _best(results, "haneul", op, run["connections"])
                        theirs = _best(results, peer, op, run["connections"])
                        ok = r["server"] == "haneul" and mine and theirs and theirs["rps"]
                        row.append(f"{mine['rps'] / theirs['rps']:.2f}x" if ok else "")
                rows.append(row)
        out.append((op, header, rows))
    header = ["server", "cold start ms (median)", "runs", "busy", "idle RSS MB", "RSS after load MB"]
    rows = []
    for r in results:
        cold = r.get("cold_start_ms", {})
        rows.append([r["server"], f"{cold['median']:.0f}" if cold else "",
                     ", ".join(f"{c:.0f}" for c in cold.get("runs", [])),
                     f"{cold['other_cores']:.2f}" if cold.get("other_cores", 0) > load.BUSY_CORES else "",
                     f"{r.get('idle_rss_mb', 0):.1f}", f"{r.get('rss_after_mb', 0):.1f}"])
    out.append(("start and memory", header, rows))
    backlog = _best(results, "haneul", "sqs.SendMessage@100k", 8)
    empty = _best(results, "haneul", "sqs.SendMessage@0", 8) or _best(results, "haneul", "sqs.SendMessage", 8)
    if backlog and empty:
        out.append(("haneul SendMessage, 8 connections: 100,000 queued vs empty queue",
                    ["queue", "req/s", "p50 ms", "p99 ms", "ratio"],
                    [["empty", f"{empty['rps']:,.0f}", f"{empty['p50_ms']:.2f}", f"{empty['p99_ms']:.2f}", ""],
                     ["100,000 queued", f"{backlog['rps']:,.0f}", f"{backlog['p50_ms']:.2f}",
                      f"{backlog['p99_ms']:.2f}", f"{backlog['rps'] / empty['rps']:.2f}x"]]))
    return out


def print_tables(results: list[dict]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        Console = None
    console = Console(width=None if sys.stdout.isatty() else 140) if Console else None
    for title, header, rows in tables(results):
        if Console:
            table = Table(title=title, title_justify="left")
            for i, name in enumerate(header):
                table.add_column(name, justify="left" if i == 0 else "right")
            for row in rows:
                table.add_row(*row)
            console.print(table)
        else:
            widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
            print(f"\n{title}")
            for row in [header, *rows]:
                row = list(row) + [""] * (len(header) - len(row))
                print("  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                                for i, (c, w) in enumerate(zip(row, widths))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default=",".join(DEFAULT_SERVERS),
                        help=f"from: {', '.join(SERVERS)} (default: {', '.join(DEFAULT_SERVERS)})")
    parser.add_argument("--ops", default="",
                        help=f"names or service prefixes (sqs,ssm) from: {', '.join(OPERATIONS)} "
                             "(default: every operation marked default)")
    parser.add_argument("--connections", default=",".join(map(str, load.CONNECTION_LEVELS)))
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per operation")
    parser.add_argument("--cold-start-runs", type=int, default=3)
    parser.add_argument("--pin", action="store_true",
                        help="pin the server to CPU 0 and wrk to CPU 1 (steadier on 2 cores)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="wait up to SECONDS for the machine to be idle, first and before "
                             "repeating a disturbed run")
    parser.add_argument("--retry-busy", type=int, default=2, metavar="N",
                        help="repeat a run up to N times when other processes used the CPU "
                             "during it (default 2)")
    parser.add_argument("--from-json", help="print the tables of an earlier results file, run nothing")
    args = parser.parse_args(argv)
    if args.from_json:
        print_tables(json.loads(Path(args.from_json).read_text())["results"])
        return 0
    args.server_cpus, args.client_cpus = ("0", "1") if args.pin else (None, None)
    args.levels = tuple(int(c) for c in args.connections.split(","))
    args.ops = [o for o in args.ops.split(",") if o]
    for op in operations.unknown(args.ops):
        parser.error(f"unknown operation {op!r}; known: {', '.join(OPERATIONS)}")
    if not load.wrk_available():
        parser.error("wrk is not installed: run benchmarks/peers.sh setup")
    servers = []
    for name in (s for s in args.servers.split(",") if s):
        if name not in SERVERS:
            parser.error(f"unknown server {name!r}; known: {', '.join(SERVERS)}")
        missing = [p for p in SERVERS[name].requires if not p.exists()]
        if missing:
            print(f"skipping {name}: {SERVERS[name].hint} (missing {missing[0]})")
            continue
        servers.append(name)

    # stopped (timeout, kill): unwind, so the finally blocks stop the servers we started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    info = machine_info()
    print(f"{info['date']}  {info['cores']} cores  load {info['loadavg_before'][0]:.2f}  "
          f"haneul {info['haneul_commit']}  moto {info['moto']}  ministack {info['ministack']}")
    if info["loadavg_before"][0] > 1.0:
        print("warning: the machine is busy (1-minute load > 1); the figures will be low")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_dir = RESULTS / f"logs-{stamp}"
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stamp}.json"
    settings = {"duration_s": args.duration, "warmup_s": args.warmup, "connections": args.levels,
                "cold_start_runs": args.cold_start_runs, "pinned": args.pin,
                "retry_busy": args.retry_busy}

    def save(results: list[dict]) -> None:
        path.write_text(json.dumps({"machine": info, "settings": settings, "results": results},
                                   indent=2))

    results = measure_all(servers, args, log_dir, save)
    save(results)
    print()
    print_tables(results)
    print(f"\nresults: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
