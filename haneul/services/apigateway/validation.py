"""Request validation: required method request parameters and the body against the
method's JSON Schema model (draft 4, as API Gateway models are)."""

from __future__ import annotations

import json

_MODEL_URL = "https://apigateway.amazonaws.com/restapis/"


class ValidationFailed(Exception):
    def __init__(self, response_type: str, message: str, detail: str = ""):
        super().__init__(message)
        self.response_type = response_type
        self.message = message
        self.detail = detail


def check_parameters(method: dict, params: dict) -> None:
    missing = []
    for key, required in (method.get("requestParameters") or {}).items():
        if not required:
            continue
        _, _, where, name = key.split(".", 3)
        if where in ("header", "multivalueheader"):
            present = any(k.lower() == name.lower() for k in params.get("header") or {})
        elif where in ("querystring", "multivaluequerystring"):
            present = name in (params.get("querystring") or {})
        else:
            present = bool((params.get("path") or {}).get(name))
        if not present:
            missing.append(name)
    if missing:
        raise ValidationFailed("BAD_REQUEST_PARAMETERS",
                               f"Missing required request parameters: [{', '.join(missing)}]")


def _inline(schema, models: dict, depth: int = 0):
    if depth > 20:
        return schema
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and (ref.startswith(_MODEL_URL) or ref.startswith("#/definitions/")):
            name = ref.rsplit("/", 1)[-1]
            model = models.get(name)
            if model is not None:
                try:
                    target = json.loads(model.get("schema") or "{}")
                except (ValueError, RecursionError):
                    target = {}
                return _inline(target, models, depth + 1)
        return {k: _inline(v, models, depth) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, models, depth) for v in schema]
    return schema


def validator_for(compiled, model_name: str):
    cached = compiled.schemas.get(model_name)
    if cached is None:
        import jsonschema
        model = compiled.models.get(model_name)
        try:
            schema = json.loads((model or {}).get("schema") or "{}")
        except (ValueError, RecursionError):
            schema = {}
        schema = _inline(schema, compiled.models)
        schema.pop("$schema", None)
        cached = compiled.schemas[model_name] = jsonschema.Draft4Validator(schema)
    return cached


def check_body(compiled, method: dict, content_type: str, body: str) -> None:
    models = method.get("requestModels") or {}
    if not models:
        return
    ctype = (content_type or "application/json").split(";")[0].strip().lower() or "application/json"
    name = models.get(ctype) or models.get("$default")
    if name is None:
        if len(models) == 1 and "application/json" in models:
            name = models["application/json"]
        else:
            return
    if name == "Empty":
        return
    try:
        doc = json.loads(body) if body.strip() else None
    except (ValueError, RecursionError):
        raise ValidationFailed("BAD_REQUEST_BODY", "Invalid request body",
                               "[Invalid JSON in the request body]") from None
    validator = validator_for(compiled, name)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        detail = "[" + ", ".join(_describe(e) for e in errors[:10]) + "]"
        raise ValidationFailed("BAD_REQUEST_BODY", "Invalid request body", detail)


def _describe(error) -> str:
    where = "/" + "/".join(str(p) for p in error.path)
    if error.validator == "required":
        missing = [m for m in error.validator_value if isinstance(error.instance, dict) and m not in error.instance]
        return f"object has missing required properties ({json.dumps(missing)})"
    if error.validator == "type":
        return f'instance type ({_json_type(error.instance)}) does not match any allowed primitive type ' \
               f'(allowed: {json.dumps(error.validator_value if isinstance(error.validator_value, list) else [error.validator_value])})' \
               + (f" at {where}" if where != "/" else "")
    return f"{error.message} at {where}"


def _json_type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"
