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
