"""CreateFunction, UpdateFunctionCode/Configuration, GetFunction, ListFunctions, DeleteFunction."""

from __future__ import annotations

import json

from haneul.errors import AwsError
from haneul.services.awslambda import code as code_pkg
from haneul.services.awslambda import names, records, runtimes, signing
from haneul.services.awslambda.records import LATEST
from haneul.services.base import decode_token, encode_token

RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"})
MAX_LAYERS = 5
MAX_ENVIRONMENT_BYTES = 4096


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, Type="User")


def check_environment(environment: dict | None) -> dict | None:
    if environment is None:
        return None
    variables = environment.get("Variables") or {}
    reserved = sorted(k for k in variables if k in RESERVED_VARIABLES)
    if reserved:
        raise invalid("Lambda was unable to configure your environment variables because the environment "
                      "variables you have provided contains reserved keys that are currently not supported "
                      f"for modification. Reserved keys used in this request: {', '.join(reserved)}")
    size = len(json.dumps(variables, separators=(",", ":")).encode())
    if size > MAX_ENVIRONMENT_BYTES:
        raise invalid("Lambda was unable to configure your environment variables because the environment "
                      "variables you have provided exceeded the 4KB limit. String measured: "
                      + json.dumps(variables, separators=(",", ":"))[:200])
    return {"Variables": dict(variables)}


class FunctionOps:
    """Mixin of the Lambda service: functions and their code."""

    # -- helpers -----------------------------------------------------------------------------
    def _layers(self, ctx, arns: list[str] | None) -> tuple[list[dict], list[list[str]], int]:
        """(Layers member, [[blob, hex]], unzipped bytes) of a Layers request member."""
        arns = list(arns or [])
        if len(arns) > MAX_LAYERS:
            raise invalid(f"Cannot reference more than {MAX_LAYERS} layers.")
        out, blobs, unzipped = [], [], 0
        for arn in arns:
            parsed = names.parse_layer_version_arn(arn)
            if parsed is None:
                raise AwsError("ValidationException", f"1 validation error detected: Value '[{arn}]' at "
                               "'layers' failed to satisfy constraint: Member must satisfy constraint: "
                               "[Member must have length less than or equal to 140, Member must satisfy "
                               "regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:"
                               "layer:[a-zA-Z0-9-_]+:[0-9]+]")
            region, account, name, version = parsed
            row = ctx.db.execute("SELECT doc, blob FROM lambda_layer_version WHERE account=? AND region=? "
                                 "AND name=? AND version=?", (account, region, name, version)).fetchone()
            if row is None:
                raise invalid(f"Layer version {arn} does not exist.")
            doc = json.loads(row["doc"])
            out.append({"Arn": arn, "CodeSize": doc["Content"]["CodeSize"]})
            blobs.append([row["blob"], doc["_hex"]])
            unzipped += doc.get("_unzipped", 0)
        return out, blobs, unzipped

    async def _fetch_code(self, ctx, code: dict, operation: str) -> bytes:
        if code.get("ZipFile") is not None:
            return code["ZipFile"]
        if code.get("ImageUri"):
            raise invalid("Haneul runs .zip deployment packages only (container images need Docker).")
        bucket, key = code.get("S3Bucket"), code.get("S3Key")
        if not bucket or not key:
            raise invalid("Please provide a source for function code.")
        request = {"Bucket": bucket, "Key": key}
        if code.get("S3ObjectVersion"):
            request["VersionId"] = code["S3ObjectVersion"]
        try:
            out = await ctx.app.dispatcher.call(ctx, "s3", "GetObject", request)
        except AwsError as e:
            if e.code in ("NotImplementedException", "UnknownOperationException"):
                raise invalid("S3 is not available in this Haneul yet: upload the code with ZipFile.") from None
            raise invalid(f"Error occurred while GetObject. S3 Error Code: {e.code}. S3 Error Message: "
                          f"{e.message}") from None
        body = out.get("Body", b"")
        if isinstance(body, (bytes, bytearray)):
            return bytes(body)
        chunks = []
        async for chunk in body:
            chunks.append(chunk)
        return b"".join(chunks)

    def _store_code(self, ctx, data: bytes, layers_unzipped: int = 0) -> dict:
        info = code_pkg.inspect_zip(data)
        if info["unzipped"] + layers_unzipped > code_pkg.MAX_UNZIPPED:
            raise invalid(f"Function code combined with layers exceeds the maximum allowed size of "
                          f"{code_pkg.MAX_UNZIPPED} bytes. The actual size is "
                          f"{info['unzipped'] + layers_unzipped} bytes.")
        info["blob"] = ctx.store.blobs.write(data)
        return info

    def _config_answer(self, config: dict, state: str | None = None) -> dict:
        out = records.rendered(config)
        if state == "create":
            out.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating")
            out.pop("LastUpdateStatus", None)
        elif state == "update":
            out.update(LastUpdateStatus="InProgress", LastUpdateStatusReason="The function is being created.",
                       LastUpdateStatusReasonCode="Creating")
        return out

    # -- operations --------------------------------------------------------------------------
    async def create_function(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        if request.get("PackageType") == "Image":
            raise invalid("Haneul runs .zip deployment packages only (container images need Docker).")
        runtimes.check(request.get("Runtime"))
        if not request.get("Handler"):
            raise invalid("Runtime and Handler are mandatory parameters for functions created with "
                          "deployment packages.")
        environment = check_environment(request.get("Environment"))
        data = await self._fetch_code(ctx, request.get("Code") or {}, "CreateFunction")
        with ctx.store.transaction() as db:
            ctx.db = db
            try:
                exists = db.execute("SELECT 1 FROM lambda_function WHERE account=? AND region=? AND name=?",
                                    (ctx.account, ctx.region, name)).fetchone()
                if exists:
                    raise AwsError("ResourceConflictException", f"Function already exist: {name}", Type="User")
                signing.check_deploy(db, ctx, request.get("CodeSigningConfigArn"))
                layers, layer_blobs, layer_bytes = self._layers(ctx, request.get("Layers"))
                info = self._store_code(ctx, data, layer_bytes)
                now = ctx.now()
                config = {
                    "FunctionName": name,
                    "FunctionArn": names.function_arn(ctx.account, ctx.region, name),
                    "Runtime": request["Runtime"], "Role": request["Role"], "Handler": request["Handler"],
                    "CodeSize": info["size"], "Description": request.get("Description", ""),
                    "Timeout": request.get("Timeout", 3), "MemorySize": request.get("MemorySize", 128),
                    "LastModified": records.timestamp(now), "CodeSha256": info["sha256"], "Version": LATEST,
                    "TracingConfig": {"Mode": (request.get("TracingConfig") or {}).get("Mode", "PassThrough")},
                    "RevisionId": records.revision(), "State": "Active", "LastUpdateStatus": "Successful",
                    "PackageType": "Zip", "Architectures": request.get("Architectures") or ["x86_64"],
                    "EphemeralStorage": request.get("EphemeralStorage") or {"Size": 512},
                    "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
                    "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}",
                                      **(request.get("LoggingConfig") or {})},
                }
                if environment is not None:
                    config["Environment"] = environment
                if layers:
                    config["Layers"] = layers
                for member in ("DeadLetterConfig", "KMSKeyArn"):
                    if request.get(member):
                        config[member] = request[member]
                if request.get("VpcConfig"):
                    config["VpcConfig"] = {**request["VpcConfig"], "VpcId": ""}
                code = {"blob": info["blob"], "hex": info["hex"], "unzipped": info["unzipped"],
                        "layers": layer_blobs, "layers_unzipped": layer_bytes}
                db.execute("INSERT INTO lambda_function(account, region, name, created, tags, code_signing) "
                           "VALUES(?,?,?,?,?,?)", (ctx.account, ctx.region, name, now,
                                                   json.dumps(request.get("Tags") or {}),
                                                   request.get("CodeSigningConfigArn")))
                records.save_version(db, ctx.account, ctx.region, name, LATEST, config, code)
                answer = self._config_answer(config, "create")
                if request.get("Publish"):
                    published = self._publish(ctx, name, None, "")
                    answer["Version"] = published["Version"]
                    answer["FunctionArn"] = published["FunctionArn"]
                return answer
            finally:
                ctx.db = None

    def get_function(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        config, code, _ = records.resolve(ctx.db, ctx, name, qualifier)
        row = records.function_row(ctx.db, ctx, name)
        out = {"Configuration": self._config_answer(config),
               "Code": {"RepositoryType": "S3", "Location": self._code_url(ctx, code["blob"], name)}}
        tags = json.loads(row["tags"])
        if tags:
            out["Tags"] = tags
        if row["reserved"] is not None:
            out["Concurrency"] = {"ReservedConcurrentExecutions": row["reserved"]}
        return out

    def get_function_configuration(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        config, _, _ = records.resolve(ctx.db, ctx, name, qualifier)
        return self._config_answer(config)

    async def update_function_code(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        if request.get("ImageUri"):
            raise invalid("Haneul runs .zip deployment packages only (container images need Docker).")
        data = await self._fetch_code(ctx, request, "UpdateFunctionCode")
        with ctx.store.transaction() as db:
            ctx.db = db
            try:
                row = records.function_row(db, ctx, name)
                config, code = records.load_version(db, ctx.account, ctx.region, name, LATEST)
                records.check_revision(request.get("RevisionId"), config["RevisionId"])
                signing.check_deploy(db, ctx, row["code_signing"])
                info = code_pkg.inspect_zip(data)
                if request.get("DryRun"):
                    preview = dict(config, CodeSha256=info["sha256"], CodeSize=info["size"])
                    return self._config_answer(preview)
                info = self._store_code(ctx, data, code.get("layers_unzipped", 0))
                config.update(CodeSha256=info["sha256"], CodeSize=info["size"], RevisionId=records.revision(),
                              LastModified=records.timestamp(ctx.now()))
                if request.get("Architectures"):
                    config["Architectures"] = request["Architectures"]
                code.update(blob=info["blob"], hex=info["hex"], unzipped=info["unzipped"])
                records.save_version(db, ctx.account, ctx.region, name, LATEST, config, code)
                answer = self._config_answer(config, "update")
                if request.get("Publish"):
                    published = self._publish(ctx, name, None, "")
                    answer.update(Version=published["Version"], FunctionArn=published["FunctionArn"])
                return answer
            finally:
                ctx.db = None

    def update_function_configuration(self, ctx, request: dict) -> dict:
        name, _ = names.parse_function(ctx, request["FunctionName"], allow_qualifier=False)
        records.function_row(ctx.db, ctx, name)
        config, code = records.load_version(ctx.db, ctx.account, ctx.region, name, LATEST)
        records.check_revision(request.get("RevisionId"), config["RevisionId"])
        if "Runtime" in request:
            runtimes.check(request["Runtime"])
        for member in ("Role", "Handler", "Description", "Timeout", "MemorySize", "Runtime",
                       "EphemeralStorage", "KMSKeyArn"):
            if member in request:
                config[member] = request[member]
        if "Environment" in request:
            env = check_environment(request["Environment"])
            if env and env["Variables"]:
                config["Environment"] = env
            else:
                config.pop("Environment", None)
        if "TracingConfig" in request:
            config["TracingConfig"] = {"Mode": request["TracingConfig"].get("Mode", "PassThrough")}
        if "DeadLetterConfig" in request:
            if request["DeadLetterConfig"].get("TargetArn"):
                config["DeadLetterConfig"] = request["DeadLetterConfig"]
            else:
                config.pop("DeadLetterConfig", None)
        if "LoggingConfig" in request:
            config["LoggingConfig"] = {**config.get("LoggingConfig", {}), **request["LoggingConfig"]}
        if "VpcConfig" in request:
            config["VpcConfig"] = {**request["VpcConfig"], "VpcId": ""}
        if "Layers" in request:
            layers, blobs, layer_bytes = self._layers(ctx, request["Layers"])
            if code["unzipped"] + layer_bytes > code_pkg.MAX_UNZIPPED:
                raise invalid("Function code combined with layers exceeds the maximum allowed size of "
                              f"{code_pkg.MAX_UNZIPPED} bytes.")
            if layers:
                config["Layers"] = layers
            else:
                config.pop("Layers", None)
            code["layers"], code["layers_unzipped"] = blobs, layer_bytes
        config.update(RevisionId=records.revision(), LastModified=records.timestamp(ctx.now()))
        records.save_version(ctx.db, ctx.account, ctx.region, name, LATEST, config, code)
        return self._config_answer(config, "update")

    def list_functions(self, ctx, request: dict) -> dict:
        everything = request.get("FunctionVersion") == "ALL"
        rows = ctx.db.execute(
            "SELECT v.name, v.version, v.config FROM lambda_version v WHERE v.account=? AND v.region=? "
            + ("" if everything else "AND v.version='$LATEST' ") + "ORDER BY v.name, "
            "CASE v.version WHEN '$LATEST' THEN 0 ELSE CAST(v.version AS INTEGER) END",
            (ctx.account, ctx.region)).fetchall()
        items = [(r["name"], r["version"], r["config"]) for r in rows]
        start = 0
        if request.get("Marker"):
            last = decode_token(request["Marker"], lambda: invalid("Invalid marker"))
            start = next((i for i, it in enumerate(items) if [it[0], it[1]] == last), -1) + 1
        limit = request.get("MaxItems") or 50
        page = items[start:start + limit]
        out = {"Functions": [self._config_answer(json.loads(c)) for _, _, c in page]}
        if start + limit < len(items) and page:
            out["NextMarker"] = encode_token([page[-1][0], page[-1][1]])
        return out

    def delete_function(self, ctx, request: dict) -> dict:
        name, qualifier = names.parse_function(ctx, request["FunctionName"], request.get("Qualifier"))
        records.function_row(ctx.db, ctx, name)
        key = (ctx.account, ctx.region, name)
        if qualifier and qualifier != LATEST:
            if names.check_qualifier(qualifier) != "version":
                raise invalid("Deletion of aliases is not currently supported.")
            found = records.load_version(ctx.db, *key, qualifier)
            if found is None:
                raise names.not_found(*key, qualifier)
            used = ctx.db.execute("SELECT alias FROM lambda_alias WHERE account=? AND region=? AND name=? AND "
                                  "(version=? OR routing LIKE ?)", (*key, qualifier, f'%"{qualifier}"%')).fetchone()
            if used:
                raise AwsError("ResourceConflictException", f"Unable to delete version because the following "
                               f"aliases reference it: [{used['alias']}]", Type="User")
            ctx.db.execute("DELETE FROM lambda_version WHERE account=? AND region=? AND name=? AND version=?",
                           (*key, qualifier))
            for table in ("lambda_policy", "lambda_event_invoke_config", "lambda_provisioned", "lambda_url",
                          "lambda_runtime_management"):
                ctx.db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND name=? AND qualifier=?",
                               (*key, qualifier))
            self._stop_environments(ctx, name, qualifier)
            return {"StatusCode": 204}
        for table in ("lambda_version", "lambda_alias", "lambda_policy", "lambda_event_invoke_config",
                      "lambda_provisioned", "lambda_url", "lambda_function", "lambda_esm", "lambda_runtime_management"):
            ctx.db.execute(f"DELETE FROM {table} WHERE account=? AND region=? AND name=?", key)
        self._stop_environments(ctx, name, None)
        return {"StatusCode": 204}

    def _stop_environments(self, ctx, name: str, version: str | None) -> None:
        from haneul.services.awslambda import provisioning
        from haneul.services.awslambda.engine import _engines
        provisioning.schedule(ctx, name)
        owner = ctx.app if ctx.app is not None else ctx.store
        engine = _engines.get(owner)
        if engine is not None:
            engine.stop_function(ctx.account, ctx.region, name, version)

    def _code_url(self, ctx, blob: str, name: str) -> str:
        from haneul.services.awslambda import web
        return web.code_url(ctx, blob, name)
