"""AWS managed policies (arn:aws:iam::aws:policy/...): read-only records shared by every
account, loaded once from data/aws_managed_policies.json, which
data/build_managed_policies.py writes from AWS's own documents: the Managed Policy Reference
pages, or IAM's GetPolicyVersion answers as archived (each policy's source is in
data/README.md).
A policy whose dates AWS's page did not give has created/updated None (omitted on the wire)."""

from __future__ import annotations

import datetime as dt
import json
import os
from functools import lru_cache

from haneul.services.iam.ids import unique_id

_DATA = os.path.join(os.path.dirname(__file__), "data", "aws_managed_policies.json")


def _epoch(text: str | None) -> float | None:
    return dt.datetime.fromisoformat(text).timestamp() if text else None


@lru_cache(maxsize=1)
def _all() -> dict[str, dict]:
    """arn -> record with name, path, arn, id, created, updated, version, document (text)."""
    with open(_DATA, encoding="utf-8") as f:
        raw = json.load(f)
    out = {}
    for name, p in sorted(raw.items(), key=lambda kv: kv[0].lower()):
        policy_arn = f"arn:aws:iam::aws:policy{p['Path']}{name}"
        out[policy_arn] = {
            "name": name, "path": p["Path"], "arn": policy_arn,
            "id": unique_id("ANPA", seed=policy_arn), "created": _epoch(p["CreateDate"]),
            "updated": _epoch(p["UpdateDate"]), "version": p["DefaultVersionId"],
            "document": json.dumps(p["Document"], indent=4),
        }
    return out


def get(policy_arn: str) -> dict | None:
    return _all().get(policy_arn.replace("arn:aws-cn:", "arn:aws:").replace("arn:aws-us-gov:", "arn:aws:"))


def all_policies() -> list[dict]:
    return list(_all().values())


def is_aws_arn(policy_arn: str) -> bool:
    return policy_arn.split(":")[4:5] == ["aws"]
