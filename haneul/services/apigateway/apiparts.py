"""The parts of a REST API beside its resource tree: models, request validators,
authorizers, gateway responses and documentation."""

from __future__ import annotations

import json
import re

from haneul.services.apigateway import patch, records
from haneul.services.apigateway.records import bad_request, conflict, not_found
from haneul.services.apigateway.restapis import load_api
from haneul.services.base import utcnow

GATEWAY_RESPONSES = {
    "ACCESS_DENIED": "403", "API_CONFIGURATION_ERROR": "500", "AUTHORIZER_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_FAILURE": "500", "BAD_REQUEST_PARAMETERS": "400", "BAD_REQUEST_BODY": "400",
    "DEFAULT_4XX": None, "DEFAULT_5XX": None, "EXPIRED_TOKEN": "403", "INTEGRATION_FAILURE": "504",
    "INTEGRATION_TIMEOUT": "504", "INVALID_API_KEY": "403", "INVALID_SIGNATURE": "403",
    "MISSING_AUTHENTICATION_TOKEN": "403", "QUOTA_EXCEEDED": "429", "REQUEST_TOO_LARGE": "413",
    "RESOURCE_NOT_FOUND": "404", "THROTTLED": "429", "UNAUTHORIZED": "401", "UNSUPPORTED_MEDIA_TYPE": "415",
    "WAF_FILTERED": "403",
}
DEFAULT_TEMPLATE = {"application/json": '{"message":$context.error.messageString}'}
_MODEL_NAME = re.compile(r"^[a-zA-Z0-9]+$")


def default_gateway_response(kind: str) -> dict:
    doc = {"responseType": kind, "responseParameters": {}, "responseTemplates": dict(DEFAULT_TEMPLATE),
           "defaultResponse": True}
    if GATEWAY_RESPONSES[kind]:
        doc["statusCode"] = GATEWAY_RESPONSES[kind]
    return doc


def _check_schema(schema: str | None) -> None:
    if schema is None:
        return
    try:
        parsed = json.loads(schema)
    except (ValueError, RecursionError):
        raise bad_request("Invalid model specified: Validation Result: warnings : [], errors : [Invalid model "
                          "schema specified. Unsupported keyword(s): [] ]") from None
    if not isinstance(parsed, dict):
        raise bad_request("Invalid model specified: Validation Result: warnings : [], errors : [Invalid model "
                          "schema specified. Model schema must be a JSON object]")


def model_template(schema_text: str | None, models: dict[str, dict]) -> str:
    """A sample mapping template for a model, as GetModelTemplate gives one."""
    try:
        schema = json.loads(schema_text or "{}")
    except (ValueError, RecursionError):
        schema = {}
    lines = ["#set($inputRoot = $input.path('$'))"]

    def walk(s, expr, indent, depth=0):
        if "$ref" in s and depth < 5:
            name = s["$ref"].rsplit("/", 1)[-1]
            target = models.get(name)
            if target:
                try:
                    s = json.loads(target.get("schema") or "{}")
                except (ValueError, RecursionError):
                    s = {}
        kind = s.get("type")
        pad = "  " * indent
        if kind == "object" or "properties" in s:
            props = list((s.get("properties") or {}).items())
            out = ["{"]
            for i, (name, sub) in enumerate(props):
                value = walk(sub, f"{expr}.{name}", indent + 1, depth + 1)
                out.append(f'{pad}  "{name}" : {value}' + ("," if i < len(props) - 1 else ""))
            out.append(pad + "}")
            return "\n".join(out)
        if kind == "array":
            item = walk(s.get("items") or {}, "$elem", indent + 1, depth + 1)
            return (f"[\n{pad}#foreach($elem in {expr})\n{pad}  {item}\n{pad}#if($foreach.hasNext),#end\n"
                    f"{pad}#end\n{pad}]")
        if kind in ("integer", "number", "boolean"):
            return expr
        return f'"{expr}"'
    lines.append(walk(schema, "$inputRoot", 0))
    return "\n".join(lines)


class ApiPartOps:
    # -- models ---------------------------------------------------------------------------
    def create_model(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        name = request["name"]
        if not _MODEL_NAME.match(name or ""):
            raise bad_request("Model name must be alphanumeric")
        if not request.get("contentType"):
            raise bad_request("Model content type must be specified")
        if records.get(ctx.db, ctx, "model", api_id, name) is not None:
            raise conflict("Model name already exists for this REST API")
        _check_schema(request.get("schema"))
        doc = {"id": records.new_id(6), "name": name, "description": request.get("description"),
               "schema": request.get("schema"), "contentType": request["contentType"]}
        records.put(ctx.db, ctx, "model", api_id, name, doc)
        return records.clean(doc)

    def _model(self, ctx, request) -> dict:
        load_api(ctx.db, ctx, request["restApiId"])
        return records.must(ctx.db, ctx, "model", request["restApiId"], request["modelName"],
                            f"Invalid model name specified: {request['modelName']}")

    def get_model(self, ctx, request):
        return records.clean(self._model(ctx, request))

    def get_models(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        return records.page([records.clean(m) for m in records.items(ctx.db, ctx, "model", request["restApiId"])],
                            request)

    def update_model(self, ctx, request):
        doc = self._model(ctx, request)
        patch.apply(doc, request.get("patchOperations"), patch.shape_of("GetModel"), readonly=("id", "name"))
        _check_schema(doc.get("schema"))
        records.put(ctx.db, ctx, "model", request["restApiId"], doc["name"], doc)
        return records.clean(doc)

    def delete_model(self, ctx, request):
        doc = self._model(ctx, request)
        for r in records.items(ctx.db, ctx, "resource", request["restApiId"]):
            for verb, m in (r.get("resourceMethods") or {}).items():
                if doc["name"] in (m.get("requestModels") or {}).values():
                    raise conflict(f"Cannot delete model '{doc['name']}', is referenced in method request: "
                                   f"{r['path']}/{verb}")
        records.delete(ctx.db, ctx, "model", request["restApiId"], doc["name"])
        return {}

    def get_model_template(self, ctx, request):
        doc = self._model(ctx, request)
        models = {m["name"]: m for m in records.items(ctx.db, ctx, "model", request["restApiId"])}
        return {"value": model_template(doc.get("schema"), models)}

    # -- request validators ---------------------------------------------------------------
    def create_request_validator(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        doc = {"id": records.new_id(6), "name": request.get("name"),
               "validateRequestBody": bool(request.get("validateRequestBody")),
               "validateRequestParameters": bool(request.get("validateRequestParameters"))}
        records.put(ctx.db, ctx, "requestvalidator", api_id, doc["id"], doc)
        return records.clean(doc)

    def _validator(self, ctx, request) -> dict:
        load_api(ctx.db, ctx, request["restApiId"])
        return records.must(ctx.db, ctx, "requestvalidator", request["restApiId"], request["requestValidatorId"],
                            "Invalid Request Validator identifier specified")

    def get_request_validator(self, ctx, request):
        return records.clean(self._validator(ctx, request))

    def get_request_validators(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        return records.page([records.clean(v) for v in
                             records.items(ctx.db, ctx, "requestvalidator", request["restApiId"])], request)

    def update_request_validator(self, ctx, request):
        doc = self._validator(ctx, request)
        patch.apply(doc, request.get("patchOperations"), patch.shape_of("GetRequestValidator"))
        records.put(ctx.db, ctx, "requestvalidator", request["restApiId"], doc["id"], doc)
        return records.clean(doc)

    def delete_request_validator(self, ctx, request):
        doc = self._validator(ctx, request)
        records.delete(ctx.db, ctx, "requestvalidator", request["restApiId"], doc["id"])
        return {}

    # -- authorizers ----------------------------------------------------------------------
    def create_authorizer(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        doc = {"id": records.new_id(6)}
        for key in ("name", "type", "providerARNs", "authType", "authorizerUri", "authorizerCredentials",
                    "identitySource", "identityValidationExpression", "authorizerResultTtlInSeconds"):
            if request.get(key) is not None:
                doc[key] = request[key]
        if doc.get("type") in ("TOKEN", "REQUEST") and doc.get("authorizerResultTtlInSeconds") is None:
            doc["authorizerResultTtlInSeconds"] = 300
        _check_authorizer(doc)
        records.put(ctx.db, ctx, "authorizer", api_id, doc["id"], doc)
        return doc

    def _authorizer(self, ctx, request) -> dict:
        load_api(ctx.db, ctx, request["restApiId"])
        return records.must(ctx.db, ctx, "authorizer", request["restApiId"], request["authorizerId"],
                            "Invalid Authorizer identifier specified")

    def get_authorizer(self, ctx, request):
        return self._authorizer(ctx, request)

    def get_authorizers(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        return records.page(records.items(ctx.db, ctx, "authorizer", request["restApiId"]), request)

    def update_authorizer(self, ctx, request):
        doc = self._authorizer(ctx, request)
        patch.apply(doc, request.get("patchOperations"), patch.shape_of("GetAuthorizer"))
        _check_authorizer(doc)
        records.put(ctx.db, ctx, "authorizer", request["restApiId"], doc["id"], doc)
        from haneul.services.apigateway import authorizers
        authorizers.flush(ctx.account, request["restApiId"])
        return doc

    def delete_authorizer(self, ctx, request):
        doc = self._authorizer(ctx, request)
        for r in records.items(ctx.db, ctx, "resource", request["restApiId"]):
            for m in (r.get("resourceMethods") or {}).values():
                if m.get("authorizerId") == doc["id"]:
                    raise conflict("Cannot delete authorizer, is referenced in method: "
                                   f"{r['path']}/{m['httpMethod']}")
        records.delete(ctx.db, ctx, "authorizer", request["restApiId"], doc["id"])
        return {}

    async def test_invoke_authorizer(self, ctx, request):
        from haneul.services.apigateway import authorizers
        with ctx.store.transaction() as db:
            ctx.db = db
            try:
                doc = self._authorizer(ctx, request)
            finally:
                ctx.db = None
        return await authorizers.test_invoke(ctx, request, doc)

    # -- gateway responses ----------------------------------------------------------------
    def put_gateway_response(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        kind = request["responseType"]
        if kind not in GATEWAY_RESPONSES:
            raise bad_request(f"Invalid response type specified: {kind}")
        doc = {"responseType": kind, "statusCode": request.get("statusCode") or GATEWAY_RESPONSES[kind],
               "responseParameters": request.get("responseParameters") or {},
               "responseTemplates": request.get("responseTemplates") or {}, "defaultResponse": False}
        records.put(ctx.db, ctx, "gatewayresponse", api_id, kind, doc)
        return records.clean(doc)

    def get_gateway_response(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        kind = request["responseType"]
        if kind not in GATEWAY_RESPONSES:
            raise bad_request(f"Invalid response type specified: {kind}")
        doc = records.get(ctx.db, ctx, "gatewayresponse", request["restApiId"], kind)
        return records.clean(doc) if doc else default_gateway_response(kind)

    def get_gateway_responses(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        custom = {d["responseType"]: d for d in records.items(ctx.db, ctx, "gatewayresponse", request["restApiId"])}
        docs = [records.clean(custom[k]) if k in custom else default_gateway_response(k) for k in GATEWAY_RESPONSES]
        return records.page(docs, request, limit_default=500)

    def update_gateway_response(self, ctx, request):
        doc = self.get_gateway_response(ctx, request)
        doc["defaultResponse"] = False
        patch.apply(doc, request.get("patchOperations"), patch.shape_of("GetGatewayResponse"),
                    readonly=("responseType", "defaultResponse"))
        records.put(ctx.db, ctx, "gatewayresponse", request["restApiId"], doc["responseType"], doc)
        return records.clean(doc)

    def delete_gateway_response(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        if not records.delete(ctx.db, ctx, "gatewayresponse", request["restApiId"], request["responseType"]):
            raise not_found("Invalid Gateway Response identifier specified")
        return {}

    # -- documentation --------------------------------------------------------------------
    def create_documentation_part(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        location = request["location"]
        for existing in records.items(ctx.db, ctx, "docpart", api_id):
            if existing["location"] == location:
                raise conflict(f"Documentation part already exists for the specified location: type "
                               f"'{location.get('type')}'")
        _check_json(request["properties"])
        doc = {"id": records.new_id(6), "location": location, "properties": request["properties"]}
        records.put(ctx.db, ctx, "docpart", api_id, doc["id"], doc)
        return doc

    def _doc_part(self, ctx, request) -> dict:
        load_api(ctx.db, ctx, request["restApiId"])
        return records.must(ctx.db, ctx, "docpart", request["restApiId"], request["documentationPartId"],
                            "Invalid Documentation part identifier specified")

    def get_documentation_part(self, ctx, request):
        return self._doc_part(ctx, request)

    def get_documentation_parts(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        docs = records.items(ctx.db, ctx, "docpart", request["restApiId"])
        if request.get("type"):
            docs = [d for d in docs if d["location"].get("type") == request["type"]]
        if request.get("nameQuery"):
            docs = [d for d in docs if request["nameQuery"] in (d["location"].get("name") or "")]
        if request.get("path"):
            docs = [d for d in docs if d["location"].get("path") == request["path"]]
        return records.page(docs, request)

    def update_documentation_part(self, ctx, request):
        doc = self._doc_part(ctx, request)
        patch.apply(doc, request.get("patchOperations"), patch.shape_of("GetDocumentationPart"),
                    readonly=("id", "location"))
        _check_json(doc.get("properties"))
        records.put(ctx.db, ctx, "docpart", request["restApiId"], doc["id"], doc)
        return doc

    def delete_documentation_part(self, ctx, request):
        doc = self._doc_part(ctx, request)
        records.delete(ctx.db, ctx, "docpart", request["restApiId"], doc["id"])
        return {}

    def import_documentation_parts(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        body = request.get("body") or b"{}"
        try:
            spec = json.loads(body)
        except (ValueError, RecursionError):
            raise bad_request("Invalid documentation body: not JSON") from None
        parts = ((spec.get("x-amazon-apigateway-documentation") or {}).get("documentationParts")
                 if isinstance(spec, dict) else None) or []
        if request.get("mode") == "overwrite":
            records.delete(ctx.db, ctx, "docpart", api_id)
        ids = []
        for part in parts:
            doc = {"id": records.new_id(6), "location": part.get("location") or {},
                   "properties": json.dumps(part.get("properties") or {})}
            records.put(ctx.db, ctx, "docpart", api_id, doc["id"], doc)
            ids.append(doc["id"])
        return {"ids": ids, "warnings": []}

    def create_documentation_version(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        version = request["documentationVersion"]
        if records.get(ctx.db, ctx, "docversion", api_id, version) is not None:
            raise conflict(f"Documentation version {version} already exists")
        if request.get("stageName"):
            stage = records.must(ctx.db, ctx, "stage", api_id, request["stageName"],
                                 "Invalid Stage identifier specified")
            stage["documentationVersion"] = version
            records.put(ctx.db, ctx, "stage", api_id, stage["stageName"], stage)
        doc = {"version": version, "createdDate": utcnow(ctx).timestamp(), "description": request.get("description")}
        records.put(ctx.db, ctx, "docversion", api_id, version, doc)
        return records.clean(doc)

    def _doc_version(self, ctx, request) -> dict:
        load_api(ctx.db, ctx, request["restApiId"])
        return records.must(ctx.db, ctx, "docversion", request["restApiId"], request["documentationVersion"],
                            "Invalid Documentation version identifier specified")

    def get_documentation_version(self, ctx, request):
        return records.clean(self._doc_version(ctx, request))

    def get_documentation_versions(self, ctx, request):
        load_api(ctx.db, ctx, request["restApiId"])
        return records.page([records.clean(d) for d in records.items(ctx.db, ctx, "docversion",
                                                                     request["restApiId"])], request)

    def update_documentation_version(self, ctx, request):
        doc = self._doc_version(ctx, request)
        patch.apply(doc, request.get("patchOperations"), patch.shape_of("GetDocumentationVersion"),
                    readonly=("version", "createdDate"))
        records.put(ctx.db, ctx, "docversion", request["restApiId"], doc["version"], doc)
        return records.clean(doc)

    def delete_documentation_version(self, ctx, request):
        doc = self._doc_version(ctx, request)
        records.delete(ctx.db, ctx, "docversion", request["restApiId"], doc["version"])
        return {}


def _check_json(text) -> None:
    try:
        json.loads(text)
    except (TypeError, ValueError, RecursionError):
        raise bad_request("Invalid documentation content: properties must be a JSON object") from None


def _check_authorizer(doc: dict) -> None:
    kind = doc.get("type")
    if kind not in ("TOKEN", "REQUEST", "COGNITO_USER_POOLS"):
        raise bad_request("Invalid authorizer type specified. Valid options are TOKEN, REQUEST, COGNITO_USER_POOLS")
    if not doc.get("name"):
        raise bad_request("Authorizer name must be specified")
    if kind == "COGNITO_USER_POOLS":
        if not doc.get("providerARNs"):
            raise bad_request("ProviderARNs need to be specified for COGNITO_USER_POOLS authorizers")
        return
    if not doc.get("authorizerUri"):
        raise bad_request("Authorizer URI must be specified for TOKEN and REQUEST authorizers")
    if kind == "TOKEN" and not doc.get("identitySource"):
        raise bad_request("IdentitySource must be specified for TOKEN authorizers")
    ttl = doc.get("authorizerResultTtlInSeconds")
    if ttl is not None and not 0 <= ttl <= 3600:
        raise bad_request("Invalid value for authorizerResultTtlInSeconds: must be between 0 and 3600")
