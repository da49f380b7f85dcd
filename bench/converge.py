#!/usr/bin/env python3
"""Converge, then re-apply, N resources with constraints; compare with pcs.

Workload for size N (3N steps, in this order, as an SLS would list them):

    property stonith-enabled=false
    for i in 1..N:
        rI: ocf:pacemaker:Dummy, params fake=I, op monitor interval=10s
        location-rI-n1-50: rI prefers n1 with score 50
        order-r(I-1)-rI-mandatory (I >= 2): start r(I-1) then rI

Methods, each run on an offline CIB file and on a live single-node cluster
(tests/support/cluster.py; the live part runs *inside* the node, because
Pacemaker's IPC is per network namespace):

    pcmk aggregated      all specs in one Session.converge()   (state_aggregate: [pcmk])
    pcmk per-state       one converge per step, one Session    (a state run without aggregation)
    salt-call agg/per    a real ``salt-call --local state.apply`` of the generated SLS,
                         tools counted through PATH shims
    pcs one-at-a-time    one pcs command per step (what Salt's old pcs states ran);
                         re-apply = one pcs show per step (their existence check)

Every method converges an empty configuration, then re-applies; a re-apply
that changes or writes anything fails the benchmark. Nothing here asserts a
timing.

Columns: wall seconds; tool invocations (Pacemaker tools our code ran, or
pcs processes for pcs; each pcs process runs 1-4 Pacemaker tools itself);
CIB writes (Session.writes / successful ``cibadmin --patch`` for us, epoch
increments for pcs, which bumps the epoch once per write).

Steps done one at a time are slow (pcs: about 1.2 s per command, mostly its
own start-up), so above a threshold they are *sampled*: windows of
consecutive steps at the start, middle and end of the sequence are run for
real on a CIB brought to the exact state the earlier steps leave (our own
aggregated converge for pcmk; pcs's own XML, cloned per resource, for pcs,
checked against pcs's output), and the total is interpolated from the
per-step times. Sampled values carry a ``~`` and the rows say what was
sampled. ``--full`` measures everything.

    /opt/pcmk-venv/bin/python bench/converge.py [--sizes 10,50,200] [--skip-live]
        [--skip-pcs] [--skip-salt] [--full] [--salt-sizes 50] [--salt-live]

Results: tables on stdout, everything (per tool, per step) in
bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
RESULTS = REPO / "bench" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests.support.cluster

from saltext.pcmk.utils.cib import specs as model  # noqa: E402
from saltext.pcmk.utils.cib.session import Session  # noqa: E402
from saltext.pcmk.utils.tools import ToolRunner  # noqa: E402

SBIN = "/usr/sbin"
SHIMMED = ("cibadmin", "crm_diff", "crm_verify", "crm_resource", "crm_mon", "crm_node", "crm_attribute")
AGENT = "ocf:pacemaker:Dummy"
NODE = "n1"
SALT_CALL = str(Path(sys.executable).with_name("salt-call"))


class BenchFailure(RuntimeError):
    """A method did not do what it must (converge, then re-apply as a no-op)."""


_STARTED = time.monotonic()


def log(msg):
    print(f"{time.monotonic() - _STARTED:6.0f}s {msg}", file=sys.stderr, flush=True)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIB_")}
    env["PATH"] = f"{env.get('PATH', '')}:/usr/local/sbin:/usr/sbin:/sbin".lstrip(":")
    env.update(extra)
    return env


def run(argv, *, env=None, input=None, check=True, timeout=900):
    proc = subprocess.run(
        [str(a) for a in argv],
        env=env or clean_env(),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise BenchFailure(f"{' '.join(map(str, argv))} exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
    return proc


# -- the workload --------------------------------------------------------------------
class Step:
    """One declaration: what our library applies and what pcs would run for it."""

    def __init__(self, kind, ident, index, *, prev=None):
        self.kind, self.id, self.index, self.prev = kind, ident, index, prev

    def specs(self):
        if self.kind == "property":
            return [model.AttributeSpec.build("property", "stonith-enabled", False)]
        if self.kind == "resource":
            return [
                model.ResourceSpec.build(
                    self.id, AGENT, params={"fake": str(self.index)}, ops=[{"name": "monitor", "interval": "10s"}]
                )
            ]
        if self.kind == "location":
            return [model.ConstraintSpec.build(self.id, "location", rsc=f"r{self.index}", node=NODE, score=50)]
        return [model.ConstraintSpec.build(self.id, "order", first=self.prev, then=f"r{self.index}")]

    def sls(self):
        if self.kind == "property":
            return {"pcmk.property": [{"value": False}]}
        if self.kind == "resource":
            return {
                "pcmk.resource": [
                    {"agent": AGENT},
                    {"params": {"fake": str(self.index)}},
                    {"ops": [{"name": "monitor", "interval": "10s"}]},
                ]
            }
        if self.kind == "location":
            return {"pcmk.constraint": [{"kind": "location"}, {"rsc": f"r{self.index}"}, {"node": NODE}, {"score": 50}]}
        return {"pcmk.constraint": [{"kind": "order"}, {"first": self.prev}, {"then": f"r{self.index}"}]}

    def pcs_create(self):
        if self.kind == "property":
            return ["property", "set", "stonith-enabled=false"]
        if self.kind == "resource":
            return ["resource", "create", self.id, AGENT, f"fake={self.index}", "op", "monitor", "interval=10s"]
        if self.kind == "location":
            return ["constraint", "location", f"r{self.index}", "prefers", f"{NODE}=50"]
        return ["constraint", "order", self.prev, "then", f"r{self.index}", f"id={self.id}"]

    def pcs_show(self):
        """The existence check Salt's old pcs states ran before (not) creating (pcs 0.11 spelling)."""
        if self.kind == "property":
            return ["property", "config"], "stonith-enabled: false"
        if self.kind == "resource":
            return ["resource", "config", self.id], None
        return ["constraint", self.kind, "config", "--full"], f"(id:{self.id})"


def workload(n):
    steps = [Step("property", "stonith-enabled", 0)]
    for i in range(1, n + 1):
        steps.append(Step("resource", f"r{i}", i))
        steps.append(Step("location", f"location-r{i}-n1-50", i))
        if i > 1:
            steps.append(Step("order", f"order-r{i - 1}-r{i}-mandatory", i, prev=f"r{i - 1}"))
    return steps


def sls_text(n):
    import yaml  # pylint: disable=import-outside-toplevel

    return yaml.safe_dump({step.id: step.sls() for step in workload(n)}, sort_keys=False)


def windows_for(steps, per_window_resources, count=3):
    """Step index ranges of `count` windows of whole resources: start, middle(s), end."""
    starts = [i for i, s in enumerate(steps) if s.kind == "resource"]
    n = len(starts)
    k = min(per_window_resources, n)
    firsts = sorted({round(j * (n - k) / (count - 1)) for j in range(count)}) if count > 1 else [0]
    ranges = []
    for first in firsts:
        lo = 0 if first == 0 else starts[first]  # the first window includes the property step
        hi = starts[first + k] if first + k < n else len(steps)
        if ranges and lo < ranges[-1][1]:
            lo = ranges[-1][1]
        if lo < hi:
            ranges.append((lo, hi))
    return ranges


def interpolate_total(total_steps, samples):
    """Sum over all steps of a per-step value, linearly interpolated between window means."""
    points = sorted((sum(idx) / len(idx), sum(vals) / len(vals)) for idx, vals in samples if idx)

    def at(i):
        if i <= points[0][0]:
            return points[0][1]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            if i <= x1:
                return y0 + (y1 - y0) * (i - x0) / (x1 - x0)
        return points[-1][1]

    return sum(at(i) for i in range(total_steps))


# -- targets: an offline CIB file, or the live CIB of the node we run in --------------------
def config_counts(cib_text):
    root = etree.fromstring(cib_text.encode())
    return (
        len(root.findall("configuration/resources/primitive")),
        len(root.find("configuration/constraints") if root.find("configuration/constraints") is not None else []),
    )


def epoch_of(cib_text):
    root = etree.fromstring(cib_text.encode())
    return int(root.get("admin_epoch", "0")), int(root.get("epoch", "0"))


class OfflineTarget:
    name = "offline"
    title = "offline CIB file (CIB_file / pcs -f)"

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.file = self.dir / "cib.xml"
        self.env = clean_env(CIB_file=str(self.file))

    def runner(self, env=None):
        return ToolRunner(cib_file=self.file, env=env)

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

    def runner(self, env=None):
        return ToolRunner(env=env or self.env)

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


# -- rows --------------------------------------------------------------------------------
def tool_stats(calls):
    stats = collections.defaultdict(lambda: [0, 0.0])
    for name, seconds in calls:
        stats[name][0] += 1
        stats[name][1] += seconds
    return {k: [v[0], round(v[1], 3)] for k, v in sorted(stats.items())}


def row(target, method, n, phase, wall, invocations, writes, **extra):
    return {
        "target": target.name,
        "method": method,
        "n": n,
        "phase": phase,
        "wall_s": round(wall, 3),
        "invocations": invocations,
        "writes": writes,
        "estimated": False,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        **extra,
    }


# -- our library --------------------------------------------------------------------------
def converge_steps(session, steps):
    """Converge each step on its own; per-step (seconds, invocations, writes, changed, tools)."""
    runner, records = session.runner, []
    for step in steps:
        calls_before, writes_before = len(runner.calls), session.writes
        started = time.perf_counter()
        outcome = session.converge(step.specs())
        seconds = time.perf_counter() - started
        new_calls = runner.calls[calls_before:]
        records.append(
            {
                "seconds": seconds,
                "invocations": len(new_calls),
                "metadata": sum(1 for name, _ in new_calls if name == "crm_resource"),
                "writes": session.writes - writes_before,
                "changed": outcome.changed,
                "retries": max(
                    0, sum(1 for name, _ in new_calls if name == "crm_diff") - (session.writes - writes_before)
                ),
                "calls": new_calls,
            }
        )
    return records


def check_converged(target, n, what):
    counts = config_counts(target.cib_text())
    if counts != (n, 2 * n - 1):
        raise BenchFailure(f"{what}: expected {n} primitives and {2 * n - 1} constraints, found {counts}")


def bench_pcmk_aggregated(target, n):
    steps = workload(n)
    target.reset()
    rows = []
    for phase in ("converge", "re-apply"):
        runner = target.runner()
        session = Session(runner)
        epoch = epoch_of(target.cib_text())
        started = time.perf_counter()
        outcome = session.converge([spec for step in steps for spec in step.specs()])
        wall = time.perf_counter() - started
        epoch_delta = epoch_of(target.cib_text())[1] - epoch[1]
        if phase == "converge":
            if not outcome.changed or session.writes != 1:
                raise BenchFailure(
                    f"[{target.name}] pcmk aggregated N={n}: converge changed={outcome.changed} writes={session.writes}, want one write"
                )
            check_converged(target, n, f"[{target.name}] pcmk aggregated N={n}")
        elif outcome.changed or session.writes or epoch_delta:
            raise BenchFailure(
                f"[{target.name}] pcmk aggregated N={n}: re-apply changed {sorted(outcome.changes)[:5]} "
                f"with {session.writes} write(s), epoch +{epoch_delta}; it must be a no-op"
            )
        stats = tool_stats(runner.calls)
        rows.append(
            row(
                target,
                "pcmk aggregated",
                n,
                phase,
                wall,
                runner.count(),
                session.writes,
                per_tool=stats,
                python_s=round(wall - sum(v[1] for v in stats.values()), 3),
                retries=max(0, stats.get("crm_diff", [0])[0] - session.writes),
                epoch_delta=epoch_delta,
            )
        )
        log(
            f"  [{target.name}] pcmk aggregated   N={n:<4} {phase:9} {wall:8.2f}s  {runner.count():5} tools  {session.writes} writes"
        )
        target.settle()
    return rows


def _check_per_state(target, n, phase, records, steps):
    for step, rec in zip(steps, records):
        if phase == "re-apply" and (rec["changed"] or rec["writes"]):
            raise BenchFailure(
                f"[{target.name}] pcmk per-state N={n}: re-apply of {step.id} changed it "
                f"({rec['writes']} write(s)); it must be a no-op"
            )
        if phase == "converge" and step.kind != "property" and (not rec["changed"] or rec["writes"] != 1):
            raise BenchFailure(
                f"[{target.name}] pcmk per-state N={n}: converging {step.id} made "
                f"{rec['writes']} write(s) (changed={rec['changed']}), want exactly one"
            )


def bench_pcmk_per_state(target, n, phases=("converge", "re-apply")):
    """One converge per step in one Session, every step; re-apply likewise in a new Session."""
    steps = workload(n)
    if "converge" in phases:
        target.reset()
    rows = []
    for phase in phases:
        runner = target.runner()
        session = Session(runner)
        epoch = epoch_of(target.cib_text())
        started = time.perf_counter()
        records = converge_steps(session, steps)
        wall = time.perf_counter() - started
        epoch_delta = epoch_of(target.cib_text())[1] - epoch[1]
        _check_per_state(target, n, phase, records, steps)
        if phase == "converge":
            check_converged(target, n, f"[{target.name}] pcmk per-state N={n}")
        elif epoch_delta:
            raise BenchFailure(f"[{target.name}] pcmk per-state N={n}: re-apply moved the epoch by {epoch_delta}")
        stats = tool_stats(runner.calls)
        rows.append(
            row(
                target,
                "pcmk per-state",
                n,
                phase,
                wall,
                runner.count(),
                session.writes,
                per_tool=stats,
                python_s=round(wall - sum(v[1] for v in stats.values()), 3),
                retries=sum(r["retries"] for r in records),
                epoch_delta=epoch_delta,
                step_seconds=[round(r["seconds"], 4) for r in records],
            )
        )
        log(
            f"  [{target.name}] pcmk per-state    N={n:<4} {phase:9} {wall:8.2f}s  {runner.count():5} tools  {session.writes} writes"
        )
        target.settle()
    return rows


def _estimate_rows(target, method, n, steps, windows, reapply_idx, reapply_recs, desc, *, exact_counts=False):
    """Rows for a sampled method. windows: [(range, records)]; records have seconds/invocations/writes."""
    total = len(steps)
    measured = {i for rng, _ in windows for i in rng}
    unmeasured_writes = sum(
        1 for i in range(total) if i not in measured
    )  # every unmeasured step writes once (checked in windows)
    conv_writes = sum(r["writes"] for _, recs in windows for r in recs) + unmeasured_writes
    samples_t = [(list(rng), [r["seconds"] for r in recs]) for rng, recs in windows]
    samples_i = [(list(rng), [r["invocations"] - r.get("metadata", 0) for r in recs]) for rng, recs in windows]
    conv_inv = total if exact_counts else round(interpolate_total(total, samples_i)) + 1  # + the one meta-data read
    common = {"estimated": True, "sampled": desc, "counts_exact": exact_counts}
    if any("calls" in r for _, recs in windows for r in recs):
        calls = [c for _, recs in windows for r in recs for c in r["calls"]]
        seconds = sum(r["seconds"] for _, recs in windows for r in recs)
        stats = tool_stats(calls)
        common_windows = {
            "window_steps": sum(len(recs) for _, recs in windows),
            "window_per_tool": stats,
            "window_python_s": round(seconds - sum(v[1] for v in stats.values()), 3),
        }
    else:
        common_windows = {}
    rows = [
        row(
            target,
            method,
            n,
            "converge",
            interpolate_total(total, samples_t),
            conv_inv,
            conv_writes,
            windows=[
                {"steps": [rng.start, rng.stop], "seconds": [round(r["seconds"], 4) for r in recs]}
                for rng, recs in windows
            ],
            retries_in_windows=sum(r.get("retries", 0) for _, recs in windows for r in recs),
            **common_windows,
            **common,
        )
    ]
    if reapply_recs:  # pcs: each show is its own process, alike: mean x count
        reapply_wall = sum(r["seconds"] for r in reapply_recs) / len(reapply_recs) * total
        reapply_inv = (
            total if exact_counts else round(sum(r["invocations"] for r in reapply_recs) / len(reapply_recs) * total)
        )
        rows.append(
            row(
                target,
                method,
                n,
                "re-apply",
                reapply_wall,
                reapply_inv,
                0,
                reapply_sample={"steps": reapply_idx, "seconds": [round(r["seconds"], 4) for r in reapply_recs]},
                **common,
            )
        )
    return rows


def bench_pcmk_per_state_sampled(target, n, per_window):
    """Per-state converge measured in windows; the CIB brought to each window's start by one aggregated write."""
    steps = workload(n)
    target.reset()
    ranges = [range(lo, hi) for lo, hi in windows_for(steps, per_window)]
    windows, done = [], 0
    for rng in ranges:
        if rng.start > done:
            Session(target.runner()).converge([spec for step in steps[done : rng.start] for spec in step.specs()])
            target.settle()
        records = converge_steps(Session(target.runner()), steps[rng.start : rng.stop])
        _check_per_state(target, n, "converge", records, steps[rng.start : rng.stop])
        windows.append((rng, records))
        done = rng.stop
        target.settle()
    if done < len(steps):
        Session(target.runner()).converge([spec for step in steps[done:] for spec in step.specs()])
        target.settle()
    check_converged(target, n, f"[{target.name}] pcmk per-state (sampled) N={n}")
    desc = (
        f"{sum(len(r) for r in ranges)} of {len(steps)} converges run (windows at steps "
        f"{', '.join(f'{r.start}-{r.stop - 1}' for r in ranges)}); the re-apply is measured in full"
    )
    rows = _estimate_rows(target, "pcmk per-state", n, steps, windows, None, None, desc)
    log(
        f"  [{target.name}] pcmk per-state    N={n:<4} converge  ~{rows[0]['wall_s']:7.2f}s  ~{rows[0]['invocations']:4} tools  {rows[0]['writes']} writes  (sampled)"
    )
    # The re-apply is one Session over the converged CIB: cheap enough to run every step.
    return rows + bench_pcmk_per_state(target, n, phases=("re-apply",))


# -- pcs, one command per step ---------------------------------------------------------------------
class PcsTemplate:
    """pcs's own XML for a resource, its location and an order, cloned per resource.

    Made once by running pcs for two template resources; `state(steps)` is then
    the configuration pcs leaves after those steps, without running pcs for
    each. Checked against real pcs runs (see `verify`).
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
        writes = epoch_of(target.cib_text())[1] - epoch[1]
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
        if phase == "converge":
            check_converged(target, n, f"[{target.name}] pcs N={n}")
            extra = {"template_matches": template.matches(target.cib_text(), steps, target.name == "live")}
            if not extra["template_matches"]:
                log(
                    f"  WARNING: pcs's CIB at N={n} differs from the template used for sampling; sampled pcs rows are suspect"
                )
        else:
            extra = {}
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
        f"{sum(len(r) for r in ranges)} of {len(steps)} pcs commands run (windows at steps "
        f"{', '.join(f'{r.start}-{r.stop - 1}' for r in ranges)}, the rest of the CIB cloned from pcs's own XML); "
        f"re-apply: {len(reapply_idx)} shows"
    )
    rows = _estimate_rows(
        target, "pcs one-at-a-time", n, steps, windows, reapply_idx, reapply_recs, desc, exact_counts=True
    )
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


# -- salt-call ------------------------------------------------------------------------------
def make_shims(directory, logfile):
    directory.mkdir(parents=True, exist_ok=True)
    for tool in SHIMMED:
        shim = directory / tool
        shim.write_text(f'#!/bin/sh\n{SBIN}/{tool} "$@"\nrc=$?\necho "{tool} $rc $1" >> "{logfile}"\nexit $rc\n')
        shim.chmod(0o755)


def bench_salt(target, n, aggregate):
    method = "salt-call aggregated" if aggregate else "salt-call per-state"
    base = target.dir / f"salt-{'agg' if aggregate else 'per'}-{n}"
    shutil.rmtree(base, ignore_errors=True)
    (base / "conf").mkdir(parents=True)
    (base / "srv").mkdir()
    (base / "srv" / "bench.sls").write_text(sls_text(n))
    logfile = base / "tools.log"
    make_shims(base / "shims", logfile)
    import yaml  # pylint: disable=import-outside-toplevel

    opts = {
        "id": "bench",
        "file_client": "local",
        "root_dir": str(base / "root"),
        "file_roots": {"base": [str(base / "srv")]},
        "log_file": str(base / "minion.log"),
        "log_level_logfile": "warning",
        "state_aggregate": ["pcmk"] if aggregate else False,
        **target.salt_opts(),
    }
    (base / "conf" / "minion").write_text(yaml.safe_dump(opts))
    env = {**target.env, "PATH": f"{base / 'shims'}:{target.env['PATH']}"}
    env.pop("CIB_file", None)
    target.reset()
    total = len(workload(n))
    rows = []
    for phase in ("converge", "re-apply"):
        logfile.write_text("")
        epoch = epoch_of(target.cib_text())
        started = time.perf_counter()
        proc = run(
            [SALT_CALL, "-c", base / "conf", "--local", "--out=json", "--log-level=quiet", "state.apply", "bench"],
            env=env,
            check=False,
        )
        wall = time.perf_counter() - started
        epoch_delta = epoch_of(target.cib_text())[1] - epoch[1]
        try:
            results = json.loads(proc.stdout)["local"]
            results = {v["__id__"]: v for v in results.values()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BenchFailure(
                f"[{target.name}] {method} N={n} {phase}: no state results (exit {proc.returncode}): "
                f"{proc.stdout[-800:]} {proc.stderr[-800:]}"
            ) from exc
        failed = {k: v["comment"] for k, v in results.items() if v["result"] is not True}
        changed = [k for k, v in results.items() if v["changes"]]
        lines = [line.split() for line in logfile.read_text().splitlines() if line.strip()]
        writes = sum(1 for name, rc, *first in lines if name == "cibadmin" and rc == "0" and first[:1] == ["--patch"])
        if failed or len(results) != total:
            raise BenchFailure(
                f"[{target.name}] {method} N={n} {phase}: {len(results)} states, failures: {dict(list(failed.items())[:3])}"
            )
        if phase == "converge" and (len(changed) < total - 1 or writes != (1 if aggregate else len(changed))):
            raise BenchFailure(f"[{target.name}] {method} N={n}: {len(changed)} states changed with {writes} writes")
        if phase == "re-apply" and (changed or writes or epoch_delta):
            raise BenchFailure(
                f"[{target.name}] {method} N={n}: re-apply changed {changed[:5]} with {writes} writes; it must be a no-op"
            )
        if phase == "converge":
            check_converged(target, n, f"[{target.name}] {method} N={n}")
        per_tool = dict(sorted(collections.Counter(name for name, *_ in lines).items()))
        rows.append(
            row(
                target,
                method,
                n,
                phase,
                wall,
                len(lines),
                writes,
                per_tool=per_tool,
                epoch_delta=epoch_delta,
                retries=sum(
                    1 for name, rc, *first in lines if name == "cibadmin" and rc != "0" and first[:1] == ["--patch"]
                ),
            )
        )
        log(f"  [{target.name}] {method:17} N={n:<4} {phase:9} {wall:8.2f}s  {len(lines):5} tools  {writes} writes")
        target.settle()
    return rows


def salt_call_overhead(target):
    """Wall time of ``salt-call --local test.true``: the start-up every salt-call row includes."""
    base = target.dir / "salt-overhead"
    (base / "conf").mkdir(parents=True, exist_ok=True)
    (base / "conf" / "minion").write_text(f"id: bench\nfile_client: local\nroot_dir: {base / 'root'}\n")
    started = time.perf_counter()
    run([SALT_CALL, "-c", base / "conf", "--local", "--out=quiet", "--log-level=quiet", "test.true"], env=target.env)
    return round(time.perf_counter() - started, 3)


# -- one target --------------------------------------------------------------------------------
def run_target(target, cfg):
    rows, meta = [], {}
    pcs_template = None
    for n in cfg["sizes"]:
        log(f"[{target.name}] N={n}")
        rows += bench_pcmk_aggregated(target, n)
        if cfg["full"] or 3 * n <= cfg["sample_above"]:
            rows += bench_pcmk_per_state(target, n)
        else:
            rows += bench_pcmk_per_state_sampled(target, n, cfg["window"])
        if not cfg["skip_salt"] and n in cfg["salt_sizes"] and (target.name == "offline" or cfg["salt_live"]):
            rows += bench_salt(target, n, aggregate=True)
            rows += bench_salt(target, n, aggregate=False)
        if not cfg["skip_pcs"]:
            if pcs_template is None:
                pcs_template = PcsTemplate(target.dir)
            if cfg["full"] or 3 * n <= cfg["pcs_sample_above"]:
                rows += bench_pcs_full(target, n, pcs_template)
            else:
                rows += bench_pcs_sampled(target, n, pcs_template, cfg["pcs_window"])
    if any(r["method"].startswith("salt-call") for r in rows):
        meta["salt_call_test_true_s"] = salt_call_overhead(target)
    if target.name == "offline":
        target.reset()  # the live cluster is stopped right after: stopping its resources one by one is wasted time
    return rows, meta


# -- output --------------------------------------------------------------------------------------
METHOD_ORDER = ["pcmk aggregated", "salt-call aggregated", "pcmk per-state", "salt-call per-state", "pcs one-at-a-time"]


def fmt_count(value, estimated):
    return f"~{value}" if estimated else str(value)


def table(rows, title):
    rows = sorted(rows, key=lambda r: (r["n"], METHOD_ORDER.index(r["method"]), r["phase"] != "converge"))
    head = ("method", "N", "phase", "wall s", "tool invocations", "CIB writes")
    body = []
    for r in rows:
        est = r["estimated"]
        body.append(
            (
                r["method"] + (" *" if est else ""),
                str(r["n"]),
                r["phase"],
                (f"~{r['wall_s']:.1f}" if est else f"{r['wall_s']:.2f}"),
                fmt_count(r["invocations"], est and not r.get("counts_exact")),
                str(r["writes"]),
            )
        )
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    align = lambda cells: "  ".join(
        c.ljust(w) if i < 1 or i == 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    )
    lines = [title, align(head), "  ".join("-" * w for w in widths)]
    previous = None
    for cells in body:
        if previous is not None and cells[1] != previous:
            lines.append("")
        previous = cells[1]
        lines.append(align(cells))
    return "\n".join(lines)


def breakdown(rows, title):
    """Where the library's time goes, per tool."""
    tools = ["cibadmin", "crm_verify", "crm_diff", "crm_node", "crm_resource"]
    head = ("method", "N", "phase", *tools, "python+sleep", "retries")
    body = []
    for r in sorted(rows, key=lambda r: (r["n"], r["method"], r["phase"] != "converge")):
        if "python_s" in r:
            stats, python_s, retries, label = r["per_tool"], r["python_s"], r.get("retries", 0), r["method"]
        elif "window_per_tool" in r:
            stats, python_s, retries = r["window_per_tool"], r["window_python_s"], r.get("retries_in_windows", 0)
            label = f"{r['method']} (only the {r['window_steps']} sampled steps)"
        else:
            continue
        body.append(
            (
                label,
                str(r["n"]),
                r["phase"],
                *(f"{stats[t][1]:.2f} ({stats[t][0]})" if t in stats else "-" for t in tools),
                f"{python_s:.2f}",
                str(retries),
            )
        )
    if not body:
        return ""
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    align = lambda cells: "  ".join(
        c.ljust(w) if i in (0, 2) else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    )
    return "\n".join([title, align(head), "  ".join("-" * w for w in widths), *map(align, body)])


def interpolation_checks(rows, cfg):
    """For fully measured step-by-step runs: what the sampled estimate would have said from the same steps."""
    checks = []
    for r in rows:
        if r["estimated"] or r["phase"] != "converge" or not r.get("step_seconds") or r["n"] < 10:
            continue
        steps = workload(r["n"])
        per_window = cfg["pcs_window"] if r["method"].startswith("pcs") else cfg["window"]
        ranges = windows_for(steps, per_window)
        samples = [(list(range(lo, hi)), r["step_seconds"][lo:hi]) for lo, hi in ranges]
        estimate = interpolate_total(len(steps), samples)
        measured = sum(r["step_seconds"])
        checks.append(
            f"   {r['method']} N={r['n']}: windows of {per_window} resources would estimate {estimate:.1f}s "
            f"for the {measured:.1f}s measured step by step ({(estimate - measured) / measured:+.0%})"
        )
    return checks


def report(result):
    v = result["versions"]
    out = [
        f"{v.get('pacemaker')}, {v.get('pcs') and 'pcs ' + v['pcs']}, {v.get('salt')}, "
        f"{result['host']['cpus']} CPUs; started {result['started']}",
        "",
    ]
    for target, title in (("offline", OfflineTarget.title), ("live", LiveTarget.title)):
        rows = [r for r in result["rows"] if r["target"] == target]
        if not rows:
            continue
        out.append(table(rows, f"== {title}"))
        sampled = [r for r in rows if r["estimated"] and r["phase"] == "converge"]
        for r in sampled:
            out.append(f"   * {r['method']} N={r['n']}: estimated; {r['sampled']}")
        checks = interpolation_checks(rows, result["config"])
        if checks:
            out += ["   sampling check on fully measured runs:", *checks]
        out.append("")
        text = breakdown(
            rows,
            f"-- {target}: where pcmk time goes: seconds (runs) per Pacemaker tool; python+sleep = the rest (incl. retry back-off)",
        )
        if text:
            out += [text, ""]
    meta = result["meta"]
    loads = [r["loadavg_1m"] for r in result["rows"] if "loadavg_1m" in r]
    notes = [
        "Notes:",
        "  tool invocations: Pacemaker programs our code ran (salt-call rows: counted by PATH shims); for pcs, pcs processes.",
        "  CIB writes: our versioned patches (Pacemaker bumps the epoch by 2 for each); pcs: epoch increments.",
    ]
    if meta.get("pcs_internal_tools"):
        inner = ", ".join(f"{k}: {len(v)}" for k, v in meta["pcs_internal_tools"].items())
        notes.append(f"  each pcs process itself ran Pacemaker tools (strace, offline): {inner}")
    for target in ("offline", "live"):
        if f"{target}_salt_call_test_true_s" in meta:
            notes.append(
                f"  salt-call --local test.true ({target}): {meta[f'{target}_salt_call_test_true_s']:.2f}s start-up included in every salt-call row"
            )
    cpus = result["host"]["cpus"] or 1
    if loads and max(loads) > cpus:
        notes.append(
            f"  the machine was busy with other work: 1-min load average up to {max(loads):.1f} on {cpus} CPUs "
            f"(median {sorted(loads)[len(loads) // 2]:.1f}); wall times are inflated and noisy, counts are not"
        )
    out.append("\n".join(notes))
    return "\n".join(out)


# -- main ------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sizes = lambda text: [int(x) for x in text.split(",") if x.strip()]
    p.add_argument("--sizes", type=sizes, default=[10, 50, 200], help="resource counts (default 10,50,200)")
    p.add_argument("--skip-live", action="store_true", help="offline CIB file only")
    p.add_argument("--skip-pcs", action="store_true", help="no pcs baseline")
    p.add_argument("--skip-salt", action="store_true", help="no salt-call runs")
    p.add_argument("--salt-sizes", type=sizes, default=[50], help="sizes with salt-call runs (default 50)")
    p.add_argument("--salt-live", action="store_true", help="salt-call runs on the live cluster too")
    p.add_argument("--full", action="store_true", help="never sample: run every step of every method")
    p.add_argument(
        "--sample-above",
        type=int,
        default=300,
        help="pcmk per-state: sample when there are more steps than this (default 300, i.e. N=200)",
    )
    p.add_argument(
        "--pcs-sample-above",
        type=int,
        default=40,
        help="pcs: sample when there are more commands than this (default 40, i.e. N>13)",
    )
    p.add_argument("--window", type=int, default=5, help="resources per sampled pcmk window (default 5)")
    p.add_argument("--pcs-window", type=int, default=3, help="resources per sampled pcs window (default 3)")
    p.add_argument("--workdir", help="scratch directory (default: a new temporary one, removed afterwards)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory (and its logs)")
    p.add_argument("--out", help="JSON results path (default bench/results/<timestamp>.json)")
    p.add_argument("--inner-live", metavar="CONFIG", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def inner_live(config_path):
    """Runs inside the cluster node: the live half of the benchmark; writes JSON."""
    cfg = json.loads(Path(config_path).read_text())
    target = LiveTarget(cfg["workdir"])
    try:
        rows, meta = run_target(target, cfg)
        payload = {"rows": rows, "meta": meta}
    except BenchFailure as exc:
        payload = {"rows": [], "meta": {}, "failure": str(exc)}
    Path(cfg["out"]).write_text(json.dumps(payload))
    return 1 if "failure" in payload else 0


def versions():
    found = {"python": platform.python_version()}
    for name, argv in (
        ("pacemaker", ["pacemakerd", "--version"]),
        ("pcs", ["pcs", "--version"]),
        ("salt", [SALT_CALL, "--version"]),
    ):
        try:
            found[name] = run(argv, check=False).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            found[name] = None
    return found


def run_live(cfg, workdir):
    from tests.support.cluster import Cluster, missing_requirements  # pylint: disable=import-outside-toplevel

    reason = missing_requirements()
    if reason:
        log(f"live benchmark skipped: {reason}")
        return {"rows": [], "meta": {"live_skipped": reason}}
    cluster = Cluster(workdir / "cluster", nodes=1, name="pcmkbench")
    try:
        log("[live] starting a single-node cluster")
        cluster.start()
        live_cfg = {**cfg, "workdir": str(workdir / "live"), "out": str(workdir / "live.json")}
        (workdir / "live-config.json").write_text(json.dumps(live_cfg))
        proc = cluster.node("n1").popen(
            [sys.executable, str(SCRIPT), "--inner-live", str(workdir / "live-config.json")], cwd=str(REPO)
        )
        proc.wait()
        out = workdir / "live.json"
        if not out.exists():
            raise BenchFailure(f"the live benchmark inside the node exited {proc.returncode} without results")
        return json.loads(out.read_text())
    finally:
        log("[live] stopping the cluster")
        cluster.stop()


def main(argv=None):
    args = parse_args(argv)
    if args.inner_live:
        return inner_live(args.inner_live)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="pcmk-bench-")).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)
    cfg = {
        "sizes": args.sizes,
        "skip_pcs": args.skip_pcs,
        "skip_salt": args.skip_salt,
        "salt_sizes": args.salt_sizes,
        "salt_live": args.salt_live,
        "full": args.full,
        "sample_above": args.sample_above,
        "pcs_sample_above": args.pcs_sample_above,
        "window": args.window,
        "pcs_window": args.pcs_window,
    }
    result = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": cfg,
        "versions": versions(),
        "host": {"cpus": os.cpu_count(), "kernel": platform.release()},
        "rows": [],
        "meta": {},
    }
    began = time.perf_counter()
    status = 0
    try:
        if not args.skip_pcs:
            result["meta"]["pcs_internal_tools"] = pcs_internal_tools(workdir)
        rows, meta = run_target(OfflineTarget(workdir / "offline"), cfg)
        result["rows"] += rows
        result["meta"].update({f"offline_{k}": v for k, v in meta.items()})
        if not args.skip_live:
            live = run_live(cfg, workdir)
            result["rows"] += live["rows"]
            result["meta"].update({f"live_{k}": v for k, v in live["meta"].items()})
            if live.get("failure"):
                raise BenchFailure(live["failure"])
    except BenchFailure as exc:
        result["failure"] = str(exc)
        log(f"\nBENCHMARK FAILED: {exc}")
        status = 1
    except KeyboardInterrupt:
        result["failure"] = "interrupted"
        status = 130
    finally:
        result["total_s"] = round(time.perf_counter() - began, 1)
        out = Path(args.out) if args.out else RESULTS / f"{time.strftime('%Y%m%dT%H%M%S')}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(result))
    print(f"\ntotal {result['total_s']:.0f}s; results in {out}" + (f"; FAILED: {result['failure']}" if status else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
