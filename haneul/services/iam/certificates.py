"""X.509 certificates as IAM stores them: only the PEM framing and the validity period
are read (a minimal DER walk; no cryptography package needed)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re

from haneul.errors import AwsError

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def _malformed() -> AwsError:
    return AwsError("MalformedCertificateException",
                    "Unable to parse certificate. Please ensure the certificate is in PEM format.")


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `pos`."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("bad length")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise ValueError("truncated")
    return tag, pos, pos + length


def _time(tag: int, raw: bytes) -> float:
    text = raw.decode("ascii").rstrip("Z")
    fmt = "%y%m%d%H%M%S" if tag == 0x17 else "%Y%m%d%H%M%S"
    return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.timezone.utc).timestamp()


def parse(pem: str) -> dict:
    """{not_before, not_after} (epoch seconds) of the first certificate in `pem`."""
    m = _PEM.search(pem or "")
    if not m:
        raise _malformed()
    try:
        der = base64.b64decode("".join(m.group(1).split()), validate=True)
        tag, start, _ = _tlv(der, 0)                 # Certificate
        tag, pos, end = _tlv(der, start)             # TBSCertificate
        fields = []
        while pos < end and len(fields) < 6:
            t, vs, ve = _tlv(der, pos)
            fields.append((t, vs, ve))
            pos = ve
        if fields and fields[0][0] != 0xA0:          # version is optional ([0] explicit)
            fields.insert(0, (0xA0, 0, 0))
        _t, vs, ve = fields[4]                       # Validity
        t1, s1, e1 = _tlv(der, vs)
        t2, s2, e2 = _tlv(der, e1)
        return {"not_before": _time(t1, der[s1:e1]), "not_after": _time(t2, der[s2:e2])}
    except (ValueError, IndexError, binascii.Error, UnicodeDecodeError):
        raise _malformed() from None


def count(pem: str) -> int:
    return len(_PEM.findall(pem or ""))
