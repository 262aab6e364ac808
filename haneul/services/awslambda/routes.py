"""Lambda's plain-HTTP data plane on Haneul's own port (haneul.registry routes here):
function URLs (`<url-id>.lambda-url.<region>.localhost`) and code downloads (GetFunction's
Code.Location)."""

from __future__ import annotations

from haneul.protocol.message import HttpResponse
from haneul.services.awslambda import urls, web


def _response(status: int, headers: dict, body: bytes) -> HttpResponse:
    return HttpResponse(status, list(headers.items()), body)


async def function_url(ctx, req, labels) -> HttpResponse:
    target = req.path + (f"?{req.query}" if req.query else "")
    return _response(*await urls.serve(ctx.app, ctx.store, req.method, target, req.headers, req.body or b""))


async def code_download(ctx, req, labels) -> HttpResponse:
    return _response(*await web.serve_code(ctx.store, req.path))
