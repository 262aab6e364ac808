"""Running checked expressions over items: conditions, projections and updates."""

from __future__ import annotations

from decimal import Decimal

from haneul.services.dynamodb.expressions import values as V
from haneul.services.dynamodb.expressions.check import path_key
from haneul.services.dynamodb.expressions.parser import Node, unwrap

TYPE_ERROR = "An operand in the update expression has an incorrect data type"
MISSING_ERROR = "The provided expression refers to an attribute that does not exist in the item"
PATH_ERROR = "The document path provided in the update expression is invalid for update"


def resolve_key(key: tuple, item: dict):
    cur = item.get(key[0])
    for k in key[1:]:
        if cur is None:
            return None
        if isinstance(k, int):
            lst = cur.get("L")
            cur = lst[k] if lst is not None and k < len(lst) else None
        else:
            m = cur.get("M")
            cur = m.get(k) if m is not None else None
    return cur


class Evaluator:
    """One request's names and values bound to the checked syntax trees."""

    def __init__(self, names: dict, values: dict):
        self.names = names
        self.values = values

    # -- operands -------------------------------------------------------------------------
    def key(self, p: Node) -> tuple:
        return path_key(p, self.names)

    def operand(self, n: Node, item: dict):
        n = unwrap(n)
        k = n.k
        if k == "value":
            return self.values[n.name]
        if k == "path":
            return resolve_key(path_key(n, self.names), item)
        if k == "const":
            return n.value
        if k == "call" and n.name == "size":
            v = self.operand(n.args[0], item)
            if v is None:
                return None
            s = V.size_of(v)
            return None if s is None else {"N": str(s)}
        return None

    # -- conditions -----------------------------------------------------------------------
    def holds(self, n: Node, item: dict) -> bool:
        k = n.k
        if k == "paren":
            return self.holds(n.inner, item)
        if k == "and":
            return self.holds(n.a, item) and self.holds(n.b, item)
        if k == "or":
            return self.holds(n.a, item) or self.holds(n.b, item)
        if k == "not":
            return not self.holds(n.a, item)
        if k == "cmp":
            a, b = self.operand(n.a, item), self.operand(n.b, item)
            op = n.op
            if op == "=":
                return V.same(a, b)
            if op == "<>":
                return not V.same(a, b)
            o = V.order(a, b)
            if o is None:
                return False
            return o < 0 if op == "<" else o <= 0 if op == "<=" else o > 0 if op == ">" else o >= 0
        if k == "between":
            a = self.operand(n.a, item)
            x = V.order(self.operand(n.lo, item), a)
            y = V.order(a, self.operand(n.hi, item))
            return x is not None and y is not None and x <= 0 and y <= 0
        if k == "in":
            a = self.operand(n.a, item)
            return a is not None and any(V.same(a, self.operand(o, item)) for o in n.items)
        if k == "call":
            return self.call(n, item)
        if k == "true":
            return True
        return False

    def call(self, n: Node, item: dict) -> bool:
        name = n.name
        a = self.operand(n.args[0], item)
        if name == "attribute_exists":
            return a is not None
        if name == "attribute_not_exists":
            return a is None
        b = self.operand(n.args[1], item)
        if a is None or b is None:
            return False
        (ta, va), = a.items()
        (tb, vb), = b.items()
        if name == "attribute_type":
            return ta == vb
        if name == "begins_with":
            if ta != tb:
                return False
            if ta == "S":
                return va.encode().startswith(vb.encode())
            if ta == "B":
                return va.startswith(vb)
            return False
        if name == "contains":
            if ta == "S":
                return tb == "S" and vb in va
            if ta == "B":
                return tb == "B" and vb in va
            if ta == "SS":
                return tb == "S" and vb in va
            if ta == "BS":
                return tb == "B" and vb in va
            if ta == "NS":
                return tb == "N" and any(Decimal(x) == Decimal(vb) for x in va)
            if ta == "L":
                return any(V.same(x, b) for x in va)
            return False
        return False

    # -- projections ----------------------------------------------------------------------
    def project(self, paths: list, item: dict) -> dict:
        return project_keys([path_key(p, self.names) for p in paths], item)

    # -- updates --------------------------------------------------------------------------
    def set_value(self, n: Node, item: dict, types_only: bool):
        n = unwrap(n)
        if n.k == "arith":
            a = self.set_value(n.a, item, types_only)
            if a is not None and "N" not in a:
                raise V.invalid(TYPE_ERROR)
            b = self.set_value(n.b, item, types_only)
            if b is not None and "N" not in b:
                raise V.invalid(TYPE_ERROR)
            if a is None or b is None:
                return None
            x, y = Decimal(a["N"]), Decimal(b["N"])
            r = V.EXACT.add(x, y) if n.op == "+" else V.EXACT.subtract(x, y)
            return {"N": r}          # a Decimal, checked and rendered once the update is known good
        if n.k == "call" and n.name == "if_not_exists":
            cur = resolve_key(path_key(unwrap(n.args[0]), self.names), item)
            return cur if cur is not None else self.set_value(n.args[1], item, types_only)
        if n.k == "call" and n.name == "list_append":
            a = self.set_value(n.args[0], item, types_only)
            if a is not None and "L" not in a:
                raise V.invalid(TYPE_ERROR)
            b = self.set_value(n.args[1], item, types_only)
            if b is not None and "L" not in b:
                raise V.invalid(TYPE_ERROR)
            if a is None or b is None:
                return None
            return {"L": a["L"] + b["L"]}
        if n.k == "value":
            return self.values[n.name]
        if n.k == "const":
            return n.value
        v = resolve_key(path_key(n, self.names), item)
        if v is None and not types_only:
            raise V.invalid(MISSING_ERROR)
        return v

    def apply_update(self, ast: Node, item: dict) -> dict:
        """The item after the update; every value is worked out from the item as it was."""
        acts = []
        for ci, (kw, _, actions) in enumerate(ast.clauses):
            for path, value in actions:
                acts.append({"kw": kw, "clause": ci, "value": value, "key": path_key(path, self.names)})
        return apply_actions(self, acts, item, len(ast.clauses))


def _writable(key: tuple, item: dict) -> bool:
    if len(key) == 1:
        return True
    parent = resolve_key(key[:-1], item)
    if parent is None:
        return False
    return ("L" in parent) if isinstance(key[-1], int) else ("M" in parent)


def _number(v):
    """A SET result: arithmetic gives a Decimal to check against DynamoDB's range."""
    if v is not None and "N" in v and isinstance(v["N"], Decimal):
        return V.checked_number(v["N"])
    return v


def apply_actions(ev: Evaluator, acts: list, item: dict, clauses: int) -> dict:
    for x in acts:
        key = x["key"]
        if len(key) > 1:
            parent = resolve_key(key[:-1], item)
            if parent is not None and not _writable(key, item):
                raise V.invalid(PATH_ERROR)
    for x in acts:
        kw = x["kw"]
        if kw == "SET":
            try:
                x["new"] = ev.set_value(x["value"], item, False)
            except Exception as e:       # noqa: BLE001 - re-raised below in DynamoDB's order
                if getattr(e, "message", "") == TYPE_ERROR:
                    raise
                x["failure"] = e
        elif kw in ("ADD", "DELETE"):
            v = ev.operand(x["value"], item)
            cur = resolve_key(x["key"], item) if _writable(x["key"], item) else None
            if cur is not None:
                tv, tc = V.type_of(v), V.type_of(cur)
                ok = ((tv == "N" and tc == "N") or (tc == tv and tv in ("SS", "NS", "BS"))) \
                    if kw == "ADD" else (tc == tv)
                if not ok:
                    raise V.invalid(TYPE_ERROR)
                if kw == "ADD" and tv == "N":
                    V.checked_number(V.EXACT.add(Decimal(cur["N"]), Decimal(v["N"])))
    for ci in range(clauses - 1, -1, -1):
        group = [x for x in acts if x["clause"] == ci]
        for x in group:
            if not _writable(x["key"], item):
                raise V.invalid(PATH_ERROR)
        for x in group:
            if "failure" in x:
                raise x["failure"]
    writes = []
    for x in acts:
        kw = x["kw"]
        if kw == "SET":
            writes.append(("set", x["key"], V.deep_copy(_number(x["new"]))))
        elif kw == "REMOVE":
            writes.append(("remove", x["key"], None))
        else:
            v = ev.operand(x["value"], item)
            cur = resolve_key(x["key"], item)
            if kw == "ADD":
                if cur is None:
                    new = V.deep_copy(v)
                elif "N" in v:
                    new = V.checked_number(V.EXACT.add(Decimal(cur["N"]), Decimal(v["N"])))
                else:
                    (t, elems), = cur.items()
                    new = {t: list(elems) + [e for e in v[t] if not V.set_has(cur, e)]}
                writes.append(("set", x["key"], new))
            elif cur is not None:
                (t, elems), = cur.items()
                left = [e for e in elems if not V.set_has(v, e)]
                writes.append(("set", x["key"], {t: left}) if left else ("remove", x["key"], None))
    return write_all(item, writes)


def write_all(item: dict, writes: list) -> dict:
    out = {k: V.deep_copy(v) for k, v in item.items()}
    list_ops: dict[tuple, tuple] = {}
    for kind, key, value in writes:
        if len(key) == 1:
            if kind == "set":
                out[key[0]] = value
            else:
                out.pop(key[0], None)
            continue
        parent = resolve_key(key[:-1], out)
        if "M" in parent:
            if kind == "set":
                parent["M"][key[-1]] = value
            else:
                parent["M"].pop(key[-1], None)
            continue
        entry = list_ops.setdefault(key[:-1], (parent, []))
        entry[1].append((key[-1], kind, value))
    for parent, ops in list_ops.values():
        old = list(parent["L"])
        removed, appended = set(), []
        for index, kind, value in ops:
            if kind == "remove":
                if index < len(old):
                    removed.add(index)
            elif index < len(old):
                old[index] = value
            else:
                appended.append((index, value))
        appended.sort(key=lambda a: a[0])
        parent["L"] = [x for i, x in enumerate(old) if i not in removed] + [v for _, v in appended]
    return out


def project_keys(keys: list, item: dict) -> dict:
    tree: dict = {}
    for key in keys:
        node = tree
        for i, k in enumerate(key):
            if i == len(key) - 1:
                node[k] = True
            else:
                nxt = node.get(k)
                if not isinstance(nxt, dict):
                    nxt = node[k] = {}
                node = nxt

    def copy(src, sub):
        if sub is True:
            return V.deep_copy(src)
        if "M" in src:
            m = {}
            for k, s in sub.items():
                if isinstance(k, int) or k not in src["M"]:
                    continue
                v = copy(src["M"][k], s)
                if v is not None:
                    m[k] = v
            return {"M": m} if m else None
        if "L" in src:
            lst = []
            for i in sorted(k for k in sub if isinstance(k, int)):
                if i < len(src["L"]):
                    v = copy(src["L"][i], sub[i])
                    if v is not None:
                        lst.append(v)
            return {"L": lst} if lst else None
        return None

    out = {}
    for k, sub in tree.items():
        if k in item:
            v = copy(item[k], sub)
            if v is not None:
                out[k] = v
    return out
