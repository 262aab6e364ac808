"""Round trips through botocore's own client serializers and parsers.

For an operation: generate a valid input, serialize it with botocore's serializer for the
protocol, send the resulting HTTP request through Haneul's router and codec, and compare;
generate an output, serialize it with Haneul's codec, parse it with botocore's parser,
and compare; the same for each modeled error.
"""

from __future__ import annotations

import base64
import datetime as dt
import math

import botocore.session
from botocore import parsers, serialize
from botocore.awsrequest import create_request_object, prepare_request_dict

from haneul import routing
from haneul.context import RequestContext
from haneul.errors import AwsError
from haneul.identity import parse_credential
from haneul.protocol import get_codec
from haneul.protocol.message import HttpRequest
from haneul.protocol.shapes import service_spec

SESSION = botocore.session.get_session()
WHEN = dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)


class Generator:
    """Valid, deterministic values for botocore shapes."""

    def __init__(self, protocol: str):
        self.protocol = protocol
        self.payload = None     # the payload member of the shape being generated
        self.request_uri = ""

    def top(self, shape, request_uri: str = ""):
        self.payload = shape.serialization.get("payload")
        self.request_uri = request_uri
        return self.value(shape) or {}

    MAX_DEPTH = 5

    def value(self, shape, depth=0, ctx=""):
        """A value, or None when the shape is nested too deep to bother."""
        t = shape.type_name
        s = shape.serialization
        if t == "structure":
            if shape.metadata.get("document"):
                return {"doc": [1, "two", {"three": True}]}
            union = shape.metadata.get("union") or getattr(shape, "is_tagged_union", False)
            if depth > self.MAX_DEPTH and not union or depth > self.MAX_DEPTH + 6:
                return None
            out = {}
            for name, member in shape.members.items():
                if member.serialization.get("eventstream") or member.serialization.get("event"):
                    continue
                v = self.member_value(member, depth + 1, name)
                if v is not None:
                    out[name] = v
                    if union:
                        break
            if not out and depth > 0:
                return None
            return out
        if t == "list":
            n = 2 if depth <= self.MAX_DEPTH else 1
            items = [self.value(shape.member, depth + 1, ctx) for _ in range(n)]
            items = [v for v in items if v is not None]
            return items or None
        if t == "map":
            out = {k: self.value(shape.value, depth + 1, ctx) for k in self.map_keys(shape.key)}
            out = {k: v for k, v in out.items() if v is not None}
            return out or None
        if t == "string":
            if s.get("jsonvalue") and s.get("location") == "header":
                return {"k": ["v", 1]}
            enum = shape.metadata.get("enum")
            if enum:
                return enum[0]
            lo = shape.metadata.get("min", 1) or 1
            hi = shape.metadata.get("max", 64) or 64
            base = "val" + "ue" * 4
            text = (base * (lo // len(base) + 1))[:max(lo, min(len(base), hi))]
            return text
        if t in ("integer", "long", "short", "byte"):
            lo = shape.metadata.get("min")
            hi = shape.metadata.get("max")
            v = 7
            if lo is not None and v < lo:
                v = int(lo)
            if hi is not None and v > hi:
                v = int(hi)
            return v
        if t in ("float", "double"):
            return 1.5
        if t == "boolean":
            return True
        if t == "timestamp":
            return WHEN
        if t == "blob":
            if ctx == "payload":
                return b"payload-bytes"
            return b"blob\x00\xffdata"
        return "x"

    def member_value(self, member, depth, name):
        s = member.serialization
        loc = s.get("location")
        if s.get("hostLabel") or loc == "uri":
            if member.type_name == "string":
                wire = s.get("name", name)
                if "{" + wire + "+}" in self.request_uri:     # greedy labels carry slashes
                    return "dir one/sub~dir/file name.txt"
                return "label" + name.lower()[:8]
            return self.value(member, depth)
        if loc == "header" and s.get("name", "").lower() == "x-amzn-errortype":
            return None     # the wire's own error-type header, set from the error code
        if loc == "header" or loc == "headers":
            if loc == "headers":
                return {"metakey": "metavalue", "other": "two"}
            if member.type_name == "list":
                return [self.header_scalar(member.member, "a"), self.header_scalar(member.member, "b")]
            return self.header_scalar(member, name)
        if member.type_name == "blob" and (s.get("streaming") or name == self.payload):
            return self.value(member, depth, "payload")
        if loc == "querystring" and member.type_name == "map":
            return {"qkeyone": self.value(member.value, depth)}
        return self.value(member, depth, name)

    def header_scalar(self, shape, seed):
        if shape.type_name == "string" and not shape.metadata.get("enum") \
                and not shape.serialization.get("jsonvalue"):
            return "hval" + seed.lower()[:10]
        return self.value(shape, 5)

    def map_keys(self, key_shape):
        enum = key_shape.metadata.get("enum")
        if enum:
            return list(enum[:2])
        return ["keyone", "keytwo"]


def normalize(v):
    if isinstance(v, dt.datetime):
        return round(v.timestamp(), 3)
    if isinstance(v, (bytes, bytearray)):
        return ("bytes", base64.b64encode(bytes(v)).decode())
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [normalize(x) for x in v]
    if isinstance(v, float):
        return "nan" if math.isnan(v) else round(v, 6)
    if hasattr(v, "read"):
        return normalize(v.read())
    return v


def first_difference(want, got, path="") -> str:
    """Where two normalized values first differ, for a readable failure."""
    if isinstance(want, dict) and isinstance(got, dict):
        for k in list(want) + [k for k in got if k not in want]:
            if k not in got:
                return f"{path}.{k}: missing (sent {want[k]!r:.120})"
            if k not in want:
                return f"{path}.{k}: unexpected {got[k]!r:.120}"
            d = first_difference(want[k], got[k], f"{path}.{k}")
            if d:
                return d
        return ""
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return f"{path}: {len(want)} items sent, {len(got)} parsed"
        for i, (a, b) in enumerate(zip(want, got)):
            d = first_difference(a, b, f"{path}[{i}]")
            if d:
                return d
        return ""
    return "" if want == got else f"{path}: sent {want!r:.120} parsed {got!r:.120}"


def to_haneul_request(prepared, signing_name: str) -> HttpRequest:
    from urllib.parse import urlsplit
    parts = urlsplit(prepared.url)
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else str(v)) for k, v in prepared.headers.items()}
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential=123456789012/20210506/us-east-1/{signing_name}/aws4_request, "
        "SignedHeaders=host, Signature=00")
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    host = parts.netloc
    headers["host"] = host
    return HttpRequest(prepared.method, parts.path or "/", parts.query, headers, body, host)


class Result:
    def __init__(self):
        self.counts = {"requests": 0, "responses": 0, "errors": 0, "routed": 0}
        self.failures: list[str] = []
        self.excluded: list[str] = []
        self.ambiguous: list[str] = []


def shares_endpoint(service: str, op, target) -> bool:
    """True when another service's operation is sent byte-for-byte the same way: the
    same signing name and the same HTTP route (or the same Action and version)."""
    if target.service == service:    # a deprecated twin, or one told apart only by host
        theirs = service_model(service).operation_model(target.operation)
        return (theirs.http.get("method"), theirs.http.get("requestUri")) == \
            (op.http.get("method"), op.http.get("requestUri"))
    other = service_model(target.service)
    mine = service_model(service)
    if (other.signing_name or other.endpoint_prefix) != (mine.signing_name or mine.endpoint_prefix):
        return False
    if target.operation not in other.operation_names:
        return False
    theirs = other.operation_model(target.operation)
    if mine.protocol in ("query", "ec2"):
        return target.operation == op.name and other.api_version == mine.api_version
    return (theirs.http.get("method"), _route_shape(theirs.http.get("requestUri", ""))) == \
        (op.http.get("method"), _route_shape(op.http.get("requestUri", "")))


def _route_shape(uri: str) -> str:
    import re
    return re.sub(r"\{[^}]+\}", "{}", uri)


def service_model(name):
    return SESSION.get_service_model(name)


def check_operation(service: str, protocol: str, op_name: str, result: Result) -> None:
    model = service_model(service)
    op = model.operation_model(op_name)
    spec = service_spec(service)
    hop = spec.operation(op_name)
    codec = get_codec(protocol)
    gen = Generator(protocol)
    if op.has_event_stream_input or op.has_event_stream_output:
        result.excluded.append(f"{service}.{op_name} ({protocol}): event streams are framed "
                               "messages, not one body; served by the services that stream")
        return
    # -- request ----------------------------------------------------------------------
    params = gen.top(op.input_shape, op.http.get('requestUri', '')) if op.input_shape is not None else {}
    serializer = serialize.create_serializer(protocol, include_validation=False)
    try:
        req_dict = serializer.serialize_to_request(params, op)
        prepare_request_dict(req_dict, "http://localhost:4566")
        prepared = create_request_object(req_dict).prepare()
        req = to_haneul_request(prepared, model.signing_name or model.endpoint_prefix)
        cred = parse_credential(req.headers, [])
        target = routing.route(req, cred)
        if (target.service, target.operation, target.protocol) == (service, op_name, protocol):
            result.counts["routed"] += 1
        elif shares_endpoint(service, op, target):
            result.ambiguous.append(f"{service}.{op_name} ({protocol}) is sent exactly like "
                                    f"{target.service}.{target.operation}: same signing name, "
                                    "same route, so only the endpoint host tells them apart")
        else:
            result.failures.append(f"{service}.{op_name} ({protocol}): routed to "
                                   f"{target.service}.{target.operation} ({target.protocol})")
        if (target.service, target.protocol) != (service, protocol):
            target.service, target.protocol = service, protocol
            if protocol in ("query", "ec2"):
                from haneul.protocol.query import form_params
                target.params = form_params(req)
            elif protocol.startswith("rest"):
                from haneul.protocol import uri
                found = uri.match(spec, req.method, req.path, req.params, req.headers)
                target.labels = found[1] if found else {}
        target.operation = op_name
        parsed = codec.parse(hop, req, target)
        want, got = normalize(params), normalize(parsed)
        if protocol.startswith("rest"):
            want, got = _fold_header_maps(op.input_shape, want), _fold_header_maps(op.input_shape, got)
        if want != got:
            result.failures.append(f"{service}.{op_name} ({protocol}) request: {first_difference(want, got)}")
        else:
            result.counts["requests"] += 1
    except Exception as e:  # noqa: BLE001 - every failure is reported with its operation
        result.failures.append(f"{service}.{op_name} ({protocol}) request raised {type(e).__name__}: {e!s:.300}")
    # -- response ---------------------------------------------------------------------
    ctx = RequestContext(account="123456789012", region="us-east-1", store=None, request_id="req-1")
    parser = parsers.create_parser(protocol)
    if op.output_shape is not None and protocol == "query" and model.protocol != "query":
        # An awsQueryCompatible service spoken in query: legacy clients' models wrap the
        # result in <{Operation}Result>, which the JSON model no longer says.
        op.output_shape.serialization.setdefault("resultWrapper", f"{op_name}Result")
    if op.output_shape is not None:
        output = gen.top(op.output_shape)
        try:
            resp = codec.serialize(hop, output, ctx)
            body = resp.body
            if op.has_streaming_output:     # as botocore's endpoint hands it to the parser
                import io
                from botocore.response import StreamingBody
                body = StreamingBody(io.BytesIO(body), len(body))
            parsed = parser.parse({"status_code": resp.status, "headers": _headers(resp),
                                   "body": body}, op.output_shape)
            parsed.pop("ResponseMetadata", None)
            want, got = normalize(output), normalize(_payload_bytes(op.output_shape, parsed))
            if protocol.startswith("rest"):
                want, got = _fold_header_maps(op.output_shape, want), _fold_header_maps(op.output_shape, got)
            if want != got:
                result.failures.append(f"{service}.{op_name} ({protocol}) response: {first_difference(want, got)}")
            else:
                result.counts["responses"] += 1
        except Exception as e:  # noqa: BLE001
            result.failures.append(f"{service}.{op_name} ({protocol}) response raised {type(e).__name__}: {e!s:.300}")
    # -- modeled errors ---------------------------------------------------------------
    for err_shape in op.error_shapes:
        key = (service, protocol, err_shape.name)
        if key in _seen_errors:
            continue
        _seen_errors.add(key)
        members = gen.value(err_shape) or {}
        message = members.pop("message", None) or members.pop("Message", None) or "boom"
        if "Code" in members and protocol in ("query", "ec2", "rest-xml"):
            members["Code"] = err_shape.name    # the XML envelope's Code is the error's code
        err = AwsError(err_shape.name, message, fields=members)
        try:
            resp = codec.serialize_error(spec, hop, err, ctx)
            raw = {"status_code": resp.status, "headers": _headers(resp), "body": resp.body}
            generic = parser.parse(raw, None)
            code = generic.get("Error", {}).get("Code")
            expected_codes = {err_shape.name, err_shape.metadata.get("error", {}).get("code")}
            if code not in expected_codes:
                result.failures.append(f"{service}.{op_name} ({protocol}) error {err_shape.name}: code {code!r}")
                continue
            modeled = parser.parse(raw, err_shape)
            modeled.pop("ResponseMetadata", None)
            want = normalize(members)
            got = normalize({k: v for k, v in modeled.items() if k in members})
            if protocol.startswith("rest"):
                want, got = _fold_header_maps(err_shape, want), _fold_header_maps(err_shape, got)
            if want != got:
                result.failures.append(f"{service}.{op_name} ({protocol}) error {err_shape.name}: {first_difference(want, got)}")
            else:
                result.counts["errors"] += 1
        except Exception as e:  # noqa: BLE001
            result.failures.append(f"{service}.{op_name} ({protocol}) error {err_shape.name} raised {type(e).__name__}: {e!s:.300}")


_seen_errors: set = set()


def _headers(resp):
    from botocore.awsrequest import HeadersDict
    h = HeadersDict()
    for k, v in resp.headers:
        h[k] = v
    return h


def _payload_bytes(shape, parsed):
    """botocore hands a non-streaming payload blob back as text; give it back as bytes."""
    payload = shape.serialization.get("payload")
    if payload and shape.members[payload].type_name == "blob" and isinstance(parsed.get(payload), str):
        parsed[payload] = parsed[payload].encode()
    return parsed


def _fold_header_maps(shape, value):
    """HTTP header names are case-insensitive: compare header-map keys lower-cased.  A map
    with an empty prefix holds every header, so only the sent keys are compared."""
    if not isinstance(value, dict) or shape is None:
        return value
    out = dict(value)
    for name, member in shape.members.items():
        if member.serialization.get("location") == "headers" and isinstance(out.get(name), dict):
            out[name] = {k.lower(): v for k, v in out[name].items()}
            if not member.serialization.get("name"):
                out[name] = {k: v for k, v in out[name].items() if k in ("metakey", "other")}
    return out
