"""Step Functions end to end through boto3 against a live server."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.config import Config

ROLE = "arn:aws:iam::000000000000:role/sfn"
PASS = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"v.$": "$.v", "doubled.$": "States.MathAdd($.v, $.v)"},
                                         "Next": "B"}, "B": {"Type": "Pass", "End": True}}}


@pytest.fixture
def sfn(aws_client):
    return aws_client("stepfunctions", config=Config(inject_host_prefix=False, retries={"max_attempts": 1},
                                                     read_timeout=60, max_pool_connections=64))


def wait_done(sfn, arn, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.05)
    raise AssertionError("execution still running")


def test_standard_execution_history_and_idempotent_start(sfn):
    arn = sfn.create_state_machine(name="m1", definition=json.dumps(PASS), roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, name="e1", input='{"v": 2}')["executionArn"]
    d = wait_done(sfn, ex)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"v": 2, "doubled": 4}
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=arn, name="e1", input='{"v": 3}')
    h = sfn.get_execution_history(executionArn=ex)["events"]
    assert [e["type"] for e in h] == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "PassStateEntered",
                                      "PassStateExited", "ExecutionSucceeded"]
    rev = sfn.get_execution_history(executionArn=ex, reverseOrder=True, maxResults=2)
    assert [e["id"] for e in rev["events"]] == [6, 5] and rev["nextToken"]
    assert sfn.list_executions(stateMachineArn=arn)["executions"][0]["status"] == "SUCCEEDED"


def test_invalid_definition_and_validation(sfn):
    with pytest.raises(sfn.exceptions.InvalidDefinition):
        sfn.create_state_machine(name="bad", definition='{"StartAt": "A"}', roleArn=ROLE)
    r = sfn.validate_state_machine_definition(definition='{"StartAt": "A"}')
    assert r["result"] == "FAIL" and r["diagnostics"][0]["code"] == "SCHEMA_VALIDATION_FAILED"


def test_express_sync_and_not_listable(sfn):
    arn = sfn.create_state_machine(name="x1", definition=json.dumps(PASS), roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
    r = sfn.start_sync_execution(stateMachineArn=arn, input='{"v": 5}')
    assert r["status"] == "SUCCEEDED" and json.loads(r["output"])["doubled"] == 10
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported):
        sfn.list_executions(stateMachineArn=arn)
    fail = sfn.create_state_machine(name="x2", type="EXPRESS", roleArn=ROLE, definition=json.dumps(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}}))["stateMachineArn"]
    r = sfn.start_sync_execution(stateMachineArn=fail)
    assert (r["status"], r["error"], r["cause"]) == ("FAILED", "Boom", "why")


def test_thousand_concurrent_sync_executions(sfn, aws_client):
    arn = sfn.create_state_machine(name="x3", definition=json.dumps(PASS), roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
    clients = [aws_client("stepfunctions", config=Config(inject_host_prefix=False, retries={"max_attempts": 1},
                                                         read_timeout=60, max_pool_connections=16)) for _ in range(8)]

    def one(i):
        r = clients[i % 8].start_sync_execution(stateMachineArn=arn, input=json.dumps({"v": i}))
        return json.loads(r["output"])["doubled"] == 2 * i

    started = time.time()
    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(one, range(1000)))
    assert all(results) and time.time() - started < 20


def test_wait_for_task_token_and_activity(sfn):
    act = sfn.create_activity(name="act1")["activityArn"]
    d = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": True}}}
    arn = sfn.create_state_machine(name="m2", definition=json.dumps(d), roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, input='{"job": 1}')["executionArn"]
    task = sfn.get_activity_task(activityArn=act, workerName="w")
    assert json.loads(task["input"]) == {"job": 1}
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done": true}')
    assert json.loads(wait_done(sfn, ex)["output"]) == {"done": True}


def test_task_on_missing_service_fails_clearly(sfn):
    d = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun",
                                          "Parameters": {"JobName": "f"}, "End": True}}}
    arn = sfn.create_state_machine(name="m3", definition=json.dumps(d), roleArn=ROLE)["stateMachineArn"]
    out = wait_done(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert out["status"] == "FAILED" and "glue" in out["cause"] and "does not implement" in out["cause"]


def test_stop_execution_while_waiting(sfn):
    d = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    arn = sfn.create_state_machine(name="m4", definition=json.dumps(d), roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, name="w1", input='{"a": 1}')["executionArn"]
    # same name and input while running: the same execution
    assert sfn.start_execution(stateMachineArn=arn, name="w1", input='{"a": 1}')["executionArn"] == ex
    time.sleep(0.2)
    sfn.stop_execution(executionArn=ex, error="Stop", cause="user")
    assert sfn.describe_execution(executionArn=ex)["status"] == "ABORTED"


def test_versions_aliases_tags(sfn):
    arn = sfn.create_state_machine(name="m5", definition=json.dumps(PASS), roleArn=ROLE, publish=True,
                                   tags=[{"key": "k", "value": "v"}])["stateMachineArn"]
    v1 = f"{arn}:1"
    alias = sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 100}])["stateMachineAliasArn"]
    ex = sfn.start_execution(stateMachineArn=alias, input='{"v": 1}')["executionArn"]
    assert wait_done(sfn, ex)["stateMachineAliasArn"] == alias
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "k", "value": "v"}]


def test_test_state_refuses_definitions_and_inputs_that_are_not_objects(sfn):
    pass_state = json.dumps({"Type": "Pass", "End": True})
    for definition in ("7", "[1]", '{"StartAt": "P", "States": 3}', '{"a":' * 20000 + "1" + "}" * 20000):
        with pytest.raises(sfn.exceptions.InvalidDefinition):
            sfn.test_state(definition=definition, roleArn=ROLE)
    for key, value in (("input", "not json"), ("variables", "[1]"), ("variables", "{")):
        with pytest.raises(sfn.exceptions.InvalidExecutionInput):
            sfn.test_state(definition=pass_state, roleArn=ROLE, **{key: value})
    assert sfn.test_state(definition=pass_state, input='{"a": 1}')["status"] == "SUCCEEDED"


def test_task_output_nested_past_the_json_parser_is_invalid_output(sfn):
    with pytest.raises(sfn.exceptions.InvalidOutput):
        sfn.send_task_success(taskToken="t", output='{"a":' * 20000 + "1" + "}" * 20000)


def test_validate_definition_nested_past_the_json_parser(sfn):
    r = sfn.validate_state_machine_definition(definition="[" * 20000 + "]" * 20000)
    assert r["result"] == "FAIL" and r["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"
