"""DynamoDB Query and Scan through boto3: paging by Limit and by the 1 MB page, LastEvaluatedKey
on local and global indexes, parallel scans, Select, and expression errors with AWS's texts;
the resource API with boto3.dynamodb.conditions."""

from __future__ import annotations

from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

TABLE = dict(
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                          {"AttributeName": "lsk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
    LocalSecondaryIndexes=[{"IndexName": "by_lsk", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                                 {"AttributeName": "lsk", "KeyType": "RANGE"}],
                            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["extra"]}}],
    GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                             "Projection": {"ProjectionType": "KEYS_ONLY"}}],
    BillingMode="PAY_PER_REQUEST")


def _error(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.fixture
def ddb(aws_client):
    client = aws_client("dynamodb")
    client.create_table(TableName="t", **TABLE)
    return client


def _fill(ddb, n=40, partition="p"):
    for start in range(0, n, 25):
        ddb.batch_write_item(RequestItems={"t": [
            {"PutRequest": {"Item": {"pk": {"S": partition}, "sk": {"N": str(i)}, "lsk": {"S": f"l{(n - i):03d}"},
                                     "g": {"S": "same"}, "extra": {"N": str(i)}, "other": {"S": "o"}}}}
            for i in range(start, min(start + 25, n))]})


def _pages(call, **kw):
    pages, start = [], None
    while True:
        page = call(**kw, **({"ExclusiveStartKey": start} if start else {}))
        pages.append(page)
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


def test_query_paging_on_table_lsi_and_gsi(ddb):
    _fill(ddb)
    q = dict(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}, Limit=7)
    pages = _pages(ddb.query, **q)
    assert [i["sk"]["N"] for p in pages for i in p["Items"]] == [str(i) for i in range(40)]
    assert pages[0]["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "6"}}
    pages = _pages(ddb.query, **q, IndexName="by_lsk")
    items = [i for p in pages for i in p["Items"]]
    assert [i["lsk"]["S"] for i in items] == sorted(i["lsk"]["S"] for i in items) and len(items) == 40
    assert set(items[0]) == {"pk", "sk", "lsk", "extra"}
    assert set(pages[0]["LastEvaluatedKey"]) == {"pk", "sk", "lsk"}
    backwards = _pages(ddb.query, **q, IndexName="by_lsk", ScanIndexForward=False)
    assert [i for p in backwards for i in p["Items"]] == items[::-1]
    gsi = _pages(ddb.query, TableName="t", IndexName="by_g", KeyConditionExpression="g = :g",
                 ExpressionAttributeValues={":g": {"S": "same"}}, Limit=9)
    items = [i for p in gsi for i in p["Items"]]
    assert len(items) == 40 and len({i["sk"]["N"] for i in items}) == 40
    assert set(gsi[0]["LastEvaluatedKey"]) == {"pk", "sk", "g"}
    assert set(items[0]) == {"pk", "sk", "g"}
    # an LSI may return attributes it does not project (fetched from the table); a GSI may not
    full = ddb.query(**q, IndexName="by_lsk", Select="ALL_ATTRIBUTES")["Items"][0]
    assert "other" in full
    assert _error(ddb.query, TableName="t", IndexName="by_g", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "same"}}, Select="ALL_ATTRIBUTES") == (
        "ValidationException", "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not "
        "supported for global secondary index by_g because its projection type is not ALL")


def test_query_range_conditions(ddb):
    _fill(ddb, 20)

    def sks(expr, **values):
        vals = {":p": {"S": "p"}, **{f":{k}": {"N": str(v)} for k, v in values.items()}}
        return [int(i["sk"]["N"]) for i in ddb.query(TableName="t", KeyConditionExpression=expr,
                                                     ExpressionAttributeValues=vals)["Items"]]
    assert sks("pk = :p AND sk < :a", a=3) == [0, 1, 2]
    assert sks("pk = :p AND sk <= :a", a=2) == [0, 1, 2]
    assert sks("pk = :p AND sk > :a", a=17) == [18, 19]
    assert sks("pk = :p AND sk >= :a", a=18) == [18, 19]
    assert sks("pk = :p AND sk BETWEEN :a AND :b", a=5, b=7) == [5, 6, 7]
    assert sks(":a = sk AND pk = :p", a=4) == [4]
    got = ddb.query(TableName="t", IndexName="by_lsk", KeyConditionExpression="pk = :p AND begins_with(lsk, :l)",
                    ExpressionAttributeValues={":p": {"S": "p"}, ":l": {"S": "l01"}})
    assert sorted(i["lsk"]["S"] for i in got["Items"]) == [f"l{i:03d}" for i in range(10, 20)]


def test_one_megabyte_pages(ddb):
    big = "x" * (100 * 1024)
    for i in range(25):
        ddb.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "b": {"S": big}})
    first = ddb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert 9 <= first["Count"] <= 11 and first["LastEvaluatedKey"]["sk"]["N"] == str(first["Count"] - 1)
    pages = _pages(ddb.query, TableName="t", KeyConditionExpression="pk = :p",
                   ExpressionAttributeValues={":p": {"S": "p"}})
    assert sum(p["Count"] for p in pages) == 25 and len(pages) == 3
    scans = _pages(ddb.scan, TableName="t", Select="COUNT")
    assert sum(p["Count"] for p in scans) == 25 and len(scans) == 3
    # filtered-out items still count toward the page
    filtered = ddb.query(TableName="t", KeyConditionExpression="pk = :p", FilterExpression="b = :n",
                         ExpressionAttributeValues={":p": {"S": "p"}, ":n": {"N": "100"}})
    assert filtered["Count"] == 0 and filtered["ScannedCount"] == first["Count"] and "LastEvaluatedKey" in filtered


def test_limit_equal_to_result_still_gives_last_key(ddb):
    _fill(ddb, 3)
    out = ddb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                    Limit=3)
    assert out["Count"] == 3 and out["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "2"}}
    after = ddb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                      ExclusiveStartKey=out["LastEvaluatedKey"])
    assert after["Count"] == 0 and "LastEvaluatedKey" not in after


def test_parallel_scan_segments_partition_the_table(ddb):
    for p in range(60):
        ddb.put_item(TableName="t", Item={"pk": {"S": f"k{p}"}, "sk": {"N": "1"}, "g": {"S": f"g{p % 5}"}})
    seen = []
    for segment in range(3):
        for page in _pages(ddb.scan, TableName="t", Segment=segment, TotalSegments=3, Limit=4):
            seen += [i["pk"]["S"] for i in page["Items"]]
    assert sorted(seen) == sorted(f"k{p}" for p in range(60))
    gsi = [i["pk"]["S"] for s in range(2) for p in _pages(ddb.scan, TableName="t", IndexName="by_g",
                                                         Segment=s, TotalSegments=2) for i in p["Items"]]
    assert sorted(gsi) == sorted(seen)
    assert _error(ddb.scan, TableName="t", Segment=3, TotalSegments=3) == (
        "ValidationException", "The Segment parameter is zero-based and must be less than parameter TotalSegments: "
        "Segment: 3 is not less than TotalSegments: 3")
    assert _error(ddb.scan, TableName="t", Segment=1)[0] == "ValidationException"


def test_select_rules(ddb):
    _fill(ddb, 3)
    q = dict(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert ddb.query(**q, Select="COUNT")["Count"] == 3
    assert "Items" not in ddb.query(**q, Select="COUNT")
    assert _error(ddb.query, **q, Select="COUNT", ProjectionExpression="sk")[1].endswith(
        "Cannot specify the ProjectionExpression when choosing to get only the Count")
    assert _error(ddb.query, **q, Select="ALL_ATTRIBUTES", ProjectionExpression="sk")[1].endswith(
        "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES")
    assert _error(ddb.query, **q, Select="ALL_PROJECTED_ATTRIBUTES")[1] == \
        "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"
    assert _error(ddb.scan, TableName="t", Select="SPECIFIC_ATTRIBUTES")[1].endswith(
        "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
    assert _error(ddb.scan, TableName="t", Select="COUNT", AttributesToGet=["sk"])[1].endswith(
        "Cannot specify the AttributesToGet when choosing to get only the Count")
    items = ddb.query(**q, Select="SPECIFIC_ATTRIBUTES", ProjectionExpression="sk, extra")["Items"]
    assert items[0] == {"sk": {"N": "0"}, "extra": {"N": "0"}}
    assert _error(ddb.query, TableName="t", IndexName="by_g", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "same"}}, ProjectionExpression="sk, extra") == (
        "ValidationException", "One or more parameter values were invalid: Global secondary index by_g does not "
        "project [extra]")
    # a local index fetches what it does not project from the table
    items = ddb.query(**q, IndexName="by_lsk", ProjectionExpression="#o", ExpressionAttributeNames={"#o": "other"})["Items"]
    assert items[0] == {"other": {"S": "o"}}


def test_query_errors(ddb):
    def q(expr, values=None, **kw):
        return _error(ddb.query, TableName="t", KeyConditionExpression=expr,
                      ExpressionAttributeValues=values or {":p": {"S": "p"}}, **kw)
    assert q("sk = :n", {":n": {"N": "1"}}) == ("ValidationException", "Query condition missed key schema element: pk")
    assert q("pk = :p AND extra = :p") == ("ValidationException", "Query condition missed key schema element: sk")
    assert q("pk = :n", {":n": {"N": "1"}}) == \
        ("ValidationException", "One or more parameter values were invalid: Condition parameter type does not match "
         "schema type")
    assert q("pk = :p OR pk = :p") == ("ValidationException", "Invalid operator used in KeyConditionExpression: OR")
    assert q("pk > :p") == ("ValidationException", "Query key condition not supported")
    assert q("pk = :p AND begins_with(sk, :n)", {":p": {"S": "p"}, ":n": {"N": "1"}}) == (
        "ValidationException", "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
        "operator or function: begins_with, operand type: N")
    assert q("pk = :p", FilterExpression="sk > :p") == (
        "ValidationException", "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk")
    assert q("pk = :p", IndexName="nope") == ("ValidationException", "The table does not have the specified index: nope")
    assert q("pk = :p", ExclusiveStartKey={"pk": {"S": "p"}}) == (
        "ValidationException", "The provided starting key is invalid: The provided key element does not match the schema")
    assert q("g = :p", IndexName="by_g", ConsistentRead=True) == \
        ("ValidationException", "Consistent reads are not supported on global secondary indexes")
    assert _error(ddb.query, TableName="t")[1] == \
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."


@pytest.mark.parametrize("kw,message", [
    ({"FilterExpression": "a = :v", "ExpressionAttributeValues": {}}, "ExpressionAttributeValues must not be empty"),
    ({"FilterExpression": "a = :v"},
     "Invalid FilterExpression: An expression attribute value used in expression is not defined; attribute value: :v"),
    ({"FilterExpression": "a = :v", "ExpressionAttributeValues": {":w": {"S": "x"}}},
     "Invalid FilterExpression: An expression attribute value used in expression is not defined; attribute value: :v"),
    ({"FilterExpression": "#a = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}},
     "Invalid FilterExpression: An expression attribute name used in the document path is not defined; "
     "attribute name: #a"),
    ({"FilterExpression": "a = :v", "ExpressionAttributeValues": {":v": {"S": "x"}, ":u": {"S": "y"}}},
     "Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}"),
    ({"ProjectionExpression": "a", "ExpressionAttributeNames": {"#n": "n"}},
     "Value provided in ExpressionAttributeNames unused in expressions: keys: {#n}"),
    ({"FilterExpression": "name = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}},
     "Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: name"),
    ({"FilterExpression": "a = = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}},
     'Invalid FilterExpression: Syntax error; token: "=", near: "= = :v"'),
    ({"FilterExpression": "((a = :v))", "ExpressionAttributeValues": {":v": {"S": "x"}}},
     "Invalid FilterExpression: The expression has redundant parentheses;"),
    ({"FilterExpression": "foo(a)"}, "Invalid FilterExpression: Invalid function name; function: foo"),
    ({"FilterExpression": "size(a)"},
     "Invalid FilterExpression: The function is not allowed to be used this way in an expression; function: size"),
    ({"FilterExpression": "a < :v", "ExpressionAttributeValues": {":v": {"BOOL": True}}},
     "Invalid FilterExpression: Incorrect operand type for operator or function; operator or function: <, "
     "operand type: BOOL"),
    ({"FilterExpression": "a BETWEEN :hi AND :lo", "ExpressionAttributeValues": {":hi": {"N": "2"}, ":lo": {"N": "1"}}},
     "Invalid FilterExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower "
     "bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}"),
    ({"FilterExpression": "attribute_type(a, :t)", "ExpressionAttributeValues": {":t": {"S": "X"}}},
     "Invalid FilterExpression: Invalid attribute type name found; type: X, valid types: {N,BS,L,B,NULL,M,S,SS,NS,BOOL}"),
    ({"FilterExpression": "a = a"},
     "Invalid FilterExpression: The first operand must be distinct from the remaining operands for this operator or "
     "function; operator: =, first operand: [a]"),
    ({"ProjectionExpression": "a, a.b"},
     "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these "
     "paths; path one: [a], path two: [a, b]"),
    ({"ProjectionExpression": ""}, "Invalid ProjectionExpression: The expression can not be empty;"),
    ({"FilterExpression": "a = :v", "ScanFilter": {"a": {"ComparisonOperator": "NULL"}},
      "ExpressionAttributeValues": {":v": {"S": "x"}}},
     "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: "
     "{ScanFilter} Expression parameters: {FilterExpression}"),
    ({"ExpressionAttributeNames": {"#a": "a"}}, "ExpressionAttributeNames can only be specified when using expressions"),
    ({"ExpressionAttributeValues": {":a": {"S": "a"}}},
     "ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null"),
    ({"FilterExpression": "a[1234567890123] = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}},
     "Invalid FilterExpression: List index is not within the allowable range; index: [1234567890123]"),
])
def test_expression_errors(ddb, kw, message):
    assert _error(ddb.scan, TableName="t", **kw) == ("ValidationException", message)


@pytest.mark.parametrize("kw,message", [
    ({"UpdateExpression": "SET a = :v, a = :v"},
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these "
     "paths; path one: [a], path two: [a]"),
    ({"UpdateExpression": "SET a = :v SET b = :v"},
     'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'),
    ({"UpdateExpression": "SET a = size(b)"},
     "Invalid UpdateExpression: The function is not allowed in an update expression; function: size"),
    ({"UpdateExpression": "ADD a :s", "Vals": {":s": {"S": "x"}}},
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: "
     "STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"),
    ({"UpdateExpression": "DELETE a :n", "Vals": {":n": {"N": "1"}}},
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: "
     "NUMBER, typeSet: ALLOWED_FOR_DELETE_OPERAND"),
    ({"UpdateExpression": "SET a = :v + :v", "Vals": {":v": {"S": "x"}}},
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand "
     "type: S"),
    ({"UpdateExpression": "SET a = list_append(:v, :v)", "Vals": {":v": {"N": "1"}}},
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, "
     "operand type: N"),
    ({"UpdateExpression": "SET a = :v", "ConditionExpression": "if_not_exists(a, :v)"},
     "Invalid ConditionExpression: The function is not allowed in a condition expression; function: if_not_exists"),
    ({"UpdateExpression": "SET m.x = :v"}, "The document path provided in the update expression is invalid for update"),
    ({"UpdateExpression": "SET n = n + :v", "Vals": {":v": {"N": "1"}}},
     "The provided expression refers to an attribute that does not exist in the item"),
    ({"UpdateExpression": "SET s = s + :v", "Vals": {":v": {"N": "1"}}, "Item": {"s": {"S": "x"}}},
     "An operand in the update expression has an incorrect data type"),
    ({"UpdateExpression": ""}, "Invalid UpdateExpression: The expression can not be empty;"),
])
def test_update_expression_errors(ddb, kw, message):
    key = {"pk": {"S": "u"}, "sk": {"N": "1"}}
    ddb.put_item(TableName="t", Item={**key, **kw.pop("Item", {})})
    values = kw.pop("Vals", {":v": {"S": "x"}})
    assert _error(ddb.update_item, TableName="t", Key=key, ExpressionAttributeValues=values, **kw) == \
        ("ValidationException", message)


def test_resource_api_with_conditions(haneul_server, aws_account, aws_client):
    aws_client("dynamodb").create_table(TableName="t", **TABLE)
    db = boto3.resource("dynamodb", endpoint_url=haneul_server.endpoint, region_name="us-east-1",
                        aws_access_key_id=aws_account, aws_secret_access_key="x")
    table = db.Table("t")
    with table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
        for i in range(60):
            batch.put_item(Item={"pk": "p", "sk": i, "lsk": f"l{i:02d}", "g": "even" if i % 2 == 0 else "odd",
                                 "price": Decimal(i) / 4, "tags": {"t", f"t{i % 3}"}, "doc": {"n": i, "l": [i]}})
        batch.delete_item(Key={"pk": "p", "sk": 59})
    assert table.item_count == 59
    out = table.query(KeyConditionExpression=Key("pk").eq("p") & Key("sk").between(10, 20),
                      FilterExpression=Attr("price").gte(Decimal("3.5")) & Attr("tags").contains("t1")
                      & Attr("doc.l[0]").exists() & ~Attr("g").eq("odd"))
    assert [i["sk"] for i in out["Items"]] == [16]
    out = table.scan(FilterExpression=Attr("lsk").begins_with("l5") | Attr("sk").is_in([1, 2]),
                     ProjectionExpression="sk, doc.n")
    assert sorted(i["sk"] for i in out["Items"]) == [1, 2, 50, 51, 52, 53, 54, 55, 56, 57, 58]
    assert out["Items"][0]["doc"].keys() == {"n"}
    out = table.query(IndexName="by_g", KeyConditionExpression=Key("g").eq("even"), Select="COUNT")
    assert out["Count"] == 30
    out = table.scan(FilterExpression=Attr("missing").not_exists() & Attr("doc.n").lt(3) & Attr("tags").size().eq(2)
                     & Attr("price").attribute_type("N") & Attr("lsk").ne("l00"))
    assert sorted(i["sk"] for i in out["Items"]) == [1, 2]
    table.update_item(Key={"pk": "p", "sk": 1}, UpdateExpression="SET doc.l = list_append(doc.l, :x) ADD tags :t",
                      ExpressionAttributeValues={":x": [Decimal(9)], ":t": {"new"}})
    item = table.get_item(Key={"pk": "p", "sk": 1})["Item"]
    assert item["doc"]["l"] == [1, 9] and item["tags"] == {"t", "t1", "new"}
    with pytest.raises(ClientError) as e:
        table.put_item(Item={"pk": "p", "sk": 1}, ConditionExpression=Attr("pk").not_exists())
    assert e.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
