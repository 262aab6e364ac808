"""DynamoDB PartiQL through boto3: ExecuteStatement SELECT/INSERT/UPDATE/DELETE with
parameters, nested paths, indexes and paging; BatchExecuteStatement; ExecuteTransaction;
AWS's errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

TABLE = dict(
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                          {"AttributeName": "g", "AttributeType": "S"}],
    GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                             "Projection": {"ProjectionType": "ALL"}}],
    BillingMode="PAY_PER_REQUEST")


def _error(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.fixture
def ddb(aws_client):
    client = aws_client("dynamodb")
    client.create_table(TableName="music", **TABLE)
    return client


def run(ddb, statement, *params, **kw):
    if params:
        kw["Parameters"] = list(params)
    return ddb.execute_statement(Statement=statement, **kw)


def test_insert_select_update_delete(ddb):
    run(ddb, "INSERT INTO music VALUE {'pk': 'a', 'sk': 1, 'title': 'One', 'tags': <<'x', 'y'>>, "
             "'doc': {'n': 1, 'l': [1, 'two', {'deep': true}]}, 'nothing': null}")
    run(ddb, 'INSERT INTO "music" VALUE {\'pk\': ?, \'sk\': ?, \'g\': ?}', {"S": "a"}, {"N": "2"}, {"S": "grp"})
    item = ddb.get_item(TableName="music", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]
    assert item["tags"] == {"SS": ["x", "y"]} and item["doc"]["M"]["l"]["L"][2] == {"M": {"deep": {"BOOL": True}}}
    assert item["nothing"] == {"NULL": True}
    assert _error(ddb.execute_statement, Statement="INSERT INTO music VALUE {'pk': 'a', 'sk': 1}") == \
        ("DuplicateItemException", "Duplicate primary key exists in table")
    out = run(ddb, "SELECT * FROM music WHERE pk = 'a'")
    assert [i["sk"]["N"] for i in out["Items"]] == ["1", "2"]
    out = run(ddb, "SELECT title, doc.l[1], doc.n FROM music WHERE pk = ? AND sk = 1", {"S": "a"})
    assert out["Items"] == [{"title": {"S": "One"}, "doc": {"M": {"l": {"L": [{"S": "two"}]}, "n": {"N": "1"}}}}]
    out = run(ddb, "SELECT sk FROM music WHERE pk = 'a' AND doc.l[2].deep = true")
    assert out["Items"] == [{"sk": {"N": "1"}}]
    out = run(ddb, "SELECT sk FROM music WHERE pk = 'a' AND title IS MISSING")
    assert out["Items"] == [{"sk": {"N": "2"}}]
    out = run(ddb, 'SELECT * FROM "music"."by_g" WHERE g = \'grp\'')
    assert [i["sk"]["N"] for i in out["Items"]] == ["2"]
    out = run(ddb, "UPDATE music SET title = 'Uno', doc.n = doc.n + 41, extra = list_append(doc.l, [4]) "
                   "REMOVE nothing WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *")
    new = out["Items"][0]
    assert new["title"] == {"S": "Uno"} and new["doc"]["M"]["n"] == {"N": "42"} and "nothing" not in new
    assert len(new["extra"]["L"]) == 4
    out = run(ddb, "UPDATE music SET tags = set_add(tags, <<'z'>>) WHERE pk = 'a' AND sk = 1 RETURNING MODIFIED OLD *")
    assert out["Items"][0] == {"tags": {"SS": ["x", "y"]}}
    assert sorted(ddb.get_item(TableName="music", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]["tags"]["SS"]) \
        == ["x", "y", "z"]
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        run(ddb, "UPDATE music SET title = 'x' WHERE pk = 'a' AND sk = 1 AND title = 'nope'")
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        run(ddb, "UPDATE music SET title = 'x' WHERE pk = 'zz' AND sk = 1")       # no such item
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException) as e:
        run(ddb, "DELETE FROM music WHERE pk = 'a' AND sk = 1 AND title = 'One'",
            ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert e.value.response["Item"]["title"] == {"S": "Uno"}
    out = run(ddb, "DELETE FROM music WHERE pk = 'a' AND sk = 1 RETURNING ALL OLD *")
    assert out["Items"][0]["title"] == {"S": "Uno"}
    assert "Item" not in ddb.get_item(TableName="music", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    run(ddb, "DELETE FROM music WHERE pk = 'a' AND sk = 1")         # already gone: nothing happens


def test_select_filters_scans_and_pages(ddb):
    for i in range(12):
        run(ddb, "INSERT INTO music VALUE {'pk': ?, 'sk': ?, 'n': ?}", {"S": f"p{i % 3}"}, {"N": str(i)},
            {"N": str(i * 10)})
    out = run(ddb, "SELECT pk, sk FROM music WHERE n BETWEEN 20 AND 50 AND NOT sk = 3")
    assert sorted(int(i["sk"]["N"]) for i in out["Items"]) == [2, 4, 5]
    out = run(ddb, "SELECT sk FROM music WHERE pk IN ['p0', 'p1'] AND sk >= 6")
    assert sorted(int(i["sk"]["N"]) for i in out["Items"]) == [6, 7, 9, 10]
    out = run(ddb, "SELECT sk FROM music WHERE begins_with(pk, 'p2') OR contains(pk, '1') AND n > 60")
    assert sorted(int(i["sk"]["N"]) for i in out["Items"]) == [2, 5, 7, 8, 10, 11]
    seen, token = [], None
    while True:
        page = ddb.execute_statement(Statement="SELECT sk FROM music", Limit=5, **({"NextToken": token} if token else {}))
        assert len(page["Items"]) <= 5
        seen += [int(i["sk"]["N"]) for i in page["Items"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == list(range(12))
    seen, token = [], None
    while True:
        page = ddb.execute_statement(Statement="SELECT sk FROM music WHERE pk = 'p1'", Limit=2,
                                     **({"NextToken": token} if token else {}))
        seen += [int(i["sk"]["N"]) for i in page["Items"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == [1, 4, 7, 10]


@pytest.mark.parametrize("statement,params,code,message", [
    ("SELEKT * FROM music", None, "ValidationException",
     "Statement wasn't well formed, can't be processed: Expected data manipulation"),
    ("SELECT * FROM music WHERE pk = ?", None, "ValidationException",
     "Number of parameters in request and statement don't match."),
    ("SELECT * FROM nope", None, "ResourceNotFoundException", "Requested resource not found"),
    ("UPDATE music SET title = 'x' WHERE pk = 'a'", None, "ValidationException",
     "Where clause does not contain a mandatory equality on all key attributes"),
    ("DELETE FROM music WHERE title = 'x'", None, "ValidationException",
     "Where clause does not contain a mandatory equality on all key attributes"),
    ("INSERT INTO music VALUE {'pk': 'a'}", None, "ValidationException",
     "One or more parameter values were invalid: Missing the key sk in the item"),
    ("INSERT INTO music VALUES ('a', 1)", None, "ValidationException",
     'Unsupported operation: Inserting multiple items in a single statement is not supported, use '
     '"INSERT INTO tableName VALUE item" instead'),
    ("SELECT *, pk FROM music", None, "ValidationException",
     "Other attributes should not be present in the projection when '*' is used."),
    ("SELECT * FROM music m", None, "ValidationException", "Aliasing is not supported"),
    ("SELECT * FROM music WHERE title = MISSING", None, "ValidationException",
     "MISSING must be compared using IS operator"),
    ("DELETE FROM music WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *", None, "ValidationException",
     "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in DELETE statements."),
    ("UPDATE music SET pk = 'b' WHERE pk = 'a' AND sk = 1", None, "ValidationException",
     "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"),
    ("INSERT INTO music VALUE {'pk': 'a', 'sk': 1, 'n': 1e126}", None, "ValidationException",
     "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ("SELECT * FROM music WHERE foo(pk)", None, "ValidationException", "Unrecognized function: foo"),
])
def test_statement_errors(ddb, statement, params, code, message):
    run(ddb, "INSERT INTO music VALUE {'pk': 'a', 'sk': 1, 'title': 'x'}")
    assert _error(ddb.execute_statement, Statement=statement, **({"Parameters": params} if params else {})) == \
        (code, message)


def test_batch_execute_statement(ddb):
    out = ddb.batch_execute_statement(Statements=[
        {"Statement": "INSERT INTO music VALUE {'pk': 'a', 'sk': 1}"},
        {"Statement": "INSERT INTO music VALUE {'pk': 'b', 'sk': 1}"},
        {"Statement": "INSERT INTO music VALUE {'pk': 'a', 'sk': 1}"},
        {"Statement": "INSERT INTO music VALUE {'pk': ?, 'sk': 1}"},
    ])["Responses"]
    assert out[0] == {"TableName": "music"} and out[1] == {"TableName": "music"}
    assert out[2]["Error"] == {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}
    assert out[3]["Error"] == {"Code": "ValidationError",
                               "Message": "Number of parameters in request and statement don't match."}
    out = ddb.batch_execute_statement(Statements=[
        {"Statement": "SELECT * FROM music WHERE pk = 'a' AND sk = 1"},
        {"Statement": "SELECT * FROM music WHERE pk = 'zz' AND sk = 1"},
        {"Statement": "SELECT * FROM music WHERE pk = 'a'"}])["Responses"]
    assert out[0] == {"TableName": "music", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}
    assert out[1] == {"TableName": "music"}
    assert out[2]["Error"] == {"Code": "ValidationError",
                               "Message": "Where clause does not contain a mandatory equality on all key attributes"}


def test_execute_transaction(ddb):
    run(ddb, "INSERT INTO music VALUE {'pk': 'a', 'sk': 1, 'n': 1}")
    ddb.execute_transaction(TransactStatements=[
        {"Statement": "UPDATE music SET n = n + 1 WHERE pk = 'a' AND sk = 1"},
        {"Statement": "INSERT INTO music VALUE {'pk': 'b', 'sk': 1}"}])
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as e:
        ddb.execute_transaction(TransactStatements=[
            {"Statement": "INSERT INTO music VALUE {'pk': 'c', 'sk': 1}"},
            {"Statement": "UPDATE music SET n = 0 WHERE pk = 'a' AND sk = 1 AND n = 5"},
            {"Statement": "INSERT INTO music VALUE {'pk': 'b', 'sk': 1}"}])
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == \
        ["None", "ConditionalCheckFailed", "DuplicateItem"]
    assert "Item" not in ddb.get_item(TableName="music", Key={"pk": {"S": "c"}, "sk": {"N": "1"}})   # rolled back
    out = ddb.execute_transaction(TransactStatements=[
        {"Statement": "SELECT n FROM music WHERE pk = 'a' AND sk = 1"},
        {"Statement": "SELECT * FROM music WHERE pk = 'x' AND sk = 1"}])
    assert out["Responses"] == [{"Item": {"n": {"N": "2"}}}, {}]
    assert _error(ddb.execute_transaction, TransactStatements=[
        {"Statement": "SELECT * FROM music WHERE pk = 'a'"}]) == (
        "ValidationException",
        "Select statements within ExecuteTransaction must specify the primary key in the where clause.")
    assert _error(ddb.execute_transaction, TransactStatements=[
        {"Statement": "UPDATE music SET n = 1 WHERE pk = 'a' AND sk = 1"},
        {"Statement": "DELETE FROM music WHERE pk = 'a' AND sk = 1"}]) == (
        "ValidationException", "Transaction request cannot include multiple operations on one item")
    tx = [{"Statement": "UPDATE music SET n = n + 1 WHERE pk = 'a' AND sk = 1"}]
    ddb.execute_transaction(TransactStatements=tx, ClientRequestToken="t1")
    ddb.execute_transaction(TransactStatements=tx, ClientRequestToken="t1")
    assert ddb.get_item(TableName="music", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]["n"] == {"N": "3"}
