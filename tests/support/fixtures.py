"""Pytest fixtures that provide real, namespaced Corosync/Pacemaker clusters.

Import them from tests/conftest.py::

    from tests.support.fixtures import *  # noqa: F401,F403

Tests using them should carry ``@pytest.mark.live`` (single node) or
``@pytest.mark.multinode`` (three nodes).  The fixtures skip, with the reason,
when the machine cannot run a cluster (not root, tools missing, namespaces
not allowed).  Set PCMK_TEST_KEEP_FILES=1 to keep each cluster's configs and
logs (under pytest's tmp directory) after it is stopped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.support.cluster import Cluster, missing_requirements

__all__ = ["live_cluster", "three_node_cluster", "cluster_factory"]


def _skip_unless_cluster_can_run() -> None:
    reason = missing_requirements()
    if reason:
        pytest.skip(f"live Pacemaker cluster unavailable: {reason}")


def _keep_files() -> bool:
    return os.environ.get("PCMK_TEST_KEEP_FILES") == "1"


def _started_cluster(workdir, **kwargs) -> Iterator[Cluster]:
    _skip_unless_cluster_can_run()
    cluster = Cluster(workdir, **kwargs).start()
    try:
        yield cluster
    finally:
        cluster.stop(remove_files=not _keep_files())


@pytest.fixture(scope="session")
def live_cluster(tmp_path_factory) -> Iterator[Cluster]:
    """A started single-node cluster (node n1 on 127.0.0.1) shared by the session."""
    yield from _started_cluster(tmp_path_factory.mktemp("live-cluster"), nodes=1, name="pcmklive")


@pytest.fixture(scope="session")
def three_node_cluster(tmp_path_factory) -> Iterator[Cluster]:
    """A started three-node cluster (n1..n3 on 10.250.0.1-3) shared by the session.

    Tests that kill nodes must bring them back (Cluster.restart_node) so later
    tests find all three online.
    """
    yield from _started_cluster(tmp_path_factory.mktemp("three-node-cluster"), nodes=3, name="pcmk3")


@pytest.fixture
def cluster_factory(tmp_path) -> Iterator[Callable[..., Cluster]]:
    """make(nodes=1, **Cluster kwargs) -> started Cluster; all stopped after the test.

    For tests that need a cluster of their own (start/stop behaviour, or
    changes the shared clusters must not see).
    """
    _skip_unless_cluster_can_run()
    clusters: list[Cluster] = []

    def make(nodes: int = 1, **kwargs) -> Cluster:
        workdir = tmp_path / f"cluster{len(clusters)}"
        cluster = Cluster(workdir, nodes=nodes, **kwargs)
        clusters.append(cluster)
        return cluster.start()

    yield make
    for cluster in clusters:
        cluster.stop(remove_files=not _keep_files())
