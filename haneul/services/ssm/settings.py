"""Service settings Parameter Store reads: the default tier and high throughput.

Other SSM settings (App Manager, Automation, OpsCenter, managed instances) belong
to tools Haneul does not implement; asking for them answers ServiceSettingNotFound.
"""

from __future__ import annotations

import re
import sqlite3

from haneul.errors import AwsError

DEFAULT_TIER = "/ssm/parameter-store/default-parameter-tier"
HIGH_THROUGHPUT = "/ssm/parameter-store/high-throughput-enabled"

# setting id -> (default value, allowed values)
SETTINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    DEFAULT_TIER: ("Standard", ("Standard", "Advanced", "Intelligent-Tiering")),
    HIGH_THROUGHPUT: ("false", ("true", "false")),
}

_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:ssm:[^:]*:[^:]*:servicesetting(/.+)$")


def setting_id(raw: str) -> str:
    """Setting ids come as `/ssm/...` or as the setting's ARN."""
    m = _ARN.match(raw)
    sid = m.group(1) if m else raw
    if sid not in SETTINGS:
        raise AwsError("ServiceSettingNotFound",
                       f"The service setting {raw} wasn't found. Haneul provides the Parameter Store "
                       f"settings {DEFAULT_TIER} and {HIGH_THROUGHPUT}.")
    return sid


def check_value(sid: str, value: str) -> None:
    allowed = SETTINGS[sid][1]
    if value not in allowed:
        raise AwsError("ValidationException",
                       f"The value {value} isn't valid for the service setting {sid}. Valid values: "
                       f"{', '.join(allowed)}.")


def read(db: sqlite3.Connection, account: str, region: str, sid: str) -> sqlite3.Row | None:
    return db.execute(
        "SELECT value, last_modified, last_modified_user FROM ssm_setting "
        "WHERE account=? AND region=? AND setting_id=?", (account, region, sid)).fetchone()


def value(db: sqlite3.Connection, account: str, region: str, sid: str) -> str:
    row = read(db, account, region, sid)
    return row["value"] if row else SETTINGS[sid][0]
