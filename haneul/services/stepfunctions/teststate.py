"""TestState: run one state (or a one-state definition) on a manual clock and report it."""

from __future__ import annotations

import json

from haneul.errors import AwsError
from haneul.services.stepfunctions.asl.engine import Execution, Frame
from haneul.services.stepfunctions.asl.errors import StatesError
from haneul.services.stepfunctions.asl.host import ManualHost
from haneul.services.stepfunctions.asl.states import run_state
from haneul.services.stepfunctions.executions import _parse_input


async def run_test_state(ctx, request) -> dict:
    try:
        definition = json.loads(request["definition"])
    except (ValueError, RecursionError):      # RecursionError: nesting deeper than the parser's stack
        definition = None
    if not isinstance(definition, dict):
        raise AwsError("InvalidDefinition", "Invalid State Machine Definition: 'Definition must be a valid JSON "
                                            "object'")
    if "States" in definition:
        name = request.get("stateName") or definition.get("StartAt")
        states = definition["States"]
        state = states.get(name) if isinstance(states, dict) and isinstance(name, str) else None
        language = definition.get("QueryLanguage", "JSONPath")
    else:
        name, state, language = request.get("stateName") or "TestState", definition, "JSONPath"
    if not isinstance(state, dict) or "Type" not in state:
        raise AwsError("InvalidDefinition", "Invalid State Machine Definition: 'The state to test was not found'")
    input_ = _parse_input(request.get("input") or "{}")
    variables = _parse_input(request.get("variables") or "{}")
    if not isinstance(variables, dict):
        raise AwsError("InvalidExecutionInput", "Invalid State Machine Execution Input: 'variables must be a JSON "
                                                "object'")
    exe = Execution({"StartAt": name, "States": {name: state}, "QueryLanguage": language}, input_, ManualHost(ctx.now()))
    frame = Frame(prev=0, variables=dict(variables))
    out: dict = {}
    try:
        nxt, output = await run_state(exe, frame, name, state, input_, state.get("QueryLanguage", language), None)
        out.update(status="SUCCEEDED", output=json.dumps(output, separators=(",", ":")))
        if nxt:
            out["nextState"] = nxt
    except StatesError as err:
        out["status"] = "FAILED"
        if err.error is not None:
            out["error"] = err.error
        if err.cause is not None:
            out["cause"] = err.cause
    level = request.get("inspectionLevel", "INFO")
    if level in ("DEBUG", "TRACE"):
        out["inspectionData"] = {"input": json.dumps(input_, separators=(",", ":")),
                                 "variables": json.dumps(frame.variables, separators=(",", ":"))}
    return out
