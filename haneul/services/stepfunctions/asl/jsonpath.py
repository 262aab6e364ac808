"""JSONPath as Step Functions evaluates it (Jayway semantics): compiled once, cached.

A *definite* path (only names and single indexes) yields one value or raises
`PathNotFound`; an *indefinite* path (wildcards, slices, unions, filters, deep scan)
yields the list of its matches, possibly empty.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any


class PathNotFound(Exception):
    def __init__(self, path: str, normalized: str):
        super().__init__(f"No results for path: {normalized}")
        self.path = path
        self.normalized = normalized


class InvalidPath(Exception):
    pass


# -- compiled segments: (kind, arg) ---------------------------------------------------------
# kinds: name, index, names, indexes, wild, slice, filter, deep (arg: segment), length

class CompiledPath:
    __slots__ = ("text", "segments", "definite", "context", "names")

    def __init__(self, text: str, segments: list, context: bool):
        self.text = text
        self.segments = segments
        self.context = context
        self.definite = all(kind in ("name", "index", "length") for kind, _ in segments)
        # the common `$.a.b` shape: walked directly, without the node lists
        self.names = [arg for _, arg in segments] if all(kind == "name" for kind, _ in segments) else None

    def find(self, root: Any, context_root: Any = None) -> Any:
        if self.names is not None:
            node = root
            for i, name in enumerate(self.names):
                if not isinstance(node, dict) or name not in node:
                    raise PathNotFound(self.text, normalize(self.segments[:i + 1]))
                node = node[name]
            return node
        nodes = [root]
        for i, (kind, arg) in enumerate(self.segments):
            out: list = []
            for node in nodes:
                _apply(kind, arg, node, out, root)
            if self.definite and not out:
                raise PathNotFound(self.text, normalize(self.segments[:i + 1]))
            nodes = out
        if self.definite:
            return nodes[0]
        return nodes


def _apply(kind: str, arg: Any, node: Any, out: list, root: Any) -> None:
    if kind == "name":
        if isinstance(node, dict) and arg in node:
            out.append(node[arg])
    elif kind == "index":
        if isinstance(node, list) and -len(node) <= arg < len(node):
            out.append(node[arg])
    elif kind == "names":
        if isinstance(node, dict):
            out.extend(node[k] for k in arg if k in node)
    elif kind == "indexes":
        if isinstance(node, list):
            out.extend(node[i] for i in arg if -len(node) <= i < len(node))
    elif kind == "wild":
        if isinstance(node, dict):
            out.extend(node.values())
        elif isinstance(node, list):
            out.extend(node)
    elif kind == "slice":
        if isinstance(node, list):
            out.extend(node[slice(*arg)])
    elif kind == "filter":
        items = node if isinstance(node, list) else [node] if isinstance(node, dict) else []
        out.extend(item for item in items if arg(item, root))
    elif kind == "length":
        if isinstance(node, (list, dict, str)):
            out.append(len(node))
    elif kind == "deep":
        sub_kind, sub_arg = arg
        stack = [node]
        while stack:
            cur = stack.pop(0)
            _apply(sub_kind, sub_arg, cur, out, root)
            if isinstance(cur, dict):
                stack[0:0] = list(cur.values())
            elif isinstance(cur, list):
                stack[0:0] = list(cur)


def normalize(segments: list) -> str:
    out = "$"
    for kind, arg in segments:
        if kind == "name":
            out += f"['{arg}']"
        elif kind == "index":
            out += f"[{arg}]"
        elif kind == "wild":
            out += "[*]"
        elif kind == "length":
            out += ".length()"
        else:
            out += "[...]"
    return out


@lru_cache(maxsize=4096)
def compile_path(text: str) -> CompiledPath:
    if not isinstance(text, str) or not text.startswith("$"):
        raise InvalidPath(f"Invalid JSONPath: {text!r}")
    context = text.startswith("$$")
    rest = text[2:] if context else text[1:]
    return CompiledPath(text, _parse_segments(rest, text), context)


_NAME_END = re.compile(r"[.\[]")


def _parse_segments(s: str, text: str) -> list:
    segs: list = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if s.startswith("..", i):
            i += 2
            if i < n and s[i] == "[":
                seg, i = _parse_bracket(s, i, text)
            elif i < n and s[i] == "*":
                seg, i = ("wild", None), i + 1
            else:
                m = _NAME_END.search(s, i)
                end = m.start() if m else n
                seg, i = ("name", s[i:end]), end
            segs.append(("deep", seg))
        elif c == ".":
            i += 1
            if s.startswith("*", i):
                segs.append(("wild", None))
                i += 1
                continue
            m = _NAME_END.search(s, i)
            end = m.start() if m else n
            name = s[i:end]
            if not name:
                raise InvalidPath(f"Invalid JSONPath: {text}")
            if name == "length()" and end == n:
                segs.append(("length", None))
            else:
                segs.append(("name", name))
            i = end
        elif c == "[":
            seg, i = _parse_bracket(s, i, text)
            segs.append(seg)
        else:
            raise InvalidPath(f"Invalid JSONPath: {text}")
    return segs


def _parse_bracket(s: str, i: int, text: str):
    # s[i] == "["
    if s.startswith("[?(", i):
        depth = 0
        j = i + 2
        quote = None
        while j < len(s):
            ch = s[j]
            if quote:
                if ch == "\\":
                    j += 1
                elif ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j + 1 >= len(s) or s[j + 1] != "]":
            raise InvalidPath(f"Invalid JSONPath: {text}")
        return ("filter", _compile_filter(s[i + 3:j], text)), j + 2
    end = _bracket_end(s, i)
    if end < 0:
        raise InvalidPath(f"Invalid JSONPath: {text}")
    body = s[i + 1:end].strip()
    i = end + 1
    if body == "*":
        return ("wild", None), i
    if body.startswith(("'", '"')):
        names = [_unquote(p.strip()) for p in _split_top(body, ",")]
        return (("name", names[0]) if len(names) == 1 else ("names", names)), i
    if ":" in body:
        parts = body.split(":")
        try:
            vals = [int(p) if p.strip() else None for p in parts]
        except ValueError:
            raise InvalidPath(f"Invalid JSONPath: {text}") from None
        return ("slice", tuple(vals[:3])), i
    try:
        idx = [int(p) for p in body.split(",")]
    except ValueError:
        raise InvalidPath(f"Invalid JSONPath: {text}") from None
    return (("index", idx[0]) if len(idx) == 1 else ("indexes", idx)), i


def _bracket_end(s: str, i: int) -> int:
    quote = None
    for j in range(i + 1, len(s)):
        ch = s[j]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "]":
            return j
    return -1


def _unquote(p: str) -> str:
    if len(p) >= 2 and p[0] == p[-1] and p[0] in "'\"":
        return p[1:-1].replace("\\'", "'").replace('\\"', '"')
    return p


def _split_top(body: str, sep: str) -> list[str]:
    out, cur, quote = [], "", None
    for ch in body:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            cur += ch
        elif ch == sep:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


# -- filter expressions: @.a == 1 && (@.b > 2 || @.c) ---------------------------------------
_TOKEN = re.compile(r"""\s*(?:(?P<op>==|!=|<=|>=|=~|<|>|&&|\|\||!|\(|\))|(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
                      |(?P<re>/(?:[^/\\]|\\.)*/[a-z]*)|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
                      |(?P<path>[@$][^\s=!<>&|()]*)|(?P<word>true|false|null))""", re.X)

_MISSING = object()


def _compile_filter(expr: str, text: str):
    tokens = []
    pos = 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _TOKEN.match(expr, pos)
        if not m:
            raise InvalidPath(f"Invalid JSONPath: {text}")
        pos = m.end()
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
    parser = _FilterParser(tokens, text)
    fn = parser.parse_or()
    if parser.i != len(tokens):
        raise InvalidPath(f"Invalid JSONPath: {text}")
    return lambda item, root: bool(_truthy(fn(item, root)))


def _truthy(v):
    return v is not _MISSING and v is not False and v is not None


class _FilterParser:
    def __init__(self, tokens, text):
        self.tokens, self.i, self.text = tokens, 0, text

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse_or(self):
        left = self.parse_and()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.parse_and()
            left = (lambda a, b: lambda it, r: _truthy(a(it, r)) or _truthy(b(it, r)))(left, right)
        return left

    def parse_and(self):
        left = self.parse_cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.parse_cmp()
            left = (lambda a, b: lambda it, r: _truthy(a(it, r)) and _truthy(b(it, r)))(left, right)
        return left

    def parse_cmp(self):
        left = self.parse_unary()
        kind, op = self.peek()
        if kind == "op" and op in ("==", "!=", "<", "<=", ">", ">=", "=~"):
            self.take()
            right = self.parse_unary()
            return (lambda a, b, o: lambda it, r: _compare(o, a(it, r), b(it, r)))(left, right, op)
        return left

    def parse_unary(self):
        kind, val = self.take()
        if (kind, val) == ("op", "!"):
            inner = self.parse_unary()
            return lambda it, r: not _truthy(inner(it, r))
        if (kind, val) == ("op", "("):
            inner = self.parse_or()
            if self.take() != ("op", ")"):
                raise InvalidPath(f"Invalid JSONPath: {self.text}")
            return inner
        if kind == "str":
            s = val[1:-1]
            return lambda it, r: s
        if kind == "num":
            num = json.loads(val)
            return lambda it, r: num
        if kind == "word":
            w = {"true": True, "false": False, "null": None}[val]
            return lambda it, r: w
        if kind == "re":
            body, _, flags = val[1:].rpartition("/")
            rx = re.compile(body, re.I if "i" in flags else 0)
            return lambda it, r: rx
        if kind == "path":
            sub = compile_path("$" + val[1:])
            rel = val.startswith("@")

            def get(it, r, sub=sub, rel=rel):
                try:
                    found = sub.find(it if rel else r)
                except PathNotFound:
                    return _MISSING
                if not sub.definite and not found:
                    return _MISSING
                return found
            return get
        raise InvalidPath(f"Invalid JSONPath: {self.text}")


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return op == "!=" and not (a is _MISSING and b is _MISSING)
    if op == "=~":
        return isinstance(a, str) and isinstance(b, re.Pattern) and b.fullmatch(a) is not None
    if op == "==":
        return _eq(a, b)
    if op == "!=":
        return not _eq(a, b)
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if not ((isinstance(a, num) and isinstance(b, num)) or (isinstance(a, str) and isinstance(b, str))):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _eq(a, b) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def find(path: str, data: Any) -> Any:
    """Evaluate `path` against `data` (raises PathNotFound for a missing definite path)."""
    return compile_path(path).find(data)
