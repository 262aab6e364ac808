"""Long polling: ReceiveMessage waits without blocking the event loop and returns as soon
as a message can be received (sent, made visible, delay over)."""

import asyncio
import threading
import time

import pytest

from haneul.errors import AwsError
from haneul.services.sqs.service import Sqs
from haneul.services.sqs.waiters import NOTIFIER, Notifier
from tests.unit.services.helpers import Harness

ACCOUNT = "123456789012"
KEY = (ACCOUNT, "us-east-1", "q")


@pytest.fixture
def h():
    harness = Harness(Sqs, account=ACCOUNT)
    harness.clock = time.time          # real time: the waits below are real
    return harness


@pytest.fixture
def url(h):
    return h.call("create_queue", {"QueueName": "q"})["QueueUrl"]


def poll(h, url, **kw):
    """A coroutine that long-polls, as the dispatcher would run it."""
    return h.service.receive_message(h.context(), {"QueueUrl": url, **kw})


def test_returns_as_soon_as_a_message_is_sent(h, url):
    async def main():
        task = asyncio.create_task(poll(h, url, WaitTimeSeconds=10))
        await asyncio.sleep(0.2)
        assert not task.done()
        assert NOTIFIER.waiting(KEY) == 1
        h.call("send_message", {"QueueUrl": url, "MessageBody": "hi"})
        started = time.monotonic()
        out = await asyncio.wait_for(task, 2)
        return out, time.monotonic() - started

    out, waited = asyncio.run(main())
    assert [m["Body"] for m in out["Messages"]] == ["hi"]
    assert waited < 0.5
    assert NOTIFIER.waiting(KEY) == 0


def test_waits_the_whole_time_when_nothing_comes_and_never_blocks_the_loop(h, url):
    ticks = []

    async def ticker():
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.05)

    async def main():
        t = asyncio.create_task(ticker())
        started = time.monotonic()
        out = await poll(h, url, WaitTimeSeconds=1)
        t.cancel()
        return out, time.monotonic() - started

    out, waited = asyncio.run(main())
    assert out == {"Messages": []}
    assert 0.95 <= waited < 1.5
    # The loop kept running while the receive waited.
    assert len(ticks) >= 10


def test_wait_time_zero_returns_at_once(h, url):
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"ReceiveMessageWaitTimeSeconds": "20"}})
    started = time.monotonic()
    assert h.call("receive_message", {"QueueUrl": url, "WaitTimeSeconds": 0}) == {"Messages": []}
    assert time.monotonic() - started < 0.2


def test_queue_default_wait_time_applies(h, url):
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"ReceiveMessageWaitTimeSeconds": "1"}})
    started = time.monotonic()
    assert h.call("receive_message", {"QueueUrl": url}) == {"Messages": []}
    assert time.monotonic() - started >= 0.95


def test_wakes_when_an_in_flight_message_becomes_visible(h, url):
    h.call("send_message", {"QueueUrl": url, "MessageBody": "again"})
    assert len(h.call("receive_message", {"QueueUrl": url, "VisibilityTimeout": 1})["Messages"]) == 1
    started = time.monotonic()
    out = h.call("receive_message", {"QueueUrl": url, "WaitTimeSeconds": 5})
    waited = time.monotonic() - started
    assert [m["Body"] for m in out["Messages"]] == ["again"]
    assert 0.5 < waited < 2


def test_wakes_when_a_delay_ends(h, url):
    h.call("send_message", {"QueueUrl": url, "MessageBody": "later", "DelaySeconds": 1})
    started = time.monotonic()
    out = h.call("receive_message", {"QueueUrl": url, "WaitTimeSeconds": 5})
    assert [m["Body"] for m in out["Messages"]] == ["later"]
    assert 0.5 < time.monotonic() - started < 2


def test_wakes_on_change_visibility_to_zero(h, url):
    h.call("send_message", {"QueueUrl": url, "MessageBody": "x"})
    [m] = h.call("receive_message", {"QueueUrl": url, "VisibilityTimeout": 600})["Messages"]

    async def main():
        task = asyncio.create_task(poll(h, url, WaitTimeSeconds=10))
        await asyncio.sleep(0.1)
        h.call("change_message_visibility", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"],
                                             "VisibilityTimeout": 0})
        return await asyncio.wait_for(task, 2)

    assert [x["Body"] for x in asyncio.run(main())["Messages"]] == ["x"]


def test_fifo_long_poll_wakes_when_the_group_is_unblocked(h):
    url = h.call("create_queue", {"QueueName": "f.fifo", "Attributes": {
        "FifoQueue": "true", "ContentBasedDeduplication": "true"}})["QueueUrl"]
    for body in ("first", "second"):
        h.call("send_message", {"QueueUrl": url, "MessageBody": body, "MessageGroupId": "g"})
    [m] = h.call("receive_message", {"QueueUrl": url})["Messages"]

    async def main():
        task = asyncio.create_task(poll(h, url, WaitTimeSeconds=10))
        await asyncio.sleep(0.1)
        assert not task.done()
        h.call("delete_message", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]})
        return await asyncio.wait_for(task, 2)

    assert [x["Body"] for x in asyncio.run(main())["Messages"]] == ["second"]


def test_many_pollers_one_message(h, url):
    async def main():
        tasks = [asyncio.create_task(poll(h, url, WaitTimeSeconds=1)) for _ in range(5)]
        await asyncio.sleep(0.1)
        h.call("send_message", {"QueueUrl": url, "MessageBody": "only"})
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    assert sum(len(r["Messages"]) for r in results) == 1
    assert NOTIFIER.waiting(KEY) == 0


def test_deleting_the_queue_ends_the_poll_with_an_error(h, url):
    async def main():
        task = asyncio.create_task(poll(h, url, WaitTimeSeconds=10))
        await asyncio.sleep(0.1)
        h.call("delete_queue", {"QueueUrl": url})
        return await asyncio.wait_for(task, 2)

    with pytest.raises(AwsError) as e:
        asyncio.run(main())
    assert e.value.code == "QueueDoesNotExist"


def test_cancelled_poll_leaves_no_waiter(h, url):
    async def main():
        task = asyncio.create_task(poll(h, url, WaitTimeSeconds=10))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert NOTIFIER.waiting(KEY) == 0


def test_long_poll_holds_no_transaction_while_waiting(h, url):
    async def main():
        task = asyncio.create_task(poll(h, url, WaitTimeSeconds=1))
        await asyncio.sleep(0.1)
        # Another thread can take the store while the poll waits.
        done = threading.Event()
        threading.Thread(target=lambda: (h.store.run(lambda db: None), done.set())).start()
        assert await asyncio.to_thread(done.wait, 1)
        await task

    asyncio.run(main())


# -- the notifier itself ------------------------------------------------------------------
def test_notifier_wakes_from_another_thread_and_times_out():
    n = Notifier()

    async def main():
        fut = n.subscribe("k")
        threading.Timer(0.05, n.notify, args=("k",)).start()
        woke = await n.wait(fut, 2)
        n.unsubscribe("k", fut)
        fut2 = n.subscribe("k")
        timed_out = not await n.wait(fut2, 0.05)
        n.unsubscribe("k", fut2)
        return woke, timed_out

    assert asyncio.run(main()) == (True, True)
    assert n.waiting("k") == 0


def test_notifier_serves_several_event_loops():
    n = Notifier()

    async def one():
        fut = n.subscribe("k")
        n.notify("k")
        try:
            return await n.wait(fut, 1)
        finally:
            n.unsubscribe("k", fut)

    assert asyncio.run(one()) and asyncio.run(one())
    n.notify("nobody")
