"""Billing responsibility transfers between organizations: one organization's
management account invites another organization's management account to take over
paying its bills.  The invitation is a TRANSFER_RESPONSIBILITY handshake; the
transfer is outbound for the inviting organization and inbound for the other one."""

from __future__ import annotations

import sqlite3

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.services.base import tag_dict
from haneul.services.organizations import errors, ids
from haneul.services.organizations.access import page
from haneul.services.organizations.handshakes import HandshakeOps, handshake_shape
from haneul.services.organizations.tagging import check_tags


def _not_found() -> AwsError:
    return AwsError("ResponsibilityTransferNotFoundException",
                    "We can't find a transfer that you specified.")


class TransferOps(HandshakeOps):
    def _transfer_shape(self, ctx: RequestContext, row: sqlite3.Row, direction: str) -> dict:
        rec = self._records(ctx)
        org, mgmt = ((row["source_org"], row["source_mgmt"]) if direction == "outbound"
                     else (row["target_org"], row["target_mgmt"]))

        def party(account: str) -> dict:
            known = rec.account(account)
            return {"ManagementAccountId": account,
                    "ManagementAccountEmail": known["email"] if known is not None else f"{account}@example.com"}

        out = {"Arn": ids.transfer_arn(mgmt, org, direction, row["id"]), "Name": row["name"], "Id": row["id"],
               "Type": row["type"], "Status": row["status"], "Source": party(row["source_mgmt"]),
               "Target": party(row["target_mgmt"]), "StartTimestamp": row["start"],
               "ActiveHandshakeId": row["handshake"]}
        if row["end"] is not None:
            out["EndTimestamp"] = row["end"]
        return out

    def _transfer(self, ctx: RequestContext, transfer_id: str) -> tuple[sqlite3.Row, str]:
        scope = self._admin(ctx)
        row = scope.rec.one("SELECT * FROM org_transfer WHERE id=?", transfer_id)
        if row is None:
            raise _not_found()
        if row["source_org"] == scope.id:
            return row, "outbound"
        if row["target_mgmt"] == ctx.account:
            return row, "inbound"
        raise _not_found()

    def invite_organization_to_transfer_responsibility(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        if not scope.is_mgmt:
            raise errors.access_denied()
        target = request["Target"]
        if target["Type"] == "ACCOUNT":
            account = scope.rec.account(target["Id"])
        elif target["Type"] == "EMAIL":
            account = scope.rec.account_by_email(target["Id"])
        else:
            raise errors.invalid_input("INVALID_PARTY_TYPE_TARGET",
                                       "You specified the wrong type for the handshake party.")
        target_org = scope.rec.one("SELECT * FROM org_organization WHERE mgmt=?", account["id"]) if account else None
        if target_org is None:
            raise errors.handshake_constraint("TARGET_ACCOUNT_VALIDATION_FAILURE",
                                              "The target must be the management account of an organization.")
        if target_org["id"] == scope.id:
            raise errors.handshake_constraint("SOURCE_AND_TARGET_CANNOT_MATCH",
                                              "The source and the target of a transfer can't be the same.")
        if scope.rec.one("SELECT 1 FROM org_transfer WHERE source_org=? AND target_org=? AND status IN "
                         "('REQUESTED', 'ACCEPTED')", scope.id, target_org["id"]):
            raise errors.handshake_constraint("RESPONSIBILITY_TRANSFER_ALREADY_EXISTS",
                                              "A responsibility transfer between these organizations already exists.")
        check_tags(request.get("Tags"), {})
        transfer = ids.transfer_id()
        start = request["StartTimestamp"]
        start = start.timestamp() if hasattr(start, "timestamp") else float(start)
        resources = [self._org_resource(scope),
                     {"Type": "RESPONSIBILITY_TRANSFER", "Value": transfer},
                     {"Type": "TRANSFER_TYPE", "Value": request["Type"]},
                     {"Type": "TRANSFER_START_TIMESTAMP", "Value": str(start)}]
        if request.get("Notes"):
            resources.append({"Type": "NOTES", "Value": request["Notes"]})
        parties = [{"Id": scope.id, "Type": "ORGANIZATION"}, {"Id": target["Id"], "Type": target["Type"]}]
        hs = self._insert_handshake(ctx, scope, "TRANSFER_RESPONSIBILITY", parties, resources, account["id"])
        ctx.db.execute("INSERT INTO org_transfer(id, source_org, target_org, source_mgmt, target_mgmt, name, type, "
                       "status, start, end, handshake) VALUES (?, ?, ?, ?, ?, ?, ?, 'REQUESTED', ?, NULL, ?)",
                       (transfer, scope.id, target_org["id"], scope.mgmt, account["id"], request["SourceName"],
                        request["Type"], start, hs["id"]))
        if request.get("Tags"):
            scope.rec.set_tags(scope.id, transfer, tag_dict(request["Tags"]))
        return {"Handshake": handshake_shape(hs, scope.now)}

    def _accept_transfer(self, ctx: RequestContext, row: sqlite3.Row) -> None:
        ctx.db.execute("UPDATE org_transfer SET status='ACCEPTED' WHERE handshake=?", (row["id"],))

    def describe_responsibility_transfer(self, ctx: RequestContext, request: dict) -> dict:
        row, direction = self._transfer(ctx, request["Id"])
        return {"ResponsibilityTransfer": self._transfer_shape(ctx, row, direction)}

    def update_responsibility_transfer(self, ctx: RequestContext, request: dict) -> dict:
        row, direction = self._transfer(ctx, request["Id"])
        ctx.db.execute("UPDATE org_transfer SET name=? WHERE id=?", (request["Name"], row["id"]))
        row = ctx.db.execute("SELECT * FROM org_transfer WHERE id=?", (row["id"],)).fetchone()
        return {"ResponsibilityTransfer": self._transfer_shape(ctx, row, direction)}

    def terminate_responsibility_transfer(self, ctx: RequestContext, request: dict) -> dict:
        row, direction = self._transfer(ctx, request["Id"])
        if row["status"] == "WITHDRAWN":
            raise AwsError("ResponsibilityTransferAlreadyInStatusException",
                           "The responsibility transfer is already in the requested status.")
        if row["status"] != "ACCEPTED":
            raise AwsError("InvalidResponsibilityTransferTransitionException",
                           "You can't terminate a responsibility transfer in its current status.")
        end = request.get("EndTimestamp")
        end = end.timestamp() if hasattr(end, "timestamp") else (float(end) if end is not None else ctx.now())
        ctx.db.execute("UPDATE org_transfer SET status='WITHDRAWN', end=? WHERE id=?", (end, row["id"]))
        row = ctx.db.execute("SELECT * FROM org_transfer WHERE id=?", (row["id"],)).fetchone()
        return {"ResponsibilityTransfer": self._transfer_shape(ctx, row, direction)}

    def list_inbound_responsibility_transfers(self, ctx: RequestContext, request: dict) -> dict:
        self._admin(ctx)
        rows = ctx.db.execute("SELECT * FROM org_transfer WHERE target_mgmt=? AND type=? ORDER BY start, id",
                              (ctx.account, request["Type"])).fetchall()
        if request.get("Id"):
            rows = [r for r in rows if r["id"] == request["Id"]]
            if not rows:
                raise _not_found()
        items, more = page([self._transfer_shape(ctx, r, "inbound") for r in rows], request)
        return {"ResponsibilityTransfers": items, **more}

    def list_outbound_responsibility_transfers(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        rows = scope.rec.all("SELECT * FROM org_transfer WHERE source_org=? AND type=? ORDER BY start, id",
                             scope.id, request["Type"])
        items, more = page([self._transfer_shape(ctx, r, "outbound") for r in rows], request)
        return {"ResponsibilityTransfers": items, **more}
