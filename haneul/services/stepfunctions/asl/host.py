"""What the engine asks of whoever runs it: the clock, timers, tasks, and a place for events.

The engine never sleeps or calls a service itself: a Wait state awaits
`host.sleep_until(t)` and a Task awaits `host.call_task(call)`.  The service's host backs
these with asyncio timers and the in-process dispatcher, so a waiting execution holds no
thread; `ManualHost` (tests, TestState) advances a fake clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from haneul.services.stepfunctions.asl.errors import StatesError


@dataclass
class TaskCall:
    """One attempt of a Task state, as the host needs it."""

    resource: str
    parameters: Any
    state_name: str
    timeout: float | None = None
    heartbeat: float | None = None
    token: str | None = None
    credentials: Any = None
    context: dict = field(default_factory=dict)

    @property
    def pattern(self) -> str:
        """request-response | sync | sync:2 | waitForTaskToken"""
        for suffix in (".sync:2", ".sync", ".waitForTaskToken"):
            if self.resource.endswith(suffix):
                return suffix[1:]
        return "request-response"

    @property
    def base_resource(self) -> str:
        for suffix in (".sync:2", ".sync", ".waitForTaskToken"):
            if self.resource.endswith(suffix):
                return self.resource[: -len(suffix)]
        return self.resource


class Host:
    """Default host: real clock, asyncio timers, no task integrations."""

    realtime = True

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            await asyncio.sleep(delay)

    async def call_task(self, call: TaskCall) -> Any:
        raise StatesError("States.TaskFailed", f"No task integration is available for {call.resource}")

    def new_token(self) -> str:
        import uuid
        return uuid.uuid4().hex + uuid.uuid4().hex

    def event(self, event: dict) -> None:
        """Called for every history event as it happens (persist it here)."""

    def checkpoint(self, state: str, state_input: Any, variables: dict, entered_at: float,
                   event_id: int) -> None:
        """Called when a top-level state is entered; enough to resume from there."""

    async def run_child(self, program: dict, value: Any, context: dict, execution_type: str,
                        map_run_arn: str, redrive: bool = False) -> Any:
        """One child workflow execution of a distributed Map (`context` names it); returns its
        Outcome.  `redrive`: the child failed before and is redriven from where it failed.  This
        host keeps nothing of it (a redriven child runs again from its start); the service's
        host records it as an execution."""
        from haneul.services.stepfunctions.asl.engine import Execution
        return await Execution(program, value, self, context).run()

    def map_run(self, run_arn: str, info: dict, children: list[dict], status: str) -> None:
        """Called when a Map Run starts (status RUNNING) and ends; `info` holds its settings
        (max_concurrency, tolerated_count, tolerated_pct), its state's name, redrive_count,
        pending_redrive and results_written; `children` each child's status (PENDING, RUNNING,
        SUCCEEDED, FAILED, TIMED_OUT, ABORTED), item count, input and outcome."""

    def watch_map_run(self, run_arn: str, on_update) -> None:
        """`on_update(changes)` is to be called when UpdateMapRun changes the running run."""

    def redrivable_map_run(self, state_name: str) -> dict | None:
        """When this execution is being redriven: the failed Map Run the Map state `state_name`
        left ({arn, children, redrive_count}), to be redriven rather than started anew."""
        return None


class ManualHost(Host):
    """A host whose clock only moves when the engine waits: tests and TestState."""

    realtime = False

    def __init__(self, start: float = 1_700_000_000.0, tasks: dict | None = None):
        self.t = start
        self.tasks = tasks or {}
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep_until(self, t: float) -> None:
        if t > self.t:
            self.slept.append(t - self.t)
            self.t = t
        await asyncio.sleep(0)

    async def call_task(self, call: TaskCall) -> Any:
        handler = self.tasks.get(call.base_resource) or self.tasks.get("*")
        if handler is None:
            return await super().call_task(call)
        result = handler(call)
        if asyncio.iscoroutine(result):
            result = await result
        if isinstance(result, StatesError):
            raise result
        return result
