"""Concurrent state runs on every controller, counted against the real CIB (issue 12).

The short form of bench/concurrency.py, on the suite's three-node Salt bed:
3 controllers x 4 concurrent ``state.apply conc concurrent=True`` runs, each
declaring overlapping, distinct, updated and removed objects
(tests/support/concload.py). Every state must succeed, every object a state
reported written must be in the final CIB with its value (removed ones gone),
and the overlapping objects must be there exactly once.
"""

from __future__ import annotations

import time

import pytest

from tests.support import concload

pytestmark = pytest.mark.multinode

RUNS = 4


def live_node(bed):
    return next(n for n in bed.cluster.nodes if n.corosync_pids())


def test_controllers_running_states_concurrently_lose_and_duplicate_nothing(salt_cluster):
    bed = salt_cluster
    concload.write_sls(bed)
    rounds = list(range(1, RUNS + 1))
    try:
        concload.seed(bed, rounds)
        phase = concload.Phase(bed, rounds)
        returns = phase.wait(timeout=600)
        node = live_node(bed)
        concload.settle(node, since=phase.started, timeout=300)
        result = concload.count(returns, concload.cib_of(node), minions=bed.minion_ids, retries=phase.retries())
        row = result["survivors"]
        assert row["runs"] == RUNS * len(bed.minion_ids), (result, phase.raw)
        assert (row["failed"], row["lost"], row["duplicated"]) == (0, 0, 0), concload.problems_text(result, 60)
        assert result["overlap"] == {what: 1 for what in result["overlap"]}, result["overlap"]
        # Every run wrote something of its own: the count is not vacuous.
        cib = concload.cib_of(node)
        for m in bed.minion_ids:
            for r in rounds:
                assert cib.xpath("configuration/resources/primitive[@id=$i]", i=f"conc-{m}-{r}"), (m, r)
                assert not cib.xpath("configuration//*[@id=$i]", i=f"conc-gone-{m}-{r}"), (m, r)
    finally:
        node = live_node(bed)
        concload.cleanup(node)
        concload.settle(node, since=time.monotonic(), timeout=300)
        assert not concload.cib_of(node).xpath("configuration//*[starts-with(@id, 'conc-')]")
