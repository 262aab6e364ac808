"""Who may call what, and the helpers every operation shares.

The caller's account (ctx.account) finds its organization through `org_account`.
Management-only operations refused to a member answer AccessDeniedException; read
operations are open to a member registered as a delegated administrator, and any
operation a resource policy of the organization allows to the member's account
(PutResourcePolicy, the delegated policy management of AWS).  An account in no
organization gets AWSOrganizationsNotInUseException.
"""

from __future__ import annotations

import fnmatch
import json
import sqlite3
from dataclasses import dataclass

from haneul.context import RequestContext
from haneul.services.base import decode_token, encode_token
from haneul.services.organizations import errors
from haneul.services.organizations.records import Records

DEFAULT_PAGE = 20


@dataclass
class Scope:
    rec: Records
    org: sqlite3.Row
    account: str          # the caller
    now: float

    @property
    def id(self) -> str:
        return self.org["id"]

    @property
    def mgmt(self) -> str:
        return self.org["mgmt"]

    @property
    def is_mgmt(self) -> bool:
        return self.account == self.org["mgmt"]


class Access:
    @staticmethod
    def _records(ctx: RequestContext) -> Records:
        return Records(ctx.db)

    def _member(self, ctx: RequestContext) -> Scope:
        rec = self._records(ctx)
        row = rec.account(ctx.account)
        org = rec.organization(row["org"]) if row is not None and row["org"] else None
        if org is None:
            raise errors.not_in_use()
        return Scope(rec, org, ctx.account, ctx.now())

    def _admin(self, ctx: RequestContext, read: bool = False) -> Scope:
        scope = self._member(ctx)
        if scope.is_mgmt:
            return scope
        if read and scope.rec.delegations(scope.id, scope.account):
            return scope
        if _resource_policy_allows(scope, ctx.operation or ""):
            return scope
        raise errors.access_denied()

    def _all_features(self, scope: Scope) -> None:
        if scope.org["feature_set"] != "ALL":
            raise errors.policy_type_not_available()


def _resource_policy_allows(scope: Scope, operation: str) -> bool:
    if not operation:
        return False
    row = scope.rec.one("SELECT content FROM org_resource_policy WHERE org=?", scope.id)
    if row is None:
        return False
    doc = json.loads(row["content"])
    statements = doc.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    action = f"organizations:{operation}".lower()
    allowed = False
    for st in statements:
        if not _names_account(st.get("Principal"), scope.account):
            continue
        acts = st.get("Action", [])
        acts = [acts] if isinstance(acts, str) else acts
        if not any(fnmatch.fnmatchcase(action, a.lower()) for a in acts):
            continue
        if st.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def _names_account(principal, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    aws = principal.get("AWS", [])
    aws = [aws] if isinstance(aws, str) else aws
    return any(p in (account, f"arn:aws:iam::{account}:root") for p in aws)


def page(items: list, request: dict, key=lambda item: item["Id"]) -> tuple[list, dict]:
    """One page of `items` (already in their listing order) and the NextToken member."""
    limit = request.get("MaxResults") or DEFAULT_PAGE
    start = 0
    token = request.get("NextToken")
    if token:
        state = decode_token(token, errors.bad_token)
        if not isinstance(state, dict) or "after" not in state:
            raise errors.bad_token()
        keys = [key(i) for i in items]
        if state["after"] in keys:
            start = keys.index(state["after"]) + 1
        else:
            start = min(int(state.get("offset", 0)), len(items))
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    extra = {"NextToken": encode_token({"after": key(chunk[-1]), "offset": start + limit})} if more and chunk else {}
    return chunk, extra
