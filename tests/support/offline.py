"""Helpers for tests on an offline CIB file: Pacemaker's own tools with ``CIB_file``, and what
its scheduler would do (``crm_simulate``)."""

import os
import subprocess

from lxml import etree


def offline(cib_file, *argv):
    """A Pacemaker tool (``cibadmin``, ``crm_attribute``, ``pcs -f`` ...) on the file; fails the test with its output."""
    proc = subprocess.run(
        list(argv), check=False, capture_output=True, text=True, env={**os.environ, "CIB_file": str(cib_file)}
    )
    assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
    return proc


def cib_create(cib_file, section, xml):
    """Add ``xml`` to ``section`` of the CIB file the way an operator's cibadmin would."""
    offline(cib_file, "cibadmin", "--create", "-o", section, "--xml-text", xml)


def with_node_and_no_fencing(cib_file):
    offline(cib_file, "cibadmin", "--create", "-o", "nodes", "--xml-text", '<node id="1" uname="n1"/>')
    offline(cib_file, "crm_attribute", "--name", "stonith-enabled", "--update", "false")


def planned_starts(cib_file, *extra):
    """Resources the scheduler would start with node n1 up and quorum (``extra``: more crm_simulate options)."""
    out = subprocess.run(
        ["crm_simulate", "-x", str(cib_file), "-u", "n1", "--quorum", "true", "-S", "--output-as=xml", *extra],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {a.get("resource") for a in etree.fromstring(out.encode()).xpath("//actions/rsc_action[@action='start']")}


def element(cib_file, xpath, **variables):
    """The first element ``xpath`` finds in the file, or None."""
    found = etree.fromstring(cib_file.read_bytes()).xpath(xpath, **variables)
    return found[0] if found else None


def unchanged_on_rerun(salt_env, sls):
    """test=True and the real run report nothing, and the CIB file stays byte for byte."""
    before = salt_env.cib_file.read_bytes()
    for test in (True, False):
        result = salt_env.sls(sls, test=test)
        assert result.all_ok and result.changed == set(), result.raw
    assert salt_env.cib_file.read_bytes() == before
