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

    .venv/bin/python bench/converge.py [--sizes 10,50,200] [--skip-live]
        [--skip-pcs] [--skip-salt] [--full] [--salt-sizes 50] [--salt-live]

``--peers`` (what ``make bench`` runs) prints instead the side-by-side table (Salt 3007 pcs states, crmsh, the floor, our two configurations)
on one live single-node cluster: Salt 3007.15's pcs states (installed into
bench/.salt3007-venv from the package index once), our states aggregated and
in Salt's default configuration, ``salt-call --local test.ping``, crmsh's
``configure load update``; then the per-state curve (N = 50, 500, 2000;
sampled above 50 unless ``--full``; ``--quick``: N = 50 only) and the time
of a diff of a 2,000-resource CIB (support/peers.py):

    .venv/bin/python bench/converge.py --peers [--quick | --full] [--skip-salt3007]

Results: tables on stdout, everything (per tool, per step) in
bench/results/<timestamp>.json. The parts are in bench/support/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

# bench/ is on sys.path as the script's directory (support); the repository root is added for tests.support.
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from support.common import BenchFailure, log, run  # noqa: E402
from support.pcmk import bench_pcmk_aggregated, bench_pcmk_per_state, bench_pcmk_per_state_sampled  # noqa: E402
from support.pcs import PcsTemplate, bench_pcs_full, bench_pcs_sampled, pcs_internal_tools  # noqa: E402
from support.peers import ensure_salt3007, run_peers, time_diff  # noqa: E402
from support.peers_report import peers_report  # noqa: E402
from support.report import report  # noqa: E402
from support.saltcall import SALT_CALL, bench_salt, salt_call_overhead  # noqa: E402
from support.targets import LiveTarget, OfflineTarget  # noqa: E402

SCRIPT = Path(__file__).resolve()
RESULTS = REPO / "bench" / "results"


def run_target(target, cfg):
    """Every method at every size on one target: (rows, meta)."""
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
    p.add_argument(
        "--peers",
        action="store_true",
        help="the side-by-side table (Salt 3007 pcs states, crmsh, the floor, our two configurations) and the curve (what make bench runs)",
    )
    p.add_argument(
        "--quick", action="store_true", help="--peers: the table only (curve at N=50), no 2,000-resource diff"
    )
    p.add_argument("--skip-salt3007", action="store_true", help="--peers: leave out Salt 3007's pcs states")
    p.add_argument("--peers-n", type=int, default=50, help="--peers: resources in the table's workload (default 50)")
    p.add_argument(
        "--curve-sizes", type=sizes, default=[50, 500, 2000], help="--peers: curve sizes (default 50,500,2000)"
    )
    p.add_argument(
        "--curve-window",
        type=int,
        default=10,
        help="--peers: K, resources converged per sampled curve run (default 10)",
    )
    p.add_argument("--inner-live", metavar="CONFIG", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def inner_live(config_path):
    """Runs inside the cluster node: the live half of the benchmark; writes JSON."""
    cfg = json.loads(Path(config_path).read_text())
    target = LiveTarget(cfg["workdir"])

    def save(rows):  # what is measured so far, read by the outer process if this one is interrupted
        Path(cfg["out"]).write_text(json.dumps({"rows": rows, "meta": {}, "failure": "interrupted"}))

    try:
        rows, meta = run_peers(target, cfg, save) if cfg.get("peers") else run_target(target, cfg)
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
        ("crm", ["crm", "--version"]),
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


def run_peers_mode(args, cfg, result, workdir):
    """Before the live part of --peers: Salt 3007's venv, and the 2,000-resource diff (offline)."""
    if not args.skip_salt3007:
        cfg["salt3007"] = ensure_salt3007()
        result["versions"]["salt3007"] = run([cfg["salt3007"], "--version"], check=False).stdout.strip()
    if not args.quick:
        log("diff.compare of two 2000-resource CIBs (offline)")
        result["meta"]["diff"] = time_diff(workdir / "diff", n=2000)


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
        "peers": args.peers,
        "peers_n": args.peers_n,
        "curve_sizes": [args.peers_n] if args.quick else args.curve_sizes,
        "curve_window": args.curve_window,
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
        if args.peers:
            run_peers_mode(args, cfg, result, workdir)
        else:
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
    print(peers_report(result) if args.peers else report(result))
    print(f"\ntotal {result['total_s']:.0f}s; results in {out}" + (f"; FAILED: {result['failure']}" if status else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
