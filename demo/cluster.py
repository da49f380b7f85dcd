#!/usr/bin/env python3
"""make demo-cluster: three bare controllers become a Corosync/Pacemaker cluster by Salt alone.

Three nodes in namespaces of their own (tests/support/cluster.py, ``bare=True``:
no corosync.conf, no authkey, nothing running), a salt-master and a minion per
node (tests/support/saltbed.py). Pillar ``pcmk:cluster`` is written without
keys: ``salt-run pcmk.cluster_keys`` makes them on the master and its
``pcmk_cluster_keys`` ext_pillar serves them; then ``test=True`` shows what would be written, ``orch.pcmk.cluster``
forms the cluster, crm_mon shows it, and a second run changes nothing. The
host's /etc/corosync, /etc/pacemaker and any cluster of its own are never
touched. DEMO_KEEP=1 leaves it running (the workdir is printed).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import formation
from tests.support.cluster import Cluster, missing_requirements
from tests.support.saltbed import SaltBed, short_workdir

MINIONS = {"n1": "ctl2", "n2": "ctl3", "n3": "ctl1"}


def step(text):
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def show_states(result):
    for minion, states in sorted((result.data or {}).items()):
        for state in sorted(states.values(), key=lambda v: v.get("__run_num__", 0)):
            changes = state.get("changes") or {}
            print(f"{minion}  {state['__id__']}: result={state['result']}  {state['comment']}")
            for key, value in changes.items():
                text = value if isinstance(value, str) else str(value)
                print("      " + key + ": " + text.replace("\n", "\n      ").rstrip())


def main():
    reason = missing_requirements()
    if reason:
        sys.exit(f"demo-cluster: {reason}")
    workdir = short_workdir("pcmk-demo-cluster-")
    cluster = Cluster(workdir / "cluster", nodes=3, name="demo", subnet="10.252.0", bare=True)
    bed = None
    try:
        step("Three bare controllers (namespaces, network; no corosync.conf, no key, nothing running)")
        cluster.start()
        bed = SaltBed(cluster, workdir / "salt", minions=MINIONS, master_opts=formation.MASTER_KEYS).start()
        formation.write_fakeinit_units(bed)
        bed.set_pillar(formation.cluster_pillar(bed, None, name="demo"))  # no authkeys: the master serves them
        for node in cluster.nodes:
            print(
                f"  {node.name} {node.addr}  minion {bed.minion_of[node.name]}  "
                f"corosync.conf: {(node.dir / 'etc-corosync' / 'corosync.conf').exists()}"
            )

        step("salt-run pcmk.cluster_keys name=demo   (the keys, made once on the master; fingerprints only)")
        made = bed.run("pcmk.cluster_keys", "name=demo", timeout=60)
        for kind, key in sorted(((made.data or {}).get("keys") or {}).items()):
            print(f"  {kind}: {key['fingerprint']}  created={key['created']}")
        if made.returncode != 0:
            print(made)
            return 1

        step("salt ctl1 state.apply pcmk.cluster_config test=True   (nothing is written)")
        show_states(bed.salt("ctl1", "state.apply", "pcmk.cluster_config", "test=True", timeout=120))

        step("salt-run state.orchestrate orch.pcmk.cluster   (check, files, reload if needed, start, wait)")
        began = time.monotonic()
        result = bed.orchestrate("orch.pcmk.cluster", timeout=300)
        print(f"exit {result.returncode} after {time.monotonic() - began:.1f}s")
        if result.returncode != 0:
            print(result)
            return 1

        step("crm_mon -1 on n1")
        print(cluster.node("n1").run(["crm_mon", "-1"]).stdout)

        step("Second run: nothing changes")
        show_states(bed.salt("*", "state.apply", "pcmk.cluster", timeout=180))
        return 0
    finally:
        if os.environ.get("DEMO_KEEP") == "1":
            print(f"\nleft running; stop with: python -m tests.support.cluster down --workdir {workdir / 'cluster'}")
        else:
            if bed is not None:
                bed.stop()
            cluster.stop()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
