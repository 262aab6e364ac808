"""The execution engine without a server: environments, warm reuse, timeouts that kill the
whole process group, throttling, and the Runtime API server."""

import asyncio
import io
import json
import os
import time
import zipfile

import pytest

from haneul.errors import AwsError
from haneul.services.awslambda import code as code_pkg
from haneul.services.awslambda import runtimes
from haneul.services.awslambda.engine import Engine, FunctionSpec
from haneul.services.awslambda.environment import Invocation
from haneul.store import Store

APP = """
import os, subprocess, time
def handler(event, context):
    if event.get("spawn"):
        child = subprocess.Popen(["sleep", "30"])
        with open(event["spawn"], "w") as f:
            f.write(str(child.pid))
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "tmp": os.environ["TMPDIR"]}
"""

pytestmark = pytest.mark.skipif(runtimes.interpreter("python3.12") is None, reason="no python3.12")


def _spec(store, timeout=1):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", APP)
    data = buf.getvalue()
    info = code_pkg.inspect_zip(data)
    blob = store.blobs.write(data)
    return FunctionSpec(account="123456789012", region="us-east-1", name="fn", version="$LATEST", revision="r1",
                        runtime="python3.12", handler="app.handler", timeout=timeout, memory=128, role="",
                        variables={}, code_blob=blob, code_hex=info["hex"], layers=[],
                        endpoint="http://127.0.0.1:1", log_group="/aws/lambda/fn")


def _dead(pid: int) -> bool:
    """Gone, or a zombie nobody reaped (pid 1 in a container may not reap)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line for line in f)
    except FileNotFoundError:
        return True


def _inv(event):
    return Invocation(os.urandom(8).hex(), json.dumps(event).encode(), "arn:aws:lambda:us-east-1:1:function:fn", 0.0)


def _run(scenario) -> None:
    """Run `scenario(engine, store)` on a fresh in-memory store and engine, closing both."""
    async def main():
        store = Store(None)
        engine = Engine(None, store)
        try:
            await scenario(engine, store)
        finally:
            await engine.close()
            store.close()
    asyncio.run(main())


def test_warm_reuse_timeout_kills_group_and_throttle():
    async def scenario(engine, store):
        spec = _spec(store)
        first = await engine.invoke(spec, _inv({}), None, 0)
        second = await engine.invoke(spec, _inv({}), None, 0)
        a, b = json.loads(first.payload), json.loads(second.payload)
        assert a["pid"] == b["pid"] and first.init_ms is not None and second.init_ms is None
        assert "Init Duration" in first.log and "Init Duration" not in second.log
        started = time.monotonic()
        marker = os.path.join(store.data_dir, "child-pid")
        timed = await engine.invoke(spec, _inv({"spawn": marker, "sleep": 5}), None, 0)
        assert time.monotonic() - started < 3
        assert timed.error_type == "Sandbox.Timedout" and "Task timed out after 1.00 seconds" in timed.log
        assert not os.path.exists(a["tmp"])           # the environment's files went with it
        with open(marker) as f:
            child = int(f.read())
        await asyncio.sleep(0.2)
        assert _dead(child)                 # the handler's child died with its process group
        # reserved concurrency 1: a second concurrent invocation is throttled
        slow = asyncio.ensure_future(engine.invoke(spec, _inv({"sleep": 0.5}), 1, 1))
        await asyncio.sleep(0.1)
        with pytest.raises(AwsError) as e:
            await engine.invoke(spec, _inv({}), 1, 1)
        assert e.value.fields["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert (await slow).error_type is None
    _run(scenario)


def test_loopback_server_chunked_and_keepalive():
    from haneul.services.awslambda.loopback import LoopbackServer

    async def scenario():
        async def handler(method, target, headers, body):
            return 200, {"X-Echo": target}, body[::-1]
        server = LoopbackServer(handler)
        port = await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        writer.write(b"POST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nxy")
        await writer.drain()
        data = b""
        while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"yx"):
            data += await reader.read(4096)
        assert b"edcba" in data and b"X-Echo: /b" in data
        writer.close()
        server.close()
    asyncio.run(scenario())


def test_loopback_pipelined_answers_wait_for_the_parked_one_and_go_out_in_one_write():
    """A runtime that pipelines its /response and the next /next gets both answers in one
    segment once the next event is given; a client that waits for each answer gets its 202
    at once."""
    from haneul.services.awslambda.loopback import LoopbackServer, Parked

    async def scenario():
        parked = []

        def handler(method, target, headers, body):
            if target == "/next":
                parked.append(Parked())
                return parked[-1]
            return 202, {}, b'{"status":"OK"}'
        server = LoopbackServer(handler)
        port = await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /next HTTP/1.1\r\n\r\n")
        await writer.drain()
        with pytest.raises(asyncio.TimeoutError):       # the 202 is held while /next waits
            await asyncio.wait_for(reader.read(4096), 0.05)
        parked[0].give((200, {"Lambda-Runtime-Aws-Request-Id": "r1"}, b'{"event":1}'))
        data = await asyncio.wait_for(reader.read(4096), 2)     # one write: both answers
        assert data.startswith(b"HTTP/1.1 202 Accepted") and data.endswith(b'{"event":1}')
        assert b"Lambda-Runtime-Aws-Request-Id: r1" in data
        writer.write(b"POST /response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(4096), 2)     # not pipelined: answered now
        assert data.startswith(b"HTTP/1.1 202 Accepted")
        writer.write(b"GET /next HTTP/1.1\r\n\r\n")
        await writer.drain()
        while len(parked) < 2:
            await asyncio.sleep(0.01)
        writer.close()
        await asyncio.sleep(0.05)
        assert parked[1].done()                          # the long poll went with its connection
        parked[1].give((200, {}, b"{}"))                 # giving it then writes nothing
        server.close()
    asyncio.run(scenario())


def test_start_and_stop_hooks(tmp_path):
    from haneul import registry
    from haneul.config import Config
    from haneul.server import App
    from haneul.services import awslambda

    async def scenario():
        saved = dict(registry.SERVICES)
        registry.SERVICES.setdefault("lambda", "haneul.services.awslambda.service:Lambda")
        app = App(Config(data_dir=str(tmp_path), ephemeral=False))
        app.open()
        try:
            stale = tmp_path / "lambda" / "envs" / "old"
            stale.mkdir(parents=True)
            await awslambda.start(app)
            assert not stale.exists()
            await awslambda.stop(app)
        finally:
            app.close()
            registry.SERVICES.clear()
            registry.SERVICES.update(saved)
    asyncio.run(scenario())


def test_invocation_logs_are_batched_and_read_after_flush():
    from haneul.services.awslambda import records

    async def scenario():
        store = Store(None)
        store.migrate("lambda", records.SCHEMA)
        try:
            for i in range(3):
                records.queue_log(store, "1", "us-east-1", "fn", f"r{i}", time.time(), f"log {i}\n")
            with store.transaction() as db:       # not written yet: one commit for the batch
                assert db.execute("SELECT COUNT(*) FROM lambda_log").fetchone()[0] == 0
            logs = records.invocation_logs(store, "1", "us-east-1", "fn")   # readers flush first
            assert [r["request_id"] for r in logs] == ["r2", "r1", "r0"]
            for i in range(records.LOGS_KEPT_PER_FUNCTION + 60):
                records.queue_log(store, "1", "us-east-1", "fn", f"s{i}", time.time(), "")
            await asyncio.sleep(records.LOG_FLUSH_SECONDS + 0.1)             # the timer flushes
            with store.transaction() as db:
                kept = db.execute("SELECT COUNT(*) FROM lambda_log").fetchone()[0]
            assert records.LOGS_KEPT_PER_FUNCTION <= kept < records.LOGS_KEPT_PER_FUNCTION + 50
        finally:
            store.close()
    asyncio.run(scenario())


def test_warm_invocations_read_only_new_log_output():
    async def scenario(engine, store):
        spec = _spec(store)
        first = await engine.invoke(spec, _inv({}), None, 0)
        second = await engine.invoke(spec, _inv({}), None, 0)
        assert first.log.count("START RequestId") == 1 and second.log.count("START RequestId") == 1
        assert "Max Memory Used: 0 MB" not in second.log
    _run(scenario)


def test_at_the_environment_cap_queued_invocations_reuse_warm_environments():
    async def scenario(engine, store):
        engine.max_environments = 2
        spec = _spec(store)
        outs = await asyncio.gather(*[engine.invoke(spec, _inv({"sleep": 0.05}), None, 0) for _ in range(12)])
        pids = {json.loads(o.payload)["pid"] for o in outs}
        assert len(pids) == 2 and engine.live == 2          # 10 of them waited for a warm one
        assert sum(o.init_ms is not None for o in outs) == 2
    _run(scenario)


def test_provisioned_environments_start_ahead_serve_their_qualifier_survive_reaping_and_are_replaced():
    async def scenario(engine, store):
        spec = _spec(store, timeout=1)
        spec.version = "1"
        prov = engine.provision(spec, "live", 2)
        assert prov.status == "IN_PROGRESS" and not prov.envs
        await prov.task
        assert prov.status == "READY" and len(prov.envs) == 2
        pids = {e.proc.pid for e in prov.envs}
        assert all(e.env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency" for e in prov.envs)
        # the qualifier's invocations take them: no cold start, no Init Duration
        out = await engine.invoke(spec, _inv({}), None, 0, "live")
        assert json.loads(out.payload)["pid"] in pids and out.init_ms is None
        assert "Init Duration" not in out.log and "INIT_START" not in out.log
        # another qualifier of the same version starts an on-demand environment
        other = await engine.invoke(spec, _inv({}), None, 0, "1")
        assert json.loads(other.payload)["pid"] not in pids and "Init Duration" in other.log
        # idle reaping stops the on-demand one only
        engine.idle_seconds = 0
        engine.reap(time.monotonic() + 1)
        assert {e["pid"] for e in engine.environments()} == pids
        # a timeout kills one; it is replaced
        timed = await engine.invoke(spec, _inv({"sleep": 5}), None, 0, "live")
        assert timed.error_type == "Sandbox.Timedout"
        await prov.task
        assert prov.status == "READY" and len(prov.envs) == 2 and len({e.proc.pid for e in prov.envs} & pids) == 1
        # a lower count stops the surplus; unprovisioning stops the rest
        engine.provision(spec, "live", 1)
        await prov.task
        assert len(prov.envs) == 1 and len(engine.environments()) == 1
        last = prov.envs[0].proc.pid
        engine.unprovision(spec.account, spec.region, spec.name, "live")
        await asyncio.sleep(0.2)
        assert engine.environments() == [] and _dead(last)
    _run(scenario)


def test_provisioning_that_cannot_initialise_fails_with_the_reason():
    async def scenario(engine, store):
        spec = _spec(store)
        spec.version, spec.handler = "1", "missing.handler"
        prov = engine.provision(spec, "1", 1)
        await prov.task
        assert prov.status == "FAILED" and "Runtime.ImportModuleError" in prov.reason and not prov.envs
        assert engine.environments() == []
    _run(scenario)


def test_a_provisioned_environment_that_dies_idle_is_replaced_and_stays_allocated_meanwhile():
    from haneul.services.awslambda.provisioning import summary

    async def scenario(engine, store):
        spec = _spec(store)
        spec.version = "1"
        prov = engine.provision(spec, "live", 2)
        assert summary([prov], 2)["Status"] == "IN_PROGRESS"
        await prov.task
        assert summary([prov], 2) == {"AllocatedProvisionedConcurrentExecutions": 2,
                                      "AvailableProvisionedConcurrentExecutions": 2, "Status": "READY"}
        victim = prov.envs[0]
        os.kill(victim.proc.pid, 9)               # dies between invocations
        for _ in range(200):
            if victim not in prov.envs:
                break
            await asyncio.sleep(0.005)
        # let go at once; while its replacement starts the config stays READY and allocated
        assert victim not in prov.envs and victim.state == "dead"
        assert summary([prov], 2) == {"AllocatedProvisionedConcurrentExecutions": 2,
                                      "AvailableProvisionedConcurrentExecutions": 1, "Status": "READY"}
        await prov.task
        assert len(prov.envs) == 2 and victim.proc.pid not in {e.proc.pid for e in prov.envs}
        assert summary([prov], 2)["AvailableProvisionedConcurrentExecutions"] == 2
        out = await engine.invoke(spec, _inv({}), None, 0, "live")
        assert out.error_type is None and out.init_ms is None
    _run(scenario)
