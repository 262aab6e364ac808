"""SQS queue operations: create/find/list/delete, attributes, tags, permissions, purge."""

import json

import pytest

from haneul.errors import AwsError
from haneul.services.sqs.service import Sqs
from tests.unit.services.helpers import Harness

ACCOUNT = "123456789012"


@pytest.fixture
def h():
    return Harness(Sqs, account=ACCOUNT)


def error(h, method, request):
    with pytest.raises(AwsError) as e:
        h.call(method, request)
    return e.value


def create(h, name="q", **attributes):
    return h.call("create_queue", {"QueueName": name, "Attributes": attributes})["QueueUrl"]


def attrs(h, url, *names):
    return h.call("get_queue_attributes", {"QueueUrl": url, "AttributeNames": list(names) or ["All"]}
                  ).get("Attributes", {})


# -- create ------------------------------------------------------------------------------
def test_create_returns_url_on_the_endpoint_the_client_used(h):
    url = h.call("create_queue", {"QueueName": "orders"},
                 endpoint="http://sqs.us-east-1.localhost.localstack.cloud:4566")["QueueUrl"]
    assert url == f"http://sqs.us-east-1.localhost.localstack.cloud:4566/{ACCOUNT}/orders"


def test_default_attributes_of_a_standard_queue(h):
    url = create(h)
    got = attrs(h, url)
    assert got == {
        "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q",
        "ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
        "CreatedTimestamp": "1700000000", "LastModifiedTimestamp": "1700000000",
        "DelaySeconds": "0", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
        "ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30",
        "SqsManagedSseEnabled": "true",
    }


def test_default_attributes_of_a_fifo_queue(h):
    url = create(h, "f.fifo", FifoQueue="true")
    got = attrs(h, url)
    assert got["FifoQueue"] == "true" and got["ContentBasedDeduplication"] == "false"
    assert got["DeduplicationScope"] == "queue" and got["FifoThroughputLimit"] == "perQueue"
    assert got["QueueArn"].endswith(":f.fifo")


def test_create_is_idempotent_with_same_or_omitted_attributes(h):
    url = create(h, "q", VisibilityTimeout="20")
    assert create(h, "q", VisibilityTimeout="20") == url
    assert h.call("create_queue", {"QueueName": "q"})["QueueUrl"] == url
    # A value equal to the current default is not a difference.
    assert create(h, "q", DelaySeconds="0") == url


def test_create_with_a_different_attribute_is_queue_name_exists(h):
    create(h, "q", DelaySeconds="1")
    err = error(h, "create_queue", {"QueueName": "q", "Attributes": {"DelaySeconds": "2"}})
    assert err.code == "QueueNameExists" and err.status == 400
    assert err.message == ("A queue already exists with the same name and a different value "
                           "for attribute DelaySeconds")
    assert Sqs.QUERY_ERROR_CODES["QueueNameExists"] == "QueueAlreadyExists"


def test_create_fifo_with_different_content_based_dedup(h):
    create(h, "f.fifo", FifoQueue="true")
    err = error(h, "create_queue", {"QueueName": "f.fifo", "Attributes": {
        "FifoQueue": "true", "ContentBasedDeduplication": "true"}})
    assert err.message.endswith("for attribute ContentBasedDeduplication")


@pytest.mark.parametrize("name, attributes, message", [
    ("x.fifo", {}, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"),
    ("in.fo", {}, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"),
    ("a" * 81, {}, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"),
    ("", {}, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"),
    ("plain", {"FifoQueue": "true"}, "The name of a FIFO queue can only include alphanumeric "
     "characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length"),
    ("a" * 76 + ".fifo", {"FifoQueue": "true"}, None),
])
def test_invalid_queue_names(h, name, attributes, message):
    err = error(h, "create_queue", {"QueueName": name, "Attributes": attributes})
    assert err.code == "InvalidParameterValueException"
    assert message is None or err.message == message


def test_longest_names(h):
    create(h, "a" * 80)
    create(h, "a" * 75 + ".fifo", FifoQueue="true")


@pytest.mark.parametrize("name, value", [
    ("DelaySeconds", "901"), ("DelaySeconds", "-1"), ("DelaySeconds", "1.5"), ("DelaySeconds", ""),
    ("DelaySeconds", " 6"), ("MaximumMessageSize", "1023"), ("MaximumMessageSize", "1048577"),
    ("MessageRetentionPeriod", "59"), ("MessageRetentionPeriod", "1209601"),
    ("ReceiveMessageWaitTimeSeconds", "21"), ("VisibilityTimeout", "43201"),
    ("KmsDataKeyReusePeriodSeconds", "59"), ("SqsManagedSseEnabled", "yes"),
])
def test_out_of_range_attribute_values(h, name, value):
    err = error(h, "create_queue", {"QueueName": "q", "Attributes": {name: value}})
    assert err.code == "InvalidAttributeValue"
    assert err.message == f"Invalid value for the parameter {name}."


def test_unknown_and_read_only_attribute_names(h):
    for name in ("Bogus", "QueueArn", "ApproximateNumberOfMessages", "CreatedTimestamp"):
        err = error(h, "create_queue", {"QueueName": "q", "Attributes": {name: "1"}})
        assert (err.code, err.message) == ("InvalidAttributeName", f"Unknown Attribute {name}.")


def test_fifo_only_attributes_on_a_standard_queue(h):
    err = error(h, "create_queue", {"QueueName": "q", "Attributes": {"DeduplicationScope": "queue"}})
    assert err.message == "You can specify the DeduplicationScope only when FifoQueue is set to true."
    err = error(h, "create_queue", {"QueueName": "q", "Attributes": {"ContentBasedDeduplication": "true"}})
    assert err.message == "Unknown Attribute ContentBasedDeduplication."
    # FifoQueue=false names the standard type: accepted (CloudFormation sends it).
    url = create(h, "q", FifoQueue="false")
    assert "FifoQueue" not in attrs(h, url)
    assert create(h, "q", FifoQueue="false") == url


def test_fifo_high_throughput_attributes_are_stored(h):
    url = create(h, "f.fifo", FifoQueue="true", DeduplicationScope="messageGroup",
                 FifoThroughputLimit="perMessageGroupId")
    got = attrs(h, url, "DeduplicationScope", "FifoThroughputLimit")
    assert got == {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    err = error(h, "create_queue", {"QueueName": "g.fifo", "Attributes": {
        "FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId"}})
    assert err.code == "InvalidAttributeValue"
    err = error(h, "create_queue", {"QueueName": "g.fifo", "Attributes": {
        "FifoQueue": "true", "DeduplicationScope": "everything"}})
    assert err.code == "InvalidAttributeValue"


def test_tags_on_create(h):
    url = h.call("create_queue", {"QueueName": "q", "tags": {"team": "a", "empty": ""}})["QueueUrl"]
    assert h.call("list_queue_tags", {"QueueUrl": url}) == {"Tags": {"team": "a", "empty": ""}}


# -- find / list / delete ----------------------------------------------------------------
def test_get_queue_url_and_owner_account(h):
    url = create(h, "q")
    assert h.call("get_queue_url", {"QueueName": "q"}) == {"QueueUrl": url}
    other = Harness(Sqs, account="210987654321", store=h.store)
    other.clock = h.clock
    other_url = other.call("create_queue", {"QueueName": "shared"})["QueueUrl"]
    assert h.call("get_queue_url", {"QueueName": "shared", "QueueOwnerAWSAccountId": "210987654321"}
                  ) == {"QueueUrl": other_url}
    err = error(h, "get_queue_url", {"QueueName": "shared"})
    assert (err.code, err.message, err.status) == (
        "QueueDoesNotExist", "The specified queue does not exist.", 400)
    assert Sqs.QUERY_ERROR_CODES["QueueDoesNotExist"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_queues_are_per_region(h):
    url = create(h, "q")
    assert h.call("list_queues", {}, region="eu-west-1") == {}
    with pytest.raises(AwsError):
        h.call("get_queue_url", {"QueueName": "q"}, region="eu-west-1")
    # The region comes from the request, not from the URL's host.
    with pytest.raises(AwsError):
        h.call("send_message", {"QueueUrl": url, "MessageBody": "x"}, region="eu-west-1")


@pytest.mark.parametrize("url", [
    "http://localhost:4566/123456789012/q",
    "http://sqs.us-east-1.localhost.localstack.cloud:4566/123456789012/q",
    "https://sqs.us-east-1.amazonaws.com/123456789012/q",
    "http://example.test:9999/123456789012/q",
])
def test_any_url_form_reaches_the_queue(h, url):
    create(h, "q")
    h.call("send_message", {"QueueUrl": url, "MessageBody": "x"})
    assert attrs(h, url, "ApproximateNumberOfMessages") == {"ApproximateNumberOfMessages": "1"}


def test_unknown_queue_url(h):
    err = error(h, "send_message", {"QueueUrl": "http://localhost:4566/123456789012/nope",
                                    "MessageBody": "x"})
    assert err.code == "QueueDoesNotExist"


def test_list_queues_with_prefix_and_pages(h):
    names = ["a1", "a2", "a3", "b1", "ab"]
    for n in names:
        create(h, n)
    everything = h.call("list_queues", {})
    assert [u.rsplit("/", 1)[1] for u in everything["QueueUrls"]] == sorted(names)
    assert "NextToken" not in everything
    got = h.call("list_queues", {"QueueNamePrefix": "a"})
    assert [u.rsplit("/", 1)[1] for u in got["QueueUrls"]] == ["a1", "a2", "a3", "ab"]
    seen, token = [], None
    while True:
        req = {"QueueNamePrefix": "a", "MaxResults": 3}
        if token:
            req["NextToken"] = token
        page = h.call("list_queues", req)
        seen += [u.rsplit("/", 1)[1] for u in page["QueueUrls"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == ["a1", "a2", "a3", "ab"]
    assert h.call("list_queues", {"QueueNamePrefix": "zzz"}) == {}
    assert error(h, "list_queues", {"MaxResults": 0}).code == "InvalidParameterValueException"
    assert error(h, "list_queues", {"MaxResults": 1001}).code == "InvalidParameterValueException"
    assert error(h, "list_queues", {"NextToken": "garbage!"}).code == "InvalidParameterValueException"


def test_delete_queue_drops_messages_and_name(h):
    url = create(h)
    h.call("send_message", {"QueueUrl": url, "MessageBody": "x"})
    h.call("delete_queue", {"QueueUrl": url})
    assert error(h, "get_queue_url", {"QueueName": "q"}).code == "QueueDoesNotExist"
    assert error(h, "delete_queue", {"QueueUrl": url}).code == "QueueDoesNotExist"
    assert h.store.conn.execute("SELECT COUNT(*) FROM sqs_message").fetchone()[0] == 0
    url2 = create(h)
    assert attrs(h, url2, "ApproximateNumberOfMessages") == {"ApproximateNumberOfMessages": "0"}


# -- attributes ----------------------------------------------------------------------------
def test_get_attributes_selection_and_errors(h):
    url = create(h)
    assert h.call("get_queue_attributes", {"QueueUrl": url}) == {}
    assert attrs(h, url, "VisibilityTimeout", "QueueArn") == {
        "VisibilityTimeout": "30", "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"}
    err = error(h, "get_queue_attributes", {"QueueUrl": url, "AttributeNames": ["Nope"]})
    assert (err.code, err.message) == ("InvalidAttributeName", "Unknown Attribute Nope.")


def test_set_attributes_updates_and_bumps_last_modified(h):
    url = create(h)
    h.clock.advance(100)
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {
        "VisibilityTimeout": "69", "MaximumMessageSize": "2048", "DelaySeconds": "420"}})
    got = attrs(h, url)
    assert (got["VisibilityTimeout"], got["MaximumMessageSize"], got["DelaySeconds"]) == ("69", "2048", "420")
    assert got["CreatedTimestamp"] == "1700000000" and got["LastModifiedTimestamp"] == "1700000100"


def test_set_attributes_cannot_change_queue_type(h):
    url = create(h)
    err = error(h, "set_queue_attributes", {"QueueUrl": url, "Attributes": {"FifoQueue": "true"}})
    assert (err.code, err.message) == ("InvalidAttributeName", "Unknown Attribute FifoQueue.")
    furl = create(h, "f.fifo", FifoQueue="true")
    err = error(h, "set_queue_attributes", {"QueueUrl": furl, "Attributes": {"FifoQueue": "false"}})
    assert (err.code, err.message) == ("InvalidAttributeValue", "Invalid value for the parameter "
                                       "FifoQueue. Reason: Modifying queue type is not supported.")
    h.call("set_queue_attributes", {"QueueUrl": furl, "Attributes": {"ContentBasedDeduplication": "True"}})
    assert attrs(h, furl, "ContentBasedDeduplication") == {"ContentBasedDeduplication": "true"}


def test_sse_kms_and_sqs_exclude_each_other(h):
    url = create(h)
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"KmsMasterKeyId": "alias/aws/sqs"}})
    got = attrs(h, url, "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled")
    assert got == {"KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": "300",
                   "SqsManagedSseEnabled": "false"}
    err = error(h, "set_queue_attributes", {"QueueUrl": url, "Attributes": {
        "KmsMasterKeyId": "k", "SqsManagedSseEnabled": "true"}})
    assert err.code == "InvalidAttributeName"
    assert err.message == ("You can use one type of server-side encryption (SSE) at one time. "
                           "You can either enable KMS SSE or SQS SSE.")
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"SqsManagedSseEnabled": "true"}})
    assert attrs(h, url, "KmsMasterKeyId", "SqsManagedSseEnabled") == {"SqsManagedSseEnabled": "true"}


def test_policy_is_stored_verbatim_and_removed_by_empty_string(h):
    url = create(h)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                        "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]})
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"Policy": policy}})
    assert attrs(h, url, "Policy") == {"Policy": policy}
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"Policy": ""}})
    assert attrs(h, url, "Policy") == {}
    err = error(h, "set_queue_attributes", {"QueueUrl": url, "Attributes": {"Policy": "not json"}})
    assert (err.code, err.message) == ("InvalidAttributeValue", "Invalid value for the parameter Policy.")


def test_redrive_policy_validation(h):
    dlq = create(h, "dlq")
    dlq_arn = attrs(h, dlq, "QueueArn")["QueueArn"]
    url = create(h, "src")

    def set_redrive(value):
        return error(h, "set_queue_attributes", {"QueueUrl": url, "Attributes": {"RedrivePolicy": value}})

    err = set_redrive(" ")
    assert (err.code, err.message) == ("InvalidAttributeValue", "Invalid value for the parameter "
                                       "RedrivePolicy. Reason: Redrive policy is not a valid JSON map.")
    raw = json.dumps({"deadLetterTargetArn": "dummy", "maxReceiveCount": 42})
    assert set_redrive(raw).message == (f"Value {raw} for parameter RedrivePolicy is invalid. "
                                        "Reason: Invalid value for deadLetterTargetArn.")
    assert set_redrive("{}").message.endswith(
        "Redrive policy does not contain mandatory attribute: maxReceiveCount.")
    assert set_redrive('{"maxReceiveCount":5}').message.endswith(
        "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
    raw = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1001})
    assert set_redrive(raw).message.endswith("Invalid value for maxReceiveCount: 1001, valid "
                                             "values are from 1 to 1000 both inclusive.")
    raw = json.dumps({"deadLetterTargetArn": "arn:aws:sns:us-east-1:123456789012:t", "maxReceiveCount": 5})
    assert set_redrive(raw).message.endswith("Only SQS queues are valid resources for deadLetterTargetArn.")
    raw = json.dumps({"deadLetterTargetArn": dlq_arn + "x", "maxReceiveCount": 5})
    assert set_redrive(raw).message.endswith("Reason: Dead letter target does not exist.")
    raw = json.dumps({"deadLetterTargetArn": dlq_arn + ".fifo", "maxReceiveCount": 5})
    assert set_redrive(raw).message.endswith("Dead-letter queue must be same type of queue as the source..")
    raw = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5, "x": 1})
    assert set_redrive(raw).message.endswith(
        "Only following attributes are supported: [maxReceiveCount, deadLetterTargetArn].")
    # Accepted, and answered in AWS's compact form with a numeric count.
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"RedrivePolicy": json.dumps(
        {"maxReceiveCount": "3", "deadLetterTargetArn": dlq_arn})}})
    assert attrs(h, url, "RedrivePolicy") == {
        "RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":3}}'}
    h.call("set_queue_attributes", {"QueueUrl": url, "Attributes": {"RedrivePolicy": ""}})
    assert attrs(h, url, "RedrivePolicy") == {}


def test_redrive_allow_policy(h):
    dlq = create(h, "dlq")
    dlq_arn = attrs(h, dlq, "QueueArn")["QueueArn"]
    allowed = f"arn:aws:sqs:us-east-1:{ACCOUNT}:allowed"
    policy = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [allowed]})
    h.call("set_queue_attributes", {"QueueUrl": dlq, "Attributes": {"RedriveAllowPolicy": policy}})
    assert json.loads(attrs(h, dlq, "RedriveAllowPolicy")["RedriveAllowPolicy"]) == json.loads(policy)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    create(h, "allowed", RedrivePolicy=redrive)
    err = error(h, "create_queue", {"QueueName": "other", "Attributes": {"RedrivePolicy": redrive}})
    assert err.code == "InvalidParameterValueException"
    for bad, reason in [
        ('{"redrivePermission":"byQueue"}', "you must also specify one or more sourceQueueArns"),
        ('{"redrivePermission":"allowAll","sourceQueueArns":["x"]}', "you must set redrivePermission to byQueue"),
        ('{"redrivePermission":"dummy"}', "unsupported format"),
        ("badjson", "unsupported format"),
        (json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [f"a{i}" for i in range(11)]}),
         "The maximum number of source queue ARNs you can specify is 10."),
    ]:
        err = error(h, "set_queue_attributes", {"QueueUrl": dlq, "Attributes": {"RedriveAllowPolicy": bad}})
        assert reason in err.message


def test_list_dead_letter_source_queues(h):
    dlq = create(h, "dlq")
    arn = attrs(h, dlq, "QueueArn")["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})
    sources = [create(h, f"src{i}", RedrivePolicy=redrive) for i in range(3)]
    create(h, "unrelated")
    assert h.call("list_dead_letter_source_queues", {"QueueUrl": dlq}) == {"queueUrls": sources}
    page = h.call("list_dead_letter_source_queues", {"QueueUrl": dlq, "MaxResults": 2})
    assert page["queueUrls"] == sources[:2]
    rest = h.call("list_dead_letter_source_queues", {"QueueUrl": dlq, "MaxResults": 2,
                                                     "NextToken": page["NextToken"]})
    assert rest == {"queueUrls": sources[2:]}
    assert h.call("list_dead_letter_source_queues", {"QueueUrl": sources[0]}) == {"queueUrls": []}


# -- purge ---------------------------------------------------------------------------------
def test_purge_removes_visible_and_in_flight_messages_once_a_minute(h):
    url = create(h)
    for i in range(3):
        h.call("send_message", {"QueueUrl": url, "MessageBody": str(i)})
    h.call("receive_message", {"QueueUrl": url})
    h.call("purge_queue", {"QueueUrl": url})
    got = attrs(h, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert got == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    h.clock.advance(59)
    err = error(h, "purge_queue", {"QueueUrl": url})
    assert (err.code, err.status) == ("PurgeQueueInProgress", 403)
    assert err.message == "Only one PurgeQueue operation on q is allowed every 60 seconds."
    h.clock.advance(1)
    h.call("purge_queue", {"QueueUrl": url})


# -- tags ----------------------------------------------------------------------------------
def test_tag_untag_list(h):
    url = create(h)
    assert h.call("list_queue_tags", {"QueueUrl": url}) == {"Tags": {}}
    h.call("tag_queue", {"QueueUrl": url, "Tags": {"tag1": "value1", "tag2": "value2", "tag3": ""}})
    h.call("tag_queue", {"QueueUrl": url, "Tags": {"tag1": "changed"}})
    assert h.call("list_queue_tags", {"QueueUrl": url})["Tags"] == {
        "tag1": "changed", "tag2": "value2", "tag3": ""}
    h.call("untag_queue", {"QueueUrl": url, "TagKeys": ["tag1", "tag3", "absent"]})
    assert h.call("list_queue_tags", {"QueueUrl": url}) == {"Tags": {"tag2": "value2"}}
    err = error(h, "tag_queue", {"QueueUrl": url, "Tags": {f"k{i}": "v" for i in range(50)}})
    assert err.code == "InvalidParameterValueException"


# -- permissions ---------------------------------------------------------------------------
def test_add_and_remove_permission_write_the_policy(h):
    url = create(h)
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    h.call("add_permission", {"QueueUrl": url, "Label": "crossaccountpermission",
                              "AWSAccountIds": ["668614515564", ACCOUNT],
                              "Actions": ["ReceiveMessage"]})
    policy = json.loads(attrs(h, url, "Policy")["Policy"])
    assert policy == {"Version": "2008-10-17", "Id": f"{arn}/SQSDefaultPolicy", "Statement": [{
        "Sid": "crossaccountpermission", "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::668614515564:root", f"arn:aws:iam::{ACCOUNT}:root"]},
        "Action": "SQS:ReceiveMessage", "Resource": arn}]}
    err = error(h, "add_permission", {"QueueUrl": url, "Label": "crossaccountpermission",
                                      "AWSAccountIds": [ACCOUNT], "Actions": ["SendMessage"]})
    assert err.message == ("Value crossaccountpermission for parameter Label is invalid. "
                           "Reason: Already exists.")
    h.call("add_permission", {"QueueUrl": url, "Label": "second", "AWSAccountIds": [ACCOUNT],
                              "Actions": ["SendMessage", "DeleteMessage"]})
    statements = json.loads(attrs(h, url, "Policy")["Policy"])["Statement"]
    assert statements[1]["Action"] == ["SQS:SendMessage", "SQS:DeleteMessage"]
    assert statements[1]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    h.call("remove_permission", {"QueueUrl": url, "Label": "crossaccountpermission"})
    assert [s["Sid"] for s in json.loads(attrs(h, url, "Policy")["Policy"])["Statement"]] == ["second"]
    h.call("remove_permission", {"QueueUrl": url, "Label": "second"})
    assert attrs(h, url, "Policy") == {}
    err = error(h, "remove_permission", {"QueueUrl": url, "Label": "second"})
    assert err.message == "Value second for parameter Label is invalid. Reason: can't find label."


def test_add_permission_rejects_unknown_actions(h):
    url = create(h)
    err = error(h, "add_permission", {"QueueUrl": url, "Label": "l", "AWSAccountIds": [ACCOUNT],
                                      "Actions": ["Fly"]})
    assert err.message == ("Value SQS:Fly for parameter ActionName is invalid. Reason: Please "
                           "refer to the appropriate WSDL for a list of valid actions. ")
    h.call("add_permission", {"QueueUrl": url, "Label": "all", "AWSAccountIds": [ACCOUNT],
                              "Actions": ["*"]})


def test_query_clients_get_the_old_wording(h):
    with pytest.raises(AwsError) as e:
        h.call("get_queue_url", {"QueueName": "nope"}, protocol="query")
    assert e.value.message == "The specified queue does not exist for this wsdl version."
    with pytest.raises(AwsError) as e:
        h.call("delete_queue", {"QueueUrl": "http://localhost:4566/123456789012/nope"}, protocol="query")
    assert e.value.message == "The specified queue does not exist for this wsdl version."
