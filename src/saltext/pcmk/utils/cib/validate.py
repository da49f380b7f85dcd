"""Checks a candidate CIB must pass before it is written.

Two layers: Pacemaker's RelaxNG schema (the one the CIB's ``validate-with``
names, from ``/usr/share/pacemaker``) through lxml, which lets the error name
the offending element and id; then ``crm_verify`` on the candidate, which also
checks references and the scheduler's view. A CIB that already had
``crm_verify`` errors (for example no STONITH device while stonith is
enabled) is not held against the writer: only errors the candidate adds fail.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import MutableMapping
from typing import TYPE_CHECKING

from lxml import etree

from saltext.pcmk.utils.errors import CibInvalid, ToolError

from . import document as cibmod

if TYPE_CHECKING:
    from lxml.etree import _Element

    from saltext.pcmk.utils.tools import ToolRunner

SCHEMA_DIR = os.environ.get("PCMK_schema_directory", "/usr/share/pacemaker")


@functools.lru_cache(maxsize=8)
def _relaxng(validate_with: str) -> etree.RelaxNG | None:
    path = os.path.join(SCHEMA_DIR, f"{validate_with}.rng")
    if not os.path.exists(path):
        return None
    return etree.RelaxNG(etree.parse(path))


def _describe(element: _Element) -> str:
    ident = element.get("id")
    return "element " + element.tag + (f" id={ident!r}" if ident else "")


def schema_errors(cib: cibmod.Cib) -> list[str]:
    """Schema errors as readable strings naming element and id."""
    schema = _relaxng(cib.validate_with)
    if schema is None:
        return []
    # Re-parse from text so every element has a source line to map errors to.
    doc = cibmod.parse(cib.to_text())
    if schema.validate(doc):
        return []
    by_line: dict[int, _Element] = {}
    for element in doc.iter():
        if isinstance(element.tag, str):
            by_line.setdefault(element.sourceline, element)
    errors = []
    for entry in schema.error_log:
        element = by_line.get(entry.line)
        where = _describe(element) if element is not None else f"line {entry.line}"
        errors.append(f"{where}: {entry.message}")
    return errors


_LINE_NOISE = re.compile(r"^\S+\.xml:\d+: ")


def verify_errors(runner: ToolRunner, cib: cibmod.Cib) -> set[str]:
    """crm_verify's complaints about ``cib`` as a set of normalised lines."""
    with tempfile.TemporaryDirectory(prefix="pcmk-verify-") as tmp:
        path = os.path.join(tmp, "cib.xml")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(cib.to_text())
        try:
            runner.run(["crm_verify", "--xml-file", path], env={"CIB_file": path})
            return set()
        except ToolError as exc:
            lines = (exc.stderr + "\n" + exc.stdout).splitlines()
    found = set()
    for line in lines:
        line = _LINE_NOISE.sub("", line.strip())
        if not line or line.startswith(("crm_verify:", "-V may provide")):
            continue
        found.add(line)
    return found


def check_candidate(
    runner: ToolRunner,
    original: cibmod.Cib,
    candidate: cibmod.Cib,
    verify_cache: MutableMapping[tuple[int, ...], set[str]] | None = None,
) -> None:
    """Raise CibInvalid if ``candidate`` is worse than ``original``.

    ``verify_cache`` maps a CIB version to the crm_verify errors of the CIB read
    at that version, so a run with many writes verifies each original once.
    """
    errors = schema_errors(candidate)
    if errors:
        raise CibInvalid("the change would make the CIB invalid: " + "; ".join(errors[:5]))
    new_errors = verify_errors(runner, candidate)
    if not new_errors:
        return
    key = original.version
    if verify_cache is not None and key in verify_cache:
        old_errors = verify_cache[key]
    else:
        old_errors = verify_errors(runner, original)
        if verify_cache is not None:
            verify_cache[key] = old_errors
    added = sorted(new_errors - old_errors)
    if added:
        raise CibInvalid("crm_verify rejects the change: " + "; ".join(added[:5]))
