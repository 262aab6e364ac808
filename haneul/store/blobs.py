"""Blob files inside the data directory, written atomically.

Blob ids are generated here (never taken from a request), so no request can name a path
outside the folder.  Writes go to a temp file in the same folder, are fsync'd, then
renamed over the final name: a reader sees the whole old file or the whole new one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from typing import BinaryIO, Iterable


class BlobStore:
    def __init__(self, root: str):
        self.root = root
        os.makedirs(os.path.join(root, "tmp"), exist_ok=True)

    def new_id(self) -> str:
        return uuid.uuid4().hex

    def path(self, blob_id: str) -> str:
        if len(blob_id) != 32 or not all(c in "0123456789abcdef" for c in blob_id):
            raise ValueError("bad blob id")
        return os.path.join(self.root, blob_id[:2], blob_id)

    def write(self, data: bytes | Iterable[bytes], blob_id: str | None = None) -> str:
        blob_id = blob_id or self.new_id()
        final = self.path(blob_id)
        tmp = os.path.join(self.root, "tmp", blob_id + "." + uuid.uuid4().hex[:8])
        try:
            with open(tmp, "wb") as f:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    f.write(data)
                else:
                    for chunk in data:
                        f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(tmp, final)
        return blob_id

    def open(self, blob_id: str) -> BinaryIO:
        return open(self.path(blob_id), "rb")

    def read(self, blob_id: str) -> bytes:
        with self.open(blob_id) as f:
            return f.read()

    def delete(self, blob_id: str) -> None:
        try:
            os.unlink(self.path(blob_id))
        except FileNotFoundError:
            pass

    def clear(self) -> None:
        for name in os.listdir(self.root):
            if name != "tmp":
                shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)
