"""S3 through the AWS CLI: `aws s3 cp/sync/ls/rb` and `aws s3api`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AWS = str(Path(sys.executable).parent / "aws")


def aws(server, account, *args, check=True):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=account, AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    env.pop("AWS_PROFILE", None)
    proc = subprocess.run([AWS, "--endpoint-url", server.endpoint, *args], capture_output=True, text=True,
                          env=env, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed: {proc.stderr}")
    return proc


@pytest.mark.skipif(not os.path.exists(AWS), reason="AWS CLI not installed in this environment")
def test_cli_cp_sync_ls_rb(haneul_server, aws_account, tmp_path):
    bucket = f"cli-{aws_account}"
    aws(haneul_server, aws_account, "s3", "mb", f"s3://{bucket}")
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "nested" / "b.txt").write_text("beta")
    big = os.urandom(9 << 20)
    (src / "big.bin").write_bytes(big)
    aws(haneul_server, aws_account, "s3", "cp", str(src / "a.txt"), f"s3://{bucket}/single/a.txt")
    aws(haneul_server, aws_account, "s3", "sync", str(src), f"s3://{bucket}/tree")
    listing = aws(haneul_server, aws_account, "s3", "ls", "--recursive", f"s3://{bucket}").stdout
    for key in ["single/a.txt", "tree/a.txt", "tree/nested/b.txt", "tree/big.bin"]:
        assert key in listing
    top = aws(haneul_server, aws_account, "s3", "ls", f"s3://{bucket}/").stdout
    assert "PRE single/" in top and "PRE tree/" in top
    dst = tmp_path / "dst"
    aws(haneul_server, aws_account, "s3", "sync", f"s3://{bucket}/tree", str(dst))
    assert (dst / "nested" / "b.txt").read_text() == "beta"
    assert (dst / "big.bin").read_bytes() == big
    again = aws(haneul_server, aws_account, "s3", "sync", str(src), f"s3://{bucket}/tree").stdout
    assert again.strip() == ""           # nothing changed: nothing uploaded
    head = json.loads(aws(haneul_server, aws_account, "s3api", "head-object", "--bucket", bucket,
                          "--key", "tree/big.bin").stdout)
    assert head["ContentLength"] == len(big) and head["ETag"].endswith('-2"')
    missing = aws(haneul_server, aws_account, "s3api", "get-object", "--bucket", bucket, "--key", "nope",
                  str(tmp_path / "x"), check=False)
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr
    fails = aws(haneul_server, aws_account, "s3", "rb", f"s3://{bucket}", check=False)
    assert fails.returncode != 0 and "BucketNotEmpty" in fails.stderr
    aws(haneul_server, aws_account, "s3", "rb", "--force", f"s3://{bucket}")
    gone = aws(haneul_server, aws_account, "s3api", "head-bucket", "--bucket", bucket, check=False)
    assert gone.returncode != 0
