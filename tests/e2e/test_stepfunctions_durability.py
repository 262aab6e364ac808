"""A STANDARD execution survives SIGKILL: killed during a Wait, the server restarts on the same
data directory, the execution continues from its last committed state without running the
completed task again, waits only the rest of its time, finishes, and its history tells it."""

from __future__ import annotations

import json
import time

from botocore.config import Config

from haneul.testing import ServerProcess, make_client

ACCOUNT = "424242424242"
WAIT = 4


def clients(server):
    cfg = Config(inject_host_prefix=False, retries={"max_attempts": 1}, read_timeout=30)
    return (make_client(server.endpoint, "stepfunctions", ACCOUNT, config=cfg),
            make_client(server.endpoint, "sqs", ACCOUNT))


def test_standard_execution_resumes_after_sigkill_mid_wait(tmp_path):
    data = str(tmp_path / "data")
    server = ServerProcess(data_dir=data).start()
    try:
        sfn, sqs = clients(server)
        url = sqs.create_queue(QueueName="durable-steps")["QueueUrl"]
        definition = {"StartAt": "First", "States": {
            "First": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                      "Parameters": {"QueueUrl": url, "MessageBody": "first"}, "ResultPath": None, "Next": "Pause"},
            "Pause": {"Type": "Wait", "Seconds": WAIT, "Next": "Second"},
            "Second": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                       "Parameters": {"QueueUrl": url, "MessageBody": "second"}, "ResultPath": None, "End": True}}}
        arn = sfn.create_state_machine(name="durable", definition=json.dumps(definition),
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=arn, name="survivor", input='{"order": 7}')["executionArn"]
        started = time.time()
        deadline = started + 10
        while time.time() < deadline:
            types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
            if "WaitStateEntered" in types:
                break
            time.sleep(0.05)
        assert types[-1] == "WaitStateEntered", types
        time.sleep(1)
    finally:
        server.stop(kill=True)                       # SIGKILL in the middle of the Wait

    again = ServerProcess(data_dir=data).start()
    try:
        sfn, sqs = clients(again)
        deadline = time.time() + 20
        while time.time() < deadline:
            d = sfn.describe_execution(executionArn=ex)
            if d["status"] != "RUNNING":
                break
            time.sleep(0.1)
        finished = time.time()
        assert d["status"] == "SUCCEEDED", d
        assert json.loads(d["output"]) == {"order": 7}
        # the Wait resumed with its remaining time, not from zero and not skipped
        assert WAIT - 0.5 <= finished - started < WAIT + 8
        bodies = []
        for _ in range(3):
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                bodies.append(m["Body"])
        assert sorted(bodies) == ["first", "second"], bodies          # "First" did not run twice
        events = sfn.get_execution_history(executionArn=ex)["events"]
        types = [e["type"] for e in events]
        assert types == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded",
                         "TaskStateExited", "WaitStateEntered", "WaitStateExited", "TaskStateEntered",
                         "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        assert all(e["previousEventId"] == e["id"] - 1 for e in events[1:])
        wait_entered, wait_exited = events[6]["timestamp"], events[7]["timestamp"]
        assert (wait_exited - wait_entered).total_seconds() >= WAIT - 0.1
    finally:
        again.stop()


def test_distributed_map_cut_short_by_a_crash_is_aborted_and_run_again(tmp_path):
    data = str(tmp_path / "data")
    server = ServerProcess(data_dir=data).start()
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "W",
                          "States": {"W": {"Type": "Wait", "Seconds": 2, "End": True}}}}}}
    try:
        sfn, _ = clients(server)
        arn = sfn.create_state_machine(name="durable-map", definition=json.dumps(definition),
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=arn, input='{"items": [1]}')["executionArn"]
        deadline = time.time() + 10
        while time.time() < deadline:
            runs = sfn.list_map_runs(executionArn=ex)["mapRuns"]
            if runs and sfn.list_executions(mapRunArn=runs[0]["mapRunArn"], statusFilter="RUNNING")["executions"]:
                break
            time.sleep(0.05)
        first = runs[0]["mapRunArn"]
    finally:
        server.stop(kill=True)                       # SIGKILL while the child waits

    again = ServerProcess(data_dir=data).start()
    try:
        sfn, _ = clients(again)
        deadline = time.time() + 20
        while time.time() < deadline and sfn.describe_execution(executionArn=ex)["status"] == "RUNNING":
            time.sleep(0.1)
        assert sfn.describe_execution(executionArn=ex)["status"] == "SUCCEEDED"
        runs = {r["mapRunArn"]: sfn.describe_map_run(mapRunArn=r["mapRunArn"])["status"]
                for r in sfn.list_map_runs(executionArn=ex)["mapRuns"]}
        assert runs.pop(first) == "ABORTED" and list(runs.values()) == ["SUCCEEDED"]
        (child,) = sfn.list_executions(mapRunArn=first)["executions"]
        assert child["status"] == "ABORTED"
        assert sfn.get_execution_history(executionArn=child["executionArn"])["events"][-1]["type"] == \
            "ExecutionAborted"
    finally:
        again.stop()
