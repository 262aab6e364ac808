"""Dead-letter queues: moving a message there on receive, and message move tasks
(StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask) that redrive
messages out of a dead-letter queue.

A move task has no thread of its own: its progress is a function of time (all at once,
or MaxNumberOfMessagesPerSecond per second since it started) and is brought up to date
by every call that can observe it: the task calls themselves, ReceiveMessage and
GetQueueAttributes in the task's account and region.  State stays in the store, so a
restart loses nothing and tests can drive it with a fake clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid

from haneul.services.sqs.errors import invalid_parameter, invalid_value, sqs_error
from haneul.services.sqs.storage import (Queue, adjust_count, delete_message_row,
                                         expire_messages, message_counts, next_sequence_number,
                                         queue_for_arn, refresh_group)
from haneul.services.sqs.urls import is_arn
from haneul.services.sqs.waiters import NOTIFIER

RUNNING, COMPLETED, CANCELLED, FAILED = "RUNNING", "COMPLETED", "CANCELLED", "FAILED"
NON_EXISTENT_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"


def copy_message(db, row, target: Queue, now: float, *, dead_letter_source: str | None,
                 keep_receives: bool) -> None:
    """Enqueue a copy of a message row in `target` (visible at once)."""
    # Standard queues keep the original enqueue time (so retention counts from the first
    # send); FIFO queues reset it, as AWS documents for dead-letter queues.
    enqueued = now if target.fifo else row["enqueued_at"]
    sequence = next_sequence_number(db, target) if target.fifo else None
    db.execute(
        "INSERT INTO sqs_message(queue_id, message_id, body, md5_body, attributes, "
        "system_attributes, sender_id, sent_ms, enqueued_at, visible_at, receive_count, "
        "first_receive_ms, group_id, dedup_id, sequence_number, dlq_source_arn) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (target.id, row["message_id"], row["body"], row["md5_body"], row["attributes"],
         row["system_attributes"], row["sender_id"], row["sent_ms"], enqueued, now,
         row["receive_count"] if keep_receives else 0,
         row["first_receive_ms"] if keep_receives else None, row["group_id"],
         row["dedup_id"] if target.fifo else None, sequence, dead_letter_source))
    adjust_count(db, target.id, 1)
    if target.fifo:
        refresh_group(db, target.id, row["group_id"])


def encode_task_handle(task_id: str, source_arn: str) -> str:
    raw = json.dumps({"taskId": task_id, "sourceArn": source_arn}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_task_handle(handle: str) -> tuple[str, str]:
    try:
        doc = json.loads(base64.b64decode(handle.encode(), validate=True))
        return doc["taskId"], doc["sourceArn"]
    except (ValueError, KeyError, TypeError, binascii.Error, AttributeError):
        raise invalid_parameter("Value for parameter TaskHandle is invalid.") from None


class RedriveOperations:
    # -- dead-letter queue on receive ----------------------------------------------------
    def _redrive_to_dead_letter(self, db, queue: Queue, row, now: float):
        """Move a message received more than maxReceiveCount times; the target's key, or
        None if the dead-letter queue is gone (the message is then delivered)."""
        target = queue_for_arn(db, queue.redrive_policy["deadLetterTargetArn"])
        if target is None:
            return None
        copy_message(db, row, target, now, dead_letter_source=queue.arn, keep_receives=True)
        delete_message_row(db, queue, row)
        return target.key

    # -- move tasks ----------------------------------------------------------------------
    def start_message_move_task(self, ctx, request: dict) -> dict:
        db, now = ctx.db, ctx.now()
        source = self._task_queue(db, request.get("SourceArn"), "SourceArn")
        if db.execute("SELECT 1 FROM sqs_queue WHERE dlq_arn=? LIMIT 1",
                      (source.arn,)).fetchone() is None:
            raise invalid_parameter("Source queue must be configured as a Dead Letter Queue.")
        destination_arn = request.get("DestinationArn")
        if destination_arn:
            destination = self._task_queue(db, destination_arn, "DestinationArn")
            if destination.fifo != source.fifo:
                raise invalid_parameter("The source queue and the destination queue must be "
                                        "of the same queue type.")
        rate = request.get("MaxNumberOfMessagesPerSecond")
        if rate is not None and not 1 <= rate <= 500:
            raise invalid_value("MaxNumberOfMessagesPerSecond", rate,
                                "Must be between 1 and 500, if provided.")
        self._advance_moves(db, ctx)
        if db.execute("SELECT 1 FROM sqs_move_task WHERE account=? AND region=? AND "
                      "source_arn=? AND status=?", (source.account, source.region, source.arn,
                                                    RUNNING)).fetchone():
            raise invalid_parameter("There is already a task running. Only one active task is "
                                    "allowed for a source queue arn at a given time.")
        expire_messages(db, source, now)
        visible, _, _ = message_counts(db, source, now)
        task_id = str(uuid.uuid4())
        db.execute("INSERT INTO sqs_move_task(task_id, account, region, source_arn, "
                   "destination_arn, rate, status, started_at, to_move) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (task_id, source.account, source.region, source.arn, destination_arn or None,
                    rate, RUNNING, now, visible))
        self._advance_moves(db, ctx)
        return {"TaskHandle": encode_task_handle(task_id, source.arn)}

    def list_message_move_tasks(self, ctx, request: dict) -> dict:
        db = ctx.db
        source = self._task_queue(db, request.get("SourceArn"), "SourceArn")
        limit = request.get("MaxResults")
        if limit is not None and not 1 <= limit <= 10:
            raise invalid_value("MaxResults", limit, "Must be between 1 and 10, if provided.")
        self._advance_moves(db, ctx)
        rows = db.execute("SELECT * FROM sqs_move_task WHERE account=? AND region=? AND "
                          "source_arn=? ORDER BY started_at DESC, rowid DESC LIMIT ?",
                          (source.account, source.region, source.arn, limit or 1)).fetchall()
        return {"Results": [self._task_entry(r) for r in rows]}

    def cancel_message_move_task(self, ctx, request: dict) -> dict:
        db = ctx.db
        task_id, source_arn = decode_task_handle(request.get("TaskHandle") or "")
        self._task_queue(db, source_arn, "SourceArn")
        self._advance_moves(db, ctx)
        row = db.execute("SELECT * FROM sqs_move_task WHERE task_id=? AND source_arn=?",
                         (task_id, source_arn)).fetchone()
        if row is None:
            raise sqs_error("ResourceNotFoundException", "Task does not exist.")
        if row["status"] != RUNNING:
            raise invalid_parameter("Only active tasks can be cancelled.")
        db.execute("UPDATE sqs_move_task SET status=? WHERE task_id=?", (CANCELLED, task_id))
        return {"ApproximateNumberOfMessagesMoved": row["moved"]}

    @staticmethod
    def _task_queue(db, arn: str | None, parameter: str) -> Queue:
        if not arn or not is_arn(arn):
            raise invalid_parameter(f"You must use this format to specify the {parameter}: "
                                    "arn:<partition>:<service>:<region>:<account-id>:<resource-id>")
        queue = queue_for_arn(db, arn)
        if queue is None:
            raise sqs_error("ResourceNotFoundException", "The resource that you specified for "
                            f"the {parameter} parameter doesn't exist.")
        return queue

    @staticmethod
    def _task_entry(row) -> dict:
        entry = {"Status": row["status"], "SourceArn": row["source_arn"],
                 "ApproximateNumberOfMessagesMoved": row["moved"],
                 "ApproximateNumberOfMessagesToMove": row["to_move"],
                 "StartedTimestamp": int(row["started_at"] * 1000)}
        if row["status"] == RUNNING:
            entry["TaskHandle"] = encode_task_handle(row["task_id"], row["source_arn"])
        if row["destination_arn"]:
            entry["DestinationArn"] = row["destination_arn"]
        if row["rate"] is not None:
            entry["MaxNumberOfMessagesPerSecond"] = row["rate"]
        if row["failure_reason"]:
            entry["FailureReason"] = row["failure_reason"]
        return entry

    def _advance_moves(self, db, ctx) -> None:
        """Bring the running move tasks of the caller's account and region up to date."""
        tasks = db.execute("SELECT * FROM sqs_move_task WHERE account=? AND region=? AND "
                           "status=?", (ctx.account, ctx.region, RUNNING)).fetchall()
        for task in tasks:
            for key in self._advance_task(db, task, ctx.now()):
                NOTIFIER.notify(key)

    def _advance_task(self, db, task, now: float) -> set:
        woken: set = set()
        source = queue_for_arn(db, task["source_arn"])

        def finish(status: str, reason: str | None = None) -> set:
            db.execute("UPDATE sqs_move_task SET status=?, failure_reason=? WHERE task_id=?",
                       (status, reason, task["task_id"]))
            return woken

        if source is None:
            return finish(FAILED, NON_EXISTENT_QUEUE)
        moved = task["moved"]
        remaining = task["to_move"] - moved
        if task["rate"] is not None:
            remaining = min(remaining, int((now - task["started_at"]) * task["rate"]) - moved)
        targets: dict[str, Queue | None] = {}
        order = "id" if source.fifo else "visible_at, id"
        while remaining > 0:
            rows = db.execute(f"SELECT * FROM sqs_message WHERE queue_id=? AND visible_at <= ? "
                              f"ORDER BY {order} LIMIT ?",
                              (source.id, now, min(remaining, 500))).fetchall()
            if not rows:
                break
            for row in rows:
                target_arn = task["destination_arn"] or row["dlq_source_arn"]
                if target_arn not in targets:
                    targets[target_arn] = queue_for_arn(db, target_arn) if target_arn else None
                target = targets[target_arn]
                if target is None:
                    db.execute("UPDATE sqs_move_task SET moved=? WHERE task_id=?",
                               (moved, task["task_id"]))
                    return finish(FAILED, NON_EXISTENT_QUEUE)
                copy_message(db, row, target, now, dead_letter_source=None, keep_receives=False)
                delete_message_row(db, source, row)
                woken.add(target.key)
                moved += 1
                remaining -= 1
        db.execute("UPDATE sqs_move_task SET moved=? WHERE task_id=?", (moved, task["task_id"]))
        has_more = db.execute("SELECT 1 FROM sqs_message WHERE queue_id=? AND visible_at <= ? "
                              "LIMIT 1", (source.id, now)).fetchone()
        if moved >= task["to_move"] or not has_more:
            return finish(COMPLETED)
        return woken
