"""pcmk.ticket against a real single-node cluster: a granted ticket lets Pacemaker start the resource.

Through ``salt-call --local`` inside node n1, read back with Pacemaker's own
tools (``crm_mon``, ``cibadmin``). Objects are named ``it-<test>-...`` and
removed afterwards, so the test shares the session's cluster with the others.
"""

import textwrap

import pytest

from tests.integration.test_live_engine import purge
from tests.support.livecheck import cib, mon, running_on, stopped, wait
from tests.support.saltcall import NodeMinion, changed, failures

pytestmark = pytest.mark.live


@pytest.fixture
def node(live_cluster):
    return live_cluster.node("n1")


@pytest.fixture
def minion(node, tmp_path):
    return NodeMinion(node, tmp_path / "minion")


def ticket_as_crm_mon_shows_it(node, ticket):
    found = mon(node).xpath("//tickets/ticket[@id=$t]", t=ticket)
    return (found[0].get("status"), found[0].get("standby")) if found else None


def ticket_state(node, ticket):
    """The ticket's status entry (with ``last-granted``: a re-grant would move it)."""
    found = cib(node).xpath("status/tickets/ticket_state[@id=$t]", t=ticket)
    return dict(found[0].attrib) if found else None


def test_a_granted_ticket_lets_pacemaker_start_the_resource_and_a_revoked_one_stops_it(node, minion):
    prefix = "it-ticket-"
    rsc, ticket = f"{prefix}d", f"{prefix}t"
    purge(node, prefix)
    node.run(["crm_ticket", "--ticket", ticket, "--cleanup", "--force"], check=False)
    sls = textwrap.dedent(f"""\
        {rsc}:
          pcmk.resource:
            - agent: ocf:pacemaker:Dummy
        {rsc}-needs-{ticket}:
          pcmk.constraint:
            - kind: ticket
            - rsc: {rsc}
            - ticket: {ticket}
            - loss_policy: stop
            - require: [{{pcmk: {rsc}}}]
        {ticket}:
          pcmk.ticket:
            - granted: GRANTED
            - require: [{{pcmk: {rsc}-needs-{ticket}}}]
        """)
    try:
        minion.write_sls("ticketed", sls.replace("GRANTED", "false"))
        first = minion.apply("ticketed")
        assert not failures(first), failures(first)
        assert changed(first) == {rsc, f"{rsc}-needs-{ticket}"}  # never granted reads as revoked: nothing to run
        wait(lambda: stopped(node, rsc), f"{rsc} to stay stopped without its ticket", 30)
        assert ticket_state(node, ticket) is None

        minion.write_sls("ticketed", sls.replace("GRANTED", "true"))
        dry = minion.apply("ticketed", test=True)
        assert dry[ticket]["result"] is None and "granted: false -> true" in dry[ticket]["comment"], dry[ticket]
        assert ticket_state(node, ticket) is None

        granted = minion.apply("ticketed")
        assert not failures(granted), failures(granted)
        assert changed(granted) == {ticket}
        wait(lambda: running_on(node, rsc) == ["n1"], f"{rsc} started once {ticket} is granted", 60)
        assert ticket_as_crm_mon_shows_it(node, ticket) == ("granted", "false")
        state = ticket_state(node, ticket)
        again = minion.apply("ticketed")
        assert not failures(again) and changed(again) == set(), again
        assert ticket_state(node, ticket) == state  # not granted again: last-granted did not move

        minion.write_sls("ticketed", sls.replace("GRANTED", "false"))
        revoked = minion.apply("ticketed")
        assert changed(revoked) == {ticket}, revoked
        wait(lambda: stopped(node, rsc), f"{rsc} stopped by its loss-policy once {ticket} is revoked", 60)
        assert ticket_as_crm_mon_shows_it(node, ticket) == ("revoked", "false")
    finally:
        purge(node, prefix)
        node.run(["crm_ticket", "--ticket", ticket, "--cleanup", "--force"], check=False)
    assert ticket_state(node, ticket) is None
