"""HTTP APIs (apigatewayv2) over real HTTP: Lambda proxy payload 2.0 and 1.0, HTTP_PROXY,
the Step Functions / SQS / EventBridge subtypes, $default and named stages, CORS, JWT
authorizers against a JWKS served on 127.0.0.1, Lambda authorizers with simple responses."""

from __future__ import annotations

import base64
import http.server
import io
import json
import threading
import time
import zipfile

import pytest

from haneul.testing import make_client
from tests.e2e.test_apigateway_server import call, gw_server  # noqa: F401 - fixture

HANDLERS = '''
import json

def v2(event, context):
    return {"statusCode": 200, "headers": {"X-Route": event["routeKey"]}, "cookies": ["a=1"],
            "body": json.dumps({"version": event["version"], "rawPath": event["rawPath"],
                                "path": event.get("pathParameters"), "query": event.get("queryStringParameters"),
                                "body": event.get("body"), "stage": event["requestContext"]["stage"],
                                "auth": event["requestContext"].get("authorizer")})}

def bare(event, context):
    return {"just": "a document"}

def v1(event, context):
    return {"statusCode": 202, "body": json.dumps({"version": event["version"], "resource": event["resource"],
                                                   "method": event["httpMethod"]})}

def auth(event, context):
    token = (event.get("headers") or {}).get("x-token")
    return {"isAuthorized": token == "let-me-in", "context": {"user": "alice", "n": 7}}
'''


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", source)
    return buf.getvalue()


ACCOUNT = "123412341277"


@pytest.fixture(scope="module")
def clients(gw_server):
    return {name: make_client(gw_server.endpoint, name, ACCOUNT) for name in
            ("apigatewayv2", "lambda", "stepfunctions", "sqs")}


@pytest.fixture(scope="module")
def functions(clients):
    lam = clients["lambda"]
    arns = {}
    for name in ("v2", "bare", "v1", "auth"):
        arns[name] = lam.create_function(FunctionName=f"http-{name}", Runtime="python3.12",
                                         Role=f"arn:aws:iam::{ACCOUNT}:role/r", Handler=f"app.{name}",
                                         Code={"ZipFile": _zip(HANDLERS)}, Timeout=10)["FunctionArn"]
    return arns


def _url(gw_server, api, path):
    return f"{gw_server.endpoint}/_aws/execute-api/{api['ApiId']}{path}"


def _lambda(v2, api, arn, version="2.0"):
    return v2.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=arn,
                                 PayloadFormatVersion=version)["IntegrationId"]


def test_lambda_routes_stages_and_quick_create(gw_server, clients, functions):
    v2 = clients["apigatewayv2"]
    api = v2.create_api(Name="h", ProtocolType="HTTP")
    i2 = _lambda(v2, api, functions["v2"])
    i1 = _lambda(v2, api, functions["v1"], "1.0")
    ib = _lambda(v2, api, functions["bare"])
    v2.create_route(ApiId=api["ApiId"], RouteKey="GET /items/{id}", Target=f"integrations/{i2}")
    v2.create_route(ApiId=api["ApiId"], RouteKey="ANY /files/{path+}", Target=f"integrations/{i1}")
    v2.create_route(ApiId=api["ApiId"], RouteKey="$default", Target=f"integrations/{ib}")
    v2.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    status, headers, body = call(_url(gw_server, api, "/items/9?a=1&a=2"), "GET")
    assert status == 200 and headers["x-route"] == "GET /items/{id}" and headers["set-cookie"] == "a=1"
    assert json.loads(body) == {"version": "2.0", "rawPath": "/items/9", "path": {"id": "9"},
                                "query": {"a": "1,2"}, "body": None, "stage": "$default", "auth": None}
    status, _, body = call(_url(gw_server, api, "/files/a/b.txt"), "DELETE")
    assert status == 202 and json.loads(body) == {"version": "1.0", "resource": "/files/{path+}", "method": "DELETE"}
    status, headers, body = call(_url(gw_server, api, "/anything/else"), "POST", b"x")
    assert status == 200 and json.loads(body) == {"just": "a document"}
    assert headers["content-type"] == "application/json" and headers.get("apigw-requestid")
    # a named stage without auto-deploy serves its deployment, under its name
    v2.create_stage(ApiId=api["ApiId"], StageName="beta")
    status, _, _ = call(_url(gw_server, api, "/beta/items/1"))
    assert status in (200, 404)
    dep = v2.create_deployment(ApiId=api["ApiId"], StageName="beta")
    assert dep["DeploymentStatus"] == "DEPLOYED"
    status, _, body = call(_url(gw_server, api, "/beta/items/1"))
    assert status == 200 and json.loads(body)["stage"] == "beta" and json.loads(body)["rawPath"] == "/beta/items/1"
    quick = v2.create_api(Name="q", ProtocolType="HTTP", Target=functions["bare"])
    status, _, body = call(_url(gw_server, quick, "/whatever"))
    assert status == 200 and json.loads(body) == {"just": "a document"}
    no_route = v2.create_api(Name="n", ProtocolType="HTTP")
    v2.create_stage(ApiId=no_route["ApiId"], StageName="$default", AutoDeploy=True)
    assert call(_url(gw_server, no_route, "/x"))[0] == 404


def test_step_functions_sqs_and_eventbridge_subtypes(gw_server, clients):
    v2, sfn, sqs = clients["apigatewayv2"], clients["stepfunctions"], clients["sqs"]
    machine = sfn.create_state_machine(
        name="echo", type="EXPRESS", roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$"},
                                                                  "End": True}}}))["stateMachineArn"]
    queue = sqs.create_queue(QueueName="http-inbox")["QueueUrl"]
    api = v2.create_api(Name="aws", ProtocolType="HTTP")
    sync = v2.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY",
                                 IntegrationSubtype="StepFunctions-StartSyncExecution", PayloadFormatVersion="1.0",
                                 RequestParameters={"StateMachineArn": machine, "Input": "$request.body"})
    send = v2.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY",
                                 IntegrationSubtype="SQS-SendMessage", PayloadFormatVersion="1.0",
                                 RequestParameters={"QueueUrl": queue, "MessageBody": "$request.body.message"})
    events = v2.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY",
                                   IntegrationSubtype="EventBridge-PutEvents", PayloadFormatVersion="1.0",
                                   RequestParameters={"Detail": "$request.body", "DetailType": "t", "Source": "s"})
    for key, integ in (("POST /run", sync), ("POST /send", send), ("POST /events", events)):
        v2.create_route(ApiId=api["ApiId"], RouteKey=key, Target=f"integrations/{integ['IntegrationId']}")
    v2.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    status, _, body = call(_url(gw_server, api, "/run"), "POST", b'{"n": 1}', {"Content-Type": "application/json"})
    doc = json.loads(body)
    assert status == 200 and doc["status"] == "SUCCEEDED" and json.loads(doc["output"]) == {"got": {"n": 1}}
    status, _, body = call(_url(gw_server, api, "/send"), "POST", b'{"message": "hi"}',
                           {"Content-Type": "application/json"})
    assert status == 200 and json.loads(body)["MessageId"]
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]["Body"] == "hi"
    status, _, body = call(_url(gw_server, api, "/events"), "POST", b"{}", {"Content-Type": "application/json"})
    from haneul import registry
    if not registry.available("events"):
        assert status == 500 and "EventBridge" in json.loads(body)["message"]


def test_cors_preflight_and_response_headers(gw_server, clients, functions):
    v2 = clients["apigatewayv2"]
    api = v2.create_api(Name="cors", ProtocolType="HTTP", Target=functions["bare"],
                        CorsConfiguration={"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"],
                                           "AllowHeaders": ["content-type"], "MaxAge": 300,
                                           "ExposeHeaders": ["x-total"]})
    status, headers, _ = call(_url(gw_server, api, "/x"), "OPTIONS", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert status == 204
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-methods"] == "GET,POST" and headers["access-control-max-age"] == "300"
    status, headers, _ = call(_url(gw_server, api, "/x"), headers={"Origin": "https://app.example"})
    assert status == 200 and headers["access-control-expose-headers"] == "x-total"
    status, headers, _ = call(_url(gw_server, api, "/x"), headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in headers


class _Jwks(http.server.BaseHTTPRequestHandler):
    keys: dict = {}

    def do_GET(self):
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        doc = {"issuer": base, "jwks_uri": base + "/jwks.json"} if "openid" in self.path else self.keys
        data = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def issuer():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    _Jwks.keys = {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                            "n": _b64(numbers.n.to_bytes(256, "big")), "e": _b64(numbers.e.to_bytes(3, "big"))}]}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def token(claims: dict, kid: str = "k1") -> str:
        head = _b64(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims).encode())
        sig = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{_b64(sig)}"
    yield url, token
    server.shutdown()
    server.server_close()


def test_jwt_authorizer(gw_server, clients, functions, issuer):
    url, token = issuer
    v2 = clients["apigatewayv2"]
    api = v2.create_api(Name="jwt", ProtocolType="HTTP")
    auth = v2.create_authorizer(ApiId=api["ApiId"], Name="jwt", AuthorizerType="JWT",
                                IdentitySource=["$request.header.Authorization"],
                                JwtConfiguration={"Issuer": url, "Audience": ["my-app"]})
    integ = _lambda(v2, api, functions["v2"])
    v2.create_route(ApiId=api["ApiId"], RouteKey="GET /items/{id}", Target=f"integrations/{integ}",
                    AuthorizationType="JWT", AuthorizerId=auth["AuthorizerId"], AuthorizationScopes=["read"])
    v2.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    now = int(time.time())
    good = token({"iss": url, "aud": "my-app", "sub": "u1", "scope": "read write", "exp": now + 60})
    status, _, body = call(_url(gw_server, api, "/items/1"), headers={"Authorization": f"Bearer {good}"})
    assert status == 200, body
    assert json.loads(body)["auth"]["jwt"]["claims"]["sub"] == "u1"
    assert call(_url(gw_server, api, "/items/1"))[0] == 401
    expired = token({"iss": url, "aud": "my-app", "scope": "read", "exp": now - 5})
    assert call(_url(gw_server, api, "/items/1"), headers={"Authorization": f"Bearer {expired}"})[0] == 401
    wrong_aud = token({"iss": url, "aud": "other", "scope": "read", "exp": now + 60})
    assert call(_url(gw_server, api, "/items/1"), headers={"Authorization": f"Bearer {wrong_aud}"})[0] == 401
    no_scope = token({"iss": url, "aud": "my-app", "scope": "write", "exp": now + 60})
    status, _, body = call(_url(gw_server, api, "/items/1"), headers={"Authorization": f"Bearer {no_scope}"})
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    assert call(_url(gw_server, api, "/items/1"), headers={"Authorization": f"Bearer {forged}"})[0] == 401


def test_lambda_authorizer_simple_responses(gw_server, clients, functions):
    v2 = clients["apigatewayv2"]
    api = v2.create_api(Name="lauth", ProtocolType="HTTP")
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{functions['auth']}/invocations"
    auth = v2.create_authorizer(ApiId=api["ApiId"], Name="la", AuthorizerType="REQUEST", AuthorizerUri=uri,
                                IdentitySource=["$request.header.x-token"], AuthorizerPayloadFormatVersion="2.0",
                                EnableSimpleResponses=True)
    integ = _lambda(v2, api, functions["v2"])
    v2.create_route(ApiId=api["ApiId"], RouteKey="GET /items/{id}", Target=f"integrations/{integ}",
                    AuthorizationType="CUSTOM", AuthorizerId=auth["AuthorizerId"])
    v2.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    status, _, body = call(_url(gw_server, api, "/items/3"), headers={"x-token": "let-me-in"})
    assert status == 200 and json.loads(body)["auth"] == {"lambda": {"user": "alice", "n": 7}}
    assert call(_url(gw_server, api, "/items/3"), headers={"x-token": "nope"})[0] == 403
    assert call(_url(gw_server, api, "/items/3"))[0] == 401


def test_control_plane_errors(clients):
    v2 = clients["apigatewayv2"]
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.get_api(ApiId="nope")
    api = v2.create_api(Name="e", ProtocolType="HTTP")
    v2.create_route(ApiId=api["ApiId"], RouteKey="GET /a")
    with pytest.raises(v2.exceptions.ConflictException):
        v2.create_route(ApiId=api["ApiId"], RouteKey="GET /a")
    with pytest.raises(v2.exceptions.BadRequestException):
        v2.create_route(ApiId=api["ApiId"], RouteKey="FETCH /a")
    with pytest.raises(v2.exceptions.BadRequestException):
        v2.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY",
                              IntegrationUri="arn:aws:lambda:us-east-1:1:function:f")
    assert [r["RouteKey"] for r in v2.get_routes(ApiId=api["ApiId"])["Items"]] == ["GET /a"]
    exported = json.loads(v2.export_api(ApiId=api["ApiId"], Specification="OAS30", OutputType="JSON")["body"].read())
    assert "/a" in exported["paths"]
    for bad in ("ten", "0", "-1", "a\x00b"):      # MaxResults is a string in the model
        with pytest.raises(v2.exceptions.BadRequestException):
            v2.get_routes(ApiId=api["ApiId"], MaxResults=bad)
    v2.delete_api(ApiId=api["ApiId"])


def test_domain_name_certificate_upload_date_is_kept(clients):
    import datetime
    v2 = clients["apigatewayv2"]
    when = datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc)
    v2.create_domain_name(DomainName="up.example.com", DomainNameConfigurations=[
        {"CertificateArn": "arn:aws:acm:us-east-1:123412341277:certificate/c", "CertificateUploadDate": when}])
    got = v2.get_domain_name(DomainName="up.example.com")["DomainNameConfigurations"][0]
    assert got["CertificateUploadDate"] == when
    v2.update_domain_name(DomainName="up.example.com", DomainNameConfigurations=[
        {"CertificateArn": "arn:aws:acm:us-east-1:123412341277:certificate/d", "CertificateUploadDate": when}])
    assert v2.get_domain_name(DomainName="up.example.com")["DomainNameConfigurations"][0]["CertificateUploadDate"] == when
