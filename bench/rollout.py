#!/usr/bin/env python3
"""How long orchestration takes on the real three-node bed, as tables.

Runs the orchestration scenarios (tests/integration/test_orchestration.py:
three namespaced Corosync/Pacemaker nodes, a salt-master, a minion per node)
with ``SALTBED_REPORT`` set, then prints what the report holds:

- bed start-up and each scenario's wall time;
- each orchestration step (apply on the controllers, the one restart) per scenario;
- every ``salt``/``salt-run`` call the scenarios made, grouped by function;
- the speed goals' comparisons: ``orch.pcmk.rollout`` with nothing changed against
  ``salt '*' test.ping`` plus one ``state.apply`` of the same SLS, and
  ``pcmk.bootstrap_minion`` / ``pcmk.restart_pending`` with every minion
  answering against the bootstrap minion's node and minion down.

The scenarios assert their outcomes as tests do; a failed scenario is
reported and its figures are still printed. Needs root (namespaces).

    python bench/rollout.py                  # every scenario (about 5 minutes)
    python bench/rollout.py -k "rollout"     # a pytest -k selection
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from support.tables import print_table  # pylint: disable=import-error  (bench/ is the script's directory)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = "tests/integration/test_orchestration.py"


def call_kind(text):
    """``salt --static -t 60 ctl1 pcmk.status`` -> ``salt <tgt> pcmk.status``; orchestrations by SLS."""
    words = text.split()
    if not words:
        return "?"
    tool, rest, skip = words[0], [], False
    for word in words[1:]:
        if skip:
            skip = False
        elif word == "-t":
            skip = True
        elif not word.startswith("-"):
            rest.append(word)
    if tool == "salt" and len(rest) >= 2:
        return f"salt <tgt> {rest[1]}"
    if rest[:1] == ["state.orchestrate"] and len(rest) > 1:
        return f"salt-run state.orchestrate {rest[1]}"
    return f"{tool} {rest[0]}" if rest else tool


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("-k", dest="select", help="pytest -k expression (default: every scenario)")
    parser.add_argument("--out", type=Path, help="where to keep the JSON report (default bench/results/)")
    parser.add_argument("--basetemp", help="pytest --basetemp (default: pytest's own)")
    args = parser.parse_args()

    out = args.out or REPO / "bench" / "results" / f"rollout-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rN", SCENARIOS]
    if args.select:
        argv += ["-k", args.select]
    if args.basetemp:
        argv += [f"--basetemp={args.basetemp}"]
    began = time.monotonic()
    proc = subprocess.run(
        argv, cwd=REPO, env={**os.environ, "SALTBED_REPORT": str(out)}, capture_output=True, text=True, check=False
    )
    wall = time.monotonic() - began
    summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    if not out.exists():
        print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n")
        sys.exit(f"no report written (pytest: {summary})")
    report = json.loads(out.read_text())

    print(f"orchestration scenarios on the three-node bed: {summary}; {wall:.0f}s wall in all")
    print(f"{os.cpu_count()} CPUs; started {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")

    print("== bed and scenarios (wall seconds, teardown checks included)")
    print_table(["what", "seconds"], [(name, f"{secs:.1f}") for name, secs in report.get("timings", {}).items()])

    compare = report.get("compare", {})
    if compare:
        print("\n== the speed goals' rows (wall seconds of each salt / salt-run call)")
        print_table(["what", "seconds"], [(name, f"{secs:.1f}") for name, secs in compare.items()])
        for label, ours, base in (
            (
                "orch.pcmk.rollout (nothing changed) / (test.ping + state.apply)",
                "orch.pcmk.rollout, nothing changed",
                "salt '*' test.ping + state.apply site",
            ),
            (
                "restart_pending: bootstrap node down - healthy",
                "pcmk.restart_pending, bootstrap node and minion down (one restart)",
                "pcmk.restart_pending, healthy (one restart)",
            ),
        ):
            if ours in compare and base in compare:
                if "/" in label:
                    print(f"  {label}: {compare[ours] / compare[base]:.2f}x")
                else:
                    print(f"  {label}: {compare[ours] - compare[base]:+.1f} s")

    steps = report.get("steps", [])
    if steps:
        print("\n== orchestration steps (Salt's own durations)")
        print_table(
            ["scenario", "step", "result", "seconds"],
            [(s["scenario"], s["step"], s["result"], f"{s['seconds']:.1f}") for s in steps],
        )

    calls = report.get("cli calls", [])
    if calls:
        groups = defaultdict(list)
        failed = defaultdict(int)
        for text, returncode, seconds in calls:
            kind = call_kind(text)
            groups[kind].append(seconds)
            failed[kind] += returncode != 0
        print("\n== salt / salt-run calls the scenarios made")
        print_table(
            ["call", "count", "non-zero exit", "median s", "max s"],
            [
                (kind, len(secs), failed[kind], f"{statistics.median(secs):.1f}", f"{max(secs):.1f}")
                for kind, secs in sorted(groups.items(), key=lambda kv: -sum(kv[1]))
            ],
        )

    for entry in report.get("node failure during restart", []):
        print(
            f"\nnode {entry['victim']} killed mid-restart: rollout exit {entry['rollout exit']}, "
            f"restart step result {entry['restart step result']}"
        )

    if proc.returncode != 0:  # what failed, as pytest said it
        print("\n== pytest's output (the scenarios did not all pass)")
        print(proc.stdout[-6000:])
    print(f"\nreport: {out}")
    sys.exit(0 if proc.returncode == 0 else 1)


if __name__ == "__main__":
    main()
