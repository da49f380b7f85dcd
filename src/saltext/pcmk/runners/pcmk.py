"""Runner ``pcmk``: cluster-wide actions through the bootstrap minion.

The bootstrap minion is found, never hard-coded: pillar
``pcmk:bootstrap_minion`` when that minion answers, else the minion of the
cluster's DC, else of the lowest-id online node; a minion that does not
answer is skipped. ``pcmk.controllers`` in the master config (default ``*``)
targets the controllers.
"""

import logging
import time

import salt.client
from salt.exceptions import CommandExecutionError

from saltext.pcmk.utils import bootstrap
from saltext.pcmk.utils.errors import PcmkError

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
    return {minion: value for minion, value in ret.items()
            if value is not None and not (isinstance(value, str) and value.startswith(("ERROR", "Minion did not return")))}


def _bootstrap(tgt, tgt_type, timeout):
    client = _client()
    names = _answers(client.cmd(tgt, "pcmk.node_name", tgt_type=tgt_type, timeout=timeout))
    if not names:
        raise CommandExecutionError(f"no controller answered pcmk.node_name (target {tgt!r})")
    overrides = _answers(client.cmd(list(names), "pillar.get", ["pcmk:bootstrap_minion"], kwarg={"unmask": True},
                                    tgt_type="list", timeout=timeout))
    override = next((v for v in overrides.values() if v), None)
    status = None
    for minion in sorted(names):
        answer = _answers(client.cmd(minion, "pcmk.status", timeout=timeout))
        if minion in answer and isinstance(answer[minion], dict):
            status = answer[minion]
            break
    if status is None:
        raise CommandExecutionError("no controller could read the cluster status")
    try:
        return bootstrap.choose_minion(status["nodes"], {node: minion for minion, node in names.items()}, override=override)
    except PcmkError as exc:
        raise CommandExecutionError(str(exc)) from exc


def bootstrap_minion(tgt=None, tgt_type=None, timeout=30):
    """
    The minion that acts for the cluster.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.bootstrap_minion
    """
    return _bootstrap(*_target(tgt, tgt_type), timeout)


def _on_bootstrap(fun, args, tgt, tgt_type, timeout, call_timeout):
    minion = _bootstrap(*_target(tgt, tgt_type), timeout)
    ret = _client().cmd(minion, fun, args, timeout=call_timeout, full_return=True)
    answer = ret.get(minion)
    if not answer:
        raise CommandExecutionError(f"bootstrap minion {minion} did not answer {fun}")
    if answer.get("retcode", 0) != 0:
        raise CommandExecutionError(f"{fun} failed on {minion}: {answer.get('ret')}")
    return minion, answer.get("ret")


def restart(resource, timeout=300, tgt=None, tgt_type=None):
    """
    Restart a resource once, from the bootstrap minion; waits (at most
    ``timeout`` seconds) and reports where it stopped and started and how long.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.restart haproxy-clone
    """
    minion, result = _on_bootstrap("pcmk.restart", [resource, f"timeout={timeout}"], tgt, tgt_type, 30, timeout * 2 + 60)
    return {"minion": minion, **result}


def restart_pending(timeout=300, tgt=None, tgt_type=None):
    """
    Perform every pending restart request recorded in the CIB, once per
    resource, from the bootstrap minion; then the requests are cleared. Safe
    to run twice, and when the bootstrap minion changed in between.

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.restart_pending
    """
    minion, result = _on_bootstrap("pcmk.restart_pending", [f"timeout={timeout}"], tgt, tgt_type, 30, timeout * 2 + 60)
    failed = {rsc: r for rsc, r in (result or {}).items() if r.get("result") == "failed"}
    if failed:
        raise CommandExecutionError(f"restarts failed on {minion} (requests kept pending): {failed}")
    return {"minion": minion, "restarts": result}


def status(tgt=None, tgt_type=None, timeout=30):
    """
    Cluster status read through one controller (the bootstrap minion).

    CLI Example:

    .. code-block:: bash

        salt-run pcmk.status --out=json
    """
    minion, result = _on_bootstrap("pcmk.status", [], tgt, tgt_type, timeout, timeout)
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
    deadline = time.monotonic() + timeout
    last, quiet_since = None, time.monotonic()
    while time.monotonic() < deadline:
        _, current = _on_bootstrap("pcmk.pending_restarts", [], tgt, tgt_type, 30, 60)
        if current != last:
            last, quiet_since = current, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            break
        time.sleep(1)
    if not last:
        return {"restarts": {}, "comment": "nothing pending"}
    return restart_pending(timeout=timeout, tgt=tgt, tgt_type=tgt_type)
