"""The RS256 / ES384 signer behind GetWebIdentityToken."""

import json

import pytest

from haneul.services.sts import jwt_signing as jws


def test_ec_key_public_point_belongs_to_its_private_value():
    from cryptography.hazmat.primitives.asymmetric import ec
    key = jws.ec_generate()
    derived = ec.derive_private_key(key["d"], ec.SECP384R1()).public_key().public_numbers()
    assert (derived.x, derived.y) == (key["x"], key["y"])


@pytest.mark.parametrize("algorithm", jws.ALGORITHMS)
def test_sign_and_verify(algorithm):
    key = jws.generate(algorithm)
    jwk = jws.public_jwk(key, algorithm)
    token = jws.sign_jwt(key, algorithm, jwk["kid"], {"sub": "me", "n": 1})
    assert jws.verify_jwt(token, jwk) == {"sub": "me", "n": 1}
    header, claims, signature = token.split(".")
    forged = jws.b64url(json.dumps({"sub": "you", "n": 1}, separators=(",", ":")).encode())
    assert jws.verify_jwt(f"{header}.{forged}.{signature}", jwk) is None
    other = jws.public_jwk(jws.generate(algorithm), algorithm)
    assert jws.verify_jwt(token, other) is None
    assert jws.verify_jwt("a.b", jwk) is None


def test_jwk_shapes():
    rsa_jwk = jws.public_jwk(jws.rsa_generate(), "RS256")
    assert rsa_jwk["kty"] == "RSA" and rsa_jwk["e"] == "AQAB" and rsa_jwk["alg"] == "RS256"
    assert len(jws.b64url_decode(rsa_jwk["n"])) == 256
    ec_jwk = jws.public_jwk(jws.ec_generate(), "ES384")
    assert ec_jwk["crv"] == "P-384" and len(jws.b64url_decode(ec_jwk["x"])) == 48
    assert ec_jwk["use"] == "sig" and len(jws.b64url_decode(ec_jwk["kid"])) == 32


def test_rfc7638_thumbprint_example():
    # The RSA key of RFC 7638 section 3.1 and its published thumbprint.
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
         "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZ"
         "Hzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kE"
         "gU8awapJzKnqDKgw")
    key = {"kty": "RSA", "n": int.from_bytes(jws.b64url_decode(n), "big"), "e": 65537}
    assert jws.public_jwk(key, "RS256")["kid"] == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_rs256_interoperates_with_the_rsa_package():
    rsa = pytest.importorskip("rsa")
    key = jws.rsa_generate()
    signature = jws.rsa_sign_sha256(key, b"payload")
    assert rsa.verify(b"payload", signature, rsa.PublicKey(key["n"], key["e"])) == "SHA-256"
    _, private = rsa.newkeys(1024)
    assert jws.rsa_verify_sha256({"n": private.n, "e": private.e}, b"x", rsa.sign(b"x", private, "SHA-256"))
