"""Runner ``pcmk``: cluster-wide actions through the bootstrap minion.

The bootstrap minion is found, never hard-coded: pillar
``pcmk:bootstrap_minion`` when that minion answers, else the minion of the
cluster's DC, else of the lowest-id online node; a minion that does not
answer is skipped. ``pcmk.controllers`` in the master config (default ``*``)
targets the controllers.
"""

import logging

import salt.client
from salt.exceptions import CommandExecutionError

from saltext.pcmk.utils import saltglue
from saltext.pcmk.utils.cluster import bootstrap
from saltext.pcmk.utils.errors import PcmkError
from saltext.pcmk.utils.membership import converge as membership
from saltext.pcmk.utils.membership import formation, keystore
from saltext.pcmk.utils.restarts import until_quiet

log = logging.getLogger(__name__)

__virtualname__ = "pcmk"


def __virtual__():
    return __virtualname__


def _client():
    return salt.client.get_local_client(mopts=__opts__)


def _target(tgt, tgt_type):
    return tgt or __opts__.get("pcmk.controllers", "*"), tgt_type or __opts__.get("pcmk.controllers_type", "glob")


def _answers(ret):
    """Only real answers: Salt returns error strings for failed calls and omits silent minions."""
    return {
        minion: value
        for minion, value in ret.items()
        if value is not None and not (isinstance(value, str) and value.startswith(("ERROR", "Minion did not return")))
    }


def _discovery_timeout(timeout=None):
    return timeout or __opts__.get("pcmk.discovery_timeout", 30)


# One job asks every controller its node name, the cluster status and the pillar override.
_DISCOVERY = ["pcmk.node_name", "pcmk.status", "pillar.get"]
_DISCOVERY_ARGS = [[], [], ["pcmk:bootstrap_minion", {"unmask": True, "__kwarg__": True}]]


def _multi_returns(answer):
    """``{function: return}`` of one minion's answer to the discovery job (ordered or not)."""
    value = answer.get("ret") if isinstance(answer, dict) else None
    if isinstance(value, list) and len(value) == len(_DISCOVERY):  # multifunc_ordered: True
        value = dict(zip(_DISCOVERY, value))
    if not isinstance(value, dict):
        return {}
    # A function that raised is returned as its traceback, not as "ERROR: ...".
    return {
        fun: ret
        for fun, ret in _answers(value).items()
        if not (isinstance(ret, str) and ret.startswith("Traceback (most recent call last)"))
    }


def _discover(tgt, tgt_type, timeout, exclude=()):
    """``(node, status, pillar override)`` per minion, from the controllers that answer.

    Returns as soon as every online member's minion (and the override
    minion, once named) has answered: a controller whose node is not an
    online member cannot be chosen, so its silence is not waited for;
    ``timeout`` bounds the wait when a member's own minion is silent. The
    membership comes from quorate answers of minions not in ``exclude`` (one
    that just failed may be on a node that lost the cluster); an excluded
    minion that answers still accounts for its node.
    """
    names, statuses, overrides = {}, {}, {}
    returns = _client().cmd_iter(tgt, _DISCOVERY, arg=_DISCOVERY_ARGS, tgt_type=tgt_type, timeout=timeout)
    try:
        for ret in returns:
            for minion, answer in (ret or {}).items():
                values = _multi_returns(answer)
                if isinstance(values.get("pcmk.node_name"), str):
                    names[minion] = values["pcmk.node_name"]  # an excluded minion's node is accounted for
                if minion in exclude:
                    continue
                if isinstance(values.get("pcmk.status"), dict):
                    statuses[minion] = values["pcmk.status"]
                if values.get("pillar.get"):
                    overrides[minion] = values["pillar.get"]
            override = next((overrides[m] for m in sorted(overrides)), None)
            node_to_minion = {node: minion for minion, node in names.items()}
            if not bootstrap.waiting_for(statuses.values(), node_to_minion, override=override):
                break
    finally:
        returns.close()
    return names, statuses, overrides


def _bootstrap(tgt, tgt_type, timeout, exclude=()):
    """The bootstrap minion among the controllers that answer, leaving out ``exclude``."""
    names, statuses, overrides = _discover(tgt, tgt_type, timeout, exclude)
    names = {minion: node for minion, node in names.items() if minion not in exclude}
    override = next((overrides[m] for m in sorted(overrides) if m in names), None)
    if not names:
        raise CommandExecutionError(
            f"no controller answered pcmk.node_name (target {tgt!r}"
            + (f", leaving out {', '.join(sorted(exclude))})" if exclude else ")")
        )
    # A quorate view of the cluster first (a node that lost it sees itself alone).
    ordered = sorted(statuses, key=lambda m: (not statuses[m].get("quorum"), m not in names, m))
    status = statuses[ordered[0]] if ordered else None
    if status is None:
        raise CommandExecutionError("no controller could read the cluster status")
    try:
        return bootstrap.choose_minion(
            status["nodes"], {node: minion for minion, node in names.items()}, override=override
        )
    except PcmkError as exc:
        raise CommandExecutionError(str(exc)) from exc


def bootstrap_minion(tgt=None, tgt_type=None, timeout=None):
    """
    The minion that acts for the cluster. ``timeout`` (default: master option
    ``pcmk.discovery_timeout``, 30) bounds each question to the controllers.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.bootstrap_minion
    """
    return _bootstrap(*_target(tgt, tgt_type), _discovery_timeout(timeout))


def _call(minion, fun, kwarg, call_timeout):
    """``fun`` on ``minion``: its return, or raise saying why there is none."""
    ret = _client().cmd(minion, fun, kwarg=kwarg, timeout=call_timeout, full_return=True)
    answer = ret.get(minion)
    if not answer:
        raise CommandExecutionError(f"{minion} did not answer {fun} within {call_timeout}s")
    if answer.get("retcode", 0) != 0:
        raise CommandExecutionError(f"{fun} failed on {minion}: {answer.get('ret')}")
    return answer.get("ret")


def _on_bootstrap(fun, kwarg, tgt, tgt_type, call_timeout, *, minion=None, failover=False, exclude=()):
    """Run ``fun`` on the bootstrap minion: ``(minion, return, failed attempts)``.

    With ``failover``, a minion whose call fails is left out and the call goes
    to the next bootstrap minion; only for functions that are safe to run
    again after a failure (``restart_pending``: its claims make a second run
    finish, not repeat, the first).
    """
    tgt, tgt_type = _target(tgt, tgt_type)
    failed = []
    while True:
        if minion is None:
            try:
                minion = _bootstrap(
                    tgt, tgt_type, _discovery_timeout(), exclude=[*exclude, *(f["minion"] for f in failed)]
                )
            except CommandExecutionError as exc:
                if not failed:
                    raise
                raise CommandExecutionError(f"{fun} failed on every controller tried ({failed}); {exc}") from exc
        try:
            return minion, _call(minion, fun, kwarg, call_timeout), failed
        except CommandExecutionError as exc:
            if not failover:
                raise
            log.warning("%s; trying the next bootstrap minion", exc)
            failed.append({"minion": minion, "error": str(exc)})
            minion = None


def restart(resource, timeout=300, tgt=None, tgt_type=None):
    """
    Restart a resource once, from the bootstrap minion; waits (at most
    ``timeout`` seconds) and reports where it stopped and started and how long.
    If that minion fails midway (its node left the cluster), the next
    bootstrap minion recovers the resource (restores its ``target-role``) and
    the runner reports the failure with what the recovery did.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.restart haproxy-clone
    """
    tgt, tgt_type = _target(tgt, tgt_type)
    minion = _bootstrap(tgt, tgt_type, _discovery_timeout())
    try:
        result = _call(minion, "pcmk.restart", {"resource_id": resource, "timeout": timeout}, timeout * 2 + 60)
    except CommandExecutionError as exc:
        try:
            other, recovery, _ = _on_bootstrap(
                "pcmk.restart_pending",
                {"timeout": timeout, "resources": [resource]},
                tgt,
                tgt_type,
                timeout * 3 + 60,
                failover=True,
                exclude=[minion],
            )
        except CommandExecutionError as again:
            raise CommandExecutionError(f"{exc}; recovering on another controller failed too: {again}") from exc
        raise CommandExecutionError(
            f"{exc}; recovered by {other}: {recovery.get(resource, 'nothing to recover')}"
        ) from exc
    return {"minion": minion, **result}


def restart_pending(timeout=300, tgt=None, tgt_type=None):
    """
    Perform every pending restart request recorded in the CIB, once per
    resource, from the bootstrap minion; then the requests are cleared. Safe
    to run twice, and when the bootstrap minion changed in between. When the
    bootstrap minion fails midway, the next one takes over: it recovers what
    the first left (restores ``target-role``, puts requests back) and
    performs the restarts; the return lists the failed attempt.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.restart_pending
    """
    minion, result, failed = _on_bootstrap(
        "pcmk.restart_pending", {"timeout": timeout}, tgt, tgt_type, timeout * 3 + 60, failover=True
    )
    broken = {rsc: r for rsc, r in (result or {}).items() if r.get("result") == "failed"}
    if broken:
        raise CommandExecutionError(
            f"restarts failed on {minion} (requests kept pending): {broken}"
            + (f"; earlier attempts: {failed}" if failed else "")
        )
    return {"minion": minion, "restarts": result, **({"failed_attempts": failed} if failed else {})}


def export(path=None, secret_params=None, tgt=None, tgt_type=None, timeout=120):
    """
    The cluster's configuration as an SLS of ``pcmk.*`` states (see the
    execution function ``pcmk.export``), read through the bootstrap minion;
    with ``path``, written on the master (a file_roots path, say) and
    ``{minion, path, states}`` returned.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.export path=/srv/salt/cluster/init.sls
    """
    kwarg = {"secret_params": secret_params} if secret_params else {}
    minion, text, _ = _on_bootstrap("pcmk.export", kwarg, tgt, tgt_type, timeout)
    if path is None:
        return text
    try:
        saltglue.write_file(path, text, mode=0o644)
    except PcmkError as exc:
        raise CommandExecutionError(str(exc)) from exc
    return {
        "minion": minion,
        "path": path,
        "states": sum(1 for line in text.splitlines() if line.startswith("  pcmk.")),
    }


def status(tgt=None, tgt_type=None, timeout=30):
    """
    Cluster status read through one controller (the bootstrap minion).

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.status --out=json
    """
    minion, result, _ = _on_bootstrap("pcmk.status", {}, tgt, tgt_type, timeout)
    return {"minion": minion, **result}


def restart_when_quiet(quiet=10, timeout=300, tgt=None, tgt_type=None):
    """
    Wait until no new restart request has appeared for ``quiet`` seconds, then
    perform the pending restarts (the reactor's entry point). Several of these
    running at once, one per controller's event, still give one restart per
    resource: performing claims the requests atomically.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.restart_when_quiet quiet=15
    """
    tgt, tgt_type = _target(tgt, tgt_type)
    asked = {"minion": None}

    def read():
        # One discovery, then ask that minion; discover again only when it stops answering.
        while True:
            try:
                asked["minion"], current, _ = _on_bootstrap(
                    "pcmk.pending_restarts", {}, tgt, tgt_type, 60, minion=asked["minion"]
                )
                return current
            except CommandExecutionError as exc:
                if asked["minion"] is None:
                    raise
                log.warning("%s; asking the next bootstrap minion", exc)
                asked["minion"] = None

    last = until_quiet(read, quiet=quiet, timeout=timeout)
    if not last:
        return {"restarts": {}, "comment": "nothing pending"}
    return restart_pending(timeout=timeout, tgt=tgt, tgt_type=tgt_type)


def cluster_check(tgt=None, tgt_type=None, timeout=None):
    """
    Refuse to go on unless every controller declares the same cluster: the
    same corosync.conf and the same Corosync and Pacemaker authkeys, compared
    by fingerprint (``pcmk.cluster_digest``; no key leaves a minion), and
    unless the declared cluster name and transport are the ones every
    controller that runs Corosync runs with (a controller whose Corosync is
    stopped is not renamed away from the others). A
    controller that does not answer, or whose pillar ``pcmk:cluster`` is
    refused, is named. ``orch.pcmk.cluster`` runs it before any controller
    is touched.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.cluster_check
    """
    tgt, tgt_type = _target(tgt, tgt_type)
    client = _client()
    # pcmk.cluster_digest compiles each controller's pillar afresh: what its states will see.
    ret = client.cmd(tgt, "pcmk.cluster_digest", tgt_type=tgt_type, timeout=_discovery_timeout(timeout))
    if not ret:
        raise CommandExecutionError(f"no controller answered pcmk.cluster_digest (target {tgt!r})")
    failed = {m: v for m, v in ret.items() if not isinstance(v, dict)}
    if failed:
        raise CommandExecutionError(
            "pcmk:cluster refused on " + "; ".join(f"{m}: {str(v).strip()}" for m, v in sorted(failed.items()))
        )
    problems = membership.disagreements(ret) + membership.running_conflicts(ret)
    if problems:
        raise CommandExecutionError("controllers disagree, nothing changed: " + "; ".join(problems))
    agreed = {k: v for k, v in next(iter(ret.values())).items() if k in membership.AGREED or k == "declared"}
    return {"controllers": sorted(ret), "agreed": agreed, "running": sorted(m for m, v in ret.items() if v["running"])}


def cluster_keys(name, keydir=None):
    """
    Make the Corosync and Pacemaker authkeys of cluster ``name`` on the master,
    once (``<pki_dir>/pcmk/<name>/``, root 0400 in a 0700 directory), for the
    ``pcmk_cluster_keys`` ext_pillar to serve to the cluster's nodes. Keys
    that exist are kept, never replaced. Returns each key's fingerprint and
    whether this call made it; never the key.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.cluster_keys name=openstack
    """
    directory = keydir or keystore.default_keydir(__opts__)
    try:
        made = keystore.ensure(directory, name)
    except PcmkError as exc:
        raise CommandExecutionError(str(exc)) from exc
    return {"cluster": name, "keydir": directory, "keys": made}


def corosync_reload(tgt=None, tgt_type=None, timeout=120):
    """
    Reload Corosync's configuration once, cluster-wide, after every controller
    has its new corosync.conf (``orch.pcmk.cluster`` runs it between writing
    the files and starting new nodes). The controllers are asked first
    (``pcmk.corosync_reload test=True``); when none runs Corosync, or none
    has a file that differs from what Corosync runs with (its node list, a
    ``totem`` or ``quorum`` setting such as ``totem.token``), nothing is done.
    Otherwise the bootstrap minion runs ``corosync-cfgtool -R`` (if it fails,
    the next one), once.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.corosync_reload
    """
    tgt, tgt_type = _target(tgt, tgt_type)
    plans = _answers(
        _client().cmd(
            tgt, "pcmk.corosync_reload", kwarg={"test": True}, tgt_type=tgt_type, timeout=_discovery_timeout()
        )
    )
    failed = {m: v for m, v in plans.items() if not isinstance(v, dict)}
    if failed:
        raise CommandExecutionError(
            "pcmk.corosync_reload failed on " + "; ".join(f"{m}: {v}" for m, v in sorted(failed.items()))
        )
    running = {m: p for m, p in plans.items() if p["running"]}
    pending = {m: p for m, p in running.items() if formation.reload_needed(p)}
    if not pending:
        reason = "no controller runs Corosync" if not running else "every corosync.conf is what Corosync runs with"
        return {"reloaded": False, "minion": None, "comment": reason}
    minion, result, failures = _on_bootstrap(
        "pcmk.corosync_reload", {}, tgt, tgt_type, timeout, failover=True, exclude=sorted(set(plans) - set(running))
    )
    return {"reloaded": result["reloaded"], "minion": minion, "plan": result, "failed": failures}
