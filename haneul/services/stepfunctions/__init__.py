"""AWS Step Functions: the service (service.py) over the pure States Language engine (asl/)."""

from __future__ import annotations


async def resume_all(app) -> None:
    """Resume every STANDARD execution left RUNNING by a previous process (server startup)."""
    from haneul.services.stepfunctions.runner import resume_all as _resume
    await _resume(app)
