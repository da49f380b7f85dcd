"""Arguments Pacemaker cannot store as given are refused naming the argument (issue 12)."""

import pytest

from saltext.pcmk.utils.cib.specs import builders
from saltext.pcmk.utils.cib.specs.base import check_attribute_name, check_texts
from saltext.pcmk.utils.errors import SpecError


@pytest.mark.parametrize(
    "value,words",
    [
        ("a\x00b", ["params.state", "U+0000"]),
        ("a\x1bb", ["params.state", "U+001B"]),
        ("a\nb", ["params.state", "newline"]),
        ("a\rb", ["params.state", "carriage return"]),
        ("a\tb", ["params.state", "tab"]),
    ],
)
def test_a_value_xml_or_the_patch_path_cannot_keep_is_refused(value, words):
    with pytest.raises(SpecError) as info:
        check_texts({"params": {"state": value}}, "vip")
    assert str(info.value).startswith("vip: ") and all(w in str(info.value) for w in words)


def test_keys_and_list_items_are_checked_with_their_path():
    with pytest.raises(SpecError, match=r"vip: ops\[2\].timeout"):
        check_texts({"ops": [{"name": "start"}, {"name": "monitor", "timeout": "1\n0"}]}, "vip")
    with pytest.raises(SpecError, match="vip: meta key"):
        check_texts({"meta": {"a\x00": 1}}, "vip")


def test_plain_values_pass_unchanged():
    arguments = {"params": {"ip": "192.0.2.1", "n": 3, "flag": True, "none": None}, "ops": [{"name": "é ✓"}]}
    assert check_texts(arguments, "vip") is arguments


@pytest.mark.parametrize("name", ["a<b", "1st", "a b", 'x"', ""])
def test_an_attribute_name_that_is_not_an_xml_name_is_refused(name):
    with pytest.raises(SpecError, match="not a valid attribute name"):
        check_attribute_name(name, "resource 'vip' op monitor")


def test_the_builders_check_every_argument_before_building():
    with pytest.raises(SpecError, match="web: value"):
        builders.build("property", "web", value="a\x00")
