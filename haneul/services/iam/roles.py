"""Roles (trust policies, MaxSessionDuration), service-linked roles and instance profiles."""

from __future__ import annotations

import json
import uuid
from functools import lru_cache

from haneul.context import RequestContext
from haneul.services.iam import errors, ids, managed
from haneul.services.iam import tags as tagging
from haneul.services.iam.entities import (LIMITS, check_document, profile_shape, records, require,
                                          role_shape)
from haneul.services.iam.paging import page, page_entities
from haneul.services.iam.policy import validate
from haneul.services.iam.records import entity

# Service-linked role names: service principal -> (role name suffix, AWS managed policy)
SERVICE_LINKED = {
    "autoscaling.amazonaws.com": ("AutoScaling", "AutoScalingServiceRolePolicy"),
    "elasticloadbalancing.amazonaws.com": ("ElasticLoadBalancing", "AWSElasticLoadBalancingServiceRolePolicy"),
    "ecs.amazonaws.com": ("ECS", "AmazonECSServiceRolePolicy"),
    "rds.amazonaws.com": ("RDS", "AmazonRDSServiceRolePolicy"),
    "es.amazonaws.com": ("AmazonElasticsearchService", "AmazonElasticsearchServiceRolePolicy"),
    "opensearchservice.amazonaws.com": ("AmazonOpenSearchService", "AmazonOpenSearchServiceRolePolicy"),
    "organizations.amazonaws.com": ("Organizations", "AWSOrganizationsServiceTrustPolicy"),
    "support.amazonaws.com": ("Support", "AWSSupportServiceRolePolicy"),
    "trustedadvisor.amazonaws.com": ("TrustedAdvisor", "AWSTrustedAdvisorServiceRolePolicy"),
    "lambda.amazonaws.com": ("Lambda", "AWSLambdaServiceRolePolicy"),
    "apigateway.amazonaws.com": ("APIGateway", "APIGatewayServiceRolePolicy"),
    "spot.amazonaws.com": ("EC2Spot", "AWSEC2SpotServiceRolePolicy"),
    "eks.amazonaws.com": ("AmazonEKS", "AmazonEKSServiceRolePolicy"),
    "config.amazonaws.com": ("Config", "AWSConfigServiceRolePolicy"),
    "guardduty.amazonaws.com": ("AmazonGuardDuty", "AmazonGuardDutyServiceRolePolicy"),
    "cloudtrail.amazonaws.com": ("CloudTrail", "CloudTrailServiceRolePolicy"),
    "sso.amazonaws.com": ("SSO", "AWSSSOServiceRolePolicy"),
}


def _listed_role(row: tuple) -> dict:
    """A role as ListRoles shows it (scalars only), each caller's own copy."""
    return dict(_listed_shape(row))


@lru_cache(maxsize=2048)
def _listed_shape(row: tuple) -> dict:
    """Memoized per stored row version: the row's values are the key, so any change to
    the role is a new entry, and listing the same roles again decodes nothing."""
    return role_shape(entity(row), full=False)


def _protected(role: dict) -> None:
    if role["data"].get("service_linked"):
        raise errors.unmodifiable(f"Cannot perform the operation on the protected role '{role['name']}' - "
                                  "this role is only modifiable by AWS")


class Roles:
    # -- roles ----------------------------------------------------------------------------
    def _trust(self, rec, document: str) -> str:
        check_document(document, validate.TRUST, rec)
        if validate.significant_size(document) > LIMITS["ACLSizePerRole"]:
            raise errors.quota("ACLSizePerRole", LIMITS["ACLSizePerRole"])
        return document

    def create_role(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name, path = request["RoleName"], request.get("Path") or "/"
        if rec.get("role", name) is not None:
            raise errors.already_exists(f"Role with name {name} already exists.")
        trust = self._trust(rec, request["AssumeRolePolicyDocument"])
        if rec.count("role") >= LIMITS["Roles"]:
            raise errors.quota("RolesPerAccount", LIMITS["Roles"])
        data: dict = {"trust": trust, "max_session": request.get("MaxSessionDuration") or 3600,
                      "tags": tagging.check_new(request.get("Tags"))}
        if request.get("Description") is not None:
            data["description"] = request["Description"]
        if request.get("PermissionsBoundary"):
            data["boundary"] = self._boundary_arn(rec, request["PermissionsBoundary"])
        role = {"name": name, "path": path, "id": ids.new_id(ids.ROLE),
                "arn": ids.arn(ctx.account, "role", name, path), "created": ctx.now(), "data": data}
        rec.insert("role", role)
        out = role_shape(role)
        out.pop("RoleLastUsed", None)
        return {"Role": out}

    def get_role(self, ctx: RequestContext, request: dict) -> dict:
        return {"Role": role_shape(require(records(ctx), "role", request["RoleName"]))}

    def list_roles(self, ctx: RequestContext, request: dict) -> dict:
        return page_entities(records(ctx), "role", request, "Roles", item=_listed_role)

    def update_role(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        role = require(rec, "role", request["RoleName"])
        _protected(role)
        if request.get("Description") is not None:
            role["data"]["description"] = request["Description"]
        if request.get("MaxSessionDuration") is not None:
            role["data"]["max_session"] = request["MaxSessionDuration"]
        rec.save("role", role)
        return {}

    def update_role_description(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        role = require(rec, "role", request["RoleName"])
        _protected(role)
        role["data"]["description"] = request["Description"]
        rec.save("role", role)
        return {"Role": role_shape(role)}

    def update_assume_role_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        role = require(rec, "role", request["RoleName"])
        _protected(role)
        role["data"]["trust"] = self._trust(rec, request["PolicyDocument"])
        rec.save("role", role)
        return {}

    def delete_role(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        role = require(rec, "role", request["RoleName"])
        _protected(role)
        self._delete_role(rec, role)
        return {}

    @staticmethod
    def _delete_role(rec, role: dict) -> None:
        key = role["name"].lower()
        if rec.scalar("SELECT 1 FROM iam_profile_role WHERE account=? AND region=? AND role_key=?", key):
            raise errors.delete_conflict("Cannot delete entity, must remove roles from instance profile first.")
        if rec.scalar("SELECT 1 FROM iam_inline WHERE account=? AND region=? AND kind='role' AND key=?", key):
            raise errors.delete_conflict("Cannot delete entity, must delete policies first.")
        if rec.scalar("SELECT 1 FROM iam_attached WHERE account=? AND region=? AND kind='role' AND key=?", key):
            raise errors.delete_conflict("Cannot delete entity, must detach all policies first.")
        rec.delete("role", key)

    # -- role tags ----------------------------------------------------------------------------
    def tag_role(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        role = require(rec, "role", request["RoleName"])
        role["data"]["tags"] = tagging.merge(role["data"].get("tags", []), request["Tags"])
        rec.save("role", role)
        return {}

    def untag_role(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        role = require(rec, "role", request["RoleName"])
        role["data"]["tags"] = tagging.remove(role["data"].get("tags", []), request["TagKeys"])
        rec.save("role", role)
        return {}

    def list_role_tags(self, ctx: RequestContext, request: dict) -> dict:
        role = require(records(ctx), "role", request["RoleName"])
        return page(role["data"].get("tags", []), request, lambda t: t["Key"].lower(), "Tags")

    # -- service-linked roles -------------------------------------------------------------
    def create_service_linked_role(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        service = request["AWSServiceName"]
        if not validate._SERVICE_PRINCIPAL.fullmatch(service):
            raise errors.invalid_input(f"Service role name {service} is invalid.")
        suffix, policy_name = SERVICE_LINKED.get(service, (None, None))
        if suffix is None:
            first = service.split(".")[0]
            suffix = "".join(part[:1].upper() + part[1:] for part in first.replace("_", "-").split("-"))
        name = f"AWSServiceRoleFor{suffix}"
        if request.get("CustomSuffix"):
            name += "_" + request["CustomSuffix"]
        if rec.get("role", name) is not None:
            raise errors.invalid_input(f"Service role name {name} has been taken in this account, please try "
                                       "a different suffix.")
        path = f"/aws-service-role/{service}/"
        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": [service]}, "Action": ["sts:AssumeRole"]}]})
        data = {"trust": trust, "max_session": 3600, "tags": [], "service_linked": service}
        if request.get("Description") is not None:
            data["description"] = request["Description"]
        role = {"name": name, "path": path, "id": ids.new_id(ids.ROLE),
                "arn": ids.arn(ctx.account, "role", name, path), "created": ctx.now(), "data": data}
        rec.insert("role", role)
        policy = managed.get(f"arn:aws:iam::aws:policy/aws-service-role/{policy_name}") if policy_name else None
        if policy is not None:
            rec.exec("INSERT INTO iam_attached(account, region, kind, key, policy_arn, attached) VALUES (?,?,?,?,?,?)",
                     "role", name.lower(), policy["arn"], ctx.now())
        out = role_shape(role)
        out.pop("RoleLastUsed", None)
        return {"Role": out}

    def delete_service_linked_role(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        role = require(rec, "role", request["RoleName"])
        service = role["data"].get("service_linked")
        if not service:
            raise errors.validation(f"Role {role['name']} is not a service-linked role.")
        rec.exec("DELETE FROM iam_attached WHERE account=? AND region=? AND kind='role' AND key=?", role["name"].lower())
        rec.exec("DELETE FROM iam_inline WHERE account=? AND region=? AND kind='role' AND key=?", role["name"].lower())
        rec.exec("DELETE FROM iam_profile_role WHERE account=? AND region=? AND role_key=?", role["name"].lower())
        rec.delete("role", role["name"])
        task = f"task/aws-service-role/{service}/{role['name']}/{uuid.uuid4()}"
        settings = rec.settings()
        settings.setdefault("deletion_tasks", {})[task] = "SUCCEEDED"
        rec.save_settings(settings)
        return {"DeletionTaskId": task}

    def get_service_linked_role_deletion_status(self, ctx: RequestContext, request: dict) -> dict:
        status = records(ctx).settings().get("deletion_tasks", {}).get(request["DeletionTaskId"])
        if status is None:
            raise errors.no_such_entity(f"Deletion task {request['DeletionTaskId']} cannot be found.")
        return {"Status": status}

    # -- instance profiles --------------------------------------------------------------------
    def create_instance_profile(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name, path = request["InstanceProfileName"], request.get("Path") or "/"
        if rec.get("instance-profile", name) is not None:
            raise errors.already_exists(f"Instance Profile {name} already exists.")
        profile = {"name": name, "path": path, "id": ids.new_id(ids.PROFILE),
                   "arn": ids.arn(ctx.account, "instance-profile", name, path), "created": ctx.now(),
                   "data": {"tags": tagging.check_new(request.get("Tags"))}}
        rec.insert("instance-profile", profile)
        return {"InstanceProfile": profile_shape(rec, profile)}

    def get_instance_profile(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        return {"InstanceProfile": profile_shape(rec, require(rec, "instance-profile", request["InstanceProfileName"]))}

    def list_instance_profiles(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        out = page_entities(rec, "instance-profile", request, "InstanceProfiles")
        out["InstanceProfiles"] = [profile_shape(rec, p) for p in out["InstanceProfiles"]]
        return out

    def list_instance_profiles_for_role(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        role = require(rec, "role", request["RoleName"])
        keys = [r[0] for r in rec.rows("SELECT profile_key FROM iam_profile_role WHERE account=? AND region=? "
                                       "AND role_key=?", role["name"].lower())]
        out = page(rec.by_keys("instance-profile", keys), request, lambda p: p["name"].lower(), "InstanceProfiles")
        out["InstanceProfiles"] = [profile_shape(rec, p) for p in out["InstanceProfiles"]]
        return out

    def delete_instance_profile(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        profile = require(rec, "instance-profile", request["InstanceProfileName"])
        if rec.scalar("SELECT 1 FROM iam_profile_role WHERE account=? AND region=? AND profile_key=?",
                      profile["name"].lower()):
            raise errors.delete_conflict("Cannot delete entity, must remove roles from instance profile first.")
        rec.delete("instance-profile", profile["name"])
        return {}

    def add_role_to_instance_profile(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        profile = require(rec, "instance-profile", request["InstanceProfileName"])
        role = require(rec, "role", request["RoleName"])
        pkey, rkey = profile["name"].lower(), role["name"].lower()
        if rec.scalar("SELECT 1 FROM iam_profile_role WHERE account=? AND region=? AND profile_key=? AND role_key=?",
                      pkey, rkey):
            raise errors.already_exists(f"Role {role['name']} is already associated with instance profile "
                                        f"{profile['name']}.")
        if rec.scalar("SELECT count(*) FROM iam_profile_role WHERE account=? AND region=? AND profile_key=?",
                      pkey) >= LIMITS["InstanceSessionsPerInstanceProfile"]:
            raise errors.quota("InstanceSessionsPerInstanceProfile", LIMITS["InstanceSessionsPerInstanceProfile"])
        rec.exec("INSERT INTO iam_profile_role(account, region, profile_key, role_key) VALUES (?,?,?,?)", pkey, rkey)
        return {}

    def remove_role_from_instance_profile(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        profile = require(rec, "instance-profile", request["InstanceProfileName"])
        role = require(rec, "role", request["RoleName"])
        done = rec.exec("DELETE FROM iam_profile_role WHERE account=? AND region=? AND profile_key=? AND role_key=?",
                        profile["name"].lower(), role["name"].lower())
        if done.rowcount == 0:
            raise errors.no_such_entity(f"Role {role['name']} in Instance Profile {profile['name']} cannot be found.")
        return {}

    def tag_instance_profile(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        profile = require(rec, "instance-profile", request["InstanceProfileName"])
        profile["data"]["tags"] = tagging.merge(profile["data"].get("tags", []), request["Tags"])
        rec.save("instance-profile", profile)
        return {}

    def untag_instance_profile(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        profile = require(rec, "instance-profile", request["InstanceProfileName"])
        profile["data"]["tags"] = tagging.remove(profile["data"].get("tags", []), request["TagKeys"])
        rec.save("instance-profile", profile)
        return {}

    def list_instance_profile_tags(self, ctx: RequestContext, request: dict) -> dict:
        profile = require(records(ctx), "instance-profile", request["InstanceProfileName"])
        return page(profile["data"].get("tags", []), request, lambda t: t["Key"].lower(), "Tags")
