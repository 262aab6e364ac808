"""Policies of every type: content, attachment to the root, OUs and accounts, policy
types enabled on the root, and effective management policies."""

from __future__ import annotations

import json

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.services.base import tag_dict
from haneul.services.organizations import documents, errors, ids, inheritance
from haneul.services.organizations.access import Access, Scope, page
from haneul.services.organizations.records import FULL_ACCESS, Policy, policy_summary, root_shape
from haneul.services.organizations.tagging import check_tags

MAX_POLICIES_PER_TYPE = 1000
# How many policies of one type may be attached directly to one root, OU or account.
MAX_ATTACHED = {"SERVICE_CONTROL_POLICY": 5, "RESOURCE_CONTROL_POLICY": 5}
DEFAULT_MAX_ATTACHED = 10
# The AWS managed RCP stays attached while RCPs are enabled.
NOT_DETACHABLE = {"p-RCPFullAWSAccess"}


def _duplicate_policy() -> AwsError:
    return AwsError("DuplicatePolicyException", "A policy with the same name already exists.")


class PolicyOps(Access):
    def _policy_or_raise(self, scope: Scope, policy_id: str) -> Policy:
        policy = scope.rec.policy(scope.id, policy_id)
        if policy is None:
            raise errors.policy_not_found()
        return policy

    def _target_shape(self, scope: Scope, target: str) -> dict | None:
        """A PolicyTargetSummary, or None when the target is not in the organization."""
        kind = ids.kind_of(target)
        org, mgmt = scope.id, scope.mgmt
        if kind == "ROOT" and target == scope.org["root_id"]:
            return {"TargetId": target, "Arn": ids.root_arn(mgmt, org, target), "Name": "Root", "Type": "ROOT"}
        if kind == "ORGANIZATIONAL_UNIT":
            row = scope.rec.ou(org, target)
            if row is not None:
                return {"TargetId": target, "Arn": ids.ou_arn(mgmt, org, target), "Name": row["name"],
                        "Type": "ORGANIZATIONAL_UNIT"}
        if kind == "ACCOUNT":
            row = scope.rec.member(org, target)
            if row is not None:
                return {"TargetId": target, "Arn": ids.account_arn(mgmt, org, target), "Name": row["name"],
                        "Type": "ACCOUNT"}
        return None

    def _target_or_raise(self, scope: Scope, target: str) -> dict:
        shape = self._target_shape(scope, target)
        if shape is None:
            raise errors.target_not_found()
        return shape

    # -- policy records -------------------------------------------------------------------
    def create_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        self._all_features(scope)
        kind, name = request["Type"], request["Name"]
        documents.check(kind, request["Content"])
        existing = scope.rec.policies(scope.id, kind)
        if any(p.name == name for p in existing):
            raise _duplicate_policy()
        if len(existing) >= MAX_POLICIES_PER_TYPE:
            raise errors.constraint("POLICY_NUMBER_LIMIT_EXCEEDED",
                                    "You have reached the maximum number of policies of this type.")
        check_tags(request.get("Tags"), {})
        pid = ids.policy_id()
        ctx.db.execute("INSERT INTO org_policy(org, id, type, name, description, content, created) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (scope.id, pid, kind, name, request.get("Description", ""), request["Content"], scope.now))
        if request.get("Tags"):
            scope.rec.set_tags(scope.id, pid, tag_dict(request["Tags"]))
        return {"Policy": self._policy_shape(scope, scope.rec.policy(scope.id, pid))}

    def _policy_shape(self, scope: Scope, policy: Policy) -> dict:
        return {"PolicySummary": policy_summary(scope.org, policy), "Content": policy.content}

    def describe_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        return {"Policy": self._policy_shape(scope, self._policy_or_raise(scope, request["PolicyId"]))}

    def update_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        policy = self._policy_or_raise(scope, request["PolicyId"])
        if policy.aws_managed:
            raise errors.immutable_policy()
        name = request.get("Name")
        if name and name != policy.name and any(p.name == name for p in scope.rec.policies(scope.id, policy.type)):
            raise _duplicate_policy()
        if "Content" in request:
            documents.check(policy.type, request["Content"])
        ctx.db.execute("UPDATE org_policy SET name=?, description=?, content=? WHERE org=? AND id=?",
                       (name or policy.name, request.get("Description", policy.description),
                        request.get("Content", policy.content), scope.id, policy.id))
        return {"Policy": self._policy_shape(scope, scope.rec.policy(scope.id, policy.id))}

    def delete_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        policy = self._policy_or_raise(scope, request["PolicyId"])
        if policy.aws_managed:
            raise errors.immutable_policy()
        if scope.rec.targets(scope.id, policy.id):
            raise AwsError("PolicyInUseException",
                           "The policy is attached to one or more entities. You must detach it from all roots, "
                           "OUs, and accounts before performing this operation.")
        ctx.db.execute("DELETE FROM org_policy WHERE org=? AND id=?", (scope.id, policy.id))
        scope.rec.drop_tags(scope.id, policy.id)
        return {}

    def list_policies(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        found = scope.rec.policies(scope.id, request["Filter"]) if scope.org["feature_set"] == "ALL" else []
        items, more = page([policy_summary(scope.org, p) for p in found], request)
        return {"Policies": items, **more}

    # -- attachment -----------------------------------------------------------------------
    def attach_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        policy = self._policy_or_raise(scope, request["PolicyId"])
        target = self._target_or_raise(scope, request["TargetId"])["TargetId"]
        if policy.type not in scope.rec.enabled_types(scope.id):
            raise errors.policy_type_not_enabled()
        attached = scope.rec.attached(scope.id, target, policy.type)
        if any(p.id == policy.id for p in attached):
            raise AwsError("DuplicatePolicyAttachmentException",
                           "The selected policy is already attached to the specified target.")
        if len(attached) >= MAX_ATTACHED.get(policy.type, DEFAULT_MAX_ATTACHED):
            raise errors.constraint("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                                    "You attempted to attach more policies of this type to the target than "
                                    "the limit allows.")
        scope.rec.attach(scope.id, policy, target, scope.now)
        return {}

    def detach_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        policy = self._policy_or_raise(scope, request["PolicyId"])
        target = self._target_or_raise(scope, request["TargetId"])["TargetId"]
        attached = scope.rec.attached(scope.id, target, policy.type)
        if not any(p.id == policy.id for p in attached):
            raise AwsError("PolicyNotAttachedException",
                           "The policy isn't attached to the specified target in the specified root.")
        if policy.id in NOT_DETACHABLE:
            raise errors.invalid_input("NON_DETACHABLE_POLICY", "You can't detach this AWS managed policy.")
        if policy.type == "SERVICE_CONTROL_POLICY" and len(attached) == 1:
            raise errors.constraint("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                                    "You attempted to detach a policy from an entity that would cause the entity "
                                    "to have fewer than the minimum number of policies of this type required.")
        ctx.db.execute("DELETE FROM org_attachment WHERE org=? AND policy=? AND target=?",
                       (scope.id, policy.id, target))
        return {}

    def list_policies_for_target(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        target = self._target_or_raise(scope, request["TargetId"])["TargetId"]
        found = scope.rec.attached(scope.id, target, request["Filter"])
        items, more = page([policy_summary(scope.org, p) for p in found], request)
        return {"Policies": items, **more}

    def list_targets_for_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        policy = self._policy_or_raise(scope, request["PolicyId"])
        shapes = [s for s in (self._target_shape(scope, t) for t in scope.rec.targets(scope.id, policy.id)) if s]
        items, more = page(shapes, request, key=lambda s: s["TargetId"])
        return {"Targets": items, **more}

    # -- policy types on the root ---------------------------------------------------------
    def _root_or_raise(self, scope: Scope, root: str) -> None:
        if root != scope.org["root_id"]:
            raise errors.root_not_found()

    def enable_policy_type(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        self._root_or_raise(scope, request["RootId"])
        kind = request["PolicyType"]
        self._all_features(scope)
        if kind in scope.rec.enabled_types(scope.id):
            raise AwsError("PolicyTypeAlreadyEnabledException", "The specified policy type is already enabled.")
        ctx.db.execute("INSERT INTO org_policy_type(org, type, status) VALUES (?, ?, 'ENABLED')", (scope.id, kind))
        managed = FULL_ACCESS.get(kind)
        if managed:
            policy = scope.rec.policy(scope.id, managed)
            targets = ([scope.org["root_id"]] + [r["id"] for r in scope.rec.all_ous(scope.id)]
                       + [r["id"] for r in scope.rec.accounts(scope.id)])
            for target in targets:
                scope.rec.attach(scope.id, policy, target, scope.now)
        return {"Root": root_shape(scope.org, scope.rec.enabled_types(scope.id))}

    def disable_policy_type(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx)
        self._root_or_raise(scope, request["RootId"])
        kind = request["PolicyType"]
        if kind not in scope.rec.enabled_types(scope.id):
            raise errors.policy_type_not_enabled()
        ctx.db.execute("DELETE FROM org_policy_type WHERE org=? AND type=?", (scope.id, kind))
        ctx.db.execute("DELETE FROM org_attachment WHERE org=? AND type=?", (scope.id, kind))
        return {"Root": root_shape(scope.org, scope.rec.enabled_types(scope.id))}

    # -- effective management policies ----------------------------------------------------
    def _effective(self, scope: Scope, account: str, kind: str) -> dict | None:
        if kind not in scope.rec.enabled_types(scope.id):
            return None
        levels = [[json.loads(p.content) for p in scope.rec.attached(scope.id, node, kind)]
                  for node in scope.rec.path(scope.org, account)]
        return inheritance.effective(levels)

    def describe_effective_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._member(ctx)
        target = request.get("TargetId") or scope.account
        if target != scope.account:
            scope = self._admin(ctx, read=True)
        if ids.kind_of(target) != "ACCOUNT":
            raise errors.invalid_input("TARGET_NOT_SUPPORTED",
                                       "You can view the effective policy only of an account.")
        if scope.rec.member(scope.id, target) is None:
            raise errors.target_not_found()
        kind = request["PolicyType"]
        content = self._effective(scope, target, kind)
        if content is None:
            raise AwsError("EffectivePolicyNotFoundException",
                           "We can't find an effective policy of the specified type for this target.")
        return {"EffectivePolicy": {"PolicyContent": json.dumps(content), "LastUpdatedTimestamp": scope.now,
                                    "TargetId": target, "PolicyType": kind}}

    def list_accounts_with_invalid_effective_policy(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        kind = request["PolicyType"]
        if kind not in scope.rec.enabled_types(scope.id):
            raise AwsError("EffectivePolicyNotFoundException",
                           "We can't find an effective policy of the specified type for this target.")
        # Content is validated when written, so no account's effective policy is invalid.
        return {"Accounts": [], "PolicyType": kind}

    def list_effective_policy_validation_errors(self, ctx: RequestContext, request: dict) -> dict:
        scope = self._admin(ctx, read=True)
        account, kind = request["AccountId"], request["PolicyType"]
        if scope.rec.member(scope.id, account) is None:
            raise errors.account_not_found()
        if self._effective(scope, account, kind) is None:
            raise AwsError("EffectivePolicyNotFoundException",
                           "We can't find an effective policy of the specified type for this target.")
        nodes = scope.rec.path(scope.org, account)
        return {"AccountId": account, "PolicyType": kind, "Path": scope.id + "/" + "/".join(nodes) + "/",
                "EvaluationTimestamp": scope.now, "EffectivePolicyValidationErrors": []}
