"""Effective management policies: the policies of one type from the root down to an
account merged with the inheritance operators, as Organizations computes them.

At each level (root, each OU, the account) every attached policy is applied in
attachment order: `@@assign` replaces the inherited value, `@@append` adds to it,
`@@remove` takes values out (or the whole setting when it names none).
`@@operators_allowed_for_child_policies` set at one level limits which operators the
policies of lower levels may use on that setting and everything beneath it; an
operator a child may not use is ignored.  The result carries plain values only.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

ALL = frozenset({"@@assign", "@@append", "@@remove"})
Path = tuple


def effective(levels: Iterable[Iterable[dict]]) -> dict | None:
    """`levels`: the parsed policy documents at each level, root first.  None when no
    policy applies."""
    values: dict[Path, Any] = {}
    allowed: dict[Path, frozenset] = {}
    seen = False
    for docs in levels:
        pending: dict[Path, frozenset] = {}
        for doc in docs:
            seen = True
            _apply(doc, (), values, allowed, pending)
        for path, ops in pending.items():
            allowed[path] = allowed.get(path, ALL) & ops
    if not seen:
        return None
    return _build(values)


def _permitted(path: Path, allowed: dict[Path, frozenset]) -> frozenset:
    ops = ALL
    for i in range(len(path) + 1):
        ops = ops & allowed.get(path[:i], ALL)
    return ops


def _apply(node: dict, path: Path, values: dict, allowed: dict, pending: dict) -> None:
    ops = _permitted(path, allowed)
    if "@@assign" in node and "@@assign" in ops:
        for p in [p for p in values if p[:len(path)] == path and len(p) > len(path)]:
            del values[p]
        values[path] = copy.deepcopy(node["@@assign"])
    if "@@append" in node and "@@append" in ops:
        current = values.get(path, [])
        current = current if isinstance(current, list) else [current]
        add = node["@@append"] if isinstance(node["@@append"], list) else [node["@@append"]]
        values[path] = current + [v for v in add if v not in current]
    if "@@remove" in node and "@@remove" in ops:
        drop = node["@@remove"]
        if drop in (None, [], ""):
            for p in [p for p in values if p[:len(path)] == path]:
                del values[p]
        else:
            drop = drop if isinstance(drop, list) else [drop]
            current = values.get(path)
            if isinstance(current, list):
                values[path] = [v for v in current if v not in drop]
            elif current in drop:
                del values[path]
    if "@@operators_allowed_for_child_policies" in node:
        listed = set(node["@@operators_allowed_for_child_policies"])
        pending[path] = ALL if "@@all" in listed else frozenset(listed & ALL)
    for key, child in node.items():
        if key.startswith("@@"):
            continue
        child_path = path + (key,)
        if isinstance(child, dict):
            _apply(child, child_path, values, allowed, pending)
        elif "@@assign" in _permitted(child_path, allowed):
            values[child_path] = copy.deepcopy(child)


def _build(values: dict[Path, Any]) -> dict:
    out: dict = {}
    for path in sorted(values, key=len):
        if not path:
            continue
        node = out
        for key in path[:-1]:
            nxt = node.get(key)
            if not isinstance(nxt, dict):
                nxt = node[key] = {}
            node = nxt
        node[path[-1]] = values[path]
    return out
