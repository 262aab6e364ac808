"""Archived objects and RestoreObject.

A body in GLACIER or DEEP_ARCHIVE (not GLACIER_IR, which is read instantly) cannot be read
until RestoreObject makes a temporary copy: GetObject and copies answer InvalidObjectState
until then.  A restore takes HANEUL_S3_RESTORE_SECONDS (default 1 second, whatever the
tier: AWS takes minutes to hours, which no local test wants to wait); the copy then stays
readable until `Days` after completion, rounded up to midnight UTC, as S3 computes it.

The state is the object row's `restore` column, JSON {"ready", "base", "days", "tier",
"notified"}: whether a restore is ongoing, done or expired follows from the clock alone,
so reads need no background work.  The lifecycle sweep (`sweep`) sends
s3:ObjectRestore:Completed once a restore is ready and s3:ObjectRestore:Delete when the
copy expires (and clears the state then).
"""

from __future__ import annotations

import json
import os

from haneul.errors import AwsError
from haneul.services.s3 import access
from haneul.services.s3.storage import get_bucket
from haneul.services.s3.transitions import int32, malformed

ARCHIVED = ("GLACIER", "DEEP_ARCHIVE")
TIERS = ("Standard", "Bulk", "Expedited")
DAY = 86400.0
LAST_SECOND = 253402300799.0    # 9999-12-31T23:59:59Z: later dates have no HTTP or ISO form
SCHEMA = """ALTER TABLE s3_object ADD COLUMN restore TEXT;
    CREATE INDEX s3_object_restore ON s3_object(bucket, key) WHERE restore IS NOT NULL"""


def restore_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("HANEUL_S3_RESTORE_SECONDS", "1")))
    except ValueError:
        return 1.0


def _midnight_after(t: float) -> float:
    day = int(t // DAY) * DAY
    return day if day == t else day + DAY


def state(row) -> dict | None:
    text = row["restore"] if "restore" in row.keys() else None
    return json.loads(text) if text else None


def expiry(st: dict) -> float:
    """When the restored copy goes; a copy kept past year 9999 stays until its last second."""
    return min(_midnight_after(st["base"] + st["days"] * DAY), LAST_SECOND)


def phase(row, now: float) -> str | None:
    """None (no restore), "ongoing", "done" or "expired"."""
    st = state(row)
    if st is None:
        return None
    if now < st["ready"]:
        return "ongoing"
    return "done" if now < expiry(st) else "expired"


def header(row, now: float) -> str | None:
    """x-amz-restore for HeadObject/GetObject."""
    p = phase(row, now)
    if p == "ongoing":
        return 'ongoing-request="true"'
    if p == "done":
        from haneul.services.s3.objects import http_date
        return f'ongoing-request="false", expiry-date="{http_date(expiry(state(row)))}"'
    return None


def check_readable(row, now: float, source: bool = False) -> None:
    """InvalidObjectState for an archived body without a restored copy."""
    if row["storage_class"] in ARCHIVED and phase(row, now) != "done":
        message = ("Operation is not valid for the source object's storage class" if source
                   else "The operation is not valid for the object's storage class")
        raise AwsError("InvalidObjectState", message, status=403, StorageClass=row["storage_class"])


class RestoreOperations:
    def restore_object(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        key = request["Key"]
        access.check(ctx, db, bucket, "s3:RestoreObject", key)
        from haneul.services.s3.objects import find_version
        row = find_version(db, bucket, key, request.get("VersionId"))
        spec = request.get("RestoreRequest") or {}
        if spec.get("Type") == "SELECT" or spec.get("SelectParameters") or spec.get("OutputLocation"):
            raise AwsError("NotImplemented", "Haneul does not run S3 Select restore requests (SELECT type); "
                           "restore the object and read it instead", status=501)
        if row["storage_class"] not in ARCHIVED:
            raise AwsError("InvalidObjectState", "Restore is not allowed for the object's current storage class",
                           status=403, StorageClass=row["storage_class"])
        days = spec.get("Days")
        if days is None:
            raise malformed()
        if int32(days) < 1:
            raise AwsError("InvalidArgument", "The restore days must be greater than 0", status=400)
        tier = spec.get("Tier") or (spec.get("GlacierJobParameters") or {}).get("Tier") or "Standard"
        if tier not in TIERS:
            raise malformed()
        now = ctx.now()
        p = phase(row, now)
        if p == "ongoing":
            raise AwsError("RestoreAlreadyInProgress", "Object restore is already in progress", status=409)
        if p == "done":
            # a new request on a restored copy only moves its expiry, counted from now
            st = {**state(row), "base": now, "days": int(days)}
            self._save_restore(db, row, st)
            return {}
        ready = now + restore_seconds()
        st = {"ready": ready, "base": ready, "days": int(days), "tier": tier, "notified": False}
        self._save_restore(db, row, st)
        self.notify(ctx, bucket["name"], key, "ObjectRestore:Post", version_id=row["version_id"])
        _schedule_completion(ctx, ready - now)
        return {"Accepted": True}        # S3 answers 202 to a restore it starts (wire.py)

    @staticmethod
    def _save_restore(db, row, st: dict) -> None:
        db.execute("UPDATE s3_object SET restore=? WHERE bucket=? AND key=? AND version_id=?",
                   (json.dumps(st), row["bucket"], row["key"], row["version_id"]))


def _schedule_completion(ctx, delay: float) -> None:
    """Send ObjectRestore:Completed when the restore is ready, not at the next periodic sweep."""
    import asyncio
    app = ctx.app
    if app is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    from haneul.services.s3 import complete_restores
    loop.call_later(delay + 0.01, lambda: loop.create_task(complete_restores(app)))


def sweep(db, now: float, events: list) -> int:
    """Completed and expired restores: their events, and the state of expired copies cleared."""
    done = 0
    for row in db.execute("SELECT bucket, key, version_id, restore FROM s3_object WHERE restore IS NOT NULL").fetchall():
        st = json.loads(row["restore"])
        if now < st["ready"]:
            continue
        ident = (row["bucket"], row["key"], row["version_id"])
        vid = row["version_id"] if row["version_id"] != "null" else None
        if now >= expiry(st):
            db.execute("UPDATE s3_object SET restore=NULL WHERE bucket=? AND key=? AND version_id=?", ident)
            if not st.get("notified"):
                events.append((row["bucket"], row["key"], "ObjectRestore:Completed", vid))
            events.append((row["bucket"], row["key"], "ObjectRestore:Delete", vid))
            done += 1
        elif not st.get("notified"):
            st["notified"] = True
            db.execute("UPDATE s3_object SET restore=? WHERE bucket=? AND key=? AND version_id=?",
                       (json.dumps(st), *ident))
            events.append((row["bucket"], row["key"], "ObjectRestore:Completed", vid))
            done += 1
    return done
