"""Signed aws-chunked bodies (x-amz-content-sha256 STREAMING-AWS4-HMAC-SHA256-PAYLOAD and
its -TRAILER form): each chunk carries a signature chained from the previous one, the first
from the request's own (seed) signature, and a trailer signature closes the chain.

They are checked when Haneul knows the access key's secret (IAM users' keys, STS
credentials), as S3 checks them, answering SignatureDoesNotMatch; other keys are taken at
their word, as everywhere in Haneul.  The SigV4 pieces (signing key, HMAC) are
haneul/signing.py's.
"""

from __future__ import annotations

import hashlib
import hmac

from haneul import identity, signing
from haneul.errors import AwsError

STREAMING = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")


def known_secret(store, access_key: str) -> str | None:
    """The secret of an IAM user's key or of STS credentials; None for other keys."""
    if access_key[:4] == "AKIA":
        found = identity._iam_lookup(store, access_key)
        return found.get("secret") if found else None
    if access_key[:4] == "ASIA":
        found = identity._sts_lookup(store, access_key)
        return found.get("secret_access_key") if found else None
    return None


def mismatch() -> AwsError:
    return AwsError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                    "you provided. Check your key and signing method.", status=403)


class ChunkSignatures:
    """The chain of one body's chunk signatures, checked chunk by chunk as it arrives."""

    def __init__(self, signed: signing.Signed, secret: str):
        self.key = signing.signing_key(secret, signed.date, signed.region, signed.service)
        self.scope = f"{signed.amz_date}\n{signed.scope}\n"
        self.previous = signed.signature
        self.claimed: str | None = None
        self.sha = hashlib.sha256()

    def begin(self, claimed: str | None) -> None:
        if not claimed:
            raise mismatch()
        self.claimed, self.sha = claimed, hashlib.sha256()

    def data(self, piece) -> None:
        self.sha.update(piece)

    def end(self) -> None:
        text = (f"AWS4-HMAC-SHA256-PAYLOAD\n{self.scope}{self.previous}\n{signing.EMPTY_SHA256}\n"
                f"{self.sha.hexdigest()}")
        self._check(text)

    def trailer(self, trailers: dict[str, str]) -> None:
        self.claimed = trailers.get("x-amz-trailer-signature")
        if not self.claimed:
            raise mismatch()
        canonical = "".join(f"{k}:{v}\n" for k, v in trailers.items() if k != "x-amz-trailer-signature")
        text = (f"AWS4-HMAC-SHA256-TRAILER\n{self.scope}{self.previous}\n"
                f"{hashlib.sha256(canonical.encode()).hexdigest()}")
        self._check(text)

    def _check(self, text: str) -> None:
        if not hmac.compare_digest(signing.hmac_hex(self.key, text), self.claimed or ""):
            raise mismatch()
        self.previous = self.claimed


def for_request(store, headers: dict) -> ChunkSignatures | None:
    """The chain to check for a signed streaming upload by a key whose secret Haneul knows."""
    if store is None or headers.get("x-amz-content-sha256", "") not in STREAMING:
        return None
    try:
        signed = signing.parse(headers, [])
    except signing.SignatureError:
        return None
    if signed is None or signed.presigned:
        return None
    secret = known_secret(store, signed.access_key)
    return ChunkSignatures(signed, secret) if secret is not None else None
