"""Performing restarts: request, claim, restart (rolling for promotable clones), release; wait for quiet."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.cib.specs import ResourceMetaSpec
from saltext.pcmk.utils.cluster import bootstrap, operations
from saltext.pcmk.utils.cluster import status as statusmod
from saltext.pcmk.utils.errors import ClaimStranded, NotFound, PcmkError, RestartInProgress, SpecError, WaitTimeout

from .records import (
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

if TYPE_CHECKING:
    from saltext.pcmk.utils.cib.document import Cib
    from saltext.pcmk.utils.cib.session import Session

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# A claim outlives its restart by this much before it is taken for abandoned.
CLAIM_GRACE = 60


def request(session: Session, node: str, resource: str, minion_id: str | None) -> str:
    token = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}/{minion_id}/{time.monotonic_ns()}"
    session.converge([RequestSpec(node, resource, token=token)])
    return token


def _claim_until(session: Session, resource: str, timeout: float) -> int:
    # A restart waits at most ``timeout`` to stop and ``timeout`` to start; a
    # rolling one that long for each node, and ``timeout`` more to promote.
    rounds = 2
    if _is_promotable(session.cib, resource):
        rounds = 3 * max(len(session.cib.node_names()), 1)
    return int(time.time() + rounds * timeout + CLAIM_GRACE)


def _claim(
    session: Session, resource: str, *, node: str, minion_id: str | None, seen: dict[str, str], timeout: float
) -> Claim | None:
    """Claim ``resource`` for a restart from ``node`` taking the ``seen`` requests: the Claim, or None."""
    spec = ClaimSpec(
        resource, node, minion_id, seen, _claim_until(session, resource, timeout), mark_alive(session.runner, node)
    )
    session.converge([spec])
    return spec.claimed


def _recover(session: Session, resource: str) -> tuple[list[Claim], Claim | None]:
    """End the abandoned claims on ``resource``: ``(recovered, in_progress)`` claims."""
    found = claims(session.cib).get(resource, [])
    if not found:
        return [], None
    status = statusmod.read(session.runner)
    markers = alive_markers(session.runner)
    stale = [claim for claim in found if claim.abandoned(status, markers=markers)]
    for claim in stale:
        log.warning(
            "restart of %s by %s was abandoned; restoring target-role %s and putting back %d request(s)",
            resource,
            claim.describe(),
            claim.role or "(none)",
            len(claim.requests),
        )
        session.converge([ReleaseSpec(claim, put_back=True)])
    live = next((claim for claim in found if claim not in stale), None)
    return stale, live


def _is_promotable(cib: Cib, resource: str) -> bool:
    element = cib.resource(resource)
    return element is not None and (
        element.tag == "master"
        or (
            element.tag == "clone"
            and nvsets.same_value(nvsets.values(element, "meta_attributes").get("promotable", "false"), "true")
        )
    )


def _rolling_restart(session: Session, claim: Claim, timeout: float) -> dict[str, Any]:
    """Restart a promotable clone one node at a time, unpromoted instances first,
    each back in its role before the next goes; then end the claim.

    A database (Galera) or a replicated store (Redis) never loses all its
    instances: "once" means every instance restarted once, never two at a time.
    """
    runner, resource = session.runner, claim.resource
    current = statusmod.read(runner)
    before, promoted = current.running_on(resource), statusmod.promoted_on(current, resource)
    started, steps = time.monotonic(), []
    try:
        for node in sorted(before, key=lambda n: (n in promoted, n)):
            known = statusmod.known_failures(runner, resource)
            steps.append(operations.restart_here(session, resource, node, timeout=timeout))
            if node in promoted:
                statusmod.wait_promoted(runner, resource, node=node, timeout=timeout, known=known)
    except PcmkError:
        session.refresh()
        session.converge([ReleaseSpec(claim, put_back=True)])
        raise
    session.refresh()
    session.converge([ReleaseSpec(claim)])
    return {
        "resource": resource,
        "rolling": [s["node"] for s in steps],
        "stopped_on": before,
        "started_on": statusmod.read(runner).running_on(resource),
        "total_seconds": round(time.monotonic() - started, 2),
    }


def _restart(session: Session, claim: Claim, timeout: float) -> dict[str, Any]:
    """Restart a claimed resource; a promotable clone rolls node by node (:func:`_rolling_restart`).

    Others: stop everywhere, end the claim (restoring target-role), start where it ran; report.

    A failed stop ends the claim with its requests put back. When even that
    write fails, the claim stays for the next performer to recover, and
    :class:`ClaimStranded` says so.
    """
    if _is_promotable(session.cib, claim.resource) and claim.role != "Stopped":
        return _rolling_restart(session, claim, timeout)
    runner, resource = session.runner, claim.resource
    current = statusmod.read(runner)
    before = current.running_on(resource)
    known = statusmod.failure_keys(current, resource)
    started = time.monotonic()
    error = None
    try:
        session.converge([ResourceMetaSpec(resource, "target-role", "Stopped")])
        statusmod.wait_stopped(runner, resource, timeout=timeout)
    except PcmkError as exc:
        error = exc
    stopped_after = time.monotonic() - started
    try:
        session.refresh()
        session.converge([ReleaseSpec(claim, put_back=error is not None)])
    except PcmkError as exc:
        raise ClaimStranded(
            f"restart of {resource} {'failed (' + str(error) + ')' if error else 'stopped it'}, and this node could "
            f"not end its claim ({exc}); the next performer restores target-role "
            f"{claim.role or '(none)'} and puts back {len(claim.requests)} request(s)"
        ) from (error or exc)
    if error is not None:
        raise error
    after = []
    if claim.role != "Stopped":
        # Everywhere it ran and still can: a clone is restarted only when every instance is back.
        online = {n.name for n in statusmod.read(runner).members()}
        try:
            final = statusmod.wait_running(
                runner, resource, timeout=timeout, known=known, nodes=[n for n in before if n in online]
            )
        except PcmkError:
            if claim.requests:
                session.refresh()
                session.converge([PutBackSpec(resource, claim.requests)])
            raise
        after = final.running_on(resource)
    return {
        "resource": resource,
        "stopped_on": before,
        "started_on": after,
        "stop_seconds": round(stopped_after, 2),
        "total_seconds": round(time.monotonic() - started, 2),
    }


def restart(
    session: Session, resource: str, *, node: str, minion_id: str | None = None, timeout: float = 120
) -> dict[str, Any]:
    """Restart ``resource`` now, from ``node``: stop everywhere, start again; report where and how long.

    The restart is claimed like a pending one (and performs the requests
    pending for it), so it never overlaps another restart of the same
    resource, and a performer that dies midway never leaves it stopped.
    """
    if session.runner.offline:
        raise SpecError("restart needs a live cluster (CIB_file is set)")
    session.refresh()
    if session.cib.resource(resource) is None:
        raise NotFound(f"resource {resource!r} does not exist")
    recovered, live = _recover(session, resource)
    if live is not None:
        raise RestartInProgress(f"{resource} is being restarted by {live.describe()}; try again when it ends")
    session.refresh()
    claimed = _claim(
        session, resource, node=node, minion_id=minion_id, seen=pending(session.cib).get(resource, {}), timeout=timeout
    )
    if claimed is None:
        raise RestartInProgress(f"{resource}: another node began a restart at the same moment; try again")
    done = _restart(session, claimed, timeout)
    if recovered:
        done["recovered"] = [claim.describe() for claim in recovered]
    if claimed.requests:
        done["requests"] = sorted(claimed.requests)
    return done


def _perform_one(
    session: Session, resource: str, *, node: str, minion_id: str | None, timeout: float, poll: float
) -> dict[str, Any]:
    """One restart of ``resource`` for the requests pending now (waiting out a restart in progress)."""
    notes: dict[str, list] = {}
    waited_for = None
    deadline = time.monotonic() + 3 * timeout + CLAIM_GRACE
    while True:
        session.refresh()
        recovered, live = _recover(session, resource)
        if recovered:
            notes.setdefault("recovered", []).extend(claim.describe() for claim in recovered)
            continue
        if live is not None:
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"timed out waiting for the restart of {resource} by {live.describe()} to end")
            if waited_for is None:
                log.info("waiting for the restart of %s by %s to end", resource, live.describe())
            waited_for = live
            time.sleep(poll)
            continue
        seen = pending(session.cib).get(resource, {})
        if not seen:
            if waited_for is not None:
                return {
                    "result": "restarted by another node",
                    "by": waited_for.describe(),
                    "requests": sorted(waited_for.requests),
                    **notes,
                }
            return {"result": "recovered" if notes else "nothing pending", **notes}
        if session.cib.resource(resource) is None:
            # The resource is gone: its requests are moot.
            session.converge([RequestSpec(n, resource, expect=token) for n, token in sorted(seen.items())])
            return {"result": "dropped", "reason": "resource no longer exists", "requests": sorted(seen), **notes}
        claimed = _claim(session, resource, node=node, minion_id=minion_id, seen=seen, timeout=timeout)
        if claimed is None:
            continue  # another performer claimed first: look again
        try:
            done = _restart(session, claimed, timeout)
        except ClaimStranded:
            raise
        except PcmkError as exc:
            log.error("restart of %s failed (%s); its requests are pending again", resource, exc)
            return {"result": "failed", "error": str(exc), "requests": sorted(claimed.requests), **notes}
        return {"result": "restarted", "requests": sorted(claimed.requests), **done, **notes}


def perform(
    session: Session,
    *,
    node: str,
    minion_id: str | None = None,
    resources: Collection[str] | None = None,
    timeout: float = 300,
    poll: float = 1.0,
) -> dict[str, dict[str, Any]]:
    """Restart each resource with pending requests once, from ``node``; ``{resource: result}``.

    Abandoned claims are recovered first (their requests are performed too); a
    restart in progress elsewhere is waited for, not repeated.
    """
    session.refresh()
    wanted = set(pending(session.cib)) | set(claims(session.cib))
    return {
        resource: _perform_one(session, resource, node=node, minion_id=minion_id, timeout=timeout, poll=poll)
        for resource in sorted(wanted)
        if resources is None or resource in resources
    }


def until_quiet(
    read: Callable[[], _T],
    *,
    quiet: float,
    timeout: float,
    interval: float = 1.0,
    sleep: Callable[[float], object] = time.sleep,
) -> _T:
    """Call ``read()`` until its value has not changed for ``quiet`` seconds (at most ``timeout``).

    Returns the last value read. Controllers applying the same change at nearly
    the same time each record a request; waiting for quiet coalesces them into
    one restart. The performer and the runner's reactor entry point both wait
    this way.
    """
    deadline = time.monotonic() + timeout
    last = read()
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        if time.monotonic() - quiet_since >= quiet:
            break
        sleep(min(interval, quiet) if quiet > 0 else 0)
        current = read()
        if current != last:
            last, quiet_since = current, time.monotonic()
    return last


def wait_settled(
    session: Session, *, settle: float, timeout: float, sleep: Callable[[float], object] = time.sleep
) -> dict[str, dict[str, str]]:
    """Wait until no new request has appeared in the CIB for ``settle`` seconds (at most ``timeout``)."""

    def read() -> dict[str, dict[str, str]]:
        session.refresh()
        return pending(session.cib)

    return until_quiet(read, quiet=settle, timeout=timeout, sleep=sleep)


def _awaiting(cib: Cib, node_name: str, mine: Mapping[str, str]) -> set[str]:
    """Which of ``mine`` (``{resource: token}``) are still pending or being performed."""
    current, running = pending(cib), claims(cib)
    return {
        rsc
        for rsc, token in mine.items()
        if current.get(rsc, {}).get(node_name) == token
        or any(claim.requests.get(node_name) == token for claim in running.get(rsc, []))
    }


def end_of_run(
    session: Session,
    node_name: str,
    *,
    minion_id: str | None = None,
    override: str | None = None,
    settle: float = 10,
    timeout: float = 300,
) -> dict[str, dict[str, Any]]:
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
        return perform(session, node=node_name, minion_id=minion_id, timeout=timeout)
    if not mine:
        return {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.refresh()
        if not _awaiting(session.cib, node_name, mine):
            return {r: {"result": "restarted by the bootstrap node", "by": acting} for r in mine}
        time.sleep(1)
    return perform(session, node=node_name, minion_id=minion_id, resources=set(mine), timeout=timeout)
