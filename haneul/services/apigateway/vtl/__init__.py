"""Velocity mapping templates as API Gateway renders them (see engine.py for how and why
they differ from plain airspeed)."""

from haneul.services.apigateway.vtl.engine import VtlError, render
from haneul.services.apigateway.vtl.variables import UTIL, InputVar, UtilVar, escape_javascript

__all__ = ["VtlError", "render", "InputVar", "UtilVar", "UTIL", "escape_javascript"]
