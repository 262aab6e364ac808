"""API Gateway v2 (HTTP APIs; WebSocket APIs keep their records): the control plane.
The data plane is httpplane.py, reached through apigateway/invoke.py."""

from __future__ import annotations

import datetime
import re

from haneul.protocol import timestamps
from haneul.services.apigatewayv2 import store
from haneul.services.apigatewayv2.store import bad_request, conflict, not_found
from haneul.services.base import Service, utcnow

_ROUTE_KEY = re.compile(r"^(?:\$default|(?:ANY|GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) /[^ ]*)$")
SUBTYPES = {"EventBridge-PutEvents", "SQS-SendMessage", "SQS-ReceiveMessage", "SQS-DeleteMessage",
            "SQS-PurgeQueue", "AppConfig-GetConfiguration", "Kinesis-PutRecord", "StepFunctions-StartExecution",
            "StepFunctions-StartSyncExecution", "StepFunctions-StopExecution"}


def _pick(request: dict, keys: tuple[str, ...]) -> dict:
    return {k: request[k] for k in keys if request.get(k) is not None}


class ApiGatewayV2(Service):
    SCHEMA = store.SCHEMA
    VALIDATION_ERROR = "BadRequestException"

    # -- helpers ----------------------------------------------------------------------------
    def _api(self, ctx, api_id: str) -> dict:
        return store.must(ctx.db, ctx, "api", "", api_id, f"Invalid API identifier specified {api_id}")

    def _touch(self, ctx, api_id: str) -> None:
        """A change to an API: auto-deploying stages serve it at once (a new revision)."""
        api = self._api(ctx, api_id)
        api["_revision"] = api.get("_revision", 0) + 1
        store.put(ctx.db, ctx, "api", "", api_id, api)
        for stage in store.items(ctx.db, ctx, "stage", api_id):
            if stage.get("AutoDeploy"):
                dep = self._deploy(ctx, api_id, "Automatic deployment triggered by changes to the Api configuration",
                                   auto=True)
                stage["DeploymentId"] = dep["DeploymentId"]
                stage["LastDeploymentStatusMessage"] = "Successfully deployed stage with deployment ID " \
                                                       f"'{dep['DeploymentId']}'"
                store.put(ctx.db, ctx, "stage", api_id, stage["StageName"], stage)

    def _endpoint(self, ctx, api_id: str) -> str:
        port = ""
        host = ctx.host or "localhost"
        if ":" in host:
            port = ":" + host.rsplit(":", 1)[1]
        scheme = (ctx.endpoint or "http://").split("://")[0]
        return f"{scheme}://{api_id}.execute-api.localhost{port}"

    # -- APIs -------------------------------------------------------------------------------
    def create_api(self, ctx, request):
        protocol = request["ProtocolType"]
        if protocol not in ("HTTP", "WEBSOCKET"):
            raise bad_request("Invalid protocol type specified")
        if protocol == "WEBSOCKET" and not request.get("RouteSelectionExpression"):
            raise bad_request("RouteSelectionExpression is required for WEBSOCKET APIs")
        api_id = store.new_id()
        doc = {"ApiId": api_id, "Name": request["Name"], "ProtocolType": protocol,
               "ApiEndpoint": self._endpoint(ctx, api_id) if protocol == "HTTP"
               else self._endpoint(ctx, api_id).replace("http", "ws", 1),
               "ApiKeySelectionExpression": request.get("ApiKeySelectionExpression") or "$request.header.x-api-key",
               "RouteSelectionExpression": request.get("RouteSelectionExpression") or "$request.method $request.path",
               "CreatedDate": utcnow(ctx).timestamp(), "DisableExecuteApiEndpoint":
                   bool(request.get("DisableExecuteApiEndpoint")), "IpAddressType": request.get("IpAddressType") or "ipv4",
               "_revision": 0}
        doc.update(_pick(request, ("CorsConfiguration", "Description", "Version", "Tags", "DisableSchemaValidation")))
        if protocol == "HTTP":
            doc.pop("DisableSchemaValidation", None)
        store.put(ctx.db, ctx, "api", "", api_id, doc)
        if request.get("Target"):          # quick create: integration, route and $default stage
            target = request["Target"]
            if target.startswith("arn:") and ":lambda:" in target:
                integ = self.create_integration(ctx, {"ApiId": api_id, "IntegrationType": "AWS_PROXY",
                                                      "IntegrationUri": target, "PayloadFormatVersion": "2.0"})
            elif target.startswith("http"):
                integ = self.create_integration(ctx, {"ApiId": api_id, "IntegrationType": "HTTP_PROXY",
                                                      "IntegrationUri": target, "IntegrationMethod": "ANY",
                                                      "PayloadFormatVersion": "1.0"})
            else:
                raise bad_request("Target must be a Lambda function ARN or an HTTP URL")
            self.create_route(ctx, {"ApiId": api_id, "RouteKey": request.get("RouteKey") or "$default",
                                    "Target": f"integrations/{integ['IntegrationId']}"})
            self.create_stage(ctx, {"ApiId": api_id, "StageName": "$default", "AutoDeploy": True})
            doc = store.get(ctx.db, ctx, "api", "", api_id)
        return store.clean(doc)

    def get_api(self, ctx, request):
        return store.clean(self._api(ctx, request["ApiId"]))

    def get_apis(self, ctx, request):
        return store.page(store.items(ctx.db, ctx, "api", ""), request)

    def update_api(self, ctx, request):
        doc = self._api(ctx, request["ApiId"])
        doc.update(_pick(request, ("ApiKeySelectionExpression", "CorsConfiguration", "Description",
                                   "DisableSchemaValidation", "DisableExecuteApiEndpoint", "Name",
                                   "RouteSelectionExpression", "Version", "IpAddressType")))
        store.put(ctx.db, ctx, "api", "", doc["ApiId"], doc)
        self._touch(ctx, doc["ApiId"])
        return store.clean(self._api(ctx, doc["ApiId"]))

    def delete_api(self, ctx, request):
        self._api(ctx, request["ApiId"])
        store.delete(ctx.db, ctx, "api", "", request["ApiId"])
        store.delete_under(ctx.db, ctx, request["ApiId"])
        from haneul.services.apigateway import deployment_cache
        deployment_cache.forget(request["ApiId"])
        return {}

    def delete_cors_configuration(self, ctx, request):
        doc = self._api(ctx, request["ApiId"])
        doc.pop("CorsConfiguration", None)
        store.put(ctx.db, ctx, "api", "", doc["ApiId"], doc)
        self._touch(ctx, doc["ApiId"])
        return {}

    # -- routes -----------------------------------------------------------------------------
    def _check_route(self, ctx, api: dict, doc: dict, self_id: str | None = None) -> None:
        key = doc["RouteKey"]
        if api["ProtocolType"] == "HTTP" and not _ROUTE_KEY.match(key):
            raise bad_request(f"Invalid route key specified: {key}")
        for other in store.items(ctx.db, ctx, "route", api["ApiId"]):
            if other["RouteKey"] == key and other["RouteId"] != self_id:
                raise conflict(f"Route with key {key} already exists for this API")
        target = doc.get("Target")
        if target:
            m = re.match(r"^integrations/([a-z0-9]+)$", target)
            if not m or store.get(ctx.db, ctx, "integration", api["ApiId"], m.group(1)) is None:
                raise bad_request(f"Invalid target specified: {target}")
        kind = doc.get("AuthorizationType") or "NONE"
        if kind not in ("NONE", "AWS_IAM", "CUSTOM", "JWT"):
            raise bad_request("Invalid authorization type specified")
        if kind in ("CUSTOM", "JWT"):
            auth = store.get(ctx.db, ctx, "authorizer", api["ApiId"], doc.get("AuthorizerId") or "")
            if auth is None:
                raise bad_request("Invalid authorizer ID specified")
            if (kind == "JWT") != (auth["AuthorizerType"] == "JWT"):
                raise bad_request(f"Authorization type {kind} does not match the authorizer's type "
                                  f"{auth['AuthorizerType']}")

    def create_route(self, ctx, request):
        api = self._api(ctx, request["ApiId"])
        doc = {"RouteId": store.new_id(7), "RouteKey": request["RouteKey"], "ApiKeyRequired":
               bool(request.get("ApiKeyRequired")), "AuthorizationType": request.get("AuthorizationType") or "NONE"}
        doc.update(_pick(request, ("AuthorizationScopes", "AuthorizerId", "ModelSelectionExpression",
                                   "OperationName", "RequestModels", "RequestParameters",
                                   "RouteResponseSelectionExpression", "Target")))
        self._check_route(ctx, api, doc)
        store.put(ctx.db, ctx, "route", api["ApiId"], doc["RouteId"], doc)
        self._touch(ctx, api["ApiId"])
        return store.clean(doc)

    def _route(self, ctx, request) -> dict:
        self._api(ctx, request["ApiId"])
        return store.must(ctx.db, ctx, "route", request["ApiId"], request["RouteId"],
                          f"Invalid Route identifier specified {request['RouteId']}")

    def get_route(self, ctx, request):
        return store.clean(self._route(ctx, request))

    def get_routes(self, ctx, request):
        self._api(ctx, request["ApiId"])
        return store.page(store.items(ctx.db, ctx, "route", request["ApiId"]), request)

    def update_route(self, ctx, request):
        doc = self._route(ctx, request)
        doc.update(_pick(request, ("ApiKeyRequired", "AuthorizationScopes", "AuthorizationType", "AuthorizerId",
                                   "ModelSelectionExpression", "OperationName", "RequestModels",
                                   "RequestParameters", "RouteKey", "RouteResponseSelectionExpression", "Target")))
        if doc.get("AuthorizationType") == "NONE":
            doc.pop("AuthorizerId", None)
        self._check_route(ctx, self._api(ctx, request["ApiId"]), doc, doc["RouteId"])
        store.put(ctx.db, ctx, "route", request["ApiId"], doc["RouteId"], doc)
        self._touch(ctx, request["ApiId"])
        return store.clean(doc)

    def delete_route(self, ctx, request):
        self._route(ctx, request)
        store.delete(ctx.db, ctx, "route", request["ApiId"], request["RouteId"])
        store.delete_under(ctx.db, ctx, f"{request['ApiId']}/{request['RouteId']}")
        self._touch(ctx, request["ApiId"])
        return {}

    def delete_route_request_parameter(self, ctx, request):
        doc = self._route(ctx, request)
        (doc.get("RequestParameters") or {}).pop(request["RequestParameterKey"], None)
        store.put(ctx.db, ctx, "route", request["ApiId"], doc["RouteId"], doc)
        return {}

    # -- route responses --------------------------------------------------------------------
    def create_route_response(self, ctx, request):
        self._route(ctx, request)
        parent = f"{request['ApiId']}/{request['RouteId']}"
        doc = {"RouteResponseId": store.new_id(6), "RouteResponseKey": request["RouteResponseKey"]}
        doc.update(_pick(request, ("ModelSelectionExpression", "ResponseModels", "ResponseParameters")))
        store.put(ctx.db, ctx, "routeresponse", parent, doc["RouteResponseId"], doc)
        return doc

    def _route_response(self, ctx, request) -> tuple[str, dict]:
        self._route(ctx, request)
        parent = f"{request['ApiId']}/{request['RouteId']}"
        return parent, store.must(ctx.db, ctx, "routeresponse", parent, request["RouteResponseId"],
                                  "Invalid RouteResponse identifier specified")

    def get_route_response(self, ctx, request):
        return self._route_response(ctx, request)[1]

    def get_route_responses(self, ctx, request):
        self._route(ctx, request)
        return store.page(store.items(ctx.db, ctx, "routeresponse", f"{request['ApiId']}/{request['RouteId']}"),
                          request)

    def update_route_response(self, ctx, request):
        parent, doc = self._route_response(ctx, request)
        doc.update(_pick(request, ("ModelSelectionExpression", "ResponseModels", "ResponseParameters",
                                   "RouteResponseKey")))
        store.put(ctx.db, ctx, "routeresponse", parent, doc["RouteResponseId"], doc)
        return doc

    def delete_route_response(self, ctx, request):
        parent, doc = self._route_response(ctx, request)
        store.delete(ctx.db, ctx, "routeresponse", parent, doc["RouteResponseId"])
        return {}

    # -- integrations -----------------------------------------------------------------------
    def _check_integration(self, api: dict, doc: dict) -> None:
        kind = doc.get("IntegrationType")
        if kind not in ("AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY", "MOCK"):
            raise bad_request("Invalid integration type specified")
        if api["ProtocolType"] == "HTTP" and kind not in ("AWS_PROXY", "HTTP_PROXY"):
            raise bad_request(f"Integration type {kind} is not supported for HTTP APIs")
        subtype = doc.get("IntegrationSubtype")
        if subtype:
            if subtype not in SUBTYPES:
                raise bad_request(f"Invalid integration subtype specified: {subtype}")
            if kind != "AWS_PROXY":
                raise bad_request("IntegrationSubtype is only supported for AWS_PROXY integrations")
            if doc.get("PayloadFormatVersion") not in (None, "1.0"):
                raise bad_request("PayloadFormatVersion must be 1.0 for integrations with a subtype")
            if not doc.get("RequestParameters"):
                raise bad_request("RequestParameters are required for integrations with a subtype")
        elif kind == "AWS_PROXY" and not doc.get("IntegrationUri"):
            raise bad_request("IntegrationUri is required for AWS_PROXY integrations")
        if api["ProtocolType"] == "HTTP" and kind == "AWS_PROXY" and not subtype and \
                doc.get("PayloadFormatVersion") not in ("1.0", "2.0"):
            raise bad_request("PayloadFormatVersion is required for AWS_PROXY integrations: 1.0 or 2.0")
        timeout = doc.get("TimeoutInMillis")
        if timeout is not None and not 50 <= timeout <= 30000:
            raise bad_request("TimeoutInMillis must be between 50 and 30000")

    def create_integration(self, ctx, request):
        api = self._api(ctx, request["ApiId"])
        doc = {"IntegrationId": store.new_id(7), "ConnectionType": request.get("ConnectionType") or "INTERNET",
               "IntegrationType": request["IntegrationType"],
               "TimeoutInMillis": request.get("TimeoutInMillis") or (30000 if api["ProtocolType"] == "HTTP"
                                                                     else 29000)}
        doc.update(_pick(request, ("ConnectionId", "ContentHandlingStrategy", "CredentialsArn", "Description",
                                   "IntegrationMethod", "IntegrationSubtype", "IntegrationUri",
                                   "PassthroughBehavior", "PayloadFormatVersion", "RequestParameters",
                                   "RequestTemplates", "ResponseParameters", "TemplateSelectionExpression",
                                   "TlsConfig")))
        if doc.get("IntegrationSubtype") and not doc.get("PayloadFormatVersion"):
            doc["PayloadFormatVersion"] = "1.0"
        if doc["IntegrationType"] == "HTTP_PROXY" and not doc.get("PayloadFormatVersion"):
            doc["PayloadFormatVersion"] = "1.0"
        if api["ProtocolType"] == "WEBSOCKET":
            doc.setdefault("PassthroughBehavior", "WHEN_NO_MATCH")
        self._check_integration(api, doc)
        store.put(ctx.db, ctx, "integration", api["ApiId"], doc["IntegrationId"], doc)
        self._touch(ctx, api["ApiId"])
        return store.clean(doc)

    def _integration(self, ctx, request) -> dict:
        self._api(ctx, request["ApiId"])
        return store.must(ctx.db, ctx, "integration", request["ApiId"], request["IntegrationId"],
                          f"Invalid Integration identifier specified {request['IntegrationId']}")

    def get_integration(self, ctx, request):
        return store.clean(self._integration(ctx, request))

    def get_integrations(self, ctx, request):
        self._api(ctx, request["ApiId"])
        return store.page(store.items(ctx.db, ctx, "integration", request["ApiId"]), request)

    def update_integration(self, ctx, request):
        doc = self._integration(ctx, request)
        doc.update(_pick(request, ("ConnectionId", "ConnectionType", "ContentHandlingStrategy", "CredentialsArn",
                                   "Description", "IntegrationMethod", "IntegrationSubtype", "IntegrationType",
                                   "IntegrationUri", "PassthroughBehavior", "PayloadFormatVersion",
                                   "RequestParameters", "RequestTemplates", "ResponseParameters",
                                   "TemplateSelectionExpression", "TimeoutInMillis", "TlsConfig")))
        self._check_integration(self._api(ctx, request["ApiId"]), doc)
        store.put(ctx.db, ctx, "integration", request["ApiId"], doc["IntegrationId"], doc)
        self._touch(ctx, request["ApiId"])
        return store.clean(doc)

    def delete_integration(self, ctx, request):
        doc = self._integration(ctx, request)
        for route in store.items(ctx.db, ctx, "route", request["ApiId"]):
            if route.get("Target") == f"integrations/{doc['IntegrationId']}":
                raise conflict(f"Integration {doc['IntegrationId']} is referenced by route {route['RouteKey']}")
        store.delete(ctx.db, ctx, "integration", request["ApiId"], doc["IntegrationId"])
        self._touch(ctx, request["ApiId"])
        return {}

    # -- integration responses ----------------------------------------------------------------
    def create_integration_response(self, ctx, request):
        self._integration(ctx, request)
        parent = f"{request['ApiId']}/{request['IntegrationId']}"
        doc = {"IntegrationResponseId": store.new_id(6), "IntegrationResponseKey": request["IntegrationResponseKey"]}
        doc.update(_pick(request, ("ContentHandlingStrategy", "ResponseParameters", "ResponseTemplates",
                                   "TemplateSelectionExpression")))
        store.put(ctx.db, ctx, "integrationresponse", parent, doc["IntegrationResponseId"], doc)
        return doc

    def _integration_response(self, ctx, request) -> tuple[str, dict]:
        self._integration(ctx, request)
        parent = f"{request['ApiId']}/{request['IntegrationId']}"
        return parent, store.must(ctx.db, ctx, "integrationresponse", parent, request["IntegrationResponseId"],
                                  "Invalid IntegrationResponse identifier specified")

    def get_integration_response(self, ctx, request):
        return self._integration_response(ctx, request)[1]

    def get_integration_responses(self, ctx, request):
        self._integration(ctx, request)
        return store.page(store.items(ctx.db, ctx, "integrationresponse",
                                      f"{request['ApiId']}/{request['IntegrationId']}"), request)

    def update_integration_response(self, ctx, request):
        parent, doc = self._integration_response(ctx, request)
        doc.update(_pick(request, ("ContentHandlingStrategy", "IntegrationResponseKey", "ResponseParameters",
                                   "ResponseTemplates", "TemplateSelectionExpression")))
        store.put(ctx.db, ctx, "integrationresponse", parent, doc["IntegrationResponseId"], doc)
        return doc

    def delete_integration_response(self, ctx, request):
        parent, doc = self._integration_response(ctx, request)
        store.delete(ctx.db, ctx, "integrationresponse", parent, doc["IntegrationResponseId"])
        return {}

    # -- authorizers ------------------------------------------------------------------------
    def _check_authorizer(self, api: dict, doc: dict) -> None:
        kind = doc.get("AuthorizerType")
        if kind not in ("REQUEST", "JWT"):
            raise bad_request("Invalid authorizer type specified")
        if kind == "JWT":
            jwt = doc.get("JwtConfiguration") or {}
            if not jwt.get("Issuer"):
                raise bad_request("JwtConfiguration.Issuer is required for JWT authorizers")
            if not doc.get("IdentitySource"):
                raise bad_request("IdentitySource is required for JWT authorizers")
        else:
            if not doc.get("AuthorizerUri"):
                raise bad_request("AuthorizerUri is required for REQUEST authorizers")
            if api["ProtocolType"] == "HTTP" and doc.get("AuthorizerPayloadFormatVersion") not in ("1.0", "2.0"):
                raise bad_request("AuthorizerPayloadFormatVersion is required for REQUEST authorizers: 1.0 or 2.0")
            if doc.get("EnableSimpleResponses") and doc.get("AuthorizerPayloadFormatVersion") != "2.0":
                raise bad_request("Simple responses are only supported with payload format version 2.0")

    def create_authorizer(self, ctx, request):
        api = self._api(ctx, request["ApiId"])
        doc = {"AuthorizerId": store.new_id(6), "AuthorizerType": request["AuthorizerType"],
               "Name": request["Name"], "IdentitySource": request.get("IdentitySource") or []}
        doc.update(_pick(request, ("AuthorizerCredentialsArn", "AuthorizerPayloadFormatVersion",
                                   "AuthorizerResultTtlInSeconds", "AuthorizerUri", "EnableSimpleResponses",
                                   "IdentityValidationExpression", "JwtConfiguration")))
        if doc["AuthorizerType"] == "REQUEST":
            doc.setdefault("AuthorizerResultTtlInSeconds", 0)
        self._check_authorizer(api, doc)
        store.put(ctx.db, ctx, "authorizer", api["ApiId"], doc["AuthorizerId"], doc)
        self._touch(ctx, api["ApiId"])
        return doc

    def _authorizer(self, ctx, request) -> dict:
        self._api(ctx, request["ApiId"])
        return store.must(ctx.db, ctx, "authorizer", request["ApiId"], request["AuthorizerId"],
                          f"Invalid Authorizer identifier specified {request['AuthorizerId']}")

    def get_authorizer(self, ctx, request):
        return self._authorizer(ctx, request)

    def get_authorizers(self, ctx, request):
        self._api(ctx, request["ApiId"])
        return store.page(store.items(ctx.db, ctx, "authorizer", request["ApiId"]), request)

    def update_authorizer(self, ctx, request):
        doc = self._authorizer(ctx, request)
        doc.update(_pick(request, ("AuthorizerCredentialsArn", "AuthorizerPayloadFormatVersion",
                                   "AuthorizerResultTtlInSeconds", "AuthorizerType", "AuthorizerUri",
                                   "EnableSimpleResponses", "IdentitySource", "IdentityValidationExpression",
                                   "JwtConfiguration", "Name")))
        self._check_authorizer(self._api(ctx, request["ApiId"]), doc)
        store.put(ctx.db, ctx, "authorizer", request["ApiId"], doc["AuthorizerId"], doc)
        self._touch(ctx, request["ApiId"])
        return doc

    def delete_authorizer(self, ctx, request):
        doc = self._authorizer(ctx, request)
        for route in store.items(ctx.db, ctx, "route", request["ApiId"]):
            if route.get("AuthorizerId") == doc["AuthorizerId"]:
                raise conflict(f"Authorizer {doc['AuthorizerId']} is referenced by route {route['RouteKey']}")
        store.delete(ctx.db, ctx, "authorizer", request["ApiId"], doc["AuthorizerId"])
        self._touch(ctx, request["ApiId"])
        return {}

    def reset_authorizers_cache(self, ctx, request):
        self._stage(ctx, request)
        from haneul.services.apigateway import authorizers
        authorizers.flush(ctx.account, request["ApiId"])
        return {}

    # -- deployments and stages ---------------------------------------------------------------
    def _snapshot(self, ctx, api_id: str) -> dict:
        return {"api": store.clean(self._api(ctx, api_id)),
                "routes": store.items(ctx.db, ctx, "route", api_id),
                "integrations": store.items(ctx.db, ctx, "integration", api_id),
                "authorizers": store.items(ctx.db, ctx, "authorizer", api_id)}

    def _deploy(self, ctx, api_id: str, description: str | None, auto: bool = False) -> dict:
        doc = {"DeploymentId": store.new_id(6), "DeploymentStatus": "DEPLOYED", "AutoDeployed": auto,
               "CreatedDate": utcnow(ctx).timestamp()}
        if description:
            doc["Description"] = description
        store.put(ctx.db, ctx, "deployment", api_id, doc["DeploymentId"], doc)
        store.put(ctx.db, ctx, "snapshot", api_id, doc["DeploymentId"], self._snapshot(ctx, api_id))
        for old in store.items(ctx.db, ctx, "deployment", api_id)[:-20]:
            if old.get("AutoDeployed") and not any(s.get("DeploymentId") == old["DeploymentId"]
                                                    for s in store.items(ctx.db, ctx, "stage", api_id)):
                store.delete(ctx.db, ctx, "deployment", api_id, old["DeploymentId"])
                store.delete(ctx.db, ctx, "snapshot", api_id, old["DeploymentId"])
        return doc

    def create_deployment(self, ctx, request):
        api_id = request["ApiId"]
        self._api(ctx, api_id)
        stage = None
        if request.get("StageName"):
            stage = self._stage(ctx, {"ApiId": api_id, "StageName": request["StageName"]})
            if stage.get("AutoDeploy"):
                raise bad_request("Deployments cannot be created for stages with AutoDeploy enabled")
        doc = self._deploy(ctx, api_id, request.get("Description"))
        if stage is not None:
            stage["DeploymentId"] = doc["DeploymentId"]
            stage["LastUpdatedDate"] = utcnow(ctx).timestamp()
            store.put(ctx.db, ctx, "stage", api_id, stage["StageName"], stage)
        return doc

    def _deployment(self, ctx, request) -> dict:
        self._api(ctx, request["ApiId"])
        return store.must(ctx.db, ctx, "deployment", request["ApiId"], request["DeploymentId"],
                          f"Invalid Deployment identifier specified {request['DeploymentId']}")

    def get_deployment(self, ctx, request):
        return self._deployment(ctx, request)

    def get_deployments(self, ctx, request):
        self._api(ctx, request["ApiId"])
        return store.page(store.items(ctx.db, ctx, "deployment", request["ApiId"]), request)

    def update_deployment(self, ctx, request):
        doc = self._deployment(ctx, request)
        if request.get("Description") is not None:
            doc["Description"] = request["Description"]
        store.put(ctx.db, ctx, "deployment", request["ApiId"], doc["DeploymentId"], doc)
        return doc

    def delete_deployment(self, ctx, request):
        doc = self._deployment(ctx, request)
        if any(s.get("DeploymentId") == doc["DeploymentId"] for s in store.items(ctx.db, ctx, "stage",
                                                                                 request["ApiId"])):
            raise bad_request("Active stages pointing to this deployment must be moved or deleted")
        store.delete(ctx.db, ctx, "deployment", request["ApiId"], doc["DeploymentId"])
        store.delete(ctx.db, ctx, "snapshot", request["ApiId"], doc["DeploymentId"])
        return {}

    def create_stage(self, ctx, request):
        api_id = request["ApiId"]
        self._api(ctx, api_id)
        name = request["StageName"]
        if name != "$default" and not re.match(r"^[a-zA-Z0-9_-]+$", name):
            raise bad_request("Stage name only allows a-zA-Z0-9_- or $default")
        if store.get(ctx.db, ctx, "stage", api_id, name) is not None:
            raise conflict(f"Stage {name} already exists")
        now = utcnow(ctx).timestamp()
        doc = {"StageName": name, "AutoDeploy": bool(request.get("AutoDeploy")), "CreatedDate": now,
               "LastUpdatedDate": now, "DefaultRouteSettings": request.get("DefaultRouteSettings") or
               {"DetailedMetricsEnabled": False}, "RouteSettings": request.get("RouteSettings") or {},
               "StageVariables": request.get("StageVariables") or {}, "Tags": request.get("Tags") or {}}
        doc.update(_pick(request, ("AccessLogSettings", "ClientCertificateId", "DeploymentId", "Description")))
        if doc.get("DeploymentId"):
            self._deployment(ctx, {"ApiId": api_id, "DeploymentId": doc["DeploymentId"]})
        store.put(ctx.db, ctx, "stage", api_id, name, doc)
        if doc["AutoDeploy"]:
            dep = self._deploy(ctx, api_id, "Automatic deployment triggered by changes to the Api configuration",
                               auto=True)
            doc["DeploymentId"] = dep["DeploymentId"]
            doc["LastDeploymentStatusMessage"] = f"Successfully deployed stage with deployment ID " \
                                                 f"'{dep['DeploymentId']}'"
            store.put(ctx.db, ctx, "stage", api_id, name, doc)
        return store.clean(doc)

    def _stage(self, ctx, request) -> dict:
        self._api(ctx, request["ApiId"])
        return store.must(ctx.db, ctx, "stage", request["ApiId"], request["StageName"],
                          f"Invalid stage identifier specified {request['StageName']}")

    def get_stage(self, ctx, request):
        return store.clean(self._stage(ctx, request))

    def get_stages(self, ctx, request):
        self._api(ctx, request["ApiId"])
        return store.page(store.items(ctx.db, ctx, "stage", request["ApiId"]), request)

    def update_stage(self, ctx, request):
        doc = self._stage(ctx, request)
        was_auto = doc.get("AutoDeploy")
        doc.update(_pick(request, ("AccessLogSettings", "AutoDeploy", "ClientCertificateId", "DefaultRouteSettings",
                                   "DeploymentId", "Description", "RouteSettings", "StageVariables")))
        if request.get("DeploymentId"):
            self._deployment(ctx, {"ApiId": request["ApiId"], "DeploymentId": request["DeploymentId"]})
        doc["LastUpdatedDate"] = utcnow(ctx).timestamp()
        store.put(ctx.db, ctx, "stage", request["ApiId"], doc["StageName"], doc)
        if doc.get("AutoDeploy") and not was_auto:
            self._touch(ctx, request["ApiId"])
            doc = self._stage(ctx, request)
        return store.clean(doc)

    def delete_stage(self, ctx, request):
        self._stage(ctx, request)
        store.delete(ctx.db, ctx, "stage", request["ApiId"], request["StageName"])
        return {}

    def delete_access_log_settings(self, ctx, request):
        doc = self._stage(ctx, request)
        doc.pop("AccessLogSettings", None)
        store.put(ctx.db, ctx, "stage", request["ApiId"], doc["StageName"], doc)
        return {}

    def delete_route_settings(self, ctx, request):
        doc = self._stage(ctx, request)
        if request["RouteKey"] not in (doc.get("RouteSettings") or {}):
            raise not_found(f"Invalid route settings key specified {request['RouteKey']}")
        doc["RouteSettings"].pop(request["RouteKey"])
        store.put(ctx.db, ctx, "stage", request["ApiId"], doc["StageName"], doc)
        return {}

    # -- models -----------------------------------------------------------------------------
    def create_model(self, ctx, request):
        self._api(ctx, request["ApiId"])
        for m in store.items(ctx.db, ctx, "model", request["ApiId"]):
            if m["Name"] == request["Name"]:
                raise conflict(f"Model name {request['Name']} already exists for this API")
        doc = {"ModelId": store.new_id(6), "Name": request["Name"], "Schema": request["Schema"]}
        doc.update(_pick(request, ("ContentType", "Description")))
        store.put(ctx.db, ctx, "model", request["ApiId"], doc["ModelId"], doc)
        return doc

    def _model(self, ctx, request) -> dict:
        self._api(ctx, request["ApiId"])
        return store.must(ctx.db, ctx, "model", request["ApiId"], request["ModelId"],
                          f"Invalid Model identifier specified {request['ModelId']}")

    def get_model(self, ctx, request):
        return self._model(ctx, request)

    def get_models(self, ctx, request):
        self._api(ctx, request["ApiId"])
        return store.page(store.items(ctx.db, ctx, "model", request["ApiId"]), request)

    def update_model(self, ctx, request):
        doc = self._model(ctx, request)
        doc.update(_pick(request, ("ContentType", "Description", "Name", "Schema")))
        store.put(ctx.db, ctx, "model", request["ApiId"], doc["ModelId"], doc)
        return doc

    def delete_model(self, ctx, request):
        doc = self._model(ctx, request)
        store.delete(ctx.db, ctx, "model", request["ApiId"], doc["ModelId"])
        return {}

    def get_model_template(self, ctx, request):
        from haneul.services.apigateway.apiparts import model_template
        doc = self._model(ctx, request)
        return {"Value": model_template(doc.get("Schema"), {})}

    # -- domain names, API mappings, VPC links, tags ------------------------------------------
    def create_domain_name(self, ctx, request):
        name = request["DomainName"]
        if store.get(ctx.db, ctx, "domainname", "", name) is not None:
            raise conflict(f"The domain name resource already exists: {name}")
        configs = []
        for c in _stored_configs(request.get("DomainNameConfigurations") or [{}]):
            c.setdefault("ApiGatewayDomainName", f"d-{store.new_id(10)}.execute-api.{ctx.region}.amazonaws.com")
            c.setdefault("DomainNameStatus", "AVAILABLE")
            c.setdefault("EndpointType", "REGIONAL")
            c.setdefault("HostedZoneId", "Z1UJRXOUMOOFQ8")
            c.setdefault("SecurityPolicy", "TLS_1_2")
            c.setdefault("IpAddressType", "ipv4")
            configs.append(c)
        doc = {"DomainName": name, "DomainNameConfigurations": configs,
               "ApiMappingSelectionExpression": "$request.basepath",
               "DomainNameArn": f"arn:aws:apigateway:{ctx.region}::/domainnames/{name}",
               "RoutingMode": request.get("RoutingMode") or "API_MAPPING_ONLY", "Tags": request.get("Tags") or {}}
        if request.get("MutualTlsAuthentication"):
            doc["MutualTlsAuthentication"] = request["MutualTlsAuthentication"]
        store.put(ctx.db, ctx, "domainname", "", name, doc)
        return doc

    def _domain(self, ctx, name: str) -> dict:
        return store.must(ctx.db, ctx, "domainname", "", name, f"Invalid domain name identifier specified {name}")

    def get_domain_name(self, ctx, request):
        return self._domain(ctx, request["DomainName"])

    def get_domain_names(self, ctx, request):
        return store.page(store.items(ctx.db, ctx, "domainname", ""), request)

    def update_domain_name(self, ctx, request):
        doc = self._domain(ctx, request["DomainName"])
        doc.update(_pick(request, ("DomainNameConfigurations", "MutualTlsAuthentication", "RoutingMode")))
        if "DomainNameConfigurations" in doc:
            doc["DomainNameConfigurations"] = _stored_configs(doc["DomainNameConfigurations"])
        store.put(ctx.db, ctx, "domainname", "", doc["DomainName"], doc)
        return doc

    def delete_domain_name(self, ctx, request):
        self._domain(ctx, request["DomainName"])
        store.delete(ctx.db, ctx, "domainname", "", request["DomainName"])
        store.delete(ctx.db, ctx, "apimapping", request["DomainName"])
        return {}

    def create_api_mapping(self, ctx, request):
        self._domain(ctx, request["DomainName"])
        self._stage(ctx, {"ApiId": request["ApiId"], "StageName": request["Stage"]})
        key = request.get("ApiMappingKey") or ""
        for m in store.items(ctx.db, ctx, "apimapping", request["DomainName"]):
            if m.get("ApiMappingKey", "") == key:
                raise conflict(f"ApiMapping with key '{key}' already exists for this domain name")
        doc = {"ApiMappingId": store.new_id(6), "ApiId": request["ApiId"], "Stage": request["Stage"],
               "ApiMappingKey": key}
        store.put(ctx.db, ctx, "apimapping", request["DomainName"], doc["ApiMappingId"], doc)
        return doc

    def _mapping(self, ctx, request) -> dict:
        self._domain(ctx, request["DomainName"])
        return store.must(ctx.db, ctx, "apimapping", request["DomainName"], request["ApiMappingId"],
                          "Invalid ApiMapping identifier specified")

    def get_api_mapping(self, ctx, request):
        return self._mapping(ctx, request)

    def get_api_mappings(self, ctx, request):
        self._domain(ctx, request["DomainName"])
        return store.page(store.items(ctx.db, ctx, "apimapping", request["DomainName"]), request)

    def update_api_mapping(self, ctx, request):
        doc = self._mapping(ctx, request)
        doc.update(_pick(request, ("ApiId", "ApiMappingKey", "Stage")))
        store.put(ctx.db, ctx, "apimapping", request["DomainName"], doc["ApiMappingId"], doc)
        return doc

    def delete_api_mapping(self, ctx, request):
        doc = self._mapping(ctx, request)
        store.delete(ctx.db, ctx, "apimapping", request["DomainName"], doc["ApiMappingId"])
        return {}

    def create_vpc_link(self, ctx, request):
        doc = {"VpcLinkId": store.new_id(6), "Name": request["Name"], "SubnetIds": request["SubnetIds"],
               "SecurityGroupIds": request.get("SecurityGroupIds") or [], "Tags": request.get("Tags") or {},
               "VpcLinkStatus": "AVAILABLE", "VpcLinkStatusMessage": "VPC link is ready to route traffic",
               "VpcLinkVersion": "V2", "CreatedDate": utcnow(ctx).timestamp()}
        store.put(ctx.db, ctx, "vpclink", "", doc["VpcLinkId"], doc)
        return doc

    def _vpc_link(self, ctx, link_id: str) -> dict:
        return store.must(ctx.db, ctx, "vpclink", "", link_id, f"Invalid VpcLink identifier specified {link_id}")

    def get_vpc_link(self, ctx, request):
        return self._vpc_link(ctx, request["VpcLinkId"])

    def get_vpc_links(self, ctx, request):
        return store.page(store.items(ctx.db, ctx, "vpclink", ""), request)

    def update_vpc_link(self, ctx, request):
        doc = self._vpc_link(ctx, request["VpcLinkId"])
        doc.update(_pick(request, ("Name",)))
        store.put(ctx.db, ctx, "vpclink", "", doc["VpcLinkId"], doc)
        return doc

    def delete_vpc_link(self, ctx, request):
        self._vpc_link(ctx, request["VpcLinkId"])
        store.delete(ctx.db, ctx, "vpclink", "", request["VpcLinkId"])
        return {}

    def _tagged(self, ctx, arn: str) -> tuple[str, str, str, dict]:
        path = arn.split(":/", 1)[1] if ":/" in arn else ""
        parts = path.split("/")
        kinds = {"apis": "api", "domainnames": "domainname", "vpclinks": "vpclink"}
        if len(parts) == 2 and parts[0] in kinds:
            kind, parent, id_ = kinds[parts[0]], "", parts[1]
        elif len(parts) == 4 and parts[0] == "apis" and parts[2] == "stages":
            kind, parent, id_ = "stage", parts[1], parts[3]
        else:
            raise not_found(f"Invalid resource ARN specified {arn}")
        doc = store.get(ctx.db, ctx, kind, parent, id_)
        if doc is None:
            raise not_found(f"Invalid resource ARN specified {arn}")
        return kind, parent, id_, doc

    def tag_resource(self, ctx, request):
        kind, parent, id_, doc = self._tagged(ctx, request["ResourceArn"])
        doc["Tags"] = {**(doc.get("Tags") or {}), **(request.get("Tags") or {})}
        store.put(ctx.db, ctx, kind, parent, id_, doc)
        return {}

    def untag_resource(self, ctx, request):
        kind, parent, id_, doc = self._tagged(ctx, request["ResourceArn"])
        for key in request.get("TagKeys") or ():
            (doc.get("Tags") or {}).pop(key, None)
        store.put(ctx.db, ctx, kind, parent, id_, doc)
        return {}

    def get_tags(self, ctx, request):
        return {"Tags": self._tagged(ctx, request["ResourceArn"])[3].get("Tags") or {}}

    # -- OpenAPI ----------------------------------------------------------------------------
    def import_api(self, ctx, request):
        from haneul.services.apigatewayv2.openapi import import_definition
        return import_definition(self, ctx, None, request)

    def reimport_api(self, ctx, request):
        from haneul.services.apigatewayv2.openapi import import_definition
        self._api(ctx, request["ApiId"])
        return import_definition(self, ctx, request["ApiId"], request)

    def export_api(self, ctx, request):
        from haneul.services.apigatewayv2.openapi import export_definition
        return export_definition(self, ctx, request)


def _stored_configs(configs: list) -> list:
    """Domain name configurations as stored: timestamps (CertificateUploadDate) as epoch
    seconds, since the record is JSON."""
    out = []
    for c in configs:
        c = dict(c)
        if isinstance(c.get("CertificateUploadDate"), datetime.datetime):
            c["CertificateUploadDate"] = timestamps.epoch(c["CertificateUploadDate"])
        out.append(c)
    return out
