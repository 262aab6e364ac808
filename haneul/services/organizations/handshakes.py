"""Handshakes: invitations to join, the approvals of EnableAllFeatures, and the
invitations to take over billing (transfers.py).  A handshake joins an originator
(the organization's management account) and a recipient (an account, or an e-mail
address standing for one).  Open handshakes expire; closed ones stay listed for 30 days.
"""

from __future__ import annotations

import json
import sqlite3

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.services.base import tag_dict
from haneul.services.organizations import errors, ids
from haneul.services.organizations.access import Access, Scope, page
from haneul.services.organizations.accounts import placeholder_email
from haneul.services.organizations.tagging import check_tags

DAY = 86400.0
LIFETIME = {"INVITE": 15 * DAY, "ENABLE_ALL_FEATURES": 90 * DAY, "APPROVE_ALL_FEATURES": 90 * DAY,
            "TRANSFER_RESPONSIBILITY": 15 * DAY}
LISTED_AFTER_CLOSE = 30 * DAY
OPEN_STATES = ("REQUESTED", "OPEN")


def state_of(row: sqlite3.Row, now: float) -> str:
    if row["state"] in OPEN_STATES and now >= row["expires"]:
        return "EXPIRED"
    return row["state"]


def handshake_shape(row: sqlite3.Row, now: float) -> dict:
    return {"Id": row["id"], "Arn": ids.handshake_arn(row["mgmt"], row["org"], row["action"], row["id"]),
            "Parties": json.loads(row["parties"]), "State": state_of(row, now),
            "RequestedTimestamp": row["requested"], "ExpirationTimestamp": row["expires"],
            "Action": row["action"], "Resources": json.loads(row["resources"])}


def _already(state: str) -> AwsError:
    return AwsError("HandshakeAlreadyInStateException", f"The specified handshake is already in the {state} state.")


def _bad_transition() -> AwsError:
    return AwsError("InvalidHandshakeTransitionException",
                    "You can't perform the operation on the handshake in its current state.")


class HandshakeOps(Access):
    def _insert_handshake(self, ctx: RequestContext, scope: Scope, action: str, parties: list, resources: list,
                          target: str, parent: str | None = None, tags: list | None = None,
                          state: str = "OPEN") -> sqlite3.Row:
        hid = ids.handshake_id()
        ctx.db.execute("INSERT INTO org_handshake(id, org, mgmt, action, state, requested, expires, parties, "
                       "resources, target, parent, tags, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (hid, scope.id, scope.mgmt, action, state, scope.now, scope.now + LIFETIME[action],
                        json.dumps(parties), json.dumps(resources), target, parent,
                        json.dumps(tags) if tags else None, scope.now))
        return self._handshake_row(ctx, hid)

    @staticmethod
    def _handshake_row(ctx: RequestContext, hid: str) -> sqlite3.Row | None:
        return ctx.db.execute("SELECT * FROM org_handshake WHERE id=?", (hid,)).fetchone()

    @staticmethod
    def _org_resource(scope: Scope) -> dict:
        return {"Type": "ORGANIZATION", "Value": scope.id, "Resources": [
            {"Type": "MASTER_EMAIL", "Value": scope.org["mgmt_email"]},
            {"Type": "MASTER_NAME", "Value": scope.org["mgmt_name"]},
            {"Type": "ORGANIZATION_FEATURE_SET", "Value": scope.org["feature_set"]}]}

    def _is_recipient(self, ctx: RequestContext, row: sqlite3.Row) -> bool:
        target = row["target"]
        if target == ctx.account:
            return True
        if "@" in target:
            known = self._records(ctx).account(ctx.account)
            email = known["email"] if known is not None else placeholder_email(ctx.account)
            return email.lower() == target
        return False

    # -- invitations ----------------------------------------------------------------------
    def invite_account_to_organization(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        party = request["Target"]
        kind, value = party["Type"], party["Id"]
        if kind == "ACCOUNT" and ids.kind_of(value) == "ACCOUNT":
            account = scope.rec.account(value)
            target = value
        elif kind == "EMAIL" and "@" in value:
            account = scope.rec.account_by_email(value)
            target = account["id"] if account is not None else value.lower()
        else:
            raise errors.invalid_input("INVALID_PARTY_TYPE_TARGET",
                                       "You specified the wrong type for the handshake party.")
        if target == scope.mgmt or (account is not None and account["org"]):
            raise errors.handshake_constraint("ALREADY_IN_AN_ORGANIZATION",
                                              "The account is already a member of an organization.")
        if scope.org["feature_set"] == "ALL" and scope.rec.one(
                "SELECT 1 FROM org_handshake WHERE org=? AND action='ENABLE_ALL_FEATURES' AND state IN "
                "('REQUESTED', 'OPEN') AND expires>?", scope.id, scope.now):
            raise errors.handshake_constraint("INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES",
                                              "You can't invite accounts while enabling all features.")
        for row in scope.rec.all("SELECT * FROM org_handshake WHERE org=? AND action='INVITE' AND target=?",
                                 scope.id, target):
            if state_of(row, scope.now) in OPEN_STATES:
                raise AwsError("DuplicateHandshakeException",
                               "A handshake with the same action and target already exists.")
        check_tags(request.get("Tags"), {})
        resources = [self._org_resource(scope), {"Type": kind, "Value": value}]
        if request.get("Notes"):
            resources.append({"Type": "NOTES", "Value": request["Notes"]})
        parties = [{"Id": scope.id, "Type": "ORGANIZATION"}, {"Id": value, "Type": kind}]
        row = self._insert_handshake(ctx, scope, "INVITE", parties, resources, target, tags=request.get("Tags"))
        return {"Handshake": handshake_shape(row, scope.now)}

    def enable_all_features(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        if scope.org["feature_set"] == "ALL":
            raise errors.handshake_constraint("ORGANIZATION_ALREADY_HAS_ALL_FEATURES",
                                              "This organization already has all features enabled.")
        for row in scope.rec.all("SELECT * FROM org_handshake WHERE org=? AND action='ENABLE_ALL_FEATURES'",
                                 scope.id):
            if state_of(row, scope.now) in OPEN_STATES:
                raise errors.handshake_constraint("ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION",
                                                  "This organization is already migrating to all features.")
        invited = [r["id"] for r in scope.rec.accounts(scope.id) if r["joined_method"] == "INVITED"]
        parent = self._insert_handshake(ctx, scope, "ENABLE_ALL_FEATURES",
                                        [{"Id": scope.id, "Type": "ORGANIZATION"}],
                                        [{"Type": "ORGANIZATION", "Value": scope.id}], scope.mgmt,
                                        state="REQUESTED" if invited else "OPEN")
        for account in invited:
            self._insert_handshake(ctx, scope, "APPROVE_ALL_FEATURES",
                                   [{"Id": scope.id, "Type": "ORGANIZATION"}, {"Id": account, "Type": "ACCOUNT"}],
                                   [{"Type": "ORGANIZATION", "Value": scope.id},
                                    {"Type": "PARENT_HANDSHAKE", "Value": parent["id"]}],
                                   account, parent=parent["id"])
        return {"Handshake": handshake_shape(parent, scope.now)}

    # -- answering ------------------------------------------------------------------------
    def _visible(self, ctx: RequestContext, hid: str) -> sqlite3.Row:
        row = self._handshake_row(ctx, hid)
        if row is None or (row["mgmt"] != ctx.account and not self._is_recipient(ctx, row)):
            raise errors.handshake_not_found()
        return row

    def _set_state(self, ctx: RequestContext, row: sqlite3.Row, state: str) -> sqlite3.Row:
        ctx.db.execute("UPDATE org_handshake SET state=?, updated=? WHERE id=?", (state, ctx.now(), row["id"]))
        return self._handshake_row(ctx, row["id"])

    def accept_handshake(self, ctx: RequestContext, request: dict) -> dict:
        row = self._visible(ctx, request["HandshakeId"])
        now = ctx.now()
        state = state_of(row, now)
        if state == "ACCEPTED":
            raise _already("ACCEPTED")
        if state not in OPEN_STATES:
            raise _bad_transition()
        action = row["action"]
        if action == "ENABLE_ALL_FEATURES":
            if ctx.account != row["mgmt"]:
                raise errors.access_denied()
            if state != "OPEN":
                raise _bad_transition()
            ctx.db.execute("UPDATE org_organization SET feature_set='ALL' WHERE id=?", (row["org"],))
        else:
            if not self._is_recipient(ctx, row):
                raise errors.access_denied()
            if action == "INVITE":
                self._join(ctx, row)
            elif action == "TRANSFER_RESPONSIBILITY":
                self._accept_transfer(ctx, row)
        row = self._set_state(ctx, row, "ACCEPTED")
        if action == "APPROVE_ALL_FEATURES":
            self._approvals_done(ctx, row["parent"])
        return {"Handshake": handshake_shape(row, now)}

    def _join(self, ctx: RequestContext, row: sqlite3.Row) -> None:
        rec = self._records(ctx)
        org = rec.organization(row["org"])
        if org is None:
            raise _bad_transition()
        known = rec.account(ctx.account)
        if known is not None and known["org"]:
            raise errors.handshake_constraint("ALREADY_IN_AN_ORGANIZATION",
                                              "The account is already a member of an organization.")
        now = ctx.now()
        email = known["email"] if known is not None else placeholder_email(ctx.account)
        name = known["name"] if known is not None else ctx.account
        ctx.db.execute("INSERT OR REPLACE INTO org_account(id, org, name, email, parent, joined_method, joined, "
                       "state, closed) VALUES (?, ?, ?, ?, ?, 'INVITED', ?, 'ACTIVE', NULL)",
                       (ctx.account, org["id"], name, email, org["root_id"], now))
        rec.attach_defaults(org["id"], ctx.account, now)
        if row["tags"]:
            rec.set_tags(org["id"], ctx.account, tag_dict(json.loads(row["tags"])))

    def _approvals_done(self, ctx: RequestContext, parent: str | None) -> None:
        if not parent:
            return
        waiting = ctx.db.execute("SELECT COUNT(*) FROM org_handshake WHERE parent=? AND state<>'ACCEPTED'",
                                 (parent,)).fetchone()[0]
        if not waiting:
            ctx.db.execute("UPDATE org_handshake SET state='OPEN', updated=? WHERE id=? AND state='REQUESTED'",
                           (ctx.now(), parent))

    def decline_handshake(self, ctx: RequestContext, request: dict) -> dict:
        row = self._visible(ctx, request["HandshakeId"])
        if not self._is_recipient(ctx, row) or row["action"] == "ENABLE_ALL_FEATURES":
            raise errors.access_denied()
        state = state_of(row, ctx.now())
        if state == "DECLINED":
            raise _already("DECLINED")
        if state not in OPEN_STATES:
            raise _bad_transition()
        row = self._set_state(ctx, row, "DECLINED")
        if row["action"] == "TRANSFER_RESPONSIBILITY":
            ctx.db.execute("UPDATE org_transfer SET status='DECLINED' WHERE handshake=?", (row["id"],))
        return {"Handshake": handshake_shape(row, ctx.now())}

    def cancel_handshake(self, ctx: RequestContext, request: dict) -> dict:
        row = self._visible(ctx, request["HandshakeId"])
        if row["mgmt"] != ctx.account:
            raise errors.access_denied()
        state = state_of(row, ctx.now())
        if state == "CANCELED":
            raise _already("CANCELED")
        if state not in OPEN_STATES:
            raise _bad_transition()
        row = self._set_state(ctx, row, "CANCELED")
        ctx.db.execute("UPDATE org_handshake SET state='CANCELED', updated=? WHERE parent=? AND state IN "
                       "('REQUESTED', 'OPEN')", (ctx.now(), row["id"]))
        if row["action"] == "TRANSFER_RESPONSIBILITY":
            ctx.db.execute("UPDATE org_transfer SET status='CANCELED' WHERE handshake=?", (row["id"],))
        return {"Handshake": handshake_shape(row, ctx.now())}

    def describe_handshake(self, ctx: RequestContext, request: dict) -> dict:
        row = self._visible(ctx, request["HandshakeId"])
        return {"Handshake": handshake_shape(row, ctx.now())}

    # -- listing --------------------------------------------------------------------------
    @staticmethod
    def _filtered(rows: list[sqlite3.Row], request: dict, now: float) -> list[dict]:
        flt = request.get("Filter") or {}
        if flt.get("ActionType") and flt.get("ParentHandshakeId"):
            raise errors.invalid_input("MAX_LIMIT_EXCEEDED_FILTER",
                                       "You can specify only one filter parameter for the operation.")
        out = []
        for row in rows:
            state = state_of(row, now)
            if state not in OPEN_STATES:
                closed = row["expires"] if state == "EXPIRED" else row["updated"]
                if now - closed > LISTED_AFTER_CLOSE:
                    continue
            if flt.get("ActionType") and row["action"] != flt["ActionType"]:
                continue
            if flt.get("ParentHandshakeId") and row["parent"] != flt["ParentHandshakeId"]:
                continue
            out.append(handshake_shape(row, now))
        return out

    def list_handshakes_for_account(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        known = rec.account(ctx.account)
        email = (known["email"] if known is not None else placeholder_email(ctx.account)).lower()
        rows = rec.all("SELECT * FROM org_handshake WHERE target IN (?, ?) AND action<>'ENABLE_ALL_FEATURES' "
                       "ORDER BY requested, rowid", ctx.account, email)
        items, more = page(self._filtered(rows, request, ctx.now()), request)
        return {"Handshakes": items, **more}

    def list_handshakes_for_organization(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        rows = scope.rec.all("SELECT * FROM org_handshake WHERE org=? ORDER BY requested, rowid", scope.id)
        items, more = page(self._filtered(rows, request, scope.now), request)
        return {"Handshakes": items, **more}

    def _accept_transfer(self, ctx: RequestContext, row: sqlite3.Row) -> None:   # transfers.py
        raise _bad_transition()
