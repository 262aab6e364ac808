"""AWS Security Token Service.

Temporary credentials live in `sts_credential` (see credentials.py), keyed by access key
id and without a region, so a request signed with them is attributed to the session
(`credentials.lookup`).  What IAM will know (roles, MFA devices, outbound federation) is
asked through iam_records.py, which answers "no record" until IAM exists.

Not implemented, on purpose: AssumeRoleWithWebIdentity and AssumeRoleWithSAML.  Issuing
credentials for a token or assertion whose signature nobody checked would let anyone
become any role; verifying needs the identity-provider configuration IAM will hold
(CreateOpenIDConnectProvider / CreateSAMLProvider).  The dispatcher answers
not-implemented for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.services.base import Service, from_epoch
from haneul.services.sts import authorization_message, credentials, iam_records, session_policy
from haneul.services.sts.session_policy import validation_error

DEFAULT_ACCOUNT = "000000000000"
ROLE_CHAINING_LIMIT = 3600
ROOT_SESSION_LIMIT = 3600
MAX_SCOPED_POLICIES = 3
ROOT_TASK_POLICIES = ("IAMAuditRootUserCredentials", "IAMCreateRootUserPassword",
                      "IAMDeleteRootUserCredentials", "S3UnlockBucketPolicy", "SQSUnlockQueuePolicy")
ACCOUNT_RE = re.compile(r"^\d{12}$")
NAME_RE = re.compile(r"[\w+=,.@-]*")
TEMPORARY = ("assumed-role", "federated-user", "session")

# Which STS operations temporary credentials may call (AWS's documented restrictions).
ALLOWED_WITH = {
    "federated-user": {"GetCallerIdentity", "GetScopedCredentials", "GetDelegatedAccessToken"},
    "session": {"AssumeRole", "GetCallerIdentity", "GetScopedCredentials", "GetWebIdentityToken",
                "GetDelegatedAccessToken"},
}


@dataclass
class Caller:
    account: str
    arn: str
    user_id: str
    kind: str                    # root | user | assumed-role | federated-user | session
    principal_kind: str          # root | user | assumed-role | federated
    access_key: str | None = None
    record: dict | None = None   # the stored session when the caller uses temporary credentials

    @property
    def temporary(self) -> bool:
        return self.record is not None


def partition_for_region(region: str) -> str:
    for prefix, partition in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                              ("us-iso-", "aws-iso"), ("eu-isoe-", "aws-iso-e"), ("us-isof-", "aws-iso-f")):
        if region.startswith(prefix):
            return partition
    return "aws"


def check_name(value: str, member: str) -> None:
    """Names that become part of an ARN: enforce the model's pattern as a full match even
    if a generic validator only searched for it (a '/' or ':' would corrupt the ARN)."""
    if not NAME_RE.fullmatch(value):
        raise validation_error(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: [\\w+=,.@-]*")


def access_denied(message: str) -> AwsError:
    return AwsError("AccessDenied", message, 403)


def not_authorized(caller: Caller, action: str, resource: str | None = None) -> AwsError:
    on = f" on resource: {resource}" if resource else ""
    return access_denied(f"User: {caller.arn} is not authorized to perform: sts:{action}{on}")


class Sts(Service):
    SCHEMA = credentials.SCHEMA
    VALIDATION_ERROR = "ValidationError"

    # -- who is calling ------------------------------------------------------------------
    def caller(self, ctx: RequestContext) -> Caller:
        """The calling identity: the stored session for temporary credentials, otherwise
        what the identity layer put in ctx.principal, otherwise the account's root."""
        principal = ctx.principal
        if principal is not None and principal.access_key and ctx.db is not None:
            record = credentials.lookup(ctx.db, principal.access_key, ctx.now())
            if record is not None:
                if record["expired"]:
                    raise AwsError("ExpiredTokenException", "The security token included in the request is expired")
                return Caller(record["account"], record["arn"], record["user_id"], record["kind"],
                              record["principal_kind"], principal.access_key, record)
        account = (principal.account if principal is not None and principal.account else ctx.account)
        partition = partition_for_region(ctx.region)
        if principal is not None and principal.arn and principal.kind != "root":
            kind = {"federated": "federated-user"}.get(principal.kind, principal.kind)
            return Caller(account, principal.arn, principal.user_id or account, kind, principal.kind,
                          principal.access_key)
        return Caller(account, f"arn:{partition}:iam::{account}:root", account, "root", "root",
                      principal.access_key if principal is not None else None)

    def _caller_for(self, ctx: RequestContext, action: str, resource: str | None = None) -> Caller:
        caller = self.caller(ctx)
        if caller.kind in ("assumed-role", "federated-user", "session") and action in (
                "GetSessionToken", "GetFederationToken"):
            raise access_denied(f"Cannot call {action} with session credentials")
        allowed = ALLOWED_WITH.get(caller.kind)
        if allowed is not None and action not in allowed:
            raise not_authorized(caller, action, resource)
        return caller

    # -- operations ------------------------------------------------------------------------
    def get_caller_identity(self, ctx: RequestContext, request: dict) -> dict:
        caller = self._caller_for(ctx, "GetCallerIdentity")
        return {"UserId": caller.user_id, "Account": caller.account, "Arn": caller.arn}

    def assume_role(self, ctx: RequestContext, request: dict) -> dict:
        role_arn, session_name = request["RoleArn"], request["RoleSessionName"]
        check_name(session_name, "roleSessionName")
        caller = self._caller_for(ctx, "AssumeRole", role_arn)
        if not session_policy.ARN_RE.match(role_arn):
            raise validation_error(f"{role_arn} is invalid")
        partition, service, _region, account, resource = role_arn.split(":", 5)[1:]
        if service != "iam" or not resource.startswith("role/") or not ACCOUNT_RE.match(account):
            raise not_authorized(caller, "AssumeRole", role_arn)
        role_name = resource.rsplit("/", 1)[-1]
        if not role_name:
            raise not_authorized(caller, "AssumeRole", role_arn)
        if request.get("ProvidedContexts"):
            # Context assertions are signed by AWS STS for Identity Center; Haneul issued none.
            raise AwsError("InvalidContextAssertionException", "The provided context assertion is invalid.")

        role = iam_records.lookup_role(ctx.db, account, role_name)
        chained = caller.kind == "assumed-role"
        duration = request.get("DurationSeconds") or 3600
        if chained and duration > ROLE_CHAINING_LIMIT:
            raise validation_error(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
        max_duration = (role or {}).get("max_session_duration") or iam_records.DEFAULT_MAX_SESSION_DURATION
        if duration > max_duration:
            raise validation_error("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")

        source_identity = self._source_identity(caller, request.get("SourceIdentity"), "AssumeRole", role_arn)
        mfa = self._check_mfa(ctx, caller, request)
        inherited = self._inherited_transitive_tags(caller)
        tags = session_policy.check_tags(request.get("Tags"), request.get("TransitiveTagKeys"), inherited)
        transitive = list(inherited) + [k for t in request.get("TransitiveTagKeys") or []
                                        for k in tags if k.lower() == t.lower()]
        all_tags = {**inherited, **tags}
        policy = session_policy.check_policy(request.get("Policy"))
        policy_arns = session_policy.check_policy_arns(request.get("PolicyArns"))
        packed_size, packed = session_policy.check_packed(policy, policy_arns, all_tags)

        if role is not None:
            denial = iam_records.assume_role_denial(
                ctx.db, role, caller_arn=caller.arn, caller_account=caller.account,
                external_id=request.get("ExternalId"), mfa_present=mfa, source_identity=source_identity,
                tags=all_tags)
            if denial:
                raise access_denied(denial)
            role_id = role["role_id"]
        else:
            role_id = credentials.unique_id("AROA", seed=f"{partition}:{account}:{role_name}")
        arn = f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"
        record = credentials.issue(
            ctx.db, account=account, kind="assumed-role", principal_kind="assumed-role", arn=arn,
            user_id=f"{role_id}:{session_name}", now=ctx.now(), duration=duration, packed=packed,
            minimum_token_size=request.get("MinimumSessionTokenSize") or 0,
            role_arn=(role or {}).get("arn") or role_arn, role_session_name=session_name,
            source_identity=source_identity, tags=all_tags, transitive_tag_keys=transitive, policy=policy,
            policy_arns=policy_arns, mfa=mfa, chained=chained, external_id=request.get("ExternalId"),
            parent_access_key=caller.access_key if caller.temporary else None, caller_arn=caller.arn)
        response = {
            "Credentials": self._credentials(record),
            "AssumedRoleUser": {"AssumedRoleId": record["user_id"], "Arn": arn},
            **self._token_size(record),
        }
        if policy or policy_arns or all_tags:
            response["PackedPolicySize"] = packed_size
        if source_identity:
            response["SourceIdentity"] = source_identity
        return response

    def get_session_token(self, ctx: RequestContext, request: dict) -> dict:
        caller = self._caller_for(ctx, "GetSessionToken")
        duration = request.get("DurationSeconds") or 43200
        if caller.kind == "root":
            duration = min(duration, ROOT_SESSION_LIMIT)
        mfa = self._check_mfa(ctx, caller, request)
        record = credentials.issue(
            ctx.db, account=caller.account, kind="session", principal_kind=caller.principal_kind,
            arn=caller.arn, user_id=caller.user_id, now=ctx.now(), duration=duration,
            minimum_token_size=request.get("MinimumSessionTokenSize") or 0, mfa=mfa, caller_arn=caller.arn)
        return {"Credentials": self._credentials(record), **self._token_size(record)}

    def get_federation_token(self, ctx: RequestContext, request: dict) -> dict:
        name = request["Name"]
        check_name(name, "name")
        caller = self._caller_for(ctx, "GetFederationToken")
        duration = request.get("DurationSeconds") or 43200
        if caller.kind == "root":
            duration = min(duration, ROOT_SESSION_LIMIT)
        policy = session_policy.check_policy(request.get("Policy"))
        policy_arns = session_policy.check_policy_arns(request.get("PolicyArns"))
        tags = session_policy.check_tags(request.get("Tags"))
        packed_size, packed = session_policy.check_packed(policy, policy_arns, tags)
        partition = caller.arn.split(":")[1]
        arn = f"arn:{partition}:sts::{caller.account}:federated-user/{name}"
        record = credentials.issue(
            ctx.db, account=caller.account, kind="federated-user", principal_kind="federated", arn=arn,
            user_id=f"{caller.account}:{name}", now=ctx.now(), duration=duration, packed=packed,
            minimum_token_size=request.get("MinimumSessionTokenSize") or 0, tags=tags, policy=policy,
            policy_arns=policy_arns, caller_arn=caller.arn)
        return {
            "Credentials": self._credentials(record),
            "FederatedUser": {"FederatedUserId": record["user_id"], "Arn": arn},
            "PackedPolicySize": packed_size,
            **self._token_size(record),
        }

    def get_access_key_info(self, ctx: RequestContext, request: dict) -> dict:
        self._caller_for(ctx, "GetAccessKeyInfo")
        return {"Account": self.account_for_access_key(ctx, request["AccessKeyId"])}

    def account_for_access_key(self, ctx: RequestContext, access_key_id: str) -> str:
        if ACCOUNT_RE.match(access_key_id):
            return access_key_id
        record = credentials.lookup(ctx.db, access_key_id, ctx.now())
        if record is not None:
            return record["account"]
        return credentials.account_from_access_key_id(access_key_id) or self.default_account(ctx)

    @staticmethod
    def default_account(ctx: RequestContext) -> str:
        config = getattr(ctx.app, "config", None)
        return getattr(config, "default_account", None) or DEFAULT_ACCOUNT

    def decode_authorization_message(self, ctx: RequestContext, request: dict) -> dict:
        self._caller_for(ctx, "DecodeAuthorizationMessage")
        decoded = authorization_message.decode(ctx.db, request["EncodedMessage"])
        if decoded is None:
            raise AwsError("InvalidAuthorizationMessageException", "The encoded message is invalid.")
        return {"DecodedMessage": decoded}

    def get_scoped_credentials(self, ctx: RequestContext, request: dict) -> dict:
        caller = self._caller_for(ctx, "GetScopedCredentials")
        if not caller.temporary:
            raise AwsError("InvalidSubjectCredentialsException",
                           "GetScopedCredentials must be called with temporary security credentials.")
        policy_text, duration = request.get("Policy"), request.get("DurationSeconds")
        if policy_text is None and duration is None:
            raise validation_error("At least one of Policy or DurationSeconds must be specified.")
        parent, now = caller.record, ctx.now()
        if duration is not None and now + duration > parent["expiration"]:
            raise AwsError("InsufficientSessionLifetimeException",
                           "The requested DurationSeconds exceeds the remaining lifetime of the calling session.")
        layers = list(parent["scoped_policies"])
        packed = b""
        if policy_text is not None:
            if len(layers) >= MAX_SCOPED_POLICIES:
                raise access_denied(f"A session can have at most {MAX_SCOPED_POLICIES} scope down policies.")
            policy = session_policy.check_policy(policy_text)
            _, packed = session_policy.check_packed(policy, [], {})
            layers.append(policy)
        record = credentials.issue(
            ctx.db, account=parent["account"], kind=parent["kind"], principal_kind=parent["principal_kind"],
            arn=parent["arn"], user_id=parent["user_id"], now=now, duration=0, packed=packed,
            expiration=(int(now) + duration) if duration is not None else parent["expiration"],
            minimum_token_size=request.get("MinimumSessionTokenSize") or 0,
            role_arn=parent["role_arn"], role_session_name=parent["role_session_name"],
            source_identity=parent["source_identity"], tags=parent["tags"],
            transitive_tag_keys=parent["transitive_tag_keys"], policy=parent["policy"],
            policy_arns=parent["policy_arns"], scoped_policies=layers, mfa=parent["mfa"],
            chained=parent["chained"], external_id=parent["external_id"],
            parent_access_key=caller.access_key, caller_arn=caller.arn)
        response = {
            "Credentials": self._credentials(record),
            "SessionInfo": {"ScopedSessionId": parent["user_id"], "Arn": parent["arn"]},
            "ScopedPoliciesCount": len(layers),
            **self._token_size(record),
        }
        if parent["source_identity"]:
            response["SourceIdentity"] = parent["source_identity"]
        return response

    def assume_root(self, ctx: RequestContext, request: dict) -> dict:
        target = request["TargetPrincipal"]
        match = re.fullmatch(r"(?:arn:(aws[\w-]*):iam::)?(\d{12})(?::root)?", target)
        if not match or (target.startswith("arn:") != target.endswith(":root")):
            raise validation_error(f"{target} is invalid")
        account = match.group(2)
        partition = match.group(1) or partition_for_region(ctx.region)
        root_arn = f"arn:{partition}:iam::{account}:root"
        caller = self._caller_for(ctx, "AssumeRoot", root_arn)
        if caller.principal_kind == "root":
            raise access_denied("You cannot call AssumeRoot with root user credentials.")
        task_arn = (request.get("TaskPolicyArn") or {}).get("arn") or ""
        task = re.fullmatch(r"arn:aws[\w-]*:iam::aws:policy/root-task/(\w+)", task_arn)
        if not task or task.group(1) not in ROOT_TASK_POLICIES:
            raise validation_error(f"{task_arn} is not a valid root task policy.")
        duration = request.get("DurationSeconds")
        record = credentials.issue(
            ctx.db, account=account, kind="session", principal_kind="root", arn=root_arn, user_id=account,
            now=ctx.now(), duration=900 if duration is None else duration,
            minimum_token_size=request.get("MinimumSessionTokenSize") or 0, policy_arns=[task_arn],
            source_identity=(caller.record or {}).get("source_identity"),
            parent_access_key=caller.access_key if caller.temporary else None, caller_arn=caller.arn)
        response = {"Credentials": self._credentials(record), **self._token_size(record)}
        if record["source_identity"]:
            response["SourceIdentity"] = record["source_identity"]
        return response

    def get_delegated_access_token(self, ctx: RequestContext, request: dict) -> dict:
        self._caller_for(ctx, "GetDelegatedAccessToken")
        token = request["TradeInToken"]
        grant = credentials.redeem_trade_in_token(ctx.db, token)
        if grant is None:
            raise validation_error("The trade-in token is invalid.")
        if grant["redeemed"] or ctx.now() >= grant["expiration"]:
            raise AwsError("ExpiredTradeInTokenException", "The trade-in token has expired.")
        credentials.mark_trade_in_token_redeemed(ctx.db, token)
        kind = "assumed-role" if grant["principal_kind"] == "assumed-role" else "session"
        record = credentials.issue(
            ctx.db, account=grant["account"], kind=kind, principal_kind=grant["principal_kind"],
            arn=grant["principal_arn"], user_id=grant["user_id"], now=ctx.now(), duration=grant["duration"],
            policy=grant["policy"])
        return {"Credentials": self._credentials(record), "AssumedPrincipal": grant["principal_arn"]}

    def get_web_identity_token(self, ctx: RequestContext, request: dict) -> dict:
        # imported here: signing loads `cryptography` (~9 MB), which no other STS call needs
        from haneul.services.sts import web_identity_token
        caller = self._caller_for(ctx, "GetWebIdentityToken")
        algorithm = request["SigningAlgorithm"]
        if algorithm not in ("RS256", "ES384"):
            raise validation_error(f"Unsupported signing algorithm: {algorithm}. Valid values are RS256 and ES384.")
        audience = request["Audience"]
        duration = request.get("DurationSeconds") or 300
        mode = request.get("SubjectMode") or "AWSIdentity"
        if mode == "OriginIdentity":
            # Haneul sessions carry no trusted identity propagation context.
            raise validation_error("The calling session has no trusted identity propagation context with an "
                                   "aws:OriginIdentity/Subject key.")
        if request.get("Scope") is not None:
            raise validation_error("Scope can be specified only when SubjectMode is OriginIdentity and exactly "
                                   "one audience is requested.")
        settings = iam_records.outbound_federation(ctx.db, caller.account)
        if settings is not None and not settings.get("enabled"):
            raise AwsError("OutboundWebIdentityFederationDisabledException",
                           "Outbound web identity federation is disabled for this account.")
        now = int(ctx.now())
        if caller.temporary and now + duration > caller.record["expiration"]:
            raise AwsError("SessionDurationEscalationException",
                           "The requested DurationSeconds would extend the token beyond the expiration of the "
                           "calling session.")
        request_tags = session_policy.check_tags(request.get("Tags"))
        subject = (caller.record or {}).get("role_arn") or caller.arn
        issuer = (settings or {}).get("issuer") or web_identity_token.default_issuer(ctx.endpoint, caller.account)
        claims = web_identity_token.build_claims(
            issuer=issuer, audience=audience, subject=subject, now=now, duration=duration,
            account=caller.account, region=ctx.region, principal_arn=subject,
            principal_tags=(caller.record or {}).get("tags") or {}, request_tags=request_tags,
            source_identity=(caller.record or {}).get("source_identity"))
        if len(str(claims).encode()) > web_identity_token.MAX_PAYLOAD_BYTES:
            raise AwsError("JWTPayloadSizeExceededException",
                           "The token payload exceeds the maximum allowed size; pass fewer request tags.")
        token = web_identity_token.sign(ctx.db, caller.account, algorithm, claims, ctx.now())
        return {"WebIdentityToken": token, "Expiration": from_epoch(now + duration)}

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def _credentials(record: dict) -> dict:
        return {
            "AccessKeyId": record["access_key_id"],
            "SecretAccessKey": record["secret_access_key"],
            "SessionToken": record["session_token"],
            "Expiration": from_epoch(record["expiration"]),
        }

    @staticmethod
    def _token_size(record: dict) -> dict:
        token = record["session_token"]
        return {"SessionTokenSize": len(token),
                "SessionTokenUtilization": credentials.session_token_utilization(token)}

    @staticmethod
    def _inherited_transitive_tags(caller: Caller) -> dict[str, str]:
        if caller.record is None or caller.kind != "assumed-role":
            return {}
        tags = caller.record["tags"]
        return {k: tags[k] for k in caller.record["transitive_tag_keys"] if k in tags}

    @staticmethod
    def _source_identity(caller: Caller, requested: str | None, action: str, resource: str) -> str | None:
        if requested is not None and requested.lower().startswith("aws:"):
            raise validation_error("The source identity cannot begin with the reserved prefix 'aws:'.")
        inherited = (caller.record or {}).get("source_identity")
        if inherited and requested is not None and requested != inherited:
            # A source identity persists across role chaining and cannot be changed.
            raise not_authorized(caller, "SetSourceIdentity", resource)
        return inherited or requested

    @staticmethod
    def _check_mfa(ctx: RequestContext, caller: Caller, request: dict) -> bool:
        serial, code = request.get("SerialNumber"), request.get("TokenCode")
        if serial is None and code is None:
            return bool((caller.record or {}).get("mfa"))
        if serial is None or code is None:
            raise access_denied("MultiFactorAuthentication failed, must provide both MFA serial number and "
                                "one time pass code.")
        if iam_records.verify_mfa_code(ctx.db, caller.account, serial, code) is False:
            raise access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code.")
        return True
