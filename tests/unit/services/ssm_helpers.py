"""Shared bits of the SSM unit tests."""

from __future__ import annotations

import contextlib

import pytest

from haneul.errors import AwsError
from haneul.services.ssm.service import Ssm
from tests.unit.services.helpers import Harness


def harness(**kw) -> Harness:
    return Harness(Ssm, **kw)


@contextlib.contextmanager
def raises(code: str, message: str | None = None, contains: str | None = None):
    """Expect an AwsError with this code (and exact message / message fragment)."""
    with pytest.raises(AwsError) as info:
        yield info
    assert info.value.code == code, (info.value.code, info.value.message)
    if message is not None:
        assert info.value.message == message
    if contains is not None:
        assert contains in info.value.message, info.value.message


def put(h: Harness, name: str, value: str = "v", **kw) -> dict:
    kw.setdefault("Type", "String")
    return h.call("put_parameter", {"Name": name, "Value": value, **kw})
