"""From bare controllers to a running cluster by Salt alone (issue 13, first slice).

A three-node bed *started empty* (``Cluster(bare=True)``: namespaces, private
/etc/corosync, /etc/pacemaker, /var/lib/pacemaker and network; no
corosync.conf, no authkey, no cib.xml, nothing running) with a salt-master
in the hub and a minion per node (n1 runs ctl2, n2 ctl3, n3 ctl1). Corosync
and Pacemaker are services of the tests' init stand-in (``fakeinit``), started
by ``pcmk.cluster_running`` through the native service module.

The tests run in order on one bed: refusals first (nothing may be written),
then the formation, the second run, and refusals against the running cluster.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import time

import pytest

from tests.support.cluster import Cluster, missing_requirements
from tests.support.saltbed import NODE_RUN_DIR, SaltBed, short_workdir

pytestmark = pytest.mark.multinode

SUBNET = "10.251.0"  # the bed's own hub: private network namespaces, no clash with other beds
NAME = "pcmkform"
ORCH = "orch.pcmk.cluster"
FORMULA = "pcmk.cluster"
TIMINGS: dict[str, float] = {}


def _key(size=256):
    return base64.b64encode(os.urandom(size)).decode()


def cluster_pillar(bed: SaltBed, keys: dict) -> dict:
    nodes = [
        {"name": node.name, "nodeid": node.nodeid, "addrs": [node.addr], "minion": bed.minion_of[node.name]}
        for node in bed.cluster.nodes
    ]
    return {
        "pcmk": {
            "cluster": {
                "name": NAME,
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
                "authkeys": keys,
                "timeout": 120,
            }
        }
    }


def write_fakeinit_units(bed: SaltBed) -> None:
    """corosync and pacemaker as services of the init stand-in, on every node (logs in the node's /var/log)."""
    units = {
        "corosync": ["/usr/sbin/corosync", "-f"],
        "pacemaker": [
            "/usr/bin/env",
            "PCMK_logfacility=none",
            "PCMK_logfile=/var/log/pacemaker/pacemaker.log",
            "/usr/sbin/pacemakerd",
            "-f",
        ],
    }
    for minion in bed.minion_ids:
        directory = bed.node_path(minion, f"{NODE_RUN_DIR}/fakeinit")
        directory.mkdir(parents=True, exist_ok=True)
        for name, argv in units.items():
            (directory / f"{name}.json").write_text(json.dumps({"argv": argv}))


@pytest.fixture(scope="module")
def bed():
    reason = missing_requirements()
    if reason:
        pytest.skip(f"live Pacemaker cluster unavailable: {reason}")
    workdir = short_workdir("clform-")
    began = time.monotonic()
    cluster = Cluster(workdir / "cluster", nodes=3, name=NAME, subnet=SUBNET, bare=True).start()
    salt_bed = None
    try:
        salt_bed = SaltBed(cluster, workdir / "salt").start()
        TIMINGS["bare bed (namespaces, master, 3 minions)"] = time.monotonic() - began
        write_fakeinit_units(salt_bed)
        salt_bed.keys = {"corosync": _key(), "pacemaker": _key()}
        yield salt_bed
    finally:
        if salt_bed is not None:
            salt_bed.stop()
        cluster.stop(remove_files=os.environ.get("PCMK_TEST_KEEP_FILES") != "1")
        if os.environ.get("PCMK_TEST_KEEP_FILES") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        print("\ncluster formation timings:", json.dumps({k: round(v, 1) for k, v in TIMINGS.items()}))


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


# -- the tests, in order -----------------------------------------------------------------------------------------------
def test_broken_pillar_is_refused_on_every_controller_with_nothing_written(bed):
    pillar = cluster_pillar(bed, bed.keys)
    nodes = pillar["pcmk"]["cluster"]["nodes"]
    nodes[2]["nodeid"] = nodes[0]["nodeid"]  # a node id used twice
    bed.set_pillar(pillar)
    result = bed.salt("*", "state.apply", FORMULA, timeout=120)
    assert sorted(result.data) == bed.minion_ids, result
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
    result = bed.orchestrate(ORCH, timeout=180)
    assert result.returncode != 0, str(result)
    steps = orch_steps(result)
    assert steps["pcmk-cluster-check"]["result"] is False
    assert "nodeid 1 is already used" in json.dumps(steps["pcmk-cluster-check"])
    assert steps["pcmk-cluster-form"]["result"] is False  # requisite failed: never ran
    assert node_files(bed.cluster) == {}


def test_authkeys_differing_between_controllers_are_refused_with_nothing_written(bed):
    bed.set_pillar(cluster_pillar(bed, bed.keys))
    odd = copy.deepcopy(cluster_pillar(bed, {"corosync": _key(), "pacemaker": bed.keys["pacemaker"]}))
    bed.set_pillar(odd, name="odd")
    bed.set_pillar_top({"*": ["bed"], "ctl3": ["odd"]})
    try:
        bed.salt("*", "saltutil.refresh_pillar", "wait=True", timeout=60)
        result = bed.orchestrate(ORCH, timeout=180)
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


def test_one_orchestration_forms_the_cluster_from_bare_controllers(bed):
    bed.set_pillar(cluster_pillar(bed, bed.keys))
    bed.salt("*", "saltutil.refresh_pillar", "wait=True", timeout=60)
    began = time.monotonic()
    result = bed.orchestrate(ORCH, timeout=300)
    TIMINGS["bare -> quorate cluster with a DC (orchestration)"] = time.monotonic() - began
    assert result.returncode == 0, str(result)
    steps = orch_steps(result)
    record_steps("formation", steps)
    per_minion = minion_states(steps["pcmk-cluster-form"])
    assert sorted(per_minion) == bed.minion_ids, steps
    for minion, states in per_minion.items():
        assert states["pcmk-cluster-authkeys"]["changes"] == {
            "/etc/corosync/authkey": "authkey: created",
            "/etc/pacemaker/authkey": "authkey: created",
        }
        assert "+    cluster_name: pcmkform" in states["pcmk-corosync-conf"]["changes"]["diff"]
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
    for node in bed.cluster.nodes:
        assert files[(node.name, "etc-corosync/authkey")][:3] == (
            base64.b64decode(bed.keys["corosync"]),
            "0o400",
            0,
        )
        assert files[(node.name, "etc-pacemaker/authkey")][:2] == (base64.b64decode(bed.keys["pacemaker"]), "0o400")
        assert files[(node.name, "etc-corosync/corosync.conf")][1] == "0o644"
    assert len({files[(n.name, "etc-corosync/corosync.conf")][0] for n in bed.cluster.nodes}) == 1


def test_a_second_run_changes_nothing_restarts_nothing_writes_nothing(bed):
    before_files, before_daemons = node_files(bed.cluster), daemons(bed.cluster)
    began = time.monotonic()
    result = bed.orchestrate(ORCH, timeout=300)
    TIMINGS["second run (no change)"] = time.monotonic() - began
    assert result.returncode == 0, str(result)
    steps = orch_steps(result)
    record_steps("second run", steps)
    assert steps["pcmk-cluster-form"]["result"] is True
    assert steps["pcmk-cluster-form"]["changes"] == {}, steps["pcmk-cluster-form"]  # salt.state: no minion changed
    # The formula on its own, every controller at once: each says what it found.
    began = time.monotonic()
    result = bed.salt("*", "state.apply", FORMULA, timeout=180)
    TIMINGS["second run (state.apply pcmk.cluster on 3)"] = time.monotonic() - began
    assert sorted(result.data) == bed.minion_ids, result
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
    before_files, before_daemons = node_files(bed.cluster), daemons(bed.cluster)
    pillar = cluster_pillar(bed, dict(bed.keys))
    change(pillar["pcmk"]["cluster"])
    bed.set_pillar(pillar)
    try:
        result = bed.salt("*", "state.apply", FORMULA, timeout=180)
        assert sorted(result.data) == bed.minion_ids, result
        for minion, states in result.data.items():
            comments = " ".join(v["comment"] for v in states.values() if v["result"] is False)
            assert culprit in comments, (minion, comments)
            assert all(not v["changes"] for v in states.values()), (minion, states)
        assert_untouched(bed, before_files, before_daemons)
    finally:
        bed.set_pillar(cluster_pillar(bed, bed.keys))
    assert bed.cluster.status().online == {"n1", "n2", "n3"}
