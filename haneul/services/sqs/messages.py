"""Message operations: send, receive (long polling), delete, change visibility."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

from haneul.errors import AwsError
from haneul.services.sqs import validation as check
from haneul.services.sqs.attributes import MAX_MESSAGE_SIZE
from haneul.services.sqs.errors import (batch_failure, invalid_parameter, invalid_value,
                                        missing_parameter, sqs_error)
from haneul.services.sqs.md5 import md5_of_attributes, md5_of_body
from haneul.services.sqs.storage import (DEDUP_INTERVAL, RECEIVE_ATTEMPT_INTERVAL, Queue,
                                         adjust_count, decode_receipt, delete_message_row,
                                         dump_attributes, encode_receipt, expire_messages,
                                         load_attributes, new_receipt_token, next_sequence_number,
                                         next_wake, queue_for_url, refresh_group)
from haneul.services.sqs.waiters import NOTIFIER

NOT_VALID_FOR_QUEUE_TYPE = "The request include parameter that is not valid for this queue type."
MAX_VISIBILITY = 43_200


def _sender_id(ctx) -> str:
    principal = ctx.principal
    return (principal.user_id or principal.account) if principal else ctx.account


class MessageOperations:
    # -- send ----------------------------------------------------------------------------
    def send_message(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        result = self._send(ctx, queue, request)
        NOTIFIER.notify(queue.key)
        return result

    def send_message_batch(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        entries = check.check_batch(request.get("Entries"), "SendMessageBatchRequestEntry")
        if queue.fifo:
            # For FIFO queues these are errors of the whole request, not of an entry.
            if any(e.get("MessageGroupId") is None for e in entries):
                raise invalid_parameter("The request must contain the parameter MessageGroupId.")
            if not queue.content_based_deduplication and any(
                    e.get("MessageDeduplicationId") is None for e in entries):
                raise invalid_parameter("The queue should either have ContentBasedDeduplication "
                                        "enabled or MessageDeduplicationId provided explicitly")
        check.check_batch_size(entries, MAX_MESSAGE_SIZE)
        successful, failed = [], []
        for entry in entries:
            try:
                with ctx.store.transaction():   # a savepoint: a failed entry leaves no trace
                    result = self._send(ctx, queue, entry)
                successful.append({"Id": entry["Id"], **result})
            except AwsError as err:
                failed.append(batch_failure(entry["Id"], err))
        if successful:
            NOTIFIER.notify(queue.key)
        return {"Successful": successful, "Failed": failed}

    def _send(self, ctx, queue: Queue, entry: dict) -> dict:
        db, now = ctx.db, ctx.now()
        body = check.check_body(entry.get("MessageBody"))
        attributes = check.check_message_attributes(entry.get("MessageAttributes"))
        system = check.check_system_attributes(entry.get("MessageSystemAttributes"))
        check.check_size(body, attributes, queue.maximum_message_size)
        delay = entry.get("DelaySeconds")
        check.check_delay(delay)
        group, dedup = entry.get("MessageGroupId"), entry.get("MessageDeduplicationId")
        check.check_fifo_token(group, "MessageGroupId")
        check.check_fifo_token(dedup, "MessageDeduplicationId")
        if queue.fifo:
            if delay:
                raise invalid_value("DelaySeconds", delay, NOT_VALID_FOR_QUEUE_TYPE)
            if group is None:
                raise missing_parameter("MessageGroupId")
            if dedup is None:
                if not queue.content_based_deduplication:
                    raise invalid_parameter("The queue should either have ContentBasedDeduplication "
                                            "enabled or MessageDeduplicationId provided explicitly")
                dedup = hashlib.sha256(body.encode("utf-8")).hexdigest()
            delay = queue.delay_seconds
        else:
            if dedup is not None:
                raise invalid_value("MessageDeduplicationId", dedup, NOT_VALID_FOR_QUEUE_TYPE)
            delay = queue.delay_seconds if delay is None else delay
        result = {"MD5OfMessageBody": md5_of_body(body)}
        if attributes:
            result["MD5OfMessageAttributes"] = md5_of_attributes(attributes)
        if system:
            result["MD5OfMessageSystemAttributes"] = md5_of_attributes(system)
        elif "x-amzn-trace-id" in (ctx.headers or {}):
            # AWS records the X-Ray header of the send as the AWSTraceHeader attribute.
            system = {check.TRACE_HEADER: {"DataType": "String",
                                           "StringValue": ctx.headers["x-amzn-trace-id"]}}

        sequence = None
        if queue.fifo:
            scope = group if queue.dedup_by_group else ""
            db.execute("DELETE FROM sqs_dedup WHERE queue_id=? AND expires_at <= ?", (queue.id, now))
            seen = db.execute("SELECT message_id, sequence_number FROM sqs_dedup WHERE queue_id=? "
                              "AND scope=? AND dedup_id=?", (queue.id, scope, dedup)).fetchone()
            if seen is not None:
                # A duplicate is accepted but not delivered again.
                return {**result, "MessageId": seen[0], "SequenceNumber": seen[1]}
            sequence = next_sequence_number(db, queue)
        message_id = str(uuid.uuid4())
        db.execute(
            "INSERT INTO sqs_message(queue_id, message_id, body, md5_body, attributes, "
            "system_attributes, sender_id, sent_ms, enqueued_at, visible_at, group_id, dedup_id, "
            "sequence_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (queue.id, message_id, body, result["MD5OfMessageBody"], dump_attributes(attributes),
             json.dumps(system) if system else None, _sender_id(ctx), int(now * 1000), now,
             now + delay, group, dedup if queue.fifo else None, sequence))
        adjust_count(db, queue.id, 1)
        if queue.fifo:
            db.execute("INSERT INTO sqs_dedup(queue_id, scope, dedup_id, message_id, "
                       "sequence_number, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (queue.id, scope, dedup, message_id, sequence, now + DEDUP_INTERVAL))
            refresh_group(db, queue.id, group)
            result["SequenceNumber"] = sequence
        result["MessageId"] = message_id
        return result

    # -- receive -------------------------------------------------------------------------
    async def receive_message(self, ctx, request: dict) -> dict:
        """Short transactions around each attempt; between attempts, wait (without blocking
        the loop) for a send, a visibility change, or the next message to become visible."""
        count, visibility, wait = check.check_receive(request)
        loop = asyncio.get_running_loop()
        deadline = None
        key = None
        while True:
            fut = NOTIFIER.subscribe(key) if key is not None else None
            try:
                with ctx.store.transaction() as db:
                    ctx.db = db
                    try:
                        queue = queue_for_url(db, ctx, request.get("QueueUrl"))
                        if deadline is None:
                            deadline = loop.time() + (queue.wait_time if wait is None else wait)
                        messages, woken = self._receive_once(ctx, queue, request, count, visibility)
                        now = ctx.now()
                        wake_at = next_wake(db, queue, now) if not messages else None
                    finally:
                        ctx.db = None
                for other in woken:
                    NOTIFIER.notify(other)
                remaining = deadline - loop.time()
                if messages or remaining <= 0:
                    return {"Messages": messages}
                if key is None:
                    # First pass: subscribe, then look once more so nothing slips between.
                    key = queue.key
                    continue
                timeout = remaining if wake_at is None else min(remaining, max(wake_at - now, 0.01))
                await NOTIFIER.wait(fut, timeout)
            finally:
                if fut is not None:
                    NOTIFIER.unsubscribe(key, fut)

    def _receive_once(self, ctx, queue: Queue, request: dict, count: int,
                      visibility: int | None) -> tuple[list[dict], set]:
        db, now = ctx.db, ctx.now()
        self._advance_moves(db, ctx)
        expire_messages(db, queue, now)
        timeout = queue.visibility_timeout if visibility is None else visibility
        attempt = request.get("ReceiveRequestAttemptId") if queue.fifo else None
        if attempt is not None:
            repeated = self._repeat_attempt(db, queue, attempt, now, timeout)
            if repeated is not None:
                return [self._message_view(queue, row, token, request) for row, token in repeated], set()
        woken: set = set()
        taken = (self._take_fifo if queue.fifo else self._take_standard)(ctx, queue, count,
                                                                          timeout, woken)
        if attempt is not None and taken:
            db.execute("INSERT OR REPLACE INTO sqs_receive_attempt(queue_id, attempt_id, "
                       "expires_at, messages) VALUES (?, ?, ?, ?)",
                       (queue.id, attempt, now + RECEIVE_ATTEMPT_INTERVAL,
                        json.dumps([[row["id"], row["version"]] for row, _ in taken])))
        return [self._message_view(queue, row, token, request) for row, token in taken], woken

    def _take_standard(self, ctx, queue, count, timeout, woken) -> list:
        db, now = ctx.db, ctx.now()
        taken, cursor, seen = [], (-1.0, 0), set()
        while len(taken) < count:
            rows = db.execute(
                "SELECT * FROM sqs_message WHERE queue_id=? AND visible_at <= ? "
                "AND (visible_at, id) > (?, ?) ORDER BY visible_at, id LIMIT ?",
                (queue.id, now, cursor[0], cursor[1], count - len(taken))).fetchall()
            if not rows:
                break
            for row in rows:
                cursor = (row["visible_at"], row["id"])
                # With VisibilityTimeout=0 a taken message stays ahead of the cursor.
                if row["id"] not in seen:
                    seen.add(row["id"])
                    self._take_or_redrive(ctx, queue, row, timeout, taken, woken)
        return taken

    def _take_fifo(self, ctx, queue, count, timeout, woken) -> list:
        """Oldest receivable group first; as many messages of a group as possible, in order,
        stopping at the first one that is not visible."""
        db, now = ctx.db, ctx.now()
        taken, cursor, seen = [], (-1.0, 0), set()
        while len(taken) < count:
            groups = db.execute(
                "SELECT group_id, available_at, head_id FROM sqs_group WHERE queue_id=? "
                "AND available_at <= ? AND (available_at, head_id) > (?, ?) "
                "ORDER BY available_at, head_id LIMIT 10", (queue.id, now, *cursor)).fetchall()
            if not groups:
                break
            for group in groups:
                cursor = (group["available_at"], group["head_id"])
                if group["group_id"] in seen:
                    continue
                seen.add(group["group_id"])
                last_id = 0
                while len(taken) < count:
                    rows = db.execute("SELECT * FROM sqs_message WHERE queue_id=? AND group_id=? "
                                      "AND id > ? ORDER BY id LIMIT ?",
                                      (queue.id, group["group_id"], last_id, count - len(taken)))
                    rows = rows.fetchall()
                    if not rows or rows[0]["visible_at"] > now:
                        break
                    blocked = False
                    for row in rows:
                        last_id = row["id"]
                        if row["visible_at"] > now:
                            blocked = True
                            break
                        self._take_or_redrive(ctx, queue, row, timeout, taken, woken)
                        if len(taken) >= count:
                            break
                    if blocked:
                        break
                refresh_group(db, queue.id, group["group_id"])
                if len(taken) >= count:
                    break
        return taken

    def _take_or_redrive(self, ctx, queue, row, timeout, taken, woken) -> None:
        policy = queue.redrive_policy
        if policy and row["receive_count"] >= policy["maxReceiveCount"]:
            target = self._redrive_to_dead_letter(ctx.db, queue, row, ctx.now())
            if target is not None:
                woken.add(target)
                return
        db, now = ctx.db, ctx.now()
        token = new_receipt_token()
        db.execute("UPDATE sqs_message SET receipt=?, received=1, receive_count=receive_count+1, "
                   "visible_at=?, first_receive_ms=COALESCE(first_receive_ms, ?), "
                   "last_receive_at=?, version=version+1 WHERE id=?",
                   (token, now + timeout, int(now * 1000), now, row["id"]))
        taken.append((db.execute("SELECT * FROM sqs_message WHERE id=?", (row["id"],)).fetchone(),
                      token))

    def _repeat_attempt(self, db, queue, attempt, now, timeout):
        """The messages of a retried ReceiveRequestAttemptId, if none changed since."""
        db.execute("DELETE FROM sqs_receive_attempt WHERE queue_id=? AND expires_at <= ?",
                   (queue.id, now))
        found = db.execute("SELECT messages FROM sqs_receive_attempt WHERE queue_id=? "
                           "AND attempt_id=?", (queue.id, attempt)).fetchone()
        if found is None:
            return None
        rows = []
        for row_id, version in json.loads(found[0]):
            row = db.execute("SELECT * FROM sqs_message WHERE id=? AND queue_id=?",
                             (row_id, queue.id)).fetchone()
            if row is None or row["version"] != version:
                return None
            rows.append(row)
        out = []
        for row in rows:
            # A retry within the interval resets the visibility timeout.
            db.execute("UPDATE sqs_message SET visible_at=? WHERE id=?", (now + timeout, row["id"]))
            refresh_group(db, queue.id, row["group_id"])
            out.append((db.execute("SELECT * FROM sqs_message WHERE id=?", (row["id"],)).fetchone(),
                        row["receipt"]))
        return out

    @staticmethod
    def _message_view(queue: Queue, row, token: str, request: dict) -> dict:
        message = {
            "MessageId": row["message_id"],
            "ReceiptHandle": encode_receipt(queue.id, row["id"], token),
            "MD5OfBody": row["md5_body"],
            "Body": row["body"],
        }
        wanted = set(request.get("AttributeNames") or []) | set(
            request.get("MessageSystemAttributeNames") or [])
        if wanted:
            system = {
                "SenderId": row["sender_id"],
                "SentTimestamp": str(row["sent_ms"]),
                "ApproximateReceiveCount": str(row["receive_count"]),
                "ApproximateFirstReceiveTimestamp": str(row["first_receive_ms"] or row["sent_ms"]),
            }
            if row["sequence_number"]:
                system["SequenceNumber"] = row["sequence_number"]
            if row["dedup_id"]:
                system["MessageDeduplicationId"] = row["dedup_id"]
            if row["group_id"] is not None:
                system["MessageGroupId"] = row["group_id"]
            if row["system_attributes"]:
                trace = json.loads(row["system_attributes"]).get(check.TRACE_HEADER)
                if trace:
                    system[check.TRACE_HEADER] = trace["StringValue"]
            if row["dlq_source_arn"]:
                system["DeadLetterQueueSourceArn"] = row["dlq_source_arn"]
            if "All" not in wanted:
                system = {k: v for k, v in system.items() if k in wanted}
            if system:
                message["Attributes"] = system
        keep = check.attribute_filter(request.get("MessageAttributeNames"))
        attributes = {k: v for k, v in load_attributes(row["attributes"]).items() if keep(k)}
        if attributes:
            # The digest covers the attributes returned, not all the message has.
            message["MD5OfMessageAttributes"] = md5_of_attributes(attributes)
            message["MessageAttributes"] = attributes
        return message

    # -- delete --------------------------------------------------------------------------
    def delete_message(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        self._delete(ctx, queue, request.get("ReceiptHandle"))
        return {}

    def delete_message_batch(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        entries = check.check_batch(request.get("Entries"), "DeleteMessageBatchRequestEntry")
        successful, failed = [], []
        for entry in entries:
            try:
                self._delete(ctx, queue, entry.get("ReceiptHandle"))
                successful.append({"Id": entry["Id"]})
            except AwsError as err:
                failed.append(batch_failure(entry["Id"], err))
        return {"Successful": successful, "Failed": failed}

    def _delete(self, ctx, queue: Queue, handle: str | None) -> None:
        if not handle:
            raise missing_parameter("ReceiptHandle")
        db, now = ctx.db, ctx.now()
        row_id, token = decode_receipt(handle, queue)
        row = db.execute("SELECT * FROM sqs_message WHERE id=? AND queue_id=?",
                         (row_id, queue.id)).fetchone()
        if row is None:
            return                          # already deleted: AWS answers success
        if queue.fifo and (row["receipt"] != token or row["visible_at"] <= now):
            raise invalid_value("ReceiptHandle", handle, "The receipt handle has expired.")
        if row["receipt"] != token:
            # A standard queue accepts a stale handle but keeps the message (AWS documents
            # that only the latest receipt handle deletes).
            return
        delete_message_row(db, queue, row)
        if queue.fifo:
            NOTIFIER.notify(queue.key)      # the group's next message may now be receivable

    # -- visibility ----------------------------------------------------------------------
    def change_message_visibility(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        self._change_visibility(ctx, queue, request.get("ReceiptHandle"),
                                request.get("VisibilityTimeout"))
        return {}

    def change_message_visibility_batch(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        entries = check.check_batch(request.get("Entries"),
                                    "ChangeMessageVisibilityBatchRequestEntry")
        successful, failed = [], []
        for entry in entries:
            try:
                self._change_visibility(ctx, queue, entry.get("ReceiptHandle"),
                                        entry.get("VisibilityTimeout"))
                successful.append({"Id": entry["Id"]})
            except AwsError as err:
                failed.append(batch_failure(entry["Id"], err))
        return {"Successful": successful, "Failed": failed}

    def _change_visibility(self, ctx, queue: Queue, handle: str | None, timeout) -> None:
        if not handle:
            raise missing_parameter("ReceiptHandle")
        if timeout is None:
            raise missing_parameter("VisibilityTimeout")
        if not 0 <= timeout <= MAX_VISIBILITY:
            raise invalid_value("VisibilityTimeout", timeout, "Must be between 0 and 43200.")
        db, now = ctx.db, ctx.now()
        row_id, token = decode_receipt(handle, queue)
        row = db.execute("SELECT * FROM sqs_message WHERE id=? AND queue_id=?",
                         (row_id, queue.id)).fetchone()
        if row is None or row["receipt"] != token:
            raise invalid_value("ReceiptHandle", handle, "Message does not exist or is not "
                                "available for visibility timeout change.")
        if queue.fifo and row["visible_at"] <= now:
            raise sqs_error("MessageNotInflight")
        # The 12 hours count from the receive, not from this call.
        if now + timeout - row["last_receive_at"] > MAX_VISIBILITY:
            raise invalid_value("VisibilityTimeout", timeout, "Total VisibilityTimeout for the "
                                "message is beyond the limit [43200 seconds]")
        db.execute("UPDATE sqs_message SET visible_at=?, version=version+1 WHERE id=?",
                   (now + timeout, row["id"]))
        if queue.fifo:
            refresh_group(db, queue.id, row["group_id"])
        if timeout == 0 or queue.fifo:
            NOTIFIER.notify(queue.key)
