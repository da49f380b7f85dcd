"""Sphinx configuration for the saltext-pcmk documentation site.

Build it with ``make docs`` (output in ``docs/_build/html``). The guides are
the Markdown files next to this one, read by MyST as they are; the reference
pages under ``ref/`` are generated from the loader modules' docstrings by
autodoc, which imports them (Salt must be importable, or it is mocked).
"""

import datetime
import importlib.util
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

DOCS_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = DOCS_DIR.parent

# Document the tree being built, not whatever copy is installed elsewhere.
sys.path.insert(0, str(PROJECT_ROOT / "src"))

# -- Project information -------------------------------------------------------
try:
    _meta = distribution("saltext.pcmk").metadata
    release = _meta["Version"]
except PackageNotFoundError:  # building from a checkout that was never installed
    release = "0.1.0"
version = ".".join(release.split(".")[:2])

project = "saltext-pcmk"
author = "the saltext-pcmk contributors"
_first_year, _this_year = 2026, datetime.date.today().year
_years = f"{_first_year}-{_this_year}" if _this_year > _first_year else str(_first_year)
copyright = f"{_years}, {author}"  # pylint: disable=redefined-builtin

# -- General configuration -----------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "myst_parser",
]

source_suffix = {
    ".rst": "restructuredtext",
    ".md": "markdown",
}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = []

# Warnings are errors in `make docs` (-W); -n makes every unresolved
# cross-reference one of them.
nitpicky = True

# -- MyST (the Markdown guides) --------------------------------------------------
# Anchors for '#' links between guides, e.g.
# service-provider.md#highstate-alone-without-orchestration (a level-3 heading).
myst_heading_anchors = 3

# -- autodoc / autosummary ------------------------------------------------------
# The ref/*/saltext.pcmk.*.rst stubs are written by hand (one per loader
# module, as in the salt-extensions template); autosummary only renders the
# index tables and must not regenerate them.
autosummary_generate = False
# A page documents one loader module: show `resource(name, agent, ...)`, not
# `saltext.pcmk.states.pcmk.resource(...)`.
add_module_names = False
autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
}
# Salt's loader injects __opts__, __salt__ ... when it loads a module; they are
# only referenced inside functions, so importing for autodoc needs Salt itself
# and nothing else. Without Salt (e.g. a docs-only environment) mock it.
autodoc_mock_imports = [] if importlib.util.find_spec("salt") else ["salt"]

# -- HTML ----------------------------------------------------------------------
html_theme = "furo"
html_title = f"saltext-pcmk {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": True,
}
# Blocks without a language (``::`` in docstrings, bare ``` fences) are shown
# as they are: most of them are YAML or shell, not Python.
highlight_language = "none"
