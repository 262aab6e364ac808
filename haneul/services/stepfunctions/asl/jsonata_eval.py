"""JSONata for Step Functions: each expression compiled once (jsonata-python, imported
lazily), AWS's extra functions ($partition $range $hash $random $uuid $parse), no $eval,
and the results converted back to plain JSON values."""

from __future__ import annotations

import json
import math
import random
import threading
import uuid
from typing import Any

from haneul.services.stepfunctions.asl.errors import query_error
from haneul.services.stepfunctions.asl import intrinsics

_cache: dict[str, Any] = {}
_lock = threading.Lock()
UNDEFINED = object()


class Unsupported(Exception):
    pass


def _lib():
    import jsonata  # lazy: the dependency is optional until the service is used
    from jsonata import utils

    from haneul.services.stepfunctions.asl import jsonata_compat
    jsonata_compat.apply()
    return jsonata, utils


def compile_plain(text: str):
    """The library's compiled expression with jsonata-js behaviour restored (jsonata_compat),
    without Step Functions' extra functions: what the JSONata test suite runs."""
    jsonata_mod, _ = _lib()
    return jsonata_mod.Jsonata(text)


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}") and len(value) >= 4


def expression_text(value: str) -> str:
    return value[2:-2].strip()


def _extras(jsonata_mod, utils):
    def partition(arr, size):
        arr = _plain(arr, utils)
        return intrinsics.FUNCTIONS["States.ArrayPartition"]("$partition", [arr, size])

    def range_(start, end, step):
        return intrinsics.FUNCTIONS["States.ArrayRange"]("$range", [start, end, step])

    def hash_(data, algo):
        return intrinsics.FUNCTIONS["States.Hash"]("$hash", [_plain(data, utils), algo])

    def random_(seed=None):
        return random.Random(seed).random() if seed is not None else random.random()

    def uuid_():
        return str(uuid.uuid4())

    def parse(text):
        try:
            return _wrap(json.loads(text), utils)
        except (TypeError, ValueError, RecursionError):
            raise query_error(f"The JSONata function $parse could not parse the string: {text}") from None

    return {"partition": partition, "range": range_, "hash": hash_, "random": random_,
            "uuid": uuid_, "parse": parse}


def compile_expression(text: str):
    expr = _cache.get(text)
    if expr is not None:
        return expr
    jsonata_mod, utils = _lib()
    with _lock:
        expr = jsonata_mod.Jsonata(text)
        expr.set_output_convert_nulls(False)
        for name, fn in _extras(jsonata_mod, utils).items():
            expr.register_lambda(name, fn)
        expr.assign("eval", None)
        _cache[text] = expr
    return expr


def _wrap(value: Any, utils) -> Any:
    """Plain JSON -> what the library expects (JSON null as its NULL_VALUE)."""
    if value is None:
        return utils.Utils.NULL_VALUE
    if isinstance(value, dict):
        return {k: _wrap(v, utils) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap(v, utils) for v in value]
    return value


def _plain(value: Any, utils) -> Any:
    if value is utils.Utils.NULL_VALUE:
        return None
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _plain(v, utils) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, utils) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise Unsupported("Infinity or NaN")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    if isinstance(value, (str, int, float, bool)):
        return value
    raise Unsupported(type(value).__name__)


def evaluate(text: str, states: dict, variables: dict | None, field: str) -> Any:
    """Evaluate one JSONata expression; raises States.QueryEvaluationError as AWS words it."""
    try:
        expr = compile_expression(text)
    except Exception as err:
        raise query_error(f"The JSONata expression '{text}' specified for the field '{field}' "
                          f"could not be parsed. {_describe(err)}") from None
    _, utils = _lib()
    bindings = {k: _wrap(v, utils) for k, v in (variables or {}).items()}
    bindings["states"] = _wrap(states, utils)
    try:
        result = expr.evaluate(None, bindings)
    except Exception as err:
        if getattr(err, "error", None) is None and isinstance(err, TypeError) and ":=" in text:
            raise query_error(f"The JSONata expression '{text}' specified for the field '{field}' "
                              f"returned an unsupported result type.") from None
        if hasattr(err, "error") and getattr(err, "runtime", None) is not None:
            raise
        raise query_error(f"The JSONata expression '{text}' specified for the field '{field}' "
                          f"threw an error during evaluation. {_describe(err)}") from None
    if result is None:
        return UNDEFINED
    try:
        return _plain(result, utils)
    except Unsupported:
        raise query_error(f"The JSONata expression '{text}' specified for the field '{field}' "
                          f"returned an unsupported result type.") from None


def _describe(err: Exception) -> str:
    from haneul.services.stepfunctions.asl.jsonata_compat import error_code
    code = error_code(err)
    if getattr(err, "detail", None):
        return f"{code}: {err.detail}"
    if code:
        return f"{code}: {err}"
    return str(err)
