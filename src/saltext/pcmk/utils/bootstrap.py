"""Which cluster member acts for the whole cluster (the bootstrap node/minion).

Found, never hard-coded: a pillar override when given, else the DC, else the
online node with the lowest id. When that one cannot act (its minion does not
answer), the next online node in the same order is chosen.
"""

from .errors import NotFound


def candidates(status):
    """Online node names, best first: DC, then by node id."""
    online = [n for n in status.nodes if n.online and not n.unclean]
    ordered = sorted(online, key=lambda n: (not n.is_dc, int(n.id) if str(n.id).isdigit() else n.id))
    return [n.name for n in ordered]


def bootstrap_node(status, *, override=None, unavailable=()):
    """The node that acts; ``override`` (a node name) wins when it is online."""
    order = candidates(status)
    if override and override in order and override not in unavailable:
        return override
    for name in order:
        if name not in unavailable:
            return name
    raise NotFound("no online cluster node can act as bootstrap node" + (f" (unavailable: {', '.join(sorted(unavailable))})" if unavailable else ""))
