"""Blob files made durable by group commit: data synced, directory entry synced, many
concurrent writers served by one batch."""

import asyncio
import os

from haneul.services.s3 import writer
from haneul.store.blobs import BlobStore


def _record(monkeypatch):
    calls = []
    real_data, real_dir = writer._sync_data, writer._fsync_dir
    monkeypatch.setattr(writer, "_sync_data", lambda fd: (calls.append(("data", fd)), real_data(fd)))
    monkeypatch.setattr(writer, "_fsync_dir", lambda p: (calls.append(("dir", p)), real_dir(p)))
    batches = []
    real_batch = writer._sync_batch
    monkeypatch.setattr(writer, "_sync_batch", lambda files, folders: (batches.append(len(files)),
                                                                       real_batch(files, folders)))
    return calls, batches


def test_concurrent_writers_share_a_batch_and_every_folder_is_synced(tmp_path, monkeypatch):
    blobs = BlobStore(str(tmp_path))
    calls, batches = _record(monkeypatch)

    async def put(i):
        w = writer.BlobWriter(blobs, writer.new_blob_id())
        await w.add(f"body {i}".encode())
        await w.commit()
        return w.blob_id

    async def main():
        return await asyncio.gather(*[put(i) for i in range(20)])
    ids = asyncio.run(main())
    assert [blobs.read(b) for b in ids] == [f"body {i}".encode() for i in range(20)]
    assert sum(batches) == 20 and len(batches) < 20          # grouped
    synced_dirs = {p for kind, p in calls if kind == "dir"}
    assert {os.path.dirname(blobs.path(b)) for b in ids} <= synced_dirs
    assert len([c for c in calls if c[0] == "data"]) == 20
    assert [f for _, _, files in os.walk(os.path.join(str(tmp_path), "tmp")) for f in files] == []


def test_temp_files_come_from_a_pool_made_ahead_and_stale_ones_are_dropped(tmp_path, monkeypatch):
    folder = str(tmp_path)
    pool = writer.TempPool(folder)

    async def main():
        first = pool.take()                   # made at once: nothing waits for a one-off writer
        assert not pool.ready and not pool.filling
        second = pool.take()                  # a second asks for a batch, made in a thread
        assert pool.filling
        while pool.filling:
            await asyncio.sleep(0.01)
        assert len(pool.ready) >= writer.TempPool.FEWEST - 1
        third = pool.take()
        assert third[0].startswith(os.path.join(folder, "pool"))
        monkeypatch.setattr(writer.TempPool, "STALE", -1.0)      # every waiting file now stale
        waiting = [path for _, path, _ in pool.ready]
        fourth = pool.take()
        while pool.filling:
            await asyncio.sleep(0.01)
        assert fourth[0] not in waiting and not any(os.path.exists(p) for p in waiting)
        return [first, second, third, fourth]
    taken = asyncio.run(main())
    assert len({path for path, _ in taken}) == 4
    for path, file in taken:
        file.write(b"x")
        file.close()
        assert os.path.getsize(path) == 1
    pool.drop()
    assert sorted(f for _, _, files in os.walk(folder) for f in files) == sorted(
        os.path.basename(p) for p, _ in taken)


def test_large_bodies_are_written_from_threads_and_abort_leaves_nothing(tmp_path):
    blobs = BlobStore(str(tmp_path))

    async def main():
        w = writer.BlobWriter(blobs, writer.new_blob_id())
        for _ in range(3):
            await w.add(b"x" * writer.FLUSH)
        assert w.file is not None and w.pending == []       # flushed as it came
        await w.add(b"tail")
        await w.commit()
        gone = writer.BlobWriter(blobs, writer.new_blob_id())
        await gone.add(b"y" * (writer.FLUSH + 1))
        gone.abort()
        await asyncio.sleep(0.3)          # the write in flight ends, then the file goes
        return w.blob_id, gone
    blob_id, gone = asyncio.run(main())
    assert os.path.getsize(blobs.path(blob_id)) == 3 * writer.FLUSH + 4
    assert not os.path.exists(gone.tmp)
    assert [f for _, _, files in os.walk(os.path.join(str(tmp_path), "tmp")) for f in files] == []


def test_a_failed_sync_fails_the_writers(tmp_path, monkeypatch):
    blobs = BlobStore(str(tmp_path))

    def broken(fd):
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(writer, "_sync_data", broken)

    async def main():
        w = writer.BlobWriter(blobs, writer.new_blob_id())
        await w.add(b"x")
        try:
            await w.commit()
        except OSError as e:
            return e.errno
    assert asyncio.run(main()) == 5


def test_blob_ids_share_a_folder_within_a_minute():
    a, b = writer.new_blob_id(), writer.new_blob_id()
    assert len(a) == 32 and a != b and all(c in "0123456789abcdef" for c in a)
    assert a[:2] == b[:2] or int(b[:2], 16) == (int(a[:2], 16) + 1) % 256


def test_digest_sees_every_piece_in_order_and_ephemeral_writes_skip_syncs(tmp_path, monkeypatch):
    import hashlib
    blobs = BlobStore(str(tmp_path))
    calls, batches = _record(monkeypatch)
    pieces = [bytes([i]) * (300 << 10) for i in range(10)]       # 3 MiB in 300 KiB pieces
    md5 = hashlib.md5()

    async def main():
        w = writer.BlobWriter(blobs, writer.new_blob_id(), digest=md5.update, durable=False)
        for p in pieces:
            await w.add(p)
        await w.commit()
        return w.blob_id
    blob_id = asyncio.run(main())
    assert md5.hexdigest() == hashlib.md5(b"".join(pieces)).hexdigest()
    assert blobs.read(blob_id) == b"".join(pieces)
    assert calls == [] and batches == []
