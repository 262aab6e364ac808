"""Call a service's methods directly, without HTTP, for unit tests."""

from __future__ import annotations

import inspect
import multiprocessing
import os

from haneul.context import RequestContext
from haneul.store import Store


class FakeClock:
    def __init__(self, t: float = 1_700_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class Harness:
    def __init__(self, service_cls, account: str = "123456789012", region: str = "us-east-1",
                 store: Store | None = None):
        self.store = store or Store(None)
        self.service = service_cls()
        self.store.migrate(getattr(service_cls, "NAMESPACE", service_cls.__name__.lower()),
                           service_cls.SCHEMA)
        self.account, self.region = account, region
        self.clock = FakeClock()

    def context(self, **kw) -> RequestContext:
        args = dict(account=self.account, region=self.region, store=self.store, clock=self.clock)
        args.update(kw)
        return RequestContext(**args)

    def call(self, method: str, request: dict | None = None, **kw) -> dict:
        ctx = self.context(**kw)
        fn = getattr(self.service, method)
        if inspect.iscoroutinefunction(fn):
            import asyncio
            return asyncio.run(fn(ctx, request or {}))
        with self.store.transaction() as db:
            ctx.db = db
            return fn(ctx, request or {})


def finishes(work, seconds=10.0) -> bool:
    """Whether `work()` returns True within `seconds`, run in a forked child: a catastrophic
    regex backtrack holds the GIL (a thread could not time out), so the old code fails
    this test instead of hanging the suite."""
    child = multiprocessing.get_context("fork").Process(target=lambda: os._exit(0 if work() else 1), daemon=True)
    child.start()
    child.join(seconds)
    if child.exitcode is None:
        child.kill()
        child.join()
        return False
    return child.exitcode == 0
