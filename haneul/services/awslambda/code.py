"""Deployment packages: AWS's size limits, the stored zip, and its unzipped folder.

The zip is kept as a blob (GetFunction serves it back); it is unzipped once per content
hash into `<data dir>/lambda/code/<sha256 hex>/`, shared read-only by every execution
environment of every version that uses that code.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import stat
import threading
import zipfile

from haneul.errors import AwsError

MAX_ZIPPED = 50 * 1024 * 1024           # direct upload
MAX_UNZIPPED = 250 * 1024 * 1024        # function and all its layers
_unzip_lock = threading.Lock()


def inspect_zip(data: bytes, what: str = "function") -> dict:
    """Check an uploaded zip and describe it: {sha256 (base64), hex, size, unzipped}."""
    if len(data) > MAX_ZIPPED:
        raise AwsError("RequestTooLargeException",
                       f"Request must be smaller than {MAX_ZIPPED} bytes for the CreateFunction operation",
                       Type="User")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise AwsError("InvalidParameterValueException",
                       "Could not unzip uploaded file. Please check your file, then try to upload again.",
                       Type="User") from None
    unzipped = sum(i.file_size for i in infos)
    if unzipped > MAX_UNZIPPED:
        raise AwsError("InvalidParameterValueException",
                       f"Unzipped size must be smaller than {MAX_UNZIPPED} bytes", Type="User")
    for info in infos:
        target = os.path.normpath(info.filename)
        if target.startswith(("..", "/")) or os.path.isabs(target):
            raise AwsError("InvalidParameterValueException",
                           f"Could not unzip uploaded file: unsafe path {info.filename!r}", Type="User")
    digest = hashlib.sha256(data)
    return {"sha256": base64.b64encode(digest.digest()).decode(), "hex": digest.hexdigest(),
            "size": len(data), "unzipped": unzipped}


def unzip_dir(data_dir: str, kind: str, hex_digest: str) -> str:
    return os.path.join(data_dir, "lambda", kind, hex_digest)


def ensure_unzipped(blobs, data_dir: str, kind: str, blob_id: str, hex_digest: str) -> str:
    """The folder holding the unzipped package (unzipped now if needed).  Blocking: run it
    in a thread."""
    target = unzip_dir(data_dir, kind, hex_digest)
    if os.path.isdir(target):
        return target
    with _unzip_lock:
        if os.path.isdir(target):
            return target
        tmp = target + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        with blobs.open(blob_id) as f, zipfile.ZipFile(f) as z:
            for info in z.infolist():
                path = z.extract(info, tmp)
                mode = (info.external_attr >> 16) & 0o777
                if not info.is_dir():
                    # keep the executable bits the zip recorded (bootstrap scripts need them)
                    os.chmod(path, (mode or 0o644) | stat.S_IRUSR)
        os.replace(tmp, target)
    return target
