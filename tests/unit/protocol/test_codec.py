"""haneul.protocol.codec.ErrorFacts: an AwsError looked up in the service model.

The model says, per error shape: its wire code (`error.code`, the awsQueryError trait),
its HTTP status (`error.httpStatusCode`), whether it is the sender's fault
(`error.senderFault`) and, for Smithy's @error("server"), `fault: true`.
"""

from __future__ import annotations

import pytest
from botocore import parsers

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.protocol import get_codec
from haneul.protocol.codec import ErrorFacts
from haneul.protocol.shapes import service_spec

CTX = RequestContext(account="123456789012", region="us-east-1", store=None, request_id="rid")


def facts(service: str, code: str, message: str = "boom", **kw) -> ErrorFacts:
    return ErrorFacts(service_spec(service), AwsError(code, message, **kw))


def test_modeled_error_takes_status_and_fault_from_the_model():
    f = facts("iam", "NoSuchEntityException")
    assert f.shape is not None and f.shape.name == "NoSuchEntityException"
    assert f.status == 404
    assert f.sender is True and f.fault == "Sender"
    assert f.query_code == "NoSuchEntity"           # the wire code of the query protocol
    assert f.members == {"message": "boom"}


def test_lookup_by_wire_code_finds_the_same_shape():
    assert facts("iam", "NoSuchEntity").shape.name == "NoSuchEntityException"
    assert facts("iam", "EntityAlreadyExists").status == 409


def test_the_model_status_wins_over_the_raised_one():
    assert facts("iam", "NoSuchEntityException", status=400).status == 404


def test_unmodeled_error_uses_the_raised_status_or_400():
    f = facts("iam", "SomethingElse", status=418)
    assert (f.shape, f.status, f.fault) == (None, 418, "Sender")
    assert facts("iam", "SomethingElse").status == 400
    assert ErrorFacts(None, AwsError("InternalFailure", "x", 500, sender=False)).fault == "Receiver"


def test_modeled_error_without_an_error_trait_uses_the_raised_status():
    f = facts("ssm", "ParameterNotFound", status=400)
    assert f.shape is not None
    assert (f.status, f.query_code) == (400, None)


def test_message_member_follows_the_shapes_spelling():
    assert facts("iam", "NoSuchEntityException").message_member == "message"
    assert facts("ssm", "InternalServerError").message_member == "Message"
    assert facts("ssm", "InternalServerError", "down").members == {"Message": "down"}


def test_fields_become_members_and_none_fields_are_dropped():
    f = facts("cloudwatch", "ResourceNotFoundException", "gone",
              fields={"ResourceType": "Alarm", "ResourceId": None})
    assert f.members == {"ResourceType": "Alarm", "message": "gone"}


def test_explicit_query_code_wins():
    err = AwsError("QueueDoesNotExist", "no queue")
    err.query_code = "AWS.SimpleQueueService.NonExistentQueue"
    assert ErrorFacts(service_spec("sqs"), err).query_code == "AWS.SimpleQueueService.NonExistentQueue"


@pytest.mark.parametrize("service,code", [("iam", "ServiceFailureException"),
                                          ("cloudwatch", "InternalServiceFault")])
def test_error_trait_without_sender_fault_is_a_receiver_fault(service, code):
    f = facts(service, code)
    assert f.status == 500
    assert f.fault == "Receiver"


@pytest.mark.parametrize("service,code", [("ssm", "InternalServerError"), ("dynamodb", "InternalServerError")])
def test_server_fault_shapes_are_500_receiver(service, code):
    f = facts(service, code)
    assert (f.status, f.fault) == (500, "Receiver")


# -- the facts on the wire, read back by botocore ------------------------------------------------------
def botocore_error(protocol: str, resp) -> dict:
    from botocore.awsrequest import HeadersDict
    headers = HeadersDict()
    for k, v in resp.headers:
        headers[k] = v
    return parsers.create_parser(protocol).parse(
        {"status_code": resp.status, "headers": headers, "body": resp.body}, None)["Error"]


def test_query_error_carries_code_type_and_message():
    spec = service_spec("iam")
    resp = get_codec("query").serialize_error(spec, spec.operation("GetRole"),
                                              AwsError("NoSuchEntityException", "no role <x>"), CTX)
    assert resp.status == 404
    assert botocore_error("query", resp) == {"Type": "Sender", "Code": "NoSuchEntity", "Message": "no role <x>"}


def test_query_compatible_code_in_the_query_protocol():
    spec = service_spec("sqs")
    err = AwsError("QueueDoesNotExist", "The specified queue does not exist.")
    err.query_code = "AWS.SimpleQueueService.NonExistentQueue"
    resp = get_codec("query").serialize_error(spec, spec.operation("GetQueueUrl"), err, CTX)
    assert botocore_error("query", resp)["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
