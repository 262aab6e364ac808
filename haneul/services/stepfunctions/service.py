"""AWS Step Functions: state machines, versions, aliases, activities, tags, validation and
TestState here; executions in executions.py; the engine in asl/."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

from haneul.errors import AwsError
from haneul.services.base import Service, decode_token, encode_token, from_epoch
from haneul.services.stepfunctions.asl import validation
from haneul.services.stepfunctions.asl.errors import DefinitionError
from haneul.services.stepfunctions.executions import ExecutionOps

_NAME = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")
_DEFAULT_LOGGING = {"level": "OFF", "includeExecutionData": False}


def _bad_token():
    return AwsError("InvalidToken", "Invalid Token: 'Invalid token'")


class StepFunctions(ExecutionOps, Service):
    NAMESPACE = "stepfunctions"
    VALIDATION_ERROR = "ValidationException"
    SCHEMA = [
        """CREATE TABLE sfn_machine (arn TEXT PRIMARY KEY, account TEXT, region TEXT, name TEXT, definition TEXT,
            role_arn TEXT, type TEXT, created REAL, updated REAL, logging TEXT, tracing TEXT, revision_id TEXT,
            description TEXT, encryption TEXT, next_version INTEGER DEFAULT 1);
        CREATE TABLE sfn_version (arn TEXT PRIMARY KEY, machine_arn TEXT, version INTEGER, definition TEXT,
            role_arn TEXT, description TEXT, created REAL, revision_id TEXT);
        CREATE TABLE sfn_alias (arn TEXT PRIMARY KEY, machine_arn TEXT, name TEXT, description TEXT,
            routing TEXT, created REAL, updated REAL);
        CREATE TABLE sfn_execution (arn TEXT PRIMARY KEY, account TEXT, region TEXT, machine_arn TEXT, name TEXT,
            status TEXT, input TEXT, output TEXT, error TEXT, cause TEXT, started REAL, stopped REAL, type TEXT,
            definition TEXT, role_arn TEXT, redrive_count INTEGER DEFAULT 0, redriven REAL, version_arn TEXT,
            alias_arn TEXT, checkpoint TEXT, last_checkpoint TEXT);
        CREATE INDEX sfn_execution_machine ON sfn_execution(machine_arn, started);
        CREATE INDEX sfn_execution_status ON sfn_execution(status);
        CREATE TABLE sfn_event (execution_arn TEXT, id INTEGER, body TEXT, PRIMARY KEY(execution_arn, id));
        CREATE TABLE sfn_activity (arn TEXT PRIMARY KEY, account TEXT, region TEXT, name TEXT, created REAL,
            encryption TEXT);
        CREATE TABLE sfn_map_run (arn TEXT PRIMARY KEY, execution_arn TEXT, status TEXT, started REAL, stopped REAL,
            max_concurrency INTEGER, tolerated_count INTEGER, tolerated_pct REAL, total INTEGER, failed INTEGER);
        CREATE TABLE sfn_tag (arn TEXT, key TEXT, value TEXT, PRIMARY KEY(arn, key))""",
        # distributed Map children are executions of their own; a Map Run keeps its counts by status
        """ALTER TABLE sfn_execution ADD COLUMN map_run_arn TEXT;
        CREATE INDEX sfn_execution_map_run ON sfn_execution(map_run_arn, started);
        ALTER TABLE sfn_map_run ADD COLUMN counts TEXT""",
        # ItemBatcher: items and child executions are counted apart; a failed run keeps its
        # children for a redrive, which it counts and dates
        """ALTER TABLE sfn_execution ADD COLUMN item_count INTEGER;
        ALTER TABLE sfn_map_run ADD COLUMN state_name TEXT;
        ALTER TABLE sfn_map_run ADD COLUMN item_total INTEGER;
        ALTER TABLE sfn_map_run ADD COLUMN item_counts TEXT;
        ALTER TABLE sfn_map_run ADD COLUMN results_written INTEGER DEFAULT 0;
        ALTER TABLE sfn_map_run ADD COLUMN redrive_count INTEGER DEFAULT 0;
        ALTER TABLE sfn_map_run ADD COLUMN redriven REAL;
        ALTER TABLE sfn_map_run ADD COLUMN pending_redrive INTEGER DEFAULT 0;
        ALTER TABLE sfn_map_run ADD COLUMN children TEXT""",
    ]

    # -- state machines -----------------------------------------------------------------------------
    def _machine(self, ctx, arn: str):
        row = ctx.db.execute("SELECT * FROM sfn_machine WHERE arn=? AND account=?", (arn, ctx.account)).fetchone()
        if row is None:
            if len(arn.split(":")) < 7 or arn.split(":")[5] != "stateMachine":
                raise AwsError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
            raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return row

    @staticmethod
    def _check_definition(text: str, machine_type: str) -> None:
        try:
            validation.check(text, machine_type)
        except DefinitionError as err:
            raise AwsError("InvalidDefinition", err.message) from None

    def create_state_machine(self, ctx, request):
        name = request["name"]
        if not _NAME.match(name):
            raise AwsError("InvalidName", f"Invalid Name: '{name}'")
        kind = request.get("type", "STANDARD")
        self._check_definition(request["definition"], kind)
        arn = f"arn:aws:states:{ctx.region}:{ctx.account}:stateMachine:{name}"
        now = ctx.now()
        logging = json.dumps(request.get("loggingConfiguration") or _DEFAULT_LOGGING)
        tracing = json.dumps(request.get("tracingConfiguration") or {"enabled": False})
        old = ctx.db.execute("SELECT * FROM sfn_machine WHERE arn=?", (arn,)).fetchone()
        if old is not None:
            if (old["definition"], old["role_arn"], old["type"]) == (request["definition"], request["roleArn"], kind):
                return {"stateMachineArn": arn, "creationDate": from_epoch(old["created"])}
            raise AwsError("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
        ctx.db.execute("INSERT INTO sfn_machine(arn, account, region, name, definition, role_arn, type, created, "
                       "updated, logging, tracing, revision_id, description, encryption) "
                       "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (arn, ctx.account, ctx.region, name, request["definition"], request["roleArn"], kind, now,
                        now, logging, tracing, str(uuid.uuid4()), None,
                        json.dumps(request.get("encryptionConfiguration") or {"type": "AWS_OWNED_KEY"})))
        self._set_tags(ctx, arn, request.get("tags") or [])
        out = {"stateMachineArn": arn, "creationDate": from_epoch(now)}
        if request.get("publish"):
            out["stateMachineVersionArn"] = self._publish(ctx, arn, request.get("versionDescription"))
        return out

    def describe_state_machine(self, ctx, request):
        arn = request["stateMachineArn"]
        parts = arn.split(":")
        if len(parts) == 8:
            machine, definition, role, version_arn, _ = self._resolve_target(ctx, arn)
            ver = ctx.db.execute("SELECT * FROM sfn_version WHERE arn=?", (version_arn,)).fetchone()
            out = self._describe(machine)
            out.update(stateMachineArn=arn, definition=definition, roleArn=role,
                       creationDate=from_epoch(ver["created"]), revisionId=ver["revision_id"])
            if ver["description"]:
                out["description"] = ver["description"]
            return out
        return self._describe(self._machine(ctx, arn))

    @staticmethod
    def _describe(m) -> dict:
        return {"stateMachineArn": m["arn"], "name": m["name"], "status": "ACTIVE", "definition": m["definition"],
                "roleArn": m["role_arn"], "type": m["type"], "creationDate": from_epoch(m["created"]),
                "loggingConfiguration": json.loads(m["logging"]), "tracingConfiguration": json.loads(m["tracing"]),
                "revisionId": m["revision_id"], "encryptionConfiguration": json.loads(m["encryption"])}

    def update_state_machine(self, ctx, request):
        m = self._machine(ctx, request["stateMachineArn"])
        fields = {}
        if "definition" in request:
            self._check_definition(request["definition"], m["type"])
            fields["definition"] = request["definition"]
        if "roleArn" in request:
            fields["role_arn"] = request["roleArn"]
        if "loggingConfiguration" in request:
            fields["logging"] = json.dumps(request["loggingConfiguration"])
        if "tracingConfiguration" in request:
            fields["tracing"] = json.dumps(request["tracingConfiguration"])
        if not fields and not request.get("publish"):
            raise AwsError("MissingRequiredParameter", "Either the definition, the roleArn, the "
                           "loggingConfiguration or the tracingConfiguration must be specified", status=400)
        now = ctx.now()
        revision = str(uuid.uuid4()) if fields else m["revision_id"]
        fields.update(updated=now, revision_id=revision)
        ctx.db.execute(f"UPDATE sfn_machine SET {', '.join(k + '=?' for k in fields)} WHERE arn=?",
                       (*fields.values(), m["arn"]))
        out = {"updateDate": from_epoch(now), "revisionId": revision}
        if request.get("publish"):
            out["stateMachineVersionArn"] = self._publish(ctx, m["arn"], request.get("versionDescription"))
        return out

    def delete_state_machine(self, ctx, request):
        arn = request["stateMachineArn"]
        if len(arn.split(":")) < 7:
            raise AwsError("InvalidArn", f"Invalid Arn: '{arn}'")
        for table, col in (("sfn_machine", "arn"), ("sfn_version", "machine_arn"), ("sfn_alias", "machine_arn")):
            ctx.db.execute(f"DELETE FROM {table} WHERE {col}=?", (arn,))
        ctx.db.execute("DELETE FROM sfn_tag WHERE arn=?", (arn,))
        return {}

    def list_state_machines(self, ctx, request):
        rows = ctx.db.execute("SELECT * FROM sfn_machine WHERE account=? AND region=? ORDER BY name",
                              (ctx.account, ctx.region)).fetchall()
        items = [{"stateMachineArn": r["arn"], "name": r["name"], "type": r["type"],
                  "creationDate": from_epoch(r["created"])} for r in rows]
        return self._page(items, request, "stateMachines")

    @staticmethod
    def _page(items, request, key):
        start = int(decode_token(request["nextToken"], _bad_token)) if request.get("nextToken") else 0
        limit = request.get("maxResults") or 100
        out = {key: items[start:start + limit]}
        if start + limit < len(items):
            out["nextToken"] = encode_token(start + limit)
        return out

    def validate_state_machine_definition(self, ctx, request):
        diags = validation.diagnose(request["definition"], request.get("type", "STANDARD"))
        limit = request.get("maxResults") or 100
        return {"result": "FAIL" if diags else "OK", "diagnostics": diags[:limit], "truncated": len(diags) > limit}

    # -- versions and aliases ---------------------------------------------------------------------
    def _publish(self, ctx, arn: str, description: str | None) -> str:
        m = self._machine(ctx, arn)
        latest = ctx.db.execute("SELECT * FROM sfn_version WHERE machine_arn=? ORDER BY version DESC LIMIT 1",
                                (arn,)).fetchone()
        if latest is not None and latest["revision_id"] == m["revision_id"]:
            return latest["arn"]
        version = m["next_version"]
        varn = f"{arn}:{version}"
        ctx.db.execute("INSERT INTO sfn_version VALUES(?,?,?,?,?,?,?,?)",
                       (varn, arn, version, m["definition"], m["role_arn"], description, ctx.now(), m["revision_id"]))
        ctx.db.execute("UPDATE sfn_machine SET next_version=? WHERE arn=?", (version + 1, arn))
        return varn

    def publish_state_machine_version(self, ctx, request):
        m = self._machine(ctx, request["stateMachineArn"])
        if request.get("revisionId") and request["revisionId"] != m["revision_id"]:
            raise AwsError("ConflictException", "The revisionId does not match the current revision")
        varn = self._publish(ctx, m["arn"], request.get("description"))
        ver = ctx.db.execute("SELECT created FROM sfn_version WHERE arn=?", (varn,)).fetchone()
        return {"creationDate": from_epoch(ver["created"]), "stateMachineVersionArn": varn}

    def list_state_machine_versions(self, ctx, request):
        self._machine(ctx, request["stateMachineArn"])
        rows = ctx.db.execute("SELECT * FROM sfn_version WHERE machine_arn=? ORDER BY version DESC",
                              (request["stateMachineArn"],)).fetchall()
        items = [{"stateMachineVersionArn": r["arn"], "creationDate": from_epoch(r["created"])} for r in rows]
        return self._page(items, request, "stateMachineVersions")

    def delete_state_machine_version(self, ctx, request):
        arn = request["stateMachineVersionArn"]
        for alias in ctx.db.execute("SELECT routing FROM sfn_alias").fetchall():
            if any(r["stateMachineVersionArn"] == arn for r in json.loads(alias["routing"])):
                raise AwsError("ConflictException", f"Version {arn} is referenced by an alias")
        ctx.db.execute("DELETE FROM sfn_version WHERE arn=?", (arn,))
        return {}

    def _check_routing(self, ctx, routing: list) -> None:
        if not 1 <= len(routing) <= 2 or sum(r["weight"] for r in routing) != 100:
            raise AwsError("ValidationException", "Routing configuration weights must add up to 100")
        for r in routing:
            if ctx.db.execute("SELECT 1 FROM sfn_version WHERE arn=?", (r["stateMachineVersionArn"],)).fetchone() is None:
                raise AwsError("ResourceNotFound", f"Resource not found: '{r['stateMachineVersionArn']}'")

    def create_state_machine_alias(self, ctx, request):
        routing = request["routingConfiguration"]
        self._check_routing(ctx, routing)
        machine_arn = ":".join(routing[0]["stateMachineVersionArn"].split(":")[:7])
        arn = f"{machine_arn}:{request['name']}"
        if ctx.db.execute("SELECT 1 FROM sfn_alias WHERE arn=?", (arn,)).fetchone():
            raise AwsError("ConflictException", f"Alias {arn} already exists")
        now = ctx.now()
        ctx.db.execute("INSERT INTO sfn_alias VALUES(?,?,?,?,?,?,?)", (arn, machine_arn, request["name"],
                       request.get("description"), json.dumps(routing), now, now))
        return {"stateMachineAliasArn": arn, "creationDate": from_epoch(now)}

    def _alias(self, ctx, arn):
        row = ctx.db.execute("SELECT * FROM sfn_alias WHERE arn=?", (arn,)).fetchone()
        if row is None:
            raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'")
        return row

    def describe_state_machine_alias(self, ctx, request):
        a = self._alias(ctx, request["stateMachineAliasArn"])
        out = {"stateMachineAliasArn": a["arn"], "name": a["name"], "routingConfiguration": json.loads(a["routing"]),
               "creationDate": from_epoch(a["created"]), "updateDate": from_epoch(a["updated"])}
        if a["description"]:
            out["description"] = a["description"]
        return out

    def update_state_machine_alias(self, ctx, request):
        a = self._alias(ctx, request["stateMachineAliasArn"])
        routing = request.get("routingConfiguration")
        if routing is not None:
            self._check_routing(ctx, routing)
        now = ctx.now()
        ctx.db.execute("UPDATE sfn_alias SET routing=?, description=?, updated=? WHERE arn=?",
                       (json.dumps(routing) if routing else a["routing"],
                        request.get("description", a["description"]), now, a["arn"]))
        return {"updateDate": from_epoch(now)}

    def delete_state_machine_alias(self, ctx, request):
        ctx.db.execute("DELETE FROM sfn_alias WHERE arn=?", (request["stateMachineAliasArn"],))
        return {}

    def list_state_machine_aliases(self, ctx, request):
        self._machine(ctx, request["stateMachineArn"])
        rows = ctx.db.execute("SELECT * FROM sfn_alias WHERE machine_arn=? ORDER BY name",
                              (request["stateMachineArn"],)).fetchall()
        items = [{"stateMachineAliasArn": r["arn"], "creationDate": from_epoch(r["created"])} for r in rows]
        return self._page(items, request, "stateMachineAliases")

    # -- activities ----------------------------------------------------------------------------------
    def create_activity(self, ctx, request):
        name = request["name"]
        if not _NAME.match(name):
            raise AwsError("InvalidName", f"Invalid Name: '{name}'")
        arn = f"arn:aws:states:{ctx.region}:{ctx.account}:activity:{name}"
        row = ctx.db.execute("SELECT created FROM sfn_activity WHERE arn=?", (arn,)).fetchone()
        if row is None:
            ctx.db.execute("INSERT INTO sfn_activity VALUES(?,?,?,?,?,?)",
                           (arn, ctx.account, ctx.region, name, ctx.now(),
                            json.dumps(request.get("encryptionConfiguration") or {"type": "AWS_OWNED_KEY"})))
            self._set_tags(ctx, arn, request.get("tags") or [])
            created = ctx.now()
        else:
            created = row["created"]
        return {"activityArn": arn, "creationDate": from_epoch(created)}

    def describe_activity(self, ctx, request):
        row = ctx.db.execute("SELECT * FROM sfn_activity WHERE arn=?", (request["activityArn"],)).fetchone()
        if row is None:
            raise AwsError("ActivityDoesNotExist", f"Activity Does Not Exist: '{request['activityArn']}'")
        return {"activityArn": row["arn"], "name": row["name"], "creationDate": from_epoch(row["created"]),
                "encryptionConfiguration": json.loads(row["encryption"])}

    def delete_activity(self, ctx, request):
        ctx.db.execute("DELETE FROM sfn_activity WHERE arn=?", (request["activityArn"],))
        return {}

    def list_activities(self, ctx, request):
        rows = ctx.db.execute("SELECT * FROM sfn_activity WHERE account=? AND region=? ORDER BY name",
                              (ctx.account, ctx.region)).fetchall()
        items = [{"activityArn": r["arn"], "name": r["name"], "creationDate": from_epoch(r["created"])} for r in rows]
        return self._page(items, request, "activities")

    # -- tags -------------------------------------------------------------------------------------------
    def _set_tags(self, ctx, arn, tags):
        for t in tags:
            ctx.db.execute("INSERT OR REPLACE INTO sfn_tag VALUES(?,?,?)", (arn, t["key"], t.get("value", "")))

    def _check_resource(self, ctx, arn):
        for table in ("sfn_machine", "sfn_activity"):
            if ctx.db.execute(f"SELECT 1 FROM {table} WHERE arn=?", (arn,)).fetchone():
                return
        raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'")

    def tag_resource(self, ctx, request):
        self._check_resource(ctx, request["resourceArn"])
        self._set_tags(ctx, request["resourceArn"], request["tags"])
        return {}

    def untag_resource(self, ctx, request):
        self._check_resource(ctx, request["resourceArn"])
        for key in request["tagKeys"]:
            ctx.db.execute("DELETE FROM sfn_tag WHERE arn=? AND key=?", (request["resourceArn"], key))
        return {}

    def list_tags_for_resource(self, ctx, request):
        self._check_resource(ctx, request["resourceArn"])
        rows = ctx.db.execute("SELECT key, value FROM sfn_tag WHERE arn=? ORDER BY key", (request["resourceArn"],))
        return {"tags": [{"key": k, "value": v} for k, v in rows]}

    # -- TestState ----------------------------------------------------------------------------------
    async def test_state(self, ctx, request):
        from haneul.services.stepfunctions.teststate import run_test_state
        return await run_test_state(ctx, request)


__all__ = ["StepFunctions", "asyncio"]
