"""S3's codec quirks and the listing walk, without a server."""

import asyncio

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.protocol.shapes import service_spec
from haneul.protocol.xml import parse_xml
from haneul.services.s3 import listing
from haneul.services.s3.service import S3
from haneul.services.s3.wire import S3Xml
from haneul.store import Store

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
SPEC = service_spec("s3")


def ctx():
    return RequestContext(account="123456789012", region="us-east-1", store=None, request_id="req-1")


def test_error_is_a_bare_error_document():
    err = AwsError("NoSuchKey", "The specified key does not exist.", Key="a/b")
    resp = S3Xml().serialize_error(SPEC, SPEC.operation("GetObject"), err, ctx())
    root = parse_xml(resp.body)
    assert root.tag == "Error" and resp.status == 404
    assert [c.tag for c in root] == ["Code", "Message", "Key", "RequestId", "HostId"]
    assert resp.header("x-amz-id-2")


def test_head_errors_and_not_modified_have_no_body():
    head = S3Xml().serialize_error(SPEC, SPEC.operation("HeadObject"), AwsError("NoSuchKey", "x"), ctx())
    assert head.status == 404 and head.body == b""
    nm = S3Xml().serialize_error(SPEC, SPEC.operation("GetObject"),
                                 AwsError("NotModified", "", status=304, headers={"ETag": '"e"'}), ctx())
    assert nm.status == 304 and nm.body == b"" and nm.header("ETag") == '"e"'


def test_documented_root_elements():
    codec = S3Xml()
    for op, output, root in [("GetBucketTagging", {"TagSet": []}, "Tagging"),
                             ("ListObjectsV2", {"Name": "b"}, "ListBucketResult"),
                             ("ListBuckets", {"Buckets": []}, "ListAllMyBucketsResult"),
                             ("CreateMultipartUpload", {"UploadId": "u"}, "InitiateMultipartUploadResult"),
                             ("GetObjectLegalHold", {"LegalHold": {"Status": "ON"}}, "LegalHold")]:
        resp = codec.serialize(SPEC.operation(op), output, ctx())
        assert parse_xml(resp.body).tag == NS + root, op
    loc = codec.serialize(SPEC.operation("GetBucketLocation"), {}, ctx())
    assert parse_xml(loc.body).tag == NS + "LocationConstraint"


def test_streamed_body_passes_through():
    async def chunks():
        yield b"a"
    body = chunks()
    resp = S3Xml().serialize(SPEC.operation("GetObject"), {"Body": body, "ContentLength": 1}, ctx())
    assert resp.body is body and resp.header("Content-Length") == "1"


def test_successor():
    assert listing.successor("a/") == "a0"
    assert listing.successor("") is None
    assert listing.successor("a\U0010ffff") == "b"


def test_walk_skips_common_prefixes_in_one_seek():
    store = Store(None)
    store.migrate("s3", S3.SCHEMA)
    with store.transaction() as db:
        db.execute("INSERT INTO s3_bucket(name, account, region, created) VALUES('b','1','us-east-1',0)")
        for i, key in enumerate(["a/1", "a/2", "a/3", "b", "c/1", "d"]):
            db.execute("INSERT INTO s3_object(bucket, key, version_id, seq, latest, modified, owner) "
                       "VALUES('b', ?, 'null', ?, 1, 0, '1')", (key, i))
        entries, truncated = listing.walk(db, "b", "", "/", "", 3)
        assert [e[1] if e[0] == "prefix" else e[1]["key"] for e in entries] == ["a/", "b", "c/"]
        assert truncated
        entries, truncated = listing.walk(db, "b", "", "/", "c/", 10)
        assert [e[1]["key"] for e in entries] == ["d"] and not truncated
        entries, _ = listing.walk(db, "b", "a/", "", "", 10)
        assert [e[1]["key"] for e in entries] == ["a/1", "a/2", "a/3"]
    asyncio.run(asyncio.sleep(0))


def test_direct_listing_writer_matches_the_generic_writer(monkeypatch):
    import datetime as dt

    from haneul.services.s3 import wire
    when = dt.datetime.fromtimestamp(1_700_000_000.25, dt.timezone.utc)
    contents = [{"Key": "a&b<c>/ü", "LastModified": when, "ETag": '"e"', "Size": 3, "StorageClass": "STANDARD",
                 "ChecksumAlgorithm": ["CRC32"], "ChecksumType": "FULL_OBJECT", "Owner": {"ID": "id&"}},
                {"Key": "plain", "LastModified": when.replace(microsecond=0), "ETag": '"f"', "Size": 0,
                 "StorageClass": "GLACIER"}]
    cases = [("ListObjectsV2", {"Name": "b", "Prefix": "", "MaxKeys": 2, "KeyCount": 3, "IsTruncated": True,
                                "Delimiter": "/", "Contents": contents, "CommonPrefixes": [{"Prefix": "p&/"}],
                                "NextContinuationToken": "tok", "StartAfter": "s", "EncodingType": "url"}),
             ("ListObjects", {"Name": "b", "Prefix": "x", "Marker": "", "MaxKeys": 1000, "IsTruncated": False,
                              "Contents": contents, "NextMarker": "n"}),
             ("ListObjectsV2", {"Name": "b", "Prefix": "", "MaxKeys": 0, "KeyCount": 0, "IsTruncated": False})]
    for op, output in cases:
        fast = S3Xml().serialize(SPEC.operation(op), output, ctx()).body
        monkeypatch.setattr(wire, "_LISTINGS", {})
        generic = S3Xml().serialize(SPEC.operation(op), output, ctx()).body
        monkeypatch.undo()
        assert fast == generic, op
