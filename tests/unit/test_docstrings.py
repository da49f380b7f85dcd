"""Salt users expect every function documented with a CLI Example, every state with an example."""

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "saltext" / "pcmk"


def public_functions(path):
    tree = ast.parse(path.read_text())
    return [node for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]


@pytest.mark.parametrize(
    "path", sorted((SRC / "modules").glob("*.py")) + sorted((SRC / "runners").glob("*.py")), ids=lambda p: p.name
)
def test_execution_and_runner_functions_have_cli_examples(path):
    missing = [f.name for f in public_functions(path) if "CLI Example:" not in (ast.get_docstring(f) or "")]
    assert not missing, f"{path.name}: no CLI Example in {missing}"


def test_states_have_examples():
    path = SRC / "states" / "pcmk.py"
    missing = [
        f.name
        for f in public_functions(path)
        if f.name != "mod_aggregate"
        and "code-block:: yaml" not in (ast.get_docstring(f) or "")
        and f.name != "mod_watch"
    ]
    assert not missing, f"states without an SLS example: {missing}"


def test_every_state_has_an_example_in_the_states_guide():
    """docs/states.md shows each state in a YAML example (issue 11: every state, an example each)."""
    import re  # pylint: disable=import-outside-toplevel

    guide = (SRC.parents[2] / "docs" / "states.md").read_text()
    shown = set()
    for block in re.findall(r"```yaml\n(.*?)```", guide, re.S):
        shown |= set(re.findall(r"pcmk\.([a-z_]+)\b", block))
    states = {f.name for f in public_functions(SRC / "states" / "pcmk.py")} - {"mod_aggregate", "mod_watch"}
    assert states - shown == set(), f"docs/states.md has no example of {sorted(states - shown)}"
