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
    deadline = time.time() + 30
    while time.time() < deadline:
        d = sfn.describe_execution(executionArn=ex)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.05)
    raise AssertionError(f"{ex} still running")


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
    history = sfn.get_execution_history(executionArn=failed["executionArn"])["events"]
    assert [e["type"] for e in history] == ["ExecutionStarted", "ChoiceStateEntered", "ChoiceStateExited",
                                            "FailStateEntered", "ExecutionFailed"]
    program = sfn.describe_state_machine_for_execution(executionArn=failed["executionArn"])
    assert (program["name"], program["label"], program["mapRunArn"]) == ("parent", "Items", run_arn)
    assert json.loads(program["definition"])["States"] == ODD_FAILS
    ok = sfn.list_executions(mapRunArn=run_arn, statusFilter="SUCCEEDED")["executions"][0]
    assert json.loads(sfn.describe_execution(executionArn=ok["executionArn"])["output"])["doubled"] in (2, 6)
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
