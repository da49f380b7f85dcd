"""pcs, one command per step (what Salt's old pcs states ran); re-apply = one pcs show per step."""

from __future__ import annotations

import copy
import os
import re
import shutil
import time
from pathlib import Path

from lxml import etree

from .common import AGENT, NODE, SBIN, BenchFailure, log, row, run
from .sampling import estimate_converge, estimated, spans, windows_for
from .targets import check_converged, epoch_of
from .workload import workload


class PcsTemplate:
    """pcs's own XML for a resource, its location and an order, cloned per resource.

    Made once by running pcs for two template resources; `state(steps)` is then
    the configuration pcs leaves after those steps, without running pcs for
    each. Checked against real pcs runs (see `matches`).
    """

    def __init__(self, workdir):
        path = Path(workdir) / "pcs-template.xml"
        path.write_text(run(["cibadmin", "--empty"]).stdout)
        pcs = ["pcs", "-f", str(path)]
        for argv in (
            ["property", "set", "stonith-enabled=false"],
            ["resource", "create", "tplA", AGENT, "fake=1", "op", "monitor", "interval=10s"],
            ["resource", "create", "tplB", AGENT, "fake=@FAKE@", "op", "monitor", "interval=10s"],
            ["constraint", "location", "tplB", "prefers", f"{NODE}=50"],
            ["constraint", "order", "tplA", "then", "tplB", "id=order-tplA-tplB-mandatory"],
        ):
            run(pcs + argv)
        root = etree.fromstring(path.read_text().encode(), etree.XMLParser(remove_blank_text=True))
        self.crm_config = root.find("configuration/crm_config")
        text = lambda xpath: etree.tostring(root.xpath(xpath)[0], encoding="unicode")
        self.resource = text("configuration/resources/primitive[@id='tplB']")
        self.location = text("configuration/constraints/rsc_location[@rsc='tplB']")
        self.order = text("configuration/constraints/rsc_order")

    @staticmethod
    def _fill(template, step):
        out = (
            template.replace("@FAKE@", str(step.index))
            .replace("tplA", step.prev or "")
            .replace("tplB", f"r{step.index}")
        )
        return etree.fromstring(out)

    def state(self, steps):
        """crm_config, resources and constraints elements after `steps` (pcs order)."""
        crm_config = (
            copy.deepcopy(self.crm_config) if any(s.kind == "property" for s in steps) else etree.Element("crm_config")
        )
        resources, constraints = etree.Element("resources"), etree.Element("constraints")
        for step in steps:
            if step.kind == "resource":
                resources.append(self._fill(self.resource, step))
            elif step.kind == "location":
                constraints.append(self._fill(self.location, step))
            elif step.kind == "order":
                constraints.append(self._fill(self.order, step))
        return [crm_config, resources, constraints]

    def matches(self, cib_text, steps, live):
        """Does the CIB's configuration equal the templated state after `steps`?"""
        root = etree.fromstring(cib_text.encode(), etree.XMLParser(remove_blank_text=True))
        for element in self.state(steps):
            if element.tag == "crm_config" and live:
                continue
            found = root.find(f"configuration/{element.tag}")
            if etree.tostring(found, method="c14n") != etree.tostring(element, method="c14n"):
                return False
        return True


def pcs_steps(target, steps, *, show=False):
    records = []
    for step in steps:
        argv, expect = step.pcs_show() if show else (step.pcs_create(), None)
        epoch = epoch_of(target.cib_text())
        started = time.perf_counter()
        proc = run(target.pcs() + argv, env=target.pcs_env(), check=False)
        seconds = time.perf_counter() - started
        if proc.returncode != 0 or (expect and expect not in proc.stdout):
            raise BenchFailure(
                f"[{target.name}] pcs {' '.join(argv)} exited {proc.returncode}"
                f"{'' if not expect else f' (looking for {expect!r})'}: {proc.stderr.strip()[-500:]}"
            )
        writes = epoch_of(target.cib_text()) - epoch
        if show and writes:
            raise BenchFailure(f"[{target.name}] pcs {' '.join(argv)} wrote the CIB")
        if not show and step.kind != "property" and writes != 1:
            raise BenchFailure(f"[{target.name}] pcs {' '.join(argv)} moved the epoch by {writes}, expected one write")
        records.append({"seconds": seconds, "invocations": 1, "writes": writes})
    return records


def bench_pcs_full(target, n, template):
    steps = workload(n)
    target.reset()
    rows = []
    for phase in ("converge", "re-apply"):
        started = time.perf_counter()
        records = pcs_steps(target, steps, show=phase == "re-apply")
        wall = time.perf_counter() - started
        writes = sum(r["writes"] for r in records)
        extra = {}
        if phase == "converge":
            check_converged(target, n, f"[{target.name}] pcs N={n}")
            extra["template_matches"] = template.matches(target.cib_text(), steps, target.name == "live")
            if not extra["template_matches"]:
                log(
                    f"  WARNING: pcs's CIB at N={n} differs from the template used for sampling; sampled pcs rows are suspect"
                )
        rows.append(
            row(
                target,
                "pcs one-at-a-time",
                n,
                phase,
                wall,
                len(records),
                writes,
                step_seconds=[round(r["seconds"], 4) for r in records],
                **extra,
            )
        )
        log(
            f"  [{target.name}] pcs one-at-a-time N={n:<4} {phase:9} {wall:8.2f}s  {len(records):5} pcs    {writes} writes"
        )
        target.settle()
    return rows


def bench_pcs_sampled(target, n, template, per_window):
    steps = workload(n)
    target.reset()
    ranges = [range(lo, hi) for lo, hi in windows_for(steps, per_window)]
    windows = []
    for rng in ranges:
        if rng.start:
            target.load_sections(template.state(steps[: rng.start]))
        records = pcs_steps(target, steps[rng.start : rng.stop])
        if not template.matches(target.cib_text(), steps[: rng.stop], target.name == "live"):
            raise BenchFailure(
                f"[{target.name}] pcs N={n}: after steps {rng.start}-{rng.stop - 1} the CIB differs from "
                "pcs's templated XML; the sampling premise does not hold"
            )
        windows.append((rng, records))
        target.settle()
    target.load_sections(template.state(steps))
    check_converged(target, n, f"[{target.name}] pcs (templated) N={n}")
    samples = 6 * per_window  # shows vary more from one command to the next than creates
    reapply_idx = sorted({round(j * (len(steps) - 1) / (samples - 1)) for j in range(samples)})
    reapply_recs = pcs_steps(target, [steps[i] for i in reapply_idx], show=True)
    desc = (
        f"{sum(len(r) for r in ranges)} of {len(steps)} pcs commands run (windows at steps {spans(ranges)}, "
        f"the rest of the CIB cloned from pcs's own XML); re-apply: {len(reapply_idx)} shows"
    )
    rows = [
        estimate_converge(target, "pcs one-at-a-time", n, steps, windows, desc, exact_counts=True),
        # Each show is its own process, alike: mean x count.
        row(
            target,
            "pcs one-at-a-time",
            n,
            "re-apply",
            sum(r["seconds"] for r in reapply_recs) / len(reapply_recs) * len(steps),
            len(steps),
            0,
            reapply_sample={"steps": reapply_idx, "seconds": [round(r["seconds"], 4) for r in reapply_recs]},
            **estimated(desc, exact_counts=True),
        ),
    ]
    for r in rows:
        log(
            f"  [{target.name}] pcs one-at-a-time N={n:<4} {r['phase']:9} ~{r['wall_s']:7.2f}s  {r['invocations']:5} pcs    {r['writes']} writes  (sampled)"
        )
    target.settle()
    return rows


def pcs_internal_tools(workdir):
    """How many programs one pcs command runs itself (strace), for the notes."""
    if not shutil.which("strace"):
        return None
    path = Path(workdir) / "pcs-strace.xml"
    path.write_text(run(["cibadmin", "--empty"]).stdout)
    found = {}
    for step in workload(2)[:6]:
        for label, argv in ((f"{step.kind} create", step.pcs_create()), (f"{step.kind} show", step.pcs_show()[0])):
            proc = run(
                ["strace", "-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "pcs", "-f", str(path), *argv],
                check=False,
            )
            programs = re.findall(r'execve\("([^"]+)"', proc.stderr)
            found[label] = sorted(
                os.path.basename(p) for p in programs if p.startswith(SBIN) and not p.endswith("/pcs")
            )
    return found
