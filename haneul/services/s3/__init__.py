"""Amazon S3.  `start(app)` / `stop(app)` run S3's background work: a periodic sweep that
applies lifecycle rules (expirations, transitions, aborted uploads), completes and expires
restores of archived objects, and removes leftover temp files.

The interval is HANEUL_S3_SWEEP_SECONDS (default 60); `lifecycle.sweep(store, now)` is the
same pass with an explicit clock, for tests.  A restore's completion is also checked when it
falls due (`complete_restores`), so its notification does not wait for the next sweep.
"""

from __future__ import annotations

import asyncio
import logging
import os

log = logging.getLogger("haneul.s3")
_sweepers: dict[int, asyncio.Task] = {}


def _interval() -> float:
    try:
        return max(0.05, float(os.environ.get("HANEUL_S3_SWEEP_SECONDS", "60")))
    except ValueError:
        return 60.0


async def sweep_once(app, now: float | None = None) -> list:
    """One pass: lifecycle rules, their event notifications, and stale temp files."""
    from haneul.services.s3 import lifecycle
    store = app.store
    events = await asyncio.to_thread(lifecycle.sweep, store, now)
    await asyncio.to_thread(lifecycle.clean_temp_files, store, now)
    if events and getattr(app, "dispatcher", None) is not None:
        _notify(app, events)
    return events


async def complete_restores(app, now: float | None = None) -> list:
    """The restore part of the sweep alone, run when a restore falls due."""
    from haneul.services.s3 import lifecycle
    try:
        events = await asyncio.to_thread(lifecycle.sweep_restores, app.store, now)
    except Exception:
        log.exception("completing S3 restores failed")
        return []
    if events and getattr(app, "dispatcher", None) is not None:
        _notify(app, events)
    return events


def _notify(app, events: list) -> None:
    from haneul.context import Principal, RequestContext
    svc = app.dispatcher.service("s3")
    for bucket, key, event, version_id in events:
        ctx = RequestContext(account="", region="", store=app.store, app=app,
                             principal=Principal(access_key="", account="", user_id="s3.amazonaws.com"))
        try:
            svc.notify(ctx, bucket, key, event, version_id=version_id)
        except Exception:
            log.exception("lifecycle notification for s3://%s/%s failed", bucket, key)


async def _run(app) -> None:
    interval = _interval()
    while True:
        await asyncio.sleep(interval)
        try:
            await sweep_once(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the S3 lifecycle sweep failed")


async def start(app) -> None:
    if id(app) not in _sweepers:
        _sweepers[id(app)] = asyncio.get_running_loop().create_task(_run(app))


async def stop(app) -> None:
    task = _sweepers.pop(id(app), None)
    if task is not None:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
