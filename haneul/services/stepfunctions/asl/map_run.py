"""A distributed Map's Map Run: each item (or ItemBatcher batch) is a child workflow execution
of its own, which the host may keep and list.

What AWS documents and this follows:
- itemCounts count items, executionCounts child executions (they differ under ItemBatcher);
  the tolerated failure threshold counts failed or timed-out items;
- children start in order as MaxConcurrency allows; once the tolerated failure threshold is
  exceeded no further child starts (those stay PENDING) and STANDARD children still running are
  stopped (ABORTED); EXPRESS children cannot be stopped and run to their end;
- when the parent is stopped or times out, the same: STANDARD children are aborted, EXPRESS
  ones finish in the background, and the Map Run ends ABORTED;
- UpdateMapRun changes MaxConcurrency and the tolerated failure threshold of a running run;
- redriving the parent redrives a failed or aborted Map Run under its own ARN: succeeded
  children are kept, unsuccessful STANDARD children are redriven (same ARN, from the state
  that failed), unsuccessful EXPRESS children and never-started ones are started again.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from haneul.services.stepfunctions.asl import result_writer
from haneul.services.stepfunctions.asl.engine import Evaluator, Execution, Frame, iso
from haneul.services.stepfunctions.asl.errors import StatesError

UNSUCCESSFUL = ("FAILED", "TIMED_OUT", "ABORTED")


def exceeded(failed: int, total: int, count: Any, pct: Any) -> bool:
    """The Map Run's tolerated failure threshold (none set: no failure is tolerated)."""
    if failed == 0:
        return False
    if count is None and pct is None:
        return True
    return (count is not None and failed > count) or \
        (pct is not None and failed * 100.0 / max(total, 1) > pct)


def names(exe: Execution, name: str, state: dict) -> tuple[str, dict]:
    """The Map Run's ARN and its children's: mapRun:MACHINE/LABEL:UUID, the children's
    execution:MACHINE/LABEL:UUID (express:...:UUID:UUID), their machine stateMachine:MACHINE/LABEL."""
    parts = exe.context_base["Execution"]["Id"].split(":")
    if len(parts) < 7:
        parts = "arn:aws:states:us-east-1:000000000000:execution:sm:exec".split(":")
    head = ":".join(parts[:5])
    path = f"{parts[6]}/{state.get('Label', name)}"
    return (f"{head}:mapRun:{path}:{uuid.uuid4()}",
            {"STANDARD": f"{head}:execution:{path}", "EXPRESS": f"{head}:express:{path}",
             "machine": f"{head}:stateMachine:{path}"})


class MapRun:
    def __init__(self, exe: Execution, frame: Frame, name: str, state: dict, processor: dict,
                 inputs: list, sizes: list[int], language: str, settings: dict, data: Any, ev: Evaluator):
        self.exe, self.host, self.frame, self.name, self.state = exe, exe.host, frame, name, state
        self.data, self.ev = data, ev
        self.execution_type = (processor.get("ProcessorConfig") or {}).get("ExecutionType", "STANDARD")
        self.program = {k: v for k, v in processor.items() if k != "ProcessorConfig"}
        self.program.setdefault("QueryLanguage", language)
        self.settings = settings         # max_concurrency, tolerated_count, tolerated_pct: live
        self.inputs, self.sizes = inputs, sizes
        self.tasks: dict[int, asyncio.Task] = {}
        self.wake = asyncio.Event()
        self.halted = False
        self.info: dict = {}

    # -- the run ---------------------------------------------------------------------------
    async def run(self) -> Any:
        fresh_arn, self.child_base = names(self.exe, self.name, self.state)
        previous = self.host.redrivable_map_run(self.name)
        if previous is not None:
            self.arn, self.children = previous["arn"], previous["children"]
            redrive_count = previous["redrive_count"] + 1
            self.exe.emit(self.frame, "MapRunRedriven", "mapRunRedrivenEventDetails",
                          {"mapRunArn": self.arn, "redriveCount": redrive_count})
            todo = [c for c in self.children if c["status"] != "SUCCEEDED"]
        else:
            self.arn, redrive_count = fresh_arn, 0
            self.children = [{"index": i, "input": v, "items": n, "status": "PENDING"}
                             for i, (v, n) in enumerate(zip(self.inputs, self.sizes))]
            self.exe.emit(self.frame, "MapRunStarted", "mapRunStartedEventDetails", {"mapRunArn": self.arn})
            todo = self.children
        self.info = {"state": self.name, "redrive_count": redrive_count, "results_written": 0,
                     "pending_redrive": len(todo) if previous is not None else 0, **self.settings}
        self.host.map_run(self.arn, self.info, self.children, "RUNNING")
        self.host.watch_map_run(self.arn, self.update)
        try:
            for child in todo:
                while self._full() and not self.halted:
                    self.wake.clear()
                    await self.wake.wait()
                if self.halted:
                    break
                self._start(child, redrive=previous is not None)
            while self.tasks:
                await asyncio.wait(list(self.tasks.values()))
        except asyncio.CancelledError:       # the parent was stopped or timed out
            self._abort_children()
            self.info["pending_redrive"] = 0
            if self.tasks and self.execution_type == "EXPRESS":
                asyncio.ensure_future(self._settle("ABORTED"))
            else:
                await self._settle("ABORTED")
            raise
        return await self._finish()

    def _full(self) -> bool:
        limit = self.settings.get("max_concurrency") or 0
        return bool(limit) and len(self.tasks) >= limit

    def _start(self, child: dict, redrive: bool) -> None:
        before = dict(child)
        again = redrive and child.get("arn") is not None and self.execution_type == "STANDARD"
        if child.get("arn") is None:
            child_name = str(uuid.uuid4())
            arn = f"{self.child_base.get(self.execution_type, self.child_base['STANDARD'])}:{child_name}"
            if self.execution_type == "EXPRESS":
                arn += f":{uuid.uuid4()}"
            child.update(arn=arn, name=child_name)
        start = self.host.now()
        for key in ("output", "error", "cause", "stop"):
            child.pop(key, None)
        child.update(status="RUNNING", start=start)
        if again:
            child["redrive_count"] = child.get("redrive_count", 0) + 1
        context = {"execution_arn": child["arn"], "execution_name": child["name"], "start_time": iso(start),
                   "state_machine_arn": self.child_base["machine"],
                   "state_machine_name": self.child_base["machine"].split(":")[6],
                   "role_arn": self.exe.context_base["Execution"]["RoleArn"], "item_count": child["items"]}
        task = self.tasks[child["index"]] = asyncio.ensure_future(self._child(child, context, again))
        task.add_done_callback(lambda _, c=child, b=before: self._gone(c, b))

    def _gone(self, child: dict, before: dict) -> None:
        self.tasks.pop(child["index"], None)
        self.wake.set()
        if not child.pop("begun", False):      # cancelled before its first step: it never started
            child.clear()
            child.update(before)

    async def _child(self, child: dict, context: dict, redrive: bool) -> None:
        child["begun"] = True
        try:
            outcome = await self.host.run_child(self.program, child["input"], context, self.execution_type,
                                                self.arn, redrive=redrive)
        except asyncio.CancelledError:       # stopped by the Map Run (failed) or its parent (stopped)
            child.update(status="ABORTED", stop=self.host.now())
            return
        child.update(status=outcome.status, output=outcome.output, error=outcome.error,
                     cause=outcome.cause, stop=self.host.now())
        if outcome.status != "SUCCEEDED":
            self._check_threshold()

    def _exceeded(self) -> bool:
        """AWS counts failed or timed-out items (a failed batch fails all its items) against all
        items; children the run itself aborted do not count."""
        failed = sum(c["items"] for c in self.children if c["status"] in ("FAILED", "TIMED_OUT"))
        return exceeded(failed, sum(c["items"] for c in self.children), self.settings.get("tolerated_count"),
                        self.settings.get("tolerated_pct"))

    def _check_threshold(self) -> None:
        if not self.halted and self._exceeded():
            self.halted = True
            self.wake.set()
            self._abort_children()

    def _abort_children(self) -> None:
        """STANDARD children still running are stopped; EXPRESS ones cannot be and run on."""
        if self.execution_type == "STANDARD":
            for task in list(self.tasks.values()):
                task.cancel()

    async def _settle(self, status: str) -> None:
        while self.tasks:
            await asyncio.wait(list(self.tasks.values()))
        self.host.map_run(self.arn, self.info, self.children, status)

    def update(self, changes: dict) -> None:
        """UpdateMapRun on this run while it runs: the new values apply from now on."""
        self.settings.update(changes)
        self.info.update(changes)
        self.wake.set()
        if any(c["status"] in UNSUCCESSFUL for c in self.children):
            self._check_threshold()

    async def _finish(self) -> Any:
        allowed = not self._exceeded()
        self.info["pending_redrive"] = 0
        output: Any = [c.get("output") if c["status"] == "SUCCEEDED" else None for c in self.children]
        status = "SUCCEEDED" if allowed else "FAILED"
        try:
            if "ResultWriter" in self.state:      # written for a failed run too: its FAILED file tells why
                output = await result_writer.write(self.exe, self.name, self.state, self.data, self.ev,
                                                   self.arn, self.children)
                if "Resource" in self.state["ResultWriter"]:
                    self.info["results_written"] = sum(c["items"] for c in self.children if c["status"] != "PENDING")
        except BaseException:
            status = "FAILED"
            raise
        finally:
            self.host.map_run(self.arn, self.info, self.children, status)
        if not allowed:
            self.exe.emit(self.frame, "MapRunFailed", "mapRunFailedEventDetails",
                          {"error": "States.ExceedToleratedFailureThreshold"})
            raise StatesError("States.ExceedToleratedFailureThreshold",
                              "The specified tolerated failure threshold was exceeded")
        self.exe.emit(self.frame, "MapRunSucceeded")
        self.exe.emit(self.frame, "MapStateSucceeded")
        return output
