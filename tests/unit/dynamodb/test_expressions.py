"""The expression engine: parsing, DynamoDB's checks and messages, evaluation, updates."""

from __future__ import annotations

import pytest

from haneul.errors import AwsError
from haneul.services.dynamodb.expressions import java_set_order, prepare
from haneul.services.dynamodb.expressions.parser import parse
from haneul.services.dynamodb.expressions.reserved import RESERVED_WORDS

N = lambda x: {"N": str(x)}  # noqa: E731
S = lambda x: {"S": x}  # noqa: E731


def error(req, op="UpdateItem", keys=("pk",)):
    with pytest.raises(AwsError) as e:
        prepare(req, op, list(keys))
    assert e.value.code == "ValidationException"
    return e.value.message


def cond(expr, item, names=None, values=None):
    req = {"ConditionExpression": expr}
    if names:
        req["ExpressionAttributeNames"] = names
    if values:   # only the values this expression uses (DynamoDB refuses unused ones)
        import re
        used = set(re.findall(r":\w+", expr))
        req["ExpressionAttributeValues"] = {k: v for k, v in values.items() if k in used}
    p = prepare(req, "PutItem", ["pk"])
    return p.holds(p.condition, item)


def update(expr, item, values=None, names=None):
    req = {"UpdateExpression": expr}
    if values:
        req["ExpressionAttributeValues"] = values
    if names:
        req["ExpressionAttributeNames"] = names
    return prepare(req, "UpdateItem", ["pk"]).apply_update(item, ["pk"])


def test_reserved_word_list_is_complete():
    assert len(RESERVED_WORDS) == 573
    assert {"NAME", "STATUS", "SIZE", "COUNT", "TTL"} <= RESERVED_WORDS


def test_parse_is_cached():
    assert parse("a = :v", "condition") is parse("a = :v", "condition")


def test_precedence_not_and_or():
    item = {"a": N(1), "b": N(2)}
    v = {":one": N(1), ":two": N(2)}
    assert cond("a = :two OR a = :one AND b = :two", item, values=v)
    assert not cond("NOT a = :one AND b = :two", item, values=v)
    assert cond("NOT (a = :two AND b = :one)", item, values=v)


def test_comparators_between_in():
    item = {"n": N("10.5"), "s": S("abc"), "b": {"B": b"\x01\x02"}}
    v = {":lo": N(10), ":hi": N(11), ":a": S("abd"), ":x": N(3)}
    assert cond("n BETWEEN :lo AND :hi", item, values=v)
    assert cond("s < :a", item, values=v)
    assert cond("n IN (:x, :lo, :hi) OR n > :lo", item, values=v)
    assert not cond("n IN (:x, :lo)", item, values=v)
    assert not cond("s < :x", item, values=v)          # different types never order


def test_missing_attribute_semantics():
    v = {":v": N(1)}
    assert cond("a <> :v", {}, values=v)
    assert not cond("a = :v", {}, values=v)
    assert not cond("a < :v", {}, values=v)
    assert cond("attribute_not_exists(a)", {})


def test_functions():
    item = {"s": S("hello"), "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2.0"]},
            "l": {"L": [S("q"), N(5)]}, "m": {"M": {"k": S("v")}}, "b": {"B": b"abc"}}
    v = {":h": S("he"), ":x": S("x"), ":two": N(2), ":five": N(5), ":t": S("SS"), ":bb": {"B": b"ab"}}
    assert cond("begins_with(s, :h) AND begins_with(b, :bb)", item, values=v)
    assert cond("contains(ss, :x) AND contains(ns, :two) AND contains(l, :five)", item, values=v)
    assert cond("attribute_type(ss, :t)", item, values=v)
    assert cond("size(s) = :five AND size(l) = :two AND size(m.k) < :two", item, values=v)
    assert cond("attribute_exists(m.k) AND attribute_exists(l[1])", item)
    assert not cond("attribute_exists(l[5])", item)


def test_names_and_nested_paths():
    item = {"a.b": N(1), "a": {"M": {"b": {"L": [N(7)]}}}}
    assert cond("#ab = :one", item, names={"#ab": "a.b"}, values={":one": N(1)})
    assert cond("a.b[0] = :seven", item, values={":seven": N(7)})


@pytest.mark.parametrize("req,op,message", [
    ({"ConditionExpression": "name = :v", "ExpressionAttributeValues": {":v": S("x")}}, "PutItem",
     "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"),
    ({"ConditionExpression": "a = :v"}, "PutItem",
     "Invalid ConditionExpression: An expression attribute value used in expression is not defined; "
     "attribute value: :v"),
    ({"ConditionExpression": "#a = :v", "ExpressionAttributeValues": {":v": S("x")}}, "PutItem",
     "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; "
     "attribute name: #a"),
    ({"ConditionExpression": "a = :v", "ExpressionAttributeValues": {":v": S("x"), ":w": S("y")}}, "PutItem",
     "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"),
    ({"ConditionExpression": "a = :v", "ExpressionAttributeValues": {":v": S("x")},
      "ExpressionAttributeNames": {"#n": "x"}}, "PutItem",
     "Value provided in ExpressionAttributeNames unused in expressions: keys: {#n}"),
    ({"ConditionExpression": "a = :v", "ExpressionAttributeNames": {"n": "x"}}, "PutItem",
     'ExpressionAttributeNames contains invalid key: Syntax error; key: "n"'),
    ({"ConditionExpression": "a = :v", "ExpressionAttributeValues": {}}, "PutItem",
     "ExpressionAttributeValues must not be empty"),
    ({"ConditionExpression": ""}, "PutItem", "Invalid ConditionExpression: The expression can not be empty;"),
    ({"ConditionExpression": "a = :v AND", "ExpressionAttributeValues": {":v": S("x")}}, "PutItem",
     'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND"'),
    ({"ConditionExpression": "size(a)"}, "PutItem",
     "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; "
     "function: size"),
    ({"ConditionExpression": "nope(a)"}, "PutItem", "Invalid ConditionExpression: Invalid function name; function: nope"),
    ({"ConditionExpression": "attribute_exists(a, b)"}, "PutItem",
     "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or "
     "function: attribute_exists, number of operands: 2"),
    ({"ConditionExpression": "begins_with(a, :n)", "ExpressionAttributeValues": {":n": N(1)}}, "PutItem",
     "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: "
     "begins_with, operand type: N"),
    ({"ConditionExpression": "attribute_type(a, :t)", "ExpressionAttributeValues": {":t": S("XX")}}, "PutItem",
     "Invalid ConditionExpression: Invalid attribute type name found; type: XX, valid types: "
     "{N,BS,L,B,NULL,M,S,SS,NS,BOOL}"),
    ({"ConditionExpression": "a = a"}, "PutItem",
     "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this "
     "operator or function; operator: =, first operand: [a]"),
    ({"ConditionExpression": "if_not_exists(a, :v) = :v", "ExpressionAttributeValues": {":v": N(1)}}, "PutItem",
     "Invalid ConditionExpression: The function is not allowed in a condition expression; function: if_not_exists"),
    ({"UpdateExpression": "SET a = :v SET b = :v", "ExpressionAttributeValues": {":v": N(1)}}, "UpdateItem",
     'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'),
    ({"UpdateExpression": "SET a = :v, a.b = :v", "ExpressionAttributeValues": {":v": N(1)}}, "UpdateItem",
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of "
     "these paths; path one: [a], path two: [a, b]"),
    ({"UpdateExpression": "SET a[1] = :v REMOVE a.b", "ExpressionAttributeValues": {":v": N(1)}}, "UpdateItem",
     "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of "
     "these paths; path one: [a, [1]], path two: [a, b]"),
    ({"UpdateExpression": "ADD a :v", "ExpressionAttributeValues": {":v": S("x")}}, "UpdateItem",
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand "
     "type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"),
    ({"UpdateExpression": "SET a = :v + :w", "ExpressionAttributeValues": {":v": N(1), ":w": S("x")}},
     "UpdateItem", "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or "
     "function: +, operand type: S"),
    ({"UpdateExpression": "SET a = size(b)"}, "UpdateItem",
     "Invalid UpdateExpression: The function is not allowed in an update expression; function: size"),
    ({"UpdateExpression": "SET a = :v", "AttributeUpdates": {}, "ExpressionAttributeValues": {":v": N(1)}},
     "UpdateItem", "Can not use both expression and non-expression parameters in the same request: "
     "Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}"),
    ({"ExpressionAttributeValues": {":v": N(1)}}, "UpdateItem",
     "ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and "
     "ConditionExpression are null"),
    ({"ConditionExpression": "a BETWEEN :hi AND :lo", "ExpressionAttributeValues": {":lo": N(1), ":hi": N(5)}},
     "PutItem", "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or "
     "equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}"),
    ({"ProjectionExpression": "a, a.b"}, "GetItem",
     "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of "
     "these paths; path one: [a], path two: [a, b]"),
    ({"ConditionExpression": "((a = :v))", "ExpressionAttributeValues": {":v": N(1)}}, "PutItem",
     "Invalid ConditionExpression: The expression has redundant parentheses;"),
    ({"ConditionExpression": "a = :v", "ExpressionAttributeValues": {":v": {"NS": []}}}, "PutItem",
     "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: An number "
     "set  may not be empty for key :v"),
])
def test_validation_messages(req, op, message):
    assert error(req, op) == message


def test_unused_keys_are_listed_in_java_hash_set_order():
    assert java_set_order([":b", ":a"], 2) == [":a", ":b"]


def test_update_set_arithmetic_and_functions():
    item = {"pk": S("k"), "n": N(5), "l": {"L": [N(1)]}}
    v = {":one": N(1), ":l": {"L": [N(2)]}, ":z": N(0)}
    out = update("SET n = n - :one, l = list_append(l, :l), c = if_not_exists(c, :z) + :one", item, v)
    assert out["n"] == N(4) and out["l"] == {"L": [N(1), N(2)]} and out["c"] == N(1)
    assert item["n"] == N(5)                                  # the input is not changed


def test_update_numbers_have_38_digits():
    big = "9" * 38
    out = update("SET n = n + :v", {"n": N(big)}, {":v": N("0")})
    assert out["n"] == N(big)
    with pytest.raises(AwsError) as e:
        update("SET n = n + :v", {"n": N(big)}, {":v": N("0.1")})
    assert e.value.message == "Attempting to store more than 38 significant digits in a Number"


def test_update_remove_add_delete_and_lists():
    item = {"l": {"L": [N(0), N(1), N(2)]}, "s": {"SS": ["a", "b"]}, "n": N(1), "t": {"SS": ["a", "b"]}}
    out = update("REMOVE l[0], l[2] ADD s :s, n :two, fresh :two DELETE t :d", item,
                 {":s": {"SS": ["c"]}, ":two": N(2), ":d": {"SS": ["a"]}})
    assert out["l"] == {"L": [N(1)]} and out["n"] == N(3) and out["fresh"] == N(2)
    assert out["s"] == {"SS": ["a", "b", "c"]} and out["t"] == {"SS": ["b"]}
    out = update("DELETE s :d", {"s": {"SS": ["a"]}}, {":d": {"SS": ["a"]}})
    assert "s" not in out                                      # an emptied set is removed
    out = update("SET l[10] = :v", {"l": {"L": [N(0)]}}, {":v": N(9)})
    assert out["l"] == {"L": [N(0), N(9)]}                     # past the end appends


@pytest.mark.parametrize("expr,item,message", [
    ("SET a.b = :v", {}, "The document path provided in the update expression is invalid for update"),
    ("SET a = b + :v", {}, "The provided expression refers to an attribute that does not exist in the item"),
    ("SET a = b + :v", {"b": S("x")}, "An operand in the update expression has an incorrect data type"),
    ("ADD a :v", {"a": S("x")}, "An operand in the update expression has an incorrect data type"),
])
def test_update_runtime_errors(expr, item, message):
    with pytest.raises(AwsError) as e:
        update(expr, item, {":v": N(1)})
    assert e.value.message == message


def test_update_of_key_refused():
    with pytest.raises(AwsError) as e:
        update("SET pk = :v", {"pk": S("x")}, {":v": S("y")})
    assert e.value.message == ("One or more parameter values were invalid: Cannot update attribute pk. "
                               "This attribute is part of the key")


def test_projection_of_nested_paths():
    p = prepare({"ProjectionExpression": "a.b, l[1], #c", "ExpressionAttributeNames": {"#c": "c"}}, "GetItem")
    item = {"a": {"M": {"b": N(1), "x": N(2)}}, "l": {"L": [N(0), N(1)]}, "c": S("c"), "d": S("d")}
    assert p.project(item) == {"a": {"M": {"b": N(1)}}, "l": {"L": [N(1)]}, "c": S("c")}


def test_legacy_parameters():
    p = prepare({"Expected": {"a": {"Value": N(1)}, "b": {"Exists": False}}}, "PutItem")
    assert p.holds(p.condition, {"a": N(1)}) and not p.holds(p.condition, {"a": N(1), "b": N(1)})
    p = prepare({"ScanFilter": {"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(1), N(3)]}}}, "Scan")
    assert p.holds(p.filter, {"a": N(2)})
    p = prepare({"AttributesToGet": ["a"]}, "GetItem")
    assert p.project({"a": N(1), "b": N(2)}) == {"a": N(1)}
    p = prepare({"AttributeUpdates": {"n": {"Action": "ADD", "Value": N(2)}, "x": {"Action": "DELETE"}}},
                "UpdateItem", ["pk"])
    assert p.apply_update({"pk": S("k"), "n": N(1), "x": N(0)}, ["pk"]) == {"pk": S("k"), "n": N(3)}
    assert error({"Expected": {"a": {"ComparisonOperator": "EQ"}}}, "PutItem") == (
        "One or more parameter values were invalid: Value or AttributeValueList must be used with "
        "ComparisonOperator: EQ for Attribute: a")


def test_key_conditions():
    p = prepare({"KeyConditionExpression": ":p = pk AND sk BETWEEN :a AND :b",
                 "ExpressionAttributeValues": {":p": S("x"), ":a": N(1), ":b": N(2)}}, "Query", ["pk", "sk"])
    assert p.key == [(("pk",), "=", [S("x")]), (("sk",), "BETWEEN", [N(1), N(2)])]
    assert error({"KeyConditionExpression": "pk = :p OR sk = :p", "ExpressionAttributeValues": {":p": S("x")}},
                 "Query") == "Invalid operator used in KeyConditionExpression: OR"
