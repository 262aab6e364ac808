"""AWS's policy evaluation logic: which of a request's applicable policies decide it.

Pure: parsed policies and a `Request` (action, resource, principal, context) in, an
`Evaluation` out.  The simulator (SimulatePrincipalPolicy, SimulateCustomPolicy) uses it
now; request-time enforcement is meant to call the same `evaluate`.

The order is AWS's ("Policy evaluation logic", IAM User Guide):
1. An explicit Deny in any applicable policy (SCPs, resource policy, identity policies,
   permissions boundary) decides: explicitDeny.
2. Organizations SCPs: every level of the tree from the root to the account must have
   a statement allowing the request, or it is implicitly denied.
3. A resource policy of the same account that allows the caller by name (its user ARN,
   role session ARN, or `*`) allows the request even without an identity allow; one that
   names only the account delegates to the account's identity policies.
4. Identity policies must allow; with a permissions boundary, the boundary must allow too.
5. Across accounts both sides must allow: the caller's identity policies and the
   resource owner's resource policy.
Anything not allowed is implicitDeny.

Matching: actions case-insensitively with `*`/`?` wildcards (`Action`/`NotAction`),
resources case-sensitively (`Resource`/`NotResource`) with wildcards and policy variables
(`${aws:username}`, `${key, 'default'}`, `${*}`, `${?}`, `${$}`; only in version
2012-10-17 documents), principals exactly (`Principal`/`NotPrincipal`), conditions by
conditions.py.  Statement positions (1-based line and column of the statement's `{` and
just past its `}`) are what IAM reports as MatchedStatements Start/EndPosition.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from haneul.services.iam.policy import conditions
from haneul.services.iam.policy.conditions import Context
from haneul.services.iam.policy.wildcard import Actions, Wildcard, like

ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitDeny", "implicitDeny"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


class PolicyError(ValueError):
    """The document cannot be evaluated (IAM's PolicyEvaluation / MalformedPolicy)."""


@dataclass(frozen=True)
class Statement:
    effect: str
    action: tuple[str, ...] | None
    not_action: tuple[str, ...] | None
    resource: tuple[str, ...] | None
    not_resource: tuple[str, ...] | None
    principal: tuple[tuple[str, str], ...] | None       # (type, value) pairs; ("*", "*") = anyone
    not_principal: tuple[tuple[str, str], ...] | None
    condition: tuple[tuple[str, str, tuple[str, ...]], ...]
    start: tuple[int, int]
    end: tuple[int, int]
    variables: bool                                      # version 2012-10-17: ${...} are variables
    actions: Actions | None = field(default=None, compare=False)        # Action, ready to match
    not_actions: Actions | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Policy:
    id: str                 # SourcePolicyId: a policy name, "PolicyInputList.1", "ResourcePolicy" ...
    type: str               # SourcePolicyType: user | group | role | aws-managed | user-managed | resource | none
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class Principal:
    arn: str                # arn:aws:iam::111122223333:user/x, ...:assumed-role/R/s, a service name
    account: str | None
    kind: str               # user | role | assumed-role | root | federated-user | service

    @staticmethod
    def of(arn: str) -> "Principal":
        if not arn.startswith("arn:"):
            return Principal(arn, None, "service")
        parts = arn.split(":", 5)
        account = parts[4] if len(parts) == 6 else None
        resource = parts[5] if len(parts) == 6 else ""
        return Principal(arn, account, resource.split("/", 1)[0] or "root")


@dataclass
class Request:
    action: str
    resource: str = "*"
    principal: Principal | None = None
    context: Context = field(default_factory=dict)     # lower-cased key -> values


@dataclass
class Outcome:
    """How one set of policies answers: the decision, the statements that made it."""
    decision: str
    matched: list[tuple[Policy, Statement]]
    missing: set[str]
    direct: bool = False    # a resource policy allowed the caller by name, not via its account


@dataclass
class Evaluation:
    decision: str
    matched: list[tuple[Policy, Statement]]
    missing: list[str]
    boundary_allowed: bool | None = None          # None: no boundary
    organizations_allowed: bool | None = None     # None: no SCP applies
    details: dict[str, str] = field(default_factory=dict)


# -- parsing -------------------------------------------------------------------------------
def parse(text: str, policy_id: str, policy_type: str) -> Policy:
    return Policy(policy_id, policy_type, _statements(text))


@lru_cache(maxsize=2048)
def _statements(text: str) -> tuple[Statement, ...]:
    try:
        doc = json.loads(text)
    except (TypeError, ValueError, RecursionError) as e:
        raise PolicyError("Syntax errors in policy.") from e
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise PolicyError("Syntax errors in policy.")
    raw = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    spans = _spans(text)
    if len(spans) != len(raw):
        spans = [((0, 0), (0, 0))] * len(raw)
    variables = doc.get("Version") == "2012-10-17"
    return tuple(_statement(s, span, variables) for s, span in zip(raw, spans))


def _strings(value, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise PolicyError(f"Syntax errors in policy: {name} must be strings.")
    return tuple(values)


def _principals(value) -> tuple[tuple[str, str], ...] | None:
    if value is None:
        return None
    if value == "*":
        return (("*", "*"),)
    if not isinstance(value, dict):
        raise PolicyError("Syntax errors in policy: invalid Principal.")
    out = []
    for kind, names in value.items():
        for name in names if isinstance(names, list) else [names]:
            out.append(("*", "*") if kind == "AWS" and name == "*" else (kind, str(name)))
    return tuple(out)


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _statement(s, span, variables: bool) -> Statement:
    if not isinstance(s, dict) or s.get("Effect") not in ("Allow", "Deny"):
        raise PolicyError("Syntax errors in policy: each statement needs Effect Allow or Deny.")
    blocks = []
    for operator, entries in (s.get("Condition") or {}).items():
        try:
            conditions.parse_operator(operator)
        except conditions.UnknownOperator as e:
            raise PolicyError(f"Unknown condition operator: {operator}") from e
        if not isinstance(entries, dict):
            raise PolicyError("Syntax errors in policy: invalid Condition.")
        for key, values in entries.items():
            values = values if isinstance(values, list) else [values]
            blocks.append((operator, key, tuple(_scalar(v) for v in values)))
    action, not_action = _strings(s.get("Action"), "Action"), _strings(s.get("NotAction"), "NotAction")
    return Statement(
        effect=s["Effect"], action=action, not_action=not_action,
        actions=_actions(action), not_actions=_actions(not_action),
        resource=_strings(s.get("Resource"), "Resource"),
        not_resource=_strings(s.get("NotResource"), "NotResource"),
        principal=_principals(s.get("Principal")), not_principal=_principals(s.get("NotPrincipal")),
        condition=tuple(blocks), start=span[0], end=span[1], variables=variables)


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _spans(text: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Line/column of each top-level statement's start and end in the document text."""
    decoder = json.JSONDecoder()
    out: list[tuple[int, int]] = []
    i = _skip(text, 0)
    if text[i:i + 1] != "{":
        return []
    i = _skip(text, i + 1)
    while i < len(text) and text[i] != "}":
        key, i = decoder.raw_decode(text, i)
        i = _skip(text, _skip(text, i) + 1)            # past ':'
        start = i
        value, i = decoder.raw_decode(text, i)
        if key == "Statement":
            if text[start] == "[":
                j = _skip(text, start + 1)
                out = []
                while text[j] != "]":
                    _, k = decoder.raw_decode(text, j)
                    out.append((j, k))
                    j = _skip(text, k)
                    if text[j] == ",":
                        j = _skip(text, j + 1)
            else:
                out = [(start, i)]
        i = _skip(text, i)
        if text[i:i + 1] == ",":
            i = _skip(text, i + 1)
    return [(_position(text, a), _position(text, b)) for a, b in out]


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - text.rfind("\n", 0, offset)


# -- matching ------------------------------------------------------------------------------
def _variable(name: str, context: Context) -> str | None:
    if name in _SPECIAL:
        return _SPECIAL[name]
    default = _DEFAULT.match(name)
    key = default.group(1) if default else name.strip()
    values = context.get(key.lower())
    if values:
        return values[0]
    return default.group(2) if default else None


def _variable_keys(text: str) -> list[str]:
    out = []
    for name in _VARIABLE.findall(text):
        if name not in _SPECIAL:
            default = _DEFAULT.match(name)
            if not default:
                out.append(name.strip())
    return out


def substitute(text: str, context: Context, missing: set[str]) -> str | None:
    """`text` with its policy variables replaced; None when one has no value."""
    failed = False

    def value(m: re.Match) -> str:
        nonlocal failed
        found = _variable(m.group(1), context)
        if found is None:
            failed = True
            missing.add(m.group(1).strip())
            return ""
        return found
    out = _VARIABLE.sub(value, text)
    return None if failed else out


def _resource_matches(pattern: str, resource: str, st: Statement, context: Context, missing: set[str]) -> bool:
    if not st.variables or "${" not in pattern:
        return like(pattern, resource)
    pieces, at, failed = [], 0, False
    for m in _VARIABLE.finditer(pattern):
        pieces.append((pattern[at:m.start()], True))
        found = _variable(m.group(1), context)
        if found is None:
            failed = True
            missing.add(m.group(1).strip())
        else:
            pieces.append((found, False))       # a variable's value is literal, ${*} too
        at = m.end()
    pieces.append((pattern[at:], True))
    return not failed and Wildcard(tuple(pieces)).matches(resource)


def _actions(patterns: tuple[str, ...] | None) -> Actions | None:
    return None if patterns is None else Actions(patterns)


def principal_match(entries: tuple[tuple[str, str], ...], who: Principal | None) -> str | None:
    """"direct" when an entry names the caller (or anyone), "account" when it names only
    the caller's account, else None."""
    if who is None:
        return None
    found = None
    for kind, value in entries:
        if kind == "*":
            return "direct"
        if kind == "AWS":
            if value == who.arn or (who.kind == "assumed-role" and _session_of(value, who.arn)):
                return "direct"
            if who.account and value in (who.account, f"arn:aws:iam::{who.account}:root"):
                found = "account"
        elif kind == "Service" and who.kind == "service" and value == who.arn:
            return "direct"
        elif value == who.arn:
            return "direct"
    return found


def _session_of(role_arn: str, session_arn: str) -> bool:
    """arn:aws:iam::A:role/path/R names the sessions arn:aws:sts::A:assumed-role/R/*."""
    role = role_arn.split(":", 5)
    session = session_arn.split(":", 5)
    if len(role) != 6 or len(session) != 6 or not role[5].startswith("role/"):
        return False
    return role[4] == session[4] and session[5].split("/")[1:2] == [role[5].rsplit("/", 1)[-1]]


def applies(st: Statement, request: Request, missing: set[str], resource_based: bool = False) -> str | None:
    """Whether a statement applies to the request: None, or "direct"/"account" (how a
    resource policy's principal matched; "direct" for identity policies)."""
    how = "direct"
    if resource_based:
        if st.principal is not None:
            how = principal_match(st.principal, request.principal)
            if how is None:
                return None
        elif st.not_principal is not None:
            if principal_match(st.not_principal, request.principal) is not None:
                return None
        else:
            return None
    if st.actions is not None and not st.actions.matches(request.action):
        return None
    if st.not_actions is not None and st.not_actions.matches(request.action):
        return None
    if st.resource is not None and not any(
            _resource_matches(p, request.resource, st, request.context, missing) for p in st.resource):
        return None
    if st.not_resource is not None and any(
            _resource_matches(p, request.resource, st, request.context, missing) for p in st.not_resource):
        return None
    holds = True
    for operator, key, wanted in st.condition:
        if st.variables:
            values = []
            for w in wanted:
                done = substitute(w, request.context, missing)
                if done is not None:
                    values.append(done)
        else:
            values = list(wanted)
        ok, absent = conditions.test(operator, key, values, request.context)
        if absent:
            missing.add(key)
        holds = holds and ok and bool(values)
    return how if holds else None


def decide(policies: list[Policy], request: Request, resource_based: bool = False) -> Outcome:
    """The answer of one kind of policy: explicit deny, allow, or implicit deny."""
    allows, denies, missing, direct = [], [], set(), False
    for policy in policies:
        for st in policy.statements:
            how = applies(st, request, missing, resource_based)
            if how is None:
                continue
            if st.effect == "Deny":
                denies.append((policy, st))
            else:
                allows.append((policy, st))
                direct = direct or how == "direct"
    if denies:
        return Outcome(EXPLICIT_DENY, denies, missing)
    if allows:
        return Outcome(ALLOWED, allows, missing, direct)
    return Outcome(IMPLICIT_DENY, [], missing)


def evaluate(request: Request, identity: list[Policy], boundary: list[Policy] | None = None,
             resource_policy: Policy | None = None, scps: list[list[Policy]] | None = None,
             resource_account: str | None = None) -> Evaluation:
    """AWS's decision for one request (see the module's docstring for the order)."""
    missing: set[str] = set()
    ident = decide(identity, request)
    missing |= ident.missing
    bound = decide(boundary, request) if boundary else None
    res = decide([resource_policy], request, resource_based=True) if resource_policy else None
    levels = [decide(level, request) for level in scps] if scps else []
    for part in [bound, res, *levels]:
        if part is not None:
            missing |= part.missing
    out = Evaluation(IMPLICIT_DENY, [], sorted(missing, key=str.lower))
    if bound is not None:
        out.boundary_allowed = bound.decision == ALLOWED
    if levels:
        out.organizations_allowed = all(level.decision == ALLOWED for level in levels)
    caller_account = request.principal.account if request.principal else None
    cross = bool(resource_policy and resource_account and caller_account and resource_account != caller_account)
    if cross:
        out.details = {"IAM Policy": ident.decision, "Resource Policy": res.decision}
    denies = [o for o in [ident, bound, res, *levels] if o is not None and o.decision == EXPLICIT_DENY]
    if denies:
        out.decision = EXPLICIT_DENY
        out.matched = [m for o in denies for m in o.matched]
        return out
    if levels and not out.organizations_allowed:
        return out
    boundary_ok = bound is None or bound.decision == ALLOWED
    if res is not None and res.decision == ALLOWED and res.direct and not cross:
        # A grant naming a user or a role session is not limited by the boundary; one
        # naming the role itself is (IAM User Guide, "Permissions boundaries").
        if boundary_ok or (request.principal and request.principal.kind != "role"):
            out.decision, out.matched = ALLOWED, res.matched
            return out
    if ident.decision != ALLOWED or not boundary_ok:
        return out
    if cross and (res is None or res.decision != ALLOWED):
        return out
    out.decision = ALLOWED
    out.matched = ident.matched + (res.matched if res is not None and res.decision == ALLOWED else [])
    return out
