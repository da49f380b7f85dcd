"""Real OpenStack controller daemons on the namespaced test nodes, under Pacemaker's own agents.

:func:`prepare` makes every node of a started :class:`tests.support.cluster.Cluster`
ready for the Debian packages installed by ``scripts/setup-daemons.sh``
(haproxy, mariadb-server + galera-4, rabbitmq-server, redis-server,
memcached).  Nothing runs yet: Pacemaker starts them once the resources in
:data:`NEXTGEN_RESOURCES` exist.  memcached is the exception: it stays
outside Pacemaker, started here the way an init system would, so tests can
prove that nothing touches it.

Per node, the daemons' paths are bind mounts of directories under the
node's own directory (so the bed's teardown removes them), made inside the
node's private mount namespace after the cluster started::

    <node dir>/daemons/etc-hosts            -> /etc/hosts          n1..n3 resolve (galera, rabbit, redis)
    <node dir>/daemons/etc-mysql/           -> /etc/mysql          copy + mariadb.conf.d/99-nextgen.cnf
    <node dir>/daemons/var-lib-mysql/       -> /var/lib/mysql      empty: the agent runs mysql_install_db
    <node dir>/daemons/etc-rabbitmq/        -> /etc/rabbitmq       rabbitmq.conf
    <node dir>/daemons/var-lib-rabbitmq/    -> /var/lib/rabbitmq   the shared .erlang.cookie, mnesia
    <node dir>/daemons/etc-redis/           -> /etc/redis          redis.conf bound to the node address
    <node dir>/daemons/var-lib-redis/       -> /var/lib/redis
    <node dir>/daemons/etc-haproxy/         -> /etc/haproxy        haproxy.cfg: frontends on the VIP

/run and /var/log are private per node already (the bed binds them); the
runtime and log directories the daemons expect are created there.  Each
node also gets ``net.ipv4.ip_nonlocal_bind=1`` (a per-namespace sysctl), so
HAProxy binds the VIP on every node while only one node holds it, as
OpenStack controllers do.

Every daemon runs in its node's network namespace, so the bed's own
teardown (SIGKILL of everything in each namespace) ends them all;
:func:`leftovers` proves it afterwards.

Standard library only (plus PyYAML for :func:`nextgen_sls`, which Salt needs anyway).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.support.cluster import Cluster, NamespaceHolder, Node, namespace_id, wait_for

SUBNET = "10.250.0"
VIP = f"{SUBNET}.100"
VIP_CIDR = 24
NIC = "eth0"
PROBE_PORT = 8080  # HAProxy answers "<node name>" here: tells which node holds the VIP
GALERA_PORT = 3306
REDIS_PORT = 6379
MEMCACHED_PORT = 11211
NODES = ("n1", "n2", "n3")
GALERA_CLUSTER_ADDRESS = "gcomm://" + ",".join(NODES)


# --------------------------------------------------------------------------
# The resource definitions (found by running them on this bed)
# --------------------------------------------------------------------------

# resource id -> pcmk.resource arguments.  Timeouts are the agents' advised
# ones (crm_resource --show-metadata) unless a comment says why not.
NEXTGEN_RESOURCES: dict[str, dict] = {
    "vip": {
        "agent": "ocf:heartbeat:IPaddr2",
        "params": {"ip": VIP, "cidr_netmask": str(VIP_CIDR), "nic": NIC},
        "ops": [
            {"name": "start", "interval": "0s", "timeout": "20s"},
            {"name": "stop", "interval": "0s", "timeout": "20s"},
            {"name": "monitor", "interval": "10s", "timeout": "20s"},
        ],
    },
    "haproxy": {
        # No ocf:heartbeat:haproxy exists and the bed has no systemd: Debian's
        # own init script, whose status exits 0/3 as LSB wants.  Pacemaker's
        # generic LSB meta-data advises 15s; the script runs `haproxy -c` before
        # starting, so 20s leaves room on a loaded host.
        "agent": "lsb:haproxy",
        "ops": [
            {"name": "start", "interval": "0s", "timeout": "20s"},
            {"name": "stop", "interval": "0s", "timeout": "20s"},
            {"name": "monitor", "interval": "10s", "timeout": "20s"},
        ],
        "clone": {"interleave": "true"},
    },
    "galera": {
        "agent": "ocf:heartbeat:galera",
        "params": {
            "wsrep_cluster_address": GALERA_CLUSTER_ADDRESS,
            # The agent runs mysql_install_db into the empty datadir on first start.
            "enable_creation": "true",
        },
        "ops": [
            {"name": "start", "interval": "0s", "timeout": "120s"},
            {"name": "stop", "interval": "0s", "timeout": "120s"},
            {"name": "promote", "interval": "0s", "timeout": "300s"},
            {"name": "demote", "interval": "0s", "timeout": "120s"},
            {"name": "monitor", "interval": "20s", "timeout": "30s"},
            {"name": "monitor", "interval": "10s", "timeout": "30s", "role": "Promoted"},
            {"name": "monitor", "interval": "30s", "timeout": "30s", "role": "Unpromoted"},
        ],
        "promotable": True,
        # Every node is a Galera primary; ordered: one node bootstraps, then the others join.
        "clone": {"promoted-max": "3", "ordered": "true", "interleave": "true"},
    },
    "rabbitmq": {
        "agent": "ocf:heartbeat:rabbitmq-cluster",
        "params": {"set_policy": 'ha-all ^(?!amq\\.).* {"ha-mode":"exactly","ha-params":2}'},
        "ops": [
            # 200s as TripleO runs it, not the agent's 100s: a broker joining on a loaded
            # machine (two test workers on two cores) can take longer, and a start that
            # times out is fatal on that node (start-failure-is-fatal).
            {"name": "start", "interval": "0s", "timeout": "200s"},
            {"name": "stop", "interval": "0s", "timeout": "90s"},
            {"name": "monitor", "interval": "10s", "timeout": "40s"},
        ],
        # ordered: instances start one by one, so exactly one bootstraps and the
        # others find it in the join list; notify: forget nodes that stopped.
        "clone": {"ordered": "true", "interleave": "true", "notify": "true"},
    },
    "redis": {
        "agent": "ocf:heartbeat:redis",
        "ops": [
            {"name": "start", "interval": "0s", "timeout": "120s"},
            {"name": "stop", "interval": "0s", "timeout": "120s"},
            {"name": "promote", "interval": "0s", "timeout": "120s"},
            {"name": "demote", "interval": "0s", "timeout": "120s"},
            {"name": "notify", "interval": "0s", "timeout": "90s"},
            {"name": "monitor", "interval": "45s", "timeout": "60s"},
            {"name": "monitor", "interval": "20s", "timeout": "60s", "role": "Promoted"},
            {"name": "monitor", "interval": "60s", "timeout": "60s", "role": "Unpromoted"},
        ],
        "promotable": True,
        # notify: replicas re-point to a new primary in post-promote notifications.
        "clone": {"promoted-max": "1", "notify": "true", "interleave": "true"},
    },
}

# constraint id -> pcmk.constraint arguments.
NEXTGEN_CONSTRAINTS: dict[str, dict] = {
    # The VIP only where HAProxy runs, and brought up first (TripleO's order:
    # optional, so restarting HAProxy does not move the VIP).
    "vip-with-haproxy": {"kind": "colocation", "rsc": "vip", "with_rsc": "haproxy-clone", "score": "INFINITY"},
    "vip-then-haproxy": {"kind": "order", "first": "vip", "then": "haproxy-clone", "order_kind": "Optional"},
}


def nextgen_sls(resources: dict[str, dict] | None = None, constraints: dict[str, dict] | None = None) -> str:
    """An SLS of pcmk.resource / pcmk.constraint states for these definitions."""
    import yaml  # pylint: disable=import-outside-toplevel

    sls = {}
    for rid, spec in (NEXTGEN_RESOURCES if resources is None else resources).items():
        sls[rid] = {"pcmk.resource": [{k: v} for k, v in spec.items()]}
    for cid, spec in (NEXTGEN_CONSTRAINTS if constraints is None else constraints).items():
        sls[cid] = {"pcmk.constraint": [{k: v} for k, v in spec.items()]}
    return yaml.safe_dump(sls, sort_keys=False, width=200)


# --------------------------------------------------------------------------
# Per-node files
# --------------------------------------------------------------------------


def _ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _mkdir(path: Path, user: str = "root", mode: int = 0o755) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, *_ids(user))
    path.chmod(mode)
    return path


def _write(path: Path, text: str, user: str = "root", mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chown(path, *_ids(user))
    path.chmod(mode)
    return path


def _copy_tree(src: str, dst: Path) -> Path:
    """A fresh copy of a host config directory, owners and modes kept."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    for path in [dst, *dst.rglob("*")]:
        st = os.lstat(Path(src) / path.relative_to(dst))
        os.lchown(path, st.st_uid, st.st_gid)
    return dst


def hosts_file(cluster: Cluster) -> str:
    lines = ["127.0.0.1 localhost"] + [f"{n.addr} {n.name}" for n in cluster.nodes]
    return "\n".join(lines) + "\n"


def galera_cnf(node: Node) -> str:
    # Later files in mariadb.conf.d win: this one overrides 50-server.cnf.
    return f"""\
[mysqld]
# The node address only: HAProxy binds {VIP}:{GALERA_PORT} on the same node.
bind-address = {node.addr}
skip-name-resolve
innodb_buffer_pool_size = 32M
performance_schema = OFF

[galera]
wsrep_on = ON
wsrep_provider = /usr/lib/galera/libgalera_smm.so
wsrep_cluster_name = nextgen
# The agent passes the address on the command line; mysql_install_db (the
# agent's enable_creation) and --wsrep-recover refuse rsync SST without one.
wsrep_cluster_address = {GALERA_CLUSTER_ADDRESS}
wsrep_node_name = {node.name}
wsrep_node_address = {node.addr}
wsrep_sst_method = rsync
wsrep_provider_options = "gcache.size=16M"
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2

[mysqld_safe]
# Debian's 50-mysqld_safe.cnf sends errors to syslog; the bed has none.
skip-syslog
"""


def rabbitmq_conf() -> str:
    return """\
# Lose the minority, keep the majority (what OpenStack deployments run).
cluster_partition_handling = pause_minority
loopback_users = none
"""


def redis_conf(node: Node) -> str:
    """Debian's redis.conf, reachable from the other nodes (replication, HAProxy)."""
    text = Path("/etc/redis/redis.conf").read_text()
    overrides = {"bind": f"{node.addr} 127.0.0.1", "protected-mode": "no"}
    lines = [ln for ln in text.splitlines() if (ln.split() or [""])[0] not in overrides]
    return "\n".join(lines + [f"{k} {v}" for k, v in overrides.items()]) + "\n"


def haproxy_cfg(cluster: Cluster, node: Node) -> str:
    galera = "\n".join(
        f"    server {n.name} {n.addr}:{GALERA_PORT} check inter 2s" + ("" if i == 0 else " backup")
        for i, n in enumerate(cluster.nodes)
    )
    redis = "\n".join(f"    server {n.name} {n.addr}:{REDIS_PORT} check inter 1s" for n in cluster.nodes)
    return f"""\
global
    maxconn 256
    stats socket /run/haproxy/admin.sock mode 660 level admin

defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s

# Which node holds the VIP: the answer names the node.
frontend probe
    mode http
    bind {VIP}:{PROBE_PORT}
    http-request return status 200 content-type text/plain string "{node.name}"

# Galera: one writer at a time, the others are backups (OpenStack's layout).
listen galera
    bind {VIP}:{GALERA_PORT}
    option tcpka
{galera}

# Redis: only the primary passes the check.
listen redis
    bind {VIP}:{REDIS_PORT}
    option tcp-check
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG
    tcp-check send info\\ replication\\r\\n
    tcp-check expect string role:master
    tcp-check send QUIT\\r\\n
    tcp-check expect string +OK
{redis}
"""


# --------------------------------------------------------------------------
# Preparing the nodes
# --------------------------------------------------------------------------


def daemons_dir(node: Node) -> Path:
    return node.dir / "daemons"


def _node_binds(cluster: Cluster, node: Node, cookie: str) -> list[tuple[Path, str]]:
    """Write this node's private files; return (host path, node path) to bind."""
    base = daemons_dir(node)
    _mkdir(base)
    mysql_etc = _copy_tree("/etc/mysql", base / "etc-mysql")
    _write(mysql_etc / "mariadb.conf.d" / "99-nextgen.cnf", galera_cnf(node))
    redis_etc = _mkdir(base / "etc-redis", "redis", 0o2770)
    _write(redis_etc / "redis.conf", redis_conf(node), "redis", 0o640)
    rabbit_etc = _copy_tree("/etc/rabbitmq", base / "etc-rabbitmq")
    _write(rabbit_etc / "rabbitmq.conf", rabbitmq_conf(), "rabbitmq")
    rabbit_lib = _mkdir(base / "var-lib-rabbitmq", "rabbitmq")
    _mkdir(rabbit_lib / "mnesia", "rabbitmq", 0o750)
    # Erlang nodes only talk to nodes with the same cookie (owner-only, or erl refuses it).
    _write(rabbit_lib / ".erlang.cookie", cookie, "rabbitmq", 0o400)
    haproxy_etc = _copy_tree("/etc/haproxy", base / "etc-haproxy")
    _write(haproxy_etc / "haproxy.cfg", haproxy_cfg(cluster, node))
    return [
        (_write(base / "etc-hosts", hosts_file(cluster)), "/etc/hosts"),
        (mysql_etc, "/etc/mysql"),
        (_mkdir(base / "var-lib-mysql", "mysql", 0o755), "/var/lib/mysql"),
        (rabbit_etc, "/etc/rabbitmq"),
        (rabbit_lib, "/var/lib/rabbitmq"),
        (redis_etc, "/etc/redis"),
        (_mkdir(base / "var-lib-redis", "redis", 0o750), "/var/lib/redis"),
        (haproxy_etc, "/etc/haproxy"),
    ]


def _runtime_dirs(node: Node) -> None:
    """Directories under the node's own /run and /var/log, as the packages' units make them."""
    for sub, user, mode in (
        ("run/mysqld", "mysql", 0o755),
        ("run/redis", "redis", 0o2775),
        ("run/rabbitmq", "rabbitmq", 0o755),
        ("run/haproxy", "root", 0o755),
        ("run/memcached", "memcache", 0o755),
        ("log/mysql", "mysql", 0o2750),
        ("log/redis", "redis", 0o2750),
        ("log/rabbitmq", "rabbitmq", 0o755),
        ("log/memcached", "memcache", 0o755),
    ):
        _mkdir(node.dir / sub, user, mode)


def _bind(node: Node, source: Path, target: str) -> None:
    # --no-mtab: the node's /run/mount is nobody's business; the bed's own
    # mounts are made the same way.
    node.run(["mount", "--no-mtab", "--bind", str(source), target])


def prepare_node(cluster: Cluster, node: Node, cookie: str) -> None:
    if namespace_id(node.pid, "mnt") == namespace_id("self", "mnt"):
        raise RuntimeError(f"{node.name}: not in a mount namespace of its own")  # never bind over the host
    binds = _node_binds(cluster, node, cookie)
    _runtime_dirs(node)
    for source, target in binds:
        _bind(node, source, target)
    node.run(["sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1"])


def prepare(cluster: Cluster, *, memcached: bool = True) -> None:
    """Every node: private files and binds for all daemons; memcached started (outside Pacemaker).

    ``memcached=False`` leaves memcached stopped, for a test whose init system
    stand-in starts it (:func:`memcached_argv`).
    """
    cookie = secrets.token_hex(20).upper()  # one cookie: every RabbitMQ node the same
    for node in cluster.nodes:
        prepare_node(cluster, node, cookie)
        if memcached:
            start_memcached(node)


# --------------------------------------------------------------------------
# memcached: run by "the init system", never by Pacemaker
# --------------------------------------------------------------------------


MEMCACHED_PIDFILE = "run/memcached/memcached.pid"  # under the node directory


def start_memcached(node: Node) -> int:
    """memcached -d in the node, as its init script would; return its pid."""
    node.run(
        [
            "memcached",
            "-d",
            "-u",
            "memcache",
            "-l",
            node.addr,
            "-p",
            str(MEMCACHED_PORT),
            "-m",
            "16",
            "-P",
            "/run/memcached/memcached.pid",
        ]
    )
    return wait_for(lambda: memcached_pid(node), 10, f"memcached on {node.name}")


def memcached_argv(node: Node) -> list[str]:
    """memcached in the foreground, as an init system's unit runs it (the node address, 16 MB)."""
    return ["/usr/bin/memcached", "-u", "memcache", "-l", node.addr, "-p", str(MEMCACHED_PORT), "-m", "16"]


def memcached_pid(node: Node) -> int | None:
    """The pid of the node's memcached, if it runs."""
    try:
        pid = int((node.dir / MEMCACHED_PIDFILE).read_text())
    except (OSError, ValueError):
        return None
    return pid if pid in node.processes() else None


# --------------------------------------------------------------------------
# MariaDB config fragments (what a site's formula manages next to 99-nextgen.cnf)
# --------------------------------------------------------------------------


def mysql_fragment_path(node: Node, name: str) -> Path:
    """Host path of ``/etc/mysql/mariadb.conf.d/<name>`` as ``node`` sees it (its private /etc/mysql)."""
    return daemons_dir(node) / "etc-mysql" / "mariadb.conf.d" / name


def write_mysql_fragment(node: Node, name: str, text: str) -> Path:
    """Write a fragment into the node's /etc/mysql/mariadb.conf.d (root, 0644, as the package's own)."""
    return _write(mysql_fragment_path(node, name), text)


# --------------------------------------------------------------------------
# What the daemons themselves say (independent of Pacemaker's view)
# --------------------------------------------------------------------------

REQUIRED_FILES = (
    "/usr/sbin/haproxy",
    "/etc/init.d/haproxy",
    "/usr/sbin/mariadbd",
    "/usr/bin/mysqld_safe",
    "/usr/lib/galera/libgalera_smm.so",
    "/usr/sbin/rabbitmq-server",
    "/usr/bin/redis-server",
    "/usr/bin/redis-cli",
    "/usr/bin/memcached",
    "/usr/bin/rsync",
    "/usr/bin/curl",
)


def missing_daemons() -> str | None:
    """Why the real daemons cannot run here (None if they can)."""
    missing = [p for p in REQUIRED_FILES if not os.path.exists(p)]
    return f"missing {', '.join(missing)} (run scripts/setup-daemons.sh)" if missing else None


def galera_status(node: Node, timeout: float = 20) -> dict[str, str]:
    """wsrep status variables of the node's MariaDB, {} when it does not answer (within ``timeout`` s)."""
    argv = ["mysql", f"--connect-timeout={max(1, int(timeout))}", "-N", "-B", "-e", "SHOW STATUS LIKE 'wsrep_%'"]
    proc = run_quiet(node, argv, timeout=timeout)
    if proc.returncode != 0:
        return {}
    return dict(line.split("\t", 1) for line in proc.stdout.splitlines() if "\t" in line)


def galera_primary(node: Node, size: int) -> bool:
    status = galera_status(node)
    return (
        status.get("wsrep_cluster_status") == "Primary"
        and status.get("wsrep_cluster_size") == str(size)
        and status.get("wsrep_local_state_comment") == "Synced"
    )


def galera_variable(node: Node, name: str) -> str | None:
    """``SELECT @@<name>`` on the node's MariaDB, None when it does not answer."""
    proc = run_quiet(node, ["mysql", "-N", "-B", "-e", f"SELECT @@{name}"])
    return proc.stdout.strip() if proc.returncode == 0 else None


def galera_uptime(node: Node) -> int | None:
    """Seconds the node's MariaDB server has been up (``SHOW STATUS LIKE 'Uptime'``), None when it does not answer."""
    proc = run_quiet(node, ["mysql", "-N", "-B", "-e", "SHOW GLOBAL STATUS LIKE 'Uptime'"])
    fields = proc.stdout.split()
    return int(fields[1]) if proc.returncode == 0 and len(fields) == 2 and fields[1].isdigit() else None


# The daemons' process names (/proc/PID/comm) in a node.
DAEMON_COMMS = ("mariadbd", "beam.smp", "redis-server", "haproxy", "memcached")


def daemon_pids(node: Node, comms: Iterable[str] = DAEMON_COMMS) -> dict[str, list[int]]:
    """``{comm: [pid, ...]}`` of the daemons running in the node.

    Short-lived helpers with the same process name are not counted: MariaDB's
    ``--wsrep-recover`` runs (the galera agent reads a position with them) and
    the Erlang VMs of ``rabbitmqctl`` (the rabbitmq-cluster agent's monitor);
    only the broker itself (``-s rabbit boot``) is a ``beam.smp`` here.
    """
    wanted = set(comms)
    found: dict[str, list[int]] = {comm: [] for comm in wanted}
    for pid in node.processes():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            if comm not in wanted:
                continue
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state in ("Z", "X") or "--wsrep-recover" in cmdline or "--wsrep_recover" in cmdline:
            continue
        if comm == "beam.smp" and " rabbit boot" not in cmdline:
            continue
        found[comm].append(pid)
    return {comm: sorted(pids) for comm, pids in found.items()}


def rabbit_status(node: Node) -> dict:
    """``rabbitmqctl cluster_status`` as JSON, {} when the node does not answer."""
    proc = run_quiet(node, ["rabbitmqctl", "-q", "cluster_status", "--formatter", "json"], timeout=30)
    try:
        return json.loads(proc.stdout) if proc.returncode == 0 else {}
    except json.JSONDecodeError:
        return {}


def rabbit_running(node: Node) -> list[str]:
    """RabbitMQ nodes running in the cluster as this node sees it (rabbit@n1 ...)."""
    return sorted(rabbit_status(node).get("running_nodes", []))


def redis_replication(node: Node) -> dict[str, str]:
    """``INFO replication`` of the node's Redis over its socket, {} when it does not answer."""
    proc = run_quiet(node, ["redis-cli", "-s", "/run/redis/redis.sock", "info", "replication"])
    if proc.returncode != 0:
        return {}
    pairs = (line.strip().split(":", 1) for line in proc.stdout.splitlines() if ":" in line)
    return {k: v for k, v in pairs}


def redis_roles(nodes: Iterable[Node]) -> dict[str, dict[str, str]]:
    return {n.name: redis_replication(n) for n in nodes}


def redis_healthy(nodes: Iterable[Node]) -> str | None:
    """The primary's node name when exactly one primary has every other node as a connected, synced replica."""
    roles = redis_roles(nodes)
    masters = [name for name, info in roles.items() if info.get("role") == "master"]
    if len(masters) != 1:
        return None
    replicas = [info for name, info in roles.items() if name != masters[0]]
    if roles[masters[0]].get("connected_slaves") != str(len(replicas)):
        return None
    synced = all(
        r.get("role") == "slave" and r.get("master_host") == masters[0] and r.get("master_link_status") == "up"
        for r in replicas
    )
    return masters[0] if synced else None


def vip_holders(nodes: Iterable[Node]) -> list[str]:
    """Nodes that have the VIP on their interface."""
    return [n.name for n in nodes if f" {VIP}/" in run_quiet(n, ["ip", "-o", "-4", "addr", "show", "dev", NIC]).stdout]


def haproxy_listening(node: Node) -> bool:
    """HAProxy runs in the node and listens on the VIP (non-local bind) probe port."""
    out = run_quiet(node, ["ss", "-Hltnp", "sport", "=", f":{PROBE_PORT}"]).stdout
    return f"{VIP}:{PROBE_PORT}" in out and "haproxy" in out


def vip_answer(cluster: Cluster) -> str | None:
    """Who answers on the VIP, asked from the hub (outside every node): the node name, or None."""
    proc = run_quiet(cluster.hub, ["curl", "-s", "-m", "3", f"http://{VIP}:{PROBE_PORT}/"])
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def via_vip(cluster: Cluster, argv: list[str]) -> str | None:
    """A client command run in the hub (e.g. mysql -h VIP); its stdout, None on failure."""
    proc = run_quiet(cluster.hub, argv)
    return proc.stdout if proc.returncode == 0 else None


# --------------------------------------------------------------------------
# Teardown
# --------------------------------------------------------------------------


def netns_ids(cluster: Cluster) -> set[str]:
    """The network namespaces of the cluster's nodes; record them before stopping it."""
    return {n.netns for n in cluster.nodes}


def leftovers(netns: Iterable[str]) -> list[str]:
    """Daemon processes still running in any of these network namespaces.

    While a process is in a namespace the namespace exists, so its id cannot
    have been reused by someone else's: this is exact right after a stop.
    """
    wanted = set(netns)
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and namespace_id(entry, "net") in wanted:
            try:
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
            except OSError:
                continue
            found.append(f"{entry} {comm}")
    return found


def power_off(cluster: Cluster) -> None:
    """SIGKILL everything in every node (the daemons too) before Cluster.stop.

    The data is thrown away anyway; a graceful stop of Galera and RabbitMQ
    through Pacemaker would only cost minutes of teardown.
    """
    for node in cluster.nodes:
        if node.holder_alive():
            pids = node.processes()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def run_quiet(node: NamespaceHolder, argv: list[str], timeout: float = 20) -> subprocess.CompletedProcess:
    """A command in the node that may fail (the daemon may be down): never raises."""
    try:
        return node.run(argv, check=False, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(argv, 124, exc.stdout or "", exc.stderr or "")


def assert_stack_whole(cluster: Cluster, nodes: list[Node]) -> None:
    """Every daemon's own view of a whole stack on all three nodes: Galera a Primary
    component of 3, one RabbitMQ cluster of 3, HAProxy listening everywhere, one Redis
    primary with two replicas, the VIP on exactly one node and answering from it."""
    for node in nodes:
        status = galera_status(node)
        assert (status["wsrep_cluster_size"], status["wsrep_cluster_status"]) == ("3", "Primary"), node.name
        assert rabbit_running(node) == [f"rabbit@{n}" for n in NODES], node.name
        assert haproxy_listening(node), node.name
    primary = redis_healthy(nodes)
    assert primary and redis_replication(cluster.node(primary))["connected_slaves"] == "2"
    holders = vip_holders(nodes)
    assert len(holders) == 1 and vip_answer(cluster) == holders[0], holders


# --------------------------------------------------------------------------
# Waiting for the stack, and saying why it did not come
# --------------------------------------------------------------------------


def watch(
    checks: dict[str, Callable[[], object]],
    timeout: float,
    began: float | None = None,
    interval: float = 0.5,
    abort: threading.Event | None = None,
    explain: Callable[[], str] | None = None,
) -> dict[str, float]:
    """Poll every check (each in a thread of its own) until each has held once; return seconds
    from ``began`` to each first success.  Fails naming the checks still false at the timeout
    (or when ``abort`` is set), followed by ``explain()``: a flake in a real-daemon test is
    only worth something with the cluster's own account of it."""
    began = time.monotonic() if began is None else began
    deadline = began + timeout
    abort = abort or threading.Event()

    def first_success(check):
        while True:
            try:
                if check():
                    return time.monotonic() - began
            except Exception:  # pylint: disable=broad-except  # a node still coming back: not yet
                pass
            if time.monotonic() > deadline or abort.wait(interval):
                return None

    with concurrent.futures.ThreadPoolExecutor(len(checks)) as pool:
        futures = {name: pool.submit(first_success, check) for name, check in checks.items()}
        reached = {name: future.result() for name, future in futures.items()}
    pending = sorted(name for name, seconds in reached.items() if seconds is None)
    if pending:
        message = (
            f"not reached after {timeout}s: {pending} "
            f"(reached: { {k: round(v, 1) for k, v in reached.items() if v is not None} })"
        )
        if explain is not None:
            try:
                message += "\n" + explain()
            except Exception as exc:  # pylint: disable=broad-except  # the failure above matters more
                message += f"\n(no explanation: {exc})"
        raise AssertionError(message)
    return reached


def explain_cluster(cluster: Cluster) -> str:
    """:func:`cluster_account` as a node still running the cluster sees it."""
    for node in cluster.nodes:
        if node.holder_alive() and node.pacemaker_pids("pacemaker-based"):
            proc = run_quiet(node, ["crm_mon", "--one-shot", "--inactive", "--output-as=xml"], timeout=30)
            return cluster_account(proc.stdout.encode())
    return "crm_mon: no node runs the cluster"


def cluster_account(mon_xml: bytes) -> str:
    """What ``crm_mon --output-as=xml`` says is wrong: resources not running where expected
    (stopped, failed, blocked, unmanaged) and the failed actions with their exit reasons."""
    from lxml import etree  # pylint: disable=import-outside-toplevel

    mon = etree.fromstring(mon_xml)
    lines = []
    for node in mon.iterfind("nodes/node"):
        if node.get("online") != "true" or node.get("standby") == "true":
            lines.append(f"node {node.get('name')}: online={node.get('online')} standby={node.get('standby')}")
    for rsc in mon.iter("resource"):
        on = [n.get("name") for n in rsc.iterfind("node")]
        flags = [f for f in ("failed", "blocked", "orphaned") if rsc.get(f) == "true"]
        if rsc.get("managed") == "false":
            flags.append("unmanaged")
        if rsc.get("active") != "true" or flags:
            lines.append(f"resource {rsc.get('id')}: role={rsc.get('role')} on={on} {' '.join(flags)}".rstrip())
    for failure in mon.iterfind("failures/failure"):
        lines.append(
            "failed action {op_key} on {node}: {status} (exit {exitstatus}) {exitreason}".format(
                **{k: failure.get(k, "") for k in ("op_key", "node", "status", "exitstatus", "exitreason")}
            ).rstrip()
        )
    return "crm_mon: " + ("; ".join(lines) if lines else "every resource active, no failed action")
