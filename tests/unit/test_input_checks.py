"""The value checks of issue 12 on their own: the boolean rule, argument types, typed values."""

import pytest

from saltext.pcmk.utils.cib.metadata import AgentRef, parse_metadata, type_problem
from saltext.pcmk.utils.cib.specs import check_argument, check_score, parse_bool
from saltext.pcmk.utils.cib.specs.builders import ARGUMENT_TYPES, build
from saltext.pcmk.utils.errors import SpecError


@pytest.mark.parametrize(
    "value, expected",
    [
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("y", True),
        ("on", True),
        ("1", True),
        (1, True),
        ("false", False),
        ("No", False),
        ("n", False),
        ("off", False),
        (" 0 ", False),
        (0, False),
    ],
)
def test_the_boolean_rule_reads_pacemakers_words(value, expected):
    assert parse_bool(value, "x") is expected


@pytest.mark.parametrize("value", ["maybe", "", 2, -1, 1.0, [True], {"a": 1}, None])
def test_anything_else_is_no_boolean(value):
    with pytest.raises(SpecError, match=r"x must be true or false .*got"):
        parse_bool(value, "x")


def test_every_boolean_argument_is_in_the_one_table():
    booleans = {
        (fun, key)
        for fun, table in ARGUMENT_TYPES.items()
        for key, kind in table.items()
        if kind is bool or (isinstance(kind, tuple) and bool in kind)
    }
    assert {
        ("resource", "clone"),
        ("resource", "promotable"),
        ("resource", "secrets_in_cib"),
        ("resource", "default_ops"),
        ("resource", "check_agent"),
        ("resource_template", "default_ops"),
        ("resource_template", "check_agent"),
        ("clone", "promotable"),
        ("node", "standby"),
        ("node", "maintenance"),
        ("constraint", "symmetrical"),
        ("constraint", "require_all"),
        ("constraint", "influence"),
    } <= booleans


def test_quoted_false_makes_no_clone_and_quoted_no_keeps_the_secret_out():
    (spec,) = build("resource", "r", agent="ocf:pacemaker:Dummy", clone="false", secrets_in_cib="no")
    assert spec.clone is False and spec.local_secrets is True
    (spec,) = build("resource", "r", agent="ocf:pacemaker:Dummy", clone="yes", promotable="off")
    assert spec.clone.promotable is False


@pytest.mark.parametrize(
    "value, kind, message",
    [
        ([1], str, "must be a string"),
        (True, str, "must be a string"),
        ("x", list, "must be a list"),
        ("x", (dict, list), "must be a mapping or list"),
    ],
)
def test_argument_types(value, kind, message):
    with pytest.raises(SpecError, match=message):
        check_argument(value, kind, "resource 'r' key")


def test_a_clone_mapping_stays_a_mapping():
    assert check_argument({"interleave": True}, (bool, dict), "c") == {"interleave": True}


@pytest.mark.parametrize(
    "kind, value, options, bad",
    [
        ("boolean", "yes", (), False),
        ("boolean", "maybe", (), True),
        ("integer", "10", (), False),
        ("integer", -3, (), False),
        ("integer", "2.5", (), True),
        ("integer", 2.5, (), True),
        ("integer", True, (), True),
        ("nonnegative_integer", "-1", (), True),
        ("time", "10s", (), False),
        ("time", "PT1M", (), False),
        ("time", "90", (), False),
        ("time", "ten seconds", (), True),
        ("time", "-5s", (), True),
        ("score", "-INFINITY", (), False),
        ("score", "INFINITYx", (), True),
        ("percentage", "80%", (), False),
        ("percentage", "high", (), True),
        ("select", "freeze", ("stop", "freeze"), False),
        ("select", "Freeze", ("stop", "freeze"), False),
        ("select", "sometimes", ("stop", "freeze"), True),
        ("string", "anything at all", (), False),
    ],
)
def test_typed_values(kind, value, options, bad):
    assert bool(type_problem(kind, value, options)) is bad


@pytest.mark.parametrize("value", ["INFINITYx", "-", "", None, 2.5, True, "1e3"])
def test_scores(value):
    with pytest.raises(SpecError, match="is not a score"):
        check_score(value, "constraint 'c': score")


def test_an_agents_declared_types_are_read():
    meta = parse_metadata(
        AgentRef("ocf", "X", "t"),
        '<resource-agent name="X"><parameters>'
        '<parameter name="n"><content type="integer"/></parameter>'
        '<parameter name="u"><content type="select"><option value="G"/><option value="M"/></content></parameter>'
        '</parameters><actions><action name="start"/><action name="stop"/></actions></resource-agent>',
    )
    assert (meta.parameters["n"].type, meta.parameters["u"].options) == ("integer", ("G", "M"))
    with pytest.raises(SpecError, match="parameter n 'many' is not an integer"):
        meta.check_params("r", {"n": "many"}, required=False)
    meta.check_params("r", {"n": "many"}, required=False, legacy={"n"})  # held in the CIB: left alone
    with pytest.raises(SpecError, match="op name 'monitr'"):
        meta.check_operation("resource", "r", "monitr")
    meta.check_operation("resource", "r", "monitor")  # Pacemaker runs it whatever the meta-data lists
    with pytest.raises(SpecError, match="'promote'"):
        meta.check_operation("resource", "r", "promote")
    assert not meta.promotable
