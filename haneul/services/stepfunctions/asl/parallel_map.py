"""Parallel and Map (inline here; distributed as a Map Run, in map_run.py)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from haneul.services.stepfunctions.asl import item_reader, jsonata_eval
from haneul.services.stepfunctions.asl.engine import Evaluator, Execution, Frame
from haneul.services.stepfunctions.asl.errors import StatesError, query_error, runtime
from haneul.services.stepfunctions.asl.map_run import MapRun
from haneul.services.stepfunctions.asl.payload import compact, jsonata_value
from haneul.services.stepfunctions.asl.states import effective_input


def _tag_started(err: StatesError) -> StatesError:
    err._started = True
    return err


async def run_parallel(exe: Execution, frame: Frame, name: str, state: dict, data: Any,
                       ev: Evaluator, retry_count: int) -> Any:
    if ev.jsonata:
        branch_input = ev.value(state["Arguments"], "Arguments") if "Arguments" in state else data
    else:
        branch_input = effective_input(state, data, ev)
    started = exe.emit(frame, "ParallelStateStarted")
    frames = [Frame(prev=started, variables=dict(frame.variables), concurrent=True,
                    silent=frame.silent) for _ in state["Branches"]]
    tasks = [asyncio.ensure_future(exe.run_states(f, b, branch_input))
             for f, b in zip(frames, state["Branches"])]
    try:
        results = await asyncio.gather(*tasks)
    except StatesError as err:
        for t in tasks:
            t.cancel()
        frame.prev = max(f.prev for f in frames)
        raise
    frame.prev = max(f.prev for f in frames)
    return list(results)


def _int_field(state: dict, key: str, data: Any, ev: Evaluator, kind: str = "integer") -> Any:
    if key in state:
        value = state[key]
        if ev.jsonata and isinstance(value, str):
            value = ev.value(value, key)
        return value
    if key + "Path" in state:
        path = state[key + "Path"]
        value = ev.reference(path, data, key + "Path")
        ok = (isinstance(value, int) and not isinstance(value, bool)) if kind == "integer" else \
            (isinstance(value, (int, float)) and not isinstance(value, bool))
        if not ok:
            shown = value if isinstance(value, str) else compact(value)
            raise runtime(f'The {key}Path field refers to value "{shown}" which is not a valid {kind}: {path}')
        return value
    return None


def _items(state: dict, data: Any, ev: Evaluator) -> list:
    if ev.jsonata:
        if "Items" in state:
            raw = state["Items"]
            if isinstance(raw, str) and jsonata_eval.is_expression(raw):
                text = jsonata_eval.expression_text(raw)
                value = jsonata_eval.evaluate(text, ev.states, ev.scope.variables, "Items")
                if value is jsonata_eval.UNDEFINED:
                    raise query_error(f"The JSONata expression '{text}' specified for the field 'Items' "
                                      f"returned nothing (undefined).")
                if not isinstance(value, list):
                    raise query_error(f"The JSONata expression '{text}' specified for the field 'Items' "
                                      f"returned an unexpected result type. Expected 'array', but was "
                                      f"'{_type(value)}' for value: {compact(value)}")
                return value
            value = jsonata_value(raw, ev.states, ev.scope.variables, "Items")
        else:
            value = data
        if not isinstance(value, list):
            raise query_error(f"Map state input must be an array but was: {compact(value)}")
        return value
    eff = effective_input(state, data, ev, params_field="__none__")
    if "ItemsPath" in state:
        value = ev.reference(state["ItemsPath"], eff, "ItemsPath")
    else:
        value = eff
    if not isinstance(value, list):
        raise runtime(f"Map state input must be an array but was: {compact(value)}")
    return value


def _type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


async def run_map(exe: Execution, frame: Frame, name: str, state: dict, data: Any, ev: Evaluator,
                  retry_count: int) -> Any:
    processor = state.get("ItemProcessor") or state.get("Iterator")
    config = processor.get("ProcessorConfig", {}) if processor else {}
    distributed = config.get("Mode") == "DISTRIBUTED"
    try:
        if "ItemReader" in state:
            items = await item_reader.read_items(exe, name, state, data, ev)
        else:
            items = _items(state, data, ev)
    except StatesError as err:
        err._map_items = True
        raise
    eff = effective_input(state, data, ev, params_field="__none__") if not ev.jsonata else data
    max_conc = _int_field(state, "MaxConcurrency", eff, ev) or 0
    selector = state.get("ItemSelector", state.get("Parameters"))
    batcher = state.get("ItemBatcher")
    inputs = []
    for index, item in enumerate(items):
        if selector is not None:
            ctx = dict(ev.scope.context, Map={"Item": {"Index": index, "Value": item}})
            from haneul.services.stepfunctions.asl.payload import Scope
            sub = Evaluator("JSONata" if ev.jsonata else "JSONPath", Scope(ctx, ev.scope.variables), data, name)
            if ev.jsonata:
                sub.states = dict(ev.states, context=ctx)
            inputs.append(sub.value(selector, "ItemSelector", data=eff))
        else:
            inputs.append(item)
    sizes = [1] * len(inputs)
    if batcher is not None:
        size = batcher.get("MaxItemsPerBatch") or len(inputs) or 1
        sizes = [min(size, len(inputs) - i) for i in range(0, len(inputs), size)]
        batch_input = batcher.get("BatchInput")
        inputs = [dict({"Items": inputs[i:i + size]}, **({"BatchInput": batch_input} if batch_input else {}))
                  for i in range(0, len(inputs), size)]
    started = exe.emit(frame, "MapStateStarted", "mapStateStartedEventDetails", {"length": len(inputs)})
    tolerated_count = _int_field(state, "ToleratedFailureCount", eff, ev)
    tolerated_pct = _int_field(state, "ToleratedFailurePercentage", eff, ev, kind="float")
    if tolerated_pct is not None and not 0 <= tolerated_pct <= 100:
        raise runtime("ToleratedFailurePercentage must be between 0 and 100.")
    if tolerated_count is not None and tolerated_count < 0:
        raise runtime("ToleratedFailureCount cannot be negative.")
    if distributed:
        kind = "JSONata" if ev.jsonata else "JSONPath"
        settings = {"max_concurrency": max_conc, "tolerated_count": tolerated_count,
                    "tolerated_pct": tolerated_pct}
        return await MapRun(exe, frame, name, state, processor, inputs, sizes, kind, settings, data, ev).run()
    sem = asyncio.Semaphore(max_conc) if max_conc else None
    results: list = [None] * len(inputs)
    frames = []

    async def one(index: int, value: Any):
        if sem is not None:
            await sem.acquire()
        try:
            sub = Frame(prev=started, variables=dict(frame.variables),
                        map_item={"Index": index, "Value": items[index] if batcher is None else value},
                        concurrent=True, silent=frame.silent)
            frames.append(sub)
            if not sub.silent:
                exe.emit(sub, "MapIterationStarted", "mapIterationStartedEventDetails",
                         {"name": name, "index": index})
            try:
                results[index] = await exe.run_states(sub, processor, value)
            except StatesError:
                if not sub.silent:
                    exe.emit(sub, "MapIterationFailed", "mapIterationFailedEventDetails",
                             {"name": name, "index": index})
                raise
            if not sub.silent:
                exe.emit(sub, "MapIterationSucceeded", "mapIterationSucceededEventDetails",
                         {"name": name, "index": index})
        finally:
            if sem is not None:
                sem.release()

    tasks = [asyncio.ensure_future(one(i, v)) for i, v in enumerate(inputs)]
    try:
        await asyncio.gather(*tasks)
    except StatesError:
        for t in tasks:
            t.cancel()
        if frames:
            frame.prev = max(f.prev for f in frames)
        raise
    if frames:
        frame.prev = max(f.prev for f in frames)
    exe.emit(frame, "MapStateSucceeded")
    return results


__all__ = ["run_parallel", "run_map", "math"]
