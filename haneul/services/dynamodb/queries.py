"""Query and Scan: index range reads in key order, Limit and the 1 MB page, filters,
projections, Select, parallel Scan segments, ExclusiveStartKey/LastEvaluatedKey."""

from __future__ import annotations

from haneul.services.dynamodb import storage
from haneul.services.dynamodb.expressions import prepare
from haneul.services.dynamodb.expressions import values as V
from haneul.services.dynamodb.expressions.parser import walk
from haneul.services.dynamodb.expressions.check import path_key
from haneul.services.dynamodb.keys import encode_hash, encode_range, prefix_end
from haneul.services.dynamodb.storage import Table

PAGE_LIMIT = 1024 * 1024
OPS = {"=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _index(table: Table, req: dict):
    name = req.get("IndexName")
    if name is None:
        return None
    index = table.indexes.get(name)
    if index is None:
        raise V.invalid(f"The table does not have the specified index: {name}")
    return index


def _select(req: dict, index, prepared, operation: str = "Query") -> str:
    """The effective Select, with DynamoDB's checks in its order."""
    select = req.get("Select")
    projection = "ProjectionExpression" if req.get("ProjectionExpression") is not None else \
        "AttributesToGet" if req.get("AttributesToGet") is not None else None
    if select is None:
        if projection:
            return "SPECIFIC_ATTRIBUTES"
        return "ALL_PROJECTED_ATTRIBUTES" if index is not None else "ALL_ATTRIBUTES"
    if select == "SPECIFIC_ATTRIBUTES":
        if not projection:
            raise V.invalid("Must specify the AttributesToGet or ProjectionExpression when choosing to get "
                            "SPECIFIC_ATTRIBUTES")
        return select
    if projection:
        what = "only the Count" if select == "COUNT" else select
        prefix = "1 validation error detected: " if select == "COUNT" and operation == "Query" else ""
        raise V.invalid(f"{prefix}Cannot specify the {projection} when choosing to get {what}")
    if select == "ALL_PROJECTED_ATTRIBUTES" and index is None:
        raise V.invalid("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
    if select == "ALL_ATTRIBUTES" and index is not None and index.kind == "GSI" \
            and index.projection.get("ProjectionType") != "ALL":
        raise V.invalid("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not "
                        f"supported for global secondary index {index.name} because its projection type is "
                        "not ALL")
    return select


def _check_gsi_projection(table: Table, index, prepared) -> None:
    """A GSI that does not project everything cannot be asked for attributes it lacks."""
    if index is None or index.kind != "GSI" or prepared.projection is None \
            or index.projection.get("ProjectionType", "ALL") == "ALL":
        return
    have = set(table.schema.names) | set(index.schema.names) | set(index.projection.get("NonKeyAttributes", []))
    missing = list(dict.fromkeys(k[0] for k in prepared.projection if k[0] not in have))
    if missing:
        raise V.invalid(f"One or more parameter values were invalid: Global secondary index {index.name} does "
                        f"not project [{', '.join(missing)}]")


def _start_key(table: Table, index, esk: dict | None):
    """ExclusiveStartKey -> (hk, rk) of the table, and (hk, rk) of the index entry."""
    if esk is None:
        return None
    try:
        esk = {k: V.canonical(v) for k, v in esk.items()}
    except V.ValueProblem as e:
        raise V.invalid(str(e)) from None
    names = set(table.schema.names) | (set(index.schema.names) if index else set())
    bad = set(esk) != names
    for name in names:
        if name in esk and V.type_of(esk[name]) != table.types.get(name):
            bad = True
    if bad:
        raise V.invalid("The provided starting key is invalid: The provided key element does not match the schema")
    thk, trk = table.schema.encoded(esk)
    if index is None:
        return thk, trk, None
    entry = index.schema.index_entry(esk)
    return thk, trk, entry


class QueryOps:
    def _rows(self, ctx, table: Table, index, where: str, args: list, order: str, desc: bool):
        d = " DESC" if desc else ""
        if index is None:
            cols = ", ".join(f"{c}{d}" for c in order.split(","))
            sql = f"SELECT hk, rk, item, size FROM ddb_item WHERE tid=? {where} ORDER BY {cols}"
            return ctx.db.execute(sql, [table.id, *args])
        cols = ", ".join(f"x.{c}{d}" for c in order.split(","))
        sql = ("SELECT x.thk, x.trk, i.item, i.size FROM ddb_index_item x JOIN ddb_item i "
               "ON i.tid=x.tid AND i.hk=x.thk AND i.rk=x.trk "
               f"WHERE x.tid=? AND x.idx=? {where} ORDER BY {cols}")
        return ctx.db.execute(sql, [table.id, index.name, *args])

    def _page(self, ctx, table, index, rows, req, prepared, select) -> dict:
        limit = req.get("Limit")
        items, count, scanned, used = [], 0, 0, 0
        last = None
        for row in rows:
            item = storage.load_item(row[2])
            scanned += 1
            used += row[3]
            if index is not None and select != "ALL_ATTRIBUTES" and not (
                    index.kind == "LSI" and select == "SPECIFIC_ATTRIBUTES"):
                item = storage.index_projection(table, index, item)
            last = item
            if prepared.holds(prepared.filter, item):
                count += 1
                if select != "COUNT":
                    items.append(prepared.project(item))
            if (limit is not None and scanned >= limit) or used >= PAGE_LIMIT:
                break
        else:
            last = None
        out = {"Count": count, "ScannedCount": scanned}
        if select != "COUNT":
            out["Items"] = items
        if last is not None:
            lek = table.schema.key_of(last)
            if index is not None:
                lek.update(index.schema.key_of(last))
            out["LastEvaluatedKey"] = lek
        if req.get("ReturnConsumedCapacity", "NONE") != "NONE":
            units = max(1, -(-used // 4096))
            units = float(units if req.get("ConsistentRead") else units / 2)
            out["ConsumedCapacity"] = {"TableName": table.name, "CapacityUnits": units}
        return out

    def query(self, ctx, req: dict) -> dict:
        table = self.data_table(ctx, req["TableName"])
        index = _index(table, req)
        schema = index.schema if index is not None else table.schema
        if req.get("KeyConditionExpression") is None and req.get("KeyConditions") is None:
            raise V.invalid("Either the KeyConditions or KeyConditionExpression parameter must be specified in "
                            "the request.")
        prepared = prepare(req, "Query", list(dict.fromkeys(table.schema.names + schema.names)))
        if prepared.filter is not None and req.get("FilterExpression") is not None:
            for n in walk(prepared.filter):
                if n.k == "path":
                    name = path_key(n, prepared.ev.names)[0]
                    if name in schema.names:
                        raise V.invalid("Filter Expression can only contain non-primary key attributes: "
                                        f"Primary key attribute: {name}")
        if index is not None and index.kind == "GSI" and req.get("ConsistentRead"):
            raise V.invalid("Consistent reads are not supported on global secondary indexes")
        select = _select(req, index, prepared, "Query")
        _check_gsi_projection(table, index, prepared)
        hash_value, range_cond = self._key_conditions(prepared.key, schema)
        where, args = ["AND {p}hk=?"], [encode_hash(hash_value)]
        if range_cond is not None:
            op, vals = range_cond
            if op in OPS:
                where.append(f"AND {{p}}rk{OPS[op]}?")
                args.append(encode_range(vals[0]))
            elif op == "BETWEEN":
                where.append("AND {p}rk>=? AND {p}rk<=?")
                args += [encode_range(vals[0]), encode_range(vals[1])]
            else:
                prefix = encode_range(vals[0])
                end = prefix_end(prefix)
                where.append("AND {p}rk>=?" + (" AND {p}rk<?" if end is not None else ""))
                args += [prefix] + ([end] if end is not None else [])
        forward = req.get("ScanIndexForward", True)
        start = _start_key(table, index, req.get("ExclusiveStartKey"))
        cmp = ">" if forward else "<"
        if start is not None:
            thk, trk, entry = start
            if index is None:
                where.append(f"AND rk{cmp}?")
                args.append(trk)
            elif entry is not None:
                where.append(f"AND (x.rk, x.thk, x.trk){cmp}(?,?,?)")
                args += [entry[1], thk, trk]
        p = "" if index is None else "x."
        sql_where = " ".join(w.format(p=p) for w in where)
        order = "rk" if index is None else "rk,thk,trk"
        rows = self._rows(ctx, table, index, sql_where, args, order, not forward)
        return self._page(ctx, table, index, rows, req, prepared, select)

    @staticmethod
    def _key_conditions(conds: list, schema):
        counts = {}
        for key, op, vals in conds:
            name = key[0]
            if len(key) > 1 and name in schema.names:
                raise V.invalid("Key attributes must be scalars; list random access '[]' and map lookup '.' "
                                f"are not allowed: Key: {name}")
            counts[name] = counts.get(name, 0) + 1
        if any(n > 1 for n in counts.values()):
            raise V.invalid("KeyConditionExpressions must only contain one condition per key")
        by_name = {key[0]: (op, vals) for key, op, vals in conds}
        if schema.hash not in by_name:
            raise V.invalid(f"Query condition missed key schema element: {schema.hash}")
        extra = [n for n in by_name if n not in schema.names]
        if extra:
            raise V.invalid(f"Query condition missed key schema element: {schema.range or schema.hash}")
        hop, hvals = by_name[schema.hash]
        if hop != "=":
            raise V.invalid("Query key condition not supported")
        for name, t in ((schema.hash, schema.hash_type), (schema.range, schema.range_type)):
            if name is None or name not in by_name:
                continue
            op, vals = by_name[name]
            for v in vals:
                if V.type_of(v) != t:
                    raise V.invalid("One or more parameter values were invalid: Condition parameter type does "
                                    "not match schema type")
                if t == "S" and v["S"] == "" and name == schema.hash:
                    raise V.invalid("One or more parameter values are not valid. The AttributeValue for a key "
                                    f"attribute cannot contain an empty string value. Key: {name}")
            if op == "begins_with" and t == "N":
                raise V.invalid("Invalid KeyConditionExpression: Incorrect operand type for operator or "
                                "function; operator or function: begins_with, operand type: N")
        return hvals[0], by_name.get(schema.range) if schema.range else None

    def scan(self, ctx, req: dict) -> dict:
        table = self.data_table(ctx, req["TableName"])
        index = _index(table, req)
        seg, total = req.get("Segment"), req.get("TotalSegments")
        if seg is not None and total is None:
            raise V.invalid("The TotalSegments parameter is required but was not present in the request when "
                            "parameter Segment is present")
        if total is not None and seg is None:
            raise V.invalid("The Segment parameter is required but was not present in the request when "
                            "parameter TotalSegments is present")
        if seg is not None and seg >= total:
            raise V.invalid("The Segment parameter is zero-based and must be less than parameter TotalSegments: "
                            f"Segment: {seg} is not less than TotalSegments: {total}")
        if index is not None and index.kind == "GSI" and req.get("ConsistentRead"):
            raise V.invalid("Consistent reads are not supported on global secondary indexes")
        names = table.schema.names + (index.schema.names if index else [])
        prepared = prepare(req, "Scan", list(dict.fromkeys(names)))
        select = _select(req, index, prepared, "Scan")
        _check_gsi_projection(table, index, prepared)
        p = "" if index is None else "x."
        where, args = [], []
        if seg is not None:
            lo = (seg * (1 << 32) // total).to_bytes(4, "big")
            where.append(f"AND {p}hk>=?")
            args.append(lo)
            if seg + 1 < total:
                where.append(f"AND {p}hk<?")
                args.append(((seg + 1) * (1 << 32) // total).to_bytes(4, "big"))
        start = _start_key(table, index, req.get("ExclusiveStartKey"))
        if start is not None:
            thk, trk, entry = start
            if index is None:
                where.append("AND (hk, rk)>(?,?)")
                args += [thk, trk]
            elif entry is not None:
                where.append("AND (x.hk, x.rk, x.thk, x.trk)>(?,?,?,?)")
                args += [entry[0], entry[1], thk, trk]
        order = "hk,rk" if index is None else "hk,rk,thk,trk"
        rows = self._rows(ctx, table, index, " ".join(where), args, order, False)
        return self._page(ctx, table, index, rows, req, prepared, select)
