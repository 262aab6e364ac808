"""IAM benchmark entries: GetRole and ListRoles over an account holding 1,000 roles, at 1
and 8 connections (issue 3).  Hooked into the table by operations.py:

    from ops_iam import OPERATIONS as IAM_OPERATIONS
    OPERATIONS.update(IAM_OPERATIONS)

The account holds 1,000 roles under /bench/ (IAM's default RolesPerAccount quota is
1,000, so every level shares them: the first setup creates them with signed CreateRole
requests replayed from a few threads, later setups find them and only check).  GetRole
reads one of them (8 rotating names); ListRoles reads the first page (MaxItems 100, the
SDKs' default) under that path.  ListRoles@1000 reads all 1,000 in one page (MaxItems
1000, IAM's largest): the listing peers that ignore MaxItems answer, so it compares.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from typing import Any

from operations import Operation

ROLES = 1_000
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _create_roles(endpoint: Any, tag: str, count: int = ROLES, workers: int = 4) -> dict:
    path = "/bench/"
    names = [f"bench-{i:04d}" for i in range(count)]
    if len(endpoint.client("iam").list_roles(PathPrefix=path, MaxItems=1000)["Roles"]) >= count:
        return {"path": path, "names": names, "roles": count}
    requests = [endpoint.sign("iam", "CreateRole", {"RoleName": n, "Path": path,
                                                    "AssumeRolePolicyDocument": TRUST}) for n in names]
    parts = urllib.parse.urlsplit(requests[0].url)
    failures: list[str] = []

    def worker(share: list) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            for req in share:
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200 and b"EntityAlreadyExists" not in body:
                    failures.append(f"HTTP {response.status}: {body[:200]!r}")
                    return
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(requests[i::workers],)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"creating roles failed: {failures[0]}")
    listed = endpoint.client("iam").list_roles(PathPrefix=path, MaxItems=1000)
    found = len(listed["Roles"])
    if found < min(count, 1000):
        raise RuntimeError(f"only {found} roles listed after setup")
    return {"path": path, "names": names, "roles": count}


def _role_found(body: bytes) -> str | None:
    return None if b"<RoleName>bench-" in body and b"<Arn>" in body else f"no role in body: {body[:200]!r}"


def _page_of(size: int):
    def check(body: bytes) -> str | None:
        count = body.count(b"<RoleName>bench-")
        return None if count == size else f"expected a page of {size} roles, got {count}: {body[:200]!r}"
    return check


OPERATIONS: dict[str, Operation] = {
    "iam.GetRole": Operation(
        "iam", "GetRole", lambda ctx, i: {"RoleName": ctx["names"][(i * 97) % len(ctx["names"])]},
        setup=_create_roles, variants=8, check=_role_found, connections=(1, 8),
        description="1,000 roles in the account, 8 rotating names",
    ),
    "iam.ListRoles": Operation(
        "iam", "ListRoles", lambda ctx, i: {"PathPrefix": ctx["path"]},
        setup=_create_roles, check=_page_of(100), connections=(1, 8),
        description="first page (MaxItems 100) of 1,000 roles under one path",
    ),
    "iam.ListRoles@1000": Operation(
        "iam", "ListRoles", lambda ctx, i: {"PathPrefix": ctx["path"], "MaxItems": 1000},
        setup=_create_roles, check=_page_of(1000), connections=(1, 8), default=False,
        description="all 1,000 roles under one path in one page (MaxItems 1000)",
    ),
}
