"""The MD5 digests SQS returns with messages, computed exactly as AWS does so that SDKs
that verify them (Java, .NET, Go, JS) accept our answers.

Attributes are hashed in name order; each name, data type and value is prefixed by its
length as a 4-byte big-endian integer, and the value by a transport byte:
1 = string (String and Number types), 2 = binary, 3 = string list, 4 = binary list.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Mapping

STRING, BINARY, STRING_LIST, BINARY_LIST = b"\x01", b"\x02", b"\x03", b"\x04"


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def _put(h, data: bytes) -> None:
    h.update(struct.pack(">I", len(data)))
    h.update(data)


def _bytes(value) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def md5_of_attributes(attributes: Mapping[str, Mapping] | None) -> str | None:
    """MD5OfMessageAttributes / MD5OfMessageSystemAttributes; None when there are none."""
    if not attributes:
        return None
    h = hashlib.md5()
    for name in sorted(attributes):
        attr = attributes[name]
        _put(h, name.encode("utf-8"))
        _put(h, attr["DataType"].encode("utf-8"))
        if attr.get("StringValue") is not None:
            h.update(STRING)
            _put(h, attr["StringValue"].encode("utf-8"))
        elif attr.get("BinaryValue") is not None:
            h.update(BINARY)
            _put(h, _bytes(attr["BinaryValue"]))
        elif attr.get("StringListValues"):
            h.update(STRING_LIST)
            for v in attr["StringListValues"]:
                _put(h, v.encode("utf-8"))
        elif attr.get("BinaryListValues"):
            h.update(BINARY_LIST)
            for v in attr["BinaryListValues"]:
                _put(h, _bytes(v))
    return h.hexdigest()
