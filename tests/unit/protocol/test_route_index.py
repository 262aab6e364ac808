"""haneul.protocol.uri: the route index picks exactly what scanning every route picks.

The reference below is the scan the index replaced: every route of the method, most
specific first.  Requests are built by botocore's serializer for every operation of every
REST service in the catalog, once with every member set and once with only the required
ones (the needs scoring and the deprecated-operation penalty decide between routes that
share a URI, so both matter).
"""

from __future__ import annotations

from botocore import serialize
from botocore.awsrequest import create_request_object, prepare_request_dict

from haneul import catalog
from haneul.protocol import uri
from haneul.protocol.shapes import service_spec
from tests.unit.protocol import roundtrip as rt


def scan_every_route(spec, method, path, params, headers):
    """The lookup before the index: the same scoring over every route of `method`."""
    grouped: dict[str, list[str]] = {}
    for k, v in params:
        grouped.setdefault(k, []).append(v)
    best = None
    for route in uri.routes(spec).get(method, ()):
        if best is not None and route.score < best[2][:len(route.score)]:
            break
        labels = route.match(path, grouped)
        if labels is None:
            continue
        present = 0
        for loc, wire in route.needs:
            if (wire in grouped) if loc == "querystring" else (wire in headers):
                present += 1
            else:
                present = -1
                break
        if present < 0:
            continue
        score = route.score + (present, not route.op.raw.get("deprecated", False))
        if best is None or score > best[2]:
            best = (route.op, labels, score)
    return best


def rest_services() -> list[tuple[str, str]]:
    out = []
    for name, meta in catalog.services().items():
        proto = next((p for p in catalog.protocols(meta) if p in ("rest-json", "rest-xml")), None)
        if proto:
            out.append((name, proto))
    return out


def requests_of(service: str, protocol: str):
    model = rt.service_model(service)
    gen = rt.Generator(protocol)
    serializer = serialize.create_serializer(protocol, include_validation=False)
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        full = gen.top(op.input_shape, op.http.get("requestUri", "")) if op.input_shape is not None else {}
        required = set(op.input_shape.required_members) if op.input_shape is not None else set()
        for params in (full, {k: v for k, v in full.items() if k in required}):
            try:
                req_dict = serializer.serialize_to_request(params, op)
            except Exception:  # noqa: BLE001 - a generated value botocore refuses: no request to route
                continue
            prepare_request_dict(req_dict, "http://localhost:4566")
            yield op_name, rt.to_haneul_request(create_request_object(req_dict).prepare(), service)


def same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return (a[0].name, a[1], a[2]) == (b[0].name, b[1], b[2])


def test_index_picks_what_the_full_scan_picks_for_every_rest_operation():
    compared = 0
    for service, protocol in rest_services():
        spec = service_spec(service)
        for op_name, req in requests_of(service, protocol):
            path = req.path.split("?", 1)[0]
            old = scan_every_route(spec, req.method, path, req.params, req.headers)
            new = uri.match_scored(spec, req.method, path, req.params, req.headers)
            assert same(old, new), f"{service}.{op_name}: {old and old[0].name} != {new and new[0].name}"
            compared += 1
    # the generator must really have produced requests for the big REST services
    assert compared > 5000
    assert {"s3", "lambda", "apigateway", "apigatewayv2", "s3control"} <= {s for s, _ in rest_services()}


def test_candidates_drop_routes_that_cannot_fit():
    spec = service_spec("s3")
    every_get = uri.routes(spec)["GET"]
    plain = uri.candidates(spec, "GET", "/bkt/key", {})
    assert {r.op.name for r in plain} >= {"GetObject", "ListObjects"}
    assert not any(r.query for r in plain)            # ?acl, ?tagging, ... need their key
    assert len(plain) < len(every_get) / 4
    tagged = uri.candidates(spec, "GET", "/bkt/key", {"tagging": [""]})
    assert "GetObjectTagging" in {r.op.name for r in tagged}
    # an unknown query key or first segment falls back to the label-led routes only
    assert uri.candidates(spec, "GET", "/bkt/key", {"x-id": ["GetObject"], "zz": [""]}) == plain
    lam = service_spec("lambda")
    fns = uri.candidates(lam, "GET", "/2015-03-31/functions/f", {})
    assert fns and all(r.segment in (None, "2015-03-31") for r in fns)
    assert len(fns) < len(uri.routes(lam)["GET"])
