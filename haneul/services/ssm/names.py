"""Parameter names, paths, selectors and labels: Parameter Store's naming rules.

A parameter's identity is its ARN, so "/a" and "a" name the same parameter (the
ARN drops one leading slash).  We store that ARN resource part as the `key`
column; the name the parameter was created with is kept for display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from haneul.errors import AwsError

MAX_DEPTH = 15
MAX_ARN_LENGTH = 1011     # the name limit counts the ARN prefix too
MAX_LABELS_PER_VERSION = 10

_NAME_CHARS = re.compile(r"^[a-zA-Z0-9_.\-/]+$")
_LABEL = re.compile(r"^[a-zA-Z0-9_.\-]+$")
_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:ssm:([^:]*):([^:]*):parameter/(.+)$")

NAME_RULES = (
    'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). '
    "If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path "
    "can be formed as a mix of letters, numbers and the following 3 symbols .-_"
)
PATH_RULES = (
    "The parameter doesn't meet the parameter name requirements. The parameter name must begin "
    'with a forward slash "/". It can\'t be prefixed with "aws" or "ssm" (case-insensitive). '
    "It must use only letters, numbers, or the following symbols: . (period), - (hyphen), "
    "_ (underscore). Special characters are not allowed. All sub-paths, if specified, must use "
    'the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.'
)
HIERARCHY_LIMIT = (
    "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and "
    "constraints for parameter names in the AWS Systems Manager User Guide."
)


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def key_of(name: str) -> str:
    """The ARN resource part: what makes a parameter unique in its account and region."""
    return name[1:] if name.startswith("/") else name


def parameter_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:ssm:{region}:{account}:parameter/{key_of(name)}"


def clean(name: str) -> str:
    """AWS trims spaces around a name and refuses spaces inside it."""
    name = name.strip(" ")
    if " " in name:
        raise validation(NAME_RULES)
    return name


def from_arn(name: str, region: str, account: str) -> str | None:
    """A parameter ARN of the caller's own account and region -> its name; None otherwise.
    Names that are not ARNs come back unchanged."""
    m = _ARN.match(name)
    if not m:
        return name
    if m.group(1) != region or m.group(2) != account:
        return None          # shared parameters of other accounts do not exist here
    return "/" + m.group(3) if "/" in m.group(3) else m.group(3)


def check_new_name(name: str, region: str, account: str) -> None:
    """Rules PutParameter applies to the name of a parameter it creates or updates."""
    bare = name.lstrip("/").lower()
    if bare.startswith(("aws", "ssm")):
        is_path = name.count("/") > 1
        if is_path and name.lower().startswith("/aws"):
            raise AwsError("AccessDeniedException", f"No access to reserved parameter name: {name}.")
        if is_path:
            raise validation(
                'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, '
                "it can consist of sub-paths divided by slash symbol; each sub-path can be formed as "
                "a mix of letters, numbers and the following 3 symbols .-_")
        raise validation('Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).')
    if "/" in name and not name.startswith("/"):
        raise validation("Parameter name must be a fully qualified name.")
    if not _NAME_CHARS.match(name) or "//" in name or name.endswith("/"):
        raise validation(NAME_RULES)
    if name.count("/") > MAX_DEPTH:
        raise AwsError("HierarchyLevelLimitExceededException", HIERARCHY_LIMIT)
    arn = parameter_arn(region, account, name)
    if len(arn) > MAX_ARN_LENGTH:
        raise validation(
            f"Parameter name: the maximum length of a parameter name, including the "
            f"{len(arn) - len(key_of(name))} characters of its ARN prefix "
            f"(arn:aws:ssm:{region}:{account}:parameter/), is {MAX_ARN_LENGTH} characters.")


def check_path(path: str) -> str:
    """A GetParametersByPath path or a Path filter value -> the key prefix it selects
    ("" for the root).  Reading is not held to the reserved prefixes."""
    if (not path.startswith("/") or not _NAME_CHARS.match(path) or "//" in path
            or path.count("/") > MAX_DEPTH + 1):
        raise validation(PATH_RULES)
    trimmed = path.strip("/")
    return trimmed + "/" if trimmed else ""


@dataclass
class Selector:
    """`name`, `name:3` or `name:label` as GetParameter(s) accept them."""
    name: str
    version: int | None = None
    label: str | None = None

    @property
    def text(self) -> str | None:
        if self.version is not None:
            return f":{self.version}"
        return f":{self.label}" if self.label is not None else None


def parse_selector(requested: str) -> Selector | None:
    """None when the text cannot name anything (more than one selector)."""
    name, sep, rest = requested.partition(":")
    if not sep:
        return Selector(name)
    if ":" in rest or not rest or not name:
        return None
    if rest.isdigit():
        return Selector(name, version=int(rest))
    return Selector(name, label=rest)


def label_is_valid(label: str) -> bool:
    """Labels may hold letters, digits, . - _ and may not begin with a digit, "aws" or "ssm"."""
    return (bool(_LABEL.match(label)) and len(label) <= 100 and not label[0].isdigit()
            and not label.lower().startswith(("aws", "ssm")))
