"""The checksums S3 computes and checks: CRC32, CRC32C, CRC64NVME (awscrt's native code,
the library botocore itself uses when present), SHA1, SHA256, and MD5 for ETags.

Values travel base64-encoded big-endian, as in the x-amz-checksum-* headers.  Multipart
objects get either a COMPOSITE checksum (the checksum of the parts' checksums, "-N") or,
for CRCs, a FULL_OBJECT one combined from the parts' CRCs without reading the data again.
"""

from __future__ import annotations

import base64
import hashlib
import zlib

try:
    from awscrt import checksums as _crt
except ImportError:  # pragma: no cover - awscrt is a dependency; plain Python fallback
    _crt = None

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
CRCS = {"CRC32": (32, 0xEDB88320), "CRC32C": (32, 0x82F63B78), "CRC64NVME": (64, 0x9A6C9329AC4BC9B5)}


def _table(width: int, poly: int) -> list[int]:
    out = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        out.append(c)
    return out


_TABLES: dict[str, list[int]] = {}


def _py_crc(name: str, data: bytes, crc: int) -> int:
    width, poly = CRCS[name]
    table = _TABLES.get(name) or _TABLES.setdefault(name, _table(width, poly))
    mask = (1 << width) - 1
    c = crc ^ mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ mask


def _crc_update(name: str, data, crc: int) -> int:
    if name == "CRC32":
        return zlib.crc32(data, crc)
    if _crt is not None:
        return _crt.crc32c(data, crc) if name == "CRC32C" else _crt.crc64nvme(data, crc)
    return _py_crc(name, bytes(data), crc)


class Checksum:
    """An incremental checksum of one algorithm."""

    __slots__ = ("algorithm", "_crc", "_hash")

    def __init__(self, algorithm: str):
        self.algorithm = algorithm
        self._crc = 0
        self._hash = None if algorithm in CRCS else hashlib.new(algorithm.lower())

    def update(self, data) -> None:
        if self._hash is not None:
            self._hash.update(data)
        else:
            self._crc = _crc_update(self.algorithm, data, self._crc)

    @property
    def crc(self) -> int:
        return self._crc

    def raw(self) -> bytes:
        if self._hash is not None:
            return self._hash.digest()
        return self._crc.to_bytes(CRCS[self.algorithm][0] // 8, "big")

    def b64(self) -> str:
        return base64.b64encode(self.raw()).decode()


def compute(algorithm: str, data: bytes) -> str:
    c = Checksum(algorithm)
    c.update(data)
    return c.b64()


def valid_b64(algorithm: str, value: str) -> bool:
    size = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}[algorithm]
    try:
        return len(base64.b64decode(value, validate=True)) == size
    except ValueError:
        return False


def composite(algorithm: str, part_values: list[str]) -> str:
    """COMPOSITE multipart checksum: checksum of the concatenated raw part checksums."""
    c = Checksum(algorithm)
    for v in part_values:
        c.update(base64.b64decode(v))
    return f"{c.b64()}-{len(part_values)}"


# -- CRC combination (zlib's crc32_combine, for any reflected CRC) ------------------------
def _gf2_times(mat: list[int], vec: int) -> int:
    s, i = 0, 0
    while vec:
        if vec & 1:
            s ^= mat[i]
        vec >>= 1
        i += 1
    return s


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, m) for m in mat]


def crc_combine(algorithm: str, crc1: int, crc2: int, len2: int) -> int:
    """The CRC of A+B from crc(A), crc(B) and len(B)."""
    if len2 <= 0:
        return crc1
    width, poly = CRCS[algorithm]
    odd = [poly] + [1 << i for i in range(width - 1)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def full_object(algorithm: str, parts: list[tuple[str, int]]) -> str:
    """FULL_OBJECT multipart checksum from the parts' (base64 CRC, size)."""
    crc = 0
    for value, size in parts:
        crc = crc_combine(algorithm, crc, int.from_bytes(base64.b64decode(value), "big"), size)
    return base64.b64encode(crc.to_bytes(CRCS[algorithm][0] // 8, "big")).decode()


def md5_etag(digest: bytes) -> str:
    return '"' + digest.hex() + '"'


def multipart_etag(part_etags: list[str]) -> str:
    h = hashlib.md5()
    for e in part_etags:
        h.update(bytes.fromhex(e.strip('"')))
    return f'"{h.hexdigest()}-{len(part_etags)}"'
