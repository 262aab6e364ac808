"""A user's credentials: login profile (console password), access keys, SSH public keys,
signing certificates and service-specific credentials."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import string

from haneul.context import RequestContext
from haneul.services.iam import certificates, errors, ids
from haneul.services.iam.entities import LIMITS, caller_user_name, records, require, target_user
from haneul.services.iam.paging import page

SERVICE_CREDENTIAL_SERVICES = ("codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com")


def password_problem(policy: dict, password: str) -> str | None:
    """Why `password` breaks the account password policy (IAM's wording), or None."""
    minimum = policy.get("MinimumPasswordLength", 8)
    rules = [(len(password) >= minimum, f"Password should have at least {minimum} characters"),
             (not policy.get("RequireSymbols") or any(c in string.punctuation for c in password),
              "Password should have at least one symbol"),
             (not policy.get("RequireNumbers") or any(c.isdigit() for c in password),
              "Password should have at least one number"),
             (not policy.get("RequireUppercaseCharacters") or any(c.isupper() for c in password),
              "Password should have at least one uppercase letter"),
             (not policy.get("RequireLowercaseCharacters") or any(c.islower() for c in password),
              "Password should have at least one lowercase letter")]
    problems = [message for ok, message in rules if not ok]
    return "; ".join(problems) if problems else None


def _hash(password: str) -> str:
    salt = secrets.token_hex(8)
    return salt + "$" + hashlib.sha256((salt + password).encode()).hexdigest()


def _matches(stored: str, password: str) -> bool:
    salt, _, digest = stored.partition("$")
    return hashlib.sha256((salt + password).encode()).hexdigest() == digest


def ssh_fingerprint(body: str) -> str:
    """The MD5 fingerprint IAM shows for an OpenSSH (ssh-rsa ...) or PEM public key."""
    text = body.strip()
    if text.startswith("-----BEGIN"):
        lines = [ln for ln in text.splitlines() if ln and not ln.startswith("-----")]
        blob = "".join(lines)
    else:
        parts = text.split()
        if len(parts) < 2 or parts[0] != "ssh-rsa":
            raise errors.AwsError("UnrecognizedPublicKeyEncodingException",
                                  "Unable to parse public key: unrecognized encoding.")
        blob = parts[1]
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        raise errors.AwsError("UnrecognizedPublicKeyEncodingException",
                              "Unable to parse public key: unrecognized encoding.") from None
    digest = hashlib.md5(raw).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


class Credentials:
    # -- login profiles -------------------------------------------------------------------
    def create_login_profile(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        if user is None:
            raise errors.validation("Root user login profiles are not managed through CreateLoginProfile.")
        if user["data"].get("login_profile"):
            raise errors.already_exists(f"Login Profile for user {user['name']} already exists.")
        password = request.get("Password")
        if password is not None:
            self._check_password(rec, password)
        profile = {"created": ctx.now(), "reset": bool(request.get("PasswordResetRequired")),
                   "password": _hash(password) if password is not None else None}
        user["data"]["login_profile"] = profile
        rec.save("user", user)
        return {"LoginProfile": self._login_shape(user)}

    @staticmethod
    def _check_password(rec, password: str) -> None:
        problem = password_problem(rec.settings().get("password_policy") or {}, password)
        if problem:
            raise errors.AwsError("PasswordPolicyViolationException", problem)

    @staticmethod
    def _login_shape(user: dict) -> dict:
        profile = user["data"]["login_profile"]
        return {"UserName": user["name"], "CreateDate": profile["created"],
                "PasswordResetRequired": profile["reset"]}

    def _login_user(self, ctx: RequestContext, request: dict) -> tuple:
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        if user is None or not user["data"].get("login_profile"):
            name = user["name"] if user else "root"
            raise errors.no_such_entity(f"Login Profile for User {name} cannot be found.")
        return rec, user

    def get_login_profile(self, ctx: RequestContext, request: dict) -> dict:
        _, user = self._login_user(ctx, request)
        return {"LoginProfile": self._login_shape(user)}

    def update_login_profile(self, ctx: RequestContext, request: dict) -> dict:
        rec, user = self._login_user(ctx, request)
        profile = user["data"]["login_profile"]
        if request.get("Password") is not None:
            self._check_password(rec, request["Password"])
            profile["password"] = _hash(request["Password"])
        if request.get("PasswordResetRequired") is not None:
            profile["reset"] = request["PasswordResetRequired"]
        rec.save("user", user)
        return {}

    def delete_login_profile(self, ctx: RequestContext, request: dict) -> dict:
        rec, user = self._login_user(ctx, request)
        del user["data"]["login_profile"]
        rec.save("user", user)
        return {}

    def change_password(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name = caller_user_name(ctx)
        if name is None:
            raise errors.AwsError("InvalidUserTypeException", "Only IAM Users can change their own password.")
        user = require(rec, "user", name)
        profile = user["data"].get("login_profile")
        if not profile:
            raise errors.no_such_entity(f"Login Profile for User {name} cannot be found.")
        if profile.get("password") and not _matches(profile["password"], request["OldPassword"]):
            raise errors.invalid_input("The old password was incorrect.")
        self._check_password(rec, request["NewPassword"])
        profile["password"], profile["reset"] = _hash(request["NewPassword"]), False
        rec.save("user", user)
        return {}

    # -- access keys ------------------------------------------------------------------------
    def create_access_key(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        user_key = user["name"].lower() if user else ""
        count = rec.scalar("SELECT count(*) FROM iam_access_key WHERE account=? AND region=? AND user_key=?",
                           user_key)
        if count >= LIMITS["AccessKeysPerUser"]:
            raise errors.quota("AccessKeysPerUser", LIMITS["AccessKeysPerUser"])
        key_id, secret = ids.new_access_key(ctx.account)
        now = ctx.now()
        rec.db.execute("INSERT INTO iam_access_key(access_key_id, account, region, user_key, secret, status, "
                       "created) VALUES (?,?,?,?,?,?,?)", (key_id, ctx.account, "", user_key, secret, "Active", now))
        out = {"AccessKeyId": key_id, "Status": "Active", "SecretAccessKey": secret, "CreateDate": now,
               "UserName": user["name"] if user else ctx.account}
        return {"AccessKey": out}

    def _access_key(self, ctx: RequestContext, request: dict):
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        user_key = user["name"].lower() if user else ""
        row = rec.exec("SELECT * FROM iam_access_key WHERE account=? AND region=? AND access_key_id=? "
                       "AND user_key=?", request["AccessKeyId"], user_key).fetchone()
        if row is None:
            raise errors.no_such_entity(f"The Access Key with id {request['AccessKeyId']} cannot be found")
        return rec, row

    def update_access_key(self, ctx: RequestContext, request: dict) -> dict:
        rec, row = self._access_key(ctx, request)
        rec.db.execute("UPDATE iam_access_key SET status=? WHERE access_key_id=?",
                       (request["Status"], row["access_key_id"]))
        return {}

    def delete_access_key(self, ctx: RequestContext, request: dict) -> dict:
        rec, row = self._access_key(ctx, request)
        rec.db.execute("DELETE FROM iam_access_key WHERE access_key_id=?", (row["access_key_id"],))
        return {}

    def list_access_keys(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        rows = rec.exec("SELECT access_key_id, status, created FROM iam_access_key WHERE account=? AND region=? "
                        "AND user_key=? ORDER BY created, access_key_id", user["name"].lower() if user else "").fetchall()
        name = user["name"] if user else None
        keys = [{"UserName": name, "AccessKeyId": r[0], "Status": r[1], "CreateDate": r[2]} for r in rows]
        return page(keys, request, lambda k: k["AccessKeyId"], "AccessKeyMetadata")

    def get_access_key_last_used(self, ctx: RequestContext, request: dict) -> dict:
        row = ctx.db.execute("SELECT * FROM iam_access_key WHERE access_key_id=?", (request["AccessKeyId"],)).fetchone()
        if row is None or row["account"] != ctx.account:
            raise errors.AwsError("AccessDenied", "You are not authorized to perform this operation.", 403)
        name = records(ctx).get("user", row["user_key"])["name"] if row["user_key"] else None
        if row["last_used"] is None:
            last = {"ServiceName": "N/A", "Region": "N/A"}
        else:
            last = {"LastUsedDate": row["last_used"], "ServiceName": row["last_service"], "Region": row["last_region"]}
        out = {"AccessKeyLastUsed": last}
        if name:
            out["UserName"] = name
        return out

    # -- SSH public keys, signing certificates, service-specific credentials ---------------
    def _credential(self, rec, user: dict, kind: str, cred_id: str, what: str) -> dict:
        row = rec.exec("SELECT * FROM iam_credential WHERE account=? AND region=? AND kind=? AND id=? "
                       "AND user_key=?", kind, cred_id, user["name"].lower()).fetchone()
        if row is None:
            raise errors.no_such_entity(what)
        return {"id": row["id"], "created": row["created"], **json.loads(row["data"])}

    def _credentials_of(self, rec, user: dict, kind: str) -> list[dict]:
        return [{"id": r["id"], "created": r["created"], **json.loads(r["data"])} for r in rec.rows(
            "SELECT * FROM iam_credential WHERE account=? AND region=? AND user_key=? AND kind=? ORDER BY created, id",
            user["name"].lower(), kind)]

    def _put_credential(self, rec, user: dict, kind: str, cred: dict) -> None:
        data = {k: v for k, v in cred.items() if k not in ("id", "created")}
        rec.exec("INSERT INTO iam_credential(account, region, kind, id, user_key, created, data) VALUES (?,?,?,?,?,?,?) "
                 "ON CONFLICT(account, region, kind, id) DO UPDATE SET data=excluded.data",
                 kind, cred["id"], user["name"].lower(), cred["created"], json.dumps(data))

    def _drop_credential(self, rec, kind: str, cred_id: str) -> None:
        rec.exec("DELETE FROM iam_credential WHERE account=? AND region=? AND kind=? AND id=?", kind, cred_id)

    @staticmethod
    def _ssh_shape(user: dict, key: dict, body: bool = True) -> dict:
        out = {"UserName": user["name"], "SSHPublicKeyId": key["id"], "Status": key["status"],
               "UploadDate": key["created"]}
        if body:
            out.update(Fingerprint=key["fingerprint"], SSHPublicKeyBody=key["body"])
        return out

    def upload_ssh_public_key(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = require(rec, "user", request["UserName"])
        body = request["SSHPublicKeyBody"]
        fingerprint = ssh_fingerprint(body)
        existing = self._credentials_of(rec, user, "ssh-key")
        if any(k["fingerprint"] == fingerprint for k in existing):
            raise errors.AwsError("DuplicateSSHPublicKeyException",
                                  "The public key associated with the specified SSH public key ID has already "
                                  "been uploaded for this user.")
        if len(existing) >= LIMITS["SSHPublicKeysPerUser"]:
            raise errors.quota("SSHPublicKeysPerUser", LIMITS["SSHPublicKeysPerUser"])
        key = {"id": ids.new_id(ids.SSH_KEY), "created": ctx.now(), "body": body, "fingerprint": fingerprint,
               "status": "Active"}
        self._put_credential(rec, user, "ssh-key", key)
        return {"SSHPublicKey": self._ssh_shape(user, key)}

    def _ssh_key(self, ctx, request):
        rec = records(ctx)
        user = require(rec, "user", request["UserName"])
        key = self._credential(rec, user, "ssh-key", request["SSHPublicKeyId"],
                               f"The Public Key with id {request['SSHPublicKeyId']} cannot be found.")
        return rec, user, key

    def get_ssh_public_key(self, ctx: RequestContext, request: dict) -> dict:
        _, user, key = self._ssh_key(ctx, request)
        out = self._ssh_shape(user, key)
        if request["Encoding"] == "PEM" and not key["body"].startswith("-----"):
            blob = key["body"].split()[1]
            lines = [blob[i:i + 64] for i in range(0, len(blob), 64)]
            out["SSHPublicKeyBody"] = "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"
        return {"SSHPublicKey": out}

    def update_ssh_public_key(self, ctx: RequestContext, request: dict) -> dict:
        rec, user, key = self._ssh_key(ctx, request)
        key["status"] = request["Status"]
        self._put_credential(rec, user, "ssh-key", key)
        return {}

    def delete_ssh_public_key(self, ctx: RequestContext, request: dict) -> dict:
        rec, _, key = self._ssh_key(ctx, request)
        self._drop_credential(rec, "ssh-key", key["id"])
        return {}

    def list_ssh_public_keys(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        keys = self._credentials_of(rec, user, "ssh-key") if user else []
        out = page(keys, request, lambda k: k["id"], "SSHPublicKeys")
        out["SSHPublicKeys"] = [self._ssh_shape(user, k, body=False) for k in out["SSHPublicKeys"]]
        return out

    @staticmethod
    def _cert_shape(user: dict, cert: dict) -> dict:
        return {"UserName": user["name"], "CertificateId": cert["id"], "CertificateBody": cert["body"],
                "Status": cert["status"], "UploadDate": cert["created"]}

    def upload_signing_certificate(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        if user is None:
            raise errors.validation("Signing certificates of the root user are not supported.")
        body = request["CertificateBody"]
        certificates.parse(body)
        existing = self._credentials_of(rec, user, "signing-certificate")
        if any(c["body"].strip() == body.strip() for c in existing):
            raise errors.AwsError("DuplicateCertificateException", "The certificate already exists.")
        if len(existing) >= LIMITS["SigningCertificatesPerUser"]:
            raise errors.quota("SigningCertificatesPerUser", LIMITS["SigningCertificatesPerUser"])
        cert = {"id": ids.signing_certificate_id(), "created": ctx.now(), "body": body, "status": "Active"}
        self._put_credential(rec, user, "signing-certificate", cert)
        return {"Certificate": self._cert_shape(user, cert)}

    def _signing_cert(self, ctx, request):
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        if user is None:
            raise errors.no_such_entity(f"The Certificate with id {request['CertificateId']} cannot be found.")
        cert = self._credential(rec, user, "signing-certificate", request["CertificateId"],
                                f"The Certificate with id {request['CertificateId']} cannot be found.")
        return rec, user, cert

    def update_signing_certificate(self, ctx: RequestContext, request: dict) -> dict:
        rec, user, cert = self._signing_cert(ctx, request)
        cert["status"] = request["Status"]
        self._put_credential(rec, user, "signing-certificate", cert)
        return {}

    def delete_signing_certificate(self, ctx: RequestContext, request: dict) -> dict:
        rec, _, cert = self._signing_cert(ctx, request)
        self._drop_credential(rec, "signing-certificate", cert["id"])
        return {}

    def list_signing_certificates(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        certs = self._credentials_of(rec, user, "signing-certificate") if user else []
        out = page(certs, request, lambda c: c["id"], "Certificates")
        out["Certificates"] = [self._cert_shape(user, c) for c in out["Certificates"]]
        return out

    @staticmethod
    def _service_cred_shape(user: dict, cred: dict, secret: bool = False) -> dict:
        out = {"UserName": user["name"], "Status": cred["status"], "ServiceUserName": cred["service_user"],
               "CreateDate": cred["created"], "ServiceSpecificCredentialId": cred["id"],
               "ServiceName": cred["service"]}
        if secret:
            out["ServicePassword"] = cred["password"]
        return out

    def create_service_specific_credential(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = require(rec, "user", request["UserName"])
        service = request["ServiceName"]
        if service not in SERVICE_CREDENTIAL_SERVICES:
            raise errors.AwsError("ServiceNotSupportedException", f"Service {service} is not supported.")
        existing = [c for c in self._credentials_of(rec, user, "service-credential") if c["service"] == service]
        if len(existing) >= 2:
            raise errors.quota("ServiceSpecificCredentialsPerUserPerService", 2)
        cred = {"id": ids.new_id(ids.SERVICE_CRED), "created": ctx.now(), "service": service, "status": "Active",
                "service_user": f"{user['name']}-at-{ctx.account}",
                "password": base64.b64encode(secrets.token_bytes(33)).decode()}
        self._put_credential(rec, user, "service-credential", cred)
        return {"ServiceSpecificCredential": self._service_cred_shape(user, cred, secret=True)}

    def _service_cred(self, ctx, request):
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        cred_id = request["ServiceSpecificCredentialId"]
        if user is None:
            raise errors.no_such_entity(f"No such credential {cred_id} exists")
        cred = self._credential(rec, user, "service-credential", cred_id, f"No such credential {cred_id} exists")
        return rec, user, cred

    def reset_service_specific_credential(self, ctx: RequestContext, request: dict) -> dict:
        rec, user, cred = self._service_cred(ctx, request)
        cred["password"] = base64.b64encode(secrets.token_bytes(33)).decode()
        self._put_credential(rec, user, "service-credential", cred)
        return {"ServiceSpecificCredential": self._service_cred_shape(user, cred, secret=True)}

    def update_service_specific_credential(self, ctx: RequestContext, request: dict) -> dict:
        rec, user, cred = self._service_cred(ctx, request)
        cred["status"] = request["Status"]
        self._put_credential(rec, user, "service-credential", cred)
        return {}

    def delete_service_specific_credential(self, ctx: RequestContext, request: dict) -> dict:
        rec, _, cred = self._service_cred(ctx, request)
        self._drop_credential(rec, "service-credential", cred["id"])
        return {}

    def list_service_specific_credentials(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        users = rec.all("user") if request.get("AllUsers") else [u for u in [target_user(ctx, rec, request)] if u]
        out = []
        for user in users:
            for cred in self._credentials_of(rec, user, "service-credential"):
                if not request.get("ServiceName") or cred["service"] == request["ServiceName"]:
                    out.append(self._service_cred_shape(user, cred))
        return page(out, request, lambda c: c["ServiceSpecificCredentialId"], "ServiceSpecificCredentials")
