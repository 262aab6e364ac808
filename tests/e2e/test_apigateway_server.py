"""The API Gateway end-to-end tests' server and the invocation URL forms every deployed
API answers on."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from haneul.testing import ServerProcess, make_client, serve


class GatewayServer(ServerProcess):
    """The API Gateway tests' own server (the S1 test sets Lambda limits through env)."""


@pytest.fixture(scope="session")
def gw_server():
    yield from serve(GatewayServer)


@pytest.fixture
def gw(gw_server, aws_account):
    def factory(service: str, region: str = "us-east-1"):
        return make_client(gw_server.endpoint, service, aws_account, region)
    return factory


def call(url: str, method: str = "GET", body: bytes | str | None = None, headers: dict | None = None,
         timeout: float = 30) -> tuple[int, dict, bytes]:
    """A plain HTTP request (no SigV4): (status, headers with lower-case names, body)."""
    if isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, _headers(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, _headers(e.headers), e.read()


def _headers(message) -> dict:
    """Lower-case names; repeated headers joined with ", "."""
    return {k.lower(): ", ".join(message.get_all(k)) for k in set(message.keys())}


def mock_api(apigw, template='{"statusCode": 200}', response_template='{"hello": "$input.params(\'name\')"}',
             path_part="hello", stage="dev"):
    """A REST API with GET /{path_part} on a MOCK integration, deployed to `stage`."""
    api = apigw.create_rest_api(name="mock")
    root = api["rootResourceId"]
    res = apigw.create_resource(restApiId=api["id"], parentId=root, pathPart=path_part)
    apigw.put_method(restApiId=api["id"], resourceId=res["id"], httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api["id"], resourceId=res["id"], httpMethod="GET", type="MOCK",
                          requestTemplates={"application/json": template})
    apigw.put_method_response(restApiId=api["id"], resourceId=res["id"], httpMethod="GET", statusCode="200")
    apigw.put_integration_response(restApiId=api["id"], resourceId=res["id"], httpMethod="GET", statusCode="200",
                                   responseTemplates={"application/json": response_template})
    apigw.create_deployment(restApiId=api["id"], stageName=stage)
    return api, res


def test_every_invocation_url_form(gw, gw_server):
    apigw = gw("apigateway")
    api, _ = mock_api(apigw)
    port = gw_server.endpoint.rsplit(":", 1)[1]
    urls = [f"{gw_server.endpoint}/_aws/execute-api/{api['id']}/dev/hello?name=sky",
            f"{gw_server.endpoint}/restapis/{api['id']}/dev/_user_request_/hello?name=sky"]
    for url in urls:
        status, headers, body = call(url)
        assert status == 200, (url, body)
        assert json.loads(body) == {"hello": "sky"}
        assert headers["content-type"] == "application/json"
        assert headers.get("x-amzn-requestid")
    # the host forms, ours and LocalStack's (sent as Host headers: no DNS needed here)
    for host in (f"{api['id']}.execute-api.localhost:{port}",
                 f"{api['id']}.execute-api.localhost.localstack.cloud:{port}"):
        status, _, body = call(f"{gw_server.endpoint}/dev/hello?name=ls", headers={"Host": host})
        assert status == 200 and json.loads(body) == {"hello": "ls"}, (host, body)


def test_unknown_paths_stages_and_apis(gw, gw_server):
    apigw = gw("apigateway")
    api, _ = mock_api(apigw)
    base = f"{gw_server.endpoint}/_aws/execute-api/{api['id']}"
    status, headers, body = call(base + "/dev/nothing-here")
    assert status == 403 and json.loads(body) == {"message": "Missing Authentication Token"}
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    status, _, body = call(base + "/dev/hello", method="POST", body=b"{}")
    assert status == 403
    status, _, body = call(base + "/nostage/hello")
    assert status == 403 and json.loads(body) == {"message": "Forbidden"}
    status, _, body = call(f"{gw_server.endpoint}/_aws/execute-api/doesnotexist/dev/hello")
    assert status == 404
