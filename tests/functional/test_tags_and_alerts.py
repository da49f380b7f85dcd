"""Tags and alerts (issue 11): declared, shown under test=True, adopted when pcs made them, removed.

What a tag means is asked of Pacemaker's scheduler: a constraint that names
a tag applies to every resource tagged (``crm_simulate``).
"""

import subprocess

from tests.support.offline import element, planned_starts, unchanged_on_rerun, with_node_and_no_fencing

ALERT_AGENT = "/usr/share/pacemaker/alerts/alert_file.sh.sample"

TAGGED_SLS = """
{% for r in ("d1", "d2", "d3") %}
{{ r }}:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - default_ops: false
{% endfor %}
apis:
  pcmk.tag:
    - resources: [d1, d2]
    - require: [{pcmk: d1}, {pcmk: d2}]
apis-not-on-n1:
  pcmk.constraint:
    - kind: location
    - rsc: apis
    - node: n1
    - score: -INFINITY
    - require: [{pcmk: apis}]
"""


def pcs(cib_file, *argv):
    subprocess.run(["pcs", "-f", str(cib_file), *argv], check=True, capture_output=True)


def test_a_constraint_on_a_tag_applies_to_every_tagged_resource(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)
    dry = salt_env.sls(TAGGED_SLS, test=True)
    assert dry.all_ok, dry.failures()
    assert "tag apis" in dry["apis"]["comment"]

    result = salt_env.sls(TAGGED_SLS)
    assert result.all_ok, result.failures()
    assert [r.get("id") for r in element(salt_env.cib_file, "//tags/tag[@id='apis']").findall("obj_ref")] == [
        "d1",
        "d2",
    ]
    assert planned_starts(salt_env.cib_file) == {"d3"}  # d1 and d2 are tagged, so banned from n1
    unchanged_on_rerun(salt_env, TAGGED_SLS)

    reordered = salt_env.sls("apis:\n  pcmk.tag:\n    - resources: [d2, d1, d3]\n")
    assert reordered.changed == {"apis"}
    assert planned_starts(salt_env.cib_file) == set()


def test_a_tag_pcs_made_is_adopted_and_removed(salt_env):
    pcs(salt_env.cib_file, "resource", "create", "d1", "ocf:pacemaker:Dummy", "--no-default-ops")
    pcs(salt_env.cib_file, "resource", "create", "d2", "ocf:pacemaker:Dummy", "--no-default-ops")
    pcs(salt_env.cib_file, "tag", "create", "apis", "d1", "d2")
    unchanged_on_rerun(salt_env, "apis:\n  pcmk.tag:\n    - resources: [d1, d2]\n")
    gone = salt_env.sls("apis:\n  pcmk.tag_absent: []\n")
    assert gone.changed == {"apis"}
    assert element(salt_env.cib_file, "//tags") is None
    assert element(salt_env.cib_file, "//primitive[@id='d1']") is not None


def test_a_tag_of_a_missing_resource_is_refused(salt_env):
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls("apis:\n  pcmk.tag:\n    - resources: [ghost]\n")
    assert "'apis' names resource 'ghost'" in result.failures()["apis"]
    assert salt_env.cib_file.read_bytes() == before


ALERT_SLS = f"""
log-events:
  pcmk.alert:
    - path: {ALERT_AGENT}
    - meta: {{timeout: 15s}}
    - recipients: [/var/log/pcmk_alerts.log]
"""


def test_an_alert_pcs_made_is_adopted_and_a_declared_change_is_shown_then_written(salt_env):
    with_node_and_no_fencing(salt_env.cib_file)  # so crm_verify judges the alert alone
    pcs(salt_env.cib_file, "alert", "create", f"path={ALERT_AGENT}", "id=log-events", "meta", "timeout=15s")
    pcs(salt_env.cib_file, "alert", "recipient", "add", "log-events", "value=/var/log/pcmk_alerts.log")
    unchanged_on_rerun(salt_env, ALERT_SLS)

    changed = (
        ALERT_SLS.replace(
            "[/var/log/pcmk_alerts.log]", "[/var/log/pcmk_alerts.log, {value: /var/log/other.log, meta: {timeout: 5s}}]"
        )
        + "    - select: [nodes, fencing]\n"
    )
    before = salt_env.cib_file.read_bytes()
    dry = salt_env.sls(changed, test=True)
    assert dry["log-events"]["result"] is None and dry["log-events"]["changes"], dry.raw
    assert "/var/log/other.log" in dry["log-events"]["comment"]
    assert salt_env.cib_file.read_bytes() == before
    assert salt_env.sls(changed).changed == {"log-events"}
    alert = element(salt_env.cib_file, "//alert[@id='log-events']")
    assert [r.get("value") for r in alert.findall("recipient")] == ["/var/log/pcmk_alerts.log", "/var/log/other.log"]
    assert alert.find("recipient").get("id") == "log-events-recipient"  # pcs's recipient kept
    assert sorted(child.tag for child in alert.find("select")) == ["select_fencing", "select_nodes"]
    unchanged_on_rerun(salt_env, changed)
    subprocess.run(["crm_verify", "--xml-file", str(salt_env.cib_file)], check=True, capture_output=True)

    assert salt_env.sls("log-events:\n  pcmk.alert_absent: []\n").changed == {"log-events"}
    assert element(salt_env.cib_file, "//alerts") is None


def test_an_alert_without_an_absolute_path_is_refused(salt_env):
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls("a:\n  pcmk.alert:\n    - path: alert.sh\n")
    assert "path must be the absolute path" in result.failures()["a"]
    assert salt_env.cib_file.read_bytes() == before
