"""haneul.protocol.rest: bind_out visits only the members an output carries, and writes
the same status, headers (in the same order) and body as the walk over every member of
the shape that it replaced."""

from __future__ import annotations

import datetime as dt

from haneul import catalog
from haneul.protocol import get_codec
from haneul.protocol.rest import _quote_list_item, _to_string
from haneul.protocol.shapes import service_spec
from tests.unit.protocol import roundtrip as rt


def walk_every_member(codec, shape, output, headers, status):
    """bind_out before the per-shape plan: every member of the shape, in model order."""
    body_members = False
    for name, member in shape.members.items():
        value = output.get(name)
        loc = member.ser.get("location")
        if not loc:
            body_members = body_members or value is not None
            continue
        if value is None:
            continue
        wire = member.ser.get("name", name)
        if loc == "statusCode":
            status = int(value)
        elif loc == "header":
            if member.type == "list":
                if value:
                    headers.append((wire, ",".join(
                        _quote_list_item(_to_string(member.member, v, "rfc822")) for v in value)))
            else:
                headers.append((wire, _to_string(member, value, "rfc822")))
        elif loc == "headers":
            headers.extend((wire + k, str(v)) for k, v in value.items())
    payload = shape.ser.get("payload")
    if payload:
        member = shape.members[payload]
        value = output.get(payload)
        if value is None:
            return status, b""
        if member.type == "blob":
            return status, value if not isinstance(value, str) else value.encode()
        if member.type == "string":
            return status, value.encode() if isinstance(value, str) else value
        return status, codec.write_body(member, value, payload_root=True)
    if body_members or codec.always_body:
        return status, codec.write_body(shape, output, payload_root=False)
    return status, b""


def both(codec, shape, output, status=200):
    old_headers, new_headers = [], []
    old = walk_every_member(codec, shape, output, old_headers, status)
    new = codec.bind_out(shape, output, new_headers, status)
    return (old, old_headers), (new, new_headers)


def test_rich_s3_outputs_write_the_same_headers_in_the_same_order():
    codec = get_codec("rest-xml")
    spec = service_spec("s3")
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    # keys deliberately out of the model's order: the headers must still come in its order
    output = {"Metadata": {"colour": "blue", "size": "9"}, "VersionId": "v1", "ContentType": "text/plain",
              "ETag": '"abc"', "LastModified": when, "ContentLength": 3, "AcceptRanges": "bytes",
              "Expires": when, "ServerSideEncryption": "AES256", "TagCount": 2, "Unknown": "ignored",
              "StorageClass": None, "Body": b"abc"}
    for op in ("GetObject", "HeadObject"):
        shape = spec.operation(op).output
        old, new = both(codec, shape, output)
        assert old == new
        model_order = [m.ser.get("name", n) for n, m in shape.members.items()
                       if output.get(n) is not None and m.ser.get("location") == "header"]
        assert [k for k, _ in new[1] if not k.startswith("x-amz-meta-")] == model_order
        assert len(new[1]) == len(model_order) + 2
    assert both(codec, spec.operation("GetObject").output, output)[1][0] == (200, b"abc")


def test_lambda_invoke_and_apigateway_outputs_match():
    json_codec = get_codec("rest-json")
    invoke = service_spec("lambda").operation("Invoke").output
    out = {"Payload": b'{"ok":true}', "StatusCode": 202, "FunctionError": "Unhandled",
           "LogResult": "bG9n", "ExecutedVersion": "$LATEST"}
    old, new = both(json_codec, invoke, out)
    assert old == new and new[0][0] == 202
    rest_api = service_spec("apigateway").operation("GetRestApi").output
    out = {"id": "a1", "name": "api", "tags": {"k": "v"}, "createdDate": dt.datetime(2024, 1, 2)}
    assert both(json_codec, rest_api, out)[0] == both(json_codec, rest_api, out)[1]
    assert both(json_codec, rest_api, {})[1][0][1] == b"{}"        # rest-json always writes a body


def test_every_rest_output_in_the_catalog_binds_as_before():
    compared = 0
    for name, meta in catalog.services().items():
        proto = next((p for p in catalog.protocols(meta) if p in ("rest-json", "rest-xml")), None)
        if proto is None:
            continue
        codec, gen, spec = get_codec(proto), rt.Generator(proto), service_spec(name)
        model = rt.service_model(name)
        for op_name in model.operation_names:
            op = model.operation_model(op_name)
            shape = spec.operation(op_name).output
            if op.output_shape is None or shape is None or op.has_event_stream_output:
                continue
            full = gen.top(op.output_shape)
            for output in (full, dict(reversed(list(full.items())))):
                old, new = both(codec, shape, output)
                assert old == new, f"{name}.{op_name}"
            compared += 1
    assert compared > 3000
