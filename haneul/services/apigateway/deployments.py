"""Deployments (immutable snapshots of an API, which stages serve) and stages."""

from __future__ import annotations

import re

from haneul.services.apigateway import patch, records
from haneul.services.apigateway.records import bad_request, conflict
from haneul.services.apigateway.restapis import load_api
from haneul.services.base import utcnow

SETTINGS = {
    ("metrics", "enabled"): ("metricsEnabled", "boolean"),
    ("logging", "loglevel"): ("loggingLevel", "string"),
    ("logging", "dataTrace"): ("dataTraceEnabled", "boolean"),
    ("throttling", "burstLimit"): ("throttlingBurstLimit", "integer"),
    ("throttling", "rateLimit"): ("throttlingRateLimit", "double"),
    ("caching", "enabled"): ("cachingEnabled", "boolean"),
    ("caching", "ttlInSeconds"): ("cacheTtlInSeconds", "integer"),
    ("caching", "dataEncrypted"): ("cacheDataEncrypted", "boolean"),
    ("caching", "requireAuthorizationForCacheControl"): ("requireAuthorizationForCacheControl", "boolean"),
    ("caching", "unauthorizedCacheControlHeaderStrategy"): ("unauthorizedCacheControlHeaderStrategy", "string"),
}
DEFAULT_SETTING = {"metricsEnabled": False, "loggingLevel": "OFF", "dataTraceEnabled": False,
                   "throttlingBurstLimit": 5000, "throttlingRateLimit": 10000.0, "cachingEnabled": False,
                   "cacheTtlInSeconds": 300, "cacheDataEncrypted": False,
                   "requireAuthorizationForCacheControl": True,
                   "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER"}
_STAGE_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_VAR_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_VAR_VALUE = re.compile(r"^[A-Za-z0-9\-._~:/?#&=, +]*$")


def take_snapshot(db, ctx, api: dict) -> dict:
    """Everything the data plane needs to serve one deployment."""
    api_id = api["id"]
    return {"api": records.clean(api),
            "resources": records.items(db, ctx, "resource", api_id),
            "authorizers": records.items(db, ctx, "authorizer", api_id),
            "validators": records.items(db, ctx, "requestvalidator", api_id),
            "models": records.items(db, ctx, "model", api_id),
            "gatewayResponses": records.items(db, ctx, "gatewayresponse", api_id)}


def api_summary(resources: list[dict]) -> dict:
    out: dict = {}
    for r in resources:
        for verb, m in (r.get("resourceMethods") or {}).items():
            out.setdefault(r["path"], {})[verb] = {"authorizationType": m.get("authorizationType"),
                                                  "apiKeyRequired": bool(m.get("apiKeyRequired"))}
    return out


def check_variables(variables: dict | None) -> None:
    for k, v in (variables or {}).items():
        if not _VAR_NAME.match(k):
            raise bad_request("Stage variable names must only contain alphanumeric characters and underscores")
        if v is None or not _VAR_VALUE.match(v):
            raise bad_request(f"Invalid value for stage variable {k}: stage variable values may only contain "
                              "alphanumeric characters and the symbols -._~:/?#&=,")


class DeploymentOps:
    def create_deployment(self, ctx, request):
        api = load_api(ctx.db, ctx, request["restApiId"])
        api_id = api["id"]
        snapshot = take_snapshot(ctx.db, ctx, api)
        has_method = False
        for r in snapshot["resources"]:
            for m in (r.get("resourceMethods") or {}).values():
                has_method = True
                if not m.get("methodIntegration"):
                    raise bad_request("No integration defined for method")
        if not has_method:
            raise bad_request("The REST API doesn't contain any methods")
        check_variables(request.get("variables"))
        dep = {"id": records.new_id(6), "description": request.get("description"),
               "createdDate": utcnow(ctx).timestamp()}
        records.put(ctx.db, ctx, "deployment", api_id, dep["id"], dep)
        records.put(ctx.db, ctx, "snapshot", api_id, dep["id"], snapshot)
        name = request.get("stageName")
        if name:
            stage = records.get(ctx.db, ctx, "stage", api_id, name)
            if stage is None:
                self._new_stage(ctx, api_id, {"stageName": name, "deploymentId": dep["id"],
                                              "description": request.get("stageDescription"),
                                              "cacheClusterEnabled": request.get("cacheClusterEnabled"),
                                              "cacheClusterSize": request.get("cacheClusterSize"),
                                              "variables": request.get("variables"),
                                              "canarySettings": request.get("canarySettings"),
                                              "tracingEnabled": request.get("tracingEnabled")})
            else:
                stage["deploymentId"] = dep["id"]
                if request.get("variables"):
                    stage.setdefault("variables", {}).update(request["variables"])
                if request.get("stageDescription"):
                    stage["description"] = request["stageDescription"]
                stage["lastUpdatedDate"] = utcnow(ctx).timestamp()
                records.put(ctx.db, ctx, "stage", api_id, name, stage)
        return records.clean(dep)

    def get_deployment(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        dep = records.must(ctx.db, ctx, "deployment", request["restApiId"], request["deploymentId"],
                           "Invalid Deployment identifier specified")
        out = records.clean(dep)
        if "apisummary" in [e.lower() for e in request.get("embed") or ()]:
            snap = records.get(ctx.db, ctx, "snapshot", request["restApiId"], dep["id"]) or {}
            out["apiSummary"] = api_summary(snap.get("resources") or [])
        return out

    def get_deployments(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        docs = [records.clean(d) for d in records.items(ctx.db, ctx, "deployment", request["restApiId"])]
        return records.page(docs, request)

    def update_deployment(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        dep = records.must(ctx.db, ctx, "deployment", request["restApiId"], request["deploymentId"],
                           "Invalid Deployment identifier specified")
        patch.apply(dep, request.get("patchOperations"), patch.shape_of("GetDeployment"),
                    readonly=("id", "createdDate", "apiSummary"))
        records.put(ctx.db, ctx, "deployment", request["restApiId"], dep["id"], dep)
        return records.clean(dep)

    def delete_deployment(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        records.must(ctx.db, ctx, "deployment", api_id, request["deploymentId"],
                     "Invalid Deployment identifier specified")
        if any(s.get("deploymentId") == request["deploymentId"] for s in records.items(ctx.db, ctx, "stage", api_id)):
            raise bad_request("Active stages pointing to this deployment must be moved or deleted")
        records.delete(ctx.db, ctx, "deployment", api_id, request["deploymentId"])
        records.delete(ctx.db, ctx, "snapshot", api_id, request["deploymentId"])
        return {}

    # -- stages ---------------------------------------------------------------------------
    def _new_stage(self, ctx, api_id: str, request: dict) -> dict:
        name = request["stageName"]
        if not _STAGE_NAME.match(name or ""):
            raise bad_request("Stage name only allows a-zA-Z0-9_-")
        check_variables(request.get("variables"))
        now = utcnow(ctx).timestamp()
        cache = bool(request.get("cacheClusterEnabled"))
        stage = {"deploymentId": request["deploymentId"], "stageName": name,
                 "description": request.get("description"), "cacheClusterEnabled": cache,
                 "cacheClusterStatus": "AVAILABLE" if cache else "NOT_AVAILABLE",
                 "cacheClusterSize": request.get("cacheClusterSize") or ("0.5" if cache else None),
                 "methodSettings": {}, "variables": request.get("variables") or None,
                 "documentationVersion": request.get("documentationVersion"),
                 "canarySettings": request.get("canarySettings"),
                 "tracingEnabled": bool(request.get("tracingEnabled")), "tags": request.get("tags") or None,
                 "createdDate": now, "lastUpdatedDate": now}
        records.put(ctx.db, ctx, "stage", api_id, name, stage)
        return stage

    def create_stage(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        records.must(ctx.db, ctx, "deployment", api_id, request["deploymentId"],
                     "Invalid Deployment identifier specified")
        if records.get(ctx.db, ctx, "stage", api_id, request["stageName"]) is not None:
            raise conflict("Stage already exists")
        return records.clean(self._new_stage(ctx, api_id, request))

    def _stage(self, ctx, request) -> dict:
        load_api(ctx.db, ctx, request["restApiId"])
        return records.must(ctx.db, ctx, "stage", request["restApiId"], request["stageName"],
                            "Invalid Stage identifier specified")

    def get_stage(self, ctx, request):
        return records.clean(self._stage(ctx, request))

    def get_stages(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        stages = records.items(ctx.db, ctx, "stage", request["restApiId"])
        if request.get("deploymentId"):
            stages = [s for s in stages if s.get("deploymentId") == request["deploymentId"]]
        return {"item": [records.clean(s) for s in stages]}

    def update_stage(self, ctx, request):
        api_id = request["restApiId"]
        stage = self._stage(ctx, request)

        def special(d, op, parts, value, path):
            if parts[0] == "variables" and len(parts) == 2:
                variables = d.get("variables") or {}
                if op == "remove":
                    variables.pop(parts[1], None)
                else:
                    check_variables({parts[1]: value})
                    variables[parts[1]] = value
                d["variables"] = variables or None
                return True
            if len(parts) == 4 and (parts[2], parts[3]) in SETTINGS:
                field, kind = SETTINGS[(parts[2], parts[3])]
                key = "*/*" if parts[:2] == ["*", "*"] else f"{parts[0].lstrip('/')}/{parts[1].upper()}"
                settings = d.setdefault("methodSettings", {})
                entry = settings.setdefault(key, dict(DEFAULT_SETTING))
                if op == "remove":
                    entry[field] = DEFAULT_SETTING[field]
                else:
                    entry[field] = patch.coerce(_Kind(kind), value, path)
                return True
            if len(parts) == 2 and parts[1] == "*" and op == "remove":
                d.get("methodSettings", {}).pop(parts[0].lstrip("/") + "/*", None)
                return True
            if len(parts) == 2 and op == "remove" and d.get("methodSettings"):
                d["methodSettings"].pop(f"{parts[0].lstrip('/')}/{parts[1]}", None)
                return True
            if parts == ["deploymentId"] and op == "replace":
                records.must(ctx.db, ctx, "deployment", api_id, value, "Invalid Deployment identifier specified")
            return False
        patch.apply(stage, request.get("patchOperations"), patch.shape_of("GetStage"), special,
                    readonly=("stageName", "createdDate", "lastUpdatedDate", "cacheClusterStatus"))
        if stage.get("cacheClusterEnabled"):
            stage["cacheClusterStatus"] = "AVAILABLE"
            stage.setdefault("cacheClusterSize", "0.5")
        else:
            stage["cacheClusterStatus"] = "NOT_AVAILABLE"
        stage["lastUpdatedDate"] = utcnow(ctx).timestamp()
        records.put(ctx.db, ctx, "stage", api_id, stage["stageName"], stage)
        return records.clean(stage)

    def delete_stage(self, ctx, request):
        self._stage(ctx, request)
        records.delete(ctx.db, ctx, "stage", request["restApiId"], request["stageName"])
        return {}

    def flush_stage_cache(self, ctx, request):
        self._stage(ctx, request)
        return {}

    def flush_stage_authorizers_cache(self, ctx, request):
        self._stage(ctx, request)
        from haneul.services.apigateway import authorizers
        authorizers.flush(ctx.account, request["restApiId"])
        return {}


class _Kind:
    def __init__(self, type_):
        self.type = type_
