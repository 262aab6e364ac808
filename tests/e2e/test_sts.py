"""STS against a live Haneul through boto3 and the AWS CLI."""

import base64
import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from haneul.testing import make_client

POLICY = json.dumps({"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})


def error(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.response


def with_creds(haneul_server, service: str, creds: dict, region: str = "us-east-1"):
    return make_client(haneul_server.endpoint, service, "unused", region, access_key=creds["AccessKeyId"],
                       secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])


def other_account(account: str) -> str:
    return f"{(int(account) + 1) % 10**12:012d}"


def test_caller_identity_of_root(aws_client, aws_account):
    me = aws_client("sts").get_caller_identity()
    assert me["Account"] == aws_account
    assert me["UserId"] == aws_account
    assert me["Arn"] == f"arn:aws:iam::{aws_account}:root"


def test_assume_role_then_caller_identity(aws_client, aws_account, haneul_server):
    sts = aws_client("sts")
    role = f"arn:aws:iam::{aws_account}:role/app/Deploy"
    out = sts.assume_role(RoleArn=role, RoleSessionName="build-7", DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40
    remaining = creds["Expiration"] - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(seconds=800) < remaining <= dt.timedelta(seconds=901)
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{aws_account}:assumed-role/Deploy/build-7"

    me = with_creds(haneul_server, "sts", creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{aws_account}:assumed-role/Deploy/build-7"
    assert me["Account"] == aws_account
    assert me["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]
    assert me["UserId"].startswith("AROA") and me["UserId"].endswith(":build-7")


def test_cross_account_role_session_acts_in_the_role_account(aws_client, aws_account, haneul_server):
    target = other_account(aws_account)
    out = aws_client("sts").assume_role(RoleArn=f"arn:aws:iam::{target}:role/Reader", RoleSessionName="xs")
    creds = out["Credentials"]
    assert with_creds(haneul_server, "sts", creds).get_caller_identity()["Account"] == target
    assert aws_client("sts").get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"] == target
    # A parameter written with the role's credentials lands in the role's account.
    name = f"/sts-e2e/{aws_account}"
    with_creds(haneul_server, "ssm", creds).put_parameter(Name=name, Value="v", Type="String")
    owner = make_client(haneul_server.endpoint, "ssm", target)
    assert owner.get_parameter(Name=name)["Parameter"]["Value"] == "v"
    assert error(aws_client("ssm").get_parameter, Name=name)["Error"]["Code"] == "ParameterNotFound"


def test_role_chaining(aws_client, aws_account, haneul_server):
    first = aws_client("sts").assume_role(RoleArn=f"arn:aws:iam::{aws_account}:role/A", RoleSessionName="one",
                                          Tags=[{"Key": "Project", "Value": "x"}], TransitiveTagKeys=["Project"])
    chained = with_creds(haneul_server, "sts", first["Credentials"])
    second = chained.assume_role(RoleArn=f"arn:aws:iam::{aws_account}:role/B", RoleSessionName="two")
    assert with_creds(haneul_server, "sts", second["Credentials"]).get_caller_identity()["Arn"] == \
        f"arn:aws:sts::{aws_account}:assumed-role/B/two"
    resp = error(chained.assume_role, RoleArn=f"arn:aws:iam::{aws_account}:role/B", RoleSessionName="tt",
                 DurationSeconds=7200)
    assert resp["Error"]["Code"] == "ValidationError"
    assert "role chaining" in resp["Error"]["Message"]
    resp = error(chained.assume_role, RoleArn=f"arn:aws:iam::{aws_account}:role/B", RoleSessionName="tt",
                 Tags=[{"Key": "project", "Value": "y"}])
    assert resp["Error"]["Code"] == "InvalidParameterValue"


def test_session_and_federation_tokens(aws_client, aws_account, haneul_server):
    sts = aws_client("sts")
    session = sts.get_session_token()
    assert with_creds(haneul_server, "sts", session["Credentials"]).get_caller_identity()["Arn"] == \
        f"arn:aws:iam::{aws_account}:root"
    assert session["SessionTokenSize"] == len(session["Credentials"]["SessionToken"])
    fed = sts.get_federation_token(Name="Bob", Policy=POLICY)
    assert fed["FederatedUser"] == {"FederatedUserId": f"{aws_account}:Bob",
                                    "Arn": f"arn:aws:sts::{aws_account}:federated-user/Bob"}
    assert fed["PackedPolicySize"] > 0
    fed_sts = with_creds(haneul_server, "sts", fed["Credentials"])
    assert fed_sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{aws_account}:federated-user/Bob"
    resp = error(fed_sts.get_session_token)
    assert resp["Error"] == {"Code": "AccessDenied", "Type": "Sender",
                             "Message": "Cannot call GetSessionToken with session credentials"}
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize("kwargs,code,status,message", [
    ({"RoleArn": "nothing-valid-in-here", "RoleSessionName": "Session1"}, "ValidationError", 400,
     "nothing-valid-in-here is invalid"),
    ({"RoleArn": "arn:a:b:::something/test-role", "RoleSessionName": "Session1:2"}, "ValidationError", 400,
     "1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to satisfy constraint: "
     "Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
    ({"RoleArn": "arn:aws:iam::123456789012:role/R", "RoleSessionName": "ss", "DurationSeconds": 7200},
     "ValidationError", 400, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
    ({"RoleArn": "arn:aws:iam::123456789012:role/R", "RoleSessionName": "ss", "Policy": "{not json"},
     "MalformedPolicyDocument", 400, None),
    ({"RoleArn": "arn:aws:iam::123456789012:role/R", "RoleSessionName": "ss",
      "Tags": [{"Key": "A", "Value": "1"}, {"Key": "a", "Value": "2"}]}, "InvalidParameterValue", 400,
     "Duplicate tag keys found. Please note that Tag keys are case insensitive."),
    ({"RoleArn": "arn:aws:iam::123456789012:user/u", "RoleSessionName": "ss"}, "AccessDenied", 403, None),
])
def test_assume_role_errors(aws_client, kwargs, code, status, message):
    from botocore.config import Config
    sts = aws_client("sts", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    resp = error(sts.assume_role, **kwargs)
    assert resp["Error"]["Code"] == code
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == status
    if message is not None:
        assert resp["Error"]["Message"] == message


def test_packed_policy_too_large_wire_code(aws_client, aws_account):
    tags = [{"Key": f"key{i}-{os.urandom(20).hex()}", "Value": base64.b32encode(os.urandom(120)).decode()}
            for i in range(40)]
    resp = error(aws_client("sts").assume_role, RoleArn=f"arn:aws:iam::{aws_account}:role/R",
                 RoleSessionName="ss", Tags=tags)
    assert resp["Error"]["Code"] == "PackedPolicyTooLarge"
    assert "of allotted space" in resp["Error"]["Message"]


def test_access_key_info_and_authorization_messages(aws_client):
    sts = aws_client("sts")
    assert sts.get_access_key_info(AccessKeyId="ASIAY34FZKBOKMUTVV7A")["Account"] == "609629065308"
    resp = error(sts.decode_authorization_message, EncodedMessage="not-a-haneul-message")
    assert resp["Error"]["Code"] == "InvalidAuthorizationMessageException"


def test_web_identity_token(aws_client, aws_account):
    out = aws_client("sts").get_web_identity_token(Audience=["https://api.example.com"], SigningAlgorithm="ES384")
    header, claims, _ = out["WebIdentityToken"].split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    assert decode(header)["alg"] == "ES384"
    body = decode(claims)
    assert body["aud"] == "https://api.example.com"
    assert body["sub"] == f"arn:aws:iam::{aws_account}:root"
    assert body["exp"] - body["iat"] == 300
    assert abs(out["Expiration"].timestamp() - body["exp"]) < 1


def test_not_implemented_federation_operations(aws_client, aws_account):
    resp = error(aws_client("sts").assume_role_with_web_identity, RoleArn=f"arn:aws:iam::{aws_account}:role/R",
                 RoleSessionName="ss", WebIdentityToken="eyJhbGciOi.x.y")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 501


def run_cli(haneul_server, *args, env_extra=None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    env.update(env_extra or {})
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    done = subprocess.run([aws, "--endpoint-url", haneul_server.endpoint, "--output", "json", *args],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cli_assume_role_then_caller_identity(haneul_server, aws_account):
    root = {"AWS_ACCESS_KEY_ID": aws_account, "AWS_SECRET_ACCESS_KEY": "test-secret"}
    me = run_cli(haneul_server, "sts", "get-caller-identity", env_extra=root)
    assert me["Arn"] == f"arn:aws:iam::{aws_account}:root"
    out = run_cli(haneul_server, "sts", "assume-role", "--role-arn", f"arn:aws:iam::{aws_account}:role/CliRole",
                  "--role-session-name", "cli-session", env_extra=root)
    creds = out["Credentials"]
    me = run_cli(haneul_server, "sts", "get-caller-identity", env_extra={
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"]})
    assert me["Arn"] == f"arn:aws:sts::{aws_account}:assumed-role/CliRole/cli-session"
    assert me["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]
