"""The root, organizational units and where accounts sit in the tree."""

from __future__ import annotations

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.services.base import tag_dict
from haneul.services.organizations import errors, ids
from haneul.services.organizations.access import Access, Scope, page
from haneul.services.organizations.records import ou_shape, root_shape
from haneul.services.organizations.tagging import check_tags

MAX_OU_DEPTH = 5
MAX_OUS = 1000


def _duplicate_ou() -> AwsError:
    return AwsError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")


class TreeOps(Access):
    def _is_parent(self, scope: Scope, parent: str) -> bool:
        return parent == scope.org["root_id"] or scope.rec.ou(scope.id, parent) is not None

    def _ou_or_raise(self, scope: Scope, ou: str):
        row = scope.rec.ou(scope.id, ou)
        if row is None:
            raise errors.ou_not_found()
        return row

    def list_roots(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        roots, more = page([root_shape(scope.org, scope.rec.enabled_types(scope.id))], request)
        return {"Roots": roots, **more}

    # -- organizational units -------------------------------------------------------------
    def create_organizational_unit(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        parent, name = request["ParentId"], request["Name"]
        if not self._is_parent(scope, parent):
            raise errors.parent_not_found()
        if any(r["name"] == name for r in scope.rec.ous(scope.id, parent)):
            raise _duplicate_ou()
        if len(scope.rec.path(scope.org, parent)) > MAX_OU_DEPTH:
            raise errors.constraint("OU_DEPTH_LIMIT_EXCEEDED",
                                    "You attempted to create an OU tree that is too many levels deep.")
        if scope.rec.one("SELECT COUNT(*) FROM org_ou WHERE org=?", scope.id)[0] >= MAX_OUS:
            raise errors.constraint("OU_NUMBER_LIMIT_EXCEEDED",
                                    "You attempted to exceed the number of OUs that you can have in an organization.")
        check_tags(request.get("Tags"), {})
        ou = ids.ou_id(scope.org["root_id"])
        ctx.db.execute("INSERT INTO org_ou(id, org, parent, name, created) VALUES (?, ?, ?, ?, ?)",
                       (ou, scope.id, parent, name, scope.now))
        scope.rec.attach_defaults(scope.id, ou, scope.now)
        if request.get("Tags"):
            scope.rec.set_tags(scope.id, ou, tag_dict(request["Tags"]))
        row = scope.rec.ou(scope.id, ou)
        return {"OrganizationalUnit": ou_shape(scope.org, row, scope.rec.path(scope.org, ou))}

    def update_organizational_unit(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        row = self._ou_or_raise(scope, request["OrganizationalUnitId"])
        name = request.get("Name")
        if name and name != row["name"]:
            if any(r["name"] == name for r in scope.rec.ous(scope.id, row["parent"])):
                raise _duplicate_ou()
            ctx.db.execute("UPDATE org_ou SET name=? WHERE id=?", (name, row["id"]))
            row = scope.rec.ou(scope.id, row["id"])
        return {"OrganizationalUnit": ou_shape(scope.org, row, scope.rec.path(scope.org, row["id"]))}

    def delete_organizational_unit(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        row = self._ou_or_raise(scope, request["OrganizationalUnitId"])
        if scope.rec.ous(scope.id, row["id"]) or scope.rec.accounts(scope.id, row["id"]):
            raise AwsError("OrganizationalUnitNotEmptyException",
                           "The specified OU is not empty. Move all accounts to another root or to other OUs, "
                           "remove all child OUs, and try the operation again.")
        ctx.db.execute("DELETE FROM org_ou WHERE id=?", (row["id"],))
        scope.rec.detach_all(scope.id, row["id"])
        scope.rec.drop_tags(scope.id, row["id"])
        return {}

    def describe_organizational_unit(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        row = self._ou_or_raise(scope, request["OrganizationalUnitId"])
        return {"OrganizationalUnit": ou_shape(scope.org, row, scope.rec.path(scope.org, row["id"]))}

    def list_organizational_units_for_parent(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        parent = request["ParentId"]
        if not self._is_parent(scope, parent):
            raise errors.parent_not_found()
        items, more = page(scope.rec.ous(scope.id, parent), request, key=lambda r: r["id"])
        return {"OrganizationalUnits": [ou_shape(scope.org, r, scope.rec.path(scope.org, r["id"]))
                                        for r in items], **more}

    # -- children and parents -------------------------------------------------------------
    def list_children(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        parent, kind = request["ParentId"], request["ChildType"]
        if not self._is_parent(scope, parent):
            raise errors.parent_not_found()
        rows = (scope.rec.accounts(scope.id, parent) if kind == "ACCOUNT" else scope.rec.ous(scope.id, parent))
        children = [{"Id": r["id"], "Type": kind} for r in rows]
        items, more = page(children, request)
        return {"Children": items, **more}

    def list_parents(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        child = request["ChildId"]
        row = (scope.rec.ou(scope.id, child) if child.startswith("ou-") else scope.rec.member(scope.id, child))
        if row is None:
            raise errors.child_not_found()
        parent = row["parent"]
        kind = "ROOT" if parent == scope.org["root_id"] else "ORGANIZATIONAL_UNIT"
        items, more = page([{"Id": parent, "Type": kind}], request)
        return {"Parents": items, **more}

    def move_account(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        account, source, dest = request["AccountId"], request["SourceParentId"], request["DestinationParentId"]
        if not self._is_parent(scope, source):
            raise AwsError("SourceParentNotFoundException",
                           "We can't find a source root or OU with the ParentId that you specified.")
        if not self._is_parent(scope, dest):
            raise AwsError("DestinationParentNotFoundException",
                           "We can't find the destination container (a root or OU) with the ParentId "
                           "that you specified.")
        row = scope.rec.member(scope.id, account)
        if row is None:
            raise errors.account_not_found()
        if row["parent"] == dest:
            raise AwsError("DuplicateAccountException", "That account is already present in the specified destination.")
        if row["parent"] != source:
            raise AwsError("SourceParentNotFoundException",
                           "We can't find a source root or OU with the ParentId that you specified.")
        ctx.db.execute("UPDATE org_account SET parent=? WHERE id=?", (dest, account))
        return {}
