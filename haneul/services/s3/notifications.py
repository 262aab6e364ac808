"""Event notifications: the bucket's NotificationConfiguration, and S3 event records sent
to SQS queues through the dispatcher, in the queue owner's account (Lambda, SNS and
EventBridge destinations are stored and returned; they are delivered once those
services exist here)."""

from __future__ import annotations

import asyncio
import datetime as dt
import fnmatch
import json
import logging
from urllib.parse import quote_plus

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


def _queue_parts(arn: str) -> tuple[str, str, str] | None:
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return None
    return parts[3], parts[4], parts[5]


async def _send(app, store, queue_arn: str, body: str) -> bool:
    parts = _queue_parts(queue_arn)
    if parts is None or app is None or getattr(app, "dispatcher", None) is None:
        return False
    region, account, name = parts
    ctx = RequestContext(account=account, region=region, store=store, app=app,
                         principal=Principal(access_key="", account=account, arn=f"arn:aws:iam::{account}:root"))
    try:
        url = (await app.dispatcher.call(ctx, "sqs", "GetQueueUrl", {"QueueName": name}))["QueueUrl"]
        await app.dispatcher.call(ctx, "sqs", "SendMessage", {"QueueUrl": url, "MessageBody": body})
        return True
    except AwsError as e:
        log.warning("S3 notification to %s failed: %s", queue_arn, e)
        return False


_EVENT_PREFIXES = ("s3:ObjectCreated:", "s3:ObjectRemoved:", "s3:ObjectRestore:", "s3:ReducedRedundancyLostObject",
                   "s3:Replication:", "s3:LifecycleExpiration:", "s3:LifecycleTransition", "s3:IntelligentTiering",
                   "s3:ObjectTagging:", "s3:ObjectAcl:Put")


async def _queue_exists(ctx, arn: str) -> bool:
    parts = _queue_parts(arn)
    if parts is None:
        return False
    app = ctx.app
    if app is None or getattr(app, "dispatcher", None) is None:
        return True                # unit tests without a server: nothing to ask
    region, account, name = parts
    sub = RequestContext(account=account, region=region, store=ctx.store, app=app,
                         principal=Principal(access_key="", account=account, arn=f"arn:aws:iam::{account}:root"))
    try:
        await app.dispatcher.call(sub, "sqs", "GetQueueUrl", {"QueueName": name})
        return True
    except AwsError:
        return False


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
        queues = [c["QueueArn"] for c in doc.get("QueueConfigurations") or []]
        for arn in queues:
            if not await _queue_exists(ctx, arn):
                raise AwsError("InvalidArgument", "Unable to validate the following destination configurations",
                               status=400, ArgumentName=arn, ArgumentValue="The destination queue does not exist")
        with ctx.store.transaction() as db:
            storage.set_config(db, get_bucket(db, request["Bucket"])["name"], "notification", doc)
        test = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": _iso(ctx.now()),
                           "Bucket": request["Bucket"], "RequestId": ctx.request_id, "HostId": "haneul"})
        for arn in queues:
            _spawn(_send(ctx.app, ctx.store, arn, test))
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
        targets = [c for c in doc.get("QueueConfigurations") or [] if _matches(c, event, key)]
        if not targets or row is None:
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
        for conf in targets:
            record = {
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": row["region"],
                "eventTime": _iso(now), "eventName": event,
                "userIdentity": {"principalId": f"AWS:{principal.user_id or principal.account}"
                                 if principal else "AWS:" + ctx.account},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": ctx.request_id, "x-amz-id-2": "haneul"},
                "s3": {"s3SchemaVersion": "1.0", "configurationId": conf.get("Id", ""),
                       "bucket": {"name": bucket, "ownerIdentity": {"principalId": storage.canonical_id(row["account"])},
                                  "arn": f"arn:aws:s3:::{bucket}"},
                       "object": obj},
            }
            _spawn(_send(app, ctx.store, conf["QueueArn"], json.dumps({"Records": [record]})))


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
