"""The SLS formula in states/ renders as documented (real Salt renderer, offline)."""

import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

NOVA_FORMULA = """
/etc/nova/nova.conf:
  file.managed:
    - contents: "[DEFAULT]"
{% for svc in ['nova-api', 'nova-scheduler', 'nova-conductor'] %}
{{ svc }}:
  service.running:
    - enable: true
    - watch:
      - file: /etc/nova/nova.conf
{% endfor %}
"""


@pytest.fixture
def formula_env(salt_env):
    salt_env.configure(file_roots={"base": [str(salt_env.roots), str(REPO / "states")]})
    return salt_env


def show(env, sls, pillar=None):
    """The low chunks of ``sls`` after include and extend, by state id.

    state.show_low_sls skips ``extend``; a real run applies it with
    reconcile_extend before compiling, so this does the same.
    """
    import salt.state  # pylint: disable=import-outside-toplevel

    (env.roots / "nova").mkdir(exist_ok=True)
    (env.roots / "nova" / "init.sls").write_text(NOVA_FORMULA)
    high = env.loaders.modules.state.show_sls(sls, pillar=pillar or {})
    assert isinstance(high, dict), high
    state = salt.state.State(dict(env.opts, pillar=pillar or {}))
    high, errors = state.reconcile_extend(dict(high))
    assert not errors, errors
    chunks, errors = state.compile_high_data(high)
    assert not errors, errors
    return {chunk["__id__"]: chunk for chunk in chunks}


def test_openstack_wrapper_extends_the_unedited_formula_with_the_provider(formula_env):
    high = show(formula_env, "openstack.nova")
    for svc in ("nova-api", "nova-scheduler", "nova-conductor"):
        assert high[svc]["provider"] == "pcmk_service", svc
        # The formula's own arguments are untouched (Salt 3008 keeps requisites out of compiled chunks).
        assert (high[svc]["fun"], high[svc]["enable"]) == ("running", True)
    assert "pcmk-agent-openstack-service" in high and "pcmk-pending-restarts" in high


def test_wrapper_state_ids_come_from_pillar(formula_env):
    (formula_env.roots / "mynova").mkdir()
    (formula_env.roots / "mynova" / "init.sls").write_text(NOVA_FORMULA.replace("{{ svc }}:", "{{ svc }}-service:"))
    pillar = {
        "pcmk": {
            "wrappers": {
                "nova": {
                    "formula": "mynova",
                    "states": {
                        "nova-api": "nova-api-service",
                        "nova-scheduler": "nova-scheduler-service",
                        "nova-conductor": "nova-conductor-service",
                    },
                }
            }
        }
    }
    high = show(formula_env, "openstack.nova", pillar)
    assert high["nova-api-service"]["provider"] == "pcmk_service"


@pytest.mark.parametrize("project", ["keystone", "glance", "nova", "neutron", "cinder", "heat"])
def test_every_wrapper_renders(formula_env, project):
    from jinja2 import Environment, FileSystemLoader  # the map is plain Jinja

    services = (
        Environment(loader=FileSystemLoader(str(REPO / "states")))
        .get_template("openstack/map.jinja")
        .module.projects[project]
    )
    (formula_env.roots / project).mkdir(exist_ok=True)
    (formula_env.roots / project / "init.sls").write_text(
        "\n".join(f"{svc}:\n  service.running: []" for svc in services) + "\n"
    )
    high = show(formula_env, f"openstack.{project}")
    assert all(high[svc]["provider"] == "pcmk_service" for svc in services)


def test_generic_wrapper_vips_and_provider_dropin(formula_env):
    pillar = {
        "pcmk": {
            "vips": {"vip-public": {"ip": "192.0.2.10", "cidr_netmask": 24}},
            "services": {
                "cinder-volume": {"ha": True, "params": {"binary": "/usr/bin/cinder-volume"}},
                "nova-api": {"ha": False},
            },
            "minion_provider": True,
        }
    }
    high = show(formula_env, "pcmk.services", pillar)
    assert high["vip-public"]["params"] == {"ip": "192.0.2.10", "cidr_netmask": 24}
    assert high["vip-public"]["agent"] == "ocf:heartbeat:IPaddr2"
    assert (high["pcmk-service-cinder-volume"]["fun"], high["pcmk-service-cinder-volume"]["name"]) == (
        "service_provider",
        "cinder-volume",
    )
    assert "pcmk-service-nova-api" in high  # ha false: handed (back) to the init system
    dropin = show(formula_env, "pcmk.provider", pillar)["pcmk-minion-provider"]
    assert dropin["fun"] == "managed" and "service: pcmk_service" in dropin["contents"]
    off = show(formula_env, "pcmk.provider", {"pcmk": {"minion_provider": False}})["pcmk-minion-provider"]
    assert off["fun"] == "absent"


def test_rollout_orchestration_defers_restarts_then_runs_the_runner(formula_env):
    high = show(formula_env, "orch.pcmk.rollout", {"sls": "openstack.nova", "tgt": "ctl*"})
    apply = high["pcmk-rollout-apply"]
    assert (apply["fun"], apply["tgt"], apply["sls"]) == ("state", "ctl*", "openstack.nova")
    assert apply["pillar"] == {"pcmk": {"restart": {"defer": True}}}
    restart = high["pcmk-rollout-restart"]
    assert (restart["fun"], restart["name"]) == ("runner", "pcmk.restart_pending")
    assert {"salt": "pcmk-rollout-apply"} in restart["require"]


def test_cluster_formula_orders_keys_config_then_running(formula_env):
    pillar = {"pcmk": {"cluster": {"name": "ha", "nodes": [{"name": "a", "nodeid": 1, "addrs": ["192.0.2.1"]}]}}}
    high = show(formula_env, "pcmk.cluster", pillar)
    assert [high[i]["fun"] for i in ("pcmk-cluster-authkeys", "pcmk-corosync-conf", "pcmk-cluster-running")] == [
        "authkey",
        "corosync_conf",
        "cluster_running",
    ]
    assert high["pcmk-corosync-conf"]["name"] == "/etc/corosync/corosync.conf"
    assert high["pcmk-cluster-authkeys"]["order"] < high["pcmk-corosync-conf"]["order"]
    assert high["pcmk-corosync-conf"]["order"] < high["pcmk-cluster-running"]["order"]
    assert set(show(formula_env, "pcmk.cluster_config", pillar)) == {"pcmk-cluster-authkeys", "pcmk-corosync-conf"}
    assert set(show(formula_env, "pcmk.cluster", {})) == {"pcmk-cluster-undeclared"}


def test_cluster_orchestration_checks_writes_reloads_once_then_starts(formula_env):
    high = show(formula_env, "orch.pcmk.cluster", {"tgt": "ctl1,ctl2", "tgt_type": "list"})
    steps = sorted(high.values(), key=lambda c: c["order"])
    assert [(c["__id__"], c["fun"]) for c in steps] == [
        ("pcmk-cluster-check", "runner"),
        ("pcmk-cluster-config", "state"),
        ("pcmk-cluster-reload", "runner"),
        ("pcmk-cluster-form", "state"),
    ]
    assert high["pcmk-cluster-check"]["name"] == "pcmk.cluster_check"
    assert high["pcmk-cluster-reload"]["name"] == "pcmk.corosync_reload"
    assert (high["pcmk-cluster-config"]["sls"], high["pcmk-cluster-form"]["sls"]) == (
        "pcmk.cluster_config",
        "pcmk.cluster",
    )
    assert all(c.get("tgt") == "ctl1,ctl2" and c.get("tgt_type") == "list" for c in steps)


def test_cluster_orchestration_stops_leaving_nodes_before_the_others_write(formula_env):
    high = show(formula_env, "orch.pcmk.cluster", {"tgt": "ctl1,ctl2,ctl3", "tgt_type": "list", "leaving": "ctl4"})
    leave = high["pcmk-cluster-leave"]
    assert (leave["fun"], leave["tgt"], leave["tgt_type"], leave["sls"]) == (
        "state",
        "ctl4",
        "list",
        "pcmk.cluster_leave",
    )
    assert leave["order"] < high["pcmk-cluster-config"]["order"] < high["pcmk-cluster-reload"]["order"]
    assert show(formula_env, "pcmk.cluster_leave")["pcmk-cluster-stopped"]["fun"] == "cluster_stopped"
