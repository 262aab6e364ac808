"""Code signing configs and the functions that use them.

A config lists the signing profiles allowed to sign a function's code and what to do with
code that none of them signed (UntrustedArtifactOnDeployment: Warn or Enforce).  Haneul has
no AWS Signer, so no deployment package carries a signature: with Warn the code deploys (as
AWS deploys unsigned code under Warn), with Enforce CreateFunction and UpdateFunctionCode
refuse it with CodeVerificationFailedException, as AWS refuses unsigned code.
"""

from __future__ import annotations

import json
import re
import secrets
import string

from haneul.errors import AwsError
from haneul.services.awslambda import names, records
from haneul.services.awslambda.settings import paged

_ARN_RE = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):code-signing-config:(csc-[a-z0-9]{17})$")


def config_arn(account: str, region: str, csc_id: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:code-signing-config:{csc_id}"


def not_found(arn: str) -> AwsError:
    return AwsError("CodeSigningConfigNotFoundException", "The code signing configuration cannot be found. Check "
                    f"that the provided configuration is not deleted: {arn}.", Type="User")


def _id_of(ctx, arn: str, missing=None) -> str:
    """The config id of an ARN in the caller's account and region, or `missing`'s error."""
    m = _ARN_RE.match(arn)
    if not m or (m.group(1), m.group(2)) != (ctx.region, ctx.account):
        raise (missing or _missing)(arn)
    return m.group(3)


def _missing(arn: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"The code signing configuration cannot be found: {arn}",
                    Type="User")


def load(db, ctx, arn: str, missing=None) -> dict:
    """The stored CodeSigningConfig document an ARN names."""
    row = db.execute("SELECT doc FROM lambda_code_signing WHERE account=? AND region=? AND id=?",
                     (ctx.account, ctx.region, _id_of(ctx, arn, missing))).fetchone()
    if row is None:
        raise (missing or _missing)(arn)
    return json.loads(row["doc"])


def check_deploy(db, ctx, arn: str | None) -> None:
    """Refuse a deployment package under an Enforce policy (nothing here is signed)."""
    if not arn:
        return
    doc = load(db, ctx, arn, not_found)
    if doc["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce":
        raise AwsError("CodeVerificationFailedException", "Lambda cannot deploy the function. The function or "
                       "layer might be signed using a signature that the client is not configured to accept. "
                       f"Check the provided signature for {arn}. (Haneul has no AWS Signer: no package is "
                       "signed, so an Enforce policy refuses every one.)", Type="User")


def function_config_arn(db, ctx, name: str) -> str | None:
    return records.function_row(db, ctx, name)["code_signing"]


class SigningOps:
    def _write_signing(self, ctx, csc_id: str, doc: dict) -> dict:
        now = ctx.now()
        doc["LastModified"] = records.timestamp(now)
        ctx.db.execute("INSERT INTO lambda_code_signing(account, region, id, doc, modified) VALUES(?,?,?,?,?) "
                       "ON CONFLICT(account, region, id) DO UPDATE SET doc=excluded.doc, modified=excluded.modified",
                       (ctx.account, ctx.region, csc_id, json.dumps(doc), now))
        return {"CodeSigningConfig": doc}

    def create_code_signing_config(self, ctx, request: dict) -> dict:
        csc_id = "csc-" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(17))
        doc = {"CodeSigningConfigId": csc_id, "CodeSigningConfigArn": config_arn(ctx.account, ctx.region, csc_id),
               "Description": request.get("Description", ""),
               "AllowedPublishers": {"SigningProfileVersionArns":
                                     list(request["AllowedPublishers"]["SigningProfileVersionArns"])},
               "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": (request.get("CodeSigningPolicies") or {})
                                       .get("UntrustedArtifactOnDeployment", "Warn")}}
        out = self._write_signing(ctx, csc_id, doc)
        if request.get("Tags"):
            ctx.db.execute("UPDATE lambda_code_signing SET tags=? WHERE account=? AND region=? AND id=?",
                           (json.dumps(request["Tags"]), ctx.account, ctx.region, csc_id))
        return out

    def get_code_signing_config(self, ctx, request: dict) -> dict:
        return {"CodeSigningConfig": load(ctx.db, ctx, request["CodeSigningConfigArn"])}

    def update_code_signing_config(self, ctx, request: dict) -> dict:
        arn = request["CodeSigningConfigArn"]
        doc = load(ctx.db, ctx, arn)
        if "Description" in request:
            doc["Description"] = request["Description"]
        if "AllowedPublishers" in request:
            doc["AllowedPublishers"] = {"SigningProfileVersionArns":
                                        list(request["AllowedPublishers"]["SigningProfileVersionArns"])}
        policy = (request.get("CodeSigningPolicies") or {}).get("UntrustedArtifactOnDeployment")
        if policy:
            doc["CodeSigningPolicies"] = {"UntrustedArtifactOnDeployment": policy}
        return self._write_signing(ctx, doc["CodeSigningConfigId"], doc)

    def _users(self, ctx, arn: str) -> list[str]:
        rows = ctx.db.execute("SELECT name FROM lambda_function WHERE account=? AND region=? AND code_signing=? "
                              "ORDER BY name", (ctx.account, ctx.region, arn)).fetchall()
        return [names.function_arn(ctx.account, ctx.region, r["name"]) for r in rows]

    def delete_code_signing_config(self, ctx, request: dict) -> dict:
        arn = request["CodeSigningConfigArn"]
        doc = load(ctx.db, ctx, arn)
        if self._users(ctx, arn):
            raise AwsError("ResourceConflictException", "The code signing configuration cannot be deleted because "
                           "it is used by one or more functions. Remove it from the functions first "
                           "(ListFunctionsByCodeSigningConfig lists them).", Type="User")
        ctx.db.execute("DELETE FROM lambda_code_signing WHERE account=? AND region=? AND id=?",
                       (ctx.account, ctx.region, doc["CodeSigningConfigId"]))
        return {}

    def list_code_signing_configs(self, ctx, request: dict) -> dict:
        rows = ctx.db.execute("SELECT doc FROM lambda_code_signing WHERE account=? AND region=? ORDER BY id",
                              (ctx.account, ctx.region)).fetchall()
        return paged(request, [json.loads(r["doc"]) for r in rows], "CodeSigningConfigs")

    def list_functions_by_code_signing_config(self, ctx, request: dict) -> dict:
        arn = request["CodeSigningConfigArn"]
        load(ctx.db, ctx, arn)
        return paged(request, self._users(ctx, arn), "FunctionArns")

    def put_function_code_signing_config(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        arn = request["CodeSigningConfigArn"]
        load(ctx.db, ctx, arn, not_found)
        ctx.db.execute("UPDATE lambda_function SET code_signing=? WHERE account=? AND region=? AND name=?",
                       (arn, ctx.account, ctx.region, name))
        return {"CodeSigningConfigArn": arn, "FunctionName": name}

    def get_function_code_signing_config(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        return {"CodeSigningConfigArn": function_config_arn(ctx.db, ctx, name) or "", "FunctionName": name}

    def delete_function_code_signing_config(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        arn = function_config_arn(ctx.db, ctx, name)
        if arn is None:
            raise AwsError("CodeSigningConfigNotFoundException", "The function "
                           f"{names.function_arn(ctx.account, ctx.region, name)} has no code signing "
                           "configuration.", Type="User")
        ctx.db.execute("UPDATE lambda_function SET code_signing=NULL WHERE account=? AND region=? AND name=?",
                       (ctx.account, ctx.region, name))
        return {}

