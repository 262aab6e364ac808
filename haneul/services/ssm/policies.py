"""Parameter policies (advanced tier only): parse and check the Policies JSON.

AWS enforces policies with periodic scans.  Haneul enforces Expiration when a
request touches the account's parameters (see service.purge_expired): the
parameter is gone as soon as its time has passed, which is what a client can
observe.  The two notification policies are stored and reported as Pending;
they would emit EventBridge events, which Haneul does not deliver yet.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from haneul.errors import AwsError

MAX_POLICIES = 10
TYPES = ("Expiration", "ExpirationNotification", "NoChangeNotification")
UNITS = ("Days", "Hours")


@dataclass
class Policies:
    inline: list[dict[str, str]]      # ParameterInlinePolicy dicts, stored as JSON
    expires_at: float | None          # epoch seconds of the Expiration policy, if any


def _attribute_error(message: str) -> AwsError:
    return AwsError("InvalidPolicyAttributeException", message)


def parse_timestamp(text: str) -> float:
    """ISO_INSTANT (2018-12-02T21:34:33.000Z) or ISO_OFFSET_DATE_TIME (...+10:30)."""
    if not isinstance(text, str) or "T" not in text:
        raise ValueError(text)
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(text)
    return when.timestamp()


def _positive_count(attributes: dict, name: str, policy_type: str) -> None:
    raw = attributes.get(name)
    if not isinstance(raw, (str, int)) or isinstance(raw, bool) or not str(raw).isdigit() or int(raw) < 1:
        raise _attribute_error(
            f"The {policy_type} policy needs the attribute {name} with a positive whole number; "
            f"got {raw!r}.")
    unit = attributes.get("Unit")
    if unit not in UNITS:
        raise _attribute_error(
            f"The {policy_type} policy needs the attribute Unit with one of {', '.join(UNITS)}; "
            f"got {unit!r}.")


def parse(text: str, now: float) -> Policies:
    """The Policies member of PutParameter -> what to store.  `[]` and `[{}]` clear them."""
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        raise _attribute_error("Invalid policies input: the policies must be a JSON array of "
                               "policy objects.") from None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise _attribute_error("Invalid policies input: the policies must be a JSON array of "
                               "policy objects.")
    items = [i for i in items if i]          # AWS documents `[{}]` as "remove all policies"
    if len(items) > MAX_POLICIES:
        raise AwsError("PoliciesLimitExceededException",
                       f"You specified {len(items)} policies; a parameter can have a maximum of "
                       f"{MAX_POLICIES} policies.")
    inline, expires_at, seen = [], None, set()
    for item in items:
        policy_type = item.get("Type")
        if policy_type not in TYPES:
            raise AwsError("InvalidPolicyTypeException",
                           f"The policy type {policy_type!r} isn't supported. Parameter Store supports "
                           "the following policy types: Expiration, ExpirationNotification, and "
                           "NoChangeNotification.")
        if item.get("Version") != "1.0":
            raise _attribute_error(f"The {policy_type} policy has an invalid Version "
                                   f"{item.get('Version')!r}; the supported version is 1.0.")
        attributes = item.get("Attributes")
        if not isinstance(attributes, dict):
            raise _attribute_error(f"The {policy_type} policy needs an Attributes object.")
        if policy_type in seen and policy_type != "ExpirationNotification":
            raise AwsError("IncompatiblePolicyException",
                           f"A parameter can have only one {policy_type} policy.")
        seen.add(policy_type)
        if policy_type == "Expiration":
            try:
                expires_at = parse_timestamp(attributes.get("Timestamp"))
            except (ValueError, TypeError):
                raise _attribute_error(
                    "The Expiration policy needs the attribute Timestamp in ISO_INSTANT or "
                    f"ISO_OFFSET_DATE_TIME format; got {attributes.get('Timestamp')!r}.") from None
            if expires_at <= now:
                raise _attribute_error("The Expiration policy Timestamp must be in the future.")
        elif policy_type == "ExpirationNotification":
            _positive_count(attributes, "Before", policy_type)
        else:
            _positive_count(attributes, "After", policy_type)
        inline.append({"PolicyText": json.dumps(item, separators=(",", ":")),
                       "PolicyType": policy_type, "PolicyStatus": "Pending"})
    if "ExpirationNotification" in seen and "Expiration" not in seen:
        raise AwsError("IncompatiblePolicyException",
                       "An ExpirationNotification policy needs an Expiration policy on the same "
                       "parameter.")
    return Policies(inline, expires_at)
