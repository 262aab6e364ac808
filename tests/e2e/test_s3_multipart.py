"""Multipart uploads through boto3: transfers, ETags, checksums, and AWS's errors."""

import hashlib
import os

import pytest
from botocore.exceptions import ClientError

MiB = 1 << 20


def code(exc) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture
def bk(aws_account) -> str:
    return f"multipart-{aws_account}"


@pytest.fixture
def s3(aws_client, bk):
    client = aws_client("s3")
    client.create_bucket(Bucket=bk)
    return client


def test_upload_and_download_file_with_default_checksums(s3, bk, tmp_path):
    from boto3.s3.transfer import TransferConfig
    data = os.urandom(17 * MiB + 123)
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)
    s3.upload_file(str(src), bk, "big/file.bin", Config=cfg)
    head = s3.head_object(Bucket=bk, Key="big/file.bin", ChecksumMode="ENABLED")
    parts = [data[i:i + 8 * MiB] for i in range(0, len(data), 8 * MiB)]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-3"
    assert head["ETag"] == f'"{expected}"' and head["ContentLength"] == len(data)
    assert head["ChecksumCRC32"].endswith("-3") or head.get("ChecksumType") == "FULL_OBJECT"
    s3.download_file(bk, "big/file.bin", str(dst), Config=cfg)
    assert dst.read_bytes() == data
    part2 = s3.get_object(Bucket=bk, Key="big/file.bin", PartNumber=2)
    assert part2["PartsCount"] == 3 and part2["ContentLength"] == 8 * MiB


def test_manual_multipart_list_abort_and_errors(s3, bk):
    up = s3.create_multipart_upload(Bucket=bk, Key="m")["UploadId"]
    small = s3.upload_part(Bucket=bk, Key="m", UploadId=up, PartNumber=1, Body=b"a" * 100)
    last = s3.upload_part(Bucket=bk, Key="m", UploadId=up, PartNumber=2, Body=b"b" * 100)
    listed = s3.list_parts(Bucket=bk, Key="m", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, 100), (2, 100)]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bk)["Uploads"]] == [up]
    parts = [{"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": last["ETag"]}]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bk, Key="m", UploadId=up, MultipartUpload={"Parts": parts})
    assert code(e) == "EntityTooSmall"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bk, Key="m", UploadId=up, MultipartUpload={"Parts": parts[::-1]})
    assert code(e) == "InvalidPartOrder"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bk, Key="m", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"0123456789abcdef0123456789abcdef"'}]})
    assert code(e) == "InvalidPart"
    s3.abort_multipart_upload(Bucket=bk, Key="m", UploadId=up)
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bk, Key="m", UploadId=up, PartNumber=3, Body=b"c")
    assert code(e) == "NoSuchUpload"
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bk)


def test_single_part_completion_and_part_copy(s3, bk):
    s3.put_object(Bucket=bk, Key="source", Body=b"0123456789" * 700_000)
    up = s3.create_multipart_upload(Bucket=bk, Key="assembled")["UploadId"]
    p1 = s3.upload_part_copy(Bucket=bk, Key="assembled", UploadId=up, PartNumber=1,
                             CopySource={"Bucket": bk, "Key": "source"}, CopySourceRange="bytes=0-5242879")
    p2 = s3.upload_part(Bucket=bk, Key="assembled", UploadId=up, PartNumber=2, Body=b"tail")
    r = s3.complete_multipart_upload(Bucket=bk, Key="assembled", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
    assert r["ETag"].endswith('-2"')
    body = s3.get_object(Bucket=bk, Key="assembled")["Body"].read()
    assert body == (b"0123456789" * 700_000)[:5 * MiB] + b"tail"
    ranged = s3.get_object(Bucket=bk, Key="assembled", Range=f"bytes={5 * MiB - 2}-{5 * MiB + 1}")["Body"].read()
    assert ranged == b"89ta"


def test_conditional_complete(s3, bk):
    s3.put_object(Bucket=bk, Key="exists", Body=b"x")
    up = s3.create_multipart_upload(Bucket=bk, Key="exists")["UploadId"]
    p = s3.upload_part(Bucket=bk, Key="exists", UploadId=up, PartNumber=1, Body=b"y")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bk, Key="exists", UploadId=up, IfNoneMatch="*",
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
    assert code(e) == "PreconditionFailed"


def test_full_object_crc_checksum(s3, bk):
    import base64
    import zlib
    up = s3.create_multipart_upload(Bucket=bk, Key="full", ChecksumAlgorithm="CRC32",
                                    ChecksumType="FULL_OBJECT")["UploadId"]
    a, b = os.urandom(5 * MiB), os.urandom(1000)
    pa = s3.upload_part(Bucket=bk, Key="full", UploadId=up, PartNumber=1, Body=a, ChecksumAlgorithm="CRC32")
    pb = s3.upload_part(Bucket=bk, Key="full", UploadId=up, PartNumber=2, Body=b, ChecksumAlgorithm="CRC32")
    r = s3.complete_multipart_upload(Bucket=bk, Key="full", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": pa["ETag"], "ChecksumCRC32": pa["ChecksumCRC32"]},
        {"PartNumber": 2, "ETag": pb["ETag"], "ChecksumCRC32": pb["ChecksumCRC32"]}]})
    whole = base64.b64encode(zlib.crc32(a + b).to_bytes(4, "big")).decode()
    assert r["ChecksumCRC32"] == whole and r["ChecksumType"] == "FULL_OBJECT"


def test_list_uploads_with_url_encoding(s3, bk):
    # without it a NUL in the prefix went back raw, an XML body no client can parse
    s3.create_multipart_upload(Bucket=bk, Key="dir/x y")
    out = s3.list_multipart_uploads(Bucket=bk, Prefix="dir/", EncodingType="url")
    assert out["EncodingType"] == "url" and [u["Key"] for u in out["Uploads"]] == ["dir/x%20y"]
    out = s3.list_multipart_uploads(Bucket=bk, Prefix="a\x00b", EncodingType="url")
    assert out["Prefix"] == "a%00b" and "Uploads" not in out
