"""DynamoDB's PartiQL subset: tokens -> statements.

A parser of our own rather than sqlglot: DynamoDB's dialect is small (one table per
statement, `?` parameters, `{...}` tuples, `<<...>>` bags, document paths with `[n]`,
`IS MISSING`, `RETURNING`) and differs from every SQL dialect sqlglot knows, so a general
SQL AST would need as much translation code as this parser is long.  Conditions become
the expression engine's syntax trees (expressions/parser.Node), so WHERE clauses are
evaluated by the same code as ConditionExpression and FilterExpression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from haneul.services.dynamodb.expressions import values as V
from haneul.services.dynamodb.expressions.parser import Node, Part

NOT_WELL_FORMED = "Statement wasn't well formed, can't be processed: "
PARAMS_MISMATCH = "Number of parameters in request and statement don't match."
PUNCT = ["<<", ">>", "<=", ">=", "<>", "!=", "=", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":", "?",
         "*", "+", "-", ";"]


class PartiqlError(Exception):
    """A ValidationException with DynamoDB's message."""


@dataclass
class Tok:
    kind: str      # word, quoted, string, number, punct, eof
    text: str
    pos: int


@dataclass
class Statement:
    kind: str                         # SELECT INSERT UPDATE DELETE
    table: str
    index: str | None = None
    where: Node | None = None
    projection: list | None = None    # None: *; else [path keys]
    item: dict | None = None          # INSERT
    actions: list = field(default_factory=list)   # UPDATE: [("SET", key, value-node) | ("REMOVE", key, None)]
    returning: str | None = None      # ALL_OLD ALL_NEW UPDATED_OLD UPDATED_NEW
    conjuncts: list = field(default_factory=list)  # the WHERE clause's top-level AND terms


def tokenize(text: str) -> list[Tok]:
    toks, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        start = i
        if c.isalpha() or c == "_":
            while i < n and (text[i].isalnum() or text[i] == "_"):
                i += 1
            toks.append(Tok("word", text[start:i], start))
        elif c in "\"'":
            i += 1
            buf = []
            while True:
                if i >= n:
                    raise PartiqlError(NOT_WELL_FORMED + "Unterminated string or identifier")
                if text[i] == c:
                    if i + 1 < n and text[i + 1] == c:
                        buf.append(c)
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(text[i])
                i += 1
            toks.append(Tok("quoted" if c == '"' else "string", "".join(buf), start))
        elif c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            while i < n and (text[i].isdigit() or text[i] == "."):
                i += 1
            if i < n and text[i] in "eE":
                j = i + 1
                if j < n and text[j] in "+-":
                    j += 1
                if j < n and text[j].isdigit():
                    i = j
                    while i < n and text[i].isdigit():
                        i += 1
            toks.append(Tok("number", text[start:i], start))
        else:
            for p in PUNCT:
                if text.startswith(p, i):
                    toks.append(Tok("punct", p, start))
                    i += len(p)
                    break
            else:
                raise PartiqlError(NOT_WELL_FORMED + f"Unexpected character: {c}")
    toks.append(Tok("eof", "", n))
    return toks


class Parser:
    def __init__(self, text: str, params: list | None):
        self.toks = tokenize(text)
        self.i = 0
        self.params = params or []
        self.used = 0

    # -- plumbing ------------------------------------------------------------------------
    def peek(self, k: int = 0) -> Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def word(self, *words: str) -> bool:
        t = self.peek()
        return t.kind == "word" and t.text.upper() in words

    def punct(self, p: str) -> bool:
        t = self.peek()
        return t.kind == "punct" and t.text == p

    def take_word(self, *words: str) -> bool:
        if self.word(*words):
            self.i += 1
            return True
        return False

    def take(self, p: str) -> bool:
        if self.punct(p):
            self.i += 1
            return True
        return False

    def fail(self, what: str = "Unexpected token") -> PartiqlError:
        t = self.peek()
        return PartiqlError(NOT_WELL_FORMED + (f"{what}: {t.text}" if t.kind != "eof" else "Unexpected end of statement"))

    def expect_word(self, w: str) -> None:
        if not self.take_word(w):
            raise self.fail(f"Expected {w}")

    def expect(self, p: str) -> None:
        if not self.take(p):
            raise self.fail(f"Expected {p}")

    # -- statements ----------------------------------------------------------------------
    def statement(self) -> Statement:
        if self.take_word("SELECT"):
            st = self.select()
        elif self.take_word("INSERT"):
            st = self.insert()
        elif self.take_word("UPDATE"):
            st = self.update()
        elif self.take_word("DELETE"):
            st = self.delete()
        elif self.word("EXISTS", "CREATE", "DROP", "ALTER"):
            raise PartiqlError(f"Unsupported operation: {self.peek().text.upper()}")
        else:
            raise PartiqlError(NOT_WELL_FORMED + "Expected data manipulation")
        self.take(";")
        if self.peek().kind != "eof":
            raise PartiqlError(NOT_WELL_FORMED + "Unexpected token after expression")
        if self.used > len(self.params):
            raise PartiqlError(PARAMS_MISMATCH)
        st.conjuncts = conjuncts(st.where)
        return st

    def table_name(self) -> str:
        t = self.next()
        if t.kind not in ("word", "quoted"):
            raise self.fail("Expected table name")
        return t.text

    def source(self) -> tuple[str, str | None]:
        table = self.table_name()
        index = None
        if self.take("."):
            index = self.table_name()
            if self.punct("."):
                raise PartiqlError("A path may contain at most 2 components in the FROM clause")
        if self.word("AS") or (self.peek().kind == "word" and not self.word("WHERE", "SET", "REMOVE", "RETURNING", "VALUE", "VALUES", "ADD", "DELETE")):
            raise PartiqlError("Aliasing is not supported")
        return table, index

    def select(self) -> Statement:
        projection = None
        if self.take("*"):
            if self.punct(","):
                raise PartiqlError("Other attributes should not be present in the projection when '*' is used.")
        else:
            projection = [self.path_key()]
            while self.take(","):
                if self.punct("*"):
                    raise PartiqlError("Other attributes should not be present in the projection when '*' is used.")
                projection.append(self.path_key())
        self.expect_word("FROM")
        table, index = self.source()
        where = self.condition() if self.take_word("WHERE") else None
        return Statement("SELECT", table, index, where=where, projection=projection)

    def insert(self) -> Statement:
        self.expect_word("INTO")
        table, index = self.source()
        if index is not None:
            raise PartiqlError("This operation is not supported on an index")
        if self.word("VALUES"):
            raise PartiqlError('Unsupported operation: Inserting multiple items in a single statement is not '
                               'supported, use "INSERT INTO tableName VALUE item" instead')
        self.expect_word("VALUE")
        if not self.punct("{"):
            raise PartiqlError("Unsupported format in item expression. Please use struct format {...} to express "
                               "item values for insert statement.")
        item = self.literal()
        if self.word("RETURNING"):
            raise PartiqlError("RETURNING is not supported in INSERT")
        return Statement("INSERT", table, item=item["M"])

    def update(self) -> Statement:
        table, index = self.source()
        if index is not None:
            raise PartiqlError("This operation is not supported on an index")
        actions = []
        while True:
            if self.take_word("SET"):
                actions.append(self.set_action())
                while self.take(","):
                    actions.append(self.set_action())
            elif self.take_word("REMOVE"):
                actions.append(("REMOVE", self.path_key(), None))
                while self.take(","):
                    actions.append(("REMOVE", self.path_key(), None))
            elif self.word("ADD", "DELETE"):
                raise PartiqlError("Only SET and REMOVE are supported in update expressions at this time")
            else:
                break
        if not actions:
            raise self.fail("Expected SET or REMOVE")
        if not self.take_word("WHERE"):
            raise PartiqlError("Where clause does not contain a mandatory equality on all key attributes")
        where = self.condition()
        return Statement("UPDATE", table, where=where, actions=actions, returning=self.returning())

    def delete(self) -> Statement:
        self.expect_word("FROM")
        table, index = self.source()
        if index is not None:
            raise PartiqlError("This operation is not supported on an index")
        if not self.take_word("WHERE"):
            raise PartiqlError("Where clause does not contain a mandatory equality on all key attributes")
        where = self.condition()
        returning = self.returning()
        if returning not in (None, "ALL_OLD"):
            shown = returning.replace("UPDATED", "MODIFIED").replace("_", " ")
            raise PartiqlError(f"Invalid returning clause: RETURNING {shown} *. Only RETURNING ALL OLD * is "
                               "allowed in DELETE statements.")
        return Statement("DELETE", table, where=where, returning=returning)

    def returning(self) -> str | None:
        if not self.take_word("RETURNING"):
            return None
        which = "ALL" if self.take_word("ALL") else "UPDATED" if self.take_word("MODIFIED") else None
        age = "NEW" if self.take_word("NEW") else "OLD" if self.take_word("OLD") else None
        if which is None or age is None or not self.take("*"):
            raise PartiqlError("Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause")
        return f"{which}_{age}"

    def set_action(self) -> tuple:
        key = self.path_key()
        self.expect("=")
        value = self.value_expr()
        return ("SET", key, value)

    def value_expr(self) -> Node:
        left = self.operand()
        while self.punct("+") or self.punct("-"):
            op = self.next().text
            right = self.operand()
            left = Node("arith", op=op, a=left, b=right)
        return left

    # -- conditions ----------------------------------------------------------------------
    def condition(self) -> Node:
        left = self.and_cond()
        while self.take_word("OR"):
            left = Node("or", a=left, b=self.and_cond())
        return left

    def and_cond(self) -> Node:
        left = self.not_cond()
        while self.take_word("AND"):
            left = Node("and", a=left, b=self.not_cond())
        return left

    def not_cond(self) -> Node:
        if self.take_word("NOT"):
            return Node("not", a=self.not_cond())
        return self.predicate()

    def predicate(self) -> Node:
        if self.punct("("):
            save = self.i
            self.next()
            try:
                inner = self.condition()
                self.expect(")")
                if not (self.peek().kind == "punct" and self.peek().text in ("=", "<>", "!=", "<", "<=", ">", ">=")):
                    return Node("paren", inner=inner)
            except PartiqlError:
                pass
            self.i = save
        a = self.value_expr()
        t = self.peek()
        if t.kind == "punct" and t.text in ("=", "<>", "!=", "<", "<=", ">", ">="):
            self.next()
            b = self.value_expr()
            if _is_missing(a) or _is_missing(b):
                raise PartiqlError("MISSING must be compared using IS operator")
            return Node("cmp", op="<>" if t.text == "!=" else t.text, a=a, b=b)
        if self.take_word("BETWEEN"):
            lo = self.value_expr()
            self.expect_word("AND")
            return Node("between", a=a, lo=lo, hi=self.value_expr())
        if self.take_word("IN"):
            close = ")" if self.take("(") else "]" if self.take("[") else None
            if close is None:
                raise PartiqlError("IN operator must have a left hand argument of type Variable Reference and right "
                                   "hand argument of type Seq with at least one member")
            items = [self.value_expr()]
            while self.take(","):
                items.append(self.value_expr())
            self.expect(close)
            return Node("in", a=a, items=items)
        if self.take_word("IS"):
            negate = self.take_word("NOT")
            if self.take_word("MISSING"):
                node = Node("call", name="attribute_not_exists", args=[a])
            elif self.take_word("NULL"):
                node = Node("call", name="attribute_type", args=[a, Node("const", value={"S": "NULL"})])
            else:
                raise PartiqlError(f"Unsupported data type for IS operator: {self.peek().text}. Supported data "
                                   "types are [MISSING, NULL, BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]")
            return Node("not", a=node) if negate else node
        if a.k == "call" and a.name != "size":
            return a
        raise PartiqlError("WHERE clause must contain an expression that resolves to a boolean")

    def operand(self) -> Node:
        t = self.peek()
        if t.kind == "word" and self.peek(1).kind == "punct" and self.peek(1).text == "(" \
                and t.text.upper() not in ("TRUE", "FALSE", "NULL", "MISSING"):
            name = self.next().text.lower()
            self.expect("(")
            args = [self.value_expr()]
            while self.take(","):
                args.append(self.value_expr())
            self.expect(")")
            if name not in FUNCTIONS:
                raise PartiqlError(f"Unrecognized function: {name}")
            return Node("call", name=name, args=args)
        if t.kind == "word" and t.text.upper() in ("TRUE", "FALSE", "NULL", "MISSING") or \
                t.kind in ("string", "number") or (t.kind == "punct" and t.text in ("?", "{", "[", "<<", "-")):
            return Node("const", value=self.literal())
        if t.kind in ("word", "quoted"):
            return Node("path", parts=[Part(name=k) if isinstance(k, str) else Part(index=str(k))
                                       for k in self.path_key()])
        raise self.fail()

    def path_key(self) -> tuple:
        t = self.next()
        if t.kind not in ("word", "quoted"):
            if t.kind == "punct" and t.text == "[":
                raise PartiqlError("A path cannot start with a list index")
            self.i -= 1
            raise self.fail()
        key = [t.text]
        while True:
            if self.take("."):
                n = self.next()
                if n.kind not in ("word", "quoted"):
                    raise PartiqlError("Invalid path dot component in this operation, expecting either an "
                                       "IDENTIFIER or STAR.")
                key.append(n.text)
            elif self.take("["):
                n = self.next()
                if n.kind == "number" and n.text.isdigit():
                    key.append(int(n.text))
                elif n.kind == "string":
                    key.append(n.text)
                else:
                    raise PartiqlError("Unexpected path component")
                self.expect("]")
            else:
                return tuple(key)

    # -- literals ------------------------------------------------------------------------
    def literal(self) -> dict:
        t = self.next()
        if t.kind == "string":
            return {"S": t.text}
        if t.kind == "number" or (t.kind == "punct" and t.text == "-" and self.peek().kind == "number"):
            text = t.text if t.kind == "number" else "-" + self.next().text
            return {"N": _number(text)}
        if t.kind == "word":
            w = t.text.upper()
            if w in ("TRUE", "FALSE"):
                return {"BOOL": w == "TRUE"}
            if w == "NULL":
                return {"NULL": True}
            if w == "MISSING":
                return {"MISSING": True}
        if t.kind == "punct":
            if t.text == "?":
                self.used += 1
                if self.used > len(self.params):
                    raise PartiqlError(PARAMS_MISMATCH)
                try:
                    return V.canonical(self.params[self.used - 1])
                except V.ValueProblem as e:
                    raise PartiqlError(str(e)) from None
            if t.text == "{":
                out = {}
                if not self.take("}"):
                    while True:
                        k = self.next()
                        if k.kind != "string":
                            raise PartiqlError(f"Tuple keys must be of type String. Actual type: {k.kind} under M")
                        self.expect(":")
                        v = self.literal()
                        if k.text in out:
                            raise PartiqlError(f"Duplicate keys in tuple. Key: {k.text} under M")
                        if "MISSING" not in v:
                            out[k.text] = v
                        if not self.take(","):
                            break
                    self.expect("}")
                return {"M": out}
            if t.text == "[":
                out = []
                if not self.take("]"):
                    while True:
                        out.append(self.literal())
                        if not self.take(","):
                            break
                    self.expect("]")
                return {"L": out}
            if t.text == "<<":
                elems = []
                if self.take(">>"):
                    raise PartiqlError("Empty bags are not supported")
                while True:
                    elems.append(self.literal())
                    if not self.take(","):
                        break
                self.expect(">>")
                kinds = {V.type_of(e) for e in elems}
                if kinds == {"S"}:
                    av = {"SS": [e["S"] for e in elems]}
                elif kinds == {"N"}:
                    av = {"NS": [e["N"] for e in elems]}
                elif kinds == {"B"}:
                    av = {"BS": [e["B"] for e in elems]}
                else:
                    raise PartiqlError("Unsupported data type in Bag. DynamoDB only supports either numbers or "
                                       "strings in bags")
                try:
                    return V.canonical(av)
                except V.ValueProblem as e:
                    raise PartiqlError(str(e)) from None
        self.i -= 1
        raise self.fail()


FUNCTIONS = {"begins_with", "contains", "attribute_exists", "attribute_not_exists", "attribute_type", "size",
             "list_append", "set_add", "set_delete", "if_not_exists"}


def _is_missing(n: Node) -> bool:
    return n.k == "const" and "MISSING" in n.value


def _number(text: str) -> str:
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise PartiqlError(NOT_WELL_FORMED + f"Invalid number: {text}") from None
    problem = V.number_problem(d)
    if problem:
        raise PartiqlError(problem)
    return V.number_text(d)


def conjuncts(n: Node | None) -> list:
    if n is None:
        return []
    if n.k == "and":
        return conjuncts(n.a) + conjuncts(n.b)
    if n.k == "paren":
        return conjuncts(n.inner)
    return [n]


def parse(text: str, params: list | None = None) -> Statement:
    return Parser(text, params).statement()
