"""MFA devices: virtual devices with a real TOTP seed (RFC 6238, 30-second steps, 6 digits),
so EnableMFADevice, ResyncMFADevice and STS's SerialNumber/TokenCode checks verify codes
computed from the seed as an authenticator app would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct

from haneul.context import RequestContext
from haneul.services.iam import errors, ids
from haneul.services.iam import tags as tagging
from haneul.services.iam.entities import LIMITS, records, require, user_shape
from haneul.services.iam.paging import page
from haneul.services.iam.records import Records

STEP = 30
WINDOW = 2   # steps either side of now accepted (clock drift)


def totp(seed_b32: str, counter: int) -> str:
    key = base64.b32decode(seed_b32)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def consecutive_codes_valid(seed: str, code1: str, code2: str, now: float) -> bool:
    step = int(now // STEP)
    return any(totp(seed, c) == code1 and totp(seed, c + 1) == code2
               for c in range(step - WINDOW - 1, step + WINDOW + 1))


def code_valid(seed: str, code: str, now: float) -> bool:
    step = int(now // STEP)
    return any(totp(seed, c) == code for c in range(step - WINDOW, step + WINDOW + 1))


def verify(rec: Records, serial: str, code: str, now: float) -> bool | None:
    device = rec.get("mfa", serial)
    if device is None:
        return None
    seed = device["data"].get("seed")
    if not seed:
        return True          # a hardware device: Haneul has no way to check its codes
    return device["data"].get("user") is not None and code_valid(seed, code, now)


class MfaDevices:
    def create_virtual_mfa_device(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        name, path = request["VirtualMFADeviceName"], request.get("Path") or "/"
        serial = ids.arn(ctx.account, "mfa", name, path)
        if rec.get("mfa", serial) is not None:
            raise errors.already_exists("MFADevice entity at the same path and name already exists.")
        seed = base64.b32encode(secrets.token_bytes(40)).decode()
        device = {"name": serial, "path": path, "id": serial, "arn": serial, "created": ctx.now(),
                  "data": {"seed": seed, "virtual": True, "tags": tagging.check_new(request.get("Tags"))}}
        rec.insert("mfa", device)
        out = {"SerialNumber": serial, "Base32StringSeed": seed.encode()}
        if device["data"]["tags"]:
            out["Tags"] = device["data"]["tags"]
        return {"VirtualMFADevice": out}

    def _device(self, rec, serial: str) -> dict:
        device = rec.get("mfa", serial)
        if device is None:
            raise errors.no_such_entity(f"MFA Device with serial number {serial} does not exist.")
        return device

    def enable_mfa_device(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = require(rec, "user", request["UserName"])
        serial = request["SerialNumber"]
        device = rec.get("mfa", serial)
        if device is None:
            if serial.startswith("arn:"):
                raise errors.no_such_entity(f"MFA Device with serial number {serial} does not exist.")
            device = {"name": serial, "path": "/", "id": serial, "arn": serial, "created": ctx.now(),
                      "data": {"virtual": False, "tags": []}}   # a hardware token, registered on first use
            rec.insert("mfa", device)
        if device["data"].get("user"):
            raise errors.already_exists("MFA Device is already in use.")
        if sum(1 for m in rec.all("mfa") if m["data"].get("user") == user["name"].lower()) >= LIMITS["MFADevicesPerUser"]:
            raise errors.quota("MFADevicesPerUser", LIMITS["MFADevicesPerUser"])
        seed = device["data"].get("seed")
        if seed and not consecutive_codes_valid(seed, request["AuthenticationCode1"],
                                                request["AuthenticationCode2"], ctx.now()):
            raise errors.AwsError("InvalidAuthenticationCodeException", "Authentication code for device is not valid.")
        device["data"]["user"], device["data"]["enabled"] = user["name"].lower(), ctx.now()
        rec.save("mfa", device)
        return {}

    def resync_mfa_device(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        user = require(rec, "user", request["UserName"])
        device = self._device(rec, request["SerialNumber"])
        if device["data"].get("user") != user["name"].lower():
            raise errors.no_such_entity(f"MFA Device with serial number {request['SerialNumber']} does not exist.")
        seed = device["data"].get("seed")
        if seed and not consecutive_codes_valid(seed, request["AuthenticationCode1"],
                                                request["AuthenticationCode2"], ctx.now()):
            raise errors.AwsError("InvalidAuthenticationCodeException", "Authentication code for device is not valid.")
        return {}

    def deactivate_mfa_device(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        device = self._device(rec, request["SerialNumber"])
        owner = device["data"].get("user")
        if owner is None or (request.get("UserName") and request["UserName"].lower() != owner):
            raise errors.no_such_entity(f"MFA Device with serial number {request['SerialNumber']} does not exist.")
        if device["data"].get("virtual"):
            device["data"].pop("user", None)
            device["data"].pop("enabled", None)
            rec.save("mfa", device)
        else:
            rec.delete("mfa", device["name"])
        return {}

    def delete_virtual_mfa_device(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        device = self._device(rec, request["SerialNumber"])
        if device["data"].get("user"):
            raise errors.delete_conflict("MFA device is still in use.")
        rec.delete("mfa", device["name"])
        return {}

    def get_mfa_device(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        device = self._device(rec, request["SerialNumber"])
        owner = device["data"].get("user")
        if owner is None or (request.get("UserName") and request["UserName"].lower() != owner):
            raise errors.no_such_entity(f"MFA Device with serial number {request['SerialNumber']} does not exist.")
        return {"UserName": rec.get("user", owner)["name"], "SerialNumber": device["name"],
                "EnableDate": device["data"]["enabled"]}

    def list_mfa_devices(self, ctx: RequestContext, request: dict) -> dict:
        from haneul.services.iam.entities import target_user
        rec = records(ctx)
        user = target_user(ctx, rec, request)
        owner = user["name"].lower() if user else None
        devices = [{"UserName": user["name"], "SerialNumber": m["name"], "EnableDate": m["data"]["enabled"]}
                   for m in rec.all("mfa") if owner and m["data"].get("user") == owner]
        return page(devices, request, lambda d: d["SerialNumber"], "MFADevices")

    def list_virtual_mfa_devices(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        status = request.get("AssignmentStatus") or "Any"
        out = []
        for m in rec.all("mfa"):
            if not m["data"].get("virtual"):
                continue
            owner = m["data"].get("user")
            if (status == "Assigned" and not owner) or (status == "Unassigned" and owner):
                continue
            item = {"SerialNumber": m["name"]}
            if owner:
                item["User"] = user_shape(rec.get("user", owner), full=False)
                item["EnableDate"] = m["data"]["enabled"]
            if m["data"].get("tags"):
                item["Tags"] = m["data"]["tags"]
            out.append(item)
        return page(out, request, lambda d: d["SerialNumber"], "VirtualMFADevices")

    def tag_mfa_device(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        device = self._device(rec, request["SerialNumber"])
        device["data"]["tags"] = tagging.merge(device["data"].get("tags", []), request["Tags"])
        rec.save("mfa", device)
        return {}

    def untag_mfa_device(self, ctx: RequestContext, request: dict) -> dict:
        rec = records(ctx)
        device = self._device(rec, request["SerialNumber"])
        device["data"]["tags"] = tagging.remove(device["data"].get("tags", []), request["TagKeys"])
        rec.save("mfa", device)
        return {}

    def list_mfa_device_tags(self, ctx: RequestContext, request: dict) -> dict:
        device = self._device(records(ctx), request["SerialNumber"])
        return page(device["data"].get("tags", []), request, lambda t: t["Key"].lower(), "Tags")
