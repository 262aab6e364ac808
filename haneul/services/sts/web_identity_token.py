"""GetWebIdentityToken: signed JWTs that describe the caller, and the keys to verify them.

Each account gets one RS256 and one ES384 key, created on first use and kept in the
store.  The issuer is IAM's (EnableOutboundWebIdentityFederation) when IAM keeps a record,
otherwise `{endpoint}/_haneul/sts/{account}`; whoever serves that URL answers
`/.well-known/openid-configuration` with `openid_configuration()` and
`/.well-known/jwks.json` with `jwks()`.
"""

from __future__ import annotations

import json
import sqlite3
import uuid

from haneul.services.sts import jwt_signing

CLAIMS_NAMESPACE = "https://sts.amazonaws.com/"
MAX_PAYLOAD_BYTES = 16384


def default_issuer(endpoint: str, account: str) -> str:
    return f"{endpoint.rstrip('/')}/_haneul/sts/{account}"


def signing_key(db: sqlite3.Connection, account: str, algorithm: str, now: float) -> tuple[dict, str]:
    """(private key, kid) for the account and algorithm, generated on first use."""
    row = db.execute("SELECT kid, private_key FROM sts_signing_key WHERE account=? AND algorithm=?",
                     (account, algorithm)).fetchone()
    if row is not None:
        return {k: v for k, v in json.loads(row["private_key"]).items()}, row["kid"]
    key = jwt_signing.generate(algorithm)
    kid = jwt_signing.public_jwk(key, algorithm)["kid"]
    db.execute("INSERT INTO sts_signing_key(account, algorithm, kid, private_key, created) VALUES(?, ?, ?, ?, ?)",
               (account, algorithm, kid, json.dumps(key), now))
    return key, kid


def jwks(db: sqlite3.Connection, account: str) -> dict:
    """The public keys of `account` as a JWK Set."""
    rows = db.execute("SELECT algorithm, private_key FROM sts_signing_key WHERE account=? ORDER BY algorithm",
                      (account,)).fetchall()
    return {"keys": [jwt_signing.public_jwk(json.loads(r["private_key"]), r["algorithm"]) for r in rows]}


def openid_configuration(issuer: str) -> dict:
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(jwt_signing.ALGORITHMS),
        "claims_supported": ["aud", "exp", "iat", "iss", "jti", "sub", CLAIMS_NAMESPACE],
    }


def build_claims(*, issuer: str, audience: list[str], subject: str, now: int, duration: int, account: str,
                 region: str, principal_arn: str, principal_tags: dict[str, str],
                 request_tags: dict[str, str], source_identity: str | None) -> dict:
    aws = {"aws_account": account, "source_region": region, "principal_id": principal_arn}
    if principal_tags:
        aws["principal_tags"] = principal_tags
    if request_tags:
        aws["request_tags"] = request_tags
    if source_identity:
        aws["source_identity"] = source_identity
    return {
        "iss": issuer,
        "aud": audience[0] if len(audience) == 1 else audience,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + duration,
        "jti": str(uuid.uuid4()),
        CLAIMS_NAMESPACE: aws,
    }


def sign(db: sqlite3.Connection, account: str, algorithm: str, claims: dict, now: float) -> str:
    key, kid = signing_key(db, account, algorithm, now)
    return jwt_signing.sign_jwt(key, algorithm, kid, claims)
