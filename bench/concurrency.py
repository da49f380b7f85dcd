#!/usr/bin/env python3
"""Concurrent controllers at scale: 3 controllers x 20 concurrent state runs on one live cluster.

The bed is the suite's three-node one (tests/support/cluster.py and
saltbed.py: namespaced Corosync/Pacemaker nodes, a salt-master, a
salt-minion per node), started here under /tmp/conc-*. The workload is
tests/support/concload.py: the master publishes ``state.apply conc
concurrent=True pillar={"conc_round": k}`` for k = 1..20 at once, so every
minion runs 20 state runs side by side in job processes of its own, each
with its own Session, CIB read and writes: concurrent writers from one
controller as well as across controllers, as overlapping highstates and
an orchestration's ``state.apply`` would be (``salt-call`` in the nodes
would do the same with a second Salt start-up per run and no master).
Every run declares overlapping objects (identical everywhere), distinct
ones of its own, updates (a seeded resource's parameter; node attributes
on one node, all in one nvset; a last-writer-wins attribute) and removals
of what a seed run made (``constraint_absent``, ``resource_absent`` with
``aggregate: false``). Each ``pcmk`` state is its own CIB write: about 12
writes per run, 700 for the phase.

Counted from every state return and the final CIB: runs, states, failed
states (result False, or no return), lost updates (a successful state's
object missing or with another value at the end: removals are checked the
other way), duplicated objects (duplicate ids; an overlapping object more
than once), conflict retries (stale patches Pacemaker refused and the
session retried: the ``CIB changed under us`` lines the minions log) and
time to quiescence (first publish until every run returned, no action
pending (``crm_resource --wait``) and the epoch unchanged for 3 s).

Phase 2 is the same load (fresh rounds) with a node's corosync killed once
a third of the runs' resources are in the CIB. The controller on that node
cannot write: its runs are counted in their own row; the survivors must
still show 0 lost, 0 duplicated and 0 failed. The node is restored
afterwards. Needs root (namespaces).

    python bench/concurrency.py                # 3 x 20, both phases (about 15 minutes on 2 cores)
    python bench/concurrency.py --runs 5       # a quick look
    python bench/concurrency.py --only-kill    # the second phase alone
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from support.tables import print_table  # pylint: disable=import-error  (bench/ is the script's directory)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support import concload  # noqa: E402  pylint: disable=wrong-import-position
from tests.support.cluster import Cluster, missing_requirements  # noqa: E402  pylint: disable=wrong-import-position
from tests.support.saltbed import SaltBed  # noqa: E402  pylint: disable=wrong-import-position

COLUMNS = ["phase", "runs", "states", "failed", "lost", "duplicated", "conflict retries", "quiescence s"]


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def survivor(bed, exclude=None):
    for node in bed.cluster.nodes:
        if node.name != exclude and node.corosync_pids():
            return node
    raise RuntimeError("no node runs the cluster")


def dc_name(node):
    out = node.run(["crm_mon", "--one-shot", "--output-as=xml"]).stdout
    root = concload.etree.fromstring(out.encode())
    found = root.xpath("//summary/current_dc[@present='true']/@name")
    return found[0] if found else None


def distinct_in_cib(node, rounds, minions):
    names = {f"conc-{m}-{r}" for m in minions for r in rounds}
    ids = set(concload.cib_of(node).xpath("configuration/resources/primitive/@id"))
    return len(names & ids)


def run_phase(bed, label, rounds, *, kill=None):
    """Seed, publish every round, (kill a node mid-way), collect, settle, count."""
    concload.seed(bed, rounds)
    node = survivor(bed, exclude=kill)
    concload.settle(node, since=time.monotonic(), timeout=300)
    log(f"{label}: publishing {len(rounds)} rounds to {len(bed.minion_ids)} controllers")
    phase = concload.Phase(bed, rounds)
    killed_at = None
    victim_minion = bed.minion_of[kill] if kill else None
    if kill:
        target = max(1, len(rounds) * len(bed.minion_ids) // 3)
        deadline = time.monotonic() + 900
        while distinct_in_cib(node, rounds, bed.minion_ids) < target and time.monotonic() < deadline:
            time.sleep(1)
        killed_at = time.monotonic() - phase.started
        log(f"{label}: killing corosync on {kill} (minion {victim_minion}) after {killed_at:.0f}s")
        bed.cluster.node(kill).kill_corosync()
    phase.wait()
    log(f"{label}: every run returned after {phase.returned - phase.started:.0f}s; waiting for quiescence")
    quiet = concload.settle(node, since=phase.started, timeout=900)
    cib = concload.cib_of(node)
    result = concload.count(phase.returns, cib, minions=bed.minion_ids, killed=victim_minion, retries=phase.retries())
    result.update(
        label=label,
        rounds=len(rounds),
        returned_s=round(phase.returned - phase.started, 1),
        quiescence_s=round(quiet, 1),
        killed_node=kill,
        killed_minion=victim_minion,
        killed_after_s=None if killed_at is None else round(killed_at, 1),
        retries_by_minion=phase.retries(),
        returns=phase.returns,
        cli_output_when_incomplete=phase.raw,
    )
    if kill:
        began = time.monotonic()
        bed.restart_node(kill)
        result["restore_s"] = round(time.monotonic() - began, 1)
        log(f"{label}: {kill} restored in {result['restore_s']}s")
    if result["problems"]:
        log(f"{label}: problems:\n" + concload.problems_text(result, 40))
    concload.cleanup(survivor(bed))
    concload.settle(survivor(bed), since=time.monotonic(), timeout=300)
    return result


def table_rows(results):
    rows = []
    for res in results:
        for who in ("survivors", "killed"):
            row = res[who]
            if row is None:
                continue
            name = res["label"] if who == "survivors" else f"{res['label']}: killed controller {res['killed_minion']}"
            if res["killed_minion"] and who == "survivors":
                name += " (survivors)"
            rows.append(
                [
                    name,
                    row["runs"],
                    row["states"],
                    row["failed"],
                    row["lost"],
                    row["duplicated"],
                    row["retries"],
                    f"{res['quiescence_s']:.0f}" if who == "survivors" else "-",
                ]
            )
    return rows


def save(out, runs, results, wall):
    report = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "runs_per_controller": runs,
        "wall_s": round(wall, 1),
        "phases": results,
    }
    out.write_text(json.dumps(report, indent=1, default=str))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=20, help="concurrent runs per controller and phase (default 20)")
    parser.add_argument("--no-kill", action="store_true", help="only the first phase")
    parser.add_argument("--only-kill", action="store_true", help="only the second phase (a node killed mid-way)")
    parser.add_argument("--out", type=Path, help="JSON report (default bench/results/concurrency-<time>.json)")
    parser.add_argument("--keep", action="store_true", help="keep the bed's files under /tmp")
    args = parser.parse_args()
    reason = missing_requirements()
    if reason:
        sys.exit(f"cannot run a cluster here: {reason}")
    out = args.out or REPO / "bench" / "results" / f"concurrency-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="conc-", dir="/tmp"))
    cluster = Cluster(workdir / "cluster", nodes=3, name="pcmkconc")
    bed = None
    results = []
    began = time.monotonic()
    try:
        log(f"starting the three-node cluster and the Salt bed in {workdir}")
        cluster.start()
        bed = SaltBed(cluster, workdir / "bed").start()
        concload.write_sls(bed)
        first = list(range(1, args.runs + 1))
        if not args.only_kill:
            results.append(run_phase(bed, "3 controllers, no failure", first))
            save(out, args.runs, results, time.monotonic() - began)  # kept if the second phase is interrupted
        if not args.no_kill:
            node = survivor(bed)
            dc = dc_name(node)
            victim = next(n.name for n in reversed(cluster.nodes) if n.name not in (dc, "n1"))
            second = list(range(args.runs + 1, 2 * args.runs + 1))
            results.append(run_phase(bed, f"node {victim} killed mid-way", second, kill=victim))
    finally:
        if bed is not None:
            bed.stop()
        cluster.stop(remove_files=not args.keep)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    wall = time.monotonic() - began
    save(out, args.runs, results, wall)

    print(
        f"3 controllers x {args.runs} concurrent state runs (state.apply conc concurrent=True), "
        f"{os.cpu_count()} CPUs, {wall:.0f}s wall in all"
    )
    print_table(COLUMNS, table_rows(results))
    for res in results:
        if res["killed_node"]:
            print(
                f"\n{res['label']}: corosync killed {res['killed_after_s']:.0f}s after the first publish; "
                f"node back in {res.get('restore_s', 0):.0f}s"
            )
        print(
            f"{res['label']}: every run returned after {res['returned_s']:.0f}s; overlapping objects: "
            + ", ".join(f"{k} x{v}" for k, v in res["overlap"].items())
        )
        if res["problems"]:
            print(f"{res['label']}: problems:\n" + concload.problems_text(res))
    print(f"\nreport: {out}")
    bad = any(r["survivors"]["failed"] or r["survivors"]["lost"] or r["survivors"]["duplicated"] for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
