"""HTTP APIs' first-class AWS integrations (IntegrationSubtype): the request parameters
they take and the service action each one calls through the dispatcher."""

from __future__ import annotations

import base64
import json

# subtype -> (service, operation, {parameter: (member, kind)})
_S = "string"
SUBTYPES = {
    "StepFunctions-StartExecution": ("stepfunctions", "StartExecution", {
        "StateMachineArn": ("stateMachineArn", _S), "Name": ("name", _S), "Input": ("input", _S),
        "TraceHeader": ("traceHeader", _S)}),
    "StepFunctions-StartSyncExecution": ("stepfunctions", "StartSyncExecution", {
        "StateMachineArn": ("stateMachineArn", _S), "Name": ("name", _S), "Input": ("input", _S),
        "TraceHeader": ("traceHeader", _S)}),
    "StepFunctions-StopExecution": ("stepfunctions", "StopExecution", {
        "ExecutionArn": ("executionArn", _S), "Cause": ("cause", _S), "Error": ("error", _S)}),
    "SQS-SendMessage": ("sqs", "SendMessage", {
        "QueueUrl": ("QueueUrl", _S), "MessageBody": ("MessageBody", _S), "DelaySeconds": ("DelaySeconds", "int"),
        "MessageAttributes": ("MessageAttributes", "json"), "MessageDeduplicationId": ("MessageDeduplicationId", _S),
        "MessageGroupId": ("MessageGroupId", _S), "MessageSystemAttributes": ("MessageSystemAttributes", "json")}),
    "SQS-ReceiveMessage": ("sqs", "ReceiveMessage", {
        "QueueUrl": ("QueueUrl", _S), "AttributeNames": ("AttributeNames", "list"),
        "MaxNumberOfMessages": ("MaxNumberOfMessages", "int"), "MessageAttributeNames": ("MessageAttributeNames",
                                                                                         "list"),
        "ReceiveRequestAttemptId": ("ReceiveRequestAttemptId", _S), "VisibilityTimeout": ("VisibilityTimeout", "int"),
        "WaitTimeSeconds": ("WaitTimeSeconds", "int")}),
    "SQS-DeleteMessage": ("sqs", "DeleteMessage", {"QueueUrl": ("QueueUrl", _S),
                                                   "ReceiptHandle": ("ReceiptHandle", _S)}),
    "SQS-PurgeQueue": ("sqs", "PurgeQueue", {"QueueUrl": ("QueueUrl", _S)}),
    "EventBridge-PutEvents": ("events", "PutEvents", {
        "Detail": ("Detail", _S), "DetailType": ("DetailType", _S), "Source": ("Source", _S), "Time": ("Time", _S),
        "EventBusName": ("EventBusName", _S), "Resources": ("Resources", "list"), "TraceHeader": ("TraceHeader", _S)}),
    "Kinesis-PutRecord": ("kinesis", "PutRecord", {
        "StreamName": ("StreamName", _S), "Data": ("Data", "blob"), "PartitionKey": ("PartitionKey", _S),
        "SequenceNumberForOrdering": ("SequenceNumberForOrdering", _S), "ExplicitHashKey": ("ExplicitHashKey", _S)}),
    "AppConfig-GetConfiguration": ("appconfig", "GetConfiguration", {
        "Application": ("Application", _S), "Environment": ("Environment", _S),
        "Configuration": ("Configuration", _S), "ClientId": ("ClientId", _S),
        "ClientConfigurationVersion": ("ClientConfigurationVersion", _S)}),
}
NAMES = {"stepfunctions": "Step Functions", "sqs": "SQS", "events": "EventBridge", "kinesis": "Kinesis",
         "appconfig": "AppConfig"}


class SubtypeError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


def build_request(subtype: str, values: dict) -> tuple[str, str, dict]:
    """(service, operation, JSON-shaped request) from the mapped parameters."""
    service, operation, members = SUBTYPES[subtype]
    out: dict = {}
    for name, value in values.items():
        if name == "Region" or value is None:
            continue
        spec = members.get(name)
        if spec is None:
            raise SubtypeError(400, {"message": f"Invalid request parameter {name} for {subtype}"})
        member, kind = spec
        if kind == "int":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise SubtypeError(400, {"message": f"{name} must be a number"}) from None
        elif kind == "json" and isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise SubtypeError(400, {"message": f"{name} must be JSON"}) from None
        elif kind == "list" and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif kind == "blob":
            value = base64.b64encode(value.encode() if isinstance(value, str) else value).decode()
        elif kind == _S and not isinstance(value, str):
            value = json.dumps(value, separators=(",", ":"))
        out[member] = value
    if subtype == "EventBridge-PutEvents":
        out = {"Entries": [out]}
    return service, operation, out
