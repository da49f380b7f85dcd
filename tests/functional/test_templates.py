"""Resource templates (issue 11): pcmk.resource_template, pcmk.resource with ``template``, constraints naming a template.

What a template means is asked of Pacemaker: ``crm_simulate`` plans the
start of a primitive made from it with the template's monitor interval, and
``crm_resource`` (on the offline CIB) reports the parameter it inherits, or
its own when it overrides it. A crmsh-made template and primitive are
adopted without a write.
"""

import shutil
import subprocess

import pytest
from lxml import etree

from tests.support.offline import (
    cib_create,
    element,
    offline,
    planned_starts,
    unchanged_on_rerun,
    with_node_and_no_fencing,
)

TEMPLATED_SLS = """
T:
  pcmk.resource_template:
    - agent: ocf:pacemaker:Dummy
    - params: {fake: from-template}
    - meta: {resource-stickiness: 7}
    - ops:
      - {name: monitor, interval: 17s}
p1:
  pcmk.resource:
    - template: T
    - require: [{pcmk: T}]
p2:
  pcmk.resource:
    - template: T
    - params: {fake: own}
    - ops:
      - {name: monitor, interval: 29s}
    - require: [{pcmk: T}]
"""


def ops_of(el):
    return {(op.get("name"), op.get("interval")): op.get("timeout") for op in el.iterfind("operations/op")}


def planned_monitors(cib_file):
    """``{resource: interval in ms}`` of the recurring monitors the scheduler plans with n1 up."""
    out = subprocess.run(
        ["crm_simulate", "-x", str(cib_file), "-u", "n1", "--quorum", "true", "-S", "--output-as=xml"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {
        a.get("resource"): a.get("interval")
        for a in etree.fromstring(out.encode()).xpath("//rsc_action[@op='monitor'][@interval]")
    }


def parameter(cib_file, resource, name):
    """The value Pacemaker gives ``resource``'s parameter ``name`` (``crm_resource --get-parameter``)."""
    return offline(cib_file, "crm_resource", "--resource", resource, "--get-parameter", name).stdout.strip()


def test_a_primitive_from_a_template_takes_its_agent_params_and_ops_as_pacemaker_says(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls(TEMPLATED_SLS, test=True)
    assert dry.all_ok, dry.failures()
    assert salt_env.cib_file.read_bytes() == before  # test=True writes nothing
    # The primitives are checked against the template this run would create.
    assert "+ template T" in dry["T"]["comment"]
    assert "    + type = Dummy" in dry["T"]["comment"]
    assert "+ resource p1\n    + template = T" in dry["p1"]["comment"]
    assert dry["p2"]["changes"]["resource p2"]["created"] == {
        "template": "T",
        "params.fake": "own",
        "op monitor 29s": "p2-monitor-interval-29s",
        "op monitor 29s.timeout": "20s",
    }

    real = salt_env.sls(TEMPLATED_SLS)
    assert real.all_ok, real.failures()
    assert real.changed == {"T", "p1", "p2"}
    assert {k: v["changes"] for k, v in real.by_id.items()} == {k: v["changes"] for k, v in dry.by_id.items()}
    template = element(salt_env.cib_file, "//resources/template[@id='T']")
    # A new template gets the operations its agent advises, as a resource does.
    assert ops_of(template) == {("start", "0s"): "20s", ("stop", "0s"): "20s", ("monitor", "17s"): "20s"}
    p1 = element(salt_env.cib_file, "//primitive[@id='p1']")
    # No class or type of its own, and no copies of the advised ops: Pacemaker gives it the template's.
    assert dict(p1.attrib) == {"id": "p1", "template": "T"} and len(p1) == 0

    # Pacemaker: both start, each monitored at the template's interval unless it has its own.
    assert planned_starts(salt_env.cib_file) == {"p1", "p2"}
    assert planned_monitors(salt_env.cib_file) == {"p1": "17000", "p2": "29000"}
    assert parameter(salt_env.cib_file, "p1", "fake") == "from-template"
    assert parameter(salt_env.cib_file, "p2", "fake") == "own"  # the primitive's own value wins
    expanded = offline(salt_env.cib_file, "crm_resource", "--resource", "p1", "--query-xml").stdout
    assert 'name="resource-stickiness" value="7"' in expanded and 'type="Dummy"' in expanded

    unchanged_on_rerun(salt_env, TEMPLATED_SLS)

    # A template's change reaches every primitive made from it, through Pacemaker.
    moved = salt_env.sls(TEMPLATED_SLS.replace("from-template", "changed"))
    assert moved.changed == {"T"}
    assert moved["T"]["changes"] == {
        "template T": {"changed": {"params.fake": {"old": "from-template", "new": "changed"}}}
    }
    assert parameter(salt_env.cib_file, "p1", "fake") == "changed"
    assert parameter(salt_env.cib_file, "p2", "fake") == "own"


def epoch(cib_file):
    return int(etree.fromstring(cib_file.read_bytes()).get("epoch"))


def test_template_and_primitives_go_in_one_write_with_state_aggregate(salt_env):
    start = epoch(salt_env.cib_file)
    salt_env.sls("stonith-enabled:\n  pcmk.property:\n    - value: false\n")
    one_write = epoch(salt_env.cib_file) - start
    salt_env.configure(state_aggregate=["pcmk"])
    start = epoch(salt_env.cib_file)
    # Without requisites Salt aggregates all three; the primitives find T in the one candidate.
    sls = "\n".join(line for line in TEMPLATED_SLS.splitlines() if "require" not in line)
    result = salt_env.sls(sls)
    assert result.all_ok, result.failures()
    assert result.changed == {"T", "p1", "p2"}
    assert "in one CIB write with 2 aggregated pcmk state(s)" in result["T"]["comment"]
    # Each state reports its own part of the one write.
    assert set(result["p1"]["changes"]) == {"resource p1"}
    assert set(result["T"]["changes"]) == {"template T"}
    assert epoch(salt_env.cib_file) - start == one_write
    unchanged_on_rerun(salt_env, sls)


@pytest.mark.parametrize(
    "sls, culprit",
    [
        ("p:\n  pcmk.resource:\n    - template: nosuch\n", "template 'nosuch' does not exist"),
        (
            "p:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - template: T\n",
            "give agent or template, not both (agent 'ocf:pacemaker:Dummy', template 'T')",
        ),
        ("p:\n  pcmk.resource: []\n", "an agent (such as ocf:heartbeat:IPaddr2) or a template"),
        ("p:\n  pcmk.resource:\n    - template: p\n", "cannot be made from itself"),
        (
            "T:\n  pcmk.resource_template:\n    - agent: ocf:pacemaker:Dummy\n    - clone: true\n",
            "unknown argument 'clone' for pcmk.resource_template",
        ),
    ],
    ids=["unknown", "both", "neither", "itself", "clone"],
)
def test_a_bad_template_declaration_is_refused_and_writes_nothing(salt_env, sls, culprit):
    before = salt_env.cib_file.read_bytes()
    for test in (True, False):
        result = salt_env.sls(sls, test=test)
        assert not result.all_ok
        assert culprit in next(iter(result.failures().values()))
    assert salt_env.cib_file.read_bytes() == before


def test_a_template_is_checked_against_its_agent_and_gives_its_primitives_required_params(salt_env):
    before = salt_env.cib_file.read_bytes()
    bad = salt_env.sls("T:\n  pcmk.resource_template:\n    - agent: ocf:pacemaker:Dummy\n    - params: {nosuch: 1}\n")
    assert "template 'T': agent ocf:pacemaker:Dummy has no parameter 'nosuch'" in bad.failures()["T"]
    # IPaddr2 requires ip: a template may leave it to each primitive, a primitive must have it from somewhere.
    salt_env.sls("vip:\n  pcmk.resource_template:\n    - agent: ocf:heartbeat:IPaddr2\n")
    assert element(salt_env.cib_file, "//template[@id='vip']") is not None
    missing = salt_env.sls("v1:\n  pcmk.resource:\n    - template: vip\n")
    assert "resource 'v1': agent ocf:heartbeat:IPaddr2 requires parameter 'ip'" in missing.failures()["v1"]
    unknown = salt_env.sls("v1:\n  pcmk.resource:\n    - template: vip\n    - params: {ip: 192.0.2.9, nosuch: 1}\n")
    assert "resource 'v1': agent ocf:heartbeat:IPaddr2 has no parameter 'nosuch'" in unknown.failures()["v1"]
    own = salt_env.sls("v1:\n  pcmk.resource:\n    - template: vip\n    - params: {ip: 192.0.2.9}\n")
    assert own.all_ok, own.failures()
    salt_env.sls("vip:\n  pcmk.resource_template:\n    - agent: ocf:heartbeat:IPaddr2\n    - params: {ip: 192.0.2.8}\n")
    inherited = salt_env.sls("v2:\n  pcmk.resource:\n    - template: vip\n")
    assert inherited.all_ok, inherited.failures()
    assert parameter(salt_env.cib_file, "v2", "ip") == "192.0.2.8"
    assert parameter(salt_env.cib_file, "v1", "ip") == "192.0.2.9"
    assert salt_env.cib_file.read_bytes() != before


def test_secret_template_params_are_masked(salt_env):
    sls = """
    T:
      pcmk.resource_template:
        - agent: ocf:pacemaker:Dummy
        - params: {passwd: TopSecret1}
        - secret_params: [passwd]
    """
    result = salt_env.sls(sls)
    assert result.all_ok, result.failures()
    assert result["T"]["changes"]["template T"]["created"]["params.passwd"] == "********"
    assert "TopSecret1" not in repr(result.raw)
    rotated = salt_env.sls(sls.replace("TopSecret1", "TopSecret2"))
    assert rotated.changed == {"T"} and "TopSecret" not in repr(rotated.raw)


CONSTRAINED_SLS = (
    TEMPLATED_SLS
    + """
T-not-on-n1:
  pcmk.constraint:
    - kind: location
    - rsc: T
    - node: n1
    - score: -INFINITY
    - require: [{pcmk: T}]
"""
)


def test_a_constraint_naming_a_template_applies_to_every_primitive_made_from_it(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    dry = salt_env.sls(CONSTRAINED_SLS, test=True)
    assert dry.all_ok, dry.failures()
    result = salt_env.sls(CONSTRAINED_SLS)
    assert result.all_ok, result.failures()
    assert element(salt_env.cib_file, "//rsc_location[@id='T-not-on-n1']").get("rsc") == "T"
    assert planned_starts(salt_env.cib_file) == set()  # Pacemaker 2.1 bans p1 and p2 through T
    unchanged_on_rerun(salt_env, CONSTRAINED_SLS)
    cib_create(salt_env.cib_file, "resources", '<primitive id="other" class="ocf" provider="pacemaker" type="Dummy"/>')
    ticket = salt_env.sls("""
    T-not-on-n1:
      pcmk.constraint_absent: []
    T-needs-t1:
      pcmk.constraint:
        - kind: ticket
        - rsc: T
        - ticket: t1
    """)
    assert ticket.all_ok, ticket.failures()
    assert planned_starts(salt_env.cib_file) == {"other"}
    assert planned_starts(salt_env.cib_file, "--ticket-grant", "t1") == {"other", "p1", "p2"}


def test_a_template_is_removed_only_once_no_primitive_uses_it(salt_env):
    assert salt_env.sls(CONSTRAINED_SLS).all_ok
    before = salt_env.cib_file.read_bytes()
    refused = salt_env.sls("T:\n  pcmk.resource_template_absent: []\n")
    assert "template 'T' is still used by 'p1', 'p2'" in refused.failures()["T"]
    assert salt_env.cib_file.read_bytes() == before
    gone = salt_env.sls("""
    p1:
      pcmk.resource_absent
    p2:
      pcmk.resource_absent
    T:
      pcmk.resource_template_absent:
        - require: [{pcmk: p1}, {pcmk: p2}]
    """)
    assert gone.all_ok, gone.failures()
    assert set(gone["T"]["changes"]) == {"template T", "constraint T-not-on-n1"}
    assert set(gone["T"]["changes"]["template T"]) == {"deleted"}
    assert element(salt_env.cib_file, "//template") is None
    assert element(salt_env.cib_file, "//rsc_location") is None  # the constraint naming T went with it
    unchanged_on_rerun(salt_env, "T:\n  pcmk.resource_template_absent: []\n")


CRMSH_SLS = """
T:
  pcmk.resource_template:
    - agent: ocf:pacemaker:Dummy
    - params: {fake: t}
    - meta: {resource-stickiness: 5}
    - ops:
      - {name: monitor, interval: 17s, timeout: 33s}
p0:
  pcmk.resource:
    - template: T
p1:
  pcmk.resource:
    - template: T
    - params: {fake: y}
    - ops:
      - {name: monitor, interval: 29s}
"""


def test_a_crmsh_made_template_and_its_primitives_are_adopted_without_a_write(salt_env):
    if shutil.which("crm") is None:
        pytest.skip("crmsh not installed")
    offline(salt_env.cib_file, "crm_attribute", "--name", "stonith-enabled", "--update", "false")
    for argv in (
        "rsc_template T ocf:pacemaker:Dummy params fake=t meta resource-stickiness=5 op monitor interval=17s timeout=33s",
        "primitive p0 @T",
        "primitive p1 @T params fake=y op monitor interval=29s",
    ):
        offline(salt_env.cib_file, "crm", "configure", *argv.split())
    assert element(salt_env.cib_file, "//primitive[@id='p1']").get("template") == "T"
    unchanged_on_rerun(salt_env, CRMSH_SLS)
    # What crmsh left out (the agent's other advised ops) stays left out, and a change is a change.
    changed = salt_env.sls(CRMSH_SLS.replace("fake: y", "fake: z"))
    assert changed.changed == {"p1"}
    assert changed["p1"]["changes"] == {"resource p1": {"changed": {"params.fake": {"old": "y", "new": "z"}}}}


def test_the_execution_module_updates_a_primitive_made_from_a_template_keeping_its_template(salt_env):
    assert salt_env.sls(TEMPLATED_SLS).all_ok
    pcmk = salt_env.loaders.modules.pcmk
    updated = pcmk.resource_update("p1", params={"fake": "mine"})
    assert updated["changes"] == {"resource p1": {"added": {"params.fake": "mine"}}}, updated
    assert element(salt_env.cib_file, "//primitive[@id='p1']").get("template") == "T"
    assert parameter(salt_env.cib_file, "p1", "fake") == "mine"
    created = pcmk.resource_create("p3", template="T")
    assert set(created["changes"]) == {"resource p3"}, created
    assert dict(element(salt_env.cib_file, "//primitive[@id='p3']").attrib) == {"id": "p3", "template": "T"}
