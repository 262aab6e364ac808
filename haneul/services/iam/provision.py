"""IAM records made by other services inside their own transaction (no request, no
dispatch): Organizations' CreateAccount gives the new account its
OrganizationAccountAccessRole this way, so the account and its role appear together or
not at all.

The caller passes its open connection; `ensure_schema` creates IAM's tables first when
IAM has not been used yet in this store (the dispatcher migrates a service's tables
lazily, when the service is first called).
"""

from __future__ import annotations

import json
import sqlite3

from haneul.services.iam import errors, ids, managed
from haneul.services.iam.policy import validate
from haneul.services.iam.records import SCHEMA, Records

NAMESPACE = "iam"


def ensure_schema(db: sqlite3.Connection) -> None:
    """Apply IAM's migration steps not applied yet, inside the caller's transaction and
    recorded in `_schema` exactly as Store.migrate records them."""
    row = db.execute("SELECT version FROM _schema WHERE namespace=?", (NAMESPACE,)).fetchone()
    done = row[0] if row else 0
    if done >= len(SCHEMA):
        return
    for step in SCHEMA[done:]:
        for statement in step.split(";\n"):
            if statement.strip():
                db.execute(statement)
    db.execute("INSERT INTO _schema(namespace, version) VALUES(?, ?) "
               "ON CONFLICT(namespace) DO UPDATE SET version=excluded.version", (NAMESPACE, len(SCHEMA)))


def create_role(db: sqlite3.Connection, account: str, name: str, trust_policy: dict | str,
                managed_policy_arns: list[str], now: float, path: str = "/",
                description: str | None = None, max_session: int = 3600) -> dict:
    """Create role `name` in `account` with the trust policy and the AWS or customer
    managed policies attached; the role record (as Records stores it).  The same checks
    as CreateRole + AttachRolePolicy: the trust policy must be valid, the name free, the
    policies must exist."""
    ensure_schema(db)
    rec = Records(db, account)
    if rec.get("role", name) is not None:
        raise errors.already_exists(f"Role with name {name} already exists.")
    trust = trust_policy if isinstance(trust_policy, str) else json.dumps(trust_policy)
    try:
        validate.check(trust, validate.TRUST)
    except validate.MalformedPolicy as exc:
        raise errors.malformed_policy(exc.message) from None
    for arn in managed_policy_arns:
        if managed.get(arn) is None and not _customer_policy(rec, arn):
            raise errors.no_such_entity(f"Policy {arn} does not exist or is not attachable.")
    data: dict = {"trust": trust, "max_session": max_session, "tags": []}
    if description is not None:
        data["description"] = description
    role = {"name": name, "path": path, "id": ids.new_id(ids.ROLE), "arn": ids.arn(account, "role", name, path),
            "created": now, "data": data}
    rec.insert("role", role)
    for arn in managed_policy_arns:
        rec.exec("INSERT OR IGNORE INTO iam_attached(account, region, kind, key, policy_arn, attached) "
                 "VALUES (?,?,?,?,?,?)", "role", name.lower(), arn, now)
    return role


def _customer_policy(rec: Records, arn: str) -> bool:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[4] != rec.account or not parts[5].startswith("policy/"):
        return False
    found = rec.get("policy", parts[5].rsplit("/", 1)[-1])
    return found is not None and found["arn"] == arn
