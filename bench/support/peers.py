"""The table of the speed goals, measured in one run on one live single-node cluster, and the curve.

The workload (workload.chain_workload): N ``ocf:pacemaker:Dummy`` resources
with a monitor op and N-1 mandatory orders, 2N-1 states (99 for N=50).
Every method converges it from an empty configuration, then re-applies it
(the no-op), on the same cluster, emptied between methods:

    salt 3007 pcs        Salt 3007.15's ``pcs.resource_present`` / ``pcs.constraint_present``
                         states, ``salt-call --local`` from a venv of its own (ensure_salt3007)
    salt-call agg / per  our states, ``state_aggregate: [pcmk]`` and Salt's default configuration
    test.ping            ``salt-call --local test.ping``: Salt's own start-up, the floor
    crmsh                ``crm configure load update`` of the same objects (one process, one commit)

Our rows also count CIB writes (successful ``cibadmin --patch``) and reads
(``cibadmin --query``) through PATH shims, and sum the states' own
``duration`` (salt-call ``--out=json``).

The curve (N = 50, 500, 2000): our two configurations, per-state cost =
summed state durations / states. A whole run at 500 and 2000 is long on
an engine whose per-state cost grows with the CIB, so by default those sizes
are *sampled*: the CIB is loaded with resources 1..N-K and their orders (as
our states write them, generated from a template our library converged),
then the states of resources N-K+1..N (2K states) are applied, then applied
again: per-state cost of a converge and of a no-op on a CIB of full size.
``--full`` runs the whole SLS from empty, then again.
At those sizes the cluster is in maintenance mode (2000 Dummy resources
with 10 s monitors would be 200 agent runs a second on a small machine);
the CIB work measured is the same.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

import yaml
from lxml import etree

from saltext.pcmk.utils.cib.session import Session

from .common import REPO, BenchFailure, log, row, run
from .saltcall import SALT_CALL, make_shims
from .targets import config_counts, epoch_of
from .workload import chain_sls_text, chain_workload, crm_text, salt3007_sls_text

SALT3007 = "3007.15"
SALT3007_VENV = REPO / "bench" / ".salt3007-venv"
PHASES = ("converge", "no-op")


# ---- Salt 3007.15 in a venv of its own ----


def ensure_salt3007(venv=SALT3007_VENV):
    """``salt-call`` of Salt 3007.15, installed from the package index into ``venv`` once, then reused."""
    venv = Path(venv)
    salt_call = venv / "bin" / "salt-call"
    if salt_call.exists() and SALT3007 in run([salt_call, "--version"], check=False).stdout:
        return str(salt_call)
    log(f"installing salt=={SALT3007} into {venv} (once)")
    run([sys.executable, "-m", "venv", "--clear", venv], timeout=300)
    run([venv / "bin" / "pip", "install", "--quiet", f"salt=={SALT3007}"], timeout=1800)
    found = run([salt_call, "--version"], check=False).stdout
    if SALT3007 not in found:
        raise BenchFailure(f"{salt_call} --version says {found!r}, not {SALT3007}")
    return str(salt_call)


# ---- one salt-call ----


def children_cpu():
    """CPU seconds (user + system) of every child process waited for so far, and of theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv, env):
    """``(wall seconds, CPU seconds, process)``: CPU is less sensitive than wall to other work on the machine."""
    cpu = children_cpu()
    started = time.perf_counter()
    proc = run(argv, env=env, check=False, timeout=7200)
    return time.perf_counter() - started, children_cpu() - cpu, proc


class SaltRun:
    """A minion configuration under ``base`` and the salt-call runs made with it."""

    def __init__(self, target, base, salt_call=SALT_CALL, *, aggregate=False, shims=True):
        self.target, self.base, self.salt_call = target, Path(base), salt_call
        shutil.rmtree(self.base, ignore_errors=True)
        (self.base / "conf").mkdir(parents=True)
        (self.base / "srv").mkdir()
        self.tools_log = self.base / "tools.log"
        opts = {
            "id": "bench",
            "file_client": "local",
            "root_dir": str(self.base / "root"),
            "file_roots": {"base": [str(self.base / "srv")]},
            "log_file": str(self.base / "minion.log"),
            "log_level_logfile": "warning",
            "state_aggregate": ["pcmk"] if aggregate else False,
        }
        (self.base / "conf" / "minion").write_text(yaml.safe_dump(opts))
        self.env = {k: v for k, v in target.env.items() if not k.startswith("CIB_")}
        if shims:
            make_shims(self.base / "shims", self.tools_log)
            self.env["PATH"] = f"{self.base / 'shims'}:{self.env['PATH']}"

    def call(self, *args):
        """``(wall seconds, CPU seconds, process)`` of ``salt-call --local --out=json args``."""
        self.tools_log.write_text("")
        return timed(
            [self.salt_call, "-c", self.base / "conf", "--local", "--out=json", "--log-level=quiet", *args], self.env
        )

    def apply(self, sls_text, what):
        """Apply ``sls_text``: (wall, CPU, {state id: return}, tool log lines, epoch delta)."""
        (self.base / "srv" / "bench.sls").write_text(sls_text)
        epoch = epoch_of(self.target.cib_text())
        wall, cpu, proc = self.call("state.apply", "bench")
        epoch_delta = epoch_of(self.target.cib_text()) - epoch
        try:
            results = {v["__id__"]: v for v in json.loads(proc.stdout)["local"].values()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BenchFailure(
                f"{what}: no state results (exit {proc.returncode}): {proc.stdout[-800:]} {proc.stderr[-800:]}"
            ) from exc
        failed = {k: v["comment"] for k, v in results.items() if v["result"] is not True}
        if failed:
            raise BenchFailure(f"{what}: {len(failed)} states failed: {dict(list(failed.items())[:3])}")
        lines = [line.split() for line in self.tools_log.read_text().splitlines() if line.strip()]
        return wall, cpu, results, lines, epoch_delta


def cib_io(lines):
    """(successful patches, refused patches, CIB reads) in a shim log."""
    patches = [rc for name, rc, *first in lines if name == "cibadmin" and first[:1] == ["--patch"]]
    reads = sum(1 for name, _, *first in lines if name == "cibadmin" and first[:1] in (["--query"], ["-Q"]))
    return patches.count("0"), len(patches) - patches.count("0"), reads


def durations_ms(results, ids=None):
    """Sum of the states' own ``duration`` (ms), of all states or of those in ``ids``."""
    return sum(float(v.get("duration") or 0) for k, v in results.items() if ids is None or k in ids)


def check_chain_converged(target, n, what):
    counts = config_counts(target.cib_text())
    if counts != (n, n - 1):
        raise BenchFailure(f"{what}: expected {n} primitives and {n - 1} constraints, found {counts}")


# ---- the methods ----


def bench_ours(target, n, aggregate):
    """Our states through a real salt-call: converge from empty, then the no-op."""
    method = "salt-call aggregated" if aggregate else "salt-call per-state"
    states = len(chain_workload(n))
    salt = SaltRun(target, target.dir / f"peers-{'agg' if aggregate else 'per'}-{n}", aggregate=aggregate)
    target.reset()
    rows = []
    for phase in PHASES:
        what = f"[{target.name}] {method} N={n} {phase}"
        wall, cpu, results, lines, epoch_delta = salt.apply(chain_sls_text(n), what)
        writes, refused, reads = cib_io(lines)
        changed = [k for k, v in results.items() if v["changes"]]
        if len(results) != states:
            raise BenchFailure(f"{what}: {len(results)} states, want {states}")
        if phase == "converge":
            if len(changed) != states or not writes:
                raise BenchFailure(f"{what}: {len(changed)} of {states} states changed with {writes} writes")
            check_chain_converged(target, n, what)
        elif changed or writes or epoch_delta:
            raise BenchFailure(f"{what}: changed {changed[:5]} with {writes} writes; it must be a no-op")
        ms = durations_ms(results)
        rows.append(
            row(
                target,
                method,
                n,
                phase,
                wall,
                len(lines),
                writes,
                table="peers",
                cpu_s=round(cpu, 3),
                states=states,
                states_ms=round(ms, 1),
                per_state_ms=round(ms / states, 2),
                reads=reads,
                retries=refused,
                epoch_delta=epoch_delta,
            )
        )
        log(f"  {what:40} {wall:8.2f}s  states {ms / 1000:7.2f}s  {writes} writes  {reads} reads")
        target.settle()
    return rows


def bench_salt3007(target, n, salt_call):
    """Salt 3007.15's pcs states, salt-call --local from their venv, on the same cluster."""
    method = "salt 3007 pcs states"
    states = len(chain_workload(n))
    salt = SaltRun(target, target.dir / f"peers-salt3007-{n}", salt_call, shims=False)
    target.reset()
    rows = []
    for phase in PHASES:
        what = f"[{target.name}] {method} N={n} {phase}"
        wall, cpu, results, _, epoch_delta = salt.apply(salt3007_sls_text(n), what)
        changed = [k for k, v in results.items() if v["changes"]]
        if len(results) != states:
            raise BenchFailure(f"{what}: {len(results)} states, want {states}")
        if phase == "converge":
            if len(changed) != states:
                raise BenchFailure(f"{what}: {len(changed)} of {states} states changed")
            check_chain_converged(target, n, what)
        elif changed or epoch_delta:
            raise BenchFailure(f"{what}: changed {changed[:5]}, epoch +{epoch_delta}; it must be a no-op")
        ms = durations_ms(results)
        rows.append(
            row(
                target,
                method,
                n,
                phase,
                wall,
                None,
                epoch_delta,
                table="peers",
                cpu_s=round(cpu, 3),
                states=states,
                states_ms=round(ms, 1),
                per_state_ms=round(ms / states, 2),
                epoch_delta=epoch_delta,
            )
        )
        log(f"  {what:40} {wall:8.2f}s  states {ms / 1000:7.2f}s  epoch +{epoch_delta}")
        target.settle()
    return rows


def bench_crm(target, n):
    """``crm configure load update`` of the same objects: one process, one commit."""
    method = "crmsh load update"
    os.makedirs("/var/log/crmsh", exist_ok=True)  # the node's own /var/log: crmsh refuses to start without it
    path = target.dir / f"peers-crm-{n}.txt"
    path.write_text(crm_text(n))
    target.reset()
    rows = []
    for phase in PHASES:
        what = f"[{target.name}] {method} N={n} {phase}"
        epoch = epoch_of(target.cib_text())
        wall, cpu, proc = timed(["crm", "configure", "load", "update", path], target.env)
        if proc.returncode != 0:
            raise BenchFailure(f"{what}: crm exited {proc.returncode}: {proc.stderr[-800:]}")
        epoch_delta = epoch_of(target.cib_text()) - epoch
        check_chain_converged(target, n, what)
        if phase == "no-op" and epoch_delta:
            log(f"  {what}: the re-load moved the epoch by {epoch_delta}")
        rows.append(
            row(
                target,
                method,
                n,
                phase,
                wall,
                None,
                epoch_delta,
                table="peers",
                cpu_s=round(cpu, 3),
                epoch_delta=epoch_delta,
            )
        )
        log(f"  {what:40} {wall:8.2f}s  epoch +{epoch_delta}")
        target.settle()
    return rows


def bench_floor(target, repeat=3):
    """``salt-call --local test.ping``: the median of ``repeat`` runs, as both columns."""
    salt = SaltRun(target, target.dir / "peers-floor", shims=False)
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu, proc = salt.call("test.ping")
        if proc.returncode != 0:
            raise BenchFailure(f"salt-call --local test.ping exited {proc.returncode}: {proc.stderr[-400:]}")
        walls.append(wall)
        cpus.append(cpu)
    wall = statistics.median(walls)
    log(
        f"  [{target.name}] salt-call test.ping: {wall:.2f}s (median of {repeat}: {', '.join(f'{w:.2f}' for w in walls)})"
    )
    return [
        row(
            target,
            "salt-call test.ping",
            0,
            phase,
            wall,
            None,
            0,
            table="peers",
            cpu_s=round(statistics.median(cpus), 3),
            runs=[round(w, 3) for w in walls],
        )
        for phase in PHASES
    ]


# ---- the curve ----


def _maintenance(target, on):
    run(
        ["crm_attribute", "--type", "crm_config", "--name", "maintenance-mode", "--update", "true" if on else "false"],
        env=target.env,
    )


class Sections:
    """``<resources>`` and ``<constraints>`` of resources 1..n and their orders, as our states write them.

    Our library converges two resources once (a template); resource I is the
    template's second resource with its ids, references and ``fake`` moved to
    I. Building a large CIB by converging it would measure the engine, not
    prepare the measurement; a sampled run checks that the states find the
    generated objects unchanged.
    """

    def __init__(self, workdir):
        from .targets import OfflineTarget  # pylint: disable=import-outside-toplevel

        target = OfflineTarget(Path(workdir) / "template")
        target.reset()
        Session(target.runner()).converge([spec for step in chain_workload(2) for spec in step.specs()])
        root = etree.fromstring(target.cib_text().encode())
        self.cib_text = target.cib_text()
        self.primitive = root.find("configuration/resources/primitive[@id='r2']")
        self.order = root.find("configuration/constraints/rsc_order[@id='order-r1-r2-mandatory']")
        if self.primitive is None or self.order is None:
            raise BenchFailure("the 2-resource template has no r2 or no order-r1-r2-mandatory")

    def primitive_for(self, i):
        copied = copy.deepcopy(self.primitive)
        for child in copied.iter():
            ident = child.get("id") or ""
            if ident == "r2" or ident.startswith("r2-"):
                child.set("id", f"r{i}{ident[2:]}")
            if child.tag == "nvpair" and child.get("name") == "fake":
                child.set("value", str(i))
        return copied

    def order_for(self, i):
        copied = copy.deepcopy(self.order)
        copied.set("id", f"order-r{i - 1}-r{i}-mandatory")
        copied.set("first", f"r{i - 1}")
        copied.set("then", f"r{i}")
        return copied

    def sections(self, n):
        resources, constraints = etree.Element("resources"), etree.Element("constraints")
        for i in range(1, n + 1):
            resources.append(self.primitive_for(i))
            if i > 1:
                constraints.append(self.order_for(i))
        return [resources, constraints]

    def cib(self, n):
        """A whole CIB (the template's, with these sections)."""
        from saltext.pcmk.utils.cib.document import Cib  # pylint: disable=import-outside-toplevel

        cib = Cib.from_text(self.cib_text)
        config = cib.root.find("configuration")
        for element in self.sections(n):
            config.replace(config.find(element.tag), element)
        return cib


def _preload(target, sections, upto):
    """Resources 1..upto and their orders, loaded as generated (cibadmin --replace)."""
    target.load_sections(sections.sections(upto))


def bench_curve_sampled(target, n, aggregate, k, sections):
    """The states of resources n-k+1..n applied on a CIB holding resources 1..n-k: converge, then again (no-op)."""
    method = "salt-call aggregated" if aggregate else "salt-call per-state"
    what = f"[{target.name}] {method} N={n} (sampled)"
    target.reset()
    began = time.perf_counter()
    _preload(target, sections, n - k)
    log(f"  {what}: CIB brought to {n - k} resources in {time.perf_counter() - began:.1f}s")
    salt = SaltRun(target, target.dir / f"curve-{'agg' if aggregate else 'per'}-{n}", aggregate=aggregate)
    window = [s for s in chain_workload(n) if s.index > n - k]
    rows = []
    for phase in PHASES:
        wall, cpu, results, lines, epoch_delta = salt.apply(chain_sls_text(n, lo=n - k + 1), f"{what} {phase}")
        changed = [k_ for k_, v in results.items() if v["changes"]]
        if len(results) != len(window) or len(changed) != (len(window) if phase == "converge" else 0):
            raise BenchFailure(
                f"{what} {phase}: {len(changed)} of {len(results)} states changed "
                f"(want {len(window) if phase == 'converge' else 0} of {len(window)}): {changed[:5]}"
            )
        check_chain_converged(target, n, what)
        writes, refused, reads = cib_io(lines)
        ms = durations_ms(results)
        r = row(
            target,
            method,
            n,
            phase,
            0,
            len(lines),
            writes,
            table="curve",
            sampled=f"{len(window)} of {2 * n - 1} states on a CIB of {n - k} resources",
            states=len(window),
            states_ms=round(ms, 1),
            per_state_ms=round(ms / len(window), 2),
            window_wall_s=round(wall, 3),
            window_cpu_s=round(cpu, 3),
            reads=reads,
            retries=refused,
            epoch_delta=epoch_delta,
        )
        r.update(wall_s=None, estimated=True)  # no whole run: the per-state cost is what was measured
        rows.append(r)
        log(
            f"  {what} {phase}: {len(window)} states, {r['per_state_ms']:.0f} ms each, {writes} writes ({wall:.1f}s wall)"
        )
        target.settle()
    return rows


def run_curve(target, cfg, save=None):
    """The curve's sizes other than the table's; ``save(rows)`` after each size and configuration."""
    rows = []
    sizes = [n for n in cfg["curve_sizes"] if n != cfg["peers_n"]]
    if not sizes:
        return rows
    _maintenance(target, True)
    sections = Sections(target.dir / "sections")
    try:
        for n in sizes:
            for aggregate in (True, False):
                if cfg["full"]:
                    found = bench_ours(target, n, aggregate)
                    for r in found:
                        r["table"] = "curve"
                    rows += found
                else:
                    rows += bench_curve_sampled(target, n, aggregate, cfg["curve_window"], sections)
                if save:
                    save(rows)
    finally:
        target.reset()
        _maintenance(target, False)
    return rows


def run_peers(target, cfg, save=None):
    """Every row of the goals' table at N=peers_n, the curve, Salt 3007 last (the longest): (rows, meta).

    ``save(rows)`` is called after each method, so an interrupted run still has its figures.
    """
    n = cfg["peers_n"]
    rows = []
    parts = [
        lambda: bench_floor(target),
        lambda: bench_ours(target, n, aggregate=True),
        lambda: bench_ours(target, n, aggregate=False),
        lambda: bench_crm(target, n),
        lambda: run_curve(target, cfg, save and (lambda curve: save(rows + curve))),
    ]
    if cfg.get("salt3007"):
        parts.append(lambda: bench_salt3007(target, n, cfg["salt3007"]))
    for part in parts:
        rows += part()
        if save:
            save(rows)
    return rows, {}


# ---- a diff of a large CIB (offline, no cluster) ----


def time_diff(workdir, n=2000, repeat=3):
    """Seconds of ``diff.compare`` between two CIBs of n resources (and their orders) differing by one resource."""
    from saltext.pcmk.utils.cib import diff  # pylint: disable=import-outside-toplevel

    sections = Sections(Path(workdir))
    before = sections.cib(n)
    after = before.copy()
    after.root.find("configuration/resources").append(sections.primitive_for(n + 1))
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        changes = diff.compare(before, after)
        times.append(time.perf_counter() - started)
    if len(changes) != 1:
        raise BenchFailure(f"diff of {n} vs {n + 1} resources found {len(changes)} changes, want 1: {list(changes)}")
    return {"n": n, "seconds": round(statistics.median(times), 3), "runs": [round(t, 3) for t in times]}
