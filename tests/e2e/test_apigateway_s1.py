"""Scenario S1 (examples/s1_sync_workflow): the REST API (AWS integration, VTL templates)
and the HTTP API (StepFunctions-StartSyncExecution) run the EXPRESS order workflow, which
validates with a Lambda function and records the order in DynamoDB; invalid orders fail
(500 through the REST API's response template); the STANDARD twin answers at once with the
execution ARN.  1,000 concurrent requests each receive their own workflow's result."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import threading
import time
import urllib.parse

import pytest

from haneul.testing import make_client
from tests.e2e.test_apigateway_server import GatewayServer, call

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACCOUNT = "123412341266"
PRICES = {"tea": 4, "coffee": 5, "cake": 7}


def _example():
    spec = importlib.util.spec_from_file_location(
        "s1_setup", os.path.join(ROOT, "examples", "s1_sync_workflow", "setup.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def s1():
    # its own server: few Lambda environments (2 cores), invocations queue for them
    server = GatewayServer(env={"HANEUL_LAMBDA_MAX_ENVIRONMENTS": "4", "HANEUL_LAMBDA_CONCURRENCY": "5000"}).start()
    try:
        yield server, _example().setup(server.endpoint, ACCOUNT)
    finally:
        server.stop()


def _post(url: str, doc: dict) -> tuple[int, dict]:
    status, _, body = call(url, "POST", json.dumps(doc).encode(), {"Content-Type": "application/json"}, timeout=60)
    return status, json.loads(body)


def test_rest_and_http_answers(s1):
    _, urls = s1
    status, doc = _post(urls["rest_url"], {"orderId": "r-1", "item": "tea", "qty": 3})
    assert (status, doc) == (200, {"orderId": "r-1", "status": "ACCEPTED", "total": 12})
    status, doc = _post(urls["rest_url"], {"orderId": "r-2", "item": "tea", "qty": 0})
    assert (status, doc) == (500, {"error": "OrderInvalid", "cause": "qty must be a positive integer"})
    status, doc = _post(urls["http_url"], {"orderId": "h-1", "item": "cake", "qty": 2})
    assert status == 200 and doc["status"] == "SUCCEEDED"
    assert json.loads(doc["output"]) == {"orderId": "h-1", "status": "ACCEPTED", "total": 14}
    status, doc = _post(urls["http_url"], {"orderId": "h-2", "item": "soup", "qty": 1})
    assert status == 200 and doc["status"] == "FAILED" and doc["error"] == "OrderInvalid"


def test_standard_twin_answers_at_once_and_runs_durably(s1):
    server, urls = s1
    sfn = make_client(server.endpoint, "stepfunctions", ACCOUNT)
    ddb = make_client(server.endpoint, "dynamodb", ACCOUNT)
    arns = []
    for url, order in ((urls["rest_async_url"], "sa-1"), (urls["http_async_url"], "sa-2")):
        status, doc = _post(url, {"orderId": order, "item": "coffee", "qty": 1})
        assert status == 200 and doc["executionArn"].startswith("arn:aws:states:"), doc
        arns.append(doc["executionArn"])
    assert len(set(arns)) == 2
    deadline = time.time() + 30
    for arn in arns:
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.time() < deadline:
            time.sleep(0.1)
        assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    for order in ("sa-1", "sa-2"):
        assert ddb.get_item(TableName=urls["table"], Key={"orderId": {"S": order}})["Item"]["total"]["N"] == "5"


def test_a_thousand_concurrent_requests_each_get_their_own_result(s1):
    server, urls = s1
    n = 1000
    items = list(PRICES)
    orders = []
    for i in range(n):
        item = items[i % 3]
        qty = (i % 7)            # qty 0 is invalid: about one in seven fails
        use_rest = i % 2 == 0
        orders.append((f"c-{i}", item, qty, use_rest))
    results: list = [None] * n
    start = threading.Barrier(n, timeout=60)

    def worker(i: int) -> None:
        order_id, item, qty, use_rest = orders[i]
        url = urllib.parse.urlsplit(urls["rest_url"] if use_rest else urls["http_url"])
        body = json.dumps({"orderId": order_id, "item": item, "qty": qty})
        try:
            start.wait()
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
            conn.request("POST", url.path, body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            results[i] = (resp.status, json.loads(resp.read()))
            conn.close()
        except Exception as err:     # recorded, asserted below
            results[i] = ("error", repr(err))

    started = time.time()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    elapsed = time.time() - started
    wrong = []
    for (order_id, item, qty, use_rest), result in zip(orders, results):
        valid = qty > 0
        if use_rest:
            expected = (200, {"orderId": order_id, "status": "ACCEPTED", "total": PRICES[item] * qty}) if valid \
                else (500, {"error": "OrderInvalid", "cause": "qty must be a positive integer"})
            ok = result == expected
        else:
            ok = (result is not None and result[0] == 200 and isinstance(result[1], dict) and
                  (result[1].get("status") == "SUCCEEDED" and json.loads(result[1]["output"]) ==
                   {"orderId": order_id, "status": "ACCEPTED", "total": PRICES[item] * qty}
                   if valid else result[1].get("status") == "FAILED"))
        if not ok:
            wrong.append((order_id, result))
    assert not wrong, f"{len(wrong)} of {n} wrong, e.g. {wrong[:3]}"
    ddb = make_client(server.endpoint, "dynamodb", ACCOUNT)
    recorded = set()
    kwargs: dict = {"TableName": urls["table"]}
    while True:
        page = ddb.scan(**kwargs)
        recorded |= {it["orderId"]["S"] for it in page["Items"] if it["orderId"]["S"].startswith("c-")}
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert recorded == {o for o, _, qty, _ in orders if qty > 0}
    print(f"\n[s1] {n} concurrent requests in {elapsed:.1f}s")
    assert elapsed < 90
