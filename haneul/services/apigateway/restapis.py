"""REST APIs and their trees: resources, methods, method responses, integrations and
integration responses.  Methods live inside their resource's record, as GetResources
with embed=methods shows them."""

from __future__ import annotations

import copy
import re

from haneul.services.apigateway import patch, records
from haneul.services.apigateway.records import bad_request, conflict, not_found
from haneul.services.base import utcnow

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY")
_PATH_PART = re.compile(r"^(?:[a-zA-Z0-9._:@&=+$,!*'()~-]+|\{[a-zA-Z0-9._-]+\+?\})$")

EMPTY_SCHEMA = ('{\n  "$schema": "http://json-schema.org/draft-04/schema#",\n  "title" : "Empty Schema",\n'
                '  "type" : "object"\n}')
ERROR_SCHEMA = ('{\n  "$schema" : "http://json-schema.org/draft-04/schema#",\n  "title" : "Error Schema",\n'
                '  "type" : "object",\n  "properties" : {\n    "message" : { "type" : "string" }\n  }\n}')


def api_not_found(ctx, api_id: str):
    return not_found(f"Invalid API identifier specified {ctx.account}:{api_id}")


def load_api(db, ctx, api_id: str) -> dict:
    doc = records.get(db, ctx, "restapi", "", api_id)
    if doc is None:
        raise api_not_found(ctx, api_id)
    return doc


def load_resource(db, ctx, api_id: str, resource_id: str) -> dict:
    load_api(db, ctx, api_id)
    return records.must(db, ctx, "resource", api_id, resource_id, "Invalid Resource identifier specified")


def load_method(db, ctx, request: dict) -> tuple[dict, dict]:
    resource = load_resource(db, ctx, request["restApiId"], request["resourceId"])
    method = (resource.get("resourceMethods") or {}).get(request["httpMethod"].upper())
    if method is None:
        raise not_found("Invalid Method identifier specified")
    return resource, method


def save_resource(db, ctx, api_id: str, resource: dict) -> None:
    records.put(db, ctx, "resource", api_id, resource["id"], resource)


def resource_view(resource: dict, embed_methods: bool = True) -> dict:
    out = records.clean(resource)
    methods = out.get("resourceMethods")
    if methods is not None and not methods:
        out.pop("resourceMethods")
    elif methods and not embed_methods:
        out["resourceMethods"] = {m: {} for m in methods}
    return out


def touch_api(db, ctx, api_id: str) -> None:
    """Nothing to do for REST APIs (changes reach callers through deployments)."""


class RestApiOps:
    # -- REST APIs ------------------------------------------------------------------------
    def create_rest_api(self, ctx, request):
        if not (request.get("name") or "").strip():
            raise bad_request("Invalid REST API name specified")
        source = None
        if request.get("cloneFrom"):
            source = load_api(ctx.db, ctx, request["cloneFrom"])
        api_id = records.new_id()
        endpoint = request.get("endpointConfiguration") or {"types": ["EDGE"]}
        endpoint.setdefault("types", ["EDGE"])
        endpoint.setdefault("ipAddressType", "ipv4")
        doc = {"id": api_id, "name": request["name"], "description": request.get("description"),
               "createdDate": utcnow(ctx).timestamp(), "version": request.get("version"),
               "binaryMediaTypes": request.get("binaryMediaTypes"),
               "minimumCompressionSize": request.get("minimumCompressionSize"),
               "apiKeySource": request.get("apiKeySource") or "HEADER",
               "endpointConfiguration": endpoint, "policy": request.get("policy"),
               "tags": request.get("tags") or None,
               "disableExecuteApiEndpoint": bool(request.get("disableExecuteApiEndpoint")),
               "securityPolicy": request.get("securityPolicy"), "apiStatus": "AVAILABLE"}
        if doc["apiKeySource"] not in ("HEADER", "AUTHORIZER"):
            raise bad_request("Invalid apiKeySource specified")
        if source is not None:
            self._clone(ctx, source, doc)
        else:
            root = {"id": records.new_id(), "path": "/", "resourceMethods": {}}
            save_resource(ctx.db, ctx, api_id, root)
            doc["rootResourceId"] = root["id"]
            for name, desc, schema in (("Empty", "This is a default empty schema model", EMPTY_SCHEMA),
                                       ("Error", "This is a default error schema model", ERROR_SCHEMA)):
                records.put(ctx.db, ctx, "model", api_id, name,
                            {"id": records.new_id(6), "name": name, "description": desc, "schema": schema,
                             "contentType": "application/json"})
        records.put(ctx.db, ctx, "restapi", "", api_id, doc)
        return records.clean(doc)

    def _clone(self, ctx, source: dict, doc: dict) -> None:
        ids: dict[str, str] = {}
        for kind in ("resource", "model", "requestvalidator", "authorizer", "gatewayresponse"):
            for item in records.items(ctx.db, ctx, kind, source["id"]):
                item = copy.deepcopy(item)
                key = item.get("id") or item.get("name") or item.get("responseType")
                if kind in ("resource", "requestvalidator", "authorizer"):
                    ids[item["id"]] = new = records.new_id(10 if item.get("path") == "/" else 6)
                    item["id"] = new
                    key = new
                elif kind == "model":
                    key = item["name"]
                    item["id"] = records.new_id(6)
                else:
                    key = item["responseType"]
                records.put(ctx.db, ctx, kind, doc["id"], key, item)
        for item in records.items(ctx.db, ctx, "resource", doc["id"]):
            if item.get("parentId"):
                item["parentId"] = ids.get(item["parentId"], item["parentId"])
            for method in (item.get("resourceMethods") or {}).values():
                if method.get("authorizerId"):
                    method["authorizerId"] = ids.get(method["authorizerId"], method["authorizerId"])
                if method.get("requestValidatorId"):
                    method["requestValidatorId"] = ids.get(method["requestValidatorId"])
            save_resource(ctx.db, ctx, doc["id"], item)
        doc["rootResourceId"] = ids.get(source.get("rootResourceId"), source.get("rootResourceId"))
        for field in ("binaryMediaTypes", "minimumCompressionSize", "policy"):
            if doc.get(field) is None:
                doc[field] = source.get(field)

    def get_rest_api(self, ctx, request):
        return records.clean(load_api(ctx.db, ctx, request["restApiId"]))

    def get_rest_apis(self, ctx, request):
        docs = [records.clean(d) for d in records.items(ctx.db, ctx, "restapi", "")]
        return records.page(docs, request)

    def update_rest_api(self, ctx, request):
        doc = load_api(ctx.db, ctx, request["restApiId"])

        def special(d, op, parts, value, path):
            if parts[0] == "endpointConfiguration" and len(parts) == 3 and parts[1] == "types":
                if op != "replace" or value not in ("EDGE", "REGIONAL", "PRIVATE"):
                    raise bad_request(f"Invalid patch path '{path}' specified for op '{op}'")
                d["endpointConfiguration"]["types"] = [value]
                return True
            if parts[0] in ("rootResourceId", "apiStatus"):
                raise bad_request(f"Invalid patch path '{path}' specified for op '{op}'")
            return False
        patch.apply(doc, request.get("patchOperations"), patch.shape_of("GetRestApi"), special)
        if doc.get("apiKeySource") not in ("HEADER", "AUTHORIZER"):
            raise bad_request("Invalid apiKeySource specified")
        records.put(ctx.db, ctx, "restapi", "", doc["id"], doc)
        return records.clean(doc)

    def delete_rest_api(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        records.delete(ctx.db, ctx, "restapi", "", api_id)
        records.delete_under(ctx.db, ctx, api_id)
        from haneul.services.apigateway import deployment_cache
        deployment_cache.forget(api_id)
        for plan in records.items(ctx.db, ctx, "usageplan", ""):
            stages = [s for s in plan.get("apiStages") or () if s.get("apiId") != api_id]
            if len(stages) != len(plan.get("apiStages") or ()):
                plan["apiStages"] = stages
                records.put(ctx.db, ctx, "usageplan", "", plan["id"], plan)
        return {}

    # -- resources ------------------------------------------------------------------------
    def create_resource(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        parent = records.get(ctx.db, ctx, "resource", api_id, request["parentId"])
        if parent is None:
            raise not_found("Invalid Resource identifier specified")
        part = request["pathPart"]
        siblings = [r for r in records.items(ctx.db, ctx, "resource", api_id) if r.get("parentId") == parent["id"]]
        self._check_path_part(part, parent, siblings)
        resource = {"id": records.new_id(6), "parentId": parent["id"], "pathPart": part,
                    "path": (parent["path"].rstrip("/") + "/" + part), "resourceMethods": {}}
        save_resource(ctx.db, ctx, api_id, resource)
        return resource_view(resource)

    @staticmethod
    def _check_path_part(part: str, parent: dict, siblings: list[dict], self_id: str | None = None) -> None:
        if not _PATH_PART.match(part or ""):
            raise bad_request("Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning "
                              "and the end and an optional plus sign before the closing brace.")
        if parent.get("pathPart", "").endswith("+}"):
            raise bad_request(f"Cannot create a child of a resource with a greedy path variable: {parent['pathPart']}")
        for s in siblings:
            if s["id"] == self_id:
                continue
            if s.get("pathPart") == part:
                raise conflict(f"Another resource with the same parent already has this name: {part}")
            if part.startswith("{") and s.get("pathPart", "").startswith("{"):
                raise bad_request(f"A sibling ({s['pathPart']}) of this resource already has a variable path part "
                                  "-- only one is allowed")

    def get_resource(self, ctx, request):
        resource = load_resource(ctx.db, ctx, request["restApiId"], request["resourceId"])
        return resource_view(resource, embed_methods="methods" in (request.get("embed") or ()))

    def get_resources(self, ctx, request):
        api_id = request["restApiId"]
        load_api(ctx.db, ctx, api_id)
        embed = "methods" in (request.get("embed") or ())
        docs = [resource_view(r, embed) for r in records.items(ctx.db, ctx, "resource", api_id)]
        return records.page(docs, request, limit_default=25)

    def update_resource(self, ctx, request):
        api_id = request["restApiId"]
        resource = load_resource(ctx.db, ctx, api_id, request["resourceId"])
        if resource.get("path") == "/":
            raise bad_request("Root resource cannot be modified")
        before = dict(resource)
        patch.apply(resource, request.get("patchOperations"), patch.shape_of("GetResource"),
                    readonly=("id", "path", "resourceMethods"))
        everything = records.items(ctx.db, ctx, "resource", api_id)
        by_id = {r["id"]: r for r in everything}
        parent = by_id.get(resource.get("parentId"))
        if parent is None:
            raise not_found("Invalid Resource identifier specified")
        node = parent
        while node is not None:        # no cycles
            if node["id"] == resource["id"]:
                raise bad_request("Resources cannot be moved under themselves")
            node = by_id.get(node.get("parentId"))
        if resource.get("pathPart") != before.get("pathPart") or resource.get("parentId") != before.get("parentId"):
            siblings = [r for r in everything if r.get("parentId") == parent["id"]]
            self._check_path_part(resource["pathPart"], parent, siblings, resource["id"])
        by_id[resource["id"]] = resource
        _repath(by_id)
        for r in by_id.values():
            save_resource(ctx.db, ctx, api_id, r)
        return resource_view(resource)

    def delete_resource(self, ctx, request):
        api_id = request["restApiId"]
        resource = load_resource(ctx.db, ctx, api_id, request["resourceId"])
        if resource.get("path") == "/":
            raise bad_request("Cannot delete root resource")
        everything = records.items(ctx.db, ctx, "resource", api_id)
        doomed = {resource["id"]}
        grew = True
        while grew:
            grew = False
            for r in everything:
                if r.get("parentId") in doomed and r["id"] not in doomed:
                    doomed.add(r["id"])
                    grew = True
        for rid in doomed:
            records.delete(ctx.db, ctx, "resource", api_id, rid)
        return {}

    # -- methods --------------------------------------------------------------------------
    def put_method(self, ctx, request):
        api_id = request["restApiId"]
        resource = load_resource(ctx.db, ctx, api_id, request["resourceId"])
        verb = request["httpMethod"].upper()
        if verb not in HTTP_METHODS:
            raise bad_request("Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,"
                              "OPTIONS,HEAD,ANY")
        methods = resource.setdefault("resourceMethods", {})
        if verb in methods:
            raise conflict("Method already exists for this resource")
        method = {"httpMethod": verb, "authorizationType": request["authorizationType"],
                  "apiKeyRequired": bool(request.get("apiKeyRequired"))}
        for key in ("authorizerId", "operationName", "requestParameters", "requestModels",
                    "requestValidatorId", "authorizationScopes"):
            if request.get(key) is not None:
                method[key] = request[key]
        self._check_method(ctx, api_id, method)
        methods[verb] = method
        save_resource(ctx.db, ctx, api_id, resource)
        return records.clean(method)

    def _check_method(self, ctx, api_id: str, method: dict) -> None:
        kind = method.get("authorizationType")
        if kind not in ("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"):
            raise bad_request("Invalid authorization type specified. Valid options are NONE, AWS_IAM, CUSTOM, "
                              "COGNITO_USER_POOLS")
        if kind in ("CUSTOM", "COGNITO_USER_POOLS"):
            if not method.get("authorizerId") or records.get(ctx.db, ctx, "authorizer", api_id,
                                                             method["authorizerId"]) is None:
                raise bad_request("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
                                  "COGNITO_USER_POOLS requires a valid authorizer.")
        elif method.get("authorizerId") and kind == "NONE":
            method.pop("authorizerId")
        if method.get("requestValidatorId") and records.get(
                ctx.db, ctx, "requestvalidator", api_id, method["requestValidatorId"]) is None:
            raise bad_request("Invalid Request Validator identifier specified")
        for name in (method.get("requestModels") or {}).values():
            if records.get(ctx.db, ctx, "model", api_id, name) is None:
                raise bad_request(f"Invalid model identifier specified: {name}")
        for key in method.get("requestParameters") or {}:
            if not re.match(r"^method\.request\.(?:path|querystring|header|multivaluequerystring|"
                            r"multivalueheader)\.[^.].*$", key):
                raise bad_request(f"Invalid mapping expression specified: Validation Result: warnings : [], "
                                  f"errors : [Invalid method parameter name specified: {key}]")

    def get_method(self, ctx, request):
        _, method = load_method(ctx.db, ctx, request)
        return records.clean(method)

    def update_method(self, ctx, request):
        resource, method = load_method(ctx.db, ctx, request)
        patch.apply(method, request.get("patchOperations"), patch.shape_of("GetMethod"),
                    readonly=("httpMethod", "methodIntegration", "methodResponses"))
        self._check_method(ctx, request["restApiId"], method)
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return records.clean(method)

    def delete_method(self, ctx, request):
        resource, _ = load_method(ctx.db, ctx, request)
        resource["resourceMethods"].pop(request["httpMethod"].upper())
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return {}

    # -- method responses -----------------------------------------------------------------
    def put_method_response(self, ctx, request):
        resource, method = load_method(ctx.db, ctx, request)
        code = request["statusCode"]
        _check_status(code)
        response = {"statusCode": code}
        for key in ("responseParameters", "responseModels"):
            if request.get(key) is not None:
                response[key] = request[key]
        method.setdefault("methodResponses", {})[code] = response
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return response

    def _method_response(self, ctx, request):
        resource, method = load_method(ctx.db, ctx, request)
        response = (method.get("methodResponses") or {}).get(request["statusCode"])
        if response is None:
            raise not_found("Invalid Response status code specified")
        return resource, method, response

    def get_method_response(self, ctx, request):
        return self._method_response(ctx, request)[2]

    def update_method_response(self, ctx, request):
        resource, method, response = self._method_response(ctx, request)
        patch.apply(response, request.get("patchOperations"), patch.shape_of("GetMethodResponse"),
                    readonly=("statusCode",))
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return response

    def delete_method_response(self, ctx, request):
        resource, method, _ = self._method_response(ctx, request)
        method["methodResponses"].pop(request["statusCode"])
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return {}

    # -- integrations ---------------------------------------------------------------------
    def put_integration(self, ctx, request):
        resource, method = load_method(ctx.db, ctx, request)
        kind = request["type"]
        integration = {"type": kind}
        if request.get("integrationHttpMethod"):
            integration["httpMethod"] = request["integrationHttpMethod"].upper()
        for key in ("uri", "connectionType", "connectionId", "credentials", "requestParameters",
                    "requestTemplates", "contentHandling", "tlsConfig", "responseTransferMode",
                    "integrationTarget"):
            if request.get(key) is not None:
                integration[key] = request[key]
        integration["passthroughBehavior"] = request.get("passthroughBehavior") or "WHEN_NO_MATCH"
        integration["timeoutInMillis"] = request.get("timeoutInMillis") or 29000
        integration["cacheNamespace"] = request.get("cacheNamespace") or resource["id"]
        integration["cacheKeyParameters"] = request.get("cacheKeyParameters") or []
        if kind != "MOCK":
            integration.setdefault("connectionType", "INTERNET")
        _check_integration(integration)
        old = method.get("methodIntegration")
        if old and old.get("integrationResponses"):
            integration["integrationResponses"] = old["integrationResponses"]
        method["methodIntegration"] = integration
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return integration

    def _integration(self, ctx, request):
        resource, method = load_method(ctx.db, ctx, request)
        integration = method.get("methodIntegration")
        if integration is None:
            raise not_found("No integration defined for method")
        return resource, method, integration

    def get_integration(self, ctx, request):
        return self._integration(ctx, request)[2]

    def update_integration(self, ctx, request):
        resource, method, integration = self._integration(ctx, request)

        def special(d, op, parts, value, path):
            if parts == ["cacheKeyParameters"] or parts[0] == "cacheKeyParameters" and len(parts) == 2:
                items = d.setdefault("cacheKeyParameters", [])
                item = parts[1] if len(parts) == 2 else value
                if op == "add" and item not in items:
                    items.append(item)
                elif op == "remove" and item in items:
                    items.remove(item)
                return True
            return False
        patch.apply(integration, request.get("patchOperations"), patch.shape_of("GetIntegration"), special,
                    readonly=("type", "integrationResponses"))
        _check_integration(integration)
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return integration

    def delete_integration(self, ctx, request):
        resource, method, _ = self._integration(ctx, request)
        method.pop("methodIntegration")
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return {}

    # -- integration responses ------------------------------------------------------------
    def put_integration_response(self, ctx, request):
        resource, method = load_method(ctx.db, ctx, request)
        integration = method.get("methodIntegration")
        if integration is None:
            raise not_found("Invalid Integration identifier specified")
        code = request["statusCode"]
        _check_status(code)
        response = {"statusCode": code}
        for key in ("selectionPattern", "responseParameters", "responseTemplates", "contentHandling"):
            if request.get(key) is not None:
                response[key] = request[key]
        if response.get("selectionPattern"):
            try:
                re.compile(response["selectionPattern"])
            except re.error:
                raise bad_request(f"Invalid selection pattern specified: {response['selectionPattern']}") from None
        integration.setdefault("integrationResponses", {})[code] = response
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return response

    def _integration_response(self, ctx, request):
        resource, method, integration = self._integration(ctx, request)
        response = (integration.get("integrationResponses") or {}).get(request["statusCode"])
        if response is None:
            raise not_found("Invalid Response status code specified")
        return resource, integration, response

    def get_integration_response(self, ctx, request):
        return self._integration_response(ctx, request)[2]

    def update_integration_response(self, ctx, request):
        resource, integration, response = self._integration_response(ctx, request)
        patch.apply(response, request.get("patchOperations"), patch.shape_of("GetIntegrationResponse"),
                    readonly=("statusCode",))
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return response

    def delete_integration_response(self, ctx, request):
        resource, integration, _ = self._integration_response(ctx, request)
        integration["integrationResponses"].pop(request["statusCode"])
        save_resource(ctx.db, ctx, request["restApiId"], resource)
        return {}


def _check_status(code: str) -> None:
    if not re.match(r"^[1-5]\d\d$", code or ""):
        raise bad_request("Invalid status code specified: must be a three-digit number from 100 to 599")


def _check_integration(integration: dict) -> None:
    kind = integration["type"]
    if kind not in ("HTTP", "AWS", "MOCK", "HTTP_PROXY", "AWS_PROXY"):
        raise bad_request("Invalid integration type specified")
    timeout = integration.get("timeoutInMillis")
    if timeout is not None and not 50 <= timeout <= 29000:
        raise bad_request("Timeout should be between 50 ms and 29000 ms")
    if kind == "MOCK":
        return
    if not integration.get("httpMethod"):
        raise bad_request("Enumeration value for HttpMethod must be non-empty")
    uri = integration.get("uri")
    if not uri:
        raise bad_request("Integrations of type 'AWS', 'AWS_PROXY', 'HTTP' or 'HTTP_PROXY' require a URI")
    if kind in ("AWS", "AWS_PROXY"):
        if not re.match(r"^arn:aws[a-z-]*:apigateway:[a-z0-9-]*:[a-zA-Z0-9.-]+:(?:action|path)/.+", uri):
            raise bad_request("AWS ARN for integration must contain path or action")
        if kind == "AWS_PROXY" and ":lambda:path/" not in uri and ":firehose:" not in uri:
            raise bad_request("Integrations of type 'AWS_PROXY' currently only supports Lambda function and "
                              "Firehose stream invocations.")
    elif integration.get("connectionType") != "VPC_LINK" and not re.match(r"^https?://", uri):
        raise bad_request("Invalid HTTP endpoint specified for URI")


def _repath(by_id: dict[str, dict]) -> None:
    def path_of(r, seen=()):
        if not r.get("parentId"):
            return "/"
        parent = by_id.get(r["parentId"])
        if parent is None or r["id"] in seen:
            return "/" + r.get("pathPart", "")
        return path_of(parent, seen + (r["id"],)).rstrip("/") + "/" + r["pathPart"]
    for r in by_id.values():
        r["path"] = path_of(r)
