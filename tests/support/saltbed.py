"""A real Salt master and one salt-minion daemon per node, on the namespaced three-node cluster.

The orchestration features (``orch.pcmk.rollout``, the ``pcmk`` runner, the
reactor) need a master that reaches every controller's minion over the
network, and minions that run inside the cluster nodes, where Pacemaker's
tools talk to their own node.  This bed builds exactly that on top of a
started :class:`tests.support.cluster.Cluster` (by composition, the cluster
module is not changed)::

    hub network namespace (bridge br0, <subnet>.254)
        salt-master  interface <subnet>.254, ports 4505/4506
        salt / salt-run CLIs (they reach the master at <subnet>.254:4506
                              and its event bus through unix sockets)
    node n1 (net + mount + uts namespaces, <subnet>.1)
        corosync, pacemakerd ...
        salt-minion  id ctl2, master <subnet>.254
    node n2 ... salt-minion ctl3          node n3 ... salt-minion ctl1

Minion ids are deliberately *not* the node names, and not in the same order
(n1 runs ctl2), so everything that maps cluster nodes to minions
(``pcmk.node_name``, the bootstrap minion) really has to.

Files (host paths; nothing is written outside the work directory except
what the cluster nodes' private directories hold)::

    workdir/master/conf/master      master config; root_dir workdir/master
    workdir/master/master.log
    workdir/ctlN/conf/minion        minion config; root_dir workdir/ctlN
    workdir/ctlN/minion.log
    workdir/srv/                    first file_roots entry (tests write SLS here),
                                    then <repo>/states and <repo>/tests/formulas
    workdir/pillar/                 pillar_roots (top.sls + bed.sls by default)

Per node, ``/run`` is private (a bind mount of ``<node dir>/run``), so
``node_path(node, "/run/saltbed/x")`` is where the host reads a file that
the node sees as ``/run/saltbed/x``.  ``fakeinit.dir`` is ``/run/saltbed/fakeinit``.

Every process the bed starts carries ``SALTEXT_PCMK_SALTBED=<bed id>/<daemon>``
in its environment; Salt's job processes (which daemonize into sessions of
their own) inherit it, so :meth:`SaltBed.stop` finds and ends all of them,
and :meth:`SaltBed.leftovers` proves none remain.

Library use (the ``salt_cluster`` fixture does this)::

    bed = SaltBed(cluster, workdir).start()
    bed.salt("*", "test.ping")
    bed.run("pcmk.bootstrap_minion")
    bed.orchestrate("orch.pcmk.rollout", pillar={"sls": "site"})
    bed.stop()
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import yaml

from tests.support.cluster import Cluster, NamespaceHolder, Node, process_alive, wait_for

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's salt-master, salt-minion, salt, salt-run
MARKER_VAR = "SALTEXT_PCMK_SALTBED"
# node name -> minion id: a permutation, so node and minion order differ.
DEFAULT_MINIONS = {"n1": "ctl2", "n2": "ctl3", "n3": "ctl1"}
NODE_RUN_DIR = "/run/saltbed"  # private per node; host path: node_path(node, ...)
RET_PORT = 4506
PUBLISH_PORT = 4505

__all__ = ["SaltBed", "SaltBedError", "CliResult", "salt_cluster", "DEFAULT_MINIONS", "NODE_RUN_DIR"]


class SaltBedError(RuntimeError):
    """The Salt bed could not be brought into the requested state."""


# --------------------------------------------------------------------------
# Processes, found by marker or command line
# --------------------------------------------------------------------------


def _environ_marker(pid: int) -> str | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    prefix = f"{MARKER_VAR}=".encode()
    for item in environ.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode(errors="replace")
    return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def bed_pids(marker: str, cmdline_part: str | None = None) -> list[int]:
    """Live processes whose marker is ``marker`` (or below it: ``marker/...``), or whose
    command line contains ``cmdline_part``.

    Both are needed: Salt renames its processes with setproctitle, which
    overwrites the memory /proc/PID/environ shows, so a salt-master or
    salt-minion process loses its visible marker (it keeps its original argv
    in front of the new title); the commands Salt runs still carry it.
    """
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        value = _environ_marker(pid)
        ours = (value is not None and (value == marker or value.startswith(marker + "/"))) or (
            cmdline_part and cmdline_part in _cmdline(pid)
        )
        if ours and process_alive(pid):
            found.append(pid)
    return found


def _signal(pids: Sequence[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


class BedDaemon:
    """One salt-master or salt-minion process, run inside a namespace holder."""

    def __init__(
        self, bed: SaltBed, name: str, holder: NamespaceHolder, argv: Sequence[str], log_path: Path, pidfile: Path
    ):
        self.pidfile = pidfile
        self.bed = bed
        self.name = name
        self.holder = holder
        self.argv = list(argv)
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def marker(self) -> str:
        return f"{self.bed.id}/{self.name}"

    def pids(self) -> list[int]:
        # "<bin>/salt-minion -c <conf dir>": the daemon and its job processes, whatever their title.
        return bed_pids(self.marker, f"{self.argv[0]} -c {self.argv[2]} ")

    def running(self) -> bool:
        if self.proc is not None and self.proc.poll() is None:
            return True
        # A minion that restarted itself runs as a daemon the bed did not start.
        return self.restarts_itself() and self.daemon_pid() is not None

    def restarts_itself(self) -> bool:
        """True for a minion the bed lets restart itself (``SaltBed.configure_minions(self_restart=True)``)."""
        return self.bed.self_restart and self.name in self.bed.minion_of.values()

    def daemon_pid(self) -> int | None:
        """The pid in the daemon's pidfile, while that process runs (it is the pid Salt reports,
        e.g. as grains ``pid``: salt-minion's main process forks the minion proper and writes
        the child's pid).  Also finds a minion that restarted itself (``SaltBed.self_restart``)."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if process_alive(pid) and f" -c {self.argv[2]} " in _cmdline(pid) else None

    def start(self) -> None:
        if self.running():
            return
        self.stop()  # a leftover of this daemon (e.g. its job processes) must not linger
        # Salt refuses to start while the pid in its pidfile exists.  After a SIGKILL
        # that pid (a child of the daemon) can stay a zombie for a while when
        # PID 1 is slow to reap orphans, as in containers; everything of ours is gone.
        self.pidfile.unlink(missing_ok=True)
        # Salt 3008 also refuses while the process named in this file (next to the pidfile) "runs",
        # and psutil counts a zombie as running.
        self.pidfile.with_name(f"process_responsibility_{self.pidfile.name}").unlink(missing_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = self.holder.popen(
                self.argv,
                env={MARKER_VAR: self.marker},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def terminate(self) -> None:
        """Ask the daemon to stop: SIGTERM to its main process, which stops its children
        (faster than signalling the whole process group); see :meth:`stop`."""
        if self.proc is not None and self.proc.poll() is None:
            pids = [self.proc.pid]
        elif self.restarts_itself():  # a minion that restarted itself: its own main process
            pids = [p for p in [self.daemon_pid()] if p is not None]
        else:
            pids = []
        _signal(pids, signal.SIGTERM)

    def stop(self, timeout: float = 8, graceful: bool = True) -> None:
        """SIGTERM the daemon (unless not ``graceful``), SIGKILL whatever of it stays; never raises."""
        # A minion that restarted itself: the daemon that replaced the process the bed started.
        successor = (
            self.daemon_pid()
            if self.restarts_itself() and self.proc is not None and self.proc.poll() is not None
            else None
        )
        if graceful:
            self.terminate()
        if graceful and self.proc is not None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.info("saltbed %s: %s did not stop on SIGTERM within %ss, killing", self.bed.id, self.name, timeout)
        if graceful and successor is not None:
            try:
                wait_for(lambda: not process_alive(successor), timeout, f"{self.name} (pid {successor}) to stop", 0.1)
            except TimeoutError:
                log.info("saltbed %s: %s did not stop on SIGTERM within %ss, killing", self.bed.id, self.name, timeout)
        # Job processes daemonize into their own sessions: find them by marker and command line.
        _signal(self.pids(), signal.SIGKILL)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.error("saltbed %s: %s (pid %s) survived SIGKILL", self.bed.id, self.name, self.proc.pid)
        try:
            wait_for(lambda: not self.pids(), 10, f"{self.name} processes to exit", 0.1)
        except TimeoutError:
            log.error("saltbed %s: %s processes %s survived SIGKILL", self.bed.id, self.name, self.pids())


# --------------------------------------------------------------------------
# CLI results
# --------------------------------------------------------------------------


@dataclasses.dataclass
class CliResult:
    """One ``salt`` / ``salt-run`` call: exit status, parsed JSON output, timing."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def data(self):
        """The JSON the CLI printed (--out=json), or None when it printed none."""
        text = self.stdout.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            # Some runners print progress before the result; the result is the last document.
            start = max(text.rfind("\n{"), text.rfind("\n["))
            return json.loads(text[start + 1 :]) if start >= 0 else None

    def check(self) -> CliResult:
        if self.returncode != 0:
            raise AssertionError(f"{self}")
        return self

    def __str__(self) -> str:
        return (
            f"{' '.join(self.argv[:1] + self.argv[3:])}: exit {self.returncode} after {self.seconds:.1f}s\n"
            f"--- stdout ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-3000:]}"
        )


# --------------------------------------------------------------------------
# The bed
# --------------------------------------------------------------------------


class SaltBed:
    """A salt-master in the cluster's hub namespace and a salt-minion in each node."""

    def __init__(
        self,
        cluster: Cluster,
        workdir: str | Path,
        *,
        minions: dict[str, str] | None = None,
        master_opts: dict | None = None,
        minion_opts: dict | None = None,
    ):
        if cluster.hub is None:
            raise SaltBedError("the Salt bed needs a multi-node cluster (its hub namespace hosts the master)")
        self.cluster = cluster
        self.workdir = Path(workdir).absolute()
        self.id = uuid.uuid4().hex[:12]
        self.minion_of = dict(minions or DEFAULT_MINIONS)  # node name -> minion id
        self.node_of = {m: n for n, m in self.minion_of.items()}  # minion id -> node name
        self.extra_master_opts = dict(master_opts or {})
        self.extra_minion_opts = dict(minion_opts or {})
        self.srv = self.workdir / "srv"
        self.pillar_dir = self.workdir / "pillar"
        self.master_root = self.workdir / "master"
        self.master_conf_dir = self.master_root / "conf"
        self.master: BedDaemon | None = None
        self.minions: dict[str, BedDaemon] = {}
        self.start_seconds: float | None = None
        # Minions may restart themselves (minion.restart, a state restarting salt-minion):
        # see configure_minions(self_restart=True).
        self.self_restart = False
        self.history: list[CliResult] = []  # every CLI call, with its timing

    # ---- names and paths ----------------------------------------------------

    @property
    def hub(self) -> NamespaceHolder:
        return self.cluster.hub

    @property
    def master_addr(self) -> str:
        return self.hub.addr

    @property
    def minion_ids(self) -> list[str]:
        return sorted(self.node_of)

    def node(self, minion_or_node: str) -> Node:
        """The cluster node of a minion id (or a node name)."""
        return self.cluster.node(self.node_of.get(minion_or_node, minion_or_node))

    def node_path(self, minion_or_node: str, path: str) -> Path:
        """Host path of ``path`` as a node sees it, for paths under the node's private /run."""
        if not (path == "/run" or path.startswith("/run/")):
            raise ValueError(f"{path}: only the node's private /run is mapped to the host")
        return self.node(minion_or_node).dir / "run" / path[len("/run/") :]

    def minion_root(self, minion_id: str) -> Path:
        return self.workdir / minion_id

    # ---- configuration ------------------------------------------------------

    def master_config(self) -> dict:
        return {
            "id": f"saltbed-master-{self.id}",
            "interface": self.master_addr,
            "publish_port": PUBLISH_PORT,
            "ret_port": RET_PORT,
            "root_dir": str(self.master_root),
            "sock_dir": str(self.master_root / "sock"),
            "pidfile": str(self.master_root / "salt-master.pid"),
            "log_file": str(self.master_root / "master.log"),
            "log_level_logfile": "info",
            "user": "root",
            "open_mode": True,
            "auto_accept": True,
            "file_roots": {"base": [str(self.srv), str(REPO / "states"), str(REPO / "tests" / "formulas")]},
            "pillar_roots": {"base": [str(self.pillar_dir)]},
            "fileserver_backend": ["roots"],
            "pcmk.controllers": "*",
            "worker_threads": 4,
            # A stopped minion is given up on after timeout + gather_job_timeout.
            "gather_job_timeout": 5,
            "enable_fqdns_grains": False,
            "keep_jobs_seconds": 3600,
            **self.extra_master_opts,
        }

    def minion_config(self, minion_id: str) -> dict:
        root = self.minion_root(minion_id)
        return {
            "id": minion_id,
            "master": self.master_addr,
            "master_port": RET_PORT,
            "publish_port": PUBLISH_PORT,
            "root_dir": str(root),
            "sock_dir": str(root / "sock"),
            "pidfile": str(root / "salt-minion.pid"),
            "log_file": str(root / "minion.log"),
            "log_level_logfile": "info",
            "user": "root",
            # The Pacemaker provider; the init system stand-in (no init system here).
            "providers": {"service": "pcmk_service"},
            "pcmk.native_service": "fakeinit_service",
            "module_dirs": [str(REPO / "tests" / "support" / "salt_modules")],
            "fakeinit.dir": f"{NODE_RUN_DIR}/fakeinit",
            # Fast (re)connection; no DNS lookups (nodes have no resolver).
            "enable_fqdns_grains": False,
            "acceptance_wait_time": 1,
            "acceptance_wait_time_max": 2,
            "random_startup_delay": 0,
            "random_reauth_delay": 0,
            "recon_default": 200,
            "recon_max": 1000,
            "recon_randomize": False,
            "auth_timeout": 10,
            # Salt's way to restart a minion that is not a system service: stop it, run this.
            **({"minion_restart_command": self.minion_argv(minion_id) + ["-d"]} if self.self_restart else {}),
            **self.extra_minion_opts,
        }

    def minion_argv(self, minion_id: str) -> list[str]:
        """The command line the bed starts a minion with (in the foreground)."""
        return [str(BIN / "salt-minion"), "-c", str(self.minion_root(minion_id) / "conf"), "-l", "warning"]

    def write_master_config(self) -> None:
        self.master_conf_dir.mkdir(parents=True, exist_ok=True)
        (self.master_conf_dir / "master").write_text(yaml.safe_dump(self.master_config(), sort_keys=True))

    def configure_master(self, **opts) -> None:
        """Change master options (``None`` removes one) and restart the master; waits for all minions."""
        for key, value in opts.items():
            if value is None:
                self.extra_master_opts.pop(key, None)
            else:
                self.extra_master_opts[key] = value
        self.write_master_config()
        self.master.stop()
        self._start_master()
        self.wait_minions()

    def configure_minions(self, *, self_restart: bool | None = None, **opts) -> None:
        """Change every minion's options (``None`` removes one set earlier, giving the default back)
        and restart the minions (SIGKILL, then a fresh start; the master keeps running); waits
        for all of them.

        ``self_restart=True`` lets minions restart themselves as Salt restarts a minion that is
        not a system service: ``minion_restart_command`` is their own command line with ``-d``,
        so the restarted minion is a daemon, which the bed follows by its pidfile
        (:meth:`minion_pid`, :meth:`wait_minions_restarted`). ``False`` turns that off again.
        """
        for key, value in opts.items():
            if value is None:
                self.extra_minion_opts.pop(key, None)
            else:
                self.extra_minion_opts[key] = value
        if self_restart is not None:
            self.self_restart = self_restart
        for daemon in self.minions.values():
            daemon.stop(graceful=False)
        for node_name, minion_id in sorted(self.minion_of.items()):
            self._prepare_minion(node_name, minion_id)
            self.start_minion(minion_id, wait=False)
        self.wait_minions()

    def minion_pid(self, minion_id: str) -> int | None:
        """The running minion's pid as Salt knows it (its pidfile; grains ``pid``), or None."""
        return self.minions[minion_id].daemon_pid()

    def wait_minions_restarted(self, old_pids: dict[str, int], timeout: float = 60) -> dict[str, int]:
        """Wait until each minion of ``old_pids`` (minion id -> pid before) runs as another process
        and answers test.ping; return the new pids."""

        def restarted() -> bool:
            return all((self.minion_pid(m) or old) != old for m, old in old_pids.items())

        wait_for(restarted, timeout, f"{sorted(old_pids)} to restart", 0.2)
        self.wait_minions(sorted(old_pids), timeout=timeout)
        return {m: self.minion_pid(m) for m in old_pids}

    def set_pillar(self, data: dict, name: str = "bed") -> None:
        """Pillar for every minion: ``pillar/<name>.sls`` (top: ``'*': [bed]`` unless changed)."""
        self.pillar_dir.mkdir(parents=True, exist_ok=True)
        path = self.pillar_dir / f"{name}.sls"
        path.write_text(yaml.safe_dump(data, sort_keys=True))
        # Two writes in one second may leave the file's mtime (and size) as the master cached
        # them, and the master would render the old pillar: every write moves the mtime on.
        stamp = max(time.time(), getattr(self, "_pillar_stamp", 0.0) + 1.0)
        os.utime(path, (stamp, stamp))
        self._pillar_stamp = stamp

    def set_pillar_top(self, top: dict) -> None:
        """Replace pillar/top.sls, e.g. ``{'*': ['bed'], 'ctl1': ['ctl1']}``."""
        self.pillar_dir.mkdir(parents=True, exist_ok=True)
        (self.pillar_dir / "top.sls").write_text(yaml.safe_dump({"base": top}, sort_keys=True))

    def write_sls(self, name: str, text: str) -> Path:
        """An SLS on the master's first file root: ``write_sls('site', ...)`` is ``salt://site.sls``."""
        path = self.srv / (name.replace(".", "/") + ".sls")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    # ---- lifecycle ------------------------------------------------------------

    def start(self, timeout: float = 120) -> SaltBed:
        """Master, then every minion; return once each answers test.ping."""
        began = time.monotonic()
        try:
            for directory in (self.srv, self.pillar_dir):
                directory.mkdir(parents=True, exist_ok=True)
            if not (self.pillar_dir / "top.sls").exists():
                self.set_pillar_top({"*": ["bed"]})
                self.set_pillar({})
            self.write_master_config()
            self._start_master(timeout)
            for node_name, minion_id in sorted(self.minion_of.items()):
                self._prepare_minion(node_name, minion_id)
                self.start_minion(minion_id, wait=False)
            self.wait_minions(timeout=max(10, timeout - (time.monotonic() - began)))
        except BaseException as exc:
            logs = self.log_tails()
            self.stop()
            raise SaltBedError(f"the Salt bed did not start\n{logs}") from exc
        self.start_seconds = time.monotonic() - began
        log.info("saltbed %s: master and %d minions up in %.1fs", self.id, len(self.minions), self.start_seconds)
        return self

    def stop(self) -> None:
        """Stop every minion and the master, and whatever they started; idempotent, never raises."""
        daemons = [*self.minions.values(), *([self.master] if self.master else [])]
        for daemon in daemons:
            daemon.terminate()  # all at once; each then gets what is left of its grace time
        for daemon in daemons:
            try:
                daemon.stop()
            except Exception:  # keep going: the next daemons must stop too
                log.exception("saltbed %s: stopping %s failed", self.id, daemon.name)
        _signal(self._all_pids(), signal.SIGKILL)  # anything else the bed started
        try:
            wait_for(lambda: not self._all_pids(), 10, "the bed's processes to exit", 0.1)
        except TimeoutError:
            log.error("saltbed %s: processes %s survived", self.id, self._all_pids())

    def _all_pids(self) -> list[int]:
        return bed_pids(self.id, f" -c {self.workdir}/")

    def leftovers(self) -> list[str]:
        """Processes of this bed still running (by marker or command line; and pgrep's view)."""
        found = set(self._all_pids())
        pgrep = subprocess.run(["pgrep", "-f", "--", f"bin/salt.* -c {self.workdir}/"], capture_output=True, text=True)
        found |= {int(p) for p in pgrep.stdout.split()}
        return [f"{pid} {_cmdline(pid).strip()}" for pid in sorted(found) if process_alive(pid)]

    def _start_master(self, timeout: float = 60) -> None:
        self.master = self.master or BedDaemon(
            self,
            "master",
            self.hub,
            [str(BIN / "salt-master"), "-c", str(self.master_conf_dir), "-l", "warning"],
            self.master_root / "master.out",
            self.master_root / "salt-master.pid",
        )
        self.master.start()

        def listening() -> bool:
            if not self.master.running():
                raise SaltBedError(f"salt-master exited (rc {self.master.proc.returncode})")
            out = self.hub.run(["ss", "-Hltn"], check=False).stdout
            return all(f"{self.master_addr}:{port} " in out for port in (RET_PORT, PUBLISH_PORT))

        wait_for(listening, timeout, "the salt-master to listen", 0.2)

    def _prepare_minion(self, node_name: str, minion_id: str) -> None:
        root = self.minion_root(minion_id)
        (root / "conf").mkdir(parents=True, exist_ok=True)
        (root / "conf" / "minion").write_text(yaml.safe_dump(self.minion_config(minion_id), sort_keys=True))
        self.node_path(node_name, f"{NODE_RUN_DIR}/fakeinit").mkdir(parents=True, exist_ok=True)
        self.minions[minion_id] = BedDaemon(
            self,
            minion_id,
            self.cluster.node(node_name),
            self.minion_argv(minion_id),
            root / "minion.out",
            root / "salt-minion.pid",
        )

    def start_minion(self, minion_id: str, *, wait: bool = True, timeout: float = 60) -> None:
        """(Re)start one minion in its node; with ``wait``, until it answers test.ping."""
        daemon = self.minions[minion_id]
        if not daemon.holder.holder_alive():
            raise SaltBedError(f"{minion_id}: node {daemon.holder.name} is gone")
        daemon.start()
        if wait:
            self.wait_minions([minion_id], timeout=timeout)

    def stop_minion(self, minion_id: str, graceful: bool = False) -> None:
        """Stop one minion and its running jobs; by default SIGKILL, as if its host had crashed
        (the master is not told; salt-minion needs about 5 s to stop on SIGTERM)."""
        self.minions[minion_id].stop(graceful=graceful)

    def restart_node(self, node_name: str, timeout: float = 90) -> None:
        """Cluster.restart_node (which kills everything in the node, the minion too), then the minion."""
        self.cluster.restart_node(node_name, timeout=timeout)
        minion_id = self.minion_of[node_name]
        self.minions[minion_id].stop(graceful=False)  # reap it: restart_node killed it
        self.start_minion(minion_id, timeout=timeout)

    def wait_minions(self, minion_ids: Sequence[str] | None = None, timeout: float = 90) -> float:
        """Wait until each minion (default: all) answers test.ping; return the seconds it took."""
        wanted = set(minion_ids or self.minion_ids)
        began = time.monotonic()
        accepted = self.master_root / "etc" / "salt" / "pki" / "master" / "minions"
        deadline = began + timeout

        def keys_accepted() -> bool:
            for minion_id in wanted:
                if not self.minions[minion_id].running():
                    raise SaltBedError(f"salt-minion {minion_id} exited (rc {self.minions[minion_id].proc.returncode})")
            return wanted <= {p.name for p in accepted.glob("*")} if accepted.is_dir() else False

        wait_for(keys_accepted, timeout, f"the master to accept {sorted(wanted)}", 0.2)
        try:
            # Pinging a minion before it listens costs timeout + gather_job_timeout.
            wait_for(
                lambda: wanted <= self._connected_minions(),
                max(1, min(30, deadline - time.monotonic())),
                f"{sorted(wanted)} to connect to the publisher",
                0.2,
            )
        except TimeoutError:
            pass  # test.ping below says which one is missing
        while True:
            for minion_id in wanted:
                if not self.minions[minion_id].running():
                    raise SaltBedError(
                        f"salt-minion {minion_id} exited (rc {self.minions[minion_id].proc.returncode})\n"
                        + self.log_tails(minion_ids=[minion_id])
                    )
            result = self.salt(sorted(wanted), "test.ping", timeout=3)
            answered = {m for m, v in (result.data or {}).items() if v is True}
            if wanted <= answered:
                return time.monotonic() - began
            if time.monotonic() >= deadline:
                missing = sorted(wanted - answered)
                raise TimeoutError(
                    f"minions {missing} do not answer test.ping after {timeout}s "
                    f"(connected: {sorted(self._connected_minions())}): {result}\n" + self.log_tails(minion_ids=missing)
                )
            time.sleep(0.5)

    def _connected_minions(self) -> set[str]:
        """Minions (of running daemons) with an established connection to the master's publish port."""
        out = self.hub.run(["ss", "-Htn", "state", "established", f"( sport = :{PUBLISH_PORT} )"], check=False).stdout
        peers = {line.split()[-1].rsplit(":", 1)[0] for line in out.splitlines() if line.strip()}
        return {m for m, d in self.minions.items() if d.running() and d.holder.addr in peers}

    # ---- the CLIs --------------------------------------------------------------

    def cli_argv(self, tool: str, *args: str) -> list[str]:
        return [str(BIN / tool), "-c", str(self.master_conf_dir), "--out=json", *args]

    def _cli(self, argv: list[str], timeout: float) -> CliResult:
        began = time.monotonic()
        proc = self.hub.run(argv, env={MARKER_VAR: f"{self.id}/cli"}, timeout=timeout, check=False)
        result = CliResult(argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - began)
        self.history.append(result)
        log.info(
            "saltbed %s: %s -> exit %s in %.1fs", self.id, " ".join(argv[3:])[:200], result.returncode, result.seconds
        )
        return result

    def salt_argv(self, tgt, fun: str, *args: str, tgt_type: str = "glob", timeout: float = 60) -> list[str]:
        if isinstance(tgt, (list, tuple)):
            tgt, tgt_type = ",".join(tgt), "list"
        flags = {"glob": [], "list": ["-L"], "compound": ["-C"], "grain": ["-G"]}[tgt_type]
        return self.cli_argv("salt", "--static", "-t", str(int(timeout)), *flags, tgt, fun, *args)

    def salt(self, tgt, fun: str, *args: str, tgt_type: str = "glob", timeout: float = 60) -> CliResult:
        """``salt TGT FUN ARGS --out=json --static``; ``tgt`` may be a list of minion ids."""
        return self._cli(self.salt_argv(tgt, fun, *args, tgt_type=tgt_type, timeout=timeout), timeout + 60)

    def run(self, fun: str, *args: str, timeout: float = 300) -> CliResult:
        """``salt-run FUN ARGS --out=json`` (runners run in this process, in the hub namespace)."""
        return self._cli(self.cli_argv("salt-run", fun, *args), timeout)

    def orchestrate(self, sls: str, pillar: dict | None = None, timeout: float = 600) -> CliResult:
        """``salt-run state.orchestrate SLS pillar=JSON``."""
        args = [sls] + ([f"pillar={json.dumps(pillar)}"] if pillar else [])
        return self.run("state.orchestrate", *args, timeout=timeout)

    def popen_cli(self, tool: str, *args: str, **kw) -> subprocess.Popen:
        """A CLI in the background (e.g. a rollout while a node fails); text stdout/stderr pipes."""
        return self.hub.popen(
            self.cli_argv(tool, *args),
            env={MARKER_VAR: f"{self.id}/cli"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # ---- diagnostics ----------------------------------------------------------------

    def log_tails(self, lines: int = 25, minion_ids: Sequence[str] | None = None) -> str:
        parts = []
        paths = [self.master_root / "master.out", self.master_root / "master.log"]
        for minion_id in self.minion_ids if minion_ids is None else minion_ids:
            paths += [self.minion_root(minion_id) / "minion.out", self.minion_root(minion_id) / "minion.log"]
        for path in paths:
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path} ---\n" + "\n".join(tail))
        return "\n".join(parts)


# --------------------------------------------------------------------------
# The fixture
# --------------------------------------------------------------------------


def short_workdir(prefix: str) -> Path:
    """A new directory directly under /tmp for a bed.

    Not under pytest's basetemp: Salt's unix sockets live below the bed's
    root_dir and a socket path may not exceed 107 bytes, which basetemp plus
    pytest-xdist's per-worker directory (``popen-gw0``) exceeds.
    """
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@pytest.fixture(scope="session")
def salt_cluster(three_node_cluster) -> Iterator[SaltBed]:
    """The three-node cluster with a salt-master (hub) and minions ctl1..ctl3 (n3, n1, n2).

    Import it into a test module (``from tests.support.saltbed import salt_cluster``).
    Tests that stop minions or kill nodes must bring them back
    (``start_minion``, ``restart_node``).
    """
    workdir = short_workdir("bed-")
    bed = SaltBed(three_node_cluster, workdir).start()
    try:
        yield bed
    finally:
        bed.stop()
        left = bed.leftovers()
        if os.environ.get("PCMK_TEST_KEEP_FILES") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        assert not left, f"the Salt bed left processes behind: {left}"
