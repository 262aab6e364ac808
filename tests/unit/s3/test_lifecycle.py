"""Lifecycle rules applied by the sweep with an explicit clock, and the S3 background task."""

import asyncio
import os
import time

from haneul.services.s3 import lifecycle
from haneul.services.s3.service import S3
from tests.unit.services.helpers import Harness

DAY = 86400
T0 = 1_700_000_000.0                  # 2023-11-14 22:13:20 UTC
MIDNIGHT_AFTER_1_DAY = 1_700_092_800.0  # 2023-11-16 00:00:00 UTC (T0 + 1 day, rounded up)


def _h(versioned=False, rules=None):
    h = Harness(S3)
    h.clock.t = T0
    h.call("create_bucket", {"Bucket": "lcb"})
    if versioned:
        h.call("put_bucket_versioning", {"Bucket": "lcb", "VersioningConfiguration": {"Status": "Enabled"}})
    if rules:
        h.call("put_bucket_lifecycle_configuration", {"Bucket": "lcb", "LifecycleConfiguration": {"Rules": rules}})
    return h


def _put(h, key, body=b"x", **kw):
    return h.call("put_object", {"Bucket": "lcb", "Key": key, "Body": body, **kw})


def _keys(h):
    with h.store.transaction() as db:
        return sorted((r["key"], r["delete_marker"], r["latest"]) for r in db.execute(
            "SELECT key, delete_marker, latest FROM s3_object WHERE bucket='lcb'"))


def test_days_expire_at_the_midnight_after_and_filters_choose_objects():
    h = _h(rules=[{"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1}},
                  {"ID": "big", "Status": "Enabled", "Filter": {"And": {"Prefix": "", "ObjectSizeGreaterThan": 3,
                                                                         "Tags": [{"Key": "t", "Value": "1"}]}},
                   "Expiration": {"Days": 1}},
                  {"ID": "off", "Status": "Disabled", "Filter": {}, "Expiration": {"Days": 1}}])
    out = _put(h, "logs/a")
    assert out["Expiration"] == 'expiry-date="Thu, 16 Nov 2023 00:00:00 GMT", rule-id="logs"'
    _put(h, "keep")
    _put(h, "big-tagged", b"12345", Tagging="t=1")
    _put(h, "small-tagged", b"1", Tagging="t=1")
    head = h.call("head_object", {"Bucket": "lcb", "Key": "big-tagged"})
    assert head["Expiration"].endswith('rule-id="big"')
    assert "Expiration" not in h.call("head_object", {"Bucket": "lcb", "Key": "keep"})
    assert lifecycle.sweep(h.store, T0 + DAY) == []
    events = lifecycle.sweep(h.store, MIDNIGHT_AFTER_1_DAY)
    assert sorted(e[1] for e in events) == ["big-tagged", "logs/a"]
    assert {e[2] for e in events} == {"LifecycleExpiration:Delete"}
    assert [k for k, *_ in _keys(h)] == ["keep", "small-tagged"]


def test_date_rule_and_versioned_bucket_markers_then_noncurrent_and_marker_cleanup():
    h = _h(versioned=True, rules=[
        {"ID": "d", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Date": "2023-11-20T00:00:00Z"}},
        {"ID": "nc", "Status": "Enabled", "Filter": {"Prefix": ""}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "m", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"ExpiredObjectDeleteMarker": True}}])
    _put(h, "doc")
    assert lifecycle.sweep(h.store, 1_700_438_399.0) == []        # a second before the date
    events = lifecycle.sweep(h.store, 1_700_438_400.0)
    assert [e[2] for e in events] == ["LifecycleExpiration:DeleteMarkerCreated"]
    assert _keys(h) == [("doc", 0, 0), ("doc", 1, 1)]
    # the version became noncurrent on 2023-11-20: it goes one day later (at midnight), then
    # the marker, now alone, goes too
    lifecycle.sweep(h.store, 1_700_438_400.0 + DAY - 1)
    assert len(_keys(h)) == 2
    lifecycle.sweep(h.store, 1_700_438_400.0 + DAY)
    lifecycle.sweep(h.store, 1_700_438_400.0 + DAY)
    assert _keys(h) == []


def test_newer_noncurrent_versions_are_kept():
    h = _h(versioned=True, rules=[{"ID": "n", "Status": "Enabled", "Filter": {},
                                   "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 2}}])
    for i in range(5):
        _put(h, "k", str(i).encode())
    lifecycle.sweep(h.store, T0 + 10 * DAY)
    versions = h.call("list_object_versions", {"Bucket": "lcb"})["Versions"]
    assert len(versions) == 3 and sum(v["IsLatest"] for v in versions) == 1


def test_incomplete_uploads_are_aborted_and_answer_their_abort_date():
    h = _h(rules=[{"ID": "abort", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
                   "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}])
    up = h.call("create_multipart_upload", {"Bucket": "lcb", "Key": "tmp/big"})
    assert up["AbortRuleId"] == "abort" and up["AbortDate"].timestamp() == MIDNIGHT_AFTER_1_DAY
    other = h.call("create_multipart_upload", {"Bucket": "lcb", "Key": "keep/big"})
    assert "AbortDate" not in other
    h.call("upload_part", {"Bucket": "lcb", "Key": "tmp/big", "UploadId": up["UploadId"], "PartNumber": 1, "Body": b"p"})
    lifecycle.sweep(h.store, MIDNIGHT_AFTER_1_DAY)
    uploads = h.call("list_multipart_uploads", {"Bucket": "lcb"})["Uploads"]
    assert [u["Key"] for u in uploads] == ["keep/big"]
    with h.store.transaction() as db:
        assert db.execute("SELECT COUNT(*) FROM s3_part").fetchone()[0] == 0


def test_locked_objects_survive():
    h = Harness(S3)
    h.clock.t = T0
    h.call("create_bucket", {"Bucket": "lcb", "ObjectLockEnabledForBucket": True})
    h.call("put_bucket_lifecycle_configuration", {"Bucket": "lcb", "LifecycleConfiguration": {"Rules": [
        {"ID": "nc", "Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]}})
    _put(h, "k", ObjectLockLegalHoldStatus="ON")
    _put(h, "k")
    lifecycle.sweep(h.store, T0 + 10 * DAY)
    assert len(h.call("list_object_versions", {"Bucket": "lcb"})["Versions"]) == 2


def test_temp_files_cleaned_and_background_task_runs(monkeypatch):
    h = _h(rules=[{"ID": "all", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}])
    tmp = os.path.join(h.store.blobs.root, "tmp")
    os.makedirs(os.path.join(tmp, "pool0"), exist_ok=True)
    old, fresh = os.path.join(tmp, "old.part"), os.path.join(tmp, "fresh.part")
    old_pooled = os.path.join(tmp, "pool0", "abc.0")        # a pool's file a crash left
    for p in (old, fresh, old_pooled):
        open(p, "wb").close()
    for p in (old, old_pooled):
        os.utime(p, (time.time() - 7200, time.time() - 7200))
    assert lifecycle.clean_temp_files(h.store) == 2
    assert not os.path.exists(old) and not os.path.exists(old_pooled) and os.path.exists(fresh)
    os.unlink(fresh)

    import haneul.services.s3 as s3pkg

    class App:
        store = h.store
        dispatcher = None
    _put(h, "gone")
    monkeypatch.setenv("HANEUL_S3_SWEEP_SECONDS", "0.05")
    monkeypatch.setattr(lifecycle.time, "time", lambda: T0 + 3 * DAY)

    async def run():
        app = App()
        await s3pkg.start(app)
        await asyncio.sleep(0.3)
        await s3pkg.stop(app)
    asyncio.run(run())
    assert _keys(h) == []


def test_sweep_once_notifies_lifecycle_expirations_in_process():
    import json as _json

    import haneul.services.s3 as s3pkg
    from haneul.context import Principal, RequestContext
    from haneul.dispatch import Dispatcher
    from haneul.store import Store

    class App:
        pass
    app = App()
    app.store = Store(None)
    app.dispatcher = Dispatcher(app.store, app)
    account = "123456789012"

    async def run():
        ctx = RequestContext(account=account, region="us-east-1", store=app.store, app=app,
                             principal=Principal(access_key=account, account=account, user_id=account))
        call = app.dispatcher.call
        url = (await call(ctx, "sqs", "CreateQueue", {"QueueName": "expired"}))["QueueUrl"]
        arn = f"arn:aws:sqs:us-east-1:{account}:expired"
        await call(ctx, "s3", "CreateBucket", {"Bucket": "lcn"})
        await call(ctx, "s3", "PutBucketNotificationConfiguration", {"Bucket": "lcn", "NotificationConfiguration": {
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:LifecycleExpiration:*"]}]}})
        await call(ctx, "s3", "PutObject", {"Bucket": "lcn", "Key": "old", "Body": b"x"})
        await call(ctx, "s3", "PutBucketLifecycleConfiguration", {"Bucket": "lcn", "LifecycleConfiguration": {
            "Rules": [{"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]}})
        events = await s3pkg.sweep_once(app, now=time.time() + 3 * DAY)
        assert [e[2] for e in events] == ["LifecycleExpiration:Delete"]
        bodies = []
        for _ in range(50):
            await asyncio.sleep(0.02)
            got = await call(ctx, "sqs", "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10})
            bodies += [_json.loads(m["Body"]) for m in got.get("Messages", [])]
            if any("Records" in b for b in bodies):
                break
        assert any("Records" in b for b in bodies), bodies
        record = next(b for b in bodies if "Records" in b)["Records"][0]
        assert record["eventName"] == "LifecycleExpiration:Delete"
        assert record["userIdentity"]["principalId"] == "s3.amazonaws.com"
    asyncio.run(run())


def test_a_sweep_reaches_keys_past_a_page_of_candidates_it_skips():
    # 600 old objects the tag filter does not choose come first in key order; the sweep
    # must still reach the chosen ones after them (a single page of 500 would not).
    h = _h(rules=[{"ID": "t", "Status": "Enabled", "Filter": {"Tag": {"Key": "t", "Value": "1"}},
                   "Expiration": {"Days": 1}}])
    for i in range(600):
        _put(h, f"a{i:04d}")
    _put(h, "z-tagged", Tagging="t=1")
    events = lifecycle.sweep(h.store, MIDNIGHT_AFTER_1_DAY)
    assert [e[1] for e in events] == ["z-tagged"]


def test_noncurrent_expiry_reaches_keys_past_a_page_of_kept_versions():
    h = _h(versioned=True, rules=[{"ID": "n", "Status": "Enabled", "Filter": {"Prefix": ""},
                                   "NoncurrentVersionExpiration": {"NoncurrentDays": 1,
                                                                   "NewerNoncurrentVersions": 1}}])
    for i in range(550):               # one noncurrent version each: kept by NewerNoncurrentVersions
        _put(h, f"a{i:04d}")
        _put(h, f"a{i:04d}")
    for _ in range(3):                 # two noncurrent versions: the older one expires
        _put(h, "z")
    events = lifecycle.sweep(h.store, MIDNIGHT_AFTER_1_DAY)
    assert [e[1] for e in events] == ["z"]
