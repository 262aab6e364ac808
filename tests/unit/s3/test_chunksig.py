"""aws-chunked chunk signatures, checked against AWS's published example (Signature
Version 4, "Transferring payload in multiple chunks": 64 KiB then 1 KiB of "a")."""

import pytest

from haneul import signing
from haneul.errors import AwsError
from haneul.services.s3 import bodies, chunksig

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
WIRE = (b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
        + b"a" * 65536 + b"\r\n"
        b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
        + b"a" * 1024 + b"\r\n"
        b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
HEADERS = {"authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                            "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                            f"x-amz-decoded-content-length;x-amz-storage-class,Signature={SEED}",
           "x-amz-date": "20130524T000000Z", "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}


def _decode(wire, secret=SECRET, step=1000):
    signed = signing.parse(HEADERS, [])
    decoder = bodies.ChunkedDecoder(chunksig.ChunkSignatures(signed, secret))
    out = []
    for i in range(0, len(wire), step):          # chunks and their headers split anywhere
        out += decoder.feed(wire[i:i + step])
    decoder.finish()
    return b"".join(out)


def test_the_published_example_verifies_however_it_arrives():
    assert _decode(WIRE) == b"a" * 66560
    assert _decode(WIRE, step=7) == b"a" * 66560


@pytest.mark.parametrize("wire, secret", [
    (WIRE.replace(b"a" * 1024, b"b" * 1024), SECRET),          # data changed
    (WIRE.replace(b"ad80c730", b"00000000"), SECRET),          # a chunk signature changed
    (WIRE.replace(b";chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497", b""), SECRET),
    (WIRE, "another-secret"),
])
def test_any_change_is_signature_does_not_match(wire, secret):
    with pytest.raises(AwsError) as err:
        _decode(wire, secret)
    assert (err.value.code, err.value.status) == ("SignatureDoesNotMatch", 403)


def test_only_known_keys_of_signed_streams_are_checked():
    assert chunksig.for_request(None, HEADERS) is None
    assert chunksig.known_secret(None, "123456789012") is None
    unsigned = dict(HEADERS, **{"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})
    assert chunksig.for_request(object(), unsigned) is None


@pytest.mark.parametrize("auth, code, message", [
    ("AWS4-HMAC-SHA256 Credential=AKIAKNOWN/20130524/us-east-1/s3/aws4_request, Signature=ab",
     "AuthorizationHeaderMalformed", "The authorization header is malformed; the authorization header requires three "
                                     "components: Credential, SignedHeaders, and Signature."),
    ("AWS4-HMAC-SHA256 Credential=AKIAKNOWN/20130524/us-east-1/s3/aws5, SignedHeaders=host, Signature=ab",
     "AuthorizationHeaderMalformed", 'The authorization header is malformed; the Credential is mal-formed; '
                                     'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'),
    ("AWS4-HMAC-SHA256 Credential=AKIAKNOWN/20130525/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab",
     "AuthorizationHeaderMalformed", "The authorization header is malformed; Invalid credential date. Date is not "
                                     "the same as X-Amz-Date."),
])
def test_a_malformed_header_of_a_known_key_is_refused(monkeypatch, auth, code, message):
    monkeypatch.setattr(chunksig, "known_secret", lambda store, key: SECRET if key == "AKIAKNOWN" else None)
    with pytest.raises(AwsError) as err:
        chunksig.for_request(object(), dict(HEADERS, authorization=auth))
    assert (err.value.code, err.value.status, err.value.message) == (code, 400, message)
    # the same header with a key Haneul holds no secret for is taken at its word
    assert chunksig.for_request(object(), dict(HEADERS, authorization=auth.replace("AKIAKNOWN", "AKIAOTHER"))) is None


def test_a_bad_date_of_a_known_key_is_access_denied(monkeypatch):
    monkeypatch.setattr(chunksig, "known_secret", lambda store, key: SECRET)
    headers = dict(HEADERS, **{"x-amz-date": "20131324T000000Z"})
    headers["authorization"] = headers["authorization"].replace("/20130524/", "/20131324/")
    with pytest.raises(AwsError) as err:
        chunksig.for_request(object(), headers)
    assert (err.value.code, err.value.status) == ("AccessDenied", 403)
    assert err.value.message == "AWS authentication requires a valid Date or x-amz-date header"
