"""jsonata_compat: jsonata-js behaviour restored in jsonata-python, as Step Functions sees it."""

import pytest

from haneul.services.stepfunctions.asl import jsonata_eval
from haneul.services.stepfunctions.asl.errors import StatesError


def ev(text, states=None):
    return jsonata_eval.evaluate(text, states or {"input": {}}, {}, "Output")


def test_js_numbers_and_strings():
    assert ev("$string(1e20)") == "100000000000000000000"
    assert ev("$number('0x1F')") == 31
    assert ev('$length("\\uD834\\uDD1E")') == 1
    assert ev("$sort([3, 1, 2])") == [1, 2, 3]


@pytest.mark.parametrize("text, code", [
    ("$number('12 apples')", "D3030"), ("$power(-2, 1/3)", "D3061"), ("$string(1/0)", "D3001"),
    ("$toMillis('foo')", "D3110"), ("$replace('hello', '', 'x')", "D3010"), ("$error('boom')", "D3137"),
    ("$sort([{'a': 1}, {'a': 2}])", "D3070"), ("[1!2]", "S0204"),
])
def test_errors_carry_jsonata_codes(text, code):
    with pytest.raises(StatesError) as info:
        ev(text)
    assert info.value.error == "States.QueryEvaluationError" and code in info.value.cause


def test_infinity_is_not_a_json_result():
    with pytest.raises(StatesError) as info:
        ev("1/0")
    assert "unsupported result type" in info.value.cause or "D1001" in info.value.cause
