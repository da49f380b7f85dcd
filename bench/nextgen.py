#!/usr/bin/env python3
"""The real next-generation stack on the three-node bed, as tables.

Runs tests/integration/test_nextgen_stack.py (three namespaced
Corosync/Pacemaker nodes, a salt-master and a minion per node, the real
Galera, RabbitMQ, Redis, HAProxy and memcached; one highstate from pillar
alone) with ``NEXTGEN_TIMINGS`` set, then prints what the run measured:

- bring-up: from empty controllers (highstate start) to each service healthy;
- failover: after a node is killed, until each service is healthy without it;
- rejoin: after it comes back, until each service is whole again;
- the rollout of a Galera config change: its steps and the restarts per resource.

The scenarios assert their outcomes as tests do; a failed one is reported and
the figures measured so far are still printed. Needs root (namespaces) and
the daemons (``make daemons``).

    python bench/nextgen.py
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from support.tables import print_table  # pylint: disable=import-error  (bench/ is the script's directory)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = "tests/integration/test_nextgen_stack.py"
GROUPS = (("bring-up", "bring-up"), ("failover", "failover"), ("rejoin", "rejoin"), ("rollout", "rollout"))


def main():
    with tempfile.TemporaryDirectory(prefix="bench-nextgen.") as tmp:
        report_path = Path(tmp) / "timings.json"
        env = dict(os.environ, NEXTGEN_TIMINGS=str(report_path))
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "realdaemons", SCENARIOS],
            cwd=REPO,
            env=env,
            check=False,
        )
        if not report_path.exists():
            print("bench-nextgen: the scenarios measured nothing (see the pytest output above)")
            return proc.returncode or 1
        report = json.loads(report_path.read_text())
    timings = report.pop("timings", {})
    print()
    print(
        f"next-generation stack from pillar, real daemons, 3 nodes on {os.cpu_count()} cores "
        f"(pytest exit {proc.returncode})"
    )
    used = set()
    for title, prefix in GROUPS:
        rows = [(label, f"{seconds:.1f}") for label, seconds in timings.items() if label.startswith(prefix)]
        used.update(label for label, _ in rows)
        if rows:
            print(f"\n{title}")
            print_table(["what", "seconds"], rows)
    rest = [(label, f"{seconds:.1f}") for label, seconds in timings.items() if label not in used]
    if rest:
        print("\nbed and highstates")
        print_table(["what", "seconds"], rest)
    for key, value in report.items():
        print(f"\n{key}")
        if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
            print_table(["", "value"], sorted(value.items()))
        else:
            print(json.dumps(value, indent=1, default=str))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
