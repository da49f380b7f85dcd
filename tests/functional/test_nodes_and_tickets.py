"""Nodes, tickets, and the instance attributes of groups and clones (issue 11).

Each is declared by a state, shown under ``test=True`` without a write,
adopted without a write when another tool made it, refused naming the
culprit on bad input with the CIB untouched, and what it means is asked of
Pacemaker itself (``crm_simulate``'s plan and transition graph,
``crm_resource``, ``crm_ticket``).
"""

import subprocess

from lxml import etree

from tests.functional.test_configuration_language import offline, with_node_and_no_fencing
from tests.functional.test_foreign_cibs import cib_create


def simulate(cib_file, *extra, nodes=("n1",), graph=None):
    """``crm_simulate``'s XML result with ``nodes`` up and quorum (``graph``: write the transition graph there)."""
    argv = ["crm_simulate", "-x", str(cib_file), "--quorum", "true", "-S", "--output-as=xml"]
    for node in nodes:
        argv += ["-u", node]
    if graph is not None:
        argv += ["-G", str(graph)]
    out = subprocess.run([*argv, *extra], check=True, capture_output=True, text=True).stdout
    return etree.fromstring(out.encode())


def planned(cib_file, action, *extra, nodes=("n1",)):
    """``{(resource, node)}`` the scheduler plans to ``action`` (start, stop)."""
    result = simulate(cib_file, *extra, nodes=nodes)
    return {(a.get("resource"), a.get("node")) for a in result.xpath("//actions/rsc_action[@action=$a]", a=action)}


def start_params(cib_file, tmp_path):
    """``{resource: parameters}`` of every start in the transition graph: what the agent is run with."""
    graph = tmp_path / "graph.xml"
    simulate(cib_file, graph=graph)
    found = {}
    for op in etree.parse(str(graph)).xpath("//action_set/rsc_op[@operation='start']"):
        attributes = op.find("attributes")
        found[op.find("primitive").get("id")] = {k: v for k, v in attributes.attrib.items() if "CRM_meta" not in k}
    return found


def element(cib_file, xpath, **variables):
    found = etree.fromstring(cib_file.read_bytes()).xpath(xpath, **variables)
    return found[0] if found else None


def unchanged_on_rerun(salt_env, sls):
    """A second run (and its test=True) reports nothing and leaves the file byte for byte."""
    before = salt_env.cib_file.read_bytes()
    for test in (True, False):
        result = salt_env.sls(sls, test=test)
        assert result.all_ok and result.changed == set(), result.raw
    assert salt_env.cib_file.read_bytes() == before


def refused(salt_env, sls, state, *words):
    """The state fails with a message holding every one of ``words``, and nothing is written."""
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls(sls)
    message = result.failures().get(state, "")
    assert message and all(word in message for word in words), result.raw
    assert salt_env.cib_file.read_bytes() == before


# -- instance attributes of groups and clones -----------------------------------------------
GROUP_SLS = """
{{% for r in ("a", "b", "c") %}}
{{{{ r }}}}:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - default_ops: false
    {{% if r == "b" %}}- params: {{fake: own}}{{% endif %}}
{{% endfor %}}
g:
  pcmk.group:
    - resources: [a, b]
    - meta: {{target-role: Started}}
    - params: {group_params}
    - require: [{{pcmk: a}}, {{pcmk: b}}]
c-clone:
  pcmk.clone:
    - name: c
    - params: {clone_params}
"""


def test_group_and_clone_params_reach_every_member_as_pacemaker_runs_them(salt_env, tmp_path):
    with_node_and_no_fencing(salt_env.cib_file)
    sls = GROUP_SLS.format(group_params="{fake: from-group}", clone_params="{fake: from-clone}")
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls(sls, test=True)
    assert dry.all_ok, dry.failures()
    assert "params.fake = from-group" in dry["g"]["comment"], dry["g"]["comment"]
    assert "params.fake = from-clone" in dry["c-clone"]["comment"], dry["c-clone"]["comment"]
    assert salt_env.cib_file.read_bytes() == before

    real = salt_env.sls(sls)
    assert real.all_ok, real.failures()
    assert {"g", "c-clone"} <= real.changed
    group = element(salt_env.cib_file, "//group[@id='g']")
    assert [child.tag for child in group] == ["meta_attributes", "instance_attributes", "primitive", "primitive"]
    assert group.xpath("instance_attributes[@id='g-instance_attributes']/nvpair[@name='fake']/@value") == ["from-group"]
    # What the agents are started with: the group's value for a, b's own value wins.
    started = start_params(salt_env.cib_file, tmp_path)
    assert (started["a"]["fake"], started["b"]["fake"], started["c"]["fake"]) == ("from-group", "own", "from-clone")
    for rsc, value in (("a", "from-group"), ("b", "own"), ("c", "from-clone")):
        shown = offline(salt_env.cib_file, "crm_resource", "-r", rsc, "--get-parameter", "fake").stdout.strip()
        assert shown == value, (rsc, shown)
    unchanged_on_rerun(salt_env, sls)

    # Declared otherwise: exactly that set is shown, then written; {} removes them.
    moved = GROUP_SLS.format(group_params="{fake: again, state: /run/x}", clone_params="{}")
    dry = salt_env.sls(moved, test=True)
    assert dry.changed == {"g", "c-clone"}, dry.raw
    assert dry["g"]["changes"] == {
        "group g": {
            "added": {"params.state": "/run/x"},
            "changed": {"params.fake": {"old": "from-group", "new": "again"}},
        }
    }
    assert dry["c-clone"]["changes"] == {"clone c-clone": {"removed": {"params.fake": "from-clone"}}}
    assert salt_env.sls(moved).changed == {"g", "c-clone"}
    assert element(salt_env.cib_file, "//clone[@id='c-clone']/instance_attributes") is None
    assert start_params(salt_env.cib_file, tmp_path)["a"]["fake"] == "again"
    unchanged_on_rerun(salt_env, moved)


def test_group_and_clone_params_another_tool_made_are_adopted(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    # As crmsh writes them (``group g a params fake=x``), with ids of its own.
    cib_create(
        salt_env.cib_file,
        "resources",
        '<group id="g"><instance_attributes id="g-ia"><nvpair id="g-ia-fake" name="fake" value="x"/>'
        '</instance_attributes><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/></group>',
    )
    cib_create(
        salt_env.cib_file,
        "resources",
        '<clone id="c-clone"><instance_attributes id="c-clone-ia"><nvpair id="c-clone-ia-fake" name="fake" value="y"/>'
        '</instance_attributes><primitive id="c" class="ocf" provider="pacemaker" type="Dummy"/></clone>',
    )
    sls = """
    g:
      pcmk.group:
        - resources: [a]
        - params: {fake: x}
    c:
      pcmk.clone:
        - params: {fake: 'y'}
    """
    unchanged_on_rerun(salt_env, sls)
    # Left out, they are not managed.
    unchanged_on_rerun(salt_env, "g:\n  pcmk.group:\n    - resources: [a]\nc:\n  pcmk.clone: []\n")


def test_group_params_that_are_not_a_mapping_are_refused(salt_env):
    cib_create(salt_env.cib_file, "resources", '<primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/>')
    refused(salt_env, "g:\n  pcmk.group:\n    - resources: [a]\n    - params: [fake]\n", "g", "group 'g' params")
    refused(salt_env, "a:\n  pcmk.clone:\n    - params: {fake: {x: 1}}\n", "a", "clone of 'a' params.fake")
