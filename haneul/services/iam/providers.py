"""SAML and OpenID Connect identity providers, and server certificates (stored as records)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from haneul.context import RequestContext
from haneul.services.iam import certificates, errors, ids
from haneul.services.iam import tags as tagging
from haneul.services.iam.entities import LIMITS, records, require
from haneul.services.iam.paging import page

_VALID_UNTIL = re.compile(r'validUntil="([^"]+)"')


def _saml_name(saml_arn: str) -> str | None:
    m = re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:saml-provider/([\w.-]+)", saml_arn)
    return m.group(1) if m else None


def _oidc_name(oidc_arn: str) -> str | None:
    m = re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:oidc-provider/(.+)", oidc_arn)
    return m.group(1) if m else None


class Providers:
    # -- SAML ------------------------------------------------------------------------------
    def create_saml_provider(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name = request["Name"]
        if rec.get("saml-provider", name) is not None:
            raise errors.already_exists(f"SAMLProvider {name} already exists.")
        metadata = request["SAMLMetadataDocument"]
        if "EntityDescriptor" not in metadata:
            raise errors.invalid_input("Could not parse metadata.")
        provider_arn = f"arn:aws:iam::{ctx.account}:saml-provider/{name}"
        data = {"metadata": metadata, "uuid": str(uuid.uuid4()), "tags": tagging.check_new(request.get("Tags")),
                "encryption": request.get("AssertionEncryptionMode")}
        rec.insert("saml-provider", {"name": name, "path": "/", "id": data["uuid"], "arn": provider_arn,
                                     "created": ctx.now(), "data": data})
        out = {"SAMLProviderArn": provider_arn}
        if data["tags"]:
            out["Tags"] = data["tags"]
        return out

    def _saml(self, rec, saml_arn: str) -> dict:
        name = _saml_name(saml_arn)
        provider = rec.get("saml-provider", name) if name else None
        if provider is None or provider["arn"] != saml_arn:
            raise errors.no_such_entity(f"Manifest not found for arn {saml_arn}")
        return provider

    @staticmethod
    def _valid_until(provider: dict) -> float | None:
        m = _VALID_UNTIL.search(provider["data"]["metadata"])
        if m:
            try:
                return dt.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
            except ValueError:
                pass
        return provider["created"] + 100 * 365 * 86400

    def get_saml_provider(self, ctx: RequestContext, request: dict) -> dict:
        provider = self._saml(records(ctx), request["SAMLProviderArn"])
        data = provider["data"]
        out = {"SAMLProviderUUID": data["uuid"], "SAMLMetadataDocument": data["metadata"],
               "CreateDate": provider["created"], "ValidUntil": self._valid_until(provider)}
        if data.get("tags"):
            out["Tags"] = data["tags"]
        if data.get("encryption"):
            out["AssertionEncryptionMode"] = data["encryption"]
        return out

    def update_saml_provider(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        provider = self._saml(rec, request["SAMLProviderArn"])
        if request.get("SAMLMetadataDocument"):
            provider["data"]["metadata"] = request["SAMLMetadataDocument"]
        if request.get("AssertionEncryptionMode"):
            provider["data"]["encryption"] = request["AssertionEncryptionMode"]
        rec.save("saml-provider", provider)
        return {"SAMLProviderArn": provider["arn"]}

    def delete_saml_provider(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        rec.delete("saml-provider", self._saml(rec, request["SAMLProviderArn"])["name"])
        return {}

    def list_saml_providers(self, ctx: RequestContext, request: dict) -> dict:
        return {"SAMLProviderList": [{"Arn": p["arn"], "ValidUntil": self._valid_until(p), "CreateDate": p["created"]}
                                     for p in records(ctx).all("saml-provider")]}

    def tag_saml_provider(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        provider = self._saml(rec, request["SAMLProviderArn"])
        provider["data"]["tags"] = tagging.merge(provider["data"].get("tags", []), request["Tags"])
        rec.save("saml-provider", provider)
        return {}

    def untag_saml_provider(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        provider = self._saml(rec, request["SAMLProviderArn"])
        provider["data"]["tags"] = tagging.remove(provider["data"].get("tags", []), request["TagKeys"])
        rec.save("saml-provider", provider)
        return {}

    def list_saml_provider_tags(self, ctx: RequestContext, request: dict) -> dict:
        provider = self._saml(records(ctx), request["SAMLProviderArn"])
        return page(provider["data"].get("tags", []), request, lambda t: t["Key"].lower(), "Tags")

    # -- OpenID Connect --------------------------------------------------------------------
    def create_open_id_connect_provider(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        url = request["Url"]
        if not url.startswith("https://") or len(url) <= len("https://"):
            raise errors.validation("Invalid Open ID Connect Provider URL")
        name = url[len("https://"):].rstrip("/")
        if rec.get("oidc-provider", name) is not None:
            raise errors.already_exists(f"Provider with url {url} already exists.")
        thumbprints = request.get("ThumbprintList") or []
        if len(thumbprints) > 5:
            raise errors.limit_exceeded("Thumbprint list must contain fewer than 5 entries.")
        clients = list(dict.fromkeys(request.get("ClientIDList") or []))
        if len(clients) > 100:
            raise errors.limit_exceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100")
        provider_arn = f"arn:aws:iam::{ctx.account}:oidc-provider/{name}"
        data = {"url": name, "clients": clients, "thumbprints": thumbprints,
                "tags": tagging.check_new(request.get("Tags"))}
        rec.insert("oidc-provider", {"name": name, "path": "/", "id": provider_arn, "arn": provider_arn,
                                     "created": ctx.now(), "data": data})
        out = {"OpenIDConnectProviderArn": provider_arn}
        if data["tags"]:
            out["Tags"] = data["tags"]
        return out

    def _oidc(self, rec, oidc_arn: str) -> dict:
        name = _oidc_name(oidc_arn)
        provider = rec.get("oidc-provider", name) if name else None
        if provider is None or provider["arn"] != oidc_arn:
            raise errors.no_such_entity(f"OpenIDConnect Provider not found for arn {oidc_arn}")
        return provider

    def get_open_id_connect_provider(self, ctx: RequestContext, request: dict) -> dict:
        provider = self._oidc(records(ctx), request["OpenIDConnectProviderArn"])
        data = provider["data"]
        out = {"Url": data["url"], "ClientIDList": data["clients"], "ThumbprintList": data["thumbprints"],
               "CreateDate": provider["created"]}
        if data.get("tags"):
            out["Tags"] = data["tags"]
        if data.get("context_provider"):
            out["ContextProvider"] = data["context_provider"]
        if data.get("identity_center"):
            out["IdentityCenterInstanceArn"] = data["identity_center"]
        return out

    def list_open_id_connect_providers(self, ctx: RequestContext, request: dict) -> dict:
        return {"OpenIDConnectProviderList": [{"Arn": p["arn"]} for p in records(ctx).all("oidc-provider")]}

    def _update_oidc(self, ctx, request, change) -> dict:
        rec = records(ctx)
        provider = self._oidc(rec, request["OpenIDConnectProviderArn"])
        change(provider["data"])
        rec.save("oidc-provider", provider)
        return {}

    def add_client_id_to_open_id_connect_provider(self, ctx: RequestContext, request: dict) -> dict:
        def add(data):
            if request["ClientID"] not in data["clients"]:
                data["clients"].append(request["ClientID"])
        return self._update_oidc(ctx, request, add)

    def remove_client_id_from_open_id_connect_provider(self, ctx: RequestContext, request: dict) -> dict:
        def remove(data):
            data["clients"] = [c for c in data["clients"] if c != request["ClientID"]]
        return self._update_oidc(ctx, request, remove)

    def update_open_id_connect_provider_thumbprint(self, ctx: RequestContext, request: dict) -> dict:
        if len(request["ThumbprintList"]) > 5:
            raise errors.limit_exceeded("Thumbprint list must contain fewer than 5 entries.")
        return self._update_oidc(ctx, request, lambda data: data.update(thumbprints=request["ThumbprintList"]))

    def update_open_id_connect_provider(self, ctx: RequestContext, request: dict) -> dict:
        def update(data):
            if request.get("RemoveContextProvider"):
                data.pop("context_provider", None)
            elif request.get("ContextProvider"):
                data["context_provider"] = request["ContextProvider"]
            if request.get("RemoveIdentityCenterInstance"):
                data.pop("identity_center", None)
            elif request.get("IdentityCenterInstanceArn"):
                data["identity_center"] = request["IdentityCenterInstanceArn"]
        return self._update_oidc(ctx, request, update)

    def delete_open_id_connect_provider(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name = _oidc_name(request["OpenIDConnectProviderArn"])
        provider = rec.get("oidc-provider", name) if name else None
        if provider is not None:     # IAM answers success for a provider that does not exist
            rec.delete("oidc-provider", provider["name"])
        return {}

    def tag_open_id_connect_provider(self, ctx: RequestContext, request: dict) -> dict:
        return self._update_oidc(ctx, request, lambda d: d.update(tags=tagging.merge(d.get("tags", []),
                                                                                     request["Tags"])))

    def untag_open_id_connect_provider(self, ctx: RequestContext, request: dict) -> dict:
        return self._update_oidc(ctx, request, lambda d: d.update(tags=tagging.remove(d.get("tags", []),
                                                                                      request["TagKeys"])))

    def list_open_id_connect_provider_tags(self, ctx: RequestContext, request: dict) -> dict:
        provider = self._oidc(records(ctx), request["OpenIDConnectProviderArn"])
        return page(provider["data"].get("tags", []), request, lambda t: t["Key"].lower(), "Tags")

    # -- server certificates ---------------------------------------------------------------
    @staticmethod
    def _cert_metadata(cert: dict) -> dict:
        return {"Path": cert["path"], "ServerCertificateName": cert["name"], "ServerCertificateId": cert["id"],
                "Arn": cert["arn"], "UploadDate": cert["created"], "Expiration": cert["data"]["expiration"]}

    def upload_server_certificate(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name, path = request["ServerCertificateName"], request.get("Path") or "/"
        if rec.get("server-certificate", name) is not None:
            raise errors.already_exists(f"The Server Certificate with name {name} already exists.")
        validity = certificates.parse(request["CertificateBody"])
        if "PRIVATE KEY-----" not in request["PrivateKey"]:
            raise errors.AwsError("MalformedCertificateException", "Unable to parse private key.")
        if request.get("CertificateChain") and not certificates.count(request["CertificateChain"]):
            raise errors.AwsError("MalformedCertificateException", "Unable to parse certificate chain.")
        if rec.count("server-certificate") >= LIMITS["ServerCertificates"]:
            raise errors.quota("ServerCertificatesPerAccount", LIMITS["ServerCertificates"])
        data = {"body": request["CertificateBody"], "chain": request.get("CertificateChain"),
                "expiration": validity["not_after"], "tags": tagging.check_new(request.get("Tags"))}
        cert = {"name": name, "path": path, "id": ids.new_id(ids.SERVER_CERT),
                "arn": ids.arn(ctx.account, "server-certificate", name, path), "created": ctx.now(), "data": data}
        rec.insert("server-certificate", cert)
        out = {"ServerCertificateMetadata": self._cert_metadata(cert)}
        if data["tags"]:
            out["Tags"] = data["tags"]
        return out

    def get_server_certificate(self, ctx: RequestContext, request: dict) -> dict:
        cert = require(records(ctx), "server-certificate", request["ServerCertificateName"])
        out = {"ServerCertificateMetadata": self._cert_metadata(cert), "CertificateBody": cert["data"]["body"]}
        if cert["data"].get("chain"):
            out["CertificateChain"] = cert["data"]["chain"]
        if cert["data"].get("tags"):
            out["Tags"] = cert["data"]["tags"]
        return {"ServerCertificate": out}

    def list_server_certificates(self, ctx: RequestContext, request: dict) -> dict:
        certs = records(ctx).all("server-certificate", request.get("PathPrefix"))
        out = page(certs, request, lambda c: c["name"].lower(), "ServerCertificateMetadataList")
        out["ServerCertificateMetadataList"] = [self._cert_metadata(c) for c in out["ServerCertificateMetadataList"]]
        return out

    def update_server_certificate(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        cert = require(rec, "server-certificate", request["ServerCertificateName"])
        old = cert["name"]
        new_name = request.get("NewServerCertificateName") or old
        if new_name.lower() != old.lower() and rec.get("server-certificate", new_name) is not None:
            raise errors.already_exists(f"The Server Certificate with name {new_name} already exists.")
        cert["name"], cert["path"] = new_name, request.get("NewPath") or cert["path"]
        cert["arn"] = ids.arn(ctx.account, "server-certificate", new_name, cert["path"])
        rec.save("server-certificate", cert, old)
        return {}

    def delete_server_certificate(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        rec.delete("server-certificate", require(rec, "server-certificate", request["ServerCertificateName"])["name"])
        return {}

    def _update_cert_tags(self, ctx, request, change) -> dict:
        rec = records(ctx)
        cert = require(rec, "server-certificate", request["ServerCertificateName"])
        cert["data"]["tags"] = change(cert["data"].get("tags", []))
        rec.save("server-certificate", cert)
        return {}

    def tag_server_certificate(self, ctx: RequestContext, request: dict) -> dict:
        return self._update_cert_tags(ctx, request, lambda t: tagging.merge(t, request["Tags"]))

    def untag_server_certificate(self, ctx: RequestContext, request: dict) -> dict:
        return self._update_cert_tags(ctx, request, lambda t: tagging.remove(t, request["TagKeys"]))

    def list_server_certificate_tags(self, ctx: RequestContext, request: dict) -> dict:
        cert = require(records(ctx), "server-certificate", request["ServerCertificateName"])
        return page(cert["data"].get("tags", []), request, lambda t: t["Key"].lower(), "Tags")
