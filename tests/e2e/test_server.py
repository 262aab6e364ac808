"""The server itself: health, reset, unknown requests, not-implemented operations."""

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError


def _get(url, method="GET", data=None, headers=None):
    req = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def test_health_lists_services(haneul_server):
    status, body, _ = _get(haneul_server.endpoint + "/_haneul/health")
    assert status == 200
    doc = json.loads(body)
    assert {"sts", "ssm", "sqs"} <= set(doc["services"])
    status, body, _ = _get(haneul_server.endpoint + "/_localstack/health")
    assert status == 200 and json.loads(body)["services"] == doc["services"]


def test_not_implemented_service_answers_aws_error(aws_client):
    for service, call in [("sns", lambda c: c.list_topics()),
                          ("kms", lambda c: c.list_keys()),
                          ("ec2", lambda c: c.describe_vpcs()),
                          ("route53", lambda c: c.list_hosted_zones())]:
        with pytest.raises(ClientError) as e:
            call(aws_client(service))
        err = e.value.response["Error"]
        assert err["Code"] == "NotImplementedException", (service, err)
        assert "Haneul does not implement" in err["Message"]
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_unknown_target_is_400_not_500(haneul_server):
    status, body, _ = _get(haneul_server.endpoint + "/", "POST", b"{}",
                           {"X-Amz-Target": "NoSuchService_2020.DoThing",
                            "Content-Type": "application/x-amz-json-1.1"})
    assert status == 400
    assert b"could not determine" in body


def test_unknown_operation_of_known_service(haneul_server):
    status, body, _ = _get(haneul_server.endpoint + "/", "POST", b"{}",
                           {"X-Amz-Target": "AmazonSSM.NoSuchOperation",
                            "Content-Type": "application/x-amz-json-1.1"})
    assert status == 400
    doc = json.loads(body)
    assert doc["__type"] == "UnknownOperationException"


def test_garbage_json_body(haneul_server):
    status, body, _ = _get(haneul_server.endpoint + "/", "POST", b"\xff{not json",
                           {"X-Amz-Target": "AmazonSSM.GetParameter",
                            "Content-Type": "application/x-amz-json-1.1",
                            "Authorization": "AWS4-HMAC-SHA256 Credential=123456789012/20250101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=00"})
    assert status == 400
    assert json.loads(body)["__type"] == "SerializationException"


def test_reset_requires_post(haneul_server):
    status, _, _ = _get(haneul_server.endpoint + "/_haneul/reset")
    assert status == 405


def test_oversized_body_is_refused_in_the_clients_protocol():
    from haneul.testing import ServerProcess
    server = ServerProcess(env={"HANEUL_MAX_BODY": "1000"}).start()
    try:
        status, body, _ = _get(server.endpoint + "/", "POST", b'{"Name": "' + b"x" * 2000 + b'"}',
                               {"X-Amz-Target": "AmazonSSM.GetParameter",
                                "Content-Type": "application/x-amz-json-1.1"})
        assert status == 413
        assert json.loads(body)["__type"] == "RequestEntityTooLarge"
        # and the server keeps serving
        status, _, _ = _get(server.endpoint + "/_haneul/health")
        assert status == 200
    finally:
        server.stop()


def test_reset_clears_state_and_answers_motos_path():
    from haneul.testing import ServerProcess, make_client
    server = ServerProcess().start()
    try:
        ssm = make_client(server.endpoint, "ssm", "111122223333")
        ssm.put_parameter(Name="p", Value="v", Type="String")
        status, body, _ = _get(server.endpoint + "/_haneul/reset", "POST")
        assert status == 200
        with pytest.raises(ClientError):
            ssm.get_parameter(Name="p")
        ssm.put_parameter(Name="q", Value="v", Type="String")
        status, _, _ = _get(server.endpoint + "/moto-api/reset", "POST")
        assert status == 200
        with pytest.raises(ClientError):
            ssm.get_parameter(Name="q")
    finally:
        server.stop()


def test_secure_transport_setting_is_read():
    from haneul.config import Config
    assert Config.from_env({}).secure_transport == "loopback"
    assert Config.from_env({"HANEUL_SECURE_TRANSPORT": "STRICT"}).secure_transport == "strict"
