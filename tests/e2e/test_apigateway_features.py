"""REST API features over real HTTP: Lambda TOKEN authorizers (policy, cache, 401/403),
API keys with usage plans (403, 429 throttled and over quota), request validation against
models, CORS through an OPTIONS MOCK method, gateway responses, OpenAPI import/export."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from haneul.testing import make_client
from tests.e2e.test_apigateway_server import call, gw_server, mock_api  # noqa: F401 - fixture

ACCOUNT = "123412341255"
AUTHORIZER = '''
import json
CALLS = {"n": 0}

def handler(event, context):
    CALLS["n"] += 1
    token = event["authorizationToken"]
    if token == "bad":
        raise Exception("Unauthorized")
    effect = "Allow" if token.startswith("allow") else "Deny"
    return {"principalId": "user-" + token, "context": {"calls": CALLS["n"]},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}
'''


@pytest.fixture(scope="module")
def apigw(gw_server):
    return make_client(gw_server.endpoint, "apigateway", ACCOUNT)


def _url(gw_server, api_id, path):
    return f"{gw_server.endpoint}/_aws/execute-api/{api_id}{path}"


def test_token_authorizer_policy_and_cache(gw_server, apigw):
    lam = make_client(gw_server.endpoint, "lambda", ACCOUNT)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("auth.py", AUTHORIZER)
    fn = lam.create_function(FunctionName="token-auth", Runtime="python3.12", Role=f"arn:aws:iam::{ACCOUNT}:role/r",
                             Handler="auth.handler", Code={"ZipFile": buf.getvalue()})["FunctionArn"]
    api, res = mock_api(apigw, response_template='{"principal": "$context.authorizer.principalId", '
                                                 '"calls": "$context.authorizer.calls"}')
    auth = apigw.create_authorizer(restApiId=api["id"], name="tok", type="TOKEN",
                                   authorizerUri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                                 f"{fn}/invocations",
                                   identitySource="method.request.header.Authorization",
                                   authorizerResultTtlInSeconds=300)
    apigw.update_method(restApiId=api["id"], resourceId=res["id"], httpMethod="GET", patchOperations=[
        {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
        {"op": "replace", "path": "/authorizerId", "value": auth["id"]}])
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    url = _url(gw_server, api["id"], "/dev/hello")
    status, _, body = call(url, headers={"Authorization": "allow-1"})
    assert status == 200 and json.loads(body) == {"principal": "user-allow-1", "calls": "1"}
    status, _, body = call(url, headers={"Authorization": "allow-1"})
    assert json.loads(body)["calls"] == "1"            # cached: the function ran once
    status, _, body = call(url, headers={"Authorization": "deny-1"})
    assert status == 403 and json.loads(body) == {
        "Message": "User is not authorized to access this resource with an explicit deny"}
    assert call(url, headers={"Authorization": "bad"})[0] == 401
    status, _, body = call(url)
    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})


def test_api_keys_usage_plans_throttle_and_quota(gw_server, apigw):
    api, res = mock_api(apigw)
    apigw.update_method(restApiId=api["id"], resourceId=res["id"], httpMethod="GET", patchOperations=[
        {"op": "replace", "path": "/apiKeyRequired", "value": "true"}])
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    key = apigw.create_api_key(name="k", enabled=True)
    plan = apigw.create_usage_plan(name="p", apiStages=[{"apiId": api["id"], "stage": "dev"}],
                                   throttle={"rateLimit": 0.001, "burstLimit": 3}, quota={"limit": 5, "period": "DAY"})
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    url = _url(gw_server, api["id"], "/dev/hello")
    assert call(url)[0] == 403
    assert call(url, headers={"x-api-key": "not-a-key-not-a-key-00"})[0] == 403
    statuses = [call(url, headers={"x-api-key": key["value"]})[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "replace", "path": "/throttle/burstLimit", "value": "100"},
        {"op": "replace", "path": "/throttle/rateLimit", "value": "100"}])
    statuses = [call(url, headers={"x-api-key": key["value"]}) for _ in range(3)]
    assert [s[0] for s in statuses] == [200, 200, 429]
    assert json.loads(statuses[-1][2]) == {"message": "Limit Exceeded"}
    usage = apigw.get_usage(usagePlanId=plan["id"], startDate="2000-01-01", endDate="2100-01-01", keyId=key["id"])
    assert usage["usagePlanId"] == plan["id"]


def test_request_validation_and_gateway_responses(gw_server, apigw):
    api = apigw.create_rest_api(name="validated")
    apigw.create_model(restApiId=api["id"], name="Order", contentType="application/json", schema=json.dumps({
        "$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "required": ["item"],
        "properties": {"item": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}))
    validator = apigw.create_request_validator(restApiId=api["id"], name="all", validateRequestBody=True,
                                               validateRequestParameters=True)
    res = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="orders")
    key = dict(restApiId=api["id"], resourceId=res["id"], httpMethod="POST")
    apigw.put_method(**key, authorizationType="NONE", requestValidatorId=validator["id"],
                     requestModels={"application/json": "Order"},
                     requestParameters={"method.request.querystring.store": True})
    apigw.put_integration(**key, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_integration_response(**key, statusCode="200", responseTemplates={"application/json": '{"ok": 1}'})
    apigw.put_gateway_response(restApiId=api["id"], responseType="BAD_REQUEST_BODY", statusCode="422",
                               responseParameters={"gatewayresponse.header.X-Why": "'schema'"},
                               responseTemplates={"application/json":
                                                  '{"msg": $context.error.messageString, '
                                                  '"detail": "$util.escapeJavaScript($context.error.validationErrorString)"}'})
    apigw.create_deployment(restApiId=api["id"], stageName="v")
    url = _url(gw_server, api["id"], "/v/orders")
    h = {"Content-Type": "application/json"}
    status, _, body = call(url, "POST", b'{"item": "tea"}', h)
    assert (status, json.loads(body)) == (400, {"message": "Missing required request parameters: [store]"})
    status, headers, body = call(url + "?store=1", "POST", b'{"qty": 0}', h)
    assert status == 422 and headers["x-why"] == "schema"
    doc = json.loads(body)
    assert doc["msg"] == "Invalid request body" and "item" in doc["detail"]
    status, _, body = call(url + "?store=1", "POST", b'{"item": "tea", "qty": 2}', h)
    assert (status, json.loads(body)) == (200, {"ok": 1})


def test_cors_with_an_options_mock_method(gw_server, apigw):
    api, res = mock_api(apigw)
    key = dict(restApiId=api["id"], resourceId=res["id"], httpMethod="OPTIONS")
    apigw.put_method(**key, authorizationType="NONE")
    apigw.put_integration(**key, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(**key, statusCode="200", responseParameters={
        "method.response.header.Access-Control-Allow-Origin": False,
        "method.response.header.Access-Control-Allow-Methods": False,
        "method.response.header.Access-Control-Allow-Headers": False})
    apigw.put_integration_response(**key, statusCode="200", responseParameters={
        "method.response.header.Access-Control-Allow-Origin": "'*'",
        "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
        "method.response.header.Access-Control-Allow-Headers": "'Content-Type,X-Api-Key'"},
        responseTemplates={"application/json": ""})
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    status, headers, body = call(_url(gw_server, api["id"], "/dev/hello"), "OPTIONS",
                                 headers={"Origin": "https://x.example", "Access-Control-Request-Method": "GET"})
    assert status == 200 and body == b""
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "GET,OPTIONS"


def test_openapi_import_and_export(gw_server, apigw):
    spec = {
        "openapi": "3.0.1", "info": {"title": "imported", "version": "1"},
        "paths": {"/pets/{id}": {"get": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                "responses": {"default": {"statusCode": "200", "responseTemplates": {
                    "application/json": '{"pet": "$input.params(\'id\')"}'}}}}}}},
        "components": {"schemas": {"Pet": {"type": "object", "properties": {"id": {"type": "string"}}}}},
    }
    api = apigw.import_rest_api(body=json.dumps(spec).encode())
    assert api["name"] == "imported"
    paths = {r["path"] for r in apigw.get_resources(restApiId=api["id"])["items"]}
    assert paths == {"/", "/pets", "/pets/{id}"}
    apigw.create_deployment(restApiId=api["id"], stageName="v1")
    status, _, body = call(_url(gw_server, api["id"], "/v1/pets/42"))
    assert (status, json.loads(body)) == (200, {"pet": "42"})
    exported = json.loads(apigw.get_export(restApiId=api["id"], stageName="v1", exportType="oas30",
                                           parameters={"extensions": "integrations"},
                                           accepts="application/json")["body"].read())
    assert exported["openapi"].startswith("3.0")
    op = exported["paths"]["/pets/{id}"]["get"]
    assert op["x-amazon-apigateway-integration"]["type"] == "mock"
    assert "Pet" in exported["components"]["schemas"]
    swagger = json.loads(apigw.get_export(restApiId=api["id"], stageName="v1", exportType="swagger")["body"].read())
    assert swagger["swagger"] == "2.0" and swagger["basePath"] == "/v1"
    result = apigw.test_invoke_method(restApiId=api["id"], resourceId=[r for r in apigw.get_resources(
        restApiId=api["id"])["items"] if r["path"] == "/pets/{id}"][0]["id"], httpMethod="GET",
        pathWithQueryString="/pets/7")
    assert result["status"] == 200 and json.loads(result["body"]) == {"pet": "7"}


def test_imports_refuse_bodies_that_are_not_text_or_too_deep(apigw):
    for body in (b"\x00\xff\xfe", ('{"a":' * 20000 + "1" + "}" * 20000).encode()):
        with pytest.raises(apigw.exceptions.BadRequestException):
            apigw.import_rest_api(body=body)
    with pytest.raises(apigw.exceptions.BadRequestException):
        apigw.import_api_keys(body=b"\x00\xff\xfe", format="csv")


def test_model_schema_nested_past_the_json_parser_is_a_bad_request(apigw):
    api = apigw.create_rest_api(name="deep-model")
    with pytest.raises(apigw.exceptions.BadRequestException):
        apigw.create_model(restApiId=api["id"], name="Deep", contentType="application/json",
                           schema="[" * 20000 + "]" * 20000)


def test_documentation_properties_nested_past_the_json_parser_is_a_bad_request(apigw):
    api = apigw.create_rest_api(name="deep-doc")
    with pytest.raises(apigw.exceptions.BadRequestException):
        apigw.create_documentation_part(restApiId=api["id"], location={"type": "API"},
                                        properties="[" * 20000 + "]" * 20000)
