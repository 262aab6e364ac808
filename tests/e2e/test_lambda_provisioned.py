"""Lambda end to end: provisioned concurrency really pre-warms environments (status,
allocated counts, no cold start, the initialization type, release on delete) and is
accounted against reserved and unreserved concurrency as AWS does."""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
from botocore.exceptions import ClientError

from haneul.testing import wait_until
from tests.e2e.lambda_fixtures.harness import ROLE, zip_files

APP = zip_files({"app.py": "import os\ndef handler(e, c):\n"
                           "    return {'type': os.environ['AWS_LAMBDA_INITIALIZATION_TYPE'], 'pid': os.getpid()}\n"})


def _function(lam, account: str, name: str) -> str:
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE.format(account=account),
                        Handler="app.handler", Code={"ZipFile": APP}, Timeout=10)
    return lam.publish_version(FunctionName=name)["Version"]


def _ready(lam, name: str, qualifier: str, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        got = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if got["Status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def _invoke(lam, name: str, qualifier: str | None = None) -> tuple[dict, str]:
    kw = {"Qualifier": qualifier} if qualifier else {}
    resp = lam.invoke(FunctionName=name, LogType="Tail", **kw)
    return json.loads(resp["Payload"].read()), base64.b64decode(resp["LogResult"]).decode()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line for line in f)
    except FileNotFoundError:
        return False


def test_provisioned_environments_are_warm_before_the_first_invocation(aws_client, aws_account):
    lam = aws_client("lambda")
    version = _function(lam, aws_account, "warm")
    put = lam.put_provisioned_concurrency_config(FunctionName="warm", Qualifier=version,
                                                 ProvisionedConcurrentExecutions=2)
    assert put["Status"] == "IN_PROGRESS" and put["RequestedProvisionedConcurrentExecutions"] == 2
    assert put["AllocatedProvisionedConcurrentExecutions"] == 0
    got = _ready(lam, "warm", version)
    assert got["Status"] == "READY", got
    assert got["AllocatedProvisionedConcurrentExecutions"] == got["AvailableProvisionedConcurrentExecutions"] == 2
    listed = lam.list_provisioned_concurrency_configs(FunctionName="warm")["ProvisionedConcurrencyConfigs"]
    assert [c["Status"] for c in listed] == ["READY"] and listed[0]["FunctionArn"].endswith(f":warm:{version}")

    pids = set()
    for _ in range(3):                           # the version's invocations: provisioned, no init
        out, log = _invoke(lam, "warm", version)
        assert out["type"] == "provisioned-concurrency"
        assert "Init Duration" not in log and "INIT_START" not in log
        pids.add(out["pid"])
    out, log = _invoke(lam, "warm")              # $LATEST is on demand, and starts cold
    assert out["type"] == "on-demand" and "Init Duration" in log and out["pid"] not in pids

    lam.delete_provisioned_concurrency_config(FunctionName="warm", Qualifier=version)
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)     # released
    out, log = _invoke(lam, "warm", version)
    assert out["type"] == "on-demand" and "Init Duration" in log
    with pytest.raises(ClientError) as e:
        lam.get_provisioned_concurrency_config(FunctionName="warm", Qualifier=version)
    assert e.value.response["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"


def test_alias_provisioning_follows_the_alias(aws_client, aws_account):
    lam = aws_client("lambda")
    first = _function(lam, aws_account, "aliased")
    lam.create_alias(FunctionName="aliased", Name="live", FunctionVersion=first)
    lam.put_provisioned_concurrency_config(FunctionName="aliased", Qualifier="live",
                                           ProvisionedConcurrentExecutions=1)
    assert _ready(lam, "aliased", "live")["Status"] == "READY"
    out, log = _invoke(lam, "aliased", "live")
    assert out["type"] == "provisioned-concurrency" and "Init Duration" not in log
    old_pid = out["pid"]
    out, _ = _invoke(lam, "aliased", first)      # the version itself has no provisioned concurrency
    assert out["type"] == "on-demand"

    lam.update_function_configuration(FunctionName="aliased", Description="v2")
    for _ in range(100):
        if lam.get_function_configuration(FunctionName="aliased")["LastUpdateStatus"] == "Successful":
            break
        time.sleep(0.05)
    second = lam.publish_version(FunctionName="aliased")["Version"]
    lam.update_alias(FunctionName="aliased", Name="live", FunctionVersion=second)
    assert _ready(lam, "aliased", "live")["Status"] == "READY"
    out, log = _invoke(lam, "aliased", "live")
    assert out["type"] == "provisioned-concurrency" and "Init Duration" not in log and out["pid"] != old_pid
    assert not _alive(old_pid)                   # the old version's environment was released


def test_weighted_alias_provisions_both_versions_in_proportion(aws_client, aws_account):
    """AWS allocates an alias's provisioned concurrency to both versions it routes to, in
    proportion to their weights: either version's share of invocations starts warm."""
    lam = aws_client("lambda")
    first = _function(lam, aws_account, "weighted")
    lam.update_function_configuration(FunctionName="weighted", Description="v2")
    for _ in range(100):
        if lam.get_function_configuration(FunctionName="weighted")["LastUpdateStatus"] == "Successful":
            break
        time.sleep(0.05)
    second = lam.publish_version(FunctionName="weighted")["Version"]
    lam.create_alias(FunctionName="weighted", Name="canary", FunctionVersion=first,
                     RoutingConfig={"AdditionalVersionWeights": {second: 0.5}})
    lam.put_provisioned_concurrency_config(FunctionName="weighted", Qualifier="canary",
                                           ProvisionedConcurrentExecutions=2)
    got = _ready(lam, "weighted", "canary")
    assert got["Status"] == "READY" and got["AllocatedProvisionedConcurrentExecutions"] == 2
    seen = {}
    for _ in range(24):                 # both versions drawn (a miss has odds 2 in 2**24)
        resp = lam.invoke(FunctionName="weighted", Qualifier="canary", LogType="Tail")
        out = json.loads(resp["Payload"].read())
        assert out["type"] == "provisioned-concurrency"
        assert "Init Duration" not in base64.b64decode(resp["LogResult"]).decode()
        seen[resp["ExecutedVersion"]] = out["pid"]
    assert set(seen) == {first, second} and len(set(seen.values())) == 2

    # all the weight back on the first version: both environments move to it
    lam.update_alias(FunctionName="weighted", Name="canary", RoutingConfig={"AdditionalVersionWeights": {}})
    wait_until(lambda: not _alive(seen[second]), timeout=10, interval=0.02)
    got = _ready(lam, "weighted", "canary")
    assert got["Status"] == "READY" and got["AllocatedProvisionedConcurrentExecutions"] == 2
    for _ in range(3):
        out, log = _invoke(lam, "weighted", "canary")
        assert out["type"] == "provisioned-concurrency" and "Init Duration" not in log


def test_failed_init_reports_failed_with_the_reason(aws_client, aws_account):
    lam = aws_client("lambda")
    lam.create_function(FunctionName="broken", Runtime="python3.12", Role=ROLE.format(account=aws_account),
                        Handler="nothere.handler", Code={"ZipFile": APP})
    version = lam.publish_version(FunctionName="broken")["Version"]
    lam.put_provisioned_concurrency_config(FunctionName="broken", Qualifier=version,
                                           ProvisionedConcurrentExecutions=1)
    got = _ready(lam, "broken", version)
    assert got["Status"] == "FAILED" and "Runtime.ImportModuleError" in got["StatusReason"]
    assert got["AllocatedProvisionedConcurrentExecutions"] == 0


def test_accounting_against_reserved_and_unreserved_concurrency(aws_client, aws_account):
    lam = aws_client("lambda")
    version = _function(lam, aws_account, "counted")
    limit = lam.get_account_settings()["AccountLimit"]
    assert limit["UnreservedConcurrentExecutions"] == limit["ConcurrentExecutions"]

    lam.put_function_concurrency(FunctionName="counted", ReservedConcurrentExecutions=1)
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(FunctionName="counted", Qualifier=version,
                                               ProvisionedConcurrentExecutions=2)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert e.value.response["Error"]["Message"] == ("Requested Provisioned Concurrency should not be greater "
                                                    "than the reservedConcurrentExecution for function counted")
    lam.put_function_concurrency(FunctionName="counted", ReservedConcurrentExecutions=3)
    lam.put_provisioned_concurrency_config(FunctionName="counted", Qualifier=version,
                                           ProvisionedConcurrentExecutions=2)
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName="counted", ReservedConcurrentExecutions=1)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "provisioned concurrency" in e.value.response["Error"]["Message"]
    lam.delete_function_concurrency(FunctionName="counted")
    # without reserved concurrency, provisioned concurrency comes out of the unreserved pool
    settings = lam.get_account_settings()["AccountLimit"]
    assert settings["UnreservedConcurrentExecutions"] == settings["ConcurrentExecutions"] - 2
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(FunctionName="counted", Qualifier=version,
                                               ProvisionedConcurrentExecutions=settings["ConcurrentExecutions"] - 99)
    assert e.value.response["Error"]["Message"] == ("Specified ConcurrentExecutions for function decreases "
                                                    "account's UnreservedConcurrentExecution below its minimum "
                                                    "value of [100].")
    lam.delete_function(FunctionName="counted")
    settings = lam.get_account_settings()["AccountLimit"]
    assert settings["UnreservedConcurrentExecutions"] == settings["ConcurrentExecutions"]


@pytest.mark.skipif(os.environ.get("HANEUL_ENDPOINT") is not None, reason="needs the test's own server")
def test_provisioned_concurrency_survives_a_restart(tmp_path):
    from haneul.testing import ServerProcess, make_client
    server = ServerProcess(data_dir=str(tmp_path)).start()
    try:
        lam = make_client(server.endpoint, "lambda", "210000000077", "us-east-1")
        version = _function(lam, "210000000077", "kept")
        lam.put_provisioned_concurrency_config(FunctionName="kept", Qualifier=version,
                                               ProvisionedConcurrentExecutions=1)
        assert _ready(lam, "kept", version)["Status"] == "READY"
    finally:
        server.stop()
    server = ServerProcess(port=server.port, data_dir=str(tmp_path)).start()
    try:
        lam = make_client(server.endpoint, "lambda", "210000000077", "us-east-1")
        assert _ready(lam, "kept", version)["Status"] == "READY"
        out, log = _invoke(lam, "kept", version)
        assert out["type"] == "provisioned-concurrency" and "Init Duration" not in log
    finally:
        server.stop()
