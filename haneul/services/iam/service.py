"""AWS Identity and Access Management (query protocol; a global service).

The operations live in one module per resource (users.py, credentials.py, roles.py,
policies.py, mfa.py, providers.py, account.py); this class only puts them together.
State: records.py (every row keyed by account, region ""), policy documents checked by
policy/validate.py, AWS managed policies from data/aws_managed_policies.json.

Policy simulation (simulation.py) runs the pure evaluator of policy/evaluate.py;
ListPoliciesGrantingServiceAccess (service_access.py) reads the same policies; the
Organizations root-access features (root_access.py) need trusted access for IAM.

Not implemented, on purpose (the dispatcher answers NotImplementedException): service
last-accessed details and Organizations access reports (Generate/GetServiceLastAccessed-
Details[WithEntities], Generate/GetOrganizationsAccessReport), which need per-principal
request history nobody records yet; delegation requests (Create/Get/List/Accept/Reject/
Associate/UpdateDelegationRequest, SendDelegationToken), role templates (AcquireRole,
GetRoleTemplateVersion), GetHumanReadableSummary and Get/PutAccountProperties, newer
console-side features with no local meaning documented enough to build.
"""

from __future__ import annotations

from haneul.services.base import Service
from haneul.services.iam.account import Account
from haneul.services.iam.credentials import Credentials
from haneul.services.iam.errors import VALIDATION_ERROR
from haneul.services.iam.mfa import MfaDevices
from haneul.services.iam.policies import Policies
from haneul.services.iam.providers import Providers
from haneul.services.iam.records import SCHEMA
from haneul.services.iam.roles import Roles
from haneul.services.iam.root_access import RootAccess
from haneul.services.iam.service_access import ServiceAccess
from haneul.services.iam.simulation import Simulation
from haneul.services.iam.users import Users


class Iam(Users, Credentials, Roles, Policies, MfaDevices, Providers, Account, Simulation, ServiceAccess,
          RootAccess, Service):
    SCHEMA = SCHEMA
    VALIDATION_ERROR = VALIDATION_ERROR
