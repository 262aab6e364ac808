"""S3 at scale, Haneul beside moto and ministack in one run (each server started alone in
turn, so one's memory or CPU never weighs on another's figures):

- transfer: a 1 GiB object uploaded with boto3's transfer manager (multipart, 16 MiB parts,
  8 threads) then downloaded (ranged GETs, 8 threads); MB/s each way and the server's
  peak RSS growth (VmRSS of the server and its children, sampled every 20 ms).
- raw-upload: the same upload without boto3's client-side hashing and signing (the
  transfer's upload is bound by the client on a 2-core machine): what the server takes.
- list: the first ListObjectsV2 page (1,000 keys) of a 100,000-key bucket against that of
  a 1,000-key bucket: a page should cost the same whatever the bucket's size.

    flock /tmp/haneul-bench.lock .venv/bin/python benchmarks/s3_large.py transfer
    flock /tmp/haneul-bench.lock .venv/bin/python benchmarks/s3_large.py raw-upload
    flock /tmp/haneul-bench.lock .venv/bin/python benchmarks/s3_large.py list --servers haneul,ministack
    flock /tmp/haneul-bench.lock .venv/bin/python benchmarks/s3_large.py list --servers moto --fill-seconds 200

Filling 100,000 keys over HTTP is the slow part: one PutObject is signed by botocore and
replayed with other keys over 16 keep-alive connections (none of the three servers checks
the signature of an unknown access key, and the body and its checksums stay the same).  A
server that cannot be filled within --fill-seconds is measured at the size it reached,
and the report says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import shutil
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import load  # noqa: E402
import run  # noqa: E402  (imports operations.py, which merges ops_s3.py: import that first)
import ops_s3  # noqa: E402

GIB = 1 << 30


def _servers(log_dir: Path) -> dict:
    """run.py's servers, plus Haneul persisting to a data directory (durable writes: every
    acknowledged part fdatasync'd), which run.py never measures."""
    haneul = run.SERVERS["haneul"]
    data_dir = log_dir / "haneul-data"
    argv = tuple(a for a in haneul.argv if a != "--ephemeral") + ("--data-dir", str(data_dir))
    return {**run.SERVERS, "haneul-data-dir": dataclasses.replace(haneul, argv=argv)}


def _start(name: str, log_dir: Path) -> "run.Running":
    server = run.Running(name, _servers(log_dir)[name], log_dir)
    try:
        server.wait_ready(run.probe_requests(server.url))
    except Exception:
        server.stop()
        raise
    return server


def fill(endpoint: "load.Endpoint", bucket: str, count: int, deadline: float, connections: int = 16) -> int:
    """Put keys key-000000 .. up to `count` (1-byte bodies) until `deadline`; the count put."""
    template = endpoint.sign("s3", "PutObject", {"Bucket": bucket, "Key": "key-000000", "Body": b"x"})
    parts = urllib.parse.urlsplit(template.url)
    prefix = template.path.rsplit("/", 1)[0]
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "error": None}

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while True:
            with lock:
                i = state["next"]
                if i >= count or time.time() > deadline or state["error"]:
                    break
                state["next"] += 1
            try:
                conn.request("PUT", f"{prefix}/key-{i:06d}", body=template.body, headers=template.headers)
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                with lock:
                    state["error"] = state["error"] or f"key-{i:06d}: {e}"
                break
            with lock:
                if resp.status == 200:
                    state["done"] += 1
                elif not state["error"]:
                    state["error"] = f"key-{i:06d}: HTTP {resp.status}"
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if state["error"]:
        raise RuntimeError(f"fill of {bucket} failed: {state['error']}")
    return state["done"]


def _page_times(endpoint: "load.Endpoint", bucket: str, runs: int) -> dict:
    request = endpoint.sign("s3", "ListObjectsV2", {"Bucket": bucket})
    parts = urllib.parse.urlsplit(request.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    times, keys = [], 0
    try:
        for i in range(runs + 2):
            started = time.perf_counter()
            conn.request("GET", request.path, headers=request.headers)
            resp = conn.getresponse()
            body = resp.read()
            elapsed = time.perf_counter() - started
            if resp.status != 200:
                raise RuntimeError(f"ListObjectsV2 of {bucket}: HTTP {resp.status} {body[:200]!r}")
            keys = body.count(b"<Key>")
            if i >= 2:                           # two warm-up pages
                times.append(elapsed * 1000)
    finally:
        conn.close()
    return {"keys_in_page": keys, "median_ms": round(statistics.median(times), 2),
            "p90_ms": round(sorted(times)[int(len(times) * 0.9) - 1], 2)}


def measure_list(name: str, log_dir: Path, big: int, small: int, fill_seconds: float, runs: int) -> dict:
    server = _start(name, log_dir)
    try:
        endpoint = load.Endpoint(server.url)
        s3 = endpoint.client("s3")
        out: dict = {"server": name}
        for label, count in (("small", small), ("big", big)):
            bucket = f"bench-list-{label}-{int(time.time())}"
            s3.create_bucket(Bucket=bucket)
            started = time.time()
            put = fill(endpoint, bucket, count, started + fill_seconds)
            out[f"{label}_keys"] = put
            out[f"{label}_fill_s"] = round(time.time() - started, 1)
            out[f"{label}_fill_rate"] = round(put / max(time.time() - started, 1e-9))
            out[label] = _page_times(endpoint, bucket, runs)
        out["big_filled"] = out["big_keys"] == big
        out["ratio_big_small"] = round(out["big"]["median_ms"] / out["small"]["median_ms"], 2)
        out["rss_mb"] = round(server.rss_mb(), 1)
        return out
    finally:
        server.stop()


def raw_upload(url: str, size: int, pid: int | None, part: int = 16 << 20, threads: int = 8) -> dict:
    """The server's side of a multipart upload without boto3's client-side work: parts sent
    from one in-memory block over 8 keep-alive connections, as UNSIGNED-PAYLOAD with no
    checksum headers (one UploadPart signed by botocore, replayed with other part numbers)."""
    endpoint = load.Endpoint(url)
    s3 = endpoint.client("s3")
    bucket = f"bench-raw-{int(time.time() * 1000) % 10**9}"
    s3.create_bucket(Bucket=bucket)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin")["UploadId"]
    template = endpoint.sign("s3", "UploadPart", {"Bucket": bucket, "Key": "big.bin", "UploadId": upload,
                                                  "PartNumber": 1, "Body": b""})
    headers = {k: v for k, v in template.headers.items()
               if not k.lower().startswith(("x-amz-checksum", "content-md5", "x-amz-sdk-checksum"))}
    headers.update({"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Content-Length": str(part)})
    path = template.path.split("?")[0]
    block = bytes(range(256)) * (part // 256)
    parts = urllib.parse.urlsplit(url)
    count, etags, lock, state = size // part, {}, threading.Lock(), {"next": 1, "error": None}

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
        while True:
            with lock:
                n = state["next"]
                state["next"] += 1
            if n > count or state["error"]:
                break
            conn.request("PUT", f"{path}?partNumber={n}&uploadId={upload}", body=memoryview(block), headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                state["error"] = f"part {n}: HTTP {resp.status} {body[:200]!r}"
                break
            etags[n] = resp.getheader("ETag")
        conn.close()

    with ops_s3._RssWatch(pid) as watch:
        started = time.perf_counter()
        workers = [threading.Thread(target=worker) for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        seconds = time.perf_counter() - started
    if state["error"]:
        raise RuntimeError(state["error"])
    s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]})
    stored = s3.head_object(Bucket=bucket, Key="big.bin")["ContentLength"]
    if stored != count * part:
        raise RuntimeError(f"stored {stored} bytes, sent {count * part}")
    out = {"bytes": stored, "upload_s": round(seconds, 2), "upload_mb_s": round(stored / seconds / 1e6, 1)}
    if pid:
        out["rss_growth_mb"] = round((watch.peak - watch.start) / 1024, 1)
    return out


def measure_raw_upload(name: str, log_dir: Path, size: int) -> dict:
    server = _start(name, log_dir)
    try:
        return {"server": name, **raw_upload(server.url, size, server.proc.pid)}
    finally:
        server.stop()


def measure_transfer(name: str, log_dir: Path, size: int) -> dict:
    server = _start(name, log_dir)
    try:
        return {"server": name, **ops_s3.transfer(server.url, size, server.proc.pid)}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("transfer", "raw-upload", "list"))
    parser.add_argument("--servers", default="haneul,moto,ministack",
                        help="from run.py's, and haneul-data-dir (Haneul persisting, not --ephemeral)")
    parser.add_argument("--size", default="1G", help="transfer: the object's size")
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--fill-seconds", type=float, default=150.0, help="list: time allowed to fill each bucket")
    parser.add_argument("--runs", type=int, default=30, help="list: pages timed per bucket")
    args = parser.parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = HERE / "results" / f"s3_large-{stamp}"
    results = []
    for name in filter(None, args.servers.split(",")):
        print(f"  {args.what} on {name}", file=sys.stderr)
        try:
            if args.what == "transfer":
                result = measure_transfer(name, log_dir, ops_s3._size(args.size))
            elif args.what == "raw-upload":
                result = measure_raw_upload(name, log_dir, ops_s3._size(args.size))
            else:
                result = measure_list(name, log_dir, args.big, args.small, args.fill_seconds, args.runs)
        except Exception as e:                   # a peer that fails is reported, not fatal
            result = {"server": name, "error": f"{type(e).__name__}: {e}"[:500]}
        print(f"    {json.dumps(result)}", file=sys.stderr)
        results.append(result)
    shutil.rmtree(log_dir / "haneul-data", ignore_errors=True)      # the persisted objects
    doc = {"what": args.what, "stamp": stamp, "machine": run.machine_info(), "results": results}
    out = HERE / "results" / f"s3_large-{args.what}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
