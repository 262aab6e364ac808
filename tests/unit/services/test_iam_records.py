"""haneul.services.iam.records: stored `data` columns read back as json.dumps wrote them."""

from __future__ import annotations

import json

import pytest

from haneul.services.iam.records import load_data


@pytest.mark.parametrize("value", [
    {"trust": '{"Version": "2012-10-17"}', "max_session": 3600, "tags": [{"Key": "k", "Value": "\u00e9\u20ac"}]},
    {"lone": "\udc80"},                 # escaped by json.dumps, refused by orjson
    {"big": 2 ** 70},                   # past 64 bits
    {"nan": float("inf")},              # json.dumps writes Infinity
    [], "", 0,
])
def test_load_data_reads_what_json_dumps_wrote(value):
    assert load_data(json.dumps(value)) == value
