"""Browser POST uploads: the multipart/form-data body, the policy document and its
signature, as S3 checks them (Authenticating Requests in Browser-Based Uploads Using POST).

The form's fields up to the `file` part count; later fields are ignored, as S3 ignores
them.  Every field but the exempt ones (policy, file, the signature and `x-ignore-*`)
must be named by a condition of the policy.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re

from haneul.errors import AwsError

_EXEMPT = {"policy", "file", "x-amz-signature", "signature", "awsaccesskeyid"}
_PARAM = re.compile(r';\s*([a-zA-Z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


FIELDS_LIMIT = 1 << 20      # form fields before the file (S3 caps the policy at 20 KB)


class FileField:
    __slots__ = ("filename", "content_type")

    def __init__(self, filename: str, content_type: str):
        self.filename, self.content_type = filename, content_type


def _params(header: str) -> dict:
    return {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
            for m in _PARAM.finditer(header)}


def malformed(message: str = "The body of your POST request is not well-formed multipart/form-data.") -> AwsError:
    return AwsError("MalformedPOSTRequest", message, status=400)


async def _chunks_of(body):
    if isinstance(body, (bytes, bytearray, memoryview)):
        if body:
            yield bytes(body)
        return
    async for chunk in body:
        yield chunk


class FormReader:
    """A multipart/form-data body read as it arrives: `await fields()` gives the fields
    before the file part (lower-case names, first occurrence wins) and the file's name and
    type; `file_chunks()` then yields the file's bytes, so the file is never held whole.
    What follows the file is left unread (later fields are ignored, as S3 ignores them)."""

    def __init__(self, body, content_type: str):
        boundary = _params(content_type).get("boundary")
        if not boundary:
            raise malformed()
        self.delim = b"--" + boundary.encode("latin-1")
        self.source = _chunks_of(body).__aiter__()
        self.buf = bytearray()
        self.ended = False

    async def _more(self) -> bool:
        if self.ended:
            return False
        if len(self.buf) > FIELDS_LIMIT:
            raise malformed("Your POST request fields preceding the upload file were too large.")
        try:
            self.buf += await self.source.__anext__()
        except StopAsyncIteration:
            self.ended = True
            return False
        return True

    async def _find(self, needle: bytes, start: int = 0) -> int:
        """Index of `needle` in the buffer, reading more as needed; MalformedPOSTRequest at the end."""
        while True:
            i = self.buf.find(needle, start)
            if i >= 0:
                return i
            start = max(start, len(self.buf) - len(needle) + 1)
            if not await self._more():
                raise malformed()

    async def fields(self) -> tuple[dict[str, str], FileField | None]:
        delim = self.delim
        pos = await self._find(delim)
        fields: dict[str, str] = {}
        while True:
            pos += len(delim)
            while len(self.buf) < pos + 2 and await self._more():
                pass
            if self.buf[pos:pos + 2] == b"--":              # the closing delimiter
                return fields, None
            if self.buf[pos:pos + 2] != b"\r\n":
                raise malformed()
            head_end = await self._find(b"\r\n\r\n", pos + 2)
            headers = {}
            for line in bytes(self.buf[pos + 2:head_end]).decode("utf-8", "replace").split("\r\n"):
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            params = _params(headers.get("content-disposition", ""))
            name = (params.get("name") or "").lower()
            if name == "file" or "filename" in params:
                del self.buf[:head_end + 4]
                return fields, FileField(params.get("filename") or "", headers.get("content-type", ""))
            end = await self._find(b"\r\n" + delim, head_end + 4)
            if name and name not in fields:
                fields[name] = bytes(self.buf[head_end + 4:end]).decode("utf-8", "replace")
            pos = end + 2

    async def file_chunks(self):
        """The file part's bytes, up to the delimiter that ends it."""
        marker = b"\r\n" + self.delim
        keep = len(marker) - 1                # a marker split across chunks is found next time
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                if i:
                    yield bytes(self.buf[:i])
                del self.buf[:i + len(marker)]
                return
            if len(self.buf) > keep:
                yield bytes(self.buf[:-keep])
                del self.buf[:-keep]
            if self.ended:
                raise malformed()
            try:
                self.buf += await self.source.__anext__()
            except StopAsyncIteration:
                self.ended = True


# -- the policy -----------------------------------------------------------------------------
def _invalid(reason: str) -> AwsError:
    return AwsError("InvalidPolicyDocument", f"Invalid Policy: {reason}", status=400)


def _denied(reason: str) -> AwsError:
    return AwsError("AccessDenied", f"Invalid according to Policy: {reason}", status=403)


def _timestamp(text: str) -> float:
    text = text.strip().replace("Z", "+00:00")
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def decode_policy(text: str) -> dict:
    try:
        doc = json.loads(base64.b64decode(text.strip(), validate=False))
    except (ValueError, binascii.Error):
        raise _invalid("Invalid JSON.") from None
    if not isinstance(doc, dict):
        raise _invalid("Invalid JSON.")
    if "expiration" not in doc:
        raise _invalid("Policy missing expiration.")
    if not isinstance(doc.get("conditions"), list):
        raise _invalid("Policy missing conditions.")
    return doc


def check_policy(doc: dict, fields: dict[str, str], bucket: str, size: int | None, now: float) -> tuple | None:
    """AccessDenied unless the form satisfies the policy; EntityTooLarge/Small when `size`
    is given and out of the content-length-range.  Returns that range (low, high) or None."""
    try:
        expires = _timestamp(str(doc["expiration"]))
    except ValueError:
        raise _invalid(f"Invalid 'expiration' value: '{doc['expiration']}'") from None
    if now > expires:
        raise _denied("Policy expired.")
    values = dict(fields, bucket=bucket)
    named = {"bucket"}
    length_range = None
    for cond in doc["conditions"]:
        if isinstance(cond, dict):
            for name, expected in cond.items():
                name = name.lower().lstrip("$")
                named.add(name)
                if values.get(name) != str(expected):
                    raise _denied(f"Policy Condition failed: {json.dumps(['eq', '$' + name, expected])}")
            continue
        if not isinstance(cond, list) or not cond:
            raise _invalid("Invalid condition.")
        op = str(cond[0]).lower()
        if op == "content-length-range":
            if len(cond) != 3:
                raise _invalid("Invalid content-length-range condition.")
            try:
                length_range = (int(cond[1]), int(cond[2]))
            except (TypeError, ValueError):
                raise _invalid("Invalid content-length-range condition.") from None
            continue
        if op not in ("eq", "starts-with") or len(cond) != 3 or not str(cond[1]).startswith("$"):
            raise _invalid(f"Invalid condition: {json.dumps(cond)}")
        name = str(cond[1])[1:].lower()
        named.add(name)
        value, expected = values.get(name), str(cond[2])
        ok = value is not None and (value == expected if op == "eq" else value.startswith(expected))
        if op == "starts-with" and name == "content-type" and value is not None:
            ok = all(v.strip().startswith(expected) for v in value.split(","))
        if not ok:
            raise _denied(f"Policy Condition failed: {json.dumps([op, str(cond[1]), cond[2]])}")
    for name in fields:
        if name not in named and name not in _EXEMPT and not name.startswith("x-ignore-"):
            raise _denied(f"Extra input fields: {name}")
    if size is not None:
        check_length(length_range, size)
    return length_range


def check_length(length_range: tuple | None, size: int) -> None:
    if length_range is not None:
        low, high = length_range
        if size > high:
            raise AwsError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                           status=400, ProposedSize=str(size), MaxSizeAllowed=str(high))
        if size < low:
            raise AwsError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                           status=400, ProposedSize=str(size), MinSizeAllowed=str(low))


# -- signatures -----------------------------------------------------------------------------
def signature_v4(secret: str, date: str, region: str, policy_b64: str, service: str = "s3") -> str:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()


def signature_v2(secret: str, policy_b64: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha1).digest()).decode()


def signature_mismatch() -> AwsError:
    return AwsError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                    "you provided. Check your key and signing method.", status=403)


def missing_field(name: str) -> AwsError:
    return AwsError("InvalidArgument", f"Bucket POST must contain a field named '{name}'.  If it is specified, "
                    "please check the order of the fields.", status=400, ArgumentName=name, ArgumentValue="")


def tagging_query(xml_text: str) -> str:
    """The form's `tagging` field (a Tagging XML document) as the x-amz-tagging header's query form."""
    from urllib.parse import urlencode

    from haneul.protocol.xml import parse_xml
    root = parse_xml(xml_text.encode())
    pairs = []
    for tag in root.iter():
        if tag.tag.rsplit("}", 1)[-1] == "Tag":
            kv = {c.tag.rsplit("}", 1)[-1]: (c.text or "") for c in tag}
            pairs.append((kv.get("Key", ""), kv.get("Value", "")))
    return urlencode(pairs)
