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

An ephemeral store (`haneul start --ephemeral`: in-memory metadata, a temp folder deleted
at exit) skips the syncs: nothing of it outlives the process, so there is no power loss to
survive.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
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
    return f"{int(time.time() // 60) % 256:02x}{uuid.uuid4().hex[2:]}"


_MADE: set[str] = set()    # blob sub-folders known to exist (and to be durable)


def _ensure_folder(folder: str, durable: bool) -> None:
    if folder in _MADE:
        return
    if not os.path.isdir(folder):
        os.makedirs(folder, exist_ok=True)
        if durable:
            _fsync_dir(os.path.dirname(folder))   # the new folder's own entry
    _MADE.add(folder)


class BlobWriter:
    """Collects a body's pieces, writes them to a temp file in the blob folder, and
    `commit()` makes it the blob `blob_id`, durable.  `digest(piece)`, when given, sees
    every piece in order just before it is written: for large bodies that is in a worker
    thread (hashlib and awscrt release the GIL), one batch in flight while the event loop
    reads the next, so hashing a large upload no longer holds the loop."""

    def __init__(self, blobs, blob_id: str, digest=None, durable: bool = True):
        self.blobs, self.blob_id, self.digest, self.durable = blobs, blob_id, digest, durable
        self.tmp = os.path.join(blobs.root, "tmp", f"{blob_id}.{uuid.uuid4().hex[:8]}")
        self.file = None
        self.pending: list[bytes] = []
        self.buffered = 0
        self.inflight: asyncio.Future | None = None
        self.handed_over = False

    async def add(self, piece: bytes) -> None:
        self.pending.append(piece)
        self.buffered += len(piece)
        if self.buffered >= FLUSH:
            pieces, self.pending, self.buffered = self.pending, [], 0
            if self.inflight is not None:
                await self.inflight
            self.inflight = asyncio.ensure_future(asyncio.to_thread(self._write, pieces))

    def _write(self, pieces: list[bytes]) -> None:
        if self.digest is not None:
            for piece in pieces:
                self.digest(piece)
        if self.file is None:
            self.file = open(self.tmp, "wb")
        self.file.writelines(pieces)

    async def drain(self) -> None:
        """Every piece added so far digested and written (not yet durable)."""
        if self.inflight is not None:
            await self.inflight
            self.inflight = None
        pieces, self.pending, self.buffered = self.pending, [], 0
        if self.file is None or not pieces:
            self._write(pieces)
        else:
            await asyncio.to_thread(self._write, pieces)

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
