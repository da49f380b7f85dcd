"""Pending restart requests recorded in the CIB, performed once cluster-wide.

A controller whose config changed records ``saltext-restart-<resource>`` as a
permanent attribute of its own cluster node (a token: time and minion). The
bootstrap minion later performs one restart per resource for every request
recorded so far. Performing *claims* the requests first by removing exactly
the tokens it saw, in one conflict-checked write: of two performers racing,
only one sees its removal change the CIB, so a resource is never restarted
twice for the same requests. If the restart fails, the tokens are put back,
so nothing is left un-restarted by mistake.
"""

import logging
import time
from dataclasses import dataclass

from lxml import etree

from . import bootstrap, nvsets, operations
from . import status as statusmod
from .errors import NotFound, PcmkError

log = logging.getLogger(__name__)

PREFIX = "saltext-restart-"


@dataclass
class RequestSpec:
    """Set (``token``) or compare-and-clear (``expect``) one node's request."""

    node: str
    resource: str
    token: str | None = None
    expect: str | None = None

    def references(self):
        return []

    def secrets(self, ctx):
        return {}

    def apply(self, cib, ctx):
        nodes = cib.root.xpath("configuration/nodes/node[@uname=$n]", n=self.node)
        if not nodes:
            raise NotFound(f"restart request: node {self.node!r} is not in the cluster")
        node = nodes[0]
        name = f"{PREFIX}{self.resource}"
        nvset = nvsets.plain_set(node, "instance_attributes")
        if self.token is not None:
            if nvset is None:
                nvset = etree.SubElement(node, "instance_attributes", id=cib.unique_id(f"nodes-{node.get('id')}"))
            nvsets.set_value(cib, nvset, name, self.token)
            return
        if nvset is None:
            return
        for nvpair in nvset.xpath("nvpair[@name=$n]", n=name):
            if nvpair.get("value") == self.expect:
                nvset.remove(nvpair)
        if len(nvset) == 0:
            node.remove(nvset)


def pending(cib):
    """``{resource: {node: token}}`` of every request recorded in the CIB."""
    found = {}
    for node in cib.root.iterfind("configuration/nodes/node"):
        for nvpair in node.xpath("instance_attributes[not(rule)]/nvpair[starts-with(@name, $p)]", p=PREFIX):
            found.setdefault(nvpair.get("name")[len(PREFIX):], {})[node.get("uname")] = nvpair.get("value")
    return found


def request(session, node, resource, minion_id):
    token = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}/{minion_id}/{time.monotonic_ns()}"
    session.converge([RequestSpec(node, resource, token=token)])
    return token


def _claim(session, resource, seen):
    outcome = session.converge([RequestSpec(node, resource, expect=token) for node, token in sorted(seen.items())])
    return outcome.changed


def perform(session, *, resources=None, timeout=300):
    """Restart each resource with pending requests once; ``{resource: result}``."""
    session.refresh()
    results = {}
    for resource, seen in sorted(pending(session.cib).items()):
        if resources is not None and resource not in resources:
            continue
        if session.cib.resource(resource) is None:
            # The resource is gone: its requests are moot.
            _claim(session, resource, seen)
            results[resource] = {"result": "dropped", "reason": "resource no longer exists", "requests": sorted(seen)}
            continue
        if not _claim(session, resource, seen):
            results[resource] = {"result": "skipped", "reason": "another minion claimed these requests"}
            continue
        try:
            done = operations.restart(session, resource, timeout=timeout)
        except PcmkError as exc:
            log.error("restart of %s failed (%s); putting its requests back", resource, exc)
            session.refresh()
            session.converge([RequestSpec(node, resource, token=token) for node, token in sorted(seen.items())])
            results[resource] = {"result": "failed", "error": str(exc), "requests": sorted(seen)}
            continue
        results[resource] = {"result": "restarted", "requests": sorted(seen), **done}
    return results


def wait_settled(session, *, settle, timeout, sleep=time.sleep):
    """Wait until no new request has appeared for ``settle`` seconds (at most ``timeout``).

    Controllers applying the same change at nearly the same time each record a
    request; waiting for quiet coalesces them into one restart.
    """
    deadline = time.monotonic() + timeout
    last = None
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        session.refresh()
        current = pending(session.cib)
        if current != last:
            last, quiet_since = current, time.monotonic()
        elif time.monotonic() - quiet_since >= settle:
            return current
        sleep(min(1.0, settle))
    return last


def end_of_run(session, node_name, *, minion_id=None, override=None, settle=10, timeout=300):
    """Restarts at the end of a highstate (no orchestration).

    The bootstrap node waits for quiet, then performs every pending request
    once. Another node waits for its own requests to be performed and, if the
    bootstrap node is not applying states right now, performs them itself:
    a config change never goes without its restart.
    """
    session.refresh()
    mine = {rsc: tokens[node_name] for rsc, tokens in pending(session.cib).items() if node_name in tokens}
    if override:  # pillar pcmk:bootstrap_minion names a minion
        acting = node_name if override == minion_id else f"minion {override}"
    else:
        acting = bootstrap.bootstrap_node(statusmod.read(session.runner))
    if acting == node_name:
        wait_settled(session, settle=settle, timeout=timeout)
        return perform(session, timeout=timeout)
    if not mine:
        return {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.refresh()
        still = {r for r, tokens in pending(session.cib).items() if tokens.get(node_name) == mine.get(r)}
        if not still:
            return {r: {"result": "restarted by the bootstrap node", "by": acting} for r in mine}
        time.sleep(1)
    return perform(session, resources=set(mine), timeout=timeout)
