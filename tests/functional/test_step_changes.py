"""Each owner's changes in a shared write, compared over what its specs touched, are the
changes a whole-CIB comparison of every step gives (offline CIB, real Pacemaker tools)."""

import pytest
from lxml import etree

from saltext.pcmk.utils.cib import diff
from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.cib.session import Session
from saltext.pcmk.utils.cib.specs import Spec, builders
from saltext.pcmk.utils.tools import ToolRunner
from tests.support.offline import cib_create, with_node_and_no_fencing

DUMMY = "ocf:pacemaker:Dummy"

# A run of states touching every kind of object, some twice (a resource moved from one
# group to another, a property set then removed, a pcs-made constraint adopted).
STATES = [
    ("property", "maintenance-mode", {"value": False}),
    ("rsc_defaults", "resource-stickiness", {"value": 100}),
    ("op_defaults", "timeout", {"value": "60s"}),
    ("resource", "a", {"agent": DUMMY, "params": {"fake": "1"}}),
    ("resource", "b", {"agent": DUMMY, "group": "g"}),
    ("resource", "c", {"agent": DUMMY, "group": "g"}),
    ("resource", "d", {"agent": DUMMY, "clone": {"interleave": True}}),
    ("resource", "old", {"agent": DUMMY, "meta": {"target-role": "Stopped"}}),
    ("constraint", "a-then-b", {"kind": "order", "first": "a", "then": "b"}),
    ("constraint", "a-with-d", {"kind": "colocation", "rsc": "a", "with_rsc": "d-clone"}),
    ("constraint", "pcs-made-adopted", {"kind": "location", "rsc": "old", "node": "n1", "score": 10}),
    ("resource", "b", {"agent": DUMMY, "group": "g3"}),
    ("group", "g2", {"resources": ["a"]}),
    ("tag", "web", {"resources": ["a", "c"]}),
    ("node_attribute", "site", {"node": "n1", "value": "east"}),
    ("property_absent", "maintenance-mode", {}),
    ("resource_template", "tmpl", {"agent": DUMMY, "params": {"fake": "t"}}),
    ("alert", "notify", {"path": "/usr/bin/true"}),
    ("resource", "fence-n1", {"agent": "stonith:null", "params": {"hostlist": "n1"}}),
    ("fencing_level", "fl", {"target": "n1", "index": 1, "devices": ["fence-n1"]}),
    ("constraint_absent", "a-with-d", {}),
]


@pytest.fixture
def cib_with_history(cib_file):
    with_node_and_no_fencing(cib_file)
    cib_create(
        cib_file,
        "resources",
        '<primitive id="old" class="ocf" provider="pacemaker" type="Dummy"/>',
    )
    cib_create(cib_file, "constraints", '<rsc_location id="location-old-n1-10" rsc="old" node="n1" score="10"/>')
    return cib_file


def groups():
    return [(f"{i} {fun} {name}", builders.build(fun, name, **args)) for i, (fun, name, args) in enumerate(STATES)]


def test_scoped_changes_are_the_whole_cib_comparison_of_every_step(cib_with_history):
    session = Session(ToolRunner(cib_file=cib_with_history))
    original = session.cib
    fast, exact = original.copy(), original.copy()
    scoped, _, _ = session._compute(groups(), set(), original, fast)
    whole, _, _ = session._compute(groups(), set(), original, exact, exact=True)
    assert fast.same_configuration(exact)
    assert scoped == whole
    assert set(scoped["10 constraint pcs-made-adopted"]) == set()  # adopted as it is
    assert set(scoped["11 resource b"]) == {"group g", "group g3"}
    assert set(scoped["12 group g2"]) == {"group g2"}
    assert scoped["15 property_absent maintenance-mode"] == {
        "properties cib-bootstrap-options": {"removed": {"maintenance-mode": "false"}}
    }


def test_a_write_shared_by_many_states_is_written_once_and_a_second_run_writes_nothing(cib_with_history):
    # Without the states that undo earlier ones, the run converges.
    undoing = {"11 resource b", "15 property_absent maintenance-mode", "20 constraint_absent a-with-d"}
    settled = [g for g in groups() if g[0] not in undoing]
    session = Session(ToolRunner(cib_file=cib_with_history))
    outcomes = session.converge_groups(settled)
    assert session.writes == 1
    assert all(o.written for o in outcomes.values() if o.changed)
    text = cib_with_history.read_text()
    again = Session(ToolRunner(cib_file=cib_with_history))
    outcomes = again.converge_groups(settled)
    assert again.writes == 0 and cib_with_history.read_text() == text
    assert not any(o.changed for o in outcomes.values())


def test_objects_in_another_order_are_reported_as_a_rewrite(cib_with_history):
    session = Session(ToolRunner(cib_file=cib_with_history))
    session.converge_groups(groups()[:8])
    before = session.cib
    after = before.copy()
    resources = after.section("resources")
    first = resources[0]
    resources.remove(first)
    resources.append(first)
    assert diff.compare(before, after) == {"configuration": {"rewritten": diff.REWRITTEN}}


class TouchesMoreThanItSays(Spec):
    """A spec whose ``touched`` leaves out an object it changes."""

    def apply(self, cib, ctx):
        for ident in ("a", "old"):
            nvset = cib.resource(ident).find("instance_attributes")
            if nvset is None:
                nvset = etree.SubElement(cib.resource(ident), "instance_attributes", id=f"{ident}-ia")
            etree.SubElement(nvset, "nvpair", id=f"{ident}-ia-fake", name="fake", value="changed")

    def touched(self):
        return ["a"]


def test_a_change_no_state_reported_makes_every_step_compared_whole(cib_with_history):
    session = Session(ToolRunner(cib_file=cib_with_history))
    session.converge(builders.build("resource", "a", agent=DUMMY))
    outcomes = session.converge_groups(
        [("liar", [TouchesMoreThanItSays()]), ("b", builders.build("resource", "b", agent=DUMMY))]
    )
    assert set(outcomes["liar"].changes) == {"resource a", "resource old"}
    assert set(outcomes["b"].changes) == {"resource b"}
    written = cibmod.read(ToolRunner(cib_file=cib_with_history))
    assert written.root.xpath("//primitive[@id='old']//nvpair[@name='fake']/@value") == ["changed"]
