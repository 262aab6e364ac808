"""aws-chunked decoding, checksums and the streamed body writer, without a server."""

import asyncio
import base64
import hashlib
import os
import zlib

import pytest

from haneul.errors import AwsError
from haneul.services.s3 import bodies, checksums
from haneul.store.blobs import BlobStore


def chunked(data: bytes, size: int, signed: bool, trailer: str | None = None) -> bytes:
    out = b""
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        ext = b";chunk-signature=" + b"a" * 64 if signed else b""
        out += b"%x" % len(piece) + ext + b"\r\n" + piece + b"\r\n"
    out += b"0" + (b";chunk-signature=" + b"b" * 64 if signed else b"") + b"\r\n"
    if trailer:
        out += trailer.encode() + b"\r\n"
        if signed:
            out += b"x-amz-trailer-signature:" + b"c" * 64 + b"\r\n"
    return out + b"\r\n"


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("split", [1, 7, 8192, 10 ** 6])
def test_decoder_any_split(signed, split):
    data = os.urandom(50_000)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    wire = chunked(data, 16384, signed, f"x-amz-checksum-crc32:{crc}")
    dec = bodies.ChunkedDecoder()
    out = b""
    for i in range(0, len(wire), split):
        out += b"".join(dec.feed(wire[i:i + split]))
    dec.finish()
    assert out == data
    assert dec.trailers["x-amz-checksum-crc32"] == crc


def test_decoder_refuses_truncated_body():
    dec = bodies.ChunkedDecoder()
    dec.feed(b"10\r\nabc")
    with pytest.raises(AwsError) as e:
        dec.finish()
    assert e.value.code == "IncompleteBody"


@pytest.mark.parametrize("algo", checksums.ALGORITHMS)
def test_checksums_match_botocore(algo):
    from botocore.httpchecksum import _CHECKSUM_CLS
    data = b"The quick brown fox" * 1000
    ref = _CHECKSUM_CLS[algo.lower()]()
    ref.update(data)
    assert checksums.compute(algo, data) == base64.b64encode(ref.digest()).decode()


@pytest.mark.parametrize("algo", ["CRC32", "CRC32C", "CRC64NVME"])
def test_crc_combine_equals_whole(algo):
    a, b, c = os.urandom(1000), os.urandom(7777), os.urandom(1)
    parts = [(checksums.compute(algo, p), len(p)) for p in (a, b, c)]
    assert checksums.full_object(algo, parts) == checksums.compute(algo, a + b + c)


def test_multipart_etag():
    parts = [b"x" * 10, b"y" * 20]
    etags = ['"%s"' % hashlib.md5(p).hexdigest() for p in parts]
    want = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert checksums.multipart_etag(etags) == f'"{want}-2"'


def _receive(tmp_path, body, request, headers):
    store = BlobStore(str(tmp_path))
    return store, asyncio.run(bodies.receive(store, body, bodies.Expect(request, headers)))


def test_receive_streaming_unsigned_trailer(tmp_path):
    data = os.urandom(100_000)
    crc = checksums.compute("CRC32", data)
    wire = chunked(data, 65536, False, f"x-amz-checksum-crc32:{crc}")

    async def stream():
        for i in range(0, len(wire), 1000):
            yield wire[i:i + 1000]
    headers = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-trailer": "x-amz-checksum-crc32",
               "x-amz-decoded-content-length": str(len(data))}
    store, got = _receive(tmp_path, stream(), {"ContentEncoding": "aws-chunked"}, headers)
    assert store.read(got.blob) == data
    assert got.checksum == crc and got.md5 == hashlib.md5(data).hexdigest()


def test_receive_bad_trailer_checksum_leaves_no_file(tmp_path):
    data = b"hello"
    wire = chunked(data, 100, True, "x-amz-checksum-crc32:AAAAAA==")
    headers = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
               "x-amz-trailer": "x-amz-checksum-crc32"}
    with pytest.raises(AwsError) as e:
        _receive(tmp_path, wire, {}, headers)
    assert e.value.code == "BadDigest"
    assert [f for _, _, files in os.walk(tmp_path) for f in files] == []


def test_receive_checks_payload_sha256(tmp_path):
    with pytest.raises(AwsError) as e:
        _receive(tmp_path, b"data", {}, {"x-amz-content-sha256": "0" * 64})
    assert e.value.code == "XAmzContentSHA256Mismatch"
    _, got = _receive(tmp_path, b"data", {}, {"x-amz-content-sha256": hashlib.sha256(b"data").hexdigest()})
    assert got.size == 4


@pytest.mark.parametrize("algo", ["CRC32", "CRC32C", "CRC64NVME"])
def test_pure_python_crc_fallback_agrees(algo):
    data = os.urandom(3000)
    assert checksums._py_crc(algo, data, 0) == checksums._crc_update(algo, data, 0)
