"""Bundles (issue 11): declared, shown under test=True, adopted when pcs made them, changed, removed.

No container runtime can run a bundle here, so there is no live test: what a
declared bundle means is asked of Pacemaker's scheduler instead. With three
nodes up, ``crm_simulate`` must plan one container resource per replica
(``<bundle>-podman-<n>``), the Pacemaker Remote connection to each
(``<bundle>-<n>``), the primitive inside each (``<primitive>:<n>``), and with
``ip_range_start`` one address per replica (``<bundle>-ip-<address>``).
"""

import subprocess

from lxml import etree

from tests.functional.test_tags_and_alerts import element, pcs, unchanged_on_rerun
from tests.support.offline import cib_create, offline

IMAGE = "cluster.common.tag/haproxy:pcmklatest"

BUNDLE_ONLY_SLS = f"""
haproxy-bundle:
  pcmk.bundle:
    - container:
        kind: podman
        image: "{IMAGE}"
        replicas: 3
        network: host
        options: "--user=root --log-driver=journald"
        run-command: "/bin/bash /usr/local/bin/kolla_start"
    - network:
        control-port: 3121
        port_mappings: [{{id: haproxy-port-1, port: 8080}}, {{port: 8443, internal_port: 443}}]
    - storage:
      - id: haproxy-cfg
        source-dir: /var/lib/kolla/config_files/haproxy.json
        target-dir: /var/lib/kolla/config_files/config.json
        options: ro
      - source_dir_root: /var/log/containers
        target_dir: /var/log
    - primitive: haproxy
    - meta: {{container-attribute-target: host}}
"""
# The primitive made by an earlier state of the same run.
BUNDLE_SLS = (
    "haproxy:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - default_ops: false\n"
    + BUNDLE_ONLY_SLS
    + "    - require: [{pcmk: haproxy}]\n"
)


def three_nodes_and_no_fencing(cib_file):
    for number in (1, 2, 3):
        offline(
            cib_file, "cibadmin", "--create", "-o", "nodes", "--xml-text", f'<node id="{number}" uname="n{number}"/>'
        )
    offline(cib_file, "crm_attribute", "--name", "stonith-enabled", "--update", "false")


def planned_starts(cib_file):
    """``{resource: node}`` the scheduler would start with n1, n2 and n3 up and quorum."""
    out = subprocess.run(
        ["crm_simulate", "-x", str(cib_file), "-u", "n1", "-u", "n2", "-u", "n3", "--quorum", "true", "-S"]
        + ["--output-as=xml"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    actions = etree.fromstring(out.encode()).xpath("//actions/rsc_action[@action='start']")
    return {a.get("resource"): a.get("node") for a in actions}


def replicas_planned(cib_file, bundle="haproxy-bundle", kind="podman", primitive="haproxy"):
    """Per replica number: the node of its container, its remote connection, and where its primitive runs."""
    starts = planned_starts(cib_file)
    found = {}
    for resource, node in starts.items():
        if resource.startswith(f"{bundle}-{kind}-"):
            number = resource.rsplit("-", 1)[1]
            found[number] = (node, starts.get(f"{bundle}-{number}"), starts.get(f"{primitive}:{number}"))
    return found


def bundle_of(cib_file, ident="haproxy-bundle"):
    return element(cib_file, f"//resources/bundle[@id='{ident}']")


def test_a_declared_bundle_is_shown_written_planned_by_the_scheduler_and_kept(salt_env):
    three_nodes_and_no_fencing(salt_env.cib_file)
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls(BUNDLE_SLS, test=True)
    assert dry.all_ok, dry.failures()
    assert dry["haproxy-bundle"]["result"] is None
    comment = dry["haproxy-bundle"]["comment"]
    assert "+ bundle haproxy-bundle" in comment and f"podman.image = {IMAGE}" in comment, comment
    assert "network.port-mapping haproxy-port-1.port = 8080" in comment, comment
    assert salt_env.cib_file.read_bytes() == before

    result = salt_env.sls(BUNDLE_SLS)
    assert result.all_ok, result.failures()
    assert result.changed == {"haproxy", "haproxy-bundle"}
    bundle = bundle_of(salt_env.cib_file)
    podman = bundle.find("podman")
    assert dict(podman.attrib) == {
        "image": IMAGE,
        "replicas": "3",
        "network": "host",
        "options": "--user=root --log-driver=journald",
        "run-command": "/bin/bash /usr/local/bin/kolla_start",
    }
    assert [dict(p.attrib) for p in bundle.findall("network/port-mapping")] == [
        {"id": "haproxy-port-1", "port": "8080"},
        {"id": "haproxy-bundle-port-map-8443", "port": "8443", "internal-port": "443"},  # as pcs names it
    ]
    assert [m.get("id") for m in bundle.findall("storage/storage-mapping")] == [
        "haproxy-cfg",
        "haproxy-bundle-storage-map",
    ]
    assert bundle.find("storage/storage-mapping[@id='haproxy-bundle-storage-map']").get("source-dir-root") == (
        "/var/log/containers"
    )
    assert bundle.find("primitive").get("id") == "haproxy"
    assert element(salt_env.cib_file, "//resources/primitive[@id='haproxy']") is None  # moved, not copied

    assert replicas_planned(salt_env.cib_file) == {
        "0": ("n1", "n1", "haproxy-bundle-0"),
        "1": ("n2", "n2", "haproxy-bundle-1"),
        "2": ("n3", "n3", "haproxy-bundle-2"),
    }
    unchanged_on_rerun(salt_env, BUNDLE_SLS)


def test_a_network_with_an_ip_range_gets_an_address_per_replica(salt_env):
    three_nodes_and_no_fencing(salt_env.cib_file)
    sls = BUNDLE_SLS.replace("control-port: 3121", "ip_range_start: 192.0.2.11\n        host_netmask: 24").replace(
        "        network: host\n", ""
    )
    result = salt_env.sls(sls)
    assert result.all_ok, result.failures()
    assert dict(bundle_of(salt_env.cib_file).find("network").attrib) == {
        "ip-range-start": "192.0.2.11",
        "host-netmask": "24",
    }
    starts = planned_starts(salt_env.cib_file)
    assert {r for r in starts if r.startswith("haproxy-bundle-ip-")} == {
        "haproxy-bundle-ip-192.0.2.11",
        "haproxy-bundle-ip-192.0.2.12",
        "haproxy-bundle-ip-192.0.2.13",
    }
    assert len(replicas_planned(salt_env.cib_file)) == 3
    unchanged_on_rerun(salt_env, sls)


PCS_DECLARED_SLS = f"""
haproxy:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
haproxy-bundle:
  pcmk.bundle:
    - container:
        kind: podman
        image: "{IMAGE}"
        replicas: 3
        replicas_per_host: 1
        network: host
        run_command: /bin/bash /usr/local/bin/kolla_start
    - network:
        control_port: 3121
        add_host: true
        port_mappings: [{{port: 8080}}, {{port: 8443, internal_port: 443}}]
    - storage:
      - source_dir: /var/lib/kolla/config_files/haproxy.json
        target_dir: /var/lib/kolla/config_files/config.json
        options: ro
      - source_dir_root: /var/log/containers
        target_dir: /var/log
    - primitive: haproxy
    - meta: {{container-attribute-target: host}}
"""


def pcs_made_bundle(cib_file):
    pcs(
        cib_file,
        *("resource", "bundle", "create", "haproxy-bundle", "container", "podman", f"image={IMAGE}", "replicas=3"),
        *("network=host", "run-command=/bin/bash /usr/local/bin/kolla_start"),
        *("network", "control-port=3121", "port-map", "port=8080", "port-map", "port=8443", "internal-port=443"),
        "storage-map",
        "source-dir=/var/lib/kolla/config_files/haproxy.json",
        "target-dir=/var/lib/kolla/config_files/config.json",
        "options=ro",
        *("storage-map", "source-dir-root=/var/log/containers", "target-dir=/var/log"),
        *("meta", "container-attribute-target=host"),
    )
    pcs(cib_file, "resource", "create", "haproxy", "ocf:pacemaker:Dummy", "bundle", "haproxy-bundle")


def test_a_bundle_pcs_made_is_adopted_with_no_change_and_no_write(salt_env):
    three_nodes_and_no_fencing(salt_env.cib_file)
    pcs_made_bundle(salt_env.cib_file)
    bundle = bundle_of(salt_env.cib_file)
    assert [p.get("id") for p in bundle.iter("port-mapping", "storage-mapping")] == [
        "haproxy-bundle-port-map-8080",
        "haproxy-bundle-port-map-8443",
        "haproxy-bundle-storage-map",
        "haproxy-bundle-storage-map-1",
    ]
    # replicas_per_host and add_host are declared at Pacemaker's default, which pcs does not write.
    assert bundle.find("podman").get("replicas-per-host") is None and bundle.find("network").get("add-host") is None
    unchanged_on_rerun(salt_env, PCS_DECLARED_SLS)
    assert len(replicas_planned(salt_env.cib_file)) == 3


def test_pcmk_resource_on_a_primitive_inside_a_bundle_leaves_it_there(salt_env):
    three_nodes_and_no_fencing(salt_env.cib_file)
    pcs_made_bundle(salt_env.cib_file)
    result = salt_env.sls("haproxy:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n    - params: {fake: x}\n")
    assert result.changed == {"haproxy"}, result.raw
    primitive = element(salt_env.cib_file, "//primitive[@id='haproxy']")
    assert primitive.getparent().get("id") == "haproxy-bundle"
    assert len(replicas_planned(salt_env.cib_file)) == 3


def test_changing_replicas_is_shown_under_test_then_written(salt_env):
    three_nodes_and_no_fencing(salt_env.cib_file)
    assert salt_env.sls(BUNDLE_SLS).all_ok
    fewer = BUNDLE_SLS.replace("replicas: 3", "replicas: 2")
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls(fewer, test=True)
    assert dry.changed == {"haproxy-bundle"}, dry.raw
    assert "~ podman.replicas: 3 -> 2" in dry["haproxy-bundle"]["comment"], dry["haproxy-bundle"]["comment"]
    assert dry["haproxy-bundle"]["changes"]["bundle haproxy-bundle"] == {
        "changed": {"podman.replicas": {"old": "3", "new": "2"}}
    }
    assert salt_env.cib_file.read_bytes() == before

    written = salt_env.sls(fewer)
    assert written.changed == {"haproxy-bundle"}
    assert bundle_of(salt_env.cib_file).find("podman").get("replicas") == "2"
    assert sorted(replicas_planned(salt_env.cib_file)) == ["0", "1"]
    unchanged_on_rerun(salt_env, fewer)


def test_a_port_mapping_left_out_is_removed_and_the_others_keep_their_ids(salt_env):
    three_nodes_and_no_fencing(salt_env.cib_file)
    pcs_made_bundle(salt_env.cib_file)
    one_port = PCS_DECLARED_SLS.replace(
        "[{port: 8080}, {port: 8443, internal_port: 443}]", "[{port: 8443, internal-port: 443}]"
    )
    dry = salt_env.sls(one_port, test=True)
    assert "- network.port-mapping haproxy-bundle-port-map-8080.port (was 8080)" in dry["haproxy-bundle"]["comment"]
    result = salt_env.sls(one_port)
    assert result.changed == {"haproxy-bundle"}, result.raw
    assert [dict(p.attrib) for p in bundle_of(salt_env.cib_file).iter("port-mapping")] == [
        {"port": "8443", "internal-port": "443", "id": "haproxy-bundle-port-map-8443"}
    ]
    unchanged_on_rerun(salt_env, one_port)


def constraints_on_the_bundle_and_its_primitive(cib_file):
    pcs(cib_file, "resource", "create", "vip", "ocf:pacemaker:Dummy", "--no-default-ops")
    cib_create(
        cib_file,
        "constraints",
        '<rsc_location id="bundle-avoids-n3" rsc="haproxy-bundle" node="n3" score="-INFINITY"/>',
    )
    cib_create(
        cib_file,
        "constraints",
        '<rsc_colocation id="vip-with-bundle" rsc="vip" with-rsc="haproxy-bundle" score="INFINITY"/>',
    )
    cib_create(cib_file, "constraints", '<rsc_order id="vip-then-haproxy" first="vip" then="haproxy"/>')


def test_bundle_absent_removes_the_bundle_its_primitive_and_constraints_naming_either(salt_env):
    three_nodes_and_no_fencing(salt_env.cib_file)
    pcs_made_bundle(salt_env.cib_file)
    constraints_on_the_bundle_and_its_primitive(salt_env.cib_file)
    assert "n3" not in {node for node, _, _ in replicas_planned(salt_env.cib_file).values()}
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls("haproxy-bundle:\n  pcmk.bundle_absent: []\n", test=True)
    assert "- bundle haproxy-bundle" in dry["haproxy-bundle"]["comment"]
    assert salt_env.cib_file.read_bytes() == before

    gone = salt_env.sls("haproxy-bundle:\n  pcmk.bundle_absent: []\n")
    assert gone.changed == {"haproxy-bundle"}, gone.raw
    assert set(gone["haproxy-bundle"]["changes"]) == {
        "bundle haproxy-bundle",
        "resource haproxy",
        "constraint bundle-avoids-n3",
        "constraint vip-with-bundle",
        "constraint vip-then-haproxy",
    }
    assert bundle_of(salt_env.cib_file) is None and element(salt_env.cib_file, "//primitive[@id='haproxy']") is None
    assert element(salt_env.cib_file, "//constraints/*") is None
    assert planned_starts(salt_env.cib_file) == {"vip": "n1"}
    unchanged_on_rerun(salt_env, "haproxy-bundle:\n  pcmk.bundle_absent: []\n")


def test_resource_absent_removes_a_bundle_as_well(salt_env):
    three_nodes_and_no_fencing(salt_env.cib_file)
    pcs_made_bundle(salt_env.cib_file)
    constraints_on_the_bundle_and_its_primitive(salt_env.cib_file)
    gone = salt_env.sls("haproxy-bundle:\n  pcmk.resource_absent: []\n")
    assert gone.all_ok, gone.failures()
    assert bundle_of(salt_env.cib_file) is None and element(salt_env.cib_file, "//primitive[@id='haproxy']") is None
    assert element(salt_env.cib_file, "//constraints/*") is None


def test_bundle_absent_refuses_an_id_that_is_not_a_bundle(salt_env):
    pcs(salt_env.cib_file, "resource", "create", "vip", "ocf:pacemaker:Dummy", "--no-default-ops")
    before = salt_env.cib_file.read_bytes()
    for test in (True, False):
        result = salt_env.sls("vip:\n  pcmk.bundle_absent: []\n", test=test)
        assert result.failures() == {"vip": "bundle 'vip': the id is a <primitive>, not a <bundle>; not removed"}
    assert salt_env.cib_file.read_bytes() == before


MISSING = (
    "bundle 'haproxy-bundle': primitive 'ghost' does not exist (if a state of this run declares it, require that state)"
)


def test_a_bundle_naming_a_missing_primitive_is_refused_and_nothing_is_written(salt_env):
    before = salt_env.cib_file.read_bytes()
    for test in (True, False):
        result = salt_env.sls(BUNDLE_ONLY_SLS.replace("primitive: haproxy", "primitive: ghost"), test=test)
        assert result.failures() == {"haproxy-bundle": MISSING}
    assert salt_env.cib_file.read_bytes() == before


def test_with_state_aggregate_a_primitive_and_its_bundle_are_one_write(salt_env):
    three_nodes_and_no_fencing(salt_env.cib_file)
    salt_env.configure(state_aggregate=["pcmk"])
    # Without the require: Salt never aggregates a state with one it requires.
    sls = BUNDLE_SLS.replace("    - require: [{pcmk: haproxy}]\n", "")
    start = int(element(salt_env.cib_file, "/cib").get("epoch"))
    result = salt_env.sls(sls)
    assert result.all_ok, result.failures()
    assert "aggregated" in result["haproxy-bundle"]["comment"]
    assert int(element(salt_env.cib_file, "/cib").get("epoch")) == start + 1
    assert bundle_of(salt_env.cib_file).find("primitive").get("id") == "haproxy"
    unchanged_on_rerun(salt_env, sls)


def test_a_primitive_after_its_bundle_in_one_aggregated_write_is_refused_not_left_beside_it(salt_env):
    """Salt 3008 applies an aggregated group where its first member stands: the bundle's spec
    comes before the primitive's, which would pass the session's reference check at the end
    of the write and stay outside the bundle. The bundle refuses instead."""
    salt_env.configure(state_aggregate=["pcmk"])
    result = salt_env.sls(BUNDLE_ONLY_SLS + "haproxy:\n  pcmk.resource:\n    - agent: ocf:pacemaker:Dummy\n")
    assert result.failures()["haproxy-bundle"] == MISSING.replace("ghost", "haproxy")
    assert bundle_of(salt_env.cib_file) is None


def test_an_unknown_container_kind_or_a_non_integer_replicas_is_refused_naming_key_and_value(salt_env):
    before = salt_env.cib_file.read_bytes()
    cases = {
        "kind: podman": "bundle 'haproxy-bundle': container kind 'lxc' is not one of docker, podman, rkt",
        "replicas: 3": "bundle 'haproxy-bundle': container replicas must be a positive integer, got 'three'",
        "control-port: 3121": "bundle 'haproxy-bundle': network control-port must be a port number (1-65535), got 'x'",
    }
    wrong = {"kind: podman": "kind: lxc", "replicas: 3": "replicas: three", "control-port: 3121": "control-port: x"}
    for line, message in cases.items():
        for test in (True, False):
            result = salt_env.sls(BUNDLE_ONLY_SLS.replace(line, wrong[line]), test=test)
            assert result.failures() == {"haproxy-bundle": message}
    unknown = salt_env.sls(BUNDLE_ONLY_SLS.replace("replicas: 3", "replicaz: 3"))
    assert "container: unknown key 'replicaz'" in unknown.failures()["haproxy-bundle"]
    assert salt_env.cib_file.read_bytes() == before


def test_a_grouped_primitive_moves_into_a_bundle_and_the_emptied_group_goes(salt_env):
    three_nodes_and_no_fencing(salt_env.cib_file)
    pcs(salt_env.cib_file, "resource", "create", "haproxy", "ocf:pacemaker:Dummy", "--no-default-ops", "--group", "g")
    result = salt_env.sls(BUNDLE_ONLY_SLS)
    assert result.all_ok, result.failures()
    assert element(salt_env.cib_file, "//group") is None
    assert bundle_of(salt_env.cib_file).find("primitive").get("id") == "haproxy"
    assert len(replicas_planned(salt_env.cib_file)) == 3


def test_a_cloned_primitive_is_refused_rather_than_moved(salt_env):
    pcs(salt_env.cib_file, "resource", "create", "haproxy", "ocf:pacemaker:Dummy", "--no-default-ops", "clone")
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls(BUNDLE_ONLY_SLS)
    assert "primitive 'haproxy' is in clone 'haproxy-clone'" in result.failures()["haproxy-bundle"]
    assert salt_env.cib_file.read_bytes() == before


def test_the_old_schema_masters_is_promoted_max_and_keeps_its_spelling(salt_env):
    cib_create(
        salt_env.cib_file,
        "resources",
        '<bundle id="db"><docker image="db:1" masters="1" replicas="2"/><network control-port="3121"/></bundle>',
    )
    sls = "db:\n  pcmk.bundle:\n    - container: {kind: docker, image: 'db:1', promoted_max: 1, replicas: 2}\n"
    unchanged_on_rerun(salt_env, sls)
    raised = salt_env.sls(sls.replace("promoted_max: 1", "promoted-max: 2"))
    assert raised.changed == {"db"}
    assert dict(bundle_of(salt_env.cib_file, "db").find("docker").attrib) == {
        "image": "db:1",
        "masters": "2",
        "replicas": "2",
    }


def test_a_constraint_on_a_bundle_declared_later_in_the_run_asks_for_a_require(salt_env):
    sls = (
        "bundle-avoids-n3:\n  pcmk.constraint:\n    - kind: location\n    - rsc: haproxy-bundle\n"
        "    - node: n3\n    - score: -INFINITY\n" + BUNDLE_SLS
    )
    result = salt_env.sls(sls, test=True)
    assert "declares but has not applied yet; add a require" in result.failures()["bundle-avoids-n3"]


def test_a_primitive_in_a_bundle_without_control_port_or_ip_range_is_refused(salt_env):
    """Pacemaker ignores such a bundle; crm_verify says so only with -V (measured on 2.1.5)."""
    three_nodes_and_no_fencing(salt_env.cib_file)
    no_network = BUNDLE_SLS.replace("control-port: 3121", "add_host: false")
    for test in (True, False):
        result = salt_env.sls(no_network, test=test)
        assert result.failures() == {
            "haproxy-bundle": "bundle 'haproxy-bundle': Pacemaker cannot reach primitive 'haproxy' inside the "
            "bundle without network ip_range_start or control_port"
        }
    assert bundle_of(salt_env.cib_file) is None
    cib_create(
        salt_env.cib_file,
        "resources",
        '<bundle id="b"><podman image="x"/><primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/></bundle>',
    )
    verify = subprocess.run(["crm_verify", "-x", str(salt_env.cib_file), "-V"], capture_output=True, text=True)
    assert "Cannot control b inside p without either ip-range-start or control-port" in verify.stderr
