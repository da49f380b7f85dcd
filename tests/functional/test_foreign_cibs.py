"""CIBs no one here wrote: re-declaring what they hold changes nothing, and every write is reported.

Each test was written against a defect of issue 11 (the "Defects" list) and
failed before its fix. The rule every test holds: a state that reports no
change writes nothing (the CIB file's bytes and epoch stay), and every write
is reported, with the exact change.
"""

import subprocess

import pytest
from lxml import etree

from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.cib import specs as model
from saltext.pcmk.utils.cib.document import Cib
from saltext.pcmk.utils.errors import CibConflict
from saltext.pcmk.utils.tools import ToolRunner
from tests.support.offline import cib_create


def epoch(cib_bytes):
    return int(etree.fromstring(cib_bytes).get("epoch"))


def ops_of(cib_bytes, resource):
    """``{(name, interval, role): {attr: value}}`` of a primitive's ops, ids left out."""
    root = etree.fromstring(cib_bytes)
    return {
        (op.get("name"), op.get("interval"), op.get("role")): {
            k: v for k, v in op.attrib.items() if k not in ("id", "name", "interval", "role")
        }
        for op in root.xpath("//primitive[@id=$r]/operations/op", r=resource)
    }


def dummy_with_ops(*ops):
    return f"""
    dummy:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - ops: [{", ".join(ops)}]
    """


def assert_nothing_reported_nothing_written(salt_env, sls):
    """Both test=True and the real run report no change, and the file stays byte for byte."""
    before = salt_env.cib_file.read_bytes()
    for test in (True, False):
        result = salt_env.sls(sls, test=test)
        assert result.all_ok, result.failures()
        assert result.changed == set(), result.raw
    assert salt_env.cib_file.read_bytes() == before


# -- defect 1: an operation change is invisible ----------------------------------------------
def test_an_op_interval_change_is_reported_in_test_mode_and_when_written(salt_env):
    first = salt_env.sls(dummy_with_ops("{name: monitor, interval: 30s}"))
    assert first.all_ok, first.failures()
    before = salt_env.cib_file.read_bytes()
    assert_nothing_reported_nothing_written(salt_env, dummy_with_ops("{name: monitor, interval: 30s}"))

    moved = dummy_with_ops("{name: monitor, interval: 10s}")
    predicted = salt_env.sls(moved, test=True)
    assert predicted["dummy"]["result"] is None
    assert salt_env.cib_file.read_bytes() == before
    real = salt_env.sls(moved)
    assert real.all_ok, real.failures()
    expected = {
        "resource dummy": {
            "removed": {"op monitor 30s": "dummy-monitor-interval-30s", "op monitor 30s.timeout": "20s"},
            "added": {"op monitor 10s": "dummy-monitor-interval-10s", "op monitor 10s.timeout": "20s"},
        }
    }
    assert predicted["dummy"]["changes"] == expected
    assert real["dummy"]["changes"] == expected
    after = salt_env.cib_file.read_bytes()
    assert epoch(after) > epoch(before)
    assert {k[:2] for k in ops_of(after, "dummy")} >= {("monitor", "10s")}
    assert ("monitor", "30s") not in {k[:2] for k in ops_of(after, "dummy")}


def test_an_op_with_only_a_name_and_interval_is_reported_when_added(salt_env):
    salt_env.sls(dummy_with_ops("{name: monitor, interval: 10s}"))
    # An op the agent gives no advice for: nothing but a name and an interval lands in the CIB.
    added = dummy_with_ops("{name: monitor, interval: 10s}", "{name: notify, interval: 0s}")
    before = salt_env.cib_file.read_bytes()
    predicted = salt_env.sls(added, test=True)
    real = salt_env.sls(added)
    expected = {"resource dummy": {"added": {"op notify 0s": "dummy-notify-interval-0s"}}}
    assert predicted["dummy"]["changes"] == expected
    assert real["dummy"]["changes"] == expected
    assert ops_of(salt_env.cib_file.read_bytes(), "dummy")[("notify", "0s", None)] == {}
    assert epoch(salt_env.cib_file.read_bytes()) > epoch(before)
    assert_nothing_reported_nothing_written(salt_env, added)


def cib_replace_configuration(cib_file, configuration):
    """Make the file's configuration ``configuration`` (an XML text), keeping its version."""
    root = etree.fromstring(cib_file.read_bytes())
    root.replace(root.find("configuration"), etree.fromstring(configuration))
    cib_file.write_bytes(etree.tostring(root))


# -- defect 5: more silent writes -------------------------------------------------------------
def test_ops_empty_list_on_an_empty_operations_element_changes_nothing(salt_env):
    cib_create(
        salt_env.cib_file,
        "resources",
        '<primitive id="dummy" class="ocf" provider="pacemaker" type="Dummy"><operations/></primitive>',
    )
    assert_nothing_reported_nothing_written(
        salt_env, "dummy: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}, {ops: []}]}"
    )
    assert etree.fromstring(salt_env.cib_file.read_bytes()).find(".//primitive/operations") is not None


NODE_WITH_TWO_SETS = """
<node id="1" uname="n1">
  <instance_attributes id="nodes-1"><nvpair id="nodes-1-site" name="site" value="east"/></instance_attributes>
  <instance_attributes id="nodes-1-extra"><nvpair id="nodes-1-extra-rack" name="rack" value="r2"/></instance_attributes>
</node>"""


def test_a_node_attribute_in_a_second_set_is_found_where_it_is(salt_env):
    cib_create(salt_env.cib_file, "nodes", NODE_WITH_TWO_SETS)
    assert_nothing_reported_nothing_written(salt_env, "rack: {pcmk.node_attribute: [{node: n1}, {value: r2}]}")
    moved = salt_env.sls("rack: {pcmk.node_attribute: [{node: n1}, {value: r3}]}")
    assert moved["rack"]["changes"] == {
        "node n1": {"changed": {"params[nodes-1-extra].rack": {"old": "r2", "new": "r3"}}}
    }
    root = etree.fromstring(salt_env.cib_file.read_bytes())
    assert root.xpath("//nvpair[@name='rack']/@id") == ["nodes-1-extra-rack"]
    assert root.xpath("//nvpair[@name='rack']/@value") == ["r3"]
    gone = salt_env.sls("rack: {pcmk.node_attribute_absent: [{node: n1}]}")
    assert gone["rack"]["changes"] == {"node n1": {"removed": {"params[nodes-1-extra].rack": "r3"}}}
    assert not etree.fromstring(salt_env.cib_file.read_bytes()).xpath("//nvpair[@name='rack']")


DUPLICATE_NVPAIRS = """
<primitive id="dummy" class="ocf" provider="pacemaker" type="Dummy">
  <instance_attributes id="dummy-instance_attributes">
    <nvpair id="dummy-instance_attributes-fake" name="fake" value="first"/>
    <nvpair id="dummy-instance_attributes-fake-1" name="fake" value="second"/>
  </instance_attributes>
</primitive>"""


def test_duplicate_nvpairs_read_as_the_first_and_are_not_collapsed_silently(salt_env):
    cib_create(salt_env.cib_file, "resources", DUPLICATE_NVPAIRS)
    sls = "dummy: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}, {params: {fake: %s}}]}"
    # The first is what Pacemaker reads: declaring it changes nothing.
    assert_nothing_reported_nothing_written(salt_env, sls % "first")
    changed = salt_env.sls(sls % "third")
    assert changed["dummy"]["changes"] == {
        "resource dummy": {"changed": {"params.fake": {"old": "first", "new": "third"}}}
    }
    values = etree.fromstring(salt_env.cib_file.read_bytes()).xpath("//nvpair[@name='fake']/@value")
    assert values == ["third", "second"]  # the one Pacemaker reads changed; the shadowed one left as found


# -- defect 4: several unconditional cluster_property_sets --------------------------------------
def set_crm_config(cib_file, crm_config):
    root = etree.fromstring(cib_file.read_bytes())
    root.find("configuration").replace(root.find("configuration/crm_config"), etree.fromstring(crm_config))
    cib_file.write_bytes(etree.tostring(root))


def maintenance_mode_as_pacemaker_reads_it(cib_file):
    """What the scheduler reads: crm_simulate says resource management is disabled in maintenance mode."""
    proc = subprocess.run(["crm_simulate", "--xml-file", str(cib_file), "--simulate"], capture_output=True, text=True)
    return "Resource management is DISABLED" in proc.stdout


def test_pacemaker_reads_cib_bootstrap_options_first_and_later_sets_before_earlier_ones(cib_file):
    cib_create(cib_file, "resources", '<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>')

    def crm_config(*sets):
        body = "".join(
            f'<cluster_property_set id="{i}"><nvpair id="{i}-mm" name="maintenance-mode" value="{v}"/>'
            "</cluster_property_set>"
            for i, v in sets
        )
        return f"<crm_config>{body}</crm_config>"

    for sets, effective in (
        ((("site", "true"), ("cib-bootstrap-options", "false")), "false"),
        ((("cib-bootstrap-options", "true"), ("site", "false")), "true"),
        ((("a", "true"), ("b", "false")), "false"),  # equal scores: the later set wins
        ((("a", "false"), ("b", "true")), "true"),
    ):
        set_crm_config(cib_file, crm_config(*sets))
        assert maintenance_mode_as_pacemaker_reads_it(cib_file) == (effective == "true"), sets
        crm = Cib.from_text(cib_file.read_text()).section("crm_config")
        assert (
            nvsets.effective(crm, "cluster_property_set", "maintenance-mode", "cib-bootstrap-options").get("value")
            == effective
        )


TWO_PROPERTY_SETS = """
<crm_config>
  <cluster_property_set id="cib-bootstrap-options">
    <nvpair id="cib-bootstrap-options-maintenance-mode" name="maintenance-mode" value="false"/>
  </cluster_property_set>
  <cluster_property_set id="site-options">
    <nvpair id="site-options-no-quorum-policy" name="no-quorum-policy" value="freeze"/>
    <nvpair id="site-options-maintenance-mode" name="maintenance-mode" value="true"/>
  </cluster_property_set>
</crm_config>"""


def test_properties_are_found_where_pacemaker_reads_them_and_written_where_crm_attribute_writes(salt_env):
    cib_create(salt_env.cib_file, "resources", '<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>')
    set_crm_config(salt_env.cib_file, TWO_PROPERTY_SETS)
    assert not maintenance_mode_as_pacemaker_reads_it(salt_env.cib_file)
    assert_nothing_reported_nothing_written(
        salt_env,
        """
        maintenance-mode: {pcmk.property: [{value: false}]}
        no-quorum-policy: {pcmk.property: [{value: freeze}]}
        """,
    )
    result = salt_env.sls("""
    no-quorum-policy: {pcmk.property: [{value: stop}]}
    stonith-enabled: {pcmk.property: [{value: false}]}
    maintenance-mode: {pcmk.property: [{value: true}]}
    """)
    assert result.all_ok, result.failures()
    assert result["no-quorum-policy"]["changes"] == {
        "properties site-options": {"changed": {"no-quorum-policy": {"old": "freeze", "new": "stop"}}}
    }
    assert result["stonith-enabled"]["changes"] == {
        "properties cib-bootstrap-options": {"added": {"stonith-enabled": "false"}}
    }
    assert result["maintenance-mode"]["changes"] == {
        "properties cib-bootstrap-options": {"changed": {"maintenance-mode": {"old": "false", "new": "true"}}}
    }
    assert maintenance_mode_as_pacemaker_reads_it(salt_env.cib_file)
    root = etree.fromstring(salt_env.cib_file.read_bytes())
    assert root.xpath("//nvpair[@name='no-quorum-policy']/@id") == ["site-options-no-quorum-policy"]
    assert root.xpath("//nvpair[@name='stonith-enabled']/../@id") == ["cib-bootstrap-options"]
    assert len(root.xpath("//cluster_property_set")) == 2


# -- defect 6: a colocation without a score --------------------------------------------------
TWO_DUMMIES = """
    a: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}]}
    b: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}]}
"""


def colocation(score_line=""):
    return f"""
    a-with-b:
      pcmk.constraint:
        - kind: colocation
        - rsc: a
        - with_rsc: b{score_line}
    """


def constraint_attrs(cib_bytes, ident):
    return dict(etree.fromstring(cib_bytes).xpath("//*[@id=$i]", i=ident)[0].attrib)


def test_a_colocation_without_a_score_is_adopted_and_unset_is_said_with_null(salt_env):
    assert salt_env.sls(TWO_DUMMIES).all_ok
    cib_create(salt_env.cib_file, "constraints", '<rsc_colocation id="a-with-b" rsc="a" with-rsc="b"/>')
    # Left out, the score is not managed on an existing colocation: Pacemaker reads the missing one as 0.
    assert_nothing_reported_nothing_written(salt_env, colocation())
    assert_nothing_reported_nothing_written(salt_env, colocation("\n        - score: null"))
    assert constraint_attrs(salt_env.cib_file.read_bytes(), "a-with-b") == {
        "id": "a-with-b",
        "rsc": "a",
        "with-rsc": "b",
    }
    mandatory = salt_env.sls(colocation("\n        - score: INFINITY"))
    assert mandatory["a-with-b"]["changes"] == {"constraint a-with-b": {"added": {"score": "INFINITY"}}}
    # Left out again: the score now there stays.
    assert_nothing_reported_nothing_written(salt_env, colocation())
    unset = salt_env.sls(colocation("\n        - score: null"))
    assert unset["a-with-b"]["changes"] == {"constraint a-with-b": {"removed": {"score": "INFINITY"}}}
    assert "score" not in constraint_attrs(salt_env.cib_file.read_bytes(), "a-with-b")


def test_a_new_colocation_without_a_score_is_mandatory_as_pcs_makes_it(salt_env):
    result = salt_env.sls(TWO_DUMMIES + colocation())
    assert result.all_ok, result.failures()
    assert result["a-with-b"]["changes"]["constraint a-with-b"]["created"]["score"] == "INFINITY"
    assert constraint_attrs(salt_env.cib_file.read_bytes(), "a-with-b")["score"] == "INFINITY"


# -- defect 2: two epochs per write on a CIB file ------------------------------------------------
def test_one_write_moves_the_epoch_by_exactly_one(salt_env):
    before = etree.fromstring(salt_env.cib_file.read_bytes())
    result = salt_env.sls("dummy: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}]}")
    assert result.all_ok and result.changed == {"dummy"}
    after = etree.fromstring(salt_env.cib_file.read_bytes())
    assert int(after.get("epoch")) == int(before.get("epoch")) + 1
    assert after.get("num_updates") == "0" and after.get("admin_epoch") == before.get("admin_epoch")
    # A stale writer is still refused (exit 103) and retried: the patch still carries the version it read.
    runner = ToolRunner(cib_file=salt_env.cib_file)
    base = cibmod.read(runner)
    candidate = base.copy()
    model.AttributeSpec.build("property", "maintenance-mode", "false").apply(candidate, None)
    candidate.mark_changed()
    patch = cibmod.patch_for(runner, base, candidate)
    cibmod.apply_patch(runner, patch)
    assert cibmod.read(runner).version == (0, base.version[1] + 1, 0)
    with pytest.raises(CibConflict) as info:
        cibmod.apply_patch(runner, patch)
    assert info.value.returncode == 103


# -- defect 8: churn on values equal to Pacemaker's defaults or spelled another way ---------------
def test_clone_globally_unique_false_stated_or_left_out_changes_nothing(salt_env):
    cib_create(
        salt_env.cib_file,
        "resources",
        '<clone id="d-clone"><meta_attributes id="d-clone-meta_attributes">'
        '<nvpair id="d-clone-meta_attributes-globally-unique" name="globally-unique" value="false"/>'
        '<nvpair id="d-clone-meta_attributes-interleave" name="interleave" value="true"/></meta_attributes>'
        '<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>',
    )
    sls = "d: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}, {clone_meta: {%s}}]}"
    assert_nothing_reported_nothing_written(salt_env, sls % "interleave: true")
    assert_nothing_reported_nothing_written(salt_env, sls % "interleave: true, globally-unique: false")
    cib_create(
        salt_env.cib_file,
        "resources",
        '<clone id="e-clone"><primitive id="e" class="ocf" provider="pacemaker" type="Dummy"/></clone>',
    )
    assert_nothing_reported_nothing_written(
        salt_env, "e: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}, {clone_meta: {globally-unique: false}}]}"
    )
    # A value other than the default is still a change.
    unique = salt_env.sls("e: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}, {clone_meta: {globally-unique: true}}]}")
    assert unique["e"]["changes"]["clone e-clone"]["added"] == {"meta.globally-unique": "true"}


def test_an_nvpair_id_ref_is_read_through_its_reference(salt_env):
    cib_create(
        salt_env.cib_file,
        "resources",
        '<primitive id="a" class="ocf" provider="pacemaker" type="Dummy">'
        '<instance_attributes id="a-params"><nvpair id="shared-state" name="state" value="/run/shared"/>'
        "</instance_attributes></primitive>",
    )
    cib_create(
        salt_env.cib_file,
        "resources",
        '<primitive id="b" class="ocf" provider="pacemaker" type="Dummy">'
        '<instance_attributes id="b-params"><nvpair id-ref="shared-state"/></instance_attributes></primitive>',
    )
    assert_nothing_reported_nothing_written(
        salt_env, "b: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}, {params: {state: /run/shared}}]}"
    )


OLD_SCHEMA_PROMOTABLE = """
<master id="s-master">
  <meta_attributes id="s-master-meta"><nvpair id="s-master-meta-notify" name="notify" value="true"/></meta_attributes>
  <primitive id="s" class="ocf" provider="pacemaker" type="Stateful">
    <operations>
      <op id="s-monitor-10" name="monitor" interval="10s" role="Master" timeout="20s"/>
      <op id="s-monitor-11" name="monitor" interval="11s" role="Slave" timeout="20s"/>
      <op id="s-monitor-10-started" name="monitor" interval="10s" timeout="20s"/>
    </operations>
  </primitive>
</master>"""


def test_old_and_new_role_spellings_and_master_vs_promotable_change_nothing(salt_env):
    cib_create(salt_env.cib_file, "resources", OLD_SCHEMA_PROMOTABLE)
    cib_create(salt_env.cib_file, "resources", '<primitive id="x" class="ocf" provider="pacemaker" type="Dummy"/>')
    cib_create(
        salt_env.cib_file,
        "constraints",
        '<rsc_colocation id="x-with-s" rsc="x" with-rsc="s-master" with-rsc-role="Master" score="INFINITY"/>',
    )
    for promoted, unpromoted in (("Master", "Slave"), ("Promoted", "Unpromoted")):
        assert_nothing_reported_nothing_written(
            salt_env,
            f"""
            s:
              pcmk.resource:
                - agent: ocf:pacemaker:Stateful
                - promotable: true
                - clone_id: s-master
                - clone_meta: {{notify: true, promotable: true}}
                - ops:
                  - {{name: monitor, interval: 10s, role: {promoted}}}
                  - {{name: monitor, interval: 11s, role: {unpromoted}}}
                  - {{name: monitor, interval: 10s, timeout: 20s}}
            x-with-s:
              pcmk.constraint:
                - kind: colocation
                - rsc: x
                - with_rsc: s-master
                - with_rsc_role: {promoted}
                - score: INFINITY
            """,
        )


# -- defect 3: Pacemaker Remote and guest nodes ------------------------------------------------------
def test_a_remote_connection_resource_shares_its_id_with_its_node_entry(salt_env):
    cib_create(salt_env.cib_file, "nodes", '<node id="compute-0" uname="compute-0" type="remote"/>')
    cib_create(
        salt_env.cib_file,
        "resources",
        '<primitive id="compute-0" class="ocf" provider="pacemaker" type="remote">'
        '<instance_attributes id="compute-0-instance_attributes">'
        '<nvpair id="compute-0-instance_attributes-server" name="server" value="192.0.2.20"/>'
        "</instance_attributes></primitive>",
    )
    sls = "compute-0: {pcmk.resource: [{agent: ocf:pacemaker:remote}, {params: {server: %s}}]}"
    assert_nothing_reported_nothing_written(salt_env, sls % "192.0.2.20")
    moved = salt_env.sls(sls % "192.0.2.21")
    assert moved["compute-0"]["changes"] == {
        "resource compute-0": {"changed": {"params.server": {"old": "192.0.2.20", "new": "192.0.2.21"}}}
    }
    # Any other element with the id is still refused.
    cib_create(
        salt_env.cib_file,
        "resources",
        '<group id="g"><primitive id="gm" class="ocf" provider="pacemaker" type="Dummy"/></group>',
    )
    taken = salt_env.sls("g: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}]}")
    assert "already used by a <group>" in taken.failures()["g"]


def test_a_guest_node_resource_is_adopted(salt_env):
    cib_create(salt_env.cib_file, "nodes", '<node id="guest-1" uname="guest-1" type="remote"/>')
    cib_create(
        salt_env.cib_file,
        "resources",
        '<primitive id="vm1" class="ocf" provider="pacemaker" type="Dummy">'
        '<meta_attributes id="vm1-meta_attributes">'
        '<nvpair id="vm1-meta_attributes-remote-node" name="remote-node" value="guest-1"/>'
        "</meta_attributes></primitive>",
    )
    assert_nothing_reported_nothing_written(
        salt_env, "vm1: {pcmk.resource: [{agent: ocf:pacemaker:Dummy}, {meta: {remote-node: guest-1}}]}"
    )


# -- defect 7: no way forward when an agent is not installed here ------------------------------
ABSENT_AGENT = """
fence-ipmi:
  pcmk.resource:
    - agent: stonith:fence_only_on_the_nodes
    - params: {ip: 192.0.2.50, username: admin}
{extra}
"""


def test_check_agent_false_declares_a_resource_whose_agent_is_not_installed_here(salt_env):
    refused = salt_env.sls(ABSENT_AGENT.replace("{extra}", ""))
    assert "fence_only_on_the_nodes" in refused.failures()["fence-ipmi"]

    sls = ABSENT_AGENT.replace("{extra}", "    - check_agent: false")
    dry = salt_env.sls(sls, test=True)
    assert dry.all_ok, dry.failures()
    assert "agent meta-data check skipped: check_agent: false" in dry["fence-ipmi"]["comment"]
    real = salt_env.sls(sls)
    assert real.changed == {"fence-ipmi"}
    assert "agent meta-data check skipped" in real["fence-ipmi"]["comment"]
    primitive = etree.fromstring(salt_env.cib_file.read_bytes()).xpath("//primitive[@id='fence-ipmi']")[0]
    assert (primitive.get("class"), primitive.get("type")) == ("stonith", "fence_only_on_the_nodes")
    assert nvsets.effective(primitive, "instance_attributes", "ip").get("value") == "192.0.2.50"
    assert_nothing_reported_nothing_written(salt_env, sls)


def test_the_minion_option_turns_the_agent_check_off_for_a_run(salt_env):
    salt_env.configure(**{"pcmk.check_agents": False})
    result = salt_env.sls(ABSENT_AGENT.replace("{extra}", ""))
    assert result.all_ok, result.failures()
    assert "agent meta-data check skipped: pcmk.check_agents: false" in result["fence-ipmi"]["comment"]


def test_a_parameter_an_older_agent_took_is_adopted_as_the_cib_holds_it(salt_env):
    cib_create(
        salt_env.cib_file,
        "resources",
        '<primitive id="old" class="ocf" provider="pacemaker" type="Dummy">'
        '<instance_attributes id="old-ia"><nvpair id="old-ia-legacy" name="legacy_opt" value="7"/>'
        "</instance_attributes></primitive>",
    )
    held = """
    old:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - params: {legacy_opt: 7}
    """
    assert_nothing_reported_nothing_written(salt_env, held)
    before = salt_env.cib_file.read_bytes()
    changed = salt_env.sls(held.replace("legacy_opt: 7", "legacy_opt: 8"))
    assert "has no parameter 'legacy_opt'" in changed.failures()["old"]
    assert salt_env.cib_file.read_bytes() == before


def test_an_existing_resource_without_declared_params_is_not_asked_for_required_ones(salt_env):
    cib_create(
        salt_env.cib_file,
        "resources",
        '<primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">'
        '<instance_attributes id="vip-ia"><nvpair id="vip-ia-ip" name="ip" value="192.0.2.9"/>'
        "</instance_attributes></primitive>",
    )
    assert_nothing_reported_nothing_written(salt_env, "vip:\n  pcmk.resource:\n    - agent: ocf:heartbeat:IPaddr2\n")
    new = salt_env.sls("vip2:\n  pcmk.resource:\n    - agent: ocf:heartbeat:IPaddr2\n")
    assert "requires parameter 'ip'" in new.failures()["vip2"]
