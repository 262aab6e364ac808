"""The Task state: one attempt, its timeouts and its history events; the host does the work."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

from haneul.services.stepfunctions.asl.engine import Evaluator, Execution, Frame
from haneul.services.stepfunctions.asl.errors import StatesError, runtime
from haneul.services.stepfunctions.asl.host import TaskCall
from haneul.services.stepfunctions.asl.payload import compact
from haneul.services.stepfunctions.asl.states import effective_input


DEFAULT_TIMEOUT = 99999999      # seconds: a Task's TimeoutSeconds when it names none


@lru_cache(maxsize=1024)
def resource_parts(resource: str) -> tuple[str, str]:
    """AWS's (resourceType, resource) for history: 'arn:aws:states:::sqs:sendMessage' ->
    ('sqs', 'sendMessage'); an aws-sdk task -> ('aws-sdk:s3', 'listBuckets')."""
    parts = resource.split(":")
    if len(parts) >= 7 and parts[2] == "states" and parts[3] == "" and parts[4] == "":
        rest = parts[5:]
        if rest[0] == "aws-sdk" and len(rest) >= 3:
            return f"aws-sdk:{rest[1]}", ":".join(rest[2:])
        return rest[0], ":".join(rest[1:])
    if len(parts) >= 6 and parts[2] == "lambda":
        return "lambda", "invoke"
    if len(parts) >= 6 and parts[2] == "states" and parts[5] == "activity":
        return "activity", resource
    return "unknown", resource


def _seconds(state: dict, key: str, data: Any, ev: Evaluator) -> float | None:
    if key in state:
        value = ev.value(state[key], key) if ev.jsonata else state[key]
    elif key + "Path" in state:
        value = ev.reference(state[key + "Path"], data, key + "Path")
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise runtime(f"The {key} value must be a positive integer: {compact(value)}")
    return value


async def run_task(exe: Execution, frame: Frame, name: str, state: dict, data: Any, ev: Evaluator,
                   retry_count: int) -> Any:
    resource = state["Resource"]
    if ev.jsonata and isinstance(resource, str) and resource.startswith("{%"):
        resource = ev.value(resource, "Resource")
    ctx = ev.scope.context
    ctx["State"] = {**ctx["State"], "RetryCount": retry_count}
    token = None
    if resource.endswith(".waitForTaskToken"):
        token = exe.host.new_token()
        ctx["Task"] = {"Token": token}
    if ev.jsonata:
        params = ev.value(state["Arguments"], "Arguments") if "Arguments" in state else None
        if params is None and "Arguments" not in state:
            params = {}
    else:
        params = effective_input(state, data, ev)
    timeout = _seconds(state, "TimeoutSeconds", data, ev)
    if timeout is None and ":activity:" not in resource:
        timeout = DEFAULT_TIMEOUT
    heartbeat = _seconds(state, "HeartbeatSeconds", data, ev)
    kind, short = resource_parts(resource)
    activity = kind == "activity"
    # a function ARN as the Resource: AWS records LambdaFunction* events, not Task* events
    function = kind == "lambda" and resource.split(":")[2] == "lambda"
    if function:
        exe.emit(frame, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", _strip({
            "resource": resource, "input": compact(params), "inputDetails": {"truncated": False},
            "timeoutInSeconds": timeout if "TimeoutSeconds" in state or "TimeoutSecondsPath" in state else None}))
        exe.emit(frame, "LambdaFunctionStarted")
    elif activity:
        exe.emit(frame, "ActivityScheduled", "activityScheduledEventDetails", _strip({
            "resource": resource, "input": compact(params), "inputDetails": {"truncated": False},
            "timeoutInSeconds": timeout, "heartbeatInSeconds": heartbeat}))
    else:
        exe.emit(frame, "TaskScheduled", "taskScheduledEventDetails", lambda: _strip({
            "resourceType": kind, "resource": short, "region": ctx["StateMachine"]["Id"].split(":")[3],
            "parameters": compact(params), "timeoutInSeconds": timeout if "TimeoutSeconds" in state
            or "TimeoutSecondsPath" in state else None, "heartbeatInSeconds": heartbeat}))
        exe.emit(frame, "TaskStarted", "taskStartedEventDetails", {"resourceType": kind, "resource": short})
    call = TaskCall(resource=resource, parameters=params, state_name=name, timeout=timeout,
                    heartbeat=heartbeat, token=token, credentials=state.get("Credentials"),
                    context=ctx)
    call.on_started = (lambda worker: exe.emit(frame, "ActivityStarted", "activityStartedEventDetails",
                                                _strip({"workerName": worker}))) if activity else None
    try:
        pending = exe.host.call_task(call)
        # AWS's default task timeout is ~3 years: no timer is armed for it (one per task costs)
        if exe.host.realtime and timeout is not None and timeout < DEFAULT_TIMEOUT:
            try:
                result = await _within(pending, timeout)
            except asyncio.TimeoutError:
                raise StatesError("States.Timeout", None) from None
        else:
            result = await pending
    except StatesError as err:
        if err.runtime:
            raise
        if function:
            timed_out = err.error in ("States.Timeout", "States.HeartbeatTimeout")
            exe.emit(frame, "LambdaFunctionTimedOut" if timed_out else "LambdaFunctionFailed",
                     "lambdaFunctionTimedOutEventDetails" if timed_out else "lambdaFunctionFailedEventDetails",
                     _strip({"error": err.error, "cause": err.cause}))
        elif err.error in ("States.Timeout", "States.HeartbeatTimeout"):
            exe.emit(frame, "ActivityTimedOut" if activity else "TaskTimedOut",
                     "activityTimedOutEventDetails" if activity else "taskTimedOutEventDetails",
                     _strip({"resourceType": None if activity else kind,
                             "resource": None if activity else short,
                             "error": err.error, "cause": err.cause}))
        elif activity:
            exe.emit(frame, "ActivityFailed", "activityFailedEventDetails",
                     _strip({"error": err.error, "cause": err.cause}))
        else:
            exe.emit(frame, "TaskFailed", "taskFailedEventDetails",
                     _strip({"resourceType": kind, "resource": short, "error": err.error, "cause": err.cause}))
        raise
    text = exe.check_size(name, result)
    if function:
        exe.emit(frame, "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails",
                 {"output": text, "outputDetails": {"truncated": False}})
    elif activity:
        exe.emit(frame, "ActivitySucceeded", "activitySucceededEventDetails",
                 {"output": text, "outputDetails": {"truncated": False}})
    else:
        exe.emit(frame, "TaskSucceeded", "taskSucceededEventDetails",
                 {"resourceType": kind, "resource": short, "output": text,
                  "outputDetails": {"truncated": False}})
    return result


def _strip(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


_timeout = getattr(asyncio, "timeout", None)


async def _within(awaitable, seconds: float):
    """`await awaitable`, or asyncio.TimeoutError after `seconds`.  asyncio.timeout (3.11+)
    runs it in the current task; wait_for would start a task per call."""
    if _timeout is None:
        return await asyncio.wait_for(awaitable, seconds)
    async with _timeout(seconds):
        return await awaitable
