"""The execution engine: pools of warm environments, concurrency, throttling, reaping.

One engine per running server (process state, never persisted).  An environment belongs
to one function version at one configuration revision and serves one invocation at a
time; concurrency grows environments up to the function's reserved concurrency or the
account's unreserved pool, then invocations are throttled as AWS throttles them.  The
host has a cap on live processes (HANEUL_LAMBDA_MAX_ENVIRONMENTS): past it idle
environments of other functions are stopped, or the invocation waits for one to free.

Isolation is process-level: every environment is its own process group with its own
working copy of /tmp (TMPDIR) and a clean environment; it runs as the same OS user as
Haneul, so it is not a security boundary against hostile code.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import math
import os
import secrets
import time
import weakref
from dataclasses import dataclass, field

from haneul.errors import AwsError
from haneul.services.awslambda import code as code_pkg
from haneul.services.awslambda import runtimes
from haneul.services.awslambda.environment import Environment, Invocation, Outcome

log = logging.getLogger("haneul.lambda")
_engines: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")


def account_limit() -> int:
    return int(os.environ.get("HANEUL_LAMBDA_CONCURRENCY", "1000"))


@dataclass
class FunctionSpec:
    """What an environment needs to know about the version it runs."""
    account: str
    region: str
    name: str
    version: str
    revision: str
    runtime: str
    handler: str
    timeout: int
    memory: int
    role: str
    variables: dict
    code_blob: str
    code_hex: str
    layers: list                 # [(blob, hex)]
    endpoint: str
    log_group: str

    @property
    def key(self) -> tuple:
        return (self.account, self.region, self.name, self.version, self.revision)


@dataclass
class Provision:
    """Provisioned concurrency of one qualifier (a version or an alias) on one version:
    `requested` environments of `spec`, started ahead of any invocation and kept while
    configured.  An alias with weighted routing has one per version it routes to."""
    spec: FunctionSpec
    qualifier: str
    requested: int
    envs: list = field(default_factory=list)       # initialised, not yet dead
    status: str = "IN_PROGRESS"                     # IN_PROGRESS | READY | FAILED
    reason: str = ""
    task: asyncio.Task | None = None

    @property
    def key(self) -> tuple:
        """(account, region, name, qualifier, version): its place in Engine.provisions."""
        return (*self.spec.key[:3], self.qualifier, self.spec.version)


def engine_for(app, store=None) -> "Engine":
    owner = app if app is not None else store
    engine = _engines.get(owner)
    if engine is None:
        engine = _engines[owner] = Engine(app, store or app.store)
    return engine


class Engine:
    def __init__(self, app, store):
        self.app = app
        self.store = store
        self.data_dir = store.data_dir
        self.pools: dict[tuple, list[Environment]] = collections.defaultdict(list)
        self.revisions: dict[tuple, str] = {}
        self.inflight: collections.Counter = collections.Counter()        # (account, region, name)
        self.unreserved: collections.Counter = collections.Counter()      # (account, region)
        self.live = 0
        self.max_environments = int(os.environ.get("HANEUL_LAMBDA_MAX_ENVIRONMENTS", "128"))
        self.idle_seconds = float(os.environ.get("HANEUL_LAMBDA_IDLE_SECONDS", "600"))
        self.freed = asyncio.Condition()
        self.waiting = 0                                # invocations waiting for `freed`
        self.reaper: asyncio.Task | None = None
        self.tasks: set[asyncio.Task] = set()          # async invocations, pollers
        self.pollers: dict[str, asyncio.Task] = {}      # event source mapping UUID -> task
        self.queue_task: asyncio.Task | None = None
        self.queue_wake: asyncio.Event | None = None
        # (account, region, name, qualifier, version) -> Provision
        self.provisions: dict[tuple, Provision] = {}

    # -- concurrency -------------------------------------------------------------------------
    def admit(self, spec: FunctionSpec, reserved: int | None, reserved_total: int) -> None:
        """Count one more concurrent execution, or throttle."""
        fn = (spec.account, spec.region, spec.name)
        if reserved is not None:
            if self.inflight[fn] >= reserved:
                raise throttle("ReservedFunctionConcurrentInvocationLimitExceeded")
        else:
            pool = max(0, account_limit() - reserved_total)
            if self.unreserved[fn[:2]] >= pool:
                raise throttle("ConcurrentInvocationLimitExceeded")
            self.unreserved[fn[:2]] += 1
        self.inflight[fn] += 1

    def release(self, spec: FunctionSpec, reserved: int | None) -> None:
        fn = (spec.account, spec.region, spec.name)
        self.inflight[fn] -= 1
        if not self.inflight[fn]:
            del self.inflight[fn]
        if reserved is None:
            self.unreserved[fn[:2]] -= 1

    # -- invocation --------------------------------------------------------------------------
    async def invoke(self, spec: FunctionSpec, inv: Invocation, reserved: int | None,
                     reserved_total: int, qualifier: str | None = None) -> Outcome:
        """Run one invocation.  `qualifier` is the version or alias the caller named: its
        provisioned environments, if any, serve it before on-demand ones."""
        self.admit(spec, reserved, reserved_total)
        try:
            return await self._invoke(spec, inv, qualifier)
        finally:
            self.release(spec, reserved)

    async def _invoke(self, spec: FunctionSpec, inv: Invocation, qualifier: str | None = None) -> Outcome:
        self._start_reaper()
        env = self._idle(spec, qualifier)
        # at the host's cap: make room by stopping another function's idle environment, or
        # wait until one frees, and then take it if it is ours (a warm start, not a new process)
        while env is None and self.live >= self.max_environments:
            victim = self._lru_idle()
            if victim is not None:
                self._retire(victim)
                break
            self.waiting += 1
            try:
                async with self.freed:
                    await self.freed.wait()
            finally:
                self.waiting -= 1
            env = self._idle(spec, qualifier)
        cold = env is None
        init_log = ""
        if cold:
            env, failed = await self._spawn(spec)
            if failed is not None:
                failed.log = self._compose(spec, inv, env, failed, env.read_log() if env else "", cold=True)
                if env is not None:
                    self._forget(env)
                if self.waiting:
                    async with self.freed:
                        self.freed.notify()
                return failed
        inv.deadline = time.time() + spec.timeout
        outcome = await env.run(inv)
        outcome.init_ms = env.init_ms if cold else None
        output = init_log + env.read_log()
        outcome.log = self._compose(spec, inv, env, outcome, output, cold)
        if env.state == "dead":
            self._forget(env)
        if self.waiting:                     # someone waits for an environment to free
            async with self.freed:
                self.freed.notify()
        return outcome

    def _compose(self, spec, inv, env, outcome: Outcome, output: str, cold: bool) -> str:
        lines = []
        if cold:
            served = runtimes.interpreter(spec.runtime) or "the function's bootstrap"
            lines.append(f"INIT_START Runtime Version: {spec.runtime} (Haneul: {served})\n")
        lines.append(f"START RequestId: {inv.request_id} Version: {spec.version}\n")
        lines.append(output)
        if outcome.status == "timeout":
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            lines.append(f"{stamp} {inv.request_id} Task timed out after {spec.timeout:.2f} seconds\n")
        lines.append(f"END RequestId: {inv.request_id}\n")
        report = (f"REPORT RequestId: {inv.request_id}\tDuration: {outcome.duration_ms:.2f} ms\t"
                  f"Billed Duration: {max(1, math.ceil(outcome.duration_ms))} ms\tMemory Size: {spec.memory} MB\t"
                  f"Max Memory Used: {env.max_memory_mb() if env else 0} MB\t")
        if outcome.init_ms is not None:
            report += f"Init Duration: {outcome.init_ms:.2f} ms\t"
        if outcome.status in ("timeout", "crash"):
            report += f"Status: {outcome.status}\t"
        lines.append(report + "\n")
        return "".join(lines)

    def _idle(self, spec: FunctionSpec, qualifier: str | None = None) -> Environment | None:
        """An idle environment of this version: one provisioned for `qualifier` first, else
        an on-demand one (provisioned environments serve only their own qualifier)."""
        vkey = spec.key[:4]
        old = self.revisions.get(vkey)
        if old is not None and old != spec.revision:      # the version was updated: retire
            for env in list(self.pools.get((*vkey, old), ())):
                if env.state == "idle":
                    self._retire(env)
        self.revisions[vkey] = spec.revision
        pool = self.pools.get(spec.key)
        if pool:
            for label in ((qualifier, None) if qualifier and (*vkey[:3], qualifier, vkey[3]) in self.provisions
                          else (None,)):
                for env in reversed(pool):            # the most recently used is the warmest
                    if env.state == "idle" and env.provisioned == label and env.proc \
                            and env.proc.returncode is None:
                        env.state = "busy"
                        return env
        return None

    async def _spawn(self, spec: FunctionSpec, provisioned: str | None = None
                     ) -> tuple[Environment | None, Outcome | None]:
        """Start an environment: busy for the invocation that asked for it, or idle and
        labelled with its qualifier when it is provisioned concurrency."""
        self.live += 1
        env = None
        try:
            task_root = await asyncio.to_thread(code_pkg.ensure_unzipped, self.store.blobs, self.data_dir,
                                                "code", spec.code_blob, spec.code_hex)
            layer_roots = []
            for blob, hexd in spec.layers:
                layer_roots.append(await asyncio.to_thread(code_pkg.ensure_unzipped, self.store.blobs,
                                                           self.data_dir, "layers", blob, hexd))
            env_id = secrets.token_hex(16)
            folder = os.path.join(self.data_dir, "lambda", "envs", env_id)
            os.makedirs(os.path.join(folder, "tmp"), exist_ok=True)
            variables = self._variables(spec, env_id, task_root, layer_roots, folder)
            if provisioned is not None:
                variables["AWS_LAMBDA_INITIALIZATION_TYPE"] = "provisioned-concurrency"
            env = Environment(env_id, spec.key, runtimes.command(spec.runtime, task_root), variables,
                              task_root, folder, spec.timeout, provisioned=provisioned)
            self.pools[spec.key].append(env)
            if runtimes.kind(spec.runtime) == "provided" and not os.access(
                    os.path.join(task_root, "bootstrap"), os.X_OK):
                env.state = "dead"
                return env, Outcome(
                    b'{"errorType":"Runtime.InvalidEntrypoint","errorMessage":"Error: Couldn\'t find valid '
                    b'bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"}', "Runtime.InvalidEntrypoint",
                    status="crash")
            failed = await env.start(init_timeout=max(10.0, float(spec.timeout)))
            if failed is None:
                # a process that dies between invocations is let go at once (a provisioned
                # one is replaced); one that dies during an invocation is run()'s to report
                env.exited.add_done_callback(lambda _task, env=env: self._exited(env))
                if provisioned is None:
                    env.state = "busy"
            return env, failed
        except BaseException:
            if env is not None:
                env.stop()
                self._forget(env)
            else:
                self.live -= 1
            raise

    def _variables(self, spec: FunctionSpec, env_id: str, task_root: str, layers: list[str],
                   folder: str) -> dict:
        kind = runtimes.kind(spec.runtime)
        interpreter = runtimes.interpreter(spec.runtime)
        bins = [os.path.join(layer, "bin") for layer in layers]
        path = bins + ([os.path.dirname(interpreter)] if interpreter else []) + [
            "/usr/local/bin", "/usr/bin", "/bin"]
        today = dt.datetime.now(dt.timezone.utc).strftime("%Y/%m/%d")
        env = {}
        env.update({
            "PATH": os.pathsep.join(path),
            "LANG": "en_US.UTF-8", "TZ": ":UTC",
            "LD_LIBRARY_PATH": os.pathsep.join([os.path.join(layer, "lib") for layer in layers]
                                               + [os.path.join(task_root, "lib")]),
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": runtimes.BOOTSTRAP_DIR,
            "_HANDLER": spec.handler,
            "AWS_REGION": spec.region, "AWS_DEFAULT_REGION": spec.region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[{spec.version}]{env_id}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_ENDPOINT_URL": spec.endpoint,
            "TMPDIR": os.path.join(folder, "tmp"),
            "HANEUL_LAMBDA": "1",
        })
        if kind != "provided":
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
        if kind == "python":
            version = spec.runtime[len("python"):]
            paths = [task_root]
            for layer in layers:
                paths += [os.path.join(layer, "python"),
                          os.path.join(layer, "python", "lib", f"python{version}", "site-packages")]
            sdk = self._python_sdk()
            paths += [sdk] if sdk else []
            env["PYTHONPATH"] = os.pathsep.join(paths)
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        elif kind == "node":
            major = spec.runtime[len("nodejs"):-2]
            env["NODE_PATH"] = os.pathsep.join(
                [p for layer in layers for p in (os.path.join(layer, "nodejs", f"node{major}", "node_modules"),
                                                  os.path.join(layer, "nodejs", "node_modules"))]
                + [os.path.join(task_root, "node_modules")])
        env.update(spec.variables)
        env.update(self._credentials(spec))
        return {k: str(v) for k, v in env.items()}

    def _python_sdk(self) -> str | None:
        """AWS's Python runtimes include boto3: offer Haneul's own (pure Python) copy."""
        target = os.path.join(self.data_dir, "lambda", "sdk", "python")
        if os.path.isdir(target):
            return target
        try:
            import botocore
            site = os.path.dirname(os.path.dirname(botocore.__file__))
            os.makedirs(target + ".tmp", exist_ok=True)
            for name in _SDK_PACKAGES:
                src = os.path.join(site, name)
                link = os.path.join(target + ".tmp", name)
                if os.path.exists(src) and not os.path.lexists(link):
                    os.symlink(src, link)
            os.replace(target + ".tmp", target)
            return target
        except (ImportError, OSError):
            return None

    def _credentials(self, spec: FunctionSpec) -> dict:
        """Temporary credentials for the function's execution role, issued by STS."""
        role = spec.role or f"arn:aws:iam::{spec.account}:role/haneul-lambda"
        role_name = role.rsplit("/", 1)[-1]
        if self.app is None or getattr(self.app, "dispatcher", None) is None:
            return {"AWS_ACCESS_KEY_ID": spec.account, "AWS_SECRET_ACCESS_KEY": "haneul-lambda",
                    "AWS_SESSION_TOKEN": ""}
        from haneul.services.sts import credentials
        self.app.dispatcher.service("sts")          # its tables exist once it is loaded
        with self.store.transaction() as db:
            row = credentials.issue(
                db, account=spec.account, kind="assumed-role", principal_kind="assumed-role",
                arn=f"arn:aws:sts::{spec.account}:assumed-role/{role_name}/{spec.name}",
                user_id=credentials.unique_id("AROA", role) + ":" + spec.name, now=time.time(),
                duration=12 * 3600, role_arn=role, role_session_name=spec.name)
        return {"AWS_ACCESS_KEY_ID": row["access_key_id"], "AWS_SECRET_ACCESS_KEY": row["secret_access_key"],
                "AWS_SESSION_TOKEN": row["session_token"]}

    # -- environments ------------------------------------------------------------------------
    def _lru_idle(self) -> Environment | None:
        idle = [e for pool in self.pools.values() for e in pool if e.state == "idle" and e.provisioned is None]
        return min(idle, key=lambda e: e.last_used) if idle else None

    def _exited(self, env: Environment) -> None:
        if env.state == "idle":
            self._retire(env)

    def _retire(self, env: Environment) -> None:
        env.stop()
        self._forget(env)

    def _forget(self, env: Environment) -> None:
        pool = self.pools.get(env.key)
        if pool is not None and env in pool:
            pool.remove(env)
            self.live -= 1
            if not pool:
                del self.pools[env.key]
        env.remove_files()
        if env.provisioned is not None:         # a crash or a timeout: AWS replaces it
            prov = self.provisions.get((*env.key[:3], env.provisioned, env.key[3]))
            if prov is not None and env in prov.envs:
                prov.envs.remove(env)
                if prov.status != "FAILED" and (prov.task is None or prov.task.done()):
                    prov.task = self.spawn_task(self._fill(prov))

    def stop_function(self, account: str, region: str, name: str, version: str | None = None) -> None:
        """Retire the idle environments of a function (or one version); busy ones finish first."""
        for key, pool in list(self.pools.items()):
            if key[:3] == (account, region, name) and (version is None or key[3] == version):
                for env in list(pool):
                    if env.state == "idle" and env.provisioned is None:
                        self._retire(env)

    def environments(self) -> list[dict]:
        return [{"function": k[2], "version": k[3], "state": e.state, "pid": e.proc.pid if e.proc else None,
                 "uses": e.uses, "provisioned": e.provisioned} for k, pool in self.pools.items() for e in pool]

    # -- provisioned concurrency -------------------------------------------------------------
    def provision(self, spec: FunctionSpec, qualifier: str, requested: int) -> Provision:
        """Keep `requested` initialised environments of `spec` for `qualifier`: start the
        missing ones in the background, stop the surplus (or those of another revision)."""
        key = (spec.account, spec.region, spec.name, qualifier, spec.version)
        prov = self.provisions.get(key)
        if prov is not None and prov.spec.key == spec.key and prov.requested == requested \
                and prov.status != "FAILED":
            return prov
        if prov is None or prov.spec.key != spec.key:
            if prov is not None:
                self._release(prov)
            prov = self.provisions[key] = Provision(spec, qualifier, requested)
        prov.requested, prov.status, prov.reason = requested, "IN_PROGRESS", ""
        for env in [e for e in prov.envs if e.state == "idle"][:max(0, len(prov.envs) - requested)]:
            prov.envs.remove(env)
            self._retire(env)
        if prov.task is None or prov.task.done():
            prov.task = self.spawn_task(self._fill(prov))
        return prov

    async def _fill(self, prov: Provision) -> None:
        """Start environments until the provision has as many as requested.  An init
        failure marks it FAILED with the runtime's error as the reason, as AWS does."""
        qualifier = prov.qualifier
        while self.provisions.get(prov.key) is prov and len(prov.envs) < prov.requested:
            env, failed = await self._spawn(prov.spec, provisioned=qualifier)
            if failed is not None:
                if env is not None:
                    self._forget(env)
                prov.status = "FAILED"
                prov.reason = "FUNCTION_ERROR_INIT_FAILURE: " + failed.payload.decode("utf-8", "replace")[:900]
                return
            if self.provisions.get(prov.key) is not prov:     # deleted meanwhile
                self._retire(env)
                return
            env.read_log()                    # the init phase's output is not an invocation's log
            prov.envs.append(env)
        if len(prov.envs) >= prov.requested:
            prov.status = "READY"

    def unprovision(self, account: str, region: str, name: str, qualifier: str | None = None,
                    version: str | None = None) -> None:
        """Release the provisioned environments of a qualifier (or of every qualifier), on
        one version or on all those it routes to."""
        for key, prov in list(self.provisions.items()):
            if key[:3] == (account, region, name) and qualifier in (None, key[3]) and version in (None, key[4]):
                del self.provisions[key]
                self._release(prov)

    def _release(self, prov: Provision) -> None:
        if prov.task is not None and not prov.task.done():
            prov.task.cancel()
        for env in prov.envs:
            env.provisioned = None            # a busy one finishes, then is reaped as on-demand
            if env.state == "idle":
                self._retire(env)
        prov.envs.clear()

    def provisioned(self, account: str, region: str, name: str, qualifier: str) -> list[Provision]:
        """The provisions of a qualifier: one per version it routes to."""
        return [p for k, p in self.provisions.items() if k[:4] == (account, region, name, qualifier)]

    def _start_reaper(self) -> None:
        if self.reaper is None or self.reaper.done():
            self.reaper = asyncio.ensure_future(self._reap())

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, max(1.0, self.idle_seconds / 4)))
            self.reap(time.monotonic())

    def reap(self, now: float) -> None:
        """Stop on-demand environments idle for idle_seconds (provisioned ones stay)."""
        cutoff = now - self.idle_seconds
        for pool in list(self.pools.values()):
            for env in list(pool):
                if env.state == "idle" and env.last_used < cutoff and env.provisioned is None:
                    self._retire(env)

    def spawn_task(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def close(self) -> None:
        self.provisions.clear()              # nothing is replaced while everything stops
        if self.reaper is not None:
            self.reaper.cancel()
        for task in list(self.tasks):
            task.cancel()
        for pool in list(self.pools.values()):
            for env in list(pool):
                env.stop()
                self._forget(env)
        from haneul.services.awslambda import records
        records.flush_logs(self.store)


def throttle(reason: str) -> AwsError:
    return AwsError("TooManyRequestsException", "Rate Exceeded.", Reason=reason, Type="User",
                    retryAfterSeconds="1")
