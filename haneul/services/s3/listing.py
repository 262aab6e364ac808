"""ListObjects (v1, v2) and ListObjectVersions.

Keys are compared as SQLite compares TEXT (bytes of UTF-8), which is S3's order.  A page
costs an index seek per returned entry: a common prefix is skipped in one seek past all
keys under it, so listing a huge bucket with a delimiter never scans what it skips.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from haneul.errors import AwsError
from haneul.services.base import from_epoch
from haneul.services.s3 import access, storage
from haneul.services.s3.storage import get_bucket

BATCH = 1000


def successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix`."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:
                nxt = 0xE000
            return prefix[:-1] + chr(nxt)
        prefix = prefix[:-1]
    return None


def _max_keys(request: dict) -> int:
    n = request.get("MaxKeys")
    if n is None:
        return 1000
    if n < 0:
        raise AwsError("InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647",
                       status=400, ArgumentName="maxKeys", ArgumentValue=str(n))
    return min(n, 1000)


def _encoder(request: dict):
    kind = request.get("EncodingType")
    if kind is None:
        return lambda s: s
    if kind != "url":
        raise AwsError("InvalidArgument", "Invalid Encoding Method specified in Request", status=400,
                       ArgumentName="encoding-type", ArgumentValue=kind)
    return lambda s: quote(s, safe="/") if s is not None else None


def walk(db, bucket: str, prefix: str, delimiter: str, after: str, limit: int, versions: bool = False,
         after_seq: int | None = None):
    """Up to `limit` entries after `after`: ("key", row) or ("prefix", common prefix);
    returns (entries, truncated)."""
    entries: list = []
    upper = successor(prefix) if prefix else None
    cursor, inclusive = after, False
    if not after or after < prefix:
        cursor, inclusive = prefix, True
    elif delimiter and after.startswith(prefix) and after_seq is None:
        i = after.find(delimiter, len(prefix))
        if i >= 0:                    # a marker inside a common prefix resumes past it
            nxt = successor(after[:i + len(delimiter)])
            if nxt is None:
                return entries, False
            cursor, inclusive = nxt, True
    seq_floor = after_seq
    while len(entries) <= limit:
        cond = "key >= ?" if inclusive else "key > ?"
        args: list = [bucket, cursor]
        sql_upper = ""
        if upper is not None:
            sql_upper = " AND key < ?"
            args.append(upper)
        if versions:
            if seq_floor is not None:
                sql = (f"SELECT * FROM s3_object WHERE bucket=? AND ((key = ? AND seq < ?) OR key > ?){sql_upper} "
                       "ORDER BY key, seq DESC LIMIT ?")
                args = [bucket, cursor, seq_floor, cursor] + args[2:]
                seq_floor = None
            else:
                sql = f"SELECT * FROM s3_object WHERE bucket=? AND {cond}{sql_upper} ORDER BY key, seq DESC LIMIT ?"
        else:
            sql = (f"SELECT * FROM s3_object WHERE bucket=? AND {cond}{sql_upper} AND latest=1 "
                   "AND delete_marker=0 ORDER BY key LIMIT ?")
        args.append(BATCH)
        rows = db.execute(sql, args).fetchall()
        if not rows:
            return entries, False
        jumped = False
        for row in rows:
            key = row["key"]
            if delimiter:
                i = key.find(delimiter, len(prefix))
                if i >= 0:
                    cp = key[:i + len(delimiter)]
                    if len(entries) == limit:
                        return entries, True
                    entries.append(("prefix", cp))
                    nxt = successor(cp)
                    if nxt is None:
                        return entries, False
                    cursor, inclusive, jumped = nxt, True, True
                    break
            if len(entries) == limit:
                return entries, True
            entries.append(("key", row))
            cursor, inclusive = key, False
        if jumped:
            continue
        if versions and rows:
            # continue after the last (key, seq) seen
            last = rows[-1]
            cursor, seq_floor, inclusive = last["key"], last["seq"], False
        if len(rows) < BATCH:
            return entries, False
    return entries, True


def _owner(row) -> dict:
    return storage.owner(row["owner"])


def _entries(entries, enc, owner: bool, restore_at: float | None = None) -> dict:
    """A listing page's Contents and CommonPrefixes (None when empty, so they are omitted);
    with `restore_at` (OptionalObjectAttributes RestoreStatus), restores as of that time."""
    contents = [_content(r, enc, owner) for kind, r in entries if kind == "key"]
    if restore_at is not None:
        rows = [r for kind, r in entries if kind == "key"]
        for item, row in zip(contents, rows):
            _add_restore_status(item, row, restore_at)
    return {"Contents": contents or None,
            "CommonPrefixes": [{"Prefix": enc(p)} for kind, p in entries if kind == "prefix"] or None}


def _restore_at(ctx, request) -> float | None:
    return ctx.now() if "RestoreStatus" in (request.get("OptionalObjectAttributes") or ()) else None


def _add_restore_status(item: dict, row, now: float) -> None:
    """RestoreStatus of an archived object a restore was asked for (S3 lists nothing else)."""
    from haneul.services.s3 import restore
    phase = restore.phase(row, now)
    if phase == "ongoing":
        item["RestoreStatus"] = {"IsRestoreInProgress": True}
    elif phase == "done":
        item["RestoreStatus"] = {"IsRestoreInProgress": False,
                                 "RestoreExpiryDate": from_epoch(restore.expiry(restore.state(row)))}


def _content(row, enc, fetch_owner: bool) -> dict:
    out = {"Key": enc(row["key"]), "LastModified": from_epoch(round(row["modified"], 3)), "ETag": row["etag"],
           "Size": row["size"], "StorageClass": row["storage_class"]}
    if row["checksum_algorithm"] and row["checksum"]:
        out["ChecksumAlgorithm"] = [row["checksum_algorithm"]]
        out["ChecksumType"] = row["checksum_type"]
    if fetch_owner:
        out["Owner"] = _owner(row)
    return out


class ListingOperations:
    def list_objects(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:ListBucket", request=request)
        enc = _encoder(request)
        prefix, delim = request.get("Prefix") or "", request.get("Delimiter") or ""
        limit = _max_keys(request)
        marker = request.get("Marker") or ""
        entries, truncated = walk(db, bucket["name"], prefix, delim, marker, limit)
        out = {"Name": bucket["name"], "Prefix": enc(prefix), "Marker": enc(marker), "MaxKeys": limit,
               "IsTruncated": truncated, "EncodingType": request.get("EncodingType"),
               "Delimiter": enc(delim) if delim else None,
               **_entries(entries, enc, True)}
        if truncated and delim and entries:
            kind, last = entries[-1]
            out["NextMarker"] = enc(last if kind == "prefix" else last["key"])
        return {k: v for k, v in out.items() if v is not None}

    def list_objects_v2(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:ListBucket", request=request)
        enc = _encoder(request)
        prefix, delim = request.get("Prefix") or "", request.get("Delimiter") or ""
        limit = _max_keys(request)
        token = request.get("ContinuationToken")
        after = request.get("StartAfter") or ""
        if token is not None:
            try:
                after = json.loads(base64.urlsafe_b64decode(token.encode() + b"=="))["k"]
            except (ValueError, KeyError, TypeError):
                raise AwsError("InvalidArgument", "The continuation token provided is incorrect", status=400,
                               ArgumentName="continuation-token") from None
        entries, truncated = walk(db, bucket["name"], prefix, delim, after, limit)
        out = {"Name": bucket["name"], "Prefix": enc(prefix), "MaxKeys": limit, "KeyCount": len(entries),
               "IsTruncated": truncated, "EncodingType": request.get("EncodingType"),
               "Delimiter": enc(delim) if delim else None, "ContinuationToken": token,
               "StartAfter": enc(request["StartAfter"]) if request.get("StartAfter") else None,
               **_entries(entries, enc, bool(request.get("FetchOwner")), _restore_at(ctx, request))}
        if truncated and entries:
            kind, last = entries[-1]
            resume = last["key"] if kind == "key" else last
            out["NextContinuationToken"] = base64.urlsafe_b64encode(
                json.dumps({"k": resume}).encode()).decode().rstrip("=")
        return {k: v for k, v in out.items() if v is not None}

    def list_object_versions(self, ctx, request):
        db = ctx.db
        bucket = get_bucket(db, request["Bucket"])
        access.check(ctx, db, bucket, "s3:ListBucketVersions", request=request)
        enc = _encoder(request)
        prefix, delim = request.get("Prefix") or "", request.get("Delimiter") or ""
        limit = _max_keys(request)
        key_marker = request.get("KeyMarker") or ""
        vid_marker = request.get("VersionIdMarker")
        after_seq = None
        if vid_marker and key_marker:
            row = storage.version(db, bucket["name"], key_marker, vid_marker)
            if row is None:
                raise AwsError("InvalidArgument", "Invalid version id specified", status=400,
                               ArgumentName="version-id-marker", ArgumentValue=vid_marker)
            after_seq = row["seq"]
        elif vid_marker:
            raise AwsError("InvalidArgument", "A version-id marker cannot be specified without a key marker.",
                           status=400, ArgumentName="version-id-marker", ArgumentValue=vid_marker)
        entries, truncated = walk(db, bucket["name"], prefix, delim, key_marker, limit, versions=True,
                                  after_seq=after_seq)
        versions, markers = [], []
        restore_at = _restore_at(ctx, request)
        for kind, r in entries:
            if kind != "key":
                continue
            item = {"Key": enc(r["key"]), "VersionId": r["version_id"], "IsLatest": bool(r["latest"]),
                    "LastModified": from_epoch(round(r["modified"], 3)), "Owner": _owner(r)}
            if r["delete_marker"]:
                markers.append(item)
            else:
                item.update(ETag=r["etag"], Size=r["size"], StorageClass=r["storage_class"])
                if r["checksum_algorithm"] and r["checksum"]:
                    item.update(ChecksumAlgorithm=[r["checksum_algorithm"]], ChecksumType=r["checksum_type"])
                if restore_at is not None:
                    _add_restore_status(item, r, restore_at)
                versions.append(item)
        out = {"Name": bucket["name"], "Prefix": enc(prefix), "KeyMarker": enc(key_marker),
               "VersionIdMarker": vid_marker or "", "MaxKeys": limit, "IsTruncated": truncated,
               "EncodingType": request.get("EncodingType"), "Delimiter": enc(delim) if delim else None,
               "Versions": versions or None, "DeleteMarkers": markers or None,
               "CommonPrefixes": [{"Prefix": enc(p)} for kind, p in entries if kind == "prefix"] or None}
        if truncated and entries:
            kind, last = entries[-1]
            if kind == "key":
                out["NextKeyMarker"], out["NextVersionIdMarker"] = enc(last["key"]), last["version_id"]
            else:
                out["NextKeyMarker"] = enc(last)
        return {k: v for k, v in out.items() if v is not None}

