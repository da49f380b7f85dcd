#!/usr/bin/env python3
"""From bare controllers to a cluster, and a node joining, by Salt alone: times and counts, as tables.

Runs tests/integration/test_cluster_formation.py (four namespaced nodes
started empty, a salt-master, a minion per node; the cluster is formed from
pillar by ``orch.pcmk.cluster`` on three of them, then the fourth joins by
pillar and leaves again) with ``CLUSTER_BENCH_REPORT`` set, and prints:

- time from bare nodes to a quorate cluster with a DC, the second run, the join, the leave;
- each orchestration step's own duration;
- per scenario: Corosync reloads, daemon restarts and resource restarts on
  the nodes already in the cluster (a clone runs on them during join and leave).

The scenarios assert their outcomes as tests do. Needs root (namespaces).

    python bench/cluster.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from support.tables import print_table  # pylint: disable=import-error  (bench/ is the script's directory)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = "tests/integration/test_cluster_formation.py"


def main():
    out = REPO / "bench" / "results" / f"cluster-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rN", SCENARIOS]
    began = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=REPO,
        env={**os.environ, "CLUSTER_BENCH_REPORT": str(out)},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - began
    summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    if not out.exists():
        print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n")
        sys.exit(f"no report written (pytest: {summary})")
    report = json.loads(out.read_text())
    print(f"cluster formation scenarios: {summary}; {wall:.0f}s wall in all")
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
    print("== wall seconds (orchestration steps: Salt's own durations)")
    print_table(["what", "seconds"], [(k, f"{v:.1f}") for k, v in report["timings"].items()])
    print("\n== what each scenario did to the nodes already running")
    print_table(
        ["scenario", "corosync reloads", "daemon restarts", "resource restarts"],
        [
            (name, c["corosync reloads"], c["daemon restarts"], c["resource restarts"])
            for name, c in report["counts"].items()
        ],
    )
    print(f"\nreport: {out}")
    sys.exit(0 if proc.returncode == 0 else 1)


if __name__ == "__main__":
    main()
