"""Queue URLs and ARNs."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    return "aws"


def queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:{partition(region)}:sqs:{region}:{account}:{name}"


def queue_url(endpoint: str, account: str, name: str) -> str:
    return f"{endpoint.rstrip('/')}/{account}/{name}"


def parse_queue_url(url: str, default_account: str) -> tuple[str, str] | None:
    """(account, name) from any form of queue URL: AWS's (https://sqs.us-east-1.amazonaws.com/
    123456789012/q), LocalStack's (http://sqs.us-east-1.localhost.localstack.cloud:4566/
    000000000000/q, http://localhost:4566/queue/us-east-1/000000000000/q), ours, or a bare
    queue name.  The host is ignored: the queue's region is the request's region."""
    url = (url or "").strip()
    if not url:
        return None
    if "://" in url:
        path = urlsplit(url).path
    elif url.startswith("/") or "/" in url:
        path = url
    else:
        return default_account, url          # a bare name, as some tools send
    parts = [unquote(p) for p in path.split("/") if p]
    if len(parts) < 2:
        return None
    return parts[-2], parts[-1]


def parse_queue_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, name) of an SQS queue ARN, None if `arn` is not one."""
    parts = (arn or "").split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not all(parts[3:]):
        return None
    return parts[3], parts[4], parts[5]


def is_arn(value: str) -> bool:
    parts = (value or "").split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and all(parts[1:3]) and bool(parts[5])
