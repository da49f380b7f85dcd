"""The shipped ``ocf:saltext:openstack-service`` agent, deployed by Salt, run by a real Pacemaker.

One SLS installs the agent (``pcmk.ocf_agent``) and declares a resource that
uses it (``require``); the resource runs the test daemon. Pacemaker's own
monitor then has to notice a ``kill -9`` and start the daemon again, and a
broken agent deployed over the good one must be refused without disturbing
the running service. Everything goes through ``salt-call`` inside node n1.
"""

import hashlib
import os
import pathlib
import signal
import textwrap
import time

import pytest

from saltext.pcmk.utils.agents import SHIPPED_DIR
from tests.support import testservice
from tests.support.livecheck import cib, mon, running_on, stopped, wait
from tests.support.saltcall import NodeMinion, changed, failures

pytestmark = pytest.mark.live

AGENT_DIR = pathlib.Path("/usr/lib/ocf/resource.d/saltext")
AGENT_PATH = AGENT_DIR / "openstack-service"
MONITOR_INTERVAL = 2  # seconds: recovery after kill -9 takes a few of them


# -- helpers ----------------------------------------------------------------------------


def failed_ops(node, rsc):
    return mon(node).xpath("//failures/failure[starts-with(@op_key, $k)]/@op_key", k=f"{rsc}_")


def http_status(node, url):
    """HTTP status of GET url from inside the node's network namespace ('000': no answer)."""
    proc = node.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", url], check=False)
    return proc.stdout.strip()


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def purge(node, prefix, timeout=60):
    root = cib(node)
    for constraint in root.xpath("configuration/constraints/*"):
        refs = [constraint.get(a) for a in ("id", "rsc", "with-rsc", "first", "then")]
        if any(r and r.startswith(prefix) for r in refs):
            node.run(
                ["cibadmin", "--delete", "--xml-text", f'<{constraint.tag} id="{constraint.get("id")}"/>'], check=False
            )
    for top in root.xpath("configuration/resources/*"):
        if any(i.startswith(prefix) for i in top.xpath("descendant-or-self::*/@id")):
            # Pacemaker stops the orphan with the parameters it last ran it with.
            node.run(["cibadmin", "--delete", "--xml-text", f'<{top.tag} id="{top.get("id")}"/>'], check=False)
    wait(
        lambda: not mon(node).xpath("//resources//resource[starts-with(@id, $p)]", p=prefix),
        f"resources {prefix}* to be gone",
        timeout,
    )


class Service:
    """The test daemon's files for one resource: binary, config (port, starts file), pid, log."""

    def __init__(self, root):
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        self.root = root
        self.binary = testservice.install_daemon(root / "bin")
        self.port = testservice.free_port()
        self.starts_file = root / "starts"
        self.config = root / "daemon.conf"
        self.config.write_text(testservice.config_text(self.port, self.starts_file))
        self.url = f"http://127.0.0.1:{self.port}/health"

    def params(self, pid=True):
        params = {
            "binary": str(self.binary),
            "config": str(self.config),
            "monitor_url": self.url,
            "log_file": str(self.root / "daemon.log"),
        }
        if pid:
            params["pid"] = str(self.root / "daemon.pid")
        return params

    def starts(self):
        return testservice.starts(self.starts_file)

    def pids(self):
        return testservice.pids_of(self.binary)

    def kill_all(self):
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def agent_sls(rsc, params, extra="", monitor=True, stop_timeout=30):
    """The agent state plus a resource using it (``extra``: more state argument lines)."""
    ops = [f"{{name: monitor, interval: {MONITOR_INTERVAL}s, timeout: 20s}}"] if monitor else []
    ops += ["{name: start, interval: 0s, timeout: 30s}", f"{{name: stop, interval: 0s, timeout: {stop_timeout}s}}"]
    lines = [
        "saltext-agent:",
        "  pcmk.ocf_agent:",
        "    - name: openstack-service",
        "    - provider: saltext",
        f"{rsc}:",
        "  pcmk.resource:",
        "    - agent: ocf:saltext:openstack-service",
        "    - params:",
        *[f"        {k}: {v}" for k, v in params.items()],
        "    - ops:",
        *[f"      - {op}" for op in ops],
        *extra.splitlines(),
        "    - require:",
        "      - pcmk: saltext-agent",
    ]
    return "\n".join(lines) + "\n"


# -- fixtures -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def agent_install():
    """Remove the installed agent at the end only if this module installed it."""
    dir_existed, file_existed = AGENT_DIR.exists(), AGENT_PATH.exists()
    yield
    if not file_existed:
        AGENT_PATH.unlink(missing_ok=True)
    if not dir_existed and AGENT_DIR.exists() and not any(AGENT_DIR.iterdir()):
        AGENT_DIR.rmdir()


@pytest.fixture
def node(live_cluster):
    return live_cluster.node("n1")


@pytest.fixture
def minion(node, tmp_path):
    return NodeMinion(node, tmp_path / "minion")


@pytest.fixture
def service(node, tmp_path):
    svc = Service(tmp_path / "svc")
    yield svc
    svc.kill_all()


def _prefix(request):
    name = "".join(ch for ch in request.node.originalname.removeprefix("test_") if ch.isalnum())[:16]
    param = "".join(ch for ch in getattr(getattr(request.node, "callspec", None), "id", "") if ch.isalnum())
    return f"it-{name}{'-' + param if param else ''}-"


@pytest.fixture
def prefix(node, request):
    prefix = _prefix(request)
    purge(node, prefix)
    yield prefix
    purge(node, prefix)


# -- tests ---------------------------------------------------------------------------------
def test_deployed_agent_runs_the_daemon_and_pacemaker_recovers_it(node, minion, service, prefix, agent_install):
    rsc = f"{prefix}svc"
    minion.write_sls("svc", agent_sls(rsc, service.params()))
    results = minion.apply("svc")
    assert not failures(results), failures(results)
    assert rsc in changed(results)
    assert AGENT_PATH.read_text() == (SHIPPED_DIR / "openstack-service").read_text()
    assert (AGENT_PATH.stat().st_mode & 0o7777, AGENT_PATH.stat().st_uid) == (0o755, 0)

    wait(lambda: running_on(node, rsc) == ["n1"], f"{rsc} Started on n1", 40)
    assert http_status(node, service.url) == "200"
    assert len(service.starts()) == 1
    first = int(service.starts()[0])
    assert service.pids() == [first]
    assert (service.root / "daemon.pid").read_text().strip() == str(first)

    # A second run finds everything as declared.
    again = minion.apply("svc")
    assert not failures(again) and not changed(again), again

    # kill -9: the monitor fails and Pacemaker starts a new daemon.
    os.kill(first, signal.SIGKILL)
    wait(lambda: len(service.starts()) == 2, "a second start of the daemon", 30)
    wait(lambda: http_status(node, service.url) == "200", "the restarted daemon to answer", 30)
    wait(lambda: running_on(node, rsc) == ["n1"], f"{rsc} running again", 30)
    second = int(service.starts()[1])
    assert second != first and service.pids() == [second]
    assert f"{rsc}_monitor_{MONITOR_INTERVAL * 1000}" in failed_ops(node, rsc)

    # pcmk.stop stops it for good: the process is gone and nothing restarts it.
    assert minion.call("pcmk.stop", rsc, "timeout=60") is True
    wait(lambda: not service.pids(), "the daemon to exit", 30)
    assert not running_on(node, rsc)
    assert http_status(node, service.url) == "000"
    assert not (service.root / "daemon.pid").exists()


def test_clone_runs_and_broken_agent_is_refused(node, minion, service, prefix, agent_install, tmp_path):
    rsc = f"{prefix}svc"
    clone = f"{rsc}-clone"
    # No pid parameter: the agent's per-instance default under /run/resource-agents.
    minion.write_sls("svc", agent_sls(rsc, service.params(pid=False), extra="    - clone: true\n"))
    results = minion.apply("svc")
    assert not failures(results), failures(results)
    assert cib(node).xpath("configuration/resources/clone[@id=$c]/primitive/@id", c=clone) == [rsc]
    wait(lambda: running_on(node, rsc) == ["n1"], f"{clone} instance Started on n1", 40)
    assert http_status(node, service.url) == "200"
    assert len(service.starts()) == 1 and len(service.pids()) == 1
    assert not changed(minion.apply("svc"))

    # Broken agents over the good one: refused before they replace it.
    good = sha256(AGENT_PATH)
    backup = tmp_path / "good-agent"
    backup.write_bytes(AGENT_PATH.read_bytes())
    syntax = tmp_path / "broken-syntax"
    syntax.write_text(AGENT_PATH.read_text() + "\nif then fi (\n")
    not_xml = tmp_path / "broken-metadata"
    not_xml.write_text("#!/bin/sh\necho 'this is not meta-data'\nexit 0\n")
    minion.write_sls(
        "broken",
        textwrap.dedent(f"""\
        broken-syntax:
          pcmk.ocf_agent:
            - name: openstack-service
            - provider: saltext
            - source: {syntax}
        broken-metadata:
          pcmk.ocf_agent:
            - name: openstack-service
            - provider: saltext
            - source: {not_xml}
        """),
    )
    try:
        refused = minion.apply("broken")
        fails = failures(refused)
        assert set(fails) == {"broken-syntax", "broken-metadata"}, refused
        assert "syntax" in fails["broken-syntax"], fails
        assert "meta-data" in fails["broken-metadata"], fails
        assert sha256(AGENT_PATH) == good
        assert (AGENT_PATH.stat().st_mode & 0o7777) == 0o755
        assert sorted(p.name for p in AGENT_DIR.iterdir() if p.name.startswith(".")) == []  # no candidate left
    finally:
        if sha256(AGENT_PATH) != good:  # never leave a broken agent to the other tests
            AGENT_PATH.write_bytes(backup.read_bytes())
            AGENT_PATH.chmod(0o755)

    # The service was not touched: same daemon, healthy, no failed operation
    # over several monitor intervals.
    deadline = time.monotonic() + 2.5 * MONITOR_INTERVAL
    while time.monotonic() < deadline:
        assert len(service.starts()) == 1
        assert http_status(node, service.url) == "200"
        time.sleep(0.5)
    assert running_on(node, rsc) == ["n1"]
    assert not failed_ops(node, rsc)

    assert minion.call("pcmk.stop", clone, "timeout=60") is True
    wait(lambda: not service.pids(), "the clone's daemon to exit", 30)
    assert not running_on(node, rsc)


@pytest.mark.parametrize("monitor", [True, False], ids=["monitored", "unmonitored"])
def test_stop_returns_only_when_the_daemon_is_gone(node, minion, prefix, agent_install, tmp_path, monitor):
    """``pcmk.stop`` says it "waits until it is stopped"; the daemon must be gone then.

    This daemon ignores SIGTERM, so the agent's stop takes a few seconds
    (SIGKILL after three quarters of its budget), like a real service that is
    slow to shut down. Without a recurring monitor (``pcmk.resource`` without
    ``ops`` declares none) crm_mon shows the stop in flight as role
    "Stopping" with active="false".
    """
    svc = Service(tmp_path / "slowstop")
    svc.config.write_text(testservice.config_text(svc.port, svc.starts_file, ignore_term="true"))
    rsc = f"{prefix}svc"
    try:
        minion.write_sls("svc", agent_sls(rsc, svc.params(), monitor=monitor, stop_timeout=6))
        results = minion.apply("svc")
        assert not failures(results), failures(results)
        wait(lambda: running_on(node, rsc) == ["n1"], f"{rsc} Started", 40)
        assert len(svc.pids()) == 1

        assert minion.call("pcmk.stop", rsc, "timeout=60") is True
        alive, state = svc.pids(), mon(node).xpath("//resources//resource[@id=$r]/@role", r=rsc)
        assert not alive, f"pcmk.stop returned while the daemon {alive} still runs (crm_mon role {state})"
        assert stopped(node, rsc)
    finally:
        wait(lambda: not svc.pids(), "the daemon to be killed by the agent's stop", 30)
        svc.kill_all()


def test_start_of_a_resource_that_cannot_start_is_not_reported_as_success(
    node, minion, prefix, agent_install, tmp_path
):
    """``pcmk.start`` says it "waits until it runs"; a start that fails must not return True.

    The daemon answers /health with 503, so the agent's start gives up after
    ``start_wait`` seconds with rc 1 and the resource never runs.
    """
    svc = Service(tmp_path / "unhealthy")
    unhealthy = tmp_path / "unhealthy" / "flag"
    unhealthy.write_text("")
    svc.config.write_text(testservice.config_text(svc.port, svc.starts_file, unhealthy_file=unhealthy))
    rsc = f"{prefix}svc"
    try:
        params = {**svc.params(), "start_wait": 3}
        minion.write_sls("svc", agent_sls(rsc, params, extra="    - meta:\n        target-role: Stopped\n"))
        results = minion.apply("svc")
        assert not failures(results), failures(results)

        answer = minion.call("pcmk.start", rsc, "timeout=10", check=False)
        roles = mon(node).xpath("//resources//resource[@id=$r]/@role", r=rsc)
        assert answer is not True, f"pcmk.start returned True while crm_mon shows role {roles}; the start then fails"
    finally:
        wait(lambda: stopped(node, rsc), f"{rsc} to give up", 30)
        svc.kill_all()
