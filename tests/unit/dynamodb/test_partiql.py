"""The PartiQL parser: statements, literals, parameters, paths, conditions and its errors."""

from __future__ import annotations

import pytest

from haneul.services.dynamodb.expressions.evaluate import Evaluator
from haneul.services.dynamodb.partiql.parser import PartiqlError, parse, tokenize


def holds(where: str, item: dict, params=None) -> bool:
    st = parse(f"SELECT * FROM t WHERE {where}", params)
    return Evaluator({}, {}).holds(st.where, item)


def test_tokens_quotes_and_numbers():
    toks = tokenize("SELECT \"a\"\"b\" FROM 'it''s' -1.5e3 <<")
    assert [(t.kind, t.text) for t in toks[:-1]] == [
        ("word", "SELECT"), ("quoted", 'a"b'), ("word", "FROM"), ("string", "it's"), ("punct", "-"),
        ("number", "1.5e3"), ("punct", "<<")]


def test_literals_become_attribute_values():
    st = parse("INSERT INTO t VALUE {'s': 'x', 'n': -1.50, 'b': true, 'z': null, 'l': [1, 'a'], "
               "'m': {'k': <<1, 2>>}, 'ss': <<'a', 'b'>>, 'p': ?, 'gone': MISSING}", [{"B": b"\x01"}])
    assert st.item == {"s": {"S": "x"}, "n": {"N": "-1.5"}, "b": {"BOOL": True}, "z": {"NULL": True},
                       "l": {"L": [{"N": "1"}, {"S": "a"}]}, "m": {"M": {"k": {"NS": ["1", "2"]}}},
                       "ss": {"SS": ["a", "b"]}, "p": {"B": b"\x01"}}


def test_statements():
    st = parse('SELECT a.b[2], "c" FROM "tbl"."idx" WHERE pk = ? AND x > 1', [{"S": "k"}])
    assert (st.kind, st.table, st.index, st.projection) == ("SELECT", "tbl", "idx", [("a", "b", 2), ("c",)])
    assert len(st.conjuncts) == 2
    st = parse("UPDATE t SET a = a + 1, b.c = 'x' REMOVE d SET e = list_append(e, [1]) WHERE pk = 'k' "
               "RETURNING MODIFIED NEW *")
    assert [(k, p) for k, p, _ in st.actions] == [("SET", ("a",)), ("SET", ("b", "c")), ("REMOVE", ("d",)),
                                                  ("SET", ("e",))]
    assert st.returning == "UPDATED_NEW"
    assert parse("DELETE FROM t WHERE pk = 'k' RETURNING ALL OLD *;").returning == "ALL_OLD"


def test_conditions_evaluate_with_the_expression_engine():
    item = {"a": {"N": "5"}, "s": {"S": "hello"}, "l": {"L": [{"N": "1"}, {"M": {"x": {"S": "y"}}}]},
            "ss": {"SS": ["p", "q"]}, "z": {"NULL": True}}
    assert holds("a = 5 AND s = 'hello'", item)
    assert holds("a BETWEEN 1 AND 5 AND NOT a < 5", item)
    assert holds("a IN [1, 5] AND s IN ('x', 'hello')", item)
    assert holds("l[1].x = 'y' AND l[0] = 1", item)
    assert holds("begins_with(s, 'he') AND contains(ss, 'q') AND size(ss) = 2", item)
    assert holds("nope IS MISSING AND a IS NOT MISSING AND z IS NULL", item)
    assert holds("attribute_type(a, 'N') AND (a <> 4 OR a != 5)", item)
    assert holds("a = ?", item, [{"N": "5.0"}])
    assert not holds("a > 5 OR s = 'x'", item)


@pytest.mark.parametrize("text,message", [
    ("SELECT * FROM t WHERE a = ?", "Number of parameters in request and statement don't match."),
    ("FOO", "Statement wasn't well formed, can't be processed: Expected data manipulation"),
    ("SELECT * FROM t WHERE a = 1 b", "Statement wasn't well formed, can't be processed: Unexpected token after "
                                     "expression"),
    ("SELECT * FROM t AS x", "Aliasing is not supported"),
    ("SELECT * FROM t.i.j", "A path may contain at most 2 components in the FROM clause"),
    ("INSERT INTO t VALUE {'a': <<>>}", "Empty bags are not supported"),
    ("INSERT INTO t VALUE {'a': <<1, 'x'>>}",
     "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags"),
    ("INSERT INTO t VALUE {'a': 1, 'a': 2}", "Duplicate keys in tuple. Key: a under M"),
    ("INSERT INTO t VALUE {'a': 1} RETURNING ALL OLD *", "RETURNING is not supported in INSERT"),
    ("INSERT INTO t VALUE [1]", "Unsupported format in item expression. Please use struct format {...} to express "
                                "item values for insert statement."),
    ("UPDATE t ADD a 1 WHERE pk = 'x'", "Only SET and REMOVE are supported in update expressions at this time"),
    ("UPDATE t SET a = 1", "Where clause does not contain a mandatory equality on all key attributes"),
    ("UPDATE t SET a = 1 WHERE pk = 'x' RETURNING ALL *",
     "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause"),
    ("SELECT * FROM t WHERE a = 123456789012345678901234567890123456789",
     "Attempting to store more than 38 significant digits in a Number"),
])
def test_errors(text, message):
    with pytest.raises(PartiqlError) as e:
        parse(text)
    assert str(e.value) == message
