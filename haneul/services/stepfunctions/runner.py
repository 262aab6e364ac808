"""Running executions on the event loop: the engine's host backed by asyncio timers, the
in-process dispatcher and SQLite.

Durability (STANDARD): every history event is committed as it happens, and each
top-level state entry commits a checkpoint (state, input, variables, entry time).  After a
crash, `resume_all` restarts each RUNNING execution from its last checkpoint: states that
completed are never re-run, and a Wait sleeps only its remaining time.  Rule for a task
attempt in flight at the crash: the attempt is made again (at-least-once), because
Haneul cannot know whether the call took effect; its TaskScheduled/TaskStarted events
from before the crash stay in the history and new ones follow.  Callback tokens and
activity tasks issued before the crash are void; the resumed attempt issues new ones.

EXPRESS executions keep their history in memory only (AWS keeps none either).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from haneul.context import RequestContext
from haneul.services.stepfunctions.asl.engine import Checkpoint, Execution, Outcome
from haneul.services.stepfunctions.asl.host import Host, TaskCall

log = logging.getLogger("haneul.stepfunctions")

# In-memory coordination only (never state): running tasks, callback futures, activity queues.
RUNNING: dict[str, asyncio.Task] = {}
EXECUTIONS: dict[str, Execution] = {}
TOKENS: dict[str, dict] = {}          # token -> {"future", "heartbeat": asyncio.Event, "execution"}
ACTIVITY_QUEUES: dict[str, asyncio.Queue] = {}
MAP_RUN_WATCHERS: dict[str, Any] = {}  # running Map Run ARN -> its on_update(changes), for UpdateMapRun


def activity_queue(arn: str) -> asyncio.Queue:
    q = ACTIVITY_QUEUES.get(arn)
    if q is None:
        q = ACTIVITY_QUEUES[arn] = asyncio.Queue()
    return q


class ServiceHost(Host):
    def __init__(self, ctx: RequestContext, execution_arn: str, persist: bool, redrive: bool = False):
        self.ctx = ctx
        self.execution_arn = execution_arn
        self.persist = persist
        self.history = persist          # EXPRESS keeps no history (nor does AWS)
        self.redrive = redrive          # started by RedriveExecution: failed Map Runs are redriven
        self.redriven_states: set[str] = set()

    def now(self) -> float:
        return self.ctx.now()

    def event(self, event: dict) -> None:
        if not self.persist:
            return
        with self.ctx.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO sfn_event(execution_arn, id, body) VALUES(?,?,?)",
                       (self.execution_arn, event["id"], json.dumps(event)))

    def checkpoint(self, state: str, state_input: Any, variables: dict, entered_at: float, event_id: int) -> None:
        if not self.persist:
            return
        with self.ctx.store.transaction() as db:
            db.execute("UPDATE sfn_execution SET checkpoint=? WHERE arn=?", (json.dumps(
                {"state": state, "input": state_input, "variables": variables, "entered_at": entered_at,
                 "event_id": event_id}), self.execution_arn))

    async def call_task(self, call: TaskCall) -> Any:
        from haneul.services.stepfunctions import integrations
        return await integrations.call(self, call)

    async def run_child(self, program: dict, value: Any, context: dict, execution_type: str,
                        map_run_arn: str, redrive: bool = False) -> Outcome:
        """A distributed Map's child: a STANDARD child of a kept execution is an execution row of
        its own (DescribeExecution, GetExecutionHistory, ListExecutions(mapRunArn)), redriven as
        RedriveExecution would; an EXPRESS child is run unrecorded, as AWS keeps no history of it
        either.  A child stopped with its Map Run ends ABORTED with an ExecutionAborted event."""
        persist = self.persist and execution_type == "STANDARD"
        row = {"arn": context["execution_arn"], "account": self.ctx.account, "region": self.ctx.region,
               "machine_arn": context["state_machine_arn"], "name": context["execution_name"],
               "status": "RUNNING", "input": json.dumps(value, separators=(",", ":")), "started": self.now(),
               "type": execution_type, "definition": json.dumps(program), "role_arn": context["role_arn"],
               "redrive_count": 0, "map_run_arn": map_run_arn, "item_count": context.get("item_count", 1)}
        resume = events = None
        if persist:
            with self.ctx.store.transaction() as db:
                old = db.execute("SELECT * FROM sfn_execution WHERE arn=?", (row["arn"],)).fetchone() \
                    if redrive else None
                if old is not None:
                    row, resume, events = redrive_row(db, old, self.now())
                else:
                    db.execute(f"INSERT INTO sfn_execution({', '.join(row)}) VALUES({', '.join('?' * len(row))})",
                               tuple(row.values()))
        try:
            return await execute(self.ctx, row, program, value, persist, resume, events)
        except asyncio.CancelledError:
            if persist:
                abort(self.ctx, row["arn"], None, None)
            raise

    def map_run(self, run_arn: str, info: dict, children: list[dict], status: str) -> None:
        executions: dict[str, int] = {}
        items: dict[str, int] = {}
        for child in children:
            executions[child["status"]] = executions.get(child["status"], 0) + 1
            items[child["status"]] = items.get(child["status"], 0) + child["items"]
        settings = (info.get("max_concurrency") or 0, info.get("tolerated_count"), info.get("tolerated_pct"))
        kept = json.dumps(children) if status in ("FAILED", "ABORTED") else None    # what a redrive needs
        with self.ctx.store.transaction() as db:
            now = self.ctx.now()
            if status == "RUNNING" and info.get("redrive_count"):
                db.execute("UPDATE sfn_map_run SET status=?, stopped=NULL, redrive_count=?, redriven=?, "
                           "pending_redrive=?, children=NULL WHERE arn=?",
                           (status, info["redrive_count"], now, info["pending_redrive"], run_arn))
            elif status == "RUNNING":
                db.execute("INSERT INTO sfn_map_run(arn, execution_arn, status, started, max_concurrency, "
                           "tolerated_count, tolerated_pct, total, failed, counts, item_total, item_counts, "
                           "state_name) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           (run_arn, self.execution_arn, status, now, *settings, len(children), 0,
                            json.dumps(executions), sum(c["items"] for c in children), json.dumps(items),
                            info.get("state")))
            else:
                MAP_RUN_WATCHERS.pop(run_arn, None)
                db.execute("UPDATE sfn_map_run SET status=?, stopped=?, failed=?, counts=?, item_counts=?, "
                           "results_written=?, pending_redrive=0, children=?, max_concurrency=?, "
                           "tolerated_count=?, tolerated_pct=? WHERE arn=?",
                           (status, now, sum(executions.get(s, 0) for s in ("FAILED", "TIMED_OUT", "ABORTED")),
                            json.dumps(executions), json.dumps(items), info.get("results_written", 0), kept,
                            *settings, run_arn))

    def watch_map_run(self, run_arn: str, on_update) -> None:
        MAP_RUN_WATCHERS[run_arn] = on_update

    def redrivable_map_run(self, state_name: str) -> dict | None:
        if not self.redrive or state_name in self.redriven_states:
            return None
        self.redriven_states.add(state_name)
        with self.ctx.store.transaction() as db:
            r = db.execute("SELECT arn, children, redrive_count FROM sfn_map_run WHERE execution_arn=? AND "
                           "state_name=? AND status IN ('FAILED', 'ABORTED') AND children IS NOT NULL "
                           "ORDER BY started DESC LIMIT 1", (self.execution_arn, state_name)).fetchone()
        if r is None:
            return None
        return {"arn": r["arn"], "children": json.loads(r["children"]), "redrive_count": r["redrive_count"] or 0}


def context_info(row) -> dict:
    from haneul.services.stepfunctions.asl.engine import iso
    return {"execution_arn": row["arn"], "execution_name": row["name"], "start_time": iso(row["started"]),
            "state_machine_arn": row["machine_arn"], "state_machine_name": row["machine_arn"].split(":")[6],
            "role_arn": row["role_arn"], "redrive_count": row["redrive_count"]}


async def execute(ctx: RequestContext, row, definition: dict, input_: Any, persist: bool,
                  resume: Checkpoint | None = None, events: list | None = None) -> Outcome:
    redriving = bool(events) and events[-1]["type"] == "ExecutionRedriven"
    host = ServiceHost(ctx, row["arn"], persist, redrive=redriving)
    exe = Execution(definition, input_, host, context_info(row), events=events)
    if definition.get("TimeoutSeconds") and resume is not None:
        exe.deadline = row["started"] + definition["TimeoutSeconds"]
    EXECUTIONS[row["arn"]] = exe
    try:
        outcome = await exe.run(resume=resume)
    except asyncio.CancelledError:
        outcome = Outcome("ABORTED")
        raise
    except Exception as err:      # an engine bug must not leave the execution RUNNING
        log.exception("execution %s crashed", row["arn"])
        outcome = Outcome("FAILED", error="States.Runtime", cause=f"Internal error: {err}")
    finally:
        EXECUTIONS.pop(row["arn"], None)
    if persist:
        finish(ctx, row["arn"], outcome)
    return outcome


def finish(ctx: RequestContext, arn: str, outcome: Outcome) -> None:
    with ctx.store.transaction() as db:
        db.execute("UPDATE sfn_execution SET status=?, output=?, error=?, cause=?, stopped=?, "
                   "last_checkpoint=checkpoint, checkpoint=NULL "
                   "WHERE arn=? AND status='RUNNING'",
                   (outcome.status, json.dumps(outcome.output) if outcome.status == "SUCCEEDED" else None,
                    outcome.error, outcome.cause, ctx.now(), arn))


def abort(ctx: RequestContext, arn: str, error: str | None, cause: str | None) -> None:
    """A RUNNING execution ends ABORTED, its history closed by an ExecutionAborted event."""
    now = ctx.now()
    with ctx.store.transaction() as db:
        row = db.execute("SELECT status FROM sfn_execution WHERE arn=?", (arn,)).fetchone()
        if row is None or row["status"] != "RUNNING":
            return
        last = db.execute("SELECT MAX(id) FROM sfn_event WHERE execution_arn=?", (arn,)).fetchone()[0] or 0
        event = {"timestamp": now, "type": "ExecutionAborted", "id": last + 1, "previousEventId": last,
                 "executionAbortedEventDetails": {k: v for k, v in (("error", error), ("cause", cause)) if v}}
        db.execute("INSERT INTO sfn_event(execution_arn, id, body) VALUES(?,?,?)", (arn, last + 1, json.dumps(event)))
        db.execute("UPDATE sfn_execution SET status='ABORTED', error=?, cause=?, stopped=?, "
                   "last_checkpoint=checkpoint, checkpoint=NULL WHERE arn=?", (error, cause, now, arn))


def redrive_row(db, row, now: float) -> tuple[dict, Checkpoint | None, list]:
    """Open a FAILED, TIMED_OUT or ABORTED execution again, as RedriveExecution does: an
    ExecutionRedriven event, redriveCount + 1, and where to resume (the state it last entered;
    None when it never entered one: it runs from the start)."""
    events = [json.loads(r[0]) for r in db.execute(
        "SELECT body FROM sfn_event WHERE execution_arn=? ORDER BY id", (row["arn"],))]
    last = events[-1]["id"] if events else 0
    redriven = {"timestamp": now, "type": "ExecutionRedriven", "id": last + 1, "previousEventId": last,
                "executionRedrivenEventDetails": {"redriveCount": row["redrive_count"] + 1}}
    events.append(redriven)
    db.execute("INSERT INTO sfn_event(execution_arn, id, body) VALUES(?,?,?)",
               (row["arn"], last + 1, json.dumps(redriven)))
    db.execute("UPDATE sfn_execution SET status='RUNNING', stopped=NULL, error=NULL, cause=NULL, output=NULL, "
               "redrive_count=redrive_count+1, redriven=? WHERE arn=?", (now, row["arn"]))
    new_row = dict(row)
    new_row["redrive_count"] = row["redrive_count"] + 1
    cp = json.loads(row["last_checkpoint"]) if row["last_checkpoint"] else None
    if cp is None:
        return new_row, None, events
    return new_row, Checkpoint(cp["state"], cp["input"], cp["variables"], now, last + 2), events


def start_background(ctx: RequestContext, row, definition: dict, input_: Any, persist: bool = True,
                     resume: Checkpoint | None = None, events: list | None = None) -> None:
    task = asyncio.get_running_loop().create_task(execute(ctx, row, definition, input_, persist, resume, events))
    RUNNING[row["arn"]] = task
    task.add_done_callback(lambda t, arn=row["arn"]: RUNNING.pop(arn, None))


def stop(arn: str, error: str | None, cause: str | None) -> bool:
    exe = EXECUTIONS.get(arn)
    task = RUNNING.get(arn)
    if exe is None or task is None:
        return False
    from haneul.services.stepfunctions.asl.errors import StatesError
    exe.stopped = StatesError("States.Aborted", error)
    task.cancel()
    return True


async def resume_all(app) -> None:
    """Server startup: continue every RUNNING STANDARD execution from its last checkpoint."""
    store = app.store
    app.dispatcher.service("stepfunctions")        # ensures the tables exist
    with store.transaction() as db:
        rows = db.execute("SELECT * FROM sfn_execution WHERE status='RUNNING' AND type='STANDARD'").fetchall()
    for row in rows:
        ctx = RequestContext(account=row["account"], region=row["region"], store=store, app=app)
        if row["map_run_arn"]:      # a Map Run's child: its parent re-runs the Map state on resume
            abort(ctx, row["arn"], None, None)
            continue
        with store.transaction() as db:       # ... in a Map Run of its own; the one cut short ends
            db.execute("UPDATE sfn_map_run SET status='ABORTED', stopped=? WHERE execution_arn=? AND "
                       "status='RUNNING'", (ctx.now(), row["arn"]))
        with store.transaction() as db:
            events = [json.loads(r[0]) for r in db.execute(
                "SELECT body FROM sfn_event WHERE execution_arn=? ORDER BY id", (row["arn"],))]
        definition = json.loads(row["definition"])
        cp = json.loads(row["checkpoint"]) if row["checkpoint"] else None
        input_ = json.loads(row["input"])
        if cp is None:           # crashed before the first state: start again from scratch
            with store.transaction() as db:
                db.execute("DELETE FROM sfn_event WHERE execution_arn=?", (row["arn"],))
            start_background(ctx, row, definition, input_)
            continue
        events = [e for e in events if e["id"] <= cp["event_id"]]
        with store.transaction() as db:
            db.execute("DELETE FROM sfn_event WHERE execution_arn=? AND id>?", (row["arn"], cp["event_id"]))
        resume = Checkpoint(cp["state"], cp["input"], cp["variables"], cp["entered_at"], cp["event_id"])
        start_background(ctx, row, definition, input_, resume=resume, events=events)
