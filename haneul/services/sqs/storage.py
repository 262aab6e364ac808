"""SQS tables and the small SQL helpers every operation shares.

Messages live in one table.  A message is *visible* when visible_at <= now; otherwise it
is *delayed* (never received) or *in flight* (received).  The index (queue_id, visible_at)
(with the rowid, its implicit last column) makes receiving and finding the next wake-up
time O(log n); (queue_id, received, visible_at) counts the invisible messages without
touching the table; the queue row keeps the total, so ApproximateNumberOfMessages =
total - invisible never scans the visible backlog.

FIFO queues keep one row per message group in sqs_group: the group's oldest message
(head_id) and when it becomes receivable (available_at = the head's visible_at).  A group
whose head is in flight or delayed is blocked; receiving picks the groups with
available_at <= now in O(log n) whatever the backlog of blocked groups.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import sqlite3
from dataclasses import dataclass, field

from haneul.services.sqs import attributes as qattrs
from haneul.services.sqs.errors import queue_does_not_exist, receipt_handle_invalid
from haneul.services.sqs.urls import parse_queue_url, queue_arn, queue_url

SCHEMA = [
    """
CREATE TABLE sqs_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    fifo INTEGER NOT NULL DEFAULT 0,
    attributes TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}',
    dlq_arn TEXT,
    created REAL NOT NULL,
    modified REAL NOT NULL,
    purged_at REAL,
    sequence INTEGER NOT NULL DEFAULT 0,
    n_messages INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, region, name));
CREATE INDEX sqs_queue_dlq ON sqs_queue(dlq_arn);
CREATE TABLE sqs_message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id INTEGER NOT NULL REFERENCES sqs_queue(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    md5_body TEXT NOT NULL,
    attributes TEXT,
    system_attributes TEXT,
    sender_id TEXT NOT NULL,
    sent_ms INTEGER NOT NULL,
    enqueued_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_ms INTEGER,
    last_receive_at REAL,
    receipt TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    group_id TEXT,
    dedup_id TEXT,
    sequence_number TEXT,
    dlq_source_arn TEXT);
CREATE INDEX sqs_message_visible ON sqs_message(queue_id, visible_at);
CREATE INDEX sqs_message_state ON sqs_message(queue_id, received, visible_at);
CREATE INDEX sqs_message_enqueued ON sqs_message(queue_id, enqueued_at);
CREATE INDEX sqs_message_group ON sqs_message(queue_id, group_id, id);
CREATE TABLE sqs_group (
    queue_id INTEGER NOT NULL REFERENCES sqs_queue(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL,
    head_id INTEGER NOT NULL,
    available_at REAL NOT NULL,
    PRIMARY KEY (queue_id, group_id)) WITHOUT ROWID;
CREATE INDEX sqs_group_available ON sqs_group(queue_id, available_at, head_id);
CREATE TABLE sqs_dedup (
    queue_id INTEGER NOT NULL REFERENCES sqs_queue(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sequence_number TEXT,
    expires_at REAL NOT NULL,
    PRIMARY KEY (queue_id, scope, dedup_id)) WITHOUT ROWID;
CREATE INDEX sqs_dedup_expiry ON sqs_dedup(queue_id, expires_at);
CREATE TABLE sqs_receive_attempt (
    queue_id INTEGER NOT NULL REFERENCES sqs_queue(id) ON DELETE CASCADE,
    attempt_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    messages TEXT NOT NULL,
    PRIMARY KEY (queue_id, attempt_id)) WITHOUT ROWID;
CREATE INDEX sqs_receive_attempt_expiry ON sqs_receive_attempt(queue_id, expires_at);
CREATE TABLE sqs_move_task (
    task_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    source_arn TEXT NOT NULL,
    destination_arn TEXT,
    rate INTEGER,
    status TEXT NOT NULL,
    started_at REAL NOT NULL,
    to_move INTEGER NOT NULL,
    moved INTEGER NOT NULL DEFAULT 0,
    failure_reason TEXT);
CREATE INDEX sqs_move_task_source ON sqs_move_task(account, region, source_arn, started_at);
CREATE INDEX sqs_move_task_status ON sqs_move_task(account, region, status)
""",
]

DEDUP_INTERVAL = 300.0            # FIFO deduplication window (5 minutes)
RECEIVE_ATTEMPT_INTERVAL = 300.0  # ReceiveRequestAttemptId is usable for 5 minutes
_RECEIPT_PREFIX = "HnL1"


@dataclass
class Queue:
    id: int
    account: str
    region: str
    name: str
    fifo: bool
    attributes: dict[str, str]
    tags: dict[str, str]
    created: float
    modified: float
    purged_at: float | None
    n_messages: int
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Queue":
        return cls(row["id"], row["account"], row["region"], row["name"], bool(row["fifo"]),
                   json.loads(row["attributes"]), json.loads(row["tags"]), row["created"],
                   row["modified"], row["purged_at"], row["n_messages"])

    @property
    def arn(self) -> str:
        return queue_arn(self.region, self.account, self.name)

    @property
    def key(self) -> tuple[str, str, str]:
        """The long-poll wake-up key."""
        return (self.account, self.region, self.name)

    def url(self, endpoint: str) -> str:
        return queue_url(endpoint, self.account, self.name)

    def int_attr(self, name: str) -> int:
        return int(self.attributes.get(name, qattrs.DEFAULTS.get(name, "0")))

    @property
    def visibility_timeout(self) -> int:
        return self.int_attr("VisibilityTimeout")

    @property
    def delay_seconds(self) -> int:
        return self.int_attr("DelaySeconds")

    @property
    def retention(self) -> int:
        return self.int_attr("MessageRetentionPeriod")

    @property
    def maximum_message_size(self) -> int:
        return self.int_attr("MaximumMessageSize")

    @property
    def wait_time(self) -> int:
        return self.int_attr("ReceiveMessageWaitTimeSeconds")

    @property
    def redrive_policy(self) -> dict | None:
        raw = self.attributes.get("RedrivePolicy")
        return json.loads(raw) if raw else None

    @property
    def content_based_deduplication(self) -> bool:
        return self.attributes.get("ContentBasedDeduplication") == "true"

    @property
    def dedup_by_group(self) -> bool:
        return self.attributes.get("DeduplicationScope") == "messageGroup"


# -- queues ------------------------------------------------------------------------------
def find_queue(db: sqlite3.Connection, account: str, region: str, name: str) -> Queue | None:
    row = db.execute("SELECT * FROM sqs_queue WHERE account=? AND region=? AND name=?",
                     (account, region, name)).fetchone()
    return Queue.from_row(row) if row else None


def queue_for_url(db: sqlite3.Connection, ctx, url: str) -> Queue:
    parsed = parse_queue_url(url, ctx.account)
    queue = find_queue(db, parsed[0], ctx.region, parsed[1]) if parsed else None
    if queue is None:
        raise queue_does_not_exist(ctx)
    return queue


def queue_for_arn(db: sqlite3.Connection, arn: str) -> Queue | None:
    parts = (arn or "").split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return None
    return find_queue(db, parts[4], parts[3], parts[5])


def save_attributes(db: sqlite3.Connection, queue: Queue, now: float) -> None:
    policy = queue.redrive_policy
    db.execute("UPDATE sqs_queue SET attributes=?, dlq_arn=?, modified=? WHERE id=?",
               (json.dumps(queue.attributes), policy["deadLetterTargetArn"] if policy else None,
                now, queue.id))
    queue.modified = now


def adjust_count(db: sqlite3.Connection, queue_id: int, delta: int) -> None:
    if delta:
        db.execute("UPDATE sqs_queue SET n_messages = n_messages + ? WHERE id=?", (delta, queue_id))


def next_sequence_number(db: sqlite3.Connection, queue: Queue) -> str:
    """FIFO sequence numbers: 20 digits, strictly increasing within the queue, like AWS's."""
    seq = db.execute("UPDATE sqs_queue SET sequence = sequence + 1 WHERE id=? RETURNING sequence",
                     (queue.id,)).fetchone()[0]
    return str(18_000_000_000_000_000_000 + seq * 1000)


# -- counts and housekeeping -------------------------------------------------------------
def message_counts(db: sqlite3.Connection, queue: Queue, now: float) -> tuple[int, int, int]:
    """(visible, in flight, delayed), counting only the invisible messages."""
    in_flight, delayed = (db.execute(
        "SELECT COUNT(*) FROM sqs_message WHERE queue_id=? AND received=? AND visible_at > ?",
        (queue.id, received, now)).fetchone()[0] for received in (1, 0))
    total = db.execute("SELECT n_messages FROM sqs_queue WHERE id=?", (queue.id,)).fetchone()[0]
    return max(total - in_flight - delayed, 0), in_flight, delayed


def expire_messages(db: sqlite3.Connection, queue: Queue, now: float) -> int:
    """Drop the messages older than MessageRetentionPeriod (an index probe when none is)."""
    cutoff = now - queue.retention
    if db.execute("SELECT 1 FROM sqs_message WHERE queue_id=? AND enqueued_at <= ? LIMIT 1",
                  (queue.id, cutoff)).fetchone() is None:
        return 0
    groups = [r[0] for r in db.execute(
        "SELECT DISTINCT group_id FROM sqs_message WHERE queue_id=? AND enqueued_at <= ? "
        "AND group_id IS NOT NULL", (queue.id, cutoff))] if queue.fifo else []
    n = db.execute("DELETE FROM sqs_message WHERE queue_id=? AND enqueued_at <= ?",
                   (queue.id, cutoff)).rowcount
    adjust_count(db, queue.id, -n)
    for group in groups:
        refresh_group(db, queue.id, group)
    return n


def refresh_group(db: sqlite3.Connection, queue_id: int, group_id: str | None) -> None:
    """Recompute a FIFO group's head after any change to its messages."""
    if group_id is None:
        return
    head = db.execute("SELECT id, visible_at FROM sqs_message WHERE queue_id=? AND group_id=? "
                      "ORDER BY id LIMIT 1", (queue_id, group_id)).fetchone()
    if head is None:
        db.execute("DELETE FROM sqs_group WHERE queue_id=? AND group_id=?", (queue_id, group_id))
    else:
        db.execute("INSERT INTO sqs_group(queue_id, group_id, head_id, available_at) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT(queue_id, group_id) DO UPDATE SET "
                   "head_id=excluded.head_id, available_at=excluded.available_at",
                   (queue_id, group_id, head[0], head[1]))


def next_wake(db: sqlite3.Connection, queue: Queue, now: float) -> float | None:
    """When the next invisible message (FIFO: group) becomes receivable, if ever."""
    if queue.fifo:
        row = db.execute("SELECT MIN(available_at) FROM sqs_group WHERE queue_id=? "
                         "AND available_at > ?", (queue.id, now)).fetchone()
    else:
        row = db.execute("SELECT MIN(visible_at) FROM sqs_message WHERE queue_id=? "
                         "AND visible_at > ?", (queue.id, now)).fetchone()
    return row[0] if row else None


def delete_message_row(db: sqlite3.Connection, queue: Queue, row: sqlite3.Row) -> None:
    db.execute("DELETE FROM sqs_message WHERE id=?", (row["id"],))
    adjust_count(db, queue.id, -1)
    if queue.fifo:
        refresh_group(db, queue.id, row["group_id"])


# -- receipt handles ---------------------------------------------------------------------
def new_receipt_token() -> str:
    return secrets.token_hex(12)


def encode_receipt(queue_id: int, row_id: int, token: str) -> str:
    raw = f"{_RECEIPT_PREFIX}:{queue_id}:{row_id}:{token}".encode()
    return base64.b64encode(raw).decode()


def decode_receipt(handle: str, queue: Queue) -> tuple[int, str]:
    """(message row id, token); ReceiptHandleIsInvalid if the handle is not one of ours or
    belongs to another queue."""
    try:
        prefix, queue_id, row_id, token = base64.b64decode(
            handle.encode(), validate=True).decode().split(":")
        if prefix != _RECEIPT_PREFIX or int(queue_id) != queue.id:
            raise ValueError
        return int(row_id), token
    except (ValueError, binascii.Error, UnicodeError, AttributeError):
        raise receipt_handle_invalid(handle) from None


# -- message attributes (stored as JSON, binaries in base64) -----------------------------
def dump_attributes(attributes: dict | None) -> str | None:
    if not attributes:
        return None
    out = {}
    for name, attr in attributes.items():
        if attr.get("BinaryValue") is not None:
            out[name] = {"DataType": attr["DataType"],
                         "BinaryValue": base64.b64encode(attr["BinaryValue"]).decode()}
        else:
            out[name] = {"DataType": attr["DataType"], "StringValue": attr["StringValue"]}
    return json.dumps(out)


def load_attributes(raw: str | None) -> dict:
    if not raw:
        return {}
    out = json.loads(raw)
    for attr in out.values():
        if "BinaryValue" in attr:
            attr["BinaryValue"] = base64.b64decode(attr["BinaryValue"])
    return out
