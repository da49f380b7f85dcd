"""The rest of the configuration language (issue 11): rsc_ticket, order require-all, colocation influence, op instance attributes, descriptions, fencing levels by pattern or attribute.

Each is declared by a state, shown under ``test=True``, adopted
without churn when another tool made it, removed with ``constraint_absent``,
and what it means is asked of Pacemaker's scheduler (``crm_simulate``).
"""

import subprocess

from lxml import etree

from tests.support.offline import cib_create, planned_starts, with_node_and_no_fencing

TICKET_SLS = """
d:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
d-needs-t1:
  pcmk.constraint:
    - kind: ticket
    - rsc: d
    - ticket: t1
    - loss_policy: stop
    - require:
      - pcmk: d
"""


def constraint(cib_file, ident):
    found = etree.fromstring(cib_file.read_bytes()).xpath("//constraints/*[@id=$i]", i=ident)
    return found[0] if found else None


def test_a_ticket_constraint_is_declared_shown_kept_and_means_what_pacemaker_says(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls(TICKET_SLS, test=True)
    assert dry.all_ok, dry.failures()
    assert "constraint d-needs-t1" in dry["d-needs-t1"]["comment"]
    assert salt_env.cib_file.read_bytes() == before

    real = salt_env.sls(TICKET_SLS)
    assert real.changed == {"d", "d-needs-t1"}, real.failures()
    ticket = constraint(salt_env.cib_file, "d-needs-t1")
    assert (ticket.tag, ticket.get("rsc"), ticket.get("ticket"), ticket.get("loss-policy")) == (
        "rsc_ticket",
        "d",
        "t1",
        "stop",
    )
    # Pacemaker: without the ticket d stays stopped; granted, it starts.
    assert "d" not in planned_starts(salt_env.cib_file)
    assert "d" in planned_starts(salt_env.cib_file, "--ticket-grant", "t1")

    again = salt_env.cib_file.read_bytes()
    assert salt_env.sls(TICKET_SLS).changed == set()
    assert salt_env.cib_file.read_bytes() == again

    gone = salt_env.sls("d-needs-t1:\n  pcmk.constraint_absent: []\n")
    assert gone.changed == {"d-needs-t1"}
    assert constraint(salt_env.cib_file, "d-needs-t1") is None


def test_a_ticket_constraint_another_tool_made_is_adopted(salt_env):
    cib_create(salt_env.cib_file, "resources", '<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>')
    cib_create(
        salt_env.cib_file,
        "constraints",
        '<rsc_ticket id="ticket-t1-d" rsc="d" ticket="t1" loss-policy="stop" rsc-role="Started"/>',
    )
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls(TICKET_SLS)
    assert result.all_ok and result.changed == set(), result.raw
    assert salt_env.cib_file.read_bytes() == before
    assert constraint(salt_env.cib_file, "d-needs-t1") is None  # no duplicate under the state's id


def test_a_ticket_constraint_without_a_ticket_is_refused(salt_env):
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls("t:\n  pcmk.constraint:\n    - kind: ticket\n    - rsc: d\n")
    assert "a ticket constraint needs ticket and rsc" in result.failures()["t"]
    assert salt_env.cib_file.read_bytes() == before


ORDER_SLS = """
{% for r in ("a", "b", "c") %}
{{ r }}:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
{% endfor %}
a-or-b-then-c:
  pcmk.constraint:
    - kind: order
    - sets:
      - {resources: [a, b], require_all: false, sequential: false}
      - {resources: [c]}
    - require: [{pcmk: a}, {pcmk: b}, {pcmk: c}]
c-with-a:
  pcmk.constraint:
    - kind: colocation
    - rsc: c
    - with_rsc: a
    - score: 100
    - influence: false
    - require: [{pcmk: a}, {pcmk: c}]
b-then-c:
  pcmk.constraint:
    - kind: order
    - first: b
    - then: c
    - order_kind: Optional
    - require_all: false
    - require: [{pcmk: b}, {pcmk: c}]
"""


def test_order_require_all_and_colocation_influence_are_declared_and_kept(salt_env):
    result = salt_env.sls(ORDER_SLS)
    assert result.all_ok, result.failures()
    assert constraint(salt_env.cib_file, "c-with-a").get("influence") == "false"
    assert constraint(salt_env.cib_file, "b-then-c").get("require-all") == "false"
    sets = constraint(salt_env.cib_file, "a-or-b-then-c").findall("resource_set")
    assert sets[0].get("require-all") == "false"
    before = salt_env.cib_file.read_bytes()
    assert salt_env.sls(ORDER_SLS).changed == set()
    assert salt_env.cib_file.read_bytes() == before


DEEP_MONITOR = """
d:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - description: {description}
    - ops:
      - {{name: monitor, interval: 10s, params: {{OCF_CHECK_LEVEL: {level}}}}}
"""


def test_op_instance_attributes_and_descriptions_are_declared_and_adopted(salt_env):
    result = salt_env.sls(DEEP_MONITOR.format(description="the dummy", level=10))
    assert result.all_ok, result.failures()
    root = etree.fromstring(salt_env.cib_file.read_bytes())
    assert root.xpath("//primitive[@id='d']/@description") == ["the dummy"]
    monitor = root.xpath("//primitive[@id='d']/operations/op[@name='monitor']")[0]
    assert monitor.xpath("instance_attributes/nvpair[@name='OCF_CHECK_LEVEL']/@value") == ["10"]
    before = salt_env.cib_file.read_bytes()
    assert salt_env.sls(DEEP_MONITOR.format(description="the dummy", level=10)).changed == set()
    assert salt_env.cib_file.read_bytes() == before

    dry = salt_env.sls(DEEP_MONITOR.format(description="the dummy", level=20), test=True)
    assert "OCF_CHECK_LEVEL" in dry["d"]["comment"] and dry["d"]["changes"], dry.raw
    assert salt_env.cib_file.read_bytes() == before
    assert salt_env.sls(DEEP_MONITOR.format(description='""', level=20)).changed == {"d"}
    root = etree.fromstring(salt_env.cib_file.read_bytes())
    assert root.xpath("//primitive[@id='d']/@description") == []
    assert root.xpath("//op[@name='monitor']/instance_attributes/nvpair/@value") == ["20"]


def test_a_crmsh_style_deep_monitor_is_adopted(salt_env):
    cib_create(
        salt_env.cib_file,
        "resources",
        '<primitive id="d" class="ocf" provider="pacemaker" type="Dummy" description="the dummy"><operations>'
        '<op id="d-monitor-10s" name="monitor" interval="10s" timeout="20s"><instance_attributes id="d-monitor-10s-ia">'
        '<nvpair id="d-monitor-10s-ia-lvl" name="OCF_CHECK_LEVEL" value="10"/></instance_attributes></op>'
        "</operations></primitive>",
    )
    before = salt_env.cib_file.read_bytes()
    for test in (True, False):
        result = salt_env.sls(DEEP_MONITOR.format(description="the dummy", level=10), test=test)
        assert result.all_ok and result.changed == set(), result.raw
    assert salt_env.cib_file.read_bytes() == before


FENCING_BY_PATTERN = """
pdu:
  pcmk.resource:
    - agent: stonith:null
    - params: {hostlist: "n1 n2"}
controllers:
  pcmk.fencing_level:
    - target_pattern: ^n[0-9]+$
    - index: 2
    - devices: [pdu]
    - require: [{pcmk: pdu}]
racked:
  pcmk.fencing_level:
    - target_attribute: rack
    - target_value: r1
    - index: 1
    - devices: [pdu]
    - require: [{pcmk: pdu}]
"""


def test_fencing_levels_by_node_pattern_and_by_node_attribute(salt_env):
    result = salt_env.sls(FENCING_BY_PATTERN)
    assert result.all_ok, result.failures()
    levels = etree.fromstring(salt_env.cib_file.read_bytes()).xpath("//fencing-topology/fencing-level")
    assert sorted(
        (lv.get("index"), lv.get("target-pattern"), lv.get("target-attribute"), lv.get("target-value")) for lv in levels
    ) == [
        ("1", None, "rack", "r1"),
        ("2", "^n[0-9]+$", None, None),
    ]
    assert all(lv.get("target") is None and lv.get("devices") == "pdu" for lv in levels)
    before = salt_env.cib_file.read_bytes()
    assert salt_env.sls(FENCING_BY_PATTERN).changed == set()
    assert salt_env.cib_file.read_bytes() == before
    gone = salt_env.sls("controllers:\n  pcmk.fencing_level_absent:\n    - target_pattern: ^n[0-9]+$\n    - index: 2\n")
    assert gone.changed == {"controllers"}
    assert [
        lv.get("target-attribute") for lv in etree.fromstring(salt_env.cib_file.read_bytes()).xpath("//fencing-level")
    ] == ["rack"]


UTILIZATION_SLS = """
placement-strategy:
  pcmk.property:
    - value: utilization
n1-cpu:
  pcmk.node_utilization:
    - node: n1
    - attribute: cpu
    - value: {cpus}
{{% for r in ("big1", "big2") %}}
{{{{ r }}}}:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - default_ops: false
    - utilization: {{cpu: 1}}
{{% endfor %}}
"""


def test_node_utilization_with_a_placement_strategy_limits_what_runs_there(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    result = salt_env.sls(UTILIZATION_SLS.format(cpus=1))
    assert result.all_ok, result.failures()
    node = etree.fromstring(salt_env.cib_file.read_bytes()).xpath("//nodes/node[@uname='n1']")[0]
    assert node.xpath("utilization[@id='nodes-1-utilization']/nvpair[@name='cpu']/@value") == ["1"]
    assert len(planned_starts(salt_env.cib_file)) == 1  # one CPU: only one of the two fits
    before = salt_env.cib_file.read_bytes()
    assert salt_env.sls(UTILIZATION_SLS.format(cpus=1)).changed == set()
    assert salt_env.cib_file.read_bytes() == before

    dry = salt_env.sls(UTILIZATION_SLS.format(cpus=2), test=True)
    assert dry.changed == {"n1-cpu"} and "cpu" in dry["n1-cpu"]["comment"], dry.raw
    assert salt_env.sls(UTILIZATION_SLS.format(cpus=2)).changed == {"n1-cpu"}
    assert planned_starts(salt_env.cib_file) == {"big1", "big2"}

    gone = salt_env.sls("n1-cpu:\n  pcmk.node_utilization_absent:\n    - node: n1\n    - attribute: cpu\n")
    assert gone.changed == {"n1-cpu"}
    assert not etree.fromstring(salt_env.cib_file.read_bytes()).xpath("//nodes/node/utilization")


def test_node_utilization_pcs_made_is_adopted_and_a_missing_node_is_named(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    subprocess.run(["pcs", "-f", str(salt_env.cib_file), "node", "utilization", "n1", "cpu=2"], check=True)
    before = salt_env.cib_file.read_bytes()
    sls = "n1-cpu:\n  pcmk.node_utilization:\n    - node: n1\n    - attribute: cpu\n    - value: 2\n"
    assert salt_env.sls(sls).changed == set()
    assert salt_env.cib_file.read_bytes() == before
    missing = salt_env.sls(sls.replace("node: n1", "node: n9"))
    assert "node 'n9' is not in the cluster" in missing.failures()["n1-cpu"]
    assert salt_env.cib_file.read_bytes() == before
