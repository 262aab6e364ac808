"""Reading expressions: tokens -> syntax tree, cached per expression text.

The grammar is DynamoDB's: conditions (OR < AND < NOT < comparison/BETWEEN/IN/function),
operands (document paths, :values, size()), update clauses (SET/REMOVE/ADD/DELETE), and
projections (comma-separated paths).  Syntax errors are reported as DynamoDB reports them:
the token where reading stopped and the text from the token before it to the one after.
"""

from __future__ import annotations

from functools import lru_cache

KEYWORDS = {"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"}
COMPARATORS = {"=", "<>", "<", "<=", ">", ">="}


class Token:
    __slots__ = ("t", "text", "start", "end")

    def __init__(self, t, text, start, end):
        self.t, self.text, self.start, self.end = t, text, start, end


class Node:
    """One syntax tree node; `k` says which: path value call cmp between in and or not
    paren arith update projection."""

    def __init__(self, k, start=0, end=0, **kw):
        self.k, self.start, self.end = k, start, end
        self.__dict__.update(kw)

    def __repr__(self):
        return f"Node({self.__dict__})"


class Part:
    """One step of a document path: a name (bare, #placeholder) or a list index."""
    __slots__ = ("name", "index", "ph", "val", "tok")

    def __init__(self, name=None, index=None, ph=False, val=False, tok=None):
        self.name, self.index, self.ph, self.val, self.tok = name, index, ph, val, tok


class SyntaxProblem(Exception):
    def __init__(self, message, at=0):
        super().__init__(message)
        self.at = at


def _is_letter(c):
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_word(c):
    return _is_letter(c) or ("0" <= c <= "9") or c == "_"


def tokenize(s: str) -> list[Token]:
    toks = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c in " \t\n\r":
            i += 1
            continue
        start = i
        if _is_letter(c):
            while i < n and _is_word(s[i]):
                i += 1
            w = s[start:i]
            t = w.upper() if w.upper() in KEYWORDS else "id"
        elif c in "#:":
            i += 1
            while i < n and _is_word(s[i]):
                i += 1
            t = "bad" if i == start + 1 else ("name" if c == "#" else "value")
        elif "0" <= c <= "9":
            i += 1
            if c != "0":
                while i < n and "0" <= s[i] <= "9":
                    i += 1
            t = "int"
        elif s.startswith(("<>", "<=", ">="), i):
            i += 2
            t = s[start:i]
        elif c in "=<>()[],.+-":
            i += 1
            t = c
        else:
            i += 1
            t = "bad"
        toks.append(Token(t, s[start:i], start, i))
    toks.append(Token("EOF", "<EOF>", n, n))
    return toks


class RedundantParens(Exception):
    pass


class Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    # -- plumbing -----------------------------------------------------------------------
    def peek(self, k=0):
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_(self, t):
        return self.peek().t == t

    def fail(self, at=None):
        at = self.i if at is None else at
        toks = self.toks
        tok = toks[at]
        start = toks[at - 1].start if at > 0 else 0
        end = toks[at + 1].end if at + 1 < len(toks) else tok.end
        raise SyntaxProblem(f'Syntax error; token: "{tok.text}", near: "{self.text[start:end]}"', at)

    def expect(self, t):
        if not self.is_(t):
            self.fail()
        return self.next()

    def end(self):
        if not self.is_("EOF"):
            self.fail()

    def choose(self, *alts):
        at = self.i
        best = None
        for alt in alts:
            self.i = at
            try:
                return alt()
            except SyntaxProblem as e:
                if best is None or e.at > best.at:
                    best = e
        self.i = at
        raise best

    # -- conditions ---------------------------------------------------------------------
    def condition(self):
        left = self.and_cond()
        while self.is_("OR"):
            tok = self.next()
            right = self.and_cond()
            left = Node("or", left.start, right.end, a=left, b=right, tok=tok)
        return left

    def and_cond(self):
        left = self.not_cond()
        while self.is_("AND"):
            tok = self.next()
            right = self.not_cond()
            left = Node("and", left.start, right.end, a=left, b=right, tok=tok)
        return left

    def not_cond(self):
        if self.is_("NOT"):
            tok = self.next()
            a = self.not_cond()
            return Node("not", tok.start, a.end, a=a, tok=tok)
        return self.primary()

    def primary(self):
        if self.is_("("):
            def grouped():
                open_ = self.next()
                inner = self.condition()
                close = self.expect(")")
                return self.paren(open_, inner, close)
            return self.choose(grouped, self.comparison)
        return self.comparison()

    def comparison(self):
        a = self.operand()
        tok = self.peek()
        if tok.t in COMPARATORS:
            self.next()
            b = self.operand()
            return Node("cmp", a.start, b.end, op=tok.t, a=a, b=b, tok=tok)
        if tok.t == "BETWEEN":
            self.next()
            lo = self.operand()
            self.expect("AND")
            hi = self.operand()
            return Node("between", a.start, hi.end, a=a, lo=lo, hi=hi, tok=tok)
        if tok.t == "IN":
            self.next()
            self.expect("(")
            items = [self.operand()]
            while self.is_(","):
                self.next()
                items.append(self.operand())
            close = self.expect(")")
            return Node("in", a.start, close.end, a=a, items=items, tok=tok)
        if a.k == "call":
            return a
        self.fail()

    def operand(self):
        tok = self.peek()
        if tok.t == "value":
            self.next()
            return Node("value", tok.start, tok.end, name=tok.text, tok=tok)
        if tok.t == "(":
            open_ = self.next()
            inner = self.operand()
            close = self.expect(")")
            return self.paren(open_, inner, close)
        if tok.t == "id" and self.peek(1).t == "(":
            return self.call()
        if tok.t in ("id", "name"):
            return self.path()
        self.fail()

    def paren(self, open_, inner, close):
        if inner.k == "paren":
            raise RedundantParens()
        return Node("paren", open_.start, close.end, inner=inner)

    def call(self):
        name = self.next()
        self.expect("(")
        args = [self.operand()]
        while self.is_(","):
            self.next()
            args.append(self.operand())
        close = self.expect(")")
        return Node("call", name.start, close.end, name=name.text, args=args, tok=name)

    def path(self):
        first = self.peek()
        if first.t not in ("id", "name"):
            self.fail()
        self.next()
        parts = [Part(name=first.text, ph=first.t == "name", tok=first)]
        end = first.end
        while self.is_(".") or self.is_("["):
            if self.next().t == ".":
                t = self.peek()
                if t.t not in ("id", "name", "value"):
                    self.fail()
                self.next()
                parts.append(Part(name=t.text, ph=t.t == "name", val=t.t == "value", tok=t))
                end = t.end
            else:
                t = self.expect("int")
                close = self.expect("]")
                parts.append(Part(index=t.text, tok=t))
                end = close.end
        return Node("path", first.start, end, parts=parts)

    # -- updates ------------------------------------------------------------------------
    def update(self):
        clauses = []
        while True:
            kw = self.peek()
            if kw.t == "SET":
                self.next()
                actions = [self.set_action()]
                while self.is_(","):
                    self.next()
                    actions.append(self.set_action())
            elif kw.t == "REMOVE":
                self.next()
                actions = [(self.path(), None)]
                while self.is_(","):
                    self.next()
                    actions.append((self.path(), None))
            elif kw.t in ("ADD", "DELETE"):
                self.next()
                actions = [self.value_action()]
                while self.is_(","):
                    self.next()
                    actions.append(self.value_action())
            else:
                self.fail()
            clauses.append((kw.t, kw, actions))
            if self.is_("EOF"):
                break
        return Node("update", 0, len(self.text), clauses=clauses)

    def value_action(self):
        p = self.path()
        v = self.expect("value")
        return (p, Node("value", v.start, v.end, name=v.text, tok=v))

    def set_action(self):
        path = self.path()
        self.expect("=")
        a = self.operand()
        if self.is_("+") or self.is_("-"):
            tok = self.next()
            b = self.operand()
            return (path, Node("arith", a.start, b.end, op=tok.t, a=a, b=b, tok=tok))
        return (path, a)

    # -- projections --------------------------------------------------------------------
    def projection(self):
        paths = [self.path()]
        while self.is_(","):
            self.next()
            paths.append(self.path())
        return Node("projection", 0, len(self.text), paths=paths)


@lru_cache(maxsize=4096)
def parse(text: str, kind: str) -> Node:
    """kind: "condition", "update" or "projection".  Raises SyntaxProblem/RedundantParens."""
    p = Parser(text)
    if kind == "update":
        ast = p.update()
    elif kind == "projection":
        ast = p.projection()
    else:
        ast = p.condition()
    p.end()
    return ast


def unwrap(n: Node) -> Node:
    while n is not None and n.k == "paren":
        n = n.inner
    return n


def children(n: Node) -> list:
    k = n.k
    if k in ("or", "and", "cmp", "arith"):
        return [n.a, n.b]
    if k == "not":
        return [n.a]
    if k == "paren":
        return [n.inner]
    if k == "between":
        return [n.a, n.lo, n.hi]
    if k == "in":
        return [n.a, *n.items]
    if k == "call":
        return list(n.args)
    if k == "update":
        out = []
        for _, _, actions in n.clauses:
            for path, value in actions:
                out.append(path)
                if value is not None:
                    out.append(value)
        return out
    if k == "projection":
        return list(n.paths)
    return []


def walk(n: Node):
    yield n
    for c in children(n):
        yield from walk(c)
