"""Table operations: create, describe, update, delete, list; tags, TTL, limits, endpoints."""

from __future__ import annotations

import copy

from haneul.errors import AwsError
from haneul.protocol import validate
from haneul.services.base import arn as make_arn
from haneul.services.base import tag_list
from haneul.services.dynamodb import storage, streams
from haneul.services.dynamodb.expressions.values import invalid
from haneul.services.dynamodb.storage import Table, Tables


def table_not_found(name: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found")


def _throughput(spec: dict | None) -> dict:
    spec = spec or {}
    return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": spec.get("ReadCapacityUnits", 0),
            "WriteCapacityUnits": spec.get("WriteCapacityUnits", 0)}


def validate_key_schema(ks: list, defs: list, label: str | None = None) -> None:
    names = [k["AttributeName"] for k in ks]
    if len(ks) == 2 and names[0] == names[1]:
        raise invalid("Both the Hash Key and the Range Key element in the KeySchema have the same name")
    if ks[0]["KeyType"] != "HASH":
        raise invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(ks) == 2 and ks[1]["KeyType"] != "RANGE":
        raise invalid("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")


def _check_projection(d: dict) -> None:
    p = d.get("Projection") or {}
    kind = p.get("ProjectionType")
    if kind is None:
        raise invalid("One or more parameter values were invalid: Unknown ProjectionType: null")
    if p.get("NonKeyAttributes") and kind != "INCLUDE":
        raise invalid(f"One or more parameter values were invalid: ProjectionType is {kind}, but "
                      "NonKeyAttributes is specified")


def validate_create(req: dict) -> None:
    # The model no longer marks these required (TableName alone is), but DynamoDB still
    # refuses a table without them, in its null-member wording.
    missing = [f"Value null at '{m}' failed to satisfy constraint: Member must not be null"
               for m, name in (("attributeDefinitions", "AttributeDefinitions"), ("keySchema", "KeySchema"))
               if req.get(name) is None]
    if missing:
        raise invalid(validate.message(missing))
    defs = [a["AttributeName"] for a in req["AttributeDefinitions"]]
    keys = [k["AttributeName"] for k in req["KeySchema"]]
    billing = req.get("BillingMode", "PROVISIONED")
    pt = req.get("ProvisionedThroughput")
    if billing == "PROVISIONED" and not pt:
        raise invalid("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits "
                      "must both be specified when BillingMode is PROVISIONED")
    if billing == "PAY_PER_REQUEST" and pt:
        raise invalid("One or more parameter values were invalid: Neither ReadCapacityUnits nor "
                      "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
    if len(keys) == 2 and (any(k not in defs for k in keys) or (keys[0] == keys[1] and len(defs) == 1)):
        raise invalid("Invalid KeySchema: Some index key attribute have no definition")
    if len(keys) == 1 and keys[0] not in defs:
        raise invalid("One or more parameter values were invalid: Some index key attributes are not defined "
                      f"in AttributeDefinitions. Keys: [{', '.join(keys)}], AttributeDefinitions: "
                      f"[{', '.join(defs)}]")
    validate_key_schema(req["KeySchema"], defs)
    lsis, gsis = req.get("LocalSecondaryIndexes"), req.get("GlobalSecondaryIndexes")
    if lsis is None and gsis is None and len(keys) != len(defs):
        raise invalid("One or more parameter values were invalid: Number of attributes in KeySchema does "
                      "not exactly match number of attributes defined in AttributeDefinitions")
    seen = set()
    used = set(keys)
    if lsis is not None:
        if not lsis:
            raise invalid("One or more parameter values were invalid: List of LocalSecondaryIndexes is empty")
        if len(keys) != 2:
            raise invalid("One or more parameter values were invalid: Table KeySchema does not have a range "
                          "key, which is required when specifying a LocalSecondaryIndex")
        for d in lsis:
            _check_index(d, defs, seen)
            if len(d["KeySchema"]) != 2:
                raise invalid("One or more parameter values were invalid: Index KeySchema does not have a "
                              f"range key for index: {d['IndexName']}")
            if d["KeySchema"][0]["AttributeName"] != keys[0]:
                raise invalid("One or more parameter values were invalid: Index KeySchema does not have the "
                              f"same leading hash key as table KeySchema for index: {d['IndexName']}. index "
                              f"hash key: {d['KeySchema'][0]['AttributeName']}, table hash key: {keys[0]}")
            used |= {k["AttributeName"] for k in d["KeySchema"]}
        if len(lsis) > 5:
            raise invalid("One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds "
                          "per-table limit of 5")
    if gsis is not None:
        if not gsis:
            raise invalid("One or more parameter values were invalid: List of GlobalSecondaryIndexes is empty")
        for d in gsis:
            _check_index(d, defs, seen)
            if billing == "PROVISIONED" and not d.get("ProvisionedThroughput"):
                raise invalid("One or more parameter values were invalid: ProvisionedThroughput must be "
                              f"specified for index: {d['IndexName']}")
            if billing == "PAY_PER_REQUEST" and d.get("ProvisionedThroughput"):
                raise invalid("One or more parameter values were invalid: ProvisionedThroughput should not "
                              f"be specified for index: {d['IndexName']} when BillingMode is PAY_PER_REQUEST")
            used |= {k["AttributeName"] for k in d["KeySchema"]}
        if len(gsis) > 20:
            raise invalid("One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the "
                          "per-table limit of 20")
    if set(defs) - used:
        raise invalid("One or more parameter values were invalid: Some AttributeDefinitions are not used. "
                      f"AttributeDefinitions: [{', '.join(defs)}], keys used: [{', '.join(sorted(used))}]")


def _check_index(d: dict, defs: list, seen: set) -> None:
    ikeys = [k["AttributeName"] for k in d["KeySchema"]]
    if any(k not in defs for k in ikeys):
        raise invalid("One or more parameter values were invalid: Some index key attributes are not defined "
                      f"in AttributeDefinitions. Keys: [{', '.join(ikeys)}], AttributeDefinitions: "
                      f"[{', '.join(defs)}]")
    validate_key_schema(d["KeySchema"], defs)
    _check_projection(d)
    if d["IndexName"] in seen:
        raise invalid(f"One or more parameter values were invalid: Duplicate index name: {d['IndexName']}")
    seen.add(d["IndexName"])


class TableOps:
    STATUS_DELAY = 0.0          # seconds a new table (or index) reports CREATING

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def tables(ctx) -> Tables:
        return Tables(ctx.db, ctx.account, ctx.region)

    def describe(self, ctx, table: Table, status: str | None = None) -> dict:
        meta = copy.deepcopy(table.meta)
        meta.pop("Tags", None)
        meta.pop("TimeToLive", None)
        meta.pop("ContinuousBackups", None)
        meta.pop("ResourcePolicy", None)
        meta.pop("KinesisDestinations", None)
        count, size = self.tables(ctx).counts(table)
        meta["ItemCount"], meta["TableSizeBytes"] = count, size
        ready = ctx.now() >= meta.pop("ReadyAt", 0)
        meta["TableStatus"] = status or ("ACTIVE" if ready else meta.get("TableStatus", "CREATING"))
        if meta["TableStatus"] == "ACTIVE" and meta.get("BillingModeSummary") is None:
            pass
        for d in meta.get("GlobalSecondaryIndexes", []):
            d["IndexStatus"] = "ACTIVE" if ctx.now() >= d.pop("ReadyAt", 0) else "CREATING"
            if d["IndexStatus"] == "CREATING":
                d["Backfilling"] = True
            d["IndexSizeBytes"], d["ItemCount"] = self._index_counts(ctx, table, d["IndexName"])
        for d in meta.get("LocalSecondaryIndexes", []):
            d["IndexSizeBytes"], d["ItemCount"] = self._index_counts(ctx, table, d["IndexName"])
        if not meta.get("StreamSpecification", {}).get("StreamEnabled"):
            meta.pop("StreamSpecification", None) if not meta.get("StreamSpecification") else None
        return meta

    @staticmethod
    def _index_counts(ctx, table: Table, index: str) -> tuple[int, int]:
        row = ctx.db.execute("SELECT COUNT(*), COALESCE(SUM(i.size), 0) FROM ddb_index_item x JOIN ddb_item i "
                             "ON i.tid=x.tid AND i.hk=x.thk AND i.rk=x.trk WHERE x.tid=? AND x.idx=?",
                             (table.id, index)).fetchone()
        return row[1], row[0]

    def _table(self, ctx, name: str) -> Table:
        t = self.tables(ctx).find(name)
        if t is None:
            raise table_not_found(name)
        return t

    # -- operations -------------------------------------------------------------------------
    def create_table(self, ctx, req: dict) -> dict:
        validate_create(req)
        tables = self.tables(ctx)
        name = req["TableName"]
        if tables.find(name) is not None:
            raise AwsError("ResourceInUseException", f"Table already exists: {name}")
        now = ctx.now()
        billing = req.get("BillingMode", "PROVISIONED")
        table_arn = make_arn(ctx, "dynamodb", f"table/{name}")
        meta = {"AttributeDefinitions": req["AttributeDefinitions"], "TableName": name,
                "KeySchema": req["KeySchema"], "TableStatus": "CREATING", "CreationDateTime": now,
                "ProvisionedThroughput": _throughput(req.get("ProvisionedThroughput")),
                "TableArn": table_arn, "TableId": storage.new_table_id(),
                "DeletionProtectionEnabled": bool(req.get("DeletionProtectionEnabled", False)),
                "ReadyAt": now + self.STATUS_DELAY}
        if billing == "PAY_PER_REQUEST":
            meta["BillingModeSummary"] = {"BillingMode": "PAY_PER_REQUEST",
                                          "LastUpdateToPayPerRequestDateTime": now}
        if req.get("TableClass"):
            meta["TableClassSummary"] = {"TableClass": req["TableClass"]}
        if req.get("OnDemandThroughput"):
            meta["OnDemandThroughput"] = req["OnDemandThroughput"]
        if req.get("SSESpecification", {}).get("Enabled"):
            sse = req["SSESpecification"]
            meta["SSEDescription"] = {"Status": "ENABLED", "SSEType": sse.get("SSEType", "KMS"),
                                      "KMSMasterKeyArn": sse.get("KMSMasterKeyId") or
                                      make_arn(ctx, "kms", "key/aws-managed-dynamodb")}
        if req.get("LocalSecondaryIndexes"):
            meta["LocalSecondaryIndexes"] = [
                {"IndexName": d["IndexName"], "KeySchema": d["KeySchema"], "Projection": d["Projection"],
                 "IndexArn": f"{table_arn}/index/{d['IndexName']}"} for d in req["LocalSecondaryIndexes"]]
        if req.get("GlobalSecondaryIndexes"):
            meta["GlobalSecondaryIndexes"] = [self._gsi(d, table_arn, billing, now)
                                              for d in req["GlobalSecondaryIndexes"]]
        if req.get("Tags"):
            meta["Tags"] = {t["Key"]: t.get("Value", "") for t in req["Tags"]}
        if req.get("ResourcePolicy"):
            meta["ResourcePolicy"] = {"Policy": req["ResourcePolicy"], "RevisionId": str(int(now * 1000))}
        stream = req.get("StreamSpecification")
        table = tables.create(meta)
        if stream and stream.get("StreamEnabled"):
            meta = dict(meta)
            self._enable_stream(ctx, table, meta, stream)
            table = tables.save(table, meta)
        return {"TableDescription": self.describe(ctx, table, status="CREATING")}

    def _gsi(self, d: dict, table_arn: str, billing: str, now: float) -> dict:
        out = {"IndexName": d["IndexName"], "KeySchema": d["KeySchema"], "Projection": d["Projection"],
               "ProvisionedThroughput": _throughput(d.get("ProvisionedThroughput")),
               "IndexArn": f"{table_arn}/index/{d['IndexName']}", "ReadyAt": now + self.STATUS_DELAY}
        if d.get("OnDemandThroughput"):
            out["OnDemandThroughput"] = d["OnDemandThroughput"]
        return out

    def _enable_stream(self, ctx, table: Table, meta: dict, spec: dict, creating: bool = True) -> None:
        if "StreamViewType" not in spec:
            raise invalid("One or more parameter values were invalid: " + (
                "Table is being created with a stream enabled, UpdateViewType is required" if creating
                else "If stream is being enabled then UpdateViewType is required"))
        arn, label = streams.create_stream(ctx.db, ctx, table.name, table.id, spec["StreamViewType"],
                                           meta["KeySchema"])
        meta["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": spec["StreamViewType"]}
        meta["LatestStreamArn"], meta["LatestStreamLabel"] = arn, label

    def describe_table(self, ctx, req: dict) -> dict:
        table = self._table(ctx, req["TableName"])
        return {"Table": self.describe(ctx, table)}

    def list_tables(self, ctx, req: dict) -> dict:
        names = self.tables(ctx).names()
        start = req.get("ExclusiveStartTableName")
        if start:
            names = [n for n in names if n > start]
        limit = req.get("Limit", 100)
        page = names[:limit]
        out = {"TableNames": page}
        if len(names) > limit:
            out["LastEvaluatedTableName"] = page[-1]
        return out

    def delete_table(self, ctx, req: dict) -> dict:
        tables = self.tables(ctx)
        table = self._table(ctx, req["TableName"])
        if table.meta.get("DeletionProtectionEnabled"):
            raise invalid("Resource cannot be deleted as it is currently protected against deletion. "
                          "Disable deletion protection first.")
        desc = self.describe(ctx, table, status="DELETING")
        if table.stream_arn:
            streams.disable_stream(ctx.db, table.stream_arn)
        tables.drop(table)
        return {"TableDescription": desc}

    def update_table(self, ctx, req: dict) -> dict:
        from haneul.services.dynamodb.table_updates import apply_table_update
        tables = self.tables(ctx)
        table = self._table(ctx, req["TableName"])
        table = apply_table_update(self, ctx, tables, table, req)
        return {"TableDescription": self.describe(ctx, table, status="UPDATING")}

    # -- tags -------------------------------------------------------------------------------
    def _by_arn(self, ctx, resource_arn: str) -> Table:
        prefix = f"arn:aws:dynamodb:{ctx.region}:{ctx.account}:table/"
        if not resource_arn.startswith(prefix):
            raise AwsError("AccessDeniedException" if ":dynamodb:" in resource_arn else "ValidationException",
                           f"Invalid TableArn: Invalid ResourceArn provided as input {resource_arn}")
        name = resource_arn[len(prefix):].split("/")[0]
        table = self.tables(ctx).find(name)
        if table is None:
            raise AwsError("ResourceNotFoundException",
                           f"Requested resource not found: ResourcArn: {resource_arn} not found")
        return table

    def tag_resource(self, ctx, req: dict) -> dict:
        table = self._by_arn(ctx, req["ResourceArn"])
        meta = copy.deepcopy(table.meta)
        tags = meta.setdefault("Tags", {})
        for t in req["Tags"]:
            tags[t["Key"]] = t.get("Value", "")
        if len(tags) > 50:
            raise invalid("Number of Tags exceed the current limit for the provided ResourceArn")
        self.tables(ctx).save(table, meta)
        return {}

    def untag_resource(self, ctx, req: dict) -> dict:
        table = self._by_arn(ctx, req["ResourceArn"])
        meta = copy.deepcopy(table.meta)
        for k in req["TagKeys"]:
            meta.get("Tags", {}).pop(k, None)
        self.tables(ctx).save(table, meta)
        return {}

    def list_tags_of_resource(self, ctx, req: dict) -> dict:
        table = self._by_arn(ctx, req["ResourceArn"])
        return {"Tags": tag_list(table.meta.get("Tags", {}))}

    # -- time to live -------------------------------------------------------------------------
    def update_time_to_live(self, ctx, req: dict) -> dict:
        table = self._table(ctx, req["TableName"])
        spec = req["TimeToLiveSpecification"]
        current = table.meta.get("TimeToLive") or {}
        enabled = current.get("TimeToLiveStatus") == "ENABLED"
        if spec["Enabled"] and enabled:
            raise invalid("TimeToLive is already enabled")
        if not spec["Enabled"] and not enabled:
            raise invalid("TimeToLive is already disabled")
        if not spec["Enabled"] and current.get("AttributeName") != spec["AttributeName"]:
            raise invalid("TimeToLive is active on a different AttributeName: current AttributeName is "
                          f"{current.get('AttributeName')}")
        meta = copy.deepcopy(table.meta)
        meta["TimeToLive"] = ({"TimeToLiveStatus": "ENABLED", "AttributeName": spec["AttributeName"]}
                              if spec["Enabled"] else {"TimeToLiveStatus": "DISABLED"})
        table = self.tables(ctx).save(table, meta)
        storage.backfill_expiry(ctx.db, table)
        return {"TimeToLiveSpecification": {"Enabled": spec["Enabled"], "AttributeName": spec["AttributeName"]}}

    def describe_time_to_live(self, ctx, req: dict) -> dict:
        table = self._table(ctx, req["TableName"])
        ttl = table.meta.get("TimeToLive") or {"TimeToLiveStatus": "DISABLED"}
        return {"TimeToLiveDescription": ttl}

    # -- account --------------------------------------------------------------------------------
    def describe_limits(self, ctx, req: dict) -> dict:
        return {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
                "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}

    def describe_endpoints(self, ctx, req: dict) -> dict:
        return {"Endpoints": [{"Address": f"dynamodb.{ctx.region}.amazonaws.com", "CachePeriodInMinutes": 1440}]}
