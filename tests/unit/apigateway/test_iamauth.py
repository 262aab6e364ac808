"""AWS_IAM callers: which keys are verified, and what each refusal says (with a controllable
clock, so a session's expiry needs no waiting)."""

from __future__ import annotations

import calendar
import hashlib
import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from haneul.protocol.message import HttpRequest
from haneul.services.apigateway import iamauth

SESSION = {"account": "111122223333", "arn": "arn:aws:sts::111122223333:assumed-role/r/s",
           "user_id": "AROAEXAMPLE:s", "session_token": "TOKEN", "secret_access_key": "SECRET"}


def _request(key, secret, token=None, method="GET", body=b"", headers=None):
    req = AWSRequest(method=method, url="http://abc.execute-api.localhost:4566/dev/x?a=1", data=body,
                     headers=headers or {})
    SigV4Auth(Credentials(key, secret, token), "execute-api", "us-east-1").add_auth(req)
    p = req.prepare()
    parts = urlsplit(p.url)
    headers = {k.lower(): v for k, v in p.headers.items()}
    headers["host"] = parts.netloc
    when = calendar.timegm(time.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ"))
    return HttpRequest(method, parts.path, parts.query, headers, body), when


@pytest.fixture
def keys(monkeypatch):
    held = {}
    monkeypatch.setattr(iamauth, "_lookup", lambda store, module, name, key: held.get(key))
    return held


def test_session_credentials(keys):
    keys["ASIAEXAMPLE"] = dict(SESSION, expiration=2e9)
    req, when = _request("ASIAEXAMPLE", "SECRET", "TOKEN")
    assert iamauth.caller(None, req, "us-east-1", when) == {
        "accountId": "111122223333", "caller": "AROAEXAMPLE:s", "user": "AROAEXAMPLE:s",
        "userArn": "arn:aws:sts::111122223333:assumed-role/r/s", "accessKey": "ASIAEXAMPLE"}
    keys["ASIAEXAMPLE"]["expiration"] = when - 1
    with pytest.raises(iamauth.Refused) as e:
        iamauth.caller(None, req, "us-east-1", when)
    assert (e.value.response_type, e.value.message, e.value.error_type) == (
        "EXPIRED_TOKEN", "The security token included in the request is expired", "ExpiredTokenException")


def test_user_keys_and_refusals(keys):
    keys["AKIAEXAMPLE"] = {"account": "111122223333", "user_id": "AIDAEXAMPLE", "status": "Active",
                           "arn": "arn:aws:iam::111122223333:user/u", "secret": "S"}
    req, when = _request("AKIAEXAMPLE", "S")
    assert iamauth.caller(None, req, "us-east-1", when)["userArn"] == "arn:aws:iam::111122223333:user/u"
    with pytest.raises(iamauth.Refused) as e:
        iamauth.caller(None, req, "us-west-2", when)
    assert e.value.message == "Credential should be scoped to a valid region, not 'us-east-1'. "
    with pytest.raises(iamauth.Refused) as e:
        iamauth.caller(None, _request("AKIAEXAMPLE", "nope")[0], "us-east-1", when)
    assert (e.value.response_type, e.value.error_type) == ("INVALID_SIGNATURE", "InvalidSignatureException")
    # a long-term key with a session token, or an inactive key: the token is invalid
    with pytest.raises(iamauth.Refused, match="The security token included in the request is invalid."):
        iamauth.caller(None, _request("AKIAEXAMPLE", "S", "T")[0], "us-east-1", when)
    keys["AKIAEXAMPLE"]["status"] = "Inactive"
    with pytest.raises(iamauth.Refused) as e:
        iamauth.caller(None, req, "us-east-1", when)
    assert e.value.error_type == "UnrecognizedClientException"


def test_keys_haneul_holds_no_secret_for(keys):
    req, when = _request("444455556666", "whatever")
    assert iamauth.caller(None, req, "us-east-1", when)["userArn"] == "arn:aws:iam::444455556666:root"
    req, when = _request("test", "test")
    assert iamauth.caller(None, req, "us-east-1", when)["accountId"] == "000000000000"
    with pytest.raises(iamauth.Refused) as e:           # the date is still checked
        iamauth.caller(None, req, "us-east-1", when + 600)
    assert e.value.message.startswith("Signature expired: ")
    with pytest.raises(iamauth.Refused) as e:
        iamauth.caller(None, HttpRequest("GET", "/dev/x", "", {"host": "h"}, b""), "us-east-1", when)
    assert e.value.response_type == "MISSING_AUTHENTICATION_TOKEN"


def test_the_body_received_is_what_is_verified(keys):
    keys["AKIAEXAMPLE"] = {"account": "111122223333", "user_id": "AIDAEXAMPLE", "status": "Active",
                           "arn": "arn:aws:iam::111122223333:user/u", "secret": "S"}
    req, when = _request("AKIAEXAMPLE", "S", method="POST", body=b'{"a":1}')
    assert iamauth.caller(None, req, "us-east-1", when)["user"] == "AIDAEXAMPLE"
    # the captured signature replayed with another body, the header claiming the signed body's hash
    signed_hash = hashlib.sha256(b'{"a":1}').hexdigest()
    replay = HttpRequest("POST", req.path, req.query, dict(req.headers, **{"x-amz-content-sha256": signed_hash}),
                         b'{"a":2}')
    with pytest.raises(iamauth.Refused) as e:
        iamauth.caller(None, replay, "us-east-1", when)
    assert e.value.error_type == "InvalidSignatureException" and e.value.message.startswith(
        "The request signature we calculated does not match the signature you provided.")
    # a header that matches the body is fine; UNSIGNED-PAYLOAD is not a way out of hashing the body
    req, when = _request("AKIAEXAMPLE", "S", method="POST", body=b'{"a":1}',
                         headers={"x-amz-content-sha256": signed_hash})
    assert iamauth.caller(None, req, "us-east-1", when)["user"] == "AIDAEXAMPLE"
    req, when = _request("AKIAEXAMPLE", "S", method="POST", body=b'{"a":1}',
                         headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    with pytest.raises(iamauth.Refused, match="does not match the signature you provided"):
        iamauth.caller(None, req, "us-east-1", when)
