"""Pending restart requests recorded in the CIB, performed once cluster-wide.

A controller whose config changed records ``saltext-restart-<resource>`` as a
permanent attribute of its own cluster node (a token: time and minion). The
bootstrap minion later performs one restart per resource for every request
recorded so far.

Performing first *claims* the requests: one conflict-checked write removes
exactly the tokens it saw and records ``saltext-restarting-<resource>`` on the
performer's own node, naming the performer, the ``target-role`` to restore and
the requests it took. Of two performers racing only one can claim; the other
waits for that claim to end. The claim lives in the CIB, not in the performer:
when the restart ends, one write removes the claim and restores ``target-role``
(and puts the requests back if the restart failed). When the performer cannot
write that (its node lost the cluster mid-restart), its claim is *abandoned*
once its node is offline or its deadline has passed, and the next performer
restores ``target-role`` and puts the requests back before going on. So a
resource is never restarted twice for the same requests, never left stopped by
a restart, and a request is never lost.

A node that left the cluster and came back before anyone looked is online
again, yet its performer is gone. So each node holds a nonce in a private
Pacemaker node attribute (``saltext-alive``, kept by pacemaker-attrd, never
written to the CIB), set on first use, and a claim records its node's nonce.
Pacemaker drops a node's attributes when the node leaves the cluster, so the
nonce names the node's current membership: a claim whose nonce its node no
longer holds is abandoned too, without waiting for its deadline.

``records`` holds what the CIB (and attrd) records: requests, claims,
liveness nonces, and the specs that change them. ``performer`` performs:
request, claim, restart (rolling for promotable clones), release, recover
abandoned claims, wait for quiet. The public API of both is re-exported here.
"""

from .performer import CLAIM_GRACE, end_of_run, perform, request, restart, until_quiet, wait_settled
from .records import (
    ALIVE_ATTR,
    ALIVE_GRACE,
    CLAIM_PREFIX,
    PREFIX,
    Claim,
    ClaimSpec,
    PutBackSpec,
    ReleaseSpec,
    RequestSpec,
    alive_markers,
    claims,
    mark_alive,
    pending,
)

# Node attributes this package keeps while it runs (requests, claims, liveness): records, not configuration.
RECORD_PREFIXES = (PREFIX, CLAIM_PREFIX, ALIVE_ATTR)

__all__ = [
    "RECORD_PREFIXES",
    "ALIVE_ATTR",
    "ALIVE_GRACE",
    "CLAIM_GRACE",
    "CLAIM_PREFIX",
    "PREFIX",
    "Claim",
    "ClaimSpec",
    "PutBackSpec",
    "ReleaseSpec",
    "RequestSpec",
    "alive_markers",
    "claims",
    "end_of_run",
    "mark_alive",
    "pending",
    "perform",
    "request",
    "restart",
    "until_quiet",
    "wait_settled",
]
