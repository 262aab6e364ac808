"""CORS rule matching and the browser POST form and policy, without a server."""

import asyncio
import base64
import json
import tracemalloc

import pytest

from haneul.errors import AwsError
from haneul.services.s3 import cors, postform

CONFIG = {"CORSRules": [
    {"AllowedOrigins": ["http://*.example.com"], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-*"]},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "MaxAgeSeconds": 10},
]}


def test_origin_patterns_are_anchored_and_star_matches_empty():
    assert cors.match_rule(CONFIG, "http://a.example.com", "PUT")
    assert cors.match_rule(CONFIG, "http://.example.com", "PUT")
    assert cors.match_rule(CONFIG, "http://a.example.com.evil", "PUT") is None
    assert cors.match_rule(CONFIG, "http://a.example.com", "PUT", ["X-Amz-Meta-A"])
    assert cors.match_rule(CONFIG, "http://a.example.com", "PUT", ["content-type"]) is None
    assert cors.match_rule(CONFIG, "anything", "GET")["MaxAgeSeconds"] == 10


def test_preflight_errors_in_s3_order():
    with pytest.raises(AwsError) as e:
        cors.preflight(CONFIG, {}, True)
    assert e.value.code == "BadRequest"
    with pytest.raises(AwsError) as e:
        cors.preflight(None, {"origin": "o"}, True)
    assert e.value.fields == {"Method": "OPTIONS", "ResourceType": "BUCKET"}
    with pytest.raises(AwsError) as e:
        cors.preflight(CONFIG, {"origin": "o", "access-control-request-method": "DELETE"}, True)
    assert e.value.message == cors.NOT_ALLOWED and e.value.fields["ResourceType"] == "OBJECT"
    headers = dict(cors.preflight(CONFIG, {"origin": "o", "access-control-request-method": "GET"}, False))
    assert headers["Access-Control-Allow-Origin"] == "*" and "Access-Control-Allow-Credentials" not in headers


def _form(fields: dict, data: bytes = b"DATA") -> tuple[bytes, str]:
    parts = [f'--XyZ\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
                 b"Content-Type: text/plain\r\n\r\n" + data + b"\r\n")
    parts.append(b'--XyZ\r\nContent-Disposition: form-data; name="after"\r\n\r\nignored\r\n--XyZ--\r\n')
    return b"".join(parts), 'multipart/form-data; boundary="XyZ"'


def _read(chunks, ctype):
    async def go():
        async def source():
            for c in chunks:
                yield c
        form = postform.FormReader(source(), ctype)
        fields, file = await form.fields()
        data = b"".join([c async for c in form.file_chunks()]) if file else None
        return fields, file, data
    return asyncio.run(go())


def test_form_reader_stops_at_the_file():
    body, ctype = _form({"Key": "k/${filename}", "X-Amz-Meta-A": "1"}, b"line1\r\nline2")
    fields, file, data = _read([body], ctype)
    assert fields == {"key": "k/${filename}", "x-amz-meta-a": "1"}
    assert data == b"line1\r\nline2" and file.filename == "a.txt" and file.content_type == "text/plain"
    with pytest.raises(AwsError):
        _read([b"junk"], "multipart/form-data; boundary=XyZ")
    with pytest.raises(AwsError):                         # the file's closing delimiter never comes
        _read([body[:body.index(b"line2") + 5]], ctype)


def test_form_reader_finds_delimiters_split_across_chunks():
    data = bytes(range(256)) * 300 + b"\r\n--Xy\r\n--X" + b"\r\n-" * 100
    body, ctype = _form({"key": "k", "x-amz-meta-long": "v" * 5000}, data)
    for size in (1, 7, 64, 4096):
        pieces = [body[i:i + size] for i in range(0, len(body), size)]
        fields, file, got = _read(pieces, ctype)
        assert got == data and fields["x-amz-meta-long"] == "v" * 5000


def test_form_reader_never_holds_the_file():
    """A 32 MiB file read in 64 KiB chunks: the reader's memory stays near one chunk."""
    head, ctype = _form({"key": "big"}, b"")
    head, tail = head.split(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"after\"")[0], \
        b"\r\n--XyZ--\r\n"
    chunk = b"z" * 65536

    async def go():
        async def source():
            yield head
            for _ in range(512):
                yield chunk
            yield tail
        form = postform.FormReader(source(), ctype)
        await form.fields()
        tracemalloc.start()
        total = 0
        async for piece in form.file_chunks():
            total += len(piece)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return total, peak
    total, peak = asyncio.run(go())
    assert total == 512 * 65536
    assert peak < 1 << 20


def _policy(conditions, expiration="2030-01-01T00:00:00Z"):
    return postform.decode_policy(base64.b64encode(json.dumps(
        {"expiration": expiration, "conditions": conditions}).encode()).decode())


def test_policy_conditions():
    doc = _policy([{"bucket": "b"}, ["starts-with", "$key", "up/"], ["content-length-range", 2, 4]])
    postform.check_policy(doc, {"key": "up/x"}, "b", 3, now=0)
    with pytest.raises(AwsError) as e:
        postform.check_policy(doc, {"key": "down/x"}, "b", 3, now=0)
    assert e.value.message == 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "up/"]'
    with pytest.raises(AwsError) as e:
        postform.check_policy(doc, {"key": "up/x"}, "other", 3, now=0)
    assert e.value.code == "AccessDenied"
    with pytest.raises(AwsError) as e:
        postform.check_policy(doc, {"key": "up/x", "acl": "private"}, "b", 3, now=0)
    assert e.value.message.endswith("Extra input fields: acl")
    postform.check_policy(doc, {"key": "up/x", "x-ignore-me": "1"}, "b", 3, now=0)
    with pytest.raises(AwsError) as e:
        postform.check_policy(doc, {"key": "up/x"}, "b", 5, now=0)
    assert e.value.code == "EntityTooLarge" and e.value.fields["ProposedSize"] == "5"
    with pytest.raises(AwsError) as e:
        postform.check_policy(doc, {"key": "up/x"}, "b", 1, now=0)
    assert e.value.code == "EntityTooSmall"
    with pytest.raises(AwsError) as e:
        postform.check_policy(doc, {"key": "up/x"}, "b", 3, now=2e9)
    assert e.value.message == "Invalid according to Policy: Policy expired."
    with pytest.raises(AwsError) as e:
        postform.decode_policy(base64.b64encode(b'{"conditions": []}').decode())
    assert e.value.code == "InvalidPolicyDocument"


def test_signatures_match_botocore():
    from botocore.auth import HmacV1PostAuth, S3SigV4PostAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    creds = Credentials("AKIDEXAMPLE", "secret")
    req = AWSRequest(method="POST", url="http://x/b")
    req.context["s3-presign-post-fields"], req.context["s3-presign-post-policy"] = {}, {
        "expiration": "2030-01-01T00:00:00Z", "conditions": []}
    S3SigV4PostAuth(creds, "s3", "us-east-1").add_auth(req)
    fields = req.context["s3-presign-post-fields"]
    date, region = fields["x-amz-credential"].split("/")[1:3]
    assert postform.signature_v4("secret", date, region, fields["policy"]) == fields["x-amz-signature"]
    req2 = AWSRequest(method="POST", url="http://x/b")
    req2.context["s3-presign-post-fields"], req2.context["s3-presign-post-policy"] = {}, {
        "expiration": "2030-01-01T00:00:00Z", "conditions": []}
    HmacV1PostAuth(creds).add_auth(req2)
    f2 = req2.context["s3-presign-post-fields"]
    assert postform.signature_v2("secret", f2["policy"]) == f2["signature"]
