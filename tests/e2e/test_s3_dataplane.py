"""S3's data plane on the wire: CORS preflights and CORS headers, browser POST uploads with
policy documents, and website endpoints."""

import http.client
import json
import os
import time
import urllib.parse
import uuid
from xml.etree import ElementTree

import pytest


def _send(endpoint, method, path, headers=None, body=None, host=None):
    parts = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = dict(headers or {})
    if host:
        headers["Host"] = host
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def _code(body: bytes) -> str:
    return ElementTree.fromstring(body).findtext("Code")


@pytest.fixture
def s3(aws_client):
    return aws_client("s3")


@pytest.fixture
def bucket(s3, aws_account):
    name = f"plane-{aws_account}-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=name)
    return name


# -- CORS ----------------------------------------------------------------------------------
def test_preflight_without_bucket_or_config(haneul_server, bucket):
    ep = haneul_server.endpoint
    st, _, body = _send(ep, "OPTIONS", f"/{bucket}/k")
    assert st == 400 and _code(body) == "BadRequest"
    st, _, body = _send(ep, "OPTIONS", "/no-such-bucket-cors-x/k", {"Origin": "http://a.com",
                                                                   "Access-Control-Request-Method": "GET"})
    assert st == 403 and b"CORSResponse: Bucket not found" in body
    st, _, body = _send(ep, "OPTIONS", f"/{bucket}/k", {"Origin": "http://a.com", "Access-Control-Request-Method": "PUT"})
    root = ElementTree.fromstring(body)
    assert st == 403 and root.findtext("Code") == "AccessForbidden"
    assert root.findtext("Message") == "CORSResponse: CORS is not enabled for this bucket."
    assert (root.findtext("Method"), root.findtext("ResourceType")) == ("PUT", "BUCKET")


def test_preflight_rules_and_actual_request_headers(haneul_server, s3, bucket):
    ep = haneul_server.endpoint
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://app.example.com", "http://*.dev.example"], "AllowedMethods": ["GET", "PUT"],
         "AllowedHeaders": ["x-amz-*", "Content-Type"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]})
    st, h, body = _send(ep, "OPTIONS", f"/{bucket}/file.txt", {
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "Content-Type, X-Amz-Meta-Color"})
    assert st == 200 and body == b""
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-allow-methods"] == "GET, PUT"
    assert h["access-control-allow-headers"] == "content-type, x-amz-meta-color"
    assert h["access-control-expose-headers"] == "ETag" and h["access-control-max-age"] == "3000"
    assert h["access-control-allow-credentials"] == "true"
    assert h["vary"] == "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
    st, h, _ = _send(ep, "OPTIONS", f"/{bucket}/x", {"Origin": "http://box.dev.example",
                                                     "Access-Control-Request-Method": "GET"})
    assert st == 200 and h["access-control-allow-origin"] == "http://box.dev.example"
    # the wildcard rule answers "*" and no credentials
    st, h, _ = _send(ep, "OPTIONS", f"/{bucket}/x", {"Origin": "http://other.org", "Access-Control-Request-Method": "GET"})
    assert st == 200 and h["access-control-allow-origin"] == "*" and "access-control-allow-credentials" not in h
    st, _, body = _send(ep, "OPTIONS", f"/{bucket}/x", {"Origin": "http://other.org",
                                                        "Access-Control-Request-Method": "DELETE"})
    root = ElementTree.fromstring(body)
    assert st == 403 and root.findtext("Message").startswith("CORSResponse: This CORS request is not allowed.")
    assert (root.findtext("Method"), root.findtext("ResourceType")) == ("DELETE", "OBJECT")
    # actual requests: headers when the origin matches, on answers and errors alike
    s3.put_object(Bucket=bucket, Key="file.txt", Body=b"hi")
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    st, h, body = _send(ep, "GET", f"/{bucket}/file.txt", {"Origin": "https://app.example.com"})
    assert st == 200 and body == b"hi" and h["access-control-allow-origin"] == "https://app.example.com"
    st, h, _ = _send(ep, "GET", f"/{bucket}/missing", {"Origin": "https://app.example.com"})
    assert st == 404 and h["access-control-allow-origin"] == "https://app.example.com"
    st, h, _ = _send(ep, "GET", f"/{bucket}/file.txt")
    assert "access-control-allow-origin" not in h
    st, h, _ = _send(ep, "GET", f"/{bucket}/file.txt", {"Origin": "https://app.example.com",
                                                        "Access-Control-Request-Method": "DELETE"})
    assert st == 200 and "access-control-allow-origin" not in h


# -- POST uploads ---------------------------------------------------------------------------
def _form(fields, file_body=b"file contents", filename="local.txt", file_type="text/plain"):
    boundary = "----haneul" + uuid.uuid4().hex
    out = []
    for k, v in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
               f"Content-Type: {file_type}\r\n\r\n".encode() + file_body + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def _post(endpoint, bucket, fields, **kw):
    body, headers = _form(fields, **kw)
    return _send(endpoint, "POST", f"/{bucket}", headers, body)


def test_presigned_post_upload_statuses_and_redirect(haneul_server, s3, bucket):
    ep = haneul_server.endpoint
    post = s3.generate_presigned_post(bucket, "uploads/${filename}", Fields={"Content-Type": "text/plain"},
                                      Conditions=[["starts-with", "$key", "uploads/"], {"Content-Type": "text/plain"},
                                                  ["content-length-range", 1, 100]], ExpiresIn=300)
    st, h, body = _post(ep, bucket, post["fields"])
    assert st == 204 and body == b"" and h["etag"] == '"%s"' % __import__("hashlib").md5(b"file contents").hexdigest()
    got = s3.get_object(Bucket=bucket, Key="uploads/local.txt")
    assert got["Body"].read() == b"file contents" and got["ContentType"] == "text/plain"
    post = s3.generate_presigned_post(bucket, "doc.txt", Fields={"success_action_status": "201"},
                                      Conditions=[{"success_action_status": "201"}])
    st, _, body = _post(ep, bucket, post["fields"])
    root = ElementTree.fromstring(body)
    assert st == 201 and root.tag == "PostResponse"
    assert (root.findtext("Bucket"), root.findtext("Key")) == (bucket, "doc.txt")
    post = s3.generate_presigned_post(bucket, "r.txt", Fields={"success_action_redirect": "http://app.test/done"},
                                      Conditions=[{"success_action_redirect": "http://app.test/done"}])
    st, h, _ = _post(ep, bucket, post["fields"])
    assert st == 303 and h["location"].startswith(f"http://app.test/done?bucket={bucket}&key=r.txt&etag=%22")


def test_post_policy_refusals(haneul_server, s3, bucket):
    ep = haneul_server.endpoint
    post = s3.generate_presigned_post(bucket, "fixed.txt", Conditions=[["content-length-range", 1, 5]])
    st, _, body = _post(ep, bucket, post["fields"])
    root = ElementTree.fromstring(body)
    assert st == 400 and root.findtext("Code") == "EntityTooLarge" and root.findtext("MaxSizeAllowed") == "5"
    fields = dict(post["fields"], key="other.txt")
    st, _, body = _post(ep, bucket, fields, file_body=b"abc")
    root = ElementTree.fromstring(body)
    assert st == 403 and root.findtext("Code") == "AccessDenied"
    assert root.findtext("Message") == 'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "fixed.txt"]'
    st, _, body = _post(ep, bucket, dict(post["fields"], **{"x-amz-meta-extra": "1"}), file_body=b"abc")
    assert st == 403 and b"Extra input fields: x-amz-meta-extra" in body
    expired = s3.generate_presigned_post(bucket, "late.txt", ExpiresIn=-10)
    st, _, body = _post(ep, bucket, expired["fields"])
    assert st == 403 and b"Invalid according to Policy: Policy expired." in body
    fields = {k: v for k, v in post["fields"].items() if k != "key"}
    st, _, body = _post(ep, bucket, fields)
    assert st == 400 and _code(body) == "InvalidArgument"
    # an unsigned form may write only where anonymous writes are allowed
    st, _, body = _post(ep, bucket, {"key": "anon.txt"})
    assert st == 403 and _code(body) == "AccessDenied"
    st, _, body = _post(ep, "no-such-bucket-post-x", {"key": "a"})
    assert st == 404 and _code(body) == "NoSuchBucket"


@pytest.mark.parametrize("version", ["s3", "s3v4"])
def test_post_signature_checked_for_iam_keys(haneul_server, aws_client, s3, bucket, version):
    from botocore.config import Config

    from haneul.testing import make_client
    iam = aws_client("iam")
    iam.create_user(UserName="uploader")
    key = iam.create_access_key(UserName="uploader")["AccessKey"]
    user_s3 = make_client(haneul_server.endpoint, "s3", "", access_key=key["AccessKeyId"],
                          secret_key=key["SecretAccessKey"], config=Config(signature_version=version))
    post = user_s3.generate_presigned_post(bucket, "signed.txt")
    assert ("x-amz-signature" in post["fields"]) == (version == "s3v4")
    st, _, body = _post(haneul_server.endpoint, bucket, post["fields"])
    assert st == 204, body
    name = "x-amz-signature" if version == "s3v4" else "signature"
    bad = dict(post["fields"], **{name: "0" * 64 if version == "s3v4" else "AAAA"})
    st, _, body = _post(haneul_server.endpoint, bucket, bad)
    assert st == 403 and _code(body) == "SignatureDoesNotMatch", body


# -- websites -------------------------------------------------------------------------------
def _site(ep, bucket, path, method="GET", headers=None):
    return _send(ep, method, path, headers, host=f"{bucket}.s3-website.us-east-1.localhost")


def _public(s3, bucket):
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))


def test_website_index_error_documents_and_redirects(haneul_server, s3, bucket):
    ep = haneul_server.endpoint
    st, h, body = _site(ep, bucket, "/")
    assert st == 404 and b"NoSuchWebsiteConfiguration" in body and h["content-type"].startswith("text/html")
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"},
        "RoutingRules": [{"Condition": {"KeyPrefixEquals": "old/"}, "Redirect": {"ReplaceKeyPrefixWith": "new/"}},
                         {"Condition": {"HttpErrorCodeReturnedEquals": "404", "KeyPrefixEquals": "gone/"},
                          "Redirect": {"HostName": "elsewhere.test", "HttpRedirectCode": "307"}}]})
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>home</h1>", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="docs/index.html", Body=b"docs", ContentType="text/html")
    st, _, body = _site(ep, bucket, "/")
    assert st == 403 and b"AccessDenied" in body        # not public yet
    _public(s3, bucket)
    st, h, body = _site(ep, bucket, "/")
    assert st == 200 and body == b"<h1>home</h1>" and h["content-type"] == "text/html"
    st, h, _ = _site(ep, bucket, "/docs")
    assert st == 302 and h["location"] == "/docs/"
    assert _site(ep, bucket, "/docs/")[2] == b"docs"
    st, h, body = _site(ep, bucket, "/nothing.html")
    assert st == 404 and b"<li>Code: NoSuchKey</li>" in body and b"Custom Error Document" in body
    assert h["x-amz-error-code"] == "NoSuchKey"
    s3.put_object(Bucket=bucket, Key="error.html", Body=b"custom 404", ContentType="text/html")
    st, _, body = _site(ep, bucket, "/nothing.html")
    assert st == 404 and body == b"custom 404"
    st, h, _ = _site(ep, bucket, "/old/page.html")
    assert st == 301 and h["location"].endswith(f"{bucket}.s3-website.us-east-1.localhost/new/page.html")
    st, h, _ = _site(ep, bucket, "/gone/x")
    assert st == 307 and h["location"] == "http://elsewhere.test/gone/x"
    s3.put_object(Bucket=bucket, Key="moved", Body=b"", WebsiteRedirectLocation="/index.html")
    st, h, _ = _site(ep, bucket, "/moved")
    assert st == 301 and h["location"] == "/index.html"
    st, _, body = _site(ep, bucket, "/", method="POST")
    assert st == 405
    st, h, body = _site(ep, bucket, "/index.html", method="HEAD")
    assert st == 200 and body == b"" and h["content-length"] == str(len(b"<h1>home</h1>"))


def test_website_redirect_all_and_missing_bucket(haneul_server, s3, bucket):
    ep = haneul_server.endpoint
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
        "RedirectAllRequestsTo": {"HostName": "www.example.com", "Protocol": "https"}})
    st, h, _ = _site(ep, bucket, "/a/b.html")
    assert st == 301 and h["location"] == "https://www.example.com/a/b.html"
    st, _, body = _site(ep, "no-such-site-bucket-x", "/")
    assert st == 404 and b"NoSuchBucket" in body
    time.sleep(0)


def _peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the server's peak RSS from /proc")
def test_large_post_upload_streams_to_disk():
    """A 160 MiB browser upload: the server's peak RSS grows far less than the file."""
    import hashlib

    from haneul.testing import ServerProcess, make_client
    server = ServerProcess().start()
    try:
        s3 = make_client(server.endpoint, "s3", "135792468013")
        s3.create_bucket(Bucket="post-large")
        post = s3.generate_presigned_post("post-large", "big.bin", Conditions=[["content-length-range", 1, 1 << 30]])
        _post(server.endpoint, "post-large", post["fields"], file_body=b"warm-up")
        before = _peak_rss(server.proc.pid)
        head, headers = _form(post["fields"], file_body=b"")
        head, tail = head[:head.rindex(b"\r\n--")], head[head.rindex(b"\r\n--"):]
        block, count = bytes(range(256)) * 4096, 160     # 1 MiB blocks
        md5 = hashlib.md5()
        for _ in range(count):
            md5.update(block)
        parts = urllib.parse.urlsplit(server.endpoint)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        conn.putrequest("POST", "/post-large")
        conn.putheader("Content-Type", headers["Content-Type"])
        conn.putheader("Content-Length", str(len(head) + len(block) * count + len(tail)))
        conn.endheaders()
        conn.send(head)
        for _ in range(count):
            conn.send(block)
        conn.send(tail)
        resp = conn.getresponse()
        assert resp.status == 204, resp.read()
        conn.close()
        growth = _peak_rss(server.proc.pid) - before
        assert growth < 64 << 20, f"peak RSS grew {growth >> 20} MiB"
        got = s3.head_object(Bucket="post-large", Key="big.bin")
        assert got["ContentLength"] == len(block) * count and got["ETag"] == f'"{md5.hexdigest()}"'
        # past the policy's maximum the upload stops with EntityTooLarge and nothing is stored
        small = s3.generate_presigned_post("post-large", "capped.bin", Conditions=[["content-length-range", 1, 1000]])
        st, _, body = _post(server.endpoint, "post-large", small["fields"], file_body=b"x" * (4 << 20))
        assert st == 400 and _code(body) == "EntityTooLarge"
        assert s3.list_objects_v2(Bucket="post-large", Prefix="capped")["KeyCount"] == 0
    finally:
        server.stop()
