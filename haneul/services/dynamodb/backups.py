"""Backups and recovery: on-demand backups that copy items and restore them into new tables,
point-in-time recovery settings (a restore to a point in time restores the table as it is
now: Haneul keeps no history of versions), exports to S3 in DynamoDB JSON, imports as
records, resource policies, Kinesis streaming destinations as records."""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import os

from haneul.errors import AwsError
from haneul.services.dynamodb import storage
from haneul.services.dynamodb.expressions.values import invalid
from haneul.services.dynamodb.storage import Table, Tables

POLICY_LIMIT = 20480
RECOVERY_DAYS = 35


def _table_not_found(name: str) -> AwsError:
    return AwsError("TableNotFoundException", f"Table not found: {name}")


def _backup_not_found(arn: str) -> AwsError:
    return AwsError("BackupNotFoundException", f"Backup not found: {arn}")


def _billing(meta: dict) -> str:
    return (meta.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")


def _json_av(av):
    """An attribute value in DynamoDB JSON (binary as base64), for export files."""
    (t, v), = av.items()
    if t == "B":
        return {"B": base64.b64encode(v).decode()}
    if t == "BS":
        return {"BS": [base64.b64encode(x).decode() for x in v]}
    if t == "M":
        return {"M": {k: _json_av(x) for k, x in v.items()}}
    if t == "L":
        return {"L": [_json_av(x) for x in v]}
    return av


class BackupOps:
    # -- helpers ---------------------------------------------------------------------------
    def _tables(self, ctx) -> Tables:
        return Tables(ctx.db, ctx.account, ctx.region)

    def _backup_row(self, ctx, arn: str):
        if not arn.startswith("arn:") or "/backup/" not in arn:
            raise invalid("Invalid Backup ARN")
        row = ctx.db.execute("SELECT * FROM ddb_backup WHERE arn=? AND account=? AND region=?",
                             (arn, ctx.account, ctx.region)).fetchone()
        if row is None:
            raise _backup_not_found(arn)
        return row

    @staticmethod
    def _details(row, status: str = "AVAILABLE") -> dict:
        return {"BackupArn": row["arn"], "BackupName": row["name"], "BackupSizeBytes": row["size_bytes"],
                "BackupStatus": status, "BackupType": row["kind"], "BackupCreationDateTime": row["created"]}

    def _backup_description(self, row, status: str = "AVAILABLE") -> dict:
        meta = json.loads(row["meta"])
        source = {"TableName": meta["TableName"], "TableId": meta["TableId"], "TableArn": meta["TableArn"],
                  "TableSizeBytes": row["size_bytes"], "KeySchema": meta["KeySchema"],
                  "TableCreationDateTime": meta["CreationDateTime"],
                  "ProvisionedThroughput": {k: meta["ProvisionedThroughput"][k]
                                            for k in ("ReadCapacityUnits", "WriteCapacityUnits")},
                  "ItemCount": row["item_count"], "BillingMode": _billing(meta)}
        features = {}
        if meta.get("LocalSecondaryIndexes"):
            features["LocalSecondaryIndexes"] = [
                {"IndexName": d["IndexName"], "KeySchema": d["KeySchema"], "Projection": d["Projection"]}
                for d in meta["LocalSecondaryIndexes"]]
        if meta.get("GlobalSecondaryIndexes"):
            features["GlobalSecondaryIndexes"] = [
                {"IndexName": d["IndexName"], "KeySchema": d["KeySchema"], "Projection": d["Projection"],
                 "ProvisionedThroughput": {k: d["ProvisionedThroughput"][k]
                                           for k in ("ReadCapacityUnits", "WriteCapacityUnits")}}
                for d in meta["GlobalSecondaryIndexes"]]
        if (meta.get("StreamSpecification") or {}).get("StreamEnabled"):
            features["StreamDescription"] = meta["StreamSpecification"]
        if meta.get("TimeToLive"):
            features["TimeToLiveDescription"] = meta["TimeToLive"]
        if meta.get("SSEDescription"):
            features["SSEDescription"] = meta["SSEDescription"]
        return {"BackupDetails": self._details(row, status), "SourceTableDetails": source,
                "SourceTableFeatureDetails": features}

    def _restore(self, ctx, source_meta: dict, items, target: str, req: dict, summary: dict) -> dict:
        tables = self._tables(ctx)
        if tables.find(target) is not None:
            raise AwsError("TableAlreadyExistsException", f"Table already exists: {target}")
        meta = copy.deepcopy(source_meta)
        for k in ("TableId", "LatestStreamArn", "LatestStreamLabel", "StreamSpecification", "TimeToLive",
                  "ContinuousBackups", "ResourcePolicy", "KinesisDestinations", "Tags", "Replicas",
                  "DeletionProtectionEnabled"):
            meta.pop(k, None)
        now = ctx.now()
        meta.update(TableName=target, TableArn=f"arn:aws:dynamodb:{ctx.region}:{ctx.account}:table/{target}",
                    TableId=storage.new_table_id(), CreationDateTime=now, TableStatus="CREATING",
                    ReadyAt=now + self.STATUS_DELAY, DeletionProtectionEnabled=False)
        arn = meta["TableArn"]
        for group in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
            for d in meta.get(group, []):
                d["IndexArn"] = f"{arn}/index/{d['IndexName']}"
        if "GlobalSecondaryIndexOverride" in req:
            meta["GlobalSecondaryIndexes"] = [self._gsi(d, arn, _billing(meta), now)
                                              for d in req["GlobalSecondaryIndexOverride"]]
            if not meta["GlobalSecondaryIndexes"]:
                meta.pop("GlobalSecondaryIndexes")
        if "LocalSecondaryIndexOverride" in req:
            meta["LocalSecondaryIndexes"] = [
                {"IndexName": d["IndexName"], "KeySchema": d["KeySchema"], "Projection": d["Projection"],
                 "IndexArn": f"{arn}/index/{d['IndexName']}"} for d in req["LocalSecondaryIndexOverride"]]
            if not meta["LocalSecondaryIndexes"]:
                meta.pop("LocalSecondaryIndexes")
        if req.get("BillingModeOverride") == "PAY_PER_REQUEST":
            meta["BillingModeSummary"] = {"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": now}
        elif req.get("BillingModeOverride") == "PROVISIONED":
            if not req.get("ProvisionedThroughputOverride"):
                raise invalid("Invalid Request: Must override ProvisionedThroughput if BillingMode is overridden "
                              "to PROVISIONED")
            meta["BillingModeSummary"] = {"BillingMode": "PROVISIONED", "LastUpdateToPayPerRequestDateTime": now}
        if req.get("ProvisionedThroughputOverride"):
            pt = req["ProvisionedThroughputOverride"]
            meta["ProvisionedThroughput"] = {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": pt["ReadCapacityUnits"],
                                             "WriteCapacityUnits": pt["WriteCapacityUnits"]}
        used = {k["AttributeName"] for k in meta["KeySchema"]}
        for group in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
            for d in meta.get(group, []):
                used |= {k["AttributeName"] for k in d["KeySchema"]}
        meta["AttributeDefinitions"] = [a for a in meta["AttributeDefinitions"] if a["AttributeName"] in used]
        meta["RestoreSummary"] = dict(summary, RestoreDateTime=now, RestoreInProgress=False)
        table = tables.create(meta)
        for item in items:
            storage.write_item(ctx.db, ctx, table, table.schema.key_of(item), None, item)
        return {"TableDescription": self.describe(ctx, table, status="CREATING")}

    # -- on-demand backups -------------------------------------------------------------------
    def create_backup(self, ctx, req: dict) -> dict:
        table = self._tables(ctx).find(req["TableName"])
        if table is None:
            raise _table_not_found(req["TableName"])
        now = ctx.now()
        arn = f"{table.meta['TableArn']}/backup/{int(now * 1000):017d}-{os.urandom(4).hex()}"
        count, size = self._tables(ctx).counts(table)
        ctx.db.execute("INSERT INTO ddb_backup(arn, account, region, table_name, name, kind, created, meta, "
                       "size_bytes, item_count) VALUES(?,?,?,?,?,?,?,?,?,?)",
                       (arn, ctx.account, ctx.region, table.name, req["BackupName"], "USER", now,
                        json.dumps(table.meta), size, count))
        ctx.db.execute("INSERT INTO ddb_backup_item(arn, hk, rk, item) SELECT ?, hk, rk, item FROM ddb_item "
                       "WHERE tid=?", (arn, table.id))
        row = self._backup_row(ctx, arn)
        return {"BackupDetails": self._details(row)}

    def describe_backup(self, ctx, req: dict) -> dict:
        return {"BackupDescription": self._backup_description(self._backup_row(ctx, req["BackupArn"]))}

    def delete_backup(self, ctx, req: dict) -> dict:
        row = self._backup_row(ctx, req["BackupArn"])
        desc = self._backup_description(row, status="DELETED")
        ctx.db.execute("DELETE FROM ddb_backup_item WHERE arn=?", (row["arn"],))
        ctx.db.execute("DELETE FROM ddb_backup WHERE arn=?", (row["arn"],))
        return {"BackupDescription": desc}

    def list_backups(self, ctx, req: dict) -> dict:
        lo, hi = req.get("TimeRangeLowerBound"), req.get("TimeRangeUpperBound")
        lo = lo.timestamp() if hasattr(lo, "timestamp") else lo
        hi = hi.timestamp() if hasattr(hi, "timestamp") else hi
        if lo is not None and hi is not None and lo > hi:
            raise invalid("One or more parameter values were invalid: Time range lower bound must be less than or "
                          "equal to upper bound")
        sql = "SELECT * FROM ddb_backup WHERE account=? AND region=?"
        args = [ctx.account, ctx.region]
        if req.get("TableName"):
            sql += " AND table_name=?"
            args.append(req["TableName"])
        if lo is not None:
            sql += " AND created>=?"
            args.append(lo)
        if hi is not None:
            sql += " AND created<=?"
            args.append(hi)
        if req.get("BackupType") in ("USER", "SYSTEM", "AWS_BACKUP"):
            sql += " AND kind=?"
            args.append(req["BackupType"])
        rows = ctx.db.execute(sql + " ORDER BY created, arn", args).fetchall()
        start = req.get("ExclusiveStartBackupArn")
        if start:
            arns = [r["arn"] for r in rows]
            rows = rows[arns.index(start) + 1:] if start in arns else rows
        limit = req.get("Limit") or 100
        page = rows[:limit]
        out = {"BackupSummaries": [{
            "TableName": r["table_name"], "TableId": json.loads(r["meta"])["TableId"],
            "TableArn": json.loads(r["meta"])["TableArn"], "BackupArn": r["arn"], "BackupName": r["name"],
            "BackupCreationDateTime": r["created"], "BackupStatus": "AVAILABLE", "BackupType": r["kind"],
            "BackupSizeBytes": r["size_bytes"]} for r in page]}
        if len(rows) > limit:
            out["LastEvaluatedBackupArn"] = page[-1]["arn"]
        return out

    def restore_table_from_backup(self, ctx, req: dict) -> dict:
        row = self._backup_row(ctx, req["BackupArn"])
        items = [storage.load_item(r[0]) for r in
                 ctx.db.execute("SELECT item FROM ddb_backup_item WHERE arn=? ORDER BY hk, rk", (row["arn"],))]
        meta = json.loads(row["meta"])
        return self._restore(ctx, meta, items, req["TargetTableName"], req,
                             {"SourceBackupArn": row["arn"], "SourceTableArn": meta["TableArn"]})

    # -- point-in-time recovery ------------------------------------------------------------------
    def _continuous(self, table: Table) -> dict:
        pitr = table.meta.get("ContinuousBackups") or {"PointInTimeRecoveryStatus": "DISABLED"}
        return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr}

    def describe_continuous_backups(self, ctx, req: dict) -> dict:
        table = self._tables(ctx).find(req["TableName"])
        if table is None:
            raise _table_not_found(req["TableName"])
        return {"ContinuousBackupsDescription": self._continuous(table)}

    def update_continuous_backups(self, ctx, req: dict) -> dict:
        tables = self._tables(ctx)
        table = tables.find(req["TableName"])
        if table is None:
            raise _table_not_found(req["TableName"])
        spec = req["PointInTimeRecoverySpecification"]
        meta = copy.deepcopy(table.meta)
        if spec["PointInTimeRecoveryEnabled"]:
            days = spec.get("RecoveryPeriodInDays", RECOVERY_DAYS)
            if not 1 <= days <= RECOVERY_DAYS:
                raise invalid("Invalid Request: RecoveryPeriodInDays must be between 1 and 35")
            now = ctx.now()
            meta["ContinuousBackups"] = {"PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": days,
                                         "EarliestRestorableDateTime": now, "LatestRestorableDateTime": now}
        else:
            if "RecoveryPeriodInDays" in spec:
                raise invalid("Invalid Request: Cannot specify RecoveryPeriodInDays when disabling point-in-time "
                              "recovery.")
            meta["ContinuousBackups"] = {"PointInTimeRecoveryStatus": "DISABLED"}
        table = tables.save(table, meta)
        return {"ContinuousBackupsDescription": self._continuous(table)}

    def restore_table_to_point_in_time(self, ctx, req: dict) -> dict:
        if bool(req.get("UseLatestRestorableTime")) == ("RestoreDateTime" in req):
            raise invalid("Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must be "
                          "specified, but not both")
        if bool(req.get("SourceTableArn")) == bool(req.get("SourceTableName")):
            raise invalid("Invalid Request: Must provide exactly one of: sourceTableArn, sourceTableName")
        name = req.get("SourceTableName") or req["SourceTableArn"]
        table = self._tables(ctx).find(name)
        if table is None:
            raise _table_not_found(name)
        pitr = table.meta.get("ContinuousBackups") or {}
        if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
            raise AwsError("PointInTimeRecoveryUnavailableException",
                           f"Point in time recovery is not enabled for table '{table.name}'")
        if "RestoreDateTime" in req:
            when = req["RestoreDateTime"]
            when = when.timestamp() if hasattr(when, "timestamp") else float(when)
            if when < pitr["EarliestRestorableDateTime"] or when > ctx.now():
                raise AwsError("InvalidRestoreTimeException", "RestoreDateTime is not within the restorable range")
        # Haneul keeps no history: the restore copies the table as it is now
        items = [storage.load_item(r[0]) for r in
                 ctx.db.execute("SELECT item FROM ddb_item WHERE tid=? ORDER BY hk, rk", (table.id,))]
        return self._restore(ctx, table.meta, items, req["TargetTableName"], req,
                             {"SourceTableArn": table.meta["TableArn"]})

    # -- exports and imports ---------------------------------------------------------------------
    async def export_table_to_point_in_time(self, ctx, req: dict) -> dict:
        arn = req["TableArn"]
        with ctx.store.transaction() as db:
            ctx.db = db
            try:
                table = self._tables(ctx).find(arn)
                if table is None:
                    raise _table_not_found(arn.rsplit("/", 1)[-1])
                if (table.meta.get("ContinuousBackups") or {}).get("PointInTimeRecoveryStatus") != "ENABLED":
                    raise AwsError("PointInTimeRecoveryUnavailableException",
                                   f"Point in time recovery is not enabled for table '{table.name}'")
                if req.get("ExportType", "FULL_EXPORT") != "FULL_EXPORT":
                    raise invalid("Invalid Request: Haneul supports FULL_EXPORT only")
                if req.get("ExportFormat", "DYNAMODB_JSON") != "DYNAMODB_JSON":
                    raise invalid("Invalid Request: Haneul exports DYNAMODB_JSON only")
                rows = [storage.load_item(r[0]) for r in
                        db.execute("SELECT item FROM ddb_item WHERE tid=? ORDER BY hk, rk", (table.id,))]
                table_arn, table_id = table.meta["TableArn"], table.meta["TableId"]
            finally:
                ctx.db = None
        now = ctx.now()
        export_id = f"{int(now * 1000):017d}-{os.urandom(4).hex()}"
        export_arn = f"{table_arn}/export/{export_id}"
        prefix = (req.get("S3Prefix") or "").strip("/")
        base = f"{prefix}/AWSDynamoDB/{export_id}" if prefix else f"AWSDynamoDB/{export_id}"
        body = gzip.compress("".join(json.dumps({"Item": {k: _json_av(v) for k, v in item.items()}}) + "\n"
                                     for item in rows).encode())
        data_key = f"{base}/data/{hashlib.md5(body).hexdigest()[:26]}.json.gz"
        desc = {"ExportArn": export_arn, "ExportStatus": "COMPLETED", "StartTime": now, "EndTime": now,
                "ExportManifest": f"{base}/manifest-summary.json", "TableArn": table_arn, "TableId": table_id,
                "ExportTime": now, "ClientToken": req.get("ClientToken") or export_id, "S3Bucket": req["S3Bucket"],
                "S3Prefix": req.get("S3Prefix"), "S3SseAlgorithm": req.get("S3SseAlgorithm", "AES256"),
                "ExportFormat": "DYNAMODB_JSON", "BilledSizeBytes": len(body), "ItemCount": len(rows),
                "ExportType": "FULL_EXPORT"}
        if req.get("S3BucketOwner"):
            desc["S3BucketOwner"] = req["S3BucketOwner"]
        summary = {"version": "2020-06-30", "exportArn": export_arn, "startTime": now, "endTime": now,
                   "tableArn": table_arn, "tableId": table_id, "exportTime": now, "s3Bucket": req["S3Bucket"],
                   "s3Prefix": req.get("S3Prefix"), "s3SseAlgorithm": desc["S3SseAlgorithm"],
                   "manifestFilesS3Key": f"{base}/manifest-files.json", "billedSizeBytes": len(body),
                   "itemCount": len(rows), "outputFormat": "DYNAMODB_JSON", "exportType": "FULL_EXPORT"}
        files = json.dumps({"itemCount": len(rows), "md5Checksum": base64.b64encode(hashlib.md5(body).digest())
                            .decode(), "etag": hashlib.md5(body).hexdigest(), "dataFileS3Key": data_key})
        try:
            for key, content in ((data_key, body), (f"{base}/manifest-files.json", files.encode()),
                                 (f"{base}/manifest-summary.json", json.dumps(summary).encode())):
                await ctx.app.dispatcher.call(ctx, "s3", "PutObject",
                                              {"Bucket": req["S3Bucket"], "Key": key, "Body": content})
        except AwsError as e:
            desc.update(ExportStatus="FAILED", FailureCode=e.code, FailureMessage=e.message)
            desc.pop("ExportManifest", None)
        with ctx.store.transaction() as db:
            db.execute("INSERT INTO ddb_record(account, region, kind, arn, created, body) VALUES(?,?,?,?,?,?)",
                       (ctx.account, ctx.region, "export", export_arn, now, json.dumps(desc)))
        return {"ExportDescription": desc}

    def describe_export(self, ctx, req: dict) -> dict:
        row = ctx.db.execute("SELECT body FROM ddb_record WHERE account=? AND region=? AND kind='export' AND arn=?",
                             (ctx.account, ctx.region, req["ExportArn"])).fetchone()
        if row is None:
            raise AwsError("ExportNotFoundException", f"Export not found: {req['ExportArn']}")
        return {"ExportDescription": json.loads(row[0])}

    def list_exports(self, ctx, req: dict) -> dict:
        rows = [json.loads(r[0]) for r in ctx.db.execute(
            "SELECT body FROM ddb_record WHERE account=? AND region=? AND kind='export' ORDER BY created, arn",
            (ctx.account, ctx.region))]
        if req.get("TableArn"):
            rows = [r for r in rows if r["TableArn"] == req["TableArn"]]
        return {"ExportSummaries": [{"ExportArn": r["ExportArn"], "ExportStatus": r["ExportStatus"],
                                     "ExportType": r["ExportType"]} for r in rows]}

    def import_table(self, ctx, req: dict) -> dict:
        """A record of the import and the new table; the S3 objects are not read (yet)."""
        params = req["TableCreationParameters"]
        create = {k: v for k, v in params.items()}
        self.create_table(ctx, create)
        table = self._tables(ctx).get(params["TableName"])
        now = ctx.now()
        arn = f"{table.meta['TableArn']}/import/{int(now * 1000):017d}-{os.urandom(4).hex()}"
        desc = {"ImportArn": arn, "ImportStatus": "COMPLETED", "TableArn": table.meta["TableArn"],
                "TableId": table.meta["TableId"], "ClientToken": req.get("ClientToken") or arn.rsplit("/", 1)[-1],
                "S3BucketSource": req["S3BucketSource"], "ErrorCount": 0, "InputFormat": req["InputFormat"],
                "InputCompressionType": req.get("InputCompressionType", "NONE"), "TableCreationParameters": params,
                "StartTime": now, "EndTime": now, "ProcessedSizeBytes": 0, "ProcessedItemCount": 0,
                "ImportedItemCount": 0}
        if req.get("InputFormatOptions"):
            desc["InputFormatOptions"] = req["InputFormatOptions"]
        ctx.db.execute("INSERT INTO ddb_record(account, region, kind, arn, created, body) VALUES(?,?,?,?,?,?)",
                       (ctx.account, ctx.region, "import", arn, now, json.dumps(desc)))
        return {"ImportTableDescription": desc}

    def describe_import(self, ctx, req: dict) -> dict:
        row = ctx.db.execute("SELECT body FROM ddb_record WHERE account=? AND region=? AND kind='import' AND arn=?",
                             (ctx.account, ctx.region, req["ImportArn"])).fetchone()
        if row is None:
            raise AwsError("ImportNotFoundException", f"Import not found: {req['ImportArn']}")
        return {"ImportTableDescription": json.loads(row[0])}

    def list_imports(self, ctx, req: dict) -> dict:
        rows = [json.loads(r[0]) for r in ctx.db.execute(
            "SELECT body FROM ddb_record WHERE account=? AND region=? AND kind='import' ORDER BY created, arn",
            (ctx.account, ctx.region))]
        if req.get("TableArn"):
            rows = [r for r in rows if r["TableArn"] == req["TableArn"]]
        return {"ImportSummaryList": [{"ImportArn": r["ImportArn"], "ImportStatus": r["ImportStatus"],
                                       "TableArn": r["TableArn"], "S3BucketSource": r["S3BucketSource"],
                                       "InputFormat": r["InputFormat"], "StartTime": r["StartTime"],
                                       "EndTime": r["EndTime"]} for r in rows]}

    # -- resource policies -------------------------------------------------------------------------
    def _policy_table(self, ctx, resource_arn: str) -> Table:
        if not resource_arn.startswith("arn:"):
            raise invalid(f"One or more parameter values were invalid: ARNs must start with 'arn:': {resource_arn}")
        if ":dynamodb:" not in resource_arn:
            raise invalid("One or more parameter values were invalid: Provided Arn is not a DynamoDB resource arn: "
                          f"{resource_arn}")
        if "/index/" in resource_arn:
            raise invalid("One or more parameter values were invalid: Invalid resource arn provided, only table or "
                          f"stream is accepted. Provided resource arn: {resource_arn}")
        prefix = f"arn:aws:dynamodb:{ctx.region}:{ctx.account}:table/"
        if not resource_arn.startswith(prefix):
            raise invalid(f"One or more parameter values were invalid: Invalid resource Arn: {resource_arn}")
        table = self._tables(ctx).find(resource_arn[len(prefix):].split("/")[0])
        if table is None:
            raise AwsError("ResourceNotFoundException",
                           f"Requested resource not found: ResourceArn: {resource_arn} not found")
        return table

    def put_resource_policy(self, ctx, req: dict) -> dict:
        table = self._policy_table(ctx, req["ResourceArn"])
        policy = req["Policy"]
        if len(policy.encode()) > POLICY_LIMIT:
            raise invalid(f"One or more parameter values were invalid: Maximum policy size of {POLICY_LIMIT} bytes "
                          "exceeded")
        try:
            doc = json.loads(policy)
        except (ValueError, RecursionError):
            raise invalid("One or more parameter values were invalid: Invalid policy document: This policy contains "
                          "invalid Json") from None
        if not isinstance(doc, dict) or not doc.get("Statement"):
            raise invalid("One or more parameter values were invalid: Invalid policy document: Could not parse the "
                          "policy: Statement is empty!")
        current = table.meta.get("ResourcePolicy")
        expected = req.get("ExpectedRevisionId")
        if expected is not None and (current is None or current["RevisionId"] != expected):
            raise AwsError("PolicyNotFoundException",
                           "Resource-based policy not found for the provided ResourceArn: Requested update for "
                           f"policy revision id {expected}, but the policy associated to target table "
                           f"{table.name} has revision id {current['RevisionId'] if current else 'none'}.")
        meta = copy.deepcopy(table.meta)
        revision = str(int(ctx.now() * 1000) + (1 if current and current["RevisionId"] ==
                                                str(int(ctx.now() * 1000)) else 0))
        meta["ResourcePolicy"] = {"Policy": policy, "RevisionId": revision}
        self._tables(ctx).save(table, meta)
        return {"RevisionId": revision}

    def get_resource_policy(self, ctx, req: dict) -> dict:
        table = self._policy_table(ctx, req["ResourceArn"])
        current = table.meta.get("ResourcePolicy")
        if current is None:
            raise AwsError("PolicyNotFoundException", "Resource-based policy not found for the provided "
                           f"ResourceArn: {req['ResourceArn']}")
        return {"Policy": current["Policy"], "RevisionId": current["RevisionId"]}

    def delete_resource_policy(self, ctx, req: dict) -> dict:
        table = self._policy_table(ctx, req["ResourceArn"])
        current = table.meta.get("ResourcePolicy")
        if current is None:
            raise AwsError("PolicyNotFoundException", "Resource-based policy not found for the provided "
                           f"ResourceArn: {req['ResourceArn']}")
        expected = req.get("ExpectedRevisionId")
        if expected is not None and current["RevisionId"] != expected:
            raise AwsError("PolicyNotFoundException",
                           "Resource-based policy not found for the provided ResourceArn: Requested update for "
                           f"policy revision id {expected}, but the policy associated to target table "
                           f"{table.name} has revision id {current['RevisionId']}.")
        meta = copy.deepcopy(table.meta)
        meta.pop("ResourcePolicy")
        self._tables(ctx).save(table, meta)
        return {"RevisionId": current["RevisionId"]}

    # -- Kinesis streaming destinations (records) ----------------------------------------------------
    def _kinesis_table(self, ctx, name: str) -> Table:
        table = self._tables(ctx).find(name)
        if table is None:
            raise AwsError("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found")
        return table

    def enable_kinesis_streaming_destination(self, ctx, req: dict) -> dict:
        table = self._kinesis_table(ctx, req["TableName"])
        meta = copy.deepcopy(table.meta)
        dests = meta.setdefault("KinesisDestinations", [])
        found = next((d for d in dests if d["StreamArn"] == req["StreamArn"]), None)
        if found is not None and found["DestinationStatus"] == "ACTIVE":
            raise invalid("Table is not in a valid state to enable Kinesis Streaming Destination: "
                          "EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED to perform ENABLE "
                          "operation.")
        precision = (req.get("EnableKinesisStreamingConfiguration") or {}).get(
            "ApproximateCreationDateTimePrecision", "MILLISECOND")
        if found is None:
            found = {"StreamArn": req["StreamArn"]}
            dests.append(found)
        found.update(DestinationStatus="ACTIVE", ApproximateCreationDateTimePrecision=precision)
        self._tables(ctx).save(table, meta)
        out = {"TableName": table.name, "StreamArn": req["StreamArn"], "DestinationStatus": "ENABLING"}
        if req.get("EnableKinesisStreamingConfiguration"):
            out["EnableKinesisStreamingConfiguration"] = req["EnableKinesisStreamingConfiguration"]
        return out

    def disable_kinesis_streaming_destination(self, ctx, req: dict) -> dict:
        table = self._kinesis_table(ctx, req["TableName"])
        meta = copy.deepcopy(table.meta)
        found = next((d for d in meta.get("KinesisDestinations", []) if d["StreamArn"] == req["StreamArn"]), None)
        if found is None or found["DestinationStatus"] != "ACTIVE":
            raise invalid("Table is not in a valid state to enable Kinesis Streaming Destination: "
                          "KinesisStreamingDestination must be ACTIVE to perform DISABLE operation.")
        found["DestinationStatus"] = "DISABLED"
        self._tables(ctx).save(table, meta)
        return {"TableName": table.name, "StreamArn": req["StreamArn"], "DestinationStatus": "DISABLING"}

    def describe_kinesis_streaming_destination(self, ctx, req: dict) -> dict:
        table = self._kinesis_table(ctx, req["TableName"])
        return {"TableName": table.name, "KinesisDataStreamDestinations": table.meta.get("KinesisDestinations", [])}

    def update_kinesis_streaming_destination(self, ctx, req: dict) -> dict:
        table = self._kinesis_table(ctx, req["TableName"])
        meta = copy.deepcopy(table.meta)
        found = next((d for d in meta.get("KinesisDestinations", []) if d["StreamArn"] == req["StreamArn"]), None)
        if found is None or found["DestinationStatus"] != "ACTIVE":
            raise invalid("Table is not in a valid state to enable Kinesis Streaming Destination: Kinesis streaming "
                          "is not in ACTIVE state. Updates are only allowed in ACTIVE state. TableName: "
                          f"{table.name}, kdsArn: {req['StreamArn']}")
        config = req.get("UpdateKinesisStreamingConfiguration") or {}
        precision = config.get("ApproximateCreationDateTimePrecision")
        if precision is None:
            raise invalid("Streaming destination cannot be updated with given parameters: "
                          "UpdateKinesisStreamingConfiguration cannot be null or contain only null values")
        if precision == found.get("ApproximateCreationDateTimePrecision"):
            raise invalid(f"Invalid Request: Precision is already set to the desired value of {precision} for "
                          f"tableId: {meta['TableId']}, kdsArn: {req['StreamArn']}")
        found["ApproximateCreationDateTimePrecision"] = precision
        self._tables(ctx).save(table, meta)
        return {"TableName": table.name, "StreamArn": req["StreamArn"], "DestinationStatus": "UPDATING",
                "UpdateKinesisStreamingConfiguration": config}
