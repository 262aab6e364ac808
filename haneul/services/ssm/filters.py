"""ParameterFilters (DescribeParameters, GetParametersByPath) and the deprecated
Filters of DescribeParameters: checked up front, then applied to each candidate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from haneul.errors import AwsError
from haneul.services.ssm import names

TYPES = ("String", "StringList", "SecureString")
TIERS = ("Standard", "Advanced", "Intelligent-Tiering")
DESCRIBE_KEYS = "[Path, Name, Type, KeyId, Tier]"
BY_PATH_KEYS = "[Type, KeyId]"


class Candidate(Protocol):
    """What a filter looks at: the parameter's current row plus lazily loaded extras."""
    key: str
    type: str
    key_id: str | None
    tier: str
    data_type: str

    def tag_values(self, tag_key: str) -> list[str]: ...

    def has_label(self, labels: list[str]) -> bool: ...


@dataclass
class Filter:
    key: str
    option: str
    values: list[str]


def _invalid_key(key: str, valid: str) -> AwsError:
    return AwsError("InvalidFilterKey",
                    f"The following filter key is not valid: {key}. Valid filter keys include: {valid}.")


def _invalid_option(option: str, valid: str) -> AwsError:
    return AwsError("InvalidFilterOption",
                    f"The following filter option is not valid: {option}. Valid options include: {valid}.")


def parse(raw: list[dict] | None, by_path: bool) -> list[Filter]:
    """Check ParameterFilters the way AWS does; return them with default options filled in."""
    out: list[Filter] = []
    seen: set[str] = set()
    for item in raw or []:
        key = item.get("Key", "")
        values = list(item.get("Values") or [])
        is_tag = key.startswith("tag:") and len(key) > 4
        if not is_tag and key not in ("Name", "Type", "KeyId", "Path", "Label", "Tier", "DataType"):
            raise _invalid_key(key, BY_PATH_KEYS if by_path else DESCRIBE_KEYS)
        if by_path and (is_tag or key in ("Name", "Path", "Tier", "DataType")):
            raise _invalid_key(key, BY_PATH_KEYS)
        if not by_path and key == "Label":
            raise _invalid_key(key, DESCRIBE_KEYS)
        option = item.get("Option") or ("OneLevel" if key == "Path" else "Equals")
        if key in seen:
            raise AwsError("InvalidFilterKey",
                           f"The following filter is duplicated in the request: {key}. A request can "
                           "contain only one occurrence of a specific filter.")
        seen.add(key)
        if not values and not is_tag:
            raise AwsError("InvalidFilterValue",
                           f"The following filter values are missing : null for filter key {key}.")
        if key == "Path":
            if option not in ("Recursive", "OneLevel"):
                raise _invalid_option(option, "[Recursive, OneLevel]")
            for value in values:
                if value.lower().startswith(("/aws", "/ssm")):
                    raise AwsError("ValidationException",
                                   'Filters for common parameters can\'t be prefixed with "aws" or "ssm" '
                                   "(case-insensitive). When using global parameters, please specify "
                                   "within a global namespace.")
                names.check_path(value)
        elif key == "Label":
            if option != "Equals":
                raise _invalid_option(option, "[Equals]")
        else:
            allowed = ("Equals", "BeginsWith", "Contains") if key == "Name" and not by_path \
                else ("Equals", "BeginsWith")
            if option not in allowed:
                raise _invalid_option(option, "[BeginsWith, Equals]")
        if key == "Type":
            _check_values(values, TYPES)
        elif key == "Tier":
            _check_values(values, TIERS)
        out.append(Filter(key, option, values))
    return out


def _check_values(values: list[str], valid: tuple[str, ...]) -> None:
    for value in values:
        if value not in valid:
            raise AwsError("InvalidFilterValue",
                           f"The following filter value is not valid: {value}. Valid values include: "
                           f"[{', '.join(valid)}].")


def parse_legacy(raw: list[dict] | None) -> list[Filter]:
    """The deprecated Filters member: keys Name, Type, KeyId; Name matches by prefix."""
    out = []
    for item in raw or []:
        key = item.get("Key")
        if key not in ("Name", "Type", "KeyId"):
            raise _invalid_key(str(key), "[Name, Type, KeyId]")
        out.append(Filter(key, "BeginsWith" if key == "Name" else "Equals", list(item.get("Values") or [])))
    return out


def _compare(option: str, actual: str | None, values: list[str]) -> bool:
    if actual is None:
        return False
    if option == "BeginsWith":
        return any(actual.startswith(v) for v in values)
    if option == "Contains":
        return any(v in actual for v in values)
    return actual in values


def _path_match(key: str, option: str, values: list[str]) -> bool:
    for value in values:
        prefix = names.check_path(value)
        if not key.startswith(prefix):
            continue
        if option == "Recursive" or "/" not in key[len(prefix):]:
            return True
    return False


def matcher(filters: list[Filter]) -> Callable[[Candidate], bool]:
    """One predicate for all the filters (they are ANDed; the values of one filter ORed)."""

    def matches(p: Candidate) -> bool:
        for f in filters:
            if f.key == "Name":
                # Names compare with their leading slash, so "a" and "/a" are the same name.
                full = "/" + p.key
                values = f.values if f.option == "Contains" else ["/" + names.key_of(v) for v in f.values]
                ok = _compare(f.option, full, values)
            elif f.key == "Path":
                ok = _path_match(p.key, f.option, f.values)
            elif f.key == "Type":
                ok = _compare(f.option, p.type, f.values)
            elif f.key == "KeyId":
                ok = _compare(f.option, p.key_id, f.values)
            elif f.key == "Tier":
                ok = _compare(f.option, p.tier, f.values)
            elif f.key == "DataType":
                ok = _compare(f.option, p.data_type, f.values)
            elif f.key == "Label":
                ok = p.has_label(f.values)
            else:
                tag_values = p.tag_values(f.key[4:])
                ok = bool(tag_values) if not f.values else any(
                    _compare(f.option, v, f.values) for v in tag_values)
            if not ok:
                return False
        return True

    return matches
