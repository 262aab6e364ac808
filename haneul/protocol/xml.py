"""Shape-directed XML for rest-xml bodies and query/ec2 responses.

Output is written as text (faster than building an ElementTree); input is parsed with
defusedxml, which refuses entity expansion and external references.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from functools import lru_cache
from xml.etree.ElementTree import Element


from haneul.protocol import timestamps
from haneul.protocol.tree import WireTypeError, in_range

# -- writing ------------------------------------------------------------------------------
# xml.sax.saxutils would do, but importing it pulls in urllib.request: ~12 ms of start-up.
_ATTR_SPECIAL = re.compile(r'[&<>"\r\n\t]').search


def escape(text: str) -> str:
    """Most values (keys, ids, numbers) need no escaping: test once, replace rarely (four
    `in` tests, memchr each, cost a quarter of one regex search; the emitters below inline
    them).  A carriage return is written as &#13; so XML parsers do not fold it into \\n."""
    if "&" not in text and "<" not in text and ">" not in text and "\r" not in text:
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

    Each structure is compiled once into a body writer, and each member into an emitter
    that knows its own element name (its open and close tags are built once), so a
    1,000-key S3 listing or a page of IAM roles walks no model dictionaries per element
    and formats no tag names."""

    def __init__(self, list_member_default: str = "member"):
        self.list_member_default = list_member_default
        self._tag = f"xml:{list_member_default}"

    # -- the public entry points ------------------------------------------------------
    def element(self, out: list, shape, value, name: str, extra_attrs: str = "") -> None:
        if shape.type == "structure":
            self.structure(out, shape, value, name, extra_attrs)
        else:
            self._named(shape, name)(out, value)

    def structure(self, out, shape, value, name, extra_attrs=""):
        body, attributes, ns = self._compiled(shape)
        head = ns + extra_attrs + _attributes(attributes, value) if attributes else ns + extra_attrs
        out.append(f"<{name}{head}>")
        body(out, value)
        out.append(f"</{name}>")

    def members(self, body, shape, value, attrs) -> None:
        write, attributes, _ns = self._compiled(shape)
        if attributes:
            attrs.append(_attributes(attributes, value))
        write(body, value)

    # -- compiled forms -----------------------------------------------------------------
    def _compiled(self, shape):
        """(body writer, attribute members, namespace attribute) of a structure."""
        cache = shape._cache
        found = cache.get(self._tag)
        if found is None:
            attributes = [(mname, member.ser.get("name", mname), member)
                          for mname, member in shape.members.items()
                          if member.ser.get("xmlAttribute") and not member.ser.get("location")]
            ns = _ns_attr(shape)
            box: list = []
            cache[self._tag] = (lambda out, value: box[0](out, value), attributes, ns)  # recursive shapes
            box.append(self._body(shape))
            found = cache[self._tag] = (box[0], attributes, ns)
        return found

    def _body(self, shape):
        """A function written for the shape: one straight run of statements per member,
        strings (most members) written in place, the others handed to their emitter.
        Writing a listing is mostly this function; generated code costs three quarters
        of a loop over a table of members.  Its source holds only the model's member and
        element names, as quoted literals."""
        lines = ["def write_members(out, value):", "    append = out.append", "    get = value.get"]
        scope: dict = {"escape": escape, "iso8601": _iso8601}
        for i, (mname, member) in enumerate(shape.members.items()):
            if member.ser.get("location") or member.ser.get("xmlAttribute"):
                continue
            wire = member.ser.get("name", mname)
            lines += [f"    v = get({mname!r})", "    if v is not None:"]
            scope[f"emit{i}"] = self._named(member, wire)
            tag = wire.replace("{", "{{").replace("}", "}}")
            element = f"append(f{f'<{tag}>{{v}}</{tag}>'!r})"
            if member.ser.get("xmlNamespace"):
                lines.append(f"        emit{i}(out, v)")
            elif member.type == "string":
                lines += ["        if v.__class__ is not str:",
                          "            v = str(v)",
                          "        if '&' in v or '<' in v or '>' in v or '\\r' in v:",
                          "            v = escape(v)",
                          f"        {element}"]
            elif member.type in _INTEGERS:
                lines += ["        if v.__class__ is int:", f"            {element}",
                          "        else:", f"            emit{i}(out, v)"]
            elif member.type == "timestamp" and member.ser.get("timestampFormat", "iso8601") == "iso8601":
                lines += ["        v = iso8601(v)", f"        {element}"]
            else:
                lines.append(f"        emit{i}(out, v)")
        exec("\n".join(lines), scope)  # noqa: S102 - no request data in the source
        return scope["write_members"]

    def _named(self, shape, name: str):
        """The emitter of `shape` as an element called `name`: fn(out, value)."""
        key = f"{self._tag}>{name}"
        fn = shape._cache.get(key)
        if fn is None:
            fn = shape._cache[key] = self._build(shape, name)
        return fn

    def _build(self, shape, name: str):
        t = shape.type
        ns = _ns_attr(shape)
        open_, close = f"<{name}{ns}>", f"</{name}>"
        if t == "structure":
            body, attributes, ns = self._compiled(shape)
            if attributes:
                def emit_attributed(out, value):
                    out.append(f"<{name}{ns}{_attributes(attributes, value)}>")
                    body(out, value)
                    out.append(close)
                return emit_attributed

            def emit_structure(out, value):
                out.append(open_)
                body(out, value)
                out.append(close)
            return emit_structure
        if t == "list":
            member = shape.member
            if shape.flattened:
                emit_flat_item = self._named(member, member.ser.get("name") or name)

                def emit_flat(out, value):
                    for v in value:
                        emit_flat_item(out, v)
                return emit_flat
            item_name = member.ser.get("name", self.list_member_default)
            emit_item = self._named(member, item_name)
            if member.type == "structure" and not member.ser.get("xmlNamespace") \
                    and not self._compiled(member)[1]:
                body = self._compiled(member)[0]
                item_open, item_close = f"<{item_name}>", f"</{item_name}>"

                def emit_structures(out, value):      # a listing: one call per item, not two
                    append = out.append
                    append(open_)
                    for v in value:
                        append(item_open)
                        body(out, v)
                        append(item_close)
                    append(close)
                return emit_structures

            def emit_list(out, value):
                out.append(open_)
                for v in value:
                    emit_item(out, v)
                out.append(close)
            return emit_list
        if t == "map":
            emit_key = self._named(shape.key, shape.key.ser.get("name", "key"))
            emit_value = self._named(shape.value, shape.value.ser.get("name", "value"))
            flat = shape.flattened
            entry_open, entry_close = (f"<{name}>", close) if flat else ("<entry>", "</entry>")

            def emit_map(out, value):
                if not flat:
                    out.append(open_)
                for k, v in value.items():
                    out.append(entry_open)
                    emit_key(out, k)
                    emit_value(out, v)
                    out.append(entry_close)
                if not flat:
                    out.append(close)
            return emit_map
        if t == "string":
            def emit_string(out, value):
                text = value if value.__class__ is str else str(value)
                if "&" in text or "<" in text or ">" in text or "\r" in text:
                    text = escape(text)
                out.append(f"{open_}{text}{close}")
            return emit_string
        if t == "timestamp":     # formatted as digits, '-', ':', '.', 'T', 'Z', ',' and words
            fmt = shape.ser.get("timestampFormat", "iso8601")
            write = _iso8601 if fmt == "iso8601" else (lambda v: str(timestamps.format(v, fmt)))

            def emit_timestamp(out, value):
                out.append(f"{open_}{write(value)}{close}")
            return emit_timestamp
        if t in _INTEGERS:
            def emit_integer(out, value):
                if value.__class__ is int:
                    out.append(f"{open_}{value}{close}")
                else:
                    out.append(f"{open_}{escape(scalar_text(shape, value))}{close}")
            return emit_integer

        def emit_scalar(out, value):
            out.append(f"{open_}{escape(scalar_text(shape, value))}{close}")
        return emit_scalar


# Stored resources are read far more often than written, and each read formats the same
# creation dates again: a memo of the (pure) formatting, keyed by the stored value.
_iso8601 = lru_cache(maxsize=8192)(timestamps.iso8601)


_INTEGERS = ("integer", "long", "short", "byte")


def _attributes(attributes, value) -> str:
    """The XML attributes of a structure's attribute members, as ' name="value"'..."""
    parts = []
    for mname, wire, member in attributes:
        v = value.get(mname)
        if v is not None:
            parts.append(f" {wire}={quoteattr(scalar_text(member, v))}")
    return "".join(parts)


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
            return in_range(t, int(text), path)
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
