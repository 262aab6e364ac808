"""Wake-ups for long polls: in-memory signalling only, never state.

A long-polling ReceiveMessage subscribes to its queue's key *before* it looks at the
database, then awaits the subscription with a timeout; SendMessage and anything else that
can make a message receivable notifies the key.  Subscribing first means a notification
that lands between the look and the wait is not lost.

Each subscription is a future of the loop that created it, so one notifier serves any
number of event loops (unit tests run one per test) and may be notified from any thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Hashable


def _wake(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


class Notifier:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[Hashable, set[asyncio.Future]] = {}

    def subscribe(self, key: Hashable) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        with self._lock:
            self._waiters.setdefault(key, set()).add(fut)
        return fut

    def unsubscribe(self, key: Hashable, fut: asyncio.Future) -> None:
        with self._lock:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(fut)
                if not waiters:
                    del self._waiters[key]
        if not fut.done():
            fut.cancel()

    def notify(self, key: Hashable) -> None:
        with self._lock:
            waiters = list(self._waiters.get(key, ()))
        if not waiters:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for fut in waiters:
            loop = fut.get_loop()
            if loop is running:
                _wake(fut)
            elif not loop.is_closed():
                loop.call_soon_threadsafe(_wake, fut)

    def waiting(self, key: Hashable) -> int:
        with self._lock:
            return len(self._waiters.get(key, ()))

    @staticmethod
    async def wait(fut: asyncio.Future, timeout: float) -> bool:
        """True if notified, False if `timeout` seconds passed first."""
        if timeout <= 0:
            return fut.done()
        done, _ = await asyncio.wait({fut}, timeout=timeout)
        return bool(done)


NOTIFIER = Notifier()
