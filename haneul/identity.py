"""Who is calling: SigV4 credentials from the Authorization header or a presigned URL.

Only the credential is read here; the signature itself is kept so that verification
(against IAM secret keys) can be added as one more step without changing callers.
"""

from __future__ import annotations

import re
import sqlite3

from haneul.context import Principal
from haneul.errors import AwsError

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
_ACCOUNT_RE = re.compile(r"[0-9]{12}")
_CRED_RE = re.compile(r"Credential=([^,\s]+)")
# the usual order, in one pass; the three separate searches are the fallback
_V4_RE = re.compile(r"Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)")
_SIGNED_RE = re.compile(r"SignedHeaders=([^,\s]+)")
_SIG_RE = re.compile(r"Signature=([0-9a-fA-F]+)")


class Credential:
    __slots__ = ("access_key", "date", "region", "service", "signed_headers", "signature",
                 "presigned", "session_token", "algorithm")

    def __init__(self, access_key="", date="", region="", service="", signed_headers="",
                 signature="", presigned=False, session_token=None, algorithm=""):
        self.access_key = access_key
        self.date = date
        self.region = region
        self.service = service
        self.signed_headers = signed_headers
        self.signature = signature
        self.presigned = presigned
        self.session_token = session_token
        self.algorithm = algorithm


def _split_scope(scope: str, cred: Credential) -> Credential:
    """AKID/date/region/service/aws4_request; SigV4a scopes have no region."""
    parts = scope.split("/")
    cred.access_key = parts[0]
    if len(parts) >= 5:
        cred.date, cred.region, cred.service = parts[1], parts[2], parts[3]
    elif len(parts) == 4:
        cred.date, cred.service = parts[1], parts[2]
    return cred


def parse_credential(headers: dict[str, str], params: list[tuple[str, str]]) -> Credential | None:
    auth = headers.get("authorization")
    if auth:
        if auth.startswith("AWS4-"):
            m = _V4_RE.search(auth)
            if m:
                cred = _split_scope(m.group(1), Credential(algorithm=auth.split(" ", 1)[0]))
                cred.signed_headers, cred.signature = m.group(2), m.group(3)
            else:
                m = _CRED_RE.search(auth)
                if not m:
                    return None
                cred = _split_scope(m.group(1), Credential(algorithm=auth.split(" ", 1)[0]))
                s = _SIGNED_RE.search(auth)
                g = _SIG_RE.search(auth)
                cred.signed_headers = s.group(1) if s else ""
                cred.signature = g.group(1) if g else ""
            cred.session_token = headers.get("x-amz-security-token")
            return cred
        if auth.startswith("AWS "):       # SigV2 (old S3 clients): "AWS AKID:signature"
            key, _, sig = auth[4:].partition(":")
            return Credential(access_key=key.strip(), signature=sig, algorithm="AWS",
                              session_token=headers.get("x-amz-security-token"))
        return None
    q = dict(params) if params else {}
    if "X-Amz-Credential" in q:
        cred = _split_scope(q["X-Amz-Credential"], Credential(presigned=True,
                                                             algorithm=q.get("X-Amz-Algorithm", "")))
        cred.signed_headers = q.get("X-Amz-SignedHeaders", "")
        cred.signature = q.get("X-Amz-Signature", "")
        cred.session_token = q.get("X-Amz-Security-Token")
        return cred
    if "AWSAccessKeyId" in q:            # SigV2 presigned
        return Credential(access_key=q["AWSAccessKeyId"], signature=q.get("Signature", ""),
                          presigned=True, algorithm="AWS")
    return None


def account_for_key(access_key: str) -> str:
    """A 12-digit access key id is the account id; any other key is the default account
    unless IAM or STS know it (see `principal_for`)."""
    return access_key if _ACCOUNT_RE.fullmatch(access_key or "") else DEFAULT_ACCOUNT


def principal_for(cred: Credential | None, store=None) -> Principal:
    """The caller.  Temporary credentials issued by STS resolve to their session; an
    expired or mismatched session token is refused as AWS refuses it."""
    if cred is None:
        return Principal(access_key="", account=DEFAULT_ACCOUNT, arn="", kind="anonymous")
    key = cred.access_key
    if store is not None and key[:4] == "ASIA":
        found = _sts_lookup(store, key)
        if found is not None:
            if found.get("session_token") is not None and cred.session_token != found["session_token"]:
                raise AwsError("InvalidClientTokenId",
                               "The security token included in the request is invalid.", 403)
            if found.get("expired"):
                raise AwsError("ExpiredToken", "The security token included in the request is expired", 400)
            return Principal(access_key=key, account=found["account"], arn=found.get("arn", ""),
                             user_id=found.get("user_id", ""),
                             kind=found.get("principal_kind") or found.get("kind", "session"),
                             session_token=cred.session_token)
    if store is not None and key[:4] == "AKIA":
        user = _iam_lookup(store, key)
        if user is not None:
            if user["status"] != "Active":
                raise AwsError("InvalidClientTokenId",
                               "The security token included in the request is invalid.", 403)
            return Principal(access_key=key, account=user["account"], arn=user["arn"],
                             user_id=user["user_id"], kind="user" if user.get("user_name") else "root",
                             session_token=cred.session_token)
    account = account_for_key(key)
    return Principal(access_key=key, account=account, arn=f"arn:aws:iam::{account}:root",
                     user_id=account, kind="root", session_token=cred.session_token)


def _iam_lookup(store, key: str):
    from haneul.services.iam.keys import lookup_access_key
    with store.lock:
        try:
            return lookup_access_key(store.conn, key)
        except sqlite3.OperationalError:   # IAM never ran here: nobody holds this key
            return None


def _sts_lookup(store, key: str):
    from haneul.services.sts.credentials import lookup
    with store.lock:
        try:
            return lookup(store.conn, key)
        except sqlite3.OperationalError:   # STS never ran here: nobody holds this key
            return None
