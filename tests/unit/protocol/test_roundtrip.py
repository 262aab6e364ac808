"""Round trip over every operation of every service in botocore's models.

Requests are serialized by botocore's own client serializer and parsed by Haneul's router
and codecs; responses and modeled errors are serialized by Haneul and parsed by botocore's
client parsers.  Every protocol a service lists is exercised, plus `query` for the
awsQueryCompatible services (old SDKs still send it to SQS).
"""

from __future__ import annotations

import pytest

from haneul import catalog
from tests.unit.protocol import roundtrip as rt

# Exclusions, each with its reason.  Keys are "service.Operation".
EXCLUDED = {
    # S3's deprecated TopicConfiguration/QueueConfiguration/CloudFunctionConfiguration carry
    # both `Event` and a flattened `Events` list whose items are also <Event>: no XML reader
    # can tell them apart (botocore's cannot either), so the two fields cannot round trip
    # when both are set.  Real clients set one or the other.
    "s3.GetBucketNotification": "deprecated notification shapes: Event and Events share an XML name",
    "s3.PutBucketNotification": "deprecated notification shapes: Event and Events share an XML name",
}


def protocols_of(meta: dict) -> list[str]:
    protos = list(catalog.protocols(meta))
    if "awsQueryCompatible" in meta and "query" not in protos:
        protos.append("query")
    return protos


def test_every_operation_round_trips():
    result = rt.Result()
    services = catalog.services()
    operations = 0
    for name in services:
        model = rt.service_model(name)
        for protocol in protocols_of(services[name]):
            for op in model.operation_names:
                if f"{name}.{op}" in EXCLUDED:
                    result.excluded.append(f"{name}.{op}: {EXCLUDED[name + '.' + op]}")
                    continue
                operations += 1
                rt.check_operation(name, protocol, op, result)
    c = result.counts
    print(f"\nround trip: {len(services)} services, {operations} operation-protocol pairs; "
          f"requests {c['requests']}, responses {c['responses']}, modeled errors {c['errors']}, "
          f"routed {c['routed']}, routed to a twin sharing the endpoint {len(result.ambiguous)}, "
          f"excluded {len(result.excluded)}, failures {len(result.failures)}")
    assert not result.failures, "\n".join(result.failures[:50])
    # The counts would collapse if the generator or the codecs stopped doing the work.
    assert c["requests"] > 0.99 * (operations - len(result.excluded))
    assert c["routed"] + len(result.ambiguous) >= c["requests"] - len(result.excluded)


@pytest.mark.parametrize("service,protocol,operation", [
    ("sqs", "json", "SendMessage"), ("sqs", "query", "SendMessageBatch"),
    ("ssm", "json", "GetParametersByPath"), ("sts", "query", "AssumeRole"),
    ("s3", "rest-xml", "PutObject"), ("lambda", "rest-json", "Invoke"),
    ("ec2", "ec2", "RunInstances"), ("cloudwatch", "smithy-rpc-v2-cbor", "PutMetricData"),
    ("cloudwatch", "query", "GetMetricData"), ("dynamodb", "json", "TransactWriteItems"),
])
def test_core_operations_round_trip(service, protocol, operation):
    result = rt.Result()
    rt.check_operation(service, protocol, operation, result)
    assert not result.failures, result.failures
    assert result.counts["requests"] == 1 and result.counts["routed"] == 1
