"""From bare controllers to a running cluster by Salt alone (issue 13, first slice).

A four-node bed *started empty* (``Cluster(bare=True)``: namespaces, private
/etc/corosync, /etc/pacemaker, /var/lib/pacemaker and network; no
corosync.conf, no authkey, no cib.xml, nothing running) with a salt-master
in the hub and a minion per node (n1 runs ctl2, n2 ctl3, n3 ctl1, n4 ctl4). The cluster
is declared with n1-n3 first; n4 joins by pillar in the last test. Corosync
and Pacemaker are services of the tests' init stand-in (``fakeinit``), started
by ``pcmk.cluster_running`` through the native service module.

The tests run in order on one bed: refusals first (nothing may be written),
then the formation by one orchestrated highstate (the cluster, then the
site's resources: a Dummy clone), the second run, refusals against the
running cluster, a totem timing changed (reloaded, nothing restarted), n4
joining by pillar and n4 leaving by pillar (the Dummy clone must not restart
on the others).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import shutil
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.support import formation
from tests.support.cluster import Cluster, missing_requirements
from tests.support.saltbed import SaltBed, short_workdir

pytestmark = pytest.mark.multinode

SUBNET = "10.251.0"  # the bed's own hub: private network namespaces, no clash with other beds
NAME = "pcmkform"
ORCH = "orch.pcmk.cluster"
MINIONS = {"n1": "ctl2", "n2": "ctl3", "n3": "ctl1", "n4": "ctl4"}
FIRST = ["ctl1", "ctl2", "ctl3"]  # the controllers of the first three nodes
TARGET = {"tgt": ",".join(FIRST), "tgt_type": "list"}
FORMULA = "pcmk.cluster"
TIMINGS: dict[str, float] = {}
COUNTS: dict[str, dict] = {}  # per scenario: Corosync reloads, daemon and resource restarts (bench/cluster.py)
REPORT_VAR = "CLUSTER_BENCH_REPORT"  # where bench/cluster.py wants TIMINGS and COUNTS as JSON


OTHERS = ("n1", "n2", "n3")  # the nodes that already run while a node joins or leaves, or a setting changes
HIGHSTATE = {**TARGET, "highstate": True}
# The site's resources, applied by the same highstate once the cluster has formed: a clone
# that runs on every node (its starts are counted when nodes join and leave).
SITE_RESOURCES = """
include:
  - pcmk.cluster
stonith-enabled:
  pcmk.property:
    - value: false
    - require:
      - pcmk: pcmk-cluster-running
dummy:
  pcmk.resource:
    - agent: ocf:heartbeat:Dummy
    - ops:
      - {name: monitor, interval: 10s}
    - clone:
        interleave: true
    - require:
      - pcmk: stonith-enabled
"""


def _key():
    return formation.new_key()


def cluster_pillar(bed: SaltBed, keys: dict | None = None, size: int = 3) -> dict:
    """Without ``keys``: no authkeys in pillar, the master's ext_pillar serves the ones it made."""
    return formation.cluster_pillar(bed, keys, name=NAME, size=size)


@pytest.fixture(scope="module")
def bed():
    reason = missing_requirements()
    if reason:
        pytest.skip(f"live Pacemaker cluster unavailable: {reason}")
    workdir = short_workdir("clform-")
    began = time.monotonic()
    cluster = Cluster(workdir / "cluster", nodes=4, name=NAME, subnet=SUBNET, bare=True).start()
    salt_bed = None
    try:
        salt_bed = SaltBed(cluster, workdir / "salt", minions=MINIONS, master_opts=formation.MASTER_KEYS).start()
        TIMINGS["bare bed (4 nodes' namespaces, master, 4 minions)"] = time.monotonic() - began
        formation.write_fakeinit_units(salt_bed)
        salt_bed.write_sls("top", yaml.safe_dump({"base": {"*": ["pcmk.cluster", "site.resources"]}}))
        salt_bed.write_sls("site.resources", SITE_RESOURCES)
        salt_bed.keys = formation.master_keys(salt_bed, NAME)  # made on the master, served by the ext_pillar
        yield salt_bed
    finally:
        if salt_bed is not None:
            salt_bed.stop()
        cluster.stop(remove_files=os.environ.get("PCMK_TEST_KEEP_FILES") != "1")
        if os.environ.get("PCMK_TEST_KEEP_FILES") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        print("\ncluster formation timings:", json.dumps({k: round(v, 1) for k, v in TIMINGS.items()}))
        if os.environ.get(REPORT_VAR):
            with open(os.environ[REPORT_VAR], "w", encoding="utf-8") as handle:
                json.dump({"timings": TIMINGS, "counts": COUNTS}, handle, indent=2)


# -- what a node holds ---------------------------------------------------------------------------------------------
def node_files(cluster: Cluster) -> dict:
    """Per node: the files the states write (content and mode), as the host sees them."""
    found = {}
    for node in cluster.nodes:
        for rel in ("etc-corosync/corosync.conf", "etc-corosync/authkey", "etc-pacemaker/authkey"):
            path = node.dir / rel
            if path.exists():
                stat = path.stat()
                found[(node.name, rel)] = (path.read_bytes(), oct(stat.st_mode & 0o7777), stat.st_uid, stat.st_mtime_ns)
    return found


def daemons(cluster: Cluster) -> dict:
    return {node.name: sorted(node.corosync_pids() + node.pacemaker_pids("pacemakerd")) for node in cluster.nodes}


def orch_steps(result):
    data = result.data
    assert isinstance(data, dict) and "data" in data, result
    (steps,) = data["data"].values()
    if isinstance(steps, list):
        raise AssertionError(f"orchestration did not render: {steps}")
    return {v["__id__"]: v for v in steps.values()}


def minion_states(step) -> dict:
    """``{minion: {state id: return}}`` from an orchestration's salt.state step."""
    out = step["changes"].get("ret") or {}
    return {m: {v["__id__"]: v for v in states.values()} for m, states in out.items() if isinstance(states, dict)}


def record_steps(label, steps):
    for step_id, step in steps.items():
        TIMINGS[f"{label}: {step_id}"] = step.get("duration", 0) / 1000


def assert_untouched(bed: SaltBed, before_files: dict, before_daemons: dict) -> None:
    assert node_files(bed.cluster) == before_files
    assert daemons(bed.cluster) == before_daemons


def corosync_log_tail(bed: SaltBed, name: str, lines: int = 15) -> str:
    path = bed.cluster.node(name).log_dir / "corosync" / "corosync.log"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


def assert_still_formed(bed: SaltBed) -> None:
    """The cluster the formation made still runs, with the same daemons: a failure here happened
    between tests, outside any state run (the log tails say what the daemons said)."""
    formed = getattr(bed, "formed_daemons", None)
    if formed is None:
        return
    running = daemons(bed.cluster)
    now = {n: running[n] for n in OTHERS}
    if {n: formed[n] for n in OTHERS} != now:
        tails = {n: corosync_log_tail(bed, n) for n in OTHERS}
        raise AssertionError(f"daemons changed between tests: formed {formed}, now {now}; corosync logs: {tails}")


# -- the tests, in order -----------------------------------------------------------------------------------------------
def test_broken_pillar_is_refused_on_every_controller_with_nothing_written(bed):
    pillar = cluster_pillar(bed)
    nodes = pillar["pcmk"]["cluster"]["nodes"]
    nodes[2]["nodeid"] = nodes[0]["nodeid"]  # a node id used twice
    bed.set_pillar(pillar)
    result = bed.salt(FIRST, "state.apply", FORMULA, timeout=120)
    assert sorted(result.data) == FIRST, result
    for minion, states in result.data.items():
        failed = {v["__id__"]: v["comment"] for v in states.values() if v["result"] is False}
        assert "pcmk-cluster-authkeys" in failed, (minion, states)
        assert (
            "pcmk:cluster:nodes[2]:nodeid 1 is already used by pcmk:cluster:nodes[0]" in failed["pcmk-cluster-authkeys"]
        )
        assert all(not v["changes"] for v in states.values())
    assert node_files(bed.cluster) == {}
    assert daemons(bed.cluster) == {n.name: [] for n in bed.cluster.nodes}

    # Through the orchestration: refused by the check, before any controller runs a state.
    result = bed.orchestrate(ORCH, TARGET, timeout=180)
    assert result.returncode != 0, str(result)
    steps = orch_steps(result)
    assert steps["pcmk-cluster-check"]["result"] is False
    assert "nodeid 1 is already used" in json.dumps(steps["pcmk-cluster-check"])
    assert steps["pcmk-cluster-config"]["result"] is False  # requisite failed: never ran
    assert steps["pcmk-cluster-form"]["result"] is False
    assert node_files(bed.cluster) == {}


def test_authkeys_differing_between_controllers_are_refused_with_nothing_written(bed):
    bed.set_pillar(cluster_pillar(bed))
    odd = copy.deepcopy(cluster_pillar(bed, {"corosync": _key(), "pacemaker": bed.keys["pacemaker"]}))
    bed.set_pillar(odd, name="odd")
    bed.set_pillar_top({"*": ["bed"], "ctl3": ["odd"]})
    try:
        result = bed.orchestrate(ORCH, TARGET, timeout=180)
        assert result.returncode != 0, str(result)
        steps = orch_steps(result)
        check = json.dumps(steps["pcmk-cluster-check"])
        assert "corosync_authkey differs between controllers" in check, check
        assert "ctl3: sha256:" in check and "ctl1, ctl2: sha256:" in check, check
        assert bed.keys["corosync"] not in result.stdout + result.stderr  # never the key itself
        assert steps["pcmk-cluster-form"]["result"] is False
        assert node_files(bed.cluster) == {}
        assert daemons(bed.cluster) == {n.name: [] for n in bed.cluster.nodes}
    finally:
        bed.set_pillar_top({"*": ["bed"]})
        bed.salt("*", "saltutil.refresh_pillar", "wait=True", timeout=60)


def test_one_orchestrated_highstate_forms_the_cluster_from_bare_controllers_then_applies_resources(bed):
    bed.set_pillar(cluster_pillar(bed))
    began = time.monotonic()
    result = bed.orchestrate(ORCH, HIGHSTATE, timeout=300)
    TIMINGS["bare -> quorate cluster with a DC, then its resources (orchestrated highstate)"] = time.monotonic() - began
    assert result.returncode == 0, str(result)
    steps = orch_steps(result)
    record_steps("formation", steps)
    assert steps["pcmk-cluster-reload"]["changes"]["return"]["comment"] == "no controller runs Corosync"
    COUNTS["bare -> quorate"] = {"corosync reloads": 0, "daemon restarts": 0, "resource restarts": 0}
    configured = minion_states(steps["pcmk-cluster-config"])
    per_minion = minion_states(steps["pcmk-cluster-form"])
    assert sorted(per_minion) == sorted(configured) == FIRST, steps
    for minion, states in per_minion.items():
        assert configured[minion]["pcmk-cluster-authkeys"]["changes"] == {
            "/etc/corosync/authkey": "authkey: created",
            "/etc/pacemaker/authkey": "authkey: created",
        }
        assert "+    cluster_name: pcmkform" in configured[minion]["pcmk-corosync-conf"]["changes"]["diff"]
        assert not states["pcmk-corosync-conf"]["changes"]
        assert states["pcmk-cluster-running"]["changes"] == {
            "corosync": "started",
            "pacemaker": "started",
            "corosync at boot": "enabled",
            "pacemaker at boot": "enabled",
        }, (minion, states["pcmk-cluster-running"])
    assert bed.keys["corosync"] not in result.stdout and bed.keys["pacemaker"] not in result.stdout

    status = bed.cluster.status()  # crm_mon --output-as=xml on the first node
    assert status.online == {"n1", "n2", "n3"}, status
    assert status.dc in {"n1", "n2", "n3"}
    assert status.with_quorum
    files = node_files(bed.cluster)
    for node in bed.cluster.nodes[:3]:
        assert files[(node.name, "etc-corosync/authkey")][:3] == (
            base64.b64decode(bed.keys["corosync"]),
            "0o400",
            0,
        )
        assert files[(node.name, "etc-pacemaker/authkey")][:2] == (base64.b64decode(bed.keys["pacemaker"]), "0o400")
        assert files[(node.name, "etc-corosync/corosync.conf")][1] == "0o644"
    assert len({files[(n.name, "etc-corosync/corosync.conf")][0] for n in bed.cluster.nodes[:3]}) == 1
    assert not any(node == "n4" for node, _ in files)  # not declared: untouched

    # The same highstate then applied the site's resources, once, from whichever controller came first.
    created = [m for m, states in per_minion.items() if states["dummy"]["changes"]]
    assert len(created) >= 1 and all(states["dummy"]["result"] is True for states in per_minion.values())
    resources = bed.cluster.node("n1").run(["cibadmin", "--query", "--scope", "resources"]).stdout
    tree = ET.fromstring(resources)
    assert [c.get("id") for c in tree.iter("clone")] == ["dummy-clone"], resources
    assert [p.get("id") for p in tree.iter("primitive")] == ["dummy"], resources
    wait(lambda: dummy_nodes(bed) == {"n1", "n2", "n3"}, 60, "the dummy clone on n1-n3")
    bed.formed_daemons = daemons(bed.cluster)


def test_a_second_run_changes_nothing_restarts_nothing_writes_nothing(bed):
    assert_still_formed(bed)
    before_files, before_daemons = node_files(bed.cluster), daemons(bed.cluster)
    began = time.monotonic()
    result = bed.orchestrate(ORCH, HIGHSTATE, timeout=300)
    TIMINGS["second run (no change)"] = time.monotonic() - began
    assert result.returncode == 0, str(result)
    steps = orch_steps(result)
    record_steps("second run", steps)
    assert steps["pcmk-cluster-form"]["result"] is True
    assert steps["pcmk-cluster-config"]["changes"] == {}, steps["pcmk-cluster-config"]  # salt.state: no minion changed
    assert steps["pcmk-cluster-reload"]["changes"]["return"]["reloaded"] is False
    assert steps["pcmk-cluster-form"]["changes"] == {}, steps["pcmk-cluster-form"]
    # The formula on its own, every controller at once: each says what it found.
    began = time.monotonic()
    result = bed.salt(FIRST, "state.apply", FORMULA, timeout=180)
    TIMINGS["second run (state.apply pcmk.cluster on 3)"] = time.monotonic() - began
    assert sorted(result.data) == FIRST, result
    for minion, states in result.data.items():
        by_id = {v["__id__"]: v for v in states.values()}
        assert {k: v["changes"] for k, v in by_id.items() if v["changes"]} == {}, minion
        assert all(v["result"] is True for v in by_id.values()), by_id
        assert "3 members (n1, n2, n3), quorate, DC n" in by_id["pcmk-cluster-running"]["comment"]
    assert_untouched(bed, before_files, before_daemons)


@pytest.mark.parametrize(
    "change, culprit",
    [
        (lambda c: c.update(name="renamed"), "pcmk:cluster:name 'renamed': the running cluster is 'pcmkform'"),
        (
            lambda c: (c["nodes"][1].update(nodeid=3), c["nodes"][2].update(nodeid=2)),
            "nodeid 3 is node n3 in the running cluster, not n2",
        ),
        (
            lambda c: c["nodes"].extend(
                [
                    {"name": "n4", "nodeid": 4, "addrs": [f"{SUBNET}.4"]},
                    {"name": "n5", "nodeid": 5, "addrs": [f"{SUBNET}.5"]},
                    {"name": "n6", "nodeid": 6, "addrs": [f"{SUBNET}.6"]},
                ]
            ),
            "would lose quorum at once",
        ),
        (lambda c: c["authkeys"].update(corosync=_key()), "differs from /etc/corosync/authkey, the key the running"),
    ],
    ids=["cluster-name", "node-id-reused", "inquorate-at-once", "authkey-on-live-cluster"],
)
def test_changes_that_would_break_the_running_cluster_are_refused_with_nothing_changed(bed, change, culprit):
    assert_still_formed(bed)
    before_files, before_daemons = node_files(bed.cluster), daemons(bed.cluster)
    pillar = cluster_pillar(bed, dict(bed.keys))
    change(pillar["pcmk"]["cluster"])
    bed.set_pillar(pillar)
    try:
        result = bed.salt(FIRST, "state.apply", FORMULA, timeout=180)
        assert sorted(result.data) == FIRST, result
        for minion, states in result.data.items():
            comments = " ".join(v["comment"] for v in states.values() if v["result"] is False)
            assert culprit in comments, (minion, comments, states, before_daemons, daemons(bed.cluster))
            assert all(not v["changes"] for v in states.values()), (minion, states)
        assert_untouched(bed, before_files, before_daemons)
    finally:
        bed.set_pillar(cluster_pillar(bed))
    assert bed.cluster.status().online == {"n1", "n2", "n3"}


def test_a_rename_is_refused_by_the_orchestration_while_one_controller_is_stopped(bed):
    """ctl1's Corosync is stopped (n3): its own state would have nothing running to refuse against,
    so the orchestration's check refuses, naming the controllers that still run the old name."""
    assert_still_formed(bed)
    left = bed.salt("ctl1", "state.apply", "pcmk.cluster_leave", timeout=180)
    assert all(v["result"] is True for v in left.data["ctl1"].values()), left
    assert bed.cluster.node("n3").corosync_pids() == []
    before_files = node_files(bed.cluster)
    pillar = cluster_pillar(bed, dict(bed.keys))  # the master keeps keys per cluster name: none for 'renamed'
    pillar["pcmk"]["cluster"]["name"] = "renamed"
    bed.set_pillar(pillar)
    try:
        result = bed.orchestrate(ORCH, TARGET, timeout=180)
        assert result.returncode != 0, str(result)
        check = json.dumps(orch_steps(result)["pcmk-cluster-check"])
        for minion in ("ctl2", "ctl3"):
            assert f"pcmk:cluster:name 'renamed': {minion} runs Corosync with name 'pcmkform'" in check, check
        assert "ctl1 runs" not in check
        assert orch_steps(result)["pcmk-cluster-config"]["result"] is False  # never ran
        assert node_files(bed.cluster) == before_files
    finally:
        bed.set_pillar(cluster_pillar(bed))
        back = bed.orchestrate(ORCH, TARGET, timeout=300)  # ctl1 starts again, nothing else changes
    assert back.returncode == 0, str(back)
    assert minion_states(orch_steps(back)["pcmk-cluster-form"])["ctl1"]["pcmk-cluster-running"]["changes"] == {
        "corosync": "started",
        "pacemaker": "started",
        "corosync at boot": "enabled",
        "pacemaker at boot": "enabled",
    }
    assert bed.cluster.status().online == {"n1", "n2", "n3"}
    wait(lambda: dummy_nodes(bed) == {"n1", "n2", "n3"}, 60, "the dummy clone on n1-n3 again")
    bed.formed_daemons = daemons(bed.cluster)


def cmap_value(bed: SaltBed, node: str, key: str) -> str:
    out = bed.cluster.node(node).run(["corosync-cmapctl", "-g", key]).stdout
    return out.rsplit("=", 1)[1].strip()


def test_a_totem_timing_changed_in_pillar_is_reloaded_once_with_nothing_restarted(bed):
    assert_still_formed(bed)
    before = on_the_others(bed)
    effective = {n: cmap_value(bed, n, "runtime.config.totem.token") for n in OTHERS}
    pillar = cluster_pillar(bed)
    pillar["pcmk"]["cluster"]["totem"] = {"token": 1500}
    bed.set_pillar(pillar)
    try:
        began = time.monotonic()
        result = bed.orchestrate(ORCH, TARGET, timeout=300)
        TIMINGS["totem.token changed (orchestration)"] = time.monotonic() - began
        assert result.returncode == 0, str(result)
        reload = orch_steps(result)["pcmk-cluster-reload"]["changes"]["return"]
        assert reload["reloaded"] is True, reload
        assert reload["plan"]["settings"] == ["totem.token"], reload
        assert reload["plan"]["added"] == reload["plan"]["removed"] == reload["plan"]["changed"] == []
        # Every node re-read its file (corosync-cfgtool -R is cluster-wide), and the token in force moved.
        for name in OTHERS:
            assert cmap_value(bed, name, "totem.token") == "1500", name
            assert cmap_value(bed, name, "runtime.config.totem.token") != effective[name], name
        assert on_the_others(bed) == before
        COUNTS["totem.token changed"] = counts_on_the_others(bed, before, reload["reloaded"])
    finally:
        bed.set_pillar(cluster_pillar(bed))
        result = bed.orchestrate(ORCH, TARGET, timeout=300)
    assert result.returncode == 0, str(result)
    assert orch_steps(result)["pcmk-cluster-reload"]["changes"]["return"]["plan"]["settings"] == ["totem.token"]
    assert {n: cmap_value(bed, n, "runtime.config.totem.token") for n in OTHERS} == effective


# -- join by pillar ------------------------------------------------------------------------------------------------
def dummy_starts(bed: SaltBed) -> dict:
    """Per node: (operation, call-id) of the dummy clone's last start/stop, from the CIB's status section."""
    status = bed.cluster.node("n1").run(["cibadmin", "--query", "--scope", "status"]).stdout
    found = {}
    for node_state in ET.fromstring(status).iter("node_state"):
        for op in node_state.iter("lrm_rsc_op"):
            if op.get("id") == "dummy_last_0":
                found[node_state.get("uname")] = (op.get("operation"), op.get("call-id"), op.get("rc-code"))
    return found


def dummy_nodes(bed: SaltBed) -> set:
    return {
        node.get("name")
        for resource in bed.cluster.status().xml.iter("resource")
        if resource.get("id") == "dummy" and resource.get("role") == "Started"
        for node in resource.findall("node")
    }


def on_the_others(bed: SaltBed) -> tuple[dict, dict]:
    """What runs on n1-n3: their daemons (Corosync and pacemakerd pids) and the dummy clone's last start."""
    now, starts = daemons(bed.cluster), dummy_starts(bed)
    return {n: now[n] for n in OTHERS}, {n: starts.get(n) for n in OTHERS}


def counts_on_the_others(bed: SaltBed, before: tuple[dict, dict], reloaded: bool) -> dict:
    """The bench's row: Corosync reloads, and daemons and resources restarted on n1-n3 since ``before``."""
    (daemons_before, starts_before), (daemons_now, starts_now) = before, on_the_others(bed)
    return {
        "corosync reloads": int(reloaded),
        "daemon restarts": sum(daemons_now[n] != daemons_before[n] for n in OTHERS),
        "resource restarts": sum(starts_now.get(n) != starts_before.get(n) for n in OTHERS),
    }


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(1)


def test_a_fourth_node_joins_by_pillar_with_one_reload_and_no_restart_on_the_others(bed):
    n1 = bed.cluster.node("n1")
    wait(lambda: dummy_nodes(bed) == {"n1", "n2", "n3"}, 60, "the dummy clone on n1-n3")
    before = on_the_others(bed)

    bed.set_pillar(cluster_pillar(bed, size=4))
    began = time.monotonic()
    result = bed.orchestrate(
        ORCH, {"tgt": ",".join(FIRST + ["ctl4"]), "tgt_type": "list", "highstate": True}, timeout=300
    )
    TIMINGS["join n4 by pillar (orchestration)"] = time.monotonic() - began
    assert result.returncode == 0, str(result)
    steps = orch_steps(result)
    record_steps("join", steps)
    reload = steps["pcmk-cluster-reload"]["changes"]["return"]
    assert reload["reloaded"] is True and reload["plan"]["added"] == ["n4"], reload
    assert reload["minion"] in FIRST and reload["failed"] == []
    configured = minion_states(steps["pcmk-cluster-config"])
    for minion in FIRST:
        diff = configured[minion]["pcmk-corosync-conf"]["changes"]["diff"]
        assert f"+        name: n4\n+        nodeid: 4\n+        ring0_addr: {SUBNET}.4\n" in diff
        assert "pcmk-cluster-authkeys" not in {k for k, v in configured[minion].items() if v["changes"]}
    formed = minion_states(steps["pcmk-cluster-form"])
    assert formed["ctl4"]["pcmk-cluster-running"]["changes"]["corosync"] == "started"
    assert {m for m, states in formed.items() if states["pcmk-cluster-running"]["changes"]} == {"ctl4"}
    assert not any(states["dummy"]["changes"] for states in formed.values()), formed  # as declared already

    status = bed.cluster.status()
    assert status.online == {"n1", "n2", "n3", "n4"} and status.with_quorum and status.dc
    # Nothing restarted on the first three: same daemons, same dummy start.
    assert on_the_others(bed)[0] == before[0]
    wait(lambda: dummy_nodes(bed) == {"n1", "n2", "n3", "n4"}, 60, "the dummy clone on n4 too")
    COUNTS["join n4"] = counts_on_the_others(bed, before, reload["reloaded"])
    assert on_the_others(bed) == before, (before, on_the_others(bed))
    votes = n1.run(["corosync-quorumtool", "-s"]).stdout
    assert re.search(r"^Expected votes:\s+4$", votes, re.M), votes

    # And again: nothing.
    result = bed.orchestrate(ORCH, {"tgt": ",".join(FIRST + ["ctl4"]), "tgt_type": "list"}, timeout=300)
    assert result.returncode == 0, str(result)
    steps = orch_steps(result)
    assert steps["pcmk-cluster-reload"]["changes"]["return"]["reloaded"] is False
    assert steps["pcmk-cluster-config"]["changes"] == {} and steps["pcmk-cluster-form"]["changes"] == {}


def test_the_fourth_node_leaves_by_pillar_with_one_reload_and_no_restart_on_the_others(bed):
    before = on_the_others(bed)

    bed.set_pillar(cluster_pillar(bed, size=3))
    began = time.monotonic()
    result = bed.orchestrate(ORCH, {**TARGET, "leaving": "ctl4"}, timeout=300)
    TIMINGS["n4 leaves by pillar (orchestration)"] = time.monotonic() - began
    assert result.returncode == 0, str(result)
    steps = orch_steps(result)
    record_steps("leave", steps)
    left = minion_states(steps["pcmk-cluster-leave"])["ctl4"]["pcmk-cluster-stopped"]
    assert left["changes"] == {
        "corosync": "stopped",
        "pacemaker": "stopped",
        "corosync at boot": "disabled",
        "pacemaker at boot": "disabled",
    }
    reload = steps["pcmk-cluster-reload"]["changes"]["return"]
    assert reload["reloaded"] is True and reload["plan"]["removed"] == ["n4"], reload
    assert bed.cluster.node("n4").corosync_pids() == [] and bed.cluster.node("n4").pacemaker_pids() == []

    status = bed.cluster.status()
    assert status.online == {"n1", "n2", "n3"} and status.offline == set(), status  # gone from the CIB's nodes
    assert status.with_quorum and status.dc
    votes = bed.cluster.node("n1").run(["corosync-quorumtool", "-s"]).stdout
    assert re.search(r"^Expected votes:\s+3$", votes, re.M), votes
    COUNTS["n4 leaves"] = counts_on_the_others(bed, before, reload["reloaded"])
    assert on_the_others(bed) == before, (before, on_the_others(bed))

    result = bed.orchestrate(ORCH, {**TARGET, "leaving": "ctl4"}, timeout=300)  # again: nothing
    assert result.returncode == 0, str(result)
    steps = orch_steps(result)
    assert steps["pcmk-cluster-reload"]["changes"]["return"]["reloaded"] is False
    assert all(steps[s]["changes"] == {} for s in ("pcmk-cluster-leave", "pcmk-cluster-config", "pcmk-cluster-form"))
