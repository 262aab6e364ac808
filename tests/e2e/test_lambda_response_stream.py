"""Lambda end to end: InvokeWithResponseStream read by botocore's event stream parser
(Node.js streamifyResponse handlers stream chunk by chunk; Python answers one chunk)."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.e2e.lambda_fixtures.harness import (ROLE, client, zip_files,
                                               zip_folder)

ACCOUNT = "210000000007"


@pytest.fixture(scope="module")
def lam(request):
    server = request.getfixturevalue("haneul_server")
    own = None
    try:
        lam = client(server, "lambda", ACCOUNT)
        role = ROLE.format(account=ACCOUNT)
        node = zip_folder("node_app")
        for name, handler in (("node-stream", "index.stream"), ("node-stream-fail", "index.streamFail"),
                              ("node-plain", "index.echo")):
            lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=role, Handler=handler,
                                Code={"ZipFile": node}, Timeout=10)
        lam.create_function(FunctionName="py-plain", Runtime="python3.12", Role=role, Handler="app.handler",
                            Code={"ZipFile": zip_files({"app.py": "def handler(e, c):\n    print('hi')\n"
                                                                  "    return {'got': e}\n"})})
        lam.create_function(FunctionName="py-fail", Runtime="python3.12", Role=role, Handler="app.handler",
                            Code={"ZipFile": zip_files({"app.py": "def handler(e, c):\n    raise KeyError('k')\n"})})
        yield lam
    finally:
        if own is not None:
            own.stop()


def read(resp) -> tuple[list[tuple[float, bytes]], dict]:
    chunks, complete = [], None
    for event in resp["EventStream"]:
        if "PayloadChunk" in event:
            chunks.append((time.perf_counter(), event["PayloadChunk"]["Payload"]))
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
    return chunks, complete


def test_node_streams_chunks_as_written(lam):
    resp = lam.invoke_with_response_stream(FunctionName="node-stream", Payload=json.dumps({"chunks": 3, "gap": 150}))
    assert resp["StatusCode"] == 200 and resp["ExecutedVersion"] == "$LATEST"
    assert resp["ResponseStreamContentType"] == "application/vnd.amazon.eventstream"
    chunks, complete = read(resp)
    text = b"".join(c for _, c in chunks).decode()
    assert [line.split(" at ")[0] for line in text.splitlines()] == ["chunk 0", "chunk 1", "chunk 2"]
    assert len(chunks) >= 3 and chunks[-1][0] - chunks[0][0] > 0.2      # they arrived over time
    assert complete == {}


def test_node_stream_error_after_a_chunk(lam):
    chunks, complete = read(lam.invoke_with_response_stream(FunctionName="node-stream-fail"))
    assert b"".join(c for _, c in chunks) == b"partial\n"
    assert complete["ErrorCode"] == "Error" and json.loads(complete["ErrorDetails"])["errorMessage"] == "stream broke"


def test_buffered_functions_answer_one_chunk(lam):
    chunks, complete = read(lam.invoke_with_response_stream(FunctionName="py-plain", Payload=b'{"a": 1}',
                                                            LogType="Tail"))
    assert [json.loads(c) for _, c in chunks] == [{"got": {"a": 1}}]
    assert "hi" in base64.b64decode(complete["LogResult"]).decode()
    chunks, complete = read(lam.invoke_with_response_stream(FunctionName="node-plain", Payload=b'{"b": 2}'))
    assert json.loads(b"".join(c for _, c in chunks))["event"] == {"b": 2} and complete == {}
    chunks, complete = read(lam.invoke_with_response_stream(FunctionName="py-fail"))
    assert chunks == [] and complete["ErrorCode"] == "Unhandled"
    assert json.loads(complete["ErrorDetails"])["errorType"] == "KeyError"


def test_streaming_invoke_of_a_streaming_function_through_plain_invoke(lam):
    """Invoke (not streamed) of a streaming handler answers the whole body at once."""
    resp = lam.invoke(FunctionName="node-stream", Payload=json.dumps({"chunks": 2, "gap": 10}))
    assert resp["Payload"].read().decode().count("chunk") == 2


def test_errors_before_the_stream_are_plain_errors(lam):
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as e:
        lam.invoke_with_response_stream(FunctionName="nope")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    resp = lam.invoke_with_response_stream(FunctionName="py-plain", InvocationType="DryRun")
    assert resp["StatusCode"] == 204
