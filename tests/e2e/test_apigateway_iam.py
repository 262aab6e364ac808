"""AWS_IAM authorization of deployed APIs over real HTTP: requests signed by botocore's own
SigV4 signer (header and presigned forms) with IAM users' keys, STS temporary credentials
and bare 12-digit account keys; wrong secrets, tampered requests, stale dates, bad tokens
and unsigned requests get API Gateway's 403s; the verified caller fills $context.identity
and the Lambda proxy event's requestContext."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import zipfile
from unittest import mock

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from haneul.testing import make_client
from tests.e2e.test_apigateway_server import call, gw_server  # noqa: F401 - fixture

ACCOUNT = "123412341288"
TEMPLATE = ('{"userArn": "$context.identity.userArn", "caller": "$context.identity.caller", '
            '"accessKey": "$context.identity.accessKey", "accountId": "$context.identity.accountId", '
            '"user": "$context.identity.user"}')
ECHO = '''
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"])}
'''


@pytest.fixture(scope="module")
def setup(gw_server):
    apigw = make_client(gw_server.endpoint, "apigateway", ACCOUNT)
    iam = make_client(gw_server.endpoint, "iam", ACCOUNT)
    api = apigw.create_rest_api(name="iam")
    res = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="who")
    for method in ("GET", "POST"):
        apigw.put_method(restApiId=api["id"], resourceId=res["id"], httpMethod=method, authorizationType="AWS_IAM")
        apigw.put_integration(restApiId=api["id"], resourceId=res["id"], httpMethod=method, type="MOCK",
                              requestTemplates={"application/json": '{"statusCode": 200}'})
        apigw.put_method_response(restApiId=api["id"], resourceId=res["id"], httpMethod=method, statusCode="200")
        apigw.put_integration_response(restApiId=api["id"], resourceId=res["id"], httpMethod=method,
                                       statusCode="200", responseTemplates={"application/json": TEMPLATE})
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    iam.create_user(UserName="caller")
    key = iam.create_access_key(UserName="caller")["AccessKey"]
    user = iam.get_user(UserName="caller")["User"]
    return {"api": api, "apigw": apigw, "iam": iam, "key": key, "user": user,
            "url": f"{gw_server.endpoint}/_aws/execute-api/{api['id']}/dev/who"}


def signed(url, key_id, secret, token=None, method="GET", body=b"", headers=None, region="us-east-1",
           service="execute-api", presign=False):
    """(url, headers) as botocore's signer makes them."""
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    creds = Credentials(key_id, secret, token)
    (SigV4QueryAuth(creds, service, region, expires=300) if presign else SigV4Auth(creds, service, region)) \
        .add_auth(req)
    prepared = req.prepare()
    return prepared.url, {k: v for k, v in prepared.headers.items()}


def send(url, key_id, secret, **kw):
    method, body = kw.get("method", "GET"), kw.get("body", b"")
    url, headers = signed(url, key_id, secret, **kw)
    return call(url, method=method, body=body or None, headers=headers)


def test_unsigned_and_malformed_requests(setup):
    status, headers, body = call(setup["url"])
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    status, headers, body = call(setup["url"], headers={"Authorization": "Bearer abc"})
    assert status == 403 and headers["x-amzn-errortype"] == "IncompleteSignatureException"
    assert json.loads(body)["message"].startswith("Authorization header requires 'Credential' parameter.")


def test_iam_user_key_verified_and_identity_filled(setup):
    key, user = setup["key"], setup["user"]
    status, _, body = send(setup["url"], key["AccessKeyId"], key["SecretAccessKey"])
    assert status == 200, body
    assert json.loads(body) == {"userArn": user["Arn"], "caller": user["UserId"], "accessKey": key["AccessKeyId"],
                                "accountId": ACCOUNT, "user": user["UserId"]}
    # the presigned form, and a query string that is part of what was signed
    url, headers = signed(setup["url"] + "?b=2&a=x%20y", key["AccessKeyId"], key["SecretAccessKey"], presign=True)
    assert "X-Amz-Signature=" in url and "authorization" not in {k.lower() for k in headers}
    status, _, body = call(url, headers=headers)
    assert status == 200 and json.loads(body)["userArn"] == user["Arn"], body


def test_wrong_secret_and_tampering_mismatch(setup):
    key = setup["key"]
    status, headers, body = send(setup["url"], key["AccessKeyId"], "not-the-secret")
    message = json.loads(body)["message"]
    assert status == 403 and headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert message.startswith("The request signature we calculated does not match the signature you provided. "
                              "Check your AWS Secret Access Key and signing method. Consult the service "
                              "documentation for details.\n\nThe Canonical String for this request should have been\n"
                              "'GET\n/_aws/execute-api/")
    url, hdrs = signed(setup["url"] + "?q=1", key["AccessKeyId"], key["SecretAccessKey"])
    status, _, body = call(url.replace("q=1", "q=2"), headers=hdrs)
    assert status == 403 and "does not match" in json.loads(body)["message"]
    # signed for another service (one whose name still routes here: a host says execute-api on AWS) or region
    status, _, body = send(setup["url"], key["AccessKeyId"], key["SecretAccessKey"], service="lambda")
    assert (status, json.loads(body)["message"]) == (403, "Credential should be scoped to correct service: "
                                                          "'execute-api'. ")
    status, _, body = send(setup["url"], key["AccessKeyId"], key["SecretAccessKey"], region="eu-west-1")
    assert (status, json.loads(body)["message"]) == (403, "Credential should be scoped to a valid region, not "
                                                          "'eu-west-1'. ")


def test_stale_dates_refused(setup):
    key = setup["key"]
    then = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=then.replace(tzinfo=None)):
        url, headers = signed(setup["url"], key["AccessKeyId"], key["SecretAccessKey"])
    status, resp_headers, body = call(url, headers=headers)
    message = json.loads(body)["message"]
    assert status == 403 and resp_headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert message.startswith(f"Signature expired: {headers['X-Amz-Date']} is now earlier than ")
    assert message.endswith(" - 5 min.)")
    ahead = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=ahead.replace(tzinfo=None)):
        url, headers = signed(setup["url"], key["AccessKeyId"], key["SecretAccessKey"])
    status, _, body = call(url, headers=headers)
    assert status == 403 and json.loads(body)["message"].startswith("Signature not yet current: ")


def test_malformed_dates_refused(setup):
    key = setup["key"]
    url, headers = signed(setup["url"], key["AccessKeyId"], key["SecretAccessKey"])
    auth = headers["Authorization"]
    date = headers["X-Amz-Date"][:8]
    bad = dict(headers, **{"X-Amz-Date": "20261327T000000Z",
                           "Authorization": auth.replace(f"/{date}/", "/20261327/")})
    status, resp_headers, body = call(url, headers=bad)
    assert status == 403 and resp_headers["x-amzn-errortype"] == "IncompleteSignatureException", body
    assert json.loads(body)["message"].startswith("Date must be in ISO-8601 'basic format'. Got '20261327T000000Z'.")
    # a Date header (standing in for X-Amz-Date) whose year no clock holds
    no_amz = {k: v for k, v in headers.items() if k != "X-Amz-Date"}
    status, resp_headers, body = call(url, headers=dict(no_amz, Date="Mon, 01 Jan 99999 00:00:00 GMT"))
    assert status == 403 and resp_headers["x-amzn-errortype"] == "IncompleteSignatureException", body


def test_replayed_signature_cannot_carry_another_body(setup):
    key = setup["key"]
    url, headers = signed(setup["url"], key["AccessKeyId"], key["SecretAccessKey"], method="POST",
                          body=b'{"a":1}', headers={"Content-Type": "application/json"})
    status, _, body = call(url, method="POST", body=b'{"a":1}', headers=headers)
    assert status == 200, body
    replay = dict(headers, **{"x-amz-content-sha256": hashlib.sha256(b'{"a":1}').hexdigest()})
    status, resp_headers, body = call(url, method="POST", body=b'{"a":2}', headers=replay)
    assert status == 403 and resp_headers["x-amzn-errortype"] == "InvalidSignatureException", body
    assert json.loads(body)["message"].startswith("The request signature we calculated does not match")


def test_sts_temporary_credentials(setup, gw_server):
    key = setup["key"]
    sts = make_client(gw_server.endpoint, "sts", ACCOUNT, access_key=key["AccessKeyId"],
                      secret_key=key["SecretAccessKey"])
    creds = sts.get_session_token()["Credentials"]
    status, _, body = send(setup["url"], creds["AccessKeyId"], creds["SecretAccessKey"], token=creds["SessionToken"])
    assert status == 200, body
    doc = json.loads(body)
    assert doc["accessKey"] == creds["AccessKeyId"] and doc["accountId"] == ACCOUNT
    for token in (None, "not-the-token"):
        status, headers, body = send(setup["url"], creds["AccessKeyId"], creds["SecretAccessKey"], token=token)
        assert (status, json.loads(body)) == (403, {"message": "The security token included in the request is "
                                                               "invalid."})
        assert headers["x-amzn-errortype"] == "UnrecognizedClientException"
    status, _, body = send(setup["url"], creds["AccessKeyId"], "wrong", token=creds["SessionToken"])
    assert status == 403 and "does not match" in json.loads(body)["message"]
    # a deactivated IAM key is refused as AWS refuses it
    setup["iam"].update_access_key(UserName="caller", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    try:
        status, _, body = send(setup["url"], key["AccessKeyId"], key["SecretAccessKey"])
        assert (status, json.loads(body)["message"]) == (403, "The security token included in the request is invalid.")
    finally:
        setup["iam"].update_access_key(UserName="caller", AccessKeyId=key["AccessKeyId"], Status="Active")


def test_keys_without_a_secret_are_their_accounts_root(setup):
    """A bare 12-digit key (and any key IAM and STS never issued) has no secret in Haneul:
    its signature's form and date are checked, and the caller is that account's root."""
    status, _, body = send(setup["url"], "210987654321", "any-secret")
    assert status == 200, body
    assert json.loads(body) == {"userArn": "arn:aws:iam::210987654321:root", "caller": "210987654321",
                                "accessKey": "210987654321", "accountId": "210987654321", "user": "210987654321"}
    then = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=then.replace(tzinfo=None)):
        url, headers = signed(setup["url"], "210987654321", "any-secret")
    assert call(url, headers=headers)[0] == 403


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", source)
    return buf.getvalue()


def test_lambda_proxy_events_carry_the_caller(setup, gw_server):
    """REST Lambda proxy (requestContext.identity) and HTTP API routes with AWS_IAM
    (requestContext.authorizer.iam, payload 2.0)."""
    key, user = setup["key"], setup["user"]
    lam = make_client(gw_server.endpoint, "lambda", ACCOUNT)
    fn = lam.create_function(FunctionName="iam-echo", Runtime="python3.12", Role=f"arn:aws:iam::{ACCOUNT}:role/r",
                             Handler="app.handler", Code={"ZipFile": _zip(ECHO)}, Timeout=10)["FunctionArn"]
    apigw = setup["apigw"]
    api = apigw.create_rest_api(name="iam-proxy")
    res = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}")
    apigw.put_method(restApiId=api["id"], resourceId=res["id"], httpMethod="ANY", authorizationType="AWS_IAM")
    apigw.put_integration(restApiId=api["id"], resourceId=res["id"], httpMethod="ANY", type="AWS_PROXY",
                          integrationHttpMethod="POST",
                          uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn}/invocations")
    apigw.create_deployment(restApiId=api["id"], stageName="dev")
    url = f"{gw_server.endpoint}/_aws/execute-api/{api['id']}/dev/a/b?x=1"
    status, _, body = send(url, key["AccessKeyId"], key["SecretAccessKey"], method="POST", body=b'{"n": 1}',
                           headers={"Content-Type": "application/json"})
    assert status == 200, body
    ident = json.loads(body)["identity"]
    assert (ident["userArn"], ident["caller"], ident["accessKey"], ident["accountId"]) == (
        user["Arn"], user["UserId"], key["AccessKeyId"], ACCOUNT)
    assert send(url, key["AccessKeyId"], "wrong", method="POST", body=b"{}")[0] == 403

    v2 = make_client(gw_server.endpoint, "apigatewayv2", ACCOUNT)
    http = v2.create_api(Name="iam-http", ProtocolType="HTTP")
    integration = v2.create_integration(ApiId=http["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=fn,
                                        PayloadFormatVersion="2.0")["IntegrationId"]
    v2.create_route(ApiId=http["ApiId"], RouteKey="GET /who", AuthorizationType="AWS_IAM",
                    Target=f"integrations/{integration}")
    v2.create_stage(ApiId=http["ApiId"], StageName="$default", AutoDeploy=True)
    url = f"{gw_server.endpoint}/_aws/execute-api/{http['ApiId']}/who"
    status, _, body = send(url, key["AccessKeyId"], key["SecretAccessKey"])
    assert status == 200, body
    iam_ctx = json.loads(body)["authorizer"]["iam"]
    assert (iam_ctx["userArn"], iam_ctx["userId"], iam_ctx["accessKey"], iam_ctx["accountId"]) == (
        user["Arn"], user["UserId"], key["AccessKeyId"], ACCOUNT)
    status, _, body = call(url)
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})
    status, headers, body = send(url, key["AccessKeyId"], "wrong")
    assert status == 403 and headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert json.loads(body)["message"].startswith("The request signature we calculated does not match")
