"""Task integrations: `aws-sdk:<service>:<action>`, the optimized integrations, activities,
and the `.sync` / `.waitForTaskToken` patterns, all through the in-process dispatcher."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from haneul.errors import AwsError
from haneul.services.stepfunctions import runner
from haneul.services.stepfunctions.asl.errors import StatesError
from haneul.services.stepfunctions.asl.host import TaskCall

# SDK service name (as in aws-sdk:<service>) -> (botocore service, prefix of error names)
SDK_SERVICES = {"sfn": ("stepfunctions", "Sfn"), "dynamodb": ("dynamodb", "DynamoDb"),
                "sqs": ("sqs", "Sqs"), "sns": ("sns", "Sns"), "s3": ("s3", "S3"),
                "eventbridge": ("events", "EventBridge"), "lambda": ("lambda", "Lambda"),
                "ssm": ("ssm", "Ssm"), "sts": ("sts", "Sts"), "iam": ("iam", "Iam")}

# optimized integration -> (botocore service, operation, error prefix)
OPTIMIZED = {
    "dynamodb:getItem": ("dynamodb", "GetItem", "DynamoDB"),
    "dynamodb:putItem": ("dynamodb", "PutItem", "DynamoDB"),
    "dynamodb:updateItem": ("dynamodb", "UpdateItem", "DynamoDB"),
    "dynamodb:deleteItem": ("dynamodb", "DeleteItem", "DynamoDB"),
    "sqs:sendMessage": ("sqs", "SendMessage", "SQS"),
    "sns:publish": ("sns", "Publish", "SNS"),
    "events:putEvents": ("events", "PutEvents", "EventBridge"),
    "states:startExecution": ("stepfunctions", "StartExecution", "StepFunctions"),
}


def _pascal(action: str) -> str:
    return action[:1].upper() + action[1:]


def _missing(what: str) -> StatesError:
    return StatesError("States.TaskFailed", f"Haneul does not implement {what} yet, so this Task cannot run")


async def _dispatch(host, service: str, operation: str, params: Any, prefix: str) -> dict:
    dispatcher = getattr(host.ctx.app, "dispatcher", None)
    if dispatcher is None:
        raise _missing(f"the {service} service (no dispatcher)")
    try:
        return await dispatcher.call(host.ctx, service, operation, params if isinstance(params, dict) else {})
    except AwsError as err:
        if err.code in ("NotImplementedException", "UnknownOperationException") and err.status in (501, None):
            raise _missing(f"{service}.{operation}") from None
        raise StatesError(f"{prefix}.{err.code}", err.message) from None


def _jsonable(value: Any) -> Any:
    """Service output -> JSON (timestamps as epoch seconds, bytes as text)."""
    import datetime as dt
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value


async def call(host, call: TaskCall) -> Any:
    resource = call.base_resource
    pattern = call.pattern
    parts = resource.split(":")
    if len(parts) >= 7 and parts[2] == "states" and parts[5] == "activity":
        return await _activity(host, call)
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        raise _missing("AWS Lambda (the lambda service)")
    if not (len(parts) >= 7 and parts[2] == "states" and parts[3] == "" and parts[4] == ""):
        raise StatesError("States.TaskFailed", f"Unsupported Task resource: {call.resource}")
    integration = ":".join(parts[5:])
    if pattern == "waitForTaskToken":
        waiter = _register_token(call.token, host.execution_arn)
        await _invoke(host, integration, call, "request-response")
        return await _await_token(call, waiter)
    return await _invoke(host, integration, call, pattern)


async def _invoke(host, integration: str, call: TaskCall, pattern: str) -> Any:
    if integration.startswith("aws-sdk:"):
        _, sdk, action = integration.split(":", 2)
        service, prefix = SDK_SERVICES.get(sdk, (sdk, _pascal(sdk)))
        return _jsonable(await _dispatch(host, service, _pascal(action), call.parameters, prefix))
    if integration.startswith("lambda:"):
        raise _missing("AWS Lambda (lambda:invoke)")
    target = OPTIMIZED.get(integration)
    if target is None:
        service = integration.split(":")[0]
        raise _missing(f"the optimized integration {integration} (service {service})")
    service, operation, prefix = target
    params = call.parameters if isinstance(call.parameters, dict) else {}
    if integration == "states:startExecution" and isinstance(params.get("Input"), (dict, list)):
        params = dict(params, Input=json.dumps(params["Input"]))
    out = _jsonable(await _dispatch(host, service, operation, params, prefix))
    if integration == "states:startExecution" and pattern in ("sync", "sync:2"):
        return await _wait_child(host, out["executionArn"], pattern)
    return out


async def _wait_child(host, arn: str, pattern: str) -> Any:
    while True:
        task = runner.RUNNING.get(arn)
        if task is not None:
            try:
                await asyncio.shield(task)
            except BaseException:
                pass
        desc = _jsonable(await _dispatch(host, "stepfunctions", "DescribeExecution", {"executionArn": arn},
                                         "StepFunctions"))
        if desc["status"] != "RUNNING":
            break
        await asyncio.sleep(0.05)
    if desc["status"] != "SUCCEEDED":
        raise StatesError("States.TaskFailed" if desc["status"] == "FAILED" else f"States.{desc['status'].title()}",
                          json.dumps(desc, separators=(",", ":")))
    if pattern == "sync:2" and isinstance(desc.get("output"), str):
        desc["output"] = json.loads(desc["output"])
    return desc


# -- callbacks ----------------------------------------------------------------------------------
def _register_token(token: str, execution_arn: str) -> dict:
    waiter = {"future": asyncio.get_running_loop().create_future(), "heartbeat": asyncio.Event(),
              "execution": execution_arn}
    runner.TOKENS[token] = waiter
    return waiter


async def _await_token(call: TaskCall, waiter: dict) -> Any:
    fut = waiter["future"]
    try:
        while True:
            beat = asyncio.ensure_future(waiter["heartbeat"].wait())
            done, _ = await asyncio.wait({fut, beat}, timeout=call.heartbeat,
                                         return_when=asyncio.FIRST_COMPLETED)
            beat.cancel()
            if fut in done:
                return fut.result()
            if not done:
                raise StatesError("States.HeartbeatTimeout", None)
            waiter["heartbeat"].clear()
    finally:
        runner.TOKENS.pop(call.token, None) if call.token else None


def complete_token(token: str, output: Any = None, error: StatesError | None = None) -> bool:
    waiter = runner.TOKENS.get(token)
    if waiter is None or waiter["future"].done():
        return False
    if error is not None:
        waiter["future"].set_exception(error)
    else:
        waiter["future"].set_result(output)
    return True


def heartbeat(token: str) -> bool:
    waiter = runner.TOKENS.get(token)
    if waiter is None:
        return False
    waiter["heartbeat"].set()
    return True


# -- activities ---------------------------------------------------------------------------------
async def _activity(host, call: TaskCall) -> Any:
    token = host.new_token()
    call.token = token
    waiter = _register_token(token, host.execution_arn)
    waiter["on_started"] = getattr(call, "on_started", None)
    await runner.activity_queue(call.base_resource).put((token, call.parameters))
    return await _await_token(call, waiter)
