"""REST API integrations over real HTTP: Lambda proxy (payload 1.0) and custom, AWS service
actions and paths through the dispatcher (Step Functions, DynamoDB, SQS, S3), HTTP and
HTTP_PROXY to a loopback server, mapping templates, selection patterns and gateway responses."""

from __future__ import annotations

import http.server
import io
import json
import threading
import zipfile

import pytest

from tests.e2e.test_apigateway_server import call, gw, gw_server  # noqa: F401 - fixtures

ROLE = "arn:aws:iam::{account}:role/r"
LAMBDA_URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"

HANDLERS = '''
import json, base64

def proxy(event, context):
    return {"statusCode": 201, "headers": {"X-Echo": event["httpMethod"]},
            "multiValueHeaders": {"X-Multi": ["a", "b"]},
            "body": json.dumps({"path": event["path"], "resource": event["resource"],
                                "pathParameters": event["pathParameters"],
                                "query": event["queryStringParameters"],
                                "body": event["body"], "stage": event["requestContext"]["stage"],
                                "vars": event["stageVariables"],
                                "ctype": (event["headers"] or {}).get("Content-Type")})}

def bad(event, context):
    return {"statusCode": 200, "body": {"not": "a string"}}

def boom(event, context):
    raise ValueError("Bad input: missing id")

def plain(event, context):
    return {"got": event}

def binary(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
            "body": base64.b64encode(b"\\x89PNG-bytes").decode()}
'''


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", source)
    return buf.getvalue()


@pytest.fixture(scope="module")
def functions(gw_server):
    from haneul.testing import make_client
    account = "123412341234"
    lam = make_client(gw_server.endpoint, "lambda", account)
    arns = {}
    for name in ("proxy", "bad", "boom", "plain", "binary"):
        fn = f"apigw-{name}"
        try:
            arns[name] = lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE.format(account=account),
                                             Handler=f"app.{name}", Code={"ZipFile": _zip(HANDLERS)},
                                             Timeout=10)["FunctionArn"]
        except lam.exceptions.ResourceConflictException:
            arns[name] = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    return account, arns


def _client(gw_server, service, account):
    from haneul.testing import make_client
    return make_client(gw_server.endpoint, service, account)


def _method(apigw, api, path_part, verb="GET", parent=None, **integration):
    parent = parent or api["rootResourceId"]
    res = apigw.create_resource(restApiId=api["id"], parentId=parent, pathPart=path_part)
    apigw.put_method(restApiId=api["id"], resourceId=res["id"], httpMethod=verb, authorizationType="NONE")
    apigw.put_integration(restApiId=api["id"], resourceId=res["id"], httpMethod=verb, **integration)
    return res


def _url(gw_server, api, stage, path):
    return f"{gw_server.endpoint}/_aws/execute-api/{api['id']}/{stage}{path}"


def test_lambda_proxy_event_response_and_errors(gw_server, functions):
    account, arns = functions
    apigw = _client(gw_server, "apigateway", account)
    api = apigw.create_rest_api(name="proxy", binaryMediaTypes=["image/png"])
    items = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="items")
    for part, fn in (("{id}", "proxy"), ("bad", "bad"), ("boom", "boom"), ("img", "binary")):
        parent = items["id"] if part == "{id}" else None
        _method(apigw, api, part, "ANY", parent=parent, type="AWS_PROXY", integrationHttpMethod="POST",
                uri=LAMBDA_URI.format(arn=arns[fn]))
    apigw.create_deployment(restApiId=api["id"], stageName="v1", variables={"color": "blue"})
    status, headers, body = call(_url(gw_server, api, "v1", "/items/42?x=1&x=2"), "POST", b'{"a":1}',
                                 {"Content-Type": "application/json"})
    assert status == 201, body
    doc = json.loads(body)
    assert doc == {"path": "/items/42", "resource": "/items/{id}", "pathParameters": {"id": "42"},
                   "query": {"x": "2"}, "body": '{"a":1}', "stage": "v1", "vars": {"color": "blue"},
                   "ctype": "application/json"}
    assert headers["x-echo"] == "POST" and headers["x-multi"] == "a, b"
    status, _, body = call(_url(gw_server, api, "v1", "/bad"))
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    status, _, body = call(_url(gw_server, api, "v1", "/boom"))
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    status, headers, body = call(_url(gw_server, api, "v1", "/img"), headers={"Accept": "image/png"})
    assert status == 200 and body == b"\x89PNG-bytes" and headers["content-type"] == "image/png"


def test_lambda_custom_integration_with_selection_patterns(gw_server, functions):
    account, arns = functions
    apigw = _client(gw_server, "apigateway", account)
    api = apigw.create_rest_api(name="custom")
    for part, fn in (("plain", "plain"), ("boom", "boom")):
        res = _method(apigw, api, part, "POST", type="AWS", integrationHttpMethod="POST",
                      uri=LAMBDA_URI.format(arn=arns[fn]),
                      requestTemplates={"application/json": '{"name": "$input.path(\'$.name\')", '
                                                            '"stage": "$context.stage"}'})
        key = dict(restApiId=api["id"], resourceId=res["id"], httpMethod="POST")
        apigw.put_integration_response(**key, statusCode="200",
                                       responseTemplates={"application/json": '{"out": $input.json(\'$.got\')}'})
        apigw.put_integration_response(**key, statusCode="400", selectionPattern="Bad input.*",
                                       responseTemplates={"application/json":
                                                          '{"error": "$input.path(\'$.errorMessage\')"}'})
    apigw.create_deployment(restApiId=api["id"], stageName="s")
    status, _, body = call(_url(gw_server, api, "s", "/plain"), "POST", b'{"name": "sky"}',
                           {"Content-Type": "application/json"})
    assert status == 200 and json.loads(body) == {"out": {"name": "sky", "stage": "s"}}
    status, _, body = call(_url(gw_server, api, "s", "/boom"), "POST", b"{}", {"Content-Type": "application/json"})
    assert status == 400 and json.loads(body) == {"error": "Bad input: missing id"}


def test_aws_integrations_dynamodb_sqs_s3_and_errors(gw_server):
    account = "123412341299"
    apigw = _client(gw_server, "apigateway", account)
    ddb = _client(gw_server, "dynamodb", account)
    sqs = _client(gw_server, "sqs", account)
    s3 = _client(gw_server, "s3", account)
    ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    s3.create_bucket(Bucket="apigw-files")
    api = apigw.create_rest_api(name="aws")
    put = _method(apigw, api, "orders", "POST", type="AWS", integrationHttpMethod="POST",
                  uri="arn:aws:apigateway:us-east-1:dynamodb:action/PutItem",
                  requestTemplates={"application/json": '{"TableName": "orders", "Item": {"id": {"S": '
                                                        '"$input.path(\'$.id\')"}, "ctx": {"S": "$context.requestId"}}}'})
    key = dict(restApiId=api["id"], resourceId=put["id"], httpMethod="POST")
    apigw.put_integration_response(**key, statusCode="200", responseTemplates={"application/json": '{"ok": true}'})
    apigw.put_integration_response(**key, statusCode="400", selectionPattern="4\\d{2}",
                                   responseTemplates={"application/json": '{"failed": "$input.path(\'$.__type\')"}'})
    msg = _method(apigw, api, "messages", "POST", type="AWS", integrationHttpMethod="POST",
                  uri=f"arn:aws:apigateway:us-east-1:sqs:path/{account}/inbox",
                  requestParameters={"integration.request.header.Content-Type":
                                     "'application/x-www-form-urlencoded'"},
                  requestTemplates={"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"})
    apigw.put_integration_response(restApiId=api["id"], resourceId=msg["id"], httpMethod="POST", statusCode="200",
                                   responseTemplates={"application/json": '{"sent": true}'})
    files = _method(apigw, api, "{name}", "PUT", type="AWS", integrationHttpMethod="PUT",
                    uri="arn:aws:apigateway:us-east-1:s3:path/apigw-files/{key}",
                    requestParameters={"integration.request.path.key": "method.request.path.name"})
    apigw.put_integration_response(restApiId=api["id"], resourceId=files["id"], httpMethod="PUT", statusCode="200")
    apigw.create_deployment(restApiId=api["id"], stageName="prod")
    status, _, body = call(_url(gw_server, api, "prod", "/orders"), "POST", b'{"id": "o-1"}',
                           {"Content-Type": "application/json"})
    assert (status, json.loads(body)) == (200, {"ok": True})
    item = ddb.get_item(TableName="orders", Key={"id": {"S": "o-1"}})["Item"]
    assert item["ctx"]["S"]
    # a table that does not exist: the service's 400 picks the 4\d{2} response
    apigw.update_integration(**key, patchOperations=[{"op": "replace", "path": "/requestTemplates/application~1json",
                                                      "value": '{"TableName": "nope", "Item": {}}'}])
    apigw.create_deployment(restApiId=api["id"], stageName="prod")
    status, _, body = call(_url(gw_server, api, "prod", "/orders"), "POST", b"{}", {"Content-Type": "application/json"})
    assert status == 400 and "ResourceNotFoundException" in json.loads(body)["failed"]
    status, _, body = call(_url(gw_server, api, "prod", "/messages"), "POST", b'{"hello": "queue & you"}',
                           {"Content-Type": "application/json"})
    assert (status, json.loads(body)) == (200, {"sent": True})
    got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]["Body"]
    assert json.loads(got) == {"hello": "queue & you"}
    status, _, _ = call(_url(gw_server, api, "prod", "/report.txt"), "PUT", b"file body",
                        {"Content-Type": "text/plain"})
    assert status == 200
    assert s3.get_object(Bucket="apigw-files", Key="report.txt")["Body"].read() == b"file body"


class _Echo(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        body = json.dumps({"method": self.command, "path": self.path, "body": data.decode(),
                           "x": self.headers.get("X-Custom")}).encode()
        self.send_response(202 if self.path.startswith("/accepted") else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Backend", "echo")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def backend():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_proxy_and_http_integrations(gw_server, backend):
    account = "123412341288"
    apigw = _client(gw_server, "apigateway", account)
    api = apigw.create_rest_api(name="http")
    proxy = _method(apigw, api, "{proxy+}", "ANY", type="HTTP_PROXY", integrationHttpMethod="ANY",
                    uri=backend + "/{proxy}",
                    requestParameters={"integration.request.path.proxy": "method.request.path.proxy"})
    del proxy
    custom = _method(apigw, api, "custom", "POST", type="HTTP", integrationHttpMethod="POST",
                     uri=backend + "/accepted",
                     requestParameters={"integration.request.header.X-Custom": "method.request.querystring.tag"},
                     requestTemplates={"application/json": '{"wrapped": $input.json(\'$\')}'})
    apigw.put_integration_response(restApiId=api["id"], resourceId=custom["id"], httpMethod="POST", statusCode="200",
                                   selectionPattern="2\\d{2}",
                                   responseParameters={"method.response.header.X-From":
                                                       "integration.response.header.X-Backend"},
                                   responseTemplates={"application/json": '{"backend": $input.json(\'$\')}'})
    apigw.put_method_response(restApiId=api["id"], resourceId=custom["id"], httpMethod="POST", statusCode="200",
                              responseParameters={"method.response.header.X-From": False})
    apigw.create_deployment(restApiId=api["id"], stageName="s")
    status, headers, body = call(_url(gw_server, api, "s", "/a/b?q=1"), "PUT", b"raw", {"Content-Type": "text/plain"})
    assert status == 200 and headers["x-backend"] == "echo"
    assert json.loads(body) == {"method": "PUT", "path": "/a/b?q=1", "body": "raw", "x": None}
    status, headers, body = call(_url(gw_server, api, "s", "/custom?tag=t1"), "POST", b'{"k": 1}',
                                 {"Content-Type": "application/json"})
    assert status == 200 and headers["x-from"] == "echo"
    assert json.loads(body) == {"backend": {"method": "POST", "path": "/accepted",
                                            "body": '{"wrapped": {"k":1}}', "x": "t1"}}
