"""API keys, usage plans and their keys, and usage records (enforced by throttling.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import string

from haneul.services.apigateway import patch, records
from haneul.services.apigateway.records import bad_request, conflict, not_found
from haneul.services.base import utcnow

_KEY_ID = string.ascii_lowercase + string.digits
_KEY_VALUE = string.ascii_letters + string.digits


def key_view(doc: dict, include_value: bool = True) -> dict:
    out = records.clean(doc)
    if not include_value:
        out.pop("value", None)
    return out


def find_key_by_value(db, ctx, value: str) -> dict | None:
    for doc in records.items(db, ctx, "apikey", ""):
        if doc.get("value") == value:
            return doc
    return None


def plans_for_stage(db, ctx, api_id: str, stage: str) -> list[dict]:
    return [p for p in records.items(db, ctx, "usageplan", "")
            if any(s.get("apiId") == api_id and s.get("stage") == stage for s in p.get("apiStages") or ())]


def period_key(quota: dict | None, when: dt.datetime) -> str:
    period = (quota or {}).get("period") or "DAY"
    if period == "MONTH":
        return when.strftime("%Y-%m")
    if period == "WEEK":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    return when.strftime("%Y-%m-%d")


class KeyOps:
    # -- API keys -------------------------------------------------------------------------
    def create_api_key(self, ctx, request):
        value = request.get("value")
        if value is not None and len(value) < 20:
            raise bad_request("API Key value should be at least 20 characters")
        value = value or records.new_id(40, _KEY_VALUE)
        if find_key_by_value(ctx.db, ctx, value) is not None:
            raise conflict("API Key already exists")
        now = utcnow(ctx).timestamp()
        doc = {"id": records.new_id(10, _KEY_ID), "value": value, "name": request.get("name"),
               "customerId": request.get("customerId"), "description": request.get("description"),
               "enabled": bool(request.get("enabled")), "createdDate": now, "lastUpdatedDate": now,
               "stageKeys": [f"{k.get('restApiId')}/{k.get('stageName')}" for k in request.get("stageKeys") or ()],
               "tags": request.get("tags") or None}
        records.put(ctx.db, ctx, "apikey", "", doc["id"], doc)
        return key_view(doc)

    def _key(self, ctx, key_id: str) -> dict:
        return records.must(ctx.db, ctx, "apikey", "", key_id, "Invalid API Key identifier specified")

    def get_api_key(self, ctx, request):
        return key_view(self._key(ctx, request["apiKey"]), bool(request.get("includeValue")))

    def get_api_keys(self, ctx, request):
        docs = records.items(ctx.db, ctx, "apikey", "")
        if request.get("nameQuery"):
            docs = [d for d in docs if (d.get("name") or "").startswith(request["nameQuery"])]
        if request.get("customerId"):
            docs = [d for d in docs if d.get("customerId") == request["customerId"]]
        out = records.page([key_view(d, bool(request.get("includeValues"))) for d in docs], request)
        out["warnings"] = None
        return out

    def update_api_key(self, ctx, request):
        doc = self._key(ctx, request["apiKey"])

        def special(d, op, parts, value, path):
            if parts[0] == "stages":
                keys = d.setdefault("stageKeys", [])
                if op == "add" and value not in keys:
                    keys.append(value)
                elif op == "remove" and value in keys:
                    keys.remove(value)
                return True
            return False
        patch.apply(doc, request.get("patchOperations"), patch.shape_of("GetApiKey"), special,
                    readonly=("id", "createdDate", "lastUpdatedDate", "stageKeys"))
        doc["lastUpdatedDate"] = utcnow(ctx).timestamp()
        records.put(ctx.db, ctx, "apikey", "", doc["id"], doc)
        return key_view(doc)

    def delete_api_key(self, ctx, request):
        doc = self._key(ctx, request["apiKey"])
        records.delete(ctx.db, ctx, "apikey", "", doc["id"])
        for plan in records.items(ctx.db, ctx, "usageplan", ""):
            records.delete(ctx.db, ctx, "usageplankey", plan["id"], doc["id"])
        return {}

    def import_api_keys(self, ctx, request):
        if request.get("format") != "csv":
            raise bad_request("Invalid format specified: only csv is supported")
        body = request.get("body") or b""
        try:
            text = body.decode("utf-8-sig") if isinstance(body, bytes) else body
        except UnicodeDecodeError:
            raise bad_request("Invalid API key file: the body is not UTF-8 text") from None
        rows = list(csv.DictReader(io.StringIO(text)))
        ids, warnings = [], []
        for i, row in enumerate(rows, 2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            value = row.get("key") or row.get("value")
            if not value:
                if request.get("failOnWarnings"):
                    raise bad_request(f"Invalid API key at line {i}: key is missing")
                warnings.append(f"Line {i}: key is missing")
                continue
            created = self.create_api_key(ctx, {"name": row.get("name") or None, "value": value,
                                                "description": row.get("description") or None,
                                                "enabled": row.get("enabled", "").lower() == "true",
                                                "customerId": row.get("customerid") or None})
            ids.append(created["id"])
            for plan_id in filter(None, (row.get("usageplanids") or "").split(",")):
                self.create_usage_plan_key(ctx, {"usagePlanId": plan_id.strip(), "keyId": created["id"],
                                                 "keyType": "API_KEY"})
        return {"ids": ids, "warnings": warnings}

    # -- usage plans ----------------------------------------------------------------------
    def _check_stages(self, ctx, stages: list[dict]) -> None:
        for s in stages:
            api = records.get(ctx.db, ctx, "restapi", "", s.get("apiId") or "")
            if api is None or records.get(ctx.db, ctx, "stage", s["apiId"], s.get("stage") or "") is None:
                raise bad_request(f"Invalid API Stage {{api: {s.get('apiId')}, stage: {s.get('stage')}}} specified "
                                  "for usageplan")

    def create_usage_plan(self, ctx, request):
        stages = request.get("apiStages") or []
        self._check_stages(ctx, stages)
        doc = {"id": records.new_id(6), "name": request["name"], "description": request.get("description"),
               "apiStages": stages, "throttle": request.get("throttle"), "quota": request.get("quota"),
               "tags": request.get("tags") or None}
        _check_quota(doc.get("quota"))
        records.put(ctx.db, ctx, "usageplan", "", doc["id"], doc)
        return records.clean(doc)

    def _plan(self, ctx, plan_id: str) -> dict:
        return records.must(ctx.db, ctx, "usageplan", "", plan_id, "Invalid Usage Plan ID specified")

    def get_usage_plan(self, ctx, request):
        return records.clean(self._plan(ctx, request["usagePlanId"]))

    def get_usage_plans(self, ctx, request):
        docs = records.items(ctx.db, ctx, "usageplan", "")
        if request.get("keyId"):
            docs = [d for d in docs if records.get(ctx.db, ctx, "usageplankey", d["id"], request["keyId"])]
        return records.page([records.clean(d) for d in docs], request)

    def update_usage_plan(self, ctx, request):
        doc = self._plan(ctx, request["usagePlanId"])

        def special(d, op, parts, value, path):
            if parts[0] != "apiStages":
                return False
            stages = d.setdefault("apiStages", [])
            if len(parts) == 1:
                api_id, _, stage = (value or "").partition(":")
                found = [s for s in stages if s.get("apiId") == api_id and s.get("stage") == stage]
                if op == "add":
                    if not found:
                        self._check_stages(ctx, [{"apiId": api_id, "stage": stage}])
                        stages.append({"apiId": api_id, "stage": stage})
                elif op == "remove":
                    if not found:
                        raise not_found(f"Invalid API Stage {{api: {api_id}, stage: {stage}}} specified for "
                                        "usageplan")
                    stages.remove(found[0])
                else:
                    raise bad_request(f"Invalid patch path '{path}' specified for op '{op}'")
                return True
            api_id, _, stage = parts[1].partition(":")
            found = [s for s in stages if s.get("apiId") == api_id and s.get("stage") == stage]
            if not found or len(parts) < 3 or parts[2] != "throttle":
                raise bad_request(f"Invalid patch path '{path}' specified for op '{op}'")
            throttle = found[0].setdefault("throttle", {})
            if len(parts) == 3:
                if op == "remove":
                    found[0].pop("throttle", None)
                return True
            key = parts[3].lstrip("/") + "/" + parts[4] if len(parts) >= 6 else parts[3]
            if op == "remove":
                throttle.pop(key, None)
                return True
            if len(parts) >= 6:
                setting = throttle.setdefault(key, {})
                setting[parts[5]] = patch.coerce(_kind("integer" if parts[5] == "burstLimit" else "double"),
                                                 value, path)
            else:
                import json
                throttle[key] = json.loads(value) if value else {}
            return True
        patch.apply(doc, request.get("patchOperations"), patch.shape_of("GetUsagePlan"), special)
        _check_quota(doc.get("quota"))
        records.put(ctx.db, ctx, "usageplan", "", doc["id"], doc)
        return records.clean(doc)

    def delete_usage_plan(self, ctx, request):
        doc = self._plan(ctx, request["usagePlanId"])
        records.delete(ctx.db, ctx, "usageplan", "", doc["id"])
        records.delete(ctx.db, ctx, "usageplankey", doc["id"])
        ctx.db.execute("DELETE FROM apigw_usage WHERE account=? AND region=? AND plan=?",
                       (ctx.account, ctx.region, doc["id"]))
        return {}

    # -- usage plan keys ------------------------------------------------------------------
    def create_usage_plan_key(self, ctx, request):
        plan = self._plan(ctx, request["usagePlanId"])
        if request.get("keyType") != "API_KEY":
            raise bad_request("Invalid key type specified: only API_KEY is supported")
        key = self._key(ctx, request["keyId"])
        if records.get(ctx.db, ctx, "usageplankey", plan["id"], key["id"]) is not None:
            raise conflict(f"Usage Plan {plan['id']} cannot be added because API Key {key['id']} already "
                           "belongs to this usage plan")
        api_stages = {(s.get("apiId"), s.get("stage")) for s in plan.get("apiStages") or ()}
        for other in records.items(ctx.db, ctx, "usageplan", ""):
            if other["id"] != plan["id"] and records.get(ctx.db, ctx, "usageplankey", other["id"], key["id"]):
                if api_stages & {(s.get("apiId"), s.get("stage")) for s in other.get("apiStages") or ()}:
                    raise conflict(f"Usage Plan {plan['id']} cannot be added because API Key {key['id']} "
                                   f"cannot reference multiple Usage Plans with the same API Stage")
        doc = {"id": key["id"], "type": "API_KEY"}
        records.put(ctx.db, ctx, "usageplankey", plan["id"], key["id"], doc)
        return self._plan_key_view(ctx, doc)

    def _plan_key_view(self, ctx, doc: dict) -> dict:
        key = records.get(ctx.db, ctx, "apikey", "", doc["id"]) or {}
        return records.clean({"id": doc["id"], "type": doc["type"], "value": key.get("value"),
                              "name": key.get("name")})

    def get_usage_plan_key(self, ctx, request):
        self._plan(ctx, request["usagePlanId"])
        doc = records.must(ctx.db, ctx, "usageplankey", request["usagePlanId"], request["keyId"],
                           "Invalid Usage Plan Key identifier specified")
        return self._plan_key_view(ctx, doc)

    def get_usage_plan_keys(self, ctx, request):
        self._plan(ctx, request["usagePlanId"])
        docs = [self._plan_key_view(ctx, d) for d in records.items(ctx.db, ctx, "usageplankey",
                                                                   request["usagePlanId"])]
        if request.get("nameQuery"):
            docs = [d for d in docs if (d.get("name") or "").startswith(request["nameQuery"])]
        return records.page(docs, request)

    def delete_usage_plan_key(self, ctx, request):
        self._plan(ctx, request["usagePlanId"])
        if not records.delete(ctx.db, ctx, "usageplankey", request["usagePlanId"], request["keyId"]):
            raise not_found("Invalid Usage Plan Key identifier specified")
        return {}

    # -- usage ----------------------------------------------------------------------------
    def get_usage(self, ctx, request):
        plan = self._plan(ctx, request["usagePlanId"])
        try:
            start = dt.date.fromisoformat(request["startDate"])
            end = dt.date.fromisoformat(request["endDate"])
        except ValueError:
            raise bad_request("Invalid date format: use yyyy-MM-dd") from None
        if end < start:
            raise bad_request("The end date must be on or after the start date")
        limit = ((plan.get("quota") or {}).get("limit"))
        keys = [d["id"] for d in records.items(ctx.db, ctx, "usageplankey", plan["id"])]
        if request.get("keyId"):
            keys = [k for k in keys if k == request["keyId"]]
        rows = ctx.db.execute("SELECT key_id, period, used FROM apigw_usage WHERE account=? AND region=? AND plan=?",
                              (ctx.account, ctx.region, plan["id"])).fetchall()
        used = {(r[0], r[1]): r[2] for r in rows}
        items = {}
        for key in keys:
            days = []
            day = start
            while day <= end:
                n = used.get((key, day.isoformat()), 0)
                period_used = used.get((key, period_key(plan.get("quota"),
                                                        dt.datetime.combine(day, dt.time()))), n)
                days.append([n, (limit - period_used) if limit is not None else 0])
                day += dt.timedelta(days=1)
            items[key] = days
        return {"usagePlanId": plan["id"], "startDate": request["startDate"], "endDate": request["endDate"],
                "items": items}

    def update_usage(self, ctx, request):
        plan = self._plan(ctx, request["usagePlanId"])
        self._key(ctx, request["keyId"])
        limit = (plan.get("quota") or {}).get("limit")
        for op in request.get("patchOperations") or ():
            if op.get("path") != "/remaining" or op.get("op") != "replace":
                raise bad_request(f"Invalid patch path '{op.get('path')}' specified for op '{op.get('op')}'")
            remaining = int(op.get("value") or 0)
            if limit is None:
                raise bad_request("Usage plan has no quota")
            period = period_key(plan.get("quota"), utcnow(ctx))
            ctx.db.execute("INSERT INTO apigw_usage(account, region, plan, key_id, period, used) VALUES(?,?,?,?,?,?) "
                           "ON CONFLICT(account, region, plan, key_id, period) DO UPDATE SET used=excluded.used",
                           (ctx.account, ctx.region, plan["id"], request["keyId"], period, max(0, limit - remaining)))
        today = utcnow(ctx).date().isoformat()
        return {"usagePlanId": plan["id"], "startDate": today, "endDate": today,
                "items": {request["keyId"]: [[0, 0]]}}


def _check_quota(quota: dict | None) -> None:
    if not quota:
        return
    if quota.get("period") not in ("DAY", "WEEK", "MONTH"):
        raise bad_request("Invalid quota period specified. Valid options are DAY, WEEK, MONTH")
    if quota.get("limit") is None or quota["limit"] < 0:
        raise bad_request("Quota limit must be a non-negative number")


class _kind:  # noqa: N801 - a stand-in shape for patch.coerce
    def __init__(self, type_):
        self.type = type_
