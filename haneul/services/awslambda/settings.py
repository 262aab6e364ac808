"""Concurrency (reserved, provisioned), account settings, event invoke configs, function URLs, tags."""

from __future__ import annotations

import json
import secrets
import string
from urllib.parse import urlsplit

from haneul.errors import AwsError
from haneul.services.awslambda import code as code_pkg
from haneul.services.awslambda import names, provisioning, records
from haneul.services.awslambda.engine import account_limit
from haneul.services.base import decode_token, encode_token, from_epoch

MIN_UNRESERVED = 100


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, Type="User")


def reserved_total(db, account: str, region: str, excluding: str | None = None) -> int:
    row = db.execute("SELECT COALESCE(SUM(reserved), 0) FROM lambda_function WHERE account=? AND region=? "
                     "AND reserved IS NOT NULL AND name IS NOT ?", (account, region, excluding)).fetchone()
    return int(row[0])


def _published_qualifier(ctx, name: str, qualifier: str | None, what: str) -> str:
    """A version number or an alias that exists ($LATEST refused)."""
    if not qualifier or qualifier == records.LATEST:
        raise invalid(f"{what} cannot be applied to unpublished function versions."
                      if qualifier else "Qualifier is required.")
    kind = names.check_qualifier(qualifier)
    if kind == "alias":
        if records.alias_row(ctx.db, ctx, name, qualifier) is None:
            raise names.not_found(ctx.account, ctx.region, name, qualifier)
    elif records.load_version(ctx.db, ctx.account, ctx.region, name, qualifier) is None:
        raise names.not_found(ctx.account, ctx.region, name, qualifier)
    return qualifier


def _any_qualifier(ctx, name: str, qualifier: str | None) -> str:
    """'' for the unqualified function, else a qualifier that exists."""
    if not qualifier:
        return records.LATEST
    if qualifier == records.LATEST:
        return qualifier
    return _published_qualifier(ctx, name, qualifier, "")


class SettingOps:
    # -- reserved concurrency ----------------------------------------------------------------
    def put_function_concurrency(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        wanted = request["ReservedConcurrentExecutions"]
        provisioned = provisioning.totals(ctx.db, ctx.account, ctx.region).get(name, 0)
        if wanted < provisioned:
            raise invalid(f"Specified ReservedConcurrentExecutions for function is less than the function's "
                          f"total provisioned concurrency [{provisioned}].")
        others = reserved_total(ctx.db, ctx.account, ctx.region, excluding=name) + \
            provisioning.unreserved_provisioned(ctx.db, ctx.account, ctx.region, name)
        if account_limit() - others - wanted < MIN_UNRESERVED:
            raise invalid("Specified ReservedConcurrentExecutions for function decreases account's "
                          f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}].")
        ctx.db.execute("UPDATE lambda_function SET reserved=? WHERE account=? AND region=? AND name=?",
                       (wanted, ctx.account, ctx.region, name))
        return {"ReservedConcurrentExecutions": wanted}

    def get_function_concurrency(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        row = records.function_row(ctx.db, ctx, name)
        return {} if row["reserved"] is None else {"ReservedConcurrentExecutions": row["reserved"]}

    def delete_function_concurrency(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        row = records.function_row(ctx.db, ctx, name)
        provisioned = provisioning.totals(ctx.db, ctx.account, ctx.region).get(name, 0)
        if row["reserved"] is not None and provisioned and account_limit() - provisioned - (
                reserved_total(ctx.db, ctx.account, ctx.region, excluding=name)
                + provisioning.unreserved_provisioned(ctx.db, ctx.account, ctx.region)) < MIN_UNRESERVED:
            raise invalid("Specified ConcurrentExecutions for function decreases account's "
                          f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}].")
        ctx.db.execute("UPDATE lambda_function SET reserved=NULL WHERE account=? AND region=? AND name=?",
                       (ctx.account, ctx.region, name))
        return {}

    def get_account_settings(self, ctx, request: dict) -> dict:
        limit = account_limit()
        reserved = reserved_total(ctx.db, ctx.account, ctx.region) + provisioning.unreserved_provisioned(
            ctx.db, ctx.account, ctx.region)
        row = ctx.db.execute("SELECT COUNT(*) FROM lambda_function WHERE account=? AND region=?",
                             (ctx.account, ctx.region)).fetchone()
        size = ctx.db.execute("SELECT config FROM lambda_version WHERE account=? AND region=?",
                              (ctx.account, ctx.region)).fetchall()
        total = sum(json.loads(r["config"]).get("CodeSize", 0) for r in size)
        return {"AccountLimit": {"TotalCodeSize": 80530636800, "CodeSizeUnzipped": code_pkg.MAX_UNZIPPED,
                                 "CodeSizeZipped": code_pkg.MAX_ZIPPED, "ConcurrentExecutions": limit,
                                 "UnreservedConcurrentExecutions": limit - reserved},
                "AccountUsage": {"TotalCodeSize": total, "FunctionCount": row[0]}}

    # -- provisioned concurrency -------------------------------------------------------------
    def _provisioned_answer(self, ctx, name, row) -> dict:
        return {"RequestedProvisionedConcurrentExecutions": row["requested"],
                **provisioning.figures(ctx, name, row["qualifier"], row["requested"]),
                "LastModified": records.timestamp(row["modified"])}

    def put_provisioned_concurrency_config(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        row = records.function_row(ctx.db, ctx, name)
        qualifier = _published_qualifier(ctx, name, qualifier, "Provisioned Concurrency Configs")
        wanted = request["ProvisionedConcurrentExecutions"]
        if row["reserved"] is not None:
            siblings = sum(r["requested"] for r in ctx.db.execute(
                "SELECT requested FROM lambda_provisioned WHERE account=? AND region=? AND name=? AND qualifier!=?",
                (ctx.account, ctx.region, name, qualifier)))
            if siblings + wanted > row["reserved"]:
                raise invalid("Requested Provisioned Concurrency should not be greater than the "
                              f"reservedConcurrentExecution for function {name}")
        elif account_limit() - reserved_total(ctx.db, ctx.account, ctx.region) - wanted - \
                provisioning.unreserved_provisioned(ctx.db, ctx.account, ctx.region, name, qualifier) < MIN_UNRESERVED:
            raise invalid("Specified ConcurrentExecutions for function decreases account's "
                          f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}].")
        ctx.db.execute("INSERT INTO lambda_provisioned(account, region, name, qualifier, requested, modified, "
                       "endpoint) VALUES(?,?,?,?,?,?,?) ON CONFLICT(account, region, name, qualifier) DO UPDATE "
                       "SET requested=excluded.requested, modified=excluded.modified, endpoint=excluded.endpoint",
                       (ctx.account, ctx.region, name, qualifier, wanted, ctx.now(), ctx.endpoint))
        provisioning.schedule(ctx, name)
        out = self._provisioned_answer(ctx, name, self._provisioned_row(ctx, name, qualifier))
        out.update(Status="IN_PROGRESS", AvailableProvisionedConcurrentExecutions=0,
                   AllocatedProvisionedConcurrentExecutions=0)
        out.pop("StatusReason", None)
        return out

    def _provisioned_row(self, ctx, name, qualifier):
        return ctx.db.execute("SELECT * FROM lambda_provisioned WHERE account=? AND region=? AND name=? AND "
                              "qualifier=?", (ctx.account, ctx.region, name, qualifier)).fetchone()

    def get_provisioned_concurrency_config(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        records.function_row(ctx.db, ctx, name)
        row = self._provisioned_row(ctx, name, qualifier)
        if row is None:
            raise AwsError("ProvisionedConcurrencyConfigNotFoundException",
                           "No Provisioned Concurrency Config found for this function", Type="User")
        return self._provisioned_answer(ctx, name, row)

    def delete_provisioned_concurrency_config(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        records.function_row(ctx.db, ctx, name)
        ctx.db.execute("DELETE FROM lambda_provisioned WHERE account=? AND region=? AND name=? AND qualifier=?",
                       (ctx.account, ctx.region, name, qualifier))
        provisioning.schedule(ctx, name)
        return {}

    def list_provisioned_concurrency_configs(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        rows = ctx.db.execute("SELECT * FROM lambda_provisioned WHERE account=? AND region=? AND name=? "
                              "ORDER BY qualifier", (ctx.account, ctx.region, name)).fetchall()
        items = [dict(self._provisioned_answer(ctx, name, r),
                      FunctionArn=names.function_arn(ctx.account, ctx.region, name, r["qualifier"])) for r in rows]
        return paged(request, items, "ProvisionedConcurrencyConfigs")

    # -- event invoke configs ----------------------------------------------------------------
    def _invoke_config_answer(self, ctx, name, qualifier, doc, modified) -> dict:
        return {"LastModified": from_epoch(modified),
                "FunctionArn": names.function_arn(ctx.account, ctx.region, name, qualifier), **doc}

    def _write_invoke_config(self, ctx, request: dict, merge: bool) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        records.function_row(ctx.db, ctx, name)
        qualifier = _any_qualifier(ctx, name, qualifier)
        row = ctx.db.execute("SELECT doc FROM lambda_event_invoke_config WHERE account=? AND region=? AND name=? "
                             "AND qualifier=?", (ctx.account, ctx.region, name, qualifier)).fetchone()
        doc = json.loads(row["doc"]) if (row and merge) else {}
        for member in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"):
            if member in request:
                doc[member] = request[member]
        for kind in ("OnSuccess", "OnFailure"):
            dest = (doc.get("DestinationConfig") or {}).get(kind, {}).get("Destination")
            if dest and dest.split(":")[2:3] not in (["sqs"], ["sns"], ["lambda"], ["events"], ["s3"]):
                raise invalid(f"The provided destination config DestinationConfig.{kind}.Destination is invalid.")
        doc.setdefault("DestinationConfig", {"OnSuccess": {}, "OnFailure": {}})
        now = ctx.now()
        ctx.db.execute("INSERT INTO lambda_event_invoke_config(account, region, name, qualifier, doc, modified) "
                       "VALUES(?,?,?,?,?,?) ON CONFLICT(account, region, name, qualifier) DO UPDATE SET "
                       "doc=excluded.doc, modified=excluded.modified",
                       (ctx.account, ctx.region, name, qualifier, json.dumps(doc), now))
        return self._invoke_config_answer(ctx, name, qualifier, doc, now)

    def put_function_event_invoke_config(self, ctx, request: dict) -> dict:
        return self._write_invoke_config(ctx, request, merge=False)

    def update_function_event_invoke_config(self, ctx, request: dict) -> dict:
        return self._write_invoke_config(ctx, request, merge=True)

    def get_function_event_invoke_config(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        records.function_row(ctx.db, ctx, name)
        qualifier = qualifier or records.LATEST
        row = ctx.db.execute("SELECT doc, modified FROM lambda_event_invoke_config WHERE account=? AND region=? "
                             "AND name=? AND qualifier=?", (ctx.account, ctx.region, name, qualifier)).fetchone()
        if row is None:
            raise AwsError("ResourceNotFoundException", "The function "
                           f"{names.function_arn(ctx.account, ctx.region, name, qualifier)} doesn't have an "
                           "EventInvokeConfig", Type="User")
        return self._invoke_config_answer(ctx, name, qualifier, json.loads(row["doc"]), row["modified"])

    def delete_function_event_invoke_config(self, ctx, request: dict) -> dict:
        self.get_function_event_invoke_config(ctx, request)
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        ctx.db.execute("DELETE FROM lambda_event_invoke_config WHERE account=? AND region=? AND name=? AND "
                       "qualifier=?", (ctx.account, ctx.region, name, qualifier or records.LATEST))
        return {}

    def list_function_event_invoke_configs(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        rows = ctx.db.execute("SELECT * FROM lambda_event_invoke_config WHERE account=? AND region=? AND name=? "
                              "ORDER BY qualifier", (ctx.account, ctx.region, name)).fetchall()
        items = [self._invoke_config_answer(ctx, name, r["qualifier"], json.loads(r["doc"]), r["modified"])
                 for r in rows]
        return paged(request, items, "FunctionEventInvokeConfigs")

    # -- function URLs ------------------------------------------------------------------------
    def _url_row(self, ctx, name: str, qualifier: str):
        return ctx.db.execute("SELECT * FROM lambda_url WHERE account=? AND region=? AND name=? AND qualifier=?",
                              (ctx.account, ctx.region, name, qualifier)).fetchone()

    def _url_answer(self, ctx, name, row) -> dict:
        doc = json.loads(row["doc"])
        parts = urlsplit(ctx.endpoint)
        port = f":{parts.port}" if parts.port else ""
        out = {"FunctionUrl": f"{parts.scheme}://{row['url_id']}.lambda-url.{ctx.region}.localhost{port}/",
               "FunctionArn": names.function_arn(ctx.account, ctx.region, name,
                                                 None if row["qualifier"] == records.LATEST else row["qualifier"]),
               "AuthType": doc["AuthType"], "CreationTime": records.timestamp(row["created"]),
               "LastModifiedTime": records.timestamp(row["modified"]), "InvokeMode": doc.get("InvokeMode", "BUFFERED")}
        if doc.get("Cors"):
            out["Cors"] = doc["Cors"]
        return out

    def _url_target(self, ctx, request):
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        records.function_row(ctx.db, ctx, name)
        if qualifier and qualifier != records.LATEST and names.check_qualifier(qualifier) != "alias":
            raise invalid("Function URLs are only supported on $LATEST or an alias.")
        return name, _any_qualifier(ctx, name, qualifier)

    def create_function_url_config(self, ctx, request: dict) -> dict:
        name, qualifier = self._url_target(ctx, request)
        if self._url_row(ctx, name, qualifier) is not None:
            raise AwsError("ResourceConflictException", "Failed to create function url config for "
                           f"[functionArn = {names.function_arn(ctx.account, ctx.region, name, qualifier)}]. "
                           "Error message:  FunctionUrlConfig exists for this Lambda function", Type="User")
        url_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(32))
        doc = {"AuthType": request["AuthType"], "InvokeMode": request.get("InvokeMode", "BUFFERED")}
        if request.get("Cors"):
            doc["Cors"] = request["Cors"]
        now = ctx.now()
        ctx.db.execute("INSERT INTO lambda_url(account, region, name, qualifier, url_id, doc, created, modified) "
                       "VALUES(?,?,?,?,?,?,?,?)", (ctx.account, ctx.region, name, qualifier, url_id,
                                                   json.dumps(doc), now, now))
        out = self._url_answer(ctx, name, self._url_row(ctx, name, qualifier))
        out.pop("LastModifiedTime", None)
        return out

    def _existing_url(self, ctx, request):
        name, qualifier = self._url_target(ctx, request)
        row = self._url_row(ctx, name, qualifier)
        if row is None:
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", Type="User")
        return name, qualifier, row

    def get_function_url_config(self, ctx, request: dict) -> dict:
        name, _, row = self._existing_url(ctx, request)
        return self._url_answer(ctx, name, row)

    def update_function_url_config(self, ctx, request: dict) -> dict:
        name, qualifier, row = self._existing_url(ctx, request)
        doc = json.loads(row["doc"])
        for member in ("AuthType", "Cors", "InvokeMode"):
            if member in request:
                doc[member] = request[member]
        ctx.db.execute("UPDATE lambda_url SET doc=?, modified=? WHERE account=? AND region=? AND name=? AND "
                       "qualifier=?", (json.dumps(doc), ctx.now(), ctx.account, ctx.region, name, qualifier))
        return self._url_answer(ctx, name, self._url_row(ctx, name, qualifier))

    def delete_function_url_config(self, ctx, request: dict) -> dict:
        name, qualifier, _ = self._existing_url(ctx, request)
        ctx.db.execute("DELETE FROM lambda_url WHERE account=? AND region=? AND name=? AND qualifier=?",
                       (ctx.account, ctx.region, name, qualifier))
        return {}

    def list_function_url_configs(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        rows = ctx.db.execute("SELECT * FROM lambda_url WHERE account=? AND region=? AND name=? ORDER BY qualifier",
                              (ctx.account, ctx.region, name)).fetchall()
        return paged(request, [self._url_answer(ctx, name, r) for r in rows], "FunctionUrlConfigs")

    # -- tags ---------------------------------------------------------------------------------
    def _tagged(self, ctx, resource: str) -> tuple[str, str, str, dict]:
        """(table, key column, key, tags) of a taggable ARN: a function or a code signing config."""
        if ":code-signing-config:" in resource:
            from haneul.services.awslambda import signing
            csc_id = signing.load(ctx.db, ctx, resource)["CodeSigningConfigId"]
            row = ctx.db.execute("SELECT tags FROM lambda_code_signing WHERE account=? AND region=? AND id=?",
                                 (ctx.account, ctx.region, csc_id)).fetchone()
            return "lambda_code_signing", "id", csc_id, json.loads(row["tags"])
        name = names.parse_function_arn_resource(ctx, resource)
        return "lambda_function", "name", name, json.loads(records.function_row(ctx.db, ctx, name)["tags"])

    def _retag(self, ctx, resource: str, change) -> None:
        table, column, key, tags = self._tagged(ctx, resource)
        tags = change(tags)
        if len(tags) > 50:
            raise invalid("Number of tags exceeds resource tag limit.")
        ctx.db.execute(f"UPDATE {table} SET tags=? WHERE account=? AND region=? AND {column}=?",
                       (json.dumps(tags), ctx.account, ctx.region, key))

    def tag_resource(self, ctx, request: dict) -> dict:
        self._retag(ctx, request["Resource"], lambda tags: {**tags, **request["Tags"]})
        return {}

    def untag_resource(self, ctx, request: dict) -> dict:
        drop = set(request["TagKeys"])
        self._retag(ctx, request["Resource"], lambda tags: {k: v for k, v in tags.items() if k not in drop})
        return {}

    def list_tags(self, ctx, request: dict) -> dict:
        return {"Tags": self._tagged(ctx, request["Resource"])[3]}

def paged(request, items: list, member: str) -> dict:
    start = 0
    if request.get("Marker"):
        start = decode_token(request["Marker"], lambda: invalid("Invalid marker"))
    limit = request.get("MaxItems") or 50
    out = {member: items[start:start + limit]}
    if start + limit < len(items):
        out["NextMarker"] = encode_token(start + limit)
    return out
