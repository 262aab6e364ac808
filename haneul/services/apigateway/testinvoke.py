"""TestInvokeMethod: a method run once against the API as it is now (not a deployment),
without authorization or API keys, with the stage variables given."""

from __future__ import annotations

import time

from haneul.protocol.message import HttpRequest
from haneul.services.apigateway import deployment_cache, integrations, records
from haneul.services.apigateway.deployments import take_snapshot
from haneul.services.apigateway.restapis import load_api, load_method


class TestInvokeOps:
    async def test_invoke_method(self, ctx, request):
        from haneul.services.apigateway import restplane
        with ctx.store.transaction() as db:
            ctx.db = db
            try:
                api = load_api(db, ctx, request["restApiId"])
                resource, _ = load_method(db, ctx, request)
                dep = deployment_cache.Compiled(take_snapshot(db, ctx, api))
            finally:
                ctx.db = None
        target = request.get("pathWithQueryString") or resource["path"]
        path, _, query = target.partition("?")
        headers = {k.lower(): v for k, v in (request.get("headers") or {}).items()}
        for k, values in (request.get("multiValueHeaders") or {}).items():
            headers[k.lower()] = ",".join(values)
        body = (request.get("body") or "").encode()
        req = HttpRequest(request["httpMethod"].upper(), path, query, headers, body, ctx.host, "http")
        stage = {"stageName": "test-invoke-stage", "deploymentId": "test-invoke-deployment-id",
                 "variables": request.get("stageVariables") or {}}
        owner = integrations.owner_context(ctx, ctx.account, ctx.region)
        started = time.perf_counter()
        resp = await restplane.run(ctx, owner, req, dep, stage, api["id"], path, test=True)
        latency = int((time.perf_counter() - started) * 1000)
        out_headers: dict = {}
        multi: dict = {}
        for k, v in resp.headers:
            out_headers[k] = v
            multi.setdefault(k, []).append(v)
        data = resp.body if isinstance(resp.body, (bytes, bytearray)) else b""
        log = (f"Execution log for request {ctx.request_id}\nMethod request path: {path}\n"
               f"Method completed with status: {resp.status}\n")
        return {"status": resp.status, "body": bytes(data).decode("utf-8", "replace"), "headers": out_headers,
                "multiValueHeaders": multi, "log": log, "latency": latency}


__all__ = ["TestInvokeOps", "records"]
