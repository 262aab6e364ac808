"""AWS Lambda: functions that really run, as local processes (no Docker).

The operations live in mixins split by resource; this class only assembles them.  Newer
operations with no local meaning (durable executions, capacity providers and the scaling
configs of Lambda Managed Instances, which run on EC2 capacity) are not defined and answer
NotImplementedException.
"""

from __future__ import annotations

from haneul.services.awslambda import records
from haneul.services.awslambda.configs import ConfigOps
from haneul.services.awslambda.functions import FunctionOps
from haneul.services.awslambda.invoking import InvokeOps
from haneul.services.awslambda.layers import LayerOps
from haneul.services.awslambda.mappings import MappingOps
from haneul.services.awslambda.permissions import PermissionOps
from haneul.services.awslambda.settings import SettingOps
from haneul.services.awslambda.signing import SigningOps
from haneul.services.awslambda.versions import VersionOps
from haneul.services.base import Service


class Lambda(FunctionOps, VersionOps, LayerOps, PermissionOps, SettingOps, SigningOps, ConfigOps, InvokeOps,
             MappingOps, Service):
    NAMESPACE = "lambda"
    SCHEMA = records.SCHEMA
    VALIDATION_ERROR = "ValidationException"
