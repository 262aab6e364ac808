"""ImportApi / ReimportApi / ExportApi for HTTP APIs (OpenAPI 3 with the
x-amazon-apigateway-integration, -cors and authorizer extensions)."""

from __future__ import annotations

import json

from haneul.services.apigateway.openapi import X, parse_definition
from haneul.services.apigatewayv2 import store

VERBS = ("get", "put", "post", "delete", "options", "head", "patch")


def import_definition(svc, ctx, api_id: str | None, request: dict) -> dict:
    spec = parse_definition(request.get("Body"))
    info = spec.get("info") or {}
    if api_id is None:
        api = svc.create_api(ctx, {"Name": info.get("title") or "imported", "ProtocolType": "HTTP",
                                   "Description": info.get("description"), "Version": info.get("version")})
        api_id = api["ApiId"]
    else:
        for kind in ("route", "integration", "authorizer"):
            store.delete(ctx.db, ctx, kind, api_id)
    cors = spec.get(X + "cors")
    if cors:
        svc.update_api(ctx, {"ApiId": api_id, "CorsConfiguration": {
            "AllowOrigins": cors.get("allowOrigins"), "AllowMethods": cors.get("allowMethods"),
            "AllowHeaders": cors.get("allowHeaders"), "ExposeHeaders": cors.get("exposeHeaders"),
            "MaxAge": cors.get("maxAge"), "AllowCredentials": cors.get("allowCredentials")}})
    authorizers = {}
    for name, scheme in ((spec.get("components") or {}).get("securitySchemes") or {}).items():
        auth = scheme.get(X + "authorizer") or {}
        if auth.get("type") == "jwt":
            jwt = auth.get("jwtConfiguration") or {}
            created = svc.create_authorizer(ctx, {
                "ApiId": api_id, "Name": name, "AuthorizerType": "JWT",
                "IdentitySource": [auth.get("identitySource") or "$request.header.Authorization"],
                "JwtConfiguration": {"Issuer": jwt.get("issuer"), "Audience": jwt.get("audience") or []}})
            authorizers[name] = ("JWT", created["AuthorizerId"])
        elif auth.get("type") == "request":
            source = auth.get("identitySource") or []
            created = svc.create_authorizer(ctx, {
                "ApiId": api_id, "Name": name, "AuthorizerType": "REQUEST", "AuthorizerUri": auth.get("authorizerUri"),
                "IdentitySource": source if isinstance(source, list) else [s.strip() for s in source.split(",")],
                "AuthorizerPayloadFormatVersion": auth.get("authorizerPayloadFormatVersion") or "2.0",
                "EnableSimpleResponses": bool(auth.get("enableSimpleResponses")),
                "AuthorizerResultTtlInSeconds": auth.get("authorizerResultTtlInSeconds") or 0})
            authorizers[name] = ("CUSTOM", created["AuthorizerId"])
    for path, item in (spec.get("paths") or {}).items():
        for verb, op in (item or {}).items():
            method = "ANY" if verb == X + "any-method" else verb.upper() if verb in VERBS else None
            if method is None:
                continue
            key = "$default" if path == "$default" else f"{method} {path}"
            route = {"ApiId": api_id, "RouteKey": key}
            x = (op or {}).get(X + "integration")
            if x:
                integ = {"ApiId": api_id, "IntegrationType": (x.get("type") or "aws_proxy").upper(),
                         "PayloadFormatVersion": x.get("payloadFormatVersion") or
                         ("2.0" if (x.get("type") or "").lower() == "aws_proxy" and not x.get("integrationSubtype")
                          else "1.0")}
                for src, dst in (("uri", "IntegrationUri"), ("httpMethod", "IntegrationMethod"),
                                 ("connectionType", "ConnectionType"), ("integrationSubtype", "IntegrationSubtype"),
                                 ("requestParameters", "RequestParameters"), ("timeoutInMillis", "TimeoutInMillis"),
                                 ("responseParameters", "ResponseParameters"), ("credentials", "CredentialsArn")):
                    if x.get(src) is not None:
                        integ[dst] = x[src]
                created = svc.create_integration(ctx, integ)
                route["Target"] = f"integrations/{created['IntegrationId']}"
            for requirement in (op or {}).get("security") or []:
                for name, scopes in requirement.items():
                    if name in authorizers:
                        route["AuthorizationType"], route["AuthorizerId"] = authorizers[name]
                        if scopes:
                            route["AuthorizationScopes"] = scopes
            svc.create_route(ctx, route)
    return store.clean(store.get(ctx.db, ctx, "api", "", api_id))


def export_definition(svc, ctx, request: dict) -> dict:
    api = svc._api(ctx, request["ApiId"])
    routes = store.items(ctx.db, ctx, "route", api["ApiId"])
    integrations = {i["IntegrationId"]: i for i in store.items(ctx.db, ctx, "integration", api["ApiId"])}
    authorizers = {a["AuthorizerId"]: a for a in store.items(ctx.db, ctx, "authorizer", api["ApiId"])}
    with_ext = request.get("IncludeExtensions", True) is not False
    doc = {"openapi": "3.0.1", "info": {"title": api["Name"], "version": api.get("Version") or "1.0"},
           "paths": {}}
    if request.get("StageName"):
        doc["servers"] = [{"url": api["ApiEndpoint"] + ("" if request["StageName"] == "$default"
                                                         else "/" + request["StageName"])}]
    for r in routes:
        method, _, path = r["RouteKey"].partition(" ")
        path = path or "$default"
        verb = X + "any-method" if method in ("ANY", "$default") else method.lower()
        op: dict = {"responses": {"default": {"description": "Default response"}}}
        if path != "$default":
            params = [p.strip("{}+") for p in path.split("/") if p.startswith("{")]
            if params:
                op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                    for p in params]
        target = integrations.get((r.get("Target") or "").replace("integrations/", ""))
        if with_ext and target:
            x = {"type": target["IntegrationType"].lower(), "payloadFormatVersion": target.get("PayloadFormatVersion")}
            for src, dst in (("IntegrationUri", "uri"), ("IntegrationMethod", "httpMethod"),
                             ("ConnectionType", "connectionType"), ("IntegrationSubtype", "integrationSubtype"),
                             ("RequestParameters", "requestParameters"), ("TimeoutInMillis", "timeoutInMillis")):
                if target.get(src) is not None:
                    x[dst] = target[src]
            op[X + "integration"] = x
        auth = authorizers.get(r.get("AuthorizerId") or "")
        if auth:
            op["security"] = [{auth["Name"]: r.get("AuthorizationScopes") or []}]
        doc["paths"].setdefault(path, {})[verb] = op
    if authorizers:
        schemes = {}
        for a in authorizers.values():
            ext = {"type": a["AuthorizerType"].lower(), "identitySource": ",".join(a.get("IdentitySource") or [])}
            if a["AuthorizerType"] == "JWT":
                ext["jwtConfiguration"] = {"issuer": a["JwtConfiguration"].get("Issuer"),
                                           "audience": a["JwtConfiguration"].get("Audience") or []}
            else:
                ext["authorizerUri"] = a.get("AuthorizerUri")
                ext["authorizerPayloadFormatVersion"] = a.get("AuthorizerPayloadFormatVersion")
                ext["enableSimpleResponses"] = bool(a.get("EnableSimpleResponses"))
            schemes[a["Name"]] = {"type": "oauth2" if a["AuthorizerType"] == "JWT" else "apiKey",
                                  **({"name": "Authorization", "in": "header"} if a["AuthorizerType"] != "JWT"
                                     else {"flows": {}}), X + "authorizer": ext}
        doc["components"] = {"securitySchemes": schemes}
    if with_ext and api.get("CorsConfiguration"):
        c = api["CorsConfiguration"]
        doc[X + "cors"] = {k[0].lower() + k[1:]: v for k, v in c.items()}
    if request.get("OutputType") == "YAML":
        import yaml
        return {"body": yaml.safe_dump(doc, sort_keys=False).encode()}
    return {"body": json.dumps(doc, indent=2).encode()}
