"""Pillar declarations of services, profiles, and restart request bookkeeping."""

import pytest

from saltext.pcmk.utils import restarts
from saltext.pcmk.utils.cib.document import Cib
from saltext.pcmk.utils.errors import SpecError
from saltext.pcmk.utils.provider.pillar import GENERIC_AGENT, ServicePillar

NODES = """<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/>
<nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes><resources/><constraints/></configuration><status/></cib>"""


def test_services_default_to_init_system():
    decl = ServicePillar({}, systemd=True).declaration("nova-api")
    assert not decl.ha and decl.resource == "nova-api"


def test_agent_is_derived_from_systemd_or_binary():
    assert (
        ServicePillar({"services": {"nova-api": {"ha": True}}}, systemd=True).declaration("nova-api").agent
        == "systemd:nova-api"
    )
    no_systemd = ServicePillar(
        {"services": {"nova-api": {"ha": True, "params": {"binary": "/usr/bin/nova-api"}}}}, systemd=False
    )
    assert no_systemd.declaration("nova-api").agent == GENERIC_AGENT
    with pytest.raises(SpecError, match="pillar pcmk:services:nova-api:agent is missing and cannot be derived"):
        ServicePillar({"services": {"nova-api": {"ha": True}}}, systemd=False, init_dir="/nonexistent").declaration(
            "nova-api"
        )


def test_a_service_made_from_a_template_has_no_agent_of_its_own():
    decl = ServicePillar(
        {"services": {"nova-api": {"ha": True, "template": "api-template"}}}, systemd=True
    ).declaration("nova-api")
    assert decl.agent is None
    spec = decl.resource_spec()
    assert (spec.template, spec.agent) == ("api-template", None)
    both = ServicePillar(
        {"services": {"nova-api": {"ha": True, "template": "api-template", "agent": "systemd:nova-api"}}}, systemd=True
    )
    with pytest.raises(SpecError, match="give agent or template, not both"):
        both.declaration("nova-api").resource_spec()


def test_agent_is_an_lsb_script_where_the_host_has_one(tmp_path):
    (tmp_path / "haproxy").write_text("#!/bin/sh\n")
    pillar = ServicePillar({"services": {"haproxy": {"ha": True}}}, systemd=False, init_dir=tmp_path)
    assert pillar.declaration("haproxy").agent == "lsb:haproxy"


@pytest.mark.parametrize(
    "pillar, culprit",
    [
        ({"servces": {}}, "pillar pcmk:servces is not a known key"),
        # "yes" is read as true (the one rule for booleans); a word that is no boolean is refused.
        ({"services": {"nova-api": {"ha": "maybe"}}}, "pillar pcmk:services:nova-api:ha must be true or false"),
        ({"services": {"nova-api": {"colour": 1}}}, "pillar pcmk:services:nova-api:colour is not a known key"),
        ({"services": {"nova-api": {"restart": "sometimes"}}}, "pillar pcmk:services:nova-api:restart must be one of"),
        ({"services": {"nova-api": {"resource": "9lives"}}}, "pillar pcmk:services:nova-api:resource"),
        ({"profile": "old-school"}, "pillar pcmk:profile 'old-school' is not a known profile"),
        ({"restart": {"settle": "long"}}, "pillar pcmk:restart:settle must be a number"),
        ({"services": {"nova-api": "ha"}}, "pillar pcmk:services:nova-api must be a mapping of settings"),
        ({"vips": {"vip": {"ip": "192.0.2.1", "ops": {"name": "monitor"}}}}, "pillar pcmk:vips:vip:ops must be a list"),
        ({"vips": {"vip": {"ip": "192.0.2.1", "nic": ["eth0"]}}}, "pillar pcmk:vips:vip:nic must be a plain value"),
        ({"vips": {"vip": "192.0.2.1"}}, "pillar pcmk:vips:vip must be a mapping of IPaddr2 parameters"),
        (
            {"vips": {"vip": {"ip": "192.0.2.1", "ops": [{"interval": "10s"}]}}},
            "pillar pcmk:vips:vip: resource 'vip': each op must be a mapping with a 'name'",
        ),
        (
            {"services": {"nova-api": {"ha": True, "agent": "ocf:x:y", "constraints": [{"kind": "order"}]}}},
            "pillar pcmk:services:nova-api:constraints:1: constraint 'nova-api-order-1': an order constraint needs first and then",
        ),
    ],
)
def test_broken_pillar_names_the_key(pillar, culprit):
    with pytest.raises(SpecError, match=culprit.replace("(", r"\(")):
        ServicePillar(pillar, systemd=True).declaration("nova-api").specs()


def test_next_generation_profile():
    pillar = ServicePillar({"profile": "next-generation", "vips": {"vip-public": {"ip": "192.0.2.10"}}}, systemd=True)
    assert pillar.ha_services() == ["cinder-volume", "haproxy", "mariadb", "rabbitmq-server", "redis-server"]
    assert not pillar.declaration("nova-api").ha and not pillar.declaration("keystone").ha
    haproxy = pillar.declaration("haproxy")
    assert haproxy.top_id == "haproxy-clone" and haproxy.agent == "systemd:haproxy"
    constraints = {c.id: c for c in haproxy.constraint_specs()}
    assert constraints["vip-public-then-haproxy"].attrs == {
        "first": "vip-public",
        "then": "haproxy-clone",
        "kind": "Optional",
    }
    assert constraints["vip-public-with-haproxy"].attrs["with-rsc"] == "haproxy-clone"
    volume = pillar.declaration("cinder-volume")
    assert not volume.cloned and volume.restart == "cluster"
    assert pillar.declaration("mariadb").top_id == "galera-clone"


def test_empty_services_and_no_vips_are_nothing_to_do():
    assert ServicePillar({"services": None, "vips": None}, systemd=True).ordered() == []
    assert ServicePillar({"services": None}, systemd=True).vips() == {}


def test_services_are_ordered_by_their_constraints_between_each_other():
    agent = {"ha": True, "agent": "ocf:pacemaker:Dummy"}
    pillar = ServicePillar(
        {
            "services": {
                "app-a": {**agent, "constraints": [{"kind": "order", "first": "app-b"}]},
                "app-b": {**agent, "constraints": [{"kind": "colocation", "with_rsc": "app-c-clone"}]},
                "app-c": {**agent, "clone": True},
                "plain": {"ha": False},
            },
            "vips": {"vip": {"ip": "192.0.2.1"}},
        },
        systemd=True,
    )
    ordered = pillar.ordered()
    assert [e["service"] for e in ordered] == ["app-c", "plain", "app-b", "app-a"]
    assert {e["service"]: e["requires"] for e in ordered} == {
        "app-a": ["app-b"],
        "app-b": ["app-c"],
        "app-c": [],
        "plain": [],
    }


def test_a_cycle_between_services_names_them():
    agent = {"ha": True, "agent": "ocf:pacemaker:Dummy"}
    pillar = ServicePillar(
        {
            "services": {
                "app-a": {**agent, "constraints": [{"kind": "order", "first": "app-b"}]},
                "app-b": {**agent, "constraints": [{"kind": "order", "first": "app-a"}]},
            }
        },
        systemd=True,
    )
    with pytest.raises(SpecError, match="app-a, app-b name each other in a cycle"):
        pillar.ordered()


def test_next_generation_profile_applies_and_orders_haproxy_after_the_vips():
    pillar = ServicePillar({"profile": "next-generation", "vips": {"vip-public": {"ip": "192.0.2.10"}}}, systemd=True)
    ordered = {e["service"]: e for e in pillar.ordered()}
    assert set(ordered) == {"cinder-volume", "haproxy", "mariadb", "rabbitmq-server", "redis-server"}
    assert ordered["haproxy"]["vips"] == ["vip-public"]


def test_next_generation_galera_knows_the_cluster_nodes():
    pillar = ServicePillar({"profile": "next-generation"}, systemd=True, nodes=lambda: ["ctl2", "ctl1", "ctl3"])
    galera = pillar.declaration("mariadb")
    assert galera.args["params"]["wsrep_cluster_address"] == "gcomm://ctl1,ctl2,ctl3"
    spec = galera.resource_spec()
    assert spec.clone.promotable and str(spec.clone.meta["promoted-max"]) == "3"
    overridden = ServicePillar(
        {
            "profile": "next-generation",
            "services": {
                "mariadb": {"params": {"wsrep_cluster_address": "gcomm://db1,db2"}, "clone": {"promoted-max": 2}}
            },
        },
        systemd=True,
        nodes=["ctl1", "ctl2", "ctl3"],
    )
    galera = overridden.declaration("mariadb")
    assert galera.args["params"]["wsrep_cluster_address"] == "gcomm://db1,db2"
    assert galera.resource_spec().clone.meta["promoted-max"] == 2
    assert (
        ServicePillar({"profile": "next-generation"}, systemd=True)
        .declaration("redis-server")
        .resource_spec()
        .clone.meta["notify"]
        is True
    )


def test_pillar_overrides_profile_keys():
    pillar = ServicePillar({"profile": "next-generation", "services": {"cinder-volume": {"ha": False}}}, systemd=True)
    assert "cinder-volume" not in pillar.ha_services()


def test_restart_requests_claimed_only_when_unchanged():
    cib = Cib.from_text(NODES)
    restarts.RequestSpec("n1", "web", token="t1").apply(cib, None)
    restarts.RequestSpec("n2", "web", token="t2").apply(cib, None)
    assert restarts.pending(cib) == {"web": {"n1": "t1", "n2": "t2"}}
    # n2 asked again after the claimer looked: its newer request survives the claim.
    restarts.RequestSpec("n2", "web", token="t3").apply(cib, None)
    for node, token in {"n1": "t1", "n2": "t2"}.items():
        restarts.RequestSpec(node, "web", expect=token).apply(cib, None)
    assert restarts.pending(cib) == {"web": {"n2": "t3"}}


def test_bootstrap_minion_choice():
    from saltext.pcmk.utils.cluster import bootstrap
    from saltext.pcmk.utils.errors import NotFound

    nodes = [
        {"name": "n1", "id": "1", "online": True, "is_dc": False},
        {"name": "n2", "id": "2", "online": True, "is_dc": True},
        {"name": "n3", "id": "3", "online": False, "is_dc": False},
    ]
    minions = {"n1": "ctl1", "n2": "ctl2", "n3": "ctl3"}
    assert bootstrap.choose_minion(nodes, minions) == "ctl2"  # the DC's minion
    assert bootstrap.choose_minion(nodes, {"n1": "ctl1", "n3": "ctl3"}) == "ctl1"  # DC's minion silent
    assert bootstrap.choose_minion(nodes, minions, override="ctl3") == "ctl3"
    assert bootstrap.choose_minion(nodes, {"n1": "ctl1"}, override="ctl3") == "ctl1"  # override silent
    with pytest.raises(NotFound, match="no answering minion"):
        bootstrap.choose_minion(nodes, {"n3": "ctl3"})


def test_discovery_waits_only_for_minions_that_can_be_chosen():
    from saltext.pcmk.utils.cluster import bootstrap

    status = {
        "quorum": True,
        "nodes": [
            {"name": "n1", "id": "1", "online": True, "is_dc": True},
            {"name": "n2", "id": "2", "online": True, "is_dc": False},
            {"name": "n3", "id": "3", "online": False, "is_dc": False},
            {"name": "n4", "id": "4", "online": True, "unclean": True},
        ],
    }
    assert bootstrap.waiting_for([], {}) == {"*"}  # no membership yet: wait for everyone
    assert bootstrap.waiting_for([status], {"n1": "ctl1"}) == {"n2"}
    # n3 is offline, n4 unclean: their silent minions are not waited for.
    assert bootstrap.waiting_for([status], {"n1": "ctl1", "n2": "ctl2"}) == set()
    # An override that has not answered yet is waited for (it wins when it answers).
    assert bootstrap.waiting_for([status], {"n1": "ctl1", "n2": "ctl2"}, override="ctl3") == {"minion ctl3"}
    assert bootstrap.waiting_for([status], {"n1": "ctl1", "n2": "ctl2", "n3": "ctl3"}, override="ctl3") == set()
    # Every quorate answer's membership counts.
    other = {"quorum": True, "nodes": [{"name": "n3", "id": "3", "online": True}]}
    assert bootstrap.waiting_for([status, other], {"n1": "ctl1", "n2": "ctl2"}) == {"n3"}
    # A node that lost the cluster sees itself alone and online: its view does not end the wait.
    alone = {"quorum": False, "nodes": [{"name": "n3", "id": "3", "online": True}]}
    assert bootstrap.waiting_for([alone], {"n3": "ctl3"}) == {"*"}
    assert bootstrap.waiting_for([alone, status], {"n1": "ctl1", "n2": "ctl2"}) == set()


@pytest.mark.parametrize("word, ha", [("yes", True), ("'true'", True), ("no", False), ("off", False)])
def test_pillar_booleans_follow_the_state_rule(word, ha):
    """Pillar values are read by the same rule as state arguments (specs/base.parse_bool)."""
    pillar = ServicePillar(
        {"services": {"nova-api": {"ha": word.strip("'"), "agent": "systemd:nova-api"}}}, systemd=True
    )
    assert pillar.declaration("nova-api").ha is ha
