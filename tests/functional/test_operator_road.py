"""The operator's road, offline: advised operations, the pillar formula, adoption.

Each test here was written against a defect met on the road a new operator
takes (pillar toggles + the formula, resources made by pcs or crmsh, a lab on
a CIB file) and failed before its fix.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from tests.functional.test_formula import REPO


def ops_of(cib_text, resource):
    """``{(name, interval, role): {attr: value}}`` of a primitive's ops."""
    root = etree.fromstring(cib_text.encode())
    found = {}
    for op in root.xpath("//primitive[@id=$r]/operations/op", r=resource):
        attrs = {k: v for k, v in op.attrib.items() if k not in ("id", "name", "interval", "role")}
        found[(op.get("name"), op.get("interval"), op.get("role"))] = attrs
    return found


def pcs(cib_file, *argv):
    if shutil.which("pcs") is None:
        pytest.skip("pcs not installed")
    subprocess.run(["pcs", "-f", str(cib_file), *argv], check=True, capture_output=True)


# -- item 8: operations the agent advises --------------------------------------------------
def test_a_new_resource_gets_the_operations_its_agent_advises(salt_env):
    result = salt_env.sls("""
    plain:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
    galera:
      pcmk.resource:
        - agent: ocf:heartbeat:galera
        - params: {wsrep_cluster_address: "gcomm://n1,n2,n3"}
        - promotable: true
    """)
    assert result.all_ok, result.failures()
    cib = salt_env.cib_text()
    # What the agent's meta-data advises; reload/migrate are not copied (Dummy advises them).
    assert ops_of(cib, "plain") == {
        ("start", "0s", None): {"timeout": "20s"},
        ("stop", "0s", None): {"timeout": "20s"},
        ("monitor", "10s", None): {"timeout": "20s"},
    }
    galera = ops_of(cib, "galera")
    assert galera[("start", "0s", None)] == {"timeout": "120s"}
    assert galera[("promote", "0s", None)] == {"timeout": "300s"}
    assert galera[("monitor", "10s", "Promoted")] == {"timeout": "30s"}
    assert galera[("monitor", "30s", "Unpromoted")] == {"timeout": "30s"}
    # The run reported what it wrote, and a second run writes nothing.
    assert "monitor" in str(result["galera"]["changes"])
    before = salt_env.cib_file.read_bytes()
    again = salt_env.sls(salt_env.roots.joinpath("t.sls").read_text())
    assert again.changed == set() and salt_env.cib_file.read_bytes() == before


def test_an_explicit_op_wins_per_operation_and_default_ops_false_opts_out(salt_env):
    result = salt_env.sls("""
    slow:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - ops:
          - {name: start, timeout: 200s}
          - {name: monitor, interval: 30s}
    bare:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - default_ops: false
    """)
    assert result.all_ok, result.failures()
    cib = salt_env.cib_text()
    assert ops_of(cib, "slow") == {
        ("start", "0s", None): {"timeout": "200s"},  # explicit timeout wins
        ("stop", "0s", None): {"timeout": "20s"},  # advised
        ("monitor", "30s", None): {"timeout": "20s"},  # explicit interval, advised timeout
    }
    # Like pcs resource create --no-default-ops: a monitor always, nothing else.
    assert ops_of(cib, "bare") == {("monitor", "10s", None): {"timeout": "20s"}}


def test_pcs_made_resources_redeclared_with_only_a_monitor_change_nothing(salt_env):
    pcs(salt_env.cib_file, "resource", "create", "vip", "ocf:heartbeat:IPaddr2", "ip=192.0.2.10", "cidr_netmask=24")
    pcs(salt_env.cib_file, "resource", "create", "d1", "ocf:pacemaker:Dummy")  # pcs also copies reload, migrate_*
    before = salt_env.cib_file.read_bytes()
    for test in (True, False):
        result = salt_env.sls(
            """
        vip:
          pcmk.resource:
            - agent: ocf:heartbeat:IPaddr2
            - params: {ip: 192.0.2.10, cidr_netmask: 24}
            - ops:
              - {name: monitor, interval: 10s}
        d1:
          pcmk.resource:
            - agent: ocf:pacemaker:Dummy
            - ops:
              - {name: monitor, interval: 10s}
        """,
            test=test,
        )
        assert result.all_ok, result.failures()
        assert result.changed == set(), result.raw
    assert salt_env.cib_file.read_bytes() == before
    # A declared monitor is still exact: another interval replaces pcs's.
    moved = salt_env.sls("""
    vip:
      pcmk.resource:
        - agent: ocf:heartbeat:IPaddr2
        - params: {ip: 192.0.2.10, cidr_netmask: 24}
        - ops:
          - {name: monitor, interval: 5s}
    """)
    ops = ops_of(salt_env.cib_text(), "vip")
    assert ("monitor", "10s", None) not in ops and ops[("monitor", "5s", None)] == {"timeout": "20s"}
    assert ("start", "0s", None) in ops and ("stop", "0s", None) in ops  # pcs's, left alone
    assert moved["vip"]["changes"]


# -- item 1: test=True before the agent is deployed ------------------------------------------
def test_test_mode_checks_a_resource_against_the_agent_this_run_would_deploy(salt_env, tmp_path):
    provider = f"saltext-test-{os.getpid()}"
    assert not os.path.exists(f"/usr/lib/ocf/resource.d/{provider}")
    source = tmp_path / "dummy-agent"
    source.write_text(Path("/usr/lib/ocf/resource.d/pacemaker/Dummy").read_text(encoding="utf-8"))
    sls = f"""
    agent:
      pcmk.ocf_agent:
        - name: fresh
        - provider: {provider}
        - source: {source}
    fresh-rsc:
      pcmk.resource:
        - agent: ocf:{provider}:fresh
        - params: {{fake: x}}
        - require:
          - pcmk: agent
    """
    result = salt_env.sls(sls, test=True)
    assert result.all_ok, result.failures()
    assert result["agent"]["result"] is None and result["fresh-rsc"]["result"] is None
    # Checked against the candidate's meta-data: its advised ops and its parameters.
    assert "start" in result["fresh-rsc"]["comment"] and "timeout" in result["fresh-rsc"]["comment"]
    wrong = salt_env.sls(sls.replace("fake: x", "fakez: x"), test=True)
    assert "agent ocf:" + provider + ":fresh has no parameter 'fakez'" in wrong.failures()["fresh-rsc"]
    assert not os.path.exists(f"/usr/lib/ocf/resource.d/{provider}")  # test mode installed nothing


# -- items 2-6: the pillar formula on an offline CIB ----------------------------------------
SERVICES_SLS = "include:\n  - pcmk.services\n"


@pytest.fixture
def formula_lab(salt_env):
    """The formula on a CIB file with three nodes; the native init system is the
    tests' fakeinit (nothing on this host is started, stopped or disabled)."""
    env = dict(os.environ, CIB_file=str(salt_env.cib_file))
    for nodeid, name in enumerate(("n1", "n2", "n3"), start=1):
        subprocess.run(
            ["cibadmin", "--create", "-o", "nodes", "--xml-text", f'<node id="{nodeid}" uname="{name}"/>'],
            check=True,
            env=env,
        )
    salt_env.configure(
        file_roots={"base": [str(salt_env.roots), str(REPO / "states")]},
        module_dirs=[str(REPO / "tests" / "support" / "salt_modules")],
        **{"pcmk.native_service": "fakeinit_service", "fakeinit.dir": str(salt_env.scratch)},
    )
    return salt_env


NEXT_GENERATION = {
    "pcmk": {
        "profile": "next-generation",
        "vips": {"vip-public": {"ip": "192.0.2.10", "cidr_netmask": 24}},
        # Offline there is no haproxy unit or init script to derive an agent from.
        "services": {
            "haproxy": {"agent": "ocf:pacemaker:Dummy"},
            "cinder-volume": {"params": {"binary": "/usr/bin/cinder-volume"}},
        },
    }
}


@pytest.mark.parametrize("aggregate", [False, True], ids=["plain", "state_aggregate"])
def test_next_generation_profile_from_pillar_alone(formula_lab, aggregate):
    formula_lab.configure(state_aggregate=["pcmk"] if aggregate else False)
    before = formula_lab.cib_file.read_bytes()
    dry = formula_lab.sls(SERVICES_SLS, test=True, pillar=NEXT_GENERATION)
    assert dry.all_ok, dry.failures()
    assert formula_lab.cib_file.read_bytes() == before
    assert "resource galera" in dry["pcmk-service-mariadb"]["comment"] or dry["pcmk-service-mariadb"]["changes"]

    result = formula_lab.sls(SERVICES_SLS, pillar=NEXT_GENERATION)
    assert result.all_ok, result.failures()
    root = etree.fromstring(formula_lab.cib_file.read_bytes())
    assert set(root.xpath("//resources/*/@id")) >= {
        "vip-public",
        "haproxy-clone",
        "galera-clone",
        "rabbitmq-clone",
        "redis-clone",
        "cinder-volume",
    }
    assert root.xpath("//rsc_order[@id='vip-public-then-haproxy']/@then") == ["haproxy-clone"]
    assert root.xpath("//rsc_colocation[@id='vip-public-with-haproxy']/@with-rsc") == ["haproxy-clone"]
    # Galera can form a cluster: every node in its address, every node promoted.
    assert root.xpath("//primitive[@id='galera']//nvpair[@name='wsrep_cluster_address']/@value") == ["gcomm://n1,n2,n3"]
    assert root.xpath("//clone[@id='galera-clone']//nvpair[@name='promoted-max']/@value") == ["3"]
    assert ops_of(formula_lab.cib_text(), "galera")[("start", "0s", None)] == {"timeout": "120s"}
    assert ops_of(formula_lab.cib_text(), "vip-public")[("monitor", "10s", None)] == {"timeout": "20s"}
    # Offline the restarts are left to the live cluster, not a failure; and
    # even with state_aggregate they come last (Salt 3008 would fold them in first).
    assert "offline CIB" in result["pcmk-pending-restarts"]["comment"]
    run_order = sorted(result.by_id, key=lambda ident: result[ident]["__run_num__"])
    assert run_order[-1] == "pcmk-pending-restarts", run_order
    assert run_order.index("pcmk-agent-openstack-service") < run_order.index("pcmk-service-cinder-volume")

    written = formula_lab.cib_file.read_bytes()
    again = formula_lab.sls(SERVICES_SLS, pillar=NEXT_GENERATION)
    assert again.all_ok and again.changed == set(), again.failures() or again.changed
    assert formula_lab.cib_file.read_bytes() == written


def test_constraints_between_pillar_services_work_on_the_first_run(formula_lab):
    dummy = {"ha": True, "agent": "ocf:pacemaker:Dummy"}
    pillar = {
        "pcmk": {
            "services": {
                "app-a": {**dummy, "constraints": [{"kind": "order", "first": "app-b"}]},
                "app-b": dummy,
            }
        }
    }
    dry = formula_lab.sls(SERVICES_SLS, test=True, pillar=pillar)
    assert dry.all_ok, dry.failures()
    result = formula_lab.sls(SERVICES_SLS, pillar=pillar)
    assert result.all_ok, result.failures()
    root = etree.fromstring(formula_lab.cib_file.read_bytes())
    assert root.xpath("//rsc_order[@id='app-a-order-1']/@first") == ["app-b"]


@pytest.mark.parametrize(
    "pcmk_pillar",
    [{"services": None}, {}, {"services": {"svc": {"ha": True, "agent": "ocf:pacemaker:Dummy"}}}],
    ids=["null", "empty", "no-vips"],
)
def test_services_without_vips_or_with_nothing_declared(formula_lab, pcmk_pillar):
    result = formula_lab.sls(SERVICES_SLS, pillar={"pcmk": pcmk_pillar})
    assert result.all_ok, result.failures()


def test_a_broken_pillar_names_its_key_and_writes_nothing(formula_lab):
    before = formula_lab.cib_file.read_bytes()
    raw = (
        formula_lab.loaders.modules.state.sls("t", pillar={"pcmk": {"services": {"nova-api": "ha"}}})
        if (formula_lab.roots / "t.sls").write_text(SERVICES_SLS)
        else None
    )
    assert "pillar pcmk:services:nova-api must be a mapping" in str(getattr(raw, "raw", raw))
    assert formula_lab.cib_file.read_bytes() == before


# -- item 7: taking over existing resources through the provider --------------------------
def test_the_provider_adopts_a_crmsh_made_resource_without_churn(formula_lab):
    if shutil.which("crm") is None:
        pytest.skip("crmsh not installed")
    env = dict(os.environ, CIB_file=str(formula_lab.cib_file))
    subprocess.run(["crm_attribute", "-n", "stonith-enabled", "-v", "false"], check=True, env=env)
    subprocess.run(
        [
            "crm",
            "configure",
            "primitive",
            "cinder-volume",
            "ocf:pacemaker:Dummy",
            'description="the operator\'s own words"',
            "op",
            "monitor",
            "interval=10s",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    pillar = {"pcmk": {"services": {"cinder-volume": {"ha": True, "agent": "ocf:pacemaker:Dummy"}}}}
    before = formula_lab.cib_file.read_bytes()
    for test in (True, False):
        result = formula_lab.sls(SERVICES_SLS, test=test, pillar=pillar)
        assert result.all_ok, result.failures()
        assert "pcmk-service-cinder-volume" not in result.changed, result["pcmk-service-cinder-volume"]
    assert formula_lab.cib_file.read_bytes() == before
    # HA off: an adopted resource is not the provider's to remove.
    result = formula_lab.sls(SERVICES_SLS, pillar={"pcmk": {"services": {"cinder-volume": {"ha": False}}}})
    assert result.all_ok, result.failures()
    assert formula_lab.cib_file.read_bytes() == before


def test_the_provider_marks_what_it_creates_and_hands_it_back(formula_lab):
    pillar = {"pcmk": {"services": {"cinder-volume": {"ha": True, "agent": "ocf:pacemaker:Dummy"}}}}
    assert formula_lab.sls(SERVICES_SLS, pillar=pillar).all_ok
    root = etree.fromstring(formula_lab.cib_file.read_bytes())
    assert root.xpath(
        "//primitive[@id='cinder-volume']/meta_attributes/nvpair[@name='saltext-pcmk-service']/@value"
    ) == ["cinder-volume"]
    assert root.xpath("//primitive[@id='cinder-volume']/@description") == []
    # Declared meta attributes are exact, but never drop the marker.
    pillar["pcmk"]["services"]["cinder-volume"]["meta"] = {"resource-stickiness": 100}
    assert formula_lab.sls(SERVICES_SLS, pillar=pillar).all_ok
    root = etree.fromstring(formula_lab.cib_file.read_bytes())
    assert root.xpath("//primitive[@id='cinder-volume']//nvpair[@name='saltext-pcmk-service']")
    result = formula_lab.sls(SERVICES_SLS, pillar={"pcmk": {"services": {"cinder-volume": {"ha": False}}}})
    assert result.all_ok, result.failures()
    assert "handed back" in str(result["pcmk-service-cinder-volume"]["changes"])
    assert etree.fromstring(formula_lab.cib_file.read_bytes()).xpath("//primitive[@id='cinder-volume']") == []


CINDER_FORMULA = """
{{ pillar['lab'] }}/cinder.conf:
  file.managed:
    - contents: {{ pillar['lab_version'] }}
{% for svc in ['cinder-api', 'cinder-scheduler', 'cinder-volume'] %}
{{ svc }}:
  service.running:
    - enable: true
    - watch:
      - file: {{ pillar['lab'] }}/cinder.conf
{% endfor %}
"""


@pytest.fixture
def native_cinder(formula_lab):
    """cinder-api and cinder-scheduler as services of the tests' fakeinit (stopped afterwards)."""
    for svc in ("cinder-api", "cinder-scheduler"):
        (formula_lab.scratch / f"{svc}.json").write_text('{"argv": ["/bin/sleep", "600"]}')
    yield
    for svc in ("cinder-api", "cinder-scheduler"):
        subprocess.run(
            [
                "start-stop-daemon",
                "--stop",
                "--quiet",
                "--pidfile",
                str(formula_lab.scratch / f"{svc}.pid"),
                "--remove-pidfile",
            ],
            check=False,
        )


def test_openstack_wrapper_runs_offline_and_shows_the_cib_diff(formula_lab, native_cinder, tmp_path):
    (formula_lab.roots / "cinder").mkdir()
    (formula_lab.roots / "cinder" / "init.sls").write_text(CINDER_FORMULA)
    pillar = {
        "lab": str(tmp_path),
        "lab_version": "v1",
        "pcmk": {"services": {"cinder-volume": {"ha": True, "agent": "ocf:pacemaker:Dummy"}}},
    }
    before = formula_lab.cib_file.read_bytes()
    dry = formula_lab.sls("include:\n  - openstack.cinder\n", test=True, pillar=pillar)
    assert not any("Traceback" in str(v["comment"]) for v in dry.by_id.values())
    assert dry["pcmk-service-cinder-volume"]["result"] is None
    assert "+ resource cinder-volume" in dry["pcmk-service-cinder-volume"]["comment"]
    assert formula_lab.cib_file.read_bytes() == before

    result = formula_lab.sls("include:\n  - openstack.cinder\n", pillar=pillar)
    assert result.all_ok, result.failures()
    assert etree.fromstring(formula_lab.cib_file.read_bytes()).xpath("//primitive[@id='cinder-volume']")
    # The resources exist now: test=True again, no traceback, nothing would change in the CIB.
    again = formula_lab.sls("include:\n  - openstack.cinder\n", test=True, pillar=pillar)
    assert again["pcmk-service-cinder-volume"]["result"] is True, again["pcmk-service-cinder-volume"]["comment"]
    # A config change: offline nothing runs to restart, and nothing fails.
    changed = formula_lab.sls("include:\n  - openstack.cinder\n", pillar=dict(pillar, lab_version="v2"))
    assert changed.all_ok, changed.failures()


# -- item 9: VIPs with their own ops and meta ----------------------------------------------
def test_vips_take_ops_and_meta_and_default_to_the_advised_monitor(formula_lab):
    pillar = {
        "pcmk": {
            "vips": {
                "vip-a": {"ip": "192.0.2.10", "cidr_netmask": 24},
                "vip-b": {
                    "ip": "192.0.2.11",
                    "cidr_netmask": 24,
                    "ops": [{"name": "monitor", "interval": "5s"}],
                    "meta": {"resource-stickiness": 200},
                },
            }
        }
    }
    result = formula_lab.sls("include:\n  - pcmk.vips\n", pillar=pillar)
    assert result.all_ok, result.failures()
    cib = formula_lab.cib_text()
    assert ops_of(cib, "vip-a")[("monitor", "10s", None)] == {"timeout": "20s"}
    assert ops_of(cib, "vip-b")[("monitor", "5s", None)] == {"timeout": "20s"}
    assert ("monitor", "10s", None) not in ops_of(cib, "vip-b")
    root = etree.fromstring(cib.encode())
    assert root.xpath("//primitive[@id='vip-b']/meta_attributes/nvpair[@name='resource-stickiness']/@value") == ["200"]
