"""Functional tests for the ``ocf:saltext:openstack-service`` resource agent.

Everything here runs the real agent (``src/saltext/pcmk/agents/openstack-service``)
against a real daemon (``tests/support/testdaemon.py``): no mocks.  The agent
is copied together with the test daemon into a world-readable scratch
directory so that ``ocf-tester``'s permission check and the ``user=nobody``
test can reach them.

Return-code expectations follow the decisions documented in the agent's
meta-data and in docs/agent-openstack-service.md; notably a daemon that died
(pid file left behind) makes monitor return 1, not 7.
"""

import configparser
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from tests.support.testservice import free_port

REPO = pathlib.Path(__file__).resolve().parents[2]
AGENT_SRC = REPO / "src" / "saltext" / "pcmk" / "agents" / "openstack-service"
DAEMON_SRC = REPO / "tests" / "support" / "testdaemon.py"

OCF_ROOT = "/usr/lib/ocf"
SHELLFUNCS = pathlib.Path(OCF_ROOT) / "lib" / "heartbeat" / "ocf-shellfuncs"
RA_DTD = pathlib.Path("/usr/share/resource-agents/ra-api-1.dtd")
PCS_RNG = pathlib.Path("/usr/share/pcs/data/ocf-1.1.rng")
OCF_TESTER = shutil.which("ocf-tester") or (
    "/usr/sbin/ocf-tester" if os.access("/usr/sbin/ocf-tester", os.X_OK) else None
)
# The environment Pacemaker's executor typically gives agents.
AGENT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

OCF_SUCCESS = 0
OCF_ERR_GENERIC = 1
OCF_ERR_UNIMPLEMENTED = 3
OCF_ERR_PERM = 4
OCF_ERR_INSTALLED = 5
OCF_ERR_CONFIGURED = 6
OCF_NOT_RUNNING = 7

PARAMETERS = {
    "binary",
    "config",
    "config_arg",
    "user",
    "pid",
    "extra_args",
    "monitor_port",
    "monitor_host",
    "monitor_url",
    "start_wait",
    "log_file",
}

pytestmark = [
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"),
        reason="the openstack-service agent needs Linux with /proc",
    ),
    pytest.mark.skipif(
        not SHELLFUNCS.is_file(),
        reason=f"resource-agents is not installed ({SHELLFUNCS} missing)",
    ),
]


# --------------------------------------------------------------------------
# helpers


def _python_for_daemon():
    """An interpreter path for the test daemon's shebang, preferring one that
    other users can execute (pyenv/venv pythons under /root are not)."""
    for candidate in ("/usr/bin/python3", shutil.which("python3"), sys.executable):
        if candidate and os.access(candidate, os.X_OK):
            return os.path.realpath(candidate)
    pytest.skip("no python3 interpreter found for the test daemon")
    return None  # pragma: no cover


def _world_accessible(path):
    """True if every directory above path is searchable by others and the
    file itself is readable and executable by others."""
    path = pathlib.Path(path)
    if path.stat().st_mode & 0o005 != 0o005:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in path.parents)


def http_status(url, timeout=2.0):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def proc_stat(pid):
    """(state, pgrp) of a process, or None when it does not exist."""
    try:
        data = pathlib.Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = data.rsplit(")", 1)[1].split()
    return fields[0], int(fields[2])


def alive(pid):
    """Exists and is not a zombie (PID 1 may not reap in containers)."""
    stat = proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def group_members(pgrp):
    members = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(entry.name)
            if stat and stat[1] == pgrp and stat[0] not in ("Z", "X"):
                members.append(int(entry.name))
    return members


def cmdline(pid):
    raw = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    return [arg.decode() for arg in raw.split(b"\0") if arg]


def wait_for(predicate, timeout=10.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def kill_quietly(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --------------------------------------------------------------------------
# fixtures


class Resource:
    """One agent instance: its parameters, its test daemon config, and
    helpers to run agent actions with an OCF environment."""

    def __init__(self, lab, name, params, daemon_conf):
        self.lab = lab
        self.name = name
        self.params = params
        self.daemon_conf = daemon_conf

    @property
    def port(self):
        return int(self.daemon_conf["port"])

    @property
    def pidfile(self):
        return pathlib.Path(self.params["pid"])

    @property
    def starts_file(self):
        return pathlib.Path(self.daemon_conf["starts_file"])

    def starts(self):
        if not self.starts_file.exists():
            return []
        return [int(line) for line in self.starts_file.read_text().split()]

    def env(self, action, interval_ms=None, timeout_ms=20000, **overrides):
        env = {
            "PATH": AGENT_PATH,
            "LANG": "C",
            "OCF_ROOT": OCF_ROOT,
            "OCF_RA_VERSION_MAJOR": "1",
            "OCF_RA_VERSION_MINOR": "1",
            "OCF_RESOURCE_INSTANCE": self.name,
            "OCF_RESOURCE_TYPE": "openstack-service",
            "OCF_RESOURCE_PROVIDER": "saltext",
            "OCF_RESKEY_CRM_meta_timeout": str(timeout_ms),
            "OCF_RESKEY_CRM_meta_name": action,
        }
        if interval_ms is None:
            interval_ms = 10000 if action == "monitor" else 0
        env["OCF_RESKEY_CRM_meta_interval"] = str(interval_ms)
        params = dict(self.params)
        params.update(overrides)
        for key, value in params.items():
            if value is None:
                continue
            if key.startswith("_"):
                env[key[1:]] = value  # raw environment override
            else:
                env[f"OCF_RESKEY_{key}"] = str(value)
        return env

    def run(self, action, interval_ms=None, timeout_ms=20000, **overrides):
        self.lab.used.append(self)
        return subprocess.run(
            [str(self.lab.agent), action],
            env=self.env(action, interval_ms=interval_ms, timeout_ms=timeout_ms, **overrides),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def rc(self, action, **kwargs):
        return self.run(action, **kwargs).returncode

    def pid(self):
        return int(self.pidfile.read_text().strip())


class Lab:
    """Scratch directory with a copy of the agent and the test daemon."""

    def __init__(self, root):
        self.root = root
        self.agent = root / "openstack-service"
        self.daemon = root / "testdaemon.py"
        self.used = []
        self._count = 0
        shutil.copyfile(AGENT_SRC, self.agent)
        self.agent.chmod(0o755)
        source = DAEMON_SRC.read_text(encoding="utf-8").split("\n", 1)[1]
        self.daemon.write_text(f"#!{_python_for_daemon()}\n{source}", encoding="utf-8")
        self.daemon.chmod(0o755)

    def resource(self, name=None, port=None, conf=None, **params):
        """A new resource with its own daemon config and free port."""
        self._count += 1
        name = name or f"oss-test-{self._count}"
        safe = name.replace(":", "_")
        port = port or free_port()
        daemon_conf = {"port": str(port), "starts_file": str(self.root / f"{safe}.starts")}
        daemon_conf.update(conf or {})
        conf_path = self.root / f"{safe}.conf"
        parser = configparser.ConfigParser()
        parser["DEFAULT"] = daemon_conf
        with open(conf_path, "w", encoding="utf-8") as handle:
            parser.write(handle)
        conf_path.chmod(0o644)
        base = {
            "binary": str(self.daemon),
            "config": str(conf_path),
            "pid": str(self.root / f"{safe}.pid"),
            "monitor_url": f"http://127.0.0.1:{port}/health",
        }
        base.update(params)
        return Resource(self, name, base, daemon_conf)

    def cleanup(self):
        for res in self.used:
            try:
                subprocess.run(
                    [str(self.agent), "stop"],
                    env=res.env("stop", timeout_ms=10000),
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                pass
            for pid in res.starts():
                kill_quietly(pid)
        # Backstop: anything still running from this scratch directory.
        marker = str(self.root)
        for entry in pathlib.Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if any(marker in arg for arg in cmdline(entry.name)):
                        kill_quietly(int(entry.name))
                except OSError:
                    pass


@pytest.fixture
def lab():
    root = pathlib.Path(tempfile.mkdtemp(prefix="oss-agent-", dir="/tmp"))
    # world-traversable and writable: the daemon may run as "nobody" and
    # append to its starts file here.
    root.chmod(0o1777)
    lab = Lab(root)
    try:
        yield lab
    finally:
        lab.cleanup()
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------
# ocf-tester


@pytest.mark.skipif(OCF_TESTER is None, reason="ocf-tester (resource-agents) is not installed")
@pytest.mark.skipif(shutil.which("xmllint", path=AGENT_PATH) is None, reason="ocf-tester needs xmllint")
def test_ocf_tester_passes(lab):
    # Clone-style instance name and the default pid file location.
    res = lab.resource(name="oss-tester:0", pid=None)
    default_pid = pathlib.Path("/run/resource-agents/openstack-service-oss-tester_0.pid")
    cmd = [OCF_TESTER, "-v", "-n", res.name]
    for key in ("binary", "config", "monitor_url"):
        cmd += ["-o", f"{key}={res.params[key]}"]
    cmd.append(str(lab.agent))
    env = {"PATH": AGENT_PATH, "LANG": "C", "OCF_ROOT": OCF_ROOT}
    lab.used.append(res)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "passed all tests" in output, output
    # start, restart; the "start a started resource" step must not relaunch
    assert len(res.starts()) == 2, output
    assert not default_pid.exists()
    assert not any(alive(pid) for pid in res.starts())


# --------------------------------------------------------------------------
# meta-data and usage


def test_meta_data_is_valid_ocf(lab):
    lxml_etree = pytest.importorskip("lxml.etree")
    res = lab.resource()
    proc = res.run("meta-data")
    assert proc.returncode == OCF_SUCCESS, proc.stderr
    doc = lxml_etree.fromstring(proc.stdout.encode())

    if RA_DTD.is_file():
        dtd = lxml_etree.DTD(str(RA_DTD))
        assert dtd.validate(doc), dtd.error_log.filter_from_errors()
    if PCS_RNG.is_file():
        rng = lxml_etree.RelaxNG(lxml_etree.parse(str(PCS_RNG)))
        assert rng.validate(doc), rng.error_log

    assert doc.tag == "resource-agent"
    assert doc.get("name") == "openstack-service"
    assert doc.get("version") == "1.0"
    assert doc.findtext("version") == "1.1"
    assert doc.find("longdesc").get("lang") == "en"
    assert doc.findtext("shortdesc").strip()

    params = {p.get("name"): p for p in doc.findall("parameters/parameter")}
    assert set(params) == PARAMETERS
    for name, param in params.items():
        assert param.findtext("longdesc").strip(), name
        assert param.findtext("shortdesc").strip(), name
        content = param.find("content")
        assert content is not None, name
        assert content.get("type") in ("string", "integer", "boolean"), name
        assert content.get("default") is not None, name
    assert params["binary"].get("required") == "1"
    assert params["config_arg"].find("content").get("default") == "--config-file"
    assert params["user"].find("content").get("default") == "root"
    assert params["monitor_host"].find("content").get("default") == "127.0.0.1"
    assert params["log_file"].find("content").get("default") == "/dev/null"
    assert params["pid"].find("content").get("default").endswith(".pid")

    actions = {a.get("name"): a for a in doc.findall("actions/action")}
    for action in ("start", "stop", "monitor", "status", "validate-all", "meta-data"):
        assert action in actions, action
        assert actions[action].get("timeout"), action
    assert actions["monitor"].get("interval") == "10s"


def test_meta_data_works_as_unprivileged_user(lab):
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to nobody")
    if shutil.which("setpriv", path=AGENT_PATH) is None:
        pytest.skip("setpriv (util-linux) is not installed")
    proc = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(lab.agent), "meta-data"],
        env={"PATH": AGENT_PATH, "OCF_ROOT": OCF_ROOT},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "<resource-agent" in proc.stdout


def test_usage_and_unknown_actions(lab):
    res = lab.resource()
    for action in ("usage", "help"):
        proc = res.run(action)
        assert proc.returncode == OCF_SUCCESS
        assert "usage:" in proc.stdout
    for action in ("reload", "promote", "demote", "notify", "migrate_to", "bogus"):
        assert res.rc(action) == OCF_ERR_UNIMPLEMENTED, action


# --------------------------------------------------------------------------
# validate-all and probes


def test_validate_all_ok(lab):
    res = lab.resource()
    proc = res.run("validate-all")
    assert proc.returncode == OCF_SUCCESS, proc.stderr


def test_validate_missing_binary_is_not_installed(lab):
    res = lab.resource(binary=str(lab.root / "no-such-daemon"))
    proc = res.run("validate-all")
    assert proc.returncode == OCF_ERR_INSTALLED, proc.stderr
    assert "ocf-exit-reason:" in proc.stderr
    assert res.rc("validate-all", binary="no-such-daemon-on-path") == OCF_ERR_INSTALLED
    # start validates as well, and must not leave anything behind
    assert res.rc("start") == OCF_ERR_INSTALLED
    assert not res.pidfile.exists()


def test_validate_missing_config_is_not_installed(lab):
    # A config file is deployed per node: its absence is a problem of this
    # node (hard error, 5), not of the resource definition (fatal, 6).
    res = lab.resource()
    missing = str(lab.root / "missing.conf")
    proc = res.run("validate-all", config=f"{res.params['config']} {missing}")
    assert proc.returncode == OCF_ERR_INSTALLED, proc.stderr
    assert "missing.conf" in proc.stderr


def test_validate_configuration_errors(lab):
    res = lab.resource()
    assert res.rc("validate-all", binary="") == OCF_ERR_CONFIGURED
    assert res.rc("validate-all", monitor_port="http") == OCF_ERR_CONFIGURED
    assert res.rc("validate-all", monitor_port="70000") == OCF_ERR_CONFIGURED
    assert res.rc("validate-all", start_wait="soon") == OCF_ERR_CONFIGURED
    assert res.rc("validate-all", monitor_url="127.0.0.1:80/") == OCF_ERR_CONFIGURED
    assert res.rc("validate-all", pid="relative.pid") == OCF_ERR_CONFIGURED
    assert res.rc("validate-all", user="not a user") == OCF_ERR_CONFIGURED


def test_validate_user(lab):
    res = lab.resource()
    # well-formed but unknown on this node: 5, like a missing package
    # (OpenStack packages create their service users)
    assert res.rc("validate-all", user="oss-no-such-user") == OCF_ERR_INSTALLED
    if os.geteuid() == 0:
        # config exists but the service user cannot read it
        secret = lab.root / "secret.conf"
        secret.write_text("[DEFAULT]\n")
        secret.chmod(0o600)
        assert res.rc("validate-all", user="nobody", config=str(secret)) == OCF_ERR_PERM
        assert res.rc("validate-all", user="nobody") == OCF_SUCCESS


def test_validate_missing_log_dir(lab):
    res = lab.resource(log_file=str(lab.root / "nodir" / "daemon.log"))
    assert res.rc("validate-all") == OCF_ERR_INSTALLED


def test_probe_with_missing_binary_reports_not_running(lab):
    res = lab.resource(binary=str(lab.root / "not-installed"), config=str(lab.root / "nope.conf"))
    assert res.rc("monitor", interval_ms=0) == OCF_NOT_RUNNING
    assert res.rc("monitor", interval_ms=0, _OCF_TESTER_FAIL_HAVE_BINARY="1") == OCF_NOT_RUNNING
    assert res.rc("monitor") == OCF_NOT_RUNNING
    assert res.rc("status") == OCF_NOT_RUNNING
    # stop of a never started instance succeeds whatever is missing
    assert res.rc("stop") == OCF_SUCCESS


# --------------------------------------------------------------------------
# lifecycle


def test_start_monitor_stop_cycle(lab):
    res = lab.resource()
    assert res.rc("monitor", interval_ms=0) == OCF_NOT_RUNNING

    proc = res.run("start")
    assert proc.returncode == OCF_SUCCESS, proc.stderr
    pid = res.pid()
    assert alive(pid)
    assert http_status(f"http://127.0.0.1:{res.port}/") == 200
    assert res.starts() == [pid]
    # session and process group leader
    assert proc_stat(pid)[1] == pid
    assert os.getsid(pid) == pid
    assert str(lab.daemon) in cmdline(pid)
    assert cmdline(pid)[-2:] == ["--config-file", res.params["config"]]

    assert res.rc("monitor") == OCF_SUCCESS
    assert res.rc("monitor", interval_ms=0) == OCF_SUCCESS
    assert res.rc("status") == OCF_SUCCESS

    # start on a running instance: success, no second daemon
    assert res.rc("start") == OCF_SUCCESS
    assert res.starts() == [pid]
    assert res.pid() == pid

    proc = res.run("stop")
    assert proc.returncode == OCF_SUCCESS, proc.stderr
    assert not alive(pid)
    assert not res.pidfile.exists()
    assert not port_open(res.port)
    assert res.rc("monitor") == OCF_NOT_RUNNING
    assert res.rc("status") == OCF_NOT_RUNNING
    assert res.rc("stop") == OCF_SUCCESS


def test_killed_daemon_is_a_failure_until_stopped(lab):
    res = lab.resource()
    assert res.rc("start") == OCF_SUCCESS
    pid = res.pid()
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not alive(pid))

    # Pid file without its process: the daemon crashed.  Per the OCF spec
    # (7 only for a cleanly stopped resource) this is 1, like
    # ocf:heartbeat:anything; Pacemaker then runs stop before restarting.
    proc = res.run("monitor")
    assert proc.returncode == OCF_ERR_GENERIC, proc.stderr
    assert "ocf-exit-reason:" in proc.stderr
    assert res.rc("monitor", interval_ms=0) == OCF_ERR_GENERIC
    assert res.rc("status") == OCF_ERR_GENERIC

    assert res.rc("stop") == OCF_SUCCESS
    assert not res.pidfile.exists()
    assert res.rc("monitor") == OCF_NOT_RUNNING

    assert res.rc("start") == OCF_SUCCESS
    assert len(res.starts()) == 2
    assert res.rc("monitor") == OCF_SUCCESS


def test_start_recovers_from_stale_pid_file(lab):
    res = lab.resource()
    assert res.rc("start") == OCF_SUCCESS
    pid = res.pid()
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not alive(pid))
    # no stop in between: start cleans up and launches a new daemon
    assert res.rc("start") == OCF_SUCCESS
    assert len(res.starts()) == 2
    assert res.pid() != pid
    assert res.rc("monitor") == OCF_SUCCESS


def test_failing_checks_while_process_alive(lab):
    unhealthy = lab.root / "unhealthy"
    res = lab.resource(conf={"unhealthy_file": str(unhealthy)}, monitor_url="")
    assert res.rc("start", monitor_port=str(res.port)) == OCF_SUCCESS
    pid = res.pid()

    # port check
    assert res.rc("monitor", monitor_port=str(res.port)) == OCF_SUCCESS
    closed = free_port()
    proc = res.run("monitor", monitor_port=str(closed))
    assert proc.returncode == OCF_ERR_GENERIC, proc.stderr
    assert str(closed) in proc.stderr

    # URL check
    url = f"http://127.0.0.1:{res.port}/health"
    assert res.rc("monitor", monitor_url=url) == OCF_SUCCESS
    unhealthy.touch()
    assert http_status(url) == 503
    assert res.rc("monitor", monitor_url=url) == OCF_ERR_GENERIC
    assert res.rc("monitor", monitor_url=f"http://127.0.0.1:{res.port}/missing") == OCF_ERR_GENERIC
    unhealthy.unlink()
    assert res.rc("monitor", monitor_url=url) == OCF_SUCCESS
    # the process-only status is not affected by the checks
    assert res.rc("status", monitor_port=str(closed)) == OCF_SUCCESS
    assert alive(pid)


def test_hung_daemon_fails_monitor_within_timeout(lab):
    res = lab.resource()
    assert res.rc("start") == OCF_SUCCESS
    pid = res.pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        assert res.rc("monitor", timeout_ms=4000) == OCF_ERR_GENERIC
        assert time.monotonic() - began < 4
    finally:
        # stop must cope with a stopped (SIGSTOP) process
        began = time.monotonic()
        assert res.rc("stop", timeout_ms=10000) == OCF_SUCCESS
        assert time.monotonic() - began < 10
    assert not alive(pid)


def test_start_as_unprivileged_user(lab):
    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    if not _world_accessible(lab.daemon) or not _world_accessible(_python_for_daemon()):
        pytest.skip("the test daemon or its interpreter is not accessible to nobody")
    nobody = pwd.getpwnam("nobody")
    log = lab.root / "daemon.log"
    res = lab.resource(user="nobody", log_file=str(log))
    proc = res.run("start")
    assert proc.returncode == OCF_SUCCESS, proc.stderr + (log.read_text() if log.exists() else "")
    pid = res.pid()
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    gids = next(line for line in status.splitlines() if line.startswith("Gid:")).split()[1:]
    assert set(uids) == {str(nobody.pw_uid)}
    assert set(gids) == {str(nobody.pw_gid)}
    environ = pathlib.Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"USER=nobody" in environ
    assert http_status(f"http://127.0.0.1:{res.port}/health") == 200
    assert res.rc("monitor") == OCF_SUCCESS
    # the pid file belongs to the agent (root), not to the daemon's user
    assert res.pidfile.stat().st_uid == 0
    assert wait_for(lambda: "listening" in log.read_text())
    assert res.rc("stop") == OCF_SUCCESS
    assert not alive(pid)


def test_foreign_pid_in_pid_file_is_never_killed(lab):
    res = lab.resource()
    res.pidfile.write_text("0\n")
    assert res.rc("monitor") == OCF_ERR_GENERIC
    with subprocess.Popen(["sleep", "60"]) as other:
        try:
            res.pidfile.write_text(f"{other.pid}\n")
            # pid reuse: the pid is alive but is not the daemon
            assert res.rc("monitor") == OCF_ERR_GENERIC
            assert res.rc("stop") == OCF_SUCCESS
            assert other.poll() is None
            assert not res.pidfile.exists()
            assert res.rc("start") == OCF_SUCCESS
            assert res.rc("monitor") == OCF_SUCCESS
            assert other.poll() is None
        finally:
            other.kill()


def test_instances_of_the_same_binary_are_independent(lab):
    # clone-style names with the default pid file location
    first = lab.resource(name="oss-clone:0", pid=None)
    second = lab.resource(name="oss-clone:1", pid=None)
    pid_dir = pathlib.Path("/run/resource-agents")
    try:
        assert first.rc("start") == OCF_SUCCESS
        assert second.rc("start") == OCF_SUCCESS
        first_pidfile = pid_dir / "openstack-service-oss-clone_0.pid"
        second_pidfile = pid_dir / "openstack-service-oss-clone_1.pid"
        first_pid = int(first_pidfile.read_text())
        second_pid = int(second_pidfile.read_text())
        assert first_pid != second_pid

        assert first.rc("stop") == OCF_SUCCESS
        assert not alive(first_pid)
        assert alive(second_pid)
        assert first.rc("monitor") == OCF_NOT_RUNNING
        assert second.rc("monitor") == OCF_SUCCESS
        assert second.rc("stop") == OCF_SUCCESS
        assert not first_pidfile.exists()
        assert not second_pidfile.exists()
    finally:
        first.rc("stop")
        second.rc("stop")


def test_start_fails_fast_when_daemon_exits(lab):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        # the daemon cannot bind its port and exits at once
        res = lab.resource(port=busy.getsockname()[1], monitor_url="", log_file=str(lab.root / "fail.log"))
        began = time.monotonic()
        proc = res.run("start", timeout_ms=30000)
        assert proc.returncode == OCF_ERR_GENERIC, proc.stderr
        assert time.monotonic() - began < 10
        assert "exited during start" in proc.stderr
        assert "Address already in use" in (lab.root / "fail.log").read_text()
    # Pacemaker stops a resource whose start failed
    assert res.rc("stop") == OCF_SUCCESS
    assert res.rc("monitor") == OCF_NOT_RUNNING


def test_start_gives_up_before_the_timeout(lab):
    res = lab.resource()
    url = f"http://127.0.0.1:{res.port}/never-ok"
    began = time.monotonic()
    proc = res.run("start", timeout_ms=5000, monitor_url=url)
    elapsed = time.monotonic() - began
    assert proc.returncode == OCF_ERR_GENERIC, proc.stderr
    assert 2 <= elapsed < 5, elapsed
    assert "not healthy" in proc.stderr
    pid = res.pid()
    assert res.rc("stop") == OCF_SUCCESS
    assert not alive(pid)

    # start_wait caps the wait further
    began = time.monotonic()
    assert res.rc("start", timeout_ms=20000, monitor_url=url, start_wait="2") == OCF_ERR_GENERIC
    assert time.monotonic() - began < 5


def test_stop_escalates_to_sigkill(lab):
    res = lab.resource(conf={"ignore_term": "true"})
    assert res.rc("start") == OCF_SUCCESS
    pid = res.pid()
    began = time.monotonic()
    proc = res.run("stop", timeout_ms=6000)
    elapsed = time.monotonic() - began
    assert proc.returncode == OCF_SUCCESS, proc.stderr
    assert elapsed < 6, elapsed
    assert "SIGKILL" in proc.stderr
    assert not alive(pid)


def test_stop_cleans_up_orphaned_workers(lab):
    res = lab.resource(conf={"fork_workers": "2"})
    assert res.rc("start") == OCF_SUCCESS
    pid = res.pid()
    assert wait_for(lambda: len(group_members(pid)) == 3)
    workers = [p for p in group_members(pid) if p != pid]

    # graceful stop of a healthy daemon takes the workers along
    assert res.rc("stop") == OCF_SUCCESS
    assert wait_for(lambda: not any(alive(p) for p in workers + [pid]), timeout=5)

    # the leader dies hard: its workers stay behind holding the group
    assert res.rc("start") == OCF_SUCCESS
    pid = res.pid()
    assert wait_for(lambda: len(group_members(pid)) == 3)
    workers = [p for p in group_members(pid) if p != pid]
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not alive(pid))
    assert all(alive(p) for p in workers)
    assert res.rc("monitor") == OCF_ERR_GENERIC
    assert res.rc("stop") == OCF_SUCCESS
    assert wait_for(lambda: not any(alive(p) for p in workers), timeout=5)


def test_command_line_options(lab):
    log = lab.root / "args.log"
    res = lab.resource(config_arg="--config-file=", extra_args="--debug --verbose", log_file=str(log))
    assert res.rc("start") == OCF_SUCCESS
    args = cmdline(res.pid())
    conf = res.params["config"]
    assert args[-3:] == ["--debug", "--verbose", f"--config-file={conf}"]
    assert res.rc("stop") == OCF_SUCCESS

    # empty config_arg: config is only validated, extra_args carry it
    res2 = lab.resource(config_arg="")
    conf = res2.params["config"]
    res2.params["extra_args"] = f"--config-file {conf}"
    assert res2.rc("start") == OCF_SUCCESS
    assert cmdline(res2.pid())[-2:] == ["--config-file", conf]
    assert cmdline(res2.pid()).count(conf) == 1
    assert res2.rc("stop") == OCF_SUCCESS


def test_refuses_to_run_without_ocf_shellfuncs(lab):
    """ocf-shellfuncs is a hard requirement: without it every action fails
    (the shell cannot source it) and nothing is started."""
    empty = lab.root / "no-ocf-lib"
    empty.mkdir()
    res = lab.resource(_OCF_FUNCTIONS_DIR=str(empty))
    for action in ("meta-data", "validate-all", "start", "monitor", "stop"):
        proc = res.run(action)
        assert proc.returncode not in (OCF_SUCCESS, OCF_NOT_RUNNING), (action, proc.returncode)
        assert f"{empty}/ocf-shellfuncs" in proc.stderr, (action, proc.stderr)
        assert proc.stdout == "", (action, proc.stdout)
    assert res.starts() == []
    assert not res.pidfile.exists()


def _ocf_lib_keeping_path(root):
    """A copy of the resource-agents library whose ocf-binaries does not
    append the system directories to PATH, so that commands left out of a
    PATH stay missing for the agent."""
    lib = root / "ocf-lib-keeping-path"
    lib.mkdir()
    for entry in SHELLFUNCS.parent.iterdir():
        if entry.is_file():
            shutil.copyfile(entry, lib / entry.name)
    binaries = lib / "ocf-binaries"
    lines = binaries.read_text(encoding="utf-8").splitlines(keepends=True)
    binaries.write_text("".join(line for line in lines if not line.lstrip().startswith("PATH=")), encoding="utf-8")
    return str(lib)


def _path_without(root, *excluded):
    """A PATH directory with every command of AGENT_PATH except excluded."""
    farm = root / ("bin-without-" + "-".join(excluded))
    farm.mkdir()
    for directory in AGENT_PATH.split(":"):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = farm / entry.name
            if entry.name in excluded or target.exists() or target.is_symlink():
                continue
            target.symlink_to(entry.path)
    farm.chmod(0o755)
    return str(farm)


@pytest.mark.parametrize(
    "missing, needed, user",
    [
        pytest.param(("setpriv",), "runuser", "nobody", id="runuser"),
        pytest.param(("setpriv", "runuser"), "su", "nobody", id="su"),
        pytest.param(("curl",), "python3", "root", id="http-python3"),
        pytest.param(("curl", "python3"), "wget", "root", id="http-wget"),
        pytest.param(("python3", "nc"), "bash", "root", id="tcp-bash"),
    ],
)
def test_tool_fallbacks(lab, missing, needed, user):
    """Each fallback (user switching, HTTP and TCP checkers) really works.
    ocf-shellfuncs appends the system directories to PATH, so these runs use
    a copy of it that leaves PATH alone."""
    if user != "root":
        if os.geteuid() != 0:
            pytest.skip("needs root to switch users")
        if not _world_accessible(lab.daemon) or not _world_accessible(_python_for_daemon()):
            pytest.skip("the test daemon or its interpreter is not accessible to nobody")
    lib = _ocf_lib_keeping_path(lab.root)
    path = _path_without(lab.root, *missing)
    if not os.path.exists(os.path.join(path, needed)):
        pytest.skip(f"{needed} is not installed")
    # the commands left out really are missing once ocf-shellfuncs is sourced
    probe = '. "$OCF_FUNCTIONS_DIR/ocf-shellfuncs"; for c; do command -v "$c" || :; done'
    seen = subprocess.run(
        ["/bin/sh", "-c", probe, "sh", *missing],
        env={"PATH": path, "OCF_ROOT": OCF_ROOT, "OCF_FUNCTIONS_DIR": lib},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert seen.stdout == "", seen.stdout
    res = lab.resource(user=user, _OCF_FUNCTIONS_DIR=lib, _PATH=path)
    res.params["monitor_port"] = str(res.port)
    proc = res.run("start")
    assert proc.returncode == OCF_SUCCESS, proc.stderr
    pid = res.pid()
    assert pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name == user
    assert res.rc("monitor") == OCF_SUCCESS
    assert res.rc("monitor", monitor_url=f"http://127.0.0.1:{res.port}/nope") == OCF_ERR_GENERIC
    assert res.rc("monitor", monitor_port=str(free_port())) == OCF_ERR_GENERIC
    assert res.rc("stop") == OCF_SUCCESS
    assert wait_for(lambda: not alive(pid), timeout=5)


@pytest.fixture
def installed_agent():
    """The agent installed as ocf:saltext-test:openstack-service (a provider
    of its own so it never clashes with a real installation); removed
    afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root to install into the OCF root")
    provider_dir = pathlib.Path(OCF_ROOT) / "resource.d" / "saltext-test"
    target = provider_dir / "openstack-service"
    created = not provider_dir.exists()
    provider_dir.mkdir(mode=0o755, exist_ok=True)
    shutil.copyfile(AGENT_SRC, target)
    target.chmod(0o755)
    try:
        yield "ocf:saltext-test:openstack-service"
    finally:
        target.unlink(missing_ok=True)
        if created:
            try:
                provider_dir.rmdir()
            except OSError:
                pass


@pytest.mark.skipif(shutil.which("crm_resource", path=AGENT_PATH) is None, reason="Pacemaker is not installed")
def test_pacemaker_runs_meta_data_and_validate(lab, installed_agent):
    """Pacemaker's own executor code (crm_resource) runs the agent."""
    crm_resource = shutil.which("crm_resource", path=AGENT_PATH)
    env = {"PATH": AGENT_PATH, "LANG": "C"}
    proc = subprocess.run(
        [crm_resource, "--show-metadata", installed_agent],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert '<resource-agent name="openstack-service"' in proc.stdout

    res = lab.resource()
    base = [crm_resource, "--validate", "--class", "ocf", "--provider", "saltext-test", "--agent", "openstack-service"]
    good = base + ["--option", f"binary={res.params['binary']}", "--option", f"config={res.params['config']}"]
    proc = subprocess.run(good, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == OCF_SUCCESS, proc.stdout + proc.stderr
    bad = base + ["--option", f"binary={lab.root / 'absent'}"]
    proc = subprocess.run(bad, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == OCF_ERR_INSTALLED, proc.stdout + proc.stderr
    assert "not found" in proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_agent_is_shellcheck_clean():
    proc = subprocess.run(
        ["shellcheck", "-s", "sh", str(AGENT_SRC)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("dash") is None, reason="dash is not installed")
def test_agent_parses_with_dash():
    assert subprocess.run(["dash", "-n", str(AGENT_SRC)], check=False).returncode == 0
    assert os.stat(AGENT_SRC).st_mode & 0o777 == 0o755
