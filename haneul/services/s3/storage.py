"""S3's tables and the lookups every operation shares.

Bucket names are global: a bucket row is keyed by name alone and remembers its owner
account and region.  Objects are rows of `s3_object`, one per version (`version_id`
"null" for unversioned writes); `data` is the JSON list of [blob id, size] files that
make up the body.  Blob files no longer referenced are queued in `s3_garbage` inside the
same transaction and deleted after it commits, so a rollback never loses a body.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets

from haneul.errors import AwsError

SCHEMA = [
    """CREATE TABLE s3_bucket (
        name TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, created REAL NOT NULL,
        versioning TEXT NOT NULL DEFAULT '', object_lock INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX s3_bucket_account ON s3_bucket(account, name);
    CREATE TABLE s3_bucket_config (
        bucket TEXT NOT NULL REFERENCES s3_bucket(name) ON DELETE CASCADE, kind TEXT NOT NULL,
        id TEXT NOT NULL DEFAULT '', value TEXT NOT NULL, PRIMARY KEY (bucket, kind, id));
    CREATE TABLE s3_object (
        bucket TEXT NOT NULL, key TEXT NOT NULL, version_id TEXT NOT NULL,
        seq INTEGER NOT NULL, latest INTEGER NOT NULL, delete_marker INTEGER NOT NULL DEFAULT 0,
        data TEXT NOT NULL DEFAULT '[]', size INTEGER NOT NULL DEFAULT 0, etag TEXT NOT NULL DEFAULT '',
        modified REAL NOT NULL, owner TEXT NOT NULL, storage_class TEXT NOT NULL DEFAULT 'STANDARD',
        headers TEXT NOT NULL DEFAULT '{}', metadata TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '{}', checksum_algorithm TEXT, checksum TEXT, checksum_type TEXT,
        parts TEXT, lock_mode TEXT, lock_until REAL, legal_hold TEXT, acl TEXT,
        PRIMARY KEY (bucket, key, version_id));
    CREATE INDEX s3_object_current ON s3_object(bucket, key) WHERE latest = 1;
    CREATE INDEX s3_object_versions ON s3_object(bucket, key, seq);
    CREATE TABLE s3_upload (
        upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, initiated REAL NOT NULL,
        owner TEXT NOT NULL, settings TEXT NOT NULL);
    CREATE INDEX s3_upload_bucket ON s3_upload(bucket, key, initiated);
    CREATE TABLE s3_part (
        upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
        etag TEXT NOT NULL, modified REAL NOT NULL, checksum TEXT, PRIMARY KEY (upload_id, part_number));
    CREATE TABLE s3_garbage (blob TEXT PRIMARY KEY);
    CREATE TABLE s3_seq (n INTEGER NOT NULL);
    INSERT INTO s3_seq VALUES (0)""",
]

OWNER_DISPLAY = None


def canonical_id(account: str) -> str:
    """A stable 64-hex canonical user id for an account."""
    return hashlib.sha256(f"haneul-canonical-{account}".encode()).hexdigest()


def owner(account: str) -> dict:
    return {"ID": canonical_id(account)}


def no_such_bucket(name: str) -> AwsError:
    return AwsError("NoSuchBucket", "The specified bucket does not exist", BucketName=name)


def new_version_id() -> str:
    return secrets.token_urlsafe(24).replace("-", ".")[:32]


def next_seq(db) -> int:
    return db.execute("UPDATE s3_seq SET n = n + 1 RETURNING n").fetchone()[0]


def get_bucket(db, name: str):
    row = db.execute("SELECT * FROM s3_bucket WHERE name=?", (name,)).fetchone()
    if row is None:
        raise no_such_bucket(name)
    return row


def config(db, bucket: str, kind: str, id: str = ""):
    row = db.execute("SELECT value FROM s3_bucket_config WHERE bucket=? AND kind=? AND id=?",
                     (bucket, kind, id)).fetchone()
    return json.loads(row[0]) if row else None


def configs(db, bucket: str, kinds: tuple[str, ...]) -> dict:
    """{kind: configuration or None} of several kinds at once (one query, not one each)."""
    rows = db.execute(f"SELECT kind, value FROM s3_bucket_config WHERE bucket=? AND id='' AND kind IN "
                      f"({','.join('?' * len(kinds))})", (bucket, *kinds)).fetchall()
    out = dict.fromkeys(kinds)
    out.update((kind, json.loads(value)) for kind, value in rows)
    return out


def set_config(db, bucket: str, kind: str, value, id: str = "") -> None:
    db.execute("INSERT INTO s3_bucket_config(bucket, kind, id, value) VALUES(?,?,?,?) "
               "ON CONFLICT(bucket, kind, id) DO UPDATE SET value=excluded.value",
               (bucket, kind, id, json.dumps(value, default=str)))


def delete_config(db, bucket: str, kind: str, id: str | None = "") -> int:
    if id is None:
        return db.execute("DELETE FROM s3_bucket_config WHERE bucket=? AND kind=?", (bucket, kind)).rowcount
    return db.execute("DELETE FROM s3_bucket_config WHERE bucket=? AND kind=? AND id=?",
                      (bucket, kind, id)).rowcount


def current(db, bucket: str, key: str):
    return db.execute("SELECT * FROM s3_object WHERE bucket=? AND key=? AND latest=1",
                      (bucket, key)).fetchone()


def version(db, bucket: str, key: str, version_id: str):
    return db.execute("SELECT * FROM s3_object WHERE bucket=? AND key=? AND version_id=?",
                      (bucket, key, version_id)).fetchone()


def discard(db, data: str | list) -> None:
    """Queue a body's blob files for deletion once this transaction commits."""
    files = json.loads(data) if isinstance(data, str) else data
    for blob_id, _ in files:
        db.execute("INSERT OR IGNORE INTO s3_garbage(blob) VALUES(?)", (blob_id,))


def remove_row(db, row) -> None:
    db.execute("DELETE FROM s3_object WHERE bucket=? AND key=? AND version_id=?",
               (row["bucket"], row["key"], row["version_id"]))
    discard(db, row["data"])


def promote_latest(db, bucket: str, key: str) -> None:
    """After the latest version went away, the newest remaining one becomes current."""
    db.execute("UPDATE s3_object SET latest=1 WHERE bucket=? AND key=? AND seq = "
               "(SELECT MAX(seq) FROM s3_object WHERE bucket=? AND key=?)", (bucket, key, bucket, key))


_collecting: set[int] = set()
COLLECT_DELAY = 0.02


def collect_soon(store) -> None:
    """collect_garbage in a worker thread, once for the many requests that queue files while
    it runs (unlinking on the event loop cost each overwriting PUT a slice of its time)."""
    import asyncio
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        collect_garbage(store)
        return
    if id(store) in _collecting:
        return
    _collecting.add(id(store))

    async def run() -> None:
        await asyncio.sleep(COLLECT_DELAY)       # let a burst of requests share one batch
        try:
            await asyncio.to_thread(collect_garbage, store)
        finally:
            _collecting.discard(id(store))
    loop.create_task(run())


def collect_garbage(store) -> None:
    """Delete the blob files queued by committed transactions.  The files are unlinked
    outside any transaction (they are referenced by nothing), so requests never wait for
    the store while a batch of unlinks runs."""
    with store.transaction() as db:
        blobs = [r[0] for r in db.execute("SELECT blob FROM s3_garbage LIMIT 1000")]
    if not blobs:
        return
    for blob_id in blobs:
        try:
            os.unlink(store.blobs.path(blob_id))
        except (OSError, ValueError):
            pass
    with store.transaction() as db:
        db.executemany("DELETE FROM s3_garbage WHERE blob=?", [(b,) for b in blobs])
