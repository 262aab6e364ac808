"""Object bodies in and out, streamed: never held in memory whole.

In: the request body (raw, or `aws-chunked` with signed or unsigned chunks and trailers)
is decoded as it arrives, hashed (MD5 for the ETag, the requested checksum, SHA-256 when
the client signed the payload) and written to a temp file in the blob folder; after the
checks pass the file is made durable under its final name (writer.py).  Only then is metadata
committed, so a crash leaves at worst an unreferenced file, never a visible half object.

Out: an object is a list of blob files (one, or one per multipart part); a range of it is
read file by file in chunks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os

from haneul.errors import AwsError
from haneul.services.s3 import checksums
from haneul.services.s3.writer import BlobWriter, new_blob_id

CHUNK = 1 << 20
SMALL = 256 << 10          # bodies up to this size are read whole (the fast path)


class ChunkedDecoder:
    """`aws-chunked`: "<hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n" ... then a zero
    chunk, trailer lines ("x-amz-checksum-crc32:<b64>") and an empty line."""

    def __init__(self, signatures=None):
        self.buf = bytearray()
        self.state = "size"
        self.remaining = 0
        self.trailers: dict[str, str] = {}
        self.done = False
        self.signatures = signatures        # chunksig.ChunkSignatures, when they are checked
        self.trailer_mode = False

    def feed(self, data: bytes) -> list:
        self.buf += data
        out = []
        buf = self.buf
        pos = 0
        while not self.done:
            if self.state == "data":
                take = min(self.remaining, len(buf) - pos)
                if take == 0:
                    break
                piece = bytes(buf[pos:pos + take])
                out.append(piece)
                pos += take
                self.remaining -= take
                if self.signatures is not None:
                    self.signatures.data(piece)
                if self.remaining == 0:
                    self.state = "crlf"
                    if self.signatures is not None:
                        self.signatures.end()
            elif self.state == "crlf":
                if len(buf) - pos < 2:
                    break
                if buf[pos:pos + 2] != b"\r\n":
                    raise _bad_chunk()
                pos += 2
                self.state = "size"
            else:
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    if len(buf) - pos > 8192:
                        raise _bad_chunk()
                    break
                line = bytes(buf[pos:end]).decode("latin-1")
                pos = end + 2
                if self.state == "size":
                    head, _, ext = line.partition(";")
                    try:
                        size = int(head.strip(), 16)
                    except ValueError:
                        raise _bad_chunk() from None
                    if self.signatures is not None:
                        name, _, value = ext.partition("=")
                        self.signatures.begin(value.strip() if name.strip() == "chunk-signature" else None)
                    if size == 0:
                        self.state = "trailer"
                        if self.signatures is not None:
                            self.signatures.end()
                    else:
                        self.remaining, self.state = size, "data"
                elif line.strip() == "":
                    self._close()
                else:
                    self._trailer(line)
        del buf[:pos]
        return out

    def _trailer(self, line: str) -> None:
        name, sep, value = line.partition(":")
        if sep:
            self.trailers[name.strip().lower()] = value.strip()

    def _close(self) -> None:
        """The body's end: a signed trailer's signature closes the chain."""
        if not self.done and self.signatures is not None and self.trailer_mode:
            self.signatures.trailer(self.trailers)
        self.done = True

    def finish(self) -> None:
        if self.state == "trailer" and self.buf:
            for line in bytes(self.buf).decode("latin-1").split("\r\n"):
                if line.strip():
                    self._trailer(line)
            self.buf.clear()
            self._close()
        if self.state == "trailer":
            self._close()
        if not self.done:
            raise AwsError("IncompleteBody", "The request body terminated unexpectedly", status=400)


def _bad_chunk() -> AwsError:
    return AwsError("InvalidChunkSizeError", "Only the last chunk is allowed to have a size less "
                    "than 8192 bytes", status=403)


class Expect:
    """What the request says its body should be."""

    def __init__(self, request: dict, headers: dict, store=None):
        self.headers = headers
        sha = headers.get("x-amz-content-sha256", "")
        from haneul.services.s3 import chunksig
        self.signatures = chunksig.for_request(store, headers)     # aws-chunked chunk signatures
        self.signed_trailer = sha.endswith("-TRAILER")
        encoding = request.get("ContentEncoding") or ""
        self.chunked = sha.startswith("STREAMING-") or "aws-chunked" in encoding.lower()
        self.sha256 = sha.lower() if len(sha) == 64 else None
        self.decoded_length = headers.get("x-amz-decoded-content-length")
        self.md5 = request.get("ContentMD5")
        if self.md5 is not None:
            try:
                if len(base64.b64decode(self.md5, validate=True)) != 16:
                    raise ValueError
            except (ValueError, binascii.Error):
                raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.",
                               status=400, **{"Content-MD5": self.md5}) from None
        given = {a: request[f"Checksum{a}"] for a in checksums.ALGORITHMS if request.get(f"Checksum{a}")}
        trailer = headers.get("x-amz-trailer", "").strip().lower()
        self.trailer = None
        if trailer.startswith("x-amz-checksum-"):
            algo = trailer[len("x-amz-checksum-"):].upper()
            if algo not in checksums.ALGORITHMS:
                raise AwsError("InvalidRequest", "The value specified in the x-amz-trailer header is "
                               "not supported", status=400)
            self.trailer = algo
        if len(given) + (self.trailer is not None) > 1:
            raise AwsError("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple "
                           "checksum Types are not allowed.", status=400)
        for algo, value in given.items():
            if not checksums.valid_b64(algo, value):
                raise AwsError("InvalidRequest", f"Value for x-amz-checksum-{algo.lower()} header "
                               "is invalid.", status=400)
        self.given = given
        named = request.get("ChecksumAlgorithm")
        self.algorithm = self.trailer or next(iter(given), None) or (named.upper() if named else None)


def drains(method):
    """For operations taking a streamed body: when they fail before reading it all, read
    the rest, so the connection stays in step for the client's next request."""
    import functools

    @functools.wraps(method)
    async def wrapper(self, ctx, request):
        try:
            return await method(self, ctx, request)
        except Exception:
            body = request.get("Body")
            if hasattr(body, "__aiter__"):
                try:
                    async for _ in body:
                        pass
                except Exception:
                    pass
            raise
    return wrapper


class Received:
    __slots__ = ("blob", "size", "md5", "checksum", "algorithm")

    def __init__(self, blob, size, md5, checksum, algorithm):
        self.blob, self.size, self.md5, self.checksum, self.algorithm = blob, size, md5, checksum, algorithm

    @property
    def etag(self) -> str:
        return '"' + self.md5 + '"'


async def _chunks(body):
    if body is None:
        return
    if isinstance(body, str):
        body = body.encode()
    if isinstance(body, (bytes, bytearray, memoryview)):
        if body:
            yield bytes(body)
        return
    if hasattr(body, "__aiter__"):
        async for chunk in body:
            yield chunk
        return
    for chunk in body:
        yield chunk


async def receive(blobs, body, expect: Expect, default_algorithm: str | None = "CRC64NVME",
                  durable: bool = True) -> Received:
    """Write the body to a new blob file, checked against what the request claims; made
    durable (synced) unless the store is ephemeral."""
    algorithm = expect.algorithm or default_algorithm
    md5 = hashlib.md5()
    check = checksums.Checksum(algorithm) if algorithm else None
    sha = hashlib.sha256() if expect.sha256 and not expect.chunked else None
    decoder = ChunkedDecoder(expect.signatures) if expect.chunked else None
    if decoder is not None:
        decoder.trailer_mode = expect.signed_trailer
    blob_id = new_blob_id()
    digests = [h.update for h in (md5, check, sha) if h is not None]

    def digest(piece) -> None:
        for update in digests:
            update(piece)
    out = BlobWriter(blobs, blob_id, digest, durable)
    size = 0
    try:
        async for raw in _chunks(body):
            pieces = decoder.feed(raw) if decoder is not None else (raw,)
            for piece in pieces:
                size += len(piece)
                await out.add(piece)
        if decoder is not None:
            decoder.finish()
        await out.drain()
        _verify(expect, decoder, size, md5, check, sha)
        await out.commit()
    except BaseException:
        out.abort()
        raise
    return Received(blob_id, size, md5.hexdigest(), check.b64() if check else None, algorithm)


def _verify(expect: Expect, decoder, size, md5, check, sha) -> None:
    if decoder is not None and expect.decoded_length and expect.decoded_length.isdigit() \
            and int(expect.decoded_length) != size:
        raise AwsError("IncompleteBody", "You did not provide the number of bytes specified by the "
                       "Content-Length HTTP header", status=400)
    if expect.md5 is not None:
        got = base64.b64encode(md5.digest()).decode()
        if got != expect.md5:
            raise AwsError("BadDigest", "The Content-MD5 you specified did not match what we received.",
                           status=400, ExpectedDigest=expect.md5, CalculatedDigest=got)
    if sha is not None and sha.hexdigest() != expect.sha256:
        raise AwsError("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does "
                       "not match what was computed.", status=400,
                       ClientComputedContentSHA256=expect.sha256, S3ComputedContentSHA256=sha.hexdigest())
    if check is None:
        return
    claimed = expect.given.get(check.algorithm)
    if expect.trailer is not None and decoder is not None:
        claimed = decoder.trailers.get(f"x-amz-checksum-{expect.trailer.lower()}")
        if claimed is None:
            raise AwsError("InvalidRequest", "x-amz-trailer header specified but checksum trailer "
                           "not found in the body", status=400)
    if claimed is not None and claimed != check.b64():
        raise AwsError("BadDigest", f"The {check.algorithm} you specified did not match the "
                       "calculated checksum.", status=400)


# -- out ------------------------------------------------------------------------------------
def read_small(blobs, manifest: list, start: int, end: int) -> bytes:
    """Bytes [start, end) of the object, read now (small objects and ranges)."""
    out = []
    for blob_id, size, f_start, f_end in _slices(manifest, start, end):
        fd = os.open(blobs.path(blob_id), os.O_RDONLY)     # one pread: no file object to build
        try:
            piece = os.pread(fd, f_end - f_start, f_start)
            while len(piece) < f_end - f_start:
                more = os.pread(fd, f_end - f_start - len(piece), f_start + len(piece))
                if not more:
                    break
                piece += more
        finally:
            os.close(fd)
        out.append(piece)
    return out[0] if len(out) == 1 else b"".join(out)


def open_stream(blobs, manifest: list, start: int, end: int):
    """An async iterator over bytes [start, end).  The files are opened now, so the object
    stays readable even if it is overwritten or deleted while it streams out."""
    files = [(blobs.open(blob_id), a, b) for blob_id, _, a, b in _slices(manifest, start, end)]

    async def gen():
        try:
            for f, a, b in files:
                f.seek(a)
                left = b - a
                while left > 0:
                    data = f.read(min(CHUNK, left))
                    if not data:
                        break
                    left -= len(data)
                    yield data
                    await asyncio.sleep(0)
        finally:
            for f, _, _ in files:
                f.close()
    return gen()


def _slices(manifest: list, start: int, end: int):
    offset = 0
    for blob_id, size in manifest:
        a, b = max(start, offset), min(end, offset + size)
        if a < b:
            yield blob_id, size, a - offset, b - offset
        offset += size


def link_copy(blobs, blob_id: str) -> str:
    """A new blob id for the same bytes (a hard link: blobs are never modified)."""
    new = blobs.new_id()
    final = blobs.path(new)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    try:
        os.link(blobs.path(blob_id), final)
    except OSError:
        import shutil
        tmp = os.path.join(blobs.root, "tmp", new + ".copy")
        shutil.copyfile(blobs.path(blob_id), tmp)
        os.replace(tmp, final)
    return new


def write_range(blobs, manifest: list, start: int, end: int) -> tuple[str, str, int]:
    """Bytes [start, end) of an object into a new blob (UploadPartCopy); (id, md5, size)."""
    new = blobs.new_id()
    tmp = os.path.join(blobs.root, "tmp", new + ".part")
    md5 = hashlib.md5()
    with open(tmp, "wb") as out:
        for blob_id, _, a, b in _slices(manifest, start, end):
            with blobs.open(blob_id) as f:
                f.seek(a)
                left = b - a
                while left > 0:
                    data = f.read(min(CHUNK, left))
                    if not data:
                        break
                    left -= len(data)
                    md5.update(data)
                    out.write(data)
        out.flush()
        os.fsync(out.fileno())
    final = blobs.path(new)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    os.replace(tmp, final)
    return new, md5.hexdigest(), end - start


def digest_of(blobs, manifest: list, algorithms: list[str]) -> dict:
    """MD5 (hex) and checksums (base64) of a whole stored object, read once."""
    md5 = hashlib.md5()
    checks = {a: checksums.Checksum(a) for a in algorithms}
    for blob_id, _ in manifest:
        with blobs.open(blob_id) as f:
            while True:
                data = f.read(CHUNK)
                if not data:
                    break
                md5.update(data)
                for c in checks.values():
                    c.update(data)
    return {"MD5": md5.hexdigest(), **{a: c.b64() for a, c in checks.items()}}
