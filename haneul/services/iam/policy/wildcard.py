"""IAM wildcards: `*` any run of characters, `?` exactly one, everything else literal.

Pattern and text both come from requests (policies, context values, ARNs), so matching
must stay linear: a backtracking regex with several `.*` blows up on texts like "aaaa…"
against "*a*a*a…b".  A pattern is split on `*` into parts of fixed length; the first part
must sit at the start, the last at the end, and each middle part is taken at its leftmost
place after the previous one (for `*`-globs leftmost is never worse than any later
place, so no backtracking is needed).  A part with `?` is found with a star-free regex,
the others with str.find / startswith / endswith.

`Actions` is a statement's Action list made fast for big managed policies
(ReadOnlyAccess names over a thousand patterns): an exact set, patterns bucketed by
their literal service prefix, and the few whose service prefix has a wildcard.
"""

from __future__ import annotations

import re
from functools import lru_cache

# A pattern as pieces: (text, wild) where wild text takes `*`/`?` and the other is literal
# (a policy variable's value is literal, even its `*`).
Pieces = tuple[tuple[str, bool], ...]


class _Part:
    """One star-free stretch: a literal string, or a regex when it holds a `?`."""
    __slots__ = ("text", "regex", "size")

    def __init__(self, segments: list[tuple[str, bool]]):
        self.size = sum(len(t) for t, _ in segments)
        if any(wild and "?" in t for t, wild in segments):
            self.text = None
            self.regex = re.compile("".join(
                "".join("." if c == "?" else re.escape(c) for c in t) if wild else re.escape(t)
                for t, wild in segments), re.DOTALL)
        else:
            self.text = "".join(t for t, _ in segments)
            self.regex = None

    def at(self, text: str, start: int) -> bool:
        """Whether the part matches `text` exactly at `start` (room already checked)."""
        if self.regex is None:
            return text.startswith(self.text, start)
        return self.regex.match(text, start, start + self.size) is not None

    def find(self, text: str, start: int, end: int) -> int:
        """Leftmost place of the part in text[start:end], or -1."""
        if self.regex is None:
            return text.find(self.text, start, end)
        found = self.regex.search(text, start, end)
        return -1 if found is None else found.start()


class Wildcard:
    __slots__ = ("parts", "exact", "size", "ignore_case")

    def __init__(self, pieces: Pieces, ignore_case: bool = False):
        self.ignore_case = ignore_case
        parts: list[list[tuple[str, bool]]] = [[]]
        for text, wild in pieces:
            if ignore_case:
                text = text.lower()
            if not wild:
                parts[-1].append((text, False))
                continue
            first, *rest = text.split("*")
            parts[-1].append((first, True))
            parts.extend([(r, True)] for r in rest)
        self.parts = [_Part(p) for p in parts]
        self.size = sum(p.size for p in self.parts)
        only = self.parts[0] if len(self.parts) == 1 else None
        self.exact = only.text if only is not None and only.regex is None else None

    def matches(self, text: str) -> bool:
        if self.ignore_case:
            text = text.lower()
        if self.exact is not None:
            return text == self.exact
        n = len(text)
        if n < self.size:
            return False
        parts = self.parts
        first = parts[0]
        if len(parts) == 1:
            return n == first.size and first.at(text, 0)
        last = parts[-1]
        if not first.at(text, 0) or not last.at(text, n - last.size):
            return False
        at, end = first.size, n - last.size
        for part in parts[1:-1]:
            found = part.find(text, at, end)
            if found < 0:
                return False
            at = found + part.size
        return True


@lru_cache(maxsize=8192)
def wildcard(pattern: str, ignore_case: bool = False) -> Wildcard:
    return Wildcard(((pattern, True),), ignore_case)


def like(pattern: str, text: str, ignore_case: bool = False) -> bool:
    return wildcard(pattern, ignore_case).matches(text)


class Actions:
    """A statement's Action (or NotAction) patterns; IAM matches actions case-insensitively."""
    __slots__ = ("exact", "by_service", "others")

    def __init__(self, patterns: tuple[str, ...]):
        self.exact: set[str] = set()
        self.by_service: dict[str, list[Wildcard]] = {}
        self.others: list[Wildcard] = []
        for pattern in patterns:
            lowered = pattern.lower()
            if "*" not in lowered and "?" not in lowered:
                self.exact.add(lowered)
                continue
            service, colon, _ = lowered.partition(":")
            matcher = wildcard(lowered)
            if colon and "*" not in service and "?" not in service:
                # Only an action whose prefix is exactly `service` can match.
                self.by_service.setdefault(service, []).append(matcher)
            else:
                self.others.append(matcher)

    def matches(self, action: str) -> bool:
        action = action.lower()
        if action in self.exact:
            return True
        for matcher in self.by_service.get(action.partition(":")[0], ()):
            if matcher.matches(action):
                return True
        return any(m.matches(action) for m in self.others)
