"""Orchestration on a real three-node cluster with a real Salt master and minions.

The bed (tests/support/saltbed.py): the namespaced cluster n1..n3, a
salt-master in the hub namespace, one salt-minion daemon per node (ctl2 on
n1, ctl3 on n2, ctl1 on n3), every minion with ``providers: {service:
pcmk_service}``.  The service is the unedited stand-in formula
tests/formulas/testsvc (a config file and a ``service.running`` watching it)
with pillar making it a *cloned* HA service (restart policy ``cluster``) run
by ``ocf:saltext:openstack-service``, so each node runs one instance.

What each node's instance did is read from the host: the daemon appends
``<start time> <pid> <greeting>`` to /run/saltbed/start.log (private per
node) at every start, so a test sees how often each instance started and
which config it read.
"""

from __future__ import annotations

import concurrent.futures
import difflib
import itertools
import json
import os
import pathlib
import time

import pytest
from lxml import etree

from tests.support import testservice
from tests.support.livecheck import wait
from tests.support.saltbed import NODE_RUN_DIR, SaltBed

pytestmark = pytest.mark.multinode

SERVICE = "testsvc"
CLONE = "testsvc-clone"
ROLLOUT = "orch.pcmk.rollout"
CONFIG = f"{NODE_RUN_DIR}/testsvc.conf"
START_LOG = f"{NODE_RUN_DIR}/start.log"
SITE = """\
include:
  - pcmk.agents
  - testsvc
  - pcmk.restarts
"""
NODES = ("n1", "n2", "n3")
_versions = itertools.count(1)


def failures(state_return):
    """``{minion: {state id: comment}}`` of failed states in a ``salt --static`` state return."""
    found = {}
    for minion, states in state_return.items():
        if not isinstance(states, dict):
            found[minion] = {"(no state return)": states}
            continue
        bad = {v.get("__id__", k): v.get("comment") for k, v in states.items() if v.get("result") is False}
        if bad:
            found[minion] = bad
    return found


def xml_diff(expected, actual):
    def pretty(text):
        return etree.tostring(etree.fromstring(text), pretty_print=True).decode().splitlines()

    return "\n".join(difflib.unified_diff(pretty(expected), pretty(actual), "expected", "actual", lineterm=""))


def states_by_id(states):
    return {v["__id__"]: v for v in states.values()}


def changed_ids(states):
    return {v["__id__"] for v in states.values() if v.get("changes")}


class Service:
    """The cloned testsvc on the bed: pillar, and what its instances did on each node."""

    def __init__(self, bed: SaltBed, root):
        self.bed = bed
        self.daemon = testservice.install_daemon(root / "bin")
        self.port = testservice.free_port()  # each node has its own loopback
        self.greeting = None
        self.report = {"timings": {}}  # written to $SALTBED_REPORT (JSON) when set

    # ---- pillar ----
    def pillar(self, greeting=None, *, defer=None, op_timeout="20s"):
        self.greeting = greeting or f"v{next(_versions)}-{time.monotonic_ns()}"
        pcmk = {
            "restart": {"settle": 2, "timeout": 120},
            "services": {
                SERVICE: {
                    "ha": True,
                    "clone": True,
                    "restart": "cluster",
                    "agent": "ocf:saltext:openstack-service",
                    "params": {
                        "binary": str(self.daemon),
                        "config": CONFIG,
                        "pid": f"{NODE_RUN_DIR}/testsvc.pid",
                        "monitor_url": f"http://127.0.0.1:{self.port}/health",
                        "extra_args": f"--start-log {START_LOG}",
                    },
                    "ops": [{"name": "monitor", "interval": "3s", "timeout": op_timeout}],
                }
            },
        }
        if defer is not None:
            pcmk["restart"]["defer"] = defer
        self.bed.set_pillar(
            {
                "testsvc": {
                    "config": CONFIG,
                    "port": self.port,
                    "starts_file": f"{NODE_RUN_DIR}/starts",
                    "greeting": self.greeting,
                },
                "pcmk": pcmk,
            }
        )
        return self.greeting

    # ---- what happened on the nodes ----
    def start_log(self):
        """``{node: [(start time, pid, greeting), ...]}``."""
        return {n: testservice.start_log(self.bed.node_path(n, START_LOG)) for n in NODES}

    def starts(self):
        """``{node: [pid, ...]}`` from the starts file (one line per start)."""
        return {n: testservice.starts(self.bed.node_path(n, f"{NODE_RUN_DIR}/starts")) for n in NODES}

    def mark(self):
        return {n: len(entries) for n, entries in self.start_log().items()}

    def new_starts(self, mark):
        return {n: entries[mark[n] :] for n, entries in self.start_log().items()}

    def config_mtimes(self):
        return {n: self.bed.node_path(n, CONFIG).stat().st_mtime for n in NODES}

    def config_greeting(self, node):
        for line in self.bed.node_path(node, CONFIG).read_text().splitlines():
            if line.startswith("greeting = "):
                return line.split(" = ", 1)[1]
        return None

    # ---- the cluster ----
    def live_node(self):
        for node in self.bed.cluster.nodes:
            if node.holder_alive() and node.corosync_pids() and node.pacemaker_pids("pacemaker-based"):
                return node
        raise AssertionError("no node runs the cluster")

    def cib(self, node=None):
        node = node or self.live_node()
        return etree.fromstring(node.run(["cibadmin", "--query"]).stdout.encode())

    def pending(self, node=None):
        """``{resource: {node: token}}`` of restart requests in the CIB."""
        found = {}
        for element in self.cib(node).xpath("//configuration/nodes/node"):
            for nv in element.xpath("instance_attributes/nvpair[starts-with(@name, 'saltext-restart-')]"):
                found.setdefault(nv.get("name")[len("saltext-restart-") :], {})[element.get("uname")] = nv.get("value")
        return found

    def running_on(self, node=None):
        node = node or self.live_node()
        mon = etree.fromstring(node.run(["crm_mon", "--one-shot", "--output-as=xml"]).stdout.encode())
        return sorted(mon.xpath(f"//clone[@id='{CLONE}']/resource[@active='true' and @role='Started']/node/@name"))

    def wait_running(self, nodes=NODES, timeout=90):
        wait(lambda: self.running_on() == sorted(nodes), f"{CLONE} to run on {sorted(nodes)}", timeout)

    def dc(self):
        mon = etree.fromstring(self.live_node().run(["crm_mon", "--one-shot", "--output-as=xml"]).stdout.encode())
        found = mon.xpath("//summary/current_dc[@present='true']/@name")
        return found[0] if found else None

    def configuration(self, node=None):
        """The CIB's configuration section as canonical text (the epoch lives outside it)."""
        section = self.cib(node).find("configuration")
        return etree.tostring(section, method="c14n").decode()

    def duplicate_ids(self, node=None):
        ids = self.cib(node).xpath("//configuration//@id")
        return sorted({i for i in ids if ids.count(i) > 1})

    def record_steps(self, label, steps):
        """Keep each orchestration step's duration for the report (bench/rollout.py prints them)."""
        self.report.setdefault("steps", []).extend(
            {
                "scenario": label,
                "step": sid,
                "result": step.get("result"),
                "seconds": round(step.get("duration", 0) / 1000, 2),
            }
            for sid, step in steps.items()
        )

    def bootstrap_minion(self, timeout=10):
        result = self.bed.run("pcmk.bootstrap_minion", f"timeout={timeout}")
        assert result.returncode == 0, result
        return result.data


def orch_steps(result):
    """``{state id: state return}`` of a ``salt-run state.orchestrate`` JSON output."""
    data = result.data
    assert isinstance(data, dict) and "data" in data, result
    (steps,) = data["data"].values()
    if isinstance(steps, list):  # render errors
        raise AssertionError(f"orchestration did not render: {steps}")
    return {v["__id__"]: v for v in steps.values()}


def restart_return(step):
    """The pcmk.restart_pending runner's return inside the orchestration's salt.runner step."""
    return step["changes"]["return"]


@pytest.fixture(scope="module")
def svc(salt_cluster, tmp_path_factory):
    """testsvc deployed by one rollout: three controllers create the clone at the same moment."""
    bed = salt_cluster
    service = Service(bed, tmp_path_factory.mktemp("orch-svc"))
    bed.write_sls("site", SITE)
    service.pillar()
    began = time.monotonic()
    result = bed.orchestrate(ROLLOUT, {"sls": "site"})
    assert result.returncode == 0, result
    service.wait_running()
    service.report["timings"].update(
        {
            "cluster start": bed.cluster.start_seconds,
            "salt bed start": bed.start_seconds,
            "initial rollout (3 controllers create the clone)": time.monotonic() - began,
        }
    )
    assert service.duplicate_ids() == []
    assert service.pending() == {}
    # One start per node, no restart: creating the clone is not a config change.
    assert {n: len(v) for n, v in service.start_log().items()} == {n: 1 for n in NODES}
    yield service
    if os.environ.get("SALTBED_REPORT"):
        service.report["cli calls"] = [
            (" ".join([pathlib.Path(r.argv[0]).name, *r.argv[3:]])[:160], r.returncode, round(r.seconds, 1))
            for r in bed.history
        ]
        pathlib.Path(os.environ["SALTBED_REPORT"]).write_text(json.dumps(service.report, indent=1, default=str))
    # Leave the shared cluster as we found it: no resource, no requests.
    node = service.live_node()
    node.run(
        [
            "crm_resource",
            "--resource",
            CLONE,
            "--meta",
            "--set-parameter",
            "target-role",
            "--parameter-value",
            "Stopped",
        ],
        check=False,
    )
    wait(lambda: service.running_on() == [], "testsvc to stop", 60)
    node.run(["cibadmin", "--delete", "--xml-text", f'<clone id="{CLONE}"/>'], check=False)
    for element in service.cib().xpath("//configuration/nodes/node"):
        for nv in element.xpath("instance_attributes/nvpair[starts-with(@name, 'saltext-restart-')]"):
            node.run(["cibadmin", "--delete", "--xml-text", f'<nvpair id="{nv.get("id")}"/>'], check=False)


@pytest.fixture(autouse=True)
def healthy(request, salt_cluster):
    """After each test: every node online, every minion answering, testsvc on all three, nothing pending.

    A failing test must not leave a broken bed to the next one.  Also times each test.
    """
    began = time.monotonic()
    yield
    if "svc" in request.fixturenames:
        request.getfixturevalue("svc").report["timings"][request.node.name] = time.monotonic() - began
    bed = salt_cluster
    dead = [n.name for n in bed.cluster.nodes if not n.corosync_pids()]
    if dead:
        restart_nodes(bed, dead)
    stopped = [m for m, d in bed.minions.items() if not d.running()]
    for minion_id in stopped:
        bed.start_minion(minion_id)
    if "svc" in request.fixturenames:
        service = request.getfixturevalue("svc")
        if _target_role_stopped(service, None):  # as an operator would: let it run again
            live = service.live_node().name
            bed.salt(bed.minion_of[live], "pcmk.start", CLONE, "wait=False")
        if service.pending():
            bed.run("pcmk.restart_pending")
        service.wait_running()


def restart_nodes(bed, names):
    """Bring several killed nodes back at once (one node alone would wait for the others)."""
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(bed.restart_node, names))


# ---------------------------------------------------------------------------
# 1. One config change on three controllers: one restart, after all have it
# ---------------------------------------------------------------------------


def test_rollout_restarts_the_clone_once_after_every_controller_has_the_file(salt_cluster, svc):
    bed = salt_cluster
    mark = svc.mark()
    greeting = svc.pillar()
    expected_minion = bed.minion_of[svc.dc()]  # no pillar override: the DC's minion acts

    result = bed.orchestrate(ROLLOUT, {"sls": "site"})
    assert result.returncode == 0, result
    steps = orch_steps(result)
    svc.record_steps("config change on 3 controllers", steps)
    applied = steps["pcmk-rollout-apply"]
    assert applied["result"] is True, applied
    restart = restart_return(steps["pcmk-rollout-restart"])
    assert restart["minion"] == expected_minion
    assert list(restart["restarts"]) == [CLONE]
    outcome = restart["restarts"][CLONE]
    assert outcome["result"] == "restarted", outcome
    assert outcome["requests"] == list(NODES)  # every controller asked, by node name
    svc.wait_running()

    # Exactly one start per node instance, each reading the new config...
    new = svc.new_starts(mark)
    assert {n: len(v) for n, v in new.items()} == {n: 1 for n in NODES}, new
    assert {n: v[0][2] for n, v in new.items()} == {n: greeting for n in NODES}
    # ... and none before the last controller had written it.
    last_write = max(svc.config_mtimes().values())
    assert all(v[0][0] > last_write for v in new.values()), (new, svc.config_mtimes())
    assert {svc.config_greeting(n) for n in NODES} == {greeting}
    assert svc.pending() == {}


# ---------------------------------------------------------------------------
# 2. No change: no request, no restart
# ---------------------------------------------------------------------------


def test_rollout_without_change_restarts_nothing(salt_cluster, svc):
    bed = salt_cluster
    mark = svc.mark()
    epoch = svc.cib().get("epoch")
    result = bed.orchestrate(ROLLOUT, {"sls": "site"})
    assert result.returncode == 0, result
    steps = orch_steps(result)
    svc.record_steps("no change", steps)
    assert steps["pcmk-rollout-apply"]["result"] is True
    assert restart_return(steps["pcmk-rollout-restart"])["restarts"] == {}
    time.sleep(2)
    assert svc.new_starts(mark) == {n: [] for n in NODES}
    assert svc.pending() == {}
    assert svc.cib().get("epoch") == epoch  # not even a write
    # What the rollout is compared with (bench/rollout.py prints it): a ping and one apply of the same SLS.
    compare = svc.report.setdefault("compare", {})
    compare["orch.pcmk.rollout, nothing changed"] = result.seconds
    ping = bed.salt("*", "test.ping")
    assert ping.returncode == 0, ping
    applied = bed.salt("*", "state.apply", "site", timeout=300)
    assert applied.returncode == 0 and failures(applied.data) == {}, applied
    compare["salt '*' test.ping"] = ping.seconds
    compare["salt '*' state.apply site (the rollout's highstate)"] = applied.seconds
    compare["salt '*' test.ping + state.apply site"] = ping.seconds + applied.seconds
    assert svc.cib().get("epoch") == epoch


def test_export_through_the_bootstrap_minion_reapplied_on_every_controller_changes_nothing(salt_cluster, svc):
    """``salt-run pcmk.export`` reads the live cluster through the bootstrap minion and writes the
    SLS on the master; a highstate of it on all three controllers reports and writes nothing."""
    bed = salt_cluster
    path = bed.srv / "exported.sls"
    result = bed.run("pcmk.export", f"path={path}", timeout=120)
    assert result.returncode == 0, result
    assert result.data["path"] == str(path) and result.data["minion"] in bed.minion_ids, result.data
    text = path.read_text()
    assert f"\n{CLONE}:\n  pcmk.clone:" in text, text
    epoch = svc.cib().get("epoch")
    for test in ("True", "False"):
        applied = bed.salt("*", "state.apply", "exported", f"test={test}", timeout=180)
        assert applied.returncode == 0 and sorted(applied.data) == sorted(bed.minion_ids), applied
        assert failures(applied.data) == {}, failures(applied.data)
        for minion, states in applied.data.items():
            assert changed_ids(states) == set(), (minion, {k: v["changes"] for k, v in states.items() if v["changes"]})
    assert svc.cib().get("epoch") == epoch  # not a write


def test_pillar_change_to_the_resource_reaches_the_cib_through_the_formula(salt_cluster, svc):
    """The unedited formula's service.running: a changed ``pcmk:services`` definition must be written.

    Salt's ``service.running`` on a running, enabled service calls only
    ``service.status`` and ``service.enabled``; the provider must still
    converge the resource to pillar (here: the monitor's timeout).
    """
    bed = salt_cluster
    try:
        svc.pillar(greeting=svc.greeting, op_timeout="25s")  # no config change: no restart
        result = bed.salt("*", "state.apply", "site", timeout=300)
        assert failures(result.data) == {}
        ops = svc.cib().xpath(f"//primitive[@id='{SERVICE}']/operations/op[@name='monitor']")
        assert [op.get("timeout") for op in ops] == ["25s"], (
            "pillar pcmk:services:testsvc:ops changed, the CIB did not: "
            + json.dumps({m: sorted(changed_ids(v)) for m, v in result.data.items()})
        )
    finally:
        svc.pillar(greeting=svc.greeting)
        bed.salt("*", "state.apply", "site", timeout=300)  # back to the pillar's definition


# ---------------------------------------------------------------------------
# 3. The bootstrap minion is down: another one restarts, once
# ---------------------------------------------------------------------------


def test_bootstrap_minion_down_another_minion_restarts_once(salt_cluster, svc):
    bed = salt_cluster
    before = svc.bootstrap_minion()
    assert before == bed.minion_of[svc.dc()]
    down_node = bed.node_of[before]
    others = sorted(m for m in bed.minion_ids if m != before)
    bed.stop_minion(before)
    try:
        after = svc.bootstrap_minion(timeout=5)
        assert after in others  # the silent minion is skipped; its node is still online
        old_greeting = svc.greeting
        mark = svc.mark()
        greeting = svc.pillar()

        # The default target includes the silent controller: the rollout must not restart.
        result = bed.orchestrate(ROLLOUT, {"sls": "site"})
        assert result.returncode != 0, result
        steps = orch_steps(result)
        assert steps["pcmk-rollout-apply"]["result"] is False
        assert steps["pcmk-rollout-restart"]["result"] is False  # never ran: requisite failed
        assert svc.new_starts(mark) == {n: [] for n in NODES}
        pending = svc.pending()
        assert sorted(pending.get(CLONE, {})) == sorted(bed.node_of[m] for m in others), pending

        # The runner on its own: another minion performs them, once.
        result = bed.run("pcmk.restart_pending")
        assert result.returncode == 0, result
        assert result.data["minion"] == after
        assert result.data["restarts"][CLONE]["result"] == "restarted"
        svc.wait_running()
        new = svc.new_starts(mark)
        assert {n: len(v) for n, v in new.items()} == {n: 1 for n in NODES}, new
        # The silent controller's node kept its old file: its instance read it.
        assert {n: v[0][2] for n, v in new.items()} == {
            n: (old_greeting if n == down_node else greeting) for n in NODES
        }
        assert svc.pending() == {}
        # Safe to run twice (targeting the answering controllers: no wait for the silent one).
        again = bed.run("pcmk.restart_pending", f"tgt={','.join(others)}", "tgt_type=list")
        assert again.returncode == 0 and again.data["restarts"] == {}, again
    finally:
        bed.start_minion(before)

    # Back: it is the bootstrap minion again, and its rollout catches its node up (one more restart).
    assert svc.bootstrap_minion() == before
    mark = svc.mark()
    result = bed.orchestrate(ROLLOUT, {"sls": "site"})
    assert result.returncode == 0, result
    restart = restart_return(orch_steps(result)["pcmk-rollout-restart"])
    assert restart["minion"] == before
    assert restart["restarts"][CLONE]["requests"] == [down_node]
    svc.wait_running()
    new = svc.new_starts(mark)
    assert {n: [e[2] for e in v] for n, v in new.items()} == {n: [greeting] for n in NODES}


def _online_nodes(svc):
    mon = etree.fromstring(svc.live_node().run(["crm_mon", "--one-shot", "--output-as=xml"]).stdout.encode())
    return sorted(mon.xpath("//nodes/node[@online='true' and @unclean='false']/@name"))


def test_discovery_does_not_wait_for_the_minion_of_an_offline_node(salt_cluster, svc):
    """The bootstrap minion and its node are down: discovery asks the members that answer.

    The cluster knows its members: the minion of a node that is not an online
    member cannot be chosen, so discovery returns once every online member's
    minion answered instead of waiting out the discovery timeout (120 s here).
    ``pcmk.restart_pending`` (one restart of the clone) is timed healthy and
    with the bootstrap node down for bench/rollout.py.
    """
    bed = salt_cluster
    timings = svc.report.setdefault("compare", {})
    began = time.monotonic()
    before = svc.bootstrap_minion(timeout=120)
    timings["pcmk.bootstrap_minion, healthy"] = time.monotonic() - began
    requested = bed.salt("*", "pcmk.request_restart", CLONE)
    assert requested.returncode == 0, requested
    healthy = bed.run("pcmk.restart_pending")
    assert healthy.returncode == 0 and healthy.data["restarts"][CLONE]["result"] == "restarted", healthy
    timings["pcmk.restart_pending, healthy (one restart)"] = healthy.seconds
    svc.wait_running()

    down_node = bed.node_of[before]
    others = sorted(m for m in bed.minion_ids if m != before)
    bed.stop_minion(before)
    bed.cluster.node(down_node).kill_corosync()  # the node fails with its minion
    wait(lambda: down_node not in _online_nodes(svc), f"{down_node} to leave the membership", 60)
    began = time.monotonic()
    result = bed.run("pcmk.bootstrap_minion", "timeout=120")
    took = time.monotonic() - began
    assert result.returncode == 0, result
    assert result.data in others
    assert took < 60, f"discovery took {took:.0f}s: it waited for the silent minion of an offline node"
    timings["pcmk.bootstrap_minion, bootstrap node and minion down (timeout=120)"] = took
    requested = bed.salt(others, "pcmk.request_restart", CLONE, tgt_type="list")
    assert requested.returncode == 0, requested
    down = bed.run("pcmk.restart_pending")
    assert down.returncode == 0 and down.data["minion"] in others, down
    assert down.data["restarts"][CLONE]["result"] == "restarted", down
    timings["pcmk.restart_pending, bootstrap node and minion down (one restart)"] = down.seconds
    svc.wait_running([bed.node_of[m] for m in others])
    # The healthy fixture brings the node and its minion back.


# ---------------------------------------------------------------------------
# 4. A node fails during the restart
# ---------------------------------------------------------------------------


def _target_role_stopped(svc, node):
    try:
        cib = svc.cib(node)
    except Exception:  # pylint: disable=broad-except
        return False
    return bool(cib.xpath(f"//clone[@id='{CLONE}']/meta_attributes/nvpair[@name='target-role' and @value='Stopped']"))


def _rollout_with_node_failure(bed, svc, victim):
    """Start a rollout, kill ``victim``'s corosync as soon as the restart has begun; the rollout's result."""
    witness = next(bed.cluster.node(n) for n in NODES if n != victim)
    proc = bed.popen_cli("salt-run", "state.orchestrate", ROLLOUT, f"pillar={json.dumps({'sls': 'site'})}")
    try:
        wait(
            lambda: _target_role_stopped(svc, witness) or proc.poll() is not None,
            "the restart to begin",
            180,
            interval=0.1,
        )
        assert proc.poll() is None, "the rollout ended before its restart began"
        killed_at = time.time()
        bed.cluster.node(victim).kill_corosync()
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stdout, stderr, killed_at


def _check_truthful_and_recover(bed, svc, victim, mark, greeting, rc, stdout, stderr, *, role):
    result = json.loads(stdout)
    (steps,) = result["data"].values()
    steps = {v["__id__"]: v for v in steps.values()}
    svc.record_steps(f"{role} node fails mid-restart", steps)
    assert steps["pcmk-rollout-apply"]["result"] is True, steps
    restart_step = steps["pcmk-rollout-restart"]
    reported_ok = rc == 0 and restart_step["result"] is True

    svc.report.setdefault("node failure during restart", []).append(
        {
            "victim": victim,
            "rollout exit": rc,
            "restart step result": restart_step["result"],
            "restart step comment": restart_step["comment"],
            "return": str(restart_step["changes"].get("return"))[-600:],
        }
    )
    bed.restart_node(victim)
    wait(lambda: svc.running_on() == list(NODES) or _target_role_stopped(svc, None), "the cluster to settle", 90)
    assert not _target_role_stopped(svc, None), (
        f"the resource was left stopped (target-role=Stopped) after the runner reported "
        f"{'success' if reported_ok else 'failure'}; pending={svc.pending()}; {restart_step}"
    )
    svc.wait_running()
    pending = svc.pending()
    if reported_ok:
        # It said it restarted: so it did, on every node that stayed, and nothing is pending.
        outcome = restart_return(restart_step)["restarts"][CLONE]
        assert outcome["result"] == "restarted", outcome
        assert pending == {}, pending
        new = svc.new_starts(mark)
        for node in NODES:
            assert new[node] and new[node][-1][2] == greeting, (node, new)
    else:
        # It said it failed: the requests must still be there, and a second run performs them.
        assert "failed" in restart_step["comment"] or "fail" in json.dumps(restart_step).lower(), restart_step
        assert sorted(pending.get(CLONE, {})) == list(NODES), (
            f"the runner reported failure but the requests are gone: pending={pending}; {restart_step}"
        )
        second = bed.run("pcmk.restart_pending")
        assert second.returncode == 0, second
        assert second.data["restarts"][CLONE]["result"] == "restarted"
        svc.wait_running()
    assert svc.pending() == {}
    # Whatever happened, every instance now runs the new config and the resource is not left stopped.
    assert not _target_role_stopped(svc, None)
    latest = {n: v[-1][2] for n, v in svc.start_log().items()}
    assert latest == {n: greeting for n in NODES}, latest
    return restart_step if reported_ok else None


def test_node_fails_during_restart_other_node(salt_cluster, svc):
    """A node that does not act fails while the restart runs."""
    bed = salt_cluster
    acting = bed.node_of[svc.bootstrap_minion()]
    victim = next(n for n in NODES if n != acting and n != svc.dc())
    mark = svc.mark()
    greeting = svc.pillar()
    rc, stdout, stderr, _ = _rollout_with_node_failure(bed, svc, victim)
    _check_truthful_and_recover(bed, svc, victim, mark, greeting, rc, stdout, stderr, role="another")


def test_node_fails_during_restart_acting_node(salt_cluster, svc):
    """The node of the minion performing the restart fails while it runs."""
    bed = salt_cluster
    victim = bed.node_of[svc.bootstrap_minion()]
    mark = svc.mark()
    greeting = svc.pillar()
    rc, stdout, stderr, _ = _rollout_with_node_failure(bed, svc, victim)
    succeeded = _check_truthful_and_recover(bed, svc, victim, mark, greeting, rc, stdout, stderr, role="the acting")
    # The dying performer's claim outlived it: the next bootstrap minion recovered it and restarted.
    assert succeeded, "the runner should fail over to the next bootstrap minion"
    ret = restart_return(succeeded)
    assert [a["minion"] for a in ret["failed_attempts"]] == [bed.minion_of[victim]], ret
    assert ret["minion"] != bed.minion_of[victim]
    assert ret["restarts"][CLONE]["recovered"] == [f"node {victim} (minion {bed.minion_of[victim]})"], ret


def test_claim_of_a_node_that_left_and_rejoined_is_recovered_at_once(salt_cluster, svc):
    """A performer's node left the cluster and came back before anyone looked.

    Online again and within its claim's deadline, yet its restart is gone:
    Pacemaker dropped the node's attrd nonce when it left, so the next
    performer recovers the claim at once instead of waiting for the deadline.
    The claim is written as a performer writes it, with the victim's nonce.
    """
    from saltext.pcmk.utils.restarts import ALIVE_ATTR, ALIVE_GRACE, CLAIM_PREFIX, Claim  # pylint: disable=import-outside-toplevel

    bed = salt_cluster
    acting = bed.node_of[svc.bootstrap_minion()]
    victim = bed.cluster.node(next(n for n in NODES if n not in (acting, svc.dc())))
    victim.run(["attrd_updater", "--name", ALIVE_ATTR, "--update", "before-it-left", "--private"])
    # Claimed a while ago (older than the grace a fresh nonce gets): when the
    # node leaves and comes back quickly, only the nonce tells the claim is dead.
    claim = Claim(
        CLONE,
        victim.name,
        bed.minion_of[victim.name],
        None,
        {},
        int(time.time()) + 3600,
        "before-it-left",
        int(time.time()) - ALIVE_GRACE - 5,
    )
    victim.run(
        [
            "crm_attribute",
            "--node",
            victim.name,
            "--lifetime",
            "forever",
            "--name",
            f"{CLAIM_PREFIX}{CLONE}",
            "--update",
            claim.value,
        ]
    )
    victim.run(
        [
            "crm_resource",
            "--resource",
            CLONE,
            "--meta",
            "--set-parameter",
            "target-role",
            "--parameter-value",
            "Stopped",
        ]
    )
    wait(lambda: svc.running_on() == [], f"{CLONE} stopped by the performer", 60)
    mark = svc.mark()

    victim.kill_corosync()
    bed.restart_node(victim.name)
    result = bed.run("pcmk.restart_pending", "timeout=30")
    assert result.returncode == 0, result
    outcome = result.data["restarts"][CLONE]
    assert outcome == {"result": "recovered", "recovered": [claim.describe()]}, result.data
    assert time.time() < claim.until  # by its nonce, not by its deadline
    svc.wait_running()
    assert not _target_role_stopped(svc, None)
    assert not svc.cib().xpath(f"//nodes//nvpair[starts-with(@name, '{CLAIM_PREFIX}')]")
    assert {n: len(v) for n, v in svc.new_starts(mark).items()} == {n: 1 for n in NODES}


# ---------------------------------------------------------------------------
# 5. Three highstates at the same moment
# ---------------------------------------------------------------------------


def test_concurrent_highstates_converge_once_and_restart_once(salt_cluster, svc):
    bed = salt_cluster
    before = svc.configuration()
    mark = svc.mark()
    greeting = svc.pillar()  # a config change on every controller

    result = bed.salt("*", "state.apply", "site", timeout=300)  # one publish: all three start together
    assert result.returncode == 0, result
    assert sorted(result.data) == bed.minion_ids
    assert failures(result.data) == {}
    for minion_id, states in result.data.items():
        assert "testsvc-config" in changed_ids(states), (minion_id, changed_ids(states))
        assert states_by_id(states)["pcmk-pending-restarts"]["result"] is True
    svc.wait_running()

    # Three controllers recorded requests and three end-of-run states raced to perform them:
    # the configuration is exactly as before (requests and target-role gone, no duplicate ids) ...
    after = svc.configuration()
    assert svc.duplicate_ids() == []
    assert after == before, xml_diff(before, after)
    # ... and one more run (one controller) changes nothing at all.
    epoch = svc.cib().get("epoch")
    single = bed.salt(bed.minion_ids[0], "state.apply", "site", timeout=300)
    assert failures(single.data) == {}
    assert changed_ids(single.data[bed.minion_ids[0]]) == set(), single
    assert svc.cib().get("epoch") == epoch and svc.configuration() == after

    # The end-of-run pcmk.restarts coalesced the three requests: one restart per instance.
    new = svc.new_starts(mark)
    assert {n: [e[2] for e in v] for n, v in new.items()} == {n: [greeting] for n in NODES}, new
    assert all(v[0][0] > max(svc.config_mtimes().values()) for v in new.values())
    assert svc.pending() == {}


# ---------------------------------------------------------------------------
# 6. No quorum: writes are refused
# ---------------------------------------------------------------------------

PROBE = """\
resource-stickiness:
  pcmk.rsc_defaults:
    - value: 42
"""


def test_write_without_quorum_is_refused(salt_cluster, svc):
    bed = salt_cluster
    bed.write_sls("quorumprobe", PROBE)
    survivor, *victims = NODES
    node = bed.cluster.node(survivor)
    before = svc.configuration(node)
    epoch = svc.cib(node).get("epoch")
    for name in victims:
        bed.cluster.node(name).kill_corosync()
    try:
        wait(
            lambda: node.run(["crm_node", "--quorum"], check=False).stdout.strip() == "0",
            f"{survivor} to lose quorum",
            60,
        )
        minion_id = bed.minion_of[survivor]
        result = bed.salt(minion_id, "state.apply", "quorumprobe", timeout=120)
        states = result.data[minion_id]
        (probe,) = states.values()
        assert probe["result"] is False, probe
        assert svc.configuration(node) == before
        assert svc.cib(node).get("epoch") == epoch
        # Refused for the right reason, and saying so.
        assert "partition has no quorum" in probe["comment"], probe["comment"]
    finally:
        restart_nodes(bed, victims)
    svc.wait_running()
    assert svc.configuration() == before


# ---------------------------------------------------------------------------
# 7. The reactor: events from three highstates, one restart
# ---------------------------------------------------------------------------


def test_reactor_restarts_once_after_quiet(salt_cluster, svc):
    bed = salt_cluster
    bed.configure_master(
        reactor=[{"saltext/pcmk/restart-requested": ["salt://reactor/pcmk/restart-pending.sls"]}],
        **{"pcmk.reactor_quiet": 3},
    )
    try:
        mark = svc.mark()
        greeting = svc.pillar(defer=True)
        result = bed.salt("*", "state.apply", "site", timeout=300)
        assert result.returncode == 0, result
        assert failures(result.data) == {}
        for states in result.data.values():
            assert "testsvc-config" in changed_ids(states)
        # The reactor waits for 3 quiet seconds, then one of its runners restarts.
        wait(
            lambda: all(len(v) == 1 for v in svc.new_starts(mark).values()) and not svc.pending(),
            "the reactor's restart",
            120,
        )
        svc.wait_running()
        time.sleep(8)  # the other runners' claims must find nothing
        new = svc.new_starts(mark)
        assert {n: [e[2] for e in v] for n, v in new.items()} == {n: [greeting] for n in NODES}, new
        assert svc.pending() == {}
    finally:
        svc.pillar(greeting=svc.greeting)
        bed.configure_master(reactor=None, **{"pcmk.reactor_quiet": None})
