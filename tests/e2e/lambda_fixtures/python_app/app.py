"""Sample Python handlers for the Lambda end-to-end tests (one zip, several handlers)."""
import json
import os
import sys
import time

CALLS = {"count": 0}          # module state survives between warm invocations
VERSION = "v1"


def echo(event, context):
    CALLS["count"] += 1
    return {
        "event": event,
        "version": VERSION,
        "calls": CALLS["count"],
        "python": "%d.%d" % sys.version_info[:2],
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "env": {k: os.environ.get(k) for k in (
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_REGION", "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "_HANDLER", "AWS_LAMBDA_RUNTIME_API",
            "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "GREETING", "TMPDIR")},
        "cwd": os.getcwd(),
        "pid": os.getpid(),
    }


def fail(event, context):
    print("about to fail")
    raise ValueError("boom: " + str(event.get("why", "no reason")))


def sleep(event, context):
    print("sleeping", event.get("seconds", 0))
    time.sleep(event.get("seconds", 0))
    return {"slept": event.get("seconds", 0), "pid": os.getpid()}


def crash(event, context):
    print("crashing")
    sys.stdout.flush()
    os._exit(3)


def not_json(event, context):
    return {1, 2, 3}


def ssm(event, context):
    import boto3
    client = boto3.client("ssm")
    client.put_parameter(Name=event["name"], Value=event["value"], Type="String", Overwrite=True)
    got = client.get_parameter(Name=event["name"])["Parameter"]["Value"]
    identity = boto3.client("sts").get_caller_identity()
    return {"value": got, "arn": identity["Arn"], "account": identity["Account"]}


def batch(event, context):
    """SQS consumer: forwards bodies to OUTPUT_QUEUE; bodies containing 'fail' are reported."""
    import boto3
    sqs = boto3.client("sqs")
    failures = []
    for record in event["Records"]:
        if "fail" in record["body"]:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        sqs.send_message(QueueUrl=os.environ["OUTPUT_QUEUE"],
                         MessageBody=json.dumps({"body": record["body"], "size": len(event["Records"]),
                                                 "source": record["eventSource"]}))
    return {"batchItemFailures": failures}


def flaky(event, context):
    """Fails every time: async retries and destinations."""
    raise RuntimeError("always fails " + str(event.get("n")))


def stream(event, context):
    """DynamoDB Streams consumer: forwards each record's key and event name to OUTPUT_QUEUE.
    A batch holding an item whose `kind` is "poison" raises before sending anything; with
    REPORT set, records are sent in order up to the poison one, which is reported."""
    import boto3
    sqs = boto3.client("sqs")

    def poisoned(record):
        return (record["dynamodb"].get("NewImage") or {}).get("kind", {}).get("S") == "poison"

    if not os.environ.get("REPORT") and any(poisoned(r) for r in event["Records"]):
        raise ValueError("poison in batch of %d" % len(event["Records"]))
    for record in event["Records"]:
        if poisoned(record):
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        sqs.send_message(QueueUrl=os.environ["OUTPUT_QUEUE"], MessageBody=json.dumps({
            "key": record["dynamodb"]["Keys"]["pk"]["S"], "event": record["eventName"],
            "size": len(event["Records"]), "source": record["eventSource"], "arn": record["eventSourceARN"]}))
    return {"batchItemFailures": []}
