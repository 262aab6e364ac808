"""Amazon DynamoDB.  `start(app)` / `stop(app)` are the server's startup and shutdown hooks:
they run the TTL sweeper (ttl.py), which deletes expired items in the background."""

from __future__ import annotations

import asyncio

_sweepers: dict = {}


async def start(app) -> None:
    from haneul.services.dynamodb import ttl
    app.dispatcher.service("dynamodb")          # make sure the tables exist
    old = _sweepers.pop(app, None)
    if old is not None:
        old.cancel()
    _sweepers[app] = asyncio.ensure_future(ttl.run(app.store))


async def stop(app) -> None:
    task = _sweepers.pop(app, None)
    if task is not None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
