"""The state module's one error path: PcmkError becomes result: False, in every state function."""

import ast
import pathlib

import pytest
import salt.utils.context

from saltext.pcmk.states import pcmk as states
from saltext.pcmk.utils.errors import SpecError

STATES = pathlib.Path(states.__file__)


def _state_functions():
    tree = ast.parse(STATES.read_text(encoding="utf-8"))
    return [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and node.name != "mod_aggregate"
    ]


@pytest.mark.parametrize("node", _state_functions(), ids=lambda node: node.name)
def test_every_state_function_has_the_one_error_path(node):
    assert [ast.unparse(d) for d in node.decorator_list] == ["_errors_as_result"]
    assert "except PcmkError" not in ast.unparse(node), f"{node.name} catches PcmkError itself"


@pytest.mark.parametrize(
    "call",
    [
        lambda state: state("vip", "ocf:heartbeat:IPaddr2"),
        lambda state: state(name="vip", agent="ocf:heartbeat:IPaddr2"),
    ],
    ids=["positional", "keywords"],
)
def test_an_error_becomes_result_false_with_the_culprit(call):
    @states._errors_as_result
    def resource(name, agent, params=None, **kwargs):
        """Ensure a resource."""
        raise SpecError(f"resource {name!r}: params must be a mapping")

    assert call(resource) == {
        "name": "vip",
        "changes": {},
        "result": False,
        "comment": "resource 'vip': params must be a mapping",
    }
    assert resource.__doc__ == "Ensure a resource."


def test_other_exceptions_and_results_pass_through():
    @states._errors_as_result
    def broken(name):
        raise KeyError(name)

    with pytest.raises(KeyError):
        broken("x")
    assert states.ocf_agent.__wrapped__.__name__ == "ocf_agent"


def test_the_wrapper_shares_the_state_modules_globals():
    """Salt injects __low__, __instance_id__ ... into the globals of the function it calls."""
    for node in _state_functions():
        function = getattr(states, node.name)
        assert function.__globals__ is function.__wrapped__.__globals__ is vars(states)


def test_a_refused_argument_is_a_result_false():
    with salt.utils.context.func_globals_inject(states.ocf_agent, __opts__={"test": False}):
        result = states.ocf_agent("a", "saltext", bogus=1)
    assert result == {
        "name": "a",
        "changes": {},
        "result": False,
        "comment": "a: unknown argument 'bogus' for pcmk.ocf_agent",
    }


def test_resource_state_arguments_are_what_resource_spec_builds_from():
    """The state's documented signature and the aggregated path accept the same arguments."""
    import inspect  # pylint: disable=import-outside-toplevel

    from saltext.pcmk.states import pcmk as state  # pylint: disable=import-outside-toplevel
    from saltext.pcmk.utils.cib.specs import RESOURCE_ARGUMENTS, ResourceSpec  # pylint: disable=import-outside-toplevel

    assert set(inspect.signature(state.resource).parameters) - {"kwargs"} == state.LOW_KEYS["resource"]
    # One table, RESOURCE_ARGUMENTS, says what a resource takes: the state, the
    # spec builder and the pillar's per-service keys all follow it.
    assert set(inspect.signature(state.resource).parameters) - {"kwargs", "name", "agent"} == set(RESOURCE_ARGUMENTS)
    builder_args = set(inspect.signature(ResourceSpec.build).parameters) - {"cls", "name", "agent"}
    assert builder_args - {"created_meta"} == set(RESOURCE_ARGUMENTS)


def test_resource_template_state_arguments_are_what_template_spec_builds_from():
    """The template state, its builder and TEMPLATE_ARGUMENTS (a part of RESOURCE_ARGUMENTS) agree."""
    import inspect  # pylint: disable=import-outside-toplevel

    from saltext.pcmk.states import pcmk as state  # pylint: disable=import-outside-toplevel
    from saltext.pcmk.utils.cib.specs import (  # pylint: disable=import-outside-toplevel
        RESOURCE_ARGUMENTS,
        TEMPLATE_ARGUMENTS,
        TemplateSpec,
    )

    signature = set(inspect.signature(state.resource_template).parameters) - {"kwargs"}
    assert signature == state.LOW_KEYS["resource_template"]
    assert signature - {"name", "agent"} == set(TEMPLATE_ARGUMENTS)
    assert set(inspect.signature(TemplateSpec.build).parameters) - {"cls", "name", "agent"} == set(TEMPLATE_ARGUMENTS)
    assert set(TEMPLATE_ARGUMENTS) < set(RESOURCE_ARGUMENTS)
