"""Step Functions conformance through the service API: every case of
../shared/conformance/stepfunctions run against a live server with boto3 —
CreateStateMachine, StartExecution (or StartSyncExecution for EXPRESS cases), DescribeExecution
until the execution ends, GetExecutionHistory — and judged on status, output, error, cause
and the history's event types; and every case of ../shared/conformance/stepfunctions-validation
through ValidateStateMachineDefinition or CreateStateMachine.  Prints passed/failed/skipped counts.

The cases run in account 111111111111, the account the recordings use, so ARNs written in a
definition name resources of the test's own account.  Task resources a case references are
created before it runs where the case tells enough to create them (an SQS queue by its URL, a
Lambda function as an echo function, since recordings do not include function code); a case
needing anything else is skipped with the reason printed.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.config import Config

from haneul.testing import make_client
from tests.conformance.sfn_cases import corpus, load, matches

ACCOUNT = "111111111111"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sfn-conformance"
THREADS = 12
ECHO = "def handler(event, context):\n    return event\n"


def _resources(definition) -> list[str]:
    found: list[str] = []

    def walk(x):
        if isinstance(x, dict):
            if x.get("Type") == "Task" and isinstance(x.get("Resource"), str):
                found.append(x["Resource"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(definition)
    return found


def _strings(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from _strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from _strings(v)
    elif isinstance(x, str):
        yield x


class Provisioner:
    """Creates, once each, the resources the cases' Task states name."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.done: dict[str, str | None] = {}
        self.lock = threading.Lock()

    def client(self, service):
        return make_client(self.endpoint, service, ACCOUNT, config=Config(retries={"max_attempts": 1},
                                                                          read_timeout=60))

    def prepare(self, definition) -> str | None:
        """None when everything the case needs exists, else the reason to skip it."""
        if '"ItemReader"' in json.dumps(definition):
            return "a distributed Map reads S3 objects whose content the case does not include"
        for resource in _resources(definition):
            parts = resource.split(":")
            if len(parts) >= 7 and parts[2] == "lambda":
                problem = self._once(f"lambda:{parts[6]}", lambda: self._function(parts[6]))
            elif resource.startswith("arn:aws:states:::lambda:invoke"):
                names = {s.split(":")[6] if s.startswith("arn:aws:lambda") else s
                         for s in _strings(definition) if s.startswith("arn:aws:lambda:")}
                if not names:
                    return "lambda:invoke with a FunctionName computed at run time"
                problem = next((p for p in (self._once(f"lambda:{n}", lambda n=n: self._function(n))
                                            for n in names) if p), None)
            elif resource.startswith("arn:aws:states:::sqs:") or resource.startswith("arn:aws:states:::aws-sdk:sqs:"):
                urls = [s for s in _strings(definition) if "/" + ACCOUNT + "/" in s and s.startswith("http")]
                if not urls:
                    return "an SQS task whose queue is not named in the definition"
                problem = next((p for p in (self._once(f"sqs:{u}", lambda u=u: self._queue(u)) for u in urls)
                                if p), None)
            elif parts[2] == "states" and parts[5] == "activity":
                problem = self._once(f"activity:{parts[6]}", lambda: self._activity(parts[6]))
                if problem is None:
                    return "an activity needs a worker the case does not describe"
            else:
                return f"needs resources for {resource} that the case does not describe"
            if problem:
                return problem
        return None

    def _once(self, key, fn) -> str | None:
        with self.lock:
            if key not in self.done:
                try:
                    fn()
                    self.done[key] = None
                except Exception as err:          # noqa: BLE001 - reported as the skip reason
                    self.done[key] = f"could not create {key}: {err}"
            return self.done[key]

    def _function(self, name):
        import io
        import zipfile
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("app.py", ECHO)
        self.client("lambda").create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler",
                                              Role=ROLE, Code={"ZipFile": buf.getvalue()}, Timeout=30)

    def _queue(self, url):
        self.client("sqs").create_queue(QueueName=url.rstrip("/").rsplit("/", 1)[1])

    def _activity(self, name):
        self.client("stepfunctions").create_activity(name=name)


def run_case(sfn, provisioner: Provisioner, index: int, case) -> tuple[str, list[str]]:
    reason = provisioner.prepare(case["definition"])
    if reason:
        return "skipped", [reason]
    kind = case.get("type", "STANDARD")
    arn = sfn.create_state_machine(name=f"conf-{index}", definition=json.dumps(case["definition"]),
                                   roleArn=ROLE, type=kind)["stateMachineArn"]
    text = case.get("input_json_text")
    args = {"stateMachineArn": arn}
    if text is not None:
        args["input"] = text
    elif case.get("input") is not None:
        args["input"] = json.dumps(case["input"])
    exp = case["expected"]
    if case.get("start") == "StartSyncExecution":
        got = sfn.start_sync_execution(**args)
        history = None
    else:
        execution = sfn.start_execution(name=f"run-{index}", **args)["executionArn"]
        deadline = time.time() + 60
        while True:
            got = sfn.describe_execution(executionArn=execution)
            if got["status"] != "RUNNING" or time.time() > deadline:
                break
            time.sleep(0.05)
        history = []
        token = None
        while True:
            page = sfn.get_execution_history(executionArn=execution, **({"nextToken": token} if token else {}))
            history += page["events"]
            token = page.get("nextToken")
            if not token:
                break
    problems = []
    status = got["status"]
    if status != exp["status"]:
        problems.append(f"status {status} != {exp['status']} ({got.get('error')}: {got.get('cause')})")
    elif status == "SUCCEEDED":
        output = json.loads(got["output"])
        if not matches(exp["output"], output):
            problems.append(f"output {output!r} != {exp['output']!r}")
    elif not (matches(exp["error"], got.get("error")) and matches(exp["cause"], got.get("cause"))):
        problems.append(f"error {got.get('error')}: {got.get('cause')} != {exp['error']}: {exp['cause']}")
    if history is not None and case.get("expected_history_event_types"):
        types = [e["type"] for e in history]
        if types != case["expected_history_event_types"]:
            problems.append(f"history {types} != {case['expected_history_event_types']}")
    return ("failed" if problems else "passed"), problems


def test_stepfunctions_corpus_through_the_api(haneul_server):
    paths = corpus("stepfunctions")
    if not paths:
        pytest.skip("conformance corpus stepfunctions not found")
    sfn = make_client(haneul_server.endpoint, "stepfunctions", ACCOUNT, config=Config(
        inject_host_prefix=False, retries={"max_attempts": 1}, read_timeout=120,
        max_pool_connections=THREADS * 2))
    provisioner = Provisioner(haneul_server.endpoint)

    def one(item):
        index, path = item
        try:
            return path.name, *run_case(sfn, provisioner, index, load(path))
        except Exception as err:      # a crash is a failure of that case, not of the run
            return path.name, "failed", [f"crashed: {err!r}"]

    started = time.time()
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(one, enumerate(paths)))
    failed = [(n, p) for n, outcome, p in results if outcome == "failed"]
    skipped = [(n, p) for n, outcome, p in results if outcome == "skipped"]
    print(f"\n[conformance] stepfunctions (API, live server): passed "
          f"{len(results) - len(failed) - len(skipped)}, failed {len(failed)}, skipped {len(skipped)} "
          f"in {time.time() - started:.1f}s")
    for name, problems in skipped:
        print(f"  SKIP {name}: {problems[0]}")
    for name, problems in failed[:20]:
        print(f"  FAIL {name}: {problems[0][:300]}")
    assert not failed


def validation_case(sfn, index: int, case) -> list[str]:
    exp = case["expected"]
    kind = (case.get("request") or {}).get("type", "STANDARD")
    if case["api"] == "ValidateStateMachineDefinition":
        got = sfn.validate_state_machine_definition(definition=case["definition_text"], type=kind)
        got = {k: got[k] for k in ("result", "diagnostics", "truncated") if k in got}
        return [] if got == exp else [f"{got} != {exp}"]
    try:
        sfn.create_state_machine(name=f"invalid-{index}", definition=case["definition_text"], roleArn=ROLE, type=kind)
    except sfn.exceptions.ClientError as err:
        code = err.response["Error"]["Code"]
        message = err.response["Error"].get("Message")
        status = err.response["ResponseMetadata"]["HTTPStatusCode"]
        got = {"error_code": code, "message": message, "http_status": status}
        return [] if got == exp else [f"{got} != {exp}"]
    return [f"created, expected {exp}"]


def test_stepfunctions_validation_corpus_through_the_api(haneul_server):
    paths = corpus("stepfunctions-validation")
    if not paths:
        pytest.skip("conformance corpus stepfunctions-validation not found")
    sfn = make_client(haneul_server.endpoint, "stepfunctions", ACCOUNT, config=Config(
        inject_host_prefix=False, retries={"max_attempts": 1}, max_pool_connections=THREADS * 2))

    def one(item):
        index, path = item
        try:
            return path.name, validation_case(sfn, index, load(path))
        except Exception as err:      # a crash is a failure of that case, not of the run
            return path.name, [f"crashed: {err!r}"]

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(one, enumerate(paths)))
    failed = [(n, p) for n, p in results if p]
    print(f"\n[conformance] stepfunctions-validation (API, live server): passed {len(results) - len(failed)}, "
          f"failed {len(failed)}")
    for name, problems in failed[:20]:
        print(f"  FAIL {name}: {problems[0][:300]}")
    assert not failed
