"""Distributed Map through boto3: child executions as executions of their own (ARNs, history,
ListExecutions(mapRunArn), DescribeMapRun counts), S3 Inventory manifests as the item source,
and ResultWriter's files and state output in JSONPath and JSONata machines."""

from __future__ import annotations

import gzip
import json
import re
import time

import pytest

from botocore.config import Config

from haneul.testing import wait_until

ROLE = "arn:aws:iam::{account}:role/sfn"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ODD_FAILS = {"P": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 2, "Next": "Bad"}],
                   "Default": "Ok"},
             "Ok": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True},
             "Bad": {"Type": "Fail", "Error": "Two", "Cause": "two is bad"}}


@pytest.fixture
def aws(aws_client, aws_account):
    cfg = Config(inject_host_prefix=False, retries={"max_attempts": 1}, read_timeout=60)
    return {"sfn": aws_client("stepfunctions", config=cfg), "s3": aws_client("s3"), "account": aws_account,
            "role": ROLE.format(account=aws_account)}


def machine(aws, name, definition):
    return aws["sfn"].create_state_machine(name=name, definition=json.dumps(definition),
                                           roleArn=aws["role"])["stateMachineArn"]


def run(aws, arn, input_):
    sfn = aws["sfn"]
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(input_))["executionArn"]
    return wait_until(lambda: (d := sfn.describe_execution(executionArn=ex))["status"] != "RUNNING" and d,
                      timeout=30, interval=0.05)


def distributed(execution_type, states, **extra):
    state = {"Type": "Map", "ItemsPath": "$.items", "Label": "Items", "End": True,
             "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                               "StartAt": "P", "States": states}}
    state.update(extra)
    return {"StartAt": "M", "States": {"M": state}}


def test_standard_children_are_executions_of_their_own(aws):
    sfn, account = aws["sfn"], aws["account"]
    arn = machine(aws, "parent", distributed("STANDARD", ODD_FAILS, ToleratedFailureCount=1))
    out = run(aws, arn, {"items": [{"n": 1}, {"n": 2}, {"n": 3}]})
    assert out["status"] == "SUCCEEDED", out
    runs = sfn.list_map_runs(executionArn=out["executionArn"])["mapRuns"]
    assert len(runs) == 1
    run_arn = runs[0]["mapRunArn"]
    assert re.fullmatch(rf"arn:aws:states:us-east-1:{account}:mapRun:parent/Items:{UUID}", run_arn)
    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert len(children) == 3 and all(c["mapRunArn"] == run_arn for c in children)
    assert sorted(c["status"] for c in children) == ["FAILED", "SUCCEEDED", "SUCCEEDED"]
    for child in children:
        assert re.fullmatch(rf"arn:aws:states:us-east-1:{account}:execution:parent/Items:{UUID}",
                            child["executionArn"])
        assert child["executionArn"].endswith(":" + child["name"])
        assert child["stateMachineArn"] == f"arn:aws:states:us-east-1:{account}:stateMachine:parent/Items"
    failed = sfn.list_executions(mapRunArn=run_arn, statusFilter="FAILED")["executions"][0]
    d = sfn.describe_execution(executionArn=failed["executionArn"])
    assert (d["mapRunArn"], d["error"], d["cause"], json.loads(d["input"])) == (run_arn, "Two", "two is bad", {"n": 2})
    assert d["redriveStatus"] == "REDRIVABLE_BY_MAP_RUN"
    history = sfn.get_execution_history(executionArn=failed["executionArn"])["events"]
    assert [e["type"] for e in history] == ["ExecutionStarted", "ChoiceStateEntered", "ChoiceStateExited",
                                            "FailStateEntered", "ExecutionFailed"]
    program = sfn.describe_state_machine_for_execution(executionArn=failed["executionArn"])
    assert (program["name"], program["label"], program["mapRunArn"]) == ("parent", "Items", run_arn)
    assert json.loads(program["definition"])["States"] == ODD_FAILS
    ok = sfn.list_executions(mapRunArn=run_arn, statusFilter="SUCCEEDED")["executions"][0]
    ok_d = sfn.describe_execution(executionArn=ok["executionArn"])
    assert json.loads(ok_d["output"])["doubled"] in (2, 6)
    assert (ok_d["redriveStatus"], ok_d["redriveStatusReason"]) == \
        ("NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven")
    desc = sfn.describe_map_run(mapRunArn=run_arn)
    assert desc["status"] == "SUCCEEDED" and desc["executionArn"] == out["executionArn"]
    for counts in (desc["itemCounts"], desc["executionCounts"]):
        assert (counts["total"], counts["succeeded"], counts["failed"], counts["pending"], counts["running"]) == \
            (3, 2, 1, 0, 0)
    # the parent's own listing holds only the parent
    assert [e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == [out["executionArn"]]
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.list_executions(mapRunArn=run_arn[:-4] + "0000")


def test_express_children_are_counted_not_listed(aws):
    sfn = aws["sfn"]
    arn = machine(aws, "parent-x", distributed("EXPRESS", ODD_FAILS, ToleratedFailureCount=1))
    out = run(aws, arn, {"items": [{"n": 1}, {"n": 2}]})
    assert out["status"] == "SUCCEEDED"
    run_arn = sfn.list_map_runs(executionArn=out["executionArn"])["mapRuns"][0]["mapRunArn"]
    assert sfn.list_executions(mapRunArn=run_arn)["executions"] == []
    counts = sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"]
    assert (counts["total"], counts["succeeded"], counts["failed"]) == (2, 1, 1)


def test_failed_run_leaves_pending_children_unstarted(aws):
    sfn = aws["sfn"]
    arn = machine(aws, "parent-f", distributed("STANDARD", ODD_FAILS, MaxConcurrency=1))
    out = run(aws, arn, {"items": [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]})
    assert (out["status"], out["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    run_arn = sfn.list_map_runs(executionArn=out["executionArn"])["mapRuns"][0]["mapRunArn"]
    desc = sfn.describe_map_run(mapRunArn=run_arn)
    assert desc["status"] == "FAILED"
    c = desc["executionCounts"]
    assert (c["total"], c["succeeded"], c["failed"], c["pending"]) == (4, 1, 1, 2)
    assert len(sfn.list_executions(mapRunArn=run_arn)["executions"]) == 2


def test_inventory_manifest_in_and_jsonl_results_out(aws):
    s3 = aws["s3"]
    s3.create_bucket(Bucket="inventory")
    manifest = {"sourceBucket": "photos", "destinationBucket": "arn:aws:s3:::inventory", "fileFormat": "CSV",
                "fileSchema": "Bucket, Key, Size", "files": [{"key": "inv/data/1.csv.gz", "size": 1}]}
    s3.put_object(Bucket="inventory", Key="inv/manifest.json", Body=json.dumps(manifest).encode())
    s3.put_object(Bucket="inventory", Key="inv/data/1.csv.gz",
                  Body=gzip.compress(b'"photos","a.jpg","5"\n"photos","b.jpg","7"\n'))
    d = distributed("EXPRESS", {"P": {"Type": "Pass", "Parameters": {"key.$": "$.Key", "size.$": "$.Size"},
                                      "End": True}},
                    ItemReader={"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "MANIFEST"},
                                "Parameters": {"Bucket": "inventory", "Key": "inv/manifest.json"}},
                    ResultWriter={"Resource": "arn:aws:states:::s3:putObject",
                                  "Parameters": {"Bucket": "inventory", "Prefix": "results"},
                                  "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"}})
    del d["States"]["M"]["ItemsPath"]
    out = run(aws, machine(aws, "inv-jsonpath", d), {})
    assert out["status"] == "SUCCEEDED", out
    details = json.loads(out["output"])["ResultWriterDetails"]
    run_id = json.loads(out["output"])["MapRunArn"].rsplit(":", 1)[1]
    assert details == {"Bucket": "inventory", "Key": f"results/{run_id}/manifest.json"}
    written = json.loads(s3.get_object(Bucket="inventory", Key=details["Key"])["Body"].read())
    key = written["ResultFiles"]["SUCCEEDED"][0]["Key"]
    lines = s3.get_object(Bucket="inventory", Key=key)["Body"].read().decode().splitlines()
    assert sorted(json.loads(line)["key"] for line in lines) == ["a.jpg", "b.jpg"]

    # the same in JSONata: Arguments instead of Parameters, the output shaped by Output
    jsonata = {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map", "Label": "Items", "End": True,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "MANIFEST"},
                       "Arguments": {"Bucket": "inventory", "Key": "{% $states.input.manifest %}"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P",
                          "States": {"P": {"Type": "Pass", "Output": "{% [$states.input.Key] %}", "End": True}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                         "Arguments": {"Bucket": "inventory", "Prefix": "{% $states.input.prefix %}"},
                         "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}},
        "Output": "{% $states.result.ResultWriterDetails %}"}}}
    out = run(aws, machine(aws, "inv-jsonata", jsonata), {"manifest": "inv/manifest.json", "prefix": "ja"})
    assert out["status"] == "SUCCEEDED", out
    details = json.loads(out["output"])
    assert details["Bucket"] == "inventory" and re.fullmatch(rf"ja/{UUID}/manifest\.json", details["Key"])
    written = json.loads(s3.get_object(Bucket="inventory", Key=details["Key"])["Body"].read())
    key = written["ResultFiles"]["SUCCEEDED"][0]["Key"]
    assert sorted(json.loads(s3.get_object(Bucket="inventory", Key=key)["Body"].read())) == ["a.jpg", "b.jpg"]


def wait_for(check, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def the_run(aws, execution_arn):
    return wait_for(lambda: aws["sfn"].list_map_runs(executionArn=execution_arn)["mapRuns"])[0]["mapRunArn"]


# Each item waits $.s seconds; then item n == 1 fails, the others succeed.
FAIL_ONE_WAIT_OTHERS = {"P": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Later"}],
                              "Default": "Hold"},
                        "Hold": {"Type": "Wait", "SecondsPath": "$.s", "End": True},
                        "Later": {"Type": "Wait", "SecondsPath": "$.s", "Next": "Bad"},
                        "Bad": {"Type": "Fail", "Error": "One", "Cause": "one is bad"}}


def test_item_batcher_counts_items_and_executions_apart(aws):
    sfn = aws["sfn"]
    arn = machine(aws, "batched", distributed("STANDARD", {"P": {"Type": "Pass", "End": True}},
                                              ItemBatcher={"MaxItemsPerBatch": 2}))
    out = run(aws, arn, {"items": [1, 2, 3, 4, 5]})
    assert out["status"] == "SUCCEEDED", out
    run_arn = the_run(aws, out["executionArn"])
    desc = sfn.describe_map_run(mapRunArn=run_arn)
    items, executions = desc["itemCounts"], desc["executionCounts"]
    assert (items["total"], items["succeeded"], items["pending"]) == (5, 5, 0)
    assert (executions["total"], executions["succeeded"], executions["pending"]) == (3, 3, 0)
    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert sorted(c["itemCount"] for c in children) == [1, 2, 2]
    assert all("itemCount" not in e for e in sfn.list_executions(stateMachineArn=arn)["executions"])


def test_exceeded_threshold_aborts_running_standard_children(aws):
    sfn = aws["sfn"]
    arn = machine(aws, "aborting", distributed("STANDARD", FAIL_ONE_WAIT_OTHERS))
    started = time.time()
    out = run(aws, arn, {"items": [{"n": 1, "s": 1}, {"n": 2, "s": 60}, {"n": 3, "s": 60}]})
    assert (out["status"], out["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert time.time() - started < 20          # the waiting children did not run their minute out
    run_arn = the_run(aws, out["executionArn"])
    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert sorted(c["status"] for c in children) == ["ABORTED", "ABORTED", "FAILED"]
    for child in children:
        if child["status"] == "ABORTED":
            history = sfn.get_execution_history(executionArn=child["executionArn"])["events"]
            assert history[-1]["type"] == "ExecutionAborted"
    desc = sfn.describe_map_run(mapRunArn=run_arn)
    assert desc["status"] == "FAILED"
    c = desc["executionCounts"]
    assert (c["total"], c["failed"], c["aborted"], c["running"]) == (3, 1, 2, 0)


def test_stopping_the_parent_aborts_its_map_run(aws):
    sfn = aws["sfn"]
    arn = machine(aws, "stopped", distributed("STANDARD", FAIL_ONE_WAIT_OTHERS))
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": [{"n": 2, "s": 60}, {"n": 3, "s": 60}]}))
    run_arn = the_run(aws, ex["executionArn"])
    wait_for(lambda: len(sfn.list_executions(mapRunArn=run_arn, statusFilter="RUNNING")["executions"]) == 2)
    sfn.stop_execution(executionArn=ex["executionArn"], error="Enough")
    children = wait_for(lambda: [c for c in sfn.list_executions(mapRunArn=run_arn)["executions"]
                                 if c["status"] == "ABORTED"] if not sfn.list_executions(
        mapRunArn=run_arn, statusFilter="RUNNING")["executions"] else None)
    assert len(children) == 2
    history = sfn.get_execution_history(executionArn=children[0]["executionArn"])["events"]
    assert history[-1]["type"] == "ExecutionAborted"
    desc = wait_for(lambda: (d := sfn.describe_map_run(mapRunArn=run_arn))["status"] != "RUNNING" and d)
    assert desc["status"] == "ABORTED" and desc["executionCounts"]["aborted"] == 2


def test_update_map_run_applies_to_the_running_run(aws):
    sfn = aws["sfn"]
    # MaxConcurrency 1 holds two quick items behind a slow one until it is raised
    arn = machine(aws, "updated", distributed("STANDARD", FAIL_ONE_WAIT_OTHERS, MaxConcurrency=1))
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(
        {"items": [{"n": 2, "s": 60}, {"n": 3, "s": 0}, {"n": 4, "s": 0}]}))["executionArn"]
    run_arn = the_run(aws, ex)
    wait_for(lambda: sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"]["running"] == 1)
    time.sleep(0.3)
    assert sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"]["pending"] == 2
    sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=3)
    counts = wait_for(lambda: (c := sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"])["succeeded"] == 2
                      and c)
    assert (counts["running"], counts["pending"]) == (1, 0)
    assert sfn.describe_map_run(mapRunArn=run_arn)["maxConcurrency"] == 3
    sfn.stop_execution(executionArn=ex)

    # a tolerated failure, then no failure tolerated: the run fails at once, aborting the rest
    arn = machine(aws, "retolerated", distributed("STANDARD", FAIL_ONE_WAIT_OTHERS, ToleratedFailureCount=5))
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(
        {"items": [{"n": 1, "s": 0}, {"n": 2, "s": 60}]}))["executionArn"]
    run_arn = the_run(aws, ex)
    wait_for(lambda: sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"]["failed"] == 1)
    sfn.update_map_run(mapRunArn=run_arn, toleratedFailureCount=0)
    out = wait_for(lambda: (d := sfn.describe_execution(executionArn=ex))["status"] != "RUNNING" and d, timeout=10)
    assert (out["status"], out["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    desc = sfn.describe_map_run(mapRunArn=run_arn)
    assert (desc["toleratedFailureCount"], desc["executionCounts"]["aborted"]) == (0, 1)


def test_redriving_the_parent_redrives_its_map_run(aws):
    sfn, s3 = aws["sfn"], aws["s3"]
    s3.create_bucket(Bucket="redrive-items")
    s3.put_object(Bucket="redrive-items", Key="a", Body=b"A")
    head = {"P": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:headObject",
                  "Parameters": {"Bucket": "redrive-items", "Key.$": "$.key"},
                  "ResultSelector": {"length.$": "$.ContentLength"}, "End": True}}
    arn = machine(aws, "redriven", distributed("STANDARD", head, MaxConcurrency=1, ToleratedFailureCount=1))
    out = run(aws, arn, {"items": [{"key": "a"}, {"key": "b"}, {"key": "c"}, {"key": "d"}]})
    assert (out["status"], out["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    run_arn = the_run(aws, out["executionArn"])
    first = sfn.describe_map_run(mapRunArn=run_arn)
    assert (first["executionCounts"]["succeeded"], first["executionCounts"]["failed"],
            first["executionCounts"]["pending"], first["redriveCount"]) == (1, 2, 1, 0)
    before = {c["executionArn"]: c for c in sfn.list_executions(mapRunArn=run_arn)["executions"]}
    for key in "bcd":
        s3.put_object(Bucket="redrive-items", Key=key, Body=key.encode() * 2)

    sfn.redrive_execution(executionArn=out["executionArn"])
    done = wait_for(lambda: (d := sfn.describe_execution(executionArn=out["executionArn"]))["status"] != "RUNNING"
                    and d)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == [{"length": 1}, {"length": 2}, {"length": 2}, {"length": 2}]
    runs = sfn.list_map_runs(executionArn=out["executionArn"])["mapRuns"]
    assert [r["mapRunArn"] for r in runs] == [run_arn]           # the same Map Run, redriven
    desc = sfn.describe_map_run(mapRunArn=run_arn)
    assert desc["status"] == "SUCCEEDED" and desc["redriveCount"] == 1 and "redriveDate" in desc
    assert (desc["executionCounts"]["succeeded"], desc["executionCounts"]["total"],
            desc["executionCounts"]["pendingRedrive"]) == (4, 4, 0)
    after = {c["executionArn"]: c for c in sfn.list_executions(mapRunArn=run_arn)["executions"]}
    assert len(after) == 4 and set(before) <= set(after)
    for child_arn, child in before.items():
        d = sfn.describe_execution(executionArn=child_arn)
        if child["status"] == "SUCCEEDED":       # kept, not run again
            assert d["redriveCount"] == 0
        else:                                    # redriven under the same ARN
            assert d["status"] == "SUCCEEDED" and d["redriveCount"] == 1 and "redriveDate" in d
            types = [e["type"] for e in sfn.get_execution_history(executionArn=child_arn)["events"]]
            assert "ExecutionRedriven" in types and types[-1] == "ExecutionSucceeded"
    events = sfn.get_execution_history(executionArn=out["executionArn"])["events"]
    redriven = [e for e in events if e["type"] == "MapRunRedriven"]
    assert [e["mapRunRedrivenEventDetails"] for e in redriven] == [{"mapRunArn": run_arn, "redriveCount": 1}]
    assert [e["type"] for e in events].count("MapRunStarted") == 1


def test_malformed_map_run_arns_are_invalid_arns(aws):
    sfn = aws["sfn"]

    def message(call, **kw) -> str:
        with pytest.raises(sfn.exceptions.InvalidArn) as info:
            call(**kw)
        return info.value.response["Error"]["Message"]

    for bad in ("notanarn", "a:mapRun:b", f"arn:aws:states:us-east-1:{aws['account']}:execution:m:e"):
        expected = f"Invalid Arn: 'Resource type not valid in this context: {bad}'"
        assert message(sfn.describe_map_run, mapRunArn=bad) == expected
        assert message(sfn.update_map_run, mapRunArn=bad, maxConcurrency=1) == expected
        if ":execution:" not in bad:    # ListMapRuns words a malformed ARN the same way
            assert message(sfn.list_map_runs, executionArn=bad) == expected
    # well formed but unknown: not found
    missing = f"arn:aws:states:us-east-1:{aws['account']}:mapRun:m/Map:00000000-0000-0000-0000-000000000000"
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.describe_map_run(mapRunArn=missing)
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.update_map_run(mapRunArn=missing, maxConcurrency=1)
