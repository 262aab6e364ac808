"""Signed aws-chunked bodies (x-amz-content-sha256 STREAMING-AWS4-HMAC-SHA256-PAYLOAD and
its -TRAILER form): each chunk carries a signature chained from the previous one, the first
from the request's own (seed) signature, and a trailer signature closes the chain.

The chain is checked when Haneul knows the access key's secret (IAM users' keys, STS
credentials), answering SignatureDoesNotMatch as S3 does; an Authorization header too
malformed to read the chain from answers AuthorizationHeaderMalformed for such a key.
Other keys are taken at their word, as everywhere in Haneul.

What this does not do: the seed signature itself (the request's headers) is not verified
here, nor anywhere for S3 calls yet; a chain that starts from a wrong seed fails only
because its chunk signatures then fail.  Verifying S3 requests' own signatures is a later
issue.  The SigV4 pieces (signing key, HMAC) are haneul/signing.py's.
"""

from __future__ import annotations

import hashlib
import hmac
import re

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
    except signing.SignatureError as err:
        # unreadable: refused when the key is one whose chain would have been checked
        found = _CREDENTIAL_KEY.search(headers.get("authorization") or "")
        if found and known_secret(store, found.group(1)) is not None:
            raise malformed(err) from None
        return None
    if signed is None or signed.presigned:
        return None
    secret = known_secret(store, signed.access_key)
    return ChunkSignatures(signed, secret) if secret is not None else None


_CREDENTIAL_KEY = re.compile(r"Credential=([A-Z0-9]+)")


def malformed(err: signing.SignatureError) -> AwsError:
    """S3's answer to an Authorization header it cannot read (signing.parse's complaint)."""
    if "requires" in err.message and "parameter" in err.message:
        detail = "the authorization header requires three components: Credential, SignedHeaders, and Signature."
    elif err.message.startswith("Credential"):
        detail = 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
    elif err.message.startswith("Date in Credential scope"):
        detail = "Invalid credential date. Date is not the same as X-Amz-Date."
    elif "Date" in err.message:
        return AwsError("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", status=403)
    else:
        detail = err.message
    return AwsError("AuthorizationHeaderMalformed", f"The authorization header is malformed; {detail}", status=400)
