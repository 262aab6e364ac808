"""haneul.protocol.validate: the model's constraints, reported in AWS's words.

AWS's front ends answer, for example (IAM CreateRole with RoleName "my role"):

  1 validation error detected: Value 'my role' at 'roleName' failed to satisfy
  constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+

several problems as "N validation errors detected: ...; ...", a missing required member as
"Value null at 'x' failed to satisfy constraint: Member must not be null", list items as
'tags.1.member.key'.
"""

from __future__ import annotations

import pytest

from haneul.protocol import validate
from haneul.protocol.shapes import ServiceSpec, service_spec


def spec_with(shapes: dict) -> ServiceSpec:
    """A fresh spec per test: compiled validators are cached on the shapes."""
    base = {"S": {"type": "string"}}
    return ServiceSpec("fake", {"metadata": {"protocol": "json", "apiVersion": "2020-01-01"},
                                "operations": {}, "shapes": {**base, **shapes}})


def check(shapes: dict, value: dict, root: str = "In") -> list[str]:
    return validate.validate(spec_with(shapes).shape(root), value)


def msg(shapes: dict, value: dict) -> str:
    return validate.message(check(shapes, value))


PREFIX = "1 validation error detected: "


# -- messages ------------------------------------------------------------------------------------
def test_iam_role_name_pattern_message():
    op = service_spec("iam").operation("CreateRole")
    errors = validate.validate(op.input, {"RoleName": "my role", "AssumeRolePolicyDocument": "{}"})
    assert validate.message(errors) == (
        "1 validation error detected: Value 'my role' at 'roleName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+")


def test_required_member_is_value_null():
    shapes = {"In": {"type": "structure", "required": ["Name"], "members": {"Name": {"shape": "S"}}}}
    assert msg(shapes, {}) == PREFIX + ("Value null at 'name' failed to satisfy constraint: "
                                        "Member must not be null")
    assert check(shapes, {"Name": None}) == check(shapes, {})
    assert check(shapes, {"Name": ""}) == []


def test_several_errors_are_plural_and_joined_with_semicolons():
    shapes = {"In": {"type": "structure", "required": ["A", "B"],
                     "members": {"A": {"shape": "S"}, "B": {"shape": "S"}}}}
    text = msg(shapes, {})
    assert text.startswith("2 validation errors detected: Value null at 'a'")
    assert text.count("; ") == 1
    assert text.endswith("Value null at 'b' failed to satisfy constraint: Member must not be null")


def test_no_errors_is_an_empty_list():
    shapes = {"In": {"type": "structure", "members": {"A": {"shape": "S"}}}}
    assert check(shapes, {"A": "anything"}) == []


def test_enum_lists_the_allowed_values():
    shapes = {"In": {"type": "structure", "members": {"Type": {"shape": "T"}}},
              "T": {"type": "string", "enum": ["String", "StringList", "SecureString"]}}
    assert msg(shapes, {"Type": "Number"}) == PREFIX + (
        "Value 'Number' at 'type' failed to satisfy constraint: "
        "Member must satisfy enum value set: [String, StringList, SecureString]")


def test_unchecked_enums_are_skipped():
    spec = spec_with({"In": {"type": "structure", "members": {"Type": {"shape": "T"}}},
                      "T": {"type": "string", "enum": ["A"]}})
    assert validate.validate(spec.shape("In"), {"Type": "Other"}, frozenset({"T"})) == []


@pytest.mark.parametrize("value,constraint", [
    ("", "Member must have length greater than or equal to 1"),
    ("x" * 11, "Member must have length less than or equal to 10"),
])
def test_string_length(value, constraint):
    shapes = {"In": {"type": "structure", "members": {"Name": {"shape": "N"}}},
              "N": {"type": "string", "min": 1, "max": 10}}
    assert msg(shapes, {"Name": value}) == PREFIX + (
        f"Value '{value}' at 'name' failed to satisfy constraint: {constraint}")


def test_boundaries_are_inclusive():
    shapes = {"In": {"type": "structure", "members": {"Name": {"shape": "N"}, "Count": {"shape": "C"}}},
              "N": {"type": "string", "min": 1, "max": 10}, "C": {"type": "integer", "min": 1, "max": 10}}
    assert check(shapes, {"Name": "x", "Count": 1}) == []
    assert check(shapes, {"Name": "x" * 10, "Count": 10}) == []


@pytest.mark.parametrize("value,constraint", [
    (0, "Member must have value greater than or equal to 1"),
    (51, "Member must have value less than or equal to 50"),
    (-3, "Member must have value greater than or equal to 1"),
])
def test_number_range(value, constraint):
    shapes = {"In": {"type": "structure", "members": {"MaxResults": {"shape": "M"}}},
              "M": {"type": "integer", "min": 1, "max": 50}}
    assert msg(shapes, {"MaxResults": value}) == PREFIX + (
        f"Value '{value}' at 'maxResults' failed to satisfy constraint: {constraint}")


def test_list_length_shows_the_list_as_java_does():
    shapes = {"In": {"type": "structure", "members": {"Names": {"shape": "L"}}},
              "L": {"type": "list", "member": {"shape": "S"}, "min": 1, "max": 2}}
    assert msg(shapes, {"Names": ["a", "b", "c"]}) == PREFIX + (
        "Value '[a, b, c]' at 'names' failed to satisfy constraint: "
        "Member must have length less than or equal to 2")


def test_blob_length():
    shapes = {"In": {"type": "structure", "members": {"Data": {"shape": "B"}}},
              "B": {"type": "blob", "max": 2}}
    errors = check(shapes, {"Data": b"abc"})
    assert len(errors) == 1
    assert "at 'data'" in errors[0] and "Member must have length less than or equal to 2" in errors[0]


# -- paths ---------------------------------------------------------------------------------------
TAGS = {
    "In": {"type": "structure", "members": {"Tags": {"shape": "TagList"}, "Attrs": {"shape": "AttrMap"}}},
    "TagList": {"type": "list", "member": {"shape": "Tag"}},
    "Tag": {"type": "structure", "required": ["Key", "Value"],
            "members": {"Key": {"shape": "Key"}, "Value": {"shape": "S"}}},
    "Key": {"type": "string", "min": 1, "max": 5},
    "AttrMap": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "Val"}},
    "Val": {"type": "string", "max": 3},
}


def test_list_item_paths():
    errors = check(TAGS, {"Tags": [{"Key": "ok", "Value": "v"}, {"Key": "toolong", "Value": "v"}, {"Key": "k"}]})
    assert errors == [
        "Value 'toolong' at 'tags.2.member.key' failed to satisfy constraint: "
        "Member must have length less than or equal to 5",
        "Value null at 'tags.3.member.value' failed to satisfy constraint: Member must not be null",
    ]


def test_map_key_and_value_paths():
    errors = check(TAGS, {"Attrs": {"toolong": "v", "k": "long"}})
    assert "Value 'toolong' at 'attrs.toolong.member.key' failed to satisfy constraint: " \
           "Member must have length less than or equal to 5" in errors
    assert "Value 'long' at 'attrs.k.member.value' failed to satisfy constraint: " \
           "Member must have length less than or equal to 3" in errors
    assert len(errors) == 2


def test_nested_structures_lower_the_first_letter_of_each_name():
    shapes = {"In": {"type": "structure", "members": {"OuterThing": {"shape": "Mid"}}},
              "Mid": {"type": "structure", "required": ["InnerName"], "members": {"InnerName": {"shape": "S"}}}}
    assert check(shapes, {"OuterThing": {}}) == [
        "Value null at 'outerThing.innerName' failed to satisfy constraint: Member must not be null"]


def test_recursive_shapes_are_checked_at_depth():
    shapes = {"In": {"type": "structure", "members": {"Node": {"shape": "Node"}}},
              "Node": {"type": "structure", "required": ["Name"],
                       "members": {"Name": {"shape": "Short"}, "Child": {"shape": "Node"}}},
              "Short": {"type": "string", "max": 2}}
    errors = check(shapes, {"Node": {"Name": "a", "Child": {"Name": "b", "Child": {"Name": "toolong"}}}})
    assert errors == ["Value 'toolong' at 'node.child.child.name' failed to satisfy constraint: "
                      "Member must have length less than or equal to 2"]


# -- patterns -----------------------------------------------------------------------------------------
def pattern_ok(pattern: str, value: str) -> bool:
    shapes = {"In": {"type": "structure", "members": {"V": {"shape": "P"}}},
              "P": {"type": "string", "pattern": pattern}}
    return check(shapes, {"V": value}) == []


def test_patterns_must_match_the_whole_value():
    assert pattern_ok("[a-z]+", "abc")
    assert not pattern_ok("[a-z]+", "abc1")        # an unanchored pattern still covers everything
    assert not pattern_ok("[a-z]+", "1abc")


@pytest.mark.parametrize("value,ok", [("하늘", True), ("café tag", True), ("Ünïcödé_1.2:/=+-@", True),
                                      ("tag<script>", False), ("semi;colon", False), ("", False)])
def test_java_letter_classes(value, ok):
    # the tag-key pattern of IAM and many others
    assert pattern_ok("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", value) is ok


@pytest.mark.parametrize("value", ["\u0e44\u0e17\u0e22", "\u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8",
                                   "\u13e3\u13b3\u13a9"])
def test_java_letter_class_covers_every_unicode_letter(value):
    import unicodedata
    assert all(unicodedata.category(c).startswith("L") for c in value)
    assert pattern_ok("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", value)


def test_negated_java_class():
    assert pattern_ok("\\P{L}+", "123 !")
    assert not pattern_ok("\\P{L}+", "12a")


@pytest.mark.parametrize("value,ok", [("plain text", True), ("emoji \U0001F600 ok", True),
                                      ("han \u4e2d", True), ("tab\tok", True),
                                      ("bell \x07", False), ("newline\n", False)])
def test_surrogate_pair_ranges_cover_supplementary_characters(value, ok):
    # Java writes characters beyond U+FFFF as UTF-16 surrogate pairs in its patterns
    pattern = "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*"
    assert pattern_ok(pattern, value) is ok


def test_a_pattern_python_cannot_compile_is_not_enforced():
    assert pattern_ok("[a-z]+\\p{NoSuchJavaClass}", "anything at all")


def test_java_class_intersection_is_understood():
    assert pattern_ok("[a-z&&[^q]]+", "abc")
    assert not pattern_ok("[a-z&&[^q]]+", "aqc")


def test_real_model_pattern_with_surrogates():
    shape = service_spec("athena").shape("CatalogNameString")
    assert validate.validate(shape, "catalog \U0001F600") == []
    assert validate.validate(shape, "bad\x01") != []
