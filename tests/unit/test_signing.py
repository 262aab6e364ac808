"""SigV4 verification: AWS's published vectors, and requests signed by botocore's own signer
(header and presigned forms) verified, then tampered with."""

from __future__ import annotations

import calendar
import hashlib
import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from haneul import signing

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def test_published_vectors():
    # the signing key example of AWS's General Reference, and the get-vanilla suite case
    assert signing.signing_key(SECRET, "20120215", "us-east-1", "iam").hex() == \
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    headers = {"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}
    canonical = signing.canonical_request("GET", "/", [], headers, ["host", "x-amz-date"], signing.EMPTY_SHA256)
    to_sign = signing.string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", canonical)
    key = signing.signing_key(SECRET, "20150830", "us-east-1", "service")
    assert signing.hmac_hex(key, to_sign) == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def _botocore(method, url, body=b"", headers=None, token=None, presign=False, expires=3600):
    creds = Credentials("AKIDEXAMPLE", SECRET, token)
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    (SigV4QueryAuth(creds, "execute-api", "eu-west-1", expires=expires) if presign
     else SigV4Auth(creds, "execute-api", "eu-west-1")).add_auth(req)
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    sent = {k.lower(): v for k, v in prepared.headers.items()}
    sent["host"] = parts.netloc
    return method, parts.path, parts.query, sent, body


def _check(method, path, query, headers, body, secret=SECRET, now=None):
    pairs = signing.query_pairs(query)
    signed = signing.parse(headers, pairs)
    assert signed is not None
    payload = headers.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    signing.verify(signed, method, path, pairs, headers, payload, secret, time.time() if now is None else now)
    return signed


@pytest.mark.parametrize("url", [
    "http://abc.execute-api.localhost:4566/dev/hello",
    "http://abc.execute-api.localhost:4566/dev/a%20b/%C3%A9t%C3%A9?name=sky&x=1&x=0&empty=&sp=a%20b&t=%2B~",
    "http://localhost:4566/_aws/execute-api/abc/dev/",
    "http://localhost:4566/_aws/execute-api/abc/dev/./x/../y//z",
])
def test_botocore_signed_requests_verify(url):
    signed = _check(*_botocore("GET", url))
    assert (signed.access_key, signed.region, signed.service) == ("AKIDEXAMPLE", "eu-west-1", "execute-api")
    assert not signed.presigned


def test_body_token_and_presigned():
    signed = _check(*_botocore("POST", "http://h:1/dev/items", b'{"a": 1}', {"Content-Type": "application/json"},
                               token="TOKEN/+="))
    assert signed.session_token == "TOKEN/+="
    signed = _check(*_botocore("GET", "http://h:1/dev/items?q=1", presign=True, token="T", expires=60))
    assert signed.presigned and signed.expires == 60 and signed.session_token == "T"


def test_tampering_and_wrong_secret_mismatch():
    method, path, query, headers, body = _botocore("POST", "http://h:1/dev/items?q=1", b"{}")
    cases = [(method, path, query, headers, b"{ }", SECRET), (method, path + "x", query, headers, body, SECRET),
             (method, path, "q=2", headers, body, SECRET), ("PUT", path, query, headers, body, SECRET),
             (method, path, query, dict(headers, host="other:1"), body, SECRET),
             (method, path, query, headers, body, "another-secret")]
    for case in cases:
        with pytest.raises(signing.SignatureError) as e:
            _check(*case)
        assert e.value.kind == "mismatch"
        assert e.value.message.startswith("The request signature we calculated does not match the signature you "
                                          "provided. Check your AWS Secret Access Key and signing method.")
        assert "\n\nThe Canonical String for this request should have been\n'" in e.value.message
        assert "\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" in e.value.message


def test_clock_skew_and_presigned_expiry():
    method, path, query, headers, body = _botocore("GET", "http://h:1/dev/x")
    when = calendar.timegm(time.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ"))
    _check(method, path, query, headers, body, now=when + 299)
    with pytest.raises(signing.SignatureError) as e:
        _check(method, path, query, headers, body, now=when + 301)
    stamp = headers["x-amz-date"]
    assert e.value.kind == "expired"
    assert e.value.message == (f"Signature expired: {stamp} is now earlier than {signing._stamp(when + 1)} "
                               f"({signing._stamp(when + 301)} - 5 min.)")
    with pytest.raises(signing.SignatureError) as e:
        _check(method, path, query, headers, body, now=when - 301)
    assert e.value.kind == "not_yet_current" and e.value.message.startswith(
        f"Signature not yet current: {stamp} is still later than {signing._stamp(when - 1)} (")
    presigned = _botocore("GET", "http://h:1/dev/x", presign=True, expires=900)
    _check(*presigned, now=when + 899)
    with pytest.raises(signing.SignatureError) as e:
        _check(*presigned, now=when + 901)
    assert e.value.kind == "expired" and e.value.message.endswith(" - 900 sec.)")


def test_incomplete_headers_and_queries():
    with pytest.raises(signing.SignatureError) as e:
        signing.parse({"authorization": "Bearer eyJ0"}, [])
    assert e.value.kind == "incomplete" and e.value.message == (
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
        "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires "
        "existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer eyJ0")
    auth = "AWS4-HMAC-SHA256 Credential=AKID /20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host, " \
           "Signature=ab"
    with pytest.raises(signing.SignatureError) as e:
        signing.parse({"authorization": auth, "x-amz-date": "20240101T000000Z"}, [])
    assert "not a valid key=value pair (missing equal-sign) in Authorization header" in e.value.message
    with pytest.raises(signing.SignatureError) as e:
        signing.parse({}, [("X-Amz-Credential", "AKID/20240101/us-east-1/execute-api/aws4_request")])
    assert e.value.message == ("AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string "
                               "parameters must include 'X-Amz-Signature'. AWS query-string parameters must include "
                               "'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. "
                               "Re-examine the query-string parameters.")
    ok = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host, " \
         "Signature=AB"
    with pytest.raises(signing.SignatureError) as e:
        signing.parse({"authorization": ok, "x-amz-date": "20240102T000000Z"}, [])
    assert e.value.message == ("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                               "HTTP: '20240101' != '20240102', from '20240102T000000Z'.")
    with pytest.raises(signing.SignatureError) as e:
        signing.parse({"authorization": ok.replace("aws4_request", "aws5"), "x-amz-date": "20240101T000000Z"}, [])
    assert "valid terminator" in e.value.message
    # the Date header stands in for X-Amz-Date
    signed = signing.parse({"authorization": ok, "date": "Mon, 01 Jan 2024 00:00:00 GMT"}, [])
    assert signed.amz_date == "20240101T000000Z" and signed.signature == "ab"
    assert signing.parse({"host": "h"}, [("a", "b")]) is None


def test_host_must_be_signed_and_only_hmac_sha256():
    signed = signing.parse({"authorization": "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, "
                                             "SignedHeaders=x-amz-date, Signature=00",
                            "x-amz-date": "20240101T000000Z"}, [])
    with pytest.raises(signing.SignatureError, match="'Host' or ':authority' must be a 'SignedHeader'"):
        signing.verify(signed, "GET", "/", [], {}, signing.EMPTY_SHA256, SECRET, 1704067200)
    signed.algorithm = "AWS4-ECDSA-P256-SHA256"
    with pytest.raises(signing.SignatureError, match="Unsupported AWS 'algorithm'"):
        signing.verify(signed, "GET", "/", [], {}, signing.EMPTY_SHA256, SECRET, 1704067200)


def test_canonical_uri_forms():
    assert signing.canonical_uri("/a%20b/./c/../d//e/") == "/a%2520b/d/e/"
    assert signing.canonical_uri("/a%20b/./c", normalize=False, double_encode=False) == "/a%20b/./c"
    assert signing.canonical_uri("") == "/"
    assert signing.canonical_query([("b", "2"), ("a", "x y"), ("a", "1"), ("X-Amz-Signature", "s")]) == \
        "a=1&a=x%20y&b=2"


def test_s3_signing_rules_for_later_reuse():
    """S3 signs the path as sent (no normalizing, no second encoding) and names its payload
    hash in x-amz-content-sha256: verify() takes both as parameters."""
    from botocore.auth import S3SigV4Auth
    req = AWSRequest(method="PUT", url="http://s3.localhost:4566/bucket/a%20b/./c//d", data=b"body")
    S3SigV4Auth(Credentials("AKIDEXAMPLE", SECRET), "s3", "us-east-1").add_auth(req)
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers["host"] = parts.netloc
    signed = signing.parse(headers, [])
    assert headers["x-amz-content-sha256"] == hashlib.sha256(b"body").hexdigest()
    signing.verify(signed, "PUT", parts.path, [], headers, headers["x-amz-content-sha256"], SECRET, time.time(),
                   normalize=False, double_encode=False)
    with pytest.raises(signing.SignatureError):      # the rules of every other service do not fit S3
        signing.verify(signed, "PUT", parts.path, [], headers, headers["x-amz-content-sha256"], SECRET, time.time())


def test_malformed_dates_are_incomplete_signatures():
    # digits in the right places but no real instant: month 13, hour 25
    for stamp in ("20261327T000000Z", "20260101T250000Z"):
        auth = f"AWS4-HMAC-SHA256 Credential=AKID/{stamp[:8]}/us-east-1/execute-api/aws4_request, " \
               "SignedHeaders=host, Signature=ab"
        with pytest.raises(signing.SignatureError) as e:
            signing.parse({"authorization": auth, "x-amz-date": stamp}, [])
        assert e.value.kind == "incomplete" and e.value.message.startswith(
            f"Date must be in ISO-8601 'basic format'. Got '{stamp}'.")
    # a Date header with a year no clock holds counts as no date at all
    auth = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host, " \
           "Signature=ab"
    for date in ("Mon, 01 Jan 99999 00:00:00 GMT", "Mon, 01 Jan 9999999999999 00:00:00 GMT"):
        with pytest.raises(signing.SignatureError) as e:
            signing.parse({"authorization": auth, "date": date}, [])
        assert e.value.kind == "incomplete" and "requires existence of either a 'X-Amz-Date' or a 'Date'" in \
            e.value.message
