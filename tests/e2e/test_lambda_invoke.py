"""Lambda end to end: Python, Node.js and provided.al2023 functions created from zips and
invoked through boto3 (sync, errors, timeouts, crashes, logs, context and environment)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.e2e.lambda_fixtures.harness import ROLE, client, zip_folder

ACCOUNT = "210000000001"


@pytest.fixture(scope="module")
def aws(haneul_server):
    lam = client(haneul_server, "lambda", ACCOUNT)
    role = ROLE.format(account=ACCOUNT)
    py = zip_folder("python_app")
    for name, handler, timeout in (("py-echo", "app.echo", 10), ("py-fail", "app.fail", 10),
                                   ("py-sleep", "app.sleep", 1), ("py-crash", "app.crash", 10),
                                   ("py-marshal", "app.not_json", 10), ("py-ssm", "app.ssm", 20)):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler=handler,
                            Code={"ZipFile": py}, Timeout=timeout, MemorySize=256,
                            Environment={"Variables": {"GREETING": "hello"}})
    node = zip_folder("node_app")
    for name, handler in (("node-echo", "index.echo"), ("node-fail", "index.fail"),
                          ("node-callback", "index.callback")):
        lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=role, Handler=handler,
                            Code={"ZipFile": node}, Timeout=10, Environment={"Variables": {"GREETING": "hi"}})
    lam.create_function(FunctionName="shell", Runtime="provided.al2023", Role=role, Handler="my.handler",
                        Code={"ZipFile": zip_folder("shell_app")}, Timeout=10)
    return {"lambda": lam, "server": haneul_server}


def invoke(lam, name, event=None, **kw):
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}), **kw)
    return resp, json.loads(resp["Payload"].read() or b"null")


def test_python_echo_context_and_environment(aws):
    lam = aws["lambda"]
    resp, out = invoke(lam, "py-echo", {"a": 1}, LogType="Tail")
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp
    assert resp["ExecutedVersion"] == "$LATEST"
    assert out["event"] == {"a": 1}
    assert out["python"] == "3.12"
    ctx = out["context"]
    assert ctx["function_name"] == "py-echo" and ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:py-echo"
    assert ctx["memory_limit_in_mb"] == "256"
    assert ctx["log_group_name"] == "/aws/lambda/py-echo"
    assert "[$LATEST]" in ctx["log_stream_name"]
    assert 8000 < ctx["remaining"] <= 10000
    assert ctx["aws_request_id"] == resp["ResponseMetadata"]["RequestId"]
    env = out["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "py-echo" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == "us-east-1" and env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "app.echo" and env["GREETING"] == "hello"
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_SESSION_TOKEN"]
    assert env["AWS_ENDPOINT_URL"] == aws["server"].endpoint
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert out["cwd"] == env["LAMBDA_TASK_ROOT"]
    logs = base64.b64decode(resp["LogResult"]).decode()
    assert f"START RequestId: {ctx['aws_request_id']} Version: $LATEST" in logs
    assert f"REPORT RequestId: {ctx['aws_request_id']}" in logs and "Memory Size: 256 MB" in logs


def test_warm_reuse_keeps_module_state(aws):
    lam = aws["lambda"]
    _, first = invoke(lam, "py-echo")
    resp, second = invoke(lam, "py-echo", LogType="Tail")
    assert second["pid"] == first["pid"] and second["calls"] == first["calls"] + 1
    assert "Init Duration" not in base64.b64decode(resp["LogResult"]).decode()


def test_handler_error_is_unhandled_with_stack(aws):
    resp, out = invoke(aws["lambda"], "py-fail", {"why": "testing"}, LogType="Tail")
    assert resp["StatusCode"] == 200 and resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "ValueError" and out["errorMessage"] == "boom: testing"
    assert any("app.py" in line for line in out["stackTrace"])
    logs = base64.b64decode(resp["LogResult"]).decode()
    assert "about to fail" in logs and "[ERROR] ValueError: boom: testing" in logs


def test_timeout_kills_and_reports(aws):
    lam = aws["lambda"]
    started = time.time()
    resp, out = invoke(lam, "py-sleep", {"seconds": 5}, LogType="Tail")
    assert time.time() - started < 4
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in out["errorMessage"]
    assert "Task timed out after 1.00 seconds" in base64.b64decode(resp["LogResult"]).decode()
    resp, out = invoke(lam, "py-sleep", {"seconds": 0})        # a fresh environment serves the next call
    assert "FunctionError" not in resp and out["slept"] == 0


def test_crash_is_runtime_exit_error(aws):
    resp, out = invoke(aws["lambda"], "py-crash")
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in out["errorMessage"]


def test_unserializable_result_is_marshal_error(aws):
    resp, out = invoke(aws["lambda"], "py-marshal")
    assert resp["FunctionError"] == "Unhandled" and out["errorType"] == "Runtime.MarshalError"


def test_function_calls_ssm_through_haneul(aws):
    resp, out = invoke(aws["lambda"], "py-ssm", {"name": "/from/lambda", "value": "v42"})
    assert "FunctionError" not in resp, out
    assert out["value"] == "v42" and out["account"] == ACCOUNT
    assert out["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/lambda-role/py-ssm"
    ssm = client(aws["server"], "ssm", ACCOUNT)
    assert ssm.get_parameter(Name="/from/lambda")["Parameter"]["Value"] == "v42"


def test_node_echo_callback_and_error(aws):
    lam = aws["lambda"]
    resp, out = invoke(lam, "node-echo", {"n": 1}, LogType="Tail")
    assert "FunctionError" not in resp, out
    assert out["event"] == {"n": 1} and out["node"].startswith("v20.")
    assert out["context"]["functionName"] == "node-echo" and out["context"]["memoryLimitInMB"] == "128"
    assert out["env"]["AWS_EXECUTION_ENV"] == "AWS_Lambda_nodejs20.x" and out["env"]["GREETING"] == "hi"
    assert "echo called 1" in base64.b64decode(resp["LogResult"]).decode()
    _, out = invoke(lam, "node-callback", {"n": 7})
    assert out == {"viaCallback": True, "n": 7}
    resp, out = invoke(lam, "node-fail")
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "TypeError" and out["errorMessage"] == "node boom"
    assert out["trace"][0].startswith("TypeError: node boom")


def test_provided_al2023_shell_bootstrap(aws):
    resp, out = invoke(aws["lambda"], "shell", {"x": [1, 2]})
    assert "FunctionError" not in resp, out
    assert out == {"echo": {"x": [1, 2]}, "handler": "my.handler", "region": "us-east-1"}


def test_invalid_payload_and_missing_function(aws):
    lam = aws["lambda"]
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="py-echo", Payload=b"not json")
    assert e.value.response["Error"]["Code"] == "InvalidRequestContentException"
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="nope", Payload=b"{}")
    err = e.value.response["Error"]
    assert err["Code"] == "ResourceNotFoundException"
    assert err["Message"] == f"Function not found: arn:aws:lambda:us-east-1:{ACCOUNT}:function:nope"
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="py-echo", Payload=b'{"a": "' + b"x" * (6 * 1024 * 1024) + b'"}')
    assert e.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert lam.invoke(FunctionName="py-echo", InvocationType="DryRun")["StatusCode"] == 204
