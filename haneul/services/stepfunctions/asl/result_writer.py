"""Distributed Map's ResultWriter: the child executions' results, shaped by WriterConfig
(Transformation NONE | COMPACT | FLATTEN, OutputType JSON | JSONL), either returned as the
state's output (WriterConfig alone) or written to S3 (Resource and Parameters) as AWS lays
them out: <Prefix>/<map run id>/manifest.json beside SUCCEEDED_n, FAILED_n and PENDING_n files,
the state's output then naming the manifest (MapRunArn, ResultWriterDetails Bucket and Key).
"""

from __future__ import annotations

import json
from typing import Any

from haneul.services.stepfunctions.asl.engine import iso
from haneul.services.stepfunctions.asl.errors import StatesError, runtime
from haneul.services.stepfunctions.asl.host import TaskCall
from haneul.services.stepfunctions.asl.item_reader import arguments
from haneul.services.stepfunctions.asl.payload import compact

TRANSFORMATIONS = ("NONE", "COMPACT", "FLATTEN")
OUTPUT_TYPES = ("JSON", "JSONL")
_FILE_STATUS = {"SUCCEEDED": "SUCCEEDED", "PENDING": "PENDING"}     # anything else: FAILED


def record(child: dict, machine_arn: str) -> dict:
    """One child execution as AWS's result files describe it (Transformation NONE)."""
    status = child["status"]
    out = {"ExecutionArn": child.get("arn"), "Input": compact(child["input"]), "InputDetails": {"Included": True},
           "Name": child.get("name"), "RedriveCount": child.get("redrive_count", 0), "StateMachineArn": machine_arn, "Status": status}
    if status == "PENDING":
        return {k: v for k, v in out.items() if v is not None}
    out["StartDate"] = iso(child["start"])
    out["StopDate"] = iso(child.get("stop", child["start"]))
    if status == "SUCCEEDED":
        out.update(Output=compact(child.get("output")), OutputDetails={"Included": True},
                   RedriveStatus="NOT_REDRIVABLE",
                   RedriveStatusReason="Execution is SUCCEEDED and cannot be redriven")
    else:
        out.update(RedriveStatus="REDRIVABLE_BY_MAP_RUN")
        if child.get("error") is not None:
            out["Error"] = child["error"]
        if child.get("cause") is not None:
            out["Cause"] = child["cause"]
    return out


def transform(children: list[dict], transformation: str, machine_arn: str) -> list:
    """NONE: each child's record; COMPACT: each output; FLATTEN: the outputs, arrays spread.
    A child that did not succeed keeps its full record whatever the transformation."""
    out: list = []
    for child in children:
        if transformation == "NONE" or child["status"] != "SUCCEEDED":
            out.append(record(child, machine_arn))
        elif transformation == "FLATTEN" and isinstance(child.get("output"), list):
            out.extend(child["output"])
        else:
            out.append(child.get("output"))
    return out


def _config(writer: dict, exporting: bool) -> tuple[str, str]:
    config = writer.get("WriterConfig") or {}
    transformation = config.get("Transformation", "NONE" if exporting else "COMPACT")
    output_type = config.get("OutputType", "JSON")
    if transformation not in TRANSFORMATIONS:
        raise runtime(f"The WriterConfig Transformation must be one of {', '.join(TRANSFORMATIONS)}: "
                      f"{transformation}")
    if output_type not in OUTPUT_TYPES:
        raise runtime(f"The WriterConfig OutputType must be one of {', '.join(OUTPUT_TYPES)}: {output_type}")
    return transformation, output_type


def body(values: list, output_type: str) -> str:
    if output_type == "JSONL":
        return "".join(compact(v) + "\n" for v in values)
    return json.dumps(values, separators=(",", ":"))


async def write(exe, name: str, state: dict, data: Any, ev, run_arn: str, children: list[dict]) -> Any:
    writer = state["ResultWriter"]
    machine_arn = run_arn.replace(":mapRun:", ":stateMachine:", 1).rsplit(":", 1)[0]
    exporting = "Resource" in writer
    transformation, output_type = _config(writer, exporting)
    if not exporting:
        return transform(children, transformation, machine_arn)
    params = arguments(writer, data, ev, "ResultWriter")
    bucket = params.get("Bucket")
    if not bucket:
        raise runtime("The ResultWriter needs a Bucket")
    prefix = str(params.get("Prefix", ""))
    run_id = run_arn.rsplit(":", 1)[-1]
    folder = f"{prefix.rstrip('/')}/{run_id}" if prefix else run_id
    groups: dict[str, list] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for child in children:
        groups[_FILE_STATUS.get(child["status"], "FAILED")].append(child)
    files: dict[str, list] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status, group in groups.items():
        if not group:
            continue
        key = f"{folder}/{status}_0.json"
        text = body(transform(group, transformation, machine_arn), output_type)
        await _put(exe, name, bucket, key, text)
        files[status].append({"Key": key, "Size": len(text.encode())})
    manifest_key = f"{folder}/manifest.json"
    manifest = {"DestinationBucket": bucket, "MapRunArn": run_arn, "ResultFiles": files}
    await _put(exe, name, bucket, manifest_key, json.dumps(manifest, separators=(",", ":")))
    return {"MapRunArn": run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}


async def _put(exe, name: str, bucket: str, key: str, text: str) -> None:
    """A failed write (no such bucket, access denied) fails the state with
    States.ResultWriterFailed, S3's message as the cause."""
    try:
        await exe.host.call_task(TaskCall(resource="arn:aws:states:::s3:putObject",
                                          parameters={"Bucket": bucket, "Key": key, "Body": text},
                                          state_name=name))
    except StatesError as err:
        if err.error in ("States.Runtime", "States.Timeout"):
            raise
        raise StatesError("States.ResultWriterFailed", err.cause or err.error) from None
