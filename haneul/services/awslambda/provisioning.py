"""Provisioned concurrency: the configs in `lambda_provisioned` kept true by the engine.

A config names a version or an alias; the engine starts that many environments of the
version it resolves to (AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency), keeps them
out of idle reaping, replaces one that crashes or times out, and stops them when the
config goes.  Every write that can change what a config means (Put/Delete of the config,
an alias moved or deleted, a version or function deleted) calls `schedule`, which
reconciles the function's configs with the engine once the write has committed.  After a
restart `resume` starts them all again.  Status and the allocated/available figures are
the engine's: IN_PROGRESS until every environment has initialised, then READY (FAILED
with the init error as StatusReason when one cannot start).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math

from haneul.errors import AwsError
from haneul.services.awslambda import names, records

log = logging.getLogger("haneul.lambda")


def schedule(ctx, name: str) -> None:
    """Reconcile `name`'s provisioned environments after the current transaction commits
    (a synchronous operation's transaction ends before the loop runs callbacks)."""
    app, store = ctx.app, ctx.store
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_soon(_reconcile_logged, app, store, ctx.account, ctx.region, name)


def _reconcile_logged(app, store, account: str, region: str, name: str) -> None:
    try:
        reconcile(app, store, account, region, name)
    except Exception:           # a background step: log it, the next write retries
        log.exception("provisioned concurrency of %s could not be reconciled", name)


def reconcile(app, store, account: str, region: str, name: str) -> None:
    from haneul.services.awslambda.engine import engine_for
    from haneul.services.awslambda.invoking import spec_for, system_context
    engine = engine_for(app, store)
    wanted = {}                     # (qualifier, version) -> (spec, environments)
    with store.transaction() as db:
        rows = db.execute("SELECT * FROM lambda_provisioned WHERE account=? AND region=? AND name=?",
                          (account, region, name)).fetchall()
        for row in rows:
            ctx = system_context(app, store, account, region, row["endpoint"] or _endpoint(app))
            try:
                for version, count in split(db, ctx, name, row["qualifier"], row["requested"]):
                    config, code, _ = records.resolve(db, ctx, name, version)
                    wanted[(row["qualifier"], version)] = (spec_for(ctx, config, code), count)
            except AwsError:
                continue
    for key in [k for k in engine.provisions if k[:3] == (account, region, name) and k[3:] not in wanted]:
        engine.unprovision(account, region, name, key[3], key[4])
    for (qualifier, _), (spec, requested) in wanted.items():
        engine.provision(spec, qualifier, requested)


def split(db, ctx, name: str, qualifier: str, requested: int) -> list[tuple[str, int]]:
    """[(version, environments)] a qualifier's provisioned concurrency is allocated as: an
    alias with weighted routing shares it between its versions in proportion to their
    weights, as AWS allocates it (the additional version's share rounded half up)."""
    if names.check_qualifier(qualifier) != "alias":
        return [(qualifier, requested)]
    row = records.alias_row(db, ctx, name, qualifier)
    if row is None:
        raise names.not_found(ctx.account, ctx.region, name, qualifier)
    weights = (json.loads(row["routing"]).get("AdditionalVersionWeights") or {}) if row["routing"] else {}
    shares = {version: min(requested, math.floor(requested * weight + 0.5)) for version, weight in weights.items()}
    shares[row["version"]] = requested - sum(shares.values())
    return [(version, count) for version, count in shares.items() if count > 0]


def _endpoint(app) -> str:
    config = getattr(app, "config", None)
    host, port = getattr(config, "host", "127.0.0.1"), getattr(config, "port", 4566)
    return f"http://{host}:{port}"


async def resume(app) -> None:
    store = app.store
    with store.transaction() as db:
        functions = db.execute("SELECT DISTINCT account, region, name FROM lambda_provisioned").fetchall()
    for row in functions:
        _reconcile_logged(app, store, row["account"], row["region"], row["name"])


def figures(ctx, name: str, qualifier: str, requested: int) -> dict:
    """Status, StatusReason and the allocated/available counts AWS reports."""
    from haneul.services.awslambda.engine import _engines
    engine = _engines.get(ctx.app if ctx.app is not None else ctx.store)
    provs = engine.provisioned(ctx.account, ctx.region, name, qualifier) if engine is not None else []
    return summary(provs, requested)


def summary(provs: list, requested: int) -> dict:
    """The figures of a qualifier's provisions (one per version it routes to).  Allocated
    counts the environments started; once READY an environment that crashed or timed out
    stays allocated while its replacement starts (Status stays READY, as AWS recycles
    environments without reallocating), and only Available dips until it is back."""
    if not provs or sum(p.requested for p in provs) != requested:
        return {"AllocatedProvisionedConcurrentExecutions": 0, "AvailableProvisionedConcurrentExecutions": 0,
                "Status": "IN_PROGRESS"}
    available = sum(1 for p in provs for env in p.envs if env.state != "dead")
    allocated = sum(p.requested if p.status == "READY" else sum(1 for e in p.envs if e.state != "dead")
                    for p in provs)
    failed = [p for p in provs if p.status == "FAILED"]
    status = "FAILED" if failed else "READY" if all(p.status == "READY" for p in provs) else "IN_PROGRESS"
    out = {"AllocatedProvisionedConcurrentExecutions": allocated, "AvailableProvisionedConcurrentExecutions": available,
           "Status": status}
    if failed:
        out["StatusReason"] = failed[0].reason
    return out


def totals(db, account: str, region: str) -> dict[str, int]:
    """Function name -> the sum of its provisioned concurrency."""
    rows = db.execute("SELECT name, SUM(requested) FROM lambda_provisioned WHERE account=? AND region=? "
                      "GROUP BY name", (account, region)).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def unreserved_provisioned(db, account: str, region: str, skip_function: str | None = None,
                           skip_qualifier: str | None = None) -> int:
    """Provisioned concurrency of functions without reserved concurrency: it comes out of
    the account's unreserved pool.  Leaves out one function, or one of its qualifiers."""
    row = db.execute("SELECT COALESCE(SUM(p.requested), 0) FROM lambda_provisioned p JOIN lambda_function f "
                     "ON f.account=p.account AND f.region=p.region AND f.name=p.name WHERE p.account=? AND "
                     "p.region=? AND f.reserved IS NULL AND NOT (p.name IS ? AND (? IS NULL OR p.qualifier=?))",
                     (account, region, skip_function, skip_qualifier, skip_qualifier)).fetchone()
    return int(row[0])
