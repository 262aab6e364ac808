"""AWS Lambda.  `start(app)` / `stop(app)` are the server's startup and shutdown hooks:
start resumes queued asynchronous invocations, SQS pollers and provisioned concurrency
after a restart; stop kills every execution environment and background task."""

from __future__ import annotations


async def start(app) -> None:
    import os
    import shutil
    from haneul.services.awslambda import invoking, mappings, provisioning
    app.dispatcher.service("lambda")          # make sure the tables exist
    # environments never outlive the server: folders left by a crash go
    shutil.rmtree(os.path.join(app.store.data_dir, "lambda", "envs"), ignore_errors=True)
    await invoking.resume(app)
    await mappings.resume(app)
    await provisioning.resume(app)


async def stop(app) -> None:
    from haneul.services.awslambda.engine import _engines
    for owner in (app, getattr(app, "store", None)):
        engine = _engines.pop(owner, None) if owner is not None else None
        if engine is not None:
            await engine.close()
