"""Primary keys: validation against a key schema and the byte encodings the store sorts by.

Hash keys are stored as 4 bytes of a digest (spreading items over the key space, which is
also how parallel Scan segments are cut) followed by the typed key bytes.  Range keys use
an order-preserving encoding, so SQLite's BLOB comparison orders them as DynamoDB does:
strings and binaries by their bytes, numbers by value.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from haneul.services.dynamodb.expressions import values as V

HASH_KEY_LIMIT = 2048
RANGE_KEY_LIMIT = 1024


def scalar_bytes(av: dict) -> bytes:
    (t, v), = av.items()
    if t == "S":
        return v.encode()
    if t == "B":
        return v
    return V.number_text(Decimal(v)).encode()


def encode_hash(av: dict) -> bytes:
    (t, _), = av.items()
    raw = t.encode() + b"\x00" + scalar_bytes(av)
    return hashlib.md5(raw).digest()[:4] + raw


def encode_number(d: Decimal) -> bytes:
    if not d:
        return b"\x02"
    t = d.normalize(V.EXACT).as_tuple()
    digits = "".join(map(str, t.digits))
    exp = len(t.digits) + t.exponent          # value = 0.digits x 10^exp
    if not t.sign:
        return b"\x03" + bytes([exp + 129]) + digits.encode()
    inverted = "".join(str(9 - int(c)) for c in digits)
    return b"\x01" + bytes([255 - (exp + 129)]) + inverted.encode() + b"\xff"


def encode_range(av: dict | None) -> bytes:
    if av is None:
        return b""
    (t, v), = av.items()
    if t == "N":
        return encode_number(Decimal(v))
    if t == "S":
        return v.encode()
    return v


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with `prefix`."""
    p = bytearray(prefix)
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return None
    p[-1] += 1
    return bytes(p)


class KeySchema:
    """A table's or index's key: attribute names and scalar types."""

    __slots__ = ("hash", "range", "hash_type", "range_type")

    def __init__(self, key_schema: list, types: dict):
        self.hash = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
        rng = [k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"]
        self.range = rng[0] if rng else None
        self.hash_type = types.get(self.hash)
        self.range_type = types.get(self.range) if self.range else None

    @property
    def names(self) -> list:
        return [self.hash] + ([self.range] if self.range else [])

    def key_of(self, item: dict) -> dict:
        out = {self.hash: item[self.hash]}
        if self.range:
            out[self.range] = item[self.range]
        return out

    def encoded(self, item: dict) -> tuple[bytes, bytes]:
        return encode_hash(item[self.hash]), (encode_range(item[self.range]) if self.range else b"")

    def validate_item(self, item: dict) -> None:
        """The key attributes of an item being written (PutItem)."""
        for name, t in ((self.hash, self.hash_type), (self.range, self.range_type)):
            if name is None:
                continue
            if name not in item:
                raise V.invalid(f"One or more parameter values were invalid: Missing the key {name} in the item")
            self._check(name, t, item[name])

    def _check(self, name, t, av):
        actual = V.type_of(av)
        if actual != t:
            raise V.invalid(f"One or more parameter values were invalid: Type mismatch for key {name} "
                            f"expected: {t} actual: {actual}")
        if t in ("S", "B") and len(av[t]) == 0:
            what = "string" if t == "S" else "binary"
            raise V.invalid("One or more parameter values are not valid. The AttributeValue for a key "
                            f"attribute cannot contain an empty {what} value. Key: {name}")
        size = len(scalar_bytes(av))
        if name == self.hash and size > HASH_KEY_LIMIT:
            raise V.invalid("One or more parameter values were invalid: Size of hashkey has exceeded the "
                            f"maximum size limit of{HASH_KEY_LIMIT} bytes")
        if name == self.range and size > RANGE_KEY_LIMIT:
            raise V.invalid("One or more parameter values were invalid: Aggregated size of all range keys "
                            f"has exceeded the size limit of {RANGE_KEY_LIMIT} bytes")

    def validate_key(self, key: dict) -> dict:
        """A Key parameter (GetItem, UpdateItem, DeleteItem, ...): exactly the key attributes."""
        try:
            key = {k: V.canonical(v) for k, v in key.items()}
        except V.ValueProblem as e:
            raise V.invalid(str(e)) from None
        if set(key) != set(self.names):
            raise V.invalid("The provided key element does not match the schema")
        for name, t in ((self.hash, self.hash_type), (self.range, self.range_type)):
            if name is None:
                continue
            if V.type_of(key[name]) != t:
                raise V.invalid("The provided key element does not match the schema")
            self._check(name, t, key[name])
        return key

    def index_entry(self, item: dict) -> tuple[bytes, bytes] | None:
        """Where an item sits in a secondary index with this key, or None (sparse)."""
        h = item.get(self.hash)
        if h is None or V.type_of(h) != self.hash_type:
            return None
        if self.range:
            r = item.get(self.range)
            if r is None or V.type_of(r) != self.range_type:
                return None
            return encode_hash(h), encode_range(r)
        return encode_hash(h), b""

    def check_index_values(self, item: dict, index_name: str) -> None:
        """A written item whose index key attribute has the wrong type is refused."""
        for name, t in ((self.hash, self.hash_type), (self.range, self.range_type)):
            if name is None or name not in item:
                continue
            actual = V.type_of(item[name])
            if actual != t:
                raise V.invalid("One or more parameter values were invalid: Type mismatch for Index Key "
                                f"{name} Expected: {t} Actual: {actual} IndexName: {index_name}")
            if t in ("S", "B") and len(item[name][t]) == 0:
                raise V.invalid("One or more parameter values are not valid. A value specified for a "
                                "secondary index key is not supported. The AttributeValue for a key "
                                f"attribute cannot contain an empty {'string' if t == 'S' else 'binary'} "
                                f"value. IndexName: {index_name}, IndexKey: {name}")
