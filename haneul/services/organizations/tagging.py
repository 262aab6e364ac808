"""Tags on accounts, OUs, the root, policies, the resource policy and transfers."""

from __future__ import annotations

from haneul.context import RequestContext
from haneul.services.base import tag_dict, tag_list
from haneul.services.organizations import errors, ids
from haneul.services.organizations.access import Access, Scope, page
from haneul.services.organizations.records import managed_policy

MAX_TAGS = 50


def check_tags(tags: list[dict] | None, existing: dict[str, str]) -> None:
    keys = [t["Key"] for t in tags or ()]
    if len(keys) != len(set(keys)):
        raise errors.invalid_input("DUPLICATE_TAG_KEY", "You specified the same tag key more than once.")
    if any(k.lower().startswith("aws:") for k in keys):
        raise errors.invalid_input("INVALID_SYSTEM_TAGS_PARAMETER",
                                   "You specified a tag key that begins with the reserved prefix aws:.")
    if len(set(existing) | set(keys)) > MAX_TAGS:
        raise errors.constraint("MAX_TAG_LIMIT_EXCEEDED",
                                "You have exceeded the maximum number of tags allowed on this resource.")


class TagOps(Access):
    def _taggable(self, scope: Scope, resource: str) -> str:
        kind = ids.kind_of(resource)
        found = False
        if kind == "ROOT":
            found = resource == scope.org["root_id"]
        elif kind == "ORGANIZATIONAL_UNIT":
            found = scope.rec.ou(scope.id, resource) is not None
        elif kind == "ACCOUNT":
            found = scope.rec.member(scope.id, resource) is not None
        elif kind == "POLICY":
            found = managed_policy(scope.id, resource) is None and scope.rec.policy(scope.id, resource) is not None
        elif kind == "RESOURCE_POLICY":
            found = scope.rec.one("SELECT 1 FROM org_resource_policy WHERE org=? AND id=?",
                                  scope.id, resource) is not None
        elif kind == "TRANSFER":
            found = scope.rec.one("SELECT 1 FROM org_transfer WHERE id=? AND (source_org=? OR target_org=?)",
                                  resource, scope.id, scope.id) is not None
        if not found:
            raise errors.target_not_found()
        return resource

    def tag_resource(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        resource = self._taggable(scope, request["ResourceId"])
        check_tags(request["Tags"], scope.rec.tags(scope.id, resource))
        scope.rec.set_tags(scope.id, resource, tag_dict(request["Tags"]))
        return {}

    def untag_resource(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        resource = self._taggable(scope, request["ResourceId"])
        ctx.db.executemany("DELETE FROM org_tag WHERE org=? AND resource=? AND key=?",
                           [(scope.id, resource, k) for k in request["TagKeys"]])
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        resource = self._taggable(scope, request["ResourceId"])
        items, more = page(tag_list(scope.rec.tags(scope.id, resource)), request, key=lambda t: t["Key"])
        return {"Tags": items, **more}
