"""ImportRestApi, PutRestApi and GetExport: OpenAPI 3 and Swagger 2 definitions with the
`x-amazon-apigateway-*` extensions (how SAM, the Serverless Framework and CDK define APIs)."""

from __future__ import annotations

import json
import re

from haneul.services.apigateway import records
from haneul.services.apigateway.apiparts import GATEWAY_RESPONSES
from haneul.services.apigateway.records import bad_request
from haneul.services.apigateway.restapis import load_api, save_resource
from haneul.services.base import utcnow

X = "x-amazon-apigateway-"
VERBS = ("get", "put", "post", "delete", "options", "head", "patch")
_REF = re.compile(r"^#/(?:definitions|components/schemas)/(.+)$")


def parse_definition(body) -> dict:
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise bad_request("Invalid OpenAPI input: the body is not UTF-8 text") from None
    body = (body or "").strip()
    if not body:
        raise bad_request("Invalid OpenAPI input: the body is empty")
    try:
        spec = json.loads(body)
    except (ValueError, RecursionError):      # nesting deeper than the parser's stack
        try:
            import yaml
            spec = yaml.safe_load(body)
        except Exception:
            raise bad_request("Invalid OpenAPI input: not JSON or YAML") from None
    if not isinstance(spec, dict) or not ("swagger" in spec or "openapi" in spec):
        raise bad_request("Invalid OpenAPI input: expected a Swagger 2.0 or OpenAPI 3 definition")
    return spec


def _upper(value):
    return value.upper() if isinstance(value, str) else value


def _model_ref(schema: dict | None) -> str | None:
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        m = _REF.match(schema["$ref"])
        if m:
            return m.group(1)
    return None


def _rewrite_refs(schema, api_id: str):
    if isinstance(schema, dict):
        out = {}
        for k, v in schema.items():
            if k == "$ref" and isinstance(v, str) and _REF.match(v):
                out[k] = f"https://apigateway.amazonaws.com/restapis/{api_id}/models/{_REF.match(v).group(1)}"
            else:
                out[k] = _rewrite_refs(v, api_id)
        return out
    if isinstance(schema, list):
        return [_rewrite_refs(v, api_id) for v in schema]
    return schema


class Importer:
    """Applies a definition to a REST API's records (in one transaction)."""

    def __init__(self, ctx, api: dict, spec: dict, mode: str, fail_on_warnings: bool, parameters: dict):
        self.ctx, self.db, self.api, self.spec = ctx, ctx.db, api, spec
        self.mode = mode
        self.fail = fail_on_warnings
        self.parameters = parameters or {}
        self.warnings: list[str] = []
        self.v3 = "openapi" in spec
        self.authorizer_ids: dict[str, str] = {}
        self.api_key_schemes: set[str] = set()
        self.iam_schemes: set[str] = set()
        self.validator_ids: dict[str, str] = {}

    def warn(self, text: str) -> None:
        if self.fail:
            raise bad_request(f"Errors found during import:\n\t{text}")
        self.warnings.append(text)

    def run(self) -> dict:
        api_id = self.api["id"]
        spec = self.spec
        if self.mode == "overwrite":
            for kind in ("resource", "model", "authorizer", "requestvalidator", "gatewayresponse"):
                records.delete(self.db, self.ctx, kind, api_id)
            root = {"id": self.api.get("rootResourceId") or records.new_id(), "path": "/", "resourceMethods": {}}
            save_resource(self.db, self.ctx, api_id, root)
            self.api["rootResourceId"] = root["id"]
        info = spec.get("info") or {}
        if info.get("title"):
            self.api["name"] = info["title"]
        if info.get("description") is not None:
            self.api["description"] = info["description"]
        if info.get("version") is not None:
            self.api["version"] = str(info["version"])
        if spec.get(X + "binary-media-types"):
            self.api["binaryMediaTypes"] = list(spec[X + "binary-media-types"])
        if spec.get(X + "api-key-source"):
            self.api["apiKeySource"] = spec[X + "api-key-source"].upper()
        if spec.get(X + "minimum-compression-size") is not None:
            self.api["minimumCompressionSize"] = int(spec[X + "minimum-compression-size"])
        if spec.get(X + "policy"):
            policy = spec[X + "policy"]
            self.api["policy"] = policy if isinstance(policy, str) else json.dumps(policy)
        endpoint = spec.get(X + "endpoint-configuration") or {}
        types = self.parameters.get("endpointConfigurationTypes")
        if types:
            self.api["endpointConfiguration"] = {"types": [types.upper()], "ipAddressType": "ipv4"}
        if endpoint.get("disableExecuteApiEndpoint") is not None:
            self.api["disableExecuteApiEndpoint"] = bool(endpoint["disableExecuteApiEndpoint"])
        self._models()
        self._security()
        self._validators()
        self._gateway_responses()
        self._paths()
        if self.warnings:
            self.api["warnings"] = self.warnings
        records.put(self.db, self.ctx, "restapi", "", api_id, {k: v for k, v in self.api.items() if k != "warnings"})
        return self.api

    def _models(self) -> None:
        schemas = (self.spec.get("components") or {}).get("schemas") if self.v3 else self.spec.get("definitions")
        for name, schema in (schemas or {}).items():
            if not re.match(r"^[a-zA-Z0-9]+$", name):
                self.warn(f"Model name '{name}' is not alphanumeric; skipped")
                continue
            doc = records.get(self.db, self.ctx, "model", self.api["id"], name) or {"id": records.new_id(6)}
            doc.update({"name": name, "contentType": "application/json",
                        "schema": json.dumps(_rewrite_refs(schema, self.api["id"]))})
            if isinstance(schema, dict) and schema.get("description"):
                doc["description"] = schema["description"]
            records.put(self.db, self.ctx, "model", self.api["id"], name, doc)

    def _security(self) -> None:
        schemes = ((self.spec.get("components") or {}).get("securitySchemes") if self.v3
                   else self.spec.get("securityDefinitions")) or {}
        for name, scheme in schemes.items():
            auth = scheme.get(X + "authorizer")
            if auth:
                kind = (auth.get("type") or "token").upper()
                doc = {"id": records.new_id(6), "name": name,
                       "type": "COGNITO_USER_POOLS" if kind == "COGNITO_USER_POOLS" else kind,
                       "authType": scheme.get(X + "authtype") or ("cognito_user_pools" if kind ==
                                                                   "COGNITO_USER_POOLS" else "custom")}
                for key in ("authorizerUri", "authorizerCredentials", "identityValidationExpression",
                            "authorizerResultTtlInSeconds", "providerARNs"):
                    if auth.get(key) is not None:
                        doc[key] = auth[key]
                source = auth.get("identitySource")
                if source is None and kind == "TOKEN" and scheme.get("in") == "header" and scheme.get("name"):
                    source = f"method.request.header.{scheme['name']}"
                if source:
                    doc["identitySource"] = source
                if kind in ("TOKEN", "REQUEST"):
                    doc.setdefault("authorizerResultTtlInSeconds", 300)
                records.put(self.db, self.ctx, "authorizer", self.api["id"], doc["id"], doc)
                self.authorizer_ids[name] = doc["id"]
            elif scheme.get(X + "authtype") == "awsSigv4":
                self.iam_schemes.add(name)
            elif scheme.get("type") == "apiKey":
                self.api_key_schemes.add(name)

    def _validators(self) -> None:
        for name, v in (self.spec.get(X + "request-validators") or {}).items():
            doc = {"id": records.new_id(6), "name": name,
                   "validateRequestBody": bool(v.get("validateRequestBody")),
                   "validateRequestParameters": bool(v.get("validateRequestParameters"))}
            records.put(self.db, self.ctx, "requestvalidator", self.api["id"], doc["id"], doc)
            self.validator_ids[name] = doc["id"]

    def _gateway_responses(self) -> None:
        for kind, r in (self.spec.get(X + "gateway-responses") or {}).items():
            if kind not in GATEWAY_RESPONSES:
                self.warn(f"Invalid gateway response type {kind}")
                continue
            doc = {"responseType": kind, "statusCode": str(r.get("statusCode") or GATEWAY_RESPONSES[kind] or ""),
                   "responseParameters": r.get("responseParameters") or {},
                   "responseTemplates": r.get("responseTemplates") or {}, "defaultResponse": False}
            if not doc["statusCode"]:
                doc.pop("statusCode")
            records.put(self.db, self.ctx, "gatewayresponse", self.api["id"], kind, doc)

    def _resource_for(self, path: str, by_path: dict[str, dict]) -> dict:
        base = self.parameters.get("basepath")
        if base == "prepend" and self.spec.get("basePath"):
            path = self.spec["basePath"].rstrip("/") + path
        if path in by_path:
            return by_path[path]
        parent_path = path.rsplit("/", 1)[0] or "/"
        parent = self._resource_for(parent_path, by_path)
        resource = {"id": records.new_id(6), "parentId": parent["id"], "pathPart": path.rsplit("/", 1)[1],
                    "path": path, "resourceMethods": {}}
        by_path[path] = resource
        return resource

    def _paths(self) -> None:
        api_id = self.api["id"]
        by_path = {r["path"]: r for r in records.items(self.db, self.ctx, "resource", api_id)}
        default_validator = self.spec.get(X + "request-validator")
        global_security = self.spec.get("security")
        for path, item in (self.spec.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            path = "/" + path.strip("/") if path != "/" else "/"
            resource = self._resource_for(path, by_path)
            shared_params = item.get("parameters") or []
            for verb, op in item.items():
                if verb == X + "any-method":
                    verb = "ANY"
                elif verb in VERBS:
                    verb = verb.upper()
                else:
                    continue
                resource["resourceMethods"][verb] = self._method(op or {}, shared_params, default_validator,
                                                                 global_security, resource["id"])
        for r in by_path.values():
            save_resource(self.db, self.ctx, api_id, r)

    def _method(self, op: dict, shared_params: list, default_validator, global_security, resource_id) -> dict:
        method = {"authorizationType": "NONE", "apiKeyRequired": False}
        if op.get("operationId"):
            method["operationName"] = op["operationId"]
        security = op.get("security", global_security) or []
        scopes: list[str] = []
        for requirement in security:
            for name, req_scopes in (requirement or {}).items():
                if name in self.authorizer_ids:
                    auth = records.get(self.db, self.ctx, "authorizer", self.api["id"], self.authorizer_ids[name])
                    method["authorizationType"] = "COGNITO_USER_POOLS" if auth["type"] == "COGNITO_USER_POOLS" \
                        else "CUSTOM"
                    method["authorizerId"] = auth["id"]
                    scopes.extend(req_scopes or [])
                elif name in self.iam_schemes:
                    method["authorizationType"] = "AWS_IAM"
                elif name in self.api_key_schemes:
                    method["apiKeyRequired"] = True
        if scopes:
            method["authorizationScopes"] = scopes
        params = {}
        for p in list(shared_params) + list(op.get("parameters") or []):
            if "$ref" in p:
                continue
            where = {"path": "path", "query": "querystring", "header": "header"}.get(p.get("in"))
            if where:
                params[f"method.request.{where}.{p['name']}"] = bool(p.get("required"))
            elif p.get("in") == "body":
                ref = _model_ref(p.get("schema"))
                if ref:
                    method.setdefault("requestModels", {})["application/json"] = ref
        if params:
            method["requestParameters"] = params
        body = op.get("requestBody") or {}
        for ctype, media in (body.get("content") or {}).items():
            ref = _model_ref((media or {}).get("schema"))
            if ref:
                method.setdefault("requestModels", {})[ctype] = ref
        validator = op.get(X + "request-validator", default_validator)
        if validator:
            if validator in self.validator_ids:
                method["requestValidatorId"] = self.validator_ids[validator]
            else:
                self.warn(f"Request validator '{validator}' is not defined")
        responses = {}
        for code, resp in (op.get("responses") or {}).items():
            if not re.match(r"^\d{3}$", str(code)):
                continue
            mr = {"statusCode": str(code)}
            headers = (resp or {}).get("headers") or {}
            if headers:
                mr["responseParameters"] = {f"method.response.header.{h}": False for h in headers}
            ref = _model_ref((resp or {}).get("schema"))
            if ref:
                mr["responseModels"] = {"application/json": ref}
            for ctype, media in ((resp or {}).get("content") or {}).items():
                ref = _model_ref((media or {}).get("schema"))
                if ref:
                    mr.setdefault("responseModels", {})[ctype] = ref
            responses[str(code)] = mr
        if responses:
            method["methodResponses"] = responses
        integration = op.get(X + "integration")
        if integration:
            method["methodIntegration"] = self._integration(integration, resource_id)
        return method

    def _integration(self, x: dict, resource_id: str) -> dict:
        out = {"type": _upper(x.get("type") or "MOCK"),
               "passthroughBehavior": _upper(x.get("passthroughBehavior") or "WHEN_NO_MATCH"),
               "timeoutInMillis": int(x.get("timeoutInMillis") or 29000),
               "cacheNamespace": x.get("cacheNamespace") or resource_id,
               "cacheKeyParameters": x.get("cacheKeyParameters") or []}
        if x.get("httpMethod"):
            out["httpMethod"] = x["httpMethod"].upper()
        for key in ("uri", "credentials", "requestTemplates", "requestParameters", "connectionId", "tlsConfig"):
            if x.get(key) is not None:
                out[key] = x[key]
        if x.get("contentHandling"):
            out["contentHandling"] = x["contentHandling"].upper()
        if x.get("connectionType"):
            out["connectionType"] = x["connectionType"].upper()
        elif out["type"] != "MOCK":
            out["connectionType"] = "INTERNET"
        if out["type"] in ("AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY") and not out.get("uri"):
            self.warn("Integration of type " + out["type"] + " has no uri")
        responses = {}
        for pattern, r in (x.get("responses") or {}).items():
            code = str((r or {}).get("statusCode") or "200")
            ir = {"statusCode": code}
            if pattern != "default":
                ir["selectionPattern"] = pattern
            for key in ("responseTemplates", "responseParameters"):
                if r.get(key) is not None:
                    ir[key] = r[key]
            if r.get("contentHandling"):
                ir["contentHandling"] = r["contentHandling"].upper()
            responses[code] = ir
        if responses:
            out["integrationResponses"] = responses
        return out


def export(ctx, api: dict, snapshot: dict, stage: dict, export_type: str, extensions: set[str]) -> dict:
    """An OpenAPI 3 (oas30) or Swagger 2 (swagger) document of what a stage serves."""
    v3 = export_type == "oas30"
    with_integrations = "integrations" in extensions or "apigateway" in extensions
    with_authorizers = "authorizers" in extensions or "apigateway" in extensions
    doc: dict = {}
    if v3:
        doc["openapi"] = "3.0.1"
    else:
        doc["swagger"] = "2.0"
    info = {"title": api.get("name"), "version": api.get("version") or
            utcnow(ctx).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if api.get("description"):
        info["description"] = api["description"]
    doc["info"] = info
    host = f"{api['id']}.execute-api.{ctx.region}.amazonaws.com"
    if v3:
        doc["servers"] = [{"url": f"https://{host}/{{basePath}}",
                           "variables": {"basePath": {"default": stage["stageName"]}}}]
    else:
        doc["host"] = host
        doc["basePath"] = f"/{stage['stageName']}"
        doc["schemes"] = ["https"]
    authorizers = {a["id"]: a for a in snapshot.get("authorizers") or ()}
    validators = {v["id"]: v for v in snapshot.get("validators") or ()}
    used_auth: set[str] = set()
    api_key = False
    paths: dict = {}
    for r in sorted(snapshot.get("resources") or (), key=lambda r: r["path"]):
        methods = r.get("resourceMethods") or {}
        if not methods:
            continue
        entry = paths.setdefault(r["path"], {})
        for verb, m in methods.items():
            op: dict = {}
            if m.get("operationName"):
                op["operationId"] = m["operationName"]
            params = []
            for key, required in (m.get("requestParameters") or {}).items():
                _, _, where, name = key.split(".", 3)
                where = {"querystring": "query"}.get(where, where)
                p = {"name": name, "in": where, "required": bool(required) or where == "path"}
                if v3:
                    p["schema"] = {"type": "string"}
                else:
                    p["type"] = "string"
                params.append(p)
            if params:
                op["parameters"] = params
            models = m.get("requestModels") or {}
            if models:
                if v3:
                    op["requestBody"] = {"content": {ct: {"schema": {"$ref": f"#/components/schemas/{name}"}}
                                                     for ct, name in models.items()}, "required": True}
                else:
                    op.setdefault("parameters", []).append(
                        {"in": "body", "name": next(iter(models.values())), "required": True,
                         "schema": {"$ref": f"#/definitions/{next(iter(models.values()))}"}})
            responses = {}
            for code, mr in (m.get("methodResponses") or {}).items():
                resp: dict = {"description": f"{code} response"}
                headers = {k.rsplit(".", 1)[1]: {"schema": {"type": "string"}} if v3 else {"type": "string"}
                           for k in (mr.get("responseParameters") or {})}
                if headers:
                    resp["headers"] = headers
                for ct, name in (mr.get("responseModels") or {}).items():
                    if v3:
                        resp.setdefault("content", {})[ct] = {"schema": {"$ref": f"#/components/schemas/{name}"}}
                    else:
                        resp["schema"] = {"$ref": f"#/definitions/{name}"}
                responses[code] = resp
            op["responses"] = responses or {"200": {"description": "200 response"}}
            security = []
            if m.get("authorizationType") in ("CUSTOM", "COGNITO_USER_POOLS") and m.get("authorizerId") in authorizers:
                name = authorizers[m["authorizerId"]]["name"]
                used_auth.add(m["authorizerId"])
                security.append({name: m.get("authorizationScopes") or []})
            elif m.get("authorizationType") == "AWS_IAM":
                used_auth.add("sigv4")
                security.append({"sigv4": []})
            if m.get("apiKeyRequired"):
                api_key = True
                security.append({"api_key": []})
            if security:
                op["security"] = security
            if with_integrations and m.get("requestValidatorId") in validators:
                op[X + "request-validator"] = validators[m["requestValidatorId"]]["name"]
            if with_integrations and m.get("methodIntegration"):
                op[X + "integration"] = _export_integration(m["methodIntegration"])
            entry["x-amazon-apigateway-any-method" if verb == "ANY" else verb.lower()] = op
    doc["paths"] = paths
    schemes: dict = {}
    if api_key:
        schemes["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
    for aid in used_auth:
        if aid == "sigv4":
            schemes["sigv4"] = {"type": "apiKey", "name": "Authorization", "in": "header",
                                X + "authtype": "awsSigv4"}
            continue
        a = authorizers[aid]
        scheme = {"type": "apiKey", "name": (a.get("identitySource") or "Authorization").rsplit(".", 1)[-1],
                  "in": "header", X + "authtype": a.get("authType") or "custom"}
        if with_authorizers:
            auth = {"type": a["type"].lower()}
            for key in ("authorizerUri", "authorizerCredentials", "identitySource", "identityValidationExpression",
                        "authorizerResultTtlInSeconds", "providerARNs"):
                if a.get(key) is not None:
                    auth[key] = a[key]
            scheme[X + "authorizer"] = auth
        schemes[a["name"]] = scheme
    models = {}
    for m in snapshot.get("models") or ():
        try:
            schema = json.loads(m.get("schema") or "{}")
        except (ValueError, RecursionError):
            schema = {}
        schema.pop("$schema", None)
        models[m["name"]] = _export_refs(schema, v3)
    if v3:
        components: dict = {}
        if models:
            components["schemas"] = models
        if schemes:
            components["securitySchemes"] = schemes
        doc["components"] = components
    else:
        if models:
            doc["definitions"] = models
        if schemes:
            doc["securityDefinitions"] = schemes
    if with_integrations:
        if validators:
            doc[X + "request-validators"] = {v["name"]: {"validateRequestBody": v.get("validateRequestBody", False),
                                                        "validateRequestParameters":
                                                            v.get("validateRequestParameters", False)}
                                             for v in validators.values()}
        responses = {g["responseType"]: {k: g[k] for k in ("statusCode", "responseParameters", "responseTemplates")
                                         if g.get(k)} for g in snapshot.get("gatewayResponses") or ()}
        if responses:
            doc[X + "gateway-responses"] = responses
        if api.get("binaryMediaTypes"):
            doc[X + "binary-media-types"] = api["binaryMediaTypes"]
        if api.get("policy"):
            try:
                doc[X + "policy"] = json.loads(api["policy"])
            except (ValueError, RecursionError):
                pass
    return doc


def _export_integration(i: dict) -> dict:
    out = {"type": i["type"].lower()}
    for key in ("httpMethod", "uri", "credentials", "requestParameters", "requestTemplates", "passthroughBehavior",
                "contentHandling", "timeoutInMillis", "cacheNamespace", "cacheKeyParameters", "connectionType",
                "connectionId"):
        value = i.get(key)
        if value not in (None, [], {}):
            out[key] = value.lower() if key == "passthroughBehavior" else value
    responses = {}
    for code, r in (i.get("integrationResponses") or {}).items():
        entry = {"statusCode": code}
        for key in ("responseTemplates", "responseParameters", "contentHandling"):
            if r.get(key):
                entry[key] = r[key]
        responses[r.get("selectionPattern") or "default"] = entry
    if responses:
        out["responses"] = responses
    return out


def _export_refs(schema, v3: bool):
    if isinstance(schema, dict):
        out = {}
        for k, v in schema.items():
            if k == "$ref" and isinstance(v, str) and "/models/" in v:
                name = v.rsplit("/", 1)[-1]
                out[k] = f"#/components/schemas/{name}" if v3 else f"#/definitions/{name}"
            else:
                out[k] = _export_refs(v, v3)
        return out
    if isinstance(schema, list):
        return [_export_refs(v, v3) for v in schema]
    return schema


class OpenApiOps:
    def import_rest_api(self, ctx, request):
        spec = parse_definition(request.get("body"))
        api = self.create_rest_api(ctx, {"name": (spec.get("info") or {}).get("title") or "imported"})
        api = records.get(ctx.db, ctx, "restapi", "", api["id"])
        for kind in ("model",):       # imports define their own models
            records.delete(ctx.db, ctx, kind, api["id"])
        out = Importer(ctx, api, spec, "merge", bool(request.get("failOnWarnings")),
                       request.get("parameters") or {}).run()
        return records.clean(out)

    def put_rest_api(self, ctx, request):
        api = load_api(ctx.db, ctx, request["restApiId"])
        spec = parse_definition(request.get("body"))
        mode = request.get("mode") or "merge"
        if mode not in ("merge", "overwrite"):
            raise bad_request("Invalid mode specified. Valid options are merge, overwrite")
        out = Importer(ctx, api, spec, mode, bool(request.get("failOnWarnings")),
                       request.get("parameters") or {}).run()
        return records.clean(out)

    def get_export(self, ctx, request):
        api = load_api(ctx.db, ctx, request["restApiId"])
        stage = records.must(ctx.db, ctx, "stage", api["id"], request["stageName"], "Invalid Stage identifier specified")
        kind = request["exportType"]
        if kind not in ("oas30", "swagger"):
            raise bad_request(f"Invalid export type specified: {kind}")
        snapshot = records.get(ctx.db, ctx, "snapshot", api["id"], stage["deploymentId"]) or {}
        extensions = set(filter(None, ((request.get("parameters") or {}).get("extensions") or "").split(",")))
        doc = export(ctx, snapshot.get("api") or api, snapshot, stage, kind, extensions)
        accepts = request.get("accepts") or "application/json"
        if "yaml" in accepts:
            import yaml
            body = yaml.safe_dump(doc, sort_keys=False).encode()
            ctype = "application/yaml"
        else:
            body = json.dumps(doc, indent=2).encode()
            ctype = "application/octet-stream"
        ext = "yaml" if "yaml" in accepts else "json"
        return {"contentType": ctype, "body": body,
                "contentDisposition": f'attachment; filename="{kind}_{utcnow(ctx).strftime("%Y-%m-%dT%H:%M:%SZ")}.{ext}"'}
