"""A 204 answer carries no body: a kept-alive client would read one as the next response."""

from haneul.context import RequestContext
from haneul.protocol import get_codec
from haneul.protocol.shapes import service_spec

CTX = RequestContext(account="123456789012", region="us-east-1", store=None, request_id="r")


def test_204_without_members_has_no_body():
    op = service_spec("lambda").operation("DeleteCodeSigningConfig")   # 204, an output with no members
    assert op.response_code == 204
    resp = get_codec("rest-json").serialize(op, {}, CTX)
    assert resp.status == 204 and resp.body == b""


def test_204_model_with_body_members_answers_200_with_them():
    op = service_spec("chime").operation("PutRetentionSettings")
    assert op.response_code == 204
    resp = get_codec("rest-json").serialize(op, {"RetentionSettings": {"RoomRetentionSettings": {"RetentionDays": 7}}}, CTX)
    assert resp.status == 200 and b"RetentionDays" in resp.body
