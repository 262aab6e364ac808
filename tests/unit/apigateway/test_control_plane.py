"""REST API control plane, called directly (no HTTP): records, AWS's errors, patches."""

import pytest

from haneul.errors import AwsError
from haneul.services.apigateway.deployment_cache import Compiled
from haneul.services.apigateway.service import ApiGateway
from tests.unit.services.helpers import Harness


@pytest.fixture
def h():
    return Harness(ApiGateway)


def err(h, method, request):
    with pytest.raises(AwsError) as e:
        h.call(method, request)
    return e.value.code, e.value.message


def api_with_method(h, verb="GET", integration=True):
    api = h.call("create_rest_api", {"name": "a"})
    res = h.call("create_resource", {"restApiId": api["id"], "parentId": api["rootResourceId"], "pathPart": "x"})
    h.call("put_method", {"restApiId": api["id"], "resourceId": res["id"], "httpMethod": verb,
                          "authorizationType": "NONE"})
    if integration:
        h.call("put_integration", {"restApiId": api["id"], "resourceId": res["id"], "httpMethod": verb,
                                   "type": "MOCK"})
    return api, res


def test_rest_api_defaults_and_root(h):
    api = h.call("create_rest_api", {"name": "a"})
    assert api["apiKeySource"] == "HEADER" and api["endpointConfiguration"]["types"] == ["EDGE"]
    resources = h.call("get_resources", {"restApiId": api["id"]})["items"]
    assert resources == [{"id": api["rootResourceId"], "path": "/"}]
    models = {m["name"] for m in h.call("get_models", {"restApiId": api["id"]})["items"]}
    assert models == {"Empty", "Error"}
    assert err(h, "get_rest_api", {"restApiId": "nope"}) == (
        "NotFoundException", "Invalid API identifier specified 123456789012:nope")


def test_resources_paths_conflicts_and_greedy(h):
    api = h.call("create_rest_api", {"name": "a"})
    root = api["rootResourceId"]
    a = h.call("create_resource", {"restApiId": api["id"], "parentId": root, "pathPart": "a"})
    b = h.call("create_resource", {"restApiId": api["id"], "parentId": a["id"], "pathPart": "{id}"})
    assert b["path"] == "/a/{id}"
    assert err(h, "create_resource", {"restApiId": api["id"], "parentId": root, "pathPart": "a"})[0] == \
        "ConflictException"
    assert err(h, "create_resource", {"restApiId": api["id"], "parentId": a["id"], "pathPart": "{other}"})[0] == \
        "BadRequestException"
    g = h.call("create_resource", {"restApiId": api["id"], "parentId": root, "pathPart": "{proxy+}"})
    assert err(h, "create_resource", {"restApiId": api["id"], "parentId": g["id"], "pathPart": "x"})[0] == \
        "BadRequestException"
    assert err(h, "get_resource", {"restApiId": api["id"], "resourceId": "zzz"}) == (
        "NotFoundException", "Invalid Resource identifier specified")
    moved = h.call("update_resource", {"restApiId": api["id"], "resourceId": a["id"], "patchOperations": [
        {"op": "replace", "path": "/pathPart", "value": "renamed"}]})
    assert moved["path"] == "/renamed"
    assert h.call("get_resource", {"restApiId": api["id"], "resourceId": b["id"]})["path"] == "/renamed/{id}"
    h.call("delete_resource", {"restApiId": api["id"], "resourceId": a["id"]})
    assert err(h, "get_resource", {"restApiId": api["id"], "resourceId": b["id"]})[0] == "NotFoundException"


def test_methods_integrations_and_responses(h):
    api, res = api_with_method(h, integration=False)
    key = {"restApiId": api["id"], "resourceId": res["id"], "httpMethod": "GET"}
    assert err(h, "put_method", dict(key, authorizationType="NONE"))[0] == "ConflictException"
    assert err(h, "get_integration", key) == ("NotFoundException", "No integration defined for method")
    assert err(h, "put_integration", dict(key, type="AWS", uri="arn:aws:apigateway:us-east-1:states:action/X"))[1] \
        == "Enumeration value for HttpMethod must be non-empty"
    i = h.call("put_integration", dict(key, type="HTTP", integrationHttpMethod="GET", uri="http://127.0.0.1:1/x"))
    assert i["passthroughBehavior"] == "WHEN_NO_MATCH" and i["timeoutInMillis"] == 29000
    assert i["cacheNamespace"] == res["id"] and i["connectionType"] == "INTERNET"
    h.call("put_integration_response", dict(key, statusCode="200", selectionPattern=""))
    h.call("put_integration_response", dict(key, statusCode="400", selectionPattern="4\\d{2}"))
    h.call("put_method_response", dict(key, statusCode="200",
                                       responseParameters={"method.response.header.X": False}))
    m = h.call("get_method", key)
    assert set(m["methodIntegration"]["integrationResponses"]) == {"200", "400"}
    assert m["methodResponses"]["200"]["responseParameters"] == {"method.response.header.X": False}
    upd = h.call("update_integration", dict(key, patchOperations=[
        {"op": "replace", "path": "/timeoutInMillis", "value": "1000"},
        {"op": "add", "path": "/requestTemplates/application~1json", "value": "{}"}]))
    assert upd["timeoutInMillis"] == 1000 and upd["requestTemplates"] == {"application/json": "{}"}
    assert err(h, "update_integration", dict(key, patchOperations=[
        {"op": "replace", "path": "/timeoutInMillis", "value": "99999"}]))[1] == \
        "Timeout should be between 50 ms and 29000 ms"
    um = h.call("update_method", dict(key, patchOperations=[
        {"op": "replace", "path": "/apiKeyRequired", "value": "true"},
        {"op": "add", "path": "/requestParameters/method.request.querystring.q", "value": "true"}]))
    assert um["apiKeyRequired"] is True and um["requestParameters"] == {"method.request.querystring.q": True}
    assert err(h, "get_integration_response", dict(key, statusCode="500")) == (
        "NotFoundException", "Invalid Response status code specified")


def test_deployments_and_stages(h):
    api = h.call("create_rest_api", {"name": "a"})
    assert err(h, "create_deployment", {"restApiId": api["id"]}) == (
        "BadRequestException", "The REST API doesn't contain any methods")
    api2, res = api_with_method(h, integration=False)
    assert err(h, "create_deployment", {"restApiId": api2["id"]})[1] == "No integration defined for method"
    api, res = api_with_method(h)
    dep = h.call("create_deployment", {"restApiId": api["id"], "stageName": "dev", "variables": {"v": "1"}})
    stage = h.call("get_stage", {"restApiId": api["id"], "stageName": "dev"})
    assert stage["deploymentId"] == dep["id"] and stage["variables"] == {"v": "1"}
    assert stage["cacheClusterStatus"] == "NOT_AVAILABLE"
    assert err(h, "create_stage", {"restApiId": api["id"], "stageName": "dev", "deploymentId": dep["id"]})[0] == \
        "ConflictException"
    assert err(h, "delete_deployment", {"restApiId": api["id"], "deploymentId": dep["id"]})[1] == \
        "Active stages pointing to this deployment must be moved or deleted"
    s = h.call("update_stage", {"restApiId": api["id"], "stageName": "dev", "patchOperations": [
        {"op": "replace", "path": "/variables/v", "value": "2"},
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "5"},
        {"op": "replace", "path": "/~1x/GET/metrics/enabled", "value": "true"}]})
    assert s["variables"] == {"v": "2"}
    assert s["methodSettings"]["*/*"]["throttlingRateLimit"] == 5.0
    assert s["methodSettings"]["x/GET"]["metricsEnabled"] is True
    assert h.call("get_stages", {"restApiId": api["id"]})["item"][0]["stageName"] == "dev"
    summary = h.call("get_deployment", {"restApiId": api["id"], "deploymentId": dep["id"], "embed": ["apisummary"]})
    assert summary["apiSummary"] == {"/x": {"GET": {"authorizationType": "NONE", "apiKeyRequired": False}}}
    assert err(h, "get_stage", {"restApiId": api["id"], "stageName": "nope"}) == (
        "NotFoundException", "Invalid Stage identifier specified")


def test_keys_usage_plans_and_tags(h):
    api, _ = api_with_method(h)
    h.call("create_deployment", {"restApiId": api["id"], "stageName": "dev"})
    key = h.call("create_api_key", {"name": "k", "enabled": True})
    assert len(key["value"]) == 40
    assert err(h, "create_api_key", {"name": "k2", "value": key["value"]})[0] == "ConflictException"
    assert "value" not in h.call("get_api_key", {"apiKey": key["id"]})
    plan = h.call("create_usage_plan", {"name": "p", "apiStages": [{"apiId": api["id"], "stage": "dev"}],
                                        "throttle": {"rateLimit": 1, "burstLimit": 1},
                                        "quota": {"limit": 10, "period": "DAY"}})
    assert err(h, "create_usage_plan", {"name": "q", "apiStages": [{"apiId": api["id"], "stage": "zz"}]})[0] == \
        "BadRequestException"
    pk = h.call("create_usage_plan_key", {"usagePlanId": plan["id"], "keyId": key["id"], "keyType": "API_KEY"})
    assert pk == {"id": key["id"], "type": "API_KEY", "value": key["value"], "name": "k"}
    upd = h.call("update_usage_plan", {"usagePlanId": plan["id"], "patchOperations": [
        {"op": "replace", "path": "/quota/limit", "value": "20"}]})
    assert upd["quota"]["limit"] == 20
    arn = f"arn:aws:apigateway:us-east-1::/restapis/{api['id']}"
    h.call("tag_resource", {"resourceArn": arn, "tags": {"a": "1"}})
    assert h.call("get_tags", {"resourceArn": arn}) == {"tags": {"a": "1"}}
    h.call("untag_resource", {"resourceArn": arn, "tagKeys": ["a"]})
    assert h.call("get_tags", {"resourceArn": arn}) == {"tags": {}}


def test_gateway_responses_and_validators_and_authorizers(h):
    api = h.call("create_rest_api", {"name": "a"})
    all_ = h.call("get_gateway_responses", {"restApiId": api["id"]})["items"]
    assert len(all_) == 21 and all(g["defaultResponse"] for g in all_)
    h.call("put_gateway_response", {"restApiId": api["id"], "responseType": "MISSING_AUTHENTICATION_TOKEN",
                                    "statusCode": "404", "responseTemplates": {"application/json": '{"m":1}'}})
    g = h.call("get_gateway_response", {"restApiId": api["id"], "responseType": "MISSING_AUTHENTICATION_TOKEN"})
    assert g["statusCode"] == "404" and g["defaultResponse"] is False
    v = h.call("create_request_validator", {"restApiId": api["id"], "name": "body", "validateRequestBody": True})
    assert v["validateRequestParameters"] is False
    a = h.call("create_authorizer", {"restApiId": api["id"], "name": "t", "type": "TOKEN",
                                     "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/"
                                                      "functions/arn:aws:lambda:us-east-1:1:function:f/invocations",
                                     "identitySource": "method.request.header.Authorization"})
    assert a["authorizerResultTtlInSeconds"] == 300
    assert err(h, "create_model", {"restApiId": api["id"], "name": "Empty", "contentType": "application/json"})[1] \
        == "Model name already exists for this REST API"


def test_route_tree_prefers_literals_then_params_then_greedy():
    def res(i, path):
        return {"id": i, "path": path, "resourceMethods": {"GET": {}}}
    c = Compiled({"resources": [res("r", "/"), res("a", "/pets"), res("b", "/pets/{id}"), res("c", "/pets/mine"),
                                res("d", "/{proxy+}"), res("e", "/pets/{id}/toys/{toy+}")]})
    assert c.match("/")[0]["id"] == "r"
    assert c.match("/pets/mine")[0]["id"] == "c"
    assert c.match("/pets/7") == (c.match("/pets/7")[0], {"id": "7"}) and c.match("/pets/7")[0]["id"] == "b"
    assert c.match("/other/deep/path") [1] == {"proxy": "other/deep/path"}
    assert c.match("/pets/7/toys/a/b")[1] == {"id": "7", "toy": "a/b"}
    assert c.match("/pets/7/other")[0]["id"] == "d"
    assert c.match("/pets/a%20b")[1] == {"id": "a b"}
