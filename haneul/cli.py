"""`haneul start | status | version | coverage`."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from haneul import __version__
from haneul.config import Config


def _start(args) -> int:
    config = Config.from_env()
    if args.host:
        config.host = args.host
    if args.port:
        config.port = args.port
    if args.data_dir:
        config.data_dir = args.data_dir
    if args.ephemeral:
        config.ephemeral = True
    if args.log_level:
        config.log_level = args.log_level.lower()
    logging.basicConfig(level=getattr(logging, config.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname).1s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    import uvicorn

    from haneul.server import App
    app = App(config)
    where = "memory (ephemeral)" if config.ephemeral else config.data_dir
    logging.getLogger("haneul").info("Haneul %s on http://%s:%d, state in %s",
                                     __version__, config.host, config.port, where)
    try:
        import uvloop  # noqa: F401
        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    server = _Server(uvicorn.Config(
        app, host=config.host, port=config.port, loop=loop, http="httptools", lifespan="on",
        access_log=False, server_header=False, timeout_graceful_shutdown=10,
        log_level="warning" if config.log_level != "debug" else "debug"))
    server.run()
    return 0


def _server_class():
    import contextlib
    import signal

    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            """SIGINT/SIGTERM finish in-flight requests, then `haneul start` exits 0
            (uvicorn's own handler re-raises the signal, so the exit code says killed)."""
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
    return Server


def _Server(config):
    return _server_class()(config)


def _endpoint(args) -> str:
    config = Config.from_env()
    host = args.host or ("127.0.0.1" if config.host in ("0.0.0.0", "") else config.host)
    return f"http://{host}:{args.port or config.port}"


def _status(args) -> int:
    import urllib.request
    url = _endpoint(args) + "/_haneul/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            data = json.loads(r.read())
    except OSError as e:
        print(f"Haneul is not running at {_endpoint(args)} ({e})", file=sys.stderr)
        return 1
    from rich.console import Console
    from rich.table import Table
    console = Console()
    console.print(f"Haneul {data.get('version')} at {_endpoint(args)}, up {data.get('uptime')} s, "
                  f"{'persistent' if data.get('persistence') else 'ephemeral'}")
    table = Table("service", "state")
    for name, state in sorted(data.get("services", {}).items()):
        table.add_row(name, state)
    console.print(table)
    return 0


def _coverage(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from haneul import catalog, registry
    from haneul.dispatch import xform_name
    console = Console()
    table = Table("service", "implemented", "in model", "coverage")
    names = sorted(registry.SERVICES) if not args.all else sorted(catalog.services())
    total_impl = total_ops = 0
    for name in names:
        ops = catalog.services()[name]["operations"]
        impl = 0
        cls = registry.load_class(name) if name in registry.SERVICES else None
        if cls is not None:
            impl = sum(1 for op in ops if callable(getattr(cls, xform_name(op), None)))
        total_impl += impl
        total_ops += len(ops)
        table.add_row(name, str(impl), str(len(ops)), f"{100 * impl / max(len(ops), 1):.0f}%")
        if args.missing and cls is not None:
            for op in ops:
                if not callable(getattr(cls, xform_name(op), None)):
                    table.add_row("", f"[dim]missing: {op}[/dim]", "", "")
    console.print(table)
    console.print(f"{total_impl} of {total_ops} operations implemented")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="haneul", description="A local AWS cloud.")
    sub = parser.add_subparsers(dest="command")
    start = sub.add_parser("start", help="run the server in the foreground")
    start.add_argument("--host")
    start.add_argument("--port", type=int)
    start.add_argument("--data-dir")
    start.add_argument("--ephemeral", action="store_true", help="keep all state in memory")
    start.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    status = sub.add_parser("status", help="is a server running, and what does it serve")
    status.add_argument("--host")
    status.add_argument("--port", type=int)
    sub.add_parser("version", help="print the version")
    cov = sub.add_parser("coverage", help="operations implemented per service")
    cov.add_argument("--all", action="store_true", help="list every service in botocore's models")
    cov.add_argument("--missing", action="store_true", help="name the operations not implemented")
    args = parser.parse_args(argv)
    if args.command == "start":
        return _start(args)
    if args.command == "status":
        return _status(args)
    if args.command == "version":
        print(f"haneul {__version__}")
        return 0
    if args.command == "coverage":
        return _coverage(args)
    parser.print_help()
    return 2


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())
