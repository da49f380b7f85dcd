"""The namespaced cluster test bed is a real cluster and leaves no trace.

These tests check tests/support/cluster.py itself; the extension's own
integration tests build on the same fixtures.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.cluster import (
    Cluster,
    ClusterStatus,
    marked_processes,
    missing_requirements,
    process_alive,
    wait_for,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST_CLUSTER_PATHS = (
    "/etc/corosync",
    "/var/lib/corosync",
    "/var/lib/pacemaker",
    "/var/log/corosync",
    "/var/log/pacemaker",
)


# ---- helpers -----------------------------------------------------------------


def _skip_unless_live() -> None:
    """For tests that build their own Cluster instead of using a fixture."""
    reason = missing_requirements()
    if reason:
        pytest.skip(f"live Pacemaker cluster unavailable: {reason}")


def host_cluster_state() -> dict:
    """Everything a leaking node could change on the host."""
    files = {}
    for top in HOST_CLUSTER_PATHS:
        for path in [Path(top), *sorted(Path(top).rglob("*"))]:
            st = path.lstat()
            files[str(path)] = (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns)
    return {
        "files": files,
        # libqb ring buffers would show up here if a daemon used the host's /dev/shm.
        "qb_shm": sorted(p.name for p in Path("/dev/shm").iterdir() if p.name.startswith("qb-")),
        "hostname": socket.gethostname(),
        "netns": subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout,
    }


def host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


def namespace_footprint(cluster: Cluster) -> dict:
    """What identifies the cluster's processes, taken while it runs."""
    holders = [*cluster.nodes, *([cluster.hub] if cluster.hub else [])]
    assert len(marked_processes(cluster.id)) > len(holders)  # holders + daemons
    return {"id": cluster.id, "holders": [(h.pid, h.start_time) for h in holders]}


def assert_nothing_left(footprint: dict, workdir: Path) -> None:
    for pid, start_time in footprint["holders"]:
        assert not process_alive(pid, start_time), f"holder {pid} still running"
    # Namespace ids get reused at once, so look for our processes by marker:
    # with no process left in them, the namespaces (and veths, bridge,
    # mounts) are gone.
    assert marked_processes(footprint["id"]) == []
    assert not (workdir / "cluster.json").exists()
    assert not (workdir / "nodes").exists()


def wait_status(cluster: Cluster, predicate, what: str, timeout: float = 60) -> ClusterStatus:
    def check():
        status = cluster.status(check=False)
        return status if status and predicate(status) else None

    return wait_for(check, timeout, what)


def dummy_xml(resource_id: str) -> str:
    return (
        f'<primitive id="{resource_id}" class="ocf" provider="pacemaker" type="Dummy">'
        f'<operations><op id="{resource_id}-monitor" name="monitor" interval="10s"/>'
        f"</operations></primitive>"
    )


# ---- single node ---------------------------------------------------------------


@pytest.mark.live
def test_single_node_is_online_with_stonith_disabled(live_cluster):
    n1 = live_cluster.node("n1")
    status = live_cluster.status("n1")
    assert status.online == {"n1"}
    assert status.dc == "n1"
    assert status.with_quorum
    assert status.stonith_enabled is False

    cib = n1.run(["cibadmin", "--query", "--scope", "crm_config"]).stdout
    assert 'name="stonith-enabled" value="false"' in cib


@pytest.mark.live
def test_single_node_is_isolated_from_host(live_cluster):
    n1 = live_cluster.node("n1")
    assert n1.run(["hostname"]).stdout.strip() == "n1"
    node_conf = n1.run(["cat", "/etc/corosync/corosync.conf"]).stdout
    assert "name: n1" in node_conf
    assert node_conf == (n1.dir / "etc-corosync" / "corosync.conf").read_text()
    links = n1.run(["ip", "-o", "link", "show"]).stdout
    assert [line.split(": ")[1] for line in links.splitlines()] == ["lo"]
    # Daemon logs are readable from the host.
    assert (n1.log_dir / "pacemaker" / "pacemaker.log").stat().st_size > 0
    assert (n1.log_dir / "corosync" / "corosync.log").stat().st_size > 0


@pytest.mark.live
def test_dummy_resource_gets_started(live_cluster):
    n1 = live_cluster.node("n1")
    rsc = f"dummy-{uuid.uuid4().hex[:8]}"
    n1.run(["cibadmin", "--create", "--scope", "resources", "--xml-text", dummy_xml(rsc)])
    try:
        wait_status(live_cluster, lambda s: s.resources.get(rsc) == ["n1"], f"{rsc} started on n1", timeout=30)
    finally:
        n1.run(
            [
                "crm_resource",
                "--resource",
                rsc,
                "--set-parameter",
                "target-role",
                "--meta",
                "--parameter-value",
                "Stopped",
            ]
        )
        wait_status(live_cluster, lambda s: not s.resources.get(rsc), f"{rsc} stopped", 30)
        n1.run(["cibadmin", "--delete", "--xml-text", f'<primitive id="{rsc}"/>'])


@pytest.mark.live
def test_host_untouched_and_stop_leaves_nothing(tmp_path):
    _skip_unless_live()
    before = host_cluster_state()
    links_before = host_links()
    cluster = Cluster(tmp_path / "bed", nodes=1, name="pcmkleak")
    try:
        cluster.start()
        footprint = namespace_footprint(cluster)
        assert host_cluster_state() == before  # while running, too
        assert host_links() == links_before
    finally:
        cluster.stop()
    assert_nothing_left(footprint, tmp_path / "bed")
    assert host_cluster_state() == before
    assert host_links() == links_before
    assert not (tmp_path / "bed").exists()  # start() created it, stop() removed it
    cluster.stop()  # idempotent


@pytest.mark.multinode
def test_three_node_stop_leaves_no_namespaces_or_links(tmp_path):
    _skip_unless_live()
    links_before = host_links()
    before = host_cluster_state()
    cluster = Cluster(tmp_path / "bed", nodes=3, name="pcmkleak3", subnet="10.250.9")
    try:
        cluster.start()
        footprint = namespace_footprint(cluster)
        hub_links = cluster.hub.run(["ip", "-o", "link", "show"]).stdout
        assert "br0" in hub_links and "veth-n3" in hub_links
        assert host_links() == links_before  # veths and bridge never touch the host
    finally:
        cluster.stop()
    assert_nothing_left(footprint, tmp_path / "bed")
    assert host_links() == links_before
    assert host_cluster_state() == before


@pytest.mark.live
def test_start_and_stop_twice_in_a_row(tmp_path):
    _skip_unless_live()
    workdir = tmp_path / "bed"
    workdir.mkdir()
    for _ in range(2):
        cluster = Cluster(workdir, nodes=1, name="pcmktwice")
        try:
            status = cluster.start().status()
            assert status.online == {"n1"} and status.dc == "n1"
            footprint = namespace_footprint(cluster)
        finally:
            cluster.stop()
        assert_nothing_left(footprint, workdir)
        assert workdir.exists() and list(workdir.iterdir()) == []  # made by the test, kept


@pytest.mark.live
def test_cli_up_exec_down_from_separate_processes(tmp_path):
    _skip_unless_live()
    workdir = tmp_path / "cli"
    cli = [sys.executable, "-m", "tests.support.cluster"]

    def run(*args, check=True):
        return subprocess.run([*cli, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=check)

    try:
        run("up", "--workdir", str(workdir), "--nodes", "1", "--name", "pcmkcli")
        cluster = Cluster.load(workdir)
        footprint = namespace_footprint(cluster)
        # The daemons outlived the `up` process.
        assert cluster.node("n1").corosync_pids() and cluster.node("n1").pacemaker_pids()
        shown = run("exec", "--workdir", str(workdir), "--node", "n1", "--", "crm_mon", "-1")
        assert "Online: [ n1 ]" in shown.stdout
        failed = run("exec", "--workdir", str(workdir), "--", "sh", "-c", "exit 3", check=False)
        assert failed.returncode == 3
        # A second `up` on a running cluster is refused.
        assert run("up", "--workdir", str(workdir), check=False).returncode == 1
    finally:
        run("down", "--workdir", str(workdir), check=False)
    assert_nothing_left(footprint, workdir)


# ---- three nodes ---------------------------------------------------------------


@pytest.mark.multinode
def test_three_nodes_online_with_a_dc(three_node_cluster):
    status = three_node_cluster.status("n1")
    assert status.online == {"n1", "n2", "n3"}
    assert status.dc in {"n1", "n2", "n3"}
    assert status.with_quorum
    assert status.stonith_enabled is False
    for node in three_node_cluster.nodes:
        assert node.run(["hostname"]).stdout.strip() == node.name
        # Every node sees the same DC.
        assert three_node_cluster.status(node.name).dc == status.dc
    assert len({node.netns for node in three_node_cluster.nodes}) == 3


@pytest.mark.multinode
def test_losing_a_node_keeps_quorum_and_restart_brings_it_back(three_node_cluster):
    cluster = three_node_cluster
    victim = cluster.status().dc  # the DC: survivors must also elect a new one
    survivors = {n.name for n in cluster.nodes} - {victim}
    cluster.node(victim).kill_corosync()
    try:
        status = wait_status(
            cluster,
            lambda s: victim in s.offline and s.dc in survivors,
            f"{victim} offline and a new DC",
            timeout=30,
        )
        assert status.online == survivors
        assert status.with_quorum
        for name in survivors:  # each survivor agrees
            seen = cluster.status(name)
            assert victim in seen.offline and seen.with_quorum
    finally:
        status = cluster.restart_node(victim)
    assert status.online == {"n1", "n2", "n3"}
    assert status.with_quorum
