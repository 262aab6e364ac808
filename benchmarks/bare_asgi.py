"""A bare ASGI app on uvicorn: the ceiling of the HTTP stack on this machine.

It answers every request 200 with one JSON body that satisfies the benchmark setups and
checks (a QueueUrl, a Parameter, a Message), doing no AWS work at all. Its req/s shows how
fast this machine can be, so figures from different machines can be compared:

    .venv/bin/python benchmarks/run.py --servers bare,haneul
"""

BODY = (
    b'{"QueueUrl": "http://127.0.0.1/000000000000/bare",'
    b' "Parameter": {"Name": "bare", "Type": "String", "Value": "benchmark value", "Version": 1},'
    b' "Version": 1,'
    b' "Messages": [{"MessageId": "bare", "ReceiptHandle": "bare", "Body": "bare",'
    b' "MD5OfBody": "0f6e5bb5b7a3b1b4a2a2b5e8b5b2c3d4"}]}'
)
HEADERS = [(b"content-type", b"application/x-amz-json-1.0"), (b"x-amzn-requestid", b"bare")]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
