"""Resource policies of functions: AddPermission, RemovePermission, GetPolicy, and the
whole-document Get/Put/DeleteResourcePolicy (same policy, named by the resource's ARN)."""

from __future__ import annotations

import json

from haneul.errors import AwsError
from haneul.services.awslambda import names, records


def _qualifier_key(ctx, name: str, qualifier: str | None) -> str:
    if not qualifier:
        return ""
    if qualifier == records.LATEST:
        return qualifier
    kind = names.check_qualifier(qualifier)
    if kind == "alias":
        if records.alias_row(ctx.db, ctx, name, qualifier) is None:
            raise names.not_found(ctx.account, ctx.region, name, qualifier)
    elif records.load_version(ctx.db, ctx.account, ctx.region, name, qualifier) is None:
        raise names.not_found(ctx.account, ctx.region, name, qualifier)
    return qualifier


def principal_of(principal: str) -> dict | str:
    if principal == "*":
        return "*"
    if principal.endswith(".amazonaws.com") or principal.endswith(".amazon.com"):
        return {"Service": principal}
    if principal.isdigit() and len(principal) == 12:
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    return {"AWS": principal}


class PermissionOps:
    def _policy_row(self, ctx, name: str, qualifier: str):
        return ctx.db.execute("SELECT * FROM lambda_policy WHERE account=? AND region=? AND name=? AND qualifier=?",
                              (ctx.account, ctx.region, name, qualifier)).fetchone()

    def add_permission(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        records.function_row(ctx.db, ctx, name)
        key = _qualifier_key(ctx, name, qualifier)
        row = self._policy_row(ctx, name, key)
        statements = json.loads(row["statements"]) if row else []
        if row is not None:
            records.check_revision(request.get("RevisionId"), row["revision_id"])
        sid = request["StatementId"]
        if any(s.get("Sid") == sid for s in statements):
            raise AwsError("ResourceConflictException", f"The statement id ({sid}) provided already exists. "
                           "Please provide a new statement id, or remove the existing statement.", Type="User")
        action = request["Action"]
        if not (action.startswith("lambda:") or action == "*"):
            raise AwsError("InvalidParameterValueException", f"The action {action} is not supported.", Type="User")
        statement = {"Sid": sid, "Effect": "Allow", "Principal": principal_of(request["Principal"]),
                     "Action": action,
                     "Resource": names.function_arn(ctx.account, ctx.region, name, key or None)}
        condition: dict = {}
        if request.get("SourceArn"):
            condition.setdefault("ArnLike", {})["AWS:SourceArn"] = request["SourceArn"]
        if request.get("SourceAccount"):
            condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = request["SourceAccount"]
        if request.get("PrincipalOrgID"):
            condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = request["PrincipalOrgID"]
        if request.get("EventSourceToken"):
            condition.setdefault("StringEquals", {})["lambda:EventSourceToken"] = request["EventSourceToken"]
        if request.get("FunctionUrlAuthType"):
            condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = request["FunctionUrlAuthType"]
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
        ctx.db.execute("INSERT INTO lambda_policy(account, region, name, qualifier, statements, revision_id) "
                       "VALUES(?,?,?,?,?,?) ON CONFLICT(account, region, name, qualifier) DO UPDATE SET "
                       "statements=excluded.statements, revision_id=excluded.revision_id",
                       (ctx.account, ctx.region, name, key, json.dumps(statements), records.revision()))
        return {"Statement": json.dumps(statement)}

    def remove_permission(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        records.function_row(ctx.db, ctx, name)
        key = _qualifier_key(ctx, name, qualifier)
        row = self._policy_row(ctx, name, key)
        statements = json.loads(row["statements"]) if row else []
        kept = [s for s in statements if s.get("Sid") != request["StatementId"]]
        if len(kept) == len(statements):
            raise AwsError("ResourceNotFoundException", f"Statement {request['StatementId']} is not found in "
                           "resource policy.", Type="User")
        records.check_revision(request.get("RevisionId"), row["revision_id"])
        ctx.db.execute("UPDATE lambda_policy SET statements=?, revision_id=? WHERE account=? AND region=? AND "
                       "name=? AND qualifier=?", (json.dumps(kept), records.revision(), ctx.account, ctx.region,
                                                  name, key))
        return {}

    def get_policy(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        records.function_row(ctx.db, ctx, name)
        key = _qualifier_key(ctx, name, qualifier)
        row = self._policy_row(ctx, name, key)
        statements = json.loads(row["statements"]) if row else []
        if not statements:
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", Type="User")
        return {"Policy": json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": statements}),
                "RevisionId": row["revision_id"]}

    # -- the whole document, by ARN ----------------------------------------------------------
    def _policy_target(self, ctx, arn: str) -> tuple[str, str]:
        """(function name, qualifier key) of a ResourceArn (a function, version or alias)."""
        if ":runtime/" in arn:
            raise AwsError("NotImplementedException", "Haneul has no Lambda runtime resources to attach a "
                           "policy to: its runtimes are local interpreters.", 501)
        name, qualifier = names.parse_function(ctx, arn)
        records.function_row(ctx.db, ctx, name)
        return name, _qualifier_key(ctx, name, qualifier)

    def get_resource_policy(self, ctx, request: dict) -> dict:
        name, key = self._policy_target(ctx, request["ResourceArn"])
        row = self._policy_row(ctx, name, key)
        if row is None or not json.loads(row["statements"]):
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", Type="User")
        return {"Policy": json.dumps({"Version": "2012-10-17", "Id": "default",
                                      "Statement": json.loads(row["statements"])}),
                "RevisionId": row["revision_id"]}

    def put_resource_policy(self, ctx, request: dict) -> dict:
        name, key = self._policy_target(ctx, request["ResourceArn"])
        try:
            policy = json.loads(request["Policy"])
        except (ValueError, RecursionError):
            raise AwsError("InvalidParameterValueException", "The policy is not valid JSON.", Type="User") from None
        statements = policy.get("Statement") if isinstance(policy, dict) else None
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list) or not statements or not all(isinstance(s, dict) for s in statements):
            raise AwsError("InvalidParameterValueException", "The policy must contain a Statement list.",
                           Type="User")
        row = self._policy_row(ctx, name, key)
        if row is not None:
            records.check_revision(request.get("RevisionId"), row["revision_id"])
        revision = records.revision()
        ctx.db.execute("INSERT INTO lambda_policy(account, region, name, qualifier, statements, revision_id) "
                       "VALUES(?,?,?,?,?,?) ON CONFLICT(account, region, name, qualifier) DO UPDATE SET "
                       "statements=excluded.statements, revision_id=excluded.revision_id",
                       (ctx.account, ctx.region, name, key, json.dumps(statements), revision))
        return {"Policy": request["Policy"], "RevisionId": revision}

    def delete_resource_policy(self, ctx, request: dict) -> dict:
        name, key = self._policy_target(ctx, request["ResourceArn"])
        row = self._policy_row(ctx, name, key)
        if row is None or not json.loads(row["statements"]):
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", Type="User")
        records.check_revision(request.get("RevisionId"), row["revision_id"])
        ctx.db.execute("DELETE FROM lambda_policy WHERE account=? AND region=? AND name=? AND qualifier=?",
                       (ctx.account, ctx.region, name, key))
        return {}
