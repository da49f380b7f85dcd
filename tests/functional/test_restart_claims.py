"""Restart claims on offline CIB files: who performs, what to restore, what to put back.

A claim must survive its performer: these tests write claims through the real
session (validated, patched by cibadmin) and check what another performer
finds and recovers. Status comes from ``crm_mon`` on the same file, where every
node is offline, and from hand-made node lists where a node must be online.
"""

import time

import pytest
from lxml import etree

from saltext.pcmk.utils import restarts
from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.cib import specs as model
from saltext.pcmk.utils.cib.session import Session
from saltext.pcmk.utils.cluster import status as statusmod
from saltext.pcmk.utils.restarts import performer
from saltext.pcmk.utils.tools import ToolRunner


@pytest.fixture
def runner(cib_file):
    runner = ToolRunner(cib_file=cib_file)
    for ident, name in (("1", "n1"), ("2", "n2"), ("3", "n3")):
        runner.run(
            [
                "cibadmin",
                "--create",
                "--scope",
                "nodes",
                "--xml-text",
                etree.tostring(etree.Element("node", id=ident, uname=name), encoding="unicode"),
            ]
        )
    Session(runner).converge([model.ResourceSpec.build("web", "ocf:pacemaker:Dummy")])
    return runner


def request(runner, node, token):
    Session(runner).converge([restarts.RequestSpec(node, "web", token=token)])


def target_role(runner):
    return cibmod.read(runner).by_id("web").xpath("meta_attributes/nvpair[@name='target-role']/@value")


def claim(runner, node, seen, *, until=None):
    spec = restarts.ClaimSpec("web", node, f"minion-{node}", seen, until or int(time.time()) + 600)
    Session(runner).converge([spec])
    return spec.claimed


def online(*names):
    return statusmod.ClusterStatus(
        dc=names[0],
        quorum=True,
        stonith_enabled=False,
        maintenance_mode=False,
        nodes=[
            statusmod.NodeStatus(
                name=n,
                id=str(i),
                online=n in names,
                standby=False,
                maintenance=False,
                is_dc=n == names[0],
                unclean=False,
            )
            for i, n in enumerate(("n1", "n2", "n3"), 1)
        ],
    )


def test_claim_takes_the_seen_requests_and_records_performer_and_role(runner):
    request(runner, "n1", "t1")
    request(runner, "n2", "t2")
    Session(runner).converge([model.ResourceMetaSpec("web", "target-role", "Started")])
    seen = restarts.pending(cibmod.read(runner))["web"]
    request(runner, "n2", "t2b")  # n2 asks again after the performer looked

    taken = claim(runner, "n3", seen)
    assert taken.requests == {"n1": "t1"} and taken.role == "Started" and taken.owner == "n3"
    cib = cibmod.read(runner)
    assert restarts.pending(cib) == {"web": {"n2": "t2b"}}  # the newer request waits for the next restart
    assert restarts.claims(cib) == {"web": [taken]}
    assert cib.root.xpath("configuration/nodes/node[@uname='n3']/instance_attributes/nvpair/@name") == [
        "saltext-restarting-web"
    ]

    # A racing performer claims nothing while a restart is in progress, and writes nothing.
    epoch = cibmod.read(runner).root.get("epoch")
    assert claim(runner, "n1", {"n2": "t2b"}) is None
    assert cibmod.read(runner).root.get("epoch") == epoch


def test_requests_claimed_by_another_are_not_claimed_again(runner):
    request(runner, "n1", "t1")
    seen = restarts.pending(cibmod.read(runner))["web"]
    first = claim(runner, "n1", seen)
    Session(runner).converge([restarts.ReleaseSpec(first)])
    assert claim(runner, "n2", seen) is None  # what n2 saw was performed already
    assert restarts.claims(cibmod.read(runner)) == {}


def test_failed_restart_puts_requests_back_and_restores_target_role(runner):
    request(runner, "n1", "t1")
    request(runner, "n2", "t2")
    taken = claim(runner, "n1", restarts.pending(cibmod.read(runner))["web"])
    Session(runner).converge([model.ResourceMetaSpec("web", "target-role", "Stopped")])
    request(runner, "n2", "t2b")  # a newer request arrives during the restart

    Session(runner).converge([restarts.ReleaseSpec(taken, put_back=True)])
    cib = cibmod.read(runner)
    assert restarts.pending(cib) == {"web": {"n1": "t1", "n2": "t2b"}}  # the newer one is kept, not overwritten
    assert restarts.claims(cib) == {}
    assert target_role(runner) == []  # there was none before the restart


def test_late_release_after_recovery_changes_nothing(runner):
    """A performer cut off from the cluster comes back after another took over: it must not undo its work."""
    request(runner, "n1", "t1")
    stale = claim(runner, "n1", {"n1": "t1"})
    Session(runner).converge([model.ResourceMetaSpec("web", "target-role", "Stopped")])
    Session(runner).converge([restarts.ReleaseSpec(stale, put_back=True)])  # recovered by another performer
    fresh = claim(runner, "n2", {"n1": "t1"})
    Session(runner).converge([model.ResourceMetaSpec("web", "target-role", "Stopped")])
    epoch = cibmod.read(runner).root.get("epoch")

    Session(runner).converge([restarts.ReleaseSpec(stale)])
    assert cibmod.read(runner).root.get("epoch") == epoch
    assert target_role(runner) == ["Stopped"] and restarts.claims(cibmod.read(runner)) == {"web": [fresh]}


def test_claim_is_abandoned_when_its_node_is_offline_or_its_time_is_up(runner):
    taken = claim(runner, "n2", {}, until=int(time.time()) + 600)
    assert not taken.abandoned(online("n1", "n2", "n3"))
    assert taken.abandoned(online("n1", "n3"))  # n2 left the cluster
    assert taken.abandoned(online("n1", "n2", "n3"), now=taken.until + 1)
    # Unreadable claims (hand-edited) are abandoned at once, with nothing to put back.
    junk = restarts.Claim.parse("web", "n1", "not json")
    assert junk.abandoned(online("n1")) and junk.requests == {}


def test_claim_from_an_earlier_membership_of_its_node_is_abandoned(runner):
    """Online and within its time, but its node left the cluster since: attrd no longer holds its nonce."""
    now = time.time()
    taken = restarts.Claim("web", "n2", "minion-n2", "Started", {"n1": "t1"}, int(now) + 600, "nonce-a", int(now) - 60)
    assert restarts.Claim.parse("web", "n2", taken.value) == taken
    everyone = online("n1", "n2", "n3")
    assert not taken.abandoned(everyone, markers={"n2": "nonce-a"})
    assert taken.abandoned(everyone, markers={"n2": "nonce-b"})  # n2 rejoined: attrd was given a new nonce
    assert taken.abandoned(everyone, markers={"n1": "x"})  # n2 holds none since it rejoined
    assert not taken.abandoned(everyone, markers=None)  # unknown (a CIB file): the deadline decides
    # A nonce reaches the other nodes' attrd a moment after the claim: a young claim is not judged by it.
    young = restarts.Claim("web", "n2", "minion-n2", None, {}, int(now) + 600, "nonce-a", int(now))
    assert not young.abandoned(everyone, markers={})
    # Claims without a nonce (written before nonces, or on a CIB file) keep the deadline rule.
    assert not restarts.Claim("web", "n2", None, None, {}, int(now) + 600).abandoned(everyone, markers={})


def test_recover_restores_what_an_abandoned_claim_stopped(runner):
    """Every node is offline on a CIB file: the claim of n1 is abandoned and recovered."""
    request(runner, "n1", "t1")
    request(runner, "n3", "t3")
    Session(runner).converge([model.ResourceMetaSpec("web", "target-role", "Started")])
    claim(runner, "n1", restarts.pending(cibmod.read(runner))["web"])
    Session(runner).converge([model.ResourceMetaSpec("web", "target-role", "Stopped")])

    session = Session(runner)
    recovered, live = performer._recover(session, "web")  # pylint: disable=protected-access
    assert live is None and [c.owner for c in recovered] == ["n1"]
    cib = cibmod.read(runner)
    assert restarts.claims(cib) == {}
    assert restarts.pending(cib) == {"web": {"n1": "t1", "n3": "t3"}}
    assert target_role(runner) == ["Started"]
