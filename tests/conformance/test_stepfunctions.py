"""Step Functions conformance: the shared cases recorded against AWS (../shared/conformance),
run on the engine with a manual clock; validation cases through the validator.
Prints passed/failed counts per corpus; skips when the corpus is absent."""

import asyncio
import json

import pytest

from haneul.services.stepfunctions.asl import validation
from haneul.services.stepfunctions.asl.engine import Execution
from haneul.services.stepfunctions.asl.errors import DefinitionError
from haneul.services.stepfunctions.asl.host import ManualHost
from tests.conformance.sfn_cases import corpus, load, matches

CTX = {"execution_arn": "arn:aws:states:us-east-1:111111111111:execution:machine:run",
       "state_machine_arn": "arn:aws:states:us-east-1:111111111111:stateMachine:machine",
       "execution_name": "run", "state_machine_name": "machine"}


def run_case(case) -> list[str]:
    text = case.get("input_json_text")
    input_ = json.loads(text) if text else case.get("input", {})
    exe = Execution(case["definition"], input_, ManualHost(), CTX)
    out = asyncio.run(exe.run())
    exp = case["expected"]
    problems = []
    if out.status != exp["status"]:
        problems.append(f"status {out.status} != {exp['status']} ({out.error}: {out.cause})")
    elif out.status == "SUCCEEDED" and not matches(exp["output"], out.output):
        problems.append(f"output {out.output!r} != {exp['output']!r}")
    elif out.status != "SUCCEEDED" and not (matches(exp["error"], out.error) and matches(exp["cause"], out.cause)):
        problems.append(f"error {out.error}: {out.cause} != {exp['error']}: {exp['cause']}")
    types = [e["type"] for e in exe.events]
    if case.get("expected_history_event_types") and case["expected_history_event_types"] != types:
        problems.append(f"history {types} != {case['expected_history_event_types']}")
    return problems


def validation_case(case) -> list[str]:
    exp = case["expected"]
    kind = (case.get("request") or {}).get("type", "STANDARD")
    if case["api"] == "ValidateStateMachineDefinition":
        diags = validation.diagnose(case["definition_text"], kind)
        got = {"diagnostics": diags, "result": "FAIL" if diags else "OK", "truncated": False}
        return [] if got == exp else [f"{got} != {exp}"]
    try:
        validation.check(case["definition_text"], kind)
        got = None
    except DefinitionError as err:
        got = err.message
    return [] if got == exp["message"] else [f"{got!r} != {exp['message']!r}"]


def _run_corpus(name, fn):
    cases = corpus(name)
    if not cases:
        pytest.skip(f"conformance corpus {name} not found")
    failed = []
    for path in cases:
        try:
            problems = fn(load(path))
        except Exception as err:  # a crash is a failure of that case, not of the run
            problems = [f"crashed: {err!r}"]
        if problems:
            failed.append((path.name, problems))
    print(f"\n[conformance] {name}: passed {len(cases) - len(failed)}, failed {len(failed)}")
    for name_, problems in failed[:20]:
        print(f"  FAIL {name_}: {problems[0][:300]}")
    return failed


def test_stepfunctions_corpus():
    assert not _run_corpus("stepfunctions", run_case)


def test_stepfunctions_validation_corpus():
    assert not _run_corpus("stepfunctions-validation", validation_case)
