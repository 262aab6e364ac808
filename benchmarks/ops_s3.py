"""S3's benchmark operations, as entries of the same table as operations.py, plus the
large-object transfer that wrk cannot replay.

Hooking in (operations.py is the harness's; one line at its end):

    from ops_s3 import OPERATIONS as _S3_OPERATIONS; OPERATIONS.update(_S3_OPERATIONS)

Until then this module drives them itself, with load.py's machinery:

    .venv/bin/python benchmarks/ops_s3.py load --endpoint http://127.0.0.1:4566 --ops s3.GetObject --duration 2
    .venv/bin/python benchmarks/ops_s3.py transfer --endpoint http://127.0.0.1:4566 --size 1G --pid PID

| name | request | setup |
| --- | --- | --- |
| `s3.PutObject` | PutObject of 1 KiB, 8 rotating keys (botocore's default CRC32 checksum header) | a new bucket |
| `s3.GetObject` | GetObject of a 1 KiB object | a new bucket holding it |
| `s3.ListObjectsV2` | ListObjectsV2, first page (100 keys) | a bucket of 100 keys |
| `s3.ListObjectsV2@100k` | ListObjectsV2 MaxKeys=1000 from 8 positions (StartAfter) across the bucket | a bucket of 100,000 keys, put by signed PutObjects replayed from 4 threads |
| transfer | upload_fileobj of SIZE bytes (multipart, 16 MiB parts, 8 threads), then download_fileobj; MB/s each way and the server's RSS growth (peak VmRSS sampled every 20 ms, children included) | a new bucket |
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import sys
import threading
import time
import urllib.parse
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from operations import Operation  # noqa: E402

OBJECT_SIZE = 1024
BODY = (b"0123456789abcdef" * (OBJECT_SIZE // 16))[:OBJECT_SIZE]
LIST_KEYS = 100
BIG_BUCKET_KEYS = 100_000


# --- setups ------------------------------------------------------------------------------

def _bucket(endpoint: Any, tag: str, kind: str) -> str:
    name = f"bench-{kind}-{tag}".lower().replace("_", "-")[:63]
    endpoint.client("s3").create_bucket(Bucket=name)
    return name


def _empty_bucket(endpoint: Any, tag: str) -> dict:
    return {"bucket": _bucket(endpoint, tag, "put")}


def _bucket_with_object(endpoint: Any, tag: str) -> dict:
    bucket = _bucket(endpoint, tag, "get")
    endpoint.client("s3").put_object(Bucket=bucket, Key="object-1k", Body=BODY)
    return {"bucket": bucket, "key": "object-1k"}


def fill(endpoint: Any, bucket: str, count: int, workers: int = 4, body: bytes = b"x", start: int = 0) -> int:
    """Put `count` small objects fast: signed PutObjects (signed here, in one thread;
    botocore's signing hook is not thread-safe) sent over keep-alive connections from
    several threads."""
    failures: list[str] = []
    lock = threading.Lock()
    pending: list = []
    done = threading.Event()

    def worker() -> None:
        conn = None
        while True:
            with lock:
                request = pending.pop() if pending else None
            if request is None:
                if done.is_set():
                    break
                time.sleep(0.001)
                continue
            parts = urllib.parse.urlsplit(request.url)
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            conn.request(request.method, request.path, body=request.body, headers=request.headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                failures.append(f"HTTP {response.status}: {data[:200]!r}")
                break
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    try:
        for i in range(start, start + count):
            request = endpoint.sign("s3", "PutObject", {"Bucket": bucket, "Key": f"key-{i:06d}", "Body": body})
            with lock:
                pending.append(request)
            if failures:
                break
            while len(pending) > 2000:
                time.sleep(0.005)
    finally:
        done.set()
        for t in threads:
            t.join()
    if failures:
        raise RuntimeError(f"fill failed: {failures[0]}")
    return count


def _bucket_with_keys(count: int):
    def setup(endpoint: Any, tag: str) -> dict:
        bucket = _bucket(endpoint, tag, f"list{count}")
        started = time.perf_counter()
        fill(endpoint, bucket, count)
        seconds = time.perf_counter() - started
        page = endpoint.client("s3").list_objects_v2(Bucket=bucket, StartAfter=f"key-{count - 2:06d}")
        if page.get("KeyCount") != 1:
            raise RuntimeError(f"bucket holds {page.get('KeyCount')} keys after key-{count - 2:06d}, not 1")
        return {"bucket": bucket, "keys": count, "fill_s": round(seconds, 2)}
    return setup


# --- checks ------------------------------------------------------------------------------

def _whole_object(body: bytes) -> str | None:
    return None if body == BODY else f"unexpected body ({len(body)} bytes): {body[:100]!r}"


def _a_page(expected: int):
    def check(body: bytes) -> str | None:
        count = body.count(b"<Contents>")
        return None if count == expected else f"{count} keys in the page, expected {expected}: {body[:200]!r}"
    return check


OPERATIONS: dict[str, Operation] = {
    "s3.PutObject": Operation(
        "s3", "PutObject", lambda ctx, i: {"Bucket": ctx["bucket"], "Key": f"put-{i}", "Body": BODY},
        setup=_empty_bucket, variants=8, description="1 KiB objects, 8 rotating keys",
    ),
    "s3.GetObject": Operation(
        "s3", "GetObject", lambda ctx, i: {"Bucket": ctx["bucket"], "Key": ctx["key"]},
        setup=_bucket_with_object, check=_whole_object, description="one 1 KiB object",
    ),
    "s3.ListObjectsV2": Operation(
        "s3", "ListObjectsV2", lambda ctx, i: {"Bucket": ctx["bucket"]},
        setup=_bucket_with_keys(LIST_KEYS), check=_a_page(LIST_KEYS), description="a page of 100 keys",
    ),
    "s3.ListObjectsV2@100k": Operation(
        "s3", "ListObjectsV2",
        lambda ctx, i: {"Bucket": ctx["bucket"], "MaxKeys": 1000,
                        **({"StartAfter": f"key-{i * (BIG_BUCKET_KEYS // 8):06d}"} if i else {})},
        setup=_bucket_with_keys(BIG_BUCKET_KEYS), check=_a_page(1000), variants=8, connections=(8,),
        default=False, description="1,000-key pages from 8 places in a 100,000-key bucket",
    ),
}


# --- the large transfer --------------------------------------------------------------------

class _Pattern:
    """SIZE bytes of a repeating random block, read like a file (nothing held in memory
    beyond the block).  read() hands out fresh bytes objects: a readinto()-based stream
    crashed awscrt's signer in the client (it kept a view of a reused buffer)."""

    def __init__(self, size: int):
        self.size, self.pos = size, 0
        self.block = os.urandom(1 << 20)

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.pos
        n = left if n is None or n < 0 else min(n, left)
        out = bytearray()
        while len(out) < n:
            offset = (self.pos + len(out)) % len(self.block)
            out += self.block[offset:offset + n - len(out)]
        self.pos += n
        return bytes(out)


class _Sink(io.RawIOBase):
    def __init__(self):
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.size += len(b)
        return len(b)


def _rss_kb(pid: int) -> int:
    total = 0
    pids = [pid]
    try:
        for child in open(f"/proc/{pid}/task/{pid}/children").read().split():
            pids.append(int(child))
    except OSError:
        pass
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class _RssWatch:
    def __init__(self, pid: int | None, every: float = 0.02):
        self.pid, self.every = pid, every
        self.start = self.peak = _rss_kb(pid) if pid else 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, _rss_kb(self.pid))

    def __enter__(self):
        if self.pid:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.pid:
            self._thread.join()


def transfer(endpoint_url: str, size: int, pid: int | None = None, part_size: int = 16 << 20,
             threads: int = 8) -> dict:
    """Upload then download `size` bytes with boto3's transfer manager; MB/s and RSS."""
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1", aws_access_key_id="000000000000",
                      aws_secret_access_key="test",
                      config=Config(max_pool_connections=threads + 2, retries={"max_attempts": 1}))
    bucket = f"bench-transfer-{int(time.time() * 1000) % 10**9}"
    s3.create_bucket(Bucket=bucket)
    config = TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size, max_concurrency=threads)
    result: dict = {"bytes": size, "part_size": part_size, "threads": threads}
    with _RssWatch(pid) as watch:
        started = time.perf_counter()
        s3.upload_fileobj(_Pattern(size), bucket, "big.bin", Config=config)
        up = time.perf_counter() - started
        head = s3.head_object(Bucket=bucket, Key="big.bin")
        sink = _Sink()
        started = time.perf_counter()
        s3.download_fileobj(bucket, "big.bin", sink, Config=config)
        down = time.perf_counter() - started
    if head["ContentLength"] != size or sink.size != size:
        raise RuntimeError(f"sizes differ: stored {head['ContentLength']}, downloaded {sink.size}, sent {size}")
    result.update(upload_s=round(up, 2), upload_mb_s=round(size / up / 1e6, 1), download_s=round(down, 2),
                  download_mb_s=round(size / down / 1e6, 1), etag=head["ETag"])
    if pid:
        result.update(rss_start_mb=round(watch.start / 1024, 1), rss_peak_mb=round(watch.peak / 1024, 1),
                      rss_growth_mb=round((watch.peak - watch.start) / 1024, 1))
    s3.delete_object(Bucket=bucket, Key="big.bin")
    s3.delete_bucket(Bucket=bucket)
    return result


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("IB")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(text)


def main(argv: list[str] | None = None) -> int:
    import load
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    lp = sub.add_parser("load", help="wrk runs of the S3 operations")
    lp.add_argument("--endpoint", required=True)
    lp.add_argument("--ops", default=",".join(n for n, o in OPERATIONS.items() if o.default))
    lp.add_argument("--connections", default="1,8,64")
    lp.add_argument("--duration", type=float, default=5.0)
    tp = sub.add_parser("transfer", help="one large multipart upload and download")
    tp.add_argument("--endpoint", required=True)
    tp.add_argument("--size", default="1G")
    tp.add_argument("--pid", type=int, help="the server's process id, for its RSS")
    tp.add_argument("--part-size", default="16M")
    args = parser.parse_args(argv)
    if args.command == "transfer":
        print(json.dumps(transfer(args.endpoint, _size(args.size), args.pid, _size(args.part_size)), indent=2))
        return 0
    levels = tuple(int(c) for c in args.connections.split(","))
    results = []
    for name in filter(None, args.ops.split(",")):
        print(f"  {name}", file=sys.stderr)
        results.append(load.measure_operation(args.endpoint, name, OPERATIONS[name], levels, args.duration,
                                              log=lambda m: print(m, file=sys.stderr)))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
