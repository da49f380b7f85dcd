"""pcmk.corosync_conf, pcmk.authkey and pcmk.cluster_running through Salt's state system, on real files
in a private directory (the host's /etc is never touched; corosync -t checks each candidate).

The local node's address is 127.0.0.1, so ``corosync -t`` finds this host in the node list.
"""

import base64
import json
import os
import pathlib
import pwd

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
KEYS = {"corosync": base64.b64encode(os.urandom(256)).decode(), "pacemaker": base64.b64encode(os.urandom(256)).decode()}


@pytest.fixture
def lab(salt_env, tmp_path):
    salt_env.configure(
        module_dirs=[str(REPO / "tests" / "support" / "salt_modules")],
        **{"pcmk.native_service": "fakeinit_service", "fakeinit.dir": str(salt_env.scratch)},
    )
    salt_env.etc = tmp_path / "etc"
    salt_env.etc.mkdir()
    return salt_env


def cluster(minion, **over):
    data = {
        "name": "lab",
        "nodes": [
            {"name": "a", "nodeid": 1, "addrs": ["127.0.0.1"], "minion": minion},
            {"name": "b", "nodeid": 2, "addrs": ["192.0.2.2"]},
            {"name": "c", "nodeid": 3, "addrs": ["192.0.2.3"]},
        ],
        "totem": {"token": 1000},
        "authkeys": dict(KEYS),
    }
    data.update(over)
    return data


def sls(lab, data):
    etc = lab.etc
    return f"""
{etc}/corosync.conf:
  pcmk.corosync_conf:
    - cluster: {json.dumps(data)}
keys:
  pcmk.authkey:
    - cluster: {json.dumps(data)}
    - corosync_path: {etc}/corosync/authkey
    - pacemaker_path: {etc}/pacemaker/authkey
running:
  pcmk.cluster_running:
    - cluster: {json.dumps(data)}
    - conf: {etc}/corosync.conf
"""


def files(lab):
    return {
        str(p.relative_to(lab.etc)): (p.read_bytes(), oct(p.stat().st_mode & 0o777), p.stat().st_mtime_ns)
        for p in sorted(lab.etc.rglob("*"))
        if p.is_file()
    }


def test_test_mode_shows_a_diff_and_the_keys_to_create_and_writes_nothing(lab):
    minion = lab.opts["id"]
    result = lab.sls(sls(lab, cluster(minion)), test=True)
    conf = result[f"{lab.etc}/corosync.conf"]
    assert conf["result"] is None
    assert conf["changes"]["diff"].startswith(f"--- /dev/null\n+++ {lab.etc}/corosync.conf\n")
    assert "+    cluster_name: lab\n" in conf["changes"]["diff"]
    assert result["keys"]["result"] is None
    assert result["keys"]["changes"] == {
        f"{lab.etc}/corosync/authkey": "authkey: created",
        f"{lab.etc}/pacemaker/authkey": "authkey: created",
    }
    assert files(lab) == {}
    text = json.dumps(result.raw)
    assert KEYS["corosync"] not in text and KEYS["pacemaker"] not in text


def test_apply_writes_files_whole_with_their_modes_and_a_second_run_changes_nothing(lab):
    minion = lab.opts["id"]
    text = sls(lab, cluster(minion)).replace("running:\n  pcmk.cluster_running:", "running:\n  test.nop:")
    first = lab.sls(text)
    assert first.all_ok, first.failures()
    written = files(lab)
    assert written["corosync.conf"][1] == "0o644"
    assert written["corosync/authkey"][:2] == (base64.b64decode(KEYS["corosync"]), "0o400")
    assert written["pacemaker/authkey"][:2] == (base64.b64decode(KEYS["pacemaker"]), "0o400")
    assert (lab.etc / "pacemaker" / "authkey").stat().st_uid == pwd.getpwnam("hacluster").pw_uid
    assert KEYS["corosync"] not in json.dumps(first.raw)

    second = lab.sls(text)
    assert second.all_ok and second.changed == set(), second.raw
    assert files(lab) == written

    # A change shows as a readable diff of that line only under test=True, and is written after.
    changed = sls(lab, cluster(minion, totem={"token": 2000})).replace("pcmk.cluster_running:", "test.nop:")
    preview = lab.sls(changed, test=True)[f"{lab.etc}/corosync.conf"]
    assert preview["result"] is None
    diff = preview["changes"]["diff"]
    assert "-    token: 1000\n+    token: 2000\n" in diff and diff.count("\n-") == 1
    assert files(lab) == written

    # A key whose mode someone changed is put back, reported without its bytes.
    os.chmod(lab.etc / "corosync" / "authkey", 0o644)
    third = lab.sls(text)
    assert third["keys"]["changes"] == {f"{lab.etc}/corosync/authkey": "authkey: mode 0644 -> 0400"}


@pytest.mark.parametrize(
    "change, culprit",
    [
        (lambda c: c["nodes"][2].update(nodeid=1), "pcmk:cluster:nodes[2]:nodeid 1 is already used"),
        (lambda c: c["nodes"][0].update(addrs=["127.0.0.1", "192.0.2.9"]), "has 2 address(es) for 1 link(s)"),
        (lambda c: c.update(color="blue"), "pcmk:cluster: unknown key(s) color"),
        (lambda c: c["nodes"][0].update(minion="someone-else"), "is not one of the cluster's nodes"),
        (lambda c: c["authkeys"].update(corosync="%%%"), "pcmk:cluster:authkeys:corosync is not valid base64"),
    ],
)
@pytest.mark.parametrize("test", [True, False], ids=["test", "apply"])
def test_broken_pillar_is_refused_naming_the_culprit_with_nothing_written(lab, change, culprit, test):
    data = cluster(lab.opts["id"])
    change(data)
    result = lab.sls(sls(lab, data), test=test)
    conf = result[f"{lab.etc}/corosync.conf"]
    assert conf["result"] is False and culprit in conf["comment"], conf
    assert all(not v["changes"] for v in result.by_id.values())
    assert files(lab) == {}


def test_a_config_corosync_refuses_is_not_written(lab):
    data = cluster(lab.opts["id"], totem={"token": 1000, "consensus": 10})  # consensus must exceed 1.2 * token
    result = lab.sls(sls(lab, data).split("keys:")[0])
    conf = result[f"{lab.etc}/corosync.conf"]
    assert conf["result"] is False, conf
    assert conf["comment"].startswith("corosync -t refuses the rendered corosync.conf:"), conf
    assert files(lab) == {}


def test_cluster_running_under_test_says_what_it_would_start(lab):
    minion = lab.opts["id"]
    (lab.etc / "corosync.conf").write_text("# placeholder\n")
    result = lab.sls(sls(lab, cluster(minion)), test=True)
    running = result["running"]
    assert running["result"] is None, running
    assert running["changes"] == {
        "corosync": "started",
        "pacemaker": "started",
        "corosync at boot": "enabled",
        "pacemaker at boot": "enabled",
    }


def test_cluster_running_needs_corosync_conf(lab):
    text = sls(lab, cluster(lab.opts["id"])).replace(
        f"- conf: {lab.etc}/corosync.conf", f"- conf: {lab.etc}/missing.conf"
    )
    result = lab.sls(text, test=True)
    assert result["running"]["result"] is False
    assert result["running"]["comment"] == (
        f"{lab.etc}/missing.conf does not exist: apply pcmk.corosync_conf before pcmk.cluster_running"
    )
