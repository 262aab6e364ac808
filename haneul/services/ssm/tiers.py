"""Which tier a PutParameter lands in, and the limits of each tier."""

from __future__ import annotations

import sqlite3

from haneul.errors import AwsError
from haneul.services.ssm.records import Records

STANDARD_MAX_VALUE = 4096
ADVANCED_MAX_VALUE = 8192
STANDARD_MAX_PARAMETERS = 10_000
_ADVANCED_DOCS = "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"


def resolve_tier(rec: Records, requested: str | None, current: sqlite3.Row | None, value: str,
                 has_policies: bool, default_tier: str) -> str:
    """Standard or Advanced, from the request's Tier, the account's default tier setting
    and what the request needs; raises when the request does not fit the tier."""
    is_new = current is None
    was_advanced = current is not None and current["tier"] == "Advanced"
    if requested is None:
        # An unspecified tier never downgrades an existing advanced parameter.
        requested = "Advanced" if was_advanced else default_tier
    if requested == "Intelligent-Tiering":
        needs_advanced = (was_advanced or len(value) > STANDARD_MAX_VALUE or has_policies
                          or (is_new and rec.count_tier("Standard") >= STANDARD_MAX_PARAMETERS))
        tier = "Advanced" if needs_advanced else "Standard"
    else:
        tier = requested
    if tier == "Standard":
        if was_advanced:
            raise AwsError("ValidationException",
                           "This parameter uses the advanced-parameter tier. You can't downgrade a "
                           "parameter from the advanced-parameter tier to the standard-parameter tier. "
                           "If necessary, you can delete the advanced parameter and recreate it as a "
                           "standard parameter.")
        if len(value) > STANDARD_MAX_VALUE:
            raise AwsError("ValidationException",
                           f"Standard tier parameters support a maximum parameter value of "
                           f"{STANDARD_MAX_VALUE} characters. To create a larger parameter value, upgrade "
                           f"the parameter to use the advanced-parameter tier. For more information, see "
                           f"{_ADVANCED_DOCS}")
        if has_policies:
            raise AwsError("ValidationException",
                           "Parameter policies are supported only for parameters in the "
                           "advanced-parameter tier. Use the Advanced or Intelligent-Tiering tier.")
        if is_new and rec.count_tier("Standard") >= STANDARD_MAX_PARAMETERS:
            raise AwsError("ParameterLimitExceeded",
                           "You have reached the maximum number of standard parameters for this AWS "
                           f"account and Region ({STANDARD_MAX_PARAMETERS}). To add more parameters, either "
                           "delete existing parameters or upgrade to the advanced-parameter tier "
                           "(charges apply).")
    elif len(value) > ADVANCED_MAX_VALUE:
        raise AwsError("ValidationException",
                       f"Advanced-tier parameters support a maximum parameter value of "
                       f"{ADVANCED_MAX_VALUE} characters.")
    return tier
