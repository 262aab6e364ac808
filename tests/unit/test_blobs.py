"""haneul.store.blobs: atomic blob files, ids that cannot escape the folder."""

from __future__ import annotations

import os
import re
import threading

import pytest

from haneul.store.blobs import BlobStore


@pytest.fixture
def blobs(tmp_path):
    return BlobStore(str(tmp_path / "blobs"))


def all_files(root) -> list[str]:
    out = []
    for folder, _, files in os.walk(root):
        out.extend(os.path.join(folder, f) for f in files)
    return out


def test_write_and_read_bytes(blobs):
    blob_id = blobs.write(b"hello\x00world")
    assert blobs.read(blob_id) == b"hello\x00world"
    with blobs.open(blob_id) as f:
        assert f.read() == b"hello\x00world"


def test_write_from_chunks(blobs):
    blob_id = blobs.write(iter([b"ab", b"", b"cd", bytearray(b"ef")]))
    assert blobs.read(blob_id) == b"abcdef"


def test_generated_ids_are_unique_and_stored_inside_the_folder(blobs):
    ids = {blobs.write(b"x") for _ in range(20)}
    assert len(ids) == 20
    root = os.path.realpath(blobs.root)
    for blob_id in ids:
        assert re.fullmatch(r"[0-9a-f]{32}", blob_id)
        path = os.path.realpath(blobs.path(blob_id))
        assert os.path.commonpath([root, path]) == root
        assert os.path.isfile(path)


def test_write_with_a_given_id_overwrites(blobs):
    blob_id = blobs.new_id()
    assert blobs.write(b"one", blob_id) == blob_id
    blobs.write(b"two", blob_id)
    assert blobs.read(blob_id) == b"two"


def test_empty_blob(blobs):
    assert blobs.read(blobs.write(b"")) == b""


@pytest.mark.parametrize("bad", [
    "../x",
    "/etc/passwd",
    "../../../../../../etc/passwd",
    "a" * 31 + "\x00",
    "ab\x00cd",
    "..",
    "0123456789abcdef0123456789abcde/",     # 32 characters, one of them a slash
    "../" + "a" * 29,                      # 32 characters starting with ../
    "0123456789ABCDEF0123456789ABCDEF",     # not the generated (lower-case) form
    "0123456789abcdef0123456789abcdef0",    # too long
])
def test_bad_ids_are_refused_by_every_operation(blobs, bad, tmp_path):
    before = all_files(tmp_path)
    with pytest.raises(ValueError):
        blobs.path(bad)
    with pytest.raises(ValueError):
        blobs.write(b"evil", bad)
    with pytest.raises(ValueError):
        blobs.read(bad)
    with pytest.raises(ValueError):
        blobs.open(bad)
    with pytest.raises(ValueError):
        blobs.delete(bad)
    assert all_files(tmp_path) == before


def test_empty_id_is_refused_for_reads(blobs):
    with pytest.raises(ValueError):
        blobs.read("")
    with pytest.raises(ValueError):
        blobs.delete("")


def test_a_reader_never_sees_a_partial_new_blob(blobs):
    """While a write is in progress, the final name does not exist yet."""
    blob_id = blobs.new_id()
    seen = []

    def chunks():
        yield b"first half "
        seen.append(os.path.exists(blobs.path(blob_id)))
        yield b"second half"

    blobs.write(chunks(), blob_id)
    assert seen == [False]
    assert blobs.read(blob_id) == b"first half second half"


def test_an_overwrite_in_progress_leaves_the_old_content_readable(blobs):
    blob_id = blobs.write(b"old content")
    seen = []

    def chunks():
        yield b"new "
        seen.append(blobs.read(blob_id))
        yield b"content, longer than before"

    blobs.write(chunks(), blob_id)
    assert seen == [b"old content"]
    assert blobs.read(blob_id) == b"new content, longer than before"


def test_a_failed_write_leaves_the_old_blob_intact(blobs):
    blob_id = blobs.write(b"old")

    def chunks():
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        blobs.write(chunks(), blob_id)
    assert blobs.read(blob_id) == b"old"


def test_a_failed_new_write_creates_no_blob(blobs):
    blob_id = blobs.new_id()

    def chunks():
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        blobs.write(chunks(), blob_id)
    assert not os.path.exists(blobs.path(blob_id))


def test_a_failed_write_leaves_no_temp_file(blobs):
    def chunks():
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        blobs.write(chunks())
    assert all_files(blobs.root) == []


def test_data_is_fsynced_before_the_rename(blobs, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    blobs.write(b"durable")
    assert events == ["fsync", "replace"]


def test_concurrent_writers_of_one_id_leave_one_whole_version(blobs):
    blob_id = blobs.new_id()
    versions = [bytes([i]) * 200_000 for i in range(4)]

    def write(v):
        for _ in range(5):
            blobs.write([v[:100_000], v[100_000:]], blob_id)

    threads = [threading.Thread(target=write, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert blobs.read(blob_id) in versions


def test_delete_removes_and_tolerates_missing(blobs):
    blob_id = blobs.write(b"x")
    blobs.delete(blob_id)
    assert not os.path.exists(blobs.path(blob_id))
    blobs.delete(blob_id)          # no error the second time
    with pytest.raises(FileNotFoundError):
        blobs.read(blob_id)


def test_clear_removes_every_blob_and_writes_still_work(blobs):
    ids = [blobs.write(b"%d" % i) for i in range(10)]
    blobs.clear()
    for blob_id in ids:
        assert not os.path.exists(blobs.path(blob_id))
    assert blobs.read(blobs.write(b"after")) == b"after"
