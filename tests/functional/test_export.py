"""``pcmk.export``: any CIB as pcmk states, and the round trip that proves it (issue 11).

For CIBs that pcs, crmsh, an operator's hand (old schema too) and our own
states made, holding every kind of object the states know:

1. ``pcmk.export`` writes an SLS;
2. applied onto the CIB it came from, under ``test=True`` and for real, it
   reports nothing and writes nothing (the file's bytes are unchanged);
3. applied onto an empty CIB with the same nodes, it rebuilds the same
   configuration: equal but for the ids of parts (sets, ops, rules, nvpairs),
   the order of objects in their section, and what Pacemaker writes itself.

Secrets are exported as pillar references; the rebuild reads them from pillar.
"""

import difflib
import os
import re
import shutil
import subprocess

import pytest
import yaml
from lxml import etree

from tests.functional.test_foreign_cibs import OLD_SCHEMA_PROMOTABLE
from tests.support.offline import cib_create, offline

NODES = ("n1", "n2", "n3")
SECRET = "s3cr3t-Value-42"
# Elements whose id is what they are called (kept when comparing); every other id is a part's.
NAMED = {
    "primitive",
    "template",
    "group",
    "clone",
    "master",
    "bundle",
    "rsc_location",
    "rsc_colocation",
    "rsc_order",
    "rsc_ticket",
    "tag",
    "obj_ref",
    "resource_ref",
    "alert",
    "node",
}
MANAGED_PROPERTIES = {"dc-version", "cluster-infrastructure", "cluster-name", "have-watchdog", "last-lrm-refresh"}


def with_nodes(cib_file):
    for number, name in enumerate(NODES, start=1):
        cib_create(cib_file, "nodes", f'<node id="{number}" uname="{name}"/>')


def meaning(cib_bytes):
    """The configuration with part ids, Pacemaker's own properties and object order left out."""
    root = etree.fromstring(cib_bytes, etree.XMLParser(remove_blank_text=True))
    configuration = root.find("configuration")
    elements = [element for element in configuration.iter() if isinstance(element.tag, str)]
    for element in elements:
        element.tail = None
        if element.tag not in NAMED:
            element.attrib.pop("id", None)
    for element in reversed(elements):  # children first, so a parent sorts its children as they end up
        # Where a set stands among an object's children is not what it means; the order of
        # children of one kind is (group members, sets read in order, nvpairs: the first counts),
        # except for operations, which Pacemaker tells apart by name, interval and role.
        children = [child for child in element if isinstance(child.tag, str)]
        if element.tag == "operations":
            children.sort(key=lambda c: etree.tostring(c, method="c14n"))
        for child in sorted(children, key=lambda c: c.tag):
            element.append(child)
    for nvpair in configuration.xpath("crm_config/cluster_property_set/nvpair"):
        if nvpair.get("name") in MANAGED_PROPERTIES:
            nvpair.getparent().remove(nvpair)
    for nvset in configuration.xpath("crm_config/cluster_property_set[not(*)]"):
        nvset.getparent().remove(nvset)
    sections = {}
    for section in configuration:
        if isinstance(section.tag, str) and len(section):
            children = sorted(etree.tostring(child, method="c14n").decode() for child in section)
            sections[section.tag] = children
    return sections


def export(salt_env, **kwargs):
    return salt_env.loaders.modules.pcmk.export(**kwargs)


def round_trip(salt_env, *, pillar=None, rebuild=True):
    """Steps 1-3 of the module docstring on the CIB in ``salt_env.cib_file``; returns the SLS."""
    source = salt_env.cib_file.read_bytes()
    text = export(salt_env)
    assert SECRET not in text
    kwargs = {"pillar": pillar} if pillar else {}

    dry = salt_env.sls(text, test=True, **kwargs)
    assert dry.all_ok, dry.failures()
    assert dry.changed == set(), {k: dry[k]["changes"] for k in dry.changed}
    real = salt_env.sls(text, **kwargs)
    assert real.all_ok and real.changed == set(), real.failures() or {k: real[k]["changes"] for k in real.changed}
    assert salt_env.cib_file.read_bytes() == source

    if rebuild:
        salt_env.cib_file.write_text(offline(salt_env.cib_file, "cibadmin", "--empty").stdout)
        with_nodes(salt_env.cib_file)
        rebuilt = salt_env.sls(text, **kwargs)
        assert rebuilt.all_ok, rebuilt.failures()
        rebuilt_meaning, source_meaning = meaning(salt_env.cib_file.read_bytes()), meaning(source)
        assert rebuilt_meaning == source_meaning, "\n".join(
            difflib.unified_diff(
                yaml.safe_dump(source_meaning).splitlines(), yaml.safe_dump(rebuilt_meaning).splitlines(), lineterm=""
            )
        )
        salt_env.cib_file.write_bytes(source)
    return text


@pytest.fixture
def nodes_env(salt_env):
    with_nodes(salt_env.cib_file)
    return salt_env


def pcs(cib_file, *argv):
    return offline(cib_file, "pcs", "-f", str(cib_file), *argv)


def test_a_pcs_made_cluster_round_trips(nodes_env):
    cib = nodes_env.cib_file
    pcs(cib, "property", "set", "stonith-enabled=false")
    pcs(
        cib,
        "resource",
        "create",
        "vip",
        "ocf:heartbeat:IPaddr2",
        "ip=192.0.2.10",
        "cidr_netmask=24",
        "op",
        "monitor",
        "interval=10s",
    )
    pcs(cib, "resource", "create", "web", "ocf:heartbeat:Dummy", "clone", "interleave=true")
    pcs(cib, "resource", "create", "db", "ocf:pacemaker:Stateful", "promotable", "notify=true")
    pcs(cib, "resource", "create", "g1", "ocf:pacemaker:Dummy", "--group", "grp")
    pcs(cib, "resource", "create", "g2", "ocf:pacemaker:Dummy", "--group", "grp")
    pcs(cib, "resource", "create", "bare", "ocf:pacemaker:Dummy", "--no-default-ops")
    pcs(cib, "resource", "update", "g2", "passwd=" + SECRET)
    pcs(cib, "constraint", "colocation", "add", "vip", "with", "web-clone", "INFINITY")
    pcs(cib, "constraint", "order", "vip", "then", "grp")
    pcs(cib, "constraint", "location", "vip", "prefers", "n1=50")
    pcs(cib, "constraint", "order", "set", "bare", "web-clone", "sequential=false", "set", "vip")
    pcs(cib, "constraint", "ticket", "add", "t1", "db-clone", "loss-policy=stop")
    pcs(cib, "resource", "defaults", "update", "resource-stickiness=100")
    pcs(cib, "resource", "op", "defaults", "update", "timeout=30s")
    pcs(cib, "node", "attribute", "n1", "rack=r1")
    pcs(cib, "node", "utilization", "n2", "cpu=4")
    pcs(cib, "tag", "create", "webs", "web-clone", "vip")
    pcs(cib, "alert", "create", "path=/usr/share/pacemaker/alerts/alert_file.sh.sample", "id=a1")
    pcs(cib, "alert", "recipient", "add", "a1", "value=/var/log/pcmk-alerts.log")

    text = round_trip(nodes_env, pillar={"pcmk": {"secrets": {"g2": {"passwd": SECRET}}}})
    states = yaml.safe_load(re.sub(r"\{\{.*?\}\}", "REFERENCE", text))
    assert "pcmk:secrets:g2:passwd" in text and "secret_params" in str(states["g2"])
    assert states["web-clone"]["pcmk.clone"][0] == {"name": "web"}, text


def test_a_crmsh_made_cluster_round_trips(nodes_env):
    configuration = nodes_env.scratch / "crm.txt"
    configuration.write_text(
        "property stonith-enabled=false\n"
        "primitive p1 ocf:pacemaker:Dummy params fake=1 op monitor interval=15s timeout=30s op monitor interval=60s"
        " timeout=60s OCF_CHECK_LEVEL=10 meta resource-stickiness=10\n"
        "primitive p2 ocf:pacemaker:Dummy\n"
        "primitive p3 ocf:pacemaker:Dummy\n"
        "group cg p2 p3 meta target-role=Stopped\n"
        "clone p1-clone p1 meta interleave=true\n"
        "location l1 p1-clone rule -inf: #uname eq n2 or date gt 2000-01-01\n"
        "colocation c1 inf: cg p1-clone\n"
        "order o1 Mandatory: p1-clone cg\n"
        "rsc_defaults rsc-options: migration-threshold=3\n"
    )
    subprocess.run(
        ["crm", "configure", "load", "update", str(configuration)],
        capture_output=True,
        env={**os.environ, "CIB_file": str(nodes_env.cib_file)},
        timeout=120,
        check=False,
    )
    assert b'id="l1"' in nodes_env.cib_file.read_bytes()
    round_trip(nodes_env)


def test_a_hand_written_old_schema_cluster_round_trips(salt_env):
    with_nodes(salt_env.cib_file)
    offline(salt_env.cib_file, "cibadmin", "--modify", "--xml-text", '<cib validate-with="pacemaker-2.10"/>')
    cib_create(salt_env.cib_file, "resources", OLD_SCHEMA_PROMOTABLE)
    cib_create(
        salt_env.cib_file,
        "constraints",
        '<rsc_colocation id="c-s" rsc="s-master" with-rsc="s-master" rsc-role="Master" with-rsc-role="Slave" score="-100"/>',
    )
    # Rebuilt in the old schema too; a <master> comes back as a promotable <clone>, so only step 2 here.
    round_trip(salt_env, rebuild=False)


EVERY_KIND = """
base-ops:
  pcmk.resource_template:
    - agent: ocf:pacemaker:Dummy
    - params: {fake: from-template}
    - ops: [{name: monitor, interval: 20s}]
from-template:
  pcmk.resource:
    - template: base-ops
    - params: {fake: own}
    - require: [{pcmk: base-ops}]
d:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - description: the one with every set
    - params:
        - values: {fake: base}
        - score: 10
          rule: {expressions: [{attribute: "#uname", operation: eq, value: n1}]}
          values: {fake: on-n1}
    - meta:
        - values: {resource-stickiness: 5}
        - values: {failure-timeout: 60s}
    - utilization: {cpu: 1}
    - ops:
        - {name: monitor, interval: 10s, timeout: 20s}
        - {name: monitor, interval: 60s, timeout: 30s, params: {OCF_CHECK_LEVEL: 10}}
e:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - default_ops: false
e-clone:
  pcmk.clone:
    - name: e
    - meta: {interleave: true}
    - params: [{values: {fake: from-clone}}, {values: {fake: on-n2}, rule: {expressions: [{attribute: "#uname", operation: eq, value: n2}]}}]
    - description: e everywhere
g1:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
g2:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
grp:
  pcmk.group:
    - resources: [g1, g2]
    - params: {fake: from-group}
    - meta: {target-role: Stopped}
    - description: two of a kind
    - require: [{pcmk: g1}, {pcmk: g2}]
haproxy:
  pcmk.resource:
    - agent: ocf:heartbeat:Dummy
haproxy-bundle:
  pcmk.bundle:
    - container: {kind: podman, image: "registry.example/haproxy:latest", replicas: 2, network: host, options: "--user=root"}
    - network: {control_port: 3121, port_mappings: [{id: haproxy-port-8080, port: 8080}]}
    - storage: [{id: haproxy-cfg, source_dir: /etc/haproxy, target_dir: /etc/haproxy, options: ro}]
    - primitive: haproxy
    - require: [{pcmk: haproxy}]
n3:
  pcmk.node:
    - score: -100
    - description: the spare
maintenance-window:
  pcmk.property_set:
    - score: 100
    - rule: {expressions: [{date: {operation: date_spec, date_spec: {weekdays: "6-7"}}}]}
    - values: {maintenance-mode: true}
ipaddr-defaults:
  pcmk.rsc_defaults_set:
    - rule: {expressions: [{resource: {class: ocf, provider: heartbeat, type: IPaddr2}}]}
    - values: {resource-stickiness: 200}
monitor-defaults:
  pcmk.op_defaults_set:
    - rule: {expressions: [{op: {name: monitor}}]}
    - values: {timeout: 40s}
cluster-recheck-interval:
  pcmk.property:
    - value: 5min
d-tagged:
  pcmk.tag:
    - resources: [d, e-clone]
d-away-from-n3:
  pcmk.constraint:
    - kind: location
    - rsc: d-tagged
    - rules:
        - score: -INFINITY
          boolean_op: or
          expressions:
            - {attribute: "#uname", operation: eq, value: n3}
            - date: {operation: in_range, start: "2030-01-01", duration: {months: 1}}
d-with-e:
  pcmk.constraint:
    - kind: colocation
    - rsc: d
    - with_rsc: e-clone
    - score: null
    - influence: false
d-needs-t1:
  pcmk.constraint:
    - kind: ticket
    - rsc: d
    - ticket: t1
    - loss_policy: stop
e-then-d:
  pcmk.constraint:
    - kind: order
    - first: e-clone
    - then: d
    - require_all: false
    - order_kind: Optional
n1 site:
  pcmk.node_attribute:
    - node: n1
    - attribute: site
    - value: east
n2 memory:
  pcmk.node_utilization:
    - node: n2
    - attribute: memory
    - value: 2048
by-site:
  pcmk.fencing_level:
    - target_attribute: site
    - target_value: east
    - index: 1
    - devices: [fence-a]
log:
  pcmk.alert:
    - path: /usr/share/pacemaker/alerts/alert_file.sh.sample
    - description: every event
    - meta: {timeout: 15s}
    - select: [nodes, resources]
    - recipients: [{value: /var/log/one.log, params: {x: y}}, /var/log/two.log]
"""


def test_a_cib_with_every_kind_the_states_declare_round_trips(nodes_env):
    fence = f"fence-a:\n  pcmk.resource:\n    - agent: stonith:fence_xvm\n    - check_agent: false\n    - params: {{password: {SECRET}}}\n"
    sls = fence + EVERY_KIND
    made = nodes_env.sls(sls)
    assert made.all_ok, made.failures()
    text = round_trip(nodes_env, pillar={"pcmk": {"secrets": {"fence-a": {"password": SECRET}}}})
    assert "check_agent: false" in text  # fence_xvm is not installed here: exported without the check


def test_what_no_state_can_say_is_left_out_with_a_note_and_kept(nodes_env):
    cib_create(nodes_env.cib_file, "resources", '<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>')
    cib_create(
        nodes_env.cib_file,
        "constraints",
        '<rsc_location id="cli-ban-d-on-n1" rsc="d" node="n1" score="-INFINITY" role="Started"/>',
    )
    cib_create(
        nodes_env.cib_file,
        "configuration",
        '<alerts><alert id="odd" path="/usr/share/pacemaker/alerts/alert_file.sh.sample"><select>'
        '<select_attributes><attribute id="odd-standby" name="standby"/></select_attributes></select></alert></alerts>',
    )
    # Two start ops Pacemaker tells apart by id only: a state would refuse them (self-check).
    cib_create(
        nodes_env.cib_file,
        "resources",
        '<primitive id="twice" class="ocf" provider="pacemaker" type="Dummy"><operations>'
        '<op id="twice-start-a" name="start" interval="0"/><op id="twice-start-b" name="start" interval="0s"/>'
        "</operations></primitive>",
    )
    text = export(nodes_env)
    assert "twice" in text.split("\n\n")[0] and "two ops share" in text.split("\n\n")[0]
    assert "\ntwice:" not in text
    assert "cli-ban-d-on-n1" in text.split("\n\n")[0]  # in the header note, not as a state
    assert "odd" in text.split("\n\n")[0] and "attribute filter" in text.split("\n\n")[0]
    assert "\nodd:" not in text and "\ncli-ban-d-on-n1:" not in text
    before = nodes_env.cib_file.read_bytes()
    assert nodes_env.sls(text).changed == set()
    assert nodes_env.cib_file.read_bytes() == before  # both kept


def test_export_writes_the_sls_and_a_secrets_pillar_skeleton(nodes_env):
    nodes_env.sls(f"d:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - params: {{passwd: {SECRET}}}\n")
    sls_path = nodes_env.scratch / "cluster.sls"
    pillar_path = nodes_env.scratch / "secrets.sls"
    sls_path.symlink_to(nodes_env.scratch / "elsewhere")  # replaced, never followed
    summary = export(nodes_env, path=str(sls_path), pillar_path=str(pillar_path))
    assert summary["path"] == str(sls_path) and summary["states"] >= 1
    assert summary["secrets"] == ["pcmk:secrets:d:passwd"]
    assert not sls_path.is_symlink() and not (nodes_env.scratch / "elsewhere").exists()
    assert SECRET not in sls_path.read_text() and SECRET not in pillar_path.read_text()
    assert yaml.safe_load(pillar_path.read_text()) == {"pcmk": {"secrets": {"d": {"passwd": ""}}}}
    assert oct(pillar_path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(Exception, match="is a directory"):
        export(nodes_env, path=str(nodes_env.scratch))


@pytest.mark.skipif(shutil.which("pcs") is None, reason="pcs not installed")
def test_export_of_an_empty_cib_is_an_empty_sls(salt_env):
    text = export(salt_env)
    assert yaml.safe_load(text) is None


def test_an_exported_secret_without_its_pillar_fails_the_render_naming_the_key(nodes_env):
    nodes_env.sls(f"d:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - params: {{passwd: {SECRET}}}\n")
    text = export(nodes_env)
    before = nodes_env.cib_file.read_bytes()
    with pytest.raises(AssertionError, match="pcmk:secrets:d:passwd is not set"):
        nodes_env.sls(text)
    assert nodes_env.cib_file.read_bytes() == before


def test_services_the_provider_can_declare_go_to_its_pillar_and_declare_the_same(nodes_env):
    """``services_path``: a systemd unit's resource becomes ``pcmk:services:<unit>`` (ha: true,
    its clone as clone keys) instead of states; what the provider builds from that pillar
    changes nothing on the CIB it came from, and the rest of the SLS still changes nothing."""
    from saltext.pcmk.utils.cib.session import Session  # pylint: disable=import-outside-toplevel
    from saltext.pcmk.utils.provider.pillar import ServicePillar  # pylint: disable=import-outside-toplevel
    from saltext.pcmk.utils.tools import ToolRunner  # pylint: disable=import-outside-toplevel

    made = nodes_env.sls(
        """
nova-api:
  pcmk.resource:
    - agent: systemd:nova-api
    - check_agent: false
    - ops: [{name: monitor, interval: 30s, timeout: 60s}]
    - clone: {interleave: true}
keystone:
  pcmk.resource:
    - agent: systemd:apache2
    - check_agent: false
    - ops: [{name: monitor, interval: 30s}]
d:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
api-after-d:
  pcmk.constraint:
    - kind: order
    - first: d
    - then: nova-api-clone
"""
    )
    assert made.all_ok, made.failures()
    services_path = nodes_env.scratch / "services.sls"
    sls_path = nodes_env.scratch / "cluster.sls"
    summary = export(nodes_env, path=str(sls_path), services_path=str(services_path))
    assert summary["services"] == ["apache2", "nova-api"]
    services = yaml.safe_load(services_path.read_text())["pcmk"]["services"]
    assert services["nova-api"] == {
        "ha": True,
        "agent": "systemd:nova-api",
        "check_agent": False,
        "ops": [{"name": "monitor", "interval": "30s", "timeout": "60s"}],
        "clone": True,
        "clone_meta": {"interleave": "true"},
    }
    assert services["apache2"]["resource"] == "keystone"
    text = sls_path.read_text()
    assert "\nnova-api:" not in text and "\nnova-api-clone:" not in text and "\nkeystone:" not in text
    assert "\napi-after-d:" in text and "\nd:" in text

    before = nodes_env.cib_file.read_bytes()
    pillar = ServicePillar({"services": services}, systemd=True)
    session = Session(ToolRunner(cib_file=nodes_env.cib_file))
    for service in ("nova-api", "apache2"):
        assert session.converge(pillar.declaration(service).specs(), test=True).changes == {}, service
    rest = nodes_env.sls(text)
    assert rest.all_ok and rest.changed == set(), rest.failures()
    assert nodes_env.cib_file.read_bytes() == before
