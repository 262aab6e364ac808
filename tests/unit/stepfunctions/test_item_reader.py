"""Distributed Map with ItemReader and ResultWriter on the engine, S3 played by the host."""

import asyncio
import json

from haneul.services.stepfunctions.asl.engine import Execution
from haneul.services.stepfunctions.asl.host import ManualHost
from haneul.services.stepfunctions.asl.item_reader import parse_object


def distributed(reader, writer=None):
    state = {"Type": "Map", "ItemReader": reader, "End": True,
             "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                               "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}
    if writer:
        state["ResultWriter"] = writer
    return {"StartAt": "M", "States": {"M": state}}


def run(definition, objects, written=None):
    def get(call):
        return objects[call.parameters["Key"]]

    def listing(call):
        return [{"Key": k, "Size": len(v)} for k, v in sorted(objects.items()) if k.startswith(call.parameters["Prefix"])]

    def put(call):
        written[call.parameters["Key"]] = call.parameters["Body"]
        return {}
    host = ManualHost(tasks={"arn:aws:states:::s3:getObject": get, "arn:aws:states:::s3:listObjectsV2": listing,
                             "arn:aws:states:::s3:putObject": put})
    return asyncio.run(Execution(definition, {}, host).run())


def test_csv_json_jsonl_parsing():
    assert parse_object("a,b\n1,2\n3,4\n", {"InputType": "CSV"}) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert parse_object("1|2\n", {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["x", "y"],
                                  "CSVDelimiter": "PIPE"}) == [{"x": "1", "y": "2"}]
    assert parse_object('[1, {"a": 2}]', {"InputType": "JSON"}) == [1, {"a": 2}]
    assert parse_object('{"a": 1}\n{"a": 2}\n', {"InputType": "JSONL"}) == [{"a": 1}, {"a": 2}]


def test_reader_from_csv_object_with_max_items():
    d = distributed({"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "k.csv"},
                     "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 2}})
    out = run(d, {"k.csv": "id,name\n1,a\n2,b\n3,c\n"})
    assert out.status == "SUCCEEDED" and out.output == [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]


def test_reader_over_listing_and_result_writer():
    written = {}
    d = distributed({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "b", "Prefix": "in/"}},
                    {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "out", "Prefix": "res"}})
    out = run(d, {"in/1": "x", "in/2": "yy", "other": "z"}, written)
    assert out.status == "SUCCEEDED", out
    manifest_key = out.output["ResultWriterDetails"]["Key"]
    assert out.output["ResultWriterDetails"]["Bucket"] == "out" and manifest_key.startswith("res/")
    manifest = json.loads(written[manifest_key])
    results = json.loads(written[manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]])
    assert [json.loads(r["Output"])["Key"] for r in results] == ["in/1", "in/2"]
    assert all(r["Status"] == "SUCCEEDED" for r in results)


def test_result_writer_records_failures_of_a_failed_run():
    written = {}
    d = distributed({"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "k.json"}},
                    {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "out"}})
    d["States"]["M"]["ItemProcessor"]["States"]["P"] = {"Type": "Fail", "Error": "Bad", "Cause": "item"}
    out = run(d, {"k.json": "[1, 2]"}, written)
    assert out.status == "FAILED" and out.error == "States.ExceedToleratedFailureThreshold"
    failed_key = next(k for k in written if k.endswith("FAILED_0.json"))
    records = json.loads(written[failed_key])
    assert [(r["Status"], r["Error"], r["Cause"]) for r in records] == [("FAILED", "Bad", "item")] * 2
