"""Every pcmk state through real Salt (in-process loaders) on an offline CIB."""

import os
import subprocess

import pytest
from lxml import etree

from saltext.pcmk.utils.cib import diff
from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.tools import ToolRunner

STACK = """
stonith-enabled:
  pcmk.property:
    - value: false
resource-stickiness:
  pcmk.rsc_defaults:
    - value: 100
timeout:
  pcmk.op_defaults:
    - value: 60s
vip:
  pcmk.resource:
    - agent: ocf:heartbeat:IPaddr2
    - params: {ip: 192.0.2.10, cidr_netmask: 24}
    - ops:
      - {name: monitor, interval: 10s}
haproxy:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - clone: {interleave: true}
db:
  pcmk.resource:
    - agent: ocf:pacemaker:Stateful
    - promotable: true
web-a:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - group: web
web-b:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - group: web
haproxy-with-vip:
  pcmk.constraint:
    - kind: colocation
    - rsc: vip
    - with_rsc: haproxy-clone
haproxy-then-vip:
  pcmk.constraint:
    - kind: order
    - first: haproxy-clone
    - then: vip
vip-prefers-n1:
  pcmk.constraint:
    - kind: location
    - rsc: vip
    - node: n1
    - score: 50
web-needs-ping:
  pcmk.constraint:
    - kind: location
    - rsc: web
    - rules:
      - score: -INFINITY
        boolean_op: or
        expressions:
          - {attribute: pingd, operation: not_defined}
          - {attribute: pingd, operation: lte, value: 0}
web-set:
  pcmk.constraint:
    - kind: order
    - sets:
      - resources: [web-a, web-b]
        sequential: false
      - resources: [vip]
fence-n1:
  pcmk.resource:
    - agent: stonith:null
    - params: {hostlist: n1}
n1-level:
  pcmk.fencing_level:
    - target: n1
    - index: 1
    - devices: [fence-n1]
"""


def epoch(path):
    return int(etree.parse(str(path)).getroot().get("epoch"))


def cib(path):
    return cibmod.read(ToolRunner(cib_file=path))


def test_full_stack_applies_and_second_run_writes_nothing(salt_env):
    first = salt_env.sls(STACK)
    assert first.all_ok, first.failures()
    assert first.changed == set(first.by_id)
    current = cib(salt_env.cib_file)
    assert current.by_id("haproxy").getparent().get("id") == "haproxy-clone"
    assert diff.objects(current)["clone db-clone"]["meta.promotable"] == "true"
    assert [p.get("id") for p in current.by_id("web")] == ["web-a", "web-b"]
    assert current.by_id("fl-n1-1").get("devices") == "fence-n1"
    settled = epoch(salt_env.cib_file)

    second = salt_env.sls(STACK)
    assert second.all_ok and second.changed == set()
    assert epoch(salt_env.cib_file) == settled
    assert "already as declared" in second["vip"]["comment"]


def test_test_mode_shows_the_diff_and_writes_nothing(salt_env):
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls(STACK, test=True)
    assert all(v["result"] is None for v in result.by_id.values()), result.failures()
    assert "+ params.ip = 192.0.2.10" in result["vip"]["comment"]
    assert result["haproxy-then-vip"]["changes"]["constraint haproxy-then-vip"]["created"] == {
        "first": "haproxy-clone",
        "then": "vip",
    }
    assert salt_env.cib_file.read_bytes() == before


def test_changed_declaration_reports_exactly_what_changes(salt_env):
    salt_env.sls(STACK)
    result = salt_env.sls(
        STACK.replace("cidr_netmask: 24", "cidr_netmask: 25").replace("score: 50", "score: 60"), test=True
    )
    assert result["vip"]["changes"] == {
        "resource vip": {"changed": {"params.cidr_netmask": {"old": "24", "new": "25"}}}
    }
    assert result["vip-prefers-n1"]["changes"] == {
        "constraint vip-prefers-n1": {"changed": {"score": {"old": "50", "new": "60"}}}
    }
    assert result.changed == {"vip", "vip-prefers-n1"}


def test_secrets_never_appear_in_output(salt_env):
    sls = """
    d1:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - params: {fake: x, passwd: TopSecret1}
        - secret_params: [passwd]
    """
    for test in (True, False):
        result = salt_env.sls(sls, test=test)
        assert "TopSecret1" not in repr(result.raw)
        assert result["d1"]["changes"]["resource d1"]["created"]["params.passwd"] == diff.MASK
    changed = salt_env.sls(sls.replace("TopSecret1", "TopSecret2"))
    assert "TopSecret" not in repr(changed.raw)
    assert changed["d1"]["changes"] == {
        "resource d1": {"changed": {"params.passwd": {"old": diff.MASK, "new": diff.MASK}}}
    }


def test_secrets_kept_out_of_the_cib_like_cibsecret(salt_env, tmp_path, monkeypatch):
    from saltext.pcmk.utils.cib import secretfiles

    monkeypatch.setattr(secretfiles, "LRM_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setattr(secretfiles.SecretFiles.__init__, "__defaults__", (str(tmp_path / "secrets"),))
    sls = """
    d1:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - params: {fake: x, passwd: TopSecret1}
        - secret_params: [passwd]
        - secrets_in_cib: false
    """
    result = salt_env.sls(sls)
    assert result.all_ok, result.failures()
    assert "TopSecret1" not in salt_env.cib_text()
    assert cib(salt_env.cib_file).by_id("d1-instance_attributes-passwd").get("value") == "lrm://"
    secret = tmp_path / "secrets" / "d1" / "passwd"
    assert secret.read_text() == "TopSecret1\n" and oct(secret.stat().st_mode & 0o777) == "0o600"
    import hashlib

    assert (tmp_path / "secrets" / "d1" / "passwd.sign").read_text().strip() == hashlib.md5(b"TopSecret1").hexdigest()
    again = salt_env.sls(sls)
    assert again.changed == set()
    rotated = salt_env.sls(sls.replace("TopSecret1", "TopSecret2"))
    assert rotated.changed == {"d1"} and "TopSecret" not in repr(rotated.raw)
    assert secret.read_text() == "TopSecret2\n"
    gone = salt_env.sls("""
    d1:
      pcmk.resource_absent
    """)
    assert gone.all_ok, gone.failures()
    assert not (tmp_path / "secrets" / "d1").exists()


@pytest.mark.parametrize(
    "sls, culprit",
    [
        (
            """
    d1:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - params: {colour: red}
    """,
            "resource 'd1': agent ocf:pacemaker:Dummy has no parameter 'colour'",
        ),
        (
            """
    d1:
      pcmk.resource:
        - agent: ocf:nosuch:Thing
    """,
            "agent ocf:nosuch:Thing is not installed on this node",
        ),
        (
            """
    c1:
      pcmk.constraint:
        - kind: order
        - first: ghost
        - then: phantom
    """,
            "'c1' names resource 'ghost', which neither exists nor is declared in this run",
        ),
        (
            """
    c1:
      pcmk.constraint:
        - kind: colocation
        - rsc: d1
        - with_rsc: d2
        - colour: blue
    """,
            "unknown argument 'colour'",
        ),
        (
            """
    g:
      pcmk.group:
        - resources: [nobody]
    """,
            "group 'g': member 'nobody' does not exist",
        ),
    ],
)
def test_bad_input_fails_with_culprit_and_leaves_cib_untouched(salt_env, sls, culprit):
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls(sls)
    (comment,) = result.failures().values()
    assert culprit in comment
    assert salt_env.cib_file.read_bytes() == before


def test_constraint_before_its_resource_asks_for_a_requisite(salt_env):
    result = salt_env.sls("""
    c1:
      pcmk.constraint:
        - kind: order
        - first: d1
        - then: d2
    d1:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
    d2:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
    """)
    assert "add a require on the state declaring 'd1'" in result.failures()["c1"]


def test_aggregation_writes_everything_once(salt_env):
    # Two writes that leave crm_verify's complaints as they were (removing
    # stonith-enabled=false without a fencing device would add "no STONITH",
    # which the gate refuses).
    salt_env.sls("""
    cluster-recheck-interval:
      pcmk.property:
        - value: 5min
    """)
    base = epoch(salt_env.cib_file)
    salt_env.sls("""
    cluster-recheck-interval:
      pcmk.property_absent
    """)
    per_write = epoch(salt_env.cib_file) - base
    start = epoch(salt_env.cib_file)
    salt_env.configure(state_aggregate=["pcmk"])
    result = salt_env.sls(STACK)
    assert result.all_ok, result.failures()
    assert epoch(salt_env.cib_file) - start == per_write  # one write for the whole stack
    assert "aggregated" in result["stonith-enabled"]["comment"]
    # Each state still reports its own part, so watch/onchanges on any of them work.
    assert result.changed == set(result.by_id)
    assert set(result["vip"]["changes"]) == {"resource vip"}
    assert set(result["haproxy"]["changes"]) == {"resource haproxy", "clone haproxy-clone"}
    assert cib(salt_env.cib_file).by_id("fl-n1-1") is not None


def test_absent_forms(salt_env):
    salt_env.sls(STACK)
    result = salt_env.sls("""
    vip:
      pcmk.resource_absent
    web-set:
      pcmk.constraint_absent
    resource-stickiness:
      pcmk.rsc_defaults_absent
    timeout:
      pcmk.op_defaults_absent
    n1-level:
      pcmk.fencing_level_absent:
        - target: n1
        - index: 1
    """)
    assert result.all_ok, result.failures()
    current = cib(salt_env.cib_file)
    assert current.resource("vip") is None
    for gone in ("haproxy-with-vip", "haproxy-then-vip", "vip-prefers-n1", "web-set", "fl-n1-1", "rsc-options"):
        assert current.by_id(gone) is None, gone
    assert (
        salt_env.sls("""
    vip:
      pcmk.resource_absent
    """).changed
        == set()
    )


def test_node_attribute_and_standby(salt_env):
    with open(salt_env.cib_file, "r+", encoding="utf-8") as handle:
        text = handle.read().replace("<nodes/>", '<nodes><node id="1" uname="n1"/></nodes>')
        handle.seek(0)
        handle.write(text)
        handle.truncate()
    result = salt_env.sls("""
    galera-bootstrap:
      pcmk.node_attribute:
        - node: n1
        - value: true
    """)
    assert result.all_ok, result.failures()
    assert cib(salt_env.cib_file).by_id("nodes-1-galera-bootstrap").get("value") == "true"
    missing = salt_env.sls("""
    x:
      pcmk.node_attribute:
        - node: n7
        - value: 1
    """)
    assert "node 'n7' is not in the cluster (known: n1)" in missing.failures()["x"]


def test_pcs_made_configuration_is_adopted_without_churn(salt_env):
    env = dict(os.environ)
    pcs = ["pcs", "-f", str(salt_env.cib_file)]
    if subprocess.run(["which", "pcs"], capture_output=True).returncode:
        pytest.skip("pcs not installed")
    for argv in (
        ["resource", "create", "d1", "ocf:pacemaker:Dummy", "fake=x"],
        ["resource", "create", "d2", "ocf:pacemaker:Dummy", "clone"],
        ["constraint", "order", "d1", "then", "d2-clone"],
        ["constraint", "colocation", "add", "d1", "with", "d2-clone"],
    ):
        subprocess.run(pcs + argv, check=True, capture_output=True, env=env)
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls("""
    d1:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - params: {fake: x}
    d2:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - clone: true
    d1-after-d2:
      pcmk.constraint:
        - kind: order
        - first: d1
        - then: d2-clone
    d1-with-d2:
      pcmk.constraint:
        - kind: colocation
        - rsc: d1
        - with_rsc: d2-clone
    """)
    assert result.all_ok, result.failures()
    assert result.changed == set()
    assert salt_env.cib_file.read_bytes() == before
    changed = salt_env.sls("""
    d1:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - params: {fake: y}
    """)
    assert changed["d1"]["changes"] == {"resource d1": {"changed": {"params.fake": {"old": "x", "new": "y"}}}}


def test_crmsh_made_configuration_is_adopted_without_churn(salt_env):
    if subprocess.run(["which", "crm"], capture_output=True).returncode:
        pytest.skip("crmsh not installed")
    env = dict(os.environ, CIB_file=str(salt_env.cib_file))
    subprocess.run(["crm_attribute", "-n", "stonith-enabled", "-v", "false"], check=True, env=env)
    for argv in (
        ["primitive", "c1", "ocf:pacemaker:Dummy", "params", "fake=x", "op", "monitor", "interval=10s"],
        ["clone", "c1-cl", "c1", "meta", "interleave=true"],
    ):
        subprocess.run(["crm", "configure"] + argv, check=True, capture_output=True, env=env)
    before = salt_env.cib_file.read_bytes()
    result = salt_env.sls("""
    c1:
      pcmk.resource:
        - agent: ocf:pacemaker:Dummy
        - params: {fake: x}
        - ops:
          - {name: monitor, interval: 10s}
        - clone: {interleave: true}
        - clone_id: c1-cl
    """)
    assert result.all_ok, result.failures()
    assert result.changed == set()
    assert salt_env.cib_file.read_bytes() == before
