"""Step Functions benchmarks.

1. Engine transitions per second on one core, no server, no HTTP (the pure engine in
   haneul/services/stepfunctions/asl): a chain of Pass states, a Choice loop, and a Map over
   10,000 items.  A transition is a state entered (each Map iteration's states count); the
   rate is per CPU-second of this process, so other load on the machine does not skew it.
2. StartSyncExecution of a 5-state EXPRESS machine, replayed by wrk at 1, 8 and 64
   connections (the `OPERATIONS` entry below, measured by load.py like any other operation;
   operations.py merges this table, so run.py measures it beside moto and ministack).
3. The engine's share of one HTTP round trip (opt-in, Haneul only, one connection):
   `stepfunctions.StartSyncExecution1` (a 1-state Pass machine) against
   `stepfunctions.DescribeStateMachine` of the same machine (no engine).

    .venv/bin/python benchmarks/ops_stepfunctions.py engine [--seconds 3] [--cpu 0]
    .venv/bin/python benchmarks/ops_stepfunctions.py sync --endpoint http://127.0.0.1:4566 \\
        [--connections 1,8,64] [--duration 5]
    .venv/bin/python benchmarks/run.py --servers haneul --cold-start-runs 0 \\
        --ops stepfunctions.StartSyncExecution1,stepfunctions.DescribeStateMachine
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from operations import Operation  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/bench-sfn"
INPUT_VARIANTS = 8

# Five states of the kinds an API workflow uses: Pass with parameters, Choice, Pass with an
# intrinsic, Pass reshaping the output, Succeed.
SYNC_MACHINE = {
    "StartAt": "Normalize",
    "States": {
        "Normalize": {"Type": "Pass", "Parameters": {"id.$": "$.id", "qty.$": "$.qty"}, "Next": "Route"},
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.qty", "NumericGreaterThan": 5, "Next": "Bulk"}],
                  "Default": "Bulk"},
        "Bulk": {"Type": "Pass", "Parameters": {"id.$": "$.id", "total.$": "States.MathAdd($.qty, 1)"},
                 "Next": "Shape"},
        "Shape": {"Type": "Pass", "Parameters": {"order.$": "$"}, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


# The engine's share of an HTTP round trip: StartSyncExecution of one Pass state against
# DescribeStateMachine of the same machine (one row read, no engine), both at one connection.
ONE_PASS = {"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True}}}


def _express_machine(endpoint, tag: str, definition: dict = SYNC_MACHINE) -> dict:
    sfn = endpoint.client("stepfunctions", inject_host_prefix=False)
    arn = sfn.create_state_machine(name=f"bench-sync-{tag}", definition=json.dumps(definition), roleArn=ROLE,
                                   type="EXPRESS")["stateMachineArn"]
    return {"machine_arn": arn}


def _one_pass_machine(endpoint, tag: str) -> dict:
    return _express_machine(endpoint, f"pass1-{tag}", ONE_PASS)


def _described(body: bytes) -> str | None:
    try:
        out = json.loads(body)
    except ValueError:
        return f"unexpected body: {body[:200]!r}"
    return None if out.get("stateMachineArn") else f"no stateMachineArn in {body[:200]!r}"


def _succeeded(body: bytes) -> str | None:
    try:
        out = json.loads(body)
    except ValueError:
        return f"unexpected body: {body[:200]!r}"
    if out.get("status") != "SUCCEEDED":
        return f"execution {out.get('status')}: {out.get('error')} {out.get('cause')}"
    return None


OPERATIONS: dict[str, Operation] = {
    "stepfunctions.StartSyncExecution": Operation(
        "stepfunctions", "StartSyncExecution",
        lambda ctx, i: {"stateMachineArn": ctx["machine_arn"], "input": json.dumps({"id": f"o-{i}", "qty": i + 3})},
        setup=_express_machine, variants=INPUT_VARIANTS, check=_succeeded,
        # the sync- host prefix would send wrk to a host name that does not resolve
        config={"inject_host_prefix": False},
        description="5-state EXPRESS machine (Pass, Choice, intrinsic), 8 rotating inputs",
    ),
    "stepfunctions.StartSyncExecution1": Operation(
        "stepfunctions", "StartSyncExecution",
        lambda ctx, i: {"stateMachineArn": ctx["machine_arn"], "input": json.dumps({"id": f"o-{i}"})},
        setup=_one_pass_machine, variants=INPUT_VARIANTS, check=_succeeded, config={"inject_host_prefix": False},
        connections=(1,), default=False, servers=("haneul",),
        description="1-state Pass EXPRESS machine: the engine's share, against DescribeStateMachine",
    ),
    "stepfunctions.DescribeStateMachine": Operation(
        "stepfunctions", "DescribeStateMachine", lambda ctx, i: {"stateMachineArn": ctx["machine_arn"]},
        setup=_one_pass_machine, check=_described, connections=(1,), default=False, servers=("haneul",),
        description="the same machine described: a call with no engine, the baseline for StartSyncExecution1",
    ),
}


# --- engine -------------------------------------------------------------------------------------

def pass_chain(length: int = 100) -> dict:
    states = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(length - 1)}
    states[f"P{length - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "P0", "States": states}


def choice_loop(rounds: int = 100) -> dict:
    return {"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericGreaterThanEquals": rounds,
                                                  "Next": "Done"}], "Default": "Step"},
        "Step": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"}}}


def map_over(items: int = 10_000) -> tuple[dict, dict]:
    return ({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}},
        {"items": list(range(items))})


def _run_once(definition: dict, input_) -> tuple[int, float]:
    from haneul.services.stepfunctions.asl.engine import Execution
    from haneul.services.stepfunctions.asl.host import ManualHost
    exe = Execution(definition, input_, ManualHost())
    started = time.process_time()        # CPU time of this process: robust on a shared machine
    outcome = asyncio.run(exe.run())
    elapsed = time.process_time() - started
    if outcome.status != "SUCCEEDED":
        raise RuntimeError(f"benchmark machine {outcome.status}: {outcome.error} {outcome.cause}")
    return sum(1 for e in exe.events if e["type"].endswith("StateEntered")), elapsed


def engine(seconds: float) -> list[dict]:
    cases = [("Pass chain (100 states)", pass_chain(), {"v": 1}),
             ("Choice loop (100 rounds, Choice + Pass with States.MathAdd)", choice_loop(), {"i": 0}),
             ("Map over 10,000 items (inline, Pass)", *map_over())]
    results = []
    for label, definition, input_ in cases:
        _run_once(definition, input_)                   # warm the caches (compiled paths)
        transitions = 0
        spent = 0.0
        runs = 0
        while spent < seconds:
            n, t = _run_once(definition, input_)
            transitions += n
            spent += t
            runs += 1
        results.append({"case": label, "runs": runs, "transitions": transitions,
                        "transitions_per_s": round(transitions / spent), "ms_per_run": round(spent / runs * 1000, 2)})
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    e = sub.add_parser("engine", help="engine transitions/s on one core")
    e.add_argument("--seconds", type=float, default=3.0, help="measured time per case")
    e.add_argument("--cpu", type=int, default=None, help="pin to this CPU (one core)")
    s = sub.add_parser("sync", help="StartSyncExecution through a running server with wrk")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--connections", default="1,8,64")
    s.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.what == "engine":
        if args.cpu is not None:
            os.sched_setaffinity(0, {args.cpu})
        for r in engine(args.seconds):
            print(f"{r['case']:<62} {r['transitions_per_s']:>10,} transitions/s  "
                  f"({r['ms_per_run']} ms a run, {r['runs']} runs)")
        return 0
    import load
    if not load.wrk_available():
        parser.error("wrk is not installed: run benchmarks/peers.sh setup (or apt-get install wrk)")
    levels = tuple(int(c) for c in args.connections.split(","))
    name = "stepfunctions.StartSyncExecution"
    load.measure_operation(args.endpoint, name, OPERATIONS[name], levels, args.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
