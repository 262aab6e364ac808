"""PublishVersion, ListVersionsByFunction and aliases (with weighted routing)."""

from __future__ import annotations

import json

from haneul.errors import AwsError
from haneul.services.awslambda import names, provisioning, records
from haneul.services.awslambda.records import LATEST
from haneul.services.base import decode_token, encode_token


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, Type="User")


class VersionOps:
    def _publish(self, ctx, name: str, code_sha: str | None, description: str | None,
                 revision_id: str | None = None) -> dict:
        db = ctx.db
        row = records.function_row(db, ctx, name)
        config, code = records.load_version(db, ctx.account, ctx.region, name, LATEST)
        records.check_revision(revision_id, config["RevisionId"])
        if code_sha and code_sha != config["CodeSha256"]:
            raise invalid(f"CodeSHA256 ({code_sha}) is different from current CodeSHA256 in $LATEST "
                          f"({config['CodeSha256']}). Please try again with the CodeSHA256 in $LATEST.")
        last = db.execute("SELECT config FROM lambda_version WHERE account=? AND region=? AND name=? AND "
                          "version!='$LATEST' ORDER BY CAST(version AS INTEGER) DESC LIMIT 1",
                          (ctx.account, ctx.region, name)).fetchone()
        if last is not None:
            previous = json.loads(last["config"])
            if previous.get("_source_revision") == config["RevisionId"]:
                return records.rendered(previous)        # nothing changed since: no new version
        number = str(row["next_version"])
        db.execute("UPDATE lambda_function SET next_version=next_version+1 WHERE account=? AND region=? AND "
                   "name=?", (ctx.account, ctx.region, name))
        published = dict(config, Version=number,
                         FunctionArn=names.function_arn(ctx.account, ctx.region, name, number),
                         RevisionId=records.revision(), LastModified=records.timestamp(ctx.now()),
                         _source_revision=config["RevisionId"])
        if description is not None and description != "":
            published["Description"] = description
        records.save_version(db, ctx.account, ctx.region, name, number, published, code)
        return records.rendered(published)

    def publish_version(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        return self._publish(ctx, name, request.get("CodeSha256"), request.get("Description"),
                             request.get("RevisionId"))

    def list_versions_by_function(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        rows = ctx.db.execute("SELECT version, config FROM lambda_version WHERE account=? AND region=? AND name=? "
                              "ORDER BY CASE version WHEN '$LATEST' THEN 0 ELSE CAST(version AS INTEGER) END",
                              (ctx.account, ctx.region, name)).fetchall()
        return self._page(request, [(r["version"], json.loads(r["config"])) for r in rows], "Versions",
                          lambda c: records.rendered(c))

    def _page(self, request, items, member, render):
        start = 0
        if request.get("Marker"):
            last = decode_token(request["Marker"], lambda: invalid("Invalid marker"))
            start = next((i for i, it in enumerate(items) if it[0] == last), -1) + 1
        limit = request.get("MaxItems") or 50
        page = items[start:start + limit]
        out = {member: [render(c) for _, c in page]}
        if start + limit < len(items) and page:
            out["NextMarker"] = encode_token(page[-1][0])
        return out

    # -- aliases -----------------------------------------------------------------------------
    def _check_routing(self, ctx, name: str, version: str, routing: dict | None) -> str | None:
        if version != LATEST and records.load_version(ctx.db, ctx.account, ctx.region, name, version) is None:
            raise names.not_found(ctx.account, ctx.region, name, version)
        weights = (routing or {}).get("AdditionalVersionWeights") or {}
        if not weights:
            return None
        if len(weights) > 1:
            raise invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")
        if version == LATEST:
            raise invalid("$LATEST is not supported for an alias pointing to more than 1 version")
        for extra, weight in weights.items():
            if extra == version:
                raise invalid(f"Invalid function version {extra}. Function version {extra} is already "
                              "included in routing configuration.")
            if not names.VERSION_RE.match(extra) or records.load_version(
                    ctx.db, ctx.account, ctx.region, name, extra) is None:
                raise invalid(f"Function version {extra} does not exist" if names.VERSION_RE.match(extra)
                              else "$LATEST is not supported for an alias pointing to more than 1 version")
            if not 0.0 <= weight <= 1.0:
                raise invalid("Invalid weight: must be between 0.0 and 1.0")
        return json.dumps({"AdditionalVersionWeights": weights})

    def _alias_answer(self, ctx, name: str, row) -> dict:
        out = {"AliasArn": names.function_arn(ctx.account, ctx.region, name, row["alias"]),
               "Name": row["alias"], "FunctionVersion": row["version"],
               "Description": row["description"], "RevisionId": row["revision_id"]}
        if row["routing"]:
            out["RoutingConfig"] = json.loads(row["routing"])
        return out

    def create_alias(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        alias = request["Name"]
        if names.check_qualifier(alias) != "alias":
            raise invalid(f"Invalid alias name: {alias}")
        if records.alias_row(ctx.db, ctx, name, alias) is not None:
            raise AwsError("ResourceConflictException", "Alias already exists: "
                           + names.function_arn(ctx.account, ctx.region, name, alias), Type="User")
        routing = self._check_routing(ctx, name, request["FunctionVersion"], request.get("RoutingConfig"))
        ctx.db.execute("INSERT INTO lambda_alias(account, region, name, alias, version, description, routing, "
                       "revision_id) VALUES(?,?,?,?,?,?,?,?)",
                       (ctx.account, ctx.region, name, alias, request["FunctionVersion"],
                        request.get("Description", ""), routing, records.revision()))
        return self._alias_answer(ctx, name, records.alias_row(ctx.db, ctx, name, alias))

    def _alias(self, ctx, request) -> tuple[str, object]:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        row = records.alias_row(ctx.db, ctx, name, request["Name"])
        if row is None:
            raise AwsError("ResourceNotFoundException", "Cannot find alias arn: "
                           + names.function_arn(ctx.account, ctx.region, name, request["Name"]), Type="User")
        return name, row

    def get_alias(self, ctx, request: dict) -> dict:
        name, row = self._alias(ctx, request)
        return self._alias_answer(ctx, name, row)

    def update_alias(self, ctx, request: dict) -> dict:
        name, row = self._alias(ctx, request)
        records.check_revision(request.get("RevisionId"), row["revision_id"])
        version = request.get("FunctionVersion", row["version"])
        routing = row["routing"]
        if "RoutingConfig" in request or "FunctionVersion" in request:
            given = request["RoutingConfig"] if "RoutingConfig" in request else (
                json.loads(routing) if routing else None)
            routing = self._check_routing(ctx, name, version, given)
        ctx.db.execute("UPDATE lambda_alias SET version=?, description=?, routing=?, revision_id=? WHERE "
                       "account=? AND region=? AND name=? AND alias=?",
                       (version, request.get("Description", row["description"]), routing, records.revision(),
                        ctx.account, ctx.region, name, row["alias"]))
        if version != row["version"] or routing != row["routing"]:
            provisioning.schedule(ctx, name)        # its provisioned environments follow it (and its weights)
        return self._alias_answer(ctx, name, records.alias_row(ctx.db, ctx, name, row["alias"]))

    def delete_alias(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        key = (ctx.account, ctx.region, name, request["Name"])
        for table in ("lambda_alias",):
            ctx.db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND name=? AND alias=?", key)
        for table in ("lambda_policy", "lambda_event_invoke_config", "lambda_provisioned", "lambda_url"):
            ctx.db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND name=? AND qualifier=?", key)
        provisioning.schedule(ctx, name)
        return {}

    def list_aliases(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        rows = ctx.db.execute("SELECT * FROM lambda_alias WHERE account=? AND region=? AND name=? ORDER BY alias",
                              (ctx.account, ctx.region, name)).fetchall()
        if request.get("FunctionVersion"):
            rows = [r for r in rows if r["version"] == request["FunctionVersion"]]
        return self._page(request, [(r["alias"], r) for r in rows], "Aliases",
                          lambda r: self._alias_answer(ctx, name, r))
