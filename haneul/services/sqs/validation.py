"""Checks on messages and batches that the model cannot express, with AWS's wording."""

from __future__ import annotations

import re
from typing import Any

from haneul.services.sqs.errors import (invalid_parameter, invalid_value, missing_parameter,
                                        sqs_error)

# XML 1.0 characters: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
_INVALID_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
INVALID_CHARS = ("Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | "
                 "#x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_ATTRIBUTE_TYPE = re.compile(r"(String|Number|Binary)(\..+)?", re.S)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# MessageGroupId, MessageDeduplicationId, ReceiveRequestAttemptId: alphanumerics and
# punctuation, 1 to 128 characters.
_FIFO_TOKEN = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
MAX_ATTRIBUTES = 10
MAX_BATCH_ENTRIES = 10
TRACE_HEADER = "AWSTraceHeader"


def has_invalid_characters(text: str) -> bool:
    return _INVALID_CHAR.search(text) is not None


def check_body(body: Any) -> str:
    if body is None or body == "":
        raise missing_parameter("MessageBody")
    if has_invalid_characters(body):
        raise sqs_error("InvalidMessageContents", INVALID_CHARS)
    return body


def _value_bytes(attr: dict) -> int:
    value = attr.get("StringValue")
    if value is not None:
        return len(value.encode("utf-8"))
    value = attr.get("BinaryValue")
    return len(value) if value is not None else 0


def attributes_size(attributes: dict | None) -> int:
    """What message attributes add to a message's size: name, type and value bytes."""
    return sum(len(name.encode("utf-8")) + len(str(a.get("DataType", "")).encode("utf-8"))
               + _value_bytes(a) for name, a in (attributes or {}).items())


def message_size(body: str | None, attributes: dict | None) -> int:
    return len((body or "").encode("utf-8")) + attributes_size(attributes)


def check_size(body: str, attributes: dict | None, maximum: int) -> None:
    if message_size(body, attributes) > maximum:
        raise invalid_parameter("One or more parameters are invalid. "
                                f"Reason: Message must be shorter than {maximum} bytes.")


def check_message_attributes(attributes: dict | None) -> dict:
    """Validate MessageAttributes; return them with only the members that matter."""
    if not attributes:
        return {}
    if len(attributes) > MAX_ATTRIBUTES:
        raise invalid_parameter(f"Number of message attributes [{len(attributes)}] exceeds "
                                f"the allowed maximum [{MAX_ATTRIBUTES}].")
    out = {}
    for name, attr in attributes.items():
        if not name:
            raise invalid_parameter("The request must contain non-empty message (user) "
                                    "attribute names.")
        if len(name.encode("utf-8")) > 256:
            raise invalid_parameter("Message (user) attribute name must be shorter than 256 bytes.")
        if not _ATTRIBUTE_NAME.fullmatch(name):
            raise invalid_parameter(
                "Message (user) attributes name can only contain upper and lower score "
                "characters, digits, periods, hyphens and underscores. ")
        lowered = name.lower()
        if (lowered.startswith(("aws.", "amazon.")) or name.startswith(".")
                or name.endswith(".") or ".." in name):
            raise invalid_parameter(
                "You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. "
                "These strings are reserved for internal use. Additionally, they cannot start "
                "or end with '.'.")
        attr = attr or {}
        data_type = attr.get("DataType")
        if attr.get("StringListValues") or attr.get("BinaryListValues"):
            raise invalid_parameter("Message attribute list values in SendMessage operation "
                                    "are not supported.")
        if not data_type:
            if attr.get("StringValue") is None and attr.get("BinaryValue") is None:
                raise invalid_parameter(f"The message (user) attribute '{name}' must contain "
                                        "a non-empty message attribute value.")
            raise invalid_parameter(f"The message (user) attribute '{name}' must contain a "
                                    "non-empty message attribute type.")
        if len(data_type.encode("utf-8")) > 256:
            raise invalid_parameter("Message (user) attribute type must be shorter than 256 bytes.")
        match = _ATTRIBUTE_TYPE.fullmatch(data_type)
        if match is None:
            raise invalid_parameter(
                f"The type of message (user) attribute '{name}' is invalid. You must use only "
                "the following supported type prefixes: Binary, Number, String.")
        base = match.group(1)
        if base == "Binary":
            value = attr.get("BinaryValue")
            if value is None or len(value) == 0:
                raise invalid_parameter(f"Message (user) attribute '{name}' must contain a "
                                        "non-empty value of type 'Binary'.")
            if isinstance(value, str):
                value = value.encode("utf-8")
            out[name] = {"DataType": data_type, "BinaryValue": bytes(value)}
            continue
        value = attr.get("StringValue")
        if value is None or value == "":
            raise invalid_parameter(f"Message (user) attribute '{name}' must contain a "
                                    f"non-empty value of type '{base}'.")
        value = str(value)
        if base == "Number" and not _NUMBER.fullmatch(value.strip()):
            raise invalid_parameter(f"Can't cast the value of message (user) attribute "
                                    f"'{name}' to a number.")
        if has_invalid_characters(value):
            raise invalid_parameter(INVALID_CHARS)
        out[name] = {"DataType": data_type, "StringValue": value}
    return out


def check_system_attributes(attributes: dict | None) -> dict:
    """MessageSystemAttributes: only AWSTraceHeader, a String, exists."""
    if not attributes:
        return {}
    out = {}
    for name, attr in attributes.items():
        if name != TRACE_HEADER:
            raise invalid_parameter(f"Message system attribute name '{name}' is invalid.")
        attr = attr or {}
        if attr.get("DataType") != "String" or not attr.get("StringValue"):
            raise invalid_parameter(f"Message system attribute '{name}' must contain a "
                                    "non-empty value of type 'String'.")
        out[name] = {"DataType": "String", "StringValue": attr["StringValue"]}
    return out


def check_fifo_token(value: str | None, parameter: str) -> None:
    if value is not None and not _FIFO_TOKEN.fullmatch(value):
        raise invalid_value(parameter, value, f"{parameter} can only include alphanumeric and "
                            "punctuation characters. 1 to 128 in length.")


def check_delay(value) -> None:
    if value is not None and not 0 <= value <= 900:
        raise invalid_value("DelaySeconds", value, "DelaySeconds must be >= 0 and <= 900.")


# -- batches -----------------------------------------------------------------------------
def check_batch(entries: list | None, entry_name: str) -> list:
    """The batch-level checks every *Batch call shares, in AWS's order."""
    if not entries:
        raise sqs_error("EmptyBatchRequest",
                        f"There should be at least one {entry_name} in the request.")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise sqs_error("TooManyEntriesInBatchRequest",
                        f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. "
                        f"You have sent {len(entries)}.")
    seen = set()
    for entry in entries:
        entry_id = entry.get("Id")
        if not isinstance(entry_id, str) or not _BATCH_ID.fullmatch(entry_id):
            raise sqs_error("InvalidBatchEntryId",
                            "A batch entry id can only contain alphanumeric characters, hyphens "
                            "and underscores. It can be at most 80 letters long.")
        if entry_id in seen:
            raise sqs_error("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
        seen.add(entry_id)
    return entries


def check_batch_size(entries: list, maximum: int) -> None:
    total = sum(message_size(e.get("MessageBody"), e.get("MessageAttributes")) for e in entries)
    if total > maximum:
        raise sqs_error("BatchRequestTooLong", f"Batch requests cannot be longer than {maximum} "
                        f"bytes. You have sent {total} bytes.")


# -- receive -----------------------------------------------------------------------------
def check_receive(request: dict) -> tuple[int, int | None, int | None]:
    """(MaxNumberOfMessages, VisibilityTimeout, WaitTimeSeconds) of a ReceiveMessage."""
    count = request.get("MaxNumberOfMessages")
    if count is not None and not 1 <= count <= 10:
        raise invalid_value("MaxNumberOfMessages", count, "Must be between 1 and 10, if provided.")
    visibility = request.get("VisibilityTimeout")
    if visibility is not None and not 0 <= visibility <= 43_200:
        raise invalid_value("VisibilityTimeout", visibility,
                            "Must be >= 0 and <= 43200, if provided.")
    wait = request.get("WaitTimeSeconds")
    if wait is not None and not 0 <= wait <= 20:
        raise invalid_value("WaitTimeSeconds", wait, "Must be >= 0 and <= 20, if provided.")
    check_fifo_token(request.get("ReceiveRequestAttemptId"), "ReceiveRequestAttemptId")
    return count or 1, visibility, wait


def attribute_filter(names: list[str] | None):
    """A predicate for MessageAttributeNames: "All", ".*", exact names, "prefix.*"."""
    names = names or []
    if not names:
        return lambda name: False
    if "All" in names or ".*" in names:
        return lambda name: True
    exact = {n for n in names if not n.endswith(".*")}
    prefixes = tuple(n[:-2] for n in names if n.endswith(".*"))
    return lambda name: name in exact or (bool(prefixes) and name.startswith(prefixes))
