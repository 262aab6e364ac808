"""S3 Control's wire quirks: documents in the 2018-08-20 namespace under their documented
root names (botocore's model knows only the output shapes' names)."""

from __future__ import annotations

from haneul.protocol.rest import RestXml

NAMESPACE = "http://awss3control.amazonaws.com/doc/2018-08-20/"
_ROOTS = {"GetPublicAccessBlockOutput": "PublicAccessBlockConfiguration"}


class S3ControlXml(RestXml):
    def root_name(self, shape) -> str:
        return _ROOTS.get(shape.name) or shape.ser.get("name") or shape.name

    def write_body(self, shape, value, payload_root):
        out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        if shape.type == "structure":
            ns = "" if "xmlNamespace" in shape.ser else f' xmlns="{NAMESPACE}"'
            self.writer.structure(out, shape, value, self.root_name(shape), ns)
        else:
            self.writer.element(out, shape, value, self.root_name(shape))
        return "".join(out).encode()
