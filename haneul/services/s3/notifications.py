"""Event notifications: the bucket's NotificationConfiguration, and S3 event records
delivered through the dispatcher in the destination owner's account: SQS queues
(SendMessage), Lambda functions (asynchronous Invoke), SNS topics (Publish) and, when
EventBridge is enabled on the bucket, the default event bus (PutEvents).  A destination
whose service Haneul does not run yet is stored and returned, and delivered nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fnmatch
import json
import logging
from urllib.parse import quote_plus

from haneul import registry
from haneul.context import Principal, RequestContext
from haneul.errors import AwsError
from haneul.services.s3 import access, storage
from haneul.services.s3.storage import get_bucket

log = logging.getLogger("haneul.s3.notifications")


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int(t * 1000) % 1000:03d}Z"


def _matches(conf: dict, event: str, key: str) -> bool:
    if not any(fnmatch.fnmatchcase("s3:" + event, e) for e in conf.get("Events") or []):
        return False
    for rule in ((conf.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []:
        name, value = (rule.get("Name") or "").lower(), rule.get("Value") or ""
        if name == "prefix" and not key.startswith(value):
            return False
        if name == "suffix" and not key.endswith(value):
            return False
    return True


def _arn_parts(arn: str, service: str) -> tuple[str, str, str] | None:
    """(region, account, resource) of an SQS queue, SNS topic or Lambda function ARN."""
    parts = (arn or "").split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != service:
        return None
    if service == "lambda":
        return (parts[3], parts[4], ":".join(parts[6:])) if parts[5] == "function" else None
    return parts[3], parts[4], parts[5]


def _queue_parts(arn: str) -> tuple[str, str, str] | None:
    return _arn_parts(arn, "sqs")


# configuration kind -> (member holding the ARN, service)
_DESTINATIONS = {"QueueConfigurations": ("QueueArn", "sqs"), "TopicConfigurations": ("TopicArn", "sns"),
                 "LambdaFunctionConfigurations": ("LambdaFunctionArn", "lambda")}


def _owner_ctx(app, store, account: str, region: str) -> RequestContext:
    return RequestContext(account=account, region=region, store=store, app=app,
                          principal=Principal(access_key="", account=account, arn=f"arn:aws:iam::{account}:root"))


async def _call(app, store, service: str, arn: str, operation: str, request: dict) -> dict:
    region, account, _ = _arn_parts(arn, service)
    ctx = _owner_ctx(app, store, account, region)
    return await app.dispatcher.call(ctx, service, operation, request, account=account, region=region)


async def _deliver(app, store, service: str, arn: str, body: str) -> bool:
    """One event document to one destination; False (logged) when it could not be sent."""
    if app is None or getattr(app, "dispatcher", None) is None or _arn_parts(arn, service) is None \
            or not registry.available(service):
        return False
    try:
        if service == "sqs":
            name = _arn_parts(arn, "sqs")[2]
            url = (await _call(app, store, "sqs", arn, "GetQueueUrl", {"QueueName": name}))["QueueUrl"]
            await _call(app, store, "sqs", arn, "SendMessage", {"QueueUrl": url, "MessageBody": body})
        elif service == "sns":
            await _call(app, store, "sns", arn, "Publish", {"TopicArn": arn, "Message": body,
                                                            "Subject": "Amazon S3 Notification"})
        else:
            await _call(app, store, "lambda", arn, "Invoke", {"FunctionName": arn, "InvocationType": "Event",
                                                              "Payload": body.encode()})
        return True
    except AwsError as e:
        log.warning("S3 notification to %s failed: %s", arn, e)
        return False


async def _send(app, store, queue_arn: str, body: str) -> bool:
    return await _deliver(app, store, "sqs", queue_arn, body)


_EVENT_PREFIXES = ("s3:ObjectCreated:", "s3:ObjectRemoved:", "s3:ObjectRestore:", "s3:ReducedRedundancyLostObject",
                   "s3:Replication:", "s3:LifecycleExpiration:", "s3:LifecycleTransition", "s3:IntelligentTiering",
                   "s3:ObjectTagging:", "s3:ObjectAcl:Put")


async def _destination_exists(ctx, service: str, arn: str) -> bool:
    """Does the queue/topic/function exist?  Unknowable (so accepted) while its service
    is not running here or without a dispatcher (unit tests)."""
    parts = _arn_parts(arn, service)
    if parts is None:
        return False
    app = ctx.app
    if app is None or getattr(app, "dispatcher", None) is None or not registry.available(service):
        return True
    probe = {"sqs": ("GetQueueUrl", {"QueueName": parts[2]}),
             "sns": ("GetTopicAttributes", {"TopicArn": arn}),
             "lambda": ("GetFunction", {"FunctionName": arn})}[service]
    try:
        await _call(app, ctx.store, service, arn, *probe)
        return True
    except AwsError:
        return False


async def _queue_exists(ctx, arn: str) -> bool:
    return await _destination_exists(ctx, "sqs", arn)


# EventBridge's detail-type and reason for S3's event names
_EB_TYPES = {"ObjectCreated": "Object Created", "ObjectRemoved": "Object Deleted",
             "LifecycleExpiration": "Object Deleted", "ObjectRestore:Post": "Object Restore Initiated",
             "ObjectRestore:Completed": "Object Restore Completed", "ObjectTagging:Put": "Object Tags Added",
             "ObjectTagging:Delete": "Object Tags Deleted", "ObjectAcl:Put": "Object ACL Updated",
             "LifecycleTransition": "Object Storage Class Changed"}
_EB_REASONS = {"ObjectCreated:Put": "PutObject", "ObjectCreated:Post": "POST Object",
               "ObjectCreated:Copy": "CopyObject", "ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
               "ObjectRemoved:Delete": "DeleteObject", "ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
               "LifecycleExpiration:Delete": "Lifecycle Expiration",
               "LifecycleExpiration:DeleteMarkerCreated": "Lifecycle Expiration"}


def eventbridge_entry(event: str, bucket: str, region: str, obj: dict, request_id: str, requester: str,
                      when: float) -> dict | None:
    detail_type = _EB_TYPES.get(event) or _EB_TYPES.get(event.split(":")[0])
    if detail_type is None:
        return None
    detail = {"version": "0", "bucket": {"name": bucket},
              "object": {k2: obj[k1] for k1, k2 in (("key", "key"), ("size", "size"), ("eTag", "etag"),
                                                     ("versionId", "version-id"), ("sequencer", "sequencer"))
                         if k1 in obj},
              "request-id": request_id, "requester": requester, "source-ip-address": "127.0.0.1"}
    detail["object"]["key"] = obj.get("raw_key", detail["object"].get("key"))
    if event in _EB_REASONS:
        detail["reason"] = _EB_REASONS[event]
    if event.endswith("DeleteMarkerCreated"):
        detail["deletion-type"] = "Delete Marker Created"
    elif event.endswith(":Delete"):
        detail["deletion-type"] = "Permanently Deleted"
    return {"Source": "aws.s3", "DetailType": detail_type, "Detail": json.dumps(detail),
            "Resources": [f"arn:aws:s3:::{bucket}"], "Time": dt.datetime.fromtimestamp(when, dt.timezone.utc)}


async def _put_event(app, store, account: str, region: str, entry: dict) -> None:
    if app is None or getattr(app, "dispatcher", None) is None or not registry.available("events"):
        return
    try:
        await app.dispatcher.call(_owner_ctx(app, store, account, region), "events", "PutEvents",
                                  {"Entries": [entry]}, account=account, region=region)
    except AwsError as e:
        log.warning("S3 event to EventBridge failed: %s", e)


class NotificationOperations:
    async def put_bucket_notification_configuration(self, ctx, request):
        with ctx.store.transaction() as db:
            bucket = get_bucket(db, request["Bucket"])
            access.check(ctx, db, bucket, "s3:PutBucketNotification")
        doc = request.get("NotificationConfiguration") or {}
        for kind in ("QueueConfigurations", "TopicConfigurations", "LambdaFunctionConfigurations"):
            for conf in doc.get(kind) or []:
                conf.setdefault("Id", _random_id())
                for e in conf.get("Events") or []:
                    if not e.startswith(_EVENT_PREFIXES):
                        raise AwsError("InvalidArgument", "The event is not supported for notifications",
                                       status=400, ArgumentName=e)
        if "EventBridgeConfiguration" in doc and doc["EventBridgeConfiguration"] is None:
            doc["EventBridgeConfiguration"] = {}
        _NOUN = {"sqs": "queue", "sns": "topic", "lambda": "function"}
        for kind, (member, service) in _DESTINATIONS.items():
            for conf in doc.get(kind) or []:
                if not await _destination_exists(ctx, service, conf.get(member) or ""):
                    raise AwsError("InvalidArgument", "Unable to validate the following destination configurations",
                                   status=400, ArgumentName=conf.get(member),
                                   ArgumentValue=f"The destination {_NOUN[service]} does not exist")
        with ctx.store.transaction() as db:
            storage.set_config(db, get_bucket(db, request["Bucket"])["name"], "notification", doc)
        test = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": _iso(ctx.now()),
                           "Bucket": request["Bucket"], "RequestId": ctx.request_id, "HostId": "haneul"})
        for kind, service in (("QueueConfigurations", "sqs"), ("TopicConfigurations", "sns")):
            for conf in doc.get(kind) or []:      # S3 tests queues and topics, not functions
                _spawn(_deliver(ctx.app, ctx.store, service, conf[_DESTINATIONS[kind][0]], test))
        return {}

    def get_bucket_notification_configuration(self, ctx, request):
        bucket = get_bucket(ctx.db, request["Bucket"])
        access.check(ctx, ctx.db, bucket, "s3:GetBucketNotification")
        return storage.config(ctx.db, bucket["name"], "notification") or {}

    def notify(self, ctx, bucket: str, key: str, event: str, size: int | None = None,
               etag: str | None = None, version_id: str | None = None) -> None:
        """Queue the event's delivery to every matching destination (after this request)."""
        app = ctx.app
        if app is None:
            return
        with ctx.store.transaction() as db:
            doc = storage.config(db, bucket, "notification")
            if not doc:
                return
            row = db.execute("SELECT account, region FROM s3_bucket WHERE name=?", (bucket,)).fetchone()
        targets = [(service, conf[member], conf) for kind, (member, service) in _DESTINATIONS.items()
                   for conf in doc.get(kind) or [] if conf.get(member) and _matches(conf, event, key)]
        eventbridge = doc.get("EventBridgeConfiguration") is not None
        if (not targets and not eventbridge) or row is None:
            return
        now = ctx.now()
        obj = {"key": quote_plus(key, safe="/"), "sequencer": f"{int(now * 1e6):016X}"}
        if size is not None:
            obj["size"] = size
        if etag:
            obj["eTag"] = etag.strip('"')
        if version_id and version_id != "null":
            obj["versionId"] = version_id
        principal = ctx.principal
        if principal is not None and principal.user_id == "s3.amazonaws.com":
            principal_id = "s3.amazonaws.com"            # lifecycle actions
        else:
            principal_id = f"AWS:{principal.user_id or principal.account}" if principal else "AWS:" + ctx.account
        for service, arn, conf in targets:
            record = {
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": row["region"],
                "eventTime": _iso(now), "eventName": event,
                "userIdentity": {"principalId": principal_id},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": ctx.request_id, "x-amz-id-2": "haneul"},
                "s3": {"s3SchemaVersion": "1.0", "configurationId": conf.get("Id", ""),
                       "bucket": {"name": bucket, "ownerIdentity": {"principalId": storage.canonical_id(row["account"])},
                                  "arn": f"arn:aws:s3:::{bucket}"},
                       "object": obj},
            }
            _spawn(_deliver(app, ctx.store, service, arn, json.dumps({"Records": [record]})))
        if eventbridge:
            entry = eventbridge_entry(event, bucket, row["region"], dict(obj, raw_key=key), ctx.request_id,
                                      principal.account if principal else ctx.account, now)
            if entry is not None:
                _spawn(_put_event(app, ctx.store, row["account"], row["region"], entry))


_tasks: set = set()


def _spawn(coro) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        coro.close()
        return
    task = loop.create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def _random_id() -> str:
    import secrets
    return secrets.token_hex(16)
