"""SSM Parameter Store.  Every other SSM operation (documents, commands,
automation, ...) is absent on purpose, so the dispatcher answers not-implemented."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.services.base import Service, decode_token, encode_token, from_epoch
from haneul.services.ssm import datatypes, filters, names, policies, secure, settings
from haneul.services.ssm.names import Selector, validation
from haneul.services.ssm.records import SCHEMA, Records
from haneul.services.ssm.tiers import resolve_tier

MAX_VERSIONS = 100
# A value may not hold {{...}}: it would read as a reference to another parameter.
_NESTED = re.compile(r"\{\{.*\}\}", re.S)
MAX_TAGS = 50
RESOURCE_TYPES = ("Document", "ManagedInstance", "MaintenanceWindow", "Parameter", "PatchBaseline",
                  "OpsItem", "OpsMetadata", "Automation", "Association", "CloudConnector")


def _not_found(name: str) -> AwsError:
    return AwsError("ParameterNotFound", f"Parameter {name} not found.")


def _version_not_found(name: str, version: Any) -> AwsError:
    return AwsError("ParameterVersionNotFound",
                    f"Systems Manager could not find version {version} of {name}. "
                    "Verify the version and try again.")


def _bad_token() -> AwsError:
    return AwsError("InvalidNextToken", "The specified token isn't valid.")


def _user(ctx: RequestContext) -> str:
    if ctx.principal is not None and ctx.principal.arn:
        return ctx.principal.arn
    return f"arn:aws:iam::{ctx.account}:root"


def _inline(row: sqlite3.Row) -> list[dict]:
    return json.loads(row["policies"]) if row["policies"] else []


class Ssm(Service):
    SCHEMA = SCHEMA

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _records(ctx: RequestContext) -> Records:
        """The request's SQL, after removing parameters whose Expiration policy has passed."""
        rec = Records(ctx.db, ctx.account, ctx.region)
        for key in rec.expired(ctx.now()):
            rec.delete(key)
        return rec

    @staticmethod
    def _name(ctx: RequestContext, raw: str) -> str | None:
        """A requested name or ARN -> the name to look up (None: cannot exist here).
        A hierarchy must be named with its leading slash: "b/c" does not find "/b/c"."""
        name = names.from_arn(names.clean(raw), ctx.region, ctx.account)
        if name is None or ("/" in name and not name.startswith("/")):
            return None
        return name

    def _arn(self, ctx: RequestContext, row: sqlite3.Row) -> str:
        return names.parameter_arn(ctx.region, ctx.account, row["key"])

    def _parameter(self, ctx: RequestContext, current: sqlite3.Row, row: sqlite3.Row,
                   selector: str | None = None) -> dict:
        """A Parameter shape: `current` gives the identity, `row` the version shown."""
        out = {"Name": current["name"], "Type": row["type"], "Value": row["value"],
               "Version": row["version"], "LastModifiedDate": from_epoch(row["last_modified"]),
               "ARN": self._arn(ctx, current), "DataType": row["data_type"]}
        if selector:
            out["Selector"] = selector
        return out

    @staticmethod
    def _details(row: sqlite3.Row) -> dict:
        """Members ParameterMetadata and ParameterHistory share."""
        out = {"Type": row["type"], "LastModifiedDate": from_epoch(row["last_modified"]),
               "LastModifiedUser": row["last_modified_user"], "Version": row["version"],
               "Tier": row["tier"], "Policies": _inline(row), "DataType": row["data_type"]}
        for column, member in (("key_id", "KeyId"), ("description", "Description"),
                               ("allowed_pattern", "AllowedPattern")):
            if row[column]:
                out[member] = row[column]
        return out

    def _select(self, ctx: RequestContext, rec: Records, requested: str) -> tuple[sqlite3.Row, sqlite3.Row, Selector]:
        """GetParameter(s) lookup: (current row, version row shown, selector)."""
        name = self._name(ctx, requested)
        sel = names.parse_selector(name) if name is not None else None
        if sel is None:
            raise _not_found(requested)
        current = rec.current(names.key_of(sel.name))
        if current is None:
            raise _not_found(requested)
        if sel.version is not None:
            row = rec.version(current["key"], sel.version)
            if row is None:
                raise _version_not_found(sel.name, sel.version)
            return current, row, sel
        if sel.label is not None:
            version = rec.label_version(current["key"], [sel.label])
            if version is None:
                raise _not_found(requested)
            return current, rec.version(current["key"], version), sel
        return current, current, sel

    def _existing(self, ctx: RequestContext, rec: Records, raw: str) -> sqlite3.Row:
        name = self._name(ctx, raw)
        current = rec.current(names.key_of(name)) if name else None
        if current is None:
            raise _not_found(raw)
        return current

    # -- PutParameter ---------------------------------------------------------------------
    def put_parameter(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        name = names.clean(request["Name"])
        value = request["Value"]
        overwrite = bool(request.get("Overwrite"))
        tags = request.get("Tags")
        if value == "":
            raise validation("1 validation error detected: Value '' at 'value' failed to satisfy "
                             "constraint: Member must have length greater than or equal to 1.")
        if _NESTED.search(value):
            raise validation('Parameter value can\'t nest another parameter. Do not use "{{}}" in the value.')
        if overwrite and tags:
            raise validation(
                "Invalid request: tags and overwrite can't be used together. To create a parameter "
                "with tags, please remove overwrite flag. To update tags for an existing parameter, "
                "please use AddTagsToResource or RemoveTagsFromResource.")
        names.check_new_name(name, ctx.region, ctx.account)
        key = names.key_of(name)
        current = rec.current(key)
        if current is not None and not overwrite:
            raise AwsError("ParameterAlreadyExists", "The parameter already exists. To overwrite this "
                           "value, set the overwrite option in the request to true.")
        ptype = request.get("Type") or (current["type"] if current else None)
        if ptype is None:
            raise validation("A parameter type is required when you create a parameter.")
        if request.get("KeyId") and ptype != "SecureString":
            raise validation("KeyId is required for SecureString type parameter only.")
        if tags and len(tags) > MAX_TAGS:
            raise validation(f"1 validation error detected: Value at 'tags' failed to satisfy "
                             f"constraint: Member must have length less than or equal to {MAX_TAGS}.")
        stored_value = value
        if ptype == "SecureString":
            stored_value = secure.seal(ctx, request.get("KeyId") or secure.DEFAULT_KEY, value)

        data_type = request.get("DataType") or (current["data_type"] if current else "text")
        datatypes.check(data_type, ptype, value)
        if current is not None:
            datatypes.check_change(current["data_type"], data_type)

        pattern = request["AllowedPattern"] if request.get("AllowedPattern") is not None else (
            current["allowed_pattern"] if current else None)
        if pattern:
            try:
                compiled = re.compile(pattern)
            except re.error as e:
                raise AwsError("InvalidAllowedPatternException",
                               f"The request does not meet the regular expression requirement: {e}") from None
            if not compiled.fullmatch(value):
                raise AwsError("ParameterPatternMismatchException",
                               f"Parameter value, cannot be validated against allowedPattern: {pattern}")

        now = ctx.now()
        if request.get("Policies") is not None:
            parsed = policies.parse(request["Policies"], now)
            inline, expires_at = parsed.inline, parsed.expires_at
        else:
            inline = _inline(current) if current else []
            expires_at = current["expires_at"] if current else None

        tier = resolve_tier(rec, request.get("Tier"), current, value, bool(inline),
                            settings.value(rec.db, ctx.account, ctx.region, settings.DEFAULT_TIER))

        version = 1
        if current is not None:
            version = current["version"] + 1
            count, oldest = rec.version_span(key)
            if count >= MAX_VERSIONS:
                if rec.labels(key, oldest):
                    raise AwsError(
                        "ParameterMaxVersionLimitExceeded",
                        f"You attempted to create a new version of {name} by calling the PutParameter API "
                        f"with the overwrite flag. Version {oldest}, the oldest version, can't be deleted "
                        "because it has a label associated with it. Move the label to another version of "
                        "the parameter, and try again.")
                rec.drop_version(key, oldest)

        description = request["Description"] if request.get("Description") is not None else (
            current["description"] if current else None)
        rec.write(key, current["name"] if current else name, version, {
            "type": ptype, "data_type": data_type, "tier": tier, "value": stored_value,
            "description": description or None, "allowed_pattern": pattern or None,
            "key_id": request.get("KeyId") if ptype == "SecureString" else None,
            "policies": json.dumps(inline) if inline else None,
            "last_modified": now, "last_modified_user": _user(ctx)}, expires_at)
        if tags:
            rec.set_tags("Parameter", key, {t["Key"]: t.get("Value", "") for t in tags})
        return {"Version": version, "Tier": tier}

    # -- reads ----------------------------------------------------------------------------
    def get_parameter(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        current, row, sel = self._select(ctx, rec, request["Name"])
        return {"Parameter": self._parameter(ctx, current, row, sel.text)}

    def get_parameters(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        found, invalid = [], []
        for requested in dict.fromkeys(request["Names"]):      # duplicates answer once
            try:
                current, row, sel = self._select(ctx, rec, requested)
            except AwsError as e:
                if e.code not in ("ParameterNotFound", "ParameterVersionNotFound"):
                    raise
                invalid.append(requested)
                continue
            found.append(self._parameter(ctx, current, row, sel.text))
        return {"Parameters": found, "InvalidParameters": invalid}

    def get_parameters_by_path(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        prefix = names.check_path(names.clean(request["Path"]))
        parsed = filters.parse(request.get("ParameterFilters"), by_path=True)
        labels = next((f.values for f in parsed if f.key == "Label"), None)
        match = filters.matcher(parsed)
        limit = request.get("MaxResults") or 10
        after = self._after(request.get("NextToken"), str)
        page, more = [], False
        for row in rec.scan(after, prefix, one_level=not request.get("Recursive")):
            if not match(_Candidate(rec, row)):
                continue
            if len(page) == limit:
                more = True
                break
            shown = row if labels is None else rec.version(row["key"], rec.label_version(row["key"], labels))
            page.append((row["key"], self._parameter(ctx, row, shown)))
        out: dict = {"Parameters": [p for _, p in page]}
        if more:
            out["NextToken"] = encode_token(page[-1][0])
        return out

    def describe_parameters(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        if request.get("Filters") and request.get("ParameterFilters"):
            raise validation("You can use either Filters or ParameterFilters in a single request.")
        parsed = filters.parse_legacy(request.get("Filters")) or filters.parse(
            request.get("ParameterFilters"), by_path=False)
        if request.get("Shared"):
            return {"Parameters": []}     # nothing is shared through RAM in Haneul
        match = filters.matcher(parsed)
        limit = request.get("MaxResults") or 10
        page, more = [], False
        for row in rec.scan(self._after(request.get("NextToken"), str)):
            if not match(_Candidate(rec, row)):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(row)
        out: dict = {"Parameters": [{"Name": r["name"], "ARN": self._arn(ctx, r), **self._details(r)}
                                    for r in page]}
        if more:
            out["NextToken"] = encode_token(page[-1]["key"])
        return out

    def get_parameter_history(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        current = self._existing(ctx, rec, request["Name"])
        limit = request.get("MaxResults") or 50
        rows = rec.versions(current["key"], self._after(request.get("NextToken"), int, 0), limit + 1)
        labels = rec.labels(current["key"])
        out: dict = {"Parameters": [
            {"Name": current["name"], "Value": r["value"], "Labels": labels.get(r["version"], []),
             **self._details(r)} for r in rows[:limit]]}
        if len(rows) > limit:
            out["NextToken"] = encode_token(rows[limit - 1]["version"])
        return out

    @staticmethod
    def _after(token: str | None, kind: type, empty: Any = "") -> Any:
        if not token:
            return empty
        last = decode_token(token, _bad_token)
        if not isinstance(last, kind) or isinstance(last, bool):
            raise _bad_token()
        return last

    # -- deletes --------------------------------------------------------------------------
    def delete_parameter(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        rec.delete(self._existing(ctx, rec, request["Name"])["key"])
        return {}

    def delete_parameters(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        deleted, invalid = [], []
        for requested in dict.fromkeys(request["Names"]):
            try:
                rec.delete(self._existing(ctx, rec, requested)["key"])
                deleted.append(requested)
            except AwsError as e:
                if e.code != "ParameterNotFound":
                    raise
                invalid.append(requested)
        return {"DeletedParameters": deleted, "InvalidParameters": invalid}

    # -- labels ---------------------------------------------------------------------------
    def label_parameter_version(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        current = self._existing(ctx, rec, request["Name"])
        key = current["key"]
        version = request.get("ParameterVersion") or current["version"]
        if rec.version(key, version) is None:
            raise _version_not_found(current["name"], version)
        wanted = list(dict.fromkeys(request["Labels"]))
        invalid = [label for label in wanted if not names.label_is_valid(label)]
        valid = [label for label in wanted if names.label_is_valid(label)]
        on_version = rec.labels(key, version).get(version, [])
        adding = [label for label in valid if label not in on_version]
        if len(on_version) + len(adding) > names.MAX_LABELS_PER_VERSION:
            raise AwsError("ParameterVersionLabelLimitExceeded",
                           "A parameter version can have maximum 10 labels.Move one or more labels to "
                           "another version and try again.")
        for label in adding:
            rec.attach(key, label, version)        # moves the label if another version had it
        return {"InvalidLabels": invalid, "ParameterVersion": version}

    def unlabel_parameter_version(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        current = self._existing(ctx, rec, request["Name"])
        key, version = current["key"], request["ParameterVersion"]
        if rec.version(key, version) is None:
            raise _version_not_found(current["name"], version)
        on_version = rec.labels(key, version).get(version, [])
        removed, invalid = [], []
        for label in dict.fromkeys(request["Labels"]):
            if label in on_version:
                rec.detach(key, label)
                removed.append(label)
            else:
                invalid.append(label)
        return {"RemovedLabels": removed, "InvalidLabels": invalid}

    # -- tags -----------------------------------------------------------------------------
    def _tagged(self, ctx: RequestContext, rec: Records, request: dict) -> str:
        """The resource id tags are stored under; only parameters exist in Haneul."""
        resource_type = request["ResourceType"]
        if resource_type not in RESOURCE_TYPES:
            raise AwsError("InvalidResourceType", "The resource type isn't valid.")
        if resource_type == "Parameter":
            name = self._name(ctx, request["ResourceId"])
            if name and rec.current(names.key_of(name)) is not None:
                return names.key_of(name)
        raise AwsError("InvalidResourceId", "The resource ID isn't valid. Verify that you entered the "
                       "correct ID and try again.")

    def add_tags_to_resource(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        resource_id = self._tagged(ctx, rec, request)
        new = {t["Key"]: t.get("Value", "") for t in request["Tags"]}
        merged = {**rec.tags(request["ResourceType"], resource_id), **new}
        if len(merged) > MAX_TAGS:
            raise AwsError("TooManyTagsError", f"A resource can have a maximum of {MAX_TAGS} tags; "
                           f"this request would leave {len(merged)}.")
        rec.set_tags(request["ResourceType"], resource_id, new)
        return {}

    def remove_tags_from_resource(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        rec.remove_tags(request["ResourceType"], self._tagged(ctx, rec, request), request["TagKeys"])
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, request: dict) -> dict:
        rec = self._records(ctx)
        tags = rec.tags(request["ResourceType"], self._tagged(ctx, rec, request))
        return {"TagList": [{"Key": k, "Value": v} for k, v in tags.items()]}

    # -- service settings -----------------------------------------------------------------
    def _setting(self, ctx: RequestContext, sid: str) -> dict:
        row = settings.read(ctx.db, ctx.account, ctx.region, sid)
        out = {"SettingId": sid, "ARN": f"arn:aws:ssm:{ctx.region}:{ctx.account}:servicesetting{sid}"}
        if row is None:
            out.update(SettingValue=settings.SETTINGS[sid][0], LastModifiedUser="System", Status="Default")
        else:
            out.update(SettingValue=row["value"], LastModifiedDate=from_epoch(row["last_modified"]),
                       LastModifiedUser=row["last_modified_user"], Status="Customized")
        return {"ServiceSetting": out}

    def get_service_setting(self, ctx: RequestContext, request: dict) -> dict:
        return self._setting(ctx, settings.setting_id(request["SettingId"]))

    def update_service_setting(self, ctx: RequestContext, request: dict) -> dict:
        sid = settings.setting_id(request["SettingId"])
        settings.check_value(sid, request["SettingValue"])
        ctx.db.execute("INSERT OR REPLACE INTO ssm_setting VALUES (?, ?, ?, ?, ?, ?)",
                       (ctx.account, ctx.region, sid, request["SettingValue"], ctx.now(), _user(ctx)))
        return {}

    def reset_service_setting(self, ctx: RequestContext, request: dict) -> dict:
        sid = settings.setting_id(request["SettingId"])
        ctx.db.execute("DELETE FROM ssm_setting WHERE account=? AND region=? AND setting_id=?",
                       (ctx.account, ctx.region, sid))
        return self._setting(ctx, sid)


class _Candidate:
    """A current row as the filters see it; tags and labels load only when a filter asks."""

    def __init__(self, rec: Records, row: sqlite3.Row):
        self._rec, self._row = rec, row
        self.key, self.type, self.key_id = row["key"], row["type"], row["key_id"]
        self.tier, self.data_type = row["tier"], row["data_type"]

    def tag_values(self, tag_key: str) -> list[str]:
        value = self._rec.tags("Parameter", self.key).get(tag_key)
        return [] if value is None else [value]

    def has_label(self, labels: list[str]) -> bool:
        return self._rec.label_version(self.key, labels) is not None
