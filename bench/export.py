"""How long ``pcmk.export`` takes as a cluster grows, and what its self-check costs.

For N = 50, 500, 2000 resources (each with a location and an order
constraint, as bench/converge.py's workload), an offline CIB is built in one
aggregated converge; then the export is timed without its check, with it,
and the SLS it wrote is applied as specs onto the same CIB (the promise:
nothing changes). Prints one table.

    .venv/bin/python bench/export.py [N ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support.common import log
from bench.support.tables import print_table
from saltext.pcmk.utils.cib import export as exportmod
from saltext.pcmk.utils.cib.session import Session
from saltext.pcmk.utils.cib.specs import builders
from saltext.pcmk.utils.tools import ToolRunner


def build(workdir: Path, n: int) -> ToolRunner:
    """An offline CIB holding the workload as ``pcs resource create`` would write it (the advised
    ops), made with lxml at once: building 2,000 resources through states is bench/converge.py's job."""
    cib_file = workdir / f"cib-{n}.xml"
    runner = ToolRunner(cib_file=cib_file)
    root = etree.fromstring(runner.run(["cibadmin", "--empty"]).stdout.encode())
    configuration = root.find("configuration")
    etree.SubElement(configuration.find("nodes"), "node", id="1", uname="n1")
    options = etree.SubElement(configuration.find("crm_config"), "cluster_property_set", id="cib-bootstrap-options")
    etree.SubElement(
        options, "nvpair", id="cib-bootstrap-options-stonith-enabled", name="stonith-enabled", value="false"
    )
    resources, constraints = configuration.find("resources"), configuration.find("constraints")
    for i in range(1, n + 1):
        rid = f"r{i}"
        primitive = etree.SubElement(
            resources, "primitive", id=rid, **{"class": "ocf", "provider": "pacemaker", "type": "Dummy"}
        )
        operations = etree.SubElement(primitive, "operations")
        for name, interval in (("start", "0s"), ("stop", "0s"), ("monitor", "10s")):
            etree.SubElement(
                operations, "op", id=f"{rid}-{name}-interval-{interval}", name=name, interval=interval, timeout="20s"
            )
        etree.SubElement(constraints, "rsc_location", id=f"location-{rid}-n1-50", rsc=rid, node="n1", score="50")
        if i > 1:
            etree.SubElement(
                constraints, "rsc_order", id=f"order-r{i - 1}-{rid}-mandatory", first=f"r{i - 1}", then=rid
            )
    cib_file.write_bytes(etree.tostring(root))
    runner.run(["crm_verify", "--xml-file", str(cib_file)])
    return runner


def measure(runner: ToolRunner):
    session = Session(runner)
    cib = session.cib
    objects = len(cib.configuration.xpath("resources/* | constraints/*"))
    began = time.monotonic()
    unchecked = exportmod.export(cib, metadata=session.metadata)
    plain = time.monotonic() - began
    began = time.monotonic()
    checked = exportmod.export(cib, metadata=session.metadata, verify=exportmod.verifier(session, builders.build))
    with_check = time.monotonic() - began
    text = checked.sls()
    assert not checked.notes, checked.notes
    assert len(unchecked.states) == len(checked.states)
    return objects, len(checked.states), len(text.splitlines()), plain, with_check


def main(sizes):
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for n in sizes:
            log(f"building a CIB of {n} resources")
            runner = build(Path(tmp), n)
            log(f"exporting {n}")
            objects, states, lines, plain, with_check = measure(runner)
            rows.append(
                [n, objects, states, lines, f"{plain:.2f}", f"{with_check:.2f}", f"{with_check / states * 1000:.1f}"]
            )
    print_table(
        ["resources", "CIB objects", "states", "SLS lines", "export s", "export + check s", "ms per state"], rows
    )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [50, 500, 2000])
