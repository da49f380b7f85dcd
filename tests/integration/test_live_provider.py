"""The transparent service provider on a live cluster: an unedited formula, pillar toggles.

The formula (tests/formulas/testsvc) is a plain file.managed + service.running
with watch. The minion uses ``providers: {service: pcmk_service}``; pillar
``pcmk:services:testsvc:ha`` alone decides whether the init system or
Pacemaker runs the daemon. The native side is ``fakeinit_service`` because
CI containers have no init system; everything on the Pacemaker side is real.
"""

import json
import shutil

import pytest

from tests.support import testservice
from tests.support.livecheck import cib, running_on, wait
from tests.support.saltcall import REPO, NodeMinion, changed, failures

pytestmark = pytest.mark.live

SERVICE = "testsvc"
SITE = """
include:
  - pcmk.agents
  - testsvc
  - pcmk.restarts
"""


def resource_ids(node):
    return set(cib(node).xpath("//resources//primitive/@id"))


class Lab:
    def __init__(self, node, root):
        self.node = node
        self.root = root
        self.daemon = testservice.install_daemon(root / "bin")
        self.port = testservice.free_port()
        self.starts_file = root / "starts"
        self.config = root / "etc" / "testsvc.conf"
        self.fakeinit = root / "fakeinit"
        self.fakeinit.mkdir()
        (self.fakeinit / f"{SERVICE}.json").write_text(
            json.dumps({"argv": [str(self.daemon), "--config-file", str(self.config)]})
        )
        shutil.copytree(REPO / "tests" / "formulas" / "testsvc", root / "minion" / "srv" / "testsvc")
        self.minion = NodeMinion(
            node,
            root / "minion",
            **{
                "providers": {"service": "pcmk_service"},
                "pcmk.native_service": "fakeinit_service",
                "module_dirs": [str(REPO / "tests" / "support" / "salt_modules")],
                "fakeinit.dir": str(self.fakeinit),
            },
        )
        self.minion.write_sls("site", SITE)

    def pillar(self, *, ha, greeting="hello", restart="cluster", clone=False):
        self.minion.set_pillar(
            {
                "testsvc": {
                    "config": str(self.config),
                    "port": self.port,
                    "starts_file": str(self.starts_file),
                    "greeting": greeting,
                },
                "pcmk": {
                    "restart": {"settle": 2, "timeout": 120},
                    "services": {
                        SERVICE: {
                            "ha": ha,
                            "restart": restart,
                            "clone": clone,
                            "params": {
                                "binary": str(self.daemon),
                                "config": str(self.config),
                                "pid": str(self.root / "testsvc.pid"),
                                "monitor_url": f"http://127.0.0.1:{self.port}/health",
                            },
                            "ops": [{"name": "monitor", "interval": "3s", "timeout": "20s"}],
                        }
                    },
                },
            }
        )

    def apply(self):
        results = self.minion.apply("site")
        assert not failures(results), failures(results)
        return results

    def starts(self):
        return testservice.starts(self.starts_file)

    def daemons(self):
        return testservice.pids_of(self.daemon)

    def native_running(self):
        return (
            self.node.run(
                ["start-stop-daemon", "--status", "--pidfile", str(self.fakeinit / f"{SERVICE}.pid")], check=False
            ).returncode
            == 0
        )


@pytest.fixture
def lab(live_cluster, tmp_path):
    tmp_path.chmod(0o755)
    lab = Lab(live_cluster.node("n1"), tmp_path)
    yield lab
    node = lab.node
    if SERVICE in resource_ids(node):
        lab.minion.call(
            "pcmk.resource_delete",
            f"{SERVICE}-clone" if cib(node).xpath(f"//clone[@id='{SERVICE}-clone']") else SERVICE,
            check=False,
        )
    node.run(
        ["start-stop-daemon", "--stop", "--retry", "TERM/5/KILL/5", "--pidfile", str(lab.fakeinit / f"{SERVICE}.pid")],
        check=False,
    )
    for pid in lab.daemons():
        node.run(["kill", "-9", str(pid)], check=False)


def test_unedited_formula_follows_the_pillar_toggle(lab):
    node = lab.node
    # 1. HA off: the init system runs it; Pacemaker knows nothing of it.
    lab.pillar(ha=False)
    lab.apply()
    wait(lambda: len(lab.starts()) == 1, "the native start")
    assert lab.native_running() and SERVICE not in resource_ids(node)
    assert (lab.fakeinit / f"{SERVICE}.enabled").exists()
    assert len(lab.daemons()) == 1

    # 2. HA on, same SLS: Pacemaker runs it, the init system's copy is stopped and off at boot.
    lab.pillar(ha=True)
    results = lab.apply()
    assert "testsvc" in changed(results)
    assert running_on(node, SERVICE) == ["n1"]
    assert not lab.native_running() and not (lab.fakeinit / f"{SERVICE}.enabled").exists()
    assert len(lab.starts()) == 2 and len(lab.daemons()) == 1
    primitive = cib(node).xpath(f"//primitive[@id='{SERVICE}']")[0]
    assert (primitive.get("class"), primitive.get("provider"), primitive.get("type")) == (
        "ocf",
        "saltext",
        "openstack-service",
    )

    # 3. Nothing changed: nothing happens.
    epoch = cib(node).get("epoch")
    again = lab.apply()
    assert changed(again) == set() and len(lab.starts()) == 2
    assert cib(node).get("epoch") == epoch

    # 4. A config change: exactly one restart, by the end-of-run pending restarts.
    lab.pillar(ha=True, greeting="bonjour")
    results = lab.apply()
    assert results["testsvc"]["changes"], results["testsvc"]
    assert "restarted" in json.dumps(results["pcmk-pending-restarts"]["changes"])
    wait(lambda: running_on(node, SERVICE) == ["n1"], "the resource to run again")
    assert len(lab.starts()) == 3 and len(lab.daemons()) == 1
    assert not cib(node).xpath("//nvpair[starts-with(@name, 'saltext-restart-')]")

    # 5. HA off again: the cluster lets go, the init system runs it; still one daemon.
    lab.pillar(ha=False, greeting="bonjour")
    lab.apply()
    assert SERVICE not in resource_ids(node)
    wait(lab.native_running, "the native start after hand-back")
    assert len(lab.starts()) == 4 and len(lab.daemons()) == 1
    assert (lab.fakeinit / f"{SERVICE}.enabled").exists()


@pytest.mark.parametrize("clone", [False, True], ids=["single", "clone"])
def test_local_restart_policy_restarts_now(lab, clone):
    lab.pillar(ha=True, restart="local", clone=clone)
    lab.apply()
    assert running_on(lab.node, SERVICE) == ["n1"]
    lab.pillar(ha=True, greeting="hi", restart="local", clone=clone)
    results = lab.apply()
    assert results["testsvc"]["changes"]
    assert len(lab.starts()) == 2 and running_on(lab.node, SERVICE) == ["n1"]
    assert results["pcmk-pending-restarts"]["comment"] == "no restart was pending for this node"
    assert not cib(lab.node).xpath("//rsc_location[starts-with(@id, 'cli-ban-')]")  # the local restart's ban is gone


def test_enable_disable_mean_managed_by_the_cluster(lab):
    lab.pillar(ha=True)
    lab.apply()
    assert lab.minion.call("service.enabled", SERVICE) is True
    assert lab.minion.call("service.disable", SERVICE) is True
    assert cib(lab.node).xpath(f"//primitive[@id='{SERVICE}']/meta_attributes/nvpair[@name='is-managed']/@value") == [
        "false"
    ]
    assert lab.minion.call("service.enabled", SERVICE) is False
    assert running_on(lab.node, SERVICE) == ["n1"]  # unmanaged, not stopped
    assert lab.minion.call("service.enable", SERVICE) is True
    assert not cib(lab.node).xpath(f"//primitive[@id='{SERVICE}']//nvpair[@name='is-managed']")
    info = lab.minion.call("service.info", SERVICE)
    assert info["ha"] and info["resource"] == SERVICE and info["running_on"] == ["n1"]


EXPLICIT = """
include:
  - pcmk.agents
  - pcmk.restarts

testsvc-config:
  file.managed:
    - name: {{ pillar['testsvc']['config'] }}
    - makedirs: true
    - contents: |
        [DEFAULT]
        port = {{ pillar['testsvc']['port'] }}
        starts_file = {{ pillar['testsvc']['starts_file'] }}
        greeting = {{ pillar['testsvc']['greeting'] }}

testsvc-ha:
  pcmk.service_provider:
    - name: testsvc
    - require:
      - sls: pcmk.agents
    - watch:
      - file: testsvc-config
"""


def test_explicit_service_provider_state(lab):
    node = lab.node
    lab.minion.write_sls("explicit", EXPLICIT)
    # The init system runs it first (enabled, started by hand as an operator would have).
    lab.pillar(ha=False)
    results = lab.minion.apply("explicit")
    assert not failures(results), failures(results)
    wait(lab.native_running, "the native service")
    assert len(lab.starts()) == 1

    lab.pillar(ha=True)
    results = lab.minion.apply("explicit")
    assert not failures(results), failures(results)
    assert results["testsvc-ha"]["changes"]["init system"] == {"stopped and disabled": SERVICE}
    assert "resource testsvc" in results["testsvc-ha"]["changes"]
    wait(lambda: running_on(node, SERVICE) == ["n1"], "Pacemaker to run it")
    assert not lab.native_running() and not (lab.fakeinit / f"{SERVICE}.enabled").exists()
    assert len(lab.daemons()) == 1

    lab.pillar(ha=True, greeting="salut")
    results = lab.minion.apply("explicit")
    assert not failures(results), failures(results)
    assert results["testsvc-ha"]["changes"] == {"restart": "requested (performed once cluster-wide)"}
    wait(lambda: running_on(node, SERVICE) == ["n1"], "the restarted resource")
    assert len(lab.starts()) == 3  # native start, cluster start, one restart

    lab.pillar(ha=False, greeting="salut")
    results = lab.minion.apply("explicit")
    assert not failures(results), failures(results)
    assert results["testsvc-ha"]["changes"]["init system"] == {"enabled": SERVICE, "started": SERVICE}
    assert SERVICE not in resource_ids(node)
    wait(lab.native_running, "the native service after hand-back")
    assert len(lab.daemons()) == 1 and len(lab.starts()) == 4
