"""The OpenStack "next generation" controller stack: real Debian daemons under Pacemaker's own agents.

A three-node namespaced cluster of its own (tests/support/cluster.py), each
node prepared by tests/support/daemons.py for haproxy, mariadb-server +
galera-4, rabbitmq-server and redis-server (installed by
scripts/setup-daemons.sh), and memcached running outside Pacemaker.  The
resources are created by the project's own states: the SLS built from
``daemons.NEXTGEN_RESOURCES`` / ``NEXTGEN_CONSTRAINTS`` is applied with
``salt-call --local`` inside n1.

Outcomes are read from the daemons themselves (``SHOW STATUS``,
``rabbitmqctl cluster_status``, ``INFO replication``, the VIP answering
from outside every node), never from the CIB alone.  Then the node holding
the Redis primary (and, by a test-only preference, the VIP) loses power,
comes back, and everything must be whole again.  Wall times are printed at
the end of the module.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import daemons
from tests.support.cluster import Cluster, missing_requirements
from tests.support.saltcall import NodeMinion, changed, failures

pytestmark = [pytest.mark.realdaemons, pytest.mark.multinode]

NODES = daemons.NODES
# Host paths the nodes shadow with private copies: none may change.
HOST_PATHS = (
    "/etc/hosts",
    "/etc/mysql",
    "/var/lib/mysql",
    "/etc/rabbitmq",
    "/var/lib/rabbitmq",
    "/etc/redis",
    "/var/lib/redis",
    "/etc/haproxy",
)
# Bed tuning, not part of the profile: the load average Pacemaker throttles
# on is the whole machine's, so three nodes on one host each see three
# clusters' load and would run one action at a time.
BED_SLS = """\
load-threshold:
  pcmk.property:
    - value: 1000%
"""
BRING_UP_TIMEOUT = 300
FAILOVER_TIMEOUT = 90
REJOIN_TIMEOUT = 240


# ---- the bed -------------------------------------------------------------------


class NextGen:
    """The cluster, the minion on n1 and the wall times measured along the way."""

    def __init__(self, cluster: Cluster, minion: NodeMinion):
        self.cluster = cluster
        self.minion = minion
        self.timings: dict[str, float] = {}
        self.memcached = {n.name: daemons.memcached_pid(n) for n in cluster.nodes}

    def node(self, name: str):
        return self.cluster.node(name)

    def nodes(self, names=NODES):
        return [self.cluster.node(n) for n in names]

    def explain(self) -> str:
        return daemons.explain_cluster(self.cluster)

    def apply(self, sls: str, text: str) -> dict:
        self.minion.write_sls(sls, text)
        results = self.minion.apply(sls)
        assert not failures(results), failures(results)
        return results


def host_snapshot() -> dict[str, tuple]:
    found = {}
    for top in map(Path, HOST_PATHS):
        for path in [top, *(sorted(top.rglob("*")) if top.is_dir() else [])]:
            st = path.lstat()
            found[str(path)] = (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns)
    return found


def healthy_checks(bed: NextGen, names=NODES) -> dict[str, Callable[[], object]]:
    """Everything the stack must show with these nodes up."""
    nodes = bed.nodes(names)
    size = len(nodes)
    rabbits = sorted(f"rabbit@{n}" for n in names)
    return {
        "galera": lambda: all(daemons.galera_primary(n, size) for n in nodes),
        "rabbitmq": lambda: all(daemons.rabbit_running(n) == rabbits for n in nodes),
        "redis": lambda: daemons.redis_healthy(nodes),
        "haproxy": lambda: all(daemons.haproxy_listening(n) for n in nodes),
        "vip": lambda: len(daemons.vip_holders(nodes)) == 1 and daemons.vip_answer(bed.cluster) in names,
    }


def _report(request, bed: NextGen) -> None:
    """The wall times on the terminal, past pytest's output capture (as capsys.disabled() does)."""
    lines = ["", "real daemons: wall times (s)"] + [f"  {k:<44} {v:6.1f}" for k, v in bed.timings.items()]
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines), flush=True)


@pytest.fixture(scope="module")
def nextgen(tmp_path_factory, request):
    """The stack up and healthy on a three-node cluster of its own."""
    for reason in (missing_requirements(), daemons.missing_daemons()):
        if reason:
            pytest.skip(f"real daemons unavailable: {reason}")
    workdir = tmp_path_factory.mktemp("nextgen")
    host_before = host_snapshot()
    began = time.monotonic()
    cluster = Cluster(workdir / "cluster", nodes=3, name="nextgen").start()
    netns = daemons.netns_ids(cluster)
    bed = None
    try:
        daemons.prepare(cluster)
        minion = NodeMinion(cluster.node("n1"), workdir / "minion", state_aggregate=["pcmk"])
        bed = NextGen(cluster, minion)
        bed.timings["cluster + nodes prepared"] = time.monotonic() - began
        bed.apply("bed", BED_SLS)
        applied = time.monotonic()
        bed.apply("nextgen", daemons.nextgen_sls())
        bed.timings["salt-call state.apply nextgen"] = time.monotonic() - applied
        for name, seconds in daemons.watch(healthy_checks(bed), BRING_UP_TIMEOUT, applied, explain=bed.explain).items():
            bed.timings[f"bring-up: {name} healthy"] = seconds
        bed.timings["bring-up: total from nothing"] = time.monotonic() - began
        yield bed
    finally:
        if bed:
            _report(request, bed)
        daemons.power_off(cluster)  # the data goes anyway: no graceful stops
        cluster.stop(remove_files=os.environ.get("PCMK_TEST_KEEP_FILES") != "1")
        shutil.rmtree(workdir / "minion", ignore_errors=True)
    assert not daemons.leftovers(netns), "daemons survived the bed"
    assert host_snapshot() == host_before, "the host's own daemon paths changed"


# ---- the tests ---------------------------------------------------------------------


def test_stack_runs_on_every_node(nextgen):
    bed = nextgen
    daemons.assert_stack_whole(bed.cluster, bed.nodes())


def test_vip_reaches_the_services_through_haproxy(nextgen):
    bed = nextgen
    # A user for TCP clients; created on one node, replicated by Galera.
    bed.node("n1").run(["mysql", "-e", "CREATE USER IF NOT EXISTS 'probe'@'10.250.0.%' IDENTIFIED BY 'probe'"])
    answer = daemons.via_vip(
        bed.cluster,
        ["mysql", "-N", "-B", "-h", daemons.VIP, "-uprobe", "-pprobe", "-e", "SELECT @@wsrep_node_name, @@wsrep_on"],
    )
    assert answer and answer.split()[0] in NODES and answer.split()[1] == "1"
    # HAProxy's tcp-check only passes the Redis primary.
    assert "role:master" in daemons.via_vip(bed.cluster, ["redis-cli", "-h", daemons.VIP, "info", "replication"])
    policies = bed.node("n1").run(["rabbitmqctl", "-q", "list_policies", "--formatter", "json"]).stdout
    assert '"ha-all"' in policies, "rabbitmq-cluster's set_policy was not applied"


def test_memcached_stays_outside_pacemaker(nextgen):
    bed = nextgen
    cib = bed.node("n1").run(["cibadmin", "--query", "--scope", "resources"]).stdout
    assert "memcached" not in cib
    assert all(bed.memcached.values()), bed.memcached
    assert {n.name: daemons.memcached_pid(n) for n in bed.nodes()} == bed.memcached


def test_second_apply_changes_nothing(nextgen):
    results = nextgen.apply("nextgen", daemons.nextgen_sls())
    assert not changed(results)


def test_node_loss_and_return(nextgen):
    bed = nextgen
    victim = daemons.redis_healthy(bed.nodes())
    assert victim
    survivors = [n for n in NODES if n != victim]
    # Test-only preference: the VIP on the Redis primary's node, so one power
    # loss makes both the VIP and the Redis primary fail over.
    bed.apply(
        "vip_pref",
        f"""\
vip-prefers-{victim}:
  pcmk.constraint:
    - kind: location
    - rsc: vip
    - node: {victim}
    - score: 100
""",
    )
    daemons.watch({"vip on the victim": lambda: daemons.vip_holders(bed.nodes()) == [victim]}, 60, explain=bed.explain)
    memcached_before = {n: bed.memcached[n] for n in survivors}

    killed = time.monotonic()
    bed.node(victim).kill_all()
    surviving = bed.nodes(survivors)
    for name, seconds in daemons.watch(
        {
            "galera Primary with 2": lambda: all(daemons.galera_primary(n, 2) for n in surviving),
            "redis new primary": lambda: daemons.redis_healthy(surviving),
            "vip moved and answers": lambda: (
                daemons.vip_holders(surviving) != [] and daemons.vip_answer(bed.cluster) in survivors
            ),
            "rabbitmq 2 running": lambda: all(
                daemons.rabbit_running(n) == sorted(f"rabbit@{s}" for s in survivors) for n in surviving
            ),
        },
        FAILOVER_TIMEOUT,
        killed,
        explain=bed.explain,
    ).items():
        bed.timings[f"failover ({victim} lost): {name}"] = seconds
    assert daemons.redis_healthy(surviving) in survivors
    assert len(daemons.vip_holders(surviving)) == 1
    assert {n: daemons.memcached_pid(bed.node(n)) for n in survivors} == memcached_before

    back = time.monotonic()
    bed.cluster.restart_node(victim)
    bed.memcached[victim] = daemons.start_memcached(bed.node(victim))  # its init system would
    for name, seconds in daemons.watch(healthy_checks(bed), REJOIN_TIMEOUT, back, explain=bed.explain).items():
        bed.timings[f"rejoin ({victim} back): {name}"] = seconds
    assert daemons.vip_holders(bed.nodes()) == [victim]  # its preference brings the VIP back
    assert {n: daemons.memcached_pid(bed.node(n)) for n in survivors} == memcached_before
