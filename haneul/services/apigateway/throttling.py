"""Throttling (token buckets per stage, method and API key; kept in memory, as rates are)
and usage-plan quotas (counted in the store, so they survive restarts)."""

from __future__ import annotations

import time

from haneul.services.apigateway import keys, records

_BUCKETS: dict[tuple, list] = {}


class Throttled(Exception):
    def __init__(self, response_type: str, message: str):
        super().__init__(message)
        self.response_type = response_type
        self.message = message


def take(key: tuple, rate: float, burst: int) -> bool:
    """One token from the bucket `key` (capacity `burst`, refilled at `rate` per second)."""
    now = time.monotonic()
    key = key + (rate, burst)            # changed limits start a fresh bucket
    bucket = _BUCKETS.get(key)
    if bucket is None:
        if len(_BUCKETS) > 50000:
            _BUCKETS.clear()
        bucket = _BUCKETS[key] = [float(burst), now]
    tokens = min(float(burst), bucket[0] + (now - bucket[1]) * rate)
    bucket[1] = now
    if tokens < 1.0:
        bucket[0] = tokens
        return False
    bucket[0] = tokens - 1.0
    return True


def stage_limits(stage: dict, resource_path: str, verb: str) -> tuple[float, int] | None:
    settings = stage.get("methodSettings") or {}
    key = f"{resource_path.lstrip('/')}/{verb}"
    for candidate in (key, f"{resource_path.lstrip('/')}/*", "*/*"):
        entry = settings.get(candidate)
        if entry and ("throttlingRateLimit" in entry or "throttlingBurstLimit" in entry):
            return float(entry.get("throttlingRateLimit", 10000.0)), int(entry.get("throttlingBurstLimit", 5000))
    return None


def check_stage(account: str, api_id: str, stage: dict, resource_path: str, verb: str) -> None:
    limits = stage_limits(stage, resource_path, verb)
    if limits is None:
        return
    rate, burst = limits
    if not take((account, api_id, stage["stageName"], resource_path, verb), rate, burst):
        raise Throttled("THROTTLED", "Too Many Requests")


def check_key(db, owner, api_id: str, stage_name: str, key_value: str | None, resource_path: str,
              verb: str) -> dict:
    """The API key's record if the key may call this stage; raises otherwise (403 / 429)."""
    if not key_value:
        raise Throttled("INVALID_API_KEY", "Forbidden")
    key = keys.find_key_by_value(db, owner, key_value)
    if key is None or not key.get("enabled"):
        raise Throttled("INVALID_API_KEY", "Forbidden")
    plans = [p for p in keys.plans_for_stage(db, owner, api_id, stage_name)
             if records.get(db, owner, "usageplankey", p["id"], key["id"]) is not None]
    if not plans:
        raise Throttled("INVALID_API_KEY", "Forbidden")
    plan = plans[0]
    throttle = dict(plan.get("throttle") or {})
    for s in plan.get("apiStages") or ():
        if s.get("apiId") == api_id and s.get("stage") == stage_name:
            per_method = (s.get("throttle") or {}).get(f"{resource_path}/{verb}") or \
                (s.get("throttle") or {}).get(f"{resource_path.lstrip('/')}/{verb}")
            if per_method:
                throttle = per_method
    if throttle and ("rateLimit" in throttle or "burstLimit" in throttle):
        rate = float(throttle.get("rateLimit", 10000.0))
        burst = int(throttle.get("burstLimit", max(1, int(rate))))
        if not take(("key", owner.account, plan["id"], key["id"]), rate, burst):
            raise Throttled("THROTTLED", "Too Many Requests")
    quota = plan.get("quota")
    if quota and quota.get("limit") is not None:
        from haneul.services.base import utcnow
        now = utcnow(owner)
        period = keys.period_key(quota, now)
        row = db.execute("SELECT used FROM apigw_usage WHERE account=? AND region=? AND plan=? AND key_id=? AND "
                         "period=?", (owner.account, owner.region, plan["id"], key["id"], period)).fetchone()
        used = row[0] if row else 0
        if used >= quota["limit"]:
            raise Throttled("QUOTA_EXCEEDED", "Limit Exceeded")
        _count(db, owner, plan["id"], key["id"], period)
        day = now.strftime("%Y-%m-%d")
        if day != period:
            _count(db, owner, plan["id"], key["id"], day)
    else:
        from haneul.services.base import utcnow
        _count(db, owner, plan["id"], key["id"], utcnow(owner).strftime("%Y-%m-%d"))
    return key


def _count(db, owner, plan_id: str, key_id: str, period: str) -> None:
    db.execute("INSERT INTO apigw_usage(account, region, plan, key_id, period, used) VALUES(?,?,?,?,?,1) "
               "ON CONFLICT(account, region, plan, key_id, period) DO UPDATE SET used=used+1",
               (owner.account, owner.region, plan_id, key_id, period))
