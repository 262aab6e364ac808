"""No call slows down as a queue grows: every statement the hot operations run is an
index search (checked with EXPLAIN QUERY PLAN), and they stay fast on 100k messages."""

import time

import pytest

from haneul.services.sqs.service import Sqs
from tests.unit.services.helpers import Harness

N = 100_000


def fill(h, url, fifo: bool):
    """Insert N messages straight into the table (the service's own send is tested
    elsewhere; this keeps the test quick)."""
    db = h.store.conn
    queue_id = db.execute("SELECT id FROM sqs_queue WHERE name=?", (url.rsplit("/", 1)[1],)).fetchone()[0]
    now = h.clock()
    with h.store.transaction() as db:
        db.executemany(
            "INSERT INTO sqs_message(queue_id, message_id, body, md5_body, sender_id, sent_ms, "
            "enqueued_at, visible_at, group_id, dedup_id, sequence_number) "
            "VALUES (?, ?, 'x', '9dd4e461268c8034f5c8564e155c67a6', 's', ?, ?, ?, ?, ?, ?)",
            ((queue_id, f"m{i}", int(now * 1000), now, now,
              ("hot" if i < N // 2 else f"g{i}") if fifo else None,
              f"d{i}" if fifo else None, str(10**19 + i) if fifo else None) for i in range(N)))
        db.execute("UPDATE sqs_queue SET n_messages=? WHERE id=?", (N, queue_id))
        if fifo:
            db.execute("INSERT INTO sqs_group(queue_id, group_id, head_id, available_at) "
                       "SELECT queue_id, group_id, MIN(id), ? FROM sqs_message WHERE queue_id=? "
                       "GROUP BY group_id", (now, queue_id))


@pytest.fixture(scope="module", params=[False, True], ids=["standard", "fifo"])
def big(request):
    h = Harness(Sqs)
    fifo = request.param
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    url = h.call("create_queue", {"QueueName": "big.fifo" if fifo else "big",
                                  "Attributes": attributes})["QueueUrl"]
    fill(h, url, fifo)
    # FIFO: put the hot group's head in flight, so 49,999 messages sit behind a block.
    h.call("receive_message", {"QueueUrl": url})
    return h, url, fifo


def operations(h, url, fifo):
    send = {"QueueUrl": url, "MessageBody": "new"}
    if fifo:
        send["MessageGroupId"] = "fresh"
    yield "send", lambda: h.call("send_message", send)
    yield "receive", lambda: h.call("receive_message", {"QueueUrl": url, "MaxNumberOfMessages": 10})
    yield "attributes", lambda: h.call("get_queue_attributes", {"QueueUrl": url, "AttributeNames": ["All"]})

    def receive_and_delete():
        for m in h.call("receive_message", {"QueueUrl": url, "MaxNumberOfMessages": 3})["Messages"]:
            h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]})
    yield "receive+delete", receive_and_delete

    def receive_and_change():
        for m in h.call("receive_message", {"QueueUrl": url})["Messages"]:
            h.call("change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                                 "VisibilityTimeout": 5})
    yield "receive+change visibility", receive_and_change


def test_every_statement_uses_an_index(big):
    h, url, fifo = big
    statements = []
    h.store.conn.set_trace_callback(statements.append)
    try:
        for _, op in operations(h, url, fifo):
            op()
    finally:
        h.store.conn.set_trace_callback(None)
    checked = 0
    for sql in statements:
        head = sql.lstrip().split(None, 1)[0].upper()
        if head not in ("SELECT", "UPDATE", "DELETE"):
            continue
        plan = " | ".join(r[3] for r in h.store.conn.execute("EXPLAIN QUERY PLAN " + sql))
        checked += 1
        assert "SCAN sqs_message" not in plan, (sql, plan)
        assert "SCAN sqs_group" not in plan, (sql, plan)
        assert "TEMP B-TREE" not in plan, (sql, plan)
    assert checked > 20


def test_hot_operations_stay_fast_on_100k_messages(big):
    h, url, fifo = big
    for name, op in operations(h, url, fifo):
        op()                                 # warm up
        started = time.perf_counter()
        for _ in range(20):
            op()
        per_call = (time.perf_counter() - started) / 20
        # Generous for a slow CI machine; a scan of 100k rows takes tens of milliseconds.
        assert per_call < 0.01, (name, per_call)


def test_counts_are_right_on_a_big_queue(big):
    h, url, fifo = big
    got = h.call("get_queue_attributes", {"QueueUrl": url, "AttributeNames": ["All"]})["Attributes"]
    total = sum(int(got[k]) for k in ("ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible",
                                      "ApproximateNumberOfMessagesDelayed"))
    rows = h.store.conn.execute("SELECT COUNT(*) FROM sqs_message").fetchone()[0]
    assert total == rows
