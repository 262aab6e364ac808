"""ListPoliciesGrantingServiceAccess: which of an identity's permissions policies allow
some action of a service.  As AWS documents, only permissions policies count (no
boundaries, resource or Organizations policies): a policy grants a service when one of
its Allow statements has an Action naming it (`*`, `s3:*`, `s3:Get*`, wildcards in the
service prefix) or a NotAction that does not exclude the whole service."""

from __future__ import annotations

from haneul.context import RequestContext
from haneul.services.iam.entities import records
from haneul.services.iam.policy.evaluate import PolicyError, parse
from haneul.services.iam.policy.wildcard import like
from haneul.services.iam.simulation import Source, principal_entity, principal_policies


def _names(pattern: str, namespace: str) -> bool:
    """Whether an action pattern can name some action of `namespace`."""
    service = pattern.split(":", 1)[0] if ":" in pattern else pattern
    return like(service, namespace, True)


def _excludes(pattern: str, namespace: str) -> bool:
    """Whether a NotAction pattern leaves out every action of `namespace`."""
    if pattern == "*":
        return True
    service, _, action = pattern.partition(":")
    return action == "*" and like(service, namespace, True)


def grants(source: Source, namespace: str) -> bool:
    try:
        statements = parse(source.document, source.name, source.type).statements
    except PolicyError:
        return False
    for st in statements:
        if st.effect != "Allow":
            continue
        if st.action is not None and any(_names(p, namespace) for p in st.action):
            return True
        if st.not_action is not None and not any(_excludes(p, namespace) for p in st.not_action):
            return True
    return False


def _shape(source: Source) -> dict:
    if source.arn:
        return {"PolicyName": source.name, "PolicyType": "MANAGED", "PolicyArn": source.arn}
    return {"PolicyName": source.name, "PolicyType": "INLINE", "EntityType": source.entity_kind.upper(),
            "EntityName": source.entity_name}


class ServiceAccess:
    def list_policies_granting_service_access(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        kind, entity = principal_entity(rec, request["Arn"])
        sources = principal_policies(rec, kind, entity)
        out = [{"ServiceNamespace": ns, "Policies": [_shape(s) for s in sources if grants(s, ns)]}
               for ns in request["ServiceNamespaces"]]
        return {"PoliciesGrantingServiceAccess": out, "IsTruncated": False}
