"""haneul.dispatch: method names, in-process calls with validation, one transaction per call.

A tiny fake KMS is registered in place of a real one (monkeypatching haneul.registry.SERVICES),
so the dispatcher runs against botocore's real KMS model.
"""

from __future__ import annotations

import asyncio
import json

import botocore
import pytest
from botocore import parsers

from haneul import catalog, registry
from haneul.context import Principal, RequestContext
from haneul.dispatch import Dispatcher, xform_name
from haneul.errors import AwsError
from haneul.protocol.message import HttpRequest
from haneul.store import Store


# -- xform_name -------------------------------------------------------------------------------------
@pytest.mark.parametrize("service", ["sts", "ssm", "sqs", "iam", "s3", "s3control", "dynamodb", "ec2",
                                     "lambda", "stepfunctions", "organizations", "apigateway", "rds"])
def test_xform_name_matches_botocore_for_every_operation(service):
    ops = catalog.services()[service]["operations"]
    assert ops
    different = {op: (xform_name(op), botocore.xform_name(op)) for op in ops
                 if xform_name(op) != botocore.xform_name(op)}
    assert different == {}


@pytest.mark.parametrize("name,expected", [("GetQueueUrl", "get_queue_url"), ("GetQueueURL", "get_queue_url"),
                                           ("ListTagsForResource", "list_tags_for_resource"),
                                           ("DescribeDBInstances", "describe_db_instances"),
                                           ("GetSAMLProvider", "get_saml_provider")])
def test_xform_name_examples(name, expected):
    assert xform_name(name) == expected == botocore.xform_name(name)


@pytest.mark.parametrize("service", ["cloudwatch", "memorydb", "elasticbeanstalk", "cognito-idp", "wafv2",
                                     "storagegateway"])
def test_xform_name_matches_botocore_for_acronym_plurals(service):
    ops = catalog.services()[service]["operations"]
    assert [op for op in ops if xform_name(op) != botocore.xform_name(op)] == []


# -- a fake service ------------------------------------------------------------------------------------
class FakeKms:
    SCHEMA = ["CREATE TABLE fake_alias (name TEXT PRIMARY KEY, key_id TEXT NOT NULL)"]
    calls: list = []

    def __init__(self, app=None):
        self.app = app

    def create_alias(self, ctx, request):
        FakeKms.calls.append((ctx, request))
        ctx.db.execute("INSERT INTO fake_alias VALUES (?, ?)", (request["AliasName"], request["TargetKeyId"]))
        if request["AliasName"] == "alias/fail":
            raise AwsError("NotFoundException", "Key 'x' does not exist")
        if request["AliasName"] == "alias/crash":
            raise RuntimeError("bug in the service")
        return {}

    def list_aliases(self, ctx, request):
        rows = ctx.db.execute("SELECT name, key_id FROM fake_alias ORDER BY name").fetchall()
        return {"Aliases": [{"AliasName": n, "TargetKeyId": k} for n, k in rows]}

    async def describe_key(self, ctx, request):
        FakeKms.calls.append((ctx, request))
        return {"KeyMetadata": {"KeyId": request["KeyId"], "Arn": f"arn:aws:kms:{ctx.region}:{ctx.account}:key/x"}}


class StrictFakeKms(FakeKms):
    VALIDATION_ERROR = "ValidationError"


@pytest.fixture
def dispatcher(monkeypatch):
    monkeypatch.setitem(registry.SERVICES, "kms", f"{__name__}:FakeKms")
    FakeKms.calls = []
    store = Store(None)
    yield Dispatcher(store)
    store.close()


@pytest.fixture
def ctx(dispatcher):
    return RequestContext(account="123456789012", region="eu-west-1", store=dispatcher.store,
                          principal=Principal(access_key="AKID", account="123456789012",
                                              arn="arn:aws:iam::123456789012:user/alice", kind="user"))


def call(dispatcher, ctx, operation, request):
    return asyncio.run(dispatcher.call(ctx, "kms", operation, request))


def aliases(dispatcher) -> list[str]:
    with dispatcher.store.lock:
        return [r[0] for r in dispatcher.store.conn.execute("SELECT name FROM fake_alias ORDER BY name")]


def test_call_runs_the_method_in_a_transaction_and_commits(dispatcher, ctx):
    assert call(dispatcher, ctx, "CreateAlias", {"AliasName": "alias/app", "TargetKeyId": "k1"}) == {}
    assert aliases(dispatcher) == ["alias/app"]
    out = call(dispatcher, ctx, "ListAliases", {})
    assert out == {"Aliases": [{"AliasName": "alias/app", "TargetKeyId": "k1"}]}


def test_service_schema_is_migrated_on_first_use(dispatcher, ctx):
    call(dispatcher, ctx, "ListAliases", {})
    with dispatcher.store.lock:
        version = dispatcher.store.conn.execute("SELECT version FROM _schema WHERE namespace='kms'").fetchone()[0]
    assert version == len(FakeKms.SCHEMA)


def test_aws_error_rolls_back_the_methods_writes(dispatcher, ctx):
    call(dispatcher, ctx, "CreateAlias", {"AliasName": "alias/keep", "TargetKeyId": "k1"})
    with pytest.raises(AwsError) as e:
        call(dispatcher, ctx, "CreateAlias", {"AliasName": "alias/fail", "TargetKeyId": "k1"})
    assert e.value.code == "NotFoundException"
    assert aliases(dispatcher) == ["alias/keep"]


def test_unexpected_exception_rolls_back_too(dispatcher, ctx):
    with pytest.raises(RuntimeError):
        call(dispatcher, ctx, "CreateAlias", {"AliasName": "alias/crash", "TargetKeyId": "k1"})
    assert aliases(dispatcher) == []
    call(dispatcher, ctx, "CreateAlias", {"AliasName": "alias/after", "TargetKeyId": "k1"})
    assert aliases(dispatcher) == ["alias/after"]


def test_validation_happens_before_the_method(dispatcher, ctx):
    with pytest.raises(AwsError) as e:
        call(dispatcher, ctx, "CreateAlias", {"AliasName": "alias/has space"})
    assert (e.value.code, e.value.status) == ("ValidationException", 400)
    assert e.value.message.startswith("2 validation errors detected: ")
    assert "Value null at 'targetKeyId' failed to satisfy constraint: Member must not be null" in e.value.message
    assert "Value 'alias/has space' at 'aliasName' failed to satisfy constraint: " \
           "Member must satisfy regular expression pattern: " in e.value.message
    assert FakeKms.calls == []


def test_range_validation_on_call(dispatcher, ctx):
    with pytest.raises(AwsError) as e:
        call(dispatcher, ctx, "ListAliases", {"Limit": 0})
    assert e.value.message == ("1 validation error detected: Value '0' at 'limit' failed to satisfy "
                               "constraint: Member must have value greater than or equal to 1")


def test_a_service_may_name_its_validation_error(monkeypatch, ctx):
    monkeypatch.setitem(registry.SERVICES, "kms", f"{__name__}:StrictFakeKms")
    d = Dispatcher(ctx.store)
    with pytest.raises(AwsError) as e:
        asyncio.run(d.call(ctx, "kms", "CreateAlias", {"AliasName": "alias/a"}))
    assert e.value.code == "ValidationError"


def test_call_carries_the_callers_identity_into_a_new_context(dispatcher, ctx):
    call(dispatcher, ctx, "CreateAlias", {"AliasName": "alias/who", "TargetKeyId": "k"})
    (sub, request), = FakeKms.calls
    assert sub is not ctx
    assert (sub.account, sub.region, sub.principal) == (ctx.account, ctx.region, ctx.principal)
    assert (sub.service, sub.operation) == ("kms", "CreateAlias")
    assert sub.db is None          # the transaction is over once the call returns


def test_async_methods_are_awaited(dispatcher, ctx):
    out = call(dispatcher, ctx, "DescribeKey", {"KeyId": "k-123"})
    assert out["KeyMetadata"] == {"KeyId": "k-123", "Arn": "arn:aws:kms:eu-west-1:123456789012:key/x"}


def test_operation_not_in_the_model(dispatcher, ctx):
    with pytest.raises(AwsError) as e:
        call(dispatcher, ctx, "NoSuchOperation", {})
    assert e.value.code == "UnknownOperationException"


def test_operation_in_the_model_but_not_implemented(dispatcher, ctx):
    with pytest.raises(AwsError) as e:
        call(dispatcher, ctx, "ListKeys", {})
    assert (e.value.code, e.value.status) == ("NotImplementedException", 501)
    assert "ListKeys" in e.value.message


def test_service_not_implemented(dispatcher, ctx):
    assert "glacier" not in registry.SERVICES
    with pytest.raises(AwsError) as e:
        asyncio.run(dispatcher.call(ctx, "glacier", "ListVaults", {"accountId": "-"}))
    assert (e.value.code, e.value.status) == ("NotImplementedException", 501)


# -- the HTTP path, end to end ----------------------------------------------------------------------
def kms_request(operation: str, body: dict) -> HttpRequest:
    headers = {"host": "localhost:4566", "content-type": "application/x-amz-json-1.1",
               "x-amz-target": f"TrentService.{operation}",
               "authorization": "AWS4-HMAC-SHA256 Credential=123456789012/20240102/eu-west-1/kms/"
                                "aws4_request, SignedHeaders=host, Signature=00"}
    return HttpRequest("POST", "/", "", headers, json.dumps(body).encode(), "localhost:4566")


def test_handle_answers_with_the_account_and_region_of_the_signature(dispatcher):
    resp, ctx, service, operation = asyncio.run(dispatcher.handle(kms_request("DescribeKey", {"KeyId": "k"})))
    assert (resp.status, service, operation) == (200, "kms", "DescribeKey")
    assert json.loads(resp.body)["KeyMetadata"]["Arn"] == "arn:aws:kms:eu-west-1:123456789012:key/x"
    assert resp.header("x-amzn-RequestId") == ctx.request_id


def test_handle_turns_errors_into_the_protocols_error_body(dispatcher):
    resp, _, _, _ = asyncio.run(dispatcher.handle(kms_request("CreateAlias", {"AliasName": "alias/fail",
                                                                              "TargetKeyId": "k"})))
    assert resp.status == 400
    from botocore.awsrequest import HeadersDict
    headers = HeadersDict()
    for k, v in resp.headers:
        headers[k] = v
    err = parsers.create_parser("json").parse({"status_code": resp.status, "headers": headers,
                                               "body": resp.body}, None)["Error"]
    assert (err["Code"], err["Message"]) == ("NotFoundException", "Key 'x' does not exist")
    assert aliases(dispatcher) == []


def test_handle_unexpected_exception_is_internal_failure(dispatcher):
    resp, _, _, _ = asyncio.run(dispatcher.handle(kms_request("CreateAlias", {"AliasName": "alias/crash",
                                                                              "TargetKeyId": "k"})))
    assert resp.status == 500
    assert json.loads(resp.body)["__type"] == "InternalFailure"
