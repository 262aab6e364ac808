"""State survives a crash: SIGKILL the server, start it again on the same data
directory, and read back everything that was acknowledged."""

import os

import pytest

from haneul.testing import ServerProcess, make_client

ACCOUNT = "210987654321"


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")


def test_acknowledged_writes_survive_sigkill(data_dir):
    server = ServerProcess(data_dir=data_dir, ephemeral=False).start()
    try:
        ssm = make_client(server.endpoint, "ssm", ACCOUNT)
        sqs = make_client(server.endpoint, "sqs", ACCOUNT)
        for i in range(20):
            ssm.put_parameter(Name=f"/app/p{i}", Value=f"value-{i}", Type="String")
        ssm.put_parameter(Name="/app/p0", Value="second", Type="String", Overwrite=True)
        ssm.label_parameter_version(Name="/app/p0", ParameterVersion=1, Labels=["first"])
        url = sqs.create_queue(QueueName="durable")["QueueUrl"]
        fifo = sqs.create_queue(QueueName="durable.fifo",
                                Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
        for i in range(30):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
            sqs.send_message(QueueUrl=fifo, MessageBody=f"f{i}", MessageGroupId="g")
    finally:
        server.stop(kill=True)          # SIGKILL: no shutdown hooks run
    assert server.proc.returncode == -9

    again = ServerProcess(data_dir=data_dir, ephemeral=False).start()
    try:
        ssm = make_client(again.endpoint, "ssm", ACCOUNT)
        sqs = make_client(again.endpoint, "sqs", ACCOUNT)
        params = ssm.get_parameters_by_path(Path="/app", MaxResults=10)
        names = {p["Name"] for p in params["Parameters"]}
        token = params.get("NextToken")
        while token:
            page = ssm.get_parameters_by_path(Path="/app", MaxResults=10, NextToken=token)
            names |= {p["Name"] for p in page["Parameters"]}
            token = page.get("NextToken")
        assert names == {f"/app/p{i}" for i in range(20)}
        assert ssm.get_parameter(Name="/app/p0")["Parameter"]["Value"] == "second"
        assert ssm.get_parameter(Name="/app/p0:first")["Parameter"]["Value"] == "value-0"

        url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
        bodies = set()
        for _ in range(10):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            bodies |= {m["Body"] for m in got}
        assert bodies == {f"m{i}" for i in range(30)}

        fifo = sqs.get_queue_url(QueueName="durable.fifo")["QueueUrl"]
        ordered = []
        for _ in range(10):
            got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10).get("Messages", [])
            for m in got:
                ordered.append(m["Body"])
                sqs.delete_message(QueueUrl=fifo, ReceiptHandle=m["ReceiptHandle"])
        assert ordered == [f"f{i}" for i in range(30)]
    finally:
        again.stop()
    assert os.path.exists(os.path.join(data_dir, "haneul.db"))


def test_ephemeral_server_keeps_nothing(tmp_path):
    server = ServerProcess().start()
    try:
        ssm = make_client(server.endpoint, "ssm", ACCOUNT)
        ssm.put_parameter(Name="gone", Value="x", Type="String")
    finally:
        server.stop(kill=True)
    again = ServerProcess().start()
    try:
        ssm = make_client(again.endpoint, "ssm", ACCOUNT)
        with pytest.raises(ssm.exceptions.ParameterNotFound):
            ssm.get_parameter(Name="gone")
    finally:
        again.stop()


def test_sigterm_exits_cleanly(data_dir):
    server = ServerProcess(data_dir=data_dir, ephemeral=False).start()
    ssm = make_client(server.endpoint, "ssm", ACCOUNT)
    ssm.put_parameter(Name="kept", Value="x", Type="String")
    server.stop()
    assert server.proc.returncode == 0, server.output()
