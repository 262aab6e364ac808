"""The Map Run on the engine, its host played by a recorder: item and execution counts under
ItemBatcher, children stopped when the run fails, UpdateMapRun on a running run, and a redrive
that re-runs only the children that did not succeed."""

import asyncio

from haneul.services.stepfunctions.asl.engine import Execution
from haneul.services.stepfunctions.asl.errors import StatesError
from haneul.services.stepfunctions.asl.host import ManualHost


class Recorder(ManualHost):
    """Task items {"n": 1} fail, {"hold": true} wait until released, others echo."""

    def __init__(self, previous=None):
        super().__init__(tasks={"*": self.work})
        self.runs, self.watchers, self.previous = [], {}, previous
        self.release = asyncio.Event()
        self.calls: list = []

    async def work(self, call):
        self.calls.append(call.parameters)
        if call.parameters.get("n") == 1:
            return StatesError("Bad", "one")
        if call.parameters.get("hold"):
            await self.release.wait()
        return call.parameters

    def map_run(self, run_arn, info, children, status):
        self.runs.append((status, dict(info), [dict(c) for c in children]))

    def watch_map_run(self, run_arn, on_update):
        self.watchers[run_arn] = on_update

    def redrivable_map_run(self, state_name):
        return self.previous


def machine(**extra):
    state = {"Type": "Map", "ItemsPath": "$", "End": True, "Label": "L",
             "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                               "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::x",
                                                                "End": True}}}}
    state.update(extra)
    return {"StartAt": "M", "States": {"M": state}}


def test_batches_count_their_items():
    host = Recorder()
    out = asyncio.run(Execution(machine(ItemBatcher={"MaxItemsPerBatch": 2}), [1, 2, 3, 4, 5], host).run())
    assert out.status == "SUCCEEDED"
    status, _, children = host.runs[-1]
    assert status == "SUCCEEDED" and [c["items"] for c in children] == [2, 2, 1]


def test_a_failed_run_stops_its_running_children():
    host = Recorder()
    out = asyncio.run(Execution(machine(), [{"hold": True}, {"hold": True}, {"n": 1}], host).run())
    assert out.error == "States.ExceedToleratedFailureThreshold"
    status, _, children = host.runs[-1]
    assert status == "FAILED" and [c["status"] for c in children] == ["ABORTED", "ABORTED", "FAILED"]


def test_update_raises_concurrency_and_lowers_tolerance_of_a_running_run():
    async def scenario():
        host = Recorder()
        exe = Execution(machine(MaxConcurrency=1, ToleratedFailureCount=3),
                        [{"hold": True}, {"k": 2}, {"n": 1}, {"hold": True}], host)
        task = asyncio.ensure_future(exe.run())
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(host.calls) == 1                   # MaxConcurrency 1: the first holds the rest
        (on_update,) = host.watchers.values()
        on_update({"max_concurrency": 0})
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(host.calls) == 4                   # all started once the limit is lifted
        on_update({"tolerated_count": 0})             # the failure already seen is now one too many
        out = await asyncio.wait_for(task, 5)
        return host, out

    host, out = asyncio.run(scenario())
    assert out.error == "States.ExceedToleratedFailureThreshold"
    status, info, children = host.runs[-1]
    assert [c["status"] for c in children] == ["ABORTED", "SUCCEEDED", "FAILED", "ABORTED"]
    assert (info["max_concurrency"], info["tolerated_count"]) == (0, 0)


def test_redrive_reruns_only_unsuccessful_children_of_the_same_run():
    previous = {"arn": "arn:aws:states:us-east-1:000000000000:mapRun:sm/L:old", "redrive_count": 0, "children": [
        {"index": 0, "input": {"k": 0}, "items": 1, "status": "SUCCEEDED", "output": {"kept": True},
         "arn": "arn:aws:states:us-east-1:000000000000:execution:sm/L:a", "name": "a", "start": 1.0, "stop": 2.0},
        {"index": 1, "input": {"k": 1}, "items": 1, "status": "FAILED", "error": "Bad",
         "arn": "arn:aws:states:us-east-1:000000000000:execution:sm/L:b", "name": "b", "start": 1.0, "stop": 2.0},
        {"index": 2, "input": {"k": 2}, "items": 1, "status": "PENDING"}]}
    host = Recorder(previous)
    exe = Execution(machine(), [{"k": 0}, {"k": 1}, {"k": 2}], host)
    out = asyncio.run(exe.run())
    assert out.status == "SUCCEEDED" and out.output == [{"kept": True}, {"k": 1}, {"k": 2}]
    assert host.calls == [{"k": 1}, {"k": 2}]          # the succeeded child is not run again
    status, info, children = host.runs[-1]
    assert info["redrive_count"] == 1 and children[1]["arn"].endswith(":b")   # same child ARN
    assert [c.get("redrive_count", 0) for c in children] == [0, 1, 0]       # the failed one was redriven
    redriven = [e for e in exe.events if e["type"] == "MapRunRedriven"]
    assert [e["mapRunRedrivenEventDetails"] for e in redriven] == [{"mapRunArn": previous["arn"], "redriveCount": 1}]
    assert not any(e["type"] == "MapRunStarted" for e in exe.events)


def test_the_threshold_counts_failed_items_not_executions():
    # one batch of two items fails: two failed items exceed a tolerance of one
    host = Recorder()
    batcher = {"ItemBatcher": {"MaxItemsPerBatch": 2}, "ToleratedFailureCount": 1}
    d = machine(**batcher)
    d["States"]["M"]["ItemProcessor"]["States"]["T"]["Parameters"] = {"n.$": "$.Items[0]"}
    out = asyncio.run(Execution(d, [1, 1, 3], host).run())
    assert out.error == "States.ExceedToleratedFailureThreshold"
    # ... and two of four items (50%) stay within a 50% tolerance
    d["States"]["M"]["ToleratedFailurePercentage"] = 50
    del d["States"]["M"]["ToleratedFailureCount"]
    assert asyncio.run(Execution(d, [1, 1, 3, 4], Recorder()).run()).status == "SUCCEEDED"


def test_express_children_are_not_stopped_they_run_out():
    async def scenario():
        host = Recorder()
        d = machine()
        d["States"]["M"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] = "EXPRESS"
        task = asyncio.ensure_future(Execution(d, [{"hold": True}, {"n": 1}], host).run())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not task.done()                       # the failed run waits for its EXPRESS child
        host.release.set()
        return host, await asyncio.wait_for(task, 5)

    host, out = asyncio.run(scenario())
    assert out.error == "States.ExceedToleratedFailureThreshold"
    assert [c["status"] for c in host.runs[-1][2]] == ["SUCCEEDED", "FAILED"]
