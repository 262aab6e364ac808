"""Lambda end to end: code signing configs (and what Enforce does to a deployment), recursion
and runtime management configs, whole-document resource policies, and the clear
NotImplementedException of operations with no local meaning."""

from __future__ import annotations

import json
import os

import pytest
from botocore.exceptions import ClientError

from tests.e2e.lambda_fixtures.harness import ROLE, zip_files

CODE = zip_files({"app.py": "def handler(e, c):\n    return 'ok'\n"})
PROFILE = "arn:aws:signer:us-east-1:{account}:/signing-profiles/prof/abcdefghij"


def error(call, **kw) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as e:
        call(**kw)
    r = e.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _function(lam, account: str, name: str, **kw) -> dict:
    return lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE.format(account=account),
                               Handler="app.handler", Code={"ZipFile": CODE}, **kw)


def test_code_signing_configs(aws_client, aws_account):
    lam = aws_client("lambda")
    profile = PROFILE.format(account=aws_account)
    created = lam.create_code_signing_config(Description="team", AllowedPublishers={
        "SigningProfileVersionArns": [profile]}, Tags={"k": "v"})["CodeSigningConfig"]
    arn = created["CodeSigningConfigArn"]
    assert created["CodeSigningConfigId"].startswith("csc-") and len(created["CodeSigningConfigId"]) == 21
    assert arn == f"arn:aws:lambda:us-east-1:{aws_account}:code-signing-config:{created['CodeSigningConfigId']}"
    assert created["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    assert lam.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"] == created
    assert lam.list_tags(Resource=arn)["Tags"] == {"k": "v"}
    assert [c["CodeSigningConfigArn"] for c in lam.list_code_signing_configs()["CodeSigningConfigs"]] == [arn]

    # Warn: unsigned code deploys
    _function(lam, aws_account, "signed", CodeSigningConfigArn=arn)
    got = lam.get_function_code_signing_config(FunctionName="signed")
    assert (got["CodeSigningConfigArn"], got["FunctionName"]) == (arn, "signed")
    assert lam.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == [
        f"arn:aws:lambda:us-east-1:{aws_account}:function:signed"]
    code, message, status = error(lam.delete_code_signing_config, CodeSigningConfigArn=arn)
    assert (code, status) == ("ResourceConflictException", 409)

    # Enforce: nothing here is signed, so a new package is refused
    updated = lam.update_code_signing_config(CodeSigningConfigArn=arn, CodeSigningPolicies={
        "UntrustedArtifactOnDeployment": "Enforce"})["CodeSigningConfig"]
    assert updated["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    assert updated["Description"] == "team"
    code, message, status = error(lam.update_function_code, FunctionName="signed", ZipFile=CODE)
    assert (code, status) == ("CodeVerificationFailedException", 400)
    assert message.startswith("Lambda cannot deploy the function.")
    code, _, _ = error(lam.create_function, FunctionName="refused", Runtime="python3.12",
                       Role=ROLE.format(account=aws_account), Handler="app.handler", Code={"ZipFile": CODE},
                       CodeSigningConfigArn=arn)
    assert code == "CodeVerificationFailedException"

    lam.delete_function_code_signing_config(FunctionName="signed")
    assert lam.get_function_code_signing_config(FunctionName="signed")["CodeSigningConfigArn"] == ""
    code, _, status = error(lam.delete_function_code_signing_config, FunctionName="signed")
    assert (code, status) == ("CodeSigningConfigNotFoundException", 404)
    lam.update_function_code(FunctionName="signed", ZipFile=CODE)          # no config: deploys
    lam.put_function_code_signing_config(FunctionName="signed", CodeSigningConfigArn=arn)
    lam.delete_function(FunctionName="signed")
    lam.delete_code_signing_config(CodeSigningConfigArn=arn)
    code, _, status = error(lam.get_code_signing_config, CodeSigningConfigArn=arn)
    assert (code, status) == ("ResourceNotFoundException", 404)

    missing = arn[:-17] + "0" * 17
    _function(lam, aws_account, "plain")
    code, message, status = error(lam.put_function_code_signing_config, FunctionName="plain",
                                  CodeSigningConfigArn=missing)
    assert (code, status) == ("CodeSigningConfigNotFoundException", 404) and missing in message
    code, _, _ = error(lam.create_code_signing_config, AllowedPublishers={"SigningProfileVersionArns": ["not-an-arn"]})
    assert code in ("InvalidParameterValueException", "ValidationException")


def test_recursion_and_runtime_management(aws_client, aws_account):
    lam = aws_client("lambda")
    _function(lam, aws_account, "loop")
    assert lam.get_function_recursion_config(FunctionName="loop")["RecursiveLoop"] == "Terminate"
    assert lam.put_function_recursion_config(FunctionName="loop", RecursiveLoop="Allow")["RecursiveLoop"] == "Allow"
    assert lam.get_function_recursion_config(FunctionName="loop")["RecursiveLoop"] == "Allow"
    code, _, _ = error(lam.get_function_recursion_config, FunctionName="nope")
    assert code == "ResourceNotFoundException"

    got = lam.get_runtime_management_config(FunctionName="loop")
    assert got["UpdateRuntimeOn"] == "Auto" and got["FunctionArn"].endswith(":function:loop:$LATEST")
    pinned = "arn:aws:lambda:us-east-1::runtime:0123456789abcdef"
    put = lam.put_runtime_management_config(FunctionName="loop", UpdateRuntimeOn="Manual",
                                            RuntimeVersionArn=pinned)
    assert (put["UpdateRuntimeOn"], put["RuntimeVersionArn"]) == ("Manual", pinned)
    assert lam.get_runtime_management_config(FunctionName="loop")["RuntimeVersionArn"] == pinned
    code, _, _ = error(lam.put_runtime_management_config, FunctionName="loop", UpdateRuntimeOn="Manual")
    assert code == "InvalidParameterValueException"
    code, _, _ = error(lam.put_runtime_management_config, FunctionName="loop", UpdateRuntimeOn="Auto",
                       RuntimeVersionArn=pinned)
    assert code == "InvalidParameterValueException"
    version = lam.publish_version(FunctionName="loop")["Version"]
    assert lam.get_runtime_management_config(FunctionName="loop", Qualifier=version)["UpdateRuntimeOn"] == "Auto"
    code, _, _ = error(lam.get_runtime_management_config, FunctionName="loop", Qualifier="99")
    assert code == "ResourceNotFoundException"


def test_resource_policy_documents(aws_client, aws_account):
    lam = aws_client("lambda")
    arn = _function(lam, aws_account, "guarded")["FunctionArn"]
    code, _, _ = error(lam.get_resource_policy, ResourceArn=arn)
    assert code == "ResourceNotFoundException"
    lam.add_permission(FunctionName="guarded", StatementId="first", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com")
    got = lam.get_resource_policy(ResourceArn=arn)
    assert [s["Sid"] for s in json.loads(got["Policy"])["Statement"]] == ["first"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "other", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{aws_account}:root"},
        "Action": "lambda:GetFunction", "Resource": arn}]}
    code, _, _ = error(lam.put_resource_policy, ResourceArn=arn, Policy=json.dumps(policy),
                       RevisionId="00000000-0000-0000-0000-000000000000")
    assert code == "PreconditionFailedException"
    put = lam.put_resource_policy(ResourceArn=arn, Policy=json.dumps(policy), RevisionId=got["RevisionId"])
    # the document replaces AddPermission's statements; GetPolicy sees the same policy
    assert [s["Sid"] for s in json.loads(lam.get_policy(FunctionName="guarded")["Policy"])["Statement"]] == ["other"]
    assert lam.get_resource_policy(ResourceArn=arn)["RevisionId"] == put["RevisionId"]
    code, _, _ = error(lam.put_resource_policy, ResourceArn=arn, Policy="{not json")
    assert code == "InvalidParameterValueException"
    lam.delete_resource_policy(ResourceArn=arn)
    code, _, _ = error(lam.get_policy, FunctionName="guarded")
    assert code == "ResourceNotFoundException"
    code, _, _ = error(lam.delete_resource_policy, ResourceArn=arn)
    assert code == "ResourceNotFoundException"


def test_operations_with_no_local_meaning_answer_not_implemented(aws_client, aws_account):
    lam = aws_client("lambda")
    _function(lam, aws_account, "plain")
    for call, kw in ((lam.list_capacity_providers, {}),
                     (lam.get_function_scaling_config, {"FunctionName": "plain", "Qualifier": "1"}),
                     (lam.list_durable_executions_by_function, {"FunctionName": "plain"})):
        code, message, status = error(call, **kw)
        assert (code, status) == ("NotImplementedException", 501) and "Haneul" in message


def test_a_runtime_with_no_interpreter_is_refused_with_what_to_install(aws_client, aws_account):
    from haneul.services.awslambda import runtimes
    missing = [r for r in runtimes.PYTHON + runtimes.NODE if runtimes.interpreter(r) is None
               and not os.environ.get(runtimes.variable(r))]
    if not missing:
        pytest.skip("every runtime has an interpreter here")
    runtime = missing[-1]
    lam = aws_client("lambda")
    code, message, status = error(lam.create_function, FunctionName="norun", Runtime=runtime,
                                  Role=ROLE.format(account=aws_account), Handler="app.handler",
                                  Code={"ZipFile": CODE})
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert runtimes.variable(runtime) in message and "Available: " in message
