"""Distributed Map with ItemReader and ResultWriter on the engine, S3 played by the host."""

import asyncio
import gzip
import json
import re

from haneul.services.stepfunctions.asl.engine import Execution
from haneul.services.stepfunctions.asl.errors import StatesError
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
    assert [(r["Status"], r["Error"], r["Cause"]) for r in records] == [("FAILED", "Bad", "item")]
    # the second child, launched with the first but stopped before its first step, never started
    pending = json.loads(written[next(k for k in written if k.endswith("PENDING_0.json"))])
    assert [(r["Status"], json.loads(r["Input"])) for r in pending] == [("PENDING", 2)]


def run_with(definition, handlers, input_=None):
    host = ManualHost(tasks=handlers)
    return asyncio.run(Execution(definition, input_ or {}, host).run())


def s3_objects(objects, written=None, fail_put=False):
    def get(call):
        key = call.parameters["Key"]
        if key not in objects:
            return StatesError("S3.NoSuchKeyException", "The specified key does not exist. (Service: S3, "
                               "Status Code: 404, Request ID: x)")
        return objects[key]

    def put(call):
        if fail_put:
            return StatesError("S3.NoSuchBucketException", "The specified bucket does not exist")
        written[call.parameters["Key"]] = call.parameters["Body"]
        return {}
    return {"arn:aws:states:::s3:getObject": get, "arn:aws:states:::s3:putObject": put}


INVENTORY = {"sourceBucket": "src", "destinationBucket": "arn:aws:s3:::inv", "version": "2016-11-30",
             "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size, LastModifiedDate",
             "files": [{"key": "inv/data/a.csv.gz", "size": 1, "MD5checksum": "x"},
                       {"key": "inv/data/b.csv", "size": 1, "MD5checksum": "y"}]}


def test_reader_from_s3_inventory_manifest_gzipped_or_not():
    objects = {"inv/manifest.json": json.dumps(INVENTORY).encode(),
               "inv/data/a.csv.gz": gzip.compress(b'"src","photos/1.jpg","10","2024-01-01T00:00:00.000Z"\n'
                                                  b'"src","photos/2.jpg","20","2024-01-02T00:00:00.000Z"\n'),
               "inv/data/b.csv": b'"src","docs/a.txt","3","2024-01-03T00:00:00.000Z"\n'}
    d = distributed({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "MANIFEST"},
                     "Parameters": {"Bucket": "inv", "Key": "inv/manifest.json"}})
    out = run_with(d, s3_objects(objects))
    assert out.status == "SUCCEEDED", out
    assert [i["Key"] for i in out.output] == ["photos/1.jpg", "photos/2.jpg", "docs/a.txt"]
    assert out.output[0] == {"Bucket": "src", "Key": "photos/1.jpg", "Size": "10",
                             "LastModifiedDate": "2024-01-01T00:00:00.000Z"}
    d["States"]["M"]["ItemReader"]["ReaderConfig"]["MaxItems"] = 2
    assert len(run_with(d, s3_objects(objects)).output) == 2


def test_reader_failures_are_item_reader_failed_with_the_cause():
    def reader(key, config):
        return distributed({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": config,
                            "Parameters": {"Bucket": "b", "Key": key}})
    objects = {"obj.json": b'{"not": "a list"}', "bad.json": b"[1, 2", "bad.jsonl": b'{"a": 1}\n{oops\n',
               "manifest.json": b'{"files": "none"}', "gone-manifest.json": json.dumps(INVENTORY).encode()}
    cases = [("absent.json", {"InputType": "JSON"}, "The specified key does not exist."),
             ("obj.json", {"InputType": "JSON"}, "Attempting to map over non-iterable node."),
             ("bad.json", {"InputType": "JSON"}, "Attempting to map over non-iterable node."),
             ("bad.jsonl", {"InputType": "JSONL"}, "Invalid JSON on line 2"),
             ("manifest.json", {"InputType": "MANIFEST"}, "The manifest file has no 'files' list"),
             ("gone-manifest.json", {"InputType": "MANIFEST"}, "The specified key does not exist.")]
    for key, config, cause in cases:
        out = run_with(reader(key, config), s3_objects(objects))
        assert (out.status, out.error) == ("FAILED", "States.ItemReaderFailed"), (key, out)
        assert out.cause.startswith(cause), (key, out.cause)


def test_reader_forms_csv_delimiters_items_pointer_and_max_items_path():
    assert parse_object("a;b\n1;2\n", {"InputType": "CSV", "CSVDelimiter": "SEMICOLON"}) == [{"a": "1", "b": "2"}]
    assert parse_object("1\t2\n", {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["x", "y"],
                                   "CSVDelimiter": "TAB"}) == [{"x": "1", "y": "2"}]
    assert parse_object('{"data": {"rows": [1, 2]}}', {"InputType": "JSON", "ItemsPointer": "/data/rows"}) == [1, 2]
    d = distributed({"Resource": "arn:aws:states:::s3:getObject",
                     "ReaderConfig": {"InputType": "JSONL", "MaxItemsPath": "$.limit"},
                     "Parameters": {"Bucket": "b", "Key": "k.jsonl"}})
    out = run_with(d, s3_objects({"k.jsonl": b'{"a": 1}\n\n{"a": 2}\n{"a": 3}\n'}), {"limit": 2})
    assert out.output == [{"a": 1}, {"a": 2}]


def _writer_map(writer, processor_states=None, max_concurrency=None, tolerated=None):
    state = {"Type": "Map", "ItemsPath": "$.items", "End": True, "ResultWriter": writer, "Label": "Lbl",
             "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                               "StartAt": "P", "States": processor_states or {"P": {"Type": "Pass", "End": True}}}}
    if max_concurrency:
        state["MaxConcurrency"] = max_concurrency
    if tolerated is not None:
        state["ToleratedFailureCount"] = tolerated
    return {"StartAt": "M", "States": {"M": state}}


def test_writer_config_alone_shapes_the_state_output():
    items = {"items": [[1, 2], 3, [4]]}
    flat = _writer_map({"WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}})
    assert run_with(flat, {}, items).output == [1, 2, 3, 4]
    compact_ = _writer_map({"WriterConfig": {"Transformation": "COMPACT"}})
    assert run_with(compact_, {}, items).output == [[1, 2], 3, [4]]
    none = run_with(_writer_map({"WriterConfig": {"Transformation": "NONE"}}), {}, items).output
    assert [json.loads(r["Output"]) for r in none] == [[1, 2], 3, [4]]
    assert all(r["Status"] == "SUCCEEDED" and re.fullmatch(
        r"arn:aws:states:us-east-1:000000000000:execution:sm/Lbl:[0-9a-f-]{36}", r["ExecutionArn"])
        and r["ExecutionArn"].endswith(r["Name"]) and r["StateMachineArn"].endswith(":stateMachine:sm/Lbl")
        for r in none)
    bad = run_with(_writer_map({"WriterConfig": {"OutputType": "CSV"}}), {}, items)
    assert bad.error == "States.Runtime" and "OutputType" in bad.cause


def test_writer_exports_jsonl_compact_files_and_a_manifest():
    written = {}
    d = _writer_map({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "out", "Prefix": "runs/"},
                     "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"}})
    out = run_with(d, s3_objects({}, written), {"items": [{"a": 1}, {"a": 2}]})
    run_id = out.output["MapRunArn"].rsplit(":", 1)[1]
    assert out.output["ResultWriterDetails"] == {"Bucket": "out", "Key": f"runs/{run_id}/manifest.json"}
    assert re.fullmatch(r"arn:aws:states:us-east-1:000000000000:mapRun:sm/Lbl:[0-9a-f-]{36}", out.output["MapRunArn"])
    manifest = json.loads(written[f"runs/{run_id}/manifest.json"])
    assert manifest["ResultFiles"]["FAILED"] == [] and manifest["ResultFiles"]["PENDING"] == []
    key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
    assert key == f"runs/{run_id}/SUCCEEDED_0.json"
    assert written[key] == '{"a":1}\n{"a":2}\n'
    assert manifest["ResultFiles"]["SUCCEEDED"][0]["Size"] == len(written[key])


def test_children_after_the_threshold_stay_pending_in_their_file():
    written = {}
    fail = {"P": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                  "Default": "Ok"}, "Ok": {"Type": "Pass", "End": True},
            "Bad": {"Type": "Fail", "Error": "Boom", "Cause": "two"}}
    d = _writer_map({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "out"}}, fail,
                    max_concurrency=1)
    out = run_with(d, s3_objects({}, written), {"items": [1, 2, 3, 4]})
    assert out.error == "States.ExceedToleratedFailureThreshold"
    files = {k.rsplit("/", 1)[1]: json.loads(v) for k, v in written.items()}
    assert [json.loads(r["Output"]) for r in files["SUCCEEDED_0.json"]] == [1]
    assert [(r["Status"], r["Error"], r["Cause"]) for r in files["FAILED_0.json"]] == [("FAILED", "Boom", "two")]
    assert [(r["Status"], json.loads(r["Input"])) for r in files["PENDING_0.json"]] == [("PENDING", 3), ("PENDING", 4)]
    assert {k: len(v) for k, v in files["manifest.json"]["ResultFiles"].items()} == \
        {"FAILED": 1, "PENDING": 1, "SUCCEEDED": 1}
    tolerated = _writer_map({"WriterConfig": {"Transformation": "COMPACT"}}, fail, max_concurrency=1, tolerated=1)
    out = run_with(tolerated, {}, {"items": [1, 2, 3]})
    assert out.status == "SUCCEEDED" and out.output[0] == 1 and out.output[2] == 3
    assert out.output[1]["Status"] == "FAILED" and out.output[1]["Error"] == "Boom"


def test_a_failed_write_is_result_writer_failed():
    d = _writer_map({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "gone"}})
    out = run_with(d, s3_objects({}, {}, fail_put=True), {"items": [1]})
    assert (out.error, out.cause) == ("States.ResultWriterFailed", "The specified bucket does not exist")


def test_children_run_as_executions_of_their_own():
    d = _writer_map({"WriterConfig": {"Transformation": "COMPACT"}},
                    {"P": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "machine.$": "$$.StateMachine.Id",
                                                          "v.$": "$"}, "End": True}})
    out = run_with(d, {}, {"items": ["x", "y"]})
    ids = [o["id"] for o in out.output]
    assert len(set(ids)) == 2 and all(re.fullmatch(
        r"arn:aws:states:us-east-1:000000000000:execution:sm/Lbl:[0-9a-f-]{36}", i) for i in ids)
    assert {o["machine"] for o in out.output} == {"arn:aws:states:us-east-1:000000000000:stateMachine:sm/Lbl"}


def test_reader_and_writer_words_are_checked_when_the_machine_is_made():
    from haneul.services.stepfunctions.asl.validation import diagnose
    ok = _writer_map({"WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"}})
    assert diagnose(json.dumps(ok)) == []
    bad = _writer_map({"WriterConfig": {"Transformation": "SQUASH"}})
    bad["States"]["M"]["ItemReader"] = {"Resource": "arn:aws:states:::s3:getObject",
                                        "ReaderConfig": {"InputType": "XML"}, "Parameters": {"Bucket": "b", "Key": "k"}}
    assert sorted(d["location"] for d in diagnose(json.dumps(bad))) == [
        "/States/M/ItemReader/ReaderConfig/InputType", "/States/M/ResultWriter/WriterConfig/Transformation"]
    empty = _writer_map({})
    assert [d["location"] for d in diagnose(json.dumps(empty))] == ["/States/M/ResultWriter"]
