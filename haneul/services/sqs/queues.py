"""Queue operations: create, delete, find, list, attributes, tags, permissions, purge."""

from __future__ import annotations

import json
import re

from haneul.errors import AwsError
from haneul.services.base import decode_token, encode_token
from haneul.services.sqs import attributes as qattrs
from haneul.services.sqs.errors import (invalid_parameter, invalid_value, missing_parameter,
                                        queue_does_not_exist, sqs_error)
from haneul.services.sqs.storage import (Queue, expire_messages, find_queue, message_counts,
                                         queue_for_arn, queue_for_url, save_attributes)
from haneul.services.sqs.urls import partition
from haneul.services.sqs.waiters import NOTIFIER

PURGE_INTERVAL = 60.0
MAX_TAGS = 50
_LABEL = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ACCOUNT = re.compile(r"\d{12}")
# Actions AddPermission accepts (the operations a queue policy can grant).
ACTIONS = {"*", "AddPermission", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
           "CreateQueue", "DeleteMessage", "DeleteMessageBatch", "DeleteQueue",
           "GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues", "ListQueues",
           "ListQueueTags", "PurgeQueue", "ReceiveMessage", "RemovePermission", "SendMessage",
           "SendMessageBatch", "SetQueueAttributes", "TagQueue", "UntagQueue",
           "StartMessageMoveTask", "CancelMessageMoveTask", "ListMessageMoveTasks"}


def _page_size(value, default: int) -> int:
    if value is None:
        return default
    if not 1 <= value <= 1000:
        raise invalid_value("MaxResults", value, "MaxResults must be an integer between 1 and 1000.")
    return value


def _bad_token() -> AwsError:
    return invalid_parameter("Invalid NextToken value.")


class QueueOperations:
    # -- create / find / delete ----------------------------------------------------------
    def create_queue(self, ctx, request: dict) -> dict:
        name = request.get("QueueName") or ""
        supplied = dict(request.get("Attributes") or {})
        fifo = str(supplied.get("FifoQueue", "")).lower() == "true"
        qattrs.validate_queue_name(name, fifo)
        changes = qattrs.normalize(supplied, fifo=fifo, creating=True)
        tags = dict(request.get("tags") or {})
        db, now = ctx.db, ctx.now()
        existing = find_queue(db, ctx.account, ctx.region, name)
        if existing is not None:
            # The existing queue is returned unless an attribute the caller supplies
            # differs from its current value (attributes not supplied are not compared).
            current = self._attribute_values(db, existing, now)
            for attr, value in changes.items():
                if not qattrs.same_value(attr, value, current.get(attr)):
                    raise sqs_error("QueueNameExists", "A queue already exists with the same "
                                    f"name and a different value for attribute {attr}")
            return {"QueueUrl": existing.url(ctx.endpoint)}
        attrs = qattrs.apply(qattrs.initial(fifo), changes, fifo)
        self._check_tags(tags, name)
        queue = Queue(0, ctx.account, ctx.region, name, fifo, attrs, tags, now, now, None, 0)
        self._check_redrive_target(db, queue, changes)
        policy = queue.redrive_policy
        cur = db.execute(
            "INSERT INTO sqs_queue(account, region, name, fifo, attributes, tags, dlq_arn, "
            "created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ctx.account, ctx.region, name, int(fifo), json.dumps(attrs), json.dumps(tags),
             policy["deadLetterTargetArn"] if policy else None, now, now))
        queue.id = cur.lastrowid
        return {"QueueUrl": queue.url(ctx.endpoint)}

    def get_queue_url(self, ctx, request: dict) -> dict:
        account = request.get("QueueOwnerAWSAccountId") or ctx.account
        queue = find_queue(ctx.db, account, ctx.region, request.get("QueueName") or "")
        if queue is None:
            raise queue_does_not_exist(ctx)
        return {"QueueUrl": queue.url(ctx.endpoint)}

    def delete_queue(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        # Messages, groups and deduplication records go with the queue (ON DELETE CASCADE).
        ctx.db.execute("DELETE FROM sqs_queue WHERE id=?", (queue.id,))
        NOTIFIER.notify(queue.key)          # long polls on it answer QueueDoesNotExist
        return {}

    def list_queues(self, ctx, request: dict) -> dict:
        limit = request.get("MaxResults")
        size = _page_size(limit, 1000)
        prefix = request.get("QueueNamePrefix") or ""
        after = decode_token(request["NextToken"], _bad_token) if request.get("NextToken") else ""
        if not isinstance(after, str):
            raise _bad_token()
        rows = ctx.db.execute(
            "SELECT account, name FROM sqs_queue WHERE account=? AND region=? "
            "AND substr(name, 1, ?) = ? AND name > ? ORDER BY name LIMIT ?",
            (ctx.account, ctx.region, len(prefix), prefix, after, size + 1)).fetchall()
        if not rows:
            return {}
        out = {"QueueUrls": [f"{ctx.endpoint.rstrip('/')}/{r[0]}/{r[1]}" for r in rows[:size]]}
        # Like AWS, a NextToken only when the caller asked for pages.
        if limit is not None and len(rows) > size:
            out["NextToken"] = encode_token(rows[size - 1][1])
        return out

    def list_dead_letter_source_queues(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        limit = request.get("MaxResults")
        size = _page_size(limit, 1000)
        after = decode_token(request["NextToken"], _bad_token) if request.get("NextToken") else ""
        if not isinstance(after, str):
            raise _bad_token()
        rows = ctx.db.execute(
            "SELECT account, name FROM sqs_queue WHERE dlq_arn=? AND account || '/' || name > ? "
            "ORDER BY account, name LIMIT ?", (queue.arn, after, size + 1)).fetchall()
        out = {"queueUrls": [f"{ctx.endpoint.rstrip('/')}/{r[0]}/{r[1]}" for r in rows[:size]]}
        if limit is not None and len(rows) > size:
            last = rows[size - 1]
            out["NextToken"] = encode_token(f"{last[0]}/{last[1]}")
        return out

    # -- attributes ----------------------------------------------------------------------
    def get_queue_attributes(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        names = request.get("AttributeNames") or []
        for name in names:
            if name != "All" and name not in qattrs.ALL_NAMES:
                raise qattrs.unknown_attribute(name)
        if not names:
            return {}
        self._advance_moves(ctx.db, ctx)
        values = self._attribute_values(ctx.db, queue, ctx.now())
        if "All" not in names:
            values = {n: values[n] for n in names if n in values}
        return {"Attributes": values} if values else {}

    def _attribute_values(self, db, queue: Queue, now: float) -> dict[str, str]:
        expire_messages(db, queue, now)
        visible, in_flight, delayed = message_counts(db, queue, now)
        values = {
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            "ApproximateNumberOfMessagesDelayed": str(delayed),
            "CreatedTimestamp": str(int(queue.created)),
            "LastModifiedTimestamp": str(int(queue.modified)),
        }
        values.update(queue.attributes)
        return values

    def set_queue_attributes(self, ctx, request: dict) -> dict:
        db, now = ctx.db, ctx.now()
        queue = queue_for_url(db, ctx, request.get("QueueUrl"))
        changes = qattrs.normalize(dict(request.get("Attributes") or {}), fifo=queue.fifo,
                                   creating=False)
        if not changes:
            return {}
        before = queue.delay_seconds
        queue.attributes = qattrs.apply(queue.attributes, changes, queue.fifo)
        self._check_redrive_target(db, queue, changes)
        save_attributes(db, queue, now)
        if queue.fifo and queue.delay_seconds != before:
            # A FIFO queue's delay is retroactive: it moves the messages not yet received.
            db.execute("UPDATE sqs_message SET visible_at = enqueued_at + ? "
                       "WHERE queue_id=? AND received=0", (queue.delay_seconds, queue.id))
            db.execute("UPDATE sqs_group SET available_at = (SELECT visible_at FROM sqs_message "
                       "WHERE sqs_message.id = sqs_group.head_id) WHERE queue_id=?", (queue.id,))
        NOTIFIER.notify(queue.key)
        return {}

    def _check_redrive_target(self, db, queue: Queue, changes: dict) -> None:
        raw = changes.get("RedrivePolicy")
        if not raw:
            return
        target_arn = json.loads(raw)["deadLetterTargetArn"]
        target = queue_for_arn(db, target_arn)
        if target is None or (target.account, target.region) != (queue.account, queue.region):
            raise invalid_value("RedrivePolicy", raw, "Dead letter target does not exist.")
        if not qattrs.redrive_allows(target.attributes.get("RedriveAllowPolicy"), queue.arn):
            raise invalid_value("RedrivePolicy", raw, "Amazon SQS can't create the redrive "
                                "policy, as the dead-letter queue's redrive allow policy does "
                                "not allow this queue as a source queue.")

    # -- purge ---------------------------------------------------------------------------
    def purge_queue(self, ctx, request: dict) -> dict:
        db, now = ctx.db, ctx.now()
        queue = queue_for_url(db, ctx, request.get("QueueUrl"))
        if queue.purged_at is not None and now - queue.purged_at < PURGE_INTERVAL:
            raise sqs_error("PurgeQueueInProgress", f"Only one PurgeQueue operation on "
                            f"{queue.name} is allowed every 60 seconds.")
        db.execute("DELETE FROM sqs_message WHERE queue_id=?", (queue.id,))
        db.execute("DELETE FROM sqs_group WHERE queue_id=?", (queue.id,))
        db.execute("UPDATE sqs_queue SET n_messages=0, purged_at=? WHERE id=?", (now, queue.id))
        return {}

    # -- tags ----------------------------------------------------------------------------
    @staticmethod
    def _check_tags(tags: dict, name: str) -> None:
        if len(tags) > MAX_TAGS:
            raise invalid_parameter(f"Too many tags added for queue {name}.")
        for key, value in tags.items():
            if not key or len(key) > 128 or len(value or "") > 256 or key.lower().startswith("aws:"):
                raise invalid_parameter(f"Tag key or value is invalid: {key}")

    def tag_queue(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        tags = {**queue.tags, **(request.get("Tags") or {})}
        self._check_tags(tags, queue.name)
        ctx.db.execute("UPDATE sqs_queue SET tags=? WHERE id=?", (json.dumps(tags), queue.id))
        return {}

    def untag_queue(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        drop = set(request.get("TagKeys") or [])
        tags = {k: v for k, v in queue.tags.items() if k not in drop}
        ctx.db.execute("UPDATE sqs_queue SET tags=? WHERE id=?", (json.dumps(tags), queue.id))
        return {}

    def list_queue_tags(self, ctx, request: dict) -> dict:
        queue = queue_for_url(ctx.db, ctx, request.get("QueueUrl"))
        return {"Tags": queue.tags}

    # -- permissions (a generated queue policy) ------------------------------------------
    def add_permission(self, ctx, request: dict) -> dict:
        db = ctx.db
        queue = queue_for_url(db, ctx, request.get("QueueUrl"))
        label = request.get("Label") or ""
        accounts = request.get("AWSAccountIds") or []
        actions = request.get("Actions") or []
        if not _LABEL.fullmatch(label):
            raise invalid_value("Label", label, "Can only include alphanumeric characters, "
                                "hyphens, or underscores. 1 to 80 in length")
        if not accounts:
            raise missing_parameter("AWSAccountIds")
        if not actions:
            raise missing_parameter("Actions")
        for action in actions:
            if action not in ACTIONS:
                raise invalid_value("ActionName", f"SQS:{action}", "Please refer to the "
                                    "appropriate WSDL for a list of valid actions. ")
        if len(actions) > 7:
            raise sqs_error("OverLimit", f"{len(actions)} Actions were found, maximum allowed is 7.")
        for account in accounts:
            if not _ACCOUNT.fullmatch(account):
                raise invalid_value("AWSAccountIds", account, "Invalid account id.")
        policy = self._policy_document(queue)
        if any(s.get("Sid") == label for s in policy["Statement"]):
            raise invalid_value("Label", label, "Already exists.")
        principals = [f"arn:{partition(queue.region)}:iam::{a}:root" for a in accounts]
        policy["Statement"].append({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": f"SQS:{actions[0]}" if len(actions) == 1 else [f"SQS:{a}" for a in actions],
            "Resource": queue.arn,
        })
        queue.attributes["Policy"] = json.dumps(policy, separators=(",", ":"))
        save_attributes(db, queue, ctx.now())
        return {}

    def remove_permission(self, ctx, request: dict) -> dict:
        db = ctx.db
        queue = queue_for_url(db, ctx, request.get("QueueUrl"))
        label = request.get("Label") or ""
        policy = self._policy_document(queue)
        kept = [s for s in policy["Statement"] if s.get("Sid") != label]
        if len(kept) == len(policy["Statement"]):
            raise invalid_value("Label", label, "can't find label.")
        if kept:
            policy["Statement"] = kept
            queue.attributes["Policy"] = json.dumps(policy, separators=(",", ":"))
        else:
            queue.attributes.pop("Policy", None)
        save_attributes(db, queue, ctx.now())
        return {}

    @staticmethod
    def _policy_document(queue: Queue) -> dict:
        raw = queue.attributes.get("Policy")
        policy = json.loads(raw) if raw else {
            "Version": "2008-10-17", "Id": f"{queue.arn}/SQSDefaultPolicy", "Statement": []}
        statements = policy.get("Statement")
        if isinstance(statements, dict):
            statements = [statements]
        policy["Statement"] = list(statements or [])
        return policy
