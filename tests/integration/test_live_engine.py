"""The pcmk execution and state modules against a real single-node cluster.

Everything goes through ``salt-call --local`` inside node n1, as an operator's
minion would run it; what happened is then read back with Pacemaker's own
tools (``cibadmin --query``, ``crm_mon``) inside the node. Every test names
its objects ``it-<test>-...`` and removes them at the end, so the tests share
the session's cluster with other modules and can run again and again.
"""

import json
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from lxml import etree

from tests.support.livecheck import cib, mon, running_on, stopped, wait
from tests.support.saltcall import SALT_CALL, NodeMinion, changed, failures

pytestmark = pytest.mark.live

PYTHON = sys.executable  # the venv's python: saltext.pcmk is importable in it


# -- reading the cluster with Pacemaker's own tools ------------------------------------------


def epoch(node):
    """(admin_epoch, epoch): changes with every configuration write, not with status updates."""
    root = cib(node)
    return int(root.get("admin_epoch")), int(root.get("epoch"))


def listed(node, rsc):
    return bool(mon(node).xpath("//resources//resource[@id=$r]", r=rsc))


def role(node, rsc):
    roles = mon(node).xpath("//resources//resource[@id=$r]/@role", r=rsc)
    return roles[0] if roles else None


def start_call_id(node, rsc):
    """call-id of the resource's last start recorded in the CIB status section (None if none)."""
    ids = cib(node).xpath(
        "status/node_state[@uname='n1']/lrm/lrm_resources/lrm_resource[@id=$r]/lrm_rsc_op[@operation='start']/@call-id",
        r=rsc,
    )
    return max(int(i) for i in ids) if ids else None


def config_ids(node):
    """Every id in the configuration section, with how often it occurs."""
    counts = {}
    for ident in cib(node).xpath("configuration//@id"):
        counts[ident] = counts.get(ident, 0) + 1
    return counts


def purge(node, prefix, timeout=60):
    """Remove every resource and constraint whose id (or a member's) starts with prefix."""
    root = cib(node)
    for constraint in root.xpath("configuration/constraints/*"):
        refs = [constraint.get(a) for a in ("id", "rsc", "with-rsc", "first", "then")]
        refs += constraint.xpath(".//resource_ref/@id")
        if any(r and r.startswith(prefix) for r in refs):
            node.run(
                ["cibadmin", "--delete", "--xml-text", f'<{constraint.tag} id="{constraint.get("id")}"/>'], check=False
            )
    for top in root.xpath("configuration/resources/*"):
        if any(i.startswith(prefix) for i in top.xpath("descendant-or-self::*/@id")):
            node.run(["cibadmin", "--delete", "--xml-text", f'<{top.tag} id="{top.get("id")}"/>'], check=False)
    for attr in root.xpath("configuration/nodes//nvpair[starts-with(@name, $p)]", p=prefix):
        node.run(["cibadmin", "--delete", "--xml-text", f'<nvpair id="{attr.get("id")}"/>'], check=False)
    node.run(["sh", "-c", f"rm -rf /var/lib/pacemaker/lrm/secrets/{prefix}*"], check=False)
    wait(
        lambda: not mon(node).xpath("//resources//resource[starts-with(@id, $p)]", p=prefix),
        f"resources {prefix}* to be gone from crm_mon",
        timeout,
    )


# -- fixtures -------------------------------------------------------------------------
@pytest.fixture
def node(live_cluster):
    return live_cluster.node("n1")


@pytest.fixture
def minion(node, tmp_path):
    return NodeMinion(node, tmp_path / "minion")


@pytest.fixture
def prefix(node, request):
    """``it-<test name>-``; whatever carries it is removed after the test."""
    name = "".join(ch for ch in request.node.originalname.removeprefix("test_") if ch.isalnum())[:16]
    param = "".join(ch for ch in getattr(getattr(request.node, "callspec", None), "id", "") if ch.isalnum())
    prefix = f"it-{name}{'-' + param if param else ''}-"
    purge(node, prefix)  # a previous, interrupted run in the same session
    yield prefix
    purge(node, prefix)


def dummy(rsc, **params):
    lines = [f"{rsc}:", "  pcmk.resource:", "    - agent: ocf:pacemaker:Dummy"]
    if params:
        lines.append("    - params:")
        lines += [f"        {k}: {json.dumps(v)}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


# -- tests ------------------------------------------------------------------------------
def test_status_quorum_and_dc(minion):
    status = minion.call("pcmk.status")
    assert status["dc"] == "n1"
    assert status["quorum"] is True
    assert status["stonith_enabled"] is False
    nodes = {n["name"]: n for n in status["nodes"]}
    assert set(nodes) == {"n1"}
    assert nodes["n1"]["online"] is True and nodes["n1"]["is_dc"] is True
    assert minion.call("pcmk.quorum") is True
    assert minion.call("pcmk.dc") == "n1"


def test_resource_lifecycle(node, minion, prefix):
    rsc = f"{prefix}a"
    minion.write_sls("life", dummy(rsc, fake="one") + "    - ops:\n      - name: monitor\n        interval: 10s\n")
    results = minion.apply("life")
    assert not failures(results), failures(results)
    assert changed(results) == {rsc}
    wait(lambda: running_on(node, rsc) == ["n1"], f"{rsc} Started on n1", 30)
    assert role(node, rsc) == "Started"
    element = cib(node).xpath("configuration/resources/primitive[@id=$r]", r=rsc)[0]
    assert (element.get("class"), element.get("provider"), element.get("type")) == ("ocf", "pacemaker", "Dummy")
    assert element.xpath("instance_attributes/nvpair[@name='fake']/@value") == ["one"]
    assert element.xpath("operations/op[@name='monitor']/@interval") == ["10s"]

    # A second identical run changes nothing and writes nothing.
    before = epoch(node)
    again = minion.apply("life")
    assert not failures(again) and not changed(again), again
    assert epoch(node) == before

    # A real restart: the CIB status section records a new start operation.
    first_start = start_call_id(node, rsc)
    assert first_start is not None
    done = minion.call("pcmk.restart", rsc, "timeout=60")
    assert done["resource"] == rsc
    assert done["stopped_on"] == ["n1"]
    assert done["started_on"] == ["n1"]
    wait(lambda: (start_call_id(node, rsc) or 0) > first_start, "a new start op in the CIB status", 30)
    assert running_on(node, rsc) == ["n1"]
    # restart leaves no target-role behind: a further run is still a no-op.
    assert not changed(minion.apply("life"))

    minion.write_sls("gone", f"{rsc}:\n  pcmk.resource_absent:\n    - timeout: 60\n")
    gone = minion.apply("gone")
    assert not failures(gone), failures(gone)
    assert changed(gone) == {rsc}
    assert not listed(node, rsc)
    assert not cib(node).xpath("configuration//*[@id=$r]", r=rsc)
    assert not changed(minion.apply("gone"))


def test_test_mode_shows_the_diff_and_writes_nothing(node, minion, prefix):
    rsc = f"{prefix}a"
    minion.write_sls("dry", dummy(rsc, fake="dry-value"))
    before = epoch(node)
    results = minion.apply("dry", test=True)
    assert results[rsc]["result"] is None, results
    assert results[rsc]["changes"], results
    comment = results[rsc]["comment"]
    assert rsc in comment and "fake" in comment and "dry-value" in comment, comment
    assert epoch(node) == before
    assert rsc not in config_ids(node)
    assert not listed(node, rsc)


def test_bad_input_fails_naming_the_culprit_and_writes_nothing(node, minion, prefix):
    bad_param, bad_ref, missing = f"{prefix}param", f"{prefix}ref", f"{prefix}missing"
    good = f"{prefix}good"
    minion.write_sls(
        "bad",
        dummy(bad_param, fake="x", no_such_param="y")
        + textwrap.dedent(f"""\
        {good}:
          pcmk.resource:
            - agent: ocf:pacemaker:Dummy
            - test_mode_only: true
        {bad_ref}:
          pcmk.constraint:
            - kind: colocation
            - rsc: {missing}
            - with_rsc: {good}
        {prefix}order:
          pcmk.constraint:
            - kind: order
            - first: {missing}
            - then: {missing}-too
        """),
    )
    before = epoch(node)
    results = minion.apply("bad")
    fails = failures(results)
    assert "no_such_param" in fails[bad_param] and bad_param in fails[bad_param], fails
    assert "test_mode_only" in fails[good], fails  # an unknown state argument is refused too
    assert missing in fails[bad_ref] and bad_ref in fails[bad_ref], fails
    assert missing in fails[f"{prefix}order"], fails
    assert epoch(node) == before
    assert not [i for i in config_ids(node) if i.startswith(prefix)]

    # The execution module refuses the same way, through salt-call's error.
    out = node.run(
        [
            SALT_CALL,
            "-c",
            str(minion.root / "conf"),
            "--local",
            "--out=json",
            "--log-level=quiet",
            "pcmk.resource_create",
            bad_param,
            "ocf:pacemaker:Dummy",
            "params={no_such_param: 1}",
        ],
        check=False,
    )
    assert out.returncode != 0
    assert "no_such_param" in out.stdout + out.stderr
    assert epoch(node) == before


@pytest.mark.parametrize("tool", ["pcs", "crmsh"])
def test_adopts_what_pcs_or_crmsh_made(node, minion, prefix, tool):
    a, b = f"{prefix}a", f"{prefix}b"
    if tool == "pcs":
        node.run(["pcs", "resource", "create", a, "ocf:pacemaker:Dummy", "fake=x"])
        node.run(["pcs", "resource", "create", b, "ocf:pacemaker:Dummy", "fake=y"])
        node.run(["pcs", "constraint", "colocation", "add", b, "with", a, "INFINITY"])
        node.run(["pcs", "constraint", "order", "start", a, "then", "start", b])
    else:
        node.run(["mkdir", "-p", "/var/log/crmsh"])  # the node's private /var/log starts empty
        node.run(["crm", "configure", "primitive", a, "ocf:pacemaker:Dummy", "params", "fake=x"])
        node.run(["crm", "configure", "primitive", b, "ocf:pacemaker:Dummy", "params", "fake=y"])
        node.run(["crm", "configure", "colocation", f"col-{b}", "inf:", b, a])
        node.run(["crm", "configure", "order", f"ord-{b}", "Mandatory:", a, b])
    wait(lambda: running_on(node, a) == ["n1"] and running_on(node, b) == ["n1"], "both started", 30)
    constraints_before = etree.tostring(cib(node).find("configuration/constraints"))
    minion.write_sls(
        "adopt",
        dummy(a, fake="x")
        + dummy(b, fake="y")
        + textwrap.dedent(f"""\
        {prefix}b-with-a:
          pcmk.constraint:
            - kind: colocation
            - rsc: {b}
            - with_rsc: {a}
        {prefix}a-then-b:
          pcmk.constraint:
            - kind: order
            - first: {a}
            - then: {b}
        """),
    )
    before = epoch(node)
    results = minion.apply("adopt")
    assert not failures(results), failures(results)
    assert not changed(results), {k: v["comment"] for k, v in results.items() if v["changes"]}
    assert epoch(node) == before
    assert etree.tostring(cib(node).find("configuration/constraints")) == constraints_before


def test_constraints_take_effect(node, minion, prefix):
    a, b, c = f"{prefix}a", f"{prefix}b", f"{prefix}c"
    minion.write_sls(
        "cons",
        dummy(a)
        + dummy(b)
        + dummy(c)
        + textwrap.dedent(f"""\
        {prefix}b-with-a:
          pcmk.constraint:
            - kind: colocation
            - rsc: {b}
            - with_rsc: {a}
            - require:
              - pcmk: {a}
              - pcmk: {b}
        {prefix}a-then-b:
          pcmk.constraint:
            - kind: order
            - first: {a}
            - then: {b}
            - require:
              - pcmk: {a}
              - pcmk: {b}
        {prefix}c-avoids-n1:
          pcmk.constraint:
            - kind: location
            - rsc: {c}
            - node: n1
            - score: -INFINITY
            - require:
              - pcmk: {c}
        """),
    )
    results = minion.apply("cons")
    assert not failures(results), failures(results)
    wait(lambda: running_on(node, a) == ["n1"] and running_on(node, b) == ["n1"], f"{a} and {b} running", 30)
    wait(lambda: stopped(node, c), f"{c} Stopped by -INFINITY", 30)
    scores = node.run(["crm_simulate", "--live-check", "--show-scores"]).stdout
    assert any(c in line and "n1" in line and "-INFINITY" in line for line in scores.splitlines()), scores

    # Stopping a stops b, which must run with it.
    assert minion.call("pcmk.stop", a, "timeout=60") is True
    wait(lambda: stopped(node, b), f"{b} stopped with {a}", 30)
    assert role(node, a) == "Stopped"
    assert minion.call("pcmk.start", a, "timeout=60") is True
    wait(lambda: running_on(node, b) == ["n1"], f"{b} back with {a}", 30)
    assert not running_on(node, c)


def _salt_apply_argv(minion, sls):
    return [
        SALT_CALL,
        "-c",
        str(minion.root / "conf"),
        "--local",
        "--out=json",
        "--log-level=quiet",
        "state.apply",
        sls,
    ]


def test_concurrent_applies_of_the_same_sls(node, tmp_path, prefix):
    ids = [f"{prefix}r{i}" for i in range(8)]
    text = "".join(dummy(r, fake=r) for r in ids) + textwrap.dedent(f"""\
        {prefix}r1-with-r0:
          pcmk.constraint:
            - kind: colocation
            - rsc: {ids[1]}
            - with_rsc: {ids[0]}
            - require:
              - pcmk: {ids[0]}
              - pcmk: {ids[1]}
        {prefix}r0-then-r2:
          pcmk.constraint:
            - kind: order
            - first: {ids[0]}
            - then: {ids[2]}
            - require:
              - pcmk: {ids[0]}
              - pcmk: {ids[2]}
        {prefix}r3-prefers-n1:
          pcmk.constraint:
            - kind: location
            - rsc: {ids[3]}
            - node: n1
            - score: 50
            - require:
              - pcmk: {ids[3]}
        {prefix}attr:
          pcmk.node_attribute:
            - node: n1
            - value: concurrent
        """)
    minions = [NodeMinion(node, tmp_path / f"minion{i}") for i in range(3)]
    for m in minions:
        m.write_sls("same", text)
    procs = [
        node.popen(_salt_apply_argv(m, "same"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for m in minions
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    runs = []
    for proc, (out, err) in zip(procs, outputs):
        assert out.strip(), f"salt-call printed nothing (exit {proc.returncode}): {err[-2000:]}"
        ret = json.loads(out)["local"]
        assert isinstance(ret, dict), ret
        runs.append({v["__id__"]: v for v in ret.values()})
    for results in runs:
        assert not failures(results), failures(results)
        assert len(results) == 12
    # Every object was created by exactly one of the three runs.
    for ident in ids + [f"{prefix}r1-with-r0", f"{prefix}r0-then-r2", f"{prefix}r3-prefers-n1"]:
        assert sum(ident in changed(r) for r in runs) == 1, (ident, [changed(r) for r in runs])

    counts = config_ids(node)
    for ident in ids + [f"{prefix}r1-with-r0", f"{prefix}r0-then-r2", f"{prefix}r3-prefers-n1"]:
        assert counts.get(ident) == 1, (ident, counts.get(ident))
    root = cib(node)
    assert len(root.xpath("configuration/constraints/rsc_colocation[@rsc=$r]", r=ids[1])) == 1
    assert len(root.xpath("configuration/constraints/rsc_order[@first=$r]", r=ids[0])) == 1
    assert len(root.xpath("configuration/constraints/rsc_location[@rsc=$r]", r=ids[3])) == 1
    for r in ids:
        assert root.xpath(
            "configuration/resources/primitive[@id=$r]/instance_attributes/nvpair[@name='fake']/@value", r=r
        ) == [r]
    assert root.xpath("configuration/nodes/node[@uname='n1']//nvpair[@name=$n]/@value", n=f"{prefix}attr") == [
        "concurrent"
    ]

    before = epoch(node)
    again = minions[0].apply("same")
    assert not failures(again) and not changed(again), again
    assert epoch(node) == before
    wait(lambda: all(running_on(node, r) == ["n1"] for r in ids), "all eight running", 60)


WRITER = textwrap.dedent("""\
    import json, logging, sys, time
    from saltext.pcmk.utils.cib import specs as model
    from saltext.pcmk.utils.cib.session import Session
    from saltext.pcmk.utils.tools import ToolRunner

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    rsc, barrier = sys.argv[1], float(sys.argv[2])
    session = Session(ToolRunner())
    version = session.cib.version  # both writers read the same CIB before either writes
    time.sleep(max(0.0, barrier - time.time()))
    outcome = session.converge([model.ResourceSpec.build(rsc, "ocf:pacemaker:Dummy", params={"fake": rsc})])
    print(json.dumps({"read": version, "changed": outcome.changed, "writes": session.writes}))
""")


def test_two_library_writers_at_once_both_land(node, tmp_path, prefix):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    wanted = [f"{prefix}x", f"{prefix}y"]
    barrier = time.time() + 4  # python + lxml + reading the CIB take well under that
    procs = [
        node.popen([PYTHON, str(script), rsc, str(barrier)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for rsc in wanted
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    reports = []
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-3000:]
        reports.append(json.loads(out))
    assert all(r["changed"] and r["writes"] == 1 for r in reports), reports
    counts = config_ids(node)
    assert all(counts.get(r) == 1 for r in wanted), counts
    if reports[0]["read"] == reports[1]["read"]:
        # Same base version: one patch must have been refused as stale and redone.
        assert "CIB changed under us" in outputs[0][1] + outputs[1][1], (outputs[0][1], outputs[1][1])
    wait(lambda: all(running_on(node, r) == ["n1"] for r in wanted), "both running", 30)


def test_secret_params(node, minion, prefix):
    local, incib = f"{prefix}local", f"{prefix}incib"
    secret = f"S3cret-{uuid.uuid4().hex}"
    other = f"0ther-{uuid.uuid4().hex}"
    minion.set_pillar({"itsecret": {"passwd": secret, "other": other}})
    minion.write_sls(
        "sec",
        textwrap.dedent(f"""\
        {local}:
          pcmk.resource:
            - agent: ocf:pacemaker:Dummy
            - params:
                fake: visible
                passwd: {{{{ pillar['itsecret']['passwd'] }}}}
            - secret_params: [passwd]
            - secrets_in_cib: false
        {incib}:
          pcmk.resource:
            - agent: ocf:pacemaker:Dummy
            - params:
                fake: visible
                passwd: {{{{ pillar['itsecret']['other'] }}}}
            - secret_params: [passwd]
        """),
    )
    conf = str(minion.root / "conf")

    def salt_call(*args):
        proc = node.run([SALT_CALL, "-c", conf, "--local", "--out=json", *args], check=False)
        results = {v["__id__"]: v for v in json.loads(proc.stdout)["local"].values()}
        return results, proc.stdout + proc.stderr

    dry_results, dry = salt_call("state.apply", "sec", "test=True")
    assert {k: v["result"] for k, v in dry_results.items()} == {local: None, incib: None}, dry
    assert "passwd" in dry_results[local]["comment"], dry
    real_results, real = salt_call("state.apply", "sec")
    assert not failures(real_results) and changed(real_results) == {local, incib}, real
    log = (minion.root / "minion.log").read_text()
    for value in (secret, other):
        assert value not in dry, "secret value in test=True output"
        assert value not in real, "secret value in state.apply output"
        assert value not in log, "secret value in the minion log"
    results = minion.apply("sec")  # a third run: nothing to do, secret file already right
    assert not changed(results) and not failures(results), results

    root = cib(node)
    assert root.xpath("configuration//primitive[@id=$r]//nvpair[@name='passwd']/@value", r=local) == ["lrm://"]
    assert root.xpath("configuration//primitive[@id=$r]//nvpair[@name='passwd']/@value", r=incib) == [other]
    assert secret not in node.run(["cibadmin", "--query"]).stdout
    path = f"/var/lib/pacemaker/lrm/secrets/{local}/passwd"
    assert node.run(["cat", path]).stdout.strip() == secret
    assert node.run(["stat", "-c", "%a %U", path]).stdout.split() == ["600", "root"]
    # Pacemaker's own cibsecret agrees the local copy matches what the CIB points at.
    check = node.run(["cibsecret", "check", local, "passwd"], check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    # pacemaker-execd resolves lrm:// from that file: without it the probe fails (rc 2,
    # "invalid parameter") and the resource stays Stopped, so Started proves the file works.
    wait(lambda: running_on(node, local) == ["n1"] and running_on(node, incib) == ["n1"], "both started", 30)
    assert not mon(node).xpath("//failures/failure[starts-with(@op_key, $p)]", p=prefix)
    # The execution module's view masks nothing it does not have, and leaks nothing it has.
    shown = json.dumps(minion.call("pcmk.resource_get", local))
    assert secret not in shown

    # Rotating the secret rewrites the local file only (the CIB keeps lrm://), reported masked.
    rotated = f"R0tated-{uuid.uuid4().hex}"
    minion.set_pillar({"itsecret": {"passwd": rotated, "other": other}})
    before = epoch(node)
    rot_results, rot = salt_call("state.apply", "sec")
    assert not failures(rot_results) and changed(rot_results) == {local}, rot
    assert f"secret file {local}" in rot_results[local]["changes"], rot_results[local]["changes"]
    assert rotated not in rot and rotated not in (minion.root / "minion.log").read_text()
    assert node.run(["cat", path]).stdout.strip() == rotated
    assert node.run(["cibsecret", "check", local, "passwd"], check=False).returncode == 0
    assert epoch(node) == before


def _node_with_claim(ident, uname, rsc, claim):
    node = etree.Element("node", id=ident, uname=uname)
    attrs = etree.SubElement(node, "instance_attributes", id=f"nodes-{ident}")
    etree.SubElement(attrs, "nvpair", id=f"nodes-{ident}-claim", name=f"saltext-restarting-{rsc}", value=claim.value)
    return etree.tostring(node, encoding="unicode")


def test_restart_abandoned_by_a_failed_node_is_recovered(node, minion, prefix):
    """A performer died after stopping the resource: the next one restores it and performs its requests.

    The dead performer is a node that is configured but not a member (``ghost``):
    its claim names it, the resource is stopped as its restart left it, and its
    request is still recorded in the claim only.
    """
    from saltext.pcmk.utils.restarts import Claim  # pylint: disable=import-outside-toplevel

    rsc = f"{prefix}a"
    minion.write_sls("orphan", dummy(rsc))
    assert not failures(minion.apply("orphan"))
    wait(lambda: running_on(node, rsc) == ["n1"], f"{rsc} Started", 30)
    first_start = start_call_id(node, rsc)

    # A claim by an online node within its time is a restart in progress: pcmk.restart refuses to overlap it.
    busy = Claim(rsc, "n1", "another-process", None, {}, int(time.time()) + 600)
    node.run(["cibadmin", "--modify", "--scope", "nodes", "--xml-text", _node_with_claim("1", "n1", rsc, busy)])
    refused = minion.call_error("pcmk.restart", rsc, "timeout=30")
    assert f"{rsc} is being restarted by node n1 (minion another-process)" in refused, refused
    node.run(["cibadmin", "--delete", "--xml-text", '<nvpair id="nodes-1-claim"/>'])
    assert running_on(node, rsc) == ["n1"]

    ghost = Claim(rsc, "ghost", "ghost-minion", None, {"n1": "2026-01-01T00:00:00Z/ctl1/1"}, int(time.time()) + 600)
    node.run(["cibadmin", "--create", "--scope", "nodes", "--xml-text", _node_with_claim("4242", "ghost", rsc, ghost)])
    try:
        node.run(
            [
                "crm_resource",
                "--resource",
                rsc,
                "--meta",
                "--set-parameter",
                "target-role",
                "--parameter-value",
                "Stopped",
            ]
        )
        wait(lambda: stopped(node, rsc), f"{rsc} stopped by the dead performer", 30)

        result = minion.call("pcmk.restart_pending", "timeout=60")
        assert result[rsc]["result"] == "restarted", result
        assert result[rsc]["recovered"] == ["node ghost (minion ghost-minion)"]
        assert result[rsc]["requests"] == ["n1"] and result[rsc]["started_on"] == ["n1"]
        assert running_on(node, rsc) == ["n1"] and start_call_id(node, rsc) > first_start
        root = cib(node)
        assert not root.xpath("configuration/nodes//nvpair[starts-with(@name, 'saltext-restart')]")
        assert not root.xpath("//primitive[@id=$r]/meta_attributes/nvpair[@name='target-role']", r=rsc)
        assert minion.call("pcmk.restart_pending", "timeout=60") == {}  # nothing left pending
    finally:
        node.run(["cibadmin", "--delete", "--xml-text", '<node id="4242"/>'], check=False)


def test_claim_of_an_earlier_membership_is_recovered_and_a_current_one_is_not(node, minion, prefix):
    """Claims carry their node's attrd nonce; a nonce the node no longer holds marks a performer that is gone.

    Here the claims are made by hand on the live node: one with the nonce
    attrd holds for n1 now (a restart in progress: refused), one with a nonce
    from before (its node left the cluster and rejoined: recovered at once,
    long before its deadline).
    """
    from saltext.pcmk.utils.restarts import ALIVE_ATTR, Claim  # pylint: disable=import-outside-toplevel

    rsc = f"{prefix}m"
    minion.write_sls("member", dummy(rsc))
    assert not failures(minion.apply("member"))
    wait(lambda: running_on(node, rsc) == ["n1"], f"{rsc} Started", 30)
    node.run(["attrd_updater", "--name", ALIVE_ATTR, "--update", "current", "--private"])
    wait(
        lambda: "current" in node.run(["attrd_updater", "--name", ALIVE_ATTR, "--query"], check=False).stdout,
        "attrd to hold the nonce",
        10,
    )
    long_ago = int(time.time()) - 120

    current = Claim(rsc, "n1", "another-process", None, {}, int(time.time()) + 600, "current", long_ago)
    node.run(["cibadmin", "--modify", "--scope", "nodes", "--xml-text", _node_with_claim("1", "n1", rsc, current)])
    refused = minion.call_error("pcmk.restart", rsc, "timeout=30")
    assert f"{rsc} is being restarted by node n1 (minion another-process)" in refused, refused

    earlier = Claim(
        rsc,
        "n1",
        "gone-process",
        "Started",
        {"n1": "2026-01-01T00:00:00Z/ctl1/1"},
        int(time.time()) + 600,
        "from-before-n1-rejoined",
        long_ago,
    )
    node.run(["cibadmin", "--modify", "--scope", "nodes", "--xml-text", _node_with_claim("1", "n1", rsc, earlier)])
    node.run(
        ["crm_resource", "--resource", rsc, "--meta", "--set-parameter", "target-role", "--parameter-value", "Stopped"]
    )
    wait(lambda: stopped(node, rsc), f"{rsc} stopped by the gone performer", 30)
    result = minion.call("pcmk.restart_pending", "timeout=60")
    assert result[rsc]["result"] == "restarted", result
    assert result[rsc]["recovered"] == ["node n1 (minion gone-process)"]
    assert time.time() < earlier.until  # by its nonce, not by its deadline
    assert running_on(node, rsc) == ["n1"]
    root = cib(node)
    assert not root.xpath("configuration/nodes//nvpair[starts-with(@name, 'saltext-restart')]")
    assert root.xpath("//primitive[@id=$r]/meta_attributes/nvpair[@name='target-role']/@value", r=rsc) == ["Started"]


def test_restart_and_stop_wait_for_the_operations_to_finish(node, minion, prefix):
    """pcmk.restart/pcmk.stop must return only once Pacemaker's operations have completed.

    Dummy's ``op_sleep`` makes every operation take 2 s. While a stop is in
    flight crm_mon shows the resource as role="Stopping" active="false", and
    while a start is in flight as role="Starting" active="true".
    """
    rsc = f"{prefix}slow"
    minion.write_sls("slow", dummy(rsc, op_sleep=2))
    results = minion.apply("slow")
    assert not failures(results), failures(results)
    wait(lambda: running_on(node, rsc) == ["n1"], f"{rsc} Started", 30)

    problems = []
    done = minion.call("pcmk.restart", rsc, "timeout=60")
    state_after_restart = role(node, rsc)
    last = cib(node).xpath("status/node_state/lrm//lrm_rsc_op[@id=$i]", i=f"{rsc}_last_0")[0]
    assert done["started_on"] == ["n1"], done
    if done["stop_seconds"] < 2:
        problems.append(f"restart reported the stop done after {done['stop_seconds']}s; the stop takes 2s")
    if state_after_restart != "Started" or (last.get("operation"), last.get("rc-code")) != ("start", "0"):
        problems.append(
            f"restart returned while the start was in flight: role {state_after_restart}, "
            f"last op {last.get('operation')} rc-code {last.get('rc-code')} (193 = pending)"
        )
    wait(lambda: running_on(node, rsc) == ["n1"], f"{rsc} Started again", 30)

    assert minion.call("pcmk.stop", rsc, "timeout=60") is True
    state_after_stop = role(node, rsc)
    if state_after_stop != "Stopped":
        problems.append(f"stop returned while the stop was in flight: role {state_after_stop}")
    assert not problems, problems


def test_alert_and_tag_do_what_pacemaker_says(node, minion, prefix):
    """An alert declared by pcmk.alert is run by Pacemaker on a resource's start; a
    location constraint naming a tag keeps every tagged resource off the node."""
    log = f"/run/{prefix}alerts.log"
    # The alert agent runs as hacluster: its recipient file must be writable by it.
    node.run(["sh", "-c", f": > {log} && chown hacluster:haclient {log}"])
    a, b = f"{prefix}a", f"{prefix}b"
    minion.write_sls(
        "alerting",
        textwrap.dedent(f"""\
        {prefix}alert:
          pcmk.alert:
            - path: /usr/share/pacemaker/alerts/alert_file.sh.sample
            - recipients: [{log}]
            - select: [resources]
        """)
        + dummy(a)
        + dummy(b)
        + textwrap.dedent(f"""\
        {prefix}tag:
          pcmk.tag:
            - resources: [{b}]
            - require: [{{pcmk: {b}}}]
        {prefix}tagged-off-n1:
          pcmk.constraint:
            - kind: location
            - rsc: {prefix}tag
            - node: n1
            - score: -INFINITY
            - require: [{{pcmk: {prefix}tag}}]
        """),
    )
    try:
        results = minion.apply("alerting")
        assert not failures(results), failures(results)
        wait(lambda: running_on(node, a) == ["n1"], f"{a} running", 30)
        wait(
            lambda: f"Resource operation 'start' for '{a}' on 'n1'" in node.run(["cat", log]).stdout,
            f"the alert agent to record {a}'s start in {log}",
            30,
        )
        assert stopped(node, b)
        assert not failures(minion.apply("alerting")) and changed(minion.apply("alerting")) == set()
    finally:
        minion.write_sls(
            "unalerting",
            f"{prefix}tagged-off-n1:\n  pcmk.constraint_absent: []\n"
            f"{prefix}tag:\n  pcmk.tag_absent:\n    - require: [{{pcmk: {prefix}tagged-off-n1}}]\n"
            f"{prefix}alert:\n  pcmk.alert_absent: []\n",
        )
        assert not failures(minion.apply("unalerting"))
        node.run(["rm", "-f", log], check=False)
    assert not cib(node).xpath("configuration/alerts | configuration/tags")


def test_a_template_a_rule_based_set_and_group_params_do_what_pacemaker_says(node, minion, prefix):
    """What the agent itself does: Dummy writes its ``state`` file where its parameter says.
    A primitive made from a template gets the template's ``state``, one overriding it its
    own, a group member the group's; a rule-based meta set whose date rule holds keeps its
    resource stopped. Re-applied, nothing changes; exported and re-applied, nothing either."""
    tpl, inherits, overrides, member, windowed = (f"{prefix}{n}" for n in ("tpl", "inh", "own", "mem", "win"))
    state = {n: f"/run/{n}.state" for n in (tpl, overrides, member)}
    minion.write_sls(
        "language",
        textwrap.dedent(f"""\
        {tpl}:
          pcmk.resource_template:
            - agent: ocf:pacemaker:Dummy
            - params: {{state: {state[tpl]}}}
        {inherits}:
          pcmk.resource:
            - template: {tpl}
            - require: [{{pcmk: {tpl}}}]
        {overrides}:
          pcmk.resource:
            - template: {tpl}
            - params: {{state: {state[overrides]}}}
            - require: [{{pcmk: {tpl}}}]
        {member}:
          pcmk.resource:
            - agent: ocf:pacemaker:Dummy
        {prefix}grp:
          pcmk.group:
            - resources: [{member}]
            - params: {{state: {state[member]}}}
            - require: [{{pcmk: {member}}}]
        {windowed}:
          pcmk.resource:
            - agent: ocf:pacemaker:Dummy
            - meta:
                - values: {{resource-stickiness: 0}}
                - rule: {{expressions: [{{date: {{operation: gt, start: "2000-01-01"}}}}]}}
                  values: {{target-role: Stopped}}
        """),
    )
    try:
        results = minion.apply("language")
        assert not failures(results), failures(results)
        for rsc in (inherits, overrides, member):
            wait(lambda rsc=rsc: running_on(node, rsc) == ["n1"], f"{rsc} running", 30)
        # The agent wrote its state file where the template, the override and the group said.
        for path in (state[tpl], state[overrides], state[member]):
            assert node.run(["test", "-e", path], check=False).returncode == 0, path
        time.sleep(2)
        assert stopped(node, windowed)
        epoch = cib(node).get("epoch")
        assert changed(minion.apply("language")) == set()
        exported = minion.call("pcmk.export")
        minion.write_sls("exported", exported)
        again = minion.apply("exported")
        assert not failures(again) and changed(again) == set(), {
            k: v["changes"] for k, v in again.items() if v["changes"]
        }
        assert cib(node).get("epoch") == epoch
    finally:
        purge(node, prefix)
        purge(node, prefix)  # the template, refused while its primitives were still there
        node.run(["rm", "-f", *state.values()], check=False)
    assert not cib(node).xpath("configuration/resources/*[starts-with(@id, $p)]", p=prefix)
