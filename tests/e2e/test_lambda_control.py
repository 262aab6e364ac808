"""Lambda end to end: the control plane's answers and errors (permissions, URLs, tags,
event invoke configs, provisioned concurrency, limits, runtimes, init errors)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.e2e.lambda_fixtures.harness import ROLE, client, url_request, zip_files, zip_folder

ACCOUNT = "210000000004"
CODE = zip_files({"app.py": "def handler(e, c):\n    return 'ok'\n"})


@pytest.fixture(scope="module")
def lam(haneul_server):
    lam = client(haneul_server, "lambda", ACCOUNT)
    lam.create_function(FunctionName="ctl", Runtime="python3.13", Role=ROLE.format(account=ACCOUNT),
                        Handler="app.handler", Code={"ZipFile": CODE}, Tags={"team": "sky"})
    return lam


def error(call, *args, **kw):
    with pytest.raises(ClientError) as e:
        call(*args, **kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_create_conflicts_and_validation(lam):
    role = ROLE.format(account=ACCOUNT)
    code, message = error(lam.create_function, FunctionName="ctl", Runtime="python3.12", Role=role,
                          Handler="app.handler", Code={"ZipFile": CODE})
    assert (code, message) == ("ResourceConflictException", "Function already exist: ctl")
    code, message = error(lam.create_function, FunctionName="envbad", Runtime="python3.12", Role=role,
                          Handler="app.handler", Code={"ZipFile": CODE},
                          Environment={"Variables": {"AWS_REGION": "x"}})
    assert code == "InvalidParameterValueException" and "Reserved keys used in this request: AWS_REGION" in message
    code, message = error(lam.create_function, FunctionName="nozip", Runtime="python3.12", Role=role,
                          Handler="app.handler", Code={"ZipFile": b"not a zip"})
    assert code == "InvalidParameterValueException" and "Could not unzip" in message
    code, message = error(lam.create_function, FunctionName="bad name!", Runtime="python3.12", Role=role,
                          Handler="app.handler", Code={"ZipFile": CODE})
    assert code in ("ValidationException", "InvalidParameterValueException")
    code, message = error(lam.create_function, FunctionName="oldrt", Runtime="python2.7", Role=role,
                          Handler="app.handler", Code={"ZipFile": CODE})
    assert code == "InvalidParameterValueException" and "python2.7" in message
    code, _ = error(lam.get_function, FunctionName="missing")
    assert code == "ResourceNotFoundException"


def test_get_list_and_tags(lam):
    got = lam.get_function(FunctionName=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ctl")
    conf = got["Configuration"]
    assert conf["Runtime"] == "python3.13" and conf["PackageType"] == "Zip" and conf["Timeout"] == 3
    assert conf["Architectures"] == ["x86_64"] and conf["EphemeralStorage"] == {"Size": 512}
    assert conf["TracingConfig"] == {"Mode": "PassThrough"} and got["Tags"] == {"team": "sky"}
    assert conf["LoggingConfig"]["LogGroup"] == "/aws/lambda/ctl"
    assert "ctl" in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    arn = conf["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"env": "dev"})
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "dev"}


def test_permissions_policy(lam):
    added = lam.add_permission(FunctionName="ctl", StatementId="s3", Action="lambda:InvokeFunction",
                               Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::bucket",
                               SourceAccount=ACCOUNT)
    statement = json.loads(added["Statement"])
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == "arn:aws:s3:::bucket"
    code, _ = error(lam.add_permission, FunctionName="ctl", StatementId="s3", Action="lambda:InvokeFunction",
                    Principal="sns.amazonaws.com")
    assert code == "ResourceConflictException"
    policy = json.loads(lam.get_policy(FunctionName="ctl")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s3"]
    lam.remove_permission(FunctionName="ctl", StatementId="s3")
    code, _ = error(lam.get_policy, FunctionName="ctl")
    assert code == "ResourceNotFoundException"


def test_url_config_invoke_config_provisioned(lam):
    url = lam.create_function_url_config(FunctionName="ctl", AuthType="NONE")
    assert url["FunctionUrl"].startswith("http://") and ".lambda-url.us-east-1." in url["FunctionUrl"]
    assert lam.get_function_url_config(FunctionName="ctl")["AuthType"] == "NONE"
    assert lam.update_function_url_config(FunctionName="ctl", AuthType="AWS_IAM")["AuthType"] == "AWS_IAM"
    code, _ = error(lam.create_function_url_config, FunctionName="ctl", AuthType="NONE")
    assert code == "ResourceConflictException"
    lam.delete_function_url_config(FunctionName="ctl")

    cfg = lam.put_function_event_invoke_config(FunctionName="ctl", MaximumRetryAttempts=0,
                                               MaximumEventAgeInSeconds=120)
    assert cfg["FunctionArn"].endswith(":function:ctl:$LATEST")
    upd = lam.update_function_event_invoke_config(FunctionName="ctl", MaximumRetryAttempts=1)
    assert (upd["MaximumRetryAttempts"], upd["MaximumEventAgeInSeconds"]) == (1, 120)
    assert len(lam.list_function_event_invoke_configs(FunctionName="ctl")["FunctionEventInvokeConfigs"]) == 1
    lam.delete_function_event_invoke_config(FunctionName="ctl")

    code, message = error(lam.put_provisioned_concurrency_config, FunctionName="ctl", Qualifier="$LATEST",
                          ProvisionedConcurrentExecutions=1)
    assert code == "InvalidParameterValueException"
    version = lam.publish_version(FunctionName="ctl")["Version"]
    lam.put_provisioned_concurrency_config(FunctionName="ctl", Qualifier=version,
                                           ProvisionedConcurrentExecutions=2)
    got = lam.get_provisioned_concurrency_config(FunctionName="ctl", Qualifier=version)
    assert got["RequestedProvisionedConcurrentExecutions"] == 2     # READY: test_lambda_provisioned.py
    lam.delete_provisioned_concurrency_config(FunctionName="ctl", Qualifier=version)


def test_init_errors_answer_like_aws(lam):
    role = ROLE.format(account=ACCOUNT)
    lam.create_function(FunctionName="nomodule", Runtime="python3.12", Role=role, Handler="missing.handler",
                        Code={"ZipFile": CODE})
    resp = lam.invoke(FunctionName="nomodule")
    out = json.loads(resp["Payload"].read())
    assert resp["FunctionError"] == "Unhandled" and out["errorType"] == "Runtime.ImportModuleError"
    assert out["errorMessage"].startswith("Unable to import module 'missing'")
    lam.create_function(FunctionName="nohandler", Runtime="nodejs20.x", Role=role, Handler="index.nothing",
                        Code={"ZipFile": zip_folder("node_app")})
    out = json.loads(lam.invoke(FunctionName="nohandler")["Payload"].read())
    assert out["errorType"] == "Runtime.HandlerNotFound"
    lam.create_function(FunctionName="noboot", Runtime="provided.al2", Role=role, Handler="x",
                        Code={"ZipFile": CODE})
    out = json.loads(lam.invoke(FunctionName="noboot")["Payload"].read())
    assert out["errorType"] == "Runtime.InvalidEntrypoint"


def test_delete_function(lam):
    lam.create_function(FunctionName="gone", Runtime="python3.12", Role=ROLE.format(account=ACCOUNT),
                        Handler="app.handler", Code={"ZipFile": CODE})
    assert json.loads(lam.invoke(FunctionName="gone")["Payload"].read()) == "ok"
    lam.delete_function(FunctionName="gone")
    code, message = error(lam.invoke, FunctionName="gone")
    assert code == "ResourceNotFoundException" and message.endswith(":function:gone")


def test_function_url_over_http(lam, haneul_server):
    """Served on Haneul's own port: the Host header (the FunctionUrl's host) names the function."""
    handler = ("import json\n"
               "def handler(event, context):\n"
               "    return {'statusCode': 201, 'headers': {'x-from': 'lambda'},\n"
               "            'body': json.dumps({'path': event['rawPath'], 'q': event.get('queryStringParameters'),\n"
               "                                'method': event['requestContext']['http']['method'],\n"
               "                                'body': event.get('body'), 'version': event['version']})}\n")
    lam.create_function(FunctionName="web", Runtime="python3.12", Role=ROLE.format(account=ACCOUNT),
                        Handler="app.handler", Code={"ZipFile": zip_files({"app.py": handler})})
    url = lam.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
    assert urlsplit(url).port == urlsplit(haneul_server.endpoint).port
    status, headers, body = url_request(haneul_server, url, "POST", "/items/7?x=1&x=2", b'{"k": 1}',
                                        {"Content-Type": "application/json"})
    assert status == 201 and headers["x-from"] == "lambda"
    assert json.loads(body) == {"path": "/items/7", "q": {"x": "1,2"}, "method": "POST",
                                "body": '{"k": 1}', "version": "2.0"}
    # an unknown URL id on the same port: 404 as AWS answers it
    missing = url.replace(urlsplit(url).hostname.split(".")[0], "0" * 32)
    status, _, body = url_request(haneul_server, missing, "GET", "/")
    assert status == 404 and json.loads(body) == {"Message": "Not Found"}


def test_function_url_iam_auth_and_errors(lam, haneul_server):
    handler = "def handler(event, context):\n    raise ValueError('boom')\n"
    lam.create_function(FunctionName="web-iam", Runtime="python3.12", Role=ROLE.format(account=ACCOUNT),
                        Handler="app.handler", Code={"ZipFile": zip_files({"app.py": handler})})
    url = lam.create_function_url_config(FunctionName="web-iam", AuthType="AWS_IAM")["FunctionUrl"]
    status, _, body = url_request(haneul_server, url, "GET", "/")
    assert status == 403 and json.loads(body) == {"Message": "Forbidden"}
    lam.update_function_url_config(FunctionName="web-iam", AuthType="NONE")
    status, _, body = url_request(haneul_server, url, "GET", "/")
    assert status == 502 and json.loads(body) == {"Message": "Internal Server Error"}


def test_code_from_s3(aws_client, aws_account):
    s3, lam = aws_client("s3"), aws_client("lambda")
    s3.create_bucket(Bucket=f"code-{aws_account}")
    bucket = f"code-{aws_account}"
    s3.put_object(Bucket=bucket, Key="v1.zip", Body=zip_files({"app.py": "def handler(e, c):\n    return 'v1'\n"}))
    s3.put_object(Bucket=bucket, Key="v2.zip", Body=zip_files({"app.py": "def handler(e, c):\n    return 'v2'\n"}))
    role = ROLE.format(account=aws_account)
    created = lam.create_function(FunctionName="from-s3", Runtime="python3.12", Role=role, Handler="app.handler",
                                  Code={"S3Bucket": bucket, "S3Key": "v1.zip"})
    assert created["CodeSize"] == s3.head_object(Bucket=bucket, Key="v1.zip")["ContentLength"]
    assert json.loads(lam.invoke(FunctionName="from-s3")["Payload"].read()) == "v1"
    lam.update_function_code(FunctionName="from-s3", S3Bucket=bucket, S3Key="v2.zip")
    assert json.loads(lam.invoke(FunctionName="from-s3")["Payload"].read()) == "v2"
    code, message = error(lam.create_function, FunctionName="no-code", Runtime="python3.12", Role=role,
                          Handler="app.handler", Code={"S3Bucket": bucket, "S3Key": "missing.zip"})
    assert code == "InvalidParameterValueException" and "NoSuchKey" in message
    code, message = error(lam.create_function, FunctionName="no-bucket", Runtime="python3.12", Role=role,
                          Handler="app.handler", Code={"S3Bucket": f"nope-{aws_account}", "S3Key": "v1.zip"})
    assert code == "InvalidParameterValueException" and "NoSuchBucket" in message


def test_layer_version_number_beyond_a_long_is_refused(lam):
    # VersionNumber is a model `long` in the URI: 2**70 reached SQLite (OverflowError: 500)
    for call in (lam.get_layer_version, lam.delete_layer_version, lam.get_layer_version_policy):
        with pytest.raises(ClientError) as e:
            call(LayerName="fuzz-layer", VersionNumber=2 ** 70)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert e.value.response["Error"]["Code"] == "SerializationException"
