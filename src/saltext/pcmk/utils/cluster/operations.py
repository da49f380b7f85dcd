"""Operations on a live cluster built from the session's one write path.

Start and stop go through ``target-role`` written with the same
conflict-checked patch as every state, and wait with timeouts that say what
they wait for.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from saltext.pcmk.utils.cib.nvsets import values
from saltext.pcmk.utils.cib.specs import ConstraintAbsentSpec, ConstraintSpec, ResourceAbsentSpec, ResourceMetaSpec
from saltext.pcmk.utils.errors import NotFound

from . import status as statusmod

if TYPE_CHECKING:
    from lxml.etree import _Element

    from saltext.pcmk.utils.cib.session import Outcome, Session
    from saltext.pcmk.utils.tools import ToolRunner


def local_node_name(runner: ToolRunner) -> str:
    """This host's node name in the cluster.

    On an offline CIB (``CIB_file``) there is no cluster to ask; the name is
    the one Pacemaker gives a node by default, the host's ``uname -n``.
    """
    if runner.offline:
        return os.uname().nodename
    return runner.run(["crm_node", "--name"]).stdout.strip()


def _require(session: Session, resource_id: str) -> _Element:
    element = session.cib.resource(resource_id)
    if element is None:
        raise NotFound(f"resource {resource_id!r} does not exist")
    return element


def target_role(session: Session, resource_id: str) -> str | None:
    return values(_require(session, resource_id), "meta_attributes").get("target-role")


def stop(session: Session, resource_id: str, *, wait: bool = True, timeout: float = 120) -> None:
    _require(session, resource_id)
    session.converge([ResourceMetaSpec(resource_id, "target-role", "Stopped")])
    if wait and not session.runner.offline:
        statusmod.wait_stopped(session.runner, resource_id, timeout=timeout)


def start(session: Session, resource_id: str, *, wait: bool = True, timeout: float = 120) -> None:
    """Clear a stop: ``target-role`` removed, so the resource's default role applies."""
    _require(session, resource_id)
    known = statusmod.known_failures(session.runner, resource_id) if wait and not session.runner.offline else set()
    session.converge([ResourceMetaSpec(resource_id, "target-role", None)])
    if wait and not session.runner.offline:
        statusmod.wait_running(session.runner, resource_id, timeout=timeout, known=known)


def delete(
    session: Session,
    resource_id: str,
    *,
    wait: bool = True,
    timeout: float = 120,
    test: bool = False,
    kind: str | None = None,
) -> Outcome:
    """Stop (waiting) and remove a resource with the constraints naming it (``kind``: only a resource of that tag)."""
    spec = ResourceAbsentSpec(resource_id, kind=kind)
    if spec.found(session.cib) is None:
        return session.converge([], test=True)
    if not test and wait and not session.runner.offline:
        stop(session, resource_id, wait=True, timeout=timeout)
    return session.converge([spec], test=test)


def ban(session: Session, resource_id: str, node: str, *, test: bool = False) -> Outcome:
    _require(session, resource_id)
    spec = ConstraintSpec.build(
        f"cli-ban-{resource_id}-on-{node}", "location", rsc=resource_id, node=node, score="-INFINITY"
    )
    return session.converge([spec], test=test)


def clear(session: Session, resource_id: str, node: str | None = None, *, test: bool = False) -> Outcome:
    """Remove bans and preferences (``cli-ban-*``/``cli-prefer-*``) of a resource."""
    constraints = session.cib.section("constraints")
    found = []
    if constraints is not None:
        for element in constraints:
            ident = element.get("id", "")
            ours = element.get("rsc") == resource_id and ident.startswith(("cli-ban-", "cli-prefer-"))
            if ours and (node is None or element.get("node") == node):
                found.append(ident)
    return session.converge([ConstraintAbsentSpec(ident) for ident in found], test=test)


def restart_here(session: Session, resource_id: str, node: str, *, timeout: float = 120) -> dict[str, Any]:
    """Restart only ``node``'s instance of a clone: ban it here, wait, clear, wait.

    Bans are how Pacemaker itself moves instances (``crm_resource --ban``); the
    ban is always cleared, even when waiting fails.
    """
    started = time.monotonic()
    known = statusmod.known_failures(session.runner, resource_id)
    ban(session, resource_id, node)
    try:
        statusmod.wait_stopped(session.runner, resource_id, node=node, timeout=timeout)
    finally:
        session.refresh()
        clear(session, resource_id, node)
    statusmod.wait_running(session.runner, resource_id, node=node, timeout=timeout, known=known)
    return {"resource": resource_id, "node": node, "total_seconds": round(time.monotonic() - started, 2)}


def cleanup(session: Session, resource_id: str, node: str | None = None) -> None:
    """Forget failures of a resource (on ``node``) so the cluster tries again."""
    argv = ["crm_resource", "--cleanup", "--resource", resource_id]
    if node:
        argv += ["--node", node]
    session.runner.run(argv)
