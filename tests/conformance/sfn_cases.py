"""Loading and comparing the shared Step Functions conformance cases (never copied here)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

ROOT = Path(os.environ.get("HANEUL_CONFORMANCE", Path(__file__).resolve().parents[2].parent / "shared" / "conformance"))


def corpus(name: str) -> list[Path]:
    folder = ROOT / name
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


_PLACEHOLDER = re.compile(r"<[^<>]*>")
_SPECIAL = {"date", "start-time", "entered-time", "snf_role_arn", "RandomNumberGenerated", "generated-uuid"}


def matches(expected, actual) -> bool:
    """`expected` from AWS with snapshot placeholders: <...> matches any text,
    111111111111 any account, and the recorder's fixed words match any string."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and expected.keys() == actual.keys() and all(
            matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            matches(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, str):
        if expected in _SPECIAL:
            return actual is not None
        if isinstance(actual, str) and (_PLACEHOLDER.search(expected) or "111111111111" in expected):
            pattern = ""
            for part in re.split(r"(<[^<>]*>|111111111111)", expected):
                if part == "111111111111":
                    pattern += r"\d{12}"
                elif _PLACEHOLDER.fullmatch(part or "x"):
                    pattern += ".*"
                else:
                    pattern += re.escape(part)
            return re.fullmatch(pattern, actual, re.S) is not None
        return expected == actual
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    return expected == actual
