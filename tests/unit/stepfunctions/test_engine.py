"""The States Language engine on its own: no server, a manual clock."""

import asyncio

import pytest

from haneul.services.stepfunctions.asl.engine import Checkpoint, Execution
from haneul.services.stepfunctions.asl.errors import StatesError
from haneul.services.stepfunctions.asl.host import ManualHost
from haneul.services.stepfunctions.asl.states import retry_delay


def run(definition, input_=None, host=None, **kw):
    exe = Execution(definition, {} if input_ is None else input_, host or ManualHost(), **kw)
    return exe, asyncio.run(exe.run())


def test_pass_chain_and_history_ids():
    d = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
                                    "B": {"Type": "Pass", "End": True}}}
    exe, out = run(d, {"x": 1})
    assert out.status == "SUCCEEDED" and out.output == {"x": 1, "a": 1}
    assert [e["id"] for e in exe.events] == [1, 2, 3, 4, 5, 6]
    assert [e["previousEventId"] for e in exe.events] == [0, 1, 2, 3, 4, 5]


def test_wait_costs_no_real_time_and_uses_the_host_clock():
    host = ManualHost()
    d = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    _, out = run(d, host=host)
    assert out.status == "SUCCEEDED" and host.slept == [3600]


def test_retry_backoff_with_max_delay_on_the_manual_clock():
    calls = []

    def flaky(call):
        calls.append(call)
        if len(calls) < 4:
            return StatesError("Flaky", "try again")
        return {"ok": True}

    host = ManualHost(tasks={"arn:aws:states:::sqs:sendMessage": flaky})
    d = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True,
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 5,
                   "MaxDelaySeconds": 10}]}}}
    _, out = run(d, host=host)
    assert out.status == "SUCCEEDED" and out.output == {"ok": True}
    assert host.slept == [2, 6, 10]


def test_full_jitter_stays_below_the_delay():
    import random
    r = {"IntervalSeconds": 4, "BackoffRate": 2, "JitterStrategy": "FULL"}
    assert all(0 <= retry_delay(r, 3, random.Random(i)) <= 16 for i in range(50))


def test_catch_assign_and_result_path():
    d = {"StartAt": "F", "States": {
        "F": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Fail", "Error": "E", "Cause": "c"}}}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Assign": {"seen.$": "$.Error"}, "Next": "P"}],
              "End": True},
        "P": {"Type": "Pass", "Parameters": {"seen.$": "$seen", "err.$": "$.err"}, "End": True}}}
    _, out = run(d, {"in": 1})
    assert out.output == {"seen": "E", "err": {"Error": "E", "Cause": "c"}}


def test_states_runtime_is_not_caught_by_states_all():
    d = {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": True}}}
    _, out = run(d)
    assert out.error == "States.Runtime"


def test_jsonata_assign_reads_state_entry_values():
    d = {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "B"},
        "B": {"Type": "Pass", "Assign": {"x": "{% $y %}", "y": "{% $x %}"}, "Next": "C"},
        "C": {"Type": "Pass", "Output": {"x": "{% $x %}", "y": "{% $y %}", "r": "{% $range(1, 3, 1) %}"}, "End": True}}}
    _, out = run(d)
    assert out.output == {"x": 2, "y": 1, "r": [1, 2, 3]}


def test_machine_timeout_on_the_manual_clock():
    d = {"TimeoutSeconds": 5, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    exe, out = run(d)
    assert out.status == "TIMED_OUT" and exe.events[-1]["type"] == "ExecutionTimedOut"


def test_payload_limit():
    d = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "x" * 300_000, "End": True}}}
    _, out = run(d)
    assert out.error == "States.DataLimitExceeded"


class _Unkept(ManualHost):
    history = False             # as an EXPRESS execution's host: sizes measured without the text


@pytest.mark.parametrize("size, fails", [(200_000, False), (262_144 - 2, False), (262_144 - 1, True),
                                         (300_000, True)])
def test_payload_limit_without_history_is_exact(size, fails):
    # a JSON string of n characters is n + 2 bytes: the limit is 262,144 bytes
    text = "\u00e9" * (size // 2) + "x" * (size % 2)        # 2 bytes a character in UTF-8: check bytes
    d = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": text, "End": True}}}
    _, out = run(d, host=_Unkept())
    assert (out.error == "States.DataLimitExceeded") is fails
    _, big_int = run({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": [2 ** 70], "End": True}}},
                     host=_Unkept())
    assert big_int.status == "SUCCEEDED" and big_int.output == [2 ** 70]


def test_iso_matches_datetime_across_seconds():
    import datetime as dt
    from haneul.services.stepfunctions.asl.engine import iso
    for t in (1_700_000_000.0, 1_700_000_000.9996, 1_700_000_000.2, 1_700_000_001.5, 1_700_000_000.25,
              1_600_000_000.001, 1_700_000_001.0):
        want = dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="milliseconds")
        assert iso(t) == want.replace("+00:00", "Z"), t


def test_resume_from_a_checkpoint_waits_only_the_remaining_time():
    host = ManualHost(start=1000.0)
    d = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "Next": "P"},
                                    "P": {"Type": "Pass", "End": True}}}
    exe = Execution(d, {"a": 1}, host, events=[{"id": 1, "type": "ExecutionStarted"},
                                               {"id": 2, "type": "WaitStateEntered"}])
    host.t = 1060.0
    out = asyncio.run(exe.run(resume=Checkpoint("W", {"a": 1}, {}, 1000.0, 2)))
    assert out.status == "SUCCEEDED" and host.slept == [40]
    assert [e["type"] for e in exe.events][2:] == ["WaitStateExited", "PassStateEntered", "PassStateExited",
                                                    "ExecutionSucceeded"]


@pytest.mark.parametrize("expr,expected", [
    ("States.Format('a{}b\\\\{', 1)", "a1b{"),
    ("States.MathAdd(1.5, 1.49)", 3),
    ("States.ArrayRange(1, 9, 4)", [1, 5, 9]),
    ("States.StringSplit('a,b,,c', ',')", ["a", "b", "c"]),
])
def test_intrinsics(expr, expected):
    d = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": expr}, "End": True}}}
    _, out = run(d)
    assert out.output == {"v": expected}


def test_function_arn_resource_records_lambda_function_events():
    fn = "arn:aws:lambda:us-east-1:000000000000:function:f"
    ok = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": fn, "End": True}}}
    exe, out = run(ok, {"a": 1}, ManualHost(tasks={fn: lambda call: {"echo": call.parameters}}))
    assert out.output == {"echo": {"a": 1}}
    assert [e["type"] for e in exe.events][2:5] == ["LambdaFunctionScheduled", "LambdaFunctionStarted",
                                                     "LambdaFunctionSucceeded"]
    assert exe.events[2]["lambdaFunctionScheduledEventDetails"]["resource"] == fn
    exe, out = run(ok, {}, ManualHost(tasks={fn: lambda call: StatesError("Boom", "{}")}))
    assert out.error == "Boom" and exe.events[4]["type"] == "LambdaFunctionFailed"


def test_task_timeout_on_a_real_clock_and_history_only_when_kept():
    from haneul.services.stepfunctions.asl.host import Host

    class SlowHost(Host):
        history = False                 # as an EXPRESS execution's host: events numbered, not built

        async def call_task(self, call):
            await asyncio.sleep(5)

    d = {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 1,
              "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.err", "Next": "P"}], "End": True},
        "P": {"Type": "Pass", "End": True}}}
    exe, out = run(d, {"x": 1}, host=SlowHost())
    assert out.status == "SUCCEEDED" and out.output == {"x": 1, "err": {"Error": "States.Timeout"}}
    assert exe.events == [] and exe.next_id > 5


def test_name_only_paths_walk_dicts_and_name_the_missing_step():
    from haneul.services.stepfunctions.asl.jsonpath import PathNotFound, compile_path
    assert compile_path("$.a.b").find({"a": {"b": [1]}}) == [1]
    assert compile_path("$").find(5) == 5
    for root, normalized in (({"a": 1}, "$['a']['b']"), ({"a": [{"b": 1}]}, "$['a']['b']"), ([], "$['a']")):
        with pytest.raises(PathNotFound) as e:
            compile_path("$.a.b").find(root)
        assert e.value.normalized == normalized


def test_compiled_templates_give_fresh_values_and_the_same_errors():
    from haneul.services.stepfunctions.asl.payload import Scope, template
    tpl = {"a.$": "$.x", "lit": {"k": [1, {"m.$": "$$.Execution.Id"}]}, "f.$": "States.Format('{}', $.x)",
           "v.$": "$var.y", "n.$": 5}
    scope = Scope({"Execution": {"Id": "e1"}}, {"var": {"y": 7}})
    first = template(tpl, {"x": 1}, scope, "Parameters")
    second = template(tpl, {"x": 2}, scope, "Parameters")
    assert first == {"a": 1, "lit": {"k": [1, {"m": "e1"}]}, "f": "1", "v": 7, "n.$": 5}
    assert second["a"] == 2 and second["f"] == "2"
    assert first["lit"] is not second["lit"]          # literals are built anew, never shared
    with pytest.raises(StatesError) as e:
        template(tpl, {"y": 1}, scope, "Parameters")
    assert "The JSONPath '$.x' specified for the field 'a.$' could not be found in the input '{\"y\":1}'" \
        in e.value.cause
    fresh = {}
    assert template(fresh, {}, scope, "Parameters") == {} and template(fresh, {}, scope, "P") is not fresh
