"""SIGKILL during a burst of uploads: every acknowledged object survives whole, and no
half-written object becomes visible."""

import concurrent.futures
import hashlib
import os
import threading
import time

from haneul.testing import ServerProcess, make_client


def test_sigkill_during_uploads_loses_no_acknowledged_object(tmp_path):
    server = ServerProcess(data_dir=str(tmp_path / "data")).start()
    account = "123412341234"
    acked: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()
    try:
        s3 = make_client(server.endpoint, "s3", account)
        s3.create_bucket(Bucket="durable-bucket")

        def uploader(n: int) -> None:
            client = make_client(server.endpoint, "s3", account)
            i = 0
            while not stop.is_set():
                body = os.urandom(64 << 10) if i % 4 else os.urandom(3 << 20)
                key = f"w{n}/obj-{i}"
                try:
                    client.put_object(Bucket="durable-bucket", Key=key, Body=body)
                except Exception:
                    return                    # the server died under us
                with lock:
                    acked[key] = hashlib.md5(body).hexdigest()
                i += 1

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(uploader, n) for n in range(4)]
            deadline = time.time() + 20
            while len(acked) < 40 and time.time() < deadline:
                time.sleep(0.05)
            server.stop(kill=True)             # SIGKILL mid-burst
            stop.set()
            for f in futures:
                f.result(timeout=30)
        assert len(acked) >= 10
    finally:
        stop.set()
        server.stop(kill=True)

    again = ServerProcess(data_dir=str(tmp_path / "data")).start()
    try:
        s3 = make_client(again.endpoint, "s3", account)
        listed = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="durable-bucket"):
            for o in page.get("Contents", []):
                listed[o["Key"]] = o
        for key, md5 in acked.items():
            assert key in listed, f"acknowledged {key} lost"
        for key, o in listed.items():            # whatever is visible is whole
            body = s3.get_object(Bucket="durable-bucket", Key=key)["Body"].read()
            assert len(body) == o["Size"]
            assert hashlib.md5(body).hexdigest() == o["ETag"].strip('"')
            if key in acked:
                assert acked[key] == o["ETag"].strip('"')
    finally:
        again.stop()
