"""Where a method converges: an offline CIB file, or the live CIB of the cluster node we run in."""

from __future__ import annotations

import copy
import time
from pathlib import Path

from lxml import etree

from saltext.pcmk.utils.tools import ToolRunner

from .common import BenchFailure, clean_env, log, run


def config_counts(cib_text):
    """(primitives, constraints) in a CIB."""
    root = etree.fromstring(cib_text.encode())
    constraints = root.find("configuration/constraints")
    return len(root.findall("configuration/resources/primitive")), 0 if constraints is None else len(constraints)


def epoch_of(cib_text):
    return int(etree.fromstring(cib_text.encode()).get("epoch", "0"))


def check_converged(target, n, what):
    counts = config_counts(target.cib_text())
    if counts != (n, 2 * n - 1):
        raise BenchFailure(f"{what}: expected {n} primitives and {2 * n - 1} constraints, found {counts}")


class OfflineTarget:
    name = "offline"
    title = "offline CIB file (CIB_file / pcs -f)"

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.file = self.dir / "cib.xml"
        self.env = clean_env(CIB_file=str(self.file))

    def runner(self):
        return ToolRunner(cib_file=self.file)

    def reset(self):
        self.file.write_text(run(["cibadmin", "--empty"]).stdout)

    def cib_text(self):
        return self.file.read_text()

    def settle(self):
        pass

    def pcs(self):
        return ["pcs", "-f", str(self.file)]

    def pcs_env(self):
        return clean_env()

    def salt_opts(self):
        return {"pcmk.cib_file": str(self.file)}

    def load_sections(self, sections):
        """Replace resources/constraints (and crm_config if given) with these elements."""
        root = etree.fromstring(self.cib_text().encode(), etree.XMLParser(remove_blank_text=True))
        config = root.find("configuration")
        for element in sections:
            old = config.find(element.tag)
            config.replace(old, copy.deepcopy(element))
        self.file.write_text(etree.tostring(root, pretty_print=True, encoding="unicode"))


class LiveTarget:
    name = "live"
    title = "live single-node cluster (Corosync + Pacemaker in namespaces, tests/support/cluster.py)"

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.env = clean_env()

    def runner(self):
        return ToolRunner(env=self.env)

    def cib_text(self):
        return run(["cibadmin", "--query"], env=self.env).stdout

    def settle(self, timeout=900):
        run(["crm_resource", "--wait", f"--timeout={timeout}s"], env=self.env, timeout=timeout + 30)

    def reset(self):
        started = time.perf_counter()
        # Constraints first, so the orphans stop without waiting on each other.
        run(["cibadmin", "--replace", "-o", "constraints", "--xml-text", "<constraints/>"], env=self.env)
        run(["cibadmin", "--replace", "-o", "resources", "--xml-text", "<resources/>"], env=self.env)
        self.settle()
        run(["crm_resource", "--refresh"], env=self.env)  # forget the deleted resources' history
        self.settle()
        text = self.cib_text()
        if config_counts(text) != (0, 0) or 'name="stonith-enabled" value="false"' not in text:
            raise BenchFailure("live CIB did not come back to an empty configuration with stonith disabled")
        if time.perf_counter() - started > 30:
            log(
                f"  [live] emptying the configuration and waiting for the resources to stop took {time.perf_counter() - started:.0f}s"
            )

    def pcs(self):
        return ["pcs"]

    def pcs_env(self):
        return self.env

    def salt_opts(self):
        return {}

    def load_sections(self, sections):
        for element in sorted(sections, key=lambda e: ["crm_config", "resources", "constraints"].index(e.tag)):
            if element.tag == "crm_config":
                continue  # stonith-enabled=false is already set on the live cluster
            run(
                ["cibadmin", "--replace", "-o", element.tag, "--xml-pipe"],
                env=self.env,
                input=etree.tostring(element, encoding="unicode"),
            )
        self.settle()
