"""DynamoDB items through boto3: the ReturnValues matrix, conditional writes, numbers at 38
digits, binary and sets, the 400 KB item limit by AWS's size formula, batch limits and
transactions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

KEYS = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST")
K = {"pk": {"S": "a"}, "sk": {"N": "1"}}


def _error(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.fixture
def ddb(aws_client):
    client = aws_client("dynamodb")
    client.create_table(TableName="t", **KEYS)
    return client


def test_put_and_delete_return_values(ddb):
    assert "Attributes" not in ddb.put_item(TableName="t", Item={**K, "v": {"S": "1"}}, ReturnValues="ALL_OLD")
    out = ddb.put_item(TableName="t", Item={**K, "v": {"S": "2"}}, ReturnValues="ALL_OLD")
    assert out["Attributes"] == {**K, "v": {"S": "1"}}
    for rv in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"):
        assert _error(ddb.put_item, TableName="t", Item=K, ReturnValues=rv) == \
            ("ValidationException", "Return values set to invalid value")
        assert _error(ddb.delete_item, TableName="t", Key=K, ReturnValues=rv) == \
            ("ValidationException", "Return values set to invalid value")
    assert ddb.delete_item(TableName="t", Key=K, ReturnValues="ALL_OLD")["Attributes"]["v"] == {"S": "2"}
    assert "Attributes" not in ddb.delete_item(TableName="t", Key=K, ReturnValues="ALL_OLD")


@pytest.mark.parametrize("rv,expected", [
    ("NONE", None),
    ("ALL_OLD", {**K, "a": {"N": "1"}, "b": {"S": "x"}, "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}}),
    ("ALL_NEW", {**K, "a": {"N": "2"}, "c": {"S": "new"}, "m": {"M": {"x": {"N": "5"}, "y": {"N": "2"}}}}),
    ("UPDATED_OLD", {"a": {"N": "1"}, "b": {"S": "x"}, "m": {"M": {"x": {"N": "1"}}}}),
    ("UPDATED_NEW", {"a": {"N": "2"}, "c": {"S": "new"}, "m": {"M": {"x": {"N": "5"}}}}),
])
def test_update_return_values(ddb, rv, expected):
    ddb.put_item(TableName="t", Item={**K, "a": {"N": "1"}, "b": {"S": "x"},
                                      "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}})
    out = ddb.update_item(TableName="t", Key=K, UpdateExpression="SET a = a + :one, c = :c, m.x = :five REMOVE b",
                          ExpressionAttributeValues={":one": {"N": "1"}, ":c": {"S": "new"}, ":five": {"N": "5"}},
                          ReturnValues=rv)
    assert out.get("Attributes") == expected


def test_update_creates_item_and_updated_old_of_new_item(ddb):
    out = ddb.update_item(TableName="t", Key=K, UpdateExpression="SET v = :v",
                          ExpressionAttributeValues={":v": {"S": "x"}}, ReturnValues="UPDATED_OLD")
    assert "Attributes" not in out
    assert ddb.get_item(TableName="t", Key=K)["Item"] == {**K, "v": {"S": "x"}}
    # an update with no expression at all still creates the item (with just its key)
    key2 = {"pk": {"S": "b"}, "sk": {"N": "2"}}
    assert ddb.update_item(TableName="t", Key=key2, ReturnValues="ALL_NEW")["Attributes"] == key2


def test_conditional_writes(ddb):
    ddb.put_item(TableName="t", Item={**K, "n": {"N": "5"}, "tags": {"SS": ["a", "b"]}})
    cases = [("attribute_not_exists(pk)", False), ("attribute_exists(pk)", True), ("n > :four", True),
             ("n BETWEEN :four AND :six", True), ("contains(tags, :a)", True), ("size(tags) = :two", True),
             ("n IN (:four, :six)", False), ("attribute_type(n, :ntype)", True), ("NOT n = :five", False),
             ("begins_with(pk, :a)", True)]
    values = {":four": {"N": "4"}, ":six": {"N": "6"}, ":a": {"S": "a"}, ":two": {"N": "2"},
              ":ntype": {"S": "N"}, ":five": {"N": "5"}}
    import re
    for expr, ok in cases:
        used = {k: v for k, v in values.items() if k in re.findall(r":\w+", expr)}
        kw = dict(TableName="t", Key=K, UpdateExpression="SET touched = :t", ConditionExpression=expr,
                  ExpressionAttributeValues={**used, ":t": {"BOOL": True}})
        if ok:
            ddb.update_item(**kw)
        else:
            with pytest.raises(ddb.exceptions.ConditionalCheckFailedException) as e:
                ddb.update_item(**kw, ReturnValuesOnConditionCheckFailure="ALL_OLD")
            assert e.value.response["Error"]["Message"] == "The conditional request failed"
            assert e.value.response["Item"]["n"] == {"N": "5"}
    # a condition on a missing item: attribute_exists fails, and no item is created
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException) as e:
        ddb.delete_item(TableName="t", Key={"pk": {"S": "zz"}, "sk": {"N": "1"}},
                        ConditionExpression="attribute_exists(pk)", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert "Item" not in e.value.response


def test_numbers_38_digits_and_limits(ddb):
    big = "1234567890123456789012345678901234567.8"        # 38 significant digits
    ddb.put_item(TableName="t", Item={**K, "n": {"N": big}, "small": {"N": "-1E-130"}, "huge": {"N": "9.9E+125"},
                                      "z": {"N": "-0.000"}, "t": {"N": "0012.3400"}})
    item = ddb.get_item(TableName="t", Key=K)["Item"]
    assert item["n"] == {"N": big}
    assert item["z"] == {"N": "0"} and item["t"] == {"N": "12.34"}
    assert item["huge"]["N"] == "99" + "0" * 124
    assert _error(ddb.put_item, TableName="t", Item={**K, "n": {"N": "1" * 39}}) == \
        ("ValidationException", "Attempting to store more than 38 significant digits in a Number")
    assert _error(ddb.put_item, TableName="t", Item={**K, "n": {"N": "1E+126"}}) == \
        ("ValidationException", "Number overflow. Attempting to store a number with magnitude larger than supported range")
    assert _error(ddb.put_item, TableName="t", Item={**K, "n": {"N": "1E-131"}}) == \
        ("ValidationException", "Number underflow. Attempting to store a number with magnitude smaller than supported range")
    assert _error(ddb.put_item, TableName="t", Item={**K, "n": {"N": "abc"}})[0] == "ValidationException"
    # arithmetic is exact, and overflow from arithmetic is refused
    ddb.put_item(TableName="t", Item={**K, "n": {"N": "0.1"}})
    ddb.update_item(TableName="t", Key=K, UpdateExpression="SET n = n + :x",
                    ExpressionAttributeValues={":x": {"N": "0.2"}})
    assert ddb.get_item(TableName="t", Key=K)["Item"]["n"] == {"N": "0.3"}
    ddb.put_item(TableName="t", Item={**K, "n": {"N": "9.9E+125"}})
    assert _error(ddb.update_item, TableName="t", Key=K, UpdateExpression="SET n = n + :x",
                  ExpressionAttributeValues={":x": {"N": "9.9E+125"}}) == \
        ("ValidationException", "Number overflow. Attempting to store a number with magnitude larger than supported range")
    ddb.put_item(TableName="t", Item={**K, "n": {"N": "1" * 38}})
    assert _error(ddb.update_item, TableName="t", Key=K, UpdateExpression="ADD n :x",
                  ExpressionAttributeValues={":x": {"N": "0.1"}}) == \
        ("ValidationException", "Attempting to store more than 38 significant digits in a Number")


def test_binary_and_sets(ddb):
    ddb.put_item(TableName="t", Item={**K, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"\x01", b"\x02"]},
                                      "ns": {"NS": ["1", "2.50"]}, "ss": {"SS": ["x", "y"]},
                                      "l": {"L": [{"NULL": True}, {"BOOL": False}]}, "e": {"S": ""}})
    item = ddb.get_item(TableName="t", Key=K)["Item"]
    assert item["b"] == {"B": b"\x00\xff"} and sorted(item["bs"]["BS"]) == [b"\x01", b"\x02"]
    assert sorted(item["ns"]["NS"]) == ["1", "2.5"] and item["e"] == {"S": ""}
    ddb.update_item(TableName="t", Key=K, UpdateExpression="ADD ss :more, ns :n DELETE bs :one",
                    ExpressionAttributeValues={":more": {"SS": ["y", "z"]}, ":n": {"NS": ["3"]},
                                               ":one": {"BS": [b"\x01"]}})
    item = ddb.get_item(TableName="t", Key=K)["Item"]
    assert sorted(item["ss"]["SS"]) == ["x", "y", "z"] and item["bs"] == {"BS": [b"\x02"]}
    assert sorted(item["ns"]["NS"]) == ["1", "2.5", "3"]
    ddb.update_item(TableName="t", Key=K, UpdateExpression="DELETE bs :two",
                    ExpressionAttributeValues={":two": {"BS": [b"\x02"]}})
    assert "bs" not in ddb.get_item(TableName="t", Key=K)["Item"]       # emptied sets vanish
    code, message = _error(ddb.put_item, TableName="t", Item={**K, "ss": {"SS": []}})
    assert code == "ValidationException" and "may not be empty" in message
    code, message = _error(ddb.put_item, TableName="t", Item={**K, "ss": {"SS": ["a", "a"]}})
    assert code == "ValidationException" and "contains duplicates" in message
    assert _error(ddb.put_item, TableName="t", Item={"pk": {"S": ""}, "sk": {"N": "1"}}) == (
        "ValidationException", "One or more parameter values are not valid. The AttributeValue for a key attribute "
        "cannot contain an empty string value. Key: pk")
    got = ddb.scan(TableName="t", FilterExpression="b = :b", ExpressionAttributeValues={":b": {"B": b"\x00\xff"}})
    assert got["Count"] == 1


def test_item_size_limit_is_exactly_400_kb(ddb):
    # size = name bytes + value bytes per attribute: pk "a" (2+1), sk 1 (2+2), "b" (1 + n)
    limit = 400 * 1024
    ddb.put_item(TableName="t", Item={**K, "b": {"S": "x" * (limit - 8)}})
    assert _error(ddb.put_item, TableName="t", Item={**K, "b": {"S": "x" * (limit - 7)}}) == \
        ("ValidationException", "Item size has exceeded the maximum allowed size")
    # multi-byte characters count in UTF-8 bytes
    assert _error(ddb.put_item, TableName="t", Item={**K, "b": {"S": "\u00e9" * (limit // 2)}})[0] == \
        "ValidationException"
    # a map costs 3 bytes, and each entry 1 byte more than its name and value
    inner = limit - 8 - 3 - (1 + 1)        # "b" + map overhead + entry overhead + entry name "k"
    ddb.put_item(TableName="t", Item={**K, "b": {"M": {"k": {"S": "x" * inner}}}})
    assert _error(ddb.put_item, TableName="t", Item={**K, "b": {"M": {"k": {"S": "x" * (inner + 1)}}}})[0] == \
        "ValidationException"
    assert _error(ddb.update_item, TableName="t", Key=K, UpdateExpression="SET c = :c",
                  ExpressionAttributeValues={":c": {"S": "x" * 100}}) == \
        ("ValidationException", "Item size to update has exceeded the maximum allowed size")


def test_batch_limits_and_unprocessed(ddb):
    puts = [{"PutRequest": {"Item": {"pk": {"S": f"p{i}"}, "sk": {"N": "1"}}}} for i in range(26)]
    code, message = _error(ddb.batch_write_item, RequestItems={"t": puts})
    assert code == "ValidationException" and "Member must have length less than or equal to 25" in message
    out = ddb.batch_write_item(RequestItems={"t": puts[:25]})
    assert out["UnprocessedItems"] == {}
    dup = [puts[0], puts[0]]
    assert _error(ddb.batch_write_item, RequestItems={"t": dup}) == \
        ("ValidationException", "Provided list of item keys contains duplicates")
    keys = [{"pk": {"S": f"p{i}"}, "sk": {"N": "1"}} for i in range(101)]
    code, message = _error(ddb.batch_get_item, RequestItems={"t": {"Keys": keys}})
    assert code == "ValidationException"
    got = ddb.batch_get_item(RequestItems={"t": {"Keys": keys[:30], "ProjectionExpression": "pk"}})
    assert len(got["Responses"]["t"]) == 25 and got["UnprocessedKeys"] == {}
    assert all(set(i) == {"pk"} for i in got["Responses"]["t"])
    assert _error(ddb.batch_get_item, RequestItems={"t": {"Keys": [keys[0], keys[0]]}}) == \
        ("ValidationException", "Provided list of item keys contains duplicates")
    assert _error(ddb.batch_write_item, RequestItems={"missing": puts[:1]})[0] == "ResourceNotFoundException"


def test_batch_get_16_mb_limit_returns_unprocessed_keys(ddb):
    big = "x" * (390 * 1024)
    for i in range(50):
        ddb.put_item(TableName="t", Item={"pk": {"S": f"p{i}"}, "sk": {"N": "1"}, "b": {"S": big}})
    keys = [{"pk": {"S": f"p{i}"}, "sk": {"N": "1"}} for i in range(50)]
    got = ddb.batch_get_item(RequestItems={"t": {"Keys": keys}})
    unprocessed = got["UnprocessedKeys"].get("t", {}).get("Keys", [])
    assert len(got["Responses"]["t"]) + len(unprocessed) == 50
    assert unprocessed and len(got["Responses"]["t"]) * 390 * 1024 <= 16 * 1024 * 1024 + 390 * 1024
    again = ddb.batch_get_item(RequestItems=got["UnprocessedKeys"])
    assert len(again["Responses"]["t"]) == len(unprocessed)


def test_transaction_cancellation_reasons_in_order(ddb):
    ddb.put_item(TableName="t", Item={**K, "n": {"N": "1"}})
    key2 = {"pk": {"S": "b"}, "sk": {"N": "1"}}
    items = [
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}, "sk": {"N": "1"}}}},
        {"Update": {"TableName": "t", "Key": K, "UpdateExpression": "SET n = n + :one",
                    "ConditionExpression": "n = :two", "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":two": {"N": "2"}}}},
        {"ConditionCheck": {"TableName": "t", "Key": key2, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Delete": {"TableName": "t", "Key": {"pk": {"S": "c"}, "sk": {"N": "1"}},
                    "ConditionExpression": "attribute_exists(pk)"}},
    ]
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as e:
        ddb.transact_write_items(TransactItems=items)
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed", "None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"] == {**K, "n": {"N": "1"}} and "Item" not in reasons[3]
    assert e.value.response["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, ConditionalCheckFailed, None, ConditionalCheckFailed]")
    assert "Item" not in ddb.get_item(TableName="t", Key={"pk": {"S": "new"}, "sk": {"N": "1"}})   # nothing written
    code, message = _error(ddb.transact_write_items, TransactItems=[items[1], {"Delete": {"TableName": "t", "Key": K}}])
    assert (code, message) == ("ValidationException",
                               "Transaction request cannot include multiple operations on one item")


def test_transaction_idempotency(ddb):
    put = [{"Put": {"TableName": "t", "Item": {**K, "v": {"S": "1"}}}}]
    ddb.transact_write_items(TransactItems=put, ClientRequestToken="tok-1")
    ddb.put_item(TableName="t", Item={**K, "v": {"S": "changed"}})
    ddb.transact_write_items(TransactItems=put, ClientRequestToken="tok-1")      # replay: no write
    assert ddb.get_item(TableName="t", Key=K)["Item"]["v"] == {"S": "changed"}
    other = [{"Put": {"TableName": "t", "Item": {**K, "v": {"S": "2"}}}}]
    assert _error(ddb.transact_write_items, TransactItems=other, ClientRequestToken="tok-1") == (
        "IdempotentParameterMismatchException",
        "Request parameters do not match with the parameters of the previous request with the same client token")


def test_transact_get_items(ddb):
    ddb.put_item(TableName="t", Item={**K, "a": {"S": "x"}, "b": {"S": "y"}})
    out = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": "t", "Key": K, "ProjectionExpression": "a"}},
        {"Get": {"TableName": "t", "Key": {"pk": {"S": "zz"}, "sk": {"N": "1"}}}}])
    assert out["Responses"] == [{"Item": {"a": {"S": "x"}}}, {}]


def test_key_validation_messages(ddb):
    assert _error(ddb.get_item, TableName="t", Key={"pk": {"S": "a"}}) == \
        ("ValidationException", "The provided key element does not match the schema")
    assert _error(ddb.get_item, TableName="t", Key={"pk": {"S": "a"}, "sk": {"S": "1"}}) == \
        ("ValidationException", "The provided key element does not match the schema")
    assert _error(ddb.put_item, TableName="t", Item={"pk": {"S": "a"}}) == \
        ("ValidationException", "One or more parameter values were invalid: Missing the key sk in the item")
    assert _error(ddb.update_item, TableName="t", Key=K, UpdateExpression="SET pk = :v",
                  ExpressionAttributeValues={":v": {"S": "b"}}) == (
        "ValidationException",
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key")


def test_overwrites_keep_capacity_and_table_size_exact(ddb):
    # PutItem reuses the size it measured and the stored size of the item it replaces
    big = ddb.put_item(TableName="t", Item={**K, "v": {"S": "x" * 2000}}, ReturnConsumedCapacity="TOTAL")
    assert big["ConsumedCapacity"]["CapacityUnits"] == 2.0
    small = ddb.put_item(TableName="t", Item={**K, "v": {"S": "y" * 100}}, ReturnConsumedCapacity="TOTAL")
    assert small["ConsumedCapacity"]["CapacityUnits"] == 2.0        # the larger of old and new
    assert "ConsumedCapacity" not in ddb.put_item(TableName="t", Item={**K, "v": {"S": "z" * 100}})
    ddb.put_item(TableName="t", Item={"pk": {"S": "b"}, "sk": {"N": "1"}, "v": {"S": "w" * 10}})
    ddb.update_item(TableName="t", Key={"pk": {"S": "b"}, "sk": {"N": "1"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"S": "q" * 20}})
    backup = ddb.create_backup(TableName="t", BackupName="sizes")["BackupDetails"]
    # pk "a" 3 + sk 1 (2 + 2) + v (1 + 100) = 108; the second item: 3 + 4 + (1 + 20) = 28
    assert backup["BackupSizeBytes"] == 108 + 28
