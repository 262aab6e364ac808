"""Per-function settings that Haneul stores and answers but has nothing to apply to:
recursive loop detection (Put/GetFunctionRecursionConfig: Haneul does not trace
invocation chains, so a loop is never stopped) and runtime management
(Put/GetRuntimeManagementConfig: the interpreter is the one runtimes.py finds, whatever
the update mode or pinned runtime version)."""

from __future__ import annotations

import json

from haneul.errors import AwsError
from haneul.services.awslambda import names, records


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, Type="User")


class ConfigOps:
    # -- recursive loop detection ------------------------------------------------------------
    def put_function_recursion_config(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        ctx.db.execute("UPDATE lambda_function SET recursion=? WHERE account=? AND region=? AND name=?",
                       (request["RecursiveLoop"], ctx.account, ctx.region, name))
        return {"RecursiveLoop": request["RecursiveLoop"]}

    def get_function_recursion_config(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        return {"RecursiveLoop": records.function_row(ctx.db, ctx, name)["recursion"]}

    # -- runtime management ------------------------------------------------------------------
    def _runtime_target(self, ctx, request: dict) -> tuple[str, str]:
        """(name, version): $LATEST or a published version number that exists."""
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        records.function_row(ctx.db, ctx, name)
        qualifier = qualifier or records.LATEST
        if names.check_qualifier(qualifier) == "alias":
            raise invalid("Runtime management configurations apply to function versions, not aliases: "
                          f"{qualifier}")
        if records.load_version(ctx.db, ctx.account, ctx.region, name, qualifier) is None:
            raise names.not_found(ctx.account, ctx.region, name, qualifier)
        return name, qualifier

    def _runtime_answer(self, ctx, name: str, qualifier: str, doc: dict) -> dict:
        out = {"UpdateRuntimeOn": doc.get("UpdateRuntimeOn", "Auto"),
               "FunctionArn": names.function_arn(ctx.account, ctx.region, name, qualifier)}
        if doc.get("RuntimeVersionArn"):
            out["RuntimeVersionArn"] = doc["RuntimeVersionArn"]
        return out

    def put_runtime_management_config(self, ctx, request: dict) -> dict:
        name, qualifier = self._runtime_target(ctx, request)
        mode, pinned = request["UpdateRuntimeOn"], request.get("RuntimeVersionArn")
        if mode == "Manual" and not pinned:
            raise invalid("RuntimeVersionArn is required when UpdateRuntimeOn is Manual.")
        if mode != "Manual" and pinned:
            raise invalid(f"RuntimeVersionArn can be set only when UpdateRuntimeOn is Manual, not {mode}.")
        doc = {"UpdateRuntimeOn": mode, **({"RuntimeVersionArn": pinned} if pinned else {})}
        ctx.db.execute("INSERT INTO lambda_runtime_management(account, region, name, qualifier, doc) "
                       "VALUES(?,?,?,?,?) ON CONFLICT(account, region, name, qualifier) DO UPDATE SET "
                       "doc=excluded.doc", (ctx.account, ctx.region, name, qualifier, json.dumps(doc)))
        return self._runtime_answer(ctx, name, qualifier, doc)

    def get_runtime_management_config(self, ctx, request: dict) -> dict:
        name, qualifier = self._runtime_target(ctx, request)
        row = ctx.db.execute("SELECT doc FROM lambda_runtime_management WHERE account=? AND region=? AND name=? "
                             "AND qualifier=?", (ctx.account, ctx.region, name, qualifier)).fetchone()
        return self._runtime_answer(ctx, name, qualifier, json.loads(row["doc"]) if row else {})
