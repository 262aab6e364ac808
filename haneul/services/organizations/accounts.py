"""The organization itself and its accounts: create, describe, delete the organization;
create, describe, list, remove, leave and close accounts."""

from __future__ import annotations

import sqlite3

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.services.base import tag_dict
from haneul.services.iam import provision
from haneul.services.organizations import errors, ids
from haneul.services.organizations.access import Access, Scope, page
from haneul.services.organizations.records import account_shape, organization_shape
from haneul.services.organizations.tagging import check_tags

# CreateAccount answers IN_PROGRESS; the request succeeds this many seconds later, or at
# the first DescribeCreateAccountStatus after it, whichever comes first.
CREATE_ACCOUNT_SECONDS = 1.0
DEFAULT_ROLE = "OrganizationAccountAccessRole"
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


def access_role_trust(mgmt: str) -> dict:
    """The trust policy of the role CreateAccount makes: the management account may assume it."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{mgmt}:root"}, "Action": "sts:AssumeRole"}]}


def placeholder_email(account: str) -> str:
    """Haneul does not know the e-mail address of an account it did not create."""
    return f"{account}@example.com"


class AccountOps(Access):
    # -- the organization -----------------------------------------------------------------
    def create_organization(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        row = rec.account(ctx.account)
        if row is not None and row["org"]:
            raise AwsError("AlreadyInOrganizationException",
                           "The provided account is already a member of an organization.")
        now = ctx.now()
        org_id, root = ids.organization_id(), ids.root_id()
        email = row["email"] if row is not None else placeholder_email(ctx.account)
        name = row["name"] if row is not None else ctx.account
        feature_set = request.get("FeatureSet") or "ALL"
        ctx.db.execute("INSERT INTO org_organization(id, mgmt, feature_set, root_id, created, mgmt_email, "
                       "mgmt_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (org_id, ctx.account, feature_set, root, now, email, name))
        ctx.db.execute("INSERT OR REPLACE INTO org_account(id, org, name, email, parent, joined_method, joined, "
                       "state, closed) VALUES (?, ?, ?, ?, ?, 'CREATED', ?, 'ACTIVE', NULL)",
                       (ctx.account, org_id, name, email, root, now))
        return {"Organization": organization_shape(rec.organization(org_id), {})}

    def describe_organization(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._member(ctx)
        return {"Organization": organization_shape(scope.org, scope.rec.enabled_types(scope.id))}

    def delete_organization(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        if not scope.is_mgmt:
            raise errors.access_denied()
        others = scope.rec.one("SELECT COUNT(*) FROM org_account WHERE org=? AND id<>?", scope.id, scope.mgmt)[0]
        if others:
            raise AwsError("OrganizationNotEmptyException",
                           "To delete an organization you must first remove all member accounts "
                           "(except the management account).")
        for table in ("org_policy_type", "org_ou", "org_policy", "org_attachment", "org_tag",
                      "org_service_access", "org_delegated", "org_resource_policy", "org_create_status"):
            ctx.db.execute(f"DELETE FROM {table} WHERE org=?", (scope.id,))
        ctx.db.execute("UPDATE org_handshake SET state='CANCELED', updated=? WHERE org=? AND state IN "
                       "('REQUESTED', 'OPEN')", (scope.now, scope.id))
        ctx.db.execute("UPDATE org_account SET org='', parent='' WHERE id=?", (scope.mgmt,))
        ctx.db.execute("DELETE FROM org_organization WHERE id=?", (scope.id,))
        return {}

    # -- creating accounts ----------------------------------------------------------------
    def create_account(self, ctx: RequestContext, request: dict) -> dict:
        return {"CreateAccountStatus": self._create(ctx, request, govcloud=False)}

    def create_gov_cloud_account(self, ctx: RequestContext, request: dict) -> dict:
        return {"CreateAccountStatus": self._create(ctx, request, govcloud=True)}

    def _create(self, ctx: RequestContext, request: dict, govcloud: bool) -> dict:
        scope = self._admin(ctx)
        tags = tag_dict(request.get("Tags"))
        check_tags(request.get("Tags"), {})
        now = scope.now
        request_id = ids.create_account_request_id()
        name, email = request["AccountName"], request["Email"]
        failure = None
        if scope.rec.account_by_email(email) is not None:
            failure = "EMAIL_ALREADY_EXISTS"
        account = gov = None
        if failure is None:
            account = self._new_account_id(scope)
            gov = self._new_account_id(scope) if govcloud else None
            ctx.db.execute("INSERT OR REPLACE INTO org_account(id, org, name, email, parent, joined_method, "
                           "joined, state, closed) VALUES (?, ?, ?, ?, ?, 'CREATED', ?, 'ACTIVE', NULL)",
                           (account, scope.id, name, email, scope.org["root_id"], now))
            scope.rec.attach_defaults(scope.id, account, now)
            # AWS creates an administrator role in every account CreateAccount makes, trusting
            # the management account (the Organizations User Guide, "Accessing member accounts").
            provision.create_role(ctx.db, account, request.get("RoleName") or DEFAULT_ROLE,
                                  access_role_trust(scope.mgmt), [ADMINISTRATOR_ACCESS], now)
            if tags:
                scope.rec.set_tags(scope.id, account, tags)
        ctx.db.execute("INSERT INTO org_create_status(id, org, account_name, account_id, govcloud_id, requested, "
                       "completes, state, failure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (request_id, scope.id, name, account, gov, now, now + CREATE_ACCOUNT_SECONDS,
                        "FAILED" if failure else "SUCCEEDED", failure))
        return {"Id": request_id, "AccountName": name, "State": "IN_PROGRESS", "RequestedTimestamp": now}

    @staticmethod
    def _new_account_id(scope: Scope) -> str:
        while True:
            candidate = ids.account_id()
            if scope.rec.account(candidate) is None and scope.rec.one(
                    "SELECT 1 FROM org_organization WHERE mgmt=?", candidate) is None:
                return candidate

    @staticmethod
    def _status_shape(row: sqlite3.Row, now: float) -> dict:
        out = {"Id": row["id"], "AccountName": row["account_name"], "RequestedTimestamp": row["requested"]}
        if now < row["completes"]:
            out["State"] = "IN_PROGRESS"
            return out
        out["State"] = row["state"]
        out["CompletedTimestamp"] = row["completes"]
        if row["account_id"]:
            out["AccountId"] = row["account_id"]
        if row["govcloud_id"]:
            out["GovCloudAccountId"] = row["govcloud_id"]
        if row["failure"]:
            out["FailureReason"] = row["failure"]
        return out

    def describe_create_account_status(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        row = scope.rec.one("SELECT * FROM org_create_status WHERE id=? AND org=?",
                            request["CreateAccountRequestId"], scope.id)
        if row is None:
            raise AwsError("CreateAccountStatusNotFoundException",
                           "We can't find an create account request with the CreateAccountRequestId "
                           "that you specified.")
        if scope.now < row["completes"]:
            ctx.db.execute("UPDATE org_create_status SET completes=? WHERE id=?", (scope.now, row["id"]))
            row = scope.rec.one("SELECT * FROM org_create_status WHERE id=?", row["id"])
        return {"CreateAccountStatus": self._status_shape(row, scope.now)}

    def list_create_account_status(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        rows = scope.rec.all("SELECT * FROM org_create_status WHERE org=? ORDER BY requested, rowid", scope.id)
        shapes = [self._status_shape(r, scope.now) for r in rows]
        states = request.get("States")
        if states:
            shapes = [s for s in shapes if s["State"] in states]
        items, more = page(shapes, request)
        return {"CreateAccountStatuses": items, **more}

    # -- reading accounts -----------------------------------------------------------------
    def _account_shape(self, scope: Scope, row: sqlite3.Row) -> dict:
        out = account_shape(scope.org, row, scope.now)
        nodes = scope.rec.path(scope.org, row["id"])
        if nodes:
            out["Paths"] = [scope.id + "/" + "/".join(nodes) + "/"]
        return out

    def describe_account(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        row = scope.rec.member(scope.id, request["AccountId"])
        if row is None:
            raise errors.account_not_found()
        return {"Account": self._account_shape(scope, row)}

    def list_accounts(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        items, more = page(scope.rec.accounts(scope.id), request)
        return {"Accounts": [self._account_shape(scope, r) for r in items], **more}

    def list_accounts_for_parent(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        parent = request["ParentId"]
        if parent != scope.org["root_id"] and scope.rec.ou(scope.id, parent) is None:
            raise errors.parent_not_found()
        items, more = page(scope.rec.accounts(scope.id, parent), request)
        return {"Accounts": [self._account_shape(scope, r) for r in items], **more}

    # -- accounts leaving -----------------------------------------------------------------
    def _forget(self, ctx: RequestContext, scope: Scope, account: str) -> None:
        ctx.db.execute("UPDATE org_account SET org='', parent='' WHERE id=?", (account,))
        scope.rec.detach_all(scope.id, account)
        scope.rec.drop_tags(scope.id, account)
        ctx.db.execute("DELETE FROM org_delegated WHERE org=? AND account=?", (scope.id, account))

    def remove_account_from_organization(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        account = request["AccountId"]
        if scope.rec.member(scope.id, account) is None:
            raise errors.account_not_found()
        if account == scope.mgmt:
            raise AwsError("MasterCannotLeaveOrganizationException",
                           "You can't remove a management account from an organization. If you want the "
                           "management account to become a member account in another organization, you must "
                           "first delete the current organization of the management account.")
        if scope.rec.delegations(scope.id, account):
            raise errors.constraint("CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG",
                                    "You can't remove an account that is a delegated administrator. "
                                    "Deregister it first.")
        self._forget(ctx, scope, account)
        return {}

    def leave_organization(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._member(ctx)
        if scope.is_mgmt:
            raise AwsError("MasterCannotLeaveOrganizationException",
                           "You can't remove a management account from an organization. If you want the "
                           "management account to become a member account in another organization, you must "
                           "first delete the current organization of the management account.")
        if scope.rec.delegations(scope.id, scope.account):
            raise errors.constraint("CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG",
                                    "You can't remove an account that is a delegated administrator. "
                                    "Deregister it first.")
        self._forget(ctx, scope, scope.account)
        return {}

    def close_account(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        account = request["AccountId"]
        row = scope.rec.member(scope.id, account)
        if row is None:
            raise errors.account_not_found()
        if account == scope.mgmt:
            raise errors.constraint("CANNOT_CLOSE_MANAGEMENT_ACCOUNT",
                                    "You can't close the management account with this operation.")
        if row["state"] != "ACTIVE":
            raise AwsError("AccountAlreadyClosedException",
                           "You attempted to close an account that is already closed.")
        ctx.db.execute("UPDATE org_account SET state='PENDING_CLOSURE', closed=? WHERE id=?", (scope.now, account))
        return {}
