"""One state from entry to exit: input processing, the state's work with Retry and Catch,
output processing, Assign, and the history events around it."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from haneul.services.stepfunctions.asl import jsonata_eval
from haneul.services.stepfunctions.asl.choice import evaluate_rule, parse_timestamp
from haneul.services.stepfunctions.asl.engine import (JSONATA, Evaluator, Execution, Frame, iso)
from haneul.services.stepfunctions.asl.errors import StatesError, query_error, runtime
from haneul.services.stepfunctions.asl.payload import Scope, apply_path, compact, result_path

_NO_EXIT = {"Fail"}


def error_matches(names: list[str], error: str | None) -> bool:
    err = error or ""
    for name in names:
        if name == err:
            return True
        if name == "States.ALL" and err not in ("States.Runtime", "States.DataLimitExceeded"):
            return True
        if name == "States.TaskFailed" and err not in ("States.Timeout", "States.Runtime",
                                                        "States.DataLimitExceeded"):
            return True
    return False


async def run_state(exe: Execution, frame: Frame, name: str, state: dict, data: Any, language: str,
                    entered_at: float | None, resumed: bool = False) -> tuple[str | None, Any]:
    kind = state["Type"]
    if entered_at is None:
        entered_at = exe.host.now()
    if resumed:   # the Entered event was committed before the crash: it is the last one
        entered_id = frame.prev = exe.next_id - 1
    else:
        entered_id = exe.emit(frame, f"{kind}StateEntered", "stateEnteredEventDetails",
                              lambda: {"name": name, "input": compact(data), "inputDetails": {"truncated": False}})
    if frame.concurrent:
        await asyncio.sleep(0)
    extra = {"State": {"RetryCount": 0}} if kind == "Task" else None
    scope = Scope(exe.context(frame, name, entered_at, extra), frame.variables)
    ev = Evaluator(language, scope, data, name)
    try:
        nxt, output, assigned = await _dispatch(exe, frame, name, state, data, ev, kind, entered_at)
        output_text = exe.check_size(name, output)
    except StatesError as err:
        if err.runtime:
            err.cause = (f"An error occurred while executing the state '{name}' (entered at the event "
                         f"id #{entered_id}). {err.cause}")
            err.runtime = False
            if err.error == "States.QueryEvaluationError":
                exe.emit(frame, "EvaluationFailed", "evaluationFailedEventDetails",
                         {"error": err.error, "cause": err.cause, "state": name})
                if kind == "Map" and getattr(err, "_map_items", False):
                    exe.emit(frame, "MapStateFailed")
        raise
    if assigned:
        frame.variables.update(assigned)
    # AWS records no Exited event for a Parallel state that ends a Parallel branch
    quirk = kind == "Parallel" and frame.concurrent and nxt is None and not frame.map_item
    if kind not in _NO_EXIT and not quirk:
        exe.emit(frame, f"{kind}StateExited", "stateExitedEventDetails",
                 lambda: {"name": name, "output": output_text, "outputDetails": {"truncated": False}})
    return nxt, output


def _next(state: dict) -> str | None:
    return None if state.get("End") else state.get("Next")


async def _dispatch(exe, frame, name, state, data, ev: Evaluator, kind, entered_at):
    if kind == "Pass":
        return _pass(exe, state, data, ev)
    if kind == "Choice":
        return _choice(state, data, ev)
    if kind == "Succeed":
        return _succeed(state, data, ev)
    if kind == "Fail":
        _fail(state, data, ev)
    if kind == "Wait":
        return await _wait(exe, state, data, ev, entered_at)
    from haneul.services.stepfunctions.asl import parallel_map, task
    if kind == "Task":
        runner = task.run_task
    elif kind == "Parallel":
        runner = parallel_map.run_parallel
    elif kind == "Map":
        runner = parallel_map.run_map
    else:
        raise runtime(f"Unsupported state type {kind}")
    return await with_retry_catch(exe, frame, name, state, data, ev, runner)


# -- simple states -------------------------------------------------------------------------------
def finish(state: dict, raw_input: Any, result: Any, ev: Evaluator, effective: Any = None,
           default_output: Any = None, output_default_is_result: bool = True):
    """Output processing and Assign for a state that produced `result`."""
    if ev.jsonata:
        states_extra = {"result": result}
        assigned = ev.assign(state.get("Assign"), None, states_extra)
        if "Output" in state:
            states = dict(ev.states, result=result)
            output = jsonata_value_states(state["Output"], states, ev, "Output")
        else:
            output = result if output_default_is_result else default_output
        return output, assigned
    if "ResultSelector" in state:
        result = ev.value(state["ResultSelector"], "ResultSelector", data=result)
    assigned = ev.assign(state.get("Assign"), result)
    out = result_path(state.get("ResultPath", "$"), raw_input, result) if "ResultPath" not in state or \
        state["ResultPath"] is not None else raw_input
    if "OutputPath" in state:
        out = apply_path(state["OutputPath"], out, ev.scope, "OutputPath")
    return out, assigned


def jsonata_value_states(value, states, ev: Evaluator, field):
    from haneul.services.stepfunctions.asl.payload import jsonata_value
    return jsonata_value(value, states, ev.scope.variables, field)


def effective_input(state: dict, data: Any, ev: Evaluator, params_field: str = "Parameters") -> Any:
    if ev.jsonata:
        return data
    eff = data
    if "InputPath" in state:
        eff = apply_path(state["InputPath"], data, ev.scope, "InputPath")
    if params_field in state:
        eff = ev.value(state[params_field], params_field, data=eff)
    return eff


def _pass(exe, state, data, ev: Evaluator):
    if ev.jsonata:
        out, assigned = finish(state, data, data, ev, output_default_is_result=True)
        return _next(state), out, assigned
    eff = effective_input(state, data, ev)
    result = state["Result"] if "Result" in state else eff
    assigned = ev.assign(state.get("Assign"), result)
    out = result_path(state.get("ResultPath", "$"), data, result) if state.get("ResultPath", "$") is not None \
        else data
    if "OutputPath" in state:
        out = apply_path(state["OutputPath"], out, ev.scope, "OutputPath")
    return _next(state), out, assigned


def _succeed(state, data, ev: Evaluator):
    if ev.jsonata:
        out, assigned = finish(state, data, data, ev)
        return None, out, assigned
    eff = data
    if "InputPath" in state:
        eff = apply_path(state["InputPath"], data, ev.scope, "InputPath")
    if "OutputPath" in state:
        eff = apply_path(state["OutputPath"], eff, ev.scope, "OutputPath")
    return None, eff, {}


def _choice(state, data, ev: Evaluator):
    if ev.jsonata:
        for rule in state.get("Choices", []):
            cond = ev.value(rule.get("Condition"), "Condition")
            if not isinstance(cond, bool):
                raise query_error(f"The JSONata expression specified for the field 'Condition' returned "
                                  f"a non-boolean value: {compact(cond)}")
            if cond:
                return _choice_exit(rule, state, data, ev)
        if "Default" not in state:
            raise StatesError("States.NoChoiceMatched", "No Matches!")
        return _choice_exit(None, state, data, ev)
    eff = data
    if "InputPath" in state:
        eff = apply_path(state["InputPath"], data, ev.scope, "InputPath")
    for rule in state.get("Choices", []):
        if evaluate_rule(rule, eff, ev.scope):
            return _choice_exit(rule, state, eff, ev)
    if "Default" not in state:
        raise StatesError("States.NoChoiceMatched", "No Matches!")
    return _choice_exit(None, state, eff, ev)


def _choice_exit(rule, state, data, ev: Evaluator):
    source = rule if rule is not None else state
    nxt = rule["Next"] if rule is not None else state["Default"]
    assigned = ev.assign(source.get("Assign"), data)
    if ev.jsonata:
        out = ev.value(source["Output"], "Output") if "Output" in source else data
        return nxt, out, assigned
    out = data
    if "OutputPath" in state:
        out = apply_path(state["OutputPath"], data, ev.scope, "OutputPath")
    return nxt, out, assigned


def _fail(state, data, ev: Evaluator):
    error = cause = None
    if ev.jsonata:
        if "Error" in state:
            error = ev.value(state["Error"], "Error")
        if "Cause" in state:
            cause = ev.value(state["Cause"], "Cause")
    else:
        error = state.get("Error")
        cause = state.get("Cause")
        if "ErrorPath" in state:
            error = ev.reference(state["ErrorPath"], data, "ErrorPath")
        if "CausePath" in state:
            cause = ev.reference(state["CausePath"], data, "CausePath")
    if error is not None and not isinstance(error, str):
        error = compact(error)
    if cause is not None and not isinstance(cause, str):
        cause = compact(cause)
    raise StatesError(error, cause)


async def _wait(exe: Execution, state, data, ev: Evaluator, entered_at: float):
    eff = data
    if not ev.jsonata and "InputPath" in state:
        eff = apply_path(state["InputPath"], data, ev.scope, "InputPath")
    until = None
    if "Seconds" in state:
        seconds = ev.value(state["Seconds"], "Seconds") if ev.jsonata else state["Seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise runtime(f"The Seconds parameter must be a non-negative integer: {compact(seconds)}")
        until = entered_at + seconds
    elif "SecondsPath" in state:
        path = state["SecondsPath"]
        try:
            seconds = ev.reference(path, eff, "SecondsPath")
        except StatesError:
            raise runtime(f"The SecondsPath parameter does not reference an input value: {path}") from None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or \
                (isinstance(seconds, float) and not seconds.is_integer()):
            raise runtime(f"The SecondsPath parameter cannot be parsed as a long value: {path} == "
                          f"{compact(seconds)}")
        if seconds < 0:
            raise runtime(f"The SecondsPath parameter references a negative value: {path} == {compact(seconds)}")
        until = entered_at + seconds
    elif "Timestamp" in state or "TimestampPath" in state:
        if "Timestamp" in state:
            ts = ev.value(state["Timestamp"], "Timestamp") if ev.jsonata else state["Timestamp"]
        else:
            try:
                ts = ev.reference(state["TimestampPath"], eff, "TimestampPath")
            except StatesError:
                raise runtime(f"The TimestampPath parameter does not reference an input value: "
                              f"{state['TimestampPath']}") from None
        parsed = parse_timestamp(ts)
        if parsed is None:
            field = "Timestamp" if "Timestamp" in state else "TimestampPath"
            raise runtime(f"The {field} parameter does not reference a valid ISO-8601 extended offset "
                          f"date-time format string: {compact(ts)}")
        until = parsed.timestamp()
    if until is not None:
        await exe_sleep(exe, until)
    if ev.jsonata:
        out, assigned = finish(state, data, data, ev)
        return _next(state), out, assigned
    assigned = ev.assign(state.get("Assign"), eff)
    out = eff
    if "OutputPath" in state:
        out = apply_path(state["OutputPath"], eff, ev.scope, "OutputPath")
    return _next(state), out, assigned


async def exe_sleep(exe: Execution, until: float) -> None:
    if exe.deadline is not None and until > exe.deadline:
        await exe.host.sleep_until(exe.deadline)
        raise StatesError("States.Timeout", None)
    await exe.host.sleep_until(until)


# -- Retry and Catch -------------------------------------------------------------------------------
def retry_delay(retrier: dict, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before retry number `attempt` (1-based), with BackoffRate, MaxDelaySeconds
    and JitterStrategy FULL (uniform between 0 and the delay)."""
    interval = retrier.get("IntervalSeconds", 1)
    backoff = retrier.get("BackoffRate", 2.0)
    delay = interval * (backoff ** (attempt - 1))
    if "MaxDelaySeconds" in retrier:
        delay = min(delay, retrier["MaxDelaySeconds"])
    if retrier.get("JitterStrategy") == "FULL":
        delay = (rng or random).uniform(0, delay)
    return delay


async def with_retry_catch(exe: Execution, frame: Frame, name: str, state: dict, data: Any,
                           ev: Evaluator, runner):
    attempts: dict[int, int] = {}
    retry_count = 0
    while True:
        try:
            result = await runner(exe, frame, name, state, data, ev, retry_count)
            if isinstance(result, tuple):
                return result
            out, assigned = finish(state, data, result, ev)
            return _next(state), out, assigned
        except StatesError as err:
            if err.runtime or err.error in ("States.Runtime", "States.Aborted"):
                raise
            retrier_index = None
            for i, retrier in enumerate(state.get("Retry", [])):
                if error_matches(retrier.get("ErrorEquals", []), err.error):
                    retrier_index = i
                    break
            if retrier_index is not None:
                retrier = state["Retry"][retrier_index]
                used = attempts.get(retrier_index, 0)
                if used < retrier.get("MaxAttempts", 3):
                    attempts[retrier_index] = used + 1
                    retry_count += 1
                    await exe_sleep(exe, exe.host.now() + retry_delay(retrier, used + 1))
                    continue
            if state["Type"] in ("Map", "Parallel") and not getattr(err, "_failed_event", False):
                exe.emit(frame, f"{state['Type']}StateFailed")
            for catcher in state.get("Catch", []):
                if error_matches(catcher.get("ErrorEquals", []), err.error):
                    return _caught(exe, state, catcher, data, ev, err)
            raise


def _caught(exe, state, catcher, data, ev: Evaluator, err: StatesError):
    error_output = {"Error": err.error, "Cause": err.cause}
    if err.error is None:
        error_output = {}
        if err.cause is not None:
            error_output["Cause"] = err.cause
    elif err.cause is None:
        error_output = {"Error": err.error}
    if ev.jsonata:
        states = {"errorOutput": error_output}
        assigned = ev.assign(catcher.get("Assign"), None, states)
        if "Output" in catcher:
            out = jsonata_value_states(catcher["Output"], dict(ev.states, **states), ev, "Output")
        else:
            out = error_output
        return catcher["Next"], out, assigned
    assigned = ev.assign(catcher.get("Assign"), error_output)
    rp = catcher.get("ResultPath", "$")
    out = result_path(rp, data, error_output) if rp is not None else data
    return catcher["Next"], out, assigned


__all__ = ["run_state", "retry_delay", "with_retry_catch", "finish", "effective_input",
           "error_matches", "iso", "JSONATA", "jsonata_eval"]
