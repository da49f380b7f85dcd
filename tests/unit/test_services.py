"""Pillar declarations of services, profiles, and restart request bookkeeping."""

import pytest

from saltext.pcmk.utils import restarts
from saltext.pcmk.utils.cib import Cib
from saltext.pcmk.utils.errors import SpecError
from saltext.pcmk.utils.services import GENERIC_AGENT, ServicePillar

NODES = """<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/>
<nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes><resources/><constraints/></configuration><status/></cib>"""


def test_services_default_to_init_system():
    decl = ServicePillar({}, systemd=True).declaration("nova-api")
    assert not decl.ha and decl.resource == "nova-api"


def test_agent_is_derived_from_systemd_or_binary():
    assert ServicePillar({"services": {"nova-api": {"ha": True}}}, systemd=True).declaration("nova-api").agent == "systemd:nova-api"
    no_systemd = ServicePillar({"services": {"nova-api": {"ha": True, "params": {"binary": "/usr/bin/nova-api"}}}}, systemd=False)
    assert no_systemd.declaration("nova-api").agent == GENERIC_AGENT
    with pytest.raises(SpecError, match="pillar pcmk:services:nova-api:agent is missing and cannot be derived"):
        ServicePillar({"services": {"nova-api": {"ha": True}}}, systemd=False).declaration("nova-api")


@pytest.mark.parametrize("pillar, culprit", [
    ({"servces": {}}, "pillar pcmk:servces is not a known key"),
    ({"services": {"nova-api": {"ha": "yes"}}}, "pillar pcmk:services:nova-api:ha must be a boolean, got str"),
    ({"services": {"nova-api": {"colour": 1}}}, "pillar pcmk:services:nova-api:colour is not a known key"),
    ({"services": {"nova-api": {"restart": "sometimes"}}}, "pillar pcmk:services:nova-api:restart must be one of"),
    ({"services": {"nova-api": {"resource": "9lives"}}}, "pillar pcmk:services:nova-api:resource"),
    ({"profile": "old-school"}, "pillar pcmk:profile 'old-school' is not a known profile"),
    ({"restart": {"settle": "long"}}, "pillar pcmk:restart:settle must be a number"),
    ({"services": {"nova-api": {"ha": True, "agent": "ocf:x:y", "constraints": [{"kind": "order"}]}}},
     "pillar pcmk:services:nova-api:constraints:1: constraint 'nova-api-order-1': an order constraint needs first and then"),
])
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
    assert constraints["vip-public-then-haproxy"].attrs == {"first": "vip-public", "then": "haproxy-clone", "kind": "Optional"}
    assert constraints["vip-public-with-haproxy"].attrs["with-rsc"] == "haproxy-clone"
    volume = pillar.declaration("cinder-volume")
    assert not volume.cloned and volume.restart == "cluster"
    assert pillar.declaration("mariadb").top_id == "galera-clone"


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
    from saltext.pcmk.utils import bootstrap
    from saltext.pcmk.utils.errors import NotFound

    nodes = [{"name": "n1", "id": "1", "online": True, "is_dc": False},
             {"name": "n2", "id": "2", "online": True, "is_dc": True},
             {"name": "n3", "id": "3", "online": False, "is_dc": False}]
    minions = {"n1": "ctl1", "n2": "ctl2", "n3": "ctl3"}
    assert bootstrap.choose_minion(nodes, minions) == "ctl2"  # the DC's minion
    assert bootstrap.choose_minion(nodes, {"n1": "ctl1", "n3": "ctl3"}) == "ctl1"  # DC's minion silent
    assert bootstrap.choose_minion(nodes, minions, override="ctl3") == "ctl3"
    assert bootstrap.choose_minion(nodes, {"n1": "ctl1"}, override="ctl3") == "ctl1"  # override silent
    with pytest.raises(NotFound, match="no answering minion"):
        bootstrap.choose_minion(nodes, {"n3": "ctl3"})
