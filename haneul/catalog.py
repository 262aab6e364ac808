"""Every service in botocore's models: where its model file is and how clients reach it.

Routing needs a little metadata of all ~430 services (protocols, target prefix, signing
name).  Reading every model takes most of a second, so the index is built once per
botocore version and cached as JSON in the user's cache folder; cold start then reads
one small file.  Full models are loaded only when a service is first called.
"""

from __future__ import annotations

import gzip
import os
import threading
from functools import lru_cache

import orjson

_META_KEYS = ("apiVersion", "protocol", "protocols", "jsonVersion", "targetPrefix",
              "signingName", "endpointPrefix", "serviceId", "awsQueryCompatible",
              "xmlNamespace")


def botocore_data_dir() -> str:
    import importlib.util
    spec = importlib.util.find_spec("botocore")
    return os.path.join(os.path.dirname(spec.origin), "data")


def botocore_version() -> str:
    import importlib.metadata
    return importlib.metadata.version("botocore")


def cache_dir() -> str:
    base = os.environ.get("HANEUL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "haneul")
    return base


def _model_path(service_dir: str) -> str | None:
    """The newest API version's service-2.json(.gz) of a service folder."""
    try:
        versions = sorted(v for v in os.listdir(service_dir) if v[:1].isdigit())
    except NotADirectoryError:
        return None
    for version in reversed(versions):
        for name in ("service-2.json.gz", "service-2.json"):
            path = os.path.join(service_dir, version, name)
            if os.path.exists(path):
                return path
    return None


def _read_json(path: str) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    return orjson.loads(gzip.decompress(data) if path.endswith(".gz") else data)


def build_index() -> dict:
    root = botocore_data_dir()
    services = {}
    for name in sorted(os.listdir(root)):
        path = _model_path(os.path.join(root, name))
        if not path:
            continue
        model = _read_json(path)
        meta = {k: model["metadata"][k] for k in _META_KEYS if k in model["metadata"]}
        meta["path"] = os.path.relpath(path, root)
        meta["operations"] = sorted(model["operations"])
        services[name] = meta
    return {"botocore": botocore_version(), "services": services}


_lock = threading.Lock()


@lru_cache(maxsize=1)
def index() -> dict:
    """{"botocore": version, "services": {name: metadata + path + operations}}."""
    path = os.path.join(cache_dir(), f"catalog-{botocore_version()}.json")
    try:
        with open(path, "rb") as f:
            data = orjson.loads(f.read())
        if data.get("botocore") == botocore_version():
            return data
    except (OSError, ValueError):
        pass
    with _lock:
        data = build_index()
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                f.write(orjson.dumps(data))
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home still works, just slower to start
    return data


def services() -> dict[str, dict]:
    return index()["services"]


def protocols(meta: dict) -> list[str]:
    return list(meta.get("protocols") or [meta["protocol"]])


def signing_name(meta: dict) -> str:
    return meta.get("signingName") or meta.get("endpointPrefix") or ""


def deep_merge(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value


@lru_cache(maxsize=None)
def load_model(service: str) -> dict:
    """The service model as botocore's clients see it: with the `sdk-extras` merged in
    (members and shapes the SDK adds, such as RDS's SourceRegion or S3's Expires)."""
    path = os.path.join(botocore_data_dir(), services()[service]["path"])
    model = _read_json(path)
    extras = os.path.join(os.path.dirname(path), "service-2.sdk-extras.json")
    if os.path.exists(extras):
        deep_merge(model, _read_json(extras).get("merge", {}))
    return model
