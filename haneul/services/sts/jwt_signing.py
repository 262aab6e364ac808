"""RS256 and ES384 JSON Web Signatures in pure Python (no `cryptography` dependency).

Small and slow by crypto-library standards, but GetWebIdentityToken signs one short
token per call and keys are generated once per account.  Keys are plain dicts of ints so
they serialize to the store as JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

# -- encoding helpers ---------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(value: int, size: int | None = None) -> bytes:
    return value.to_bytes(size or max(1, (value.bit_length() + 7) // 8), "big")


# -- RSA (RS256) --------------------------------------------------------------------------
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _probably_prime(n: int, rounds: int = 24) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, e: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if _probably_prime(candidate) and (candidate - 1) % e:
            return candidate


def rsa_generate(bits: int = 2048) -> dict:
    e = 65537
    while True:
        p, q = _prime(bits // 2, e), _prime(bits // 2, e)
        n = p * q
        if p != q and n.bit_length() == bits:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    return {"kty": "RSA", "n": n, "e": e, "d": d, "p": p, "q": q}


def rsa_sign_sha256(key: dict, message: bytes) -> bytes:
    size = (key["n"].bit_length() + 7) // 8
    digest = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    encoded = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
    m = int.from_bytes(encoded, "big")
    p, q, d = key["p"], key["q"], key["d"]
    # Chinese remainder theorem: four times faster than pow(m, d, n).
    m1, m2 = pow(m, d % (p - 1), p), pow(m, d % (q - 1), q)
    h = (pow(q, -1, p) * (m1 - m2)) % p
    return _int_bytes(m2 + h * q, size)


def rsa_verify_sha256(public: dict, message: bytes, signature: bytes) -> bool:
    size = (public["n"].bit_length() + 7) // 8
    if len(signature) != size:
        return False
    encoded = _int_bytes(pow(int.from_bytes(signature, "big"), public["e"], public["n"]), size)
    digest = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    return encoded == b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest


# -- ECDSA P-384 (ES384) ------------------------------------------------------------------
P384_P = 2**384 - 2**128 - 2**96 + 2**32 - 1
P384_B = int("b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a"
             "c656398d8a2ed19d2a85c8edd3ec2aef", 16)
P384_N = int("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
             "581a0db248b0a77aecec196accc52973", 16)
P384_G = (int("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38"
              "5502f25dbf55296c3a545e3872760ab7", 16),
          int("3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0"
              "0a60b1ce1d7e819d7a431d7c90ea0e5f", 16))


def _ec_add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    p = P384_P
    if a[0] == b[0]:
        if (a[1] + b[1]) % p == 0:
            return None
        slope = (3 * a[0] * a[0] - 3) * pow(2 * a[1], -1, p) % p
    else:
        slope = (b[1] - a[1]) * pow(b[0] - a[0], -1, p) % p
    x = (slope * slope - a[0] - b[0]) % p
    return x, (slope * (a[0] - x) - a[1]) % p


def ec_multiply(k: int, point=P384_G):
    result, addend = None, point
    while k:
        if k & 1:
            result = _ec_add(result, addend)
        addend = _ec_add(addend, addend)
        k >>= 1
    return result


def ec_on_curve(point) -> bool:
    x, y = point
    return (y * y - (x * x * x - 3 * x + P384_B)) % P384_P == 0


def ec_generate() -> dict:
    d = secrets.randbelow(P384_N - 1) + 1
    x, y = ec_multiply(d)
    return {"kty": "EC", "crv": "P-384", "d": d, "x": x, "y": y}


def ec_sign_sha384(key: dict, message: bytes) -> bytes:
    z = int.from_bytes(hashlib.sha384(message).digest(), "big")
    while True:
        k = secrets.randbelow(P384_N - 1) + 1
        r = ec_multiply(k)[0] % P384_N
        s = pow(k, -1, P384_N) * (z + r * key["d"]) % P384_N
        if r and s:
            return _int_bytes(r, 48) + _int_bytes(s, 48)


def ec_verify_sha384(public: dict, message: bytes, signature: bytes) -> bool:
    if len(signature) != 96:
        return False
    r, s = int.from_bytes(signature[:48], "big"), int.from_bytes(signature[48:], "big")
    if not (0 < r < P384_N and 0 < s < P384_N):
        return False
    z = int.from_bytes(hashlib.sha384(message).digest(), "big")
    w = pow(s, -1, P384_N)
    point = _ec_add(ec_multiply(z * w % P384_N), ec_multiply(r * w % P384_N, (public["x"], public["y"])))
    return point is not None and point[0] % P384_N == r


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
