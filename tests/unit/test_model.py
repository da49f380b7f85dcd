"""The model reconciles a candidate CIB; pure lxml, no Pacemaker tools."""

import pytest
from lxml import etree

from saltext.pcmk.utils.cib import diff, nvsets
from saltext.pcmk.utils.cib import specs as model
from saltext.pcmk.utils.cib.document import Cib
from saltext.pcmk.utils.cib.session import ApplyContext
from saltext.pcmk.utils.errors import NotFound, SpecError

EMPTY = """<cib validate-with="pacemaker-3.9" epoch="5" num_updates="2" admin_epoch="0">
<configuration><crm_config/><nodes><node id="1" uname="n1"/></nodes><resources/><constraints/></configuration><status/></cib>"""

# What `pcs resource create d1 ocf:pacemaker:Dummy fake=x` and a pcs clone/order leave behind.
PCS_MADE = """<cib validate-with="pacemaker-3.9" epoch="9" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes/>
<resources>
  <primitive class="ocf" id="d1" provider="pacemaker" type="Dummy">
    <instance_attributes id="d1-instance_attributes"><nvpair id="d1-instance_attributes-fake" name="fake" value="x"/></instance_attributes>
    <operations>
      <op id="d1-monitor-interval-10s" interval="10s" name="monitor" timeout="20s"/>
      <op id="d1-start-interval-0s" interval="0s" name="start" timeout="20s"/>
    </operations>
  </primitive>
  <primitive class="ocf" id="d2" provider="pacemaker" type="Dummy"/>
</resources>
<constraints>
  <rsc_order first="d1" first-action="start" id="order-d1-d2-mandatory" then="d2" then-action="start"/>
  <rsc_location id="location-d2-n1-INFINITY" node="n1" rsc="d2" score="INFINITY"/>
</constraints></configuration><status/></cib>"""


def ctx():
    return ApplyContext(metadata=None, secret_files=None)


def apply(cib, *specs):
    candidate = cib.copy()
    for spec in specs:
        spec.apply(candidate, ctx())
    return candidate


def dummy(name="d1", **kwargs):
    return model.ResourceSpec.build(name, "ocf:pacemaker:Dummy", check_agent=False, **kwargs)


def test_new_primitive_gets_pacemaker_style_ids():
    cib = apply(
        Cib.from_text(EMPTY),
        dummy(params={"fake": "a"}, meta={"target-role": "Stopped"}, ops=[{"name": "monitor", "interval": "10s"}]),
    )
    assert cib.by_id("d1-instance_attributes-fake").get("value") == "a"
    assert cib.by_id("d1-meta_attributes-target-role").get("value") == "Stopped"
    assert cib.by_id("d1-monitor-interval-10s").get("name") == "monitor"


def test_second_apply_produces_identical_xml():
    spec = dummy(params={"fake": "a"}, ops=[{"name": "monitor", "interval": "10s"}], clone=True)
    once = apply(Cib.from_text(EMPTY), spec)
    twice = apply(once, spec)
    assert once.to_text() == twice.to_text()


def test_pcs_made_resource_is_adopted_without_churn():
    cib = Cib.from_text(PCS_MADE)
    same = apply(
        cib,
        dummy(params={"fake": "x"}),
        dummy("d2"),
        model.ConstraintSpec.build("d1-before-d2", "order", first="d1", then="d2"),
        model.ConstraintSpec.build("d2-on-n1", "location", rsc="d2", node="n1", score="+INFINITY"),
    )
    assert diff.compare(cib, same) == {}
    assert same.same_configuration(cib)


def test_adoption_changes_only_what_is_declared():
    cib = Cib.from_text(PCS_MADE)
    changed = apply(cib, dummy(params={"fake": "y"}))
    assert diff.compare(cib, changed) == {"resource d1": {"changed": {"params.fake": {"old": "x", "new": "y"}}}}
    assert changed.by_id("d1-instance_attributes-fake") is not None  # pcs's id kept


def test_ops_declared_become_exact_and_durations_compare_by_value():
    cib = Cib.from_text(PCS_MADE)
    changed = apply(cib, dummy(ops=[{"name": "monitor", "interval": "10", "timeout": "20000ms"}]))
    assert diff.compare(cib, changed) == {
        "resource d1": {"removed": {"op start 0s": "d1-start-interval-0s", "op start 0s.timeout": "20s"}}
    }


def test_undeclared_attributes_removed_but_operator_meta_kept():
    cib = apply(
        Cib.from_text(EMPTY),
        dummy(params={"fake": "a", "state": "/tmp/s"}, meta={"target-role": "Stopped", "migration-threshold": 3}),
    )
    again = apply(cib, dummy(params={"fake": "a"}, meta={}))
    values = diff.objects(again)["resource d1"]
    assert "params.state" not in values and "meta.migration-threshold" not in values
    assert values["meta.target-role"] == "Stopped"


def test_clone_then_unclone_moves_primitive_and_drops_empty_clone():
    cloned = apply(Cib.from_text(EMPTY), dummy(clone={"interleave": True}, promotable=True))
    assert cloned.by_id("d1").getparent().get("id") == "d1-clone"
    assert nvsets.values(cloned.by_id("d1-clone"), "meta_attributes") == {"interleave": "true", "promotable": "true"}
    plain = apply(cloned, dummy(clone=False))
    assert plain.by_id("d1").getparent().tag == "resources"
    assert plain.by_id("d1-clone") is None


def test_group_orders_members_and_absent_removes_empty_group_and_constraints():
    cib = apply(
        Cib.from_text(EMPTY),
        dummy("a"),
        dummy("b"),
        model.GroupSpec.build("g", ["b", "a"]),
        model.ConstraintSpec.build("g-on-n1", "location", rsc="g", node="n1", score=10),
    )
    assert [p.get("id") for p in cib.by_id("g")] == ["b", "a"]
    gone = apply(cib, model.ResourceAbsentSpec("a"), model.ResourceAbsentSpec("b"))
    assert gone.by_id("g") is None and gone.by_id("g-on-n1") is None


def test_set_constraints_lose_only_the_removed_member():
    cib = apply(
        Cib.from_text(EMPTY),
        dummy("a"),
        dummy("b"),
        model.ConstraintSpec.build("ab", "order", sets=[{"resources": ["a", "b"], "sequential": False}]),
    )
    after = apply(cib, model.ResourceAbsentSpec("a"))
    assert [r.get("id") for r in after.by_id("ab").iter("resource_ref")] == ["b"]


def test_location_rules_build_valid_ids():
    spec = model.ConstraintSpec.build(
        "ping",
        "location",
        rsc="d1",
        rules=[
            {
                "score": "-INFINITY",
                "boolean_op": "or",
                "expressions": [
                    {"attribute": "pingd", "operation": "not_defined"},
                    {"attribute": "pingd", "operation": "lte", "value": 0},
                ],
            }
        ],
    )
    element = spec.element("ping")
    assert [e.get("id") for e in element.iter("expression")] == ["ping-rule-expr", "ping-rule-expr-1"]
    assert element.find("rule").get("boolean-op") == "or"


@pytest.mark.parametrize(
    "args, culprit",
    [
        ({"kind": "order", "first": "a"}, "needs first and then"),
        ({"kind": "location", "rsc": "a"}, "needs node and score, or rules"),
        ({"kind": "colocation", "rsc": "a", "with_rsc": "b", "bogus": 1}, "unknown argument 'bogus'"),
        ({"kind": "nearby", "rsc": "a"}, "kind must be one of"),
    ],
)
def test_bad_constraint_names_the_culprit(args, culprit):
    with pytest.raises(SpecError, match=culprit):
        model.ConstraintSpec.build("c1", **args)


@pytest.mark.parametrize("agent", ["ocf:Dummy", "ocf::Dummy", "bogus:thing", "systemd:", 42])
def test_bad_agent_is_refused(agent):
    with pytest.raises(SpecError):
        model.ResourceSpec.build("r", agent)


def test_bad_ids_are_refused():
    with pytest.raises(SpecError, match="not a valid Pacemaker id"):
        model.ResourceSpec.build("1abc", "ocf:pacemaker:Dummy")
    with pytest.raises(SpecError, match="params must be a mapping"):
        model.ResourceSpec.build("r", "ocf:pacemaker:Dummy", params="a")
    with pytest.raises(SpecError, match="params set 1 must be a mapping with 'values'"):
        model.ResourceSpec.build("r", "ocf:pacemaker:Dummy", params=["a"])


def test_properties_booleans_compare_as_pacemaker_reads_them():
    cib = Cib.from_text(EMPTY)
    once = apply(cib, model.AttributeSpec.build("property", "stonith-enabled", False))
    once.by_id("cib-bootstrap-options-stonith-enabled").set("value", "no")
    assert apply(once, model.AttributeSpec.build("property", "stonith-enabled", False)).to_text() == once.to_text()


def test_node_attribute_on_unknown_node_names_known_ones():
    with pytest.raises(NotFound, match="node 'n9' is not in the cluster \\(known: n1\\)"):
        apply(Cib.from_text(EMPTY), model.AttributeSpec.build("node", "standby", "on", node="n9"))


def test_defaults_sections_are_created_and_removed():
    cib = apply(Cib.from_text(EMPTY), model.AttributeSpec.build("rsc_defaults", "resource-stickiness", 100))
    assert cib.by_id("rsc-options-resource-stickiness").get("value") == "100"
    gone = apply(cib, model.AttributeSpec.build("rsc_defaults", "resource-stickiness", None))
    assert gone.section("rsc_defaults") is None


def test_fencing_level_needs_a_stonith_device():
    cib = apply(
        Cib.from_text(EMPTY),
        model.ResourceSpec.build("fence-n1", "stonith:null", params={"hostlist": "n1"}, check_agent=False),
    )
    done = apply(cib, model.FencingLevelSpec.build("n1", 1, ["fence-n1"]))
    assert done.by_id("fl-n1-1").get("devices") == "fence-n1"
    with pytest.raises(NotFound, match="'d1' is not a stonith resource"):
        apply(apply(cib, dummy()), model.FencingLevelSpec.build("n1", 2, ["d1"]))


def test_secrets_are_masked_in_diff_and_render():
    spec = dummy(params={"fake": "a", "passwd": "hunter2"}, secret_params=["passwd"])
    before = Cib.from_text(EMPTY)
    after = apply(before, spec)
    changes = diff.compare(before, after, {"d1": {"passwd"}})
    assert "hunter2" not in repr(changes) and "hunter2" not in diff.render(changes)
    assert changes["resource d1"]["created"]["params.passwd"] == diff.MASK


@pytest.mark.parametrize(
    "a, b, same",
    [("10", "10s", True), ("1min", "60s", True), ("PT1M", "60", True), ("500ms", "1s", False), ("10s", "20s", False)],
)
def test_durations(a, b, same):
    assert model.same_duration(a, b) is same


def test_one_clone_id_rule_everywhere():
    from saltext.pcmk.utils import runplan  # pylint: disable=import-outside-toplevel
    from saltext.pcmk.utils.provider.pillar import ServiceDecl  # pylint: disable=import-outside-toplevel

    assert model.clone_id_for("web") == "web-clone" and model.clone_id_for("web", "w-c") == "w-c"
    assert model.ResourceSpec.build("web", "ocf:pacemaker:Dummy", clone=True, check_agent=False).clone.id == "web-clone"
    assert model.CloneOfSpec.build("web").clone.id == "web-clone"
    assert ServiceDecl(service="web", resource="web", args={"clone": True}).top_id == "web-clone"
    lowstate = [
        {"state": "pcmk", "fun": "resource", "name": "web", "clone": True},
        {"state": "pcmk", "fun": "clone", "name": "db", "clone_id": "db-c"},
    ]
    assert runplan.declared_resources(lowstate) == {"web", "web-clone", "db-c"}


# -- issue 11, defect 1: every change the CIB gets is in the diff ----------------------------------
CRMSH_OPS = """<cib validate-with="pacemaker-3.9" epoch="3" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes/>
<resources>
  <primitive class="ocf" id="d1" provider="pacemaker" type="Dummy">
    <operations><op id="d1-monitor-30s" interval="30s" name="monitor"/></operations>
  </primitive>
</resources><constraints/></configuration><status/></cib>"""


def test_an_op_with_only_a_name_and_an_interval_is_seen_by_the_diff():
    cib = Cib.from_text(CRMSH_OPS)
    moved = apply(cib, dummy(ops=[{"name": "monitor", "interval": "10s"}]))
    assert diff.compare(cib, moved) == {
        "resource d1": {
            "removed": {"op monitor 30s": "d1-monitor-30s"},
            "added": {"op monitor 10s": "d1-monitor-interval-10s"},
        }
    }
    added = apply(cib, dummy(ops=[{"name": "monitor", "interval": "30s"}, {"name": "start", "interval": "0s"}]))
    assert diff.compare(cib, added) == {"resource d1": {"added": {"op start 0s": "d1-start-interval-0s"}}}


def test_any_difference_in_the_configuration_is_reported():
    """The safety net: what the flat view can not tell apart is still a reported change."""
    cib = Cib.from_text(CRMSH_OPS)
    renamed = cib.copy()
    renamed.by_id("d1-monitor-30s").set("id", "d1-monitor-interval-30s")
    changes = diff.compare(cib, renamed)
    assert list(changes) == ["resource d1"] and changes["resource d1"]
    assert "resource d1" in diff.render(changes)


# -- issue 11: bundles ------------------------------------------------------------------------
def bundle(**args):
    return model.BundleSpec.build("b", **{"container": {"kind": "podman", "image": "img"}, **args})


@pytest.mark.parametrize(
    "args, culprit",
    [
        ({"container": {"image": "img"}}, "bundle 'b': container needs a kind"),
        ({"container": {"kind": "podman"}}, "bundle 'b': container needs an image"),
        (
            {"container": {"kind": "podman", "image": "i", "replicas": True}},
            "replicas must be a positive integer, got True",
        ),
        ({"container": {"kind": "podman", "image": "i", "replicas": 0}}, "replicas must be a positive integer, got 0"),
        (
            {"container": {"kind": "podman", "image": "i", "masters": 1, "promoted_max": 1}},
            "'masters' and 'promoted_max' say the same",
        ),
        ({"container": {"kind": "podman", "image": "i", "run-command": "a", "run_command": "a"}}, "say the same"),
        ({"network": {"add_host": "maybe"}}, "network add_host must be true or false, got 'maybe'"),
        ({"network": {"port_mappings": [{"internal_port": 80}]}}, "port mapping 1 needs either port"),
        ({"network": {"port_mappings": [{"range": "80-90", "internal_port": 80}]}}, "internal_port goes with port"),
        ({"network": {"port_mappings": [{"range": "80:90"}]}}, "range must be a port range"),
        ({"network": {"port_mappings": [{"port": 80}, {"port": "80"}]}}, "two port mappings for port 80"),
        ({"network": {"port_mappings": [{"port": 70000}]}}, r"port must be a port number \(1-65535\), got 70000"),
        ({"storage": [{"source_dir": "/a"}]}, "storage mapping 1 needs target_dir"),
        ({"storage": [{"source_dir": "/a", "source_dir_root": "/b", "target_dir": "/c"}]}, "either source_dir or"),
        (
            {"storage": [{"id": "9x", "source_dir": "/a", "target_dir": "/c"}]},
            "storage mapping 1 id '9x' is not a valid",
        ),
        ({"storage": {"source_dir": "/a"}}, "storage mappings must be a list"),
        ({"primitive": "no good"}, "bundle 'b' primitive 'no good' is not a valid"),
        ({"meta": {"a": [1]}}, r"bundle 'b' meta.a must be a plain value"),
    ],
)
def test_bad_bundle_names_the_key_and_value(args, culprit):
    with pytest.raises(SpecError, match=culprit):
        bundle(**args)


def test_a_bundle_s_network_and_storage_declared_empty_go_and_found_empty_stay():
    cib = apply(
        Cib.from_text(EMPTY),
        bundle(
            network={"control_port": 3121, "port_mappings": [{"port": 80}]},
            storage=[{"source_dir": "/a", "target_dir": "/b"}],
        ),
    )
    assert [c.tag for c in cib.by_id("b")] == ["podman", "network", "storage"]
    emptied = apply(cib, bundle(network={"port_mappings": []}, storage=[]))
    assert [c.tag for c in emptied.by_id("b")] == ["podman"]
    found_empty = Cib.from_text(
        EMPTY.replace(
            "<resources/>", '<resources><bundle id="b"><podman image="img"/><network/><storage/></bundle></resources>'
        )
    )
    again = apply(found_empty, bundle(network={}, storage=[]))
    assert again.same_configuration(found_empty)


def test_a_bundle_s_attributes_at_pacemaker_s_default_are_the_same_written_or_not():
    found = Cib.from_text(
        EMPTY.replace(
            "<resources/>",
            '<resources><bundle id="b"><podman image="img" replicas="2" promoted-max="2" replicas-per-host="1"/><network add-host="1"/></bundle></resources>',
        )
    )
    # replicas defaults to promoted-max; replicas-per-host to 1; add-host to true.
    same = apply(found, bundle(container={"kind": "podman", "image": "img", "promoted_max": 2}, network={}))
    assert same.same_configuration(found)
    fewer = apply(
        found, bundle(container={"kind": "podman", "image": "img", "promoted_max": 1}, network={"add_host": False})
    )
    assert dict(fewer.by_id("b").find("podman").attrib) == {
        "image": "img",
        "promoted-max": "1",
        "replicas-per-host": "1",
    }
    assert fewer.by_id("b").find("network").get("add-host") == "false"


def test_a_group_member_s_place_in_the_diff_is_among_members_only():
    cib = apply(Cib.from_text(EMPTY), dummy("a"), dummy("b"), model.GroupSpec.build("g", ["a", "b"]))
    with_meta = apply(cib, model.GroupSpec.build("g", ["a", "b"], meta={"target-role": "Stopped"}))
    assert diff.compare(cib, with_meta) == {"group g": {"added": {"meta.target-role": "Stopped"}}}


def test_a_bundle_is_written_as_the_cib_s_schema_spells_it():
    old = Cib.from_text(EMPTY.replace("pacemaker-3.9", "pacemaker-2.10"))
    docker = apply(old, bundle(container={"kind": "docker", "image": "img", "promoted_max": 1}))
    assert dict(docker.by_id("b").find("docker").attrib) == {"image": "img", "masters": "1"}
    with pytest.raises(
        SpecError, match="podman needs the CIB schema pacemaker-3.2 or later; this CIB validates with pacemaker-2.10"
    ):
        apply(old, bundle())
    with pytest.raises(SpecError, match="bundles need the CIB schema pacemaker-2.8 or later"):
        apply(Cib.from_text(EMPTY.replace("pacemaker-3.9", "pacemaker-2.7")), bundle())


def test_a_bundle_s_meta_may_be_a_list_of_sets_and_keeps_operator_meta():
    found = Cib.from_text(
        EMPTY.replace(
            "<resources/>",
            '<resources><bundle id="b"><podman image="img"/><meta_attributes id="b-meta_attributes">'
            '<nvpair id="b-tr" name="target-role" value="Stopped"/><nvpair id="b-x" name="x" value="1"/>'
            "</meta_attributes></bundle></resources>",
        )
    )
    declared = apply(found, bundle(meta=[{"values": {"x": 2}}, {"id": "b-late", "score": 5, "values": {"y": 1}}]))
    assert nvsets.values(declared.by_id("b"), "meta_attributes") == {"target-role": "Stopped", "x": "2"}
    assert [s.get("id") for s in declared.by_id("b").findall("meta_attributes")] == ["b-meta_attributes", "b-late"]


def test_the_id_index_never_answers_with_a_removed_renamed_or_missing_element():
    cib = apply(Cib.from_text(EMPTY), dummy("a"), dummy("b"))
    a, b = cib.by_id("a"), cib.by_id("b")  # the index is made here
    a.getparent().remove(a)
    assert cib.by_id("a") is None
    b.set("id", "b2")
    assert cib.by_id("b") is None and cib.by_id("b2") is b
    added = etree.SubElement(cib.section("resources"), "primitive", id="c")
    assert cib.by_id("c") is added
    assert cib.unique_id("c") == "c-1" and cib.unique_id("d") == "d"


def test_a_session_kept_id_list_hands_out_ids_without_searching():
    cib = Cib.from_text(EMPTY)
    cib.keeps_ids = True
    assert cib.unique_id("x") == "x" and cib.unique_id("x") == "x-1"  # handed out: taken
    added = etree.SubElement(cib.section("resources", create=True), "primitive", id="c")
    cib.note_ids([added])
    assert cib.unique_id("c") == "c-1"
    assert cib.known_with_id("c") == [added] and cib.known_with_id("nowhere") == []
    cib.forget_ids()  # a change nobody listed: the list is made again
    etree.SubElement(cib.section("resources"), "primitive", id="d")
    assert cib.unique_id("d") == "d-1" and cib.known_with_id("d")[0].get("id") == "d"
