"""The library's layout is its architecture: no Salt below the loader modules, and imports only go down.

Every module under ``saltext/pcmk/utils`` is parsed (not imported), and every
import in it, at the top or inside a function, is checked against the layers
``docs/design.md`` draws. A new import that goes up a layer fails here, with
the module and the line that does it.
"""

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[2] / "src"
UTILS = SRC / "saltext" / "pcmk" / "utils"
PREFIX = "saltext.pcmk.utils"

# Which unit of saltext.pcmk.utils may import which, besides itself. Units are
# the top-level modules and packages; inside cib/ each module is a unit too,
# since the engine has layers of its own.
ALLOWED = {
    "errors": set(),
    "tools": {"errors"},
    "cib.document": {"errors"},
    "cib.rules": {"errors"},
    "cib.nvsets": {"errors", "cib.rules"},
    "cib.secretfiles": {"errors"},
    "cib.diff": {"errors", "tools"},  # tools.MASK: the one mask
    "cib.metadata": {"errors", "tools", "cib.document"},
    "cib.validate": {"errors", "tools", "cib.document"},
    "cib.specs": {"errors", "cib.rules", "cib.nvsets", "cib.metadata"},
    "cib.export": {"errors", "cib.rules", "cib.nvsets", "cib.metadata", "cib.specs", "cib.diff"},
    "cib.session": {"errors", "tools", "cib.document", "cib.diff", "cib.validate", "cib.metadata", "cib.secretfiles"},
    "cib": set(),  # cib/__init__.py: a docstring
    "cluster": {"errors", "tools", "cib"},
    "restarts": {"errors", "tools", "cib", "cluster"},
    "agents": {"errors", "tools", "cib"},
    "provider": {"errors", "tools", "cib", "cluster", "restarts"},
    "runplan": {"cib"},  # which states share a write: the run's low chunks, no Salt import
    "membership": {"errors", "tools", "cluster"},
    "saltglue": {"errors", "tools", "cib", "cluster", "restarts", "provider", "agents", "runplan", "membership"},
}


def _modules():
    return sorted(UTILS.rglob("*.py"))


def _module_name(path):
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted):
    base = SRC.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(path):
    """``(line, dotted name)`` of everything ``path`` imports, relative imports resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module
            for alias in node.names:
                # ``from pkg import submodule`` imports the submodule; ``from mod import name`` the module.
                yield node.lineno, f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base


def _unit(dotted):
    """The unit of ``saltext.pcmk.utils.<...>`` (see ALLOWED), or None for anything else."""
    if dotted != PREFIX and not dotted.startswith(PREFIX + "."):
        return None
    parts = dotted[len(PREFIX) + 1 :].split(".")
    if parts == [""]:
        return ""
    if parts[0] == "cib" and len(parts) > 1:
        return f"cib.{parts[1]}"
    return parts[0]


def _ids(path):
    return str(path.relative_to(UTILS))


def test_every_module_is_in_a_layer():
    units = {_unit(_module_name(path)) for path in _modules()} - {""}
    assert units == set(ALLOWED), (
        "a new module or package under utils/: give it a layer in ALLOWED and in docs/design.md"
    )


@pytest.mark.parametrize("path", _modules(), ids=_ids)
def test_no_salt_import_below_the_loader_modules(path):
    salt = [f"line {line}: {dotted}" for line, dotted in _imports(path) if dotted.split(".")[0] == "salt"]
    assert not salt, f"{_ids(path)} imports Salt ({'; '.join(salt)}); only modules/, states/ and runners/ may"


@pytest.mark.parametrize("path", _modules(), ids=_ids)
def test_imports_only_go_down_the_layers(path):
    own = _unit(_module_name(path))
    wrong = []
    for line, dotted in _imports(path):
        if dotted.startswith("saltext.pcmk.") and _unit(dotted) is None:
            wrong.append(f"line {line}: {dotted} (a loader module)")
            continue
        unit = _unit(dotted)
        if unit in (None, "", own):
            continue
        allowed = ALLOWED[own]
        if unit not in allowed and unit.split(".")[0] not in allowed:
            wrong.append(f"line {line}: {dotted}")
    assert not wrong, (
        f"{_ids(path)} ({own}) may import only {sorted(ALLOWED[own]) or 'nothing of utils'}, not: {'; '.join(wrong)}"
    )
