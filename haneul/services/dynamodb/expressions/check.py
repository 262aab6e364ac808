"""The checks DynamoDB makes on a parsed expression, in DynamoDB's order, against one
request's ExpressionAttributeNames and ExpressionAttributeValues."""

from __future__ import annotations

from haneul.services.dynamodb.expressions import values as V
from haneul.services.dynamodb.expressions.parser import Node, children, unwrap
from haneul.services.dynamodb.expressions.reserved import is_reserved

LABELS = {"key": "KeyConditionExpression", "filter": "FilterExpression",
          "condition": "ConditionExpression", "update": "UpdateExpression",
          "projection": "ProjectionExpression"}
CONDITION_FUNCTIONS = {"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2,
                       "begins_with": 2, "contains": 2}
OPERAND_FUNCTIONS = {"size": 1}
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
ALL_FUNCTIONS = {**CONDITION_FUNCTIONS, **OPERAND_FUNCTIONS, **UPDATE_FUNCTIONS}
TYPE_NAMES = "{N,BS,L,B,NULL,M,S,SS,NS,BOOL}"
ANY_TYPE = "{SS,M,DECIMAL,DOUBLESET,HDS,N,B,DICT,INTSET,BOOL,HD,BS,INT,DECIMALSET,NULL,FLOAT,FS,S,L,NS,DOUBLE}"


class Context:
    """Names and values of one request, and which of them the expressions used."""

    def __init__(self, names: dict, values: dict):
        self.names = names
        self.values = values
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()


def path_key(p: Node, names: dict) -> tuple:
    """A path's steps with placeholders substituted: names are str, indexes int."""
    out = []
    for part in p.parts:
        if part.index is not None:
            out.append(int(part.index))
        elif part.ph:
            out.append(names.get(part.name, part.name))
        else:
            out.append(part.name)
    return tuple(out)


def path_text(key: tuple) -> str:
    return "[" + ", ".join(f"[{k}]" if isinstance(k, int) else k for k in key) + "]"


def static_type(n: Node, values: dict):
    n = unwrap(n)
    if n.k == "value":
        v = values.get(n.name)
        return V.type_of(v) if v else None
    if n.k == "call" and n.name == "size":
        return "N"
    return None


def check(ast: Node, kind: str, ctx: Context) -> None:
    label = LABELS[kind]
    in_update = kind == "update"

    def err(message):
        return V.invalid(f"Invalid {label}: {message}")

    def check_arity(n):
        if len(n.args) != ALL_FUNCTIONS[n.name]:
            raise err("Incorrect number of operands for operator or function; operator or function: "
                      f"{n.name}, number of operands: {len(n.args)}")

    # Pass 1: reserved words, list indexes, function names and where functions are used.
    def visit1(n, place):
        if n.k == "path":
            for part in n.parts:
                if part.index is not None:
                    if len(part.index) > 10 or int(part.index) > 2147483647:
                        raise err(f"List index is not within the allowable range; index: [{part.index}]")
                elif not part.ph and not part.val and is_reserved(part.name):
                    raise err(f"Attribute name is a reserved keyword; reserved keyword: {part.name}")
            return
        if n.k == "call":
            if n.name not in ALL_FUNCTIONS:
                raise err(f"Invalid function name; function: {n.name}")
            if in_update:
                if n.name not in UPDATE_FUNCTIONS:
                    raise err(f"The function is not allowed in an update expression; function: {n.name}")
            else:
                if n.name in UPDATE_FUNCTIONS:
                    raise err(f"The function is not allowed in a condition expression; function: {n.name}")
                if (place == "condition") != (n.name in CONDITION_FUNCTIONS):
                    raise err("The function is not allowed to be used this way in an expression; "
                              f"function: {n.name}")
                check_arity(n)
            for a in n.args:
                visit1(a, "operand")
            return
        if n.k == "paren":
            return visit1(n.inner, place)
        if n.k in ("or", "and", "not"):
            for c in children(n):
                visit1(c, "condition")
            return
        for c in children(n):
            visit1(c, "operand")

    names, vals = ctx.names, ctx.values
    actions = []
    if in_update:
        sections: dict[str, list] = {}
        for kw, tok, acts in ast.clauses:
            sections.setdefault(kw, []).append(acts)
        for kw, groups in sections.items():
            for acts in groups:
                for path, value in acts:
                    visit1(path, "operand")
                    if value is not None:
                        visit1(value, "operand")
            if len(groups) > 1:
                raise err(f'The "{kw}" section can only be used once in an update expression;')
        actions = [(kw, path, value) for kw, _, acts in ast.clauses for path, value in acts]
        for _, path, _ in actions:
            for part in path.parts:
                if part.ph and part.name not in names:
                    raise err("An expression attribute name used in the document path is not defined; "
                              f"attribute name: {part.name}")
        check_overlaps([p for _, p, _ in actions], names, err)
    elif kind == "projection":
        for p in ast.paths:
            visit1(p, "operand")
    else:
        visit1(ast, "condition")

    # Pass 2: placeholders, operands and their types.
    def use_path(p):
        for depth, part in enumerate(p.parts, 1):
            if part.val:
                raise V.AwsError("InternalServerError", "Internal server error", 500, sender=False)
            if part.ph:
                if part.name not in names:
                    raise err("An expression attribute name used in the document path is not defined; "
                              f"attribute name: {part.name}")
                ctx.used_names.add(part.name)
        if len(p.parts) > 32:
            raise err(f"The document path has too many nesting levels; nesting levels: {len(p.parts)}")

    def type_problem(op, t):
        return err(f"Incorrect operand type for operator or function; operator or function: {op}, "
                   f"operand type: {t}")

    def distinct(op, first, rest):
        first = unwrap(first)
        if first.k != "path":
            return
        key = path_key(first, names)
        for r in rest:
            r = unwrap(r)
            if r.k == "path" and path_key(r, names) == key:
                raise err("The first operand must be distinct from the remaining operands for this "
                          f"operator or function; operator: {op}, first operand: {path_text(key)}")

    def visit2(n):
        k = n.k
        if k == "path":
            use_path(n)
        elif k == "value":
            if n.name not in vals:
                raise err("An expression attribute value used in expression is not defined; "
                          f"attribute value: {n.name}")
            ctx.used_values.add(n.name)
        elif k == "paren":
            visit2(n.inner)
        elif k in ("or", "and", "not"):
            for c in children(n):
                visit2(c)
        elif k == "cmp":
            visit2(n.a)
            visit2(n.b)
            distinct(n.op, n.a, [n.b])
            if n.op not in ("=", "<>"):
                for o in (n.a, n.b):
                    t = static_type(o, vals)
                    if t and t not in ("S", "N", "B"):
                        raise type_problem(n.op, t)
        elif k == "between":
            for o in (n.a, n.lo, n.hi):
                visit2(o)
            distinct("BETWEEN", n.a, [n.lo, n.hi])
            for o in (n.a, n.lo, n.hi):
                t = static_type(o, vals)
                if t and t not in ("S", "N", "B"):
                    raise type_problem("BETWEEN", t)
            lo, hi = unwrap(n.lo), unwrap(n.hi)
            if lo.k == "value" and hi.k == "value":
                a, b = vals[lo.name], vals[hi.name]
                if V.type_of(a) != V.type_of(b):
                    raise err("The BETWEEN operator requires same data type for lower and upper bounds; "
                              f"lower bound operand: AttributeValue: {V.plain(a)}, upper bound operand: "
                              f"AttributeValue: {V.plain(b)}")
                if (V.order(a, b) or 0) > 0:
                    raise err("The BETWEEN operator requires upper bound to be greater than or equal to "
                              f"lower bound; lower bound operand: AttributeValue: {V.plain(a)}, upper bound "
                              f"operand: AttributeValue: {V.plain(b)}")
        elif k == "in":
            visit2(n.a)
            for o in n.items:
                visit2(o)
            if len(n.items) > 100:
                raise err(f"The IN operator is provided with too many operands; number of operands: {len(n.items)}")
            distinct("IN", n.a, n.items)
        elif k == "call":
            if in_update:
                check_arity(n)
            for a in n.args:
                visit2(a)
            first = unwrap(n.args[0])
            if n.name in ("attribute_exists", "attribute_not_exists", "attribute_type", "if_not_exists") \
                    and first.k != "path":
                raise err(f"Operator or function requires a document path; operator or function: {n.name}")
            if n.name not in ("size", "list_append"):
                distinct(n.name, n.args[0], n.args[1:])
            if n.name == "size":
                t = static_type(n.args[0], vals)
                if t and t not in ("S", "B", "SS", "NS", "BS", "L", "M"):
                    raise type_problem("size", t)
            elif n.name == "begins_with":
                for o in n.args:
                    t = static_type(o, vals)
                    if t and t not in ("S", "B"):
                        raise type_problem("begins_with", t)
            elif n.name == "attribute_type":
                second = unwrap(n.args[1])
                if second.k != "value":
                    raise type_problem("attribute_type", "N" if second.k == "call" else ANY_TYPE)
                v = vals[second.name]
                if V.type_of(v) != "S":
                    raise type_problem("attribute_type", V.type_of(v))
                if v["S"] not in V.TYPES:
                    raise err(f"Invalid attribute type name found; type: {v['S']}, valid types: {TYPE_NAMES}")
            elif n.name == "list_append":
                for o in n.args:
                    t = static_type(o, vals)
                    if t and t != "L":
                        raise type_problem("list_append", t)
        elif k == "arith":
            visit2(n.a)
            visit2(n.b)
            for o in (n.a, n.b):
                t = static_type(o, vals)
                if t and t != "N":
                    raise type_problem(n.op, t)

    if in_update:
        backwards = list(reversed(actions))

        def names_only(n):
            if n.k == "path":
                for part in n.parts:
                    if part.ph and part.name not in names:
                        raise err("An expression attribute name used in the document path is not "
                                  f"defined; attribute name: {part.name}")
                return
            for c in children(n):
                names_only(c)
        for _, path, value in backwards:
            names_only(path)
            if value is not None:
                names_only(value)
        for kw, path, value in backwards:
            visit2(path)
            if value is not None:
                visit2(value)
            if kw in ("ADD", "DELETE"):
                t = static_type(value, vals)
                ok = ("N", "SS", "NS", "BS") if kw == "ADD" else ("SS", "NS", "BS")
                if t and t not in ok:
                    raise err(f"Incorrect operand type for operator or function; operator: {kw}, operand "
                              f"type: {V.LONG_TYPE[t]}, typeSet: ALLOWED_FOR_{kw}_OPERAND")
    elif kind == "projection":
        for p in ast.paths:
            visit2(p)
        check_overlaps(ast.paths, names, err)
    else:
        visit2(ast)


def check_overlaps(paths: list, names: dict, err) -> None:
    """Two paths of one update or projection may not be equal, nested, or use one attribute
    both as a map and as a list.  The first clash met walking the tree of paths, newest
    branch first, is reported (as DynamoDB does)."""
    keys = [path_key(p, names) for p in paths]
    root = {"kids": {}, "ends": [], "born": -1, "key": None}
    for i, key in enumerate(keys):
        node = root
        for k in key:
            kid = node["kids"].get(k)
            if kid is None:
                kid = node["kids"][k] = {"kids": {}, "ends": [], "born": i, "key": k}
            node = kid
        node["ends"].append(i)

    def entries(node):
        out = [(kid["born"], kid) for kid in node["kids"].values()] + [(i, None) for i in node["ends"]]
        out.sort(key=lambda e: (-e[0], 0 if e[1] is None else 1))
        return out

    def end_in(node):
        while True:
            i, kid = entries(node)[0]
            if kid is None:
                return i
            node = kid

    def clash(what, x, y):
        a, b = min(x, y), max(x, y)
        def show(key):
            return ", ".join(f"[{k}]" if isinstance(k, int) else k for k in key)
        raise err(f"Two document paths {what} with each other; must remove or rewrite one of these "
                  f"paths; path one: [{show(keys[a])}], path two: [{show(keys[b])}]")

    def visit(node):
        lst = entries(node)
        for ei, ekid in lst:
            if ekid is not None:
                visit(ekid)
            for xi, xkid in lst:
                if (xi, xkid is None) == (ei, ekid is None) and xkid is ekid:
                    continue
                if ekid is None or xkid is None:
                    clash("overlap", end_in(ekid) if ekid else ei, end_in(xkid) if xkid else xi)
                if isinstance(xkid["key"], int) != isinstance(ekid["key"], int):
                    clash("conflict", end_in(xkid), end_in(ekid))
    visit(root)
