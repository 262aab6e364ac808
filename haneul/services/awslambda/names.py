"""Function names, qualifiers and ARNs as Lambda accepts them.

A function is named by its name, its partial ARN (`123456789012:function:name`) or its
full ARN, each optionally with a `:qualifier` (`$LATEST`, a version number or an alias).
"""

from __future__ import annotations

import re

from haneul.errors import AwsError

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ALIAS_RE = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}$")
VERSION_RE = re.compile(r"^[0-9]+$")
LAYER_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,140}$")
_FULL_RE = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d{1}):(\d{12}):function:([a-zA-Z0-9_-]+)(?::(\$LATEST|[a-zA-Z0-9_-]+))?$")
_PARTIAL_RE = re.compile(r"^(\d{12}):function:([a-zA-Z0-9_-]+)(?::(\$LATEST|[a-zA-Z0-9_-]+))?$")
_PLAIN_RE = re.compile(r"^([a-zA-Z0-9_-]+)(?::(\$LATEST|[a-zA-Z0-9_-]+))?$")
_LAYER_VERSION_ARN_RE = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d{1}):(\d{12}):layer:([a-zA-Z0-9_-]+):([0-9]+)$")


def function_arn(account: str, region: str, name: str, qualifier: str | None = None) -> str:
    base = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{base}:{qualifier}" if qualifier else base


def layer_arn(account: str, region: str, name: str, version: int | None = None) -> str:
    base = f"arn:aws:lambda:{region}:{account}:layer:{name}"
    return f"{base}:{version}" if version is not None else base


def not_found(account: str, region: str, name: str, qualifier: str | None = None) -> AwsError:
    return AwsError("ResourceNotFoundException",
                    f"Function not found: {function_arn(account, region, name, qualifier)}",
                    Type="User")


def parse_function(ctx, ref: str, qualifier: str | None = None,
                   allow_qualifier: bool = True) -> tuple[str, str | None]:
    """(name, qualifier) of a FunctionName member in any of its forms."""
    m = _FULL_RE.match(ref)
    if m:
        region, account, name, derived = m.groups()
        if account != ctx.account:
            raise AwsError("AccessDeniedException",
                           f"User is not authorized to access function {ref} of account {account}")
        if region != ctx.region:
            raise AwsError("InvalidParameterValueException",
                           f"Functions from '{region}' are not reachable in this region ('{ctx.region}')")
    else:
        m = _PARTIAL_RE.match(ref)
        if m:
            account, name, derived = m.groups()
            if account != ctx.account:
                raise AwsError("AccessDeniedException",
                               f"User is not authorized to access function {ref} of account {account}")
        else:
            m = _PLAIN_RE.match(ref)
            if not m:
                raise AwsError("InvalidParameterValueException", f"1 validation error detected: Value '{ref}' "
                               "at 'functionName' failed to satisfy constraint: Member must satisfy regular "
                               "expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?"
                               "(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
            name, derived = m.groups()
    if len(name) > 64:
        raise AwsError("InvalidParameterValueException",
                       f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
                       "constraint: Member must have length less than or equal to 64")
    if derived and qualifier and derived != qualifier:
        raise AwsError("InvalidParameterValueException",
                       "The derived qualifier from the function name does not match the specified qualifier.")
    q = qualifier or derived
    if q and not allow_qualifier:
        raise AwsError("InvalidParameterValueException",
                       f"Unsupported qualifier in function name: {ref}")
    return name, q


def parse_function_arn_resource(ctx, resource: str) -> str:
    """The function name of a taggable resource ARN (unqualified function ARNs only)."""
    m = _FULL_RE.match(resource)
    if not m or m.group(4):
        raise AwsError("InvalidParameterValueException", f"Invalid ARN: {resource}" if not m else
                       "Tags are not supported on function versions or aliases: " + resource)
    region, account, name, _ = m.groups()
    if account != ctx.account or region != ctx.region:
        raise not_found(account, region, name)
    return name


def parse_layer_version_arn(arn: str) -> tuple[str, str, str, int] | None:
    """(region, account, layer name, version) or None."""
    m = _LAYER_VERSION_ARN_RE.match(arn)
    if not m:
        return None
    region, account, name, version = m.groups()
    return region, account, name, int(version)


def parse_layer_name(ctx, ref: str) -> str:
    """A LayerName member: the name or the layer's ARN."""
    m = re.match(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:(\d{12}):layer:([a-zA-Z0-9_-]+)$", ref)
    if m:
        return m.group(2)
    if not LAYER_NAME_RE.match(ref):
        raise AwsError("InvalidParameterValueException", f"Invalid layer name: {ref}")
    return ref


def check_qualifier(qualifier: str) -> str:
    """'version' | 'latest' | 'alias'."""
    if qualifier == "$LATEST":
        return "latest"
    if VERSION_RE.match(qualifier):
        return "version"
    if ALIAS_RE.match(qualifier):
        return "alias"
    raise AwsError("InvalidParameterValueException", f"Invalid qualifier: {qualifier}")
