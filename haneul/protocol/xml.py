"""Shape-directed XML for rest-xml bodies and query/ec2 responses.

Output is written as text (faster than building an ElementTree); input is parsed with
defusedxml, which refuses entity expansion and external references.
"""

from __future__ import annotations

import base64
import binascii
import math
from xml.etree.ElementTree import Element
import re


from haneul.protocol import timestamps
from haneul.protocol.tree import WireTypeError

# -- writing ------------------------------------------------------------------------------
# xml.sax.saxutils would do, but importing it pulls in urllib.request: ~12 ms of start-up.
_SPECIAL = re.compile(r"[&<>\r]").search
_ATTR_SPECIAL = re.compile(r'[&<>"\r\n\t]').search


def escape(text: str) -> str:
    """Most values (keys, ids, numbers) need no escaping: test once, replace rarely.
    A carriage return is written as &#13; so XML parsers do not fold it into \\n."""
    if _SPECIAL(text) is None:
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def quoteattr(text: str) -> str:
    if _ATTR_SPECIAL(text) is None:
        return f'"{text}"'
    return '"' + escape(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;") + '"'



def _ns_attr(shape) -> str:
    ns = shape.ser.get("xmlNamespace")
    if not ns:
        return ""
    if isinstance(ns, dict):
        name = f"xmlns:{ns['prefix']}" if ns.get("prefix") else "xmlns"
        return f" {name}={quoteattr(ns['uri'])}"
    return f" xmlns={quoteattr(ns)}"


def scalar_text(shape, value, default_ts: str = "iso8601") -> str:
    t = shape.type
    if t == "boolean":
        return "true" if value else "false"
    if t == "timestamp":
        return str(timestamps.format(value, shape.ser.get("timestampFormat", default_ts)))
    if t == "blob":
        if isinstance(value, str):
            value = value.encode()
        return base64.b64encode(value).decode()
    if t in ("float", "double"):
        if isinstance(value, float) and not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return repr(float(value)) if isinstance(value, float) else str(value)
    return str(value)


class XmlWriter:
    """`list_member_default` is "member" for rest-xml/query and "item" for ec2.

    Each shape is compiled once into an emitter (a closure appending text to a list), so a
    1,000-key S3 listing walks no model dictionaries per element."""

    def __init__(self, list_member_default: str = "member"):
        self.list_member_default = list_member_default
        self._tag = f"xmlw:{list_member_default}"

    # -- the public entry points ------------------------------------------------------
    def element(self, out: list, shape, value, name: str, extra_attrs: str = "") -> None:
        if shape.type == "structure":
            self.structure(out, shape, value, name, extra_attrs)
        else:
            self._emitter(shape)(out, value, name)

    def structure(self, out, shape, value, name, extra_attrs=""):
        plan, ns = self._plan(shape)
        attrs = [ns, extra_attrs]
        body: list[str] = []
        self._members(body, plan, value, attrs)
        out.append(f"<{name}{''.join(attrs)}>")
        out.extend(body)
        out.append(f"</{name}>")

    def members(self, body, shape, value, attrs) -> None:
        self._members(body, self._plan(shape)[0], value, attrs)

    # -- compiled forms -----------------------------------------------------------------
    @staticmethod
    def _members(body, plan, value, attrs):
        for mname, wire, is_attr, member, emit in plan:
            v = value.get(mname)
            if v is None:
                continue
            if is_attr:
                attrs.append(f" {wire}={quoteattr(scalar_text(member, v))}")
            else:
                emit(body, v, wire)

    def _plan(self, shape):
        key = self._tag + ":plan"
        plan = shape._cache.get(key)
        if plan is None:
            members = []
            for mname, member in shape.members.items():
                if member.ser.get("location"):
                    continue
                wire = member.ser.get("name", mname)
                members.append((mname, wire, bool(member.ser.get("xmlAttribute")), member,
                                None if member.ser.get("xmlAttribute") else self._emitter(member)))
            plan = shape._cache[key] = (members, _ns_attr(shape))
        return plan

    def _emitter(self, shape):
        cache = shape._cache
        fn = cache.get(self._tag)
        if fn is None:
            box: list = [None]
            cache[self._tag] = lambda out, v, name: box[0](out, v, name)   # recursive shapes
            fn = self._build(shape)
            box[0] = fn
            cache[self._tag] = fn
        return fn

    def _build(self, shape):
        t = shape.type
        ns = _ns_attr(shape)
        if t == "structure":
            def emit_structure(out, value, name):
                self.structure(out, shape, value, name)
            return emit_structure
        if t == "list":
            member = shape.member
            emit_item = self._emitter(member)
            if shape.flattened:
                item_name = member.ser.get("name")

                def emit_flat(out, value, name):
                    n = item_name or name
                    for v in value:
                        emit_item(out, v, n)
                return emit_flat
            item_name = member.ser.get("name", self.list_member_default)

            def emit_list(out, value, name):
                out.append(f"<{name}{ns}>")
                for v in value:
                    emit_item(out, v, item_name)
                out.append(f"</{name}>")
            return emit_list
        if t == "map":
            key_name = shape.key.ser.get("name", "key")
            value_name = shape.value.ser.get("name", "value")
            emit_key, emit_value = self._emitter(shape.key), self._emitter(shape.value)
            flat = shape.flattened

            def emit_map(out, value, name):
                if not flat:
                    out.append(f"<{name}{ns}>")
                for k, v in value.items():
                    out.append(f"<{name}>" if flat else "<entry>")
                    emit_key(out, k, key_name)
                    emit_value(out, v, value_name)
                    out.append(f"</{name}>" if flat else "</entry>")
                if not flat:
                    out.append(f"</{name}>")
            return emit_map
        if t == "string":
            def emit_string(out, value, name):
                out.append(f"<{name}{ns}>{escape(value if isinstance(value, str) else str(value))}</{name}>")
            return emit_string

        def emit_scalar(out, value, name):
            out.append(f"<{name}{ns}>{escape(scalar_text(shape, value))}</{name}>")
        return emit_scalar


# -- reading ------------------------------------------------------------------------------


def parse_xml(body: bytes) -> Element:
    try:
        from defusedxml import ElementTree as SafeET   # imported when the first XML body comes
        return SafeET.fromstring(body)
    except Exception as e:  # ParseError, EntitiesForbidden, DTDForbidden ...
        raise MalformedXml(f"The XML you provided was not well-formed or did not validate "
                                f"against our published schema ({type(e).__name__})") from None


class MalformedXml(WireTypeError):
    def __init__(self, message: str):
        super().__init__(message)
        self.code = "MalformedXML"


def _tag(node) -> str:
    tag = node.tag
    return tag.rsplit("}", 1)[1] if tag[:1] == "{" else tag


def scalar_from_text(shape, text: str, path: str):
    t = shape.type
    try:
        if t in ("integer", "long", "short", "byte", "biginteger"):
            return int(text)
        if t in ("float", "double", "bigdecimal"):
            return float(text)
        if t == "boolean":
            if text not in ("true", "false"):
                raise ValueError
            return text == "true"
        if t == "timestamp":
            return timestamps.parse(text)
        if t == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error, OverflowError):
        raise WireTypeError(f"Invalid value '{text}' for '{path}'") from None
    return text


def read_xml(shape, node, path: str = ""):
    t = shape.type
    if t == "structure":
        children: dict[str, list] = {}
        for child in node:
            children.setdefault(_tag(child), []).append(child)
        out = {}
        for mname, member in shape.members.items():
            if member.ser.get("location"):
                continue
            mpath = f"{path}.{mname}" if path else mname
            if member.ser.get("xmlAttribute"):
                attr = member.ser.get("name", mname)
                for key, val in node.attrib.items():
                    local = key.rsplit("}", 1)[1] if key[:1] == "{" else key
                    if key == attr or local == attr.split(":")[-1]:
                        out[mname] = scalar_from_text(member, val, mpath)
                continue
            wire = member.ser.get("name", mname)
            if member.type == "list" and member.flattened:
                wire = member.member.ser.get("name", wire)
                nodes = children.get(wire)
                if nodes is not None:
                    out[mname] = [read_xml(member.member, n, f"{mpath}.{i}") for i, n in enumerate(nodes, 1)]
                continue
            if member.type == "map" and member.flattened:
                nodes = children.get(wire)
                if nodes is not None:
                    out[mname] = _read_entries(member, nodes, mpath)
                continue
            nodes = children.get(wire)
            if nodes:
                out[mname] = read_xml(member, nodes[0], mpath)
        return out
    if t == "list":
        return [read_xml(shape.member, child, f"{path}.{i}") for i, child in enumerate(node, 1)]
    if t == "map":
        return _read_entries(shape, list(node), path)
    return scalar_from_text(shape, node.text or "", path)


def _read_entries(shape, entries, path):
    key_name = shape.key.ser.get("name", "key")
    value_name = shape.value.ser.get("name", "value")
    out = {}
    for entry in entries:
        key = value = None
        for child in entry:
            tag = _tag(child)
            if tag == key_name:
                key = read_xml(shape.key, child, path)
            elif tag == value_name:
                value = read_xml(shape.value, child, f"{path}.{key}")
        if key is not None:
            out[key] = value
    return out
