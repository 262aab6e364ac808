"""REST routes compiled from each operation's `requestUri` (and host prefix).

A requestUri such as "/{Bucket}/{Key+}?uploads" becomes a regular expression for the
path plus the literal query keys that must be present.  When several routes match, the
most specific wins: more literal query keys, then longer literal path, then no greedy label.
A request only tries the routes that can fit it: those whose first path segment is a label
or the request's own, and whose literal query keys the request carries (`candidates`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

from haneul.protocol.shapes import Operation, ServiceSpec

_LABEL = re.compile(r"\{([^}]+)\}")


class Route:
    __slots__ = ("op", "method", "regex", "labels", "query", "score", "needs", "segment")

    def __init__(self, op: Operation):
        self.op = op
        self.method = op.method
        path, _, query = op.request_uri.partition("?")
        pattern, labels, pos, literal = [], [], 0, 0
        for i, m in enumerate(_LABEL.finditer(path)):
            pattern.append(re.escape(path[pos:m.start()]))
            literal += m.start() - pos
            name = m.group(1)
            greedy = name.endswith("+")
            name = name.rstrip("+")
            labels.append((f"g{i}", name, greedy))
            pattern.append(f"(?P<g{i}>.+)" if greedy else f"(?P<g{i}>[^/]+)")
            pos = m.end()
        pattern.append(re.escape(path[pos:]))
        literal += len(path) - pos
        tail = "/?" if not path.endswith("/") and path != "/" else ""
        self.regex = re.compile("^" + "".join(pattern) + tail + "$")
        self.labels = labels
        self.query = parse_qsl(query, keep_blank_values=True)
        greedy = any(g for _, _, g in labels)
        self.score = (len(self.query), literal, not greedy)
        # the literal first path segment ("2015-03-31" of "/2015-03-31/functions"), or
        # None when a label may fill it
        first = first_segment(path) if path.startswith("/") else "{"
        self.segment = None if "{" in first else first
        # Required members bound to the query string or headers: several operations may
        # share one URI (S3's PUT /{Bucket}/{Key+} is PutObject, CopyObject, UploadPart and
        # UploadPartCopy) and only these tell them apart.
        self.needs: list[tuple[str, str]] = []
        if op.input is not None:
            for name in op.input.required:
                member = op.input.members.get(name)
                loc = member.ser.get("location") if member is not None else None
                if loc in ("querystring", "header"):
                    wire = member.ser.get("name", name)
                    self.needs.append((loc, wire if loc == "querystring" else wire.lower()))

    def match(self, path: str, params: dict[str, list[str]]) -> dict[str, str] | None:
        for key, value in self.query:
            got = params.get(key)
            if got is None or (value and value not in got):
                return None
        m = self.regex.match(path)
        if m is None:
            return None
        out = {}
        for group, name, greedy in self.labels:
            out[name] = unquote(m.group(group))
        return out


def routes(spec: ServiceSpec) -> dict[str, list[Route]]:
    cached = spec.cache.get("routes")
    if cached is None:
        cached = {}
        for name in spec.operation_names:
            route = Route(spec.operation(name))
            cached.setdefault(route.method, []).append(route)
        for method_routes in cached.values():
            method_routes.sort(key=lambda r: r.score, reverse=True)
        spec.cache["routes"] = cached
    return cached


def first_segment(path: str) -> str:
    return path[1:].split("/", 1)[0] if path.startswith("/") else ""


# bound on the remembered candidate lists of one service (method, segment, query keys)
_CANDIDATE_LISTS = 4096
_NO_KEYS: frozenset = frozenset()
_SHORT = 4


def candidates(spec: ServiceSpec, method: str, path: str, grouped: dict) -> list[Route]:
    """The routes of `method` that can fit: in the same order as `routes()`, so the
    scan below picks exactly what scanning every route would."""
    index = spec.cache.get("route_index")
    if index is None:
        index = spec.cache["route_index"] = _RouteIndex(routes(spec))
    every = index.by_method.get(method, ())
    if len(every) <= _SHORT:
        return every            # scanning a few routes costs less than choosing them
    segment = first_segment(path)
    if segment not in index.segments:
        segment = None
    keys = frozenset(k for k in grouped if k in index.query_keys) if grouped else _NO_KEYS
    found = index.lists.get((method, segment, keys))
    if found is None:
        if len(index.lists) >= _CANDIDATE_LISTS:
            index.lists.clear()
        found = [r for r in every if r.segment in (None, segment) and all(k in keys for k, _ in r.query)]
        index.lists[(method, segment, keys)] = found
    return found


class _RouteIndex:
    __slots__ = ("by_method", "segments", "query_keys", "lists")

    def __init__(self, by_method: dict[str, list[Route]]):
        self.by_method = by_method
        every = [r for rs in by_method.values() for r in rs]
        self.segments = {r.segment for r in every if r.segment is not None}
        self.query_keys = {k for r in every for k, _ in r.query}
        self.lists: dict[tuple, list[Route]] = {}


def match(spec: ServiceSpec, method: str, path: str, params: list[tuple[str, str]],
          headers: dict[str, str] | None = None) -> tuple[Operation, dict[str, str]] | None:
    found = match_scored(spec, method, path, params, headers)
    return (found[0], found[1]) if found else None


def match_scored(spec, method, path, params, headers=None):
    """(operation, labels, score) of the most specific route that fits, or None."""
    grouped: dict[str, list[str]] = {}
    for k, v in params:
        grouped.setdefault(k, []).append(v)
    headers = headers or {}
    best = None
    for route in candidates(spec, method, path, grouped):
        if best is not None and route.score < best[2][:len(route.score)]:
            break                      # routes are sorted: nothing later can win
        labels = route.match(path, grouped)
        if labels is None:
            continue
        present = 0
        for loc, wire in route.needs:
            if (wire in grouped) if loc == "querystring" else (wire in headers):
                present += 1
            else:
                present = -1
                break
        if present < 0:
            continue
        # a deprecated operation loses to its replacement sent the same way
        score = route.score + (present, not route.op.raw.get("deprecated", False))
        if best is None or score > best[2]:
            best = (route.op, labels, score)
    return best


def host_labels(op: Operation, host: str) -> dict[str, str]:
    """Values of `hostLabel` members from a host such as "123456789012.localhost"."""
    template = op.host_prefix
    if not template or "{" not in template:
        return {}
    cached = op._cache.get("host_regex")
    if cached is None:
        parts, pos = [], 0
        for m in _LABEL.finditer(template):
            parts.append(re.escape(template[pos:m.start()]))
            parts.append(f"(?P<{m.group(1)}>[A-Za-z0-9-]+)")
            pos = m.end()
        parts.append(re.escape(template[pos:]))
        cached = op._cache["host_regex"] = re.compile("^" + "".join(parts))
    m = cached.match(host)
    return m.groupdict() if m else {}
