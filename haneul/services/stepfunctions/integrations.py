"""Task integrations: `aws-sdk:<service>:<action>`, the optimized integrations, activities,
and the `.sync` / `.waitForTaskToken` patterns, all through the in-process dispatcher."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from haneul.dispatch import request_id
from haneul.errors import AwsError
from haneul.services.stepfunctions import runner
from haneul.services.stepfunctions.asl.errors import StatesError
from haneul.services.stepfunctions.asl.host import TaskCall
from haneul.services.stepfunctions.asl.payload import compact_ascii

# SDK service name (as in aws-sdk:<service>) -> (botocore service, prefix of error names).
# AWS names an aws-sdk task's errors "<ServiceName>.<ErrorName>": the service name of the
# integration ARN in PascalCase (as the AWS SDK names its client: AcmPca, DynamoDb, Sfn) and
# the error name always ending in "Exception", added where the service's own code lacks it
# (S3 NoSuchKey -> S3.NoSuchKeyException).  Step Functions developer guide, "Learning to use
# AWS service SDK integrations".
SDK_SERVICES = {"sfn": ("stepfunctions", "Sfn"), "dynamodb": ("dynamodb", "DynamoDb"),
                "dynamodbstreams": ("dynamodbstreams", "DynamoDbStreams"),
                "sqs": ("sqs", "Sqs"), "sns": ("sns", "Sns"), "s3": ("s3", "S3"),
                "s3control": ("s3control", "S3Control"),
                "eventbridge": ("events", "EventBridge"), "lambda": ("lambda", "Lambda"),
                "ssm": ("ssm", "Ssm"), "sts": ("sts", "Sts"), "iam": ("iam", "Iam"),
                "organizations": ("organizations", "Organizations"), "kms": ("kms", "Kms"),
                "secretsmanager": ("secretsmanager", "SecretsManager"), "kinesis": ("kinesis", "Kinesis"),
                "cloudwatchlogs": ("logs", "CloudWatchLogs"), "cloudwatch": ("cloudwatch", "CloudWatch"),
                "apigateway": ("apigateway", "ApiGateway"), "acmpca": ("acm-pca", "AcmPca"),
                "ec2": ("ec2", "Ec2"), "ecs": ("ecs", "Ecs"), "athena": ("athena", "Athena"),
                "glue": ("glue", "Glue"), "firehose": ("firehose", "Firehose"),
                "route53": ("route53", "Route53")}

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
# Optimized integrations name errors after the AWS SDK for Java 1.x's exception classes:
# "<Prefix>.<Shape>Exception" for an error the service models (DynamoDB.ConditionalCheckFailedException,
# StepFunctions.ExecutionAlreadyExistsException, as state machines in the wild catch it,
# SQS.QueueDoesNotExistException), else the client's base exception (DynamoDB.AmazonDynamoDBException
# for a ValidationException, SQS.AmazonSQSException, Lambda.AWSLambdaException), with that SDK's
# cause "<message> (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: <the wire code, e.g.
# AWS.SimpleQueueService.NonExistentQueue for SQS's query protocol>; Request ID: ...; Proxy: null)".
# prefix -> (base exception, service name in the cause)
_JAVA_V1 = {"DynamoDB": ("AmazonDynamoDBException", "AmazonDynamoDBv2"), "SQS": ("AmazonSQSException", "AmazonSQS"),
            "SNS": ("AmazonSNSException", "AmazonSNS"),
            "EventBridge": ("AmazonEventBridgeException", "AmazonEventBridge"),
            "StepFunctions": ("AWSStepFunctionsException", "AWSStepFunctions"),
            "Lambda": ("AWSLambdaException", "AWSLambda")}
# fields of optimized integrations that take a string but may be written as JSON in the state
_JSON_TEXT_FIELDS = {"sqs:sendMessage": ("MessageBody",), "sns:publish": ("Message",),
                     "states:startExecution": ("Input",)}


def _pascal(action: str) -> str:
    return action[:1].upper() + action[1:]


def sdk_error_name(prefix: str, code: str) -> str:
    """`<ServiceName>.<ErrorName>Exception` as AWS names aws-sdk task errors."""
    return f"{prefix}.{code if code.endswith('Exception') else code + 'Exception'}"


def _modeled(service: str, code: str):
    """The service model's exception shape for `code`, if the service models it."""
    from haneul.protocol.shapes import service_spec
    try:
        return service_spec(service).error_shape(code)
    except Exception:            # noqa: BLE001 - an unknown service models nothing
        return None


def task_error(service: str, prefix: str, err: AwsError, sdk: bool) -> StatesError:
    """A service's error answer as the Task's error: aws-sdk tasks after the AWS SDK for Java 2.x
    (modeled: <Service>.<Code>Exception; else the client's base class <Service>.<Service>Exception),
    optimized integrations after the 1.x SDK (see _JAVA_V1)."""
    shape = _modeled(service, err.code)
    status = err.status or (shape.error.get("httpStatusCode") if shape is not None else None) or 400
    if sdk:
        name = sdk_error_name(prefix, err.code) if shape is not None else f"{prefix}.{prefix}Exception"
        cause = f"{err.message} (Service: {prefix}, Status Code: {status}, Request ID: {request_id()})"
        return StatesError(name, cause)
    base, client = _JAVA_V1.get(prefix, (f"{prefix}Exception", prefix))
    name = sdk_error_name(prefix, err.code) if shape is not None else f"{prefix}.{base}"
    wire_code = err.query_code or err.code      # a 1.x client of a query-compatible service reads the former
    cause = (f"{err.message} (Service: {client}; Status Code: {status}; Error Code: {wire_code}; "
             f"Request ID: {request_id()}; Proxy: null)")
    return StatesError(name, cause)


def _missing(what: str) -> StatesError:
    return StatesError("States.TaskFailed", f"Haneul does not implement {what} yet, so this Task cannot run")


async def _dispatch(host, service: str, operation: str, params: Any, prefix: str, sdk: bool = False,
                    json_document: bool = False) -> dict:
    dispatcher = getattr(host.ctx.app, "dispatcher", None)
    if dispatcher is None:
        raise _missing(f"the {service} service (no dispatcher)")
    try:
        return await dispatcher.call(host.ctx, service, operation, params if isinstance(params, dict) else {},
                                     json_document=json_document)
    except AwsError as err:
        if err.code in ("NotImplementedException", "UnknownOperationException") and err.status in (501, None):
            raise _missing(f"{service}.{operation}") from None
        if err.query_code is None:       # the legacy code a query-compatible service (SQS) also sends
            err.query_code = getattr(dispatcher.service(service), "QUERY_ERROR_CODES", {}).get(err.code)
        raise task_error(service, prefix, err, sdk) from None


def _json_protocol(service: str) -> bool:
    """JSON-document conversion (base64 blobs, numeric timestamps) for JSON-protocol services;
    the dispatcher's document reader drops URI- and header-bound members of REST services."""
    from haneul.protocol.shapes import service_spec
    try:
        return service_spec(service).metadata.get("protocol") == "json"
    except Exception:            # noqa: BLE001 - an unknown service fails later, with its own error
        return False


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
        return await _plain_function(host, call)
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
        return _jsonable(await _dispatch(host, service, _pascal(action), call.parameters, prefix, sdk=True,
                                         json_document=_json_protocol(service)))
    if integration == "lambda:invoke":
        return await _lambda_invoke(host, call.parameters if isinstance(call.parameters, dict) else {})
    if integration in ("s3:getObject", "s3:listObjectsV2", "s3:putObject"):
        return await _s3_io(host, integration, call.parameters if isinstance(call.parameters, dict) else {})
    target = OPTIMIZED.get(integration)
    if target is None:
        service = integration.split(":")[0]
        raise _missing(f"the optimized integration {integration} (service {service})")
    service, operation, prefix = target
    params = call.parameters if isinstance(call.parameters, dict) else {}
    for name in _JSON_TEXT_FIELDS.get(integration, ()):
        if name in params and not isinstance(params[name], str):
            params = dict(params, **{name: compact_ascii(params[name])})
    if integration == "events:putEvents":
        params = dict(params, Entries=[dict(e, Detail=compact_ascii(e["Detail"]))
                                       if isinstance(e, dict) and not isinstance(e.get("Detail", ""), str) else e
                                       for e in params.get("Entries", [])])
    if integration == "states:startExecution":
        params = {k[:1].lower() + k[1:]: v for k, v in params.items()}     # the API's camelCase members
        out = _java_v1(await _dispatch(host, service, operation, params, prefix))
        if pattern in ("sync", "sync:2"):
            return await _wait_child(host, out["ExecutionArn"], pattern)
        return out
    return _jsonable(await _dispatch(host, service, operation, params, prefix))


def _java_v1(value: Any) -> Any:
    """Step Functions' own API answers a Task as the AWS SDK for Java 1.x serializes it:
    PascalCase members, dates in epoch milliseconds."""
    import datetime as dt
    if isinstance(value, dict):
        return {_pascal(k): _java_v1(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_java_v1(v) for v in value]
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return value


async def _wait_child(host, arn: str, pattern: str) -> Any:
    while True:
        task = runner.RUNNING.get(arn)
        if task is not None:
            try:
                await asyncio.shield(task)
            except BaseException:
                pass
        desc = _java_v1(await _dispatch(host, "stepfunctions", "DescribeExecution", {"executionArn": arn},
                                        "StepFunctions"))
        if desc["Status"] != "RUNNING":
            break
        await asyncio.sleep(0.05)
    if desc["Status"] != "SUCCEEDED":      # failed, timed out or aborted: the child's description is the cause
        raise StatesError("States.TaskFailed", json.dumps(desc, separators=(",", ":")))
    if pattern == "sync:2" and isinstance(desc.get("Output"), str):
        desc["Output"] = json.loads(desc["Output"])
    return desc


# -- Lambda -------------------------------------------------------------------------------------
async def _run_lambda(host, params: dict) -> tuple[dict, Any]:
    """Invoke through the dispatcher; a function error becomes the task's error (its errorType,
    the payload as cause), as AWS reports it."""
    request = {k: v for k, v in params.items() if k in ("FunctionName", "Qualifier", "InvocationType", "LogType",
                                                           "ClientContext")}
    payload = params.get("Payload")
    if payload is not None:
        request["Payload"] = (payload if isinstance(payload, str) else
                              compact_ascii(payload)).encode()
    out = await _dispatch(host, "lambda", "Invoke", request, "Lambda")
    body = out.get("Payload") or b""
    if not isinstance(body, (bytes, bytearray)):
        body = b"".join([chunk async for chunk in body])
    text = bytes(body).decode("utf-8", "replace")
    try:
        value = json.loads(text) if text else None
    except (ValueError, RecursionError):
        value = text
    if out.get("FunctionError"):
        error = value.get("errorType") if isinstance(value, dict) else None
        raise StatesError(error or "Lambda.Unknown", text)
    return out, value


async def _lambda_invoke(host, params: dict) -> dict:
    """arn:aws:states:::lambda:invoke: the Invoke response with the payload parsed."""
    out, value = await _run_lambda(host, params)
    result = {"ExecutedVersion": out.get("ExecutedVersion", "$LATEST"), "Payload": value,
              "SdkHttpMetadata": {"HttpHeaders": {"Content-Type": "application/json"}, "HttpStatusCode": 200},
              "SdkResponseMetadata": {"RequestId": request_id()},
              "StatusCode": out.get("StatusCode", 200)}
    if out.get("LogResult"):
        result["LogResult"] = out["LogResult"]
    return result


async def _plain_function(host, call: TaskCall) -> Any:
    """A function ARN as the Resource: the state's input is the event, the result the payload."""
    _, value = await _run_lambda(host, {"FunctionName": call.base_resource, "Payload": call.parameters})
    return value


# -- S3 for Map's ItemReader and ResultWriter ------------------------------------------------------
async def _s3_io(host, integration: str, params: dict) -> Any:
    if integration == "s3:getObject":
        out = await _dispatch(host, "s3", "GetObject", {k: v for k, v in params.items()
                                                         if k in ("Bucket", "Key", "VersionId")}, "S3", sdk=True)
        body = out.get("Body") or b""
        if not isinstance(body, (bytes, bytearray)):
            body = b"".join([chunk async for chunk in body])
        return bytes(body)          # the reader decodes it (an inventory file may be gzipped)
    if integration == "s3:listObjectsV2":
        request = {k: v for k, v in params.items() if k in ("Bucket", "Prefix", "Delimiter", "StartAfter")}
        items: list = []
        while True:
            out = await _dispatch(host, "s3", "ListObjectsV2", request, "S3", sdk=True)
            for o in out.get("Contents") or []:
                modified = o.get("LastModified")
                items.append({"Etag": o.get("ETag"), "Key": o["Key"],
                              "LastModified": int(_jsonable(modified)) if modified is not None else None,
                              "Size": o.get("Size"), "StorageClass": o.get("StorageClass", "STANDARD")})
            if not out.get("IsTruncated"):
                return items
            request["ContinuationToken"] = out["NextContinuationToken"]
    body = params.get("Body", "")
    await _dispatch(host, "s3", "PutObject", {"Bucket": params["Bucket"], "Key": params["Key"],
                                              "Body": body.encode() if isinstance(body, str) else body}, "S3",
                    sdk=True)
    return {}


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
