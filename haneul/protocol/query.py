"""The `query` protocol (form-encoded Action=... requests, XML responses) and its `ec2`
variant, which declares only how it differs: member names, flattened lists, the
response envelope and the error envelope."""

from __future__ import annotations

from urllib.parse import unquote

from haneul.protocol.codec import Codec, ErrorFacts
from haneul.protocol.message import HttpRequest, HttpResponse
from haneul.protocol.tree import WireTypeError
from haneul.protocol.xml import XmlWriter, escape, scalar_from_text

_LEAF = None   # trie key holding a node's own value


def form_params(req: HttpRequest) -> list[tuple[str, str]]:
    """Query-string pairs plus, for form posts, the body's pairs."""
    params = list(req.params) if req.query else []
    ctype = req.headers.get("content-type", "")
    if req.body and (not ctype or "x-www-form-urlencoded" in ctype):
        try:
            params.extend(form_pairs(req.body.decode("utf-8")))
        except UnicodeDecodeError:
            raise WireTypeError("The request body is not valid UTF-8") from None
    return params


def form_pairs(text: str) -> list[tuple[str, str]]:
    """urllib.parse.parse_qsl(text, keep_blank_values=True), without its generic work
    (most names and values of a form post have nothing to decode): a third of its cost."""
    pairs = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "+" in name:
            name = name.replace("+", " ")
        if "%" in name:
            name = unquote(name, errors="replace")
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = unquote(value, errors="replace")
        pairs.append((name, value))
    return pairs


def _trie(params: list[tuple[str, str]]) -> dict:
    root: dict = {}
    for key, value in params:
        node = root
        for part in key.split("."):
            node = node.setdefault(part, {})
        node[_LEAF] = value
    return root


def _indexed(node: dict) -> list[dict]:
    items = []
    for k, v in node.items():
        if k is not _LEAF and k.isdigit():
            items.append((int(k), v))
    items.sort(key=lambda kv: kv[0])
    return [v for _, v in items]


class Query(Codec):
    name = "query"
    writer = XmlWriter("member")

    # -- names (the ec2 variant overrides) ---------------------------------------------
    def member_name(self, member, name: str) -> str:
        return member.ser.get("name", name)

    # -- requests ------------------------------------------------------------------------
    def parse(self, op, req: HttpRequest, target=None) -> dict:
        if op.input is None:
            return {}
        params = target.params if target is not None and target.params is not None else form_params(req)
        tree = _trie([(k, v) for k, v in params if k not in ("Action", "Version")])
        return self.read(op.input, tree, "")

    def read(self, shape, node: dict, path: str):
        t = shape.type
        if t == "structure":
            out = {}
            for name, member in shape.members.items():
                wire = self.member_name(member, name)
                if member.type == "list" and self.flat_list(member) and member.member.ser.get("name") \
                        and self.name == "query":
                    wire = member.member.ser["name"]
                child = node.get(wire)
                if child is not None:
                    out[name] = self.read(member, child, f"{path}.{name}" if path else name)
            return out
        if t == "list":
            if self.flat_list(shape):
                items = _indexed(node)
            else:
                items = _indexed(node.get(shape.member.ser.get("name", "member"), {}))
            return [self.read(shape.member, item, f"{path}.{i}") for i, item in enumerate(items, 1)]
        if t == "map":
            entries = _indexed(node) if shape.flattened else _indexed(node.get("entry", {}))
            key_name = shape.key.ser.get("name", "key")
            value_name = shape.value.ser.get("name", "value")
            out = {}
            for entry in entries:
                k = entry.get(key_name)
                if k is None or _LEAF not in k:
                    continue
                key = self.read(shape.key, k, path)
                v = entry.get(value_name)
                out[key] = self.read(shape.value, v, f"{path}.{key}") if v is not None else None
            return out
        value = node.get(_LEAF)
        if value is None:
            raise WireTypeError(f"Missing value for '{path}'")
        return scalar_from_text(shape, value, path)

    def flat_list(self, shape) -> bool:
        return shape.flattened

    # -- responses -----------------------------------------------------------------------
    def namespace(self, spec) -> str:
        ns = spec.metadata.get("xmlNamespace")
        if isinstance(ns, dict):
            ns = ns.get("uri")
        return ns or f"https://{spec.metadata.get('endpointPrefix', spec.name)}.amazonaws.com/doc/{spec.metadata.get('apiVersion', '')}/"

    def serialize(self, op, output, ctx) -> HttpResponse:
        out = [f'<{op.name}Response xmlns="{self.namespace(op.spec)}">']
        if op.output is not None:
            wrapper = op.result_wrapper or f"{op.name}Result"
            self.writer.structure(out, op.output, output or {}, wrapper)
        out.append(f"<ResponseMetadata><RequestId>{ctx.request_id}</RequestId></ResponseMetadata>")
        out.append(f"</{op.name}Response>")
        return HttpResponse(200, [("Content-Type", "text/xml")], "".join(out).encode())

    def serialize_error(self, spec, op, err, ctx) -> HttpResponse:
        facts = ErrorFacts(spec, err)
        ns = f' xmlns="{self.namespace(spec)}"' if spec is not None else ""
        out = [f"<ErrorResponse{ns}><Error><Type>{facts.fault}</Type>",
               f"<Code>{escape(facts.query_code or facts.code)}</Code>"]
        self.error_members(out, facts)
        out.append(f"</Error><RequestId>{ctx.request_id}</RequestId></ErrorResponse>")
        headers = [("Content-Type", "text/xml")] + list(err.headers.items())
        return HttpResponse(facts.status, headers, "".join(out).encode())

    def error_members(self, out, facts):
        members = dict(facts.members)
        message = members.pop(facts.message_member, None)
        if message is not None:
            out.append(f"<Message>{escape(str(message))}</Message>")
        if facts.shape is not None:
            # the envelope already carries Code and Type; a member of that name is the same fact
            shape_members = {k: v for k, v in members.items()
                             if k in facts.shape.members and k not in ("Code", "Type")}
            self.writer.members(out, facts.shape, shape_members, [])


class Ec2(Query):
    name = "ec2"

    def __init__(self):
        self.writer = XmlWriter("item")

    def member_name(self, member, name: str) -> str:
        if "queryName" in member.ser:
            return member.ser["queryName"]
        if "name" in member.ser:
            n = member.ser["name"]
            return n[:1].upper() + n[1:]
        return name

    def flat_list(self, shape) -> bool:
        return True

    def namespace(self, spec) -> str:
        return f"http://ec2.amazonaws.com/doc/{spec.metadata.get('apiVersion', '2016-11-15')}/"

    def serialize(self, op, output, ctx) -> HttpResponse:
        out = [f'<{op.name}Response xmlns="{self.namespace(op.spec)}">',
               f"<requestId>{ctx.request_id}</requestId>"]
        if op.output is not None:
            self.writer.members(out, op.output, output or {}, [])
        out.append(f"</{op.name}Response>")
        return HttpResponse(200, [("Content-Type", "text/xml")], "".join(out).encode())

    def serialize_error(self, spec, op, err, ctx) -> HttpResponse:
        facts = ErrorFacts(spec, err)
        out = [f"<Response><Errors><Error><Code>{escape(facts.query_code or facts.code)}</Code>"]
        self.error_members(out, facts)
        out.append(f"</Error></Errors><RequestID>{ctx.request_id}</RequestID></Response>")
        return HttpResponse(facts.status, [("Content-Type", "text/xml")] + list(err.headers.items()),
                            "".join(out).encode())
