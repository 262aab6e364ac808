"""Order-preserving key encodings."""

from __future__ import annotations

import random
from decimal import Decimal

from haneul.services.dynamodb.keys import encode_number, encode_range, prefix_end


def test_numbers_sort_by_value():
    values = ["-1e125", "-100", "-10.5", "-10", "-1", "-0.5", "-1e-130", "0", "1e-130", "0.001", "0.5", "1",
              "1.5", "9", "10", "10.01", "100", "123456789012345678901234567890.12345678", "9.9e125"]
    shuffled = values[:]
    random.Random(1).shuffle(shuffled)
    assert sorted(shuffled, key=lambda v: encode_number(Decimal(v))) == values


def test_strings_sort_by_utf8_bytes():
    words = ["", "a", "ab", "b", "z", "\u00bf", "\uffff"]
    assert sorted(words, key=lambda w: encode_range({"S": w})) == words


def test_prefix_end():
    assert prefix_end(b"ab") == b"ac"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"\xff") is None
