"""Dispatcher.call: in-process calls between services, with the same validation."""

import asyncio

import pytest

from haneul.context import RequestContext
from haneul.dispatch import Dispatcher
from haneul.errors import AwsError
from haneul.store import Store


@pytest.fixture
def dispatcher():
    store = Store(None)
    yield Dispatcher(store)
    store.close()


def ctx(store, account="123456789012"):
    return RequestContext(account=account, region="us-east-1", store=store)


def test_call_reaches_the_service_in_the_callers_account(dispatcher):
    c = ctx(dispatcher.store)
    asyncio.run(dispatcher.call(c, "ssm", "PutParameter", {"Name": "p", "Value": "v", "Type": "String"}))
    got = asyncio.run(dispatcher.call(c, "ssm", "GetParameter", {"Name": "p"}))
    assert got["Parameter"]["Value"] == "v"
    with pytest.raises(AwsError) as e:      # another account does not see it
        asyncio.run(dispatcher.call(c, "ssm", "GetParameter", {"Name": "p"}, account="999999999999"))
    assert e.value.code == "ParameterNotFound"


def test_call_validates_like_a_request(dispatcher):
    with pytest.raises(AwsError) as e:
        asyncio.run(dispatcher.call(ctx(dispatcher.store), "ssm", "GetParameter", {}))
    assert e.value.code == "ValidationException"
    assert "Value null at 'name' failed to satisfy constraint: Member must not be null" in e.value.message


def test_call_with_json_documents_gives_json_back(dispatcher):
    c = ctx(dispatcher.store)
    asyncio.run(dispatcher.call(c, "ssm", "PutParameter", {"Name": "p", "Value": "v", "Type": "String"},
                                json_document=True))
    got = asyncio.run(dispatcher.call(c, "ssm", "GetParameter", {"Name": "p"}, json_document=True))
    assert isinstance(got["Parameter"]["LastModifiedDate"], (int, float))   # epoch, as JSON carries it


def test_unknown_operation_is_refused(dispatcher):
    with pytest.raises(AwsError) as e:
        asyncio.run(dispatcher.call(ctx(dispatcher.store), "ssm", "NoSuchThing", {}))
    assert e.value.code == "UnknownOperationException"


def test_json_documents_carry_members_bound_to_uri_and_headers(dispatcher):
    """S3's Bucket and Key live in the URI and ContentType in a header: a document names them all."""
    c = ctx(dispatcher.store)
    asyncio.run(dispatcher.call(c, "s3", "CreateBucket", {"Bucket": "docs-bucket"}, json_document=True))
    import base64
    asyncio.run(dispatcher.call(c, "s3", "PutObject", {"Bucket": "docs-bucket", "Key": "a/b.txt",
                                                      "ContentType": "text/plain",
                                                      "Body": base64.b64encode(b"hello").decode()},
                                json_document=True))
    head = asyncio.run(dispatcher.call(c, "s3", "HeadObject", {"Bucket": "docs-bucket", "Key": "a/b.txt"},
                                       json_document=True))
    assert head["ContentType"] == "text/plain" and head["ContentLength"] == 5
