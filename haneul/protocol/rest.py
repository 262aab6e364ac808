"""rest-json and rest-xml: members bound to the URI, query string, headers, status code
and payload as the model says; the rest in a JSON or XML body.  The two variants differ
only in how a body looks."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl

import orjson

from haneul.protocol import leaves, timestamps
from haneul.protocol.awsjson import dumps, loads, read_document, write_document
from haneul.protocol.codec import Codec, ErrorFacts
from haneul.protocol.message import HttpRequest, HttpResponse
from haneul.protocol.tree import WireTypeError
from haneul.protocol.xml import XmlWriter, parse_xml, read_xml, scalar_from_text, scalar_text


def split_header_list(text: str) -> list[str]:
    """"a, "b,c", d" -> ["a", "b,c", "d"]: commas inside quotes do not split."""
    items, buf, quoted, i = [], [], False, 0
    while i < len(text):
        c = text[i]
        if quoted:
            if c == "\\" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 1
            elif c == '"':
                quoted = False
            else:
                buf.append(c)
        elif c == '"':
            quoted = True
        elif c == ",":
            items.append("".join(buf).strip())
            buf = []
        else:
            buf.append(c)
        i += 1
    items.append("".join(buf).strip())
    return items


def _from_string(shape, text: str, path: str, default_ts: str):
    """A URI label, query value or header value of a scalar shape."""
    if shape.type == "string" and shape.ser.get("jsonvalue"):
        try:
            return orjson.loads(base64.b64decode(text))
        except (ValueError, binascii.Error):
            raise WireTypeError(f"Invalid JSON value header for '{path}'") from None
    if shape.type == "string":
        return text
    if shape.type == "blob" and default_ts == "rfc822":      # blob headers are base64
        try:
            return base64.b64decode(text, validate=True)
        except (ValueError, binascii.Error):
            raise WireTypeError(f"Invalid base64 header for '{path}'") from None
    if shape.type == "blob":
        return text.encode()
    if shape.type == "timestamp":
        try:
            return timestamps.parse(text)
        except ValueError:
            raise WireTypeError(f"Invalid timestamp '{text}' for '{path}'") from None
    return scalar_from_text(shape, text, path)


def _to_string(shape, value, default_ts: str) -> str:
    if shape.type == "string" and shape.ser.get("jsonvalue"):
        return base64.b64encode(orjson.dumps(value)).decode()
    if shape.type == "timestamp":
        return str(timestamps.format(value, shape.ser.get("timestampFormat", default_ts)))
    if shape.type == "blob" and default_ts == "rfc822":
        return base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode()
    return scalar_text(shape, value)


def _quote_list_item(text: str) -> str:
    if '"' in text or "," in text:
        return '"' + text.replace('"', '\\"') + '"'
    return text


def _out_plan(shape) -> tuple[dict, frozenset]:
    """An output shape's located members by name, as (index, name, member, location,
    wire name), and the names of the members that go in the body."""
    plan = shape._cache.get("rest_out")
    if plan is None:
        located, body = {}, set()
        for index, (name, member) in enumerate(shape.members.items()):
            loc = member.ser.get("location")
            if loc:
                located[name] = (index, name, member, loc, member.ser.get("name", name))
            else:
                body.add(name)
        plan = shape._cache["rest_out"] = (located, frozenset(body))
    return plan


def _in_plan(shape) -> tuple:
    """An input shape's located members, each as (index, name, member, wire name,
    location): URI labels in a list, query and header members by wire name (headers
    lower-cased), `headers` prefix maps in a list, and the query-string map if any."""
    plan = shape._cache.get("rest_in")
    if plan is None:
        uris, query, header, prefixed, query_map = [], {}, {}, [], None
        for index, (name, member) in enumerate(shape.members.items()):
            loc = member.ser.get("location")
            wire = member.ser.get("name", name)
            at = (index, name, member, wire, loc)
            if loc == "uri":
                uris.append(at)
            elif loc == "querystring" and member.type == "map":
                query_map = (name, member)
            elif loc == "querystring":
                query.setdefault(wire, []).append(at)
            elif loc == "header":
                header.setdefault(wire.lower(), []).append(at)
            elif loc == "headers":
                prefixed.append(at)
        plan = shape._cache["rest_in"] = (uris, query, header, prefixed, query_map)
    return plan


def _member_index(found) -> int:
    return found[0][0]


class RestCodec(Codec):
    """Bindings shared by rest-json and rest-xml; subclasses define the body."""

    def parse(self, op, req: HttpRequest, target=None) -> dict:
        labels = target.labels if target is not None else {}
        shape = op.input
        if shape is None:
            return {}
        out: dict = {}
        uris, query, header, prefixed, query_map = _in_plan(shape)
        # the located members this request carries, read in the model's member order
        # (so the first bad value reported is the same whichever way they are found)
        present = []
        if labels:
            present.extend((at, labels[at[3]]) for at in uris if at[3] in labels)
        if query and req.params:
            values: dict[str, list[str]] = {}
            for k, v in req.params:
                if k in query:
                    values.setdefault(k, []).append(v)
            present.extend((at, vs) for k, vs in values.items() for at in query[k])
        headers = req.headers
        if len(header) < len(headers):
            present.extend((at, headers[k]) for k, ats in header.items() if k in headers for at in ats)
        else:
            present.extend((at, text) for k, text in headers.items() if k in header for at in header[k])
        present.extend((at, None) for at in prefixed)
        if len(present) > 1:
            present.sort(key=_member_index)
        for (_, name, member, wire, loc), raw in present:
            if loc == "uri":
                out[name] = _from_string(member, raw, name, "iso8601")
            elif loc == "querystring":
                if member.type == "list":
                    out[name] = [_from_string(member.member, v, name, "iso8601") for v in raw]
                else:
                    out[name] = _from_string(member, raw[0], name, "iso8601")
            elif loc == "header":
                if member.type == "list":
                    out[name] = [_from_string(member.member, v, name, "rfc822")
                                 for v in split_header_list(raw)] if raw else []
                else:
                    out[name] = _from_string(member, raw, name, "rfc822")
            else:
                prefix = wire.lower()
                got = {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)}
                if got:
                    out[name] = got
        if query_map is not None:
            name, member = query_map
            literal = {k for k, _ in parse_qsl(op.request_uri.partition("?")[2], keep_blank_values=True)}
            found: dict = {}
            for k, v in req.params:
                if k in query or k in literal:
                    continue
                if member.value.type == "list":
                    found.setdefault(k, []).append(v)
                else:
                    found.setdefault(k, v)
            if found:
                out[name] = found
        payload = shape.ser.get("payload")
        if payload:
            member = shape.members[payload]
            if member.type in ("blob", "string"):
                if req.stream is not None and member.ser.get("streaming"):
                    out[payload] = req.stream       # an async iterator of chunks
                elif req.body or member.type == "blob" and member.ser.get("streaming"):
                    out[payload] = req.body if member.type == "blob" else req.body.decode("utf-8", "replace")
            elif req.body.strip():
                out[payload] = self.read_body(member, req.body, payload_root=True)
        elif req.body.strip():
            out.update(self.read_body(shape, req.body, payload_root=False))
        return out

    def serialize(self, op, output, ctx) -> HttpResponse:
        output = output or {}
        shape = op.output
        headers: list[tuple[str, str]] = []
        status = op.response_code
        body = b""
        if shape is not None:
            status, body = self.bind_out(shape, output, headers, status)
        if status in (204, 304) and body:
            # No body may follow a 204: a kept-alive client would misread it.  An empty
            # document is dropped; a few models give 204 to outputs with members, and
            # those are answered 200 so the members reach the client.
            if body in (b"{}", b'<?xml version="1.0" encoding="UTF-8"?>'):
                body = b""
            else:
                status = 200
        if body and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", self.content_type))
        return HttpResponse(status, headers, body)

    def bind_out(self, shape, output, headers, status):
        """Headers and status from located members; the body from the rest.  Only the
        members present in `output` are visited, written in the model's member order."""
        located, body_names = _out_plan(shape)
        body_members = False
        found = []
        for name, value in output.items():
            if value is None:
                continue
            at = located.get(name)
            if at is not None:
                found.append(at)
            elif name in body_names:
                body_members = True
        if len(found) > 1:
            found.sort()            # (member index, ...): the model's order, as before
        for _, name, member, loc, wire in found:
            value = output[name]
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
            return status, self.write_body(member, value, payload_root=True)
        if body_members or self.always_body:
            return status, self.write_body(shape, output, payload_root=False)
        return status, b""

    always_body = False
    content_type = ""

    def read_body(self, shape, body: bytes, payload_root: bool) -> dict:
        raise NotImplementedError

    def write_body(self, shape, value, payload_root: bool) -> bytes:
        raise NotImplementedError


class RestJson(RestCodec):
    name = "rest-json"
    content_type = "application/json"
    always_body = True

    def read_body(self, shape, body, payload_root):
        if shape.type != "structure":
            return read_document_any(shape, loads(body))
        return read_document(shape, loads(body), tag="restjson_in")

    def write_body(self, shape, value, payload_root):
        return dumps(write_document(shape, value, tag="restjson_out"))

    def serialize_error(self, spec, op, err, ctx) -> HttpResponse:
        facts = ErrorFacts(spec, err)
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", facts.code)]
        doc = {}
        if facts.shape is not None:
            status, _ = self.bind_out(facts.shape, facts.members, headers, facts.status)
            doc = write_document(facts.shape, facts.members, tag="restjson_out")
        else:
            doc = dict(facts.members)
        if facts.query_code and spec is not None and spec.query_compatible:
            headers.append(("x-amzn-query-error", f"{facts.query_code};{facts.fault}"))
        headers.extend(err.headers.items())
        return HttpResponse(facts.status, headers, dumps(doc))


def read_document_any(shape, doc):
    from haneul.protocol.tree import compile_reader
    return compile_reader(shape, leaves.JSON_READ, "restjson_in")(doc, "")


class RestXml(RestCodec):
    name = "rest-xml"
    content_type = "application/xml"
    writer = XmlWriter("member")

    def read_body(self, shape, body, payload_root):
        root = parse_xml(body)
        return read_xml(shape, root)

    def root_name(self, shape) -> str:
        return shape.ser.get("name") or shape.name

    def write_body(self, shape, value, payload_root):
        out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>']
        if shape.type == "structure":
            name = self.root_name(shape)
            attrs = ""
            if "xmlNamespace" not in shape.ser and shape.spec.metadata.get("xmlNamespace"):
                ns = shape.spec.metadata["xmlNamespace"]
                attrs = f' xmlns="{ns["uri"] if isinstance(ns, dict) else ns}"'
            self.writer.structure(out, shape, value, name, attrs)
        else:
            self.writer.element(out, shape, value, self.root_name(shape))
        return "".join(out).encode()

    def serialize_error(self, spec, op, err, ctx) -> HttpResponse:
        facts = ErrorFacts(spec, err)
        headers = [("Content-Type", "application/xml")]
        parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<ErrorResponse><Error>",
                 f"<Type>{facts.fault}</Type>"]
        self.error_inner(parts, facts, headers)
        parts.append(f"</Error><RequestId>{ctx.request_id if ctx else ''}</RequestId></ErrorResponse>")
        headers.extend(err.headers.items())
        return HttpResponse(facts.status, headers, "".join(parts).encode())

    def error_inner(self, parts, facts, headers):
        from haneul.protocol.xml import escape
        parts.append(f"<Code>{escape(facts.query_code or facts.code)}</Code>")
        if facts.shape is not None:
            self.bind_out(facts.shape, facts.members, headers, facts.status)
            body: list[str] = []
            attrs: list[str] = []
            members = {k: v for k, v in facts.members.items() if k not in ("Code", "Type")}
            self.writer.members(body, facts.shape, members, attrs)
            parts.extend(body)
            if facts.message_member != "Message" and "message" in facts.members:
                parts.append(f"<Message>{escape(str(facts.members['message']))}</Message>")
        else:
            for k, v in facts.members.items():
                tag = "Message" if k == "message" else k
                parts.append(f"<{tag}>{escape(str(v))}</{tag}>")
