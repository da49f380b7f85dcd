"""Bare controllers for Salt to form a cluster on: the fakeinit units and the pillar ``pcmk:cluster``.

Shared by tests/integration/test_cluster_formation.py, bench/cluster.py (through it) and
demo/cluster.py. The bed is a :class:`tests.support.cluster.Cluster` started with ``bare=True``
and a :class:`tests.support.saltbed.SaltBed` on it.
"""

from __future__ import annotations

import base64
import json
import os

from tests.support.saltbed import NODE_RUN_DIR, SaltBed

# corosync and pacemaker as services of the init stand-in (tests/support/salt_modules/fakeinit_service.py);
# Pacemaker logs into the node's own /var/log, never to the host's syslog.
UNITS = {
    "corosync": ["/usr/sbin/corosync", "-f"],
    "pacemaker": [
        "/usr/bin/env",
        "PCMK_logfacility=none",
        "PCMK_logfile=/var/log/pacemaker/pacemaker.log",
        "/usr/sbin/pacemakerd",
        "-f",
    ],
}


def new_key(size: int = 256) -> str:
    return base64.b64encode(os.urandom(size)).decode()


def new_keys() -> dict:
    return {"corosync": new_key(), "pacemaker": new_key()}


def master_keys(bed: SaltBed, name: str) -> dict:
    """``salt-run pcmk.cluster_keys name=<name>`` on the bed's master; the keys it made, read from its store."""
    from saltext.pcmk.utils.membership import keystore  # pylint: disable=import-outside-toplevel

    result = bed.run("pcmk.cluster_keys", f"name={name}", timeout=60)
    made = result.data
    if not isinstance(made, dict) or "keydir" not in made:
        raise AssertionError(f"salt-run pcmk.cluster_keys failed: {result}")
    found = keystore.read(made["keydir"], name)
    assert found is not None
    return found


def write_fakeinit_units(bed: SaltBed) -> None:
    """corosync and pacemaker as services on every node."""
    for minion in bed.minion_ids:
        directory = bed.node_path(minion, f"{NODE_RUN_DIR}/fakeinit")
        directory.mkdir(parents=True, exist_ok=True)
        for name, argv in UNITS.items():
            (directory / f"{name}.json").write_text(json.dumps({"argv": argv}))


MASTER_KEYS = {"ext_pillar": [{"pcmk_cluster_keys": {}}]}  # master options: keys made on the master, served


def cluster_pillar(bed: SaltBed, keys: dict | None, *, name: str, size: int = 3, timeout: int = 120) -> dict:
    """Pillar ``pcmk:cluster`` for the bed's first ``size`` nodes (node names n1.., their minions);
    without ``keys`` there is no ``authkeys``: the master's ``pcmk_cluster_keys`` ext_pillar serves them."""
    nodes = [
        {"name": node.name, "nodeid": node.nodeid, "addrs": [node.addr], "minion": bed.minion_of[node.name]}
        for node in bed.cluster.nodes[:size]
    ]
    return {
        "pcmk": {
            "cluster": {
                "name": name,
                "nodes": nodes,
                "transport": "knet",
                "crypto": {"cipher": "aes256", "hash": "sha256"},
                "totem": {"token": 1000},
                "quorum": {"wait_for_all": False},
                "logging": {
                    "to_logfile": True,
                    "logfile": "/var/log/corosync/corosync.log",
                    "to_syslog": False,
                    "timestamp": "hires",
                },
                **({"authkeys": keys} if keys is not None else {}),
                "timeout": timeout,
            }
        }
    }
