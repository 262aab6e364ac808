"""API Gateway (REST APIs, v1): the control plane.  The data plane (deployed APIs serving
requests) is invoke.py; mapping templates are vtl/."""

from __future__ import annotations

from haneul.services.apigateway import records
from haneul.services.apigateway.accounts import AccountOps
from haneul.services.apigateway.apiparts import ApiPartOps
from haneul.services.apigateway.deployments import DeploymentOps
from haneul.services.apigateway.keys import KeyOps
from haneul.services.apigateway.openapi import OpenApiOps
from haneul.services.apigateway.restapis import RestApiOps
from haneul.services.apigateway.testinvoke import TestInvokeOps
from haneul.services.base import Service


class ApiGateway(RestApiOps, DeploymentOps, ApiPartOps, KeyOps, AccountOps, OpenApiOps, TestInvokeOps, Service):
    SCHEMA = records.SCHEMA
    VALIDATION_ERROR = "BadRequestException"
