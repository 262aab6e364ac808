"""API Gateway benchmarks: requests through a deployed REST API, replayed by wrk like any
other table entry (run.py / load.py), beside moto and ministack in the same run.

- `apigateway.MOCK`: GET on a method with a MOCK integration and a response template.
- `apigateway.LambdaProxy`: GET through an AWS_PROXY integration to a warm Python function
  that answers a small proxy response.
- `apigateway.S1`: scenario S1 end to end (examples/s1_sync_workflow): POST an order to the
  REST API's AWS integration -> StartSyncExecution of the EXPRESS machine -> Lambda
  validator -> DynamoDB putItem -> response template; 32 rotating order bodies.
- `apigateway.Health@haneul`: GET /_haneul/health, Haneul's cheapest answer, measured
  beside MOCK: the gateway's own cost a request is MOCK's p50 less this p50 at 1
  connection (both pass the same HTTP server, routing and access log).

Deployed APIs are plain HTTP, not AWS API calls: each entry's `raw` builds its request from
what the setup made (load.prepare uses `raw` when an entry has one).  A server's setup tries
the invocation URL forms in turn (`/_aws/execute-api/{api}/{stage}/...`,
`/restapis/{api}/{stage}/_user_request_/...`, and `{api}.execute-api.*` Host headers) and
takes the first that answers as it should; when none does it fails, naming each form's
status, so the tables record what a peer answers.

The setup is made once per server and kept for every connection level (the deployed API
and the functions are read-only; S1's 32 orders are rewritten), so Lambda environments
started in the warm-up stay warm.
"""

from __future__ import annotations

import io
import json
import sys
import time
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "examples" / "s1_sync_workflow")]

from load import RawRequest, send_once  # noqa: E402
from operations import Operation  # noqa: E402

PROXY_HANDLER = ("import json\n"
                 "def handler(event, context):\n"
                 "    return {'statusCode': 200, 'headers': {'Content-Type': 'application/json'},\n"
                 "            'body': json.dumps({'proxied': event['path']})}\n")
ORDERS = 32
_MADE: dict[tuple[str, str], dict] = {}       # (endpoint url, entry) -> setup context


@dataclass(frozen=True)
class DataPlane(Operation):
    """A table entry whose request is plain HTTP to a deployed API."""

    raw: Callable[[Any, dict, int], RawRequest] | None = None   # (endpoint, context, variant) -> request


def _once(kind: str, build: Callable[[Any], dict]) -> Callable[[Any, str], dict]:
    def setup(endpoint: Any, tag: str) -> dict:
        key = (endpoint.url, kind)
        if key not in _MADE:
            try:
                _MADE[key] = build(endpoint)
            except Exception as exc:  # noqa: BLE001 - a peer that cannot: the same answer at every level
                _MADE[key] = exc
        if isinstance(_MADE[key], Exception):
            raise _MADE[key]
        return _MADE[key]
    return setup


def _account(endpoint: Any) -> str:
    """The account the server puts our resources in (moto has its own default), so role
    ARNs are not cross-account."""
    return endpoint.client("sts").get_caller_identity()["Account"]


def _role(endpoint: Any, name: str) -> str:
    """An IAM role Lambda and Step Functions may assume (moto checks that it exists)."""
    iam = endpoint.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
        "Service": ["lambda.amazonaws.com", "states.amazonaws.com", "apigateway.amazonaws.com"]}}]}
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def _forms(url: str, api: str, stage: str, path: str) -> list[tuple[str, str, dict]]:
    """(label, request URL, extra headers) for each invocation URL form."""
    port = urllib.parse.urlsplit(url).port or 80
    return [("/_aws/execute-api", f"{url}/_aws/execute-api/{api}/{stage}{path}", {}),
            ("/restapis/_user_request_", f"{url}/restapis/{api}/{stage}/_user_request_{path}", {}),
            ("host localhost.localstack.cloud", f"{url}/{stage}{path}",
             {"Host": f"{api}.execute-api.localhost.localstack.cloud:{port}"}),
            ("host amazonaws.com", f"{url}/{stage}{path}", {"Host": f"{api}.execute-api.us-east-1.amazonaws.com"})]


def _pick_form(endpoint: Any, api: str, stage: str, path: str, method: str, body: bytes,
               check: Callable[[bytes], str | None]) -> dict:
    tried = []
    for label, url, headers in _forms(endpoint.url, api, stage, path):
        hdrs = dict(headers, **({"Content-Type": "application/json"} if body else {}))
        try:
            status, answer = send_once(RawRequest(method, url, hdrs, body), timeout=30)
        except OSError as exc:
            tried.append(f"{label}: {type(exc).__name__}")
            continue
        if status < 400 and check(answer) is None:
            return {"url": url, "headers": headers, "form": label}
        tried.append(f"{label}: HTTP {status}")
    raise RuntimeError("no invocation URL form answered as expected (" + "; ".join(tried) + ")")


def _rest_method(gw, api_id: str, parent: str, part: str, method: str, integration: dict) -> str:
    res = gw.create_resource(restApiId=api_id, parentId=parent, pathPart=part)
    key = dict(restApiId=api_id, resourceId=res["id"], httpMethod=method)
    gw.put_method(**key, authorizationType="NONE")
    gw.put_integration(**key, **integration)
    return res["id"]


# --- MOCK -------------------------------------------------------------------------------------
def _pong(body: bytes) -> str | None:
    return None if b'"pong"' in body else f"unexpected body: {body[:200]!r}"


def _mock(endpoint: Any) -> dict:
    gw = endpoint.client("apigateway")
    api = gw.create_rest_api(name="bench-mock")
    res = _rest_method(gw, api["id"], api["rootResourceId"], "ping", "GET",
                       {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}})
    key = dict(restApiId=api["id"], resourceId=res, httpMethod="GET")
    gw.put_method_response(**key, statusCode="200")
    gw.put_integration_response(**key, statusCode="200", responseTemplates={"application/json": '{"pong": true}'})
    gw.create_deployment(restApiId=api["id"], stageName="prod")
    return _pick_form(endpoint, api["id"], "prod", "/ping", "GET", b"", _pong)


# --- Lambda proxy -----------------------------------------------------------------------------
def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", source)
    return buf.getvalue()


def _proxied(body: bytes) -> str | None:
    return None if b'"proxied"' in body else f"unexpected body: {body[:200]!r}"


def _lambda_proxy(endpoint: Any) -> dict:
    lam = endpoint.client("lambda")
    arn = lam.create_function(FunctionName="bench-apigw-proxy", Runtime="python3.12", Handler="app.handler",
                              Role=_role(endpoint, "bench-apigw"),
                              Code={"ZipFile": _zip(PROXY_HANDLER)}, Timeout=10)["FunctionArn"]
    for _ in range(100):       # Pending -> Active
        if lam.get_function_configuration(FunctionName=arn).get("State", "Active") == "Active":
            break
        time.sleep(0.1)
    gw = endpoint.client("apigateway")
    api = gw.create_rest_api(name="bench-proxy")
    _rest_method(gw, api["id"], api["rootResourceId"], "hello", "GET", {
        "type": "AWS_PROXY", "integrationHttpMethod": "POST",
        "uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"})
    gw.create_deployment(restApiId=api["id"], stageName="prod")
    return _pick_form(endpoint, api["id"], "prod", "/hello", "GET", b"", _proxied)


# --- S1 ---------------------------------------------------------------------------------------
def _accepted(body: bytes) -> str | None:
    return None if b"ACCEPTED" in body else f"unexpected body: {body[:200]!r}"


def _order(i: int) -> bytes:
    return json.dumps({"orderId": f"o-{i}", "item": ("tea", "coffee", "cake")[i % 3], "qty": 1 + i % 5}).encode()


def _s1(endpoint: Any) -> dict:
    import setup as s1_setup                     # examples/s1_sync_workflow/setup.py
    account = _account(endpoint)
    _role(endpoint, "s1-workflow")               # the role the example's setup names
    made = s1_setup.setup(endpoint.url, account=account)
    parts = urllib.parse.urlsplit(made["rest_url"])
    api, stage, path = parts.path.split("/", 5)[3:6]
    return _pick_form(endpoint, api, stage, "/" + path, "POST", _order(0), _accepted)


def _request(method: str, body: Callable[[int], bytes] | None = None):
    def build(endpoint: Any, ctx: dict, i: int) -> RawRequest:
        data = body(i) if body else b""
        headers = dict(ctx["headers"], **({"Content-Type": "application/json"} if data else {}))
        return RawRequest(method, ctx["url"], headers, data)
    return build


def _healthy(body: bytes) -> str | None:
    return None if b"services" in body or b"running" in body else f"unexpected body: {body[:200]!r}"


OPERATIONS: dict[str, Operation] = {
    "apigateway.MOCK": DataPlane(
        "apigateway", "MOCK", lambda ctx, i: {}, setup=_once("mock", _mock), check=_pong,
        raw=_request("GET"), description="GET on a REST API method with a MOCK integration"),
    "apigateway.LambdaProxy": DataPlane(
        "apigateway", "LambdaProxy", lambda ctx, i: {}, setup=_once("proxy", _lambda_proxy), check=_proxied,
        raw=_request("GET"), description="GET through an AWS_PROXY integration to a warm Python function"),
    "apigateway.S1": DataPlane(
        "apigateway", "S1", lambda ctx, i: {}, setup=_once("s1", _s1), check=_accepted, variants=ORDERS,
        raw=_request("POST", _order),
        description="S1: REST API AWS integration -> StartSyncExecution (Lambda, DynamoDB) -> template"),
    "apigateway.Health@haneul": DataPlane(
        "apigateway", "Health", lambda ctx, i: {}, check=_healthy, servers=("haneul",),
        raw=lambda endpoint, ctx, i: RawRequest("GET", f"{endpoint.url}/_haneul/health", {}, b""),
        description="GET /_haneul/health: the floor MOCK's p50 is compared with"),
}
