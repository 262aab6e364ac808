"""The services Haneul implements: botocore service name -> "module:Class" (lazy import).

A service whose module does not exist yet (being built) answers NotImplementedException
like any other unimplemented service; an import error inside an existing module is a bug
and surfaces as one.
"""

from __future__ import annotations

import importlib
import importlib.util

SERVICES: dict[str, str] = {
    "sts": "haneul.services.sts.service:Sts",
    "ssm": "haneul.services.ssm.service:Ssm",
    "sqs": "haneul.services.sqs.service:Sqs",
    "iam": "haneul.services.iam.service:Iam",
    "organizations": "haneul.services.organizations.service:Organizations",
    "s3": "haneul.services.s3.service:S3",
    "s3control": "haneul.services.s3control.service:S3Control",
    "dynamodb": "haneul.services.dynamodb.service:DynamoDB",
    "dynamodbstreams": "haneul.services.dynamodbstreams.service:DynamoDBStreams",
    "stepfunctions": "haneul.services.stepfunctions.service:StepFunctions",
    "lambda": "haneul.services.awslambda.service:Lambda",
    "apigateway": "haneul.services.apigateway.service:ApiGateway",
    "apigatewayv2": "haneul.services.apigatewayv2.service:ApiGatewayV2",
}


def available(service: str) -> bool:
    target = SERVICES.get(service)
    if target is None:
        return False
    try:
        return importlib.util.find_spec(target.partition(":")[0]) is not None
    except ModuleNotFoundError:      # the service's package itself is absent
        return False


def load_class(service: str):
    """The service's class, or None while its module has not been written."""
    if not available(service):
        return None
    module, _, name = SERVICES[service].partition(":")
    return getattr(importlib.import_module(module), name)


# Background engines of services: (module, start, stop) where start/stop are
# `async def f(app)`.  Started after the server is up, so they cost nothing at cold start,
# and only when the module exists.
ENGINES: dict[str, tuple[str, str, str | None]] = {
    "stepfunctions": ("haneul.services.stepfunctions", "resume_all", None),
    "lambda": ("haneul.services.awslambda", "start", "stop"),
    "dynamodb": ("haneul.services.dynamodb", "start", "stop"),      # TTL sweeps
    "s3": ("haneul.services.s3", "start", "stop"),                  # lifecycle, temp files
}

# Data planes that are not AWS API operations (deployed APIs, function URLs): a host or
# path pattern -> "module:function", an `async def f(ctx, req, match) -> HttpResponse`.
# Named groups of the pattern reach the handler through `match`.
HOST_ROUTES: list[tuple[str, str]] = [
    (r"^(?P<api>[a-z0-9]+)\.execute-api\.", "haneul.services.apigateway.invoke:handle"),
    (r"^(?P<url_id>[a-z0-9]+)\.lambda-url\.", "haneul.services.awslambda.routes:function_url"),
]
PATH_ROUTES: list[tuple[str, str]] = [
    (r"^/_haneul/lambda/code/", "haneul.services.awslambda.routes:code_download"),
    (r"^/_aws/execute-api/(?P<api>[^/]+)(?P<rest>/.*)?$", "haneul.services.apigateway.invoke:handle"),
    (r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<rest>/.*)?$",
     "haneul.services.apigateway.invoke:handle"),
]


def load_target(target: str):
    """"module:attr" -> the attribute, or None while the module has not been written."""
    module, _, name = target.partition(":")
    try:
        if importlib.util.find_spec(module) is None:
            return None
    except ModuleNotFoundError:
        return None
    return getattr(importlib.import_module(module), name)
