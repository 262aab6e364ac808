"""Item operations: PutItem, GetItem, UpdateItem, DeleteItem, BatchGetItem, BatchWriteItem."""

from __future__ import annotations

import math

from haneul.errors import AwsError
from haneul.services.dynamodb import storage
from haneul.services.dynamodb.expressions import prepare
from haneul.services.dynamodb.expressions import values as V
from haneul.services.dynamodb.expressions.evaluate import project_keys
from haneul.services.dynamodb.expressions.check import path_key
from haneul.services.dynamodb.storage import Table, Tables

ITEM_LIMIT = 400 * 1024
BATCH_READ_LIMIT = 16 * 1024 * 1024


def condition_failed(old: dict | None, req: dict) -> AwsError:
    fields = {}
    if req.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
        fields["Item"] = old
    return AwsError("ConditionalCheckFailedException", "The conditional request failed", fields=fields)


def capacity(table: Table, units, req: dict, read: bool = False) -> dict | None:
    """ConsumedCapacity when asked for; `units` may be a function giving them (sizing items
    costs, and most requests do not ask)."""
    mode = req.get("ReturnConsumedCapacity", "NONE")
    if mode == "NONE":
        return None
    if callable(units):
        units = units()
    out = {"TableName": table.name, "CapacityUnits": units}
    key = "ReadCapacityUnits" if read else "WriteCapacityUnits"
    out[key] = units
    if mode == "INDEXES":
        out["Table"] = {"CapacityUnits": units, key: units}
    return out


def write_units(*items) -> float:
    size = max((V.item_size(i) for i in items if i is not None), default=0)
    return float(max(1, math.ceil(size / 1024)))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units if consistent else units / 2)


def check_item(table: Table, item: dict, update: bool = False) -> int:
    """Index key values and the size limit; returns the item's size."""
    for index in table.indexes.values():
        index.schema.check_index_values(item, index.name)
    size = V.item_size(item)
    if size > ITEM_LIMIT:
        raise V.invalid("Item size to update has exceeded the maximum allowed size" if update
                        else "Item size has exceeded the maximum allowed size")
    return size


def updated_paths(prepared, req: dict) -> list:
    if prepared.update is not None:
        return [path_key(p, prepared.ev.names) for _, _, acts in prepared.update.clauses for p, _ in acts]
    return [(n,) for n in (req.get("AttributeUpdates") or {})]


class ItemOps:
    # -- helpers ----------------------------------------------------------------------------
    def data_table(self, ctx, name: str) -> Table:
        return Tables(ctx.db, ctx.account, ctx.region).get(name)

    def put(self, ctx, table: Table, req: dict, prepared=None) -> tuple[dict | None, dict]:
        """Validate and store req["Item"] under req's condition; returns (old, new)."""
        item = V.canonical_item(req["Item"])
        table.schema.validate_item(item)
        size = check_item(table, item)
        if prepared is None:
            prepared = prepare(req, "PutItem", table.schema.names)
        key = table.schema.key_of(item)
        old, old_size = storage.get_item_sized(ctx.db, table, key)
        if not prepared.holds(prepared.condition, old):
            raise condition_failed(old, req)
        storage.write_item(ctx.db, ctx, table, key, old, item, new_size=size, old_size=old_size)
        return old, item

    def delete(self, ctx, table: Table, req: dict, prepared=None) -> dict | None:
        key = table.schema.validate_key(req["Key"])
        if prepared is None:
            prepared = prepare(req, "DeleteItem", table.schema.names)
        old = storage.get_item(ctx.db, table, key)
        if not prepared.holds(prepared.condition, old):
            raise condition_failed(old, req)
        storage.write_item(ctx.db, ctx, table, key, old, None)
        return old

    def update(self, ctx, table: Table, req: dict, prepared=None) -> tuple[dict | None, dict, object]:
        key = table.schema.validate_key(req["Key"])
        if prepared is None:
            prepared = prepare(req, "UpdateItem", table.schema.names)
        old = storage.get_item(ctx.db, table, key)
        if not prepared.holds(prepared.condition, old):
            raise condition_failed(old, req)
        base = old if old is not None else dict(key)
        new = prepared.apply_update(base, table.schema.names)
        size = check_item(table, new, update=True)
        storage.write_item(ctx.db, ctx, table, key, old, new, new_size=size)
        return old, new, prepared

    # -- operations -------------------------------------------------------------------------
    def put_item(self, ctx, req: dict) -> dict:
        table = self.data_table(ctx, req["TableName"])
        rv = req.get("ReturnValues", "NONE")
        if rv not in ("NONE", "ALL_OLD"):
            raise V.invalid("Return values set to invalid value")
        old, new = self.put(ctx, table, req)
        out = {}
        if rv == "ALL_OLD" and old is not None:
            out["Attributes"] = old
        cc = capacity(table, lambda: write_units(old, new), req)
        if cc:
            out["ConsumedCapacity"] = cc
        return out

    def delete_item(self, ctx, req: dict) -> dict:
        table = self.data_table(ctx, req["TableName"])
        rv = req.get("ReturnValues", "NONE")
        if rv not in ("NONE", "ALL_OLD"):
            raise V.invalid("Return values set to invalid value")
        old = self.delete(ctx, table, req)
        out = {}
        if rv == "ALL_OLD" and old is not None:
            out["Attributes"] = old
        cc = capacity(table, lambda: write_units(old), req)
        if cc:
            out["ConsumedCapacity"] = cc
        return out

    def update_item(self, ctx, req: dict) -> dict:
        table = self.data_table(ctx, req["TableName"])
        rv = req.get("ReturnValues", "NONE")
        old, new, prepared = self.update(ctx, table, req)
        out = {}
        if rv == "ALL_OLD" and old is not None:
            out["Attributes"] = old
        elif rv == "ALL_NEW":
            out["Attributes"] = new
        elif rv in ("UPDATED_OLD", "UPDATED_NEW"):
            paths = updated_paths(prepared, req)
            attrs = project_keys(paths, old or {}) if rv == "UPDATED_OLD" else project_keys(paths, new)
            if attrs:
                out["Attributes"] = attrs
        cc = capacity(table, lambda: write_units(old, new), req)
        if cc:
            out["ConsumedCapacity"] = cc
        return out

    def get_item(self, ctx, req: dict) -> dict:
        table = self.data_table(ctx, req["TableName"])
        key = table.schema.validate_key(req["Key"])
        prepared = prepare(req, "GetItem", table.schema.names)
        item = storage.get_item(ctx.db, table, key)
        out = {}
        if item is not None:
            out["Item"] = prepared.project(item)
        cc = capacity(table, lambda: read_units(V.item_size(item) if item else 0, bool(req.get("ConsistentRead"))),
                      req, read=True)
        if cc:
            out["ConsumedCapacity"] = cc
        return out

    def batch_get_item(self, ctx, req: dict) -> dict:
        requests = req["RequestItems"]
        total = sum(len(r["Keys"]) for r in requests.values())
        if total > 100:
            raise V.invalid("Too many items requested for the BatchGetItem call")
        plans = []
        for name, r in requests.items():
            table = self.data_table(ctx, name)
            prepared = prepare(r, "GetItem", table.schema.names)
            keys = [table.schema.validate_key(k) for k in r["Keys"]]
            encoded = [table.schema.encoded(k) for k in keys]
            if len(set(encoded)) != len(encoded):
                raise V.invalid("Provided list of item keys contains duplicates")
            plans.append((name, table, r, prepared, keys))
        responses, unprocessed, used = {}, {}, 0
        consumed = {}
        for name, table, r, prepared, keys in plans:
            responses[name] = []
            for k in keys:
                if used >= BATCH_READ_LIMIT:
                    entry = unprocessed.setdefault(name, {kk: vv for kk, vv in r.items() if kk != "Keys"})
                    entry.setdefault("Keys", []).append(k)
                    continue
                item = storage.get_item(ctx.db, table, k)
                if item is not None:
                    size = V.item_size(item)
                    used += size
                    consumed[name] = consumed.get(name, 0) + read_units(size, bool(r.get("ConsistentRead")))
                    responses[name].append(prepared.project(item))
        out = {"Responses": responses, "UnprocessedKeys": unprocessed}
        if req.get("ReturnConsumedCapacity", "NONE") != "NONE":
            out["ConsumedCapacity"] = [{"TableName": n, "CapacityUnits": consumed.get(n, 0.0)} for n in requests]
        return out

    def batch_write_item(self, ctx, req: dict) -> dict:
        requests = req["RequestItems"]
        total = sum(len(r) for r in requests.values())
        if total > 25:
            raise V.invalid("Too many items requested for the BatchWriteItem call")
        plans = []
        for name, writes in requests.items():
            table = self.data_table(ctx, name)
            seen = set()
            for w in writes:
                if ("PutRequest" in w) == ("DeleteRequest" in w):
                    raise V.invalid("Supplied AttributeValue has more than one datatypes set, must contain "
                                    "exactly one of the supported datatypes" if w else
                                    "Supplied AttributeValue is empty, must contain exactly one of the "
                                    "supported datatypes")
                if "PutRequest" in w:
                    item = V.canonical_item(w["PutRequest"]["Item"])
                    table.schema.validate_item(item)
                    check_item(table, item)
                    key = table.schema.key_of(item)
                    plans.append((table, key, item))
                else:
                    key = table.schema.validate_key(w["DeleteRequest"]["Key"])
                    plans.append((table, key, None))
                enc = table.schema.encoded(key)
                if enc in seen:
                    raise V.invalid("Provided list of item keys contains duplicates")
                seen.add(enc)
        consumed = {}
        for table, key, item in plans:
            old = storage.get_item(ctx.db, table, key)
            storage.write_item(ctx.db, ctx, table, key, old, item)
            consumed[table.name] = consumed.get(table.name, 0) + write_units(old, item)
        out = {"UnprocessedItems": {}}
        if req.get("ReturnConsumedCapacity", "NONE") != "NONE":
            out["ConsumedCapacity"] = [{"TableName": n, "CapacityUnits": consumed.get(n, 0.0)} for n in requests]
        return out
