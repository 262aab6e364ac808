"""A body's blob file, made durable before anything refers to it.

Durability: the temp file is renamed to its final name, its data is fdatasync'd and the
directory holding that name is fsync'd, all before the caller commits the metadata that
refers to it, so an acknowledged object survives a power loss, not only a crash.  (Renamed
before the syncs: the file's sync then commits the rename in the same filesystem journal
transaction, so the directory's sync has little left to do.  Nothing refers to the blob
until the syncs are done, so a torn file after a crash is only an unreferenced one.)

The syncs are a group commit: writers `await` a shared batch, and one worker-thread call
fdatasyncs every file and fsyncs every folder asked for since the previous call began.
Under concurrent PUTs one thread hop and one directory sync serve many writers; blob ids
made here put the writers of the same minute in the same folder, so that a batch's
folders are usually one.  Small bodies are written on the event loop (page-cache writes
take microseconds; a thread hop costs more, mostly in handing the GIL back and forth);
bodies past FLUSH bytes are written from worker threads.

Temp files are made ahead of need by a worker thread (`TempPool`): creating a file costs
this machine's ext4 0.2–0.7 ms of kernel time, which on the loop held up every other
request; writing into a file that already exists costs microseconds.

An ephemeral store (`haneul start --ephemeral`: in-memory metadata, a temp folder deleted
at exit) skips the syncs: nothing of it outlives the process, so there is no power loss to
survive.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import os
import time
import weakref

FLUSH = 1 << 20            # bytes buffered before a write to the temp file (from a thread)


def _sync_data(fd: int) -> None:
    # fdatasync skips timestamps but still flushes the size a new file needs to be read back
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_batch(files: list, folders: list[str]) -> None:
    for f in files:
        _sync_data(f.fileno())
    for folder in folders:
        _fsync_dir(folder)


class GroupSync:
    """Batches of (file, folder) syncs run by one worker-thread call each.  The files are
    closed here once synced, so no descriptor is closed while a sync may still use it."""

    def __init__(self):
        self.files: list = []
        self.folders: set[str] = set()
        self.waiters: list[asyncio.Future] = []
        self.running = False

    async def sync(self, file, folder: str) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self.files.append(file)
        self.folders.add(folder)
        self.waiters.append(done)
        if not self.running:
            self.running = True
            loop.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        try:
            while self.waiters:
                files, folders, waiters = self.files, self.folders, self.waiters
                self.files, self.folders, self.waiters = [], set(), []
                error = None
                try:
                    await asyncio.to_thread(_sync_batch, files, sorted(folders))
                except OSError as e:
                    error = e
                finally:
                    for f in files:
                        f.close()
                for w in waiters:
                    if not w.done():
                        if error is not None:
                            w.set_exception(error)
                        else:
                            w.set_result(None)
        finally:
            self.running = False


_GROUPS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupSync]" = weakref.WeakKeyDictionary()


def _group() -> GroupSync:
    loop = asyncio.get_running_loop()
    group = _GROUPS.get(loop)
    if group is None:
        group = _GROUPS[loop] = GroupSync()
    return group


def new_blob_id() -> str:
    """A blob id whose first two hex digits (the blob's sub-folder) change once a minute:
    writers at the same time share a folder, so one directory sync covers them all, and
    over 256 minutes the files still spread over every folder."""
    return f"{int(time.time() // 60) % 256:02x}{os.urandom(15).hex()}"


_MADE: set[str] = set()    # blob sub-folders known to exist (and to be durable)


def _ensure_folder(folder: str, durable: bool) -> None:
    if folder in _MADE:
        return
    if not os.path.isdir(folder):
        os.makedirs(folder, exist_ok=True)
        if durable:
            _fsync_dir(os.path.dirname(folder))   # the new folder's own entry
    _MADE.add(folder)


class TempPool:
    """Empty temp files in one blob folder's tmp/, created in a worker thread ahead of
    need and handed out on the event loop.  A batch makes twice as many as were taken while
    the previous one ran (FEWEST to MOST), so a loop that writes once in a while keeps a
    few, and one that writes once (asyncio.run) none.  A file waiting longer than STALE is dropped (lifecycle's sweep removes temp
    files untouched for an hour as a crash's leftovers); the waiting ones are removed at
    exit, and after a crash they are such leftovers, empty."""

    FEWEST, MOST = 4, 96
    STALE = 600.0

    def __init__(self, folder: str):
        self.folder = folder
        self.ready: collections.deque = collections.deque()    # (made at, path, file)
        self.stale: list = []
        self.filling = False
        self.want = self.FEWEST
        self.taken = 0
        self.first = True
        self.batches = 0

    def take(self) -> tuple:
        """(path, file open for writing) of a new empty temp file."""
        now = time.monotonic()
        while self.ready and now - self.ready[0][0] > self.STALE:
            self.stale.append(self.ready.popleft())
        self.taken += 1
        if self.first:         # made here: a loop that writes once (asyncio.run) keeps none waiting
            self.first = False
            return _make(self.folder, 1)[0][1:]
        if len(self.ready) * 2 <= self.want and not self.filling:
            self._fill()
        if self.ready:
            _, path, file = self.ready.popleft()
            return path, file
        return _make(self.folder, 1)[0][1:]         # the pool ran dry: make one here

    def _fill(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.filling = True
        self.want = min(self.MOST, max(self.FEWEST, 2 * self.taken))
        self.taken = 0
        stale, self.stale = self.stale, []

        async def run() -> None:
            try:
                # extended by the thread itself: a loop closing mid-batch still drops them
                await asyncio.to_thread(self._refill, self.want - len(self.ready), stale)
            finally:
                self.filling = False
        loop.create_task(run())

    def _refill(self, count: int, stale: list) -> None:
        _remove(stale)
        # batches alternate between two sub-folders: creating a file holds its folder's lock
        # (ext4 may scan long for a free inode), and the loop renames the previous batch's
        # files out of the other one meanwhile
        self.batches += 1
        folder = os.path.join(self.folder, f"pool{self.batches % 2}")
        os.makedirs(folder, exist_ok=True)
        self.ready.extend(_make(folder, count))

    def drop(self) -> None:
        """Close and remove the waiting files (at exit, or when the loop is gone)."""
        waiting, self.stale = list(self.ready) + self.stale, []
        self.ready.clear()
        _remove(waiting)


def _make(folder: str, count: int) -> list:
    prefix = os.path.join(folder, os.urandom(8).hex())
    return [(time.monotonic(), f"{prefix}.{i}", open(f"{prefix}.{i}", "xb")) for i in range(count)]


def _remove(entries: list) -> None:
    for _, path, file in entries:
        file.close()
        try:
            os.unlink(path)
        except OSError:
            pass


_POOLS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, TempPool]]" = weakref.WeakKeyDictionary()


def temp_file(blobs) -> tuple:
    """(path, file open for writing) of a new temp file in the blob folder's tmp/: from the
    loop's pool when there is a running loop (each loop its own: the pool's refills are
    tasks of that loop), else made now."""
    folder = os.path.join(blobs.root, "tmp")
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _make(folder, 1)[0][1:]
    pools = _POOLS.get(loop)
    if pools is None:
        pools = _POOLS[loop] = {}
        weakref.finalize(loop, _drop_all, pools)
    pool = pools.get(folder)
    if pool is None:
        pool = pools[folder] = TempPool(folder)
    return pool.take()


def _drop_all(pools: dict) -> None:
    for pool in list(pools.values()):
        pool.drop()


@atexit.register
def _drop_at_exit() -> None:
    for pools in list(_POOLS.values()):
        _drop_all(pools)


class BlobWriter:
    """Collects a body's pieces, writes them to a temp file in the blob folder, and
    `commit()` makes it the blob `blob_id`, durable.  `digest(piece)`, when given, sees
    every piece in order just before it is written: for large bodies that is in a worker
    thread (hashlib and awscrt release the GIL), one batch in flight while the event loop
    reads the next, so hashing a large upload no longer holds the loop."""

    def __init__(self, blobs, blob_id: str, digest=None, durable: bool = True):
        self.blobs, self.blob_id, self.digest, self.durable = blobs, blob_id, digest, durable
        self.tmp, self.file = temp_file(blobs)
        self.pending: list[bytes] = []
        self.buffered = 0
        self.inflight: asyncio.Future | None = None
        self.handed_over = False
        self.large = False                 # past FLUSH: written from worker threads

    async def add(self, piece: bytes) -> None:
        self.pending.append(piece)
        self.buffered += len(piece)
        if self.buffered >= FLUSH:
            pieces, self.pending, self.buffered = self.pending, [], 0
            self.large = True
            if self.inflight is not None:
                await self.inflight
            self.inflight = asyncio.ensure_future(asyncio.to_thread(self._write, pieces))

    def _write(self, pieces: list[bytes]) -> None:
        if self.digest is not None:
            for piece in pieces:
                self.digest(piece)
        self.file.writelines(pieces)

    async def drain(self) -> None:
        """Every piece added so far digested and written (not yet durable)."""
        if self.inflight is not None:
            await self.inflight
            self.inflight = None
        pieces, self.pending, self.buffered = self.pending, [], 0
        if self.large:
            await asyncio.to_thread(self._write, pieces)
        elif pieces:
            self._write(pieces)

    async def commit(self) -> None:
        await self.drain()
        self.file.flush()
        final = self.blobs.path(self.blob_id)
        folder = os.path.dirname(final)
        _ensure_folder(folder, self.durable)
        try:
            os.replace(self.tmp, final)
        except FileNotFoundError:          # the folder went away (a reset): make it again
            _MADE.discard(folder)
            _ensure_folder(folder, self.durable)
            os.replace(self.tmp, final)
        self.tmp = final
        if not self.durable:               # an ephemeral store: nothing outlives the process
            self.file.close()
            return
        self.handed_over = True            # the group closes the file once synced
        await _group().sync(self.file, folder)

    def abort(self) -> None:
        if self.inflight is not None and not self.inflight.done():
            # a thread still writes: clean up once it is done
            self.inflight.add_done_callback(lambda f: (f.exception(), self.abort()))
            self.inflight = None
            return
        if self.file is not None and not self.handed_over:
            self.file.close()
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
