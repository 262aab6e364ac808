"""SQS's legacy query protocol, which older SDKs (and hand-written form posts) still use.

botocore's SQS model is the JSON one; it kept `flattened` but lost the XML names that query
clients send (`Attribute.1.Name`, `MessageAttribute.1.Value.StringValue`, ...) and expect
back (`<ReceiveMessageResult><Message>...`).  QUERY_MODEL puts them back; it is merged over
the model for query requests only (haneul.protocol.MODEL_PATCHES).
"""

from __future__ import annotations

import re

from haneul.protocol.query import Query

_ENTRY = {"key": {"locationName": "Name"}, "value": {"locationName": "Value"}}


def _list(member_name: str) -> dict:
    return {"member": {"locationName": member_name}}


def _refs(**members: str) -> dict:
    return {"members": {m: {"locationName": n} for m, n in members.items()}}


QUERY_MODEL = {
    "metadata": {"xmlNamespace": "http://queue.amazonaws.com/doc/2012-11-05/"},
    "shapes": {
        "AWSAccountIdList": _list("AWSAccountId"),
        "ActionNameList": _list("ActionName"),
        "AttributeNameList": _list("AttributeName"),
        "MessageAttributeNameList": _list("MessageAttributeName"),
        "MessageSystemAttributeList": _list("MessageSystemAttributeName"),
        "QueueUrlList": _list("QueueUrl"),
        "TagKeyList": _list("TagKey"),
        "MessageList": _list("Message"),
        "StringList": _list("StringListValue"),
        "BinaryList": _list("BinaryListValue"),
        "BatchResultErrorEntryList": _list("BatchResultErrorEntry"),
        "SendMessageBatchRequestEntryList": _list("SendMessageBatchRequestEntry"),
        "SendMessageBatchResultEntryList": _list("SendMessageBatchResultEntry"),
        "DeleteMessageBatchRequestEntryList": _list("DeleteMessageBatchRequestEntry"),
        "DeleteMessageBatchResultEntryList": _list("DeleteMessageBatchResultEntry"),
        "ChangeMessageVisibilityBatchRequestEntryList": _list("ChangeMessageVisibilityBatchRequestEntry"),
        "ChangeMessageVisibilityBatchResultEntryList": _list("ChangeMessageVisibilityBatchResultEntry"),
        "ListMessageMoveTasksResultEntryList": _list("ListMessageMoveTasksResultEntry"),
        "QueueAttributeMap": _ENTRY,
        "MessageBodyAttributeMap": _ENTRY,
        "MessageBodySystemAttributeMap": _ENTRY,
        "MessageSystemAttributeMap": _ENTRY,
        "TagMap": {"key": {"locationName": "Key"}, "value": {"locationName": "Value"}},
        "CreateQueueRequest": _refs(Attributes="Attribute", tags="Tag"),
        "SetQueueAttributesRequest": _refs(Attributes="Attribute"),
        "GetQueueAttributesResult": _refs(Attributes="Attribute"),
        "ListQueueTagsResult": _refs(Tags="Tag"),
        "TagQueueRequest": _refs(Tags="Tag"),
        "SendMessageRequest": _refs(MessageAttributes="MessageAttribute",
                                    MessageSystemAttributes="MessageSystemAttribute"),
        "SendMessageBatchRequestEntry": _refs(MessageAttributes="MessageAttribute",
                                              MessageSystemAttributes="MessageSystemAttribute"),
        "Message": _refs(Attributes="Attribute", MessageAttributes="MessageAttribute"),
    },
}

_QUEUE_PATH = re.compile(r"^/(\d{12})/([^/]+)/?$")


class SqsQuery(Query):
    """Legacy clients may post to the queue's URL instead of sending QueueUrl."""

    def parse(self, op, req, target=None) -> dict:
        request = super().parse(op, req, target)
        if op.input is not None and "QueueUrl" in op.input.members and "QueueUrl" not in request:
            if _QUEUE_PATH.match(req.path):
                request["QueueUrl"] = f"{req.scheme}://{req.host}{req.path.rstrip('/')}"
        return request
