"""Centralized root access for member accounts (Enable/DisableOrganizationsRootCredentials-
Management, Enable/DisableOrganizationsRootSessions, ListOrganizationsFeatures).

They need what AWS needs: the caller's account in an organization with all features,
trusted access enabled for iam.amazonaws.com, and the caller the management account (or
IAM's delegated administrator, except to enable).  The enabled features are the
organization's, kept in the management account's IAM settings.
"""

from __future__ import annotations

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.services.iam.records import Records
from haneul.services.organizations.effective import service_standing

PRINCIPAL = "iam.amazonaws.com"
FEATURES = ("RootCredentialsManagement", "RootSessions")


def _standing(ctx: RequestContext, management_only: bool = False) -> tuple[dict, Records]:
    standing = service_standing(ctx.db, ctx.account, PRINCIPAL)
    if standing is None:
        raise AwsError("OrganizationNotFoundException",
                       "The request failed because your account is not a member of an organization.")
    if not standing["AllFeatures"]:
        raise AwsError("OrganizationNotInAllFeaturesModeException",
                       "The request failed because your organization does not have all features enabled.")
    if not standing["TrustedAccess"]:
        raise AwsError("ServiceAccessNotEnabledException",
                       "The request failed because trusted access is not enabled for IAM in Organizations.")
    is_mgmt = standing["ManagementAccount"] == ctx.account
    if management_only and not is_mgmt:
        raise AwsError("CallerIsNotManagementAccountException",
                       "The request failed because the caller is not the management account of the organization.")
    if not is_mgmt and not standing["DelegatedAdministrator"]:
        raise AwsError("AccountNotManagementOrDelegatedAdministratorException",
                       "The request failed because the account is not the management account or a delegated "
                       "administrator for IAM.")
    return standing, Records(ctx.db, standing["ManagementAccount"])


def _answer(standing: dict, enabled: list[str]) -> dict:
    return {"OrganizationId": standing["OrgId"], "EnabledFeatures": [f for f in FEATURES if f in enabled]}


class RootAccess:
    def _set_feature(self, ctx: RequestContext, feature: str, on: bool) -> dict:
        standing, rec = _standing(ctx, management_only=on)
        settings = rec.settings()
        enabled = [f for f in settings.get("organization_features", []) if f != feature]
        if on:
            enabled.append(feature)
        settings["organization_features"] = enabled
        rec.save_settings(settings)
        return _answer(standing, enabled)

    def enable_organizations_root_credentials_management(self, ctx: RequestContext, request: dict) -> dict:
        return self._set_feature(ctx, "RootCredentialsManagement", True)

    def disable_organizations_root_credentials_management(self, ctx: RequestContext, request: dict) -> dict:
        return self._set_feature(ctx, "RootCredentialsManagement", False)

    def enable_organizations_root_sessions(self, ctx: RequestContext, request: dict) -> dict:
        return self._set_feature(ctx, "RootSessions", True)

    def disable_organizations_root_sessions(self, ctx: RequestContext, request: dict) -> dict:
        return self._set_feature(ctx, "RootSessions", False)

    def list_organizations_features(self, ctx: RequestContext, request: dict) -> dict:
        standing, rec = _standing(ctx)
        return _answer(standing, rec.settings().get("organization_features", []))
