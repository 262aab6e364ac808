"""S3 event documents for EventBridge and destination ARNs, without a server."""

import json

from haneul.services.s3 import notifications


def test_eventbridge_entry_for_puts_and_deletes():
    obj = {"key": "a+b", "raw_key": "a b", "size": 3, "eTag": "e", "sequencer": "01", "versionId": "v1"}
    entry = notifications.eventbridge_entry("ObjectCreated:Put", "bk", "us-east-1", obj, "req", "111122223333", 0)
    detail = json.loads(entry["Detail"])
    assert (entry["Source"], entry["DetailType"], entry["Resources"]) == ("aws.s3", "Object Created", ["arn:aws:s3:::bk"])
    assert detail["object"] == {"key": "a b", "size": 3, "etag": "e", "version-id": "v1", "sequencer": "01"}
    assert detail["reason"] == "PutObject" and detail["bucket"] == {"name": "bk"}
    gone = json.loads(notifications.eventbridge_entry("LifecycleExpiration:DeleteMarkerCreated", "bk", "us-east-1",
                                                      obj, "r", "s3", 0)["Detail"])
    assert (gone["reason"], gone["deletion-type"]) == ("Lifecycle Expiration", "Delete Marker Created")


def test_destination_arns():
    assert notifications._arn_parts("arn:aws:lambda:eu-west-1:111122223333:function:fn:prod", "lambda") == (
        "eu-west-1", "111122223333", "fn:prod")
    assert notifications._arn_parts("arn:aws:sns:us-east-1:111122223333:topic", "sns")[2] == "topic"
    assert notifications._arn_parts("arn:aws:sqs:us-east-1:111122223333:q", "sns") is None
