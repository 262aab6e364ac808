"""HTTP API records: the same document table shape as REST APIs' (apigateway/records.py),
in its own table, with the model's PascalCase member names."""

from __future__ import annotations

from haneul.services.apigateway import records as _r
from haneul.services.base import decode_token, encode_token

TABLE = "apigw2_doc"
SCHEMA = [
    """CREATE TABLE apigw2_doc (account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL,
        parent TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, seq INTEGER,
        PRIMARY KEY (account, region, kind, parent, id));
    CREATE INDEX apigw2_doc_by_id ON apigw2_doc(kind, id)""",
]

new_id = _r.new_id
not_found = _r.not_found
bad_request = _r.bad_request
conflict = _r.conflict
clean = _r.clean


def get(db, ctx, kind, parent, id_):
    return _r.get(db, ctx, kind, parent, id_, TABLE)


def must(db, ctx, kind, parent, id_, message):
    return _r.must(db, ctx, kind, parent, id_, message, TABLE)


def put(db, ctx, kind, parent, id_, doc):
    return _r.put(db, ctx, kind, parent, id_, doc, TABLE)


def delete(db, ctx, kind, parent, id_=None):
    return _r.delete(db, ctx, kind, parent, id_, TABLE)


def delete_under(db, ctx, parent):
    return _r.delete_under(db, ctx, parent, TABLE)


def items(db, ctx, kind, parent=""):
    return _r.items(db, ctx, kind, parent, TABLE)


def _max_results(text) -> int:
    # The model types MaxResults as a string; a client can send anything in it.
    if not text:
        return 100
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < 1:
        raise bad_request(f"Invalid MaxResults: {text}")
    return limit


def page(docs: list, request: dict) -> dict:
    """{Items, NextToken} for MaxResults/NextToken requests."""
    limit = _max_results(request.get("MaxResults"))
    start = 0
    if request.get("NextToken"):
        start = decode_token(request["NextToken"], lambda: bad_request("Invalid NextToken"))
    chunk = docs[start:start + limit]
    out = {"Items": [clean(d) for d in chunk]}
    if start + limit < len(docs):
        out["NextToken"] = encode_token(start + limit)
    return out
