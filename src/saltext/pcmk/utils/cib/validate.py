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

SCHEMA_DIR = cibmod.SCHEMA_DIR


@functools.lru_cache(maxsize=8)
def _relaxng(validate_with: str) -> etree.RelaxNG | None:
    path = os.path.join(SCHEMA_DIR, f"{validate_with}.rng")
    if not os.path.exists(path):
        return None
    return etree.RelaxNG(etree.parse(path))


def _describe(element: _Element) -> str:
    ident = element.get("id")
    return "element " + element.tag + (f" id={ident!r}" if ident else "")


def _schema_report(schema: etree.RelaxNG, doc: _Element) -> list[tuple[_Element | None, str]]:
    """``[(element or None, message)]`` of the schema's complaints about ``doc`` (parsed from text)."""
    if schema.validate(doc):
        return []
    by_line: dict = {}  # source line -> first element on it
    for element in doc.iter():
        if isinstance(element.tag, str):
            by_line.setdefault(element.sourceline, element)
    return [(by_line.get(entry.line), entry.message) for entry in schema.error_log]


def schema_errors(cib: cibmod.Cib) -> list[str]:
    """Schema errors as readable strings naming element and id."""
    schema = _relaxng(cib.validate_with)
    if schema is None:
        return []
    # Re-parse from text so every element has a source line to map errors to.
    return [
        f"{_describe(element) if element is not None else 'the CIB'}: {message}"
        for element, message in _schema_report(schema, cibmod.parse(cib.to_text()))
    ]


def _changed_attributes(original: cibmod.Cib, doc: _Element) -> list:
    """``[(element, attribute)]`` of ``doc`` (a candidate) that ``original`` lacks or holds otherwise.

    Elements are matched by id (every configuration element Pacemaker
    validates by name has one), else by their path.
    """
    old_root = original.root
    old_tree = old_root.getroottree()
    changed: list = []
    tree = doc.getroottree()
    for element in doc.iter():
        if not isinstance(element.tag, str) or element is doc:
            continue
        ident = element.get("id")
        found = old_root.xpath("//*[@id=$i]", i=ident) if ident else old_tree.xpath(tree.getpath(element))
        before = found[0] if found and found[0].tag == element.tag else None
        for name, value in element.attrib.items():
            if before is None or before.get(name) != value:
                changed.append((element, name))
    return changed


def schema_culprits(original: cibmod.Cib, candidate: cibmod.Cib) -> list[str]:
    """Schema errors of ``candidate`` named by what the change did: the element and the
    attribute (name and value) that make it invalid, never an unrelated good object.

    lxml's RelaxNG messages say little ("Element constraints has extra
    content") and point at the parents of the culprit; so every attribute the
    change added or altered is taken out in turn, and the ones whose absence
    makes the CIB valid are the culprits. When no single one does (a required
    attribute with a wrong value), the changed attributes of the elements the
    errors point at are named.
    """
    schema = _relaxng(candidate.validate_with)
    if schema is None:
        return []
    doc = cibmod.parse(candidate.to_text())
    report = _schema_report(schema, doc)
    if not report:
        return []
    first_element, first = report[0]
    changed = _changed_attributes(original, doc)
    removable: list = []
    for element, name in changed[:200]:
        value = element.attrib.pop(name)
        try:
            if schema.validate(doc):
                removable.append((element, name, value))
        finally:
            element.set(name, value)
    pointed = {id(element) for element, _ in report if element is not None}
    culprits = (
        # The element the first error points at is the innermost one refused.
        [c for c in removable if c[0] is first_element]
        or [(e, n, e.get(n)) for e, n in changed if first_element is not None and e is first_element and n != "id"]
        or removable
        or [(e, n, e.get(n)) for e, n in changed if id(e) in pointed and n != "id"]
    )
    if not culprits:
        return [f"{_describe(e) if e is not None else 'the CIB'}: {m}" for e, m in report]
    # Found by taking it out: the schema takes the CIB without it, and its message would mislead.
    why = "the schema does not allow it there" if culprits[0] in removable else f"schema: {first}"
    by_element: dict[int, tuple[_Element, list[str]]] = {}
    for element, name, value in culprits:
        by_element.setdefault(id(element), (element, []))[1].append(f"{name}={value!r}")
    return [f"{_describe_in(element)}: {', '.join(pairs)} ({why})" for element, pairs in by_element.values()]


def _describe_in(element: _Element) -> str:
    """An element and the top-level object (resource, constraint ...) holding it."""
    for node in (element, *element.iterancestors()):
        parent = node.getparent()
        if parent is not None and parent.tag in cibmod.SECTION_ORDER and node.get("id"):
            return _describe(element) + ("" if node is element else f" in {_describe(node)}")
    return _describe(element)


_LINE_NOISE = re.compile(r"^\S+\.xml:\d+: ")


NO_DETAIL = "crm_verify finds the configuration invalid and gives no detail"


def verify_errors(runner: ToolRunner, cib: cibmod.Cib) -> set[str]:
    """crm_verify's complaints about ``cib`` as a set of normalised lines.

    crm_verify (Pacemaker 2.1.5) prints the errors themselves only with
    ``-V``; without it a failing check says no more than "config not valid",
    which read as no complaint at all. With ``-V`` the ``error:`` lines are
    kept (a failing check also prints its warnings); a failure without any
    is :data:`NO_DETAIL`, never an empty set, unless crm_verify says it found
    warnings only (exit 78 all the same), which refuse nothing.
    """
    with tempfile.TemporaryDirectory(prefix="pcmk-verify-") as tmp:
        path = os.path.join(tmp, "cib.xml")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(cib.to_text())
        try:
            runner.run(["crm_verify", "--xml-file", path, "-V"], env={"CIB_file": path})
            return set()
        except ToolError as exc:
            lines = (exc.stderr + "\n" + exc.stdout).splitlines()
    found = set()
    only_warnings = False
    for line in lines:
        line = _LINE_NOISE.sub("", line.strip())
        if line.startswith("crm_verify: Warnings found"):
            # Exit 78 with warnings alone ("config may not be valid"): not an error.
            only_warnings = True
        if not line or line.startswith(("crm_verify:", "-V may provide")):
            continue
        found.add(line)
    errors = {line for line in found if "error:" in line}
    if errors or only_warnings:
        return {line for line in errors if not _harmless(line, cib)}
    return found or {NO_DETAIL}


_IGNORED_CONSTRAINT = re.compile(r"Ignoring constraint '[^']*' because '([^']*)' is not a valid resource or tag")


def _harmless(line: str, cib: cibmod.Cib) -> bool:
    """An error line that is no fault of the configuration.

    A constraint naming a resource template that no primitive uses (yet, or
    any more) is ignored by the scheduler with an error, though the
    configuration is valid: the template is there, there is just nothing
    to place (the constraint goes with the template).
    """
    match = _IGNORED_CONSTRAINT.search(line)
    return match is not None and match.group(1) in cib.template_ids()


def check_candidate(
    runner: ToolRunner,
    original: cibmod.Cib,
    candidate: cibmod.Cib,
    verify_cache: MutableMapping[tuple[int, ...], set[str]] | None = None,
) -> None:
    """Raise CibInvalid if ``candidate`` is worse than ``original``.

    ``verify_cache`` maps a CIB (its version and text) to its crm_verify
    errors, so a run with many writes verifies each original once.
    """
    errors = schema_culprits(original, candidate)
    if errors:
        raise CibInvalid("the change would make the CIB invalid: " + "; ".join(errors[:5]))
    new_errors = verify_errors(runner, candidate)
    if not new_errors:
        return
    # The version alone does not tell a prediction (test=True) from the CIB read.
    key = (*original.version, hash(original.to_text()))
    if verify_cache is not None and key in verify_cache:
        old_errors = verify_cache[key]
    else:
        old_errors = verify_errors(runner, original)
        if verify_cache is not None:
            verify_cache[key] = old_errors
    added = sorted(new_errors - old_errors)
    if added:
        raise CibInvalid("crm_verify rejects the change: " + "; ".join(added[:5]))
