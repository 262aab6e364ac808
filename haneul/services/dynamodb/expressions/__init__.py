"""DynamoDB's expression language as a pure engine: data in, data out.

`prepare(request, operation, key_names)` reads one request's expressions (or legacy
parameters), checks them as DynamoDB does (in DynamoDB's order, with its messages) and
returns a `Prepared` whose members run them over items.  Syntax trees are cached per
expression text; names and values are bound per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from haneul.services.dynamodb.expressions import legacy
from haneul.services.dynamodb.expressions import values as V
from haneul.services.dynamodb.expressions.check import LABELS, Context, check, path_key
from haneul.services.dynamodb.expressions.evaluate import Evaluator, project_keys
from haneul.services.dynamodb.expressions.parser import (Node, RedundantParens, SyntaxProblem,
                                                         parse, unwrap, walk)

# Per operation: expression parameters, non-expression parameters, the order DynamoDB checks.
OPERATIONS = {
    "GetItem": (["ProjectionExpression"], ["AttributesToGet"], ["projection"]),
    "PutItem": (["ConditionExpression"], ["Expected", "ConditionalOperator"], ["condition"]),
    "DeleteItem": (["ConditionExpression"], ["Expected", "ConditionalOperator"], ["condition"]),
    "UpdateItem": (["UpdateExpression", "ConditionExpression"],
                   ["AttributeUpdates", "Expected", "ConditionalOperator"], ["update", "condition"]),
    "Query": (["ProjectionExpression", "FilterExpression", "KeyConditionExpression"],
              ["AttributesToGet", "QueryFilter", "ConditionalOperator", "KeyConditions"],
              ["filter", "projection", "key"]),
    "Scan": (["ProjectionExpression", "FilterExpression"],
             ["AttributesToGet", "ScanFilter", "ConditionalOperator"], ["filter", "projection"]),
    "ConditionCheck": (["ConditionExpression"], [], ["condition"]),
}

# every request member prepare() reads, by operation
_ALL_PARAMETERS = {op: (*exprs, *nonexprs, "ExpressionAttributeNames", "ExpressionAttributeValues",
                        "QueryFilter", "ScanFilter")
                   for op, (exprs, nonexprs, _) in OPERATIONS.items()}


@dataclass
class Prepared:
    ev: Evaluator
    condition: Node | None = None
    filter: Node | None = None
    update: Node | None = None
    projection: list | None = None            # path keys (tuples) or None for all attributes
    key: list = field(default_factory=list)   # [(name, op, [values])] for Query
    attribute_updates: dict | None = None

    def holds(self, node: Node | None, item: dict | None) -> bool:
        return True if node is None else self.ev.holds(node, item or {})

    def project(self, item: dict) -> dict:
        return item if self.projection is None else project_keys(self.projection, item)

    def apply_update(self, item: dict, key_names: list) -> dict:
        if self.update is not None:
            check_key_update(self.update, self.ev.names, key_names)
            return self.ev.apply_update(self.update, item)
        if self.attribute_updates is not None:
            return legacy.attribute_updates(self.attribute_updates, key_names, item)
        return item


def java_hash(s: str) -> int:
    h = 0
    for ch in s.encode("utf-16-le").decode("utf-16-le"):
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h


def java_set_order(keys: list, total: int) -> list:
    cap = 1
    want = max(int(total / 0.75) + 1, 16)
    while cap < want:
        cap *= 2

    def slot(k):
        h = java_hash(k)
        return (h ^ (h >> 16)) & (cap - 1)
    return [k for _, _, k in sorted((slot(k), i, k) for i, k in enumerate(keys))]


def read_names(raw) -> dict | None:
    if raw is None:
        return None
    if not raw:
        raise V.invalid("ExpressionAttributeNames must not be empty")
    import re
    for k, v in raw.items():
        if len(k.encode()) > 255:
            raise V.invalid("ExpressionAttributeNames contains invalid key: The expression attribute map "
                            f"contains a key that is too long; size of key: {len(k.encode())}")
        if not re.fullmatch(r"#[A-Za-z0-9_]+", k):
            raise V.invalid(f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{k}"')
        if v == "":
            raise V.invalid(f"ExpressionAttributeNames contains invalid value: Empty attribute name for key {k}")
    return raw


def read_values(raw) -> dict | None:
    if raw is None:
        return None
    if not raw:
        raise V.invalid("ExpressionAttributeValues must not be empty")
    import re
    for k in raw:
        if len(k.encode()) > 255:
            raise V.invalid("ExpressionAttributeValues contains invalid key: The expression attribute map "
                            "contains a key that is too long;")
        if not re.fullmatch(r":[A-Za-z0-9_]+", k):
            raise V.invalid(f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{k}"')
    out = {}
    for k in java_set_order(list(raw), len(raw)):
        try:
            out[k] = V.canonical(raw[k])
        except V.ValueProblem as e:
            raise V.invalid(f"ExpressionAttributeValues contains invalid value: {e} for key {k}") from None
    return {k: out[k] for k in raw}


def _parse(text: str, kind: str) -> Node:
    label = LABELS[kind]
    if text == "":
        raise V.invalid(f"Invalid {label}: The expression can not be empty;")
    size = len(text.encode())
    if size > 4096:
        raise V.invalid(f"Invalid {label}: Expression size has exceeded the maximum allowed size; "
                        f"expression size: {size}")
    try:
        return parse(text, "update" if kind == "update" else "projection" if kind == "projection"
                     else "condition")
    except SyntaxProblem as e:
        raise V.invalid(f"Invalid {label}: {e}") from None
    except RedundantParens:
        raise V.invalid(f"Invalid {label}: The expression has redundant parentheses;") from None


def check_key_paths(ast: Node, names: dict, key_names: list) -> None:
    for n in walk(ast):
        if n.k == "path" and len(n.parts) > 1:
            name = path_key(n, names)[0]
            if name in key_names:
                raise V.invalid("Key attributes must be scalars; list random access '[]' and map lookup "
                                f"'.' are not allowed: Key: {name}")


def check_key_update(ast: Node, names: dict, key_names: list) -> None:
    for _, _, actions in ast.clauses:
        for path, value in actions:
            name = path_key(path, names)[0]
            if name in key_names:
                raise V.invalid(f"One or more parameter values were invalid: Cannot update attribute {name}. "
                                "This attribute is part of the key")


def prepare(request: dict, operation: str, key_names: list | None = None) -> Prepared:
    """Check a request's expressions; key_names: the table's (or index's) key attributes."""
    exprs, nonexprs, kinds = OPERATIONS[operation]
    if all(request.get(n) is None for n in _ALL_PARAMETERS[operation]):    # nothing to check
        return Prepared(Evaluator({}, {}))
    present = [e for e in exprs if request.get(e) is not None]
    if present:
        others = [n for n in nonexprs if request.get(n) is not None]
        if operation == "Query" and request.get("KeyConditions") is not None \
                and request.get("KeyConditionExpression") is None:
            others.remove("KeyConditions")
        if others:
            raise V.invalid("Can not use both expression and non-expression parameters in the same request: "
                            f"Non-expression parameters: {{{', '.join(others)}}} "
                            f"Expression parameters: {{{', '.join(present)}}}")
    if request.get("ExpressionAttributeNames") is not None and not present:
        raise V.invalid("ExpressionAttributeNames can only be specified when using expressions")
    value_exprs = [e for e in exprs if e != "ProjectionExpression"]
    if value_exprs and request.get("ExpressionAttributeValues") is not None \
            and all(request.get(e) is None for e in value_exprs):
        raise V.invalid("ExpressionAttributeValues can only be specified when using expressions: "
                        f"{' and '.join(value_exprs)} {'are' if len(value_exprs) > 1 else 'is'} null")
    names = read_names(request.get("ExpressionAttributeNames")) or {}
    vals = (read_values(request.get("ExpressionAttributeValues")) or {}) if operation != "GetItem" else {}
    ctx = Context(names, vals)
    asts: dict[str, Node] = {}
    for kind in kinds:
        text = request.get(LABELS[kind])
        if text is None:
            continue
        ast = _parse(text, kind)
        check(ast, kind, ctx)
        asts[kind] = ast
    unused = [k for k in names if k not in ctx.used_names]
    if unused:
        raise V.invalid("Value provided in ExpressionAttributeNames unused in expressions: keys: "
                        f"{{{', '.join(java_set_order(unused, len(names)))}}}")
    unused = [k for k in vals if k not in ctx.used_values]
    if unused:
        raise V.invalid("Value provided in ExpressionAttributeValues unused in expressions: keys: "
                        f"{{{', '.join(java_set_order(unused, len(vals)))}}}")
    key_names = key_names or []
    for kind, ast in asts.items():
        if kind not in ("key", "update"):
            check_key_paths(ast, names, key_names)
    p = Prepared(Evaluator(names, vals))
    p.condition = asts.get("condition")
    p.filter = asts.get("filter")
    p.update = asts.get("update")
    if "projection" in asts:
        p.projection = [path_key(x, names) for x in asts["projection"].paths]
    if "key" in asts:
        p.key = key_conditions(asts["key"], p.ev)
    # legacy parameters
    if p.condition is None and request.get("Expected"):
        p.condition = legacy.expected(request["Expected"], request.get("ConditionalOperator"))
    legacy_filter = request.get("QueryFilter") if operation == "Query" else request.get("ScanFilter")
    if p.filter is None and legacy_filter:
        p.filter = legacy.filters(legacy_filter, request.get("ConditionalOperator"))
    if p.projection is None and request.get("AttributesToGet"):
        p.projection = [(n,) for n in request["AttributesToGet"]]
    if request.get("AttributeUpdates") is not None and p.update is None:
        p.attribute_updates = request["AttributeUpdates"]
    if operation == "Query" and "key" not in asts and request.get("KeyConditions"):
        p.key = legacy_key_conditions(request["KeyConditions"])
    return p


def key_conditions(ast: Node, ev: Evaluator) -> list:
    """A KeyConditionExpression as [(attribute, op, [values])]; op in = < <= > >= BETWEEN begins_with."""
    parts = []

    def visit(n):
        n = unwrap(n)
        if n.k == "and":
            visit(n.a)
            visit(n.b)
            return
        if n.k in ("or", "not", "in"):
            raise V.invalid(f"Invalid operator used in KeyConditionExpression: {n.k.upper()}")
        if n.k == "cmp" and n.op == "<>":
            raise V.invalid("Invalid operator used in KeyConditionExpression: <>")
        if n.k == "call" and n.name != "begins_with":
            raise V.invalid(f"Invalid operator used in KeyConditionExpression: {n.name}")
        parts.append(n)
    visit(ast)
    out = []
    flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}
    for p in parts:
        operands = [p.a, p.b] if p.k == "cmp" else [p.a, p.lo, p.hi] if p.k == "between" else p.args
        if any(unwrap(o).k == "call" for o in operands):
            raise V.invalid("KeyConditionExpressions cannot contain nested operations")
        if p.k == "cmp":
            a, b = unwrap(p.a), unwrap(p.b)
            if a.k == "path":
                path, vals, op = a, [b], p.op
            else:
                path, vals, op = b, [a], flip[p.op]
        elif p.k == "between":
            path, vals, op = unwrap(p.a), [unwrap(p.lo), unwrap(p.hi)], "BETWEEN"
        else:
            path, vals, op = unwrap(p.args[0]), [unwrap(p.args[1])], "begins_with"
        if path.k != "path" or any(v.k == "path" for v in vals):
            raise V.invalid("Invalid condition in KeyConditionExpression: Multiple attribute names used "
                            "in one condition" if path.k == "path" else
                            "Invalid condition in KeyConditionExpression: No key attribute specified")
        key = path_key(path, ev.names)
        out.append((key, op, [ev.operand(v, {}) for v in vals]))
    return out


LEGACY_KEY_OPS = {"EQ": "=", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">", "BEGINS_WITH": "begins_with",
                  "BETWEEN": "BETWEEN"}


def legacy_key_conditions(spec: dict) -> list:
    if len(spec) > 2:
        raise V.invalid("Conditions can be of length 1 or 2 only")
    out = []
    for name, c in spec.items():
        op = c["ComparisonOperator"]
        vals = legacy._values(c.get("AttributeValueList") or [])
        legacy.comparison(name, op, vals)          # argument checks
        if op not in LEGACY_KEY_OPS:
            raise V.invalid("Attempted conditional constraint is not an indexable operation")
        out.append(((name,), LEGACY_KEY_OPS[op], vals))
    return out
