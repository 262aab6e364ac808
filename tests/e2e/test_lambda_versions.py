"""Lambda end to end: versions, weighted aliases, concurrency limits and throttling,
code updates reaching warm environments, layers."""

from __future__ import annotations

import concurrent.futures
import io
import json
import urllib.request
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.e2e.lambda_fixtures.harness import ROLE, client, zip_files, zip_folder

ACCOUNT = "210000000002"


@pytest.fixture(scope="module")
def lam(haneul_server):
    return client(haneul_server, "lambda", ACCOUNT)


def source(version: str) -> bytes:
    return zip_files({"app.py": "import os\n"
                      f"def handler(event, context):\n    return {{'code': '{version}', "
                      "'version': os.environ['AWS_LAMBDA_FUNCTION_VERSION'], 'arn': context.invoked_function_arn}\n"})


def call(lam, name, qualifier=None):
    kw = {"Qualifier": qualifier} if qualifier else {}
    resp = lam.invoke(FunctionName=name, Payload=b"{}", **kw)
    return resp, json.loads(resp["Payload"].read())


def test_versions_aliases_and_weighted_routing(lam):
    role = ROLE.format(account=ACCOUNT)
    created = lam.create_function(FunctionName="ver", Runtime="python3.11", Role=role, Handler="app.handler",
                                  Code={"ZipFile": source("one")}, Publish=True)
    assert created["Version"] == "1" and created["State"] == "Pending"
    assert lam.get_function(FunctionName="ver")["Configuration"]["State"] == "Active"
    lam.get_waiter("function_active_v2").wait(FunctionName="ver")
    updated = lam.update_function_code(FunctionName="ver", ZipFile=source("two"))
    assert updated["LastUpdateStatus"] == "InProgress"
    lam.get_waiter("function_updated_v2").wait(FunctionName="ver")
    v2 = lam.publish_version(FunctionName="ver", Description="second")
    assert v2["Version"] == "2" and v2["Description"] == "second"
    assert lam.publish_version(FunctionName="ver")["Version"] == "2"      # unchanged: same version
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName="ver")["Versions"]]
    assert versions == ["$LATEST", "1", "2"]

    resp, out = call(lam, "ver", "1")
    assert out["code"] == "one" and out["version"] == "1" and resp["ExecutedVersion"] == "1"
    assert out["arn"].endswith(":function:ver:1")
    _, out = call(lam, "ver:2")
    assert out["code"] == "two"
    _, out = call(lam, "ver")
    assert out["code"] == "two" and out["version"] == "$LATEST"

    alias = lam.create_alias(FunctionName="ver", Name="live", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    assert alias["AliasArn"].endswith(":function:ver:live")
    seen = {"1": 0, "2": 0}
    for _ in range(30):
        resp, out = call(lam, "ver", "live")
        seen[resp["ExecutedVersion"]] += 1
        assert out["version"] == resp["ExecutedVersion"] and out["arn"].endswith(":ver:live")
    assert seen["1"] > 3 and seen["2"] > 3, seen
    lam.update_alias(FunctionName="ver", Name="live", FunctionVersion="2", RoutingConfig={})
    assert {call(lam, "ver", "live")[0]["ExecutedVersion"] for _ in range(5)} == {"2"}
    assert [a["Name"] for a in lam.list_aliases(FunctionName="ver")["Aliases"]] == ["live"]

    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="ver", Qualifier="2")
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName="ver", Name="bad", FunctionVersion="1",
                         RoutingConfig={"AdditionalVersionWeights": {"2": 1.5}})
    assert e.value.response["Error"]["Code"] in ("InvalidParameterValueException", "ValidationException")
    with pytest.raises(ClientError) as e:
        call(lam, "ver", "9")
    assert e.value.response["Error"]["Message"].endswith(":function:ver:9")


def test_update_configuration_reaches_warm_environment(lam):
    role = ROLE.format(account=ACCOUNT)
    lam.create_function(FunctionName="cfg", Runtime="python3.12", Role=role, Handler="app.echo",
                        Code={"ZipFile": zip_folder("python_app")}, Environment={"Variables": {"GREETING": "a"}})
    first = json.loads(lam.invoke(FunctionName="cfg")["Payload"].read())
    assert first["env"]["GREETING"] == "a"
    lam.update_function_configuration(FunctionName="cfg", Environment={"Variables": {"GREETING": "b"}},
                                      MemorySize=512)
    second = json.loads(lam.invoke(FunctionName="cfg")["Payload"].read())
    assert second["env"]["GREETING"] == "b" and second["context"]["memory_limit_in_mb"] == "512"
    assert second["pid"] != first["pid"]


def test_reserved_concurrency_throttles_parallel_invocations(lam):
    role = ROLE.format(account=ACCOUNT)
    lam.create_function(FunctionName="slow", Runtime="python3.12", Role=role, Handler="app.sleep",
                        Code={"ZipFile": zip_folder("python_app")}, Timeout=10)
    lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=2)
    assert lam.get_function(FunctionName="slow")["Concurrency"] == {"ReservedConcurrentExecutions": 2}
    lam.invoke(FunctionName="slow", Payload=b'{"seconds": 0}')        # warm one environment

    def one(_):
        try:
            resp = lam.invoke(FunctionName="slow", Payload=b'{"seconds": 1.5}')
            return "ok", json.loads(resp["Payload"].read())["pid"]
        except ClientError as e:
            return e.response["Error"]["Code"], e.response["Error"].get("Message") or e.response.get("Reason")

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        results = list(pool.map(one, range(5)))
    ok = [r for r in results if r[0] == "ok"]
    throttled = [r for r in results if r[0] == "TooManyRequestsException"]
    assert len(ok) == 2 and len(throttled) == 3, results
    assert len({pid for _, pid in ok}) == 2
    lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="slow", Payload=b'{"seconds": 0}')
    assert e.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert e.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    lam.delete_function_concurrency(FunctionName="slow")
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=950)
    assert "UnreservedConcurrentExecution below its minimum value of [100]" in e.value.response["Error"]["Message"]
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountUsage"]["FunctionCount"] >= 1


def test_layers_and_code_download(lam):
    role = ROLE.format(account=ACCOUNT)
    layer = lam.publish_layer_version(
        LayerName="helpers", Content={"ZipFile": zip_files({"python/helper.py": "WORD = 'from-layer'\n"})},
        CompatibleRuntimes=["python3.12"], Description="help")
    assert layer["Version"] == 1 and layer["LayerVersionArn"].endswith(":layer:helpers:1")
    code = zip_files({"app.py": "import helper\ndef handler(e, c):\n    return helper.WORD\n"})
    lam.create_function(FunctionName="layered", Runtime="python3.12", Role=role, Handler="app.handler",
                        Code={"ZipFile": code}, Layers=[layer["LayerVersionArn"]])
    assert json.loads(lam.invoke(FunctionName="layered")["Payload"].read()) == "from-layer"
    got = lam.get_function(FunctionName="layered")
    assert got["Configuration"]["Layers"][0]["Arn"] == layer["LayerVersionArn"]
    with urllib.request.urlopen(got["Code"]["Location"], timeout=5) as r:
        downloaded = r.read()
    assert downloaded == code and zipfile.ZipFile(io.BytesIO(downloaded)).namelist() == ["app.py"]
    layers = lam.list_layers(CompatibleRuntime="python3.12")["Layers"]
    assert [x["LayerName"] for x in layers] == ["helpers"]
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName="badlayer", Runtime="python3.12", Role=role, Handler="app.handler",
                            Code={"ZipFile": code}, Layers=[layer["LayerVersionArn"][:-1] + "9"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
