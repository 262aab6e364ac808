"""Lifecycle rules that really expire objects, as S3 applies them:

- Expiration Days: due at the first midnight UTC after creation + Days; Date: at that date.
  Unversioned buckets lose the object; versioned ones get a delete marker.
- ExpiredObjectDeleteMarker: a current delete marker with no older versions goes away.
- NoncurrentVersionExpiration: NoncurrentDays after a version became noncurrent (when its
  successor was written), keeping the NewerNoncurrentVersions newest ones.
- AbortIncompleteMultipartUpload: DaysAfterInitiation after the upload began.
- Transition / NoncurrentVersionTransition: the storage class changes (transitions.py).
- Filters: prefix, tags (all must match), ObjectSizeGreaterThan / ObjectSizeLessThan.

Each pass also completes and expires restores of archived objects (restore.py).

`sweep(store, now)` does one pass and is what the background task runs; `expiration_header`
gives the x-amz-expiration answer for an object a rule will expire.  Objects under Object
Lock retention or legal hold are never removed by a rule.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time

from haneul.services.s3 import restore, storage, transitions

log = logging.getLogger("haneul.s3.lifecycle")
DAY = 86400.0
TMP_AGE = 3600.0             # temp files untouched this long are a crash's leftovers


def _midnight_after(t: float) -> float:
    """The first midnight UTC at or after t (S3 rounds expirations up to midnight)."""
    day = int(t // DAY) * DAY
    return day if day == t else day + DAY


def _date(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    text = str(value).replace("Z", "+00:00")
    when = dt.datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)).timestamp()


# -- filters --------------------------------------------------------------------------------
def rule_filter(rule: dict) -> dict:
    """{prefix, tags, gt, lt} of a rule, whichever way it was written."""
    f = rule.get("Filter")
    prefix = rule.get("Prefix") or ""
    tags: dict = {}
    gt = lt = None
    if isinstance(f, dict):
        parts = f.get("And") if isinstance(f.get("And"), dict) else f
        prefix = parts.get("Prefix") or prefix
        for tag in parts.get("Tags") or ([parts["Tag"]] if parts.get("Tag") else []):
            tags[tag.get("Key")] = tag.get("Value", "")
        gt, lt = parts.get("ObjectSizeGreaterThan"), parts.get("ObjectSizeLessThan")
    return {"prefix": prefix, "tags": tags, "gt": gt, "lt": lt}


def applies(flt: dict, key: str, size: int | None, tags: dict | None) -> bool:
    if not key.startswith(flt["prefix"]):
        return False
    if flt["tags"]:
        if tags is None or any(tags.get(k) != v for k, v in flt["tags"].items()):
            return False
    if size is None:
        return flt["gt"] is None and flt["lt"] is None and not flt["tags"]
    if flt["gt"] is not None and not size > int(flt["gt"]):
        return False
    if flt["lt"] is not None and not size < int(flt["lt"]):
        return False
    return True


def _enabled(config: dict | None) -> list[dict]:
    return [r for r in (config or {}).get("Rules") or [] if r.get("Status") == "Enabled"]


def current_expiry(rule: dict, modified: float) -> float | None:
    exp = rule.get("Expiration") or {}
    if exp.get("Days") is not None:
        return min(_midnight_after(modified + int(exp["Days"]) * DAY), restore.LAST_SECOND)
    if exp.get("Date") is not None:
        return _date(exp["Date"])
    return None


def expiration_header(config: dict | None, key: str, size: int, tags: dict, modified: float) -> str | None:
    """x-amz-expiration for a current object: `expiry-date="<HTTP date>", rule-id="<id>"`."""
    best = None
    for rule in _enabled(config):
        when = current_expiry(rule, modified)
        if when is None or not applies(rule_filter(rule), key, size, tags):
            continue
        if best is None or when < best[0]:
            best = (when, rule.get("ID") or "")
    if best is None:
        return None
    from haneul.services.s3.objects import http_date
    return f'expiry-date="{http_date(best[0])}", rule-id="{best[1]}"'


def abort_rule(config: dict | None, key: str, initiated: float) -> tuple[float, str] | None:
    """(abort date, rule id) of the rule that will abort an upload of `key`."""
    best = None
    for rule in _enabled(config):
        days = (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation")
        if days is None or not key.startswith(rule_filter(rule)["prefix"]):
            continue
        when = _midnight_after(initiated + int(days) * DAY)
        if best is None or when < best[0]:
            best = (when, rule.get("ID") or "")
    return best


# -- the sweep ------------------------------------------------------------------------------
def _locked(row, now: float) -> bool:
    return row["legal_hold"] == "ON" or bool(row["lock_until"] and row["lock_until"] > now)


def _expire_bucket(db, bucket, rules: list[dict], now: float, events: list) -> int:
    from haneul.services.s3.objects import write_version
    name = bucket["name"]
    done = 0
    for rule in rules:
        flt = rule_filter(rule)
        exp = rule.get("Expiration") or {}
        if exp.get("Days") is not None or exp.get("Date") is not None:
            # a cheap bound first (due only if modified <= now - Days), then the exact rule
            bound = now - int(exp["Days"]) * DAY if exp.get("Days") is not None else now
            if exp.get("Date") is not None and _date(exp["Date"]) > now:
                bound = -1.0
            for row in transitions.pages(db, name, flt["prefix"], "latest=1 AND delete_marker=0 AND modified <= ?", (bound,)):
                due = current_expiry(rule, row["modified"])
                if due is None or due > now or not applies(flt, row["key"], row["size"], json.loads(row["tags"])):
                    continue
                if bucket["versioning"]:
                    marker = {"delete_marker": 1, "owner": bucket["account"], "data": "[]"}
                    vid = write_version(db, bucket, row["key"], marker, now)
                    events.append((name, row["key"], "LifecycleExpiration:DeleteMarkerCreated", vid))
                else:
                    if _locked(row, now):
                        continue
                    storage.remove_row(db, row)
                    events.append((name, row["key"], "LifecycleExpiration:Delete", None))
                done += 1
        if exp.get("ExpiredObjectDeleteMarker") and not flt["tags"] and flt["gt"] is None and flt["lt"] is None:
            for row in transitions.pages(db, name, flt["prefix"], "latest=1 AND delete_marker=1"):
                others = db.execute("SELECT 1 FROM s3_object WHERE bucket=? AND key=? AND version_id<>? LIMIT 1",
                                    (name, row["key"], row["version_id"])).fetchone()
                if others is None:
                    storage.remove_row(db, row)
                    events.append((name, row["key"], "LifecycleExpiration:Delete", row["version_id"]))
                    done += 1
        nve = rule.get("NoncurrentVersionExpiration") or {}
        if nve.get("NoncurrentDays") is not None or nve.get("NewerNoncurrentVersions") is not None:
            done += _expire_noncurrent(db, name, flt, nve, now, events)
        abort = (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation")
        if abort is not None:
            done += _abort_uploads(db, name, flt["prefix"], int(abort), now)
    return done


def _expire_noncurrent(db, name: str, flt: dict, nve: dict, now: float, events: list) -> int:
    days = nve.get("NoncurrentDays")
    keep = int(nve.get("NewerNoncurrentVersions") or 0)
    done = 0
    for key, chain in transitions.noncurrent_versions(db, name, flt["prefix"], "latest=0"):
        newer_noncurrent = 0
        for successor, row in chain:
            if not applies(flt, key, row["size"], json.loads(row["tags"])):
                continue
            newer_noncurrent += 1
            if newer_noncurrent <= keep:
                continue
            if days is not None and _midnight_after(successor["modified"] + int(days) * DAY) > now:
                continue
            if _locked(row, now):
                continue
            storage.remove_row(db, row)
            events.append((name, key, "LifecycleExpiration:Delete", row["version_id"]))
            done += 1
    return done


def _abort_uploads(db, name: str, prefix: str, days: int, now: float) -> int:
    done = 0
    for up in db.execute("SELECT upload_id, key, initiated FROM s3_upload WHERE bucket=? AND initiated <= ?",
                         (name, now - days * DAY)).fetchall():
        if not up["key"].startswith(prefix) or _midnight_after(up["initiated"] + days * DAY) > now:
            continue
        for part in db.execute("SELECT blob, size FROM s3_part WHERE upload_id=?", (up["upload_id"],)).fetchall():
            storage.discard(db, [[part[0], part[1]]])
        db.execute("DELETE FROM s3_part WHERE upload_id=?", (up["upload_id"],))
        db.execute("DELETE FROM s3_upload WHERE upload_id=?", (up["upload_id"],))
        done += 1
    return done


def sweep(store, now: float | None = None) -> list[tuple]:
    """One lifecycle pass over every bucket with rules; returns the events it caused
    (bucket, key, event name, version id).  Each bucket is its own transaction."""
    now = time.time() if now is None else now
    with store.transaction() as db:
        try:
            buckets = [r[0] for r in db.execute("SELECT bucket FROM s3_bucket_config WHERE kind='lifecycle'")]
        except Exception:            # S3 never ran in this store
            return []
    events: list = []
    for name in buckets:
        with store.transaction() as db:
            bucket = db.execute("SELECT * FROM s3_bucket WHERE name=?", (name,)).fetchone()
            rules = _enabled(storage.config(db, name, "lifecycle"))
            if bucket is None or not rules:
                continue
            _expire_bucket(db, bucket, rules, now, events)
            transitions.apply(db, bucket, rules, storage.config(db, name, "lifecycle"), now, events)
    events += sweep_restores(store, now)
    storage.collect_garbage(store)
    return events


def sweep_restores(store, now: float | None = None) -> list[tuple]:
    """Restores that completed or whose copy expired: their events (see restore.py)."""
    now = time.time() if now is None else now
    events: list = []
    with store.transaction() as db:
        restore.sweep(db, now, events)
    return events


def clean_temp_files(store, now: float | None = None, age: float = TMP_AGE) -> int:
    """Remove temp files a crash left in the blob folder (none is written this slowly)."""
    now = time.time() if now is None else now
    blobs = getattr(store, "blobs", None)
    if blobs is None:
        return 0
    folder = os.path.join(blobs.root, "tmp")
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for sub in [e for e in entries if e.is_dir(follow_symlinks=False)]:
        try:
            entries.extend(os.scandir(sub.path))       # writer.py's pool folders
        except OSError:
            continue
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime > age:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed
