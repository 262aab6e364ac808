"""S3 objects through boto3: bodies, metadata, ranges, conditions, copies, listings, versions."""

import base64
import datetime as dt
import hashlib
import time

import pytest
from botocore.exceptions import ClientError


def code(exc) -> str:
    return exc.value.response["Error"]["Code"]


def status(exc) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def bk(aws_account) -> str:
    return f"objects-{aws_account}"     # bucket names are global: one per test


@pytest.fixture
def s3(aws_client, bk):
    client = aws_client("s3")
    client.create_bucket(Bucket=bk)
    return client


def test_put_get_metadata_and_etag(s3, bk):
    body = b"hello haneul"
    r = s3.put_object(Bucket=bk, Key="dir/a.txt", Body=body, ContentType="text/plain", Metadata={"Color": "blue"},
                      CacheControl="max-age=60", ContentDisposition="inline", StorageClass="STANDARD_IA")
    assert r["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    assert r["ServerSideEncryption"] == "AES256"
    g = s3.get_object(Bucket=bk, Key="dir/a.txt")
    assert g["Body"].read() == body
    assert (g["ContentType"], g["Metadata"], g["CacheControl"], g["ContentDisposition"]) == (
        "text/plain", {"color": "blue"}, "max-age=60", "inline")
    assert g["StorageClass"] == "STANDARD_IA"
    h = s3.head_object(Bucket=bk, Key="dir/a.txt")
    assert h["ContentLength"] == len(body) and h["ETag"] == r["ETag"]


def test_no_such_key_and_bucket(s3, bk):
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bk, Key="missing")
    assert (code(e), status(e)) == ("NoSuchKey", 404)
    assert e.value.response["Error"]["Message"] == "The specified key does not exist."
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="no-such-bucket-e2e-x", Key="k")
    assert code(e) == "NoSuchBucket"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bk, Key="missing")
    assert status(e) == 404


def test_keys_are_only_names(s3, bk):
    for key in ["../../etc/passwd", "/abs/path", "nul\x00byte", "spaces and ünïcode/✓", "a//b"]:
        s3.put_object(Bucket=bk, Key=key, Body=key.encode())
        assert s3.get_object(Bucket=bk, Key=key)["Body"].read() == key.encode()


def test_range_requests(s3, bk):
    s3.put_object(Bucket=bk, Key="r", Body=b"0123456789")
    g = s3.get_object(Bucket=bk, Key="r", Range="bytes=2-5")
    assert g["Body"].read() == b"2345" and g["ContentRange"] == "bytes 2-5/10"
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bk, Key="r", Range="bytes=-3")["Body"].read() == b"789"
    assert s3.get_object(Bucket=bk, Key="r", Range="bytes=7-")["Body"].read() == b"789"
    assert s3.get_object(Bucket=bk, Key="r", Range="bytes=8-100")["Body"].read() == b"89"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bk, Key="r", Range="bytes=10-20")
    assert (code(e), status(e)) == ("InvalidRange", 416)


def test_conditional_reads(s3, bk):
    etag = s3.put_object(Bucket=bk, Key="c", Body=b"x")["ETag"]
    assert s3.get_object(Bucket=bk, Key="c", IfMatch=etag)["Body"].read() == b"x"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bk, Key="c", IfMatch='"nope"')
    assert (code(e), status(e)) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bk, Key="c", IfNoneMatch=etag)
    assert status(e) == 304
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bk, Key="c", IfModifiedSince=future)
    assert status(e) == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bk, Key="c", IfUnmodifiedSince=past)
    assert status(e) == 412
    assert s3.get_object(Bucket=bk, Key="c", IfModifiedSince=past)["Body"].read() == b"x"


def test_conditional_writes(s3, bk):
    s3.put_object(Bucket=bk, Key="once", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bk, Key="once", Body=b"2", IfNoneMatch="*")
    assert (code(e), status(e)) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bk, Key="once")["Body"].read() == b"1"
    etag = s3.head_object(Bucket=bk, Key="once")["ETag"]
    s3.put_object(Bucket=bk, Key="once", Body=b"3", IfMatch=etag)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bk, Key="once", Body=b"4", IfMatch=etag)
    assert code(e) == "PreconditionFailed"


def test_checksums(s3, bk):
    for algo in ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]:
        r = s3.put_object(Bucket=bk, Key=f"ck-{algo}", Body=b"checked body", ChecksumAlgorithm=algo)
        got = s3.get_object(Bucket=bk, Key=f"ck-{algo}", ChecksumMode="ENABLED")
        assert got[f"Checksum{algo}"] == r[f"Checksum{algo}"]
        assert got["Body"].read() == b"checked body"
    attrs = s3.get_object_attributes(Bucket=bk, Key="ck-SHA256", ObjectAttributes=["Checksum", "ObjectSize", "ETag"])
    assert attrs["Checksum"]["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"checked body").digest()).decode()
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bk, Key="bad", Body=b"data", ChecksumCRC32="AAAAAA==")
    assert code(e) == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bk, Key="bad", Body=b"data", ContentMD5=base64.b64encode(b"0" * 16).decode())
    assert code(e) == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bk, Key="bad", Body=b"data", ContentMD5="not-md5")
    assert code(e) == "InvalidDigest"


def test_copy_object_directives_and_conditions(s3, bk):
    etag = s3.put_object(Bucket=bk, Key="src", Body=b"copy me", Metadata={"a": "1"}, ContentType="text/x",
                         Tagging="t=1")["ETag"]
    r = s3.copy_object(Bucket=bk, Key="dst", CopySource={"Bucket": bk, "Key": "src"})
    assert r["CopyObjectResult"]["ETag"] == etag
    g = s3.get_object(Bucket=bk, Key="dst")
    assert g["Metadata"] == {"a": "1"} and g["ContentType"] == "text/x" and g["Body"].read() == b"copy me"
    s3.copy_object(Bucket=bk, Key="dst2", CopySource=f"{bk}/src", MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="text/y")
    g = s3.head_object(Bucket=bk, Key="dst2")
    assert g["Metadata"] == {"b": "2"} and g["ContentType"] == "text/y"
    assert s3.get_object_tagging(Bucket=bk, Key="dst2")["TagSet"] == [{"Key": "t", "Value": "1"}]
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bk, Key="src", CopySource=f"{bk}/src")
    assert code(e) == "InvalidRequest"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bk, Key="dst3", CopySource=f"{bk}/src", CopySourceIfMatch='"other"')
    assert (code(e), status(e)) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bk, Key="dst3", CopySource=f"{bk}/src", CopySourceIfNoneMatch=etag)
    assert code(e) == "PreconditionFailed"
    s3.copy_object(Bucket=bk, Key="dst3", CopySource=f"{bk}/src", CopySourceIfMatch=etag)


def test_delete_objects(s3, bk):
    for k in ["d1", "d2", "d3"]:
        s3.put_object(Bucket=bk, Key=k, Body=b"x")
    r = s3.delete_objects(Bucket=bk, Delete={"Objects": [{"Key": "d1"}, {"Key": "d2"}, {"Key": "never"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["d1", "d2", "never"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bk, Prefix="d")["Contents"]] == ["d3"]
    s3.delete_object(Bucket=bk, Key="d3")
    s3.delete_object(Bucket=bk, Key="d3")     # idempotent


def test_listing_v1_v2_delimiters_and_pages(s3, bk):
    keys = ["a/1", "a/2", "b/1", "c", "d/x/y", "e"]
    for k in keys:
        s3.put_object(Bucket=bk, Key=k, Body=b"")
    r = s3.list_objects_v2(Bucket=bk, Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "b/", "d/"]
    assert [o["Key"] for o in r["Contents"]] == ["c", "e"]
    assert r["KeyCount"] == 5
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=bk, Delimiter="/", MaxKeys=2, **kw)
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])] + [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert sorted(seen) == ["a/", "b/", "c", "d/", "e"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bk, StartAfter="b/1")["Contents"]] == ["c", "d/x/y", "e"]
    v1 = s3.list_objects(Bucket=bk, Delimiter="/", MaxKeys=2)
    assert v1["IsTruncated"] and v1["NextMarker"] == "b/"
    v1b = s3.list_objects(Bucket=bk, Delimiter="/", Marker=v1["NextMarker"])
    assert [o["Key"] for o in v1b["Contents"]] == ["c", "e"]
    assert [p["Prefix"] for p in v1b["CommonPrefixes"]] == ["d/"]
    paged = [o["Key"] for page in s3.get_paginator("list_objects").paginate(Bucket=bk, PaginationConfig={"PageSize": 2})
             for o in page.get("Contents", [])]
    assert paged == sorted(keys)
    s3.put_object(Bucket=bk, Key="sp ace+plus", Body=b"")
    r = s3.list_objects_v2(Bucket=bk, Prefix="sp", EncodingType="url")
    assert r["Contents"][0]["Key"] == "sp%20ace%2Bplus"      # asked for: left encoded


def test_versions_and_delete_markers(s3, bk):
    s3.put_bucket_versioning(Bucket=bk, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bk, Key="v", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bk, Key="v", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bk, Key="v")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bk, Key="v", VersionId=v1)["Body"].read() == b"one"
    d = s3.delete_object(Bucket=bk, Key="v")
    assert d["DeleteMarker"] is True
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bk, Key="v")
    assert code(e) == "NoSuchKey"
    listed = s3.list_object_versions(Bucket=bk, Prefix="v")
    assert [x["VersionId"] for x in listed["Versions"]] == [v2, v1]
    assert listed["DeleteMarkers"][0]["IsLatest"] is True
    s3.delete_object(Bucket=bk, Key="v", VersionId=d["VersionId"])
    assert s3.get_object(Bucket=bk, Key="v")["Body"].read() == b"two"
    s3.put_bucket_versioning(Bucket=bk, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bk, Key="v", Body=b"three").get("VersionId") in (None, "null")
    versions = s3.list_object_versions(Bucket=bk, Prefix="v")["Versions"]
    assert [x["VersionId"] for x in versions] == ["null", v2, v1]
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bk)
    assert code(e) == "BucketNotEmpty"


def test_object_tagging_and_legal_hold(aws_client):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="locked-e2e", ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket="locked-e2e", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    vid = s3.put_object(Bucket="locked-e2e", Key="k", Body=b"keep")["VersionId"]
    assert s3.get_object_retention(Bucket="locked-e2e", Key="k")["Retention"]["Mode"] == "GOVERNANCE"
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket="locked-e2e", Key="k", VersionId=vid)
    assert code(e) == "AccessDenied"
    s3.put_object_legal_hold(Bucket="locked-e2e", Key="k", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket="locked-e2e", Key="k")["LegalHold"]["Status"] == "ON"
    s3.put_object_tagging(Bucket="locked-e2e", Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    assert s3.get_object_tagging(Bucket="locked-e2e", Key="k")["TagSet"] == [{"Key": "a", "Value": "b"}]


def test_default_retention_out_of_range_refused_and_the_largest_readable(aws_client):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="locked-far", ObjectLockEnabledForBucket=True)
    for days, expected in ((2**40, "MalformedXML"), (-1, "InvalidArgument")):
        with pytest.raises(ClientError) as e:
            s3.put_object_lock_configuration(Bucket="locked-far", ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": days}}})
        assert code(e) == expected
    # the largest 32-bit count is past year 9999: the retention ends at its last second
    s3.put_object_lock_configuration(Bucket="locked-far", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Years": 2**31 - 1}}})
    s3.put_object(Bucket="locked-far", Key="k", Body=b"keep")
    head = s3.head_object(Bucket="locked-far", Key="k")
    assert head["ObjectLockRetainUntilDate"].year == 9999
    assert s3.get_object(Bucket="locked-far", Key="k")["Body"].read() == b"keep"
    assert s3.get_object_retention(Bucket="locked-far", Key="k")["Retention"]["RetainUntilDate"].year == 9999


def test_presigned_urls(s3, bk):
    import urllib.error
    import urllib.request
    s3.put_object(Bucket=bk, Key="shared.txt", Body=b"presigned!")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bk, "Key": "shared.txt"}, ExpiresIn=60)
    assert urllib.request.urlopen(url).read() == b"presigned!"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bk, "Key": "up.txt"}, ExpiresIn=60)
    urllib.request.urlopen(urllib.request.Request(put_url, data=b"uploaded", method="PUT"))
    assert s3.get_object(Bucket=bk, Key="up.txt")["Body"].read() == b"uploaded"
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": bk, "Key": "shared.txt"}, ExpiresIn=1)
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(expired)
    assert e.value.code == 403
    text = e.value.read().decode()
    assert "<Code>AccessDenied</Code>" in text and "Request has expired" in text


def test_error_document_shape(s3, bk):
    import urllib.error
    import urllib.request
    endpoint = s3.meta.endpoint_url
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{endpoint}/{bk}/nothing-here")
    text = e.value.read().decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>')
    assert "<RequestId>" in text and "<HostId>" in text and "ErrorResponse" not in text
    assert e.value.headers["x-amz-request-id"] and e.value.headers["x-amz-id-2"]


def test_response_root_elements(s3, bk):
    import urllib.request
    s3.put_object(Bucket=bk, Key="k", Body=b"")
    req = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": bk})
    text = urllib.request.urlopen(req).read().decode()
    assert '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' in text
    text = urllib.request.urlopen(s3.generate_presigned_url("list_buckets")).read().decode()
    assert "<ListAllMyBucketsResult" in text


def test_sigv4_presigned_url_expiry(aws_client, bk):
    import urllib.error
    import urllib.request
    from botocore.config import Config
    s3 = aws_client("s3", config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket=bk)
    s3.put_object(Bucket=bk, Key="v4.txt", Body=b"v4")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bk, "Key": "v4.txt"}, ExpiresIn=1)
    assert "X-Amz-Expires=1" in url
    assert urllib.request.urlopen(url).read() == b"v4"
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    text = e.value.read().decode()
    assert e.value.code == 403 and "<Message>Request has expired</Message>" in text
    assert "<X-Amz-Expires>1</X-Amz-Expires>" in text
    week = s3.generate_presigned_url("get_object", Params={"Bucket": bk, "Key": "v4.txt"}, ExpiresIn=604801)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(week)
    assert "AuthorizationQueryParametersError" in e.value.read().decode()
