"""JWT authorizers: a bearer token verified against the issuer's JWKS (RS*/ES*/PS*
signatures, iss, aud or client_id, exp, nbf) and the route's scopes."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.request

_JWKS: dict[str, tuple[float, dict]] = {}
_TTL = 300.0


class JwtRejected(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fetch_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


async def jwks_for(issuer: str) -> dict:
    cached = _JWKS.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]

    def load():
        base = issuer.rstrip("/")
        try:
            config = _fetch_json(base + "/.well-known/openid-configuration")
            uri = config.get("jwks_uri") or base + "/.well-known/jwks.json"
        except Exception:
            uri = base + "/.well-known/jwks.json"
        return _fetch_json(uri)
    try:
        keys = await asyncio.to_thread(load)
    except Exception:
        raise JwtRejected(401, "Unauthorized") from None
    _JWKS[issuer] = (time.monotonic() + _TTL, keys)
    return keys


def _public_key(jwk: dict):
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    if jwk.get("kty") == "RSA":
        n = int.from_bytes(_b64(jwk["n"]), "big")
        e = int.from_bytes(_b64(jwk["e"]), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if jwk.get("kty") == "EC":
        curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}[jwk["crv"]]
        x = int.from_bytes(_b64(jwk["x"]), "big")
        y = int.from_bytes(_b64(jwk["y"]), "big")
        return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
    raise ValueError("unsupported key type")


def _verify(alg: str, key, signing_input: bytes, signature: bytes) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    digest = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[alg[2:]]
    if alg.startswith("RS"):
        key.verify(signature, signing_input, padding.PKCS1v15(), digest)
    elif alg.startswith("PS"):
        key.verify(signature, signing_input, padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size),
                   digest)
    elif alg.startswith("ES"):
        half = len(signature) // 2
        der = encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
        key.verify(der, signing_input, ec.ECDSA(digest))
    else:
        raise ValueError("unsupported algorithm")


async def validate(token: str, config: dict, scopes: list[str] | None) -> dict:
    """The token's claims, or JwtRejected (401 bad token, 403 missing scope)."""
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    try:
        head_b64, body_b64, sig_b64 = token.split(".")
        header = json.loads(_b64(head_b64))
        claims = json.loads(_b64(body_b64))
        signature = _b64(sig_b64)
    except (ValueError, TypeError, RecursionError):
        raise JwtRejected(401, "Unauthorized") from None
    issuer = config.get("Issuer") or ""
    if claims.get("iss") != issuer:
        raise JwtRejected(401, "Unauthorized")
    keys = (await jwks_for(issuer)).get("keys") or []
    jwk = next((k for k in keys if k.get("kid") == header.get("kid")), None)
    if jwk is None and len(keys) == 1 and not header.get("kid"):
        jwk = keys[0]
    if jwk is None:
        raise JwtRejected(401, "Unauthorized")
    try:
        _verify(header.get("alg", ""), _public_key(jwk), f"{head_b64}.{body_b64}".encode(), signature)
    except Exception:
        raise JwtRejected(401, "Unauthorized") from None
    now = time.time()
    if "exp" in claims and now >= float(claims["exp"]):
        raise JwtRejected(401, "Unauthorized")
    if "nbf" in claims and now < float(claims["nbf"]):
        raise JwtRejected(401, "Unauthorized")
    audience = config.get("Audience") or []
    if audience:
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud] if aud else []
        if not (set(auds) & set(audience)) and claims.get("client_id") not in audience:
            raise JwtRejected(401, "Unauthorized")
    if scopes:
        granted = set(str(claims.get("scope") or claims.get("scp") or "").split())
        if isinstance(claims.get("scp"), list):
            granted |= set(claims["scp"])
        if not granted & set(scopes):
            raise JwtRejected(403, "Forbidden")
    return claims
