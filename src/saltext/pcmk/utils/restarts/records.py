"""What the CIB records about restarts, and the specs that change it.

Requests (``saltext-restart-<resource>``) and claims
(``saltext-restarting-<resource>``) are permanent attributes of cluster
nodes; the liveness nonce (``saltext-alive``) is a private attribute attrd
keeps. Readers (:func:`pending`, :func:`claims`, :func:`alive_markers`) and
specs (:class:`RequestSpec`, :class:`ClaimSpec`, :class:`ReleaseSpec`,
:class:`PutBackSpec`) work on them; :mod:`.performer` decides when.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree

from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.cib.specs import ResourceMetaSpec
from saltext.pcmk.utils.errors import NotFound

if TYPE_CHECKING:
    from lxml.etree import _Element

    from saltext.pcmk.utils.cib.document import Cib
    from saltext.pcmk.utils.cib.session import ApplyContext
    from saltext.pcmk.utils.cluster.status import ClusterStatus
    from saltext.pcmk.utils.tools import ToolRunner

PREFIX = "saltext-restart-"
CLAIM_PREFIX = "saltext-restarting-"
ALIVE_ATTR = "saltext-alive"
# A new nonce reaches the other nodes' attrd within milliseconds; a claim
# younger than this is never judged by its nonce.
ALIVE_GRACE = 10


def _find_node(cib: Cib, name: str) -> _Element | None:
    return next(iter(cib.root.xpath("configuration/nodes/node[@uname=$n]", n=name)), None)


def _node(cib: Cib, name: str) -> _Element:
    node = _find_node(cib, name)
    if node is None:
        raise NotFound(f"restart request: node {name!r} is not in the cluster")
    return node


def _set_node_attr(cib: Cib, node_name: str, name: str, value: str) -> None:
    node = _node(cib, node_name)
    nvset = nvsets.plain_set(node, "instance_attributes")
    if nvset is None:
        nvset = etree.SubElement(node, "instance_attributes", id=cib.unique_id(f"nodes-{node.get('id')}"))
    nvsets.set_value(cib, nvset, name, value)


def _clear_node_attr(cib: Cib, node_name: str, name: str, expect: str | None) -> bool:
    """Remove ``name`` from the node when it still holds ``expect``; whether it did."""
    node = _node(cib, node_name)
    nvset = nvsets.plain_set(node, "instance_attributes")
    if nvset is None:
        return False
    removed = False
    for nvpair in nvset.xpath("nvpair[@name=$n]", n=name):
        if nvpair.get("value") == expect:
            nvset.remove(nvpair)
            removed = True
    if len(nvset) == 0:
        node.remove(nvset)
    return removed


def _node_attrs(cib: Cib, prefix: str) -> dict[str, dict[str, str]]:
    """``{suffix: {node: value}}`` of the node attributes named ``prefix<suffix>``."""
    found: dict[str, dict[str, str]] = {}
    for node in cib.root.iterfind("configuration/nodes/node"):
        for nvpair in node.xpath("instance_attributes[not(rule)]/nvpair[starts-with(@name, $p)]", p=prefix):
            found.setdefault(nvpair.get("name")[len(prefix) :], {})[node.get("uname")] = nvpair.get("value")
    return found


def pending(cib: Cib) -> dict[str, dict[str, str]]:
    """``{resource: {node: token}}`` of every request recorded in the CIB."""
    return _node_attrs(cib, PREFIX)


class _NodeAttrSpec:
    """Specs on node attributes: no references to resources, no secrets."""

    def references(self) -> list[str]:
        return []

    def secrets(self, ctx: ApplyContext) -> dict[str, set[str]]:
        return {}


@dataclass
class RequestSpec(_NodeAttrSpec):
    """Set (``token``) or compare-and-clear (``expect``) one node's request."""

    node: str
    resource: str
    token: str | None = None
    expect: str | None = None

    def apply(self, cib: Cib, ctx: ApplyContext) -> None:
        if self.token is not None:
            _set_node_attr(cib, self.node, f"{PREFIX}{self.resource}", self.token)
        else:
            _clear_node_attr(cib, self.node, f"{PREFIX}{self.resource}", self.expect)


@dataclass(frozen=True)
class Claim:
    """A restart in progress, as recorded on the performer's node."""

    resource: str
    owner: str  # the performer's node
    minion: str | None
    role: str | None  # target-role to restore afterwards
    requests: dict[str, str] = field(default_factory=dict)  # {node: token} this restart performs
    until: int = 0  # unix time after which the claim counts as abandoned
    alive: str | None = None  # the owner's saltext-alive nonce when it claimed
    since: int = 0  # unix time of the claim

    @property
    def value(self) -> str:
        data = {"minion": self.minion, "role": self.role, "requests": self.requests, "until": self.until}
        if self.alive:
            data.update(alive=self.alive, since=self.since)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def parse(cls, resource: str, owner: str, value: str) -> Claim:
        try:
            data = json.loads(value)
            return cls(
                resource,
                owner,
                data.get("minion"),
                data.get("role"),
                dict(data.get("requests") or {}),
                int(data.get("until") or 0),
                data.get("alive"),
                int(data.get("since") or 0),
            )
        except (ValueError, TypeError, AttributeError):
            # Unreadable: treat as abandoned at once, with nothing to put back.
            return cls(resource, owner, None, None, {}, 0)

    def describe(self) -> str:
        return f"node {self.owner}" + (f" (minion {self.minion})" if self.minion else "")

    def abandoned(
        self, status: ClusterStatus, now: float | None = None, markers: Mapping[str | None, str | None] | None = None
    ) -> bool:
        """Its performer can no longer end it: its node is not an online member, its time is up,
        or its node left the cluster since the claim (``markers``, ``{node: nonce}`` from attrd,
        no longer holds the claim's nonce; None: not known, as on a CIB file).
        """
        now = time.time() if now is None else now
        if self.owner not in {n.name for n in status.members()} or now > self.until:
            return True
        return (
            self.alive is not None
            and markers is not None
            and markers.get(self.owner) != self.alive
            and now - self.since > ALIVE_GRACE
        )


def claims(cib: Cib) -> dict[str, list[Claim]]:
    """``{resource: [Claim]}`` of every restart in progress."""
    return {
        resource: [Claim.parse(resource, node, value) for node, value in sorted(by_node.items())]
        for resource, by_node in _node_attrs(cib, CLAIM_PREFIX).items()
    }


def _put_back(cib: Cib, resource: str, requests: Mapping[str, str]) -> None:
    """Record ``requests`` again, except where a node has recorded a newer one meanwhile."""
    current = pending(cib).get(resource, {})
    for node, token in sorted(requests.items()):
        if node not in current and _find_node(cib, node) is not None:
            _set_node_attr(cib, node, f"{PREFIX}{resource}", token)


def alive_markers(runner: ToolRunner) -> dict[str | None, str | None] | None:
    """``{node: nonce}`` of the liveness nonces attrd holds; None on a CIB file (no attrd)."""
    if runner.offline:
        return None
    proc = runner.run(["attrd_updater", "--name", ALIVE_ATTR, "--query", "--all", "--output-as=xml"], ok_codes=(0, 78))
    if proc.returncode == 78:  # no node holds it yet
        return {}
    return {
        a.get("host"): a.get("value") for a in cibmod.parse(proc.stdout, "attrd_updater's output").iter("attribute")
    }


def mark_alive(runner: ToolRunner, node: str) -> str | None:
    """``node``'s liveness nonce (this node's), set when it holds none; None on a CIB file.

    Kept, not renewed: every claim this node makes during its membership
    carries the same nonce, so a second performer on the node never voids
    the first one's claim.
    """
    markers = alive_markers(runner)
    if markers is None:
        return None
    if markers.get(node):
        return markers[node]
    nonce = f"{time.time_ns():x}"
    runner.run(["attrd_updater", "--name", ALIVE_ATTR, "--update", nonce, "--private"])
    # Read back: of two performers setting it at once, the value attrd kept wins (it may lag by a message).
    return (alive_markers(runner) or {}).get(node) or nonce


@dataclass
class ClaimSpec(_NodeAttrSpec):
    """Take the requests still as seen and record the claim, unless a restart is in progress.

    ``claimed`` is the claim as written (None: nothing claimed); it is set by
    each application, so after a retried write it describes the CIB written.
    """

    resource: str
    owner: str
    minion: str | None
    seen: dict[str, str]
    until: int
    alive: str | None = None
    claimed: Claim | None = field(default=None, init=False, compare=False)

    def apply(self, cib: Cib, ctx: ApplyContext) -> None:
        self.claimed = None
        element = cib.resource(self.resource)
        if element is None or claims(cib).get(self.resource):
            return
        current = pending(cib).get(self.resource, {})
        taken = {node: token for node, token in self.seen.items() if current.get(node) == token}
        if self.seen and not taken:
            return
        role = nvsets.values(element, "meta_attributes").get("target-role")
        claim = Claim(
            self.resource,
            self.owner,
            self.minion,
            role,
            taken,
            self.until,
            self.alive,
            int(time.time()) if self.alive else 0,
        )
        for node, token in taken.items():
            _clear_node_attr(cib, node, f"{PREFIX}{self.resource}", token)
        _set_node_attr(cib, self.owner, f"{CLAIM_PREFIX}{self.resource}", claim.value)
        self.claimed = claim


@dataclass
class ReleaseSpec(_NodeAttrSpec):
    """End a claim: remove it, restore ``target-role``, and on failure put its requests back.

    Does nothing once the claim is gone (someone else recovered it), so a late
    performer never undoes the work of the one that took over.
    """

    claim: Claim
    put_back: bool = False

    def apply(self, cib: Cib, ctx: ApplyContext) -> None:
        claim = self.claim
        if not _clear_node_attr(cib, claim.owner, f"{CLAIM_PREFIX}{claim.resource}", claim.value):
            return
        if cib.resource(claim.resource) is not None:
            ResourceMetaSpec(claim.resource, "target-role", claim.role).apply(cib, ctx)
        if self.put_back:
            _put_back(cib, claim.resource, claim.requests)


@dataclass
class PutBackSpec(_NodeAttrSpec):
    resource: str
    requests: dict[str, str]

    def apply(self, cib: Cib, ctx: ApplyContext) -> None:
        _put_back(cib, self.resource, self.requests)
