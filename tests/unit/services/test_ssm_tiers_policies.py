"""Tiers, parameter policies (and expiry), and the Parameter Store service settings."""

import datetime as dt
import json

import pytest

from haneul.services.ssm import policies as policy_parser
from tests.unit.services.ssm_helpers import harness, put, raises

NOW = 1_700_000_000.0


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def expiration(t: float) -> dict:
    return {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": iso(t)}}


NOTIFY = {"Type": "ExpirationNotification", "Version": "1.0", "Attributes": {"Before": "15", "Unit": "Days"}}
NO_CHANGE = {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "20", "Unit": "Hours"}}


@pytest.fixture
def h():
    return harness()


def meta(h, name):
    return h.call("describe_parameters", {"ParameterFilters": [{"Key": "Name", "Values": [name]}]})["Parameters"][0]


# -- tiers ----------------------------------------------------------------------------------
def test_value_limits_per_tier(h):
    put(h, "s", "x" * 4096)
    with raises("ValidationException", contains="Standard tier parameters support a maximum parameter "
                "value of 4096 characters. To create a larger parameter value, upgrade the parameter"):
        put(h, "s2", "x" * 4097)
    assert put(h, "a", "x" * 8192, Tier="Advanced")["Tier"] == "Advanced"
    with raises("ValidationException", contains="8192"):
        put(h, "a2", "x" * 8193, Tier="Advanced")


def test_intelligent_tiering_picks_the_cheapest_tier_that_fits(h):
    assert put(h, "small", "x", Tier="Intelligent-Tiering")["Tier"] == "Standard"
    assert put(h, "big", "x" * 5000, Tier="Intelligent-Tiering")["Tier"] == "Advanced"
    assert put(h, "pol", "x", Tier="Intelligent-Tiering",
               Policies=json.dumps([expiration(NOW + 3600)]))["Tier"] == "Advanced"
    # an upgrade on update: a standard parameter whose new value no longer fits
    assert put(h, "small", "y" * 5000, Tier="Intelligent-Tiering", Overwrite=True)["Tier"] == "Advanced"
    assert meta(h, "small")["Tier"] == "Advanced"
    # and never back down again
    assert put(h, "small", "z", Tier="Intelligent-Tiering", Overwrite=True)["Tier"] == "Advanced"


def test_advanced_cannot_be_downgraded(h):
    put(h, "p", "x", Tier="Advanced")
    with raises("ValidationException", contains="You can't downgrade a parameter from the advanced-parameter "
                "tier to the standard-parameter tier"):
        put(h, "p", "y", Tier="Standard", Overwrite=True)
    # leaving Tier out keeps it advanced
    assert put(h, "p", "y", Overwrite=True)["Tier"] == "Advanced"


def test_standard_can_be_upgraded(h):
    put(h, "p", "x")
    assert put(h, "p", "x", Tier="Advanced", Overwrite=True) == {"Version": 2, "Tier": "Advanced"}
    history = h.call("get_parameter_history", {"Name": "p"})["Parameters"]
    assert [v["Tier"] for v in history] == ["Standard", "Advanced"]


def test_default_tier_setting_applies_when_tier_is_omitted(h):
    h.call("update_service_setting", {"SettingId": "/ssm/parameter-store/default-parameter-tier",
                                      "SettingValue": "Advanced"})
    assert put(h, "a", "x")["Tier"] == "Advanced"
    h.call("update_service_setting", {"SettingId": "/ssm/parameter-store/default-parameter-tier",
                                      "SettingValue": "Intelligent-Tiering"})
    assert put(h, "b", "x")["Tier"] == "Standard"
    assert put(h, "c", "x" * 5000)["Tier"] == "Advanced"
    # the setting is per region
    assert h.call("put_parameter", {"Name": "d", "Value": "x" * 10, "Type": "String"},
                  region="eu-west-1")["Tier"] == "Standard"


def test_standard_parameter_count_limit(h, monkeypatch):
    from haneul.services.ssm import tiers
    monkeypatch.setattr(tiers, "STANDARD_MAX_PARAMETERS", 3)
    for i in range(3):
        put(h, f"p{i}")
    with raises("ParameterLimitExceeded", contains="maximum number of standard parameters"):
        put(h, "p3")
    put(h, "p0", "updating an existing one is fine", Overwrite=True)
    assert put(h, "p3", Tier="Intelligent-Tiering")["Tier"] == "Advanced"
    assert put(h, "p4", Tier="Advanced")["Tier"] == "Advanced"


# -- policies -------------------------------------------------------------------------------
def test_policies_need_the_advanced_tier(h):
    with raises("ValidationException", contains="advanced-parameter tier"):
        put(h, "p", Policies=json.dumps([expiration(NOW + 60)]))


def test_policies_are_reported_inline(h):
    text = json.dumps([expiration(NOW + 86400), NOTIFY, NO_CHANGE])
    put(h, "p", "x", Tier="Advanced", Policies=text)
    inline = meta(h, "p")["Policies"]
    assert [(p["PolicyType"], p["PolicyStatus"]) for p in inline] == [
        ("Expiration", "Pending"), ("ExpirationNotification", "Pending"), ("NoChangeNotification", "Pending")]
    assert json.loads(inline[1]["PolicyText"]) == NOTIFY
    # kept on overwrite without Policies, and in history
    put(h, "p", "y", Overwrite=True)
    assert len(meta(h, "p")["Policies"]) == 3
    assert len(h.call("get_parameter_history", {"Name": "p"})["Parameters"][1]["Policies"]) == 3


@pytest.mark.parametrize("clear", ["[{}]", "[]"])
def test_empty_policy_removes_policies(h, clear):
    put(h, "p", "x", Tier="Advanced", Policies=json.dumps([expiration(NOW + 60)]))
    put(h, "p", "x", Overwrite=True, Policies=clear)
    assert meta(h, "p")["Policies"] == []
    h.clock.advance(120)
    assert h.call("get_parameter", {"Name": "p"})["Parameter"]["Value"] == "x"     # no longer expires


def test_expiration_deletes_the_parameter_when_its_time_comes(h):
    put(h, "/temp/p", "x", Tier="Advanced", Policies=json.dumps([expiration(NOW + 60)]),
        Tags=[{"Key": "k", "Value": "v"}])
    h.clock.advance(59)
    assert h.call("get_parameter", {"Name": "/temp/p"})["Parameter"]["Value"] == "x"
    h.clock.advance(1)
    with raises("ParameterNotFound"):
        h.call("get_parameter", {"Name": "/temp/p"})
    assert h.call("get_parameters_by_path", {"Path": "/temp"})["Parameters"] == []
    assert h.call("describe_parameters", {})["Parameters"] == []
    put(h, "/temp/p", "fresh")          # the name is free again, with no old history or tags
    assert h.call("get_parameter", {"Name": "/temp/p"})["Parameter"]["Version"] == 1
    assert h.call("list_tags_for_resource", {"ResourceType": "Parameter", "ResourceId": "/temp/p"})["TagList"] == []


def test_offset_timestamps_are_accepted():
    parsed = policy_parser.parse(json.dumps([{"Type": "Expiration", "Version": "1.0",
                                              "Attributes": {"Timestamp": "2030-11-01T22:13:48.87+10:30"}}]), NOW)
    assert parsed.expires_at == dt.datetime(2030, 11, 1, 11, 43, 48, 870000, dt.timezone.utc).timestamp()


@pytest.mark.parametrize("policies,code", [
    ("not json", "InvalidPolicyAttributeException"),
    ('"a string"', "InvalidPolicyAttributeException"),
    (json.dumps([{"Type": "Rotate", "Version": "1.0", "Attributes": {}}]), "InvalidPolicyTypeException"),
    (json.dumps([{"Type": "Expiration", "Version": "2.0", "Attributes": {"Timestamp": iso(NOW + 60)}}]),
     "InvalidPolicyAttributeException"),
    (json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "tomorrow"}}]),
     "InvalidPolicyAttributeException"),
    (json.dumps([expiration(NOW - 60)]), "InvalidPolicyAttributeException"),
    (json.dumps([expiration(NOW + 60), expiration(NOW + 120)]), "IncompatiblePolicyException"),
    (json.dumps([NOTIFY]), "IncompatiblePolicyException"),
    (json.dumps([expiration(NOW + 60), {**NOTIFY, "Attributes": {"Before": "0", "Unit": "Days"}}]),
     "InvalidPolicyAttributeException"),
    (json.dumps([{**NO_CHANGE, "Attributes": {"After": "3", "Unit": "Weeks"}}]), "InvalidPolicyAttributeException"),
    (json.dumps([NO_CHANGE, NO_CHANGE]), "IncompatiblePolicyException"),
    (json.dumps([expiration(NOW + 60)] + [NOTIFY] * 10), "PoliciesLimitExceededException"),
])
def test_policy_errors(h, policies, code):
    with raises(code):
        put(h, "p", "x", Tier="Advanced", Policies=policies)
    with raises("ParameterNotFound"):
        h.call("get_parameter", {"Name": "p"})


# -- service settings -----------------------------------------------------------------------
def test_service_setting_lifecycle(h):
    sid = "/ssm/parameter-store/default-parameter-tier"
    arn = f"arn:aws:ssm:us-east-1:123456789012:servicesetting{sid}"
    assert h.call("get_service_setting", {"SettingId": sid})["ServiceSetting"] == {
        "SettingId": sid, "SettingValue": "Standard", "ARN": arn, "LastModifiedUser": "System",
        "Status": "Default"}
    assert h.call("update_service_setting", {"SettingId": arn, "SettingValue": "Advanced"}) == {}
    s = h.call("get_service_setting", {"SettingId": arn})["ServiceSetting"]
    assert (s["SettingId"], s["SettingValue"], s["Status"]) == (sid, "Advanced", "Customized")
    assert s["LastModifiedUser"] == "arn:aws:iam::123456789012:root"
    assert s["LastModifiedDate"] == dt.datetime.fromtimestamp(NOW, dt.timezone.utc)
    reset = h.call("reset_service_setting", {"SettingId": sid})["ServiceSetting"]
    assert (reset["SettingValue"], reset["Status"]) == ("Standard", "Default")


def test_service_setting_errors(h):
    with raises("ServiceSettingNotFound"):
        h.call("get_service_setting", {"SettingId": "/ssm/nothing/here"})
    with raises("ValidationException"):
        h.call("update_service_setting", {"SettingId": "/ssm/parameter-store/default-parameter-tier",
                                          "SettingValue": "Premium"})
    h.call("update_service_setting", {"SettingId": "/ssm/parameter-store/high-throughput-enabled",
                                      "SettingValue": "true"})
    assert h.call("get_service_setting", {"SettingId": "/ssm/parameter-store/high-throughput-enabled"})[
        "ServiceSetting"]["SettingValue"] == "true"


def test_not_implemented_operations_are_absent():
    from haneul.services.ssm.service import Ssm
    for method in ("create_document", "send_command", "start_automation_execution", "put_resource_policy"):
        assert not hasattr(Ssm, method)
