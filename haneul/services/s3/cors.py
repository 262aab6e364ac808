"""CORS as S3 evaluates it: the first rule of the bucket's CORSConfiguration whose
AllowedOrigins, AllowedMethods and (for a preflight) AllowedHeaders all admit the
request decides the Access-Control-* headers; a "*" inside a pattern matches any run
of characters.  Headers compare case-insensitively, origins exactly."""

from __future__ import annotations

import re
from functools import lru_cache

from haneul.errors import AwsError

METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = ("CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
               "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are "
               "not whitelisted by the resource's CORS spec.")
NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."


@lru_cache(maxsize=512)
def _pattern(text: str, ignore_case: bool) -> re.Pattern:
    return re.compile("^" + ".*".join(re.escape(p) for p in text.split("*")) + "$",
                      re.IGNORECASE if ignore_case else 0)


def _admits(patterns, value: str, ignore_case: bool = False) -> bool:
    return any(_pattern(str(p), ignore_case).match(value) for p in patterns or ())


def match_rule(config: dict | None, origin: str, method: str, request_headers: list[str] | None = None):
    """The first rule admitting (origin, method, headers), or None."""
    for rule in (config or {}).get("CORSRules") or []:
        if method not in (rule.get("AllowedMethods") or ()):
            continue
        if not _admits(rule.get("AllowedOrigins"), origin):
            continue
        if request_headers and not all(_admits(rule.get("AllowedHeaders"), h, True) for h in request_headers):
            continue
        return rule
    return None


def response_headers(rule: dict, origin: str, request_headers: list[str] | None = None,
                     preflight: bool = False) -> list[tuple[str, str]]:
    wildcard = "*" in (rule.get("AllowedOrigins") or ())
    out = [("Access-Control-Allow-Origin", "*" if wildcard else origin),
           ("Access-Control-Allow-Methods", ", ".join(rule.get("AllowedMethods") or ()))]
    if preflight and request_headers:
        out.append(("Access-Control-Allow-Headers", ", ".join(request_headers)))
    if rule.get("ExposeHeaders"):
        out.append(("Access-Control-Expose-Headers", ", ".join(rule["ExposeHeaders"])))
    if rule.get("MaxAgeSeconds") is not None:
        out.append(("Access-Control-Max-Age", str(rule["MaxAgeSeconds"])))
    if not wildcard:
        out.append(("Access-Control-Allow-Credentials", "true"))
    out.append(("Vary", VARY))
    return out


def requested_headers(text: str | None) -> list[str]:
    return [h.strip().lower() for h in (text or "").split(",") if h.strip()]


def preflight(config: dict | None, headers: dict, has_key: bool, bucket_exists: bool = True
              ) -> list[tuple[str, str]]:
    """The headers answering an OPTIONS request, or the AwsError S3 answers.  S3 reports
    ResourceType BUCKET until rules are evaluated for a key, and Method OPTIONS when no
    method was requested."""
    origin = headers.get("origin")
    if not origin:
        raise AwsError("BadRequest", "Insufficient information. Origin request header needed.", status=400)
    method = headers.get("access-control-request-method")
    if not bucket_exists:
        raise AwsError("AccessForbidden", "CORSResponse: Bucket not found", status=403,
                       Method=method or "OPTIONS", ResourceType="BUCKET")
    if not config:
        raise AwsError("AccessForbidden", NOT_ENABLED, status=403, Method=method or "OPTIONS",
                       ResourceType="BUCKET")
    if method not in METHODS:
        raise AwsError("BadRequest", f"Invalid Access-Control-Request-Method: {method or 'null'}", status=400)
    wanted = requested_headers(headers.get("access-control-request-headers"))
    rule = match_rule(config, origin, method, wanted)
    if rule is None:
        raise AwsError("AccessForbidden", NOT_ALLOWED, status=403, Method=method,
                       ResourceType="OBJECT" if has_key else "BUCKET")
    return response_headers(rule, origin, wanted, preflight=True)


def actual(config: dict | None, origin: str, method: str) -> list[tuple[str, str]]:
    """Headers added to a normal response when its Origin matches a rule (none otherwise).
    The method matched is Access-Control-Request-Method when sent, as S3 does; the
    request's headers are not checked."""
    rule = match_rule(config, origin, method)
    return response_headers(rule, origin) if rule is not None else []
