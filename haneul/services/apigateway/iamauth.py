"""AWS_IAM authorization of deployed APIs (REST methods and HTTP API routes): the caller's
SigV4 signature is checked against the secret Haneul holds for its access key, and the
caller becomes $context.identity.

Which keys are checked:
- access keys that IAM's CreateAccessKey issued, and temporary credentials that STS issued:
  the signature is verified with their secret, over the hash of the body as received;
  an inactive key, a wrong or missing session token, or an expired session is refused as
  AWS refuses it;
- any other key (the bare 12-digit account ids Haneul's tests and examples sign with,
  "test", ...): Haneul holds no secret for it, so only the form and the time of the
  signature are checked, and the caller is taken as the root of the key's account (a
  12-digit key is its account, any other key the default account), as identity.py treats
  such keys for every other service.

IAM policies are not evaluated here: a verified caller may invoke any AWS_IAM method.
Enforcing execute-api:Invoke permissions (identity and resource policies) is a later issue.
"""

from __future__ import annotations

import hashlib
import sqlite3

from haneul import identity, signing

# API Gateway's answers, by signing.SignatureError kind: (gateway response type, x-amzn-ErrorType)
_KINDS = {"incomplete": ("INVALID_SIGNATURE", "IncompleteSignatureException"),
          "mismatch": ("INVALID_SIGNATURE", "InvalidSignatureException"),
          "expired": ("INVALID_SIGNATURE", "InvalidSignatureException"),
          "not_yet_current": ("INVALID_SIGNATURE", "InvalidSignatureException")}
INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"


class Refused(Exception):
    """403: `response_type` is the gateway response, `error_type` the x-amzn-ErrorType."""

    def __init__(self, response_type: str, message: str, error_type: str):
        super().__init__(message)
        self.response_type = response_type
        self.message = message
        self.error_type = error_type


def missing() -> Refused:
    return Refused("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", "MissingAuthenticationTokenException")


def caller(store, req, region: str, now: float) -> dict:
    """The verified caller of `req` as $context.identity fields (accountId, caller, user,
    userArn, accessKey), or Refused."""
    pairs = signing.query_pairs(req.query)
    try:
        signed = signing.parse(req.headers, pairs)
        if signed is None:
            raise missing()
        if signed.service != "execute-api":
            raise signing.SignatureError("mismatch", "Credential should be scoped to correct service: "
                                                     "'execute-api'. ")
        if signed.region != region:
            raise signing.SignatureError("mismatch", f"Credential should be scoped to a valid region, not "
                                                     f"'{signed.region}'. ")
        signing.check_time(signed, now)
        secret, who = _key(store, signed, now)
        if secret is not None:
            # the body received is what was signed: a client's x-amz-content-sha256 (or its
            # UNSIGNED-PAYLOAD) is never taken on trust, so a replayed signature cannot carry
            # another body (it fails as a mismatch, the body's hash ending the canonical request)
            payload = hashlib.sha256(req.body or b"").hexdigest()
            signing.verify(signed, req.method, req.path, pairs, req.headers, payload, secret, now)
    except signing.SignatureError as err:
        response_type, error_type = _KINDS[err.kind]
        raise Refused(response_type, err.message, error_type) from None
    return who


def _key(store, signed: signing.Signed, now: float) -> tuple[str | None, dict]:
    """(the key's secret or None when Haneul holds none, the caller's identity fields)."""
    key = signed.access_key
    if key[:4] == "ASIA":
        found = _lookup(store, "haneul.services.sts.credentials", "lookup", key)
        if found is not None:
            if signed.session_token != found.get("session_token"):
                raise Refused("DEFAULT_4XX", INVALID_TOKEN, "UnrecognizedClientException")
            if now >= found["expiration"]:
                raise Refused("EXPIRED_TOKEN", EXPIRED_TOKEN, "ExpiredTokenException")
            return found["secret_access_key"], _who(key, found["account"], found.get("user_id") or found["account"],
                                                    found.get("arn") or None)
    elif key[:4] == "AKIA":
        found = _lookup(store, "haneul.services.iam.keys", "lookup_access_key", key)
        if found is not None:
            if found["status"] != "Active" or signed.session_token:
                raise Refused("DEFAULT_4XX", INVALID_TOKEN, "UnrecognizedClientException")
            return found["secret"], _who(key, found["account"], found["user_id"], found["arn"])
    account = identity.account_for_key(key)
    return None, _who(key, account, account, f"arn:aws:iam::{account}:root")


def _who(key: str, account: str, user_id: str, arn: str | None) -> dict:
    return {"accountId": account, "caller": user_id, "user": user_id, "userArn": arn, "accessKey": key}


def _lookup(store, module: str, name: str, key: str):
    import importlib
    fn = getattr(importlib.import_module(module), name)
    with store.lock:
        try:
            return fn(store.conn, key)
        except sqlite3.OperationalError:     # that service never ran here: nobody holds this key
            return None
