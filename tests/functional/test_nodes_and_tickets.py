"""Nodes, tickets, and the instance attributes of groups and clones (issue 11).

Each is declared by a state, shown under ``test=True`` without a write,
adopted without a write when another tool made it, refused naming the
culprit on bad input with the CIB untouched, and what it means is asked of
Pacemaker itself (``crm_simulate``'s plan and transition graph,
``crm_resource``, ``crm_ticket``).
"""

import subprocess

from lxml import etree

from tests.support.offline import cib_create, element, offline, unchanged_on_rerun, with_node_and_no_fencing


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


# -- pcmk.node ------------------------------------------------------------------------------
def two_nodes_and_a_resource(cib_file):
    with_node_and_no_fencing(cib_file)
    cib_create(cib_file, "nodes", '<node id="2" uname="n2"/>')
    cib_create(cib_file, "resources", '<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>')


def node_as_simulated(cib_file, node, *extra):
    """The node as ``crm_simulate`` sees it once ``node`` is up: its standby and maintenance flags."""
    result = simulate(cib_file, *extra)
    return result.xpath("(//nodes/node[@name=$n])[last()]", n=node)[0]


SCORE_SLS = """
n1:
  pcmk.node:
    - score: {score}
    - description: {description}
"""


def test_a_node_score_of_minus_infinity_keeps_every_resource_off_the_node(salt_env):
    two_nodes_and_a_resource(salt_env.cib_file)
    both = ("n1", "n2")
    assert len(planned(salt_env.cib_file, "start", nodes=both)) == 1  # d starts on one of them
    sls = SCORE_SLS.format(score="-INFINITY", description="spare")
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls(sls, test=True)
    assert dry["n1"]["result"] is None, dry.raw
    assert dry["n1"]["changes"] == {"node n1": {"added": {"description": "spare", "score": "-INFINITY"}}}
    assert "+ score = -INFINITY" in dry["n1"]["comment"], dry["n1"]["comment"]
    assert salt_env.cib_file.read_bytes() == before

    real = salt_env.sls(sls)
    assert real.changed == {"n1"} and real["n1"]["changes"] == dry["n1"]["changes"], real.raw
    entry = element(salt_env.cib_file, "//nodes/node[@uname='n1']")
    assert (entry.get("score"), entry.get("description")) == ("-INFINITY", "spare")
    # Pacemaker: d may only go to n2 now; with n2 scored alike, nowhere.
    assert planned(salt_env.cib_file, "start", nodes=both) == {("d", "n2")}
    unchanged_on_rerun(salt_env, sls)
    unchanged_on_rerun(salt_env, SCORE_SLS.format(score="-inf", description="spare"))  # the same score

    n2 = "n2:\n  pcmk.node:\n    - score: -INFINITY\n"
    assert salt_env.sls(n2).changed == {"n2"}
    assert planned(salt_env.cib_file, "start", nodes=both) == set()

    # 0 is what an absent score reads as: declaring it removes the attribute, then changes nothing.
    cleared = SCORE_SLS.format(score=0, description='""')
    result = salt_env.sls(cleared)
    assert result["n1"]["changes"] == {"node n1": {"removed": {"description": "spare", "score": "-INFINITY"}}}
    assert element(salt_env.cib_file, "//nodes/node[@uname='n1']").attrib == {"id": "1", "uname": "n1"}
    assert planned(salt_env.cib_file, "start", nodes=both) == {("d", "n1")}
    unchanged_on_rerun(salt_env, cleared)


STANDBY_SLS = """
node-n1:
  pcmk.node:
    - node: n1
    - standby: {standby}
    - maintenance: {maintenance}
"""
RUNNING_ON_N1 = ("-i", "d_monitor_0@n1=0")  # crm_simulate: d is found running on n1


def test_standby_empties_the_node_and_maintenance_leaves_its_resources_alone(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    cib_create(salt_env.cib_file, "resources", '<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>')
    assert ("d", "n1") not in planned(salt_env.cib_file, "stop", *RUNNING_ON_N1)

    sls = STANDBY_SLS.format(standby="true", maintenance="false")
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls(sls, test=True)
    assert dry["node-n1"]["changes"] == {"node n1": {"added": {"params.standby": "on"}}}, dry.raw
    assert salt_env.cib_file.read_bytes() == before
    assert salt_env.sls(sls).changed == {"node-n1"}
    # Where crm_attribute --node n1 --name standby writes it, and what Pacemaker makes of it.
    assert element(salt_env.cib_file, "//node[@uname='n1']/instance_attributes[@id='nodes-1']/nvpair").attrib == {
        "id": "nodes-1-standby",
        "name": "standby",
        "value": "on",
    }
    assert offline(salt_env.cib_file, "crm_standby", "-N", "n1", "-G", "-q").stdout.strip() == "on"
    assert node_as_simulated(salt_env.cib_file, "n1").get("standby") == "true"
    assert planned(salt_env.cib_file, "stop", *RUNNING_ON_N1) == {("d", "n1")}
    unchanged_on_rerun(salt_env, sls)

    # Maintenance: out of standby, and d is left as it runs (unmanaged, nothing planned).
    maintained = STANDBY_SLS.format(standby="false", maintenance="true")
    result = salt_env.sls(maintained)
    assert result["node-n1"]["changes"] == {
        "node n1": {"added": {"params.maintenance": "on"}, "removed": {"params.standby": "on"}}
    }, result.raw
    seen = node_as_simulated(salt_env.cib_file, "n1", *RUNNING_ON_N1)
    assert (seen.get("standby"), seen.get("maintenance")) == ("false", "true")
    assert planned(salt_env.cib_file, "stop", *RUNNING_ON_N1) == set()
    unchanged_on_rerun(salt_env, maintained)

    # Left out: left as found.
    unchanged_on_rerun(salt_env, "n1:\n  pcmk.node: []\n")
    back = salt_env.sls(STANDBY_SLS.format(standby="false", maintenance="false"))
    assert back.changed == {"node-n1"}
    assert element(salt_env.cib_file, "//node[@uname='n1']/instance_attributes") is None


def test_a_standby_pcs_or_crm_attribute_made_is_adopted_with_no_write(salt_env):
    two_nodes_and_a_resource(salt_env.cib_file)
    subprocess.run(["pcs", "-f", str(salt_env.cib_file), "node", "standby", "n1"], check=True)
    offline(salt_env.cib_file, "crm_attribute", "--node", "n2", "--name", "standby", "--update", "true")
    offline(salt_env.cib_file, "crm_attribute", "--node", "n2", "--name", "maintenance", "--update", "yes")
    sls = """
    n1:
      pcmk.node:
        - standby: true
        - maintenance: false
    n2:
      pcmk.node:
        - standby: true
        - maintenance: true
    """
    unchanged_on_rerun(salt_env, sls)


def test_a_remote_node_gets_its_entry_as_crm_attribute_makes_it(salt_env, tmp_path):
    with_node_and_no_fencing(salt_env.cib_file)
    remote = '<primitive id="rn1" class="ocf" provider="pacemaker" type="remote"/>'
    guest = (
        '<primitive id="vm1" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="vm1-meta">'
        '<nvpair id="vm1-meta-remote-node" name="remote-node" value="guest1"/></meta_attributes></primitive>'
    )
    for xml in (remote, guest):
        cib_create(salt_env.cib_file, "resources", xml)
    # What crm_attribute makes of the same, on a copy.
    theirs = tmp_path / "theirs.xml"
    theirs.write_bytes(salt_env.cib_file.read_bytes())
    for name in ("rn1", "guest1"):
        offline(theirs, "crm_attribute", "--node", name, "--name", "standby", "--update", "on")

    # Nothing to set on a node without an entry: no entry is made.
    unchanged_on_rerun(salt_env, "rn1:\n  pcmk.node:\n    - standby: false\n    - score: 0\n")
    sls = "rn1:\n  pcmk.node:\n    - standby: true\nguest1:\n  pcmk.node:\n    - standby: true\n"
    result = salt_env.sls(sls)
    assert result.changed == {"rn1", "guest1"}, result.raw

    def entries(path):
        nodes = etree.fromstring(path.read_bytes()).xpath("configuration/nodes/node[@type='remote']")
        return sorted(etree.tostring(n, method="c14n") for n in nodes)

    assert entries(salt_env.cib_file) == entries(theirs)
    assert node_as_simulated(salt_env.cib_file, "rn1").get("standby") == "true"
    unchanged_on_rerun(salt_env, sls)
    # The node attribute and utilization states find remote nodes the same way.
    more = "rn1-cpu:\n  pcmk.node_utilization:\n    - node: rn1\n    - attribute: cpu\n    - value: 2\n"
    assert salt_env.sls(more).changed == {"rn1-cpu"}
    assert element(salt_env.cib_file, "//node[@uname='rn1']/utilization/nvpair[@name='cpu']/@value") == "2"


def test_bad_node_declarations_are_refused_naming_the_culprit(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    refused(salt_env, "n1:\n  pcmk.node:\n    - standby: maybe\n", "n1", "node 'n1'", "standby must be true or false")
    refused(
        salt_env, "n1:\n  pcmk.node:\n    - maintenance: 2\n", "n1", "node 'n1'", "maintenance must be true or false"
    )
    refused(salt_env, "n1:\n  pcmk.node:\n    - score: INFINITYx\n", "n1", "node 'n1'", "'INFINITYx' is not a score")
    refused(salt_env, "n9:\n  pcmk.node:\n    - standby: true\n", "n9", "node 'n9' is not in the cluster (known: n1)")
    refused(salt_env, "x:\n  pcmk.node:\n    - node: bad name\n    - standby: true\n", "x", "'bad name' is not a valid")
    refused(salt_env, "n1:\n  pcmk.node:\n    - weight: 5\n", "n1", "unknown argument 'weight'")


# -- pcmk.ticket ----------------------------------------------------------------------------
TICKETED_SLS = """
d:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - default_ops: false
d-needs-t1:
  pcmk.constraint:
    - kind: ticket
    - rsc: d
    - ticket: t1
    - loss_policy: stop
    - require: [{{pcmk: d}}]
t1:
  pcmk.ticket:
    - granted: {granted}
    - standby: {standby}
"""


def ticket_state(cib_file, ticket):
    """The ticket's ``<ticket_state>`` attributes in the status section, as crm_ticket wrote them."""
    found = element(cib_file, "status/tickets/ticket_state[@id=$t]", t=ticket)
    return None if found is None else {k: v for k, v in found.attrib.items() if k != "last-granted"}


def test_a_granted_ticket_lets_its_resource_start_and_a_revoked_one_stops_it(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    granted = TICKETED_SLS.format(granted="true", standby="false")
    dry = salt_env.sls(granted, test=True)
    assert dry.all_ok, dry.failures()
    assert dry["t1"]["result"] is None and dry["t1"]["changes"] == {
        "ticket t1": {"changed": {"granted": {"old": "false", "new": "true"}}}
    }, dry.raw
    assert "~ granted: false -> true" in dry["t1"]["comment"]
    assert ticket_state(salt_env.cib_file, "t1") is None and element(salt_env.cib_file, "//primitive") is None

    real = salt_env.sls(granted)
    assert real.all_ok, real.failures()
    assert real.changed == {"d", "d-needs-t1", "t1"}
    assert real["t1"]["changes"] == dry["t1"]["changes"]
    assert ticket_state(salt_env.cib_file, "t1") == {"id": "t1", "granted": "true"}
    assert offline(salt_env.cib_file, "crm_ticket", "--ticket", "t1", "--get-attr", "granted").stdout.strip() == "true"
    # Pacemaker reads the ticket from the status section: d is planned to start.
    assert planned(salt_env.cib_file, "start") == {("d", "n1")}
    unchanged_on_rerun(salt_env, granted)

    # Revoked: d, found running, is stopped by the loss-policy.
    revoked = TICKETED_SLS.format(granted="false", standby="null")
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls(revoked, test=True)
    assert dry.changed == {"t1"} and "~ granted: true -> false" in dry["t1"]["comment"], dry.raw
    assert salt_env.cib_file.read_bytes() == before
    assert salt_env.sls(revoked).changed == {"t1"}
    assert ticket_state(salt_env.cib_file, "t1") == {"id": "t1", "granted": "false"}
    assert planned(salt_env.cib_file, "stop", *RUNNING_ON_N1) == {("d", "n1")}
    assert planned(salt_env.cib_file, "start") == set()
    unchanged_on_rerun(salt_env, revoked)


def test_a_standby_ticket_stops_its_resource_until_activated(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    assert salt_env.sls(TICKETED_SLS.format(granted="true", standby="true")).all_ok
    assert ticket_state(salt_env.cib_file, "t1") == {"id": "t1", "granted": "true", "standby": "true"}
    assert planned(salt_env.cib_file, "start") == set()
    assert planned(salt_env.cib_file, "stop", *RUNNING_ON_N1) == {("d", "n1")}

    active = TICKETED_SLS.format(granted="true", standby="false")
    result = salt_env.sls(active)
    assert result["t1"]["changes"] == {"ticket t1": {"changed": {"standby": {"old": "true", "new": "false"}}}}
    assert planned(salt_env.cib_file, "start") == {("d", "n1")}
    unchanged_on_rerun(salt_env, active)


def test_ticket_changes_run_in_a_careful_order():
    from saltext.pcmk.utils.cluster.tickets import TicketSpec, TicketState

    # Standby before the revoke, the grant before activating.
    going = TicketSpec.build("t1", granted=False, standby=True).steps(TicketState(granted=True, standby=False))
    assert [options for _, _, options in going] == [["--standby"], ["--revoke", "--force"]]
    coming = TicketSpec.build("t1", granted=True, standby=False).steps(TicketState(granted=False, standby=True))
    assert [options for _, _, options in coming] == [["--grant", "--force"], ["--activate"]]
    assert TicketSpec.build("t1").steps(TicketState(granted=True, standby=True)) == []


def test_a_configuration_write_after_a_ticket_change_is_not_refused_as_stale(cib_file):
    from saltext.pcmk.utils.cib.session import Session
    from saltext.pcmk.utils.cib.specs import AttributeSpec
    from saltext.pcmk.utils.cluster import tickets
    from saltext.pcmk.utils.tools import ToolRunner

    runner = ToolRunner(cib_file=cib_file)
    session = Session(runner, check_agents=False)
    assert session.cib is not None  # the run's one read, before the ticket moves the CIB's version on
    assert tickets.converge(session, tickets.TicketSpec.build("t1", granted=True)).written
    assert session.converge([AttributeSpec.build("property", "no-quorum-policy", "freeze")]).written
    # One patch, accepted at once: the session re-read after the ticket's write.
    assert runner.count("crm_diff") == 1 and runner.count("crm_ticket") == 1


def test_a_ticket_crm_ticket_granted_is_adopted_with_no_write(salt_env):
    offline(salt_env.cib_file, "crm_ticket", "--ticket", "t1", "--grant", "--force")
    offline(salt_env.cib_file, "crm_ticket", "--ticket", "t2", "--standby")
    sls = """
    t1:
      pcmk.ticket:
        - granted: true
        - standby: false
    t2:
      pcmk.ticket:
        - granted: false
        - standby: true
    never-granted:
      pcmk.ticket:
        - ticket: t3
        - granted: false
        - standby: false
    """
    unchanged_on_rerun(salt_env, sls)
    assert ticket_state(salt_env.cib_file, "t3") is None


def test_bad_ticket_declarations_are_refused_naming_the_culprit(salt_env):
    refused(
        salt_env, "t1:\n  pcmk.ticket:\n    - granted: maybe\n", "t1", "ticket 't1'", "granted must be true or false"
    )
    refused(
        salt_env, "t1:\n  pcmk.ticket:\n    - standby: 'often'\n", "t1", "ticket 't1'", "standby must be true or false"
    )
    refused(salt_env, "x:\n  pcmk.ticket:\n    - ticket: 1bad id\n    - granted: true\n", "x", "ticket '1bad id'")
    refused(salt_env, "t1:\n  pcmk.ticket:\n    - grant: true\n", "t1", "unknown argument 'grant'")
    assert element(salt_env.cib_file, "status/tickets") is None
