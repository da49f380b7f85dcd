"""Cluster keys made on the master and served by the ``pcmk_cluster_keys`` ext_pillar.

Real Salt: the runner through Salt's RunnerClient, and the pillar compiled
by Salt's own ``salt.pillar.Pillar`` with the master's options, the ext_pillar
found through this package's loader entry point.
"""

from __future__ import annotations

import base64
import os
import stat

import pytest
import salt.pillar
import salt.runner
import yaml

from saltext.pcmk.utils.membership import corosync_conf, keys, keystore

NODES = [
    {"name": "n1", "nodeid": 1, "addrs": ["192.0.2.1"], "minion": "ctl1"},
    {"name": "n2", "nodeid": 2, "addrs": ["192.0.2.2"], "minion": "ctl2"},
    {"name": "ctl3", "nodeid": 3, "addrs": ["192.0.2.3"]},  # no minion key: the node's name is its minion
]


@pytest.fixture
def master_opts(salt_factories, tmp_path):
    pillar_root = tmp_path / "pillar"
    pillar_root.mkdir()
    (pillar_root / "top.sls").write_text(yaml.safe_dump({"base": {"*": ["cluster"]}}))
    (pillar_root / "cluster.sls").write_text(yaml.safe_dump({"pcmk": {"cluster": {"name": "ha", "nodes": NODES}}}))
    factory = salt_factories.salt_master_daemon(
        f"keys-{os.getpid()}-{tmp_path.name[-8:]}",
        overrides={
            "pillar_roots": {"base": [str(pillar_root)]},
            "ext_pillar": [{"pcmk_cluster_keys": {}}],
            "pki_dir": str(tmp_path / "pki"),
        },
    )
    opts = dict(factory.config)
    opts["pillar_root"] = pillar_root
    return opts


def compiled(opts, minion_id):
    return salt.pillar.Pillar(opts, {}, minion_id, "base").compile_pillar()


def run(opts, fun, **kwargs):
    with salt.runner.RunnerClient(opts) as client:
        return client.cmd(fun, kwarg=kwargs, print_event=False, full_return=False)


def test_keys_are_made_once_kept_private_and_served_to_the_nodes_only(master_opts):
    # Before the keys are made: nothing served, and the states say how to get them.
    assert "authkeys" not in compiled(master_opts, "ctl1")["pcmk"]["cluster"]
    with pytest.raises(Exception, match=r"salt-run pcmk.cluster_keys"):
        corosync_conf.spec_from_pillar(compiled(master_opts, "ctl1")["pcmk"]["cluster"])

    made = run(master_opts, "pcmk.cluster_keys", name="ha")
    keydir = os.path.join(master_opts["pki_dir"], "pcmk")
    assert made["keydir"] == keydir
    assert {k: v["created"] for k, v in made["keys"].items()} == {"corosync": True, "pacemaker": True}
    for kind in ("corosync", "pacemaker"):
        path = os.path.join(keydir, "ha", f"{kind}.key")
        mode = os.stat(path)
        assert stat.S_IMODE(mode.st_mode) == 0o400 and mode.st_uid == os.getuid()
        with open(path, "rb") as handle:
            raw = handle.read()
        assert len(raw) == keys.DEFAULT_SIZE
        assert made["keys"][kind]["fingerprint"] == keys.fingerprint(raw)
        assert base64.b64encode(raw).decode() not in repr(made)  # the runner never returns a key
    assert stat.S_IMODE(os.stat(keydir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(keydir, "ha")).st_mode) == 0o700
    assert sorted(os.listdir(os.path.join(keydir, "ha"))) == ["corosync.key", "pacemaker.key"]

    again = run(master_opts, "pcmk.cluster_keys", name="ha")
    assert {k: v["created"] for k, v in again["keys"].items()} == {"corosync": False, "pacemaker": False}
    assert again["keys"] == {k: {**v, "created": False} for k, v in made["keys"].items()}

    served = {m: compiled(master_opts, m)["pcmk"]["cluster"].get("authkeys") for m in ("ctl1", "ctl2", "ctl3", "web1")}
    assert served["web1"] is None  # not a node of the cluster
    assert served["ctl1"] == served["ctl2"] == served["ctl3"] == keystore.read(keydir, "ha")
    spec = corosync_conf.spec_from_pillar(compiled(master_opts, "ctl2")["pcmk"]["cluster"])
    assert keys.fingerprint(spec.corosync_authkey) == made["keys"]["corosync"]["fingerprint"]
    assert keys.fingerprint(spec.pacemaker_authkey) == made["keys"]["pacemaker"]["fingerprint"]


def test_keys_given_in_pillar_win(master_opts):
    run(master_opts, "pcmk.cluster_keys", name="ha")
    own = {"corosync": keys.encode(keys.generate()), "pacemaker": keys.encode(keys.generate())}
    cluster = {"pcmk": {"cluster": {"name": "ha", "nodes": NODES, "authkeys": own}}}
    (master_opts["pillar_root"] / "cluster.sls").write_text(yaml.safe_dump(cluster))
    assert compiled(master_opts, "ctl1")["pcmk"]["cluster"]["authkeys"] == own


def test_a_bad_cluster_name_is_refused_naming_it(master_opts):
    with salt.runner.RunnerClient(master_opts) as client:
        ret = client.cmd("pcmk.cluster_keys", kwarg={"name": "../x"}, print_event=False, full_return=True)
    assert ret["success"] is False, ret
    assert "cluster name '../x': letters, digits" in str(ret["return"]), ret
    assert not os.path.exists(os.path.join(master_opts["pki_dir"], "pcmk", "x"))


def test_two_runs_at_once_keep_one_key(tmp_path):
    """The second of two racing runs links onto an existing key: the first one's stays."""
    first = keystore.ensure(str(tmp_path), "ha")
    path = tmp_path / "ha" / "corosync.key"
    before = path.read_bytes()
    os.chmod(path, 0o600)  # as if it had appeared between the check and the link
    second = keystore.ensure(str(tmp_path), "ha")
    assert path.read_bytes() == before and second["corosync"]["fingerprint"] == first["corosync"]["fingerprint"]
    assert not [p for p in os.listdir(tmp_path / "ha") if p.endswith(".tmp")]
