"""API Gateway's mapping-template (VTL) cases recorded on AWS (../shared/conformance/vtl).

Each case is rendered the way it was recorded: a MOCK integration whose request template
copies the body into `$context.requestOverride.path.body`, then the integration response
template (`aws_response_template`) with the same `$context`.  Prints passed/failed counts."""

from __future__ import annotations

import json

import pytest

from tests.conformance.sfn_cases import corpus, load

COPY_BODY = "#set($context.requestOverride.path.body = $input.body)"


def _render(case: dict) -> str:
    from haneul.services.apigateway import mapping
    context = mapping.new_context_for_tests()
    mapping.render_template(COPY_BODY, case["request_body"], context, {}, {})
    return mapping.render_template(case["aws_response_template"], "{}", context, {}, {})


def _same(case: dict, out: str) -> bool:
    if case.get("whitespace_normalised"):
        out = " ".join(out.split())
    expected = case["expected_output"]
    if isinstance(expected, str):
        return out == expected
    try:
        return json.loads(out) == expected     # AWS answered JSON: recorded parsed
    except ValueError:
        return False


def test_vtl_corpus():
    paths = corpus("vtl")
    if not paths:
        pytest.skip("conformance corpus vtl not found")
    pytest.importorskip("airspeed")
    failed = []
    for path in paths:
        case = load(path)
        try:
            ok = _same(case, _render(case))
        except Exception as err:     # a case that raises is a failed case, not a crash
            ok = False
            case["error"] = repr(err)
        if not ok:
            failed.append(case["id"])
    print(f"\n[conformance] vtl: passed {len(paths) - len(failed)}, failed {len(failed)}")
    if failed:
        print("  failures:", failed[:30])
    assert not failed, f"{len(failed)} VTL cases fail"
