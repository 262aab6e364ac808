"""Distributed Map's ItemReader (items from S3: an object listing, or one object read as CSV,
JSON or JSON Lines) and ResultWriter (the child executions' results written back to S3).

The engine does no I/O itself: it asks the host for `arn:aws:states:::s3:listObjectsV2`,
`s3:getObject` (the object's text) and `s3:putObject` through `host.call_task`, the way it
runs any Task, so the service backs them with S3 and tests with plain functions.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from haneul.services.stepfunctions.asl.errors import StatesError, runtime
from haneul.services.stepfunctions.asl.host import TaskCall
from haneul.services.stepfunctions.asl.payload import compact

_DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}


def _reader_failed(cause: str) -> StatesError:
    return StatesError("States.ItemReaderFailed", cause)


def _arguments(block: dict, data: Any, ev, field: str) -> dict:
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
    params = _arguments(reader, data, ev, "ItemReader")
    config = reader.get("ReaderConfig") or {}
    raw = await exe.host.call_task(TaskCall(resource=resource, parameters=params, state_name=name))
    if resource.endswith(":s3:listObjectsV2"):
        items = list(raw or [])
    elif resource.endswith(":s3:getObject"):
        items = parse_object(raw if isinstance(raw, str) else "", config)
    else:
        raise _reader_failed(f"Unsupported ItemReader resource: {resource}")
    limit = _max_items(config, data, ev)
    return items[:limit] if limit else items


def parse_object(text: str, config: dict) -> list:
    """The items in an object's text, as ReaderConfig.InputType says (JSON when absent)."""
    kind = config.get("InputType", "JSON")
    if kind == "JSON":
        try:
            value = json.loads(text)
        except ValueError:
            raise _reader_failed("Attempting to map over non-iterable node.") from None
        if not isinstance(value, list):
            raise _reader_failed("Attempting to map over non-iterable node.")
        return value
    if kind == "JSONL":
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as err:
            raise _reader_failed(f"Invalid JSON line: {err}") from None
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


async def write_results(exe, name: str, state: dict, data: Any, ev, run_arn: str, inputs: list,
                        results: list, failures: list) -> dict:
    """ResultWriter: SUCCEEDED_0.json / FAILED_0.json and manifest.json under
    <Prefix>/<map run id>/; the Map state's output names the manifest."""
    writer = state["ResultWriter"]
    params = _arguments(writer, data, ev, "ResultWriter")
    bucket = params.get("Bucket")
    if not bucket:
        raise runtime("The ResultWriter needs a Bucket")
    prefix = params.get("Prefix", "")
    run_id = run_arn.rsplit(":", 1)[-1] if ":" in run_arn else str(uuid.uuid4())
    folder = f"{prefix.rstrip('/')}/{run_id}" if prefix else run_id
    failed_at = {index: (value, err) for index, value, err in failures}
    context = exe.context_base
    now = _iso(exe.host.now())
    machine_arn = context["StateMachine"]["Id"]
    succeeded, failed = [], []
    for index, value in enumerate(inputs):
        record = {"ExecutionArn": f"{run_arn}:{index}", "Input": compact(value),
                  "InputDetails": {"Included": True}, "Name": f"{run_id}:{index}",
                  "RedriveCount": 0, "RedriveStatus": "NOT_REDRIVABLE", "StartDate": now,
                  "StateMachineArn": machine_arn, "StopDate": now}
        if index in failed_at:
            err = failed_at[index][1]
            record.update(Status="FAILED", Error=err.error, Cause=err.cause)
            failed.append(record)
        else:
            record.update(Status="SUCCEEDED", Output=compact(results[index]), OutputDetails={"Included": True})
            succeeded.append(record)
    files = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for status, records in (("SUCCEEDED", succeeded), ("FAILED", failed)):
        if not records:
            continue
        key = f"{folder}/{status}_0.json"
        body = json.dumps(records, separators=(",", ":"))
        await _put(exe, name, bucket, key, body)
        files[status].append({"Key": key, "Size": len(body.encode())})
    manifest_key = f"{folder}/manifest.json"
    manifest = {"DestinationBucket": bucket, "MapRunArn": run_arn, "ResultFiles": files}
    await _put(exe, name, bucket, manifest_key, json.dumps(manifest, separators=(",", ":")))
    return {"MapRunArn": run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}


async def _put(exe, name: str, bucket: str, key: str, body: str) -> None:
    await exe.host.call_task(TaskCall(resource="arn:aws:states:::s3:putObject",
                                      parameters={"Bucket": bucket, "Key": key, "Body": body}, state_name=name))


def _iso(t: float) -> str:
    from haneul.services.stepfunctions.asl.engine import iso
    return iso(t)
