"""Lifecycle transitions applied by the sweep with an explicit clock, and restores of
archived objects (GLACIER / DEEP_ARCHIVE) driven by the same clock."""

import pytest

from haneul.errors import AwsError
from haneul.services.s3 import lifecycle, transitions
from haneul.services.s3.service import S3
from tests.unit.services.helpers import Harness

DAY = 86400
T0 = 1_700_000_000.0                      # 2023-11-14 22:13:20 UTC
MIDNIGHT = 1_699_920_000.0                # 2023-11-14 00:00:00 UTC
BIG = b"x" * (128 * 1024)


def _h(rules, versioned=False, minimum=None):
    h = Harness(S3)
    h.clock.t = T0
    h.call("create_bucket", {"Bucket": "tbk"})
    if versioned:
        h.call("put_bucket_versioning", {"Bucket": "tbk", "VersioningConfiguration": {"Status": "Enabled"}})
    req = {"Bucket": "tbk", "LifecycleConfiguration": {"Rules": rules}}
    if minimum:
        req["TransitionDefaultMinimumObjectSize"] = minimum
    h.call("put_bucket_lifecycle_configuration", req)
    return h


def _put(h, key, body=BIG, **kw):
    return h.call("put_object", {"Bucket": "tbk", "Key": key, "Body": body, **kw})


def _classes(h):
    with h.store.transaction() as db:
        return {(r["key"], r["latest"]): r["storage_class"] for r in db.execute(
            "SELECT key, latest, storage_class FROM s3_object WHERE bucket='tbk' AND delete_marker=0")}


def _sweep(h, t):
    h.clock.t = t
    return lifecycle.sweep(h.store, t)


def test_days_steps_move_objects_down_the_waterfall_at_midnight():
    h = _h([{"ID": "t", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
             "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 90, "StorageClass": "GLACIER"}]}])
    _put(h, "logs/a")
    _put(h, "other")
    due_ia = MIDNIGHT + 31 * DAY              # creation + 30 days, rounded up to midnight
    assert _sweep(h, due_ia - 1) == []
    events = _sweep(h, due_ia)
    assert events == [("tbk", "logs/a", "LifecycleTransition", None)]
    assert _classes(h) == {("logs/a", 1): "STANDARD_IA", ("other", 1): "STANDARD"}
    assert _sweep(h, due_ia + DAY) == []      # nothing more until the next step
    _sweep(h, MIDNIGHT + 91 * DAY)
    assert _classes(h)[("logs/a", 1)] == "GLACIER"


def test_a_late_sweep_goes_straight_to_the_farthest_due_class_and_never_back_up():
    h = _h([{"ID": "t", "Status": "Enabled", "Filter": {},
             "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 60, "StorageClass": "DEEP_ARCHIVE"}]}])
    _put(h, "a")
    _put(h, "deep", StorageClass="DEEP_ARCHIVE")
    _put(h, "onezone", StorageClass="ONEZONE_IA")
    events = _sweep(h, T0 + 100 * DAY)
    assert sorted(e[1] for e in events) == ["a", "onezone"]
    assert _classes(h) == {("a", 1): "DEEP_ARCHIVE", ("deep", 1): "DEEP_ARCHIVE", ("onezone", 1): "DEEP_ARCHIVE"}


def test_waterfall_rules():
    assert transitions.allowed("STANDARD", "GLACIER_IR")
    assert transitions.allowed("STANDARD_IA", "ONEZONE_IA")
    assert not transitions.allowed("ONEZONE_IA", "GLACIER_IR")
    assert not transitions.allowed("GLACIER", "STANDARD_IA")
    assert not transitions.allowed("DEEP_ARCHIVE", "GLACIER")
    assert transitions.allowed("GLACIER", "DEEP_ARCHIVE")


def test_small_objects_stay_unless_a_size_filter_or_the_glacier_default_allows_them():
    h = _h([{"ID": "t", "Status": "Enabled", "Filter": {"Prefix": "p/"}, "Transitions": [{"Days": 0, "StorageClass": "GLACIER"}]},
            {"ID": "s", "Status": "Enabled", "Filter": {"And": {"Prefix": "s/", "ObjectSizeGreaterThan": 1}},
             "Transitions": [{"Days": 0, "StorageClass": "GLACIER_IR"}]}])
    _put(h, "p/small", b"tiny")
    _put(h, "p/big")
    _put(h, "s/small", b"tiny")
    _sweep(h, MIDNIGHT + DAY)
    assert _classes(h) == {("p/small", 1): "STANDARD", ("p/big", 1): "GLACIER", ("s/small", 1): "GLACIER_IR"}
    h = _h([{"ID": "t", "Status": "Enabled", "Filter": {}, "Transitions": [{"Days": 0, "StorageClass": "GLACIER"}]}],
           minimum="varies_by_storage_class")
    _put(h, "small", b"tiny")
    _sweep(h, MIDNIGHT + DAY)
    assert _classes(h) == {("small", 1): "GLACIER"}
    got = h.call("get_bucket_lifecycle_configuration", {"Bucket": "tbk"})
    assert got["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class"


def test_date_step_and_tag_filter():
    h = _h([{"ID": "d", "Status": "Enabled", "Filter": {"Tag": {"Key": "k", "Value": "v"}},
             "Transitions": [{"Date": "2023-12-01T00:00:00Z", "StorageClass": "INTELLIGENT_TIERING"}]}])
    _put(h, "tagged", Tagging="k=v")
    _put(h, "plain")
    assert _sweep(h, 1_701_388_799.0) == []
    _sweep(h, 1_701_388_800.0)
    assert _classes(h) == {("tagged", 1): "INTELLIGENT_TIERING", ("plain", 1): "STANDARD"}


def test_noncurrent_transitions_keep_newer_noncurrent_versions():
    h = _h([{"ID": "n", "Status": "Enabled", "Filter": {},
             "NoncurrentVersionTransitions": [{"NoncurrentDays": 1, "StorageClass": "GLACIER",
                                               "NewerNoncurrentVersions": 1}]}], versioned=True)
    for _ in range(3):
        _put(h, "k")
    with h.store.transaction() as db:
        order = [r[0] for r in db.execute("SELECT storage_class FROM s3_object WHERE key='k' ORDER BY seq DESC")]
    assert order == ["STANDARD"] * 3
    _sweep(h, MIDNIGHT + 2 * DAY)
    with h.store.transaction() as db:
        order = [r[0] for r in db.execute("SELECT storage_class FROM s3_object WHERE key='k' ORDER BY seq DESC")]
    assert order == ["STANDARD", "STANDARD", "GLACIER"]       # current, the kept newer one, the oldest


@pytest.mark.parametrize("rule, message", [
    ({"Transitions": [{"Days": 10, "StorageClass": "STANDARD_IA"}]},
     "'Days' in Transition action must be greater than or equal to 30 for storageClass 'STANDARD_IA'"),
    ({"Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 40, "StorageClass": "ONEZONE_IA"}]},
     "'Days' in Transition action must be greater than or equal to 60 for storageClass 'ONEZONE_IA'"),
    ({"NoncurrentVersionTransitions": [{"NoncurrentDays": 5, "StorageClass": "ONEZONE_IA"}]},
     "'NoncurrentDays' in NoncurrentVersionTransition action must be greater than or equal to 30 for "
     "storageClass 'ONEZONE_IA'"),
    ({"Transitions": [{"Date": "2030-01-01T12:00:00Z", "StorageClass": "GLACIER"}]}, "'Date' must be at midnight GMT"),
    ({"Transitions": [{"Days": 10, "StorageClass": "GLACIER"}], "Expiration": {"Days": 5}},
     "'Days' in the Expiration action for filter '(prefix=)' must be greater than 'Days' in the Transition action"),
    ({"Expiration": {"Days": 0}}, "'Days' for Expiration action must be a positive integer"),
    ({"NoncurrentVersionExpiration": {"NoncurrentDays": 0}},
     "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"),
    ({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": -1}},
     "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"),
])
def test_configurations_s3_refuses(rule, message):
    h = Harness(S3)
    h.call("create_bucket", {"Bucket": "tbk"})
    with pytest.raises(AwsError) as err:
        h.call("put_bucket_lifecycle_configuration", {"Bucket": "tbk", "LifecycleConfiguration": {"Rules": [
            {"ID": "r", "Status": "Enabled", "Filter": {}, **rule}]}})
    assert (err.value.code, err.value.message) == ("InvalidArgument", message)


@pytest.mark.parametrize("rule", [
    {"Expiration": {"Days": 2**40}},
    {"Transitions": [{"Days": 2**31, "StorageClass": "GLACIER"}]},
    {"NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 2**40}},
    {"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": -2**31 - 1}},
])
def test_day_counts_beyond_32_bits_are_malformed(rule):
    h = Harness(S3)
    h.call("create_bucket", {"Bucket": "tbk"})
    with pytest.raises(AwsError) as err:
        h.call("put_bucket_lifecycle_configuration", {"Bucket": "tbk", "LifecycleConfiguration": {"Rules": [
            {"ID": "r", "Status": "Enabled", "Filter": {}, **rule}]}})
    assert (err.value.code, err.value.status) == ("MalformedXML", 400)


def test_the_largest_expiration_keeps_objects_readable():
    # 2**31 - 1 days is past year 9999: the x-amz-expiration date is the last one HTTP can write
    h = _h([{"ID": "far", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 2**31 - 1}}])
    assert _put(h, "k", b"v")["Expiration"] == 'expiry-date="Fri, 31 Dec 9999 23:59:59 GMT", rule-id="far"'
    assert h.call("head_object", {"Bucket": "tbk", "Key": "k"})["Expiration"].startswith(
        'expiry-date="Fri, 31 Dec 9999 23:59:59 GMT"')
    assert _sweep(h, T0 + 400 * DAY) == []


# -- restores ---------------------------------------------------------------------------------
def _archived(storage_class="GLACIER"):
    h = Harness(S3)
    h.clock.t = T0
    h.call("create_bucket", {"Bucket": "tbk"})
    _put(h, "cold", b"frozen", StorageClass=storage_class)
    return h


def test_archived_objects_refuse_reads_until_restored_then_expire(monkeypatch):
    monkeypatch.setenv("HANEUL_S3_RESTORE_SECONDS", "60")
    h = _archived()
    with pytest.raises(AwsError) as err:
        h.call("get_object", {"Bucket": "tbk", "Key": "cold"})
    assert (err.value.code, err.value.status) == ("InvalidObjectState", 403)
    assert err.value.fields["StorageClass"] == "GLACIER"
    assert "Restore" not in h.call("head_object", {"Bucket": "tbk", "Key": "cold"})
    out = h.call("restore_object", {"Bucket": "tbk", "Key": "cold",
                                    "RestoreRequest": {"Days": 2, "GlacierJobParameters": {"Tier": "Bulk"}}})
    assert out == {"Accepted": True}
    assert h.call("head_object", {"Bucket": "tbk", "Key": "cold"})["Restore"] == 'ongoing-request="true"'
    versions = h.call("list_object_versions", {"Bucket": "tbk", "OptionalObjectAttributes": ["RestoreStatus"]})
    assert versions["Versions"][0]["RestoreStatus"] == {"IsRestoreInProgress": True}
    with pytest.raises(AwsError) as err:
        h.call("restore_object", {"Bucket": "tbk", "Key": "cold", "RestoreRequest": {"Days": 2}})
    assert (err.value.code, err.value.status) == ("RestoreAlreadyInProgress", 409)
    with pytest.raises(AwsError):
        h.call("get_object", {"Bucket": "tbk", "Key": "cold"})
    h.clock.advance(60)
    assert lifecycle.sweep(h.store, h.clock.t) == [("tbk", "cold", "ObjectRestore:Completed", None)]
    assert lifecycle.sweep(h.store, h.clock.t) == []
    # completed at 22:14:20 + 2 days, rounded up to midnight: Fri, 17 Nov 2023
    restored = 'ongoing-request="false", expiry-date="Fri, 17 Nov 2023 00:00:00 GMT"'
    assert h.call("head_object", {"Bucket": "tbk", "Key": "cold"})["Restore"] == restored
    got = h.call("get_object", {"Bucket": "tbk", "Key": "cold"})
    assert got["Body"] == b"frozen" and got["Restore"] == restored
    listed = h.call("list_objects_v2", {"Bucket": "tbk", "OptionalObjectAttributes": ["RestoreStatus"]})
    assert listed["Contents"][0]["RestoreStatus"]["IsRestoreInProgress"] is False
    assert listed["Contents"][0]["RestoreStatus"]["RestoreExpiryDate"].timestamp() == 1_700_179_200
    assert "RestoreStatus" not in h.call("list_objects_v2", {"Bucket": "tbk"})["Contents"][0]
    # asking again extends the copy (counted from now) and answers 200
    h.clock.advance(DAY)
    assert h.call("restore_object", {"Bucket": "tbk", "Key": "cold", "RestoreRequest": {"Days": 3}}) == {}
    assert h.call("head_object", {"Bucket": "tbk", "Key": "cold"})["Restore"].endswith('"Sun, 19 Nov 2023 00:00:00 GMT"')
    h.clock.t = 1_700_352_000.0                                   # Sun, 19 Nov 2023 00:00:00
    assert lifecycle.sweep(h.store, h.clock.t) == [("tbk", "cold", "ObjectRestore:Delete", None)]
    assert "Restore" not in h.call("head_object", {"Bucket": "tbk", "Key": "cold"})
    with pytest.raises(AwsError):
        h.call("get_object", {"Bucket": "tbk", "Key": "cold"})


def test_restore_needs_an_archived_object_and_days():
    h = _archived("GLACIER_IR")
    assert h.call("get_object", {"Bucket": "tbk", "Key": "cold"})["Body"] == b"frozen"   # instant retrieval
    with pytest.raises(AwsError) as err:
        h.call("restore_object", {"Bucket": "tbk", "Key": "cold", "RestoreRequest": {"Days": 1}})
    assert (err.value.code, err.value.message) == ("InvalidObjectState",
                                                   "Restore is not allowed for the object's current storage class")
    h = _archived("DEEP_ARCHIVE")
    with pytest.raises(AwsError) as err:
        h.call("restore_object", {"Bucket": "tbk", "Key": "cold", "RestoreRequest": {}})
    assert err.value.code == "MalformedXML"


def test_copies_of_an_archived_source_are_refused():
    h = _archived()
    with pytest.raises(AwsError) as err:
        h.call("copy_object", {"Bucket": "tbk", "Key": "c2", "CopySource": "tbk/cold"})
    assert err.value.message == "Operation is not valid for the source object's storage class"


def test_restore_days_beyond_32_bits_are_malformed_and_the_largest_stays_readable(monkeypatch):
    monkeypatch.setenv("HANEUL_S3_RESTORE_SECONDS", "0")
    h = _archived()
    for days in (2**40, 2**31, "7"):
        with pytest.raises(AwsError) as err:
            h.call("restore_object", {"Bucket": "tbk", "Key": "cold", "RestoreRequest": {"Days": days}})
        assert (err.value.code, err.value.status) == ("MalformedXML", 400)
    assert h.call("restore_object", {"Bucket": "tbk", "Key": "cold",
                                     "RestoreRequest": {"Days": 2**31 - 1}}) == {"Accepted": True}
    h.clock.advance(1)
    restored = 'ongoing-request="false", expiry-date="Fri, 31 Dec 9999 23:59:59 GMT"'
    assert h.call("head_object", {"Bucket": "tbk", "Key": "cold"})["Restore"] == restored
    assert h.call("get_object", {"Bucket": "tbk", "Key": "cold"})["Body"] == b"frozen"
    listed = h.call("list_objects_v2", {"Bucket": "tbk", "OptionalObjectAttributes": ["RestoreStatus"]})
    assert listed["Contents"][0]["RestoreStatus"]["RestoreExpiryDate"].timestamp() == 253402300799
    assert lifecycle.sweep(h.store, h.clock.t) == [("tbk", "cold", "ObjectRestore:Completed", None)]
