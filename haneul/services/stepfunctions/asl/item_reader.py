"""Distributed Map's ItemReader: items from S3, as an object listing, or one object read as
CSV, JSON or JSON Lines, or an S3 Inventory manifest whose CSV files (gzipped or not) list
the objects.

The engine does no I/O itself: it asks the host for `arn:aws:states:::s3:listObjectsV2` and
`s3:getObject` (the object's bytes) through `host.call_task`, the way it runs any Task, so
the service backs them with S3 and tests with plain functions.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import Any

from haneul.services.stepfunctions.asl.errors import StatesError, runtime
from haneul.services.stepfunctions.asl.host import TaskCall
from haneul.services.stepfunctions.asl.payload import compact

_DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}


def _reader_failed(cause: str) -> StatesError:
    return StatesError("States.ItemReaderFailed", cause)


def arguments(block: dict, data: Any, ev, field: str) -> dict:
    if ev.jsonata:
        value = ev.value(block.get("Arguments", {}), "Arguments")
    else:
        value = ev.value(block.get("Parameters", {}), "Parameters", data=data)
    if not isinstance(value, dict):
        raise runtime(f"The {field} parameters must be an object: {compact(value)}")
    return value


def _max_items(config: dict, data: Any, ev) -> int | None:
    if "MaxItems" in config:
        value = config["MaxItems"]
        if ev.jsonata and isinstance(value, str):
            value = ev.value(value, "MaxItems")
    elif "MaxItemsPath" in config:
        value = ev.reference(config["MaxItemsPath"], data, "MaxItemsPath")
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise runtime(f"The MaxItems value must be a non-negative integer: {compact(value)}")
    return value or None


async def read_items(exe, name: str, state: dict, data: Any, ev) -> list:
    reader = state["ItemReader"]
    resource = reader.get("Resource", "")
    params = arguments(reader, data, ev, "ItemReader")
    config = reader.get("ReaderConfig") or {}
    limit = _max_items(config, data, ev)
    if resource.endswith(":s3:listObjectsV2"):
        items = list(await _s3(exe, name, resource, params) or [])
    elif resource.endswith(":s3:getObject"):
        body = await _s3(exe, name, resource, params)
        if config.get("InputType") == "MANIFEST":
            items = await _manifest(exe, name, resource, _bytes(body), config)
        else:
            items = parse_object(_text(body), config)
    else:
        raise _reader_failed(f"Unsupported ItemReader resource: {resource}")
    return items[:limit] if limit else items


async def _s3(exe, name: str, resource: str, params: dict) -> Any:
    """One S3 call; a failure (no such bucket or key, access denied) is the reader's failure,
    with S3's message as the cause."""
    try:
        return await exe.host.call_task(TaskCall(resource=resource, parameters=params, state_name=name))
    except StatesError as err:
        if err.error in ("States.Runtime", "States.Timeout"):
            raise
        raise _reader_failed(err.cause or err.error) from None


def _bytes(body: Any) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body or b"")


def _text(body: Any) -> str:
    if isinstance(body, str):
        return body
    raw = _bytes(body)
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _reader_failed("The object is not valid UTF-8 text") from None


def _gunzip(raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as err:
        raise _reader_failed(f"The object is not a valid gzip file: {err}") from None


async def _manifest(exe, name: str, resource: str, body: bytes, config: dict) -> list:
    """An S3 Inventory manifest.json: every row of every inventory CSV file it lists (gzipped or
    not), as an object keyed by the manifest's fileSchema columns (Bucket, Key, Size, ...)."""
    kind = config.get("ManifestType", "S3_INVENTORY")
    if kind != "S3_INVENTORY":
        raise _reader_failed(f"Haneul does not support the ItemReader ManifestType {kind} yet")
    try:
        manifest = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _reader_failed("The manifest file is not valid JSON") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise _reader_failed("The manifest file has no 'files' list")
    file_format = manifest.get("fileFormat", "CSV")
    if str(file_format).upper() != "CSV":
        raise _reader_failed(f"The inventory file format {file_format} is not supported; use CSV")
    columns = [c.strip() for c in str(manifest.get("fileSchema", "")).split(",") if c.strip()]
    if not columns:
        raise _reader_failed("The manifest file has no 'fileSchema'")
    bucket = str(manifest.get("destinationBucket", "")).rsplit(":", 1)[-1]
    items: list = []
    for entry in manifest["files"]:
        key = entry.get("key") if isinstance(entry, dict) else None
        if not key:
            raise _reader_failed("A file entry of the manifest has no 'key'")
        text = _text(await _s3(exe, name, resource, {"Bucket": bucket, "Key": key}))
        for row in csv.reader(io.StringIO(text)):
            if row:
                items.append({c: (row[i] if i < len(row) else "") for i, c in enumerate(columns)})
    return items


def _pointer(value: Any, pointer: str) -> Any:
    """ReaderConfig.ItemsPointer: the array at a JSON Pointer (RFC 6901) inside the document."""
    for part in pointer.split("/")[1:] if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise _reader_failed(f"The ItemsPointer {pointer} does not point to a value in the object")
    return value


def parse_object(text: str, config: dict) -> list:
    """The items in an object's text, as ReaderConfig.InputType says (JSON when absent)."""
    kind = config.get("InputType", "JSON")
    if kind == "JSON":
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            raise _reader_failed("Attempting to map over non-iterable node.") from None
        if "ItemsPointer" in config:
            value = _pointer(value, config["ItemsPointer"])
        if not isinstance(value, list):
            raise _reader_failed("Attempting to map over non-iterable node.")
        return value
    if kind == "JSONL":
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError as err:
                    raise _reader_failed(f"Invalid JSON on line {number}: {err}") from None
        return items
    if kind == "CSV":
        delimiter = _DELIMITERS.get(config.get("CSVDelimiter", "COMMA"), ",")
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
            headers = config.get("CSVHeaders") or []
        else:
            if not rows:
                return []
            headers, rows = rows[0], rows[1:]
        items = []
        for row in rows:
            if not row:
                continue
            if len(row) > len(headers):
                raise _reader_failed(f"CSV row has more fields ({len(row)}) than headers ({len(headers)})")
            items.append({h: (row[i] if i < len(row) else "") for i, h in enumerate(headers)})
        return items
    raise _reader_failed(f"Haneul does not support the ItemReader InputType {kind} yet")
