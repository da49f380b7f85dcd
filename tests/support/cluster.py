"""Real Corosync/Pacemaker clusters on one machine, one set of namespaces per node.

Every node is a long-lived "holder" process (``unshare ... sleep infinity``)
that owns a private network, mount and UTS namespace.  Everything a node runs
is started by entering those namespaces with ``nsenter``.  Inside a node these
paths are bind mounts of per-node directories under the work directory, so
nodes never share state with each other or with the host, and all logs stay
readable from the host::

    workdir/cluster.json                      state for other processes (CLI)
    workdir/authkey                           corosync key shared by all nodes
    workdir/nodes/n1/run/                  -> /run
    workdir/nodes/n1/etc-corosync/         -> /etc/corosync
    workdir/nodes/n1/var-lib-corosync/     -> /var/lib/corosync
    workdir/nodes/n1/var-lib-pacemaker/    -> /var/lib/pacemaker
    workdir/nodes/n1/log/                  -> /var/log
        corosync.out, pacemakerd.out          daemon stdout/stderr
        corosync/corosync.log, pacemaker/pacemaker.log

/dev/shm is a fresh tmpfs per node (libqb ring buffers live there).

A single node only has ``lo`` (knet works on 127.0.0.1).  Several nodes get
an ``eth0`` veth each, plugged into a bridge ``br0`` that lives in a "hub"
network namespace of its own (address ``<subnet>.254``), so nothing at all is
added to the host's network namespace.  Because every namespace is owned by a
holder process, killing the processes is enough to make the veths, the bridge
and the mounts disappear.  Every process the bed starts carries
SALTEXT_PCMK_TESTBED=<cluster id> in its environment, which is how a later
`down` tells its processes from anyone else's.

A cluster "started empty" (``Cluster(..., bare=True)``) gets the
namespaces, the private directories (``/etc/pacemaker`` too, so a state that
writes Pacemaker's authkey writes the node's own) and the network, and
nothing else: no corosync.conf, no authkey, no cib.xml, no daemon. It is what
bare controllers look like to Salt, which is then to form the cluster
(``tests/integration/test_cluster_formation.py``); ``start()`` returns once
the nodes exist, and ``stop()`` stops whatever daemons were started in them.

Library use::

    with Cluster("/tmp/x", nodes=3) as cluster:
        cluster.node("n1").run(["crm_mon", "-1"])

CLI (used by the demo; ``up`` leaves the cluster running)::

    python -m tests.support.cluster up --workdir /tmp/x --nodes 3
    python -m tests.support.cluster exec --workdir /tmp/x --node n2 -- crm_mon -1
    python -m tests.support.cluster down --workdir /tmp/x

Standard library only: this module is imported by pytest fixtures, by demo
scripts and by plain Python.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import grp
import json
import logging
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

STATE_FILE = "cluster.json"
HOST_TOOLS = ("unshare", "nsenter", "ip", "mount", "hostname")
CLUSTER_TOOLS = (
    "corosync",
    "corosync-cfgtool",
    "corosync-quorumtool",
    "pacemakerd",
    "crm_mon",
    "crm_attribute",
    "cibadmin",
)
# Cluster tools live in sbin; make sure they are found even from a user PATH.
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Node path -> directory under workdir/nodes/<name>.  /run comes first so that
# anything util-linux wants to record under /run/mount during the following
# mounts lands in the node's own /run rather than the host's.
PRIVATE_DIRS = (
    ("/run", "run"),
    ("/etc/corosync", "etc-corosync"),
    ("/var/lib/corosync", "var-lib-corosync"),
    ("/var/lib/pacemaker", "var-lib-pacemaker"),
    ("/var/log", "log"),
)
# A bare node (Cluster(bare=True)) also gets a private /etc/pacemaker (Pacemaker's authkey).
BARE_PRIVATE_DIRS = (("/etc/pacemaker", "etc-pacemaker"),)
# Directories Pacemaker expects to exist, relative to the node directory, with
# the owner and mode the Debian packages give them: (path, user, group, mode).
DAEMON_DIRS = (
    ("var-lib-pacemaker/cib", "hacluster", "haclient", 0o750),
    ("var-lib-pacemaker/pengine", "hacluster", "haclient", 0o750),
    ("var-lib-pacemaker/blackbox", "hacluster", "haclient", 0o750),
    ("var-lib-pacemaker/cores", "hacluster", "haclient", 0o750),
    ("log/pacemaker", "hacluster", "haclient", 0o770),
    ("log/pacemaker/bundles", "hacluster", "haclient", 0o770),
    ("log/corosync", "root", "root", 0o755),
    ("run/crm", "hacluster", "haclient", 0o750),
    ("run/resource-agents", "root", "root", 0o1755),
)
NODE_NAMESPACES = ("-n", "-m", "-u")  # nsenter flags: net, mount, uts
HUB_NAMESPACES = ("-n",)
BRIDGE = "br0"
NODE_IFACE = "eth0"
HUB_HOST_OCTET = 254
# Every process the bed starts carries this variable set to the cluster's id.
# Namespace inode numbers are reused as soon as a namespace is freed, so a
# stale cluster.json alone must never be enough to pick processes to kill.
MARKER_VAR = "SALTEXT_PCMK_TESTBED"


class ClusterError(RuntimeError):
    """The test cluster could not be brought into the requested state."""


class NodeCommandError(subprocess.CalledProcessError):
    """A command run inside a node failed; the message includes its output."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n--- stdout ---\n{self.stdout or ''}\n--- stderr ---\n{self.stderr or ''}"


# --------------------------------------------------------------------------
# Processes and namespaces, read straight from /proc
# --------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, str, int] | None:
    """(comm, state, start time in clock ticks) of a process, None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm is in parentheses and may itself contain spaces or parentheses.
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return comm, fields[0], int(fields[19])


def process_start_time(pid: int) -> int | None:
    stat = _proc_stat(pid)
    return stat[2] if stat else None


def process_alive(pid: int, start_time: int | None = None) -> bool:
    """True if pid runs (zombies count as dead) and, if given, started at start_time.

    Comparing the start time keeps us from signalling an unrelated process
    that reused a pid recorded in cluster.json by an earlier run.
    """
    stat = _proc_stat(pid)
    if stat is None or stat[1] in ("Z", "X"):
        return False
    return start_time is None or stat[2] == start_time


def namespace_id(pid: int | str, kind: str) -> str | None:
    """E.g. 'net:[4026532179]' for kind 'net'; None if the process is gone."""
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def pids_in_netns(netns: str) -> list[int]:
    """All live processes whose network namespace is netns."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and namespace_id(entry, "net") == netns:
            found.append(int(entry))
    return found


def _has_marker(pid: int, cluster_id: str) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone, or not readable even by root (e.g. some pid 1s)
        return False
    return f"{MARKER_VAR}={cluster_id}".encode() in environ.split(b"\0")


def marked_processes(cluster_id: str) -> list[int]:
    """Every live process, in any namespace, that a given test cluster started."""
    return [
        int(entry)
        for entry in os.listdir("/proc")
        if entry.isdigit() and process_alive(int(entry)) and _has_marker(int(entry), cluster_id)
    ]


def _comm(pid: int) -> str:
    stat = _proc_stat(pid)
    return stat[0] if stat else ""


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _send_signal(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Poll predicate until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _wait_pids_gone(pids: Sequence[int], timeout: float) -> bool:
    try:
        wait_for(lambda: not any(process_alive(p) for p in pids), timeout, "exit", 0.1)
        return True
    except TimeoutError:
        return False


def _host_env() -> dict[str, str]:
    """Environment for commands entering a node: the caller's, minus CIB_*,
    COLUMNS and LINES.

    CIB_file/CIB_user and friends would silently point Pacemaker tools at
    something other than the node's live CIB. A terminal width (pytest-xdist
    workers set COLUMNS=80) makes ``ps -ef`` cut command lines, and tools
    that look for a daemon that way (``cibsecret`` greps for
    pacemaker-controld) then think the cluster is down.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIB_") and k not in ("COLUMNS", "LINES")}
    env["PATH"] = f"{env['PATH']}:{SBIN_PATH}" if env.get("PATH") else SBIN_PATH
    return env


def _daemon_env(cluster_id: str) -> dict[str, str]:
    """A clean environment for corosync and pacemakerd."""
    return {
        MARKER_VAR: cluster_id,
        "PATH": SBIN_PATH,
        "HOME": "/root",
        "LC_ALL": "C",
        # No syslog: keep node logs off the host; file logs are under /var/log.
        "PCMK_logfacility": "none",
        "PCMK_logfile": "/var/log/pacemaker/pacemaker.log",
    }


def _find_tool(name: str) -> str | None:
    return shutil.which(name, path=_host_env()["PATH"])


@functools.lru_cache(maxsize=1)
def missing_requirements() -> str | None:
    """Why a namespaced cluster cannot run here, or None if it can."""
    if os.geteuid() != 0:
        return "needs root to create namespaces and run corosync/pacemakerd"
    missing = [t for t in HOST_TOOLS + CLUSTER_TOOLS if not _find_tool(t)]
    if missing:
        return "missing tools: " + ", ".join(missing)
    for user, group in (("hacluster", None), (None, "haclient")):
        try:
            pwd.getpwnam(user) if user else grp.getgrnam(group)
        except KeyError:
            return f"missing user/group {user or group} (install pacemaker)"
    probe = subprocess.run(
        ["unshare", "--net", "--mount", "--uts", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"cannot create namespaces: {probe.stderr.strip()}"
    return None


# --------------------------------------------------------------------------
# Namespace holders and nodes
# --------------------------------------------------------------------------


class NamespaceHolder:
    """A `sleep infinity` process that keeps a set of namespaces alive."""

    def __init__(
        self,
        name: str,
        addr: str,
        pid: int,
        start_time: int,
        netns: str,
        ns_flags: Sequence[str],
        cluster_id: str,
    ):
        self.cluster_id = cluster_id  # value of MARKER_VAR in its processes
        self.name = name
        self.addr = addr
        self.pid = pid
        self.start_time = start_time
        self.netns = netns  # e.g. 'net:[4026532179]', survives the holder
        self.ns_flags = tuple(ns_flags)

    def argv(self, argv: Sequence[str]) -> list[str]:
        """argv wrapped with nsenter so that it runs inside these namespaces."""
        return ["nsenter", "-t", str(self.pid), *self.ns_flags, "--", *argv]

    def run(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        input: str | None = None,
        timeout: float = 60,
        check: bool = True,
    ) -> subprocess.CompletedProcess:
        """Run argv inside, capture text output; env is merged over the caller's."""
        self._require_alive()
        proc = subprocess.run(
            self.argv(argv),
            env=self._env(env),
            input=input,
            timeout=timeout,
            capture_output=True,
            text=True,
        )
        if check and proc.returncode != 0:
            raise NodeCommandError(proc.returncode, proc.args, proc.stdout, proc.stderr)
        return proc

    def popen(self, argv: Sequence[str], **kw) -> subprocess.Popen:
        """subprocess.Popen of argv inside; env (if given) is merged over the caller's."""
        self._require_alive()
        kw["env"] = self._env(kw.get("env"))
        return subprocess.Popen(self.argv(argv), **kw)

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {**_host_env(), MARKER_VAR: self.cluster_id, **(extra or {})}

    def holder_alive(self) -> bool:
        return process_alive(self.pid, self.start_time)

    def processes(self) -> list[int]:
        """Pids running in this network namespace, except the holder itself.

        While the holder lives, the namespace is certainly ours.  Once it is
        gone the recorded netns id may already belong to somebody else, so
        only processes carrying our marker count.
        """
        pids = [p for p in pids_in_netns(self.netns) if p != self.pid]
        if self.holder_alive() and namespace_id(self.pid, "net") == self.netns:
            return pids
        return [p for p in pids if _has_marker(p, self.cluster_id)]

    def _require_alive(self) -> None:
        # nsenter on a recycled pid would run the command somewhere else.
        if not self.holder_alive():
            raise ClusterError(f"{self.name}: namespace holder {self.pid} is gone")

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "addr": self.addr,
            "pid": self.pid,
            "start_time": self.start_time,
            "netns": self.netns,
        }


class Node(NamespaceHolder):
    """One cluster node: private net/mount/UTS namespaces and its daemons."""

    def __init__(self, name: str, nodeid: int, addr: str, dir: str | Path, **holder):
        super().__init__(name=name, addr=addr, ns_flags=NODE_NAMESPACES, **holder)
        self.nodeid = nodeid
        self.dir = Path(dir)  # host path of this node's private directories

    @property
    def log_dir(self) -> Path:
        """Host path of the node's /var/log."""
        return self.dir / "log"

    def corosync_pids(self) -> list[int]:
        # Exact match: corosync-cfgtool & co. are not the daemon.
        return [p for p in self.processes() if _comm(p) == "corosync"]

    def pacemaker_pids(self, daemon: str = "pacemaker") -> list[int]:
        """pacemakerd and its children (pacemaker-based, -controld, ...)."""
        return [p for p in self.processes() if _comm(p).startswith(daemon)]

    def kill_corosync(self, timeout: float = 10) -> None:
        """SIGKILL this node's corosync, as if the node had failed.

        pacemakerd itself survives (it retries the corosync connection every
        second); the daemons that talk to corosync exit.  restart_node()
        cleans up whatever is left.
        """
        pids = self.corosync_pids()
        _send_signal(pids, signal.SIGKILL)
        if not _wait_pids_gone(pids, timeout):
            raise ClusterError(f"{self.name}: corosync {pids} did not die")

    def kill_all(self, timeout: float = 10) -> None:
        """SIGKILL every process in the node except the holder (power loss)."""
        pids = self.processes()
        _send_signal(pids, signal.SIGKILL)
        if not _wait_pids_gone(pids, timeout):
            raise ClusterError(f"{self.name}: processes {pids} did not die")

    def rss_kib(self) -> int:
        """Resident memory of everything running in the node, in KiB."""
        return sum(_rss_kib(p) for p in self.processes())

    def to_json(self) -> dict:
        return {**super().to_json(), "nodeid": self.nodeid, "dir": str(self.dir)}


# --------------------------------------------------------------------------
# Cluster status from crm_mon
# --------------------------------------------------------------------------


@dataclasses.dataclass
class ClusterStatus:
    """The parts of `crm_mon --output-as=xml` the test bed cares about."""

    dc: str | None
    with_quorum: bool
    online: set[str]
    offline: set[str]
    stonith_enabled: bool | None
    resources: dict[str, list[str]]  # resource id -> names of nodes running it
    xml: ET.Element

    @classmethod
    def from_xml(cls, text: str) -> ClusterStatus:
        root = ET.fromstring(text)
        dc = root.find("./summary/current_dc")
        dc_present = dc is not None and dc.get("present") == "true"
        options = root.find("./summary/cluster_options")
        nodes = root.findall("./nodes/node")
        return cls(
            dc=dc.get("name") if dc_present else None,
            with_quorum=dc_present and dc.get("with_quorum") == "true",
            online={n.get("name") for n in nodes if n.get("online") == "true"},
            offline={n.get("name") for n in nodes if n.get("online") != "true"},
            stonith_enabled=(None if options is None else options.get("stonith-enabled") == "true"),
            resources={r.get("id"): [n.get("name") for n in r.findall("node")] for r in root.iter("resource")},
            xml=root,
        )


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------


class Cluster:
    """N Corosync/Pacemaker nodes, each in its own namespaces, on this machine."""

    def __init__(
        self,
        workdir: str | Path,
        nodes: int = 1,
        name: str = "pcmktest",
        token_ms: int = 1000,
        subnet: str = "10.250.0",
        dc_deadtime: str = "2s",
        bare: bool = False,
    ):
        if nodes < 1:
            raise ValueError("nodes must be >= 1")
        if len(subnet.split(".")) != 3:
            raise ValueError("subnet is the first three octets, e.g. '10.250.0'")
        self.workdir = Path(workdir).absolute()
        self.size = nodes
        self.name = name
        self.token_ms = token_ms
        self.subnet = subnet
        self.dc_deadtime = dc_deadtime
        self.bare = bare  # namespaces and network only: no corosync.conf, authkey, cib.xml or daemon
        self.nodes: list[Node] = []
        self.hub: NamespaceHolder | None = None
        self.start_seconds: float | None = None
        self.id = uuid.uuid4().hex  # marks its processes, see MARKER_VAR
        self._created_workdir = False
        self._children: list[subprocess.Popen] = []  # reaped in stop()

    # ---- paths and naming -------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.workdir / STATE_FILE

    @property
    def authkey(self) -> Path:
        return self.workdir / "authkey"

    @property
    def nodes_dir(self) -> Path:
        return self.workdir / "nodes"

    def node_addr(self, nodeid: int) -> str:
        return "127.0.0.1" if self.size == 1 else f"{self.subnet}.{nodeid}"

    def node(self, name_or_index: str | int) -> Node:
        """A node by name ('n2') or by 0-based position in self.nodes."""
        if isinstance(name_or_index, int):
            return self.nodes[name_or_index]
        for node in self.nodes:
            if node.name == name_or_index:
                return node
        raise KeyError(f"no node {name_or_index!r} in {[n.name for n in self.nodes]}")

    def node_env(self, name_or_index: str | int = 0) -> dict[str, str]:
        """Variables that let a shell or a host-side tool target a node.

        Pacemaker's IPC is per network namespace, so host tools cannot reach
        a node directly; prefix commands with TESTBED_NODE_NSENTER (split on
        spaces) or use Node.argv()/run().  No PCMK_ prefix: Pacemaker reads
        PCMK_* variables as its own options.
        """
        node = self.node(name_or_index)
        return {
            MARKER_VAR: self.id,
            "TESTBED_NODE_NAME": node.name,
            "TESTBED_NODE_PID": str(node.pid),
            "TESTBED_NODE_ADDR": node.addr,
            "TESTBED_NODE_DIR": str(node.dir),
            "TESTBED_NODE_NSENTER": " ".join(node.argv([])),
        }

    # ---- lifecycle --------------------------------------------------------

    def __enter__(self) -> Cluster:
        if not self.nodes:
            self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self, timeout: float = 90) -> Cluster:
        """Namespaces, configs, daemons; return once all nodes are online with a DC.

        A bare cluster: namespaces, private directories and network only; returns once they exist.
        """
        reason = missing_requirements()
        if reason:
            raise ClusterError(f"cannot start a test cluster: {reason}")
        began = time.monotonic()
        self._refuse_running_cluster()
        try:
            self._prepare_workdir()
            if self.size > 1:
                self._start_hub()
            for nodeid in range(1, self.size + 1):
                self._create_node(nodeid)
            if self.bare:
                self.start_seconds = time.monotonic() - began
                log.info("cluster %s: %d bare node(s) up in %.1fs", self.name, self.size, self.start_seconds)
                return self
            for node in self.nodes:
                self._start_corosync(node)
            for node in self.nodes:
                self._wait_corosync(node)
            self._wait_corosync_members(timeout - (time.monotonic() - began))
            for node in self.nodes:
                self._start_pacemaker(node)
            self.wait_online(timeout - (time.monotonic() - began))
            self._set_cluster_options()
        except BaseException as exc:
            logs = self._log_tails()
            # Keep the files: the logs are what tells why the start failed.
            self.stop(remove_files=False)
            if isinstance(exc, Exception):
                raise ClusterError(f"cluster {self.name} did not start: {exc}\n{logs}") from exc
            raise
        self.start_seconds = time.monotonic() - began
        log.info("cluster %s: %d node(s) up in %.1fs", self.name, self.size, self.start_seconds)
        return self

    def stop(self, timeout: float = 30, remove_files: bool = True) -> None:
        """Stop daemons, drop every namespace, remove the files start() made.

        Idempotent and never raises: it also cleans up after a start() that
        failed half-way or a cluster.json left by another process.
        """
        if not self.nodes and not self.hub and self.state_file.exists():
            self._adopt_state()  # e.g. Cluster(workdir).stop() from a new process
        nodes = list(self.nodes)
        holders: list[NamespaceHolder] = [*nodes, *([self.hub] if self.hub else [])]
        for step in (
            lambda: self._stop_pacemaker(nodes, timeout),
            lambda: self._stop_corosync(nodes, timeout=10),
            lambda: self._kill_namespaces(holders),
            self._reap_children,
            lambda: remove_files and self._remove_files(),
        ):
            try:
                step()
            except Exception:  # keep going: later steps still free resources
                log.exception("cluster %s: cleanup step failed", self.name)
        self.nodes = []
        self.hub = None

    def wait_online(self, timeout: float = 60) -> ClusterStatus:
        """Wait until every node is online in crm_mon and a DC exists."""
        wanted = {n.name for n in self.nodes}

        def all_online() -> ClusterStatus | None:
            status = self.status(check=False)
            if status and status.dc and wanted <= status.online:
                return status
            return None

        return wait_for(all_online, max(timeout, 1), f"nodes {sorted(wanted)} online with a DC")

    def status(self, node: str | int | None = None, check: bool = True) -> ClusterStatus | None:
        """crm_mon's view from node (default: first node whose corosync runs).

        With check=False, return None instead of raising while the cluster
        is not answering yet.
        """
        try:
            target = self.node(node) if node is not None else self._first_running_node()
            proc = target.run(["crm_mon", "--output-as=xml"], timeout=30)
            return ClusterStatus.from_xml(proc.stdout)
        except (ClusterError, subprocess.SubprocessError, ET.ParseError):
            if check:
                raise
            return None

    def restart_node(self, name: str | int, timeout: float = 60) -> ClusterStatus:
        """Bring a killed node back: fresh corosync and pacemakerd in its namespaces."""
        node = self.node(name)
        node.kill_all()  # a lingering pacemakerd would fight the new one
        self._start_corosync(node)
        self._wait_corosync(node)
        self._start_pacemaker(node)
        return self.wait_online(timeout)

    # ---- persistence (for the CLI) ---------------------------------------

    def save_state(self) -> None:
        state = {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "token_ms": self.token_ms,
            "subnet": self.subnet,
            "dc_deadtime": self.dc_deadtime,
            "bare": self.bare,
            "created_workdir": self._created_workdir,
            "hub": self.hub.to_json() if self.hub else None,
            "nodes": [n.to_json() for n in self.nodes],
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_file)  # readers never see a half-written file

    @classmethod
    def load(cls, workdir: str | Path) -> Cluster:
        """A Cluster object for a cluster that another process started."""
        workdir = Path(workdir).absolute()
        state = json.loads((workdir / STATE_FILE).read_text())
        cluster = cls(
            workdir,
            nodes=state["size"],
            name=state["name"],
            token_ms=state["token_ms"],
            subnet=state["subnet"],
            dc_deadtime=state["dc_deadtime"],
            bare=state.get("bare", False),
        )
        cluster._adopt_state(state)
        return cluster

    def _adopt_state(self, state: dict | None = None) -> None:
        """Take over holders and ids recorded in cluster.json."""
        try:
            state = state or json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            log.warning("cluster %s: unreadable %s", self.name, self.state_file)
            return
        self.id = state["id"]
        self._created_workdir = state["created_workdir"]
        if state["hub"]:
            self.hub = NamespaceHolder(ns_flags=HUB_NAMESPACES, cluster_id=self.id, **state["hub"])
        self.nodes = [Node(cluster_id=self.id, **n) for n in state["nodes"]]

    # ---- start: files -------------------------------------------------------

    def _refuse_running_cluster(self) -> None:
        if not self.state_file.exists():
            return
        previous = Cluster.load(self.workdir)
        holders = [*previous.nodes, *([previous.hub] if previous.hub else [])]
        if any(h.holder_alive() or h.processes() for h in holders):
            raise ClusterError(f"a cluster is already running from {self.workdir}; stop it first")
        previous.stop()  # stale leftovers of a crashed run

    def _prepare_workdir(self) -> None:
        self._created_workdir = not self.workdir.exists()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.bare:  # a bare cluster's keys are for Salt to make
            # Same key on every node; corosync insists on mode 0400.
            self.authkey.write_bytes(os.urandom(256))
            self.authkey.chmod(0o400)
        self.save_state()

    def _make_node_dirs(self, node_dir: Path) -> None:
        for _, subdir in PRIVATE_DIRS + (BARE_PRIVATE_DIRS if self.bare else ()):
            (node_dir / subdir).mkdir(parents=True, exist_ok=True)
        for path, user, group, mode in DAEMON_DIRS:
            target = node_dir / path
            target.mkdir(parents=True, exist_ok=True)
            os.chown(target, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
            target.chmod(mode)

    def _write_corosync_conf(self, node_dir: Path) -> None:
        etc = node_dir / "etc-corosync"
        shutil.copy2(self.authkey, etc / "authkey")
        (etc / "corosync.conf").write_text(self.corosync_conf())

    def corosync_conf(self) -> str:
        nodes = "".join(
            f"    node {{\n        ring0_addr: {self.node_addr(i)}\n        name: n{i}\n        nodeid: {i}\n    }}\n"
            for i in range(1, self.size + 1)
        )
        # Two nodes cannot have a majority after one fails without two_node.
        two_node = "    two_node: 1\n" if self.size == 2 else ""
        return (
            "totem {\n"
            "    version: 2\n"
            f"    cluster_name: {self.name}\n"
            "    transport: knet\n"
            f"    token: {self.token_ms}\n"
            "    crypto_cipher: aes256\n"
            "    crypto_hash: sha256\n"
            "}\n"
            f"nodelist {{\n{nodes}}}\n"
            "quorum {\n"
            "    provider: corosync_votequorum\n"
            f"{two_node}"
            "}\n"
            "logging {\n"
            "    to_stderr: yes\n"
            "    to_logfile: yes\n"
            "    logfile: /var/log/corosync/corosync.log\n"
            "    to_syslog: no\n"
            "    timestamp: hires\n"
            "}\n"
        )

    def _seed_cib(self, node_dir: Path) -> None:
        """An initial cib.xml with stonith off and a short dc-deadtime.

        The controller waits dc-deadtime (default 20s) for an existing DC
        before electing one; it must be short *before* the first start to get
        a fast bring-up.  pacemaker-based accepts a cib.xml without .sig (it
        logs "No on-disk digest present").
        """
        empty = subprocess.run(
            ["cibadmin", "--empty"],
            capture_output=True,
            text=True,
            check=True,
            env=_host_env(),
        ).stdout
        cib = ET.fromstring(empty)
        props = ET.SubElement(
            cib.find("./configuration/crm_config"),
            "cluster_property_set",
            id="cib-bootstrap-options",
        )
        for key, value in self._cluster_options().items():
            ET.SubElement(props, "nvpair", id=f"cib-bootstrap-options-{key}", name=key, value=value)
        path = node_dir / "var-lib-pacemaker" / "cib" / "cib.xml"
        path.write_text(ET.tostring(cib, encoding="unicode") + "\n")
        path.chmod(0o600)
        os.chown(path, pwd.getpwnam("hacluster").pw_uid, grp.getgrnam("haclient").gr_gid)

    def _cluster_options(self) -> dict[str, str]:
        return {"stonith-enabled": "false", "dc-deadtime": self.dc_deadtime}

    # ---- start: namespaces -----------------------------------------------

    def _spawn_holder(self, unshare_flags: Sequence[str]) -> tuple[int, int, str]:
        """Start a namespace holder; return (pid, start time, netns id)."""
        host_ns = {k: namespace_id("self", k) for k in ("net", "mnt", "uts")}
        proc = subprocess.Popen(
            ["unshare", *unshare_flags, "--", "sleep", "infinity"],
            env={**_host_env(), MARKER_VAR: self.id},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Own session: survives the CLI that started it and its terminal.
            start_new_session=True,
        )
        self._children.append(proc)
        kinds = ["net"] + (["mnt", "uts"] if "--mount" in unshare_flags else [])

        def entered() -> bool:
            # Until unshare has exec'd sleep, nsenter on this pid could land in
            # the host's namespaces (and mount over the host's /etc).
            return _comm(proc.pid) == "sleep" and all(
                namespace_id(proc.pid, k) not in (None, host_ns[k]) for k in kinds
            )

        if proc.poll() is None:
            try:
                wait_for(entered, 10, "namespace holder", interval=0.02)
            except TimeoutError:
                pass
        if not entered():
            raise ClusterError(f"namespace holder {unshare_flags} failed (rc={proc.poll()})")
        return proc.pid, process_start_time(proc.pid), namespace_id(proc.pid, "net")

    def _start_hub(self) -> None:
        pid, start_time, netns = self._spawn_holder(["--net"])
        addr = f"{self.subnet}.{HUB_HOST_OCTET}"
        self.hub = NamespaceHolder("hub", addr, pid, start_time, netns, HUB_NAMESPACES, self.id)
        self.save_state()
        for argv in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "add", BRIDGE, "type", "bridge"],
            ["ip", "addr", "add", f"{addr}/24", "dev", BRIDGE],
            ["ip", "link", "set", BRIDGE, "up"],
        ):
            self.hub.run(argv)

    def _create_node(self, nodeid: int) -> Node:
        name = f"n{nodeid}"
        node_dir = self.nodes_dir / name
        self._make_node_dirs(node_dir)
        if not self.bare:
            self._write_corosync_conf(node_dir)
            self._seed_cib(node_dir)
        pid, start_time, netns = self._spawn_holder(["--net", "--mount", "--uts", "--propagation", "private"])
        node = Node(
            name,
            nodeid,
            self.node_addr(nodeid),
            node_dir,
            pid=pid,
            start_time=start_time,
            netns=netns,
            cluster_id=self.id,
        )
        self.nodes.append(node)
        self.save_state()
        self._mount_private_dirs(node)
        node.run(["hostname", name])
        self._configure_network(node)
        return node

    def _mount_private_dirs(self, node: Node) -> None:
        if namespace_id(node.pid, "mnt") in (None, namespace_id("self", "mnt")):
            # Never bind-mount over the host's own /etc/corosync and friends.
            raise ClusterError(f"{node.name}: holder is not in a mount namespace of its own")
        # --no-mtab: nothing to record; keeps util-linux away from /run/mount.
        for target, subdir in PRIVATE_DIRS + (BARE_PRIVATE_DIRS if self.bare else ()):
            node.run(["mount", "--no-mtab", "--bind", str(node.dir / subdir), target])
        node.run(["mount", "--no-mtab", "-t", "tmpfs", "-o", "mode=1777,size=256m", "tmpfs", "/dev/shm"])

    def _configure_network(self, node: Node) -> None:
        node.run(["ip", "link", "set", "lo", "up"])
        if self.hub is None:
            return  # single node: corosync talks to itself on 127.0.0.1
        hub_port = f"veth-{node.name}"
        # Created inside the node with the peer placed straight into the hub,
        # so no interface ever appears in the host's namespace.
        node.run(
            ["ip", "link", "add", NODE_IFACE, "type", "veth", "peer", "name", hub_port, "netns", str(self.hub.pid)]
        )
        self.hub.run(["ip", "link", "set", hub_port, "master", BRIDGE])
        self.hub.run(["ip", "link", "set", hub_port, "up"])
        node.run(["ip", "addr", "add", f"{node.addr}/24", "dev", NODE_IFACE])
        node.run(["ip", "link", "set", NODE_IFACE, "up"])

    # ---- start: daemons ------------------------------------------------------

    def _start_daemon(self, node: Node, argv: Sequence[str], log_name: str) -> None:
        with open(node.log_dir / log_name, "ab") as out:
            proc = subprocess.Popen(
                node.argv(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_daemon_env(self.id),
                start_new_session=True,
            )
        self._children.append(proc)

    def _start_corosync(self, node: Node) -> None:
        self._start_daemon(node, ["corosync", "-f"], "corosync.out")

    def _wait_corosync(self, node: Node, timeout: float = 30) -> None:
        def answering() -> bool:
            return node.run(["corosync-cfgtool", "-s"], check=False, timeout=10).returncode == 0

        wait_for(answering, timeout, f"corosync on {node.name} to answer")

    def _wait_corosync_members(self, timeout: float) -> None:
        """Start Pacemaker only once corosync sees every node.

        Otherwise each controller may elect itself DC first and the cluster
        spends extra seconds merging partitions.
        """

        def members() -> bool:
            out = self.nodes[0].run(["corosync-quorumtool", "-s"], check=False).stdout
            for line in out.splitlines():
                if line.startswith("Nodes:"):
                    return int(line.split()[1]) == self.size
            return False

        wait_for(members, max(timeout, 1), "corosync membership of all nodes")

    def _start_pacemaker(self, node: Node) -> None:
        self._start_daemon(node, ["pacemakerd", "-f"], "pacemakerd.out")

    def _set_cluster_options(self) -> None:
        """(Re)assert the options seeded in cib.xml, then check them."""
        node = self._first_running_node()
        for key, value in self._cluster_options().items():
            node.run(["crm_attribute", "--type", "crm_config", "--name", key, "--update", value])
        status = self.status()
        if status.stonith_enabled is not False:
            raise ClusterError("stonith-enabled is still true after setting it to false")

    def _first_running_node(self) -> Node:
        for node in self.nodes:
            if node.holder_alive() and node.corosync_pids():
                return node
        raise ClusterError(f"no node of {self.name} runs corosync")

    # ---- stop ----------------------------------------------------------------

    def _stop_pacemaker(self, nodes: list[Node], timeout: float) -> None:
        """SIGTERM every pacemakerd at once and give them time to shut down cleanly."""
        pacemakerds = [p for n in nodes for p in n.pacemaker_pids("pacemakerd")]
        _send_signal(pacemakerds, signal.SIGTERM)
        daemons = lambda: [p for n in nodes for p in n.pacemaker_pids()]
        try:
            wait_for(lambda: not daemons(), timeout, "pacemaker to stop")
        except TimeoutError:
            log.warning("cluster %s: pacemaker did not stop in %ss, killing", self.name, timeout)
            _send_signal(daemons(), signal.SIGKILL)

    def _stop_corosync(self, nodes: list[Node], timeout: float) -> None:
        pids = [p for n in nodes for p in n.corosync_pids()]
        _send_signal(pids, signal.SIGTERM)
        if not _wait_pids_gone(pids, timeout):
            _send_signal(pids, signal.SIGKILL)

    def _kill_namespaces(self, holders: list[NamespaceHolder]) -> None:
        """SIGKILL whatever still runs in each namespace, then the holders.

        Once no process is left in a namespace the kernel frees it, and with
        it the veths, the bridge and the bind mounts.
        """
        for holder in holders:
            _send_signal(holder.processes(), signal.SIGKILL)
            if holder.holder_alive():
                _send_signal([holder.pid], signal.SIGKILL)

        def leftovers() -> list[int]:
            return [p for h in holders for p in h.processes()] + [h.pid for h in holders if h.holder_alive()]

        try:
            wait_for(lambda: not leftovers(), 10, "namespaces to empty", 0.05)
        except TimeoutError:
            log.error("cluster %s: processes %s survived SIGKILL", self.name, leftovers())

    def _reap_children(self) -> None:
        for proc in self._children:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.error("cluster %s: child %s did not exit", self.name, proc.pid)
        self._children = []

    def _remove_files(self) -> None:
        for path in (self.nodes_dir, self.authkey, self.state_file, self.state_file.with_suffix(".tmp")):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if self._created_workdir:
            try:
                self.workdir.rmdir()  # only if nothing else was put there
            except OSError:
                pass

    def _log_tails(self, lines: int = 15) -> str:
        """The end of each daemon log, for error messages."""
        parts = []
        for node in self.nodes:
            for name in ("corosync.out", "pacemakerd.out", "pacemaker/pacemaker.log"):
                path = node.log_dir / name
                if path.exists():
                    tail = path.read_text(errors="replace").splitlines()[-lines:]
                    parts.append(f"--- {path} ---\n" + "\n".join(tail))
        return "\n".join(parts)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def _cmd_up(args: argparse.Namespace) -> int:
    cluster = Cluster(
        args.workdir,
        nodes=args.nodes,
        name=args.name,
        token_ms=args.token_ms,
        subnet=args.subnet,
        dc_deadtime=args.dc_deadtime,
        bare=args.bare,
    )
    cluster.start(timeout=args.timeout)
    print(f"cluster {cluster.name} up in {cluster.start_seconds:.1f}s, workdir {cluster.workdir}")
    _print_nodes(cluster)
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    if not (Path(args.workdir) / STATE_FILE).exists():
        print(f"no {STATE_FILE} in {args.workdir}: nothing to stop")
        return 0
    Cluster.load(args.workdir).stop(remove_files=not args.keep_files)
    return 0


def _cmd_exec(args: argparse.Namespace) -> int:
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise SystemExit("exec: give a command after --")
    node = Cluster.load(args.workdir).node(args.node)
    node._require_alive()
    # Replace this process so exit status, signals and the tty pass straight through.
    os.execvpe("nsenter", node.argv(argv), node._env(None))


def _cmd_status(args: argparse.Namespace) -> int:
    cluster = Cluster.load(args.workdir)
    _print_nodes(cluster)
    status = cluster.status(check=False)
    if status is None:
        print("crm_mon: no answer")
        return 1
    print(
        f"DC: {status.dc}  quorum: {status.with_quorum}  online: {sorted(status.online)}"
        f"  offline: {sorted(status.offline)}"
    )
    return 0


def _cmd_env(args: argparse.Namespace) -> int:
    """Shell assignments: eval "$(python -m tests.support.cluster env --workdir X)"."""
    cluster = Cluster.load(args.workdir)
    for node in cluster.nodes:
        var = node.name.upper()
        print(f"{var}_PID={node.pid}")
        print(f"{var}_ADDR={node.addr}")
        print(f"{var}='{' '.join(node.argv([]))}'")
    return 0


def _print_nodes(cluster: Cluster) -> None:
    for node in cluster.nodes:
        alive = "up" if node.holder_alive() else "GONE"
        print(
            f"  {node.name} id={node.nodeid} addr={node.addr} holder={node.pid} ({alive})"
            f" rss={node.rss_kib() // 1024}MiB logs={node.log_dir}"
        )
    if cluster.hub:
        print(f"  hub addr={cluster.hub.addr} holder={cluster.hub.pid}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.cluster", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start a cluster and leave it running")
    up.add_argument("--nodes", type=int, default=1)
    up.add_argument("--name", default="pcmktest")
    up.add_argument("--token-ms", type=int, default=1000)
    up.add_argument("--subnet", default="10.250.0")
    up.add_argument("--dc-deadtime", default="2s")
    up.add_argument("--timeout", type=float, default=90)
    up.add_argument("--bare", action="store_true", help="namespaces and network only, no corosync/pacemaker")
    up.set_defaults(func=_cmd_up)

    down = sub.add_parser("down", help="stop the cluster recorded in the workdir")
    down.add_argument("--keep-files", action="store_true", help="keep logs and configs")
    down.set_defaults(func=_cmd_down)

    exec_ = sub.add_parser("exec", help="run a command inside a node")
    exec_.add_argument("--node", default="n1")
    exec_.add_argument("argv", nargs=argparse.REMAINDER)
    exec_.set_defaults(func=_cmd_exec)

    sub.add_parser("status", help="nodes, pids, memory and crm_mon summary").set_defaults(func=_cmd_status)
    sub.add_parser("env", help="shell variables for each node").set_defaults(func=_cmd_env)

    for command in sub.choices.values():
        command.add_argument("--workdir", required=True)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except (ClusterError, KeyError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
