"""Pillar ``pcmk:cluster`` -> ClusterSpec -> corosync.conf, the parser, the refusals, the keys (no Salt, no daemon)."""

import base64
import os

import pytest

from saltext.pcmk.utils.errors import SpecError, WaitTimeout
from saltext.pcmk.utils.membership import converge, corosync_conf, formation, keys

KEY = base64.b64encode(b"k" * 256).decode()


def pillar(**over):
    data = {
        "name": "ha",
        "nodes": [
            {"name": "ctl1", "nodeid": 1, "addrs": ["192.0.2.11", "198.51.100.11"], "minion": "m1"},
            {"name": "ctl2", "nodeid": 2, "addrs": ["192.0.2.12", "198.51.100.12"], "minion": "m2"},
            {"name": "ctl3", "nodeid": 3, "addrs": ["192.0.2.13", "198.51.100.13"], "minion": "m3"},
        ],
        "links": [{"knet_link_priority": 10}, {"knet_link_priority": 5}],
        "crypto": {"cipher": "aes256", "hash": "sha256"},
        "totem": {"token": 3000},
        "quorum": {"wait_for_all": True, "last_man_standing": "yes"},
        "authkeys": {"corosync": KEY, "pacemaker": KEY},
    }
    data.update(over)
    return data


def test_render_is_complete_and_stable():
    spec = corosync_conf.spec_from_pillar(pillar())
    text = corosync_conf.render(spec)
    assert text == corosync_conf.render(corosync_conf.spec_from_pillar(pillar()))
    for line in (
        "    cluster_name: ha\n",
        "    transport: knet\n",
        "    crypto_cipher: aes256\n",
        "    token: 3000\n",
        "        linknumber: 1\n        knet_link_priority: 5\n",
        "        name: ctl2\n        nodeid: 2\n        ring0_addr: 192.0.2.12\n        ring1_addr: 198.51.100.12\n",
        "    last_man_standing: 1\n    wait_for_all: 1\n",
    ):
        assert line in text
    assert KEY not in text and "k" * 20 not in repr(spec)


def test_parse_reads_back_what_render_wrote():
    text = corosync_conf.render(corosync_conf.spec_from_pillar(pillar()))
    parsed = corosync_conf.parse(text)
    assert parsed["quorum"][0]["wait_for_all"] == "1"
    assert corosync_conf.identity(parsed) == corosync_conf.Identity("ha", "knet", {1: "ctl1", 2: "ctl2", 3: "ctl3"})


@pytest.mark.parametrize(
    "text, message",
    [("totem {\n", "a section is not closed"), ("}\n", "closes no section"), ("totem {\nbogus\n}\n", ":2: neither")],
)
def test_parse_names_the_broken_line(text, message):
    with pytest.raises(SpecError, match=message):
        corosync_conf.parse(text)


@pytest.mark.parametrize(
    "change, culprit",
    [
        (lambda p: p["nodes"][2].update(nodeid=1), r"nodes\[2\]:nodeid 1 is already used by pcmk:cluster:nodes\[0\]"),
        (lambda p: p["nodes"][1].update(name="ctl1"), r"nodes\[1\]:name ctl1 is already used"),
        (lambda p: p["nodes"][1].update(minion="m1"), r"nodes\[1\]:minion m1 is already node"),
        (
            lambda p: p["nodes"][0].update(addrs=["192.0.2.11"]),
            r"nodes\[0\]:addrs: node ctl1 has 1 address\(es\) for 2",
        ),
        (lambda p: p["nodes"][1].update(addrs=["192.0.2.11", "x"]), r"nodes\[1\]:addrs\[0\] 192.0.2.11 is already"),
        (lambda p: p["nodes"][1].update(addrs=["192.0.2.12", "no such"]), r"nodes\[1\]:addrs\[1\] must be an IP"),
        (lambda p: p.update(bogus=1), r"pcmk:cluster: unknown key\(s\) bogus"),
        (lambda p: p["nodes"][0].update(ip="x"), r"nodes\[0\]: unknown key\(s\) ip"),
        (lambda p: p["quorum"].update(two_nodes=1), r"quorum: unknown key\(s\) two_nodes"),
        (lambda p: p["quorum"].update(two_node=True), r"quorum:two_node is for a cluster of two nodes, 3"),
        (lambda p: p["quorum"].update(wait_for_all="maybe"), r"quorum:wait_for_all must be true or false"),
        (lambda p: p["totem"].update(token="3s"), r"totem:token must be an integer"),
        (lambda p: p.update(transport="udpu"), r"transport 'udpu': only knet"),
        (lambda p: p["crypto"].update(hash="none"), r"cipher aes256 needs a hash"),
        (lambda p: p["crypto"].update(cipher="des"), r"crypto:cipher 'des' is not one of"),
        (lambda p: p.update(name="has space"), r"pcmk:cluster:name must be a name"),
        (lambda p: p.pop("name"), r"pcmk:cluster:name is missing"),
        (lambda p: p.update(nodes=[]), r"pcmk:cluster:nodes must be a non-empty list"),
        (lambda p: p["nodes"][0].pop("nodeid"), r"nodes\[0\]:nodeid is missing"),
        (lambda p: p["nodes"][0].update(nodeid=0), r"nodes\[0\]:nodeid must be between 1"),
        (lambda p: p["authkeys"].update(corosync="not base64!"), r"authkeys:corosync is not valid base64"),
        (lambda p: p["authkeys"].update(corosync=base64.b64encode(b"short").decode()), r"corosync key is 5 bytes"),
        (lambda p: p["authkeys"].pop("corosync"), r"authkeys:corosync is missing"),
        (lambda p: p["logging"] if False else p.update(logging={"to_syslog": "a{b"}), r"logging:to_syslog must be"),
    ],
)
def test_broken_pillar_names_the_culprit(change, culprit):
    data = pillar()
    change(data)
    with pytest.raises(SpecError, match=culprit) as refused:
        corosync_conf.spec_from_pillar(data)
    assert "k" * 16 not in str(refused.value)


def test_empty_pillar_says_what_to_declare():
    with pytest.raises(SpecError, match="pcmk:cluster is empty"):
        corosync_conf.spec_from_pillar(None)


def test_minion_to_node():
    spec = corosync_conf.spec_from_pillar(pillar())
    assert spec.node_of_minion("m2").name == "ctl2"
    with pytest.raises(SpecError, match="minion m9 is not one of the cluster's nodes"):
        spec.node_of_minion("m9")


def test_votes_needed():
    three = corosync_conf.spec_from_pillar(pillar())
    assert three.votes_needed() == 2
    two = pillar(links=[{}], quorum={"two_node": 1})
    two["nodes"] = [dict(n, addrs=n["addrs"][:1]) for n in two["nodes"][:2]]
    assert corosync_conf.spec_from_pillar(two).votes_needed() == 1


def four_nodes(**quorum):
    data = pillar(links=[{}], quorum=quorum)
    data["nodes"] = [{"name": f"ctl{i}", "nodeid": i, "addrs": [f"10.0.0.{i}"], "minion": f"m{i}"} for i in range(1, 5)]
    return corosync_conf.spec_from_pillar(data)


@pytest.mark.parametrize(
    "quorum, members, quorate",
    [
        ({}, {1, 2, 3}, True),
        ({}, {1, 2}, False),  # half of four: no majority
        ({"auto_tie_breaker": True}, {1, 2}, True),  # the half holding the lowest id
        ({"auto_tie_breaker": True}, {3, 4}, False),
        ({"auto_tie_breaker": True, "auto_tie_breaker_node": "highest"}, {3, 4}, True),
        ({"auto_tie_breaker": True, "auto_tie_breaker_node": [3, 1]}, {1, 2}, True),
        ({"auto_tie_breaker": True, "auto_tie_breaker_node": "4"}, {1, 2}, False),
        ({"auto_tie_breaker": True}, {1}, False),  # a quarter is never enough
        ({"last_man_standing": True}, {1, 2}, False),  # only after its window: not at once
    ],
)
def test_quorate_with_credits_the_tie_breaker_and_not_last_man_standing(quorum, members, quorate):
    assert four_nodes(**quorum).quorate_with(members) is quorate


def test_tie_breaker_nodes_must_be_declared():
    with pytest.raises(SpecError, match="auto_tie_breaker_node: nodeid 9 is not one of the declared nodes"):
        four_nodes(auto_tie_breaker=True, auto_tie_breaker_node="1 9")
    with pytest.raises(SpecError, match="auto_tie_breaker_node must be lowest, highest or node ids"):
        four_nodes(auto_tie_breaker=True, auto_tie_breaker_node=[])


def test_growing_to_an_even_count_with_the_tie_breaker_is_not_refused():
    """Two running nodes of a new four-node list: refused without a tie-breaker, allowed with one."""
    running = corosync_conf.Identity("ha", "knet", {1: "ctl1", 2: "ctl2"})
    assert "would lose quorum at once" in " ".join(corosync_conf.refusals(four_nodes(), running, {1, 2}))
    assert corosync_conf.refusals(four_nodes(auto_tie_breaker=True), running, {1, 2}) == []
    refused = corosync_conf.refusals(
        four_nodes(auto_tie_breaker=True, auto_tie_breaker_node="highest"), running, {1, 2}
    )
    assert "not the tie-breaker's half (auto_tie_breaker)" in " ".join(refused)


CMAP = """totem.cluster_name (str) = ha
totem.transport (str) = knet
nodelist.node.0.name (str) = ctl1
nodelist.node.0.nodeid (u32) = 1
nodelist.node.1.name (str) = ctl2
nodelist.node.1.nodeid (u32) = 2
nodelist.node.2.name (str) = ctl3
nodelist.node.2.nodeid (u32) = 3
runtime.members.1.status (str) = joined
runtime.members.2.status (str) = joined
runtime.members.3.status (str) = left
"""


def test_cmap_identity_and_members():
    cmap = corosync_conf.parse_cmap(CMAP)
    assert corosync_conf.identity_from_cmap(cmap).nodes == {1: "ctl1", 2: "ctl2", 3: "ctl3"}
    assert corosync_conf.joined_members(cmap) == {1, 2}


def running():
    cmap = corosync_conf.parse_cmap(CMAP)
    return corosync_conf.identity_from_cmap(cmap), corosync_conf.joined_members(cmap)


@pytest.mark.parametrize(
    "change, culprit",
    [
        (lambda p: p.update(name="other"), "pcmk:cluster:name 'other': the running cluster is 'ha'"),
        (lambda p: p["nodes"][2].update(name="ctl9"), "nodeid 3 is node ctl3 in the running cluster, not ctl9"),
        (lambda p: p["nodes"][2].update(nodeid=7), "node ctl3 has nodeid 3 in the running cluster, not 7"),
        (
            lambda p: p["nodes"].extend(
                {"name": f"ctl{i}", "nodeid": i, "addrs": [f"192.0.2.{i}", f"198.51.100.{i}"]} for i in (4, 5, 6)
            ),
            "fewer than the 4 votes it needs",
        ),
    ],
)
def test_running_cluster_refusals(change, culprit):
    data = pillar()
    change(data)
    identity, joined = running()
    problems = corosync_conf.refusals(corosync_conf.spec_from_pillar(data), identity, joined)
    assert any(culprit in p for p in problems), problems


def test_running_cluster_accepts_a_new_node_and_a_partition_without_quorum_is_not_held_against_a_change():
    identity, joined = running()
    joined = joined | {3}
    data = pillar()
    data["nodes"].append({"name": "ctl4", "nodeid": 4, "addrs": ["192.0.2.14", "198.51.100.14"]})
    spec = corosync_conf.spec_from_pillar(data)
    assert corosync_conf.refusals(spec, identity, joined) == []
    data["nodes"].append({"name": "ctl5", "nodeid": 5, "addrs": ["192.0.2.15", "198.51.100.15"]})
    data["nodes"].append({"name": "ctl6", "nodeid": 6, "addrs": ["192.0.2.16", "198.51.100.16"]})
    spec = corosync_conf.spec_from_pillar(data)
    assert corosync_conf.refusals(spec, identity, joined, quorate=False) == []


def test_keys_are_checked_and_fingerprinted_never_shown():
    raw = os.urandom(256)
    assert keys.decode(keys.encode(raw), "corosync") == raw
    assert keys.fingerprint(raw).startswith("sha256:") and len(keys.fingerprint(raw)) == 23
    with pytest.raises(SpecError, match="must have 128 to 4096"):
        keys.decode(base64.b64encode(b"x" * 5000).decode(), "corosync")
    with pytest.raises(SpecError, match="must be base64 text, got a int"):
        keys.decode(42, "pacemaker")


def test_key_write_is_whole_0400_and_inspect_sees_every_difference(tmp_path):
    keyfile = keys.KeyFile("corosync", str(tmp_path / "sub" / "authkey"), "root", "root")
    key = os.urandom(256)
    uid, gid = os.getuid(), os.getgid()
    assert keys.inspect(keyfile, key, uid, gid).differences == ("created",)
    keys.write(keyfile, key, uid, gid)
    assert (tmp_path / "sub" / "authkey").read_bytes() == key
    assert oct((tmp_path / "sub" / "authkey").stat().st_mode & 0o777) == "0o400"
    assert keys.inspect(keyfile, key, uid, gid).differences == ()
    os.chmod(keyfile.path, 0o644)
    assert keys.inspect(keyfile, os.urandom(256), uid, gid).differences == ("content", "mode 0644 -> 0400")
    assert os.listdir(tmp_path / "sub") == ["authkey"]  # no temporary left behind


def test_controllers_disagreeing_are_named_by_fingerprint():
    spec = corosync_conf.spec_from_pillar(pillar())
    other = corosync_conf.spec_from_pillar(pillar(authkeys={"corosync": keys.encode(b"o" * 256), "pacemaker": KEY}))
    problems = converge.disagreements(
        {"m1": converge.digest(spec), "m2": converge.digest(spec), "m3": converge.digest(other)}
    )
    assert len(problems) == 1 and problems[0].startswith("corosync_authkey differs between controllers (")
    assert "m1, m2: sha256:" in problems[0] and "m3: sha256:" in problems[0]
    assert converge.disagreements({"m1": converge.digest(spec), "m2": converge.digest(spec)}) == []


def test_a_rename_is_refused_while_any_controller_runs_the_old_name():
    """m3's Corosync is stopped: renaming would pass on m3 alone; m1 and m2 still run 'ha'."""
    renamed = corosync_conf.spec_from_pillar(pillar(name="ha2"))
    running = corosync_conf.Identity("ha", "knet", {1: "ctl1", 2: "ctl2", 3: "ctl3"})
    digests = {
        "m1": converge.digest(renamed, running),
        "m2": converge.digest(renamed, running),
        "m3": converge.digest(renamed, None),
    }
    assert converge.disagreements(digests) == []  # they agree with each other
    assert converge.running_conflicts(digests) == [
        "pcmk:cluster:name 'ha2': m1 runs Corosync with name 'ha' (not changed while any node of the cluster runs)",
        "pcmk:cluster:name 'ha2': m2 runs Corosync with name 'ha' (not changed while any node of the cluster runs)",
    ]
    same = corosync_conf.spec_from_pillar(pillar())
    assert converge.running_conflicts({"m1": converge.digest(same, running), "m3": converge.digest(same)}) == []


class FakeRunner:
    """Answers corosync-cmapctl / corosync-quorumtool / crm_mon from canned text."""

    def __init__(self, cmap=None, quorate="Yes", crm_mon=None):
        self.cmap, self.quorate_text, self.crm_mon = cmap, quorate, crm_mon

    def run(self, argv, ok_codes=(0,), **_):
        import subprocess  # pylint: disable=import-outside-toplevel

        argv = list(argv)
        if argv[0] == "corosync-cmapctl":
            if self.cmap is None:
                return subprocess.CompletedProcess(argv, 1, "", "Failed to initialize the cmap API")
            prefix = argv[-1] if len(argv) > 1 else ""  # no prefix: the whole map
            lines = [line for line in self.cmap.splitlines() if line.startswith(prefix)]
            return subprocess.CompletedProcess(argv, 0, "\n".join(lines), "")
        if argv[0] == "corosync-quorumtool":
            return subprocess.CompletedProcess(argv, 0, f"Quorate:          {self.quorate_text}\n", "")
        if argv[0] == "crm_mon":
            return subprocess.CompletedProcess(argv, 0, self.crm_mon, "")
        raise AssertionError(argv)


CRM_MON = """<pacemaker-result api-version="2.0" request="crm_mon"><summary>
<current_dc present="{dc}" name="ctl1" with_quorum="true"/></summary><nodes>
<node name="ctl1" id="1" online="true"/><node name="ctl2" id="2" online="true"/>
<node name="ctl3" id="3" online="{online3}"/></nodes></pacemaker-result>"""


@pytest.mark.parametrize(
    "runner, what",
    [
        (FakeRunner(None), "Corosync to answer on this node"),
        (FakeRunner(CMAP), r"Corosync membership of every declared node \(not joined: ctl3 \(id 3\)\)"),
        (FakeRunner(CMAP.replace("= left", "= joined"), quorate="No"), "waiting for quorum"),
        (
            FakeRunner(CMAP.replace("= left", "= joined"), crm_mon=CRM_MON.format(dc="true", online3="false")),
            r"every declared node online in Pacemaker \(not online: ctl3\)",
        ),
        (
            FakeRunner(CMAP.replace("= left", "= joined"), crm_mon=CRM_MON.format(dc="false", online3="true")),
            "a DC",
        ),
    ],
)
def test_the_wait_names_what_did_not_come(runner, what):
    spec = corosync_conf.spec_from_pillar(pillar())
    with pytest.raises(WaitTimeout, match=what):
        formation.wait_formed(spec, runner, timeout=0, interval=0)


def test_the_wait_ends_when_formed():
    runner = FakeRunner(CMAP.replace("= left", "= joined"), crm_mon=CRM_MON.format(dc="true", online3="true"))
    formed = formation.wait_formed(corosync_conf.spec_from_pillar(pillar()), runner, timeout=0)
    assert str(formed) == "3 members (ctl1, ctl2, ctl3), quorate, DC ctl1"


def test_pillar_example_cluster_is_valid_with_real_keys():
    import pathlib  # pylint: disable=import-outside-toplevel

    import yaml  # pylint: disable=import-outside-toplevel

    example = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / "pillar.example").read_text())
    data = example["pcmk"]["cluster"]
    for key in corosync_conf.CLUSTER_KEYS:
        assert key in data, f"pillar.example does not show pcmk:cluster:{key}"
    with pytest.raises(SpecError, match="authkeys:corosync is not valid base64"):
        corosync_conf.spec_from_pillar(data)
    data["authkeys"] = {"corosync": KEY, "pacemaker": KEY}
    spec = corosync_conf.spec_from_pillar(data)
    assert [n.minion for n in spec.nodes] == ["ctl1.example.org", "ctl2.example.org", "ctl3.example.org"]


def test_reload_plan_compares_the_file_with_the_running_node_list_and_settings(tmp_path):
    conf = tmp_path / "corosync.conf"
    data = pillar(links=[{}])
    data["nodes"] = [dict(n, addrs=n["addrs"][:1]) for n in data["nodes"]]
    conf.write_text(corosync_conf.render(corosync_conf.spec_from_pillar(data)))
    started = corosync_conf.parse(conf.read_text(), str(conf))
    # What corosync-cmapctl shows for that file: its totem and quorum keys (a flag as a number),
    # the node list, and a key Corosync derives itself that no file sets.
    running_cmap = "\n".join(
        [f"{k} (str) = {'1' if v == 'yes' else v}" for k, v in formation.settings_of_conf(started).items()]
        + [
            f"nodelist.node.{i}.{k} (str) = {v}"
            for i, n in enumerate(data["nodes"])
            for k, v in (("name", n["name"]), ("nodeid", n["nodeid"]), ("ring0_addr", n["addrs"][0]))
        ]
        + ["totem.interface.0.bindnetaddr (str) = 192.0.2.11"]
    )
    runner = FakeRunner(running_cmap)
    unchanged = {"running": True, "added": [], "removed": [], "changed": [], "settings": []}
    assert formation.reload_plan(runner, str(conf)) == unchanged
    assert not formation.reload_needed(formation.reload_plan(runner, str(conf)))

    data["totem"] = {"consensus": 3600}  # token no longer set, consensus newly set
    conf.write_text(corosync_conf.render(corosync_conf.spec_from_pillar(data)))
    plan = formation.reload_plan(runner, str(conf))
    assert plan == {**unchanged, "settings": ["totem.consensus", "totem.token"]}
    assert formation.reload_needed(plan)

    data["totem"] = {"token": 3000}
    data["nodes"].append({"name": "ctl4", "nodeid": 4, "addrs": ["192.0.2.14"]})
    data["nodes"][1]["addrs"] = ["192.0.2.99"]
    del data["nodes"][2]
    conf.write_text(corosync_conf.render(corosync_conf.spec_from_pillar(data)))
    assert formation.reload_plan(runner, str(conf)) == {
        **unchanged,
        "added": ["ctl4"],
        "removed": ["ctl3"],
        "changed": ["ctl2"],
    }
    assert formation.reload_plan(FakeRunner(None), str(conf))["running"] is False


class _Cmapctl:
    """corosync-cmapctl answering ``failures`` times with "Failed to initialize the cmap API", then a map."""

    def __init__(self, failures):
        self.failures, self.calls = failures, 0

    def run(self, argv, ok_codes=(0,)):  # pylint: disable=unused-argument
        import subprocess  # pylint: disable=import-outside-toplevel

        self.calls += 1
        if self.failures:
            self.failures -= 1
            return subprocess.CompletedProcess(argv, 1, "", "Failed to initialize the cmap API. Error CS_ERR_TRY_AGAIN")
        return subprocess.CompletedProcess(argv, 0, "totem.cluster_name (str) = pcmkform\n", "")


def test_a_running_corosync_that_does_not_answer_is_never_taken_for_none():
    from saltext.pcmk.utils.errors import PcmkError  # pylint: disable=import-outside-toplevel
    from saltext.pcmk.utils.membership import formation  # pylint: disable=import-outside-toplevel

    busy = _Cmapctl(failures=3)
    cmap = formation.running_cmap(busy, sleep=lambda s: None, pid_of=lambda: 4242)
    assert cmap["totem.cluster_name"] == "pcmkform"
    with pytest.raises(PcmkError, match=r"Corosync runs on this node \(pid 4242\) but corosync-cmapctl cannot read"):
        formation.running_cmap(_Cmapctl(failures=100), sleep=lambda s: None, pid_of=lambda: 4242)
    assert formation.running_cmap(_Cmapctl(failures=100), sleep=lambda s: None, pid_of=lambda: None) is None


class _PartialCmapctl:
    """corosync-cmapctl that answers (exit 0) without any totem key ``partial`` times, then whole."""

    def __init__(self, partial):
        self.partial = partial

    def run(self, argv, ok_codes=(0,)):  # pylint: disable=unused-argument
        import subprocess  # pylint: disable=import-outside-toplevel

        if self.partial:
            self.partial -= 1
            return subprocess.CompletedProcess(argv, 0, "runtime.members.1.status (str) = joined\n", "")
        return subprocess.CompletedProcess(argv, 0, "totem.cluster_name (str) = pcmkform\n", "")


def test_an_answer_without_the_configuration_is_asked_again_never_taken_for_no_name():
    from saltext.pcmk.utils.errors import PcmkError  # pylint: disable=import-outside-toplevel
    from saltext.pcmk.utils.membership import formation  # pylint: disable=import-outside-toplevel

    cmap = formation.running_cmap(_PartialCmapctl(2), sleep=lambda s: None, pid_of=lambda: 4242)
    assert cmap == {"totem.cluster_name": "pcmkform"}
    with pytest.raises(PcmkError, match="its configuration map holds no totem settings"):
        formation.running_cmap(_PartialCmapctl(100), sleep=lambda s: None, pid_of=lambda: 4242)


def test_a_quorum_question_unanswered_is_an_error_not_a_pass():
    from saltext.pcmk.utils.errors import PcmkError  # pylint: disable=import-outside-toplevel
    from saltext.pcmk.utils.membership import formation  # pylint: disable=import-outside-toplevel

    class Silent(FakeRunner):
        def run(self, argv, ok_codes=(0,), **_):
            import subprocess  # pylint: disable=import-outside-toplevel

            return subprocess.CompletedProcess(argv, 1, "", "Cannot initialize QUORUM service")

    with pytest.raises(PcmkError, match="does not say whether it is quorate"):
        formation.running_quorate(Silent(), sleep=lambda s: None)
    assert formation.running_quorate(FakeRunner(quorate="No"), sleep=lambda s: None) is False
