"""The next-generation controller stack from pillar alone, through the formula, on the three-node Salt bed.

The issue's "proven on the real daemons" scenario.  A three-node namespaced
cluster of its own with a salt-master in its hub and a salt-minion in each
node (tests/support/saltbed.py: n1 runs ctl2, n2 ctl3, n3 ctl1; the
minions' service provider is ``pcmk_service``, their init system the
``fakeinit`` stand-in).  Each node is prepared for the real Debian daemons
by tests/support/daemons.py (MariaDB + Galera, RabbitMQ, Redis, HAProxy,
memcached: config files, data directories, /etc/hosts), as a package
installation would leave a controller.  Nothing is in the CIB but the bed's
``load-threshold``; nothing of the stack is written anywhere but pillar:

    pcmk:
      profile: next-generation
      vips: {vip: {ip: 10.250.0.100, cidr_netmask: 24, nic: eth0}}
      services:
        cinder-volume: {params: {binary: <the test daemon>, ...}}

and the controllers' own "formulas" (:data:`SITE_SLS`, a stand-in for an
operator's): a MariaDB config fragment managed from pillar, ``service.running:
mariadb`` watching it, ``service.running: memcached``, and ``include:
pcmk.services``.  Then:

1. ``salt '*' state.apply`` (the highstate) on the three empty controllers
   brings up the whole stack; every outcome is read from the daemons.
2. A second highstate changes nothing and writes nothing to the CIB.
3. A node loses power: Galera keeps a Primary component of 2, the Redis
   primary, the VIP and cinder-volume move when they were there; the node
   comes back and everything is whole again.
4. The fragment changes in pillar and ``orch.pcmk.rollout`` rolls it out:
   every controller has the new file before Galera restarts, and Galera
   restarts once, one node at a time, never losing its Primary component,
   while nothing else restarts.

Wall times are printed at the end of the module (and written as JSON to
``$NEXTGEN_TIMINGS`` when set).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from tests.support import daemons, testservice
from tests.support.cluster import Cluster, Node, missing_requirements
from tests.support.saltbed import NODE_RUN_DIR, SaltBed, short_workdir

pytestmark = [pytest.mark.realdaemons, pytest.mark.multinode]

NODES = daemons.NODES
GALERA = "galera-clone"
ROLLOUT = "orch.pcmk.rollout"
FRAGMENT = "90-site.cnf"  # in /etc/mysql/mariadb.conf.d; 99-nextgen.cnf (the bed's) still wins where both set a key
FAKEINIT = f"{NODE_RUN_DIR}/fakeinit"  # the minions' fakeinit.dir
CINDER_STARTS = f"{NODE_RUN_DIR}/cinder-volume.starts"  # the daemon appends its pid at every start
MAX_CONNECTIONS = (151, 180)  # the fragment's setting before and after the rollout

# The controllers' own formulas.  Nothing here knows Pacemaker: mariadb is a
# plain service watching its config; pillar (its profile) makes it the
# galera-clone resource with restart policy "cluster", so a config change
# records a restart request instead of restarting anything on the spot.
SITE_SLS = """\
include:
  - pcmk.services

galera-site-cnf:
  file.managed:
    - name: /etc/mysql/mariadb.conf.d/90-site.cnf
    - contents_pillar: site:galera_cnf
    - user: root
    - group: root
    - mode: '0644'

mariadb:
  service.running:
    - enable: true
    - watch:
      - file: galera-site-cnf

memcached:
  service.running:
    - enable: true
"""
TOP_SLS = """\
base:
  '*':
    - site
"""
# Bed tuning, not part of the profile (as in test_real_daemons.py): the load
# average Pacemaker throttles on is the whole machine's, so three nodes on one
# host each see three nodes' load and would run one action at a time.
BED_SLS = """\
load-threshold:
  pcmk.property:
    - value: 1000%
"""
BRING_UP_TIMEOUT = 420  # from the highstate's start
FAILOVER_TIMEOUT = 120
REJOIN_TIMEOUT = 300
ROLLOUT_TIMEOUT = 900


def galera_site_cnf(max_connections: int) -> str:
    return f"""\
# Managed by Salt (the site formula, pillar site:galera_cnf)
[mysqld]
max_connections = {max_connections}
"""


# ---- Salt returns ------------------------------------------------------------------


def failures(state_return) -> dict:
    """``{minion: {state id: comment}}`` of failed states in a ``salt --static`` state return."""
    found = {}
    for minion, states in (state_return or {}).items():
        if not isinstance(states, dict):
            found[minion] = {"(no state return)": states}
            continue
        bad = {v.get("__id__", k): v.get("comment") for k, v in states.items() if v.get("result") is False}
        if bad:
            found[minion] = bad
    return found


def changed_ids(states: dict) -> set[str]:
    return {v["__id__"] for v in states.values() if v.get("changes")}


def orch_steps(result) -> dict:
    """``{state id: state return}`` of a ``salt-run state.orchestrate`` JSON output."""
    data = result.data
    assert isinstance(data, dict) and "data" in data, result
    (steps,) = data["data"].values()
    assert not isinstance(steps, list), f"orchestration did not render: {steps}"
    return {v["__id__"]: v for v in steps.values()}


# ---- waiting -----------------------------------------------------------------------


# ---- the stack -----------------------------------------------------------------------


class Stack:
    """The cluster, its Salt bed, the stand-in cinder-volume, and what was measured."""

    def __init__(self, cluster: Cluster, bed: SaltBed, workdir: Path):
        self.cluster = cluster
        self.bed = bed
        self.timings: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.report: dict = {"timings": self.timings, "counts": self.counts}
        # cinder-volume: the test daemon (an HTTP server on the node's own loopback),
        # its config as a package would install it, read by every node.
        self.cinder_binary = testservice.install_daemon(workdir / "bin")
        self.cinder_port = testservice.free_port()
        self.cinder_conf = workdir / "cinder" / "cinder.conf"
        self.cinder_conf.parent.mkdir(parents=True, exist_ok=True)
        self.cinder_conf.parent.chmod(0o755)
        self.cinder_conf.write_text(testservice.config_text(self.cinder_port, CINDER_STARTS))
        testservice.world_readable(self.cinder_conf)
        self.memcached: dict[str, int] = {}
        self.max_connections = None
        self.first_apply = None  # the first highstate's CliResult

    # ---- pillar ----
    def pillar(self, max_connections: int) -> None:
        self.max_connections = max_connections
        self.bed.set_pillar(
            {
                # The site formula's own pillar.
                "site": {"galera_cnf": galera_site_cnf(max_connections)},
                "pcmk": {
                    "profile": "next-generation",
                    "vips": {"vip": {"ip": daemons.VIP, "cidr_netmask": daemons.VIP_CIDR, "nic": daemons.NIC}},
                    # Per-bed, for speed only: the three controllers here start their runs from
                    # one publish, so 2 s without a new restart request is enough to coalesce
                    # them (the default 10 s allows for runs that start further apart; the
                    # bootstrap minion waits that long at the end of every highstate).
                    "restart": {"settle": 2},
                    "services": {
                        # No systemd here: params.binary makes it the generic agent
                        # (ocf:saltext:openstack-service), running the test daemon for real.
                        "cinder-volume": {
                            "params": {
                                "binary": str(self.cinder_binary),
                                "config": str(self.cinder_conf),
                                "monitor_url": f"http://127.0.0.1:{self.cinder_port}/health",
                            },
                            # Pillar constraints between services and VIPs (applied in the
                            # order they need): cinder-volume and Redis's primary follow the
                            # VIP, so losing its node fails all three over at once.
                            "constraints": [{"kind": "colocation", "with_rsc": "vip"}],
                        },
                        "redis-server": {
                            "constraints": [{"kind": "colocation", "rsc_role": "Promoted", "with_rsc": "vip"}],
                        },
                        # Nothing else: Galera's gcomm:// names the CIB's node names
                        # (n1..n3), which resolve in every node (daemons.prepare's /etc/hosts).
                    },
                },
            }
        )

    # ---- nodes and minions ----
    def node(self, name: str) -> Node:
        return self.cluster.node(name)

    def nodes(self, names=NODES) -> list[Node]:
        return [self.cluster.node(n) for n in names]

    def minion(self, node_name: str) -> str:
        return self.bed.minion_of[node_name]

    # ---- what runs where, from the daemons ----
    def memcached_pid(self, name: str) -> int | None:
        """The pid of the node's memcached as its init system (fakeinit) tracks it, while it runs."""
        try:
            pid = int(self.bed.node_path(name, f"{FAKEINIT}/memcached.pid").read_text())
        except (OSError, ValueError):
            return None
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return None
        return pid if comm == "memcached" and pid in self.node(name).processes() else None

    def cinder_nodes(self, names=NODES) -> list[str]:
        """Nodes whose cinder-volume daemon answers on the node's own loopback."""
        url = f"http://127.0.0.1:{self.cinder_port}/"
        return [
            n
            for n in names
            if daemons.run_quiet(self.node(n), ["curl", "-s", "-m", "2", url]).stdout.strip() == "testdaemon"
        ]

    def cinder_starts(self) -> dict[str, int]:
        return {n: len(testservice.starts(self.bed.node_path(n, CINDER_STARTS))) for n in NODES}

    def mariadbd(self, name: str) -> int | None:
        pids = daemons.daemon_pids(self.node(name), ["mariadbd"])["mariadbd"]
        return pids[0] if len(pids) == 1 else None

    def pids(self, names=NODES) -> dict[str, dict[str, list[int]]]:
        """Every daemon's pids per node (memcached: the init system's; cinder-volume: its daemon's)."""
        # The daemon itself (a script: its process name is its file name), not the agent's helpers.
        cinder = {pid for pid in testservice.pids_of(self.cinder_binary) if _comm(pid) == self.cinder_binary.name}
        found = {}
        for name in names:
            found[name] = daemons.daemon_pids(self.node(name))
            found[name]["cinder-volume"] = sorted(cinder & set(self.node(name).processes()))
        return found

    def checks(self, names=NODES) -> dict[str, Callable[[], object]]:
        """Everything the stack must show with these nodes up (read from the daemons)."""
        nodes = self.nodes(names)
        size = len(nodes)
        rabbits = sorted(f"rabbit@{n}" for n in names)

        def rabbit():
            # rabbitmqctl costs a second of CPU: ask only once every node runs the broker.
            if not all(daemons.daemon_pids(n, ["beam.smp"])["beam.smp"] for n in nodes):
                return False
            return all(daemons.rabbit_running(n) == rabbits for n in nodes)

        return {
            "vip": lambda: len(daemons.vip_holders(nodes)) == 1 and daemons.vip_answer(self.cluster) in names,
            "haproxy": lambda: all(daemons.haproxy_listening(n) for n in nodes),
            "galera": lambda: all(daemons.galera_primary(n, size) for n in nodes),
            "rabbitmq": rabbit,
            "redis": lambda: daemons.redis_healthy(nodes),
            "cinder-volume": lambda: len(self.cinder_nodes(names)) == 1,
            "memcached": lambda: all(self.memcached_pid(n) for n in names),
        }

    # ---- the cluster's view ----
    def live_node(self) -> Node:
        for node in self.cluster.nodes:
            if node.holder_alive() and node.corosync_pids() and node.pacemaker_pids("pacemaker-based"):
                return node
        raise AssertionError("no node runs the cluster")

    def cib(self) -> etree._Element:
        return etree.fromstring(self.live_node().run(["cibadmin", "--query"]).stdout.encode())

    def epochs(self) -> tuple[str, str]:
        root = self.cib()
        return root.get("admin_epoch"), root.get("epoch")

    def mon(self) -> etree._Element:
        return etree.fromstring(
            self.live_node().run(["crm_mon", "--one-shot", "--inactive", "--output-as=xml"]).stdout.encode()
        )

    def explain(self) -> str:
        """The cluster's account of what is not running, for a failed wait."""
        return daemons.explain_cluster(self.cluster)

    def settle(self, timeout: int = 180) -> None:
        """Until the cluster has no action pending (crm_resource --wait)."""
        self.live_node().run(["crm_resource", "--wait", f"--timeout={timeout}s"], timeout=timeout + 30)

    def pending_restarts(self) -> dict:
        found = {}
        for node in self.cib().xpath("//configuration/nodes/node"):
            for nv in node.xpath("instance_attributes/nvpair[starts-with(@name, 'saltext-restart')]"):
                found.setdefault(nv.get("name"), {})[node.get("uname")] = nv.get("value")
        return found


def _comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def diff_pids(before: dict, after: dict) -> dict:
    """``{node: {daemon: (before, after)}}`` where the pids differ."""
    found = {}
    for name in sorted(set(before) | set(after)):
        for comm in sorted(set(before.get(name, {})) | set(after.get(name, {}))):
            old, new = before.get(name, {}).get(comm), after.get(name, {}).get(comm)
            if old != new:
                found.setdefault(name, {})[comm] = (old, new)
    return found


def write_fakeinit_units(bed: SaltBed, cluster: Cluster) -> None:
    """memcached's unit for the init system stand-in, as the package would install it (not started)."""
    for node in cluster.nodes:
        unit = bed.node_path(node.name, f"{FAKEINIT}/memcached.json")
        unit.parent.mkdir(parents=True, exist_ok=True)
        unit.write_text(json.dumps({"argv": daemons.memcached_argv(node)}))


def _report(request, stack: Stack) -> None:
    """The wall times on the terminal, past pytest's output capture; JSON to $NEXTGEN_TIMINGS."""
    lines = ["", "next-generation stack from pillar (Salt bed, real daemons): wall times (s)"]
    lines += [f"  {k:<66} {v:7.1f}" for k, v in stack.timings.items()]
    if stack.counts:
        lines += ["counts"] + [f"  {k:<66} {v:7d}" for k, v in stack.counts.items()]
    for key, value in stack.report.items():
        if key not in ("timings", "counts"):
            lines.append(f"  {key}: {json.dumps(value, default=str)}")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines), flush=True)
    if os.environ.get("NEXTGEN_TIMINGS"):
        Path(os.environ["NEXTGEN_TIMINGS"]).write_text(
            json.dumps(
                {**stack.report, "timings": {k: round(v, 2) for k, v in stack.timings.items()}}, indent=1, default=str
            )
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory, request):
    """Three empty controllers brought up by one highstate from pillar alone; waits until every daemon says so."""
    for reason in (missing_requirements(), daemons.missing_daemons()):
        if reason:
            pytest.skip(f"real daemons unavailable: {reason}")
    workdir = short_workdir("ng-")
    began = time.monotonic()
    cluster = Cluster(workdir / "cluster", nodes=3, name="ngsalt").start()
    netns = daemons.netns_ids(cluster)
    bed = stack_ = None
    try:
        # The packages' state of each controller: config files and data directories, nothing running.
        # memcached stays stopped: the site formula starts it through the init system.
        daemons.prepare(cluster, memcached=False)
        for node in cluster.nodes:
            # The fragment the site formula manages, as its first run would write it: the
            # first highstate then finds it unchanged, so it brings the stack up without
            # asking for a restart of the Galera it is starting.
            daemons.write_mysql_fragment(node, FRAGMENT, galera_site_cnf(MAX_CONNECTIONS[0]))
        prepared = time.monotonic()
        bed = SaltBed(cluster, workdir / "bed").start()
        write_fakeinit_units(bed, cluster)
        stack_ = Stack(cluster, bed, workdir)
        stack_.timings["cluster start"] = cluster.start_seconds
        stack_.timings["nodes prepared for the daemons"] = prepared - began - cluster.start_seconds
        stack_.timings["salt bed start (master + 3 minions)"] = bed.start_seconds
        stack_.pillar(MAX_CONNECTIONS[0])
        bed.write_sls("site", SITE_SLS)
        bed.write_sls("top", TOP_SLS)
        bed.write_sls("bedtuning", BED_SLS)
        tuning = bed.salt(bed.minion_of["n1"], "state.apply", "bedtuning", timeout=120)
        assert tuning.returncode == 0 and not failures(tuning.data), tuning

        # The daemons are watched from the moment the highstate starts, while it runs.
        abort = threading.Event()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            applied = time.monotonic()
            watching = pool.submit(
                daemons.watch, stack_.checks(), BRING_UP_TIMEOUT, applied, 1.0, abort, stack_.explain
            )
            try:
                result = bed.salt("*", "state.apply", timeout=900)
                stack_.first_apply = result
                stack_.timings["highstate 1: salt '*' state.apply (empty controllers)"] = result.seconds
                assert sorted(result.data or {}) == bed.minion_ids, result
                assert failures(result.data) == {}, (failures(result.data), str(result)[-3000:])
            except BaseException:
                abort.set()
                raise
            reached = watching.result()
        for name, seconds in reached.items():
            stack_.timings[f"bring-up: {name} healthy (from highstate start)"] = seconds
        stack_.timings["bring-up: all healthy (from highstate start)"] = max(reached.values())
        stack_.memcached = {n: stack_.memcached_pid(n) for n in NODES}
        yield stack_
    finally:
        if stack_:
            stack_.timings["module total"] = time.monotonic() - began
            _report(request, stack_)
        daemons.power_off(cluster)  # the data goes anyway: no graceful stops (minions included)
        left = []
        if bed:
            bed.stop()
            left = bed.leftovers()
        cluster.stop(remove_files=os.environ.get("PCMK_TEST_KEEP_FILES") != "1")
        if os.environ.get("PCMK_TEST_KEEP_FILES") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
    assert not left, f"the Salt bed left processes behind: {left}"
    assert not daemons.leftovers(netns), "daemons survived the bed"


# ---- 1. one highstate brings the stack up --------------------------------------------------


def test_highstate_brings_up_the_stack_from_pillar(stack):
    bed = stack.bed
    # The daemons can be whole a moment before Pacemaker has recorded it (a Galera joiner
    # is Synced before its promote returns): the cluster's own view once it has settled.
    stack.settle()
    for minion, states in stack.first_apply.data.items():
        ids = {v["__id__"] for v in states.values()}
        assert {
            "vip",
            "pcmk-service-haproxy",
            "pcmk-service-mariadb",
            "pcmk-service-rabbitmq-server",
            "pcmk-service-redis-server",
            "pcmk-service-cinder-volume",
            "galera-site-cnf",
            "mariadb",
            "memcached",
            "pcmk-pending-restarts",
        } <= ids, (minion, sorted(ids))
        # The fragment was as the formula wants it: starting Galera asked for no restart,
        # and none was performed at the end of the run.
        assert "galera-site-cnf" not in changed_ids(states), minion
        assert "pcmk-pending-restarts" not in changed_ids(states), minion
    assert stack.pending_restarts() == {}

    # The CIB holds what the profile says, and nothing of memcached.
    cib = stack.cib()
    resources = cib.find("configuration/resources")
    agent = {
        p.get("id"): ":".join(filter(None, (p.get("class"), p.get("provider"), p.get("type"))))
        for p in resources.iter("primitive")
    }
    assert agent == {
        "vip": "ocf:heartbeat:IPaddr2",
        "haproxy": "lsb:haproxy",
        "galera": "ocf:heartbeat:galera",
        "rabbitmq": "ocf:heartbeat:rabbitmq-cluster",
        "redis": "ocf:heartbeat:redis",
        "cinder-volume": "ocf:saltext:openstack-service",
    }, agent
    assert "memcached" not in etree.tostring(resources).decode()
    galera_meta = {
        nv.get("name"): nv.get("value") for nv in cib.xpath(f"//clone[@id='{GALERA}']/meta_attributes/nvpair")
    }
    assert galera_meta.get("promotable") == "true" and galera_meta.get("promoted-max") == "3", galera_meta
    gcomm = cib.xpath("//primitive[@id='galera']//nvpair[@name='wsrep_cluster_address']/@value")
    assert gcomm == ["gcomm://n1,n2,n3"], gcomm
    colocations = {(c.get("rsc"), c.get("with-rsc")) for c in cib.iter("rsc_colocation")}
    assert ("vip", "haproxy-clone") in colocations, colocations

    # The cluster's view: Galera promoted everywhere, HAProxy everywhere, the VIP with one of them.
    mon = stack.mon()
    promoted = sorted(mon.xpath(f"//clone[@id='{GALERA}']/resource[@role='Promoted' and @active='true']/node/@name"))
    assert promoted == list(NODES), promoted
    haproxy = sorted(mon.xpath("//clone[@id='haproxy-clone']/resource[@role='Started']/node/@name"))
    assert haproxy == list(NODES), haproxy

    # The daemons' own view.
    daemons.assert_stack_whole(stack.cluster, stack.nodes())
    # cinder-volume: one instance, started once.
    assert len(stack.cinder_nodes()) == 1
    assert sum(stack.cinder_starts().values()) == 1, stack.cinder_starts()
    # memcached: the init system's, on every node.
    assert all(stack.memcached.values()), stack.memcached
    for name in NODES:
        assert bed.salt(stack.minion(name), "fakeinit_service.enabled", "memcached").data[stack.minion(name)] is True


# ---- 2. the second highstate changes nothing --------------------------------------------------


def test_second_highstate_changes_and_writes_nothing(stack):
    bed = stack.bed
    stack.settle()
    epochs, pids, cinder_starts = stack.epochs(), stack.pids(), stack.cinder_starts()
    result = bed.salt("*", "state.apply", timeout=600)
    stack.timings["highstate 2: salt '*' state.apply (nothing to do)"] = result.seconds
    assert sorted(result.data or {}) == bed.minion_ids, result
    assert failures(result.data) == {}
    changed = {minion: sorted(changed_ids(states)) for minion, states in result.data.items()}
    assert changed == {m: [] for m in bed.minion_ids}, changed
    assert stack.epochs() == epochs  # not a single CIB write
    assert diff_pids(pids, stack.pids()) == {} and stack.cinder_starts() == cinder_starts  # nothing restarted


# ---- 3. a node loses power, comes back -----------------------------------------------------------


def test_node_loss_and_return(stack):
    bed = stack.bed
    nodes = stack.nodes()
    vip_at = daemons.vip_holders(nodes)[0]
    (cinder_at,) = stack.cinder_nodes()
    redis_at = daemons.redis_healthy(nodes)
    # Pillar colocates cinder-volume and Redis's primary with the VIP: one node holds all three.
    assert vip_at == cinder_at == redis_at, (vip_at, cinder_at, redis_at)
    victim = vip_at
    survivors = [n for n in NODES if n != victim]
    surviving = stack.nodes(survivors)
    stack.report["node loss"] = {
        "victim": victim,
        "vip was on": vip_at,
        "cinder-volume was on": cinder_at,
        "redis primary was on": redis_at,
    }
    before = stack.pids(survivors)

    killed = time.monotonic()
    stack.node(victim).kill_all()  # power loss: every process of the node, its salt-minion too
    # A powered-off machine answers no ARP: drop the VIP IPaddr2 left on the dead node's
    # interface (here the namespace's kernel outlives its processes and would still answer).
    daemons.run_quiet(
        stack.node(victim), ["ip", "addr", "del", f"{daemons.VIP}/{daemons.VIP_CIDR}", "dev", daemons.NIC]
    )

    def redis_serving():
        roles = daemons.redis_roles(surviving)
        masters = [n for n, info in roles.items() if info.get("role") == "master"]
        return len(masters) == 1 and all(
            info.get("role") == "slave"
            and info.get("master_host") == masters[0]
            and info.get("master_link_status") == "up"
            for n, info in roles.items()
            if n != masters[0]
        )

    rabbits = sorted(f"rabbit@{n}" for n in survivors)
    checks = {
        "galera: Primary component of 2": lambda: all(daemons.galera_primary(n, 2) for n in surviving),
        ("redis: a survivor promoted" if redis_at == victim else "redis: primary and replica"): redis_serving,
        ("vip: moved and answers" if vip_at == victim else "vip: answers"): lambda: (
            len(daemons.vip_holders(surviving)) == 1 and daemons.vip_answer(stack.cluster) in survivors
        ),
        ("cinder-volume: moved and answers" if cinder_at == victim else "cinder-volume: answers"): lambda: (
            len(stack.cinder_nodes(survivors)) == 1
        ),
        "rabbitmq: 2 running": lambda: all(daemons.rabbit_running(n) == rabbits for n in surviving),
    }
    for name, seconds in daemons.watch(checks, FAILOVER_TIMEOUT, killed, explain=stack.explain).items():
        stack.timings[f"failover ({victim} lost): {name}"] = seconds
    assert daemons.redis_healthy(surviving) in survivors or redis_serving()
    if vip_at == victim:
        assert daemons.vip_holders(surviving)[0] in survivors
    if cinder_at == victim:
        assert len(stack.cinder_nodes(survivors)) == 1
    after = stack.pids(survivors)
    # The survivors' Galera and memcached were never restarted.
    for name in survivors:
        assert after[name]["mariadbd"] == before[name]["mariadbd"], (name, before[name], after[name])
        assert stack.memcached_pid(name) == stack.memcached[name], name

    back = time.monotonic()
    bed.restart_node(victim)  # corosync, pacemakerd, then its salt-minion
    stack.timings[f"rejoin ({victim} back): cluster node online, minion answers"] = time.monotonic() - back
    # At boot the init system starts what it has enabled: memcached.
    started = bed.salt(stack.minion(victim), "service.start", "memcached")
    assert started.data == {stack.minion(victim): True}, started
    for name, seconds in daemons.watch(stack.checks(), REJOIN_TIMEOUT, back, explain=stack.explain).items():
        stack.timings[f"rejoin ({victim} back): {name} healthy"] = seconds
    stack.timings[f"rejoin ({victim} back): all healthy"] = time.monotonic() - back
    stack.memcached[victim] = stack.memcached_pid(victim)
    for name in survivors:
        assert stack.memcached_pid(name) == stack.memcached[name], name
    assert len(stack.cinder_nodes()) == 1


# ---- 4. a config change rolled out: Galera restarts once, rolling, never losing its Primary ----------------


class GaleraWatch(threading.Thread):
    """Samples every node's wsrep status and mariadbd pid every ``interval`` seconds."""

    def __init__(self, stack: Stack, interval: float = 0.5):
        super().__init__(daemon=True)
        self.stack = stack
        self.interval = interval
        self.samples: list[tuple[float, dict]] = []  # (wall clock, {node: (status, size, state, pid)})
        self.done = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(NODES))

    def sample(self) -> dict:
        # The nodes are asked at once, each for at most 2 s: a node busy restarting (a client
        # may wait on its closing socket) counts as not answering and cannot stall the sample
        # of the others, whose Primary component is what is checked.
        def one(node):
            status = daemons.galera_status(node, timeout=2)
            return node.name, (
                status.get("wsrep_cluster_status"),
                int(status.get("wsrep_cluster_size") or 0),
                status.get("wsrep_local_state_comment"),
                self.stack.mariadbd(node.name),
            )

        return dict(self.pool.map(one, self.stack.nodes()))

    def run(self):
        while not self.done.is_set():
            began = time.monotonic()
            self.samples.append((time.time(), self.sample()))
            self.done.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def stop(self):
        self.done.set()
        self.join(30)
        self.pool.shutdown()


def test_rollout_restarts_galera_once_rolling_without_losing_primary(stack):
    bed = stack.bed
    stack.settle()
    nodes = stack.nodes()
    assert all(daemons.galera_primary(n, 3) for n in nodes)
    before = stack.pids()
    initial = {n: before[n]["mariadbd"][0] for n in NODES}
    cinder_starts = stack.cinder_starts()
    files = {n: daemons.mysql_fragment_path(stack.node(n), FRAGMENT) for n in NODES}

    poller = GaleraWatch(stack)
    poller.start()
    try:
        stack.pillar(MAX_CONNECTIONS[1])
        began, wall_began = time.monotonic(), time.time()
        result = bed.orchestrate(ROLLOUT, timeout=ROLLOUT_TIMEOUT)  # the highstate on every controller, then the runner
        rollout_seconds = time.monotonic() - began
        assert result.returncode == 0, result
        daemons.watch(stack.checks(), 180, explain=stack.explain)
    finally:
        poller.stop()
    samples = poller.samples
    steps = orch_steps(result)
    stack.timings["rollout: salt-run state.orchestrate orch.pcmk.rollout"] = rollout_seconds
    apply_ms, restart_ms = steps["pcmk-rollout-apply"]["duration"], steps["pcmk-rollout-restart"]["duration"]
    stack.timings["rollout: apply step (3 controllers, restarts deferred)"] = apply_ms / 1000
    stack.timings["rollout: restart step (pcmk.restart_pending)"] = restart_ms / 1000

    # The apply step: every controller wrote the new fragment and only asked for a restart.
    applied = steps["pcmk-rollout-apply"]
    assert applied["result"] is True, applied
    for minion, states in applied["changes"]["ret"].items():
        assert {"galera-site-cnf", "mariadb"} == changed_ids(states), (minion, changed_ids(states))
    # The restart step: one restart, of Galera alone, for the three requests, node by node.
    restart = steps["pcmk-rollout-restart"]["changes"]["return"]
    assert list(restart["restarts"]) == [GALERA], restart
    outcome = restart["restarts"][GALERA]
    assert outcome["result"] == "restarted", outcome
    assert outcome["requests"] == list(NODES), outcome
    assert sorted(outcome["rolling"]) == list(NODES), outcome
    assert stack.pending_restarts() == {}

    # Every galera instance restarted exactly once: one new mariadbd per node, never another one.
    seen = {n: [] for n in NODES}
    for _, sample in samples:
        for name, (_, _, _, pid) in sample.items():
            if pid is not None and pid not in seen[name]:
                seen[name].append(pid)
    restarts = {n: [p for p in seen[n] if p != initial[n]] for n in NODES}
    stack.report["rollout: mariadbd pids per node (before, then seen)"] = {n: [initial[n], seen[n]] for n in NODES}
    assert {n: len(v) for n, v in restarts.items()} == {n: 1 for n in NODES}, (initial, seen)
    after = stack.pids()
    assert {n: after[n]["mariadbd"] for n in NODES} == {n: restarts[n] for n in NODES}
    for node in nodes:
        uptime = daemons.galera_uptime(node)
        assert uptime is not None and uptime < time.time() - wall_began + 5, (node.name, uptime)
        # ... and each read the new fragment.
        assert daemons.galera_variable(node, "max_connections") == str(MAX_CONNECTIONS[1]), node.name

    # Primary never lost: at every sample some node is in a Primary component, of at least 2.
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(samples)]
    assert len(samples) > 20 and max(gaps) < 5, (len(samples), max(gaps, default=None))
    for when, sample in samples:
        sizes = [size for status, size, _, _ in sample.values() if status == "Primary"]
        assert sizes and min(sizes) >= 2, (when - wall_began, sample)
    # Rolling: each node's outage (old mariadbd gone .. new one Synced in the Primary component)
    # ends before the next begins, and the first begins after the last controller had its file.
    windows = {}
    for name in NODES:
        down = next(t for t, s in samples if s[name][3] != initial[name])
        up = next(
            t
            for t, s in samples
            if t >= down and s[name][3] == restarts[name][0] and s[name][0] == "Primary" and s[name][2] == "Synced"
        )
        windows[name] = (down, up)
    ordered = sorted(windows.items(), key=lambda item: item[1][0])
    for (first, (_, first_up)), (second, (second_down, _)) in itertools.pairwise(ordered):
        assert first_up <= second_down, f"{second} went down before {first} was back: {windows}"
    last_write = max(path.stat().st_mtime for path in files.values())
    assert last_write < ordered[0][1][0], (last_write - wall_began, windows)
    assert all(path.read_text() == galera_site_cnf(MAX_CONNECTIONS[1]) for path in files.values())
    for name, (down, up) in ordered:
        stack.timings[f"rollout: galera on {name} restarted (down .. Synced again)"] = up - down
    stack.counts["rollout: resources the runner restarted"] = len(restart["restarts"])
    for name in NODES:
        stack.counts[f"rollout: mariadbd restarts on {name}"] = len(restarts[name])
    stack.counts["rollout: Galera samples taken"] = len(samples)
    stack.counts["rollout: fewest nodes in the Primary component in a sample"] = min(
        sum(1 for status, _, _, _ in s.values() if status == "Primary") for _, s in samples
    )

    # Nothing else restarted.
    others = ("beam.smp", "redis-server", "haproxy", "memcached", "cinder-volume")  # beam.smp: RabbitMQ
    for comm in others:
        stack.counts[f"rollout: {comm} restarts (all nodes)"] = sum(after[n][comm] != before[n][comm] for n in NODES)
    assert (
        diff_pids(
            {n: {c: before[n][c] for c in others} for n in NODES}, {n: {c: after[n][c] for c in others} for n in NODES}
        )
        == {}
    )
    assert stack.cinder_starts() == cinder_starts
