"""Users, groups and group membership."""

from __future__ import annotations

from haneul.context import RequestContext
from haneul.services.iam import errors, ids
from haneul.services.iam import tags as tagging
from haneul.services.iam.entities import (LIMITS, caller_user_name, group_shape, records, require,
                                          user_shape)
from haneul.services.iam.paging import page, page_entities


def _rename(ctx, rec, kind: str, label: str, name: str, new_name: str | None,
            new_path: str | None) -> tuple[str, str]:
    """UpdateUser/UpdateGroup: a new name (unique ignoring case) and/or path, and the ARN
    that follows from them.  Returns (old name, new name)."""
    entity = require(rec, kind, name)
    old = entity["name"]
    new_name = new_name or old
    if new_name.lower() != old.lower() and rec.get(kind, new_name) is not None:
        raise errors.already_exists(f"{label} with name {new_name} already exists.")
    entity["name"], entity["path"] = new_name, new_path or entity["path"]
    entity["arn"] = ids.arn(ctx.account, kind, new_name, entity["path"])
    rec.save(kind, entity, old)
    return old, new_name


def rename_user_references(rec, old_key: str, new_key: str) -> None:
    for sql in ("UPDATE iam_member SET user_key=? WHERE account=? AND region=? AND user_key=?",
                "UPDATE iam_attached SET key=? WHERE account=? AND region=? AND kind='user' AND key=?",
                "UPDATE iam_inline SET key=? WHERE account=? AND region=? AND kind='user' AND key=?",
                "UPDATE iam_access_key SET user_key=? WHERE account=? AND region=? AND user_key=?",
                "UPDATE iam_credential SET user_key=? WHERE account=? AND region=? AND user_key=?"):
        rec.db.execute(sql, (new_key, rec.account, "", old_key))


class Users:
    # -- users ----------------------------------------------------------------------------
    def create_user(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name, path = request["UserName"], request.get("Path") or "/"
        if rec.get("user", name) is not None:
            raise errors.already_exists(f"User with name {name} already exists.")
        if rec.count("user") >= LIMITS["Users"]:
            raise errors.quota("UsersPerAccount", LIMITS["Users"])
        data: dict = {"tags": tagging.check_new(request.get("Tags"))}
        if request.get("PermissionsBoundary"):
            data["boundary"] = self._boundary_arn(rec, request["PermissionsBoundary"])
        user = {"name": name, "path": path, "id": ids.new_id(ids.USER),
                "arn": ids.arn(ctx.account, "user", name, path), "created": ctx.now(), "data": data}
        rec.insert("user", user)
        return {"User": user_shape(user)}

    def get_user(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name = request.get("UserName") or caller_user_name(ctx)
        if not name:
            return {"User": {"UserId": ctx.account, "Arn": f"arn:aws:iam::{ctx.account}:root",
                             "CreateDate": rec.settings().get("created", ctx.now())}}
        return {"User": user_shape(require(rec, "user", name))}

    def list_users(self, ctx: RequestContext, request: dict) -> dict:
        out = page_entities(records(ctx), "user", request, "Users")
        out["Users"] = [user_shape(u, full=False) for u in out["Users"]]
        return out

    def update_user(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        old, new_name = _rename(ctx, rec, "user", "User", request["UserName"],
                                request.get("NewUserName"), request.get("NewPath"))
        if new_name.lower() != old.lower():
            rename_user_references(rec, old.lower(), new_name.lower())
        return {}

    def delete_user(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = require(rec, "user", request["UserName"])
        key = user["name"].lower()
        if user["data"].get("login_profile"):
            raise errors.delete_conflict("Cannot delete entity, must delete login profile first.")
        if rec.scalar("SELECT 1 FROM iam_access_key WHERE account=? AND region=? AND user_key=?", key):
            raise errors.delete_conflict("Cannot delete entity, must delete access keys first.")
        for kind, what in (("signing-certificate", "signing certificates"), ("ssh-key", "SSH public keys"),
                           ("service-credential", "service specific credentials")):
            if rec.scalar("SELECT 1 FROM iam_credential WHERE account=? AND region=? AND user_key=? AND kind=?",
                          key, kind):
                raise errors.delete_conflict(f"Cannot delete entity, must delete {what} first.")
        if any(m["data"].get("user") == key for m in rec.all("mfa")):
            raise errors.delete_conflict("Cannot delete entity, must delete MFA device first.")
        if rec.scalar("SELECT 1 FROM iam_inline WHERE account=? AND region=? AND kind='user' AND key=?", key):
            raise errors.delete_conflict("Cannot delete entity, must delete policies first.")
        if rec.scalar("SELECT 1 FROM iam_attached WHERE account=? AND region=? AND kind='user' AND key=?", key):
            raise errors.delete_conflict("Cannot delete entity, must detach all policies first.")
        if rec.scalar("SELECT 1 FROM iam_member WHERE account=? AND region=? AND user_key=?", key):
            raise errors.delete_conflict("Cannot delete entity, must remove users from group first.")
        rec.delete("user", key)
        return {}

    # -- user tags --------------------------------------------------------------------------
    def tag_user(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = require(rec, "user", request["UserName"])
        user["data"]["tags"] = tagging.merge(user["data"].get("tags", []), request["Tags"])
        rec.save("user", user)
        return {}

    def untag_user(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = require(rec, "user", request["UserName"])
        user["data"]["tags"] = tagging.remove(user["data"].get("tags", []), request["TagKeys"])
        rec.save("user", user)
        return {}

    def list_user_tags(self, ctx: RequestContext, request: dict) -> dict:
        user = require(records(ctx), "user", request["UserName"])
        return page(user["data"].get("tags", []), request, lambda t: t["Key"].lower(), "Tags")

    # -- groups ---------------------------------------------------------------------------
    def create_group(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name, path = request["GroupName"], request.get("Path") or "/"
        if rec.get("group", name) is not None:
            raise errors.already_exists(f"Group with name {name} already exists.")
        if rec.count("group") >= LIMITS["Groups"]:
            raise errors.quota("GroupsPerAccount", LIMITS["Groups"])
        group = {"name": name, "path": path, "id": ids.new_id(ids.GROUP),
                 "arn": ids.arn(ctx.account, "group", name, path), "created": ctx.now(), "data": {}}
        rec.insert("group", group)
        return {"Group": group_shape(group)}

    def get_group(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        group = require(rec, "group", request["GroupName"])
        keys = [r[0] for r in rec.rows("SELECT user_key FROM iam_member WHERE account=? AND region=? "
                                       "AND group_key=? ORDER BY user_key", group["name"].lower())]
        out = page(rec.by_keys("user", keys), request, lambda u: u["name"].lower(), "Users")
        out["Users"] = [user_shape(u, full=False) for u in out["Users"]]
        out["Group"] = group_shape(group)
        return out

    def list_groups(self, ctx: RequestContext, request: dict) -> dict:
        out = page_entities(records(ctx), "group", request, "Groups")
        out["Groups"] = [group_shape(g) for g in out["Groups"]]
        return out

    def list_groups_for_user(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = require(rec, "user", request["UserName"])
        keys = [r[0] for r in rec.rows("SELECT group_key FROM iam_member WHERE account=? AND region=? "
                                       "AND user_key=?", user["name"].lower())]
        out = page(rec.by_keys("group", keys), request, lambda g: g["name"].lower(), "Groups")
        out["Groups"] = [group_shape(g) for g in out["Groups"]]
        return out

    def update_group(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        old, new_name = _rename(ctx, rec, "group", "Group", request["GroupName"],
                                request.get("NewGroupName"), request.get("NewPath"))
        if new_name.lower() != old.lower():
            for sql in ("UPDATE iam_member SET group_key=? WHERE account=? AND region=? AND group_key=?",
                        "UPDATE iam_attached SET key=? WHERE account=? AND region=? AND kind='group' AND key=?",
                        "UPDATE iam_inline SET key=? WHERE account=? AND region=? AND kind='group' AND key=?"):
                rec.db.execute(sql, (new_name.lower(), ctx.account, "", old.lower()))
        return {}

    def delete_group(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        group = require(rec, "group", request["GroupName"])
        key = group["name"].lower()
        if rec.scalar("SELECT 1 FROM iam_member WHERE account=? AND region=? AND group_key=?", key):
            raise errors.delete_conflict("Cannot delete entity, must remove users from group first.")
        if rec.scalar("SELECT 1 FROM iam_inline WHERE account=? AND region=? AND kind='group' AND key=?", key):
            raise errors.delete_conflict("Cannot delete entity, must delete policies first.")
        if rec.scalar("SELECT 1 FROM iam_attached WHERE account=? AND region=? AND kind='group' AND key=?", key):
            raise errors.delete_conflict("Cannot delete entity, must detach all policies first.")
        rec.delete("group", key)
        return {}

    def add_user_to_group(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        group = require(rec, "group", request["GroupName"])
        user = require(rec, "user", request["UserName"])
        user_key = user["name"].lower()
        count = rec.scalar("SELECT count(*) FROM iam_member WHERE account=? AND region=? AND user_key=?", user_key)
        already = rec.scalar("SELECT 1 FROM iam_member WHERE account=? AND region=? AND group_key=? AND user_key=?",
                             group["name"].lower(), user_key)
        if not already:
            if count >= LIMITS["GroupsPerUser"]:
                raise errors.quota("GroupsPerUser", LIMITS["GroupsPerUser"])
            rec.exec("INSERT INTO iam_member(account, region, group_key, user_key) VALUES (?,?,?,?)",
                     group["name"].lower(), user_key)
        return {}

    def remove_user_from_group(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        group = require(rec, "group", request["GroupName"])
        user = require(rec, "user", request["UserName"])
        done = rec.exec("DELETE FROM iam_member WHERE account=? AND region=? AND group_key=? AND user_key=?",
                        group["name"].lower(), user["name"].lower())
        if done.rowcount == 0:
            raise errors.no_such_entity(f"User {user['name']} is not in group {group['name']}.")
        return {}
