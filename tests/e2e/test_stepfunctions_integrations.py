"""Step Functions tasks against the other services of a live server: Lambda (lambda:invoke and
plain function ARNs), SQS with .waitForTaskToken, activities with GetActivityTask long polling,
distributed Map reading from and writing to S3, and aws-sdk error names."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile

import pytest

from botocore.config import Config

from haneul.testing import wait_until

ROLE = "arn:aws:iam::{account}:role/sfn"
CODE = '''
def echo(event, context):
    return {"got": event}

class Rejected(Exception):
    pass

def fail(event, context):
    raise Rejected("no thanks")
'''


@pytest.fixture
def aws(aws_client, aws_account):
    cfg = Config(inject_host_prefix=False, retries={"max_attempts": 1}, read_timeout=90)
    return {"sfn": aws_client("stepfunctions", config=cfg), "lambda": aws_client("lambda"),
            "sqs": aws_client("sqs"), "s3": aws_client("s3"), "role": ROLE.format(account=aws_account),
            "account": aws_account}


def machine(aws, name, definition, kind="STANDARD"):
    return aws["sfn"].create_state_machine(name=name, definition=json.dumps(definition), roleArn=aws["role"],
                                           type=kind)["stateMachineArn"]


def run(aws, arn, input_=None, timeout=60):
    sfn = aws["sfn"]
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(input_ or {}))["executionArn"]
    return wait_until(lambda: (d := sfn.describe_execution(executionArn=ex))["status"] != "RUNNING" and d,
                      timeout=timeout, interval=0.05)


def functions(aws):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", CODE)
    for name in ("echo", "fail"):
        aws["lambda"].create_function(FunctionName=name, Runtime="python3.12", Role=aws["role"],
                                      Handler=f"app.{name}", Code={"ZipFile": buf.getvalue()}, Timeout=30)


def test_lambda_invoke_plain_arn_and_function_errors(aws):
    functions(aws)
    fn_arn = f"arn:aws:lambda:us-east-1:{aws['account']}:function:echo"
    d = {"StartAt": "Invoke", "States": {
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "echo", "Payload": {"n.$": "$.n"}},
                   "ResultSelector": {"payload.$": "$.Payload", "code.$": "$.StatusCode"}, "ResultPath": "$.opt",
                   "Next": "Plain"},
        "Plain": {"Type": "Task", "Resource": fn_arn, "InputPath": "$.opt.payload", "ResultPath": "$.plain",
                  "Next": "Fail"},
        "Fail": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "fail"},
                 "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.caught", "Next": "Done"}], "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    out = run(aws, machine(aws, "lam", d), {"n": 7})
    assert out["status"] == "SUCCEEDED", out
    result = json.loads(out["output"])
    assert result["opt"] == {"payload": {"got": {"n": 7}}, "code": 200}
    assert result["plain"] == {"got": {"got": {"n": 7}}}
    assert result["caught"]["Error"] == "Rejected"
    assert json.loads(result["caught"]["Cause"])["errorMessage"] == "no thanks"
    types = [e["type"] for e in aws["sfn"].get_execution_history(executionArn=out["executionArn"])["events"]]
    assert types.count("TaskSucceeded") == 1 and types.count("TaskFailed") == 1
    assert ["LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded"] == \
        [t for t in types if t.startswith("LambdaFunction")]
    missing = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                                "Parameters": {"FunctionName": "nope"}, "End": True}}}
    out = run(aws, machine(aws, "lam-missing", missing))
    assert out["status"] == "FAILED" and out["error"] == "Lambda.ResourceNotFoundException"


def test_wait_for_task_token_through_sqs(aws):
    url = aws["sqs"].create_queue(QueueName="callbacks")["QueueUrl"]
    d = {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token", "job.$": "$.job"}},
        "HeartbeatSeconds": 30, "End": True}}}
    sfn = aws["sfn"]
    ex = sfn.start_execution(stateMachineArn=machine(aws, "cb", d), input='{"job": 42}')["executionArn"]
    msgs = aws["sqs"].receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
    body = json.loads(msgs[0]["Body"])
    assert body["job"] == 42
    sfn.send_task_heartbeat(taskToken=body["token"])
    sfn.send_task_success(taskToken=body["token"], output='{"approved": true}')
    deadline = time.time() + 10
    while sfn.describe_execution(executionArn=ex)["status"] == "RUNNING" and time.time() < deadline:
        time.sleep(0.05)
    d = sfn.describe_execution(executionArn=ex)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"approved": True}
    with pytest.raises(sfn.exceptions.TaskDoesNotExist):
        sfn.send_task_success(taskToken=body["token"], output="{}")


def test_activity_long_poll_waits_for_work(aws):
    sfn = aws["sfn"]
    act = sfn.create_activity(name="worker-act")["activityArn"]
    got = {}

    def worker():
        started = time.time()
        got["task"] = sfn.get_activity_task(activityArn=act, workerName="w1")
        got["waited"] = time.time() - started

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(1.0)                    # the worker is parked in the long poll before any work exists
    d = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": act, "HeartbeatSeconds": 20, "End": True}}}
    ex = sfn.start_execution(stateMachineArn=machine(aws, "act", d), input='{"x": 1}')["executionArn"]
    t.join(30)
    assert got["waited"] >= 0.9 and json.loads(got["task"]["input"]) == {"x": 1}
    sfn.send_task_heartbeat(taskToken=got["task"]["taskToken"])
    sfn.send_task_success(taskToken=got["task"]["taskToken"], output='{"done": 1}')
    deadline = time.time() + 10
    while sfn.describe_execution(executionArn=ex)["status"] == "RUNNING" and time.time() < deadline:
        time.sleep(0.05)
    assert json.loads(sfn.describe_execution(executionArn=ex)["output"]) == {"done": 1}
    types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
    assert ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"] == [t for t in types if t.startswith("Activity")]


def _map(reader, writer=None):
    state = {"Type": "Map", "ItemReader": reader, "End": True,
             "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                               "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}
    if writer:
        state["ResultWriter"] = writer
    return {"StartAt": "M", "States": {"M": state}}


def test_distributed_map_reads_s3_and_writes_results(aws):
    s3 = aws["s3"]
    s3.create_bucket(Bucket="sfn-items")
    s3.put_object(Bucket="sfn-items", Key="data/items.csv", Body=b"id,name\n1,alpha\n2,beta\n")
    s3.put_object(Bucket="sfn-items", Key="data/items.json", Body=b'[{"a": 1}, {"a": 2}, {"a": 3}]')
    csv_reader = {"Resource": "arn:aws:states:::s3:getObject",
                  "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                  "Parameters": {"Bucket": "sfn-items", "Key": "data/items.csv"}}
    out = run(aws, machine(aws, "map-csv", _map(csv_reader)))
    assert json.loads(out["output"]) == [{"id": "1", "name": "alpha"}, {"id": "2", "name": "beta"}]
    json_reader = {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON", "MaxItems": 2},
                   "Parameters": {"Bucket": "sfn-items", "Key": "data/items.json"}}
    assert json.loads(run(aws, machine(aws, "map-json", _map(json_reader)))["output"]) == [{"a": 1}, {"a": 2}]
    listing = {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "sfn-items", "Prefix": "data/"}}
    writer = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "sfn-items", "Prefix": "out"}}
    out = run(aws, machine(aws, "map-list", _map(listing, writer)))
    assert out["status"] == "SUCCEEDED", out
    details = json.loads(out["output"])["ResultWriterDetails"]
    manifest = json.loads(s3.get_object(Bucket="sfn-items", Key=details["Key"])["Body"].read())
    key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
    records = json.loads(s3.get_object(Bucket="sfn-items", Key=key)["Body"].read())
    assert sorted(json.loads(r["Output"])["Key"] for r in records) == ["data/items.csv", "data/items.json"]
    missing = {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "sfn-items", "Key": "nope"}}
    out = run(aws, machine(aws, "map-missing", _map(missing)))
    assert (out["status"], out["error"]) == ("FAILED", "States.ItemReaderFailed")
    assert out["cause"].startswith("The specified key does not exist.")


def test_aws_sdk_error_names(aws):
    aws["s3"].create_bucket(Bucket="sdk-errors")
    d = {"StartAt": "Get", "States": {
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "sdk-errors", "Key": "absent"},
                "Catch": [{"ErrorEquals": ["S3.NoSuchKeyException"], "ResultPath": "$.err", "Next": "Queue"}],
                "End": True},
        "Queue": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueUrl",
                  "Parameters": {"QueueName": "absent"}, "End": True}}}
    out = run(aws, machine(aws, "sdk-err", d))
    assert out["status"] == "FAILED" and out["error"] == "Sqs.QueueDoesNotExistException", out


def _catch_all(resource, parameters):
    """A Task whose error (name and cause) becomes the output."""
    return {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": resource, "Parameters": parameters,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
        "Caught": {"Type": "Pass", "End": True}}}


def test_optimized_and_sdk_error_names_follow_the_java_sdks(aws, aws_client):
    ddb = aws_client("dynamodb")
    ddb.create_table(TableName="errs", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="errs", Item={"pk": {"S": "a"}})
    cases = [
        # modeled by DynamoDB: the 1.x exception class, 1.x cause
        ("arn:aws:states:::dynamodb:putItem",
         {"TableName": "errs", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"},
         "DynamoDB.ConditionalCheckFailedException", "(Service: AmazonDynamoDBv2; Status Code: 400; "
                                                     "Error Code: ConditionalCheckFailedException; Request ID: "),
        ("arn:aws:states:::dynamodb:getItem", {"TableName": "absent", "Key": {"pk": {"S": "a"}}},
         "DynamoDB.ResourceNotFoundException", "Error Code: ResourceNotFoundException;"),
        # not modeled (ValidationException): the 1.x client's base exception
        ("arn:aws:states:::dynamodb:putItem", {"TableName": "errs", "Item": {"other": {"S": "a"}}},
         "DynamoDB.AmazonDynamoDBException", "Error Code: ValidationException;"),
        # the 1.x class adds "Exception" to SQS's shape name; the cause keeps the query-protocol code
        ("arn:aws:states:::sqs:sendMessage", {"QueueUrl": "http://sqs.us-east-1.localhost:4566/000000000000/absent",
                                              "MessageBody": "x"},
         "SQS.QueueDoesNotExistException", "(Service: AmazonSQS; Status Code: 400; "
                                           "Error Code: AWS.SimpleQueueService.NonExistentQueue;"),
        ("arn:aws:states:::lambda:invoke", {"FunctionName": "absent"},
         "Lambda.ResourceNotFoundException", "(Service: AWSLambda; Status Code: 404; Error Code: "
                                             "ResourceNotFoundException;"),
        # aws-sdk: 2.x names, the base class <Service>Exception when not modeled
        ("arn:aws:states:::aws-sdk:dynamodb:putItem", {"TableName": "errs", "Item": {"other": {"S": "a"}}},
         "DynamoDb.DynamoDbException", "(Service: DynamoDb, Status Code: 400, Request ID: "),
        ("arn:aws:states:::aws-sdk:dynamodb:getItem", {"TableName": "absent", "Key": {"pk": {"S": "a"}}},
         "DynamoDb.ResourceNotFoundException", "(Service: DynamoDb, Status Code: 400, Request ID: "),
    ]
    for i, (resource, params, error, cause_part) in enumerate(cases):
        out = run(aws, machine(aws, f"err-{i}", _catch_all(resource, params)))
        caught = json.loads(out["output"])
        assert caught["Error"] == error, (resource, caught)
        assert cause_part in caught["Cause"], (resource, caught["Cause"])


def test_start_execution_sync_child_failure_is_task_failed(aws):
    child = machine(aws, "child", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Child", "Cause": "why"}}})
    parent = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                                               "Parameters": {"StateMachineArn": child, "Input": {"x": 1}},
                                               "End": True}}}
    out = run(aws, machine(aws, "parent-sync", parent))
    assert (out["status"], out["error"]) == ("FAILED", "States.TaskFailed"), out
    cause = json.loads(out["cause"])
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "Child", "why")
    assert json.loads(cause["Input"]) == {"x": 1} and isinstance(cause["StartDate"], int)
    ok = machine(aws, "child-ok", {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"r": 1}, "End": True}}})
    for resource, output in (("states:startExecution.sync:2", {"r": 1}), ("states:startExecution.sync", '{"r":1}')):
        parent["States"]["T"].update(Resource=f"arn:aws:states:::{resource}", Parameters={"StateMachineArn": ok})
        out = run(aws, machine(aws, "parent-" + resource.replace(":", "-").replace(".", "-"), parent))
        result = json.loads(out["output"])
        assert (result["Status"], result["Output"]) == ("SUCCEEDED", output), result
        assert result["ExecutionArn"].startswith(ok.replace(":stateMachine:", ":execution:"))
    dup = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                                            "Parameters": {"StateMachineArn": child, "Name": "same",
                                                           "Input.$": "$"}, "End": True}}}
    arn = machine(aws, "parent-dup", dup)
    assert run(aws, arn, {"a": 1})["status"] == "SUCCEEDED"
    out = run(aws, arn, {"a": 2})
    assert out["error"] == "StepFunctions.ExecutionAlreadyExistsException", out
