"""The interpreter: one execution of a state machine, driven by its host.

    execution = Execution(definition, input, host, context)
    outcome = await execution.run()            # or run(resume=Checkpoint(...))

Every history event goes through `host.event` as it happens (AWS's types, ids and
previousEventId).  Between top-level states the engine calls `host.checkpoint` with what
it needs to resume there after a restart: the state, its input, the variables and the
time it was entered (so a Wait resumes with its remaining time).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from dataclasses import dataclass
from typing import Any

import orjson

from haneul.services.stepfunctions.asl import jsonata_eval
from haneul.services.stepfunctions.asl.errors import StatesError, query_error, runtime
from haneul.services.stepfunctions.asl.host import Host
from haneul.services.stepfunctions.asl.payload import (Scope, apply_path, compact, jsonata_value,
                                                       resolve_reference, result_path, template)

PAYLOAD_LIMIT = 256 * 1024
JSONATA = "JSONata"


@dataclass
class Outcome:
    status: str                      # SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass
class Checkpoint:
    state: str
    state_input: Any
    variables: dict
    entered_at: float
    event_id: int


class Frame:
    """One thread of control: the top level, a Parallel branch or a Map iteration."""

    __slots__ = ("prev", "variables", "map_item", "concurrent", "top", "silent")

    def __init__(self, prev: int, variables: dict, map_item: dict | None = None,
                 concurrent: bool = False, top: bool = False, silent: bool = False):
        self.prev = prev
        self.variables = variables
        self.map_item = map_item
        self.concurrent = concurrent
        self.top = top
        self.silent = silent


def iso(t: float) -> str:
    """2024-01-01T00:00:00.123Z, as datetime.fromtimestamp(t, utc).isoformat(timespec=
    "milliseconds") gives it (microseconds rounded half-even, then truncated), faster."""
    frac, whole = math.modf(t)
    us = round(frac * 1e6)
    if us >= 1_000_000:
        whole += 1
        us -= 1_000_000
    elif us < 0:
        whole -= 1
        us += 1_000_000
    global _iso_second, _iso_prefix
    if whole != _iso_second:      # states entered in the same second share the formatted part
        _iso_prefix = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(whole))
        _iso_second = whole
    return f"{_iso_prefix}.{us // 1000:03d}Z"


_iso_second: float | None = None
_iso_prefix = ""


def size_of(value: Any) -> int:
    return len(compact(value).encode())


class Execution:
    def __init__(self, definition: dict, input_: Any, host: Host | None = None,
                 context: dict | None = None, events: list | None = None):
        self.definition = definition
        self.input = input_
        self.host = host or Host()
        # whether history events are kept (tests and STANDARD executions read them); when
        # not, emit() only numbers them and callers' detail builders are never run
        self.history = getattr(self.host, "history", True)
        self.events: list[dict] = events if events is not None else []
        self.next_id = len(self.events) + 1
        self.query_language = definition.get("QueryLanguage", "JSONPath")
        ctx = context or {}
        self.context_base = {
            "Execution": {"Id": ctx.get("execution_arn", "arn:aws:states:us-east-1:000000000000:execution:sm:exec"),
                          "Input": input_, "StartTime": ctx.get("start_time") or iso(self.host.now()),
                          "Name": ctx.get("execution_name", "exec"),
                          "RoleArn": ctx.get("role_arn", "arn:aws:iam::000000000000:role/service-role"),
                          "RedriveCount": ctx.get("redrive_count", 0)},
            "StateMachine": {"Id": ctx.get("state_machine_arn", "arn:aws:states:us-east-1:000000000000:stateMachine:sm"),
                             "Name": ctx.get("state_machine_name", "sm")},
        }
        self.deadline = None
        if isinstance(definition.get("TimeoutSeconds"), int):
            self.deadline = self.host.now() + definition["TimeoutSeconds"]
        self.stopped: StatesError | None = None

    # -- events ------------------------------------------------------------------------------
    def emit(self, frame: Frame | None, type_: str, details_key: str | None = None,
             details: dict | None = None) -> int:
        if frame is not None and frame.silent:
            return frame.prev
        if not self.history:           # nobody keeps it (EXPRESS): ids only, no payloads
            event_id = self.next_id
            self.next_id += 1
            if frame is not None:
                frame.prev = event_id
            return event_id
        if callable(details):          # built only when the history is kept
            details = details()
        event = {"timestamp": self.host.now(), "type": type_, "id": self.next_id,
                 "previousEventId": frame.prev if frame is not None else max(self.next_id - 1, 0)}
        if details_key:
            event[details_key] = details or {}
        self.next_id += 1
        self.events.append(event)
        if frame is not None:
            frame.prev = event["id"]
        self.host.event(event)
        return event["id"]

    # -- the run -------------------------------------------------------------------------------
    async def run(self, resume: Checkpoint | None = None) -> Outcome:
        variables = dict(resume.variables) if resume else {}
        frame = Frame(prev=resume.event_id - 1 if resume else 0, variables=variables, top=True)
        if resume is None:
            self.emit(frame, "ExecutionStarted", "executionStartedEventDetails", lambda: {
                "input": compact(self.input), "inputDetails": {"truncated": False},
                "roleArn": self.context_base["Execution"]["RoleArn"],
                "stateMachineArn": self.context_base["StateMachine"]["Id"]})
        try:
            coro = self.run_states(frame, self.definition, self.input, resume=resume)
            if self.deadline is not None and self.host.realtime:
                try:
                    output = await asyncio.wait_for(coro, max(self.deadline - self.host.now(), 0))
                except asyncio.TimeoutError:
                    raise StatesError("States.Timeout", None) from None
            else:
                output = await coro
        except StatesError as err:
            if err.error == "States.Timeout" and frame.top and self.deadline is not None \
                    and self.host.now() >= self.deadline - 0.001:
                self.emit(frame, "ExecutionTimedOut", "executionTimedOutEventDetails",
                          {"error": "States.Timeout"})
                return Outcome("TIMED_OUT", error="States.Timeout", cause=err.cause)
            if err.error == "States.Aborted":
                self.emit(frame, "ExecutionAborted", "executionAbortedEventDetails",
                          _drop_none({"error": err.cause}))
                return Outcome("ABORTED", error=err.cause)
            details = _drop_none({"error": err.error, "cause": err.cause})
            self.emit(frame, "ExecutionFailed", "executionFailedEventDetails", details)
            return Outcome("FAILED", error=err.error, cause=err.cause)
        self.emit(frame, "ExecutionSucceeded", "executionSucceededEventDetails",
                  lambda: {"output": compact(output), "outputDetails": {"truncated": False}})
        return Outcome("SUCCEEDED", output=output)

    async def run_states(self, frame: Frame, program: dict, data: Any,
                         resume: Checkpoint | None = None) -> Any:
        """Run a program (the machine, a branch, an item processor) to its end."""
        from haneul.services.stepfunctions.asl.states import run_state
        states = program["States"]
        language = program.get("QueryLanguage", self.query_language)
        name = resume.state if resume else program["StartAt"]
        entered_at = resume.entered_at if resume else None
        first = resume is not None
        while True:
            if self.stopped is not None:
                raise self.stopped
            if self.deadline is not None and self.host.now() >= self.deadline:
                raise StatesError("States.Timeout", None)
            state = states[name]
            if frame.top:
                if not first:
                    entered_at = self.host.now()
                self.host.checkpoint(name, data, frame.variables, entered_at, self.next_id)
            nxt, data = await run_state(self, frame, name, state, data,
                                        state.get("QueryLanguage", language),
                                        entered_at if first else None,
                                        resumed=first and self.next_id - 1 == resume.event_id)
            first = False
            if nxt is None:
                return data
            name = nxt

    # -- helpers shared by the states ----------------------------------------------------------
    def context(self, frame: Frame, name: str, entered: float, extra: dict | None = None) -> dict:
        ctx = {"Execution": self.context_base["Execution"], "StateMachine": self.context_base["StateMachine"],
               "State": {"Name": name, "EnteredTime": iso(entered)}}
        if frame.map_item is not None:
            ctx["Map"] = {"Item": frame.map_item}
        if extra:
            for k, v in extra.items():
                if k == "State":
                    ctx["State"] = {**ctx["State"], **v}
                else:
                    ctx[k] = v
        return ctx

    def check_size(self, name: str, value: Any) -> str | None:
        """The value's compact JSON when the history is kept (reused for its events), else None;
        or States.DataLimitExceeded."""
        if not self.history:
            try:        # orjson's text differs from compact()'s by a few characters at most
                if len(orjson.dumps(value)) <= PAYLOAD_LIMIT // 2:
                    return None
            except (TypeError, orjson.JSONEncodeError):     # huge ints, lone surrogates: measure exactly
                pass
        text = compact(value)
        if len(text) > PAYLOAD_LIMIT // 4 and len(text.encode()) > PAYLOAD_LIMIT:
            raise StatesError("States.DataLimitExceeded",
                              f"The state/task '{name}' returned a result with a size exceeding the "
                              f"maximum number of bytes service limit.")
        return text


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


# -- evaluation in either query language --------------------------------------------------------
class Evaluator:
    """Field evaluation for one state, in its query language."""

    __slots__ = ("jsonata", "scope", "states", "name")

    def __init__(self, language: str, scope: Scope, state_input: Any, name: str):
        self.jsonata = language == JSONATA
        self.scope = scope
        self.name = name
        self.states = {"input": state_input, "context": scope.context} if self.jsonata else None

    def value(self, value: Any, field: str, data: Any = None, allow_undefined: bool = False) -> Any:
        """A JSONata template (any `{% %}` inside), or a JSONPath payload template."""
        if self.jsonata:
            return jsonata_value(value, self.states, self.scope.variables, field, allow_undefined)
        return template(value, data, self.scope, field)

    def reference(self, ref: str, data: Any, field: str) -> Any:
        return resolve_reference(ref, data, self.scope, field)

    def assign(self, assign: dict | None, data: Any, extra_states: dict | None = None) -> dict:
        """Evaluate every Assign value against the state-entry values; the caller applies them."""
        if not assign:
            return {}
        if self.jsonata:
            states = dict(self.states, **(extra_states or {}))
            return jsonata_value(assign, states, self.scope.variables, "Assign")
        out = {}
        for key, value in assign.items():
            if key.endswith(".$") and isinstance(value, str):
                out[key[:-2]] = resolve_reference(value, data, self.scope, key)
            else:
                out[key] = template(value, data, self.scope, "Assign")
        return out


def apply_path_or_input(path_present: bool, path: str | None, data: Any, scope: Scope) -> Any:
    if not path_present:
        return data
    return apply_path(path, data, scope, "InputPath")


__all__ = ["Execution", "Outcome", "Checkpoint", "Frame", "Evaluator", "StatesError", "query_error",
           "runtime", "jsonata_eval", "iso", "size_of"]
