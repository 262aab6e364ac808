"""Organizations handshakes: invitations, EnableAllFeatures approvals, billing transfers."""

import datetime as dt
import re

import pytest

from haneul.errors import AwsError
from haneul.services.organizations.service import Organizations
from tests.unit.services.helpers import Harness

MGMT, GUEST, THIRD = "111111111111", "222222222222", "333333333333"


@pytest.fixture
def h():
    return Harness(Organizations, account=MGMT)


def err(h, method, request=None, **kw) -> AwsError:
    with pytest.raises(AwsError) as e:
        h.call(method, request or {}, **kw)
    return e.value


def invite(h, target=GUEST, kind="ACCOUNT", **extra):
    return h.call("invite_account_to_organization", {"Target": {"Id": target, "Type": kind}, **extra})["Handshake"]


def test_invite_accept(h):
    org = h.call("create_organization", {})["Organization"]
    hs = invite(h, Notes="join us", Tags=[{"Key": "from", "Value": "invite"}])
    assert re.fullmatch(r"h-[a-z0-9]{10}", hs["Id"])
    assert hs["Arn"] == f"arn:aws:organizations::{MGMT}:handshake/{org['Id']}/invite/{hs['Id']}"
    assert (hs["State"], hs["Action"]) == ("OPEN", "INVITE")
    assert hs["Parties"] == [{"Id": org["Id"], "Type": "ORGANIZATION"}, {"Id": GUEST, "Type": "ACCOUNT"}]
    assert hs["Resources"][0]["Type"] == "ORGANIZATION" and hs["Resources"][0]["Value"] == org["Id"]
    assert {"Type": "NOTES", "Value": "join us"} in hs["Resources"]
    assert hs["ExpirationTimestamp"] - hs["RequestedTimestamp"] == 15 * 86400
    assert err(h, "invite_account_to_organization", {"Target": {"Id": GUEST, "Type": "ACCOUNT"}}).code == \
        "DuplicateHandshakeException"
    mine = h.call("list_handshakes_for_account", account=GUEST)["Handshakes"]
    assert [x["Id"] for x in mine] == [hs["Id"]]
    assert h.call("list_handshakes_for_account", account=THIRD)["Handshakes"] == []
    assert err(h, "describe_handshake", {"HandshakeId": hs["Id"]}, account=THIRD).code == "HandshakeNotFoundException"
    assert err(h, "accept_handshake", {"HandshakeId": hs["Id"]}).code == "AccessDeniedException"
    accepted = h.call("accept_handshake", {"HandshakeId": hs["Id"]}, account=GUEST)["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    assert err(h, "accept_handshake", {"HandshakeId": hs["Id"]}, account=GUEST).code == "HandshakeAlreadyInStateException"
    assert err(h, "decline_handshake", {"HandshakeId": hs["Id"]}, account=GUEST).code == \
        "InvalidHandshakeTransitionException"
    acct = h.call("describe_account", {"AccountId": GUEST})["Account"]
    assert acct["JoinedMethod"] == "INVITED"
    assert h.call("list_tags_for_resource", {"ResourceId": GUEST})["Tags"] == [{"Key": "from", "Value": "invite"}]
    assert h.call("describe_organization", account=GUEST)["Organization"]["Id"] == org["Id"]
    e = err(h, "invite_account_to_organization", {"Target": {"Id": GUEST, "Type": "ACCOUNT"}})
    assert (e.code, e.fields["Reason"]) == ("HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION")


def test_decline_cancel_expire(h):
    h.call("create_organization", {})
    a = invite(h)
    b = invite(h, THIRD)
    assert err(h, "cancel_handshake", {"HandshakeId": a["Id"]}, account=GUEST).code == "AccessDeniedException"
    assert h.call("decline_handshake", {"HandshakeId": a["Id"]}, account=GUEST)["Handshake"]["State"] == "DECLINED"
    assert err(h, "decline_handshake", {"HandshakeId": a["Id"]}, account=GUEST).code == "HandshakeAlreadyInStateException"
    assert err(h, "cancel_handshake", {"HandshakeId": a["Id"]}).code == "InvalidHandshakeTransitionException"
    assert h.call("cancel_handshake", {"HandshakeId": b["Id"]})["Handshake"]["State"] == "CANCELED"
    assert err(h, "cancel_handshake", {"HandshakeId": b["Id"]}).code == "HandshakeAlreadyInStateException"
    c = invite(h, GUEST)                      # a declined invitation does not block a new one
    h.clock.advance(16 * 86400)
    assert h.call("describe_handshake", {"HandshakeId": c["Id"]})["Handshake"]["State"] == "EXPIRED"
    assert err(h, "accept_handshake", {"HandshakeId": c["Id"]}, account=GUEST).code == \
        "InvalidHandshakeTransitionException"
    states = [x["State"] for x in h.call("list_handshakes_for_organization")["Handshakes"]]
    assert states == ["DECLINED", "CANCELED", "EXPIRED"]
    h.clock.advance(31 * 86400)
    assert h.call("list_handshakes_for_organization")["Handshakes"] == []


def test_invite_by_email(h):
    h.call("create_organization", {})
    hs = invite(h, f"{GUEST}@example.com", "EMAIL")
    assert hs["Parties"][1] == {"Id": f"{GUEST}@example.com", "Type": "EMAIL"}
    assert [x["Id"] for x in h.call("list_handshakes_for_account", account=GUEST)["Handshakes"]] == [hs["Id"]]
    h.call("accept_handshake", {"HandshakeId": hs["Id"]}, account=GUEST)
    assert h.call("describe_account", {"AccountId": GUEST})["Account"]["Email"] == f"{GUEST}@example.com"
    assert err(h, "invite_account_to_organization", {"Target": {"Id": "x", "Type": "ORGANIZATION"}}).fields["Reason"] \
        == "INVALID_PARTY_TYPE_TARGET"


def test_filters(h):
    h.call("create_organization", {})
    hs = invite(h)
    assert h.call("list_handshakes_for_organization", {"Filter": {"ActionType": "INVITE"}})["Handshakes"][0]["Id"] == hs["Id"]
    assert h.call("list_handshakes_for_organization", {"Filter": {"ActionType": "ENABLE_ALL_FEATURES"}})["Handshakes"] == []
    e = err(h, "list_handshakes_for_organization", {"Filter": {"ActionType": "INVITE", "ParentHandshakeId": "h-aaaaaaaaaa"}})
    assert e.fields["Reason"] == "MAX_LIMIT_EXCEEDED_FILTER"


def test_enable_all_features(h):
    h.call("create_organization", {"FeatureSet": "CONSOLIDATED_BILLING"})
    hs = invite(h)
    h.call("accept_handshake", {"HandshakeId": hs["Id"]}, account=GUEST)
    parent = h.call("enable_all_features")["Handshake"]
    assert (parent["Action"], parent["State"]) == ("ENABLE_ALL_FEATURES", "REQUESTED")
    assert err(h, "enable_all_features").fields["Reason"] == "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION"
    assert err(h, "accept_handshake", {"HandshakeId": parent["Id"]}).code == "InvalidHandshakeTransitionException"
    approvals = h.call("list_handshakes_for_account", {"Filter": {"ParentHandshakeId": parent["Id"]}},
                       account=GUEST)["Handshakes"]
    assert [a["Action"] for a in approvals] == ["APPROVE_ALL_FEATURES"]
    h.call("accept_handshake", {"HandshakeId": approvals[0]["Id"]}, account=GUEST)
    assert h.call("describe_handshake", {"HandshakeId": parent["Id"]})["Handshake"]["State"] == "OPEN"
    h.call("accept_handshake", {"HandshakeId": parent["Id"]})
    assert h.call("describe_organization")["Organization"]["FeatureSet"] == "ALL"
    assert err(h, "enable_all_features").fields["Reason"] == "ORGANIZATION_ALREADY_HAS_ALL_FEATURES"


def test_billing_transfer(h):
    h.call("create_organization", {})
    h.call("create_organization", {}, account=THIRD)
    hs = h.call("invite_organization_to_transfer_responsibility", {
        "Type": "BILLING", "Target": {"Id": THIRD, "Type": "ACCOUNT"}, "SourceName": "billing",
        "StartTimestamp": dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)})["Handshake"]
    assert hs["Action"] == "TRANSFER_RESPONSIBILITY"
    outbound = h.call("list_outbound_responsibility_transfers", {"Type": "BILLING"})["ResponsibilityTransfers"]
    assert [(t["Status"], t["Target"]["ManagementAccountId"]) for t in outbound] == [("REQUESTED", THIRD)]
    assert "/billing/outbound/rt-" in outbound[0]["Arn"]
    h.call("accept_handshake", {"HandshakeId": hs["Id"]}, account=THIRD)
    inbound = h.call("list_inbound_responsibility_transfers", {"Type": "BILLING"}, account=THIRD)["ResponsibilityTransfers"]
    assert inbound[0]["Status"] == "ACCEPTED" and "/billing/inbound/" in inbound[0]["Arn"]
    tid = inbound[0]["Id"]
    assert h.call("update_responsibility_transfer", {"Id": tid, "Name": "renamed"})["ResponsibilityTransfer"]["Name"] == "renamed"
    done = h.call("terminate_responsibility_transfer", {"Id": tid})["ResponsibilityTransfer"]
    assert done["Status"] == "WITHDRAWN" and "EndTimestamp" in done
    assert err(h, "terminate_responsibility_transfer", {"Id": tid}).code == "ResponsibilityTransferAlreadyInStatusException"
    assert err(h, "describe_responsibility_transfer", {"Id": "rt-zzzzzzzzzz"}).code == \
        "ResponsibilityTransferNotFoundException"
