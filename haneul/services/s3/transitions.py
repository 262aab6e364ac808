"""Lifecycle transitions: Transition and NoncurrentVersionTransition rules change an
object's storage class as S3 does.

- Due times: Days after creation (current versions) or NoncurrentDays after the version
  became noncurrent, rounded up to midnight UTC; or a Date (midnight UTC).
- Only the moves S3 allows happen (the "waterfall": STANDARD -> STANDARD_IA ->
  INTELLIGENT_TIERING -> ONEZONE_IA -> GLACIER_IR -> GLACIER -> DEEP_ARCHIVE, with
  ONEZONE_IA going only to GLACIER or DEEP_ARCHIVE); when several steps of a rule are due,
  the object goes to the farthest one at once.
- Objects smaller than 128 KiB stay where they are unless the rule has a size filter of its
  own (TransitionDefaultMinimumObjectSize "all_storage_classes_128K", the default), or
  the target is GLACIER / DEEP_ARCHIVE ("varies_by_storage_class").
- NewerNoncurrentVersions keeps that many newer noncurrent versions in their class.

`check(rules)` refuses configurations S3 refuses (too few days before an IA class, a Date not
at midnight, an expiration before a transition); `apply` is the sweep's part.
"""

from __future__ import annotations

import json

from haneul.errors import AwsError

DAY = 86400.0
BATCH = 500
SMALL = 128 * 1024
RANK = {"STANDARD": 0, "REDUCED_REDUNDANCY": 0, "STANDARD_IA": 1, "INTELLIGENT_TIERING": 2, "ONEZONE_IA": 3,
        "GLACIER_IR": 4, "GLACIER": 5, "DEEP_ARCHIVE": 6}
_FROM_ONEZONE = ("GLACIER", "DEEP_ARCHIVE")
IA_CLASSES = ("STANDARD_IA", "ONEZONE_IA")


def allowed(source: str, target: str) -> bool:
    """Whether a lifecycle rule may move an object from `source` to `target`."""
    if source not in RANK or target not in RANK or RANK[target] <= RANK[source]:
        return False
    return source != "ONEZONE_IA" or target in _FROM_ONEZONE


def steps(rule: dict, noncurrent: bool) -> list[dict]:
    """A rule's transitions, the legacy single element included."""
    plural, single = (("NoncurrentVersionTransitions", "NoncurrentVersionTransition") if noncurrent
                      else ("Transitions", "Transition"))
    out = list(rule.get(plural) or [])
    if rule.get(single):
        out.append(rule[single])
    return out


# -- validation -----------------------------------------------------------------------------
def _invalid(message: str) -> AwsError:
    return AwsError("InvalidArgument", message, status=400)


def _filter_text(rule: dict) -> str:
    from haneul.services.s3.lifecycle import rule_filter
    return f"(prefix={rule_filter(rule)['prefix']})"


INT32 = 2**31 - 1


def malformed() -> AwsError:
    return AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                    "published schema", status=400)


def int32(value) -> int:
    """A model `integer` as S3 reads it: a 32-bit number, anything larger is not valid XML."""
    if isinstance(value, bool) or not isinstance(value, int) or not -INT32 - 1 <= value <= INT32:
        raise malformed()
    return value


# (action, member) day counts S3 wants positive (Transition days may be 0)
_POSITIVE = (("Expiration", "Days"), ("NoncurrentVersionExpiration", "NoncurrentDays"),
             ("AbortIncompleteMultipartUpload", "DaysAfterInitiation"))


def _check_integers(rule: dict) -> None:
    for t in steps(rule, False) + steps(rule, True):
        for member in ("Days", "NoncurrentDays", "NewerNoncurrentVersions"):
            if t.get(member) is not None:
                int32(t[member])
    nve = rule.get("NoncurrentVersionExpiration") or {}
    if nve.get("NewerNoncurrentVersions") is not None:
        int32(nve["NewerNoncurrentVersions"])
    for action, member in _POSITIVE:
        value = (rule.get(action) or {}).get(member)
        if value is not None and int32(value) < 1:
            raise _invalid(f"'{member}' for {action} action must be a positive integer")


def check(rules: list[dict]) -> None:
    from haneul.services.s3.lifecycle import _date
    for rule in rules:
        _check_integers(rule)
        current = steps(rule, False)
        for t in current:
            if (t.get("Days") is None) == (t.get("Date") is None):
                raise malformed()
            if t.get("Days") is not None and int(t["Days"]) < 0:
                raise _invalid("'Days' in Transition action must be nonnegative")
            if t.get("Date") is not None and _date(t["Date"]) % DAY:
                raise _invalid("'Date' must be at midnight GMT")
        classes = [t.get("StorageClass") for t in current]
        if len(classes) != len(set(classes)):
            raise _invalid(f"'StorageClass' must be different for 'Transition' actions in same 'Rule' with "
                           f"filter '{_filter_text(rule)}'")
        _check_days(sorted((int(t["Days"]), t.get("StorageClass")) for t in current if t.get("Days") is not None),
                    "Days", "Transition")
        noncurrent = steps(rule, True)
        for t in noncurrent:
            if t.get("NoncurrentDays") is None or int(t["NoncurrentDays"]) < 0:
                raise _invalid("'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative")
        _check_days(sorted((int(t["NoncurrentDays"]), t.get("StorageClass")) for t in noncurrent),
                    "NoncurrentDays", "NoncurrentVersionTransition")
        exp_days = (rule.get("Expiration") or {}).get("Days")
        if exp_days is not None and any(t.get("Days") is not None and int(exp_days) <= int(t["Days"])
                                        for t in current):
            raise _invalid(f"'Days' in the Expiration action for filter '{_filter_text(rule)}' must be greater "
                           f"than 'Days' in the Transition action")
        nc_days = (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays")
        if nc_days is not None and any(int(nc_days) <= int(t["NoncurrentDays"]) for t in noncurrent):
            raise _invalid(f"'NoncurrentDays' in the NoncurrentVersionExpiration action for filter "
                           f"'{_filter_text(rule)}' must be greater than 'NoncurrentDays' in the "
                           f"NoncurrentVersionTransition action")


def _check_days(ordered: list[tuple[int, str]], member: str, action: str) -> None:
    """An object spends at least 30 days in its class before moving to STANDARD_IA or ONEZONE_IA."""
    previous = 0
    for days, cls in ordered:
        if cls in IA_CLASSES and days - previous < 30:
            raise _invalid(f"'{member}' in {action} action must be greater than or equal to "
                           f"{previous + 30} for storageClass '{cls}'")
        previous = days


# -- the sweep ------------------------------------------------------------------------------
def _size_ok(flt: dict, size: int, target: str, default: str) -> bool:
    if flt["gt"] is not None or flt["lt"] is not None:
        return True                  # the rule's own size filter replaces the default minimum
    if size >= SMALL:
        return True
    return default == "varies_by_storage_class" and target in _FROM_ONEZONE


def _farthest(candidates: list[tuple[str, float | None]], source: str, now: float) -> str | None:
    """The farthest class among due steps (class, due time) that `source` may move to."""
    best = None
    for cls, due in candidates:
        if due is not None and due <= now and allowed(source, cls) and (best is None or RANK[cls] > RANK[best]):
            best = cls
    return best


def _move(db, row, target: str, events: list) -> None:
    db.execute("UPDATE s3_object SET storage_class=?, restore=NULL WHERE bucket=? AND key=? AND version_id=?",
               (target, row["bucket"], row["key"], row["version_id"]))
    vid = row["version_id"] if row["version_id"] != "null" else None
    events.append((row["bucket"], row["key"], "LifecycleTransition", vid))


def pages(db, bucket: str, prefix: str, where: str, args: tuple = ()):
    """Rows of `bucket` under `prefix` matching `where`, a page at a time (key order), to the
    end: a sweep must reach every key, not only the first page of candidates (rows it skips,
    such as locked or tag-filtered ones, stay candidates).  Callers may change the rows
    already yielded; the cursor is the last (key, seq) read."""
    from haneul.services.s3.listing import successor
    upper = successor(prefix) if prefix else None
    after, last_seq = prefix, -1
    while True:
        sql = (f"SELECT * FROM s3_object WHERE bucket=? AND (key > ? OR (key = ? AND seq > ?))"
               f"{' AND key < ?' if upper else ''} AND {where} ORDER BY key, seq LIMIT {BATCH}")
        rows = db.execute(sql, (bucket, after, after, last_seq) + ((upper,) if upper else ()) + args).fetchall()
        yield from rows
        if len(rows) < BATCH:
            return
        after, last_seq = rows[-1]["key"], rows[-1]["seq"]


def noncurrent_versions(db, bucket: str, prefix: str, where: str):
    """Each key under `prefix` with a row matching `where`, and its noncurrent versions newest
    first, each paired with the version written after it (when it became noncurrent); delete
    markers are left out."""
    for key in sorted({r["key"] for r in pages(db, bucket, prefix, where)}):
        versions = db.execute("SELECT * FROM s3_object WHERE bucket=? AND key=? ORDER BY seq DESC",
                              (bucket, key)).fetchall()
        yield key, [(successor, row) for successor, row in zip(versions, versions[1:])
                    if not row["delete_marker"]]


def _sources(targets: list[str]) -> list[str]:
    return [s for s in RANK if any(allowed(s, t) for t in targets)]


def apply(db, bucket, rules: list[dict], config: dict | None, now: float, events: list) -> int:
    """Move the objects of `bucket` whose transitions are due; returns how many moved."""
    from haneul.services.s3.lifecycle import _date, _midnight_after, applies, rule_filter
    default = (config or {}).get("TransitionDefaultMinimumObjectSize") or "all_storage_classes_128K"
    moved = 0
    for rule in rules:
        flt = rule_filter(rule)
        current = steps(rule, False)
        if current:
            sources = _sources([t["StorageClass"] for t in current])
            marks = ",".join("?" * len(sources))
            bound = max((now - int(t["Days"]) * DAY) if t.get("Days") is not None
                        else (now if _date(t["Date"]) <= now else -1.0) for t in current)
            for row in pages(db, bucket["name"], flt["prefix"],
                              f"latest=1 AND delete_marker=0 AND storage_class IN ({marks}) AND modified <= ?",
                              (*sources, bound)):
                due = [(t["StorageClass"], _midnight_after(row["modified"] + int(t["Days"]) * DAY)
                        if t.get("Days") is not None else _date(t["Date"])) for t in current]
                target = _farthest(due, row["storage_class"], now)
                if target and _size_ok(flt, row["size"], target, default) and \
                        applies(flt, row["key"], row["size"], json.loads(row["tags"])):
                    _move(db, row, target, events)
                    moved += 1
        noncurrent = steps(rule, True)
        if noncurrent:
            moved += _noncurrent(db, bucket["name"], flt, noncurrent, default, now, events)
    return moved


def _noncurrent(db, name: str, flt: dict, noncurrent: list[dict], default: str, now: float, events: list) -> int:
    from haneul.services.s3.lifecycle import _midnight_after, applies
    moved = 0
    for key, chain in noncurrent_versions(db, name, flt["prefix"], "latest=0 AND delete_marker=0"):
        newer = 0
        for successor, row in chain:
            newer += 1
            # a step applies once the version has more than NewerNoncurrentVersions newer noncurrent ones
            due = [(t["StorageClass"], _midnight_after(successor["modified"] + int(t["NoncurrentDays"]) * DAY)
                    if newer > int(t.get("NewerNoncurrentVersions") or 0) else None) for t in noncurrent]
            target = _farthest(due, row["storage_class"], now)
            if target and _size_ok(flt, row["size"], target, default) and \
                    applies(flt, key, row["size"], json.loads(row["tags"])):
                _move(db, row, target, events)
                moved += 1
    return moved
