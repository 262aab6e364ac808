"""Queue attributes: names, defaults, ranges and the checks AWS applies, without SQL.

Checks that need other queues (the dead-letter target exists and allows us) live in
queues.py; everything here is pure so it can be tested on its own.
"""

from __future__ import annotations

import json
import re

from haneul.errors import AwsError
from haneul.services.sqs.errors import invalid_parameter, sqs_error
from haneul.services.sqs.urls import is_arn, parse_queue_arn

MAX_MESSAGE_SIZE = 1_048_576          # 1 MiB since August 2025 (was 256 KiB)

DEFAULTS = {
    "DelaySeconds": "0",
    "MaximumMessageSize": str(MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
}
FIFO_DEFAULTS = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}
INTEGER_RANGES = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43_200),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
}
BOOLEANS = {"ContentBasedDeduplication", "SqsManagedSseEnabled", "FifoQueue"}
ENUMS = {
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
FIFO_ONLY = {"FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}
# Computed on every read; never stored or settable.
COMPUTED = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp",
            "QueueArn")
SETTABLE = {"DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "Policy",
            "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "RedrivePolicy",
            "RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
            "SqsManagedSseEnabled"} | FIFO_ONLY
ALL_NAMES = set(COMPUTED) | SETTABLE
# Setting these to "" removes them.
REMOVABLE = {"Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId"}
KMS_REUSE_DEFAULT = "300"

_INTEGER = re.compile(r"-?\d+")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


def unknown_attribute(name: str) -> AwsError:
    return sqs_error("InvalidAttributeName", f"Unknown Attribute {name}.")


def invalid_attribute_value(name: str, reason: str = "") -> AwsError:
    return sqs_error("InvalidAttributeValue", f"Invalid value for the parameter {name}."
                     + (f" Reason: {reason}" if reason else ""))


def validate_queue_name(name: str, fifo: bool) -> None:
    stem = name[:-5] if name.endswith(".fifo") else name
    if fifo:
        # The .fifo suffix counts towards the 80 characters.
        if not name.endswith(".fifo") or not _NAME.fullmatch(stem) or len(name) > 80:
            raise invalid_parameter(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, "
                "or underscores, must end with .fifo suffix and be 1 to 80 in length")
        return
    if name.endswith(".fifo") or not _NAME.fullmatch(name):
        raise invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")


def normalize(attrs: dict[str, str], *, fifo: bool, creating: bool) -> dict[str, str]:
    """Check the attributes of a CreateQueue or SetQueueAttributes request and return them
    normalized (booleans lower case, JSON documents compact).  "" means "remove"."""
    out: dict[str, str] = {}
    for name, raw in attrs.items():
        value = "" if raw is None else str(raw)
        if name not in SETTABLE:
            raise unknown_attribute(name)
        if name in FIFO_ONLY and not fifo:
            if name in ("DeduplicationScope", "FifoThroughputLimit"):
                raise sqs_error("InvalidAttributeName",
                                f"You can specify the {name} only when FifoQueue is set to true.")
            if not (name == "FifoQueue" and value.lower() == "false" and creating):
                raise unknown_attribute(name)
        if name in INTEGER_RANGES:
            low, high = INTEGER_RANGES[name]
            if not _INTEGER.fullmatch(value) or not low <= int(value) <= high:
                raise invalid_attribute_value(name)
            value = str(int(value))
        elif name in BOOLEANS:
            if value.lower() not in ("true", "false"):
                raise invalid_attribute_value(name)
            value = value.lower()
            if name == "FifoQueue" and fifo and value != "true":
                raise invalid_attribute_value(name, "Modifying queue type is not supported.")
        elif name in ENUMS:
            if value not in ENUMS[name]:
                raise invalid_attribute_value(name)
        elif name == "Policy":
            value = _policy(value)
        elif name == "RedrivePolicy":
            value = _redrive_policy(value, fifo)
        elif name == "RedriveAllowPolicy":
            value = _redrive_allow_policy(value)
        out[name] = value
    if out.get("KmsMasterKeyId") and out.get("SqsManagedSseEnabled") == "true":
        raise sqs_error("InvalidAttributeName",
                        "You can use one type of server-side encryption (SSE) at one time. "
                        "You can either enable KMS SSE or SQS SSE.")
    return out


def apply(current: dict[str, str], changes: dict[str, str], fifo: bool) -> dict[str, str]:
    """The stored attributes after normalized `changes`."""
    attrs = dict(current)
    for name, value in changes.items():
        if name == "FifoQueue" and not fifo:
            continue                       # "false" on a standard queue is a no-op
        if value == "" and name in REMOVABLE:
            attrs.pop(name, None)
        else:
            attrs[name] = value
    # The two kinds of server-side encryption exclude each other.
    if changes.get("KmsMasterKeyId"):
        attrs["SqsManagedSseEnabled"] = "false"
        attrs.setdefault("KmsDataKeyReusePeriodSeconds", KMS_REUSE_DEFAULT)
    elif changes.get("SqsManagedSseEnabled") == "true":
        attrs.pop("KmsMasterKeyId", None)
        attrs.pop("KmsDataKeyReusePeriodSeconds", None)
    if (attrs.get("FifoThroughputLimit") == "perMessageGroupId"
            and attrs.get("DeduplicationScope") != "messageGroup"):
        raise invalid_attribute_value(
            "FifoThroughputLimit", "The perMessageGroupId value is allowed only when the "
            "value for DeduplicationScope is messageGroup.")
    return attrs


def initial(fifo: bool) -> dict[str, str]:
    return {**DEFAULTS, **(FIFO_DEFAULTS if fifo else {})}


def same_value(name: str, supplied: str, current: str | None) -> bool:
    """Whether a CreateQueue attribute describes the existing queue's value."""
    if current is None:
        # "" (remove) matches an attribute that is not set; so does FifoQueue=false on a
        # standard queue.
        return (supplied == "" and name in REMOVABLE) or (name == "FifoQueue" and supplied == "false")
    if name == "Policy":
        try:
            return json.loads(supplied) == json.loads(current)
        except (ValueError, RecursionError):
            return supplied == current
    return supplied == current


# -- JSON documents ----------------------------------------------------------------------
def _policy(value: str) -> str:
    if value == "":
        return value
    try:
        doc = json.loads(value)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        raise invalid_attribute_value("Policy")
    statements = doc.get("Statement")
    if isinstance(statements, list) and len(statements) > 20:
        raise invalid_parameter(f"{len(statements)} statements were found in the submitted "
                                "policy, max allowed is 20")
    return value                           # AWS hands the policy back as it was sent


def _redrive_policy(value: str, fifo: bool) -> str:
    if value == "":
        return value
    try:
        doc = json.loads(value)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        raise invalid_attribute_value("RedrivePolicy", "Redrive policy is not a valid JSON map.")

    def bad(reason: str) -> AwsError:
        return invalid_parameter(
            f"Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}")

    if set(doc) - {"deadLetterTargetArn", "maxReceiveCount"}:
        raise bad("Only following attributes are supported: [maxReceiveCount, deadLetterTargetArn].")
    for key in ("maxReceiveCount", "deadLetterTargetArn"):
        if key not in doc:
            raise bad(f"Redrive policy does not contain mandatory attribute: {key}.")
    target = doc["deadLetterTargetArn"]
    if not isinstance(target, str) or not is_arn(target):
        raise bad("Invalid value for deadLetterTargetArn.")
    parsed = parse_queue_arn(target)
    if parsed is None:
        raise bad("Only SQS queues are valid resources for deadLetterTargetArn.")
    count = doc["maxReceiveCount"]
    try:
        count = int(count) if not isinstance(count, bool) else None
    except (TypeError, ValueError):
        count = None
    if count is None or not 1 <= count <= 1000:
        raise bad(f"Invalid value for maxReceiveCount: {doc['maxReceiveCount']}, "
                  "valid values are from 1 to 1000 both inclusive.")
    if parsed[2].endswith(".fifo") != fifo:
        raise bad("Dead-letter queue must be same type of queue as the source..")
    # AWS answers the policy in this compact form, with maxReceiveCount a number.
    return json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": count},
                      separators=(",", ":"))


def _redrive_allow_policy(value: str) -> str:
    if value == "":
        return value
    unsupported = invalid_attribute_value(
        "RedriveAllowPolicy",
        "Amazon SQS can't create the redrive allow policy, as it\u2019s in an unsupported format.")
    try:
        doc = json.loads(value)
    except (ValueError, RecursionError):
        raise unsupported from None
    if not isinstance(doc, dict) or set(doc) - {"redrivePermission", "sourceQueueArns"}:
        raise unsupported
    permission = doc.get("redrivePermission")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise unsupported
    arns = doc.get("sourceQueueArns")
    if arns is not None and (not isinstance(arns, list)
                             or not all(isinstance(a, str) for a in arns)):
        raise unsupported

    def bad(reason: str) -> AwsError:
        return invalid_parameter(f"Value {value} for parameter RedriveAllowPolicy is invalid. "
                                 f"Reason: Amazon SQS can't create the redrive allow policy. {reason}")

    if permission == "byQueue":
        if not arns:
            raise bad("When you specify the byQueue permission type, you must also specify "
                      "one or more sourceQueueArns values.")
        if len(arns) > 10:
            raise bad("The maximum number of source queue ARNs you can specify is 10.")
    elif arns is not None:
        raise bad("To specify one or more source queue ARNs, you must set redrivePermission "
                  "to byQueue.")
    return json.dumps(doc, separators=(",", ":"))


def redrive_allows(allow_policy: str | None, source_arn: str) -> bool:
    """Whether a dead-letter queue's RedriveAllowPolicy lets `source_arn` use it."""
    if not allow_policy:
        return True
    doc = json.loads(allow_policy)
    permission = doc.get("redrivePermission")
    if permission == "denyAll":
        return False
    if permission == "byQueue":
        return source_arn in doc.get("sourceQueueArns", [])
    return True
