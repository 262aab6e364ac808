"""Which service and operation a request is for, and in which protocol it was sent.

Signals, in order: the smithy-protocol header (rpc-v2-cbor), X-Amz-Target (json),
Action= in a form body or query string (query/ec2), then the REST routes of the services
sharing the SigV4 signing name.  Hosts add S3 virtual hosts, `{api}.execute-api` and
host prefixes such as `sync-`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from haneul import catalog, registry
from haneul.errors import AwsError
from haneul.identity import Credential
from haneul.protocol import uri
from haneul.protocol.message import HttpRequest
from haneul.protocol.query import form_params
from haneul.protocol.shapes import service_spec

_CBOR_PATH = re.compile(r"^/service/([^/]+)/operation/([^/?]+)$")
# bucket.s3.localhost, bucket.s3.<region>.localhost, bucket.s3-accelerate..., LocalStack's
# bucket.s3.localhost.localstack.cloud, and plain bucket.localhost (botocore's virtual
# addressing against http://localhost:4566)
_S3_VHOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*?)\.(?:s3(?:[.-][a-z0-9-]+)*\.)?"
                       r"(?:localhost(?:\.localstack\.cloud)?|amazonaws\.com)$")
# S3's own host, s3control's {AccountId}. prefix, and other services' data-plane hosts
_NOT_BUCKETS = re.compile(r"^(?:s3(?:[.-].*)?|[0-9]{12}|.*\.execute-api|.*\.lambda-url(?:\..*)?)$")
_HOST_ROUTES = [(re.compile(p), target) for p, target in registry.HOST_ROUTES]
_PATH_ROUTES = [(re.compile(p), target) for p, target in registry.PATH_ROUTES]


class Target:
    __slots__ = ("service", "protocol", "operation", "labels", "params", "bucket")

    def __init__(self, service: str, protocol: str, operation: str | None,
                 labels: dict | None = None, params: list | None = None):
        self.service = service
        self.protocol = protocol
        self.operation = operation
        self.labels = labels or {}
        self.params = params
        self.bucket = None

    def __repr__(self) -> str:
        return f"<Target {self.service}.{self.operation} ({self.protocol})>"


class Indexes:
    def __init__(self, services: dict[str, dict]):
        self.services = services
        self.by_target: dict[str, list[str]] = {}
        self.by_signing: dict[str, list[str]] = {}
        self.by_version: dict[str, list[str]] = {}
        self.operations: dict[str, frozenset[str]] = {}
        for name, meta in services.items():
            self.operations[name] = frozenset(meta.get("operations", ()))
            if "targetPrefix" in meta:
                self.by_target.setdefault(meta["targetPrefix"], []).append(name)
            for key in {catalog.signing_name(meta), meta.get("endpointPrefix", "")}:
                if key:
                    self.by_signing.setdefault(key, []).append(name)
            self.by_version.setdefault(meta.get("apiVersion", ""), []).append(name)
        # the name a signing name belongs to first (s3 before s3control, ...)
        for key, names in self.by_signing.items():
            names.sort(key=lambda n: (n != key, services[n].get("endpointPrefix") != key, n))


@lru_cache(maxsize=1)
def indexes() -> Indexes:
    return Indexes(catalog.services())


def unknown_service(detail: str) -> AwsError:
    return AwsError("UnrecognizedClientException" if "signing" in detail else "InvalidRequest",
                    f"Haneul could not determine the AWS service of this request: {detail}", 400)


def unknown_operation(service: str, operation: str) -> AwsError:
    return AwsError("UnknownOperationException",
                    f"The operation {operation!r} is not an operation of the {service} API", 400)


def _has_op(service: str, op: str) -> bool:
    return op in indexes().operations[service]


def _pick(candidates: list[str], op: str, cred: Credential | None) -> str | None:
    with_op = [c for c in candidates if _has_op(c, op)]
    if not with_op:
        return None
    if len(with_op) > 1 and cred is not None:
        signed = [c for c in with_op if cred.service in (catalog.signing_name(catalog.services()[c]),
                                                         catalog.services()[c].get("endpointPrefix"))]
        if signed:
            return signed[0]
    return with_op[0]


def route(req: HttpRequest, cred: Credential | None) -> Target:
    idx = indexes()
    headers = req.headers

    # smithy-rpc-v2-cbor
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        m = _CBOR_PATH.match(req.path.split("?", 1)[0])
        if not m:
            raise unknown_service("rpc-v2-cbor request without /service/{service}/operation/{operation}")
        prefix, op = m.group(1), m.group(2)
        service = _pick(idx.by_target.get(prefix, []), op, cred)
        if service is None:
            if prefix in idx.by_target:
                raise unknown_operation(idx.by_target[prefix][0], op)
            raise unknown_service(f"unknown service {prefix!r}")
        return Target(service, "smithy-rpc-v2-cbor", op)

    # json: X-Amz-Target: Prefix.Operation
    target = headers.get("x-amz-target")
    if target:
        prefix, _, op = target.rpartition(".")
        candidates = idx.by_target.get(prefix, [])
        service = _pick(candidates, op, cred)
        if service is None:
            if candidates:
                raise unknown_operation(candidates[0], op)
            raise unknown_service(f"unknown X-Amz-Target prefix {prefix!r}")
        return Target(service, "json", op)

    host = req.host.split(":", 1)[0].lower()
    signing = cred.service if cred is not None else ""

    if signing in ("", "execute-api", "lambda"):
        for pattern, handler in _HOST_ROUTES:
            m = pattern.match(host)
            if m:
                return data_plane(handler, m)
        for pattern, handler in _PATH_ROUTES:
            m = pattern.match(req.path)
            if m:
                return data_plane(handler, m)

    # query / ec2: Action=...
    ctype = headers.get("content-type", "")
    if (req.method == "POST" and "x-www-form-urlencoded" in ctype) or \
            (req.method == "GET" and "Action=" in req.query):
        params = form_params(req)
        action = next((v for k, v in params if k == "Action"), None)
        if action:
            version = next((v for k, v in params if k == "Version"), None)
            candidates = idx.by_signing.get(signing, []) if signing else idx.by_version.get(version or "", [])
            if version and signing:
                same = [c for c in candidates if catalog.services()[c].get("apiVersion") == version]
                candidates = same or candidates
            query_capable = [c for c in candidates if _speaks_query(c)]
            service = _pick(query_capable, action, cred)
            if service is None:
                if query_capable:
                    raise AwsError("InvalidAction", f"The action {action} is not valid for this web service.", 400)
                raise unknown_service(f"no query-protocol service for signing name {signing!r}")
            proto = "ec2" if "ec2" in catalog.protocols(catalog.services()[service]) else "query"
            return Target(service, proto, action, params=params)

    website = _S3_WEBSITE.match(host) if not signing else None
    if website:                 # bucket.s3-website.<region>.localhost: static sites
        t = data_plane(_S3_PLANE + "website", website)
        t.labels["path"] = req.path
        return t

    # S3 virtual-hosted style: bucket.s3.localhost
    vhost = _S3_VHOST.match(host)
    if vhost and signing in ("", "s3", "s3-object-lambda") and not _NOT_BUCKETS.match(vhost.group("bucket")) \
            and not req.path.startswith("/v20180820/"):     # s3control's API, whatever the host
        bucket_path = "/" + vhost.group("bucket") + req.path
        if not signing:
            plane = _s3_data_plane(req, bucket_path)
            if plane is not None:
                plane.bucket = vhost.group("bucket")
                return plane
        t = _rest_match(["s3"], req, bucket_path)
        if t is not None:
            t.bucket = vhost.group("bucket")
            return t
    if not signing:
        plane = _s3_data_plane(req, req.path)
        if plane is not None:
            return plane

    # REST: the services sharing the signing name
    if signing:
        candidates = idx.by_signing.get(signing)
        if not candidates:
            raise unknown_service(f"unknown signing name {signing!r}")
    else:
        candidates = ["s3"]       # unsigned REST requests are S3's (anonymous GETs, POST forms)
    t = _rest_match(candidates, req, req.path)
    if t is None:
        raise AwsError("UnknownOperationException",
                       f"No {'/'.join(candidates[:3])} operation matches {req.method} {req.path.split('?')[0]}", 404)
    return t


_S3_PLANE = "haneul.services.s3.dataplane:"
_S3_WEBSITE = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*?)\.s3-website[.-]")


def _s3_data_plane(req: HttpRequest, bucket_path: str) -> Target | None:
    """What S3 serves outside its API model: CORS preflights (OPTIONS) and browser POST
    uploads (multipart/form-data, signed inside the form).  Both come unsigned."""
    if req.method == "OPTIONS":
        handler = "preflight"
    elif req.method == "POST" and req.headers.get("content-type", "").startswith("multipart/form-data"):
        handler = "post_object"
    else:
        return None
    bucket, _, key = bucket_path.lstrip("/").partition("/")
    t = Target("s3", "raw", _S3_PLANE + handler)
    t.labels = {"bucket": bucket, "key": key}
    return t


def data_plane(handler: str, match) -> Target:
    """A request for a deployed API or a function URL, answered by `handler`."""
    t = Target(handler.split(".")[2] if handler.count(".") >= 2 else handler, "raw", handler)
    t.labels = {k: v for k, v in match.groupdict().items() if v is not None}
    return t


def _speaks_query(service: str) -> bool:
    meta = catalog.services()[service]
    return bool({"query", "ec2"} & set(catalog.protocols(meta))) or "awsQueryCompatible" in meta


def _rest_match(candidates: list[str], req: HttpRequest, path: str) -> Target | None:
    path = path.split("?", 1)[0]
    best = None
    for service in candidates:
        meta = catalog.services()[service]
        protos = catalog.protocols(meta)
        proto = next((p for p in protos if p in ("rest-json", "rest-xml")), None)
        if proto is None:
            continue
        spec = service_spec(service)
        found = uri.match_scored(spec, req.method, path, req.params, req.headers)
        if found is None:
            continue
        op, labels, route_score = found
        host_ok = 1
        if op.host_prefix:
            host_ok = 2 if (uri.host_labels(op, req.host) or req.host.startswith(op.host_prefix)) else 0
        # the most specific route first (s3control's /v20180820/... beats S3's
        # /{Bucket}/{Key+} even on an IP endpoint, where no host prefix can be sent)
        score = (route_score, host_ok)
        if best is None or score > best[0]:
            best = (score, Target(service, proto, op.name, labels))
    return best[1] if best else None
