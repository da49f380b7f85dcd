"""Several attribute sets on one object, rule-based sets, and whole property/default sets (issue 11).

A ``params``/``meta``/``utilization`` declaration may be a list of sets
(``{values, id, score, rule}``) instead of one mapping; ``pcmk.property_set``,
``pcmk.rsc_defaults_set`` and ``pcmk.op_defaults_set`` declare a whole set with
its score and rule. Rules take every expression Pacemaker has (attribute,
date, resource, op, nested rules), also in location constraints. What each
means is asked of Pacemaker's scheduler (``crm_simulate``), which evaluates
date expressions against the current time.
"""

from lxml import etree

from tests.support.offline import cib_create, planned_starts, with_node_and_no_fencing

ALWAYS = {"date": {"operation": "gt", "start": "2000-01-01"}}  # true from 2000 on
NEVER = {"date": {"operation": "lt", "end": "2000-01-01"}}  # true before 2000 only


def windowed_stop_sls(expression):
    import yaml  # pylint: disable=import-outside-toplevel

    return yaml.safe_dump(
        {
            "d": {
                "pcmk.resource": [
                    {"agent": "ocf:pacemaker:Dummy"},
                    {
                        "meta": [
                            {"values": {"resource-stickiness": 0}},
                            {
                                "id": "d-window",
                                "rule": {"expressions": [expression]},
                                "values": {"target-role": "Stopped"},
                            },
                        ]
                    },
                ]
            }
        }
    )


def cib(salt_env):
    return etree.fromstring(salt_env.cib_file.read_bytes())


def test_a_rule_based_meta_set_is_declared_kept_and_means_what_its_rule_says(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    sls = windowed_stop_sls(ALWAYS)
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls(sls, test=True)
    assert dry.all_ok, dry.failures()
    assert "meta[d-window].target-role" in str(dry["d"]["changes"]), dry["d"]
    assert salt_env.cib_file.read_bytes() == before

    assert salt_env.sls(sls).changed == {"d"}
    sets = cib(salt_env).xpath("//primitive[@id='d']/meta_attributes")
    assert [s.get("id") for s in sets] == ["d-meta_attributes", "d-window"]
    assert sets[1].find("rule/date_expression").get("operation") == "gt"
    assert "d" not in planned_starts(salt_env.cib_file)  # the window holds: target-role Stopped

    again = salt_env.cib_file.read_bytes()
    assert salt_env.sls(sls).changed == set()
    assert salt_env.cib_file.read_bytes() == again

    # The rule changed to one that never holds: the set keeps its id, the resource starts.
    changed = salt_env.sls(windowed_stop_sls(NEVER))
    assert changed.changed == {"d"}
    assert cib(salt_env).xpath("//meta_attributes[@id='d-window']/rule/date_expression/@operation") == ["lt"]
    assert "d" in planned_starts(salt_env.cib_file)


def test_several_unconditional_sets_another_tool_made_are_adopted_and_changed_in_place(salt_env):
    # As crmsh writes a resource with two meta sets and a rule-based params set.
    cib_create(
        salt_env.cib_file,
        "resources",
        '<primitive id="d" class="ocf" provider="pacemaker" type="Dummy">'
        '<instance_attributes id="d-instance_attributes"><nvpair id="d-ia-fake" name="fake" value="base"/></instance_attributes>'
        '<instance_attributes id="d-ia-n1" score="10"><rule id="d-ia-n1-rule" score="0">'
        '<expression id="d-ia-n1-rule-expr" attribute="#uname" operation="eq" value="n1"/></rule>'
        '<nvpair id="d-ia-n1-fake" name="fake" value="on-n1"/></instance_attributes>'
        '<meta_attributes id="d-meta_attributes"><nvpair id="d-ma-s" name="resource-stickiness" value="5"/></meta_attributes>'
        '<meta_attributes id="d-meta_attributes-0"><nvpair id="d-ma-f" name="failure-timeout" value="60s"/></meta_attributes>'
        '<operations><op id="d-monitor-10s" name="monitor" interval="10s" timeout="20s"/></operations>'
        "</primitive>",
    )
    declared = """
d:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - params:
        - values: {fake: base}
        - score: 10
          rule: {expressions: [{attribute: "#uname", operation: eq, value: n1}]}
          values: {fake: on-n1}
    - meta:
        - values: {resource-stickiness: 5}
        - values: {failure-timeout: %s}
"""
    before = salt_env.cib_file.read_bytes()
    adopted = salt_env.sls(declared % "60s")
    assert adopted.all_ok and adopted.changed == set(), adopted.raw
    assert salt_env.cib_file.read_bytes() == before
    # A mapping is the first unconditional set: also nothing to change.
    assert (
        salt_env.sls(
            "d:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - meta: {resource-stickiness: 5}\n"
        ).changed
        == set()
    )
    assert salt_env.cib_file.read_bytes() == before

    assert salt_env.sls(declared % "120s").changed == {"d"}
    second = cib(salt_env).xpath("//meta_attributes[@id='d-meta_attributes-0']/nvpair")
    assert [(nv.get("id"), nv.get("value")) for nv in second] == [("d-ma-f", "120s")]
    assert cib(salt_env).xpath("//instance_attributes[@id='d-ia-n1']/rule/@id") == ["d-ia-n1-rule"]


def test_a_property_set_with_a_rule_and_score_puts_the_cluster_in_maintenance_while_it_holds(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    salt_env.sls("d:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n")
    window = """
maintenance-window:
  pcmk.property_set:
    - score: 100
    - rule:
        expressions:
          - date: {operation: %s}
    - values:
        maintenance-mode: true
"""
    holds = window % 'gt, start: "2000-01-01"'
    dry = salt_env.sls(holds, test=True)
    assert dry.all_ok and "maintenance-window" in dry["maintenance-window"]["comment"], dry.raw
    assert salt_env.sls(holds).changed == {"maintenance-window"}
    assert "d" not in planned_starts(salt_env.cib_file)  # maintenance-mode: nothing is started
    again = salt_env.cib_file.read_bytes()
    assert salt_env.sls(holds).changed == set()
    assert salt_env.cib_file.read_bytes() == again

    assert salt_env.sls(window % 'lt, end: "2000-01-01"').changed == {"maintenance-window"}
    assert "d" in planned_starts(salt_env.cib_file)

    gone = salt_env.sls("maintenance-window:\n  pcmk.property_set_absent: []\n")
    assert gone.changed == {"maintenance-window"}
    assert not cib(salt_env).xpath("//cluster_property_set[@id='maintenance-window']")


def test_a_declared_bootstrap_set_leaves_what_pacemaker_writes_there(salt_env):
    subprocess_env = {"CIB_file": str(salt_env.cib_file)}
    import os  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel

    subprocess.run(
        ["crm_attribute", "--name", "cluster-name", "--update", "lab"], check=True, env={**os.environ, **subprocess_env}
    )
    result = salt_env.sls("cib-bootstrap-options:\n  pcmk.property_set:\n    - values: {stonith-enabled: false}\n")
    assert result.changed == {"cib-bootstrap-options"}, result.raw
    names = cib(salt_env).xpath("//cluster_property_set[@id='cib-bootstrap-options']/nvpair/@name")
    assert sorted(names) == ["cluster-name", "stonith-enabled"]


def test_resource_defaults_for_one_agent_apply_to_that_agent_only(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    sls = """
mine:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
theirs:
  pcmk.resource:
    - agent: ocf:heartbeat:Dummy
pacemaker-dummies-stopped:
  pcmk.rsc_defaults_set:
    - rule:
        expressions:
          - resource: {class: ocf, provider: pacemaker, type: Dummy}
    - values:
        target-role: Stopped
"""
    assert salt_env.sls(sls).changed == {"mine", "theirs", "pacemaker-dummies-stopped"}
    starts = planned_starts(salt_env.cib_file)
    assert "theirs" in starts and "mine" not in starts
    assert salt_env.sls(sls).changed == set()


def test_operation_defaults_for_monitors_only(salt_env):
    sls = """
monitor-defaults:
  pcmk.op_defaults_set:
    - rule:
        expressions:
          - op: {name: monitor}
    - values:
        timeout: 40s
"""
    assert salt_env.sls(sls).changed == {"monitor-defaults"}
    expr = cib(salt_env).xpath("//op_defaults/meta_attributes[@id='monitor-defaults']/rule/op_expression")
    assert [e.get("name") for e in expr] == ["monitor"]
    before = salt_env.cib_file.read_bytes()
    assert salt_env.sls(sls).changed == set()
    assert salt_env.cib_file.read_bytes() == before


def test_location_rules_take_nested_rules_and_date_expressions(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    sls = """
d:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
d-not-on-n1:
  pcmk.constraint:
    - kind: location
    - rsc: d
    - rules:
        - score: -INFINITY
          boolean_op: or
          expressions:
            - rule: {expressions: [{attribute: "#uname", operation: eq, value: n1}]}
            - date: {operation: date_spec, date_spec: {years: "1990-1999"}}
"""
    assert salt_env.sls(sls).changed == {"d", "d-not-on-n1"}
    rule = cib(salt_env).xpath("//rsc_location[@id='d-not-on-n1']/rule")[0]
    assert [c.tag for c in rule] == ["rule", "date_expression"]
    assert rule.find("date_expression/date_spec").get("years") == "1990-1999"
    assert "d" not in planned_starts(salt_env.cib_file)  # n1 is the only node
    before = salt_env.cib_file.read_bytes()
    assert salt_env.sls(sls).changed == set()
    assert salt_env.cib_file.read_bytes() == before


def test_malformed_sets_and_rules_are_refused_naming_the_culprit(salt_env):
    salt_env.sls("d:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n")
    before = salt_env.cib_file.read_bytes()
    cases = {
        "d:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - meta: [{value: {a: b}}]\n": "meta set 1",
        "d:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - meta: [{values: {a: b}, colour: red}]\n": "'colour'",
        "d:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - meta: [{values: {}, rule: {expressions: [{attribute: x}]}}]\n": "needs attribute and operation",
        "d:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - meta: [{values: {}, rule: {expressions: [{date: {start: '2020'}}]}}]\n": "needs an operation",
        "w:\n  pcmk.property_set:\n    - values: [maintenance-mode]\n": "property set 'w' values",
        "w:\n  pcmk.property_set:\n    - values: {a: b}\n    - rule: {score: 5, expressions: [{attribute: x, operation: defined}]}\n": "only a location rule has a score",
    }
    for sls, culprit in cases.items():
        result = salt_env.sls(sls)
        assert not result.all_ok, sls
        assert culprit in str(result.failures()), (culprit, result.failures())
        assert salt_env.cib_file.read_bytes() == before, sls
