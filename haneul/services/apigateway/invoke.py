"""The data plane's entry: a request for a deployed API, in any of its URL forms

    http://{api}.execute-api.localhost:4566/{stage}/{path}     (also *.localhost.localstack.cloud)
    http://localhost:4566/_aws/execute-api/{api}/{stage}/{path}
    http://localhost:4566/restapis/{api}/{stage}/_user_request_/{path}

goes to the REST API (v1) or HTTP API (v2) that owns the id, in whichever account."""

from __future__ import annotations

import orjson

from haneul.protocol.message import HttpResponse
from haneul.services.apigateway import deployment_cache, records


async def handle(ctx, req, labels: dict) -> HttpResponse:
    api_id = labels["api"]
    stage = labels.get("stage")
    path = labels.get("rest") if ("rest" in labels or stage is not None) else req.path
    path = path or "/"
    dispatcher = getattr(ctx.app, "dispatcher", None)
    if dispatcher is not None:          # the services' tables, before the first lookup
        dispatcher.service("apigateway")
        dispatcher.service("apigatewayv2")
    owner = deployment_cache.known_owner(api_id)
    if owner is None:
        with records.reading(ctx.store) as db:
            owner = deployment_cache.owner_of(db, api_id)
    if owner is None:
        return HttpResponse(404, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "NotFoundException"),
                                  ("x-amzn-RequestId", ctx.request_id)],
                            orjson.dumps({"message": f"The API id '{api_id}' does not correspond to a deployed API "
                                                     "Gateway API"}))
    kind, account, region = owner
    if kind == "rest":
        from haneul.services.apigateway import restplane
        if stage is None:
            stage, _, rest = path.lstrip("/").partition("/")
            path = "/" + rest
        return await restplane.serve(ctx, req, api_id, account, region, stage, path)
    from haneul.services.apigatewayv2 import httpplane
    return await httpplane.serve(ctx, req, api_id, account, region, stage, path)
