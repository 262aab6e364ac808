"""haneul.routing: requests built exactly as botocore's clients build them.

Two ways of building: `sent()` runs a real botocore client (endpoint rules, S3 addressing,
host prefixes, signing) and stops it just before the HTTP send; `serialized()` uses only
botocore's serializer, for protocols a current client no longer picks by itself (SQS's
legacy query protocol, as old SDKs still send it).
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore import serialize
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.config import Config

from haneul import routing
from haneul.errors import AwsError
from haneul.identity import parse_credential
from haneul.protocol.message import HttpRequest

SESSION = botocore.session.get_session()
ENDPOINT = "http://localhost:4566"


class _Sent(Exception):
    def __init__(self, request):
        self.request = request


def _stop(request, **kwargs):
    raise _Sent(request)


@functools.lru_cache(maxsize=None)
def _client(service: str, endpoint: str, style: str | None, region: str):
    config = Config(s3={"addressing_style": style} if style else None, retries={"max_attempts": 0})
    client = SESSION.create_client(service, region_name=region, endpoint_url=endpoint,
                                   aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                                   aws_secret_access_key="secret", config=config)
    client.meta.events.register("before-send", _stop)
    return client


def _to_haneul(prepared) -> HttpRequest:
    parts = urlsplit(prepared.url)
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else str(v)) for k, v in prepared.headers.items()}
    headers.setdefault("host", parts.netloc)
    body = prepared.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return HttpRequest(prepared.method, parts.path or "/", parts.query, headers, body, parts.netloc)


def sent(service: str, method: str, params: dict | None = None, endpoint: str = ENDPOINT,
         style: str | None = None, region: str = "us-east-1") -> HttpRequest:
    client = _client(service, endpoint, style, region)
    with pytest.raises(_Sent) as stopped:
        getattr(client, method)(**(params or {}))
    return _to_haneul(stopped.value.request)


def serialized(service: str, operation: str, params: dict, protocol: str,
               signing: str | None = "", region: str = "us-east-1") -> HttpRequest:
    """A request from botocore's serializer, signed (by scope only) with `signing`, the
    model's signing name by default; `signing=None` leaves it unsigned."""
    model = SESSION.get_service_model(service)
    op = model.operation_model(operation)
    req = serialize.create_serializer(protocol, include_validation=False).serialize_to_request(params, op)
    prepare_request_dict(req, ENDPOINT)
    out = _to_haneul(create_request_object(req).prepare())
    if signing is not None:
        name = signing or model.signing_name or model.endpoint_prefix
        out.headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240102/"
                                        f"{region}/{name}/aws4_request, SignedHeaders=host, Signature=00")
    return out


def route(req: HttpRequest) -> routing.Target:
    return routing.route(req, parse_credential(req.headers, req.params))


def where(req: HttpRequest) -> tuple[str, str | None, str]:
    t = route(req)
    return t.service, t.operation, t.protocol


# -- json: X-Amz-Target -------------------------------------------------------------------------
def test_json_target():
    req = sent("ssm", "get_parameter", {"Name": "/app/db"})
    assert req.headers["x-amz-target"] == "AmazonSSM.GetParameter"
    assert where(req) == ("ssm", "GetParameter", "json")


def test_json_target_prefix_with_dots():
    req = sent("cloudtrail", "lookup_events")
    assert where(req) == ("cloudtrail", "LookupEvents", "json")


def test_sqs_json_protocol():
    req = sent("sqs", "send_message", {"QueueUrl": f"{ENDPOINT}/000000000000/q", "MessageBody": "hi"})
    assert where(req) == ("sqs", "SendMessage", "json")


def test_timestream_shared_target_prefix_goes_to_the_service_with_the_operation():
    write = sent("timestream-write", "create_database", {"DatabaseName": "db"})
    query = sent("timestream-query", "query", {"QueryString": "SELECT 1"})
    # both services are addressed with the same prefix ...
    assert write.headers["x-amz-target"].split(".")[0] == query.headers["x-amz-target"].split(".")[0]
    # ... and each operation belongs to one of them
    assert where(write) == ("timestream-write", "CreateDatabase", "json")
    assert where(query) == ("timestream-query", "Query", "json")


def test_unknown_target_prefix_is_a_400():
    req = sent("ssm", "get_parameter", {"Name": "x"})
    req.headers["x-amz-target"] = "NoSuchService_20990101.GetParameter"
    with pytest.raises(AwsError) as e:
        route(req)
    assert e.value.status == 400
    assert "NoSuchService_20990101" in e.value.message


def test_unknown_operation_of_a_known_prefix_is_a_400():
    req = sent("ssm", "get_parameter", {"Name": "x"})
    req.headers["x-amz-target"] = "AmazonSSM.GetParameterz"
    with pytest.raises(AwsError) as e:
        route(req)
    assert (e.value.code, e.value.status) == ("UnknownOperationException", 400)
    assert "GetParameterz" in e.value.message


# -- smithy-rpc-v2-cbor --------------------------------------------------------------------------
def test_rpc_v2_cbor_path():
    req = serialized("cloudwatch", "ListMetrics", {"Namespace": "AWS/EC2"}, "smithy-rpc-v2-cbor")
    assert req.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert req.path.endswith("/operation/ListMetrics")
    assert where(req) == ("cloudwatch", "ListMetrics", "smithy-rpc-v2-cbor")


def test_rpc_v2_cbor_unknown_operation_and_service():
    req = serialized("cloudwatch", "ListMetrics", {}, "smithy-rpc-v2-cbor")
    prefix = req.path.split("/")[2]
    req.path = f"/service/{prefix}/operation/NoSuchThing"
    with pytest.raises(AwsError) as e:
        route(req)
    assert (e.value.code, e.value.status) == ("UnknownOperationException", 400)
    req.path = "/service/NoSuchService/operation/ListMetrics"
    with pytest.raises(AwsError) as e:
        route(req)
    assert e.value.status == 400


def test_rpc_v2_cbor_without_the_service_path_is_a_400():
    req = serialized("cloudwatch", "ListMetrics", {}, "smithy-rpc-v2-cbor")
    req.path = "/"
    with pytest.raises(AwsError) as e:
        route(req)
    assert e.value.status == 400


# -- query: Action= ------------------------------------------------------------------------------
def test_query_action_by_signing_name():
    req = sent("sts", "get_caller_identity")
    assert "authorization" in req.headers
    assert where(req) == ("sts", "GetCallerIdentity", "query")


def test_query_target_carries_the_form_parameters():
    req = sent("iam", "get_role", {"RoleName": "deployer"})
    t = route(req)
    assert (t.service, t.operation, t.protocol) == ("iam", "GetRole", "query")
    assert ("RoleName", "deployer") in t.params


def test_unsigned_query_action_routes_by_version():
    req = sent("sts", "assume_role_with_web_identity", {
        "RoleArn": "arn:aws:iam::123456789012:role/web", "RoleSessionName": "app",
        "WebIdentityToken": "eyJhbGciOiJSUzI1NiJ9.e30.sig"})
    assert "authorization" not in req.headers         # the operation is unsigned
    assert where(req) == ("sts", "AssumeRoleWithWebIdentity", "query")


def test_unsigned_query_get_routes_by_version():
    req = HttpRequest("GET", "/", "Action=ListQueues&Version=2012-11-05", {"host": "localhost:4566"})
    assert where(req) == ("sqs", "ListQueues", "query")


def test_sqs_legacy_query_protocol():
    req = serialized("sqs", "SendMessage", {"QueueUrl": f"{ENDPOINT}/000000000000/q",
                                            "MessageBody": "hello"}, "query")
    assert req.method == "POST"
    assert "x-www-form-urlencoded" in req.headers["content-type"]
    assert b"Action=SendMessage" in req.body
    t = route(req)
    assert (t.service, t.operation, t.protocol) == ("sqs", "SendMessage", "query")


def test_same_signing_name_told_apart_by_version():
    """elb and elbv2 are both signed 'elasticloadbalancing' and both have DescribeLoadBalancers."""
    v1 = sent("elb", "describe_load_balancers")
    v2 = sent("elbv2", "describe_load_balancers")
    assert where(v1) == ("elb", "DescribeLoadBalancers", "query")
    assert where(v2) == ("elbv2", "DescribeLoadBalancers", "query")


def test_ec2_protocol():
    req = sent("ec2", "describe_instances")
    assert where(req) == ("ec2", "DescribeInstances", "ec2")


def test_query_action_goes_to_the_query_service_of_a_shared_signing_name():
    """ses (query) and sesv2 (rest-json) share their signing name; an Action is ses's."""
    req = sent("ses", "list_identities")
    assert where(req) == ("ses", "ListIdentities", "query")


def test_unknown_action_is_invalid_action():
    req = sent("sts", "get_caller_identity")
    req.body = b"Action=GetCallerIdentityz&Version=2011-06-15"
    with pytest.raises(AwsError) as e:
        route(req)
    assert (e.value.code, e.value.status) == ("InvalidAction", 400)


def test_query_with_unknown_signing_name_is_a_400():
    req = sent("sts", "get_caller_identity")
    req.headers["authorization"] = req.headers["authorization"].replace("/sts/", "/nosuchsvc/")
    with pytest.raises(AwsError) as e:
        route(req)
    assert e.value.status == 400


# -- REST ----------------------------------------------------------------------------------------
def test_rest_apigateway_and_apigatewayv2_share_a_signing_name():
    v1 = sent("apigateway", "get_rest_apis")
    v2 = sent("apigatewayv2", "get_apis")
    assert v1.headers["authorization"].split("/")[3] == v2.headers["authorization"].split("/")[3]
    assert where(v1) == ("apigateway", "GetRestApis", "rest-json")
    assert where(v2) == ("apigatewayv2", "GetApis", "rest-json")


def test_rest_labels_are_decoded():
    req = sent("apigateway", "get_resource", {"restApiId": "a1b2c3", "resourceId": "r 1"})
    t = route(req)
    assert t.operation == "GetResource"
    assert t.labels == {"restapi_id": "a1b2c3", "resource_id": "r 1"}


def test_s3control_is_told_from_s3_by_its_host_prefix():
    req = sent("s3control", "list_access_points", {"AccountId": "123456789012"})
    assert req.host.startswith("123456789012.")
    assert "/s3/" in req.headers["authorization"]        # signed as S3
    assert where(req) == ("s3control", "ListAccessPoints", "rest-xml")


def test_s3_path_style():
    req = sent("s3", "get_object", {"Bucket": "mybucket", "Key": "dir/file.txt"})
    t = route(req)
    assert (t.service, t.operation, t.protocol) == ("s3", "GetObject", "rest-xml")
    assert t.labels == {"Bucket": "mybucket", "Key": "dir/file.txt"}


@pytest.mark.parametrize("endpoint", ["http://s3.localhost:4566", "http://s3.us-east-1.localhost",
                                      "http://s3.localhost.localstack.cloud:4566"])
def test_s3_virtual_host_style(endpoint):
    req = sent("s3", "put_object", {"Bucket": "mybucket", "Key": "dir/file.txt", "Body": b"x"},
               endpoint=endpoint, style="virtual")
    assert req.host.split(":")[0] == "mybucket." + urlsplit(endpoint).hostname
    assert req.path == "/dir/file.txt"
    t = route(req)
    assert (t.service, t.operation) == ("s3", "PutObject")
    assert t.bucket == "mybucket"
    assert t.labels == {"Bucket": "mybucket", "Key": "dir/file.txt"}


def test_s3_virtual_host_bucket_with_dots_and_bucket_level_operation():
    req = sent("s3", "list_objects_v2", {"Bucket": "my.dotted.bucket"},
               endpoint="http://s3.localhost.localstack.cloud:4566", style="virtual")
    assert req.path == "/"
    t = route(req)
    assert (t.operation, t.bucket, t.labels.get("Bucket")) == ("ListObjectsV2", "my.dotted.bucket", "my.dotted.bucket")


def test_s3_service_host_without_a_bucket_is_path_style():
    req = sent("s3", "list_buckets", endpoint="http://s3.localhost.localstack.cloud:4566", style="virtual")
    t = route(req)
    assert (t.operation, t.bucket) == ("ListBuckets", None)


def test_s3_virtual_host_on_plain_localhost():
    req = sent("s3", "get_object", {"Bucket": "mybucket", "Key": "dir/file.txt"}, style="virtual")
    assert req.host == "mybucket.localhost:4566"
    t = route(req)
    assert t.labels == {"Bucket": "mybucket", "Key": "dir/file.txt"}


@pytest.mark.parametrize("method,params,operation", [
    ("put_object", {"Body": b"data"}, "PutObject"),
    ("copy_object", {"CopySource": "src-bucket/src-key"}, "CopyObject"),
    ("upload_part", {"PartNumber": 2, "UploadId": "upl", "Body": b"data"}, "UploadPart"),
    ("upload_part_copy", {"PartNumber": 2, "UploadId": "upl", "CopySource": "src-bucket/k"}, "UploadPartCopy"),
    ("get_object", {}, "GetObject"),
    ("list_parts", {"UploadId": "upl"}, "ListParts"),
    ("get_object_acl", {}, "GetObjectAcl"),
    ("head_object", {}, "HeadObject"),
    ("delete_object", {}, "DeleteObject"),
    ("create_multipart_upload", {}, "CreateMultipartUpload"),
    ("abort_multipart_upload", {"UploadId": "upl"}, "AbortMultipartUpload"),
])
def test_s3_operations_sharing_a_uri(method, params, operation):
    req = sent("s3", method, {"Bucket": "mybucket", "Key": "k.bin", **params})
    assert req.path == "/mybucket/k.bin"
    assert where(req) == ("s3", operation, "rest-xml")


@pytest.mark.parametrize("method,operation", [("get_bucket_acl", "GetBucketAcl"),
                                              ("head_bucket", "HeadBucket"),
                                              ("list_objects", "ListObjects"),
                                              ("list_objects_v2", "ListObjectsV2"),
                                              ("get_bucket_tagging", "GetBucketTagging")])
def test_s3_bucket_operations(method, operation):
    assert where(sent("s3", method, {"Bucket": "mybucket"}))[:2] == ("s3", operation)


def test_unsigned_rest_request_is_s3():
    req = HttpRequest("GET", "/public-bucket/index.html", "", {"host": "localhost:4566"})
    t = route(req)
    assert (t.service, t.operation) == ("s3", "GetObject")
    assert t.labels == {"Bucket": "public-bucket", "Key": "index.html"}


def test_execute_api_host():
    req = HttpRequest("GET", "/prod/pets", "", {"host": "a1b2c3d4e5.execute-api.localhost:4566"})
    t = route(req)
    assert t.service in ("execute-api", "apigateway")     # a deployed API's data plane
    assert t.labels == {"api": "a1b2c3d4e5"}


def test_execute_api_host_is_not_taken_for_other_signing_names():
    req = sent("s3", "list_buckets")
    req.headers["host"] = req.host = "a1b2c3d4e5.execute-api.localhost:4566"
    assert where(req)[:2] == ("s3", "ListBuckets")


def test_rest_unknown_signing_name_is_a_400():
    req = sent("apigateway", "get_rest_apis")
    req.headers["authorization"] = req.headers["authorization"].replace("/apigateway/", "/nosuchsvc/")
    with pytest.raises(AwsError) as e:
        route(req)
    assert e.value.status == 400
    assert "nosuchsvc" in e.value.message


def test_rest_no_matching_route_is_a_404():
    req = sent("apigateway", "get_rest_apis")
    req.path = "/no/such/route/here"
    with pytest.raises(AwsError) as e:
        route(req)
    assert e.value.status == 404


def test_rest_wrong_method_is_a_404():
    req = sent("apigatewayv2", "get_apis")
    req.method = "PATCH"
    with pytest.raises(AwsError) as e:
        route(req)
    assert e.value.status == 404
