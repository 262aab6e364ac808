"""Compiled deployments: the route tree of a snapshot, built once per deployment (they are
immutable), and the lookup of which account owns an API id."""

from __future__ import annotations

import json
from collections import OrderedDict
from urllib.parse import unquote

_CACHE: "OrderedDict[tuple, Compiled]" = OrderedDict()
_OWNERS: dict[str, tuple[str, str, str]] = {}
_MAX = 256


class Node:
    __slots__ = ("literal", "param", "greedy", "resource")

    def __init__(self):
        self.literal: dict[str, Node] = {}
        self.param: tuple[str, Node] | None = None
        self.greedy: tuple[str, Node] | None = None
        self.resource: dict | None = None


class Compiled:
    def __init__(self, snapshot: dict):
        self.api = snapshot.get("api") or {}
        self.resources = snapshot.get("resources") or []
        self.authorizers = {a["id"]: a for a in snapshot.get("authorizers") or ()}
        self.validators = {v["id"]: v for v in snapshot.get("validators") or ()}
        self.models = {m["name"]: m for m in snapshot.get("models") or ()}
        self.gateway_responses = {g["responseType"]: g for g in snapshot.get("gatewayResponses") or ()}
        self.schemas: dict = {}           # compiled JSON Schema validators by model name
        self.root = Node()
        for r in self.resources:
            node = self.root
            for part in [p for p in r.get("path", "/").split("/") if p]:
                if part.startswith("{") and part.endswith("+}"):
                    if node.greedy is None:
                        node.greedy = (part[1:-2], Node())
                    node = node.greedy[1]
                elif part.startswith("{") and part.endswith("}"):
                    if node.param is None:
                        node.param = (part[1:-1], Node())
                    node = node.param[1]
                else:
                    node = node.literal.setdefault(part, Node())
            node.resource = r

    def match(self, path: str) -> tuple[dict, dict] | None:
        """(resource, path parameters) for a request path: literal parts first, then a
        {param}, then a greedy {proxy+} (which needs at least one segment)."""
        segments = [unquote(p) for p in path.split("/") if p != ""]
        return _walk(self.root, segments, 0, {})


def _walk(node: Node, segs: list[str], i: int, params: dict):
    if i == len(segs):
        return (node.resource, params) if node.resource is not None else None
    seg = segs[i]
    child = node.literal.get(seg)
    if child is not None:
        found = _walk(child, segs, i + 1, params)
        if found:
            return found
    if node.param is not None:
        name, child = node.param
        found = _walk(child, segs, i + 1, {**params, name: seg})
        if found:
            return found
    if node.greedy is not None:
        name, child = node.greedy
        if child.resource is not None:
            return child.resource, {**params, name: "/".join(segs[i:])}
    return None


def compiled(db, ctx, api_id: str, deployment_id: str) -> Compiled | None:
    key = (ctx.account, ctx.region, api_id, deployment_id)
    found = _CACHE.get(key)
    if found is not None:
        _CACHE.move_to_end(key)
        return found
    row = db.execute("SELECT doc FROM apigw_doc WHERE account=? AND region=? AND kind='snapshot' AND parent=? "
                     "AND id=?", (ctx.account, ctx.region, api_id, deployment_id)).fetchone()
    if row is None:
        return None
    found = _CACHE[key] = Compiled(json.loads(row[0]))
    if len(_CACHE) > _MAX:
        _CACHE.popitem(last=False)
    return found


def known_owner(api_id: str) -> tuple[str, str, str] | None:
    """owner_of's answer when it is already known (no store access)."""
    return _OWNERS.get(api_id)


def owner_of(db, api_id: str) -> tuple[str, str, str] | None:
    """(kind 'rest'|'http', account, region) of an API id, across accounts."""
    found = _OWNERS.get(api_id)
    if found is not None:
        return found
    row = None
    try:
        row = db.execute("SELECT account, region FROM apigw_doc WHERE kind='restapi' AND id=? AND parent=''",
                         (api_id,)).fetchone()
    except Exception:      # the table is not there before the service's first use
        row = None
    if row is not None:
        found = ("rest", row[0], row[1])
    else:
        try:
            row = db.execute("SELECT account, region FROM apigw2_doc WHERE kind='api' AND id=? AND parent=''",
                             (api_id,)).fetchone()
        except Exception:
            row = None
        if row is not None:
            found = ("http", row[0], row[1])
    if found is not None:
        if len(_OWNERS) > 10000:
            _OWNERS.clear()
        _OWNERS[api_id] = found
    return found


def forget(api_id: str) -> None:
    _OWNERS.pop(api_id, None)
