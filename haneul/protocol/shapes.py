"""A small, fast view of a botocore service model.

botocore.model would do, but importing it costs ~13 MB and 130 ms at start-up; this
module reads the same JSON and resolves shape references the same way (a member's
traits are merged over its target shape's definition, `locationName` becomes `name`).
"""

from __future__ import annotations

from functools import lru_cache

from haneul import catalog

SERIALIZED = ("locationName", "queryName", "flattened", "location", "payload", "streaming",
              "timestampFormat", "xmlNamespace", "resultWrapper", "xmlAttribute", "eventstream",
              "event", "eventheader", "eventpayload", "jsonvalue", "hostLabel")


class Shape:
    __slots__ = ("spec", "name", "type", "raw", "ser", "_members", "_member", "_key", "_value",
                 "required", "min", "max", "pattern", "enum", "document", "union", "exception",
                 "error", "sensitive", "idempotency_token", "_cache")

    def __init__(self, spec: "ServiceSpec", name: str, raw: dict):
        self.spec = spec
        self.name = name
        self.raw = raw
        self.type = raw["type"]
        ser = {k: raw[k] for k in SERIALIZED if k in raw}
        if "locationName" in ser:
            ser["name"] = ser.pop("locationName")
        self.ser = ser
        self.required = raw.get("required") or ()
        self.min = raw.get("min")
        self.max = raw.get("max")
        self.pattern = raw.get("pattern")
        self.enum = raw.get("enum")
        self.document = bool(raw.get("document"))
        self.union = bool(raw.get("union"))
        self.exception = bool(raw.get("exception"))
        self.error = raw.get("error") or {}
        self.sensitive = bool(raw.get("sensitive"))
        self.idempotency_token = bool(raw.get("idempotencyToken"))
        self._members = self._member = self._key = self._value = None
        self._cache = {}          # per-codec compiled forms

    def __repr__(self) -> str:
        return f"<Shape {self.name}:{self.type}>"

    @property
    def members(self) -> dict[str, "Shape"]:
        if self._members is None:
            self._members = {k: self.spec.resolve(ref) for k, ref in self.raw.get("members", {}).items()}
        return self._members

    @property
    def member(self) -> "Shape":
        if self._member is None:
            self._member = self.spec.resolve(self.raw["member"])
        return self._member

    @property
    def key(self) -> "Shape":
        if self._key is None:
            self._key = self.spec.resolve(self.raw["key"])
        return self._key

    @property
    def value(self) -> "Shape":
        if self._value is None:
            self._value = self.spec.resolve(self.raw["value"])
        return self._value

    @property
    def flattened(self) -> bool:
        return bool(self.ser.get("flattened"))

    def wire_name(self, default: str) -> str:
        return self.ser.get("name", default)


class Operation:
    __slots__ = ("spec", "name", "raw", "http", "method", "request_uri", "input", "output",
                 "errors", "host_prefix", "result_wrapper", "response_code", "_cache")

    def __init__(self, spec: "ServiceSpec", name: str, raw: dict):
        self.spec = spec
        self.name = name
        self.raw = raw
        self.http = raw.get("http", {})
        self.method = self.http.get("method", "POST")
        self.request_uri = self.http.get("requestUri", "/")
        self.response_code = self.http.get("responseCode", 200)
        self.input = spec.resolve(raw["input"]) if "input" in raw else None
        self.output = spec.resolve(raw["output"]) if "output" in raw else None
        self.result_wrapper = (raw.get("output") or {}).get("resultWrapper")
        self.errors = [spec.resolve(e) for e in raw.get("errors", ())]
        self.host_prefix = (raw.get("endpoint") or {}).get("hostPrefix")
        self._cache = {}

    def __repr__(self) -> str:
        return f"<Operation {self.spec.name}.{self.name}>"


class ServiceSpec:
    def __init__(self, name: str, model: dict):
        self.name = name
        self.model = model
        self.metadata = model["metadata"]
        self.shapes = model["shapes"]
        self._resolved: dict = {}
        self._operations: dict[str, Operation] = {}
        self._errors: dict[str, Shape] | None = None
        self.query_compatible = "awsQueryCompatible" in self.metadata
        self.cache: dict = {}     # per-codec compiled forms (routes, ...)

    @property
    def protocols(self) -> list[str]:
        return catalog.protocols(self.metadata)

    @property
    def operation_names(self) -> list[str]:
        return list(self.model["operations"])

    def operation(self, name: str) -> Operation | None:
        op = self._operations.get(name)
        if op is None:
            raw = self.model["operations"].get(name)
            if raw is None:
                return None
            op = self._operations[name] = Operation(self, name, raw)
        return op

    def shape(self, name: str) -> Shape:
        return self.resolve({"shape": name})

    def resolve(self, ref: dict) -> Shape:
        name = ref["shape"]
        key = name if len(ref) == 1 else (name, tuple(sorted(
            (k, str(v)) for k, v in ref.items() if k not in ("shape", "documentation"))))
        shape = self._resolved.get(key)
        if shape is None:
            raw = self.shapes[name]
            if len(ref) > 1:
                raw = {**raw, **{k: v for k, v in ref.items() if k not in ("shape", "documentation")}}
            shape = self._resolved[key] = Shape(self, name, raw)
        return shape

    def error_shape(self, code: str) -> Shape | None:
        """The exception shape for an error name or its wire code."""
        if self._errors is None:
            errors = {}
            for name, raw in self.shapes.items():
                if raw.get("exception"):
                    shape = self.shape(name)
                    errors[name] = shape
                    wire = shape.error.get("code")
                    if wire:
                        errors.setdefault(wire, shape)
            self._errors = errors
        return self._errors.get(code)


@lru_cache(maxsize=None)
def service_spec(name: str, protocol: str | None = None) -> ServiceSpec:
    """The model of `name`; with `protocol`, the model that protocol's clients were built
    from where it differs (see `haneul.protocol.MODEL_PATCHES`)."""
    from haneul.protocol import model_patch
    patch = model_patch(name, protocol) if protocol else None
    if patch is None:
        return service_spec(name) if protocol else ServiceSpec(name, catalog.load_model(name))
    import copy
    model = copy.deepcopy(catalog.load_model(name))
    catalog.deep_merge(model, patch)
    return ServiceSpec(name, model)
