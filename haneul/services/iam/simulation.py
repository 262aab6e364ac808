"""The policy simulator: SimulatePrincipalPolicy and SimulateCustomPolicy, over the pure
evaluator in policy/evaluate.py, plus the principal's policy gathering that
GetContextKeysForPrincipalPolicy shares.

A principal's policies are what IAM evaluates for it: a user's inline and attached
policies and those of its groups, a group's or a role's own.  Each keeps the SourcePolicyId
and SourcePolicyType IAM reports (inline policies by name with the entity's kind, managed
policies by name as aws-managed or user-managed, input strings as PolicyInputList.N).  The
request context is exactly the ContextEntries given: nothing is filled in, so a policy
that needs a key that was not given reports it in MissingContextValues.  SCPs apply to
SimulatePrincipalPolicy when the account is a member of an organization with SCPs enabled
(Organizations' effective.scps_for_account).
"""

from __future__ import annotations

import json
from typing import NamedTuple

from haneul.context import RequestContext
from haneul.services.iam import errors, managed
from haneul.services.iam.entities import find_policy, records, require
from haneul.services.iam.paging import page
from haneul.services.iam.policy import validate
from haneul.services.iam.policy.evaluate import Policy, PolicyError, Principal, Request, evaluate, parse
from haneul.services.organizations.effective import scps_for_account

LIST_TYPES = {"stringList", "numericList", "booleanList", "ipList", "binaryList", "dateList"}


class Source(NamedTuple):
    """One policy IAM evaluates for a principal."""
    document: str
    name: str               # SourcePolicyId: the policy's name
    type: str               # SourcePolicyType: user | group | role (inline), aws-managed | user-managed
    arn: str | None         # managed policies
    entity_kind: str        # the user, group or role it belongs to
    entity_name: str


def _document(rec, policy_arn: str, kind: str = "", name: str = "") -> Source | None:
    """A managed policy's default version."""
    found = find_policy(rec, policy_arn)
    if found is None:
        return None
    if found["aws"]:
        return Source(managed.get(found["arn"])["document"], found["name"], "aws-managed", found["arn"], kind, name)
    text = rec.scalar("SELECT document FROM iam_policy_version WHERE account=? AND region=? "
                      "AND policy_key=? AND is_default=1", found["name"].lower())
    return Source(text, found["name"], "user-managed", found["arn"], kind, name)


def _own(rec, kind: str, key: str) -> list[Source]:
    name = rec.get(kind, key)["name"]
    out = [Source(r[1], r[0], kind, None, kind, name) for r in rec.rows(
        "SELECT name, document FROM iam_inline WHERE account=? AND region=? AND kind=? AND key=? "
        "ORDER BY name_key", kind, key)]
    for r in rec.rows("SELECT policy_arn FROM iam_attached WHERE account=? AND region=? AND kind=? AND key=? "
                      "ORDER BY policy_arn", kind, key):
        found = _document(rec, r[0], kind, name)
        if found is not None:
            out.append(found)
    return out


def principal_entity(rec, source_arn: str) -> tuple[str, dict]:
    """(kind, entity) a PolicySourceArn names: a user, group or role of this account."""
    kind, _, rest = source_arn.split(":", 5)[-1].partition("/")
    if kind not in ("user", "group", "role") or not source_arn.startswith("arn:"):
        raise errors.invalid_input(f"Invalid ARN {source_arn}.")
    return kind, require(rec, kind, rest.rsplit("/", 1)[-1])


def principal_policies(rec, kind: str, entity: dict) -> list[Source]:
    """Every policy IAM evaluates for a user (its groups' too), group or role."""
    key = entity["name"].lower()
    out = _own(rec, kind, key)
    if kind == "user":
        for r in rec.rows("SELECT group_key FROM iam_member WHERE account=? AND region=? AND user_key=? "
                          "ORDER BY group_key", key):
            out += _own(rec, "group", r[0])
    return out


def _context(entries: list[dict] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entry in entries or []:
        name, values = entry.get("ContextKeyName"), entry.get("ContextKeyValues") or []
        if not name:
            raise errors.invalid_input("ContextKeyName must be specified for every context entry.")
        kind = entry.get("ContextKeyType") or "string"
        if kind not in LIST_TYPES and len(values) > 1:
            raise errors.invalid_input(f"Context key {name} is of type {kind} and takes one value.")
        if kind in ("boolean", "booleanList"):
            values = [v.lower() for v in values]
        out[name.lower()] = list(values)
    return out


def _parse(text: str, policy_id: str, policy_type: str, kind: str = validate.IDENTITY) -> Policy:
    try:
        validate.check(text, kind)
    except validate.MalformedPolicy as exc:
        raise errors.invalid_input(f"{policy_id}: {exc.message}") from None
    try:
        return parse(text, policy_id, policy_type)
    except PolicyError as exc:
        raise errors.AwsError("PolicyEvaluationException", f"{policy_id}: {exc}", 500) from None


def _account_of(text: str | None) -> str | None:
    if not text:
        return None
    if text.isdigit():
        return text
    parts = text.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None


def _position(pos: tuple[int, int]) -> dict:
    return {"Line": pos[0], "Column": pos[1]}


def _matched(evaluation) -> list[dict]:
    return [{"SourcePolicyId": p.id, "SourcePolicyType": p.type, "StartPosition": _position(s.start),
             "EndPosition": _position(s.end)} for p, s in evaluation.matched]


def _details(evaluation, out: dict) -> dict:
    if evaluation.boundary_allowed is not None:
        out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": evaluation.boundary_allowed}
    if evaluation.details:
        out["EvalDecisionDetails"] = dict(evaluation.details)
    return out


def _check_names(request: dict) -> tuple[list[str], list[str]]:
    actions = list(request.get("ActionNames") or [])
    for action in actions:
        service, sep, name = action.partition(":")
        if not sep or not service or not name:
            raise errors.invalid_input(f"Action {action} must be of the form <service>:<action>.")
    resources = list(request.get("ResourceArns") or [])
    for arn in resources:
        if arn != "*" and not arn.startswith("arn:"):
            raise errors.invalid_input(f"Resource {arn} must be an ARN or *.")
    return actions, resources


def simulate(request: dict, identity: list[Policy], boundary: list[Policy] | None, caller: str | None,
             caller_account: str, scps: list[list[Policy]] | None) -> dict:
    """The paged SimulatePolicyResponse for every (action, resource) pair."""
    actions, resources = _check_names(request)
    context = _context(request.get("ContextEntries"))
    resource_policy = None
    if request.get("ResourcePolicy"):
        if caller is None:
            raise errors.invalid_input("CallerArn must be specified when a ResourcePolicy is simulated "
                                       "and the policy source is not an IAM user.")
        resource_policy = _parse(request["ResourcePolicy"], "ResourcePolicy", "resource", validate.RESOURCE)
    principal = Principal.of(caller) if caller else Principal(f"arn:aws:iam::{caller_account}:root",
                                                             caller_account, "root")
    owner = _account_of(request.get("ResourceOwner"))
    results = []
    for action in actions:
        for resource in resources or ["*"]:
            resource_account = _account_of(resource) or owner or caller_account
            ev = evaluate(Request(action, resource, principal, context), identity, boundary, resource_policy,
                          scps, resource_account)
            out = {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": ev.decision,
                   "MatchedStatements": _matched(ev), "MissingContextValues": [] if resources else ev.missing}
            if ev.organizations_allowed is not None:
                out["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": ev.organizations_allowed}
            _details(ev, out)
            if resources:
                out["ResourceSpecificResults"] = [_details(ev, {
                    "EvalResourceName": resource, "EvalResourceDecision": ev.decision,
                    "MatchedStatements": _matched(ev), "MissingContextValues": ev.missing})]
            results.append((len(results), out))
    paged = page(results, request, lambda r: r[0], "EvaluationResults")
    paged["EvaluationResults"] = [r[1] for r in paged["EvaluationResults"]]
    return paged


def _inputs(request: dict, member: str) -> list[Policy]:
    return [_parse(text, f"{member}.{i}", "none") for i, text in enumerate(request.get(member) or [], 1)]


class Simulation:
    def simulate_custom_policy(self, ctx: RequestContext, request: dict) -> dict:
        identity = _inputs(request, "PolicyInputList")
        boundary = _inputs(request, "PermissionsBoundaryPolicyInputList") or None
        return simulate(request, identity, boundary, request.get("CallerArn"), ctx.account, None)

    def simulate_principal_policy(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        kind, entity = principal_entity(rec, request["PolicySourceArn"])
        identity = [_parse(p.document, p.name, p.type) for p in principal_policies(rec, kind, entity)]
        identity += _inputs(request, "PolicyInputList")
        boundary = _inputs(request, "PermissionsBoundaryPolicyInputList") or None
        if boundary is None and entity["data"].get("boundary"):
            found = _document(rec, entity["data"]["boundary"])
            if found is not None:
                boundary = [_parse(found.document, found.name, found.type)]
        caller = request.get("CallerArn") or (entity["arn"] if kind in ("user", "role") else None)
        levels = scps_for_account(ctx.db, ctx.account)
        # SCPs were checked by Organizations when written; parsed as they are
        scps = [[parse(json.dumps(p), f"SCP.{i}.{j}", "none") for j, p in enumerate(level, 1)]
                for i, level in enumerate(levels, 1)] or None
        return simulate(request, identity, boundary, caller, ctx.account, scps)

