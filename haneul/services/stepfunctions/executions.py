"""Execution operations: start (async and sync), describe, list, stop, history, redrive,
Map Runs, callbacks and activity tasks."""

from __future__ import annotations

import asyncio
import json

from haneul.dispatch import request_id     # a random (version 4) UUID, cheaply
from haneul.errors import AwsError
from haneul.services.base import decode_token, encode_token, from_epoch
from haneul.services.stepfunctions import integrations, runner
from haneul.services.stepfunctions.asl.errors import StatesError
from haneul.services.stepfunctions.asl.payload import compact_ascii

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def _bad_token():
    return AwsError("InvalidToken", "Invalid Token: 'Invalid token'")


def _parse_input(text: str | None):
    try:
        return json.loads(text if text is not None else "{}")
    except (ValueError, RecursionError):      # RecursionError: nesting deeper than the parser's stack
        raise AwsError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{text}'") from None


# definition text -> its parsed program: a machine version is parsed once, not per execution
# (the engine only reads a program; a state's output that holds part of it is copied before
# it is changed, as ResultPath does)
_PROGRAMS: dict[str, dict] = {}


def program(definition: str) -> dict:
    found = _PROGRAMS.get(definition)
    if found is None:
        if len(_PROGRAMS) >= 256:
            _PROGRAMS.clear()
        found = _PROGRAMS[definition] = json.loads(definition)
    return found


class ExecutionOps:
    def _resolve_target(self, ctx, arn: str):
        """A machine, version (`:n`) or alias (`:name`) ARN -> (machine row, definition, version, alias)."""
        parts = arn.split(":")
        if len(parts) < 7 or parts[5] != "stateMachine":
            raise AwsError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
        base = ":".join(parts[:7])
        machine = self._machine(ctx, base)
        if len(parts) == 8:
            qualifier = parts[7]
            if qualifier.isdigit():
                ver = ctx.db.execute("SELECT * FROM sfn_version WHERE arn=?", (arn,)).fetchone()
                if ver is None:
                    raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
                return machine, ver["definition"], ver["role_arn"], arn, None
            alias = ctx.db.execute("SELECT * FROM sfn_alias WHERE arn=?", (arn,)).fetchone()
            if alias is None:
                raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'")
            import random
            routes = json.loads(alias["routing"])
            pick = random.uniform(0, 100)
            acc = 0
            chosen = routes[0]["stateMachineVersionArn"]
            for r in routes:
                acc += r["weight"]
                if pick <= acc:
                    chosen = r["stateMachineVersionArn"]
                    break
            ver = ctx.db.execute("SELECT * FROM sfn_version WHERE arn=?", (chosen,)).fetchone()
            return machine, ver["definition"], ver["role_arn"], chosen, arn
        return machine, machine["definition"], machine["role_arn"], None, None

    def _new_execution(self, ctx, request, sync: bool):
        machine, definition, role, version_arn, alias_arn = self._resolve_target(ctx, request["stateMachineArn"])
        if sync and machine["type"] != "EXPRESS":
            raise AwsError("StateMachineTypeNotSupported",
                           "This operation is not supported by this type of state machine")
        name = request.get("name") or request_id()
        input_text = request.get("input", "{}")
        input_ = _parse_input(input_text)
        kind = "express" if machine["type"] == "EXPRESS" else "execution"
        arn = f"arn:aws:states:{ctx.region}:{ctx.account}:{kind}:{machine['name']}:{name}"
        if kind == "express":
            arn += f":{request_id()}" if not request.get("name") else ""
        row = {"arn": arn, "account": ctx.account, "region": ctx.region, "machine_arn": machine["arn"],
               "name": name, "status": "RUNNING", "input": input_text, "started": ctx.now(),
               "type": machine["type"], "definition": definition, "role_arn": role, "redrive_count": 0,
               "version_arn": version_arn, "alias_arn": alias_arn}
        return row, program(definition), input_

    def start_execution(self, ctx, request):
        row, definition, input_ = self._new_execution(ctx, request, sync=False)
        if row["type"] == "STANDARD":
            old = ctx.db.execute("SELECT status, input FROM sfn_execution WHERE arn=?", (row["arn"],)).fetchone()
            if old is not None:
                if old["status"] == "RUNNING" and old["input"] == row["input"]:
                    return {"executionArn": row["arn"], "startDate": from_epoch(ctx.now())}
                raise AwsError("ExecutionAlreadyExists", f"Execution Already Exists: '{row['arn']}'")
            ctx.db.execute(
                "INSERT INTO sfn_execution(arn, account, region, machine_arn, name, status, input, started, type, "
                "definition, role_arn, redrive_count, version_arn, alias_arn) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                tuple(row[k] for k in ("arn", "account", "region", "machine_arn", "name", "status", "input",
                                       "started", "type", "definition", "role_arn", "redrive_count",
                                       "version_arn", "alias_arn")))
        from haneul.context import RequestContext
        bg = RequestContext(account=ctx.account, region=ctx.region, store=ctx.store, app=ctx.app,
                            principal=ctx.principal, clock=ctx.clock)
        # start after this request's transaction commits
        asyncio.get_running_loop().call_soon(
            runner.start_background, bg, row, definition, input_, row["type"] == "STANDARD")
        return {"executionArn": row["arn"], "startDate": from_epoch(row["started"])}

    async def start_sync_execution(self, ctx, request):
        with ctx.store.transaction() as db:
            ctx.db = db
            try:
                row, definition, input_ = self._new_execution(ctx, request, sync=True)
            finally:
                ctx.db = None
        outcome = await runner.execute(ctx, row, definition, input_, persist=False)
        stopped = ctx.now()
        out = {"executionArn": row["arn"], "stateMachineArn": row["machine_arn"], "name": row["name"],
               "startDate": from_epoch(row["started"]), "stopDate": from_epoch(stopped),
               "status": outcome.status, "input": row["input"], "inputDetails": {"included": True},
               "billingDetails": {"billedMemoryUsedInMB": 64,
                                  "billedDurationInMilliseconds": max(100, int((stopped - row["started"]) * 1000))}}
        if outcome.status == "SUCCEEDED":
            out["output"] = compact_ascii(outcome.output)
            out["outputDetails"] = {"included": True}
        else:
            if outcome.error is not None:
                out["error"] = outcome.error
            if outcome.cause is not None:
                out["cause"] = outcome.cause
        return out

    def _execution(self, ctx, arn: str):
        row = ctx.db.execute("SELECT * FROM sfn_execution WHERE arn=? AND account=?", (arn, ctx.account)).fetchone()
        if row is None:
            if ":execution:" not in arn and ":express:" not in arn:
                raise AwsError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
            raise AwsError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return row

    def describe_execution(self, ctx, request):
        row = self._execution(ctx, request["executionArn"])
        out = {"executionArn": row["arn"], "stateMachineArn": row["machine_arn"], "name": row["name"],
               "status": row["status"], "startDate": from_epoch(row["started"]), "input": row["input"],
               "inputDetails": {"included": True}, "redriveCount": row["redrive_count"]}
        if row["stopped"] is not None:
            out["stopDate"] = from_epoch(row["stopped"])
        if row["output"] is not None:
            out["output"] = json.dumps(json.loads(row["output"]), separators=(",", ":"))
            out["outputDetails"] = {"included": True}
        for key, col in (("error", "error"), ("cause", "cause"), ("stateMachineVersionArn", "version_arn"),
                         ("stateMachineAliasArn", "alias_arn"), ("mapRunArn", "map_run_arn")):
            if row[col] is not None:
                out[key] = row[col]
        if row["redriven"] is not None:
            out["redriveDate"] = from_epoch(row["redriven"])
        if row["status"] in ("FAILED", "TIMED_OUT", "ABORTED"):   # a Map Run's child is redriven with its run
            out["redriveStatus"] = "REDRIVABLE_BY_MAP_RUN" if row["map_run_arn"] else "REDRIVABLE"
        else:
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = f"Execution is {row['status']} and cannot be redriven"
        return out

    def describe_state_machine_for_execution(self, ctx, request):
        row = self._execution(ctx, request["executionArn"])
        if row["map_run_arn"]:          # a Map Run's child runs the Map state's item processor
            machine, _, label = row["machine_arn"].split(":")[6].partition("/")
            return {"stateMachineArn": row["machine_arn"], "name": machine, "label": label,
                    "definition": row["definition"], "roleArn": row["role_arn"],
                    "updateDate": from_epoch(row["started"]), "mapRunArn": row["map_run_arn"]}
        machine = self._machine(ctx, row["machine_arn"])
        return {"stateMachineArn": machine["arn"], "name": machine["name"], "definition": row["definition"],
                "roleArn": row["role_arn"], "updateDate": from_epoch(machine["updated"]),
                "loggingConfiguration": json.loads(machine["logging"]), "revisionId": machine["revision_id"],
                "tracingConfiguration": json.loads(machine["tracing"])}

    def list_executions(self, ctx, request):
        arn = request.get("stateMachineArn")
        if arn:
            machine = self._machine(ctx, ":".join(arn.split(":")[:7]))
            if machine["type"] == "EXPRESS":
                raise AwsError("StateMachineTypeNotSupported",
                               "This operation is not supported by this type of state machine")
            sql, args = "SELECT * FROM sfn_execution WHERE machine_arn=?", [machine["arn"]]
            if len(arn.split(":")) == 8:
                sql += " AND (version_arn=? OR alias_arn=?)"
                args += [arn, arn]
        elif request.get("mapRunArn"):
            self._map_run(ctx, request["mapRunArn"])
            sql, args = "SELECT * FROM sfn_execution WHERE map_run_arn=?", [request["mapRunArn"]]
        else:
            raise AwsError("ValidationException", "Must provide a StateMachine ARN or MapRun ARN")
        if request.get("statusFilter"):
            sql += " AND status=?"
            args.append(request["statusFilter"])
        rows = ctx.db.execute(sql + " ORDER BY started DESC, arn", args).fetchall()
        start = int(decode_token(request["nextToken"], _bad_token)) if request.get("nextToken") else 0
        limit = request.get("maxResults") or 100
        page = rows[start:start + limit]
        out = {"executions": [_summary(r, with_items=bool(request.get("mapRunArn"))) for r in page]}
        if start + limit < len(rows):
            out["nextToken"] = encode_token(start + limit)
        return out

    async def stop_execution(self, ctx, request):
        arn = request["executionArn"]
        with ctx.store.transaction() as db:
            ctx.db = db
            try:
                row = self._execution(ctx, arn)
            finally:
                ctx.db = None
        if row["status"] != "RUNNING":
            return {"stopDate": from_epoch(row["stopped"] or ctx.now())}
        error, cause = request.get("error"), request.get("cause")
        task = runner.RUNNING.get(arn)
        runner.stop(arn, error, cause)
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), 5)
            except BaseException:
                pass
        now = ctx.now()
        runner.abort(ctx, arn, error, cause)
        return {"stopDate": from_epoch(now)}

    def get_execution_history(self, ctx, request):
        row = self._execution(ctx, request["executionArn"])
        events = [json.loads(r[0]) for r in ctx.db.execute(
            "SELECT body FROM sfn_event WHERE execution_arn=? ORDER BY id", (row["arn"],))]
        if request.get("reverseOrder"):
            events.reverse()
        include = request.get("includeExecutionData", True)
        start = int(decode_token(request["nextToken"], _bad_token)) if request.get("nextToken") else 0
        limit = request.get("maxResults") or 1000
        page = events[start:start + limit]
        out_events = []
        for e in page:
            e = dict(e, timestamp=from_epoch(e["timestamp"]))
            if not include:
                for key, details in list(e.items()):
                    if key.endswith("EventDetails") and isinstance(details, dict):
                        e[key] = {k: v for k, v in details.items() if k not in ("input", "output")}
            out_events.append(e)
        out = {"events": out_events}
        if start + limit < len(events):
            out["nextToken"] = encode_token(start + limit)
        return out

    def redrive_execution(self, ctx, request):
        row = self._execution(ctx, request["executionArn"])
        if row["status"] not in ("FAILED", "TIMED_OUT", "ABORTED") or row["type"] != "STANDARD":
            raise AwsError("ExecutionNotRedrivable", f"Execution is RUNNING and cannot be redriven: {row['arn']}"
                           if row["status"] == "RUNNING" else f"Execution is {row['status']} and cannot be redriven")
        if not row["last_checkpoint"]:
            raise AwsError("ExecutionNotRedrivable", "Execution has no state to redrive from")
        now = ctx.now()
        new_row, resume, events = runner.redrive_row(ctx.db, row, now)
        from haneul.context import RequestContext
        bg = RequestContext(account=ctx.account, region=ctx.region, store=ctx.store, app=ctx.app, clock=ctx.clock)
        asyncio.get_running_loop().call_soon(runner.start_background, bg, new_row, json.loads(row["definition"]),
                                             json.loads(row["input"]), True, resume, events)
        return {"redriveDate": from_epoch(now)}

    # -- map runs -----------------------------------------------------------------------------------
    def list_map_runs(self, ctx, request):
        row = self._execution(ctx, request["executionArn"])
        runs = ctx.db.execute("SELECT * FROM sfn_map_run WHERE execution_arn=? ORDER BY started", (row["arn"],))
        return {"mapRuns": [{"executionArn": r["execution_arn"], "mapRunArn": r["arn"],
                             "stateMachineArn": row["machine_arn"], "startDate": from_epoch(r["started"]),
                             **({"stopDate": from_epoch(r["stopped"])} if r["stopped"] is not None else {})}
                            for r in runs]}

    def _map_run(self, ctx, arn):
        parts = arn.split(":")
        if len(parts) < 7 or parts[5] != "mapRun":      # malformed: worded as ListMapRuns words it
            raise AwsError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
        r = ctx.db.execute("SELECT * FROM sfn_map_run WHERE arn=?", (arn,)).fetchone()
        if r is None or parts[4] != ctx.account:
            raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'")
        return r

    def describe_map_run(self, ctx, request):
        r = self._map_run(ctx, request["mapRunArn"])
        executions = json.loads(r["counts"] or "{}")
        items = json.loads(r["item_counts"]) if r["item_counts"] else dict(executions)
        item_total = r["item_total"] if r["item_total"] is not None else r["total"]
        # children waiting to be redriven: counted when the redrive starts (EXPRESS), 0 once it ends
        waiting = {"executions": r["pending_redrive"] or 0, "items": r["pending_redrive"] or 0}
        if r["status"] == "RUNNING":      # STANDARD children's rows say how far the run is, live
            kept = ctx.db.execute("SELECT status, COUNT(*), SUM(COALESCE(item_count, 1)) FROM sfn_execution "
                                  "WHERE map_run_arn=? GROUP BY status", (r["arn"],)).fetchall()
            if kept:
                executions = {status: n for status, n, _ in kept}
                items = {status: n for status, _, n in kept}
                executions["PENDING"] = r["total"] - sum(executions.values())
                items["PENDING"] = item_total - sum(items.values())
                if r["redrive_count"]:    # a redriven child's row is RUNNING again once it restarts
                    waiting = {key: sum(counts.get(s, 0) for s in ("FAILED", "TIMED_OUT", "ABORTED"))
                               for key, counts in (("executions", executions), ("items", items))}
        written = r["results_written"] or 0
        out = {"mapRunArn": r["arn"], "executionArn": r["execution_arn"], "status": r["status"],
               "startDate": from_epoch(r["started"]), "maxConcurrency": r["max_concurrency"] or 0,
               "toleratedFailurePercentage": r["tolerated_pct"] or 0,
               "toleratedFailureCount": r["tolerated_count"] or 0,
               "itemCounts": _run_counts(items, item_total, written, waiting["items"]),
               "executionCounts": _run_counts(executions, r["total"],
                                              sum(n for k, n in executions.items() if k != "PENDING") if written
                                              else 0, waiting["executions"]),
               "redriveCount": r["redrive_count"] or 0}
        if r["stopped"] is not None:
            out["stopDate"] = from_epoch(r["stopped"])
        if r["redriven"] is not None:
            out["redriveDate"] = from_epoch(r["redriven"])
        return out

    def update_map_run(self, ctx, request):
        r = self._map_run(ctx, request["mapRunArn"])
        changes = {}
        for key, col in (("maxConcurrency", "max_concurrency"), ("toleratedFailurePercentage", "tolerated_pct"),
                         ("toleratedFailureCount", "tolerated_count")):
            if key in request:
                ctx.db.execute(f"UPDATE sfn_map_run SET {col}=? WHERE arn=?", (request[key], r["arn"]))
                changes[col] = request[key]
        watcher = runner.MAP_RUN_WATCHERS.get(r["arn"])
        if watcher is not None and changes:      # a running run takes the new values once this commits
            asyncio.get_running_loop().call_soon(watcher, changes)
        return {}

    # -- callbacks and activities ------------------------------------------------------------------
    def send_task_success(self, ctx, request):
        try:
            output = json.loads(request["output"])
        except (ValueError, RecursionError):
            raise AwsError("InvalidOutput", f"Invalid Output: '{request['output']}'", status=400) from None
        if not integrations.complete_token(request["taskToken"], output):
            raise AwsError("TaskDoesNotExist", "Task Does Not Exist")
        return {}

    def send_task_failure(self, ctx, request):
        err = StatesError(request.get("error"), request.get("cause"))
        if not integrations.complete_token(request["taskToken"], error=err):
            raise AwsError("TaskDoesNotExist", "Task Does Not Exist")
        return {}

    def send_task_heartbeat(self, ctx, request):
        if not integrations.heartbeat(request["taskToken"]):
            raise AwsError("TaskDoesNotExist", "Task Does Not Exist")
        return {}

    async def get_activity_task(self, ctx, request):
        arn = request["activityArn"]
        with ctx.store.transaction() as db:
            if db.execute("SELECT 1 FROM sfn_activity WHERE arn=?", (arn,)).fetchone() is None:
                raise AwsError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
        queue = runner.activity_queue(arn)
        try:
            token, params = await asyncio.wait_for(queue.get(), timeout=60)
        except asyncio.TimeoutError:
            return {}
        waiter = runner.TOKENS.get(token)
        if waiter is not None and waiter.get("on_started"):
            waiter["on_started"](request.get("workerName"))
        return {"taskToken": token, "input": json.dumps(params, separators=(",", ":"))}


def _run_counts(by_status: dict, total: int, written: int, pending_redrive: int) -> dict:
    """MapRunItemCounts / MapRunExecutionCounts from counts by child status."""
    return {"pending": by_status.get("PENDING", 0), "running": by_status.get("RUNNING", 0),
            "succeeded": by_status.get("SUCCEEDED", 0), "failed": by_status.get("FAILED", 0),
            "timedOut": by_status.get("TIMED_OUT", 0), "aborted": by_status.get("ABORTED", 0),
            "total": total, "resultsWritten": written, "failuresNotRedrivable": 0,
            "pendingRedrive": pending_redrive}


def _summary(r, with_items: bool = False) -> dict:
    out = {"executionArn": r["arn"], "stateMachineArn": r["machine_arn"], "name": r["name"],
           "status": r["status"], "startDate": from_epoch(r["started"]), "redriveCount": r["redrive_count"]}
    if r["stopped"] is not None:
        out["stopDate"] = from_epoch(r["stopped"])
    if r["version_arn"]:
        out["stateMachineVersionArn"] = r["version_arn"]
    if r["alias_arn"]:
        out["stateMachineAliasArn"] = r["alias_arn"]
    if r["map_run_arn"]:
        out["mapRunArn"] = r["map_run_arn"]
        if with_items:       # AWS answers itemCount only when listing by mapRunArn
            out["itemCount"] = r["item_count"] if r["item_count"] is not None else 1
    if r["redriven"] is not None:
        out["redriveDate"] = from_epoch(r["redriven"])
    return out
