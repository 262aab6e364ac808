"""RS256 and ES384 JSON Web Signatures for GetWebIdentityToken, on `cryptography`.

Keys are plain dicts of ints so they serialize to the store as JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

# -- encoding helpers ---------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(value: int, size: int | None = None) -> bytes:
    return value.to_bytes(size or max(1, (value.bit_length() + 7) // 8), "big")


# -- keys: `cryptography` does the mathematics ----------------------------------------------
def rsa_generate(bits: int = 2048) -> dict:
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=bits).private_numbers()
    pub = numbers.public_numbers
    return {"kty": "RSA", "n": pub.n, "e": pub.e, "d": numbers.d, "p": numbers.p, "q": numbers.q}


def _rsa_private(key: dict):
    p, q, d = key["p"], key["q"], key["d"]
    return rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(key["e"], key["n"])).private_key()


def rsa_sign_sha256(key: dict, message: bytes) -> bytes:
    return _rsa_private(key).sign(message, padding.PKCS1v15(), hashes.SHA256())


def rsa_verify_sha256(public: dict, message: bytes, signature: bytes) -> bool:
    try:
        rsa.RSAPublicNumbers(public["e"], public["n"]).public_key().verify(
            signature, message, padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def ec_generate() -> dict:
    numbers = ec.generate_private_key(ec.SECP384R1()).private_numbers()
    return {"kty": "EC", "crv": "P-384", "d": numbers.private_value,
            "x": numbers.public_numbers.x, "y": numbers.public_numbers.y}


def ec_sign_sha384(key: dict, message: bytes) -> bytes:
    """JWS wants r || s, 48 bytes each, not DER."""
    private = ec.derive_private_key(key["d"], ec.SECP384R1())
    r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA384())))
    return _int_bytes(r, 48) + _int_bytes(s, 48)


def ec_verify_sha384(public: dict, message: bytes, signature: bytes) -> bool:
    if len(signature) != 96:
        return False
    r, s = int.from_bytes(signature[:48], "big"), int.from_bytes(signature[48:], "big")
    try:
        ec.EllipticCurvePublicNumbers(public["x"], public["y"], ec.SECP384R1()).public_key().verify(
            encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA384()))
        return True
    except (InvalidSignature, ValueError):
        return False


# -- JWK / JWT ----------------------------------------------------------------------------
ALGORITHMS = ("RS256", "ES384")


def generate(algorithm: str) -> dict:
    return rsa_generate() if algorithm == "RS256" else ec_generate()


def public_jwk(key: dict, algorithm: str) -> dict:
    if key["kty"] == "RSA":
        members = {"e": b64url(_int_bytes(key["e"])), "kty": "RSA", "n": b64url(_int_bytes(key["n"]))}
    else:
        members = {"crv": "P-384", "kty": "EC", "x": b64url(_int_bytes(key["x"], 48)),
                   "y": b64url(_int_bytes(key["y"], 48))}
    # RFC 7638 thumbprint: SHA-256 over the required members, sorted, no whitespace.
    kid = b64url(hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode()).digest())
    return {**members, "kid": kid, "use": "sig", "alg": algorithm}


def sign_jwt(key: dict, algorithm: str, kid: str, claims: dict) -> str:
    header = {"alg": algorithm, "typ": "JWT", "kid": kid}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url(json.dumps(claims, separators=(",", ":")).encode()))
    sign = rsa_sign_sha256 if algorithm == "RS256" else ec_sign_sha384
    return signing_input + "." + b64url(sign(key, signing_input.encode("ascii")))


def verify_jwt(token: str, jwk: dict) -> dict | None:
    """The claims of `token` if its signature verifies with the public `jwk`, else None."""
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        signature = b64url_decode(signature_b64)
        signing_input = f"{header_b64}.{claims_b64}".encode("ascii")
        if header.get("alg") != jwk.get("alg"):
            return None
        if jwk["kty"] == "RSA":
            public = {"n": int.from_bytes(b64url_decode(jwk["n"]), "big"),
                      "e": int.from_bytes(b64url_decode(jwk["e"]), "big")}
            ok = rsa_verify_sha256(public, signing_input, signature)
        else:
            public = {"x": int.from_bytes(b64url_decode(jwk["x"]), "big"),
                      "y": int.from_bytes(b64url_decode(jwk["y"]), "big")}
            ok = ec_verify_sha384(public, signing_input, signature)
        return json.loads(b64url_decode(claims_b64)) if ok else None
    except (ValueError, KeyError, TypeError):
        return None
