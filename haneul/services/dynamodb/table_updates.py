"""UpdateTable: billing, throughput, streams, global secondary index create/update/delete
(with backfill), table class, deletion protection, encryption."""

from __future__ import annotations

import copy

from haneul.errors import AwsError
from haneul.services.dynamodb import storage, streams
from haneul.services.dynamodb.expressions.values import invalid
from haneul.services.dynamodb.tables import _check_index, _throughput


NOTHING_TO_UPDATE = ("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
                     "GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, "
                     "ReplicaTransitRoleArn, MultiRegionConsistency, DeletionProtectionEnabled, "
                     "OnDemandThroughput, WarmThroughput or TableClass is required")


def apply_table_update(ops, ctx, tables, table, req: dict):
    meta = copy.deepcopy(table.meta)
    now = ctx.now()
    changed = False
    if req.get("AttributeDefinitions"):
        known = {a["AttributeName"]: a for a in meta["AttributeDefinitions"]}
        for a in req["AttributeDefinitions"]:
            if a["AttributeName"] in known and known[a["AttributeName"]]["AttributeType"] != a["AttributeType"]:
                raise invalid("One or more parameter values were invalid: Cannot change the type of an "
                              f"existing attribute: {a['AttributeName']}")
            known[a["AttributeName"]] = a
        meta["AttributeDefinitions"] = list(known.values())
    billing = req.get("BillingMode")
    current_billing = (meta.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    if billing and billing != current_billing:
        changed = True
        if billing == "PAY_PER_REQUEST":
            if req.get("ProvisionedThroughput"):
                raise invalid("One or more parameter values were invalid: Neither ReadCapacityUnits nor "
                              "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
            meta["BillingModeSummary"] = {"BillingMode": "PAY_PER_REQUEST",
                                          "LastUpdateToPayPerRequestDateTime": now}
            meta["ProvisionedThroughput"] = _throughput(None)
            for d in meta.get("GlobalSecondaryIndexes", []):
                d["ProvisionedThroughput"] = _throughput(None)
        else:
            if not req.get("ProvisionedThroughput"):
                raise invalid("One or more parameter values were invalid: ReadCapacityUnits and "
                              "WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
            meta["BillingModeSummary"] = {"BillingMode": "PROVISIONED",
                                          "LastUpdateToPayPerRequestDateTime":
                                          meta.get("BillingModeSummary", {}).get("LastUpdateToPayPerRequestDateTime", now)}
    if req.get("ProvisionedThroughput"):
        if (billing or current_billing) == "PAY_PER_REQUEST":
            raise invalid("One or more parameter values were invalid: Neither ReadCapacityUnits nor "
                          "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
        old = meta["ProvisionedThroughput"]
        new = req["ProvisionedThroughput"]
        if (old.get("ReadCapacityUnits"), old.get("WriteCapacityUnits")) == \
                (new["ReadCapacityUnits"], new["WriteCapacityUnits"]) and not billing:
            raise invalid("The provisioned throughput for the table will not change. The requested value "
                          "equals the current value. Current ReadCapacityUnits provisioned for the table: "
                          f"{old.get('ReadCapacityUnits')}. Requested ReadCapacityUnits: {new['ReadCapacityUnits']}. "
                          f"Current WriteCapacityUnits provisioned for the table: {old.get('WriteCapacityUnits')}. "
                          f"Requested WriteCapacityUnits: {new['WriteCapacityUnits']}. Refer to the Amazon "
                          "DynamoDB Developer Guide for current limits and how to request higher limits.")
        up = new["ReadCapacityUnits"] > old.get("ReadCapacityUnits", 0) or \
            new["WriteCapacityUnits"] > old.get("WriteCapacityUnits", 0)
        pt = dict(old, ReadCapacityUnits=new["ReadCapacityUnits"], WriteCapacityUnits=new["WriteCapacityUnits"])
        pt["LastIncreaseDateTime" if up else "LastDecreaseDateTime"] = now
        if not up:
            pt["NumberOfDecreasesToday"] = old.get("NumberOfDecreasesToday", 0) + 1
        meta["ProvisionedThroughput"] = pt
        changed = True
    new_indexes = []
    for upd in req.get("GlobalSecondaryIndexUpdates") or []:
        changed = True
        gsis = meta.setdefault("GlobalSecondaryIndexes", [])
        if "Create" in upd:
            d = upd["Create"]
            defs = [a["AttributeName"] for a in meta["AttributeDefinitions"]]
            existing = {x["IndexName"] for x in gsis} | {x["IndexName"] for x in meta.get("LocalSecondaryIndexes", [])}
            if d["IndexName"] in existing:
                raise invalid("Attempting to create an index which already exists")
            _check_index(d, defs, set())
            if len(gsis) >= 20:
                raise AwsError("LimitExceededException", "Subscriber limit exceeded: Only 20 global secondary "
                               "indexes are allowed per table")
            billing_now = (meta.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
            if billing_now == "PROVISIONED" and not d.get("ProvisionedThroughput"):
                raise invalid("One or more parameter values were invalid: ProvisionedThroughput must be "
                              f"specified for index: {d['IndexName']}")
            gsis.append(ops._gsi(d, meta["TableArn"], billing_now, now))
            new_indexes.append(d["IndexName"])
        elif "Delete" in upd:
            name = upd["Delete"]["IndexName"]
            if not any(x["IndexName"] == name for x in gsis):
                raise AwsError("ResourceNotFoundException", f"Requested resource not found: Requested "
                               f"index {name} not found for table {table.name}")
            meta["GlobalSecondaryIndexes"] = [x for x in gsis if x["IndexName"] != name]
            ctx.db.execute("DELETE FROM ddb_index_item WHERE tid=? AND idx=?", (table.id, name))
        elif "Update" in upd:
            name = upd["Update"]["IndexName"]
            found = [x for x in gsis if x["IndexName"] == name]
            if not found:
                raise AwsError("ResourceNotFoundException", f"Requested resource not found: Requested "
                               f"index {name} not found for table {table.name}")
            if upd["Update"].get("ProvisionedThroughput"):
                found[0]["ProvisionedThroughput"] = _throughput(upd["Update"]["ProvisionedThroughput"])
            if upd["Update"].get("OnDemandThroughput"):
                found[0]["OnDemandThroughput"] = upd["Update"]["OnDemandThroughput"]
        if not meta.get("GlobalSecondaryIndexes"):
            meta.pop("GlobalSecondaryIndexes", None)
    used = {k["AttributeName"] for k in meta["KeySchema"]}
    for group in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        for d in meta.get(group, []):
            used |= {k["AttributeName"] for k in d["KeySchema"]}
    meta["AttributeDefinitions"] = [a for a in meta["AttributeDefinitions"] if a["AttributeName"] in used]
    spec = req.get("StreamSpecification")
    if spec is not None:
        changed = True
        enabled = bool((meta.get("StreamSpecification") or {}).get("StreamEnabled"))
        if spec.get("StreamEnabled"):
            if enabled:
                raise invalid(f"Table already has an enabled stream: TableName: {table.name}")
            ops._enable_stream(ctx, table, meta, spec, creating=False)
        else:
            if not enabled:
                raise invalid(f"Table has no stream to disable: TableName: {table.name}")
            streams.disable_stream(ctx.db, meta["LatestStreamArn"])
            meta["StreamSpecification"] = {"StreamEnabled": False}
    if req.get("TableClass"):
        changed = True
        meta["TableClassSummary"] = {"TableClass": req["TableClass"], "LastUpdateDateTime": now}
    if "DeletionProtectionEnabled" in req:
        changed = True
        meta["DeletionProtectionEnabled"] = bool(req["DeletionProtectionEnabled"])
    if req.get("SSESpecification") is not None:
        changed = True
        sse = req["SSESpecification"]
        if sse.get("Enabled", True):
            meta["SSEDescription"] = {"Status": "ENABLED", "SSEType": sse.get("SSEType", "KMS"),
                                      "KMSMasterKeyArn": sse.get("KMSMasterKeyId") or
                                      f"arn:aws:kms:{ctx.region}:{ctx.account}:key/aws-managed-dynamodb"}
        else:
            meta.pop("SSEDescription", None)
    if req.get("OnDemandThroughput"):
        changed = True
        meta["OnDemandThroughput"] = req["OnDemandThroughput"]
    if req.get("ReplicaUpdates") or req.get("GlobalTableWitnessUpdates"):
        raise invalid("Global table replicas are not supported by Haneul")
    if not changed:
        raise invalid(NOTHING_TO_UPDATE)
    table = tables.save(table, meta)
    for name in new_indexes:
        storage.backfill_index(ctx.db, table, table.indexes[name])
    return table
