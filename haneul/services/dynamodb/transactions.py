"""TransactWriteItems and TransactGetItems.  One request is one store transaction, so the
conditions are checked and the writes made with no other writer in between."""

from __future__ import annotations

import base64
import hashlib
import json

from haneul.errors import AwsError
from haneul.services.dynamodb import storage
from haneul.services.dynamodb.expressions import prepare
from haneul.services.dynamodb.expressions import values as V

TOKEN_TTL = 600.0
KINDS = ("ConditionCheck", "Put", "Delete", "Update")


def _digest(req: dict) -> str:
    body = {k: v for k, v in req.items() if k != "ClientRequestToken"}
    text = json.dumps(body, sort_keys=True,
                      default=lambda b: base64.b64encode(b).decode() if isinstance(b, bytes) else str(b))
    return hashlib.sha256(text.encode()).hexdigest()


class TransactOps:
    def transact_write_items(self, ctx, req: dict) -> dict:
        token = req.get("ClientRequestToken")
        now = ctx.now()
        if token:
            ctx.db.execute("DELETE FROM ddb_token WHERE created < ?", (now - TOKEN_TTL,))
            row = ctx.db.execute("SELECT digest FROM ddb_token WHERE account=? AND region=? AND token=?",
                                 (ctx.account, ctx.region, token)).fetchone()
            if row is not None:
                if row[0] != _digest(req):
                    raise AwsError("IdempotentParameterMismatchException",
                                   "Request parameters do not match with the parameters of the previous "
                                   "request with the same client token")
                return {}
        plans, seen = [], set()
        for entry in req["TransactItems"]:
            kinds = [k for k in KINDS if k in entry]
            if len(kinds) != 1:
                raise V.invalid("TransactItems can only contain one of Check, Put, Update or Delete")
            kind = kinds[0]
            op = entry[kind]
            table = self.data_table(ctx, op["TableName"])
            if kind == "Put":
                item = V.canonical_item(op["Item"])
                table.schema.validate_item(item)
                from haneul.services.dynamodb.items import check_item
                check_item(table, item)
                key = table.schema.key_of(item)
                prepared = prepare(op, "PutItem", table.schema.names)
            else:
                key = table.schema.validate_key(op["Key"])
                item = None
                prepared = prepare(op, {"ConditionCheck": "ConditionCheck", "Delete": "DeleteItem",
                                        "Update": "UpdateItem"}[kind], table.schema.names)
                if kind == "ConditionCheck" and prepared.condition is None:
                    raise V.invalid("The parameter 'ConditionExpression' is required but was not present "
                                    "in the request")
            ident = (table.id, table.schema.encoded(key))
            if ident in seen:
                raise V.invalid("Transaction request cannot include multiple operations on one item")
            seen.add(ident)
            plans.append((kind, op, table, key, item, prepared))
        reasons, writes, failed = [], [], False
        for kind, op, table, key, item, prepared in plans:
            old = storage.get_item(ctx.db, table, key)
            if not prepared.holds(prepared.condition, old):
                reason = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
                    reason["Item"] = old
                reasons.append(reason)
                failed = True
                continue
            try:
                if kind == "Put":
                    writes.append((table, key, old, item))
                elif kind == "Delete":
                    writes.append((table, key, old, None))
                elif kind == "Update":
                    from haneul.services.dynamodb.items import check_item
                    new = prepared.apply_update(old if old is not None else dict(key), table.schema.names)
                    check_item(table, new, update=True)
                    writes.append((table, key, old, new))
            except AwsError as e:
                if e.code != "ValidationException":
                    raise
                reasons.append({"Code": "ValidationError", "Message": e.message})
                failed = True
                continue
            reasons.append({"Code": "None"})
        if failed:
            codes = ", ".join(r["Code"] for r in reasons)
            raise AwsError("TransactionCanceledException",
                           f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                           fields={"CancellationReasons": reasons})
        for table, key, old, new in writes:
            storage.write_item(ctx.db, ctx, table, key, old, new)
        if token:
            ctx.db.execute("INSERT OR REPLACE INTO ddb_token(account, region, token, digest, created) "
                           "VALUES(?,?,?,?,?)", (ctx.account, ctx.region, token, _digest(req), now))
        out = {}
        if req.get("ReturnConsumedCapacity", "NONE") != "NONE":
            tables = {}
            for kind, op, table, key, item, prepared in plans:
                tables[table.name] = tables.get(table.name, 0.0) + 2.0
            out["ConsumedCapacity"] = [{"TableName": n, "CapacityUnits": u, "WriteCapacityUnits": u}
                                       for n, u in tables.items()]
        return out

    def transact_get_items(self, ctx, req: dict) -> dict:
        plans = []
        for entry in req["TransactItems"]:
            op = entry["Get"]
            table = self.data_table(ctx, op["TableName"])
            key = table.schema.validate_key(op["Key"])
            plans.append((table, key, prepare(op, "GetItem", table.schema.names)))
        responses = []
        for table, key, prepared in plans:
            item = storage.get_item(ctx.db, table, key)
            responses.append({"Item": prepared.project(item)} if item is not None else {})
        out = {"Responses": responses}
        if req.get("ReturnConsumedCapacity", "NONE") != "NONE":
            tables = {}
            for table, _, _ in plans:
                tables[table.name] = tables.get(table.name, 0.0) + 2.0
            out["ConsumedCapacity"] = [{"TableName": n, "CapacityUnits": u, "ReadCapacityUnits": u}
                                       for n, u in tables.items()]
        return out
