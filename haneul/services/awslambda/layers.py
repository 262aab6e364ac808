"""Layers and layer versions, with their permissions."""

from __future__ import annotations

import json

from haneul.errors import AwsError
from haneul.services.awslambda import code as code_pkg
from haneul.services.awslambda import names, records
from haneul.services.base import decode_token, encode_token


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, Type="User")


class LayerOps:
    def _layer_answer(self, ctx, doc: dict, blob: str, name: str) -> dict:
        out = {k: v for k, v in doc.items() if not k.startswith("_")}
        out["Content"] = dict(out["Content"], Location=self._code_url(ctx, blob, name))
        return out

    def _layer_row(self, ctx, name: str, version: int, account: str | None = None, region: str | None = None):
        row = ctx.db.execute("SELECT * FROM lambda_layer_version WHERE account=? AND region=? AND name=? AND "
                             "version=?", (account or ctx.account, region or ctx.region, name, version)).fetchone()
        if row is None:
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", Type="User")
        return row

    async def publish_layer_version(self, ctx, request: dict) -> dict:
        name = names.parse_layer_name(ctx, request["LayerName"])
        data = await self._fetch_code(ctx, request.get("Content") or {}, "PublishLayerVersion")
        info = code_pkg.inspect_zip(data, "layer")
        with ctx.store.transaction() as db:
            ctx.db = db
            try:
                db.execute("INSERT INTO lambda_layer(account, region, name) VALUES(?,?,?) ON CONFLICT DO NOTHING",
                           (ctx.account, ctx.region, name))
                version = db.execute("SELECT next_version FROM lambda_layer WHERE account=? AND region=? AND "
                                     "name=?", (ctx.account, ctx.region, name)).fetchone()[0]
                db.execute("UPDATE lambda_layer SET next_version=next_version+1 WHERE account=? AND region=? AND "
                           "name=?", (ctx.account, ctx.region, name))
                blob = ctx.store.blobs.write(data)
                doc = {"Content": {"CodeSha256": info["sha256"], "CodeSize": info["size"]},
                       "LayerArn": names.layer_arn(ctx.account, ctx.region, name),
                       "LayerVersionArn": names.layer_arn(ctx.account, ctx.region, name, version),
                       "Description": request.get("Description", ""),
                       "CreatedDate": records.timestamp(ctx.now()), "Version": version,
                       "_hex": info["hex"], "_unzipped": info["unzipped"]}
                for member in ("CompatibleRuntimes", "LicenseInfo", "CompatibleArchitectures"):
                    if request.get(member):
                        doc[member] = request[member]
                db.execute("INSERT INTO lambda_layer_version(account, region, name, version, doc, blob, "
                           "revision_id) VALUES(?,?,?,?,?,?,?)",
                           (ctx.account, ctx.region, name, version, json.dumps(doc), blob, records.revision()))
                return self._layer_answer(ctx, doc, blob, name)
            finally:
                ctx.db = None

    def get_layer_version(self, ctx, request: dict) -> dict:
        name = names.parse_layer_name(ctx, request["LayerName"])
        row = self._layer_row(ctx, name, request["VersionNumber"])
        return self._layer_answer(ctx, json.loads(row["doc"]), row["blob"], name)

    def get_layer_version_by_arn(self, ctx, request: dict) -> dict:
        parsed = names.parse_layer_version_arn(request["Arn"])
        if parsed is None:
            raise invalid(f"Invalid layer version ARN: {request['Arn']}")
        region, account, name, version = parsed
        row = self._layer_row(ctx, name, version, account, region)
        return self._layer_answer(ctx, json.loads(row["doc"]), row["blob"], name)

    def delete_layer_version(self, ctx, request: dict) -> dict:
        # the content stays: functions that use this version keep working, as on AWS
        name = names.parse_layer_name(ctx, request["LayerName"])
        ctx.db.execute("DELETE FROM lambda_layer_version WHERE account=? AND region=? AND name=? AND version=?",
                       (ctx.account, ctx.region, name, request["VersionNumber"]))
        return {}

    def _matches(self, doc: dict, request: dict) -> bool:
        runtime, arch = request.get("CompatibleRuntime"), request.get("CompatibleArchitecture")
        return ((not runtime or runtime in doc.get("CompatibleRuntimes", []))
                and (not arch or arch in doc.get("CompatibleArchitectures", [])))

    def _paged(self, request, items: list, member: str) -> dict:
        start = 0
        if request.get("Marker"):
            start = decode_token(request["Marker"], lambda: invalid("Invalid marker"))
        limit = request.get("MaxItems") or 50
        out = {member: items[start:start + limit]}
        if start + limit < len(items):
            out["NextMarker"] = encode_token(start + limit)
        return out

    def list_layer_versions(self, ctx, request: dict) -> dict:
        name = names.parse_layer_name(ctx, request["LayerName"])
        rows = ctx.db.execute("SELECT doc FROM lambda_layer_version WHERE account=? AND region=? AND name=? "
                              "ORDER BY version DESC", (ctx.account, ctx.region, name)).fetchall()
        docs = [json.loads(r["doc"]) for r in rows]
        items = [{k: v for k, v in d.items() if not k.startswith("_") and k != "Content"}
                 for d in docs if self._matches(d, request)]
        return self._paged(request, items, "LayerVersions")

    def list_layers(self, ctx, request: dict) -> dict:
        rows = ctx.db.execute("SELECT name, doc FROM lambda_layer_version WHERE account=? AND region=? "
                              "ORDER BY name, version DESC", (ctx.account, ctx.region)).fetchall()
        latest: dict[str, dict] = {}
        for r in rows:
            doc = json.loads(r["doc"])
            if r["name"] not in latest and self._matches(doc, request):
                latest[r["name"]] = doc
        items = [{"LayerName": n, "LayerArn": d["LayerArn"],
                  "LatestMatchingVersion": {k: v for k, v in d.items()
                                            if not k.startswith("_") and k not in ("Content", "LayerArn")}}
                 for n, d in latest.items()]
        return self._paged(request, items, "Layers")

    # -- layer permissions -------------------------------------------------------------------
    def add_layer_version_permission(self, ctx, request: dict) -> dict:
        name = names.parse_layer_name(ctx, request["LayerName"])
        row = self._layer_row(ctx, name, request["VersionNumber"])
        records.check_revision(request.get("RevisionId"), row["revision_id"])
        statements = json.loads(row["policy"])
        if any(s["Sid"] == request["StatementId"] for s in statements):
            raise AwsError("ResourceConflictException", f"The statement id ({request['StatementId']}) provided "
                           "already exists. Please provide a new statement id, or remove the existing statement.",
                           Type="User")
        principal = request["Principal"]
        statement = {"Sid": request["StatementId"], "Effect": "Allow",
                     "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
                     "Action": request["Action"],
                     "Resource": names.layer_arn(ctx.account, ctx.region, name, request["VersionNumber"])}
        if request.get("OrganizationId"):
            statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": request["OrganizationId"]}}
        statements.append(statement)
        revision = records.revision()
        ctx.db.execute("UPDATE lambda_layer_version SET policy=?, revision_id=? WHERE account=? AND region=? AND "
                       "name=? AND version=?", (json.dumps(statements), revision, ctx.account, ctx.region, name,
                                                request["VersionNumber"]))
        return {"Statement": json.dumps(statement), "RevisionId": revision}

    def get_layer_version_policy(self, ctx, request: dict) -> dict:
        name = names.parse_layer_name(ctx, request["LayerName"])
        row = self._layer_row(ctx, name, request["VersionNumber"])
        statements = json.loads(row["policy"])
        if not statements:
            raise AwsError("ResourceNotFoundException", "No policy is associated with the given resource.",
                           Type="User")
        return {"Policy": json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": statements}),
                "RevisionId": row["revision_id"]}

    def remove_layer_version_permission(self, ctx, request: dict) -> dict:
        name = names.parse_layer_name(ctx, request["LayerName"])
        row = self._layer_row(ctx, name, request["VersionNumber"])
        records.check_revision(request.get("RevisionId"), row["revision_id"])
        statements = json.loads(row["policy"])
        kept = [s for s in statements if s["Sid"] != request["StatementId"]]
        if len(kept) == len(statements):
            raise AwsError("ResourceNotFoundException", f"Statement {request['StatementId']} is not found in "
                           "resource policy.", Type="User")
        ctx.db.execute("UPDATE lambda_layer_version SET policy=?, revision_id=? WHERE account=? AND region=? AND "
                       "name=? AND version=?", (json.dumps(kept), records.revision(), ctx.account, ctx.region,
                                                name, request["VersionNumber"]))
        return {}
