"""Tags on IAM resources: an ordered list of {Key, Value}, at most 50, keys unique
case-insensitively (IAM keeps the latest value and the first spelling)."""

from __future__ import annotations

from haneul.services.iam.errors import invalid_input, limit_exceeded

MAX_TAGS = 50


def check_new(tags: list[dict] | None) -> list[dict]:
    tags = list(tags or [])
    seen: set[str] = set()
    for t in tags:
        low = t["Key"].lower()
        if low in seen:
            raise invalid_input("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
        seen.add(low)
        if low.startswith("aws:"):
            raise invalid_input("User-defined tags cannot start with the reserved prefix aws:.")
    if len(tags) > MAX_TAGS:
        raise limit_exceeded(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags]


def merge(current: list[dict], new: list[dict]) -> list[dict]:
    new = check_new(new)
    out = [dict(t) for t in current]
    index = {t["Key"].lower(): i for i, t in enumerate(out)}
    for t in new:
        i = index.get(t["Key"].lower())
        if i is None:
            index[t["Key"].lower()] = len(out)
            out.append(t)
        else:
            out[i]["Value"] = t["Value"]
    if len(out) > MAX_TAGS:
        raise limit_exceeded(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return out


def remove(current: list[dict], keys: list[str]) -> list[dict]:
    drop = {k.lower() for k in keys}
    return [t for t in current if t["Key"].lower() not in drop]
