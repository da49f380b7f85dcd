"""Which cluster member acts for the whole cluster (the bootstrap node/minion).

Found, never hard-coded: a pillar override when given, else the DC, else the
online node with the lowest id. When that one cannot act (its minion does not
answer), the next online node in the same order is chosen.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from saltext.pcmk.utils.errors import NotFound

if TYPE_CHECKING:
    from saltext.pcmk.utils.cluster.status import ClusterStatus


def candidates(status: ClusterStatus) -> list[str]:
    """Online node names, best first: DC, then by node id."""
    ordered = sorted(status.members(), key=lambda n: (not n.is_dc, int(n.id) if str(n.id).isdigit() else n.id))
    return [n.name for n in ordered]


def bootstrap_node(status: ClusterStatus, *, override: str | None = None, unavailable: Collection[str] = ()) -> str:
    """The node that acts; ``override`` (a node name) wins when it is online."""
    order = candidates(status)
    if override and override in order and override not in unavailable:
        return override
    for name in order:
        if name not in unavailable:
            return name
    raise NotFound(
        "no online cluster node can act as bootstrap node"
        + (f" (unavailable: {', '.join(sorted(unavailable))})" if unavailable else "")
    )


def choose_minion(
    nodes: Iterable[Mapping[str, Any]], node_to_minion: Mapping[str, str], *, override: str | None = None
) -> str:
    """The minion that acts, from ``crm_mon`` node dicts and answering minions.

    ``nodes`` are dicts as ``pcmk.status`` returns them; ``node_to_minion``
    maps node names to the minions that answered. ``override`` (pillar
    ``pcmk:bootstrap_minion``) wins when that minion answered.
    """
    answering = set(node_to_minion.values())
    if override and override in answering:
        return override
    online = [n for n in nodes if n.get("online") and not n.get("unclean")]
    ordered = sorted(online, key=lambda n: (not n.get("is_dc"), int(n["id"]) if str(n.get("id")).isdigit() else 0))
    for node in ordered:
        if node["name"] in node_to_minion:
            return node_to_minion[node["name"]]
    raise NotFound(
        "no answering minion runs an online cluster node (answering: " + (", ".join(sorted(answering)) or "none") + ")"
    )


def online_members(statuses: Iterable[Mapping[str, Any]]) -> set[str]:
    """Names of the nodes any of these ``pcmk.status`` answers reports online and clean."""
    return {
        str(n["name"])
        for status in statuses
        for n in status.get("nodes", ())
        if n.get("online") and not n.get("unclean") and n.get("name")
    }


def waiting_for(
    statuses: Iterable[Mapping[str, Any]],
    node_to_minion: Mapping[str, str],
    *,
    override: str | None = None,
) -> set[str]:
    """What a discovery still waits for before :func:`choose_minion` can decide as if it had waited for all.

    The online members that no answering minion runs, and the ``override``
    minion when it has not answered: only those can change the choice. The
    membership is read from the ``pcmk.status`` answers *with quorum*: a node
    that lost the cluster (a partition, a node whose corosync just died) sees
    itself alone and online, and its view must not end the wait. A minion
    whose node is not an online member can never be chosen (unless it is the
    override), so it is not waited for. Empty when nothing is missing;
    without a quorate status yet, everything is waited for (``{"*"}``).
    """
    quorate = [s for s in statuses if s.get("quorum")]
    if not quorate:
        return {"*"}
    missing = online_members(quorate) - set(node_to_minion)
    if override and override not in set(node_to_minion.values()):
        missing.add(f"minion {override}")
    return missing
