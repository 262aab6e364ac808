"""PartiQL for DynamoDB: ExecuteStatement, BatchExecuteStatement, ExecuteTransaction over
the same storage, indexes, streams and condition evaluation as the item operations."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

from haneul.errors import AwsError
from haneul.services.dynamodb import storage
from haneul.services.dynamodb.expressions import values as V
from haneul.services.dynamodb.expressions.evaluate import (MISSING_ERROR, PATH_ERROR, TYPE_ERROR, Evaluator,
                                                           _writable, project_keys, resolve_key, write_all)
from haneul.services.dynamodb.expressions.parser import Node, unwrap
from haneul.services.dynamodb.keys import encode_hash
from haneul.services.dynamodb.partiql.parser import PartiqlError, Statement, parse
from haneul.services.dynamodb.queries import PAGE_LIMIT

KEY_MISSING = "Where clause does not contain a mandatory equality on all key attributes"
EVAL = Evaluator({}, {})


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def statement(text: str, params) -> Statement:
    try:
        return parse(text, params)
    except PartiqlError as e:
        raise invalid(str(e)) from None


def _key_terms(st: Statement, names: list) -> tuple[dict, list, list]:
    """Split the WHERE clause: equality on key attributes -> values; IN lists on keys; the rest."""
    eq, ins, rest = {}, {}, []
    for term in st.conjuncts:
        t = unwrap(term)
        if t.k == "cmp" and t.op == "=":
            a, b = unwrap(t.a), unwrap(t.b)
            if a.k == "const" and b.k == "path":
                a, b = b, a
            if a.k == "path" and b.k == "const" and len(a.parts) == 1 and a.parts[0].name in names:
                name = a.parts[0].name
                if name in eq or name in ins:
                    raise invalid(f"Multiple conditions on same key {name}. Only single item Update/Insert/Delete "
                                  "are supported")
                eq[name] = b.value
                continue
        if t.k == "in":
            a = unwrap(t.a)
            if a.k == "path" and len(a.parts) == 1 and a.parts[0].name in names \
                    and all(unwrap(i).k == "const" for i in t.items):
                ins[a.parts[0].name] = [unwrap(i).value for i in t.items]
                rest.append(term)
                continue
        rest.append(term)
    return eq, ins, rest


def _combine(terms: list) -> Node | None:
    out = None
    for t in terms:
        out = t if out is None else Node("and", a=out, b=t)
    return out


def _holds(node: Node | None, item: dict | None) -> bool:
    return node is None or EVAL.holds(node, item or {})


def _full_key(table, st: Statement) -> tuple[dict, Node | None]:
    eq, _, rest = _key_terms(st, table.schema.names)
    if set(eq) != set(table.schema.names):
        raise invalid(KEY_MISSING)
    for name in table.schema.names:
        t = {"S": "S", "N": "N", "B": "B"}.get(V.type_of(eq[name]))
        if t is None:
            raise invalid(f"Key value must be of type S, N, or B. Key name: {name}, Key type: {V.type_of(eq[name])}")
    try:
        key = table.schema.validate_key(eq)
    except AwsError:
        raise invalid(f"Key attribute's data type should match its data type in table's schema: Key "
                      f"{next(n for n in table.schema.names if V.type_of(eq[n]) != table.types.get(n))}") from None
    return key, _combine(rest)


def _token(last: tuple) -> str:
    return base64.urlsafe_b64encode(json.dumps([x.hex() if isinstance(x, bytes) else x for x in last])
                                    .encode()).decode()


def _untoken(token: str) -> list:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token.encode()))
        return [bytes.fromhex(x) if isinstance(x, str) else x for x in raw]
    except Exception:
        raise invalid("Invalid NextToken") from None


class PartiqlOps:
    # -- one statement -------------------------------------------------------------------
    def _partiql_table(self, ctx, st: Statement):
        table = storage.Tables(ctx.db, ctx.account, ctx.region).find(st.table)
        if table is None:
            raise storage.not_found()
        index = None
        if st.index is not None:
            index = table.indexes.get(st.index)
            if index is None:
                raise storage.not_found()
        return table, index

    def _run(self, ctx, st: Statement, req: dict, single_read: bool = False) -> dict:
        table, index = self._partiql_table(ctx, st)
        if st.kind == "SELECT":
            if single_read:
                if index is not None:
                    raise invalid("Reads on indices are not supported within transactions.")
                key, rest = _full_key(table, st)
                item = storage.get_item(ctx.db, table, key)
                if item is None or not _holds(rest, item):
                    return {}
                return {"Item": self._project(st, table, None, item)}
            return self._select(ctx, st, table, index, req)
        if st.kind == "INSERT":
            item = V.canonical_item(st.item)
            try:
                table.schema.validate_item(item)
            except AwsError as e:
                if "Missing the key" in e.message:
                    name = e.message.rsplit(" ", 4)[-4]
                    raise invalid(f"One or more parameter values were invalid: Missing the key {name} in the item") \
                        from None
                raise
            from haneul.services.dynamodb.items import check_item
            check_item(table, item)
            key = table.schema.key_of(item)
            if storage.get_item(ctx.db, table, key) is not None:
                raise AwsError("DuplicateItemException", "Duplicate primary key exists in table")
            storage.write_item(ctx.db, ctx, table, key, None, item)
            return {}
        key, rest = _full_key(table, st)
        old = storage.get_item(ctx.db, table, key)
        if st.kind == "DELETE":
            if old is None:
                return {}
            if not _holds(rest, old):
                raise self._failed(old, req)
            storage.write_item(ctx.db, ctx, table, key, old, None)
            return {"Items": [old]} if st.returning == "ALL_OLD" else {}
        # UPDATE: the item must exist and satisfy the rest of the WHERE clause
        if old is None or not _holds(rest, old):
            raise self._failed(old, req)
        new = self._apply(st, table, old)
        from haneul.services.dynamodb.items import check_item
        check_item(table, new, update=True)
        storage.write_item(ctx.db, ctx, table, key, old, new)
        if st.returning is None:
            return {}
        paths = [a[1] for a in st.actions]
        out = {"ALL_OLD": old, "ALL_NEW": new, "UPDATED_OLD": project_keys(paths, old),
               "UPDATED_NEW": project_keys(paths, new)}[st.returning]
        return {"Items": [out]}

    @staticmethod
    def _failed(old, req) -> AwsError:
        fields = {}
        if req.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
            fields["Item"] = old
        return AwsError("ConditionalCheckFailedException", "The conditional request failed", fields=fields)

    @staticmethod
    def _apply(st: Statement, table, old: dict) -> dict:
        writes = []
        for kind, key, value in st.actions:
            if key[0] in table.schema.names:
                raise invalid(f"One or more parameter values were invalid: Cannot update attribute {key[0]}. "
                              "This attribute is part of the key")
            if len(key) > 1 and not _writable(key, old):
                raise invalid(PATH_ERROR)
            if kind == "REMOVE":
                writes.append(("remove", key, None))
            else:
                writes.append(("set", key, _value(value, old)))
        return write_all(old, writes)

    @staticmethod
    def _project(st: Statement, table, index, item: dict) -> dict:
        if st.projection is None:
            return storage.index_projection(table, index, item) if index is not None else item
        return project_keys(list(st.projection), item)

    def _select(self, ctx, st: Statement, table, index, req: dict) -> dict:
        schema = index.schema if index is not None else table.schema
        eq, ins, _ = _key_terms(st, schema.names)
        if req.get("ConsistentRead") and index is not None and index.kind == "GSI":
            raise invalid("Consistent reads are not supported on global secondary indexes")
        partitions = None
        if schema.hash in eq:
            partitions = [eq[schema.hash]]
        elif schema.hash in ins:
            partitions = ins[schema.hash]
        limit = req.get("Limit")
        start = _untoken(req["NextToken"]) if req.get("NextToken") else None
        items, used, scanned, last = [], 0, 0, None
        cut = False
        for pos, row in self._select_rows(ctx, table, index, partitions, start):
            item = storage.load_item(row[2])
            scanned += 1
            used += row[3]
            last = pos
            if _holds(st.where, item):
                items.append(self._project(st, table, index, item))
            if (limit is not None and scanned >= limit) or used >= PAGE_LIMIT:
                cut = True
                break
        out = {"Items": items}
        if cut and last is not None:
            out["NextToken"] = _token(last)
        return out

    def _select_rows(self, ctx, table, index, partitions, start):
        """(position, row) in key order; position is what a NextToken resumes after."""
        db = ctx.db
        if index is None:
            base = "SELECT hk, rk, item, size FROM ddb_item WHERE tid=?"
            cols = "(hk, rk)"
        else:
            base = ("SELECT x.thk, x.trk, i.item, i.size, x.hk, x.rk FROM ddb_index_item x JOIN ddb_item i "
                    "ON i.tid=x.tid AND i.hk=x.thk AND i.rk=x.trk WHERE x.tid=? AND x.idx=?")
            cols = "(x.hk, x.rk, x.thk, x.trk)"
        args0 = [table.id] + ([index.name] if index is not None else [])
        order = " ORDER BY hk, rk" if index is None else " ORDER BY x.hk, x.rk, x.thk, x.trk"
        width = 2 if index is None else 4

        def run(extra: str, args: list):
            for row in db.execute(base + extra + order, args0 + args):
                sort = (row[0], row[1]) if index is None else (row[4], row[5], row[0], row[1])
                yield sort, row
        if partitions is None:
            after = start[-width:] if start else None
            extra = f" AND {cols} > ({', '.join('?' * width)})" if after else ""
            for sort, row in run(extra, list(after or [])):
                yield list(sort), row
            return
        hk_col = "hk" if index is None else "x.hk"
        first = start[0] if start else 0
        for i, value in enumerate(partitions):
            if i < first:
                continue
            if V.type_of(value) != schema_type(table, index):
                continue
            args = [encode_hash(value)]
            extra = f" AND {hk_col}=?"
            if start and i == first:
                extra += f" AND {cols} > ({', '.join('?' * width)})"
                args += list(start[1:])
            for sort, row in run(extra, args):
                yield [i, *sort], row

    # -- operations ----------------------------------------------------------------------
    def execute_statement(self, ctx, req: dict) -> dict:
        st = statement(req["Statement"], req.get("Parameters"))
        out = self._run(ctx, st, req)
        if st.kind != "SELECT":
            return {"Items": out.get("Items", [])} if out.get("Items") else {}
        return out

    def batch_execute_statement(self, ctx, req: dict) -> dict:
        stmts = req["Statements"]
        if len(stmts) > 25:
            raise invalid("Member must have length less than or equal to 25")
        responses = []
        for s in stmts:
            try:
                st = statement(s["Statement"], s.get("Parameters"))
                with ctx.store.transaction():
                    out = self._run(ctx, st, s, single_read=True)
                entry = {"TableName": st.table}
                if st.kind == "SELECT" and "Item" in out:
                    entry["Item"] = out["Item"]
                responses.append(entry)
            except AwsError as e:
                err = {"Code": _batch_code(e.code), "Message": e.message}
                if e.fields.get("Item") is not None:
                    err["Item"] = e.fields["Item"]
                entry = {"Error": err}
                responses.append(entry)
        return {"Responses": responses}

    def execute_transaction(self, ctx, req: dict) -> dict:
        stmts = req["TransactStatements"]
        token = req.get("ClientRequestToken")
        if token:
            from haneul.services.dynamodb.transactions import TOKEN_TTL, _digest
            now = ctx.now()
            ctx.db.execute("DELETE FROM ddb_token WHERE created < ?", (now - TOKEN_TTL,))
            row = ctx.db.execute("SELECT digest FROM ddb_token WHERE account=? AND region=? AND token=?",
                                 (ctx.account, ctx.region, "partiql:" + token)).fetchone()
            if row is not None:
                if row[0] != _digest(req):
                    raise AwsError("IdempotentParameterMismatchException",
                                   "Request parameters do not match with the parameters of the previous "
                                   "request with the same client token")
                return {}
        parsed = [statement(s["Statement"], s.get("Parameters")) for s in stmts]
        reads = [st.kind == "SELECT" for st in parsed]
        if any(reads) and not all(reads):
            raise invalid("Transaction request cannot include both reads and writes")
        seen = set()
        for st in parsed:
            table, index = self._partiql_table(ctx, st)
            if index is not None:
                raise invalid("Operations on indices are not supported in transactions")
            if st.kind == "INSERT":
                item = V.canonical_item(st.item)
                table.schema.validate_item(item)
                key = table.schema.key_of(item)
            elif st.kind == "SELECT":
                try:
                    key, _ = _full_key(table, st)
                except AwsError:
                    raise invalid("Select statements within ExecuteTransaction must specify the primary key in "
                                  "the where clause.") from None
            else:
                key, _ = _full_key(table, st)
            ident = (table.id, table.schema.encoded(key))
            if ident in seen:
                raise invalid("Transaction request cannot include multiple operations on one item")
            seen.add(ident)
        if all(reads):
            return {"Responses": [self._run(ctx, st, s, single_read=True) for st, s in zip(parsed, stmts)]}
        reasons, failed = [], False
        for st, s in zip(parsed, stmts):
            try:
                with ctx.store.transaction():
                    self._run(ctx, st, s)
                reasons.append({"Code": "None"})
            except AwsError as e:
                if e.code == "ResourceNotFoundException":
                    raise
                failed = True
                reason = {"Code": _batch_code(e.code), "Message": e.message}
                if e.fields.get("Item") is not None:
                    reason["Item"] = e.fields["Item"]
                reasons.append(reason)
        if failed:
            codes = ", ".join(r["Code"] for r in reasons)
            raise AwsError("TransactionCanceledException",
                           f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                           fields={"CancellationReasons": reasons})
        if token:
            from haneul.services.dynamodb.transactions import _digest
            ctx.db.execute("INSERT OR REPLACE INTO ddb_token(account, region, token, digest, created) "
                           "VALUES(?,?,?,?,?)", (ctx.account, ctx.region, "partiql:" + token, _digest(req), ctx.now()))
        return {}


def schema_type(table, index) -> str:
    schema = index.schema if index is not None else table.schema
    return schema.hash_type


def _batch_code(code: str) -> str:
    return {"ConditionalCheckFailedException": "ConditionalCheckFailed", "DuplicateItemException": "DuplicateItem",
            "ValidationException": "ValidationError", "ResourceNotFoundException": "ResourceNotFound",
            "TransactionConflictException": "TransactionConflict"}.get(code, code)


def _value(n: Node, item: dict) -> dict:
    """The value of a SET right-hand side, worked out from the item as it was."""
    n = unwrap(n)
    if n.k == "const":
        if "MISSING" in n.value:
            raise invalid("MISSING must be compared using IS operator")
        return n.value
    if n.k == "path":
        v = EVAL.operand(n, item)
        if v is None:
            raise invalid(MISSING_ERROR)
        return v
    if n.k == "arith":
        a, b = _value(n.a, item), _value(n.b, item)
        if "N" not in a or "N" not in b:
            raise invalid(TYPE_ERROR)
        x, y = Decimal(a["N"]), Decimal(b["N"])
        return V.checked_number(V.EXACT.add(x, y) if n.op == "+" else V.EXACT.subtract(x, y))
    if n.k == "call":
        name = n.name
        if name == "if_not_exists" and len(n.args) == 2:
            cur = EVAL.operand(n.args[0], item)
            return cur if cur is not None else _value(n.args[1], item)
        if name == "list_append" and len(n.args) == 2:
            a, b = _value(n.args[0], item), _value(n.args[1], item)
            if "L" not in a or "L" not in b:
                raise invalid(TYPE_ERROR)
            return {"L": a["L"] + b["L"]}
        if name in ("set_add", "set_delete"):
            if len(n.args) != 2:
                raise invalid(f"SET_{name[4:].upper()} must have exactly two arguments")
            cur = EVAL.operand(n.args[0], item)
            other = _value(n.args[1], item)
            t = V.type_of(other)
            if t not in ("SS", "NS", "BS"):
                raise invalid(f"The second argument to SET_{name[4:].upper()} must be a value with type SET")
            if cur is None:
                return other if name == "set_add" else None
            if V.type_of(cur) != t:
                raise invalid(TYPE_ERROR)
            if name == "set_add":
                return {t: list(cur[t]) + [e for e in other[t] if not V.set_has(cur, e)]}
            left = [e for e in cur[t] if not V.set_has(other, e)]
            if not left:
                raise invalid("One or more parameter values were invalid: An string set  may not be empty"
                              if t == "SS" else "One or more parameter values were invalid: An number set  may not "
                              "be empty" if t == "NS" else "One or more parameter values were invalid: Binary sets "
                              "should not be empty")
            return {t: left}
    raise invalid(f"Unsupported operator in Update Expression. Operator: {getattr(n, 'name', n.k)}")
