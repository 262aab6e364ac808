"""AWS Signature Version 4: reading a signed request's parts and checking its signature.

Pure functions: the caller supplies the request as it was sent (method, path still
percent-encoded, decoded query pairs, lower-case headers), the payload hash it should be
signed with, and the secret key it found for the access key.  Nothing here looks a key up
or knows a service; API Gateway's AWS_IAM methods use it today, S3's chunk signatures can
reuse `signing_key` and `hmac_hex` with their own string to sign.

Errors are `SignatureError(kind, message)`, kind one of "incomplete" (the signature's
parts are malformed or missing), "mismatch" (recomputed signature differs), "expired" and
"not_yet_current" (clock skew or presigned lifetime): services turn the kind into their own
error code and status.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field
from email.utils import parsedate_tz, mktime_tz
from functools import lru_cache
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
SKEW_SECONDS = 300              # AWS accepts a request dated within 5 minutes of its clock
MAX_PRESIGNED_EXPIRES = 604800  # 7 days: a signing key is valid that long


class SignatureError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Signed:
    """A request's SigV4 parts, from its Authorization header or its presigned query."""

    algorithm: str
    access_key: str
    date: str                   # the credential scope's YYYYMMDD
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str               # YYYYMMDD'T'HHMMSS'Z' the request was signed at
    presigned: bool = False
    expires: int | None = None  # X-Amz-Expires of a presigned request
    session_token: str | None = None
    scope_parts: list[str] = field(default_factory=list)

    @property
    def scope(self) -> str:
        return "/".join(self.scope_parts[1:])


# -- reading the parts -----------------------------------------------------------------
def parse(headers: dict[str, str], params: list[tuple[str, str]]) -> Signed | None:
    """The SigV4 parts of a request, None when it carries no Authorization header and no
    X-Amz-* signature parameters.  `headers` have lower-case names; `params` are decoded
    query pairs.  Raises SignatureError("incomplete") for malformed parts."""
    auth = headers.get("authorization")
    if auth is not None:
        return _parse_header(auth, headers)
    q = {}
    for k, v in params:
        q.setdefault(k, v)
    if not any(k.startswith("X-Amz-") for k in q):
        return None
    return _parse_query(q)


def _parse_header(auth: str, headers: dict[str, str]) -> Signed:
    algorithm, _, rest = auth.strip().partition(" ")
    if not algorithm.startswith("AWS4-"):     # a token of some other scheme: all parts missing
        algorithm, rest = "", auth.strip()
    fields: dict[str, str] = {}
    for part in [p for p in re.split(r"[,\s]+", rest) if p]:
        name, eq, value = part.partition("=")
        if not eq:
            if algorithm:
                raise SignatureError("incomplete", f"'{part}' not a valid key=value pair (missing equal-sign) in "
                                                   f"Authorization header: '{auth}'.")
            continue
        fields[name.strip()] = value.strip()
    amz_date = headers.get("x-amz-date") or _from_http_date(headers.get("date"))
    missing = [f"Authorization header requires '{n}' parameter." for n in ("Credential", "Signature",
                                                                           "SignedHeaders") if not fields.get(n)]
    if not amz_date:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if missing:
        raise SignatureError("incomplete", " ".join(missing) + f" Authorization={auth}")
    signed = _scoped(algorithm, fields["Credential"], fields["SignedHeaders"], fields["Signature"], amz_date)
    signed.session_token = headers.get("x-amz-security-token")
    return signed


def _parse_query(q: dict[str, str]) -> Signed:
    names = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
    missing = [f"AWS query-string parameters must include '{n}'." for n in names if not q.get(n)]
    if missing:
        raise SignatureError("incomplete", " ".join(missing) + " Re-examine the query-string parameters.")
    expires = q.get("X-Amz-Expires")
    if expires is not None:
        if not expires.isdigit():
            raise SignatureError("incomplete", f"X-Amz-Expires must be a number, not '{expires}'.")
        if not 1 <= int(expires) <= MAX_PRESIGNED_EXPIRES:
            raise SignatureError("incomplete", "X-Amz-Expires must be less than a week (in seconds) that is "
                                               "604800")
    signed = _scoped(q["X-Amz-Algorithm"], q["X-Amz-Credential"], q["X-Amz-SignedHeaders"], q["X-Amz-Signature"],
                     q["X-Amz-Date"])
    signed.presigned = True
    signed.expires = int(expires) if expires is not None else None
    signed.session_token = q.get("X-Amz-Security-Token")
    return signed


def _scoped(algorithm: str, credential: str, signed_headers: str, signature: str, amz_date: str) -> Signed:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureError("incomplete", "Credential should be scoped with a valid terminator: 'aws4_request', "
                                           f"not '{parts[-1]}'.")
    if not all(parts[:4]):
        raise SignatureError("incomplete", f"Credential should be scoped to a valid region, not '{parts[2]}'.")
    if not _is_amz_date(amz_date):
        raise SignatureError("incomplete", f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See "
                                           "http://en.wikipedia.org/wiki/ISO_8601")
    if parts[1] != amz_date[:8]:
        raise SignatureError("mismatch", f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                                         f"date from HTTP: '{parts[1]}' != '{amz_date[:8]}', from '{amz_date}'.")
    return Signed(algorithm=algorithm, access_key=parts[0], date=parts[1], region=parts[2], service=parts[3],
                  signed_headers=signed_headers.split(";"), signature=signature.lower(), amz_date=amz_date,
                  scope_parts=parts)


def _is_amz_date(value: str) -> bool:
    """True for a real YYYYMMDD'T'HHMMSS'Z' instant (month 13 or hour 25 is no date)."""
    if not (len(value) == 16 and value[8] == "T" and value[15] == "Z" and value[:8].isdigit()
            and value[9:15].isdigit()):
        return False
    try:
        time.strptime(value, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return False
    return True


def _from_http_date(value: str | None) -> str:
    """An RFC 1123 Date header as the ISO-8601 basic form SigV4 signs, or ''."""
    if not value:
        return ""
    try:
        parsed = parsedate_tz(value)
        if parsed is None:
            return ""
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(mktime_tz(parsed)))
    except (ValueError, OverflowError, OSError):    # a year or day no clock holds: no usable date
        return ""


# -- the canonical forms -----------------------------------------------------------------
def canonical_uri(path: str, *, normalize: bool = True, double_encode: bool = True) -> str:
    """The path as signed.  Every service but S3 signs it with dot segments and empty segments
    removed and its (already percent-encoded) text encoded once more; S3 signs it as sent."""
    if not path:
        return "/"
    if normalize:
        out: list[str] = []
        for seg in path.split("/"):
            if seg in ("", "."):
                continue
            if seg == "..":
                if out:
                    out.pop()
                continue
            out.append(seg)
        trailing = "/" if path.endswith("/") and out else ""
        path = "/" + "/".join(out) + trailing
    return quote(path, safe="/~") if double_encode else path


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """The decoded pairs of a raw query string, '+' kept as itself (SigV4 signers encode a
    space as %20)."""
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        if not item:
            continue
        k, _, v = item.partition("=")
        pairs.append((unquote(k), unquote(v)))
    return pairs


def canonical_query(pairs: list[tuple[str, str]], skip: tuple[str, ...] = ("X-Amz-Signature",)) -> str:
    encoded = sorted((_encode(k), _encode(v)) for k, v in pairs if k not in skip)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_headers(headers: dict[str, str], names: list[str]) -> str:
    lines = []
    for name in names:
        value = headers.get(name, "")
        lines.append(f"{name}:{' '.join(value.split())}\n")
    return "".join(lines)


def canonical_request(method: str, path: str, pairs: list[tuple[str, str]], headers: dict[str, str],
                      signed_headers: list[str], payload_hash: str, *, normalize: bool = True,
                      double_encode: bool = True) -> str:
    return "\n".join((method.upper(), canonical_uri(path, normalize=normalize, double_encode=double_encode),
                      canonical_query(pairs), canonical_headers(headers, signed_headers),
                      ";".join(signed_headers), payload_hash))


def string_to_sign(amz_date: str, scope: str, canonical: str, algorithm: str = ALGORITHM) -> str:
    return "\n".join((algorithm, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()))


@lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def hmac_hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


# -- checking ----------------------------------------------------------------------------
def _stamp(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def check_time(signed: Signed, now: float) -> None:
    """A header-signed request must be dated within 5 minutes of `now`; a presigned one
    within its X-Amz-Expires (and not more than 5 minutes ahead)."""
    when = calendar.timegm(time.strptime(signed.amz_date, "%Y%m%dT%H%M%SZ"))
    if when > now + SKEW_SECONDS:
        raise SignatureError("not_yet_current", f"Signature not yet current: {signed.amz_date} is still later than "
                                                f"{_stamp(now + SKEW_SECONDS)} ({_stamp(now)} + 5 min.)")
    if signed.presigned and signed.expires is not None:
        if when + signed.expires < now:
            raise SignatureError("expired", f"Signature expired: {signed.amz_date} is now earlier than "
                                            f"{_stamp(now - signed.expires)} ({_stamp(now)} - {signed.expires} sec.)")
    elif when < now - SKEW_SECONDS:
        raise SignatureError("expired", f"Signature expired: {signed.amz_date} is now earlier than "
                                        f"{_stamp(now - SKEW_SECONDS)} ({_stamp(now)} - 5 min.)")


def verify(signed: Signed, method: str, path: str, pairs: list[tuple[str, str]], headers: dict[str, str],
           payload_hash: str, secret: str, now: float, *, normalize: bool = True, double_encode: bool = True) -> None:
    """Raise SignatureError unless `signed` is a valid signature of this request by `secret`
    at `now`.  The time is checked first, as AWS does."""
    if signed.algorithm != ALGORITHM:
        raise SignatureError("incomplete", f"Unsupported AWS 'algorithm': '{signed.algorithm}'. Haneul verifies "
                                           f"{ALGORITHM} signatures only.")
    if "host" not in signed.signed_headers and ":authority" not in signed.signed_headers:
        raise SignatureError("incomplete", "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                                           "Authorization.")
    check_time(signed, now)
    canonical = canonical_request(method, path, pairs, headers, signed.signed_headers, payload_hash,
                                  normalize=normalize, double_encode=double_encode)
    to_sign = string_to_sign(signed.amz_date, signed.scope, canonical, signed.algorithm)
    expected = hmac_hex(signing_key(secret, signed.date, signed.region, signed.service), to_sign)
    if not hmac.compare_digest(expected, signed.signature):
        raise SignatureError("mismatch", "The request signature we calculated does not match the signature you "
                             "provided. Check your AWS Secret Access Key and signing method. Consult the service "
                             f"documentation for details.\n\nThe Canonical String for this request should have "
                             f"been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{to_sign}'\n")
