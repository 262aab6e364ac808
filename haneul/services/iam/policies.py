"""Managed policies (customer and AWS), their versions, attachments, inline policies and
permissions boundaries."""

from __future__ import annotations

from haneul.context import RequestContext
from haneul.services.iam import errors, ids, managed
from haneul.services.iam import tags as tagging
from haneul.services.iam.entities import (LIMITS, attachable_policy, check_document, check_policy_arn,
                                          encode_document, find_policy, records, require)
from haneul.services.iam.paging import page
from haneul.services.iam.policy import validate
from haneul.services.iam.roles import _protected

ENTITY = {"user": "UserName", "group": "GroupName", "role": "RoleName"}
QUOTA = {"user": "PoliciesPerUser", "group": "PoliciesPerGroup", "role": "PoliciesPerRole"}
INLINE_QUOTA = {"user": "UserPolicySize", "group": "GroupPolicySize", "role": "RolePolicySize"}


def usage_counts(rec) -> tuple[dict[str, int], dict[str, int]]:
    """Per policy ARN: how many entities attach it, and how many use it as boundary."""
    attached = dict(rec.rows("SELECT policy_arn, count(*) FROM iam_attached WHERE account=? AND region=? "
                             "GROUP BY policy_arn"))
    boundary: dict[str, int] = {}
    for row in rec.rows("SELECT json_extract(data, '$.boundary') FROM iam_entity WHERE account=? AND region=? "
                        "AND kind IN ('user', 'role') AND json_extract(data, '$.boundary') IS NOT NULL"):
        boundary[row[0]] = boundary.get(row[0], 0) + 1
    return attached, boundary


def attachment_counts(rec, policy_arn: str) -> tuple[int, int]:
    """(AttachmentCount, PermissionsBoundaryUsageCount) of a policy in this account."""
    attached = rec.scalar("SELECT count(*) FROM iam_attached WHERE account=? AND region=? AND policy_arn=?",
                          policy_arn)
    boundary = rec.scalar("SELECT count(*) FROM iam_entity WHERE account=? AND region=? AND kind IN ('user', 'role') "
                          "AND json_extract(data, '$.boundary') = ?", policy_arn)
    return attached, boundary


def policy_shape(rec, found: dict, full: bool = True, counts: tuple | None = None) -> dict:
    """The Policy shape of a customer (`found["entity"]`) or AWS managed policy."""
    if counts is not None:
        attached, boundary = counts[0].get(found["arn"], 0), counts[1].get(found["arn"], 0)
    else:
        attached, boundary = attachment_counts(rec, found["arn"])
    if found["aws"]:
        p = managed.get(found["arn"])
        out = {"PolicyName": p["name"], "PolicyId": p["id"], "Arn": p["arn"], "Path": p["path"],
               "DefaultVersionId": p["version"], "AttachmentCount": attached,
               "PermissionsBoundaryUsageCount": boundary, "IsAttachable": True,
               "CreateDate": p["created"], "UpdateDate": p["updated"]}
        return out
    e = found["entity"]
    data = e["data"]
    out = {"PolicyName": e["name"], "PolicyId": e["id"], "Arn": e["arn"], "Path": e["path"],
           "DefaultVersionId": f"v{data['default']}", "AttachmentCount": attached,
           "PermissionsBoundaryUsageCount": boundary, "IsAttachable": True,
           "CreateDate": e["created"], "UpdateDate": data.get("updated", e["created"])}
    if full:
        if data.get("description") is not None:
            out["Description"] = data["description"]
        if data.get("tags"):
            out["Tags"] = data["tags"]
    return out


def _version_shape(row, document: bool = True) -> dict:
    out = {"VersionId": f"v{row['version']}", "IsDefaultVersion": bool(row["is_default"]),
           "CreateDate": row["created"]}
    if document:
        out["Document"] = encode_document(row["document"])
    return out


class Policies:
    # -- customer managed policies --------------------------------------------------------------
    def _managed_document(self, document: str) -> str:
        check_document(document, validate.IDENTITY, managed_policy=True)
        if validate.significant_size(document) > LIMITS["PolicySize"]:
            raise errors.quota("PolicySize", LIMITS["PolicySize"])
        return document

    def create_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name, path = request["PolicyName"], request.get("Path") or "/"
        document = self._managed_document(request["PolicyDocument"])
        if rec.get("policy", name) is not None:
            raise errors.already_exists(f"A policy called {name} already exists. Duplicate names are not allowed.")
        if rec.count("policy") >= LIMITS["Policies"]:
            raise errors.quota("PoliciesPerAccount", LIMITS["Policies"])
        now = ctx.now()
        data = {"default": 1, "next": 2, "updated": now, "tags": tagging.check_new(request.get("Tags"))}
        if request.get("Description") is not None:
            data["description"] = request["Description"]
        entity = {"name": name, "path": path, "id": ids.new_id(ids.POLICY),
                  "arn": ids.arn(ctx.account, "policy", name, path), "created": now, "data": data}
        rec.insert("policy", entity)
        rec.exec("INSERT INTO iam_policy_version(account, region, policy_key, version, document, is_default, created) "
                 "VALUES (?,?,?,?,?,?,?)", name.lower(), 1, document, 1, now)
        return {"Policy": policy_shape(rec, {"arn": entity["arn"], "aws": False, "entity": entity})}

    def _policy(self, rec, policy_arn: str) -> dict:
        check_policy_arn(policy_arn)
        found = find_policy(rec, policy_arn)
        if found is None:
            raise errors.no_such_entity(f"Policy {policy_arn} was not found.")
        return found

    def _customer(self, rec, policy_arn: str) -> dict:
        found = self._policy(rec, policy_arn)
        if found["aws"]:
            raise errors.AwsError("AccessDenied", f"Policy {policy_arn} is an AWS managed policy and cannot be "
                                  "modified.", 403)
        return found["entity"]

    def get_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        return {"Policy": policy_shape(rec, self._policy(rec, request["PolicyArn"]))}

    def list_policies(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        scope = request.get("Scope") or "All"
        prefix = request.get("PathPrefix") or "/"
        found = []
        if scope in ("All", "AWS"):
            found += [{"arn": p["arn"], "aws": True, "path": p["path"], "name": p["name"]}
                      for p in managed.all_policies()]
        if scope in ("All", "Local"):
            found += [{"arn": e["arn"], "aws": False, "entity": e, "path": e["path"], "name": e["name"]}
                      for e in rec.all("policy")]
        found = [f for f in found if f["path"].startswith(prefix)]
        counts = usage_counts(rec)
        usage = request.get("PolicyUsageFilter")
        if request.get("OnlyAttached") or usage == "PermissionsPolicy":
            found = [f for f in found if counts[0].get(f["arn"])]
        if usage == "PermissionsBoundary":
            found = [f for f in found if counts[1].get(f["arn"])]
        found.sort(key=lambda f: (f["name"].lower(), f["arn"]))
        out = page(found, request, lambda f: [f["name"].lower(), f["arn"]], "Policies")
        out["Policies"] = [policy_shape(rec, f, full=False, counts=counts) for f in out["Policies"]]
        return out

    def delete_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        entity = self._customer(rec, request["PolicyArn"])
        attached, boundary = attachment_counts(rec, entity["arn"])
        if attached or boundary:
            raise errors.delete_conflict("Cannot delete a policy attached to entities.")
        if rec.scalar("SELECT count(*) FROM iam_policy_version WHERE account=? AND region=? AND policy_key=?",
                      entity["name"].lower()) > 1:
            raise errors.delete_conflict("This policy has more than one version. Before you delete a policy, you "
                                         "must delete the policy's versions. The default version is deleted with "
                                         "the policy.")
        rec.exec("DELETE FROM iam_policy_version WHERE account=? AND region=? AND policy_key=?", entity["name"].lower())
        rec.delete("policy", entity["name"])
        return {}

    # -- versions ------------------------------------------------------------------------------
    def create_policy_version(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        entity = self._customer(rec, request["PolicyArn"])
        document = self._managed_document(request["PolicyDocument"])
        key = entity["name"].lower()
        if rec.scalar("SELECT count(*) FROM iam_policy_version WHERE account=? AND region=? AND policy_key=?",
                      key) >= LIMITS["VersionsPerPolicy"]:
            raise errors.limit_exceeded("A managed policy can have up to 5 versions. Before you create a new "
                                        "version, you must delete an existing version.")
        data = entity["data"]
        version, now = data["next"], ctx.now()
        default = bool(request.get("SetAsDefault"))
        if default:
            rec.exec("UPDATE iam_policy_version SET is_default=0 WHERE account=? AND region=? AND policy_key=?", key)
            data["default"] = version
        rec.exec("INSERT INTO iam_policy_version(account, region, policy_key, version, document, is_default, created) "
                 "VALUES (?,?,?,?,?,?,?)", key, version, document, int(default), now)
        data["next"], data["updated"] = version + 1, now
        rec.save("policy", entity)
        return {"PolicyVersion": {"VersionId": f"v{version}", "IsDefaultVersion": default, "CreateDate": now}}

    def _version_row(self, rec, entity: dict, version_id: str):
        number = version_id[1:] if version_id[:1] == "v" else ""
        row = None
        if number.isdigit():
            row = rec.exec("SELECT * FROM iam_policy_version WHERE account=? AND region=? AND policy_key=? "
                           "AND version=?", entity["name"].lower(), int(number)).fetchone()
        if row is None:
            raise errors.no_such_entity(f"Policy {entity['arn']} version {version_id} does not exist or is not "
                                        "attachable.")
        return row

    def get_policy_version(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        found = self._policy(rec, request["PolicyArn"])
        if found["aws"]:
            p = managed.get(found["arn"])
            if request["VersionId"] != p["version"]:
                raise errors.no_such_entity(f"Policy {p['arn']} version {request['VersionId']} does not exist or "
                                            "is not attachable.")
            return {"PolicyVersion": {"Document": encode_document(p["document"]), "VersionId": p["version"],
                                      "IsDefaultVersion": True, "CreateDate": p["updated"]}}
        return {"PolicyVersion": _version_shape(self._version_row(rec, found["entity"], request["VersionId"]))}

    def list_policy_versions(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        found = self._policy(rec, request["PolicyArn"])
        if found["aws"]:
            p = managed.get(found["arn"])
            versions = [{"VersionId": p["version"], "IsDefaultVersion": True, "CreateDate": p["updated"]}]
            return page(versions, request, lambda v: v["VersionId"], "Versions")
        rows = rec.rows("SELECT * FROM iam_policy_version WHERE account=? AND region=? AND policy_key=? "
                        "ORDER BY version DESC", found["entity"]["name"].lower())
        versions = [_version_shape(r, document=False) for r in rows]
        return page(versions, request, lambda v: -int(v["VersionId"][1:]), "Versions")

    def delete_policy_version(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        entity = self._customer(rec, request["PolicyArn"])
        row = self._version_row(rec, entity, request["VersionId"])
        if row["is_default"]:
            raise errors.delete_conflict("Cannot delete the default version of a policy.")
        rec.exec("DELETE FROM iam_policy_version WHERE account=? AND region=? AND policy_key=? AND version=?",
                 entity["name"].lower(), row["version"])
        return {}

    def set_default_policy_version(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        entity = self._customer(rec, request["PolicyArn"])
        row = self._version_row(rec, entity, request["VersionId"])
        key = entity["name"].lower()
        rec.db.execute("UPDATE iam_policy_version SET is_default=(version=?) WHERE account=? AND region=? "
                       "AND policy_key=?", (row["version"], ctx.account, "", key))
        entity["data"]["default"], entity["data"]["updated"] = row["version"], ctx.now()
        rec.save("policy", entity)
        return {}

    # -- policy tags -------------------------------------------------------------------------------
    def tag_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        entity = self._customer(rec, request["PolicyArn"])
        entity["data"]["tags"] = tagging.merge(entity["data"].get("tags", []), request["Tags"])
        rec.save("policy", entity)
        return {}

    def untag_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        entity = self._customer(rec, request["PolicyArn"])
        entity["data"]["tags"] = tagging.remove(entity["data"].get("tags", []), request["TagKeys"])
        rec.save("policy", entity)
        return {}

    def list_policy_tags(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        found = self._policy(rec, request["PolicyArn"])
        tags = found["entity"]["data"].get("tags", []) if not found["aws"] else []
        return page(tags, request, lambda t: t["Key"].lower(), "Tags")

    # -- attachments -------------------------------------------------------------------------------
    def _attach(self, ctx: RequestContext, kind: str, request: dict) -> dict:
        rec = records(ctx)
        entity = require(rec, kind, request[ENTITY[kind]])
        if kind == "role":
            _protected(entity)
        found = attachable_policy(rec, request["PolicyArn"])
        key = entity["name"].lower()
        if rec.scalar("SELECT 1 FROM iam_attached WHERE account=? AND region=? AND kind=? AND key=? AND policy_arn=?",
                      kind, key, found["arn"]):
            return {}
        quota = QUOTA[kind]
        if rec.scalar("SELECT count(*) FROM iam_attached WHERE account=? AND region=? AND kind=? AND key=?",
                      kind, key) >= LIMITS[quota]:
            raise errors.quota(quota, LIMITS[quota])
        rec.exec("INSERT INTO iam_attached(account, region, kind, key, policy_arn, attached) VALUES (?,?,?,?,?,?)",
                 kind, key, found["arn"], ctx.now())
        return {}

    def _detach(self, ctx: RequestContext, kind: str, request: dict) -> dict:
        rec = records(ctx)
        entity = require(rec, kind, request[ENTITY[kind]])
        if kind == "role":
            _protected(entity)
        check_policy_arn(request["PolicyArn"])
        done = rec.exec("DELETE FROM iam_attached WHERE account=? AND region=? AND kind=? AND key=? AND policy_arn=?",
                        kind, entity["name"].lower(), request["PolicyArn"])
        if done.rowcount == 0:
            raise errors.no_such_entity(f"Policy {request['PolicyArn']} was not found.")
        return {}

    def _list_attached(self, ctx: RequestContext, kind: str, request: dict) -> dict:
        rec = records(ctx)
        entity = require(rec, kind, request[ENTITY[kind]])
        prefix = request.get("PathPrefix") or "/"
        out = []
        for row in rec.rows("SELECT policy_arn FROM iam_attached WHERE account=? AND region=? AND kind=? AND key=?",
                            kind, entity["name"].lower()):
            found = find_policy(rec, row[0])
            if found is not None and found["path"].startswith(prefix):
                out.append({"PolicyName": found["name"], "PolicyArn": found["arn"]})
        out.sort(key=lambda p: (p["PolicyName"].lower(), p["PolicyArn"]))
        return page(out, request, lambda p: [p["PolicyName"].lower(), p["PolicyArn"]], "AttachedPolicies")

    def attach_user_policy(self, ctx, request):
        return self._attach(ctx, "user", request)

    def attach_group_policy(self, ctx, request):
        return self._attach(ctx, "group", request)

    def attach_role_policy(self, ctx, request):
        return self._attach(ctx, "role", request)

    def detach_user_policy(self, ctx, request):
        return self._detach(ctx, "user", request)

    def detach_group_policy(self, ctx, request):
        return self._detach(ctx, "group", request)

    def detach_role_policy(self, ctx, request):
        return self._detach(ctx, "role", request)

    def list_attached_user_policies(self, ctx, request):
        return self._list_attached(ctx, "user", request)

    def list_attached_group_policies(self, ctx, request):
        return self._list_attached(ctx, "group", request)

    def list_attached_role_policies(self, ctx, request):
        return self._list_attached(ctx, "role", request)

    def list_entities_for_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        found = self._policy(rec, request["PolicyArn"])
        wanted = request.get("EntityFilter")
        usage = request.get("PolicyUsageFilter")
        prefix = request.get("PathPrefix") or "/"
        rows: list[tuple[str, dict]] = []
        if usage in (None, "PermissionsPolicy"):
            for kind in ("group", "role", "user"):
                keys = [r[0] for r in rec.rows("SELECT key FROM iam_attached WHERE account=? AND region=? AND kind=? "
                                               "AND policy_arn=?", kind, found["arn"])]
                rows += [(kind, e) for e in rec.by_keys(kind, keys)]
        if usage in (None, "PermissionsBoundary"):
            for kind in ("role", "user"):
                rows += [(kind, e) for e in rec.all(kind) if e["data"].get("boundary") == found["arn"]
                         and (kind, e) not in rows]
        kinds = {"User": "user", "Role": "role", "Group": "group"}
        if wanted in kinds:
            rows = [r for r in rows if r[0] == kinds[wanted]]
        rows = [r for r in rows if r[1]["path"].startswith(prefix)]
        rows.sort(key=lambda r: (r[0], r[1]["name"].lower()))
        out = page(rows, request, lambda r: [r[0], r[1]["name"].lower()], "Entities")
        entities = out.pop("Entities")
        out["PolicyGroups"] = [{"GroupName": e["name"], "GroupId": e["id"]} for k, e in entities if k == "group"]
        out["PolicyUsers"] = [{"UserName": e["name"], "UserId": e["id"]} for k, e in entities if k == "user"]
        out["PolicyRoles"] = [{"RoleName": e["name"], "RoleId": e["id"]} for k, e in entities if k == "role"]
        return out

    # -- permissions boundaries --------------------------------------------------------------------
    def _boundary_arn(self, rec, policy_arn: str) -> str:
        check_policy_arn(policy_arn)
        if find_policy(rec, policy_arn) is None:
            raise errors.no_such_entity(f"Scope ARN: {policy_arn} does not exist or is not attachable.")
        return policy_arn

    def _put_boundary(self, ctx, kind: str, request: dict) -> dict:
        rec = records(ctx)
        entity = require(rec, kind, request[ENTITY[kind]])
        if kind == "role":
            _protected(entity)
        entity["data"]["boundary"] = self._boundary_arn(rec, request["PermissionsBoundary"])
        rec.save(kind, entity)
        return {}

    def _delete_boundary(self, ctx, kind: str, request: dict) -> dict:
        rec = records(ctx)
        entity = require(rec, kind, request[ENTITY[kind]])
        if kind == "role":
            _protected(entity)
        entity["data"].pop("boundary", None)
        rec.save(kind, entity)
        return {}

    def put_user_permissions_boundary(self, ctx, request):
        return self._put_boundary(ctx, "user", request)

    def put_role_permissions_boundary(self, ctx, request):
        return self._put_boundary(ctx, "role", request)

    def delete_user_permissions_boundary(self, ctx, request):
        return self._delete_boundary(ctx, "user", request)

    def delete_role_permissions_boundary(self, ctx, request):
        return self._delete_boundary(ctx, "role", request)

    # -- inline policies ---------------------------------------------------------------------------
    def _put_inline(self, ctx: RequestContext, kind: str, request: dict) -> dict:
        rec = records(ctx)
        entity = require(rec, kind, request[ENTITY[kind]])
        if kind == "role":
            _protected(entity)
        name, document = request["PolicyName"], request["PolicyDocument"]
        check_document(document, validate.IDENTITY)
        key = entity["name"].lower()
        others = sum(validate.significant_size(r[0]) for r in rec.rows(
            "SELECT document FROM iam_inline WHERE account=? AND region=? AND kind=? AND key=? AND name_key<>?",
            kind, key, name.lower()))
        limit = LIMITS[INLINE_QUOTA[kind]]
        if others + validate.significant_size(document) > limit:
            raise errors.limit_exceeded(f"Maximum policy size of {limit} bytes exceeded for {kind} {entity['name']}")
        rec.exec("INSERT INTO iam_inline(account, region, kind, key, name_key, name, document) VALUES (?,?,?,?,?,?,?) "
                 "ON CONFLICT(account, region, kind, key, name_key) DO UPDATE SET name=excluded.name, "
                 "document=excluded.document", kind, key, name.lower(), name, document)
        return {}

    def _get_inline(self, ctx: RequestContext, kind: str, request: dict) -> dict:
        rec = records(ctx)
        entity = require(rec, kind, request[ENTITY[kind]])
        row = rec.exec("SELECT name, document FROM iam_inline WHERE account=? AND region=? AND kind=? AND key=? "
                       "AND name_key=?", kind, entity["name"].lower(), request["PolicyName"].lower()).fetchone()
        if row is None:
            raise errors.no_such_entity(f"The {kind} policy with name {request['PolicyName']} cannot be found.")
        return {ENTITY[kind]: entity["name"], "PolicyName": row[0], "PolicyDocument": encode_document(row[1])}

    def _delete_inline(self, ctx: RequestContext, kind: str, request: dict) -> dict:
        rec = records(ctx)
        entity = require(rec, kind, request[ENTITY[kind]])
        if kind == "role":
            _protected(entity)
        done = rec.exec("DELETE FROM iam_inline WHERE account=? AND region=? AND kind=? AND key=? AND name_key=?",
                        kind, entity["name"].lower(), request["PolicyName"].lower())
        if done.rowcount == 0:
            raise errors.no_such_entity(f"The {kind} policy with name {request['PolicyName']} cannot be found.")
        return {}

    def _list_inline(self, ctx: RequestContext, kind: str, request: dict) -> dict:
        rec = records(ctx)
        entity = require(rec, kind, request[ENTITY[kind]])
        names = [r[0] for r in rec.rows("SELECT name FROM iam_inline WHERE account=? AND region=? AND kind=? "
                                        "AND key=? ORDER BY name_key", kind, entity["name"].lower())]
        return page(names, request, lambda n: n.lower(), "PolicyNames")

    def put_user_policy(self, ctx, request):
        return self._put_inline(ctx, "user", request)

    def put_group_policy(self, ctx, request):
        return self._put_inline(ctx, "group", request)

    def put_role_policy(self, ctx, request):
        return self._put_inline(ctx, "role", request)

    def get_user_policy(self, ctx, request):
        return self._get_inline(ctx, "user", request)

    def get_group_policy(self, ctx, request):
        return self._get_inline(ctx, "group", request)

    def get_role_policy(self, ctx, request):
        return self._get_inline(ctx, "role", request)

    def delete_user_policy(self, ctx, request):
        return self._delete_inline(ctx, "user", request)

    def delete_group_policy(self, ctx, request):
        return self._delete_inline(ctx, "group", request)

    def delete_role_policy(self, ctx, request):
        return self._delete_inline(ctx, "role", request)

    def list_user_policies(self, ctx, request):
        return self._list_inline(ctx, "user", request)

    def list_group_policies(self, ctx, request):
        return self._list_inline(ctx, "group", request)

    def list_role_policies(self, ctx, request):
        return self._list_inline(ctx, "role", request)
