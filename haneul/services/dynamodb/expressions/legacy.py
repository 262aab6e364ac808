"""The legacy (pre-expression) parameters translated onto the same syntax trees:
Expected, QueryFilter, ScanFilter, KeyConditions, AttributesToGet, AttributeUpdates."""

from __future__ import annotations

from haneul.services.dynamodb.expressions import values as V
from haneul.services.dynamodb.expressions.parser import Node, Part

ARGS = {"EQ": 1, "NE": 1, "LE": 1, "LT": 1, "GE": 1, "GT": 1, "CONTAINS": 1, "NOT_CONTAINS": 1,
        "BEGINS_WITH": 1, "NOT_NULL": 0, "NULL": 0, "IN": None, "BETWEEN": 2}
ALLOWED_TYPES = {"EQ": "S N B SS NS BS L M NULL BOOL", "NE": "S N B SS NS BS L M NULL BOOL",
                 "LE": "S N B", "LT": "S N B", "GE": "S N B", "GT": "S N B",
                 "CONTAINS": "S N B BOOL NULL L M", "NOT_CONTAINS": "S N B BOOL NULL L M",
                 "BEGINS_WITH": "S B", "IN": "S N B", "BETWEEN": "S N B"}
CMP = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}


def path(name: str) -> Node:
    return Node("path", parts=[Part(name=name)])


def const(av: dict) -> Node:
    return Node("const", value=av)


def call(name: str, *args) -> Node:
    return Node("call", name=name, args=list(args))


def _values(items) -> list:
    try:
        return [V.canonical(v) for v in items]
    except V.ValueProblem as e:
        raise V.invalid(str(e)) from None


def comparison(name: str, op: str, values: list) -> Node:
    """One attribute condition (ComparisonOperator + AttributeValueList)."""
    want = ARGS[op]
    n = len(values)
    if (want is None and n < 1) or (want is not None and n != want):
        raise V.invalid("One or more parameter values were invalid: Invalid number of argument(s) for "
                        f"the {op} ComparisonOperator")
    if values:
        t = V.type_of(values[0])
        if any(V.type_of(v) != t for v in values):
            raise V.invalid("One or more parameter values were invalid: AttributeValues inside "
                            "AttributeValueList must be of same type")
        for v in values:
            if V.type_of(v) not in ALLOWED_TYPES[op].split():
                raise V.invalid(f"One or more parameter values were invalid: ComparisonOperator {op} is "
                                f"not valid for {V.type_of(v)} AttributeValue type")
    if op == "BETWEEN" and (V.order(values[0], values[1]) or 0) > 0:
        raise V.invalid("The BETWEEN condition was provided a range where the lower bound is greater "
                        "than the upper bound")
    p = path(name)
    if op in CMP:
        return Node("cmp", op=CMP[op], a=p, b=const(values[0]))
    if op == "NOT_NULL":
        return call("attribute_exists", p)
    if op == "NULL":
        return call("attribute_not_exists", p)
    if op == "CONTAINS":
        return call("contains", p, const(values[0]))
    if op == "NOT_CONTAINS":
        return Node("and", a=call("attribute_exists", p),
                    b=Node("not", a=call("contains", p, const(values[0]))))
    if op == "BEGINS_WITH":
        return call("begins_with", p, const(values[0]))
    if op == "IN":
        return Node("in", a=p, items=[const(v) for v in values])
    return Node("between", a=p, lo=const(values[0]), hi=const(values[1]))


def combine(nodes: list, operator: str | None) -> Node | None:
    if not nodes:
        return None
    out = nodes[0]
    for n in nodes[1:]:
        out = Node("or" if operator == "OR" else "and", a=out, b=n)
    return out


def expected(spec: dict, operator: str | None) -> Node | None:
    """Expected (PutItem/UpdateItem/DeleteItem)."""
    nodes = []
    for name, cond in spec.items():
        if "AttributeValueList" in cond and "Value" in cond:
            raise V.invalid("One or more parameter values were invalid: Value and AttributeValueList "
                            f"cannot be used together for Attribute: {name}")
        if "ComparisonOperator" in cond:
            op = cond["ComparisonOperator"]
            if "Exists" in cond:
                raise V.invalid("One or more parameter values were invalid: Exists and ComparisonOperator "
                                f"cannot be used together for Attribute: {name}")
            if op not in ("NULL", "NOT_NULL") and "AttributeValueList" not in cond and "Value" not in cond:
                raise V.invalid("One or more parameter values were invalid: Value or AttributeValueList "
                                f"must be used with ComparisonOperator: {op} for Attribute: {name}")
            vals = cond.get("AttributeValueList")
            if vals is None:
                vals = [cond["Value"]] if "Value" in cond else []
            nodes.append(comparison(name, op, _values(vals)))
        elif "AttributeValueList" in cond:
            raise V.invalid("One or more parameter values were invalid: AttributeValueList can only be "
                            f"used with a ComparisonOperator for Attribute: {name}")
        else:
            exists = cond.get("Exists", True)
            if exists and "Value" not in cond:
                shown = "null" if "Exists" not in cond else str(cond["Exists"]).lower()
                raise V.invalid("One or more parameter values were invalid: Value must be provided when "
                                f"Exists is {shown} for Attribute: {name}")
            if not exists and "Value" in cond:
                raise V.invalid("One or more parameter values were invalid: Value cannot be used when "
                                f"Exists is false for Attribute: {name}")
            if exists:
                nodes.append(Node("cmp", op="=", a=path(name), b=const(_values([cond["Value"]])[0])))
            else:
                nodes.append(call("attribute_not_exists", path(name)))
    return combine(nodes, operator)


def filters(spec: dict, operator: str | None) -> Node | None:
    """QueryFilter / ScanFilter / KeyConditions: {attr: {ComparisonOperator, AttributeValueList}}."""
    nodes = [comparison(name, c["ComparisonOperator"], _values(c.get("AttributeValueList") or []))
             for name, c in spec.items()]
    return combine(nodes, operator)


def attribute_updates(spec: dict, key_names: list, item: dict) -> dict:
    """AttributeUpdates applied to `item` (a copy is returned)."""
    out = {k: V.deep_copy(v) for k, v in item.items()}
    for name, upd in spec.items():
        if name in key_names:
            raise V.invalid(f"One or more parameter values were invalid: Cannot update attribute {name}. "
                            "This attribute is part of the key")
        action = upd.get("Action", "PUT")
        value = _values([upd["Value"]])[0] if "Value" in upd else None
        if value is None and action != "DELETE":
            raise V.invalid("One or more parameter values were invalid: Only DELETE action is allowed "
                            "when no attribute value is specified")
        cur = out.get(name)
        if action == "PUT":
            out[name] = value
        elif action == "DELETE":
            if value is None:
                out.pop(name, None)
                continue
            t = V.type_of(value)
            if t not in ("SS", "NS", "BS"):
                raise V.invalid("One or more parameter values were invalid: DELETE action with value is "
                                "not supported for the type " + t)
            if cur is None:
                continue
            if V.type_of(cur) != t:
                raise V.invalid("Type mismatch for attribute to update")
            left = [e for e in cur[t] if not V.set_has(value, e)]
            if left:
                out[name] = {t: left}
            else:
                out.pop(name)
        else:  # ADD
            t = V.type_of(value)
            if t not in ("N", "SS", "NS", "BS", "L"):
                raise V.invalid("One or more parameter values were invalid: ADD action is not supported for "
                                "the type " + t)
            if cur is None:
                out[name] = value
            elif V.type_of(cur) != t:
                raise V.invalid("Type mismatch for attribute to update")
            elif t == "N":
                from decimal import Decimal
                out[name] = V.checked_number(V.EXACT.add(Decimal(cur["N"]), Decimal(value["N"])))
            elif t == "L":
                out[name] = {"L": cur["L"] + value["L"]}
            else:
                out[name] = {t: cur[t] + [e for e in value[t] if not V.set_has(cur, e)]}
    return out
