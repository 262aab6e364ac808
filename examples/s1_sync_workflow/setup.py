"""Scenario S1: a synchronous order workflow behind API Gateway, set up with boto3.

    python examples/s1_sync_workflow/setup.py [--endpoint http://localhost:4566]

creates a Lambda validator, a DynamoDB table, an EXPRESS state machine and its STANDARD
twin, a REST API (AWS integration + VTL templates) and an HTTP API
(StepFunctions-StartSyncExecution), then prints the URLs to call."""

from __future__ import annotations

import argparse
import io
import json
import os
import zipfile

import boto3
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = "s1-orders"

# The REST API's request template, as AWS's documentation shows it for StartSyncExecution.
REQUEST_TEMPLATE = """#set($input = $input.json('$'))
{
  "input": "$util.escapeJavaScript($input)",
  "stateMachineArn": "%s"
}"""

# FAILED executions become HTTP 500 with the error and cause; others answer the output.
RESPONSE_TEMPLATE = """#set($inputRoot = $input.path('$'))
#if($input.path('$.status').toString().equals("FAILED"))
#set($context.responseOverride.status = 500)
{
  "error": "$input.path('$.error')",
  "cause": "$input.path('$.cause')"
}
#else
$input.path('$.output')
#end"""

# The STANDARD twin: answer at once with the execution ARN (the name is the request id,
# unique, as STANDARD execution names must be).
ASYNC_TEMPLATE = """{
  "input": "$util.escapeJavaScript($input.json('$'))",
  "name": "$context.requestId",
  "stateMachineArn": "%s"
}"""


def definition(function_arn: str) -> dict:
    return {
        "Comment": "Validate an order with Lambda, record it in DynamoDB, answer",
        "StartAt": "Validate",
        "States": {
            "Validate": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
                "ResultSelector": {"result.$": "$.Payload"},
                "ResultPath": "$.validation",
                "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException", "Lambda.ServiceException",
                                           "Lambda.SdkClientException"],
                           "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2}],
                "Next": "Valid?"},
            "Valid?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.validation.result.valid", "BooleanEquals": True, "Next": "Record"}],
                "Default": "Rejected"},
            "Rejected": {"Type": "Fail", "Error": "OrderInvalid", "CausePath": "$.validation.result.reason"},
            "Record": {
                "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": TABLE,
                               "Item": {"orderId": {"S.$": "$.orderId"}, "item": {"S.$": "$.item"},
                                        "qty": {"N.$": "States.Format('{}', $.qty)"},
                                        "total": {"N.$": "States.Format('{}', $.validation.result.total)"}}},
                "ResultPath": None, "Next": "Answer"},
            "Answer": {
                "Type": "Pass",
                "Parameters": {"orderId.$": "$.orderId", "status": "ACCEPTED",
                               "total.$": "$.validation.result.total"},
                "End": True},
        },
    }


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(os.path.join(HERE, "validate.py"), "validate.py")
    return buf.getvalue()


def setup(endpoint: str, account: str = "000000000000", region: str = "us-east-1") -> dict:
    """Create everything; returns the ARNs and the invoke URLs."""
    def client(name):
        return boto3.client(name, endpoint_url=endpoint, region_name=region, aws_access_key_id=account,
                            aws_secret_access_key="test", config=Config(retries={"max_attempts": 1},
                                                                        inject_host_prefix=False))
    lam, ddb, sfn = client("lambda"), client("dynamodb"), client("stepfunctions")
    apigw, apigw2 = client("apigateway"), client("apigatewayv2")
    role = f"arn:aws:iam::{account}:role/s1-workflow"

    fn = lam.create_function(FunctionName="s1-validate", Runtime="python3.12", Role=role,
                             Handler="validate.handler", Code={"ZipFile": _zip()}, Timeout=10)["FunctionArn"]
    ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    doc = json.dumps(definition(fn))
    express = sfn.create_state_machine(name="s1-orders", definition=doc, roleArn=role,
                                       type="EXPRESS")["stateMachineArn"]
    standard = sfn.create_state_machine(name="s1-orders-standard", definition=doc, roleArn=role,
                                        type="STANDARD")["stateMachineArn"]

    # REST API: POST /orders (sync) and POST /orders/async (STANDARD)
    api = apigw.create_rest_api(name="s1-orders", endpointConfiguration={"types": ["REGIONAL"]})
    orders = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="orders")
    later = apigw.create_resource(restApiId=api["id"], parentId=orders["id"], pathPart="async")
    for res, action, template, response in (
            (orders, "StartSyncExecution", REQUEST_TEMPLATE % express, RESPONSE_TEMPLATE),
            (later, "StartExecution", ASYNC_TEMPLATE % standard,
             '{"executionArn": "$input.path(\'$.executionArn\')"}')):
        key = dict(restApiId=api["id"], resourceId=res["id"], httpMethod="POST")
        apigw.put_method(**key, authorizationType="NONE")
        apigw.put_integration(**key, type="AWS", integrationHttpMethod="POST",
                              uri=f"arn:aws:apigateway:{region}:states:action/{action}",
                              credentials=role, passthroughBehavior="NEVER",
                              requestTemplates={"application/json": template})
        apigw.put_method_response(**key, statusCode="200")
        apigw.put_integration_response(**key, statusCode="200", selectionPattern="200",
                                       responseTemplates={"application/json": response})
        apigw.put_method_response(**key, statusCode="400")
        apigw.put_integration_response(**key, statusCode="400", selectionPattern="4\\d{2}",
                                       responseTemplates={"application/json":
                                                          '{"error": "$input.path(\'$.__type\')", '
                                                          '"message": "$util.escapeJavaScript($input.path(\'$.message\'))"}'})
    apigw.create_deployment(restApiId=api["id"], stageName="prod")

    # HTTP API: POST /orders (sync) and POST /orders/async (STANDARD), $default stage
    http = apigw2.create_api(Name="s1-orders", ProtocolType="HTTP")
    for route, subtype, arn in (("POST /orders", "StepFunctions-StartSyncExecution", express),
                                ("POST /orders/async", "StepFunctions-StartExecution", standard)):
        integ = apigw2.create_integration(ApiId=http["ApiId"], IntegrationType="AWS_PROXY",
                                          IntegrationSubtype=subtype, PayloadFormatVersion="1.0",
                                          CredentialsArn=role,
                                          RequestParameters={"StateMachineArn": arn, "Input": "$request.body"})
        apigw2.create_route(ApiId=http["ApiId"], RouteKey=route, Target=f"integrations/{integ['IntegrationId']}")
    apigw2.create_stage(ApiId=http["ApiId"], StageName="$default", AutoDeploy=True)

    base = endpoint.rstrip("/")
    return {"function": fn, "express": express, "standard": standard, "table": TABLE,
            "rest_url": f"{base}/_aws/execute-api/{api['id']}/prod/orders",
            "rest_async_url": f"{base}/_aws/execute-api/{api['id']}/prod/orders/async",
            "http_url": f"{base}/_aws/execute-api/{http['ApiId']}/orders",
            "http_async_url": f"{base}/_aws/execute-api/{http['ApiId']}/orders/async"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566"))
    parser.add_argument("--account", default="000000000000")
    args = parser.parse_args()
    out = setup(args.endpoint, args.account)
    print(json.dumps(out, indent=2))
    print("\ntry:\n  curl -s -X POST -H 'Content-Type: application/json' "
          f"-d '{{\"orderId\": \"o-1\", \"item\": \"tea\", \"qty\": 3}}' {out['rest_url']}")


if __name__ == "__main__":
    main()
