"""What the ``pcmk.corosync_conf``, ``pcmk.authkey`` and ``pcmk.cluster_running`` states do, without Salt.

Each ``plan_*`` function decides everything (and raises the refusals) before
anything is touched; the ``apply_*`` functions then write. A state run with
``test=True`` stops after the plan, so it predicts every refusal.
"""

from __future__ import annotations

import dataclasses
import difflib
import grp
import os
import pwd
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from saltext.pcmk.utils.errors import PcmkError, SpecError
from saltext.pcmk.utils.membership import corosync_conf, formation, keys

COROSYNC_CONF = "/etc/corosync/corosync.conf"


# -- corosync.conf -------------------------------------------------------------------------------------------
@dataclass
class ConfPlan:
    path: str
    old: str | None
    new: str
    corosync_running: bool

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                (self.old or "").splitlines(keepends=True),
                self.new.splitlines(keepends=True),
                fromfile=self.path if self.old is not None else "/dev/null",
                tofile=self.path,
            )
        )


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return ""


def absolute_path(path, what):
    """Refuse a relative path (a state's id taken as its name would write into the minion's cwd)."""
    if not isinstance(path, str) or not os.path.isabs(path):
        raise SpecError(f"{what} must be an absolute path, got {path!r}")
    return path


def plan_conf(spec, minion_id, runner, *, path=COROSYNC_CONF, check=True) -> ConfPlan:
    """The corosync.conf ``spec`` renders, checked against the running cluster (refusals raise SpecError)."""
    spec.node_of_minion(minion_id)
    new = corosync_conf.render(spec)
    old = _read_text(path)
    cmap = formation.running_cmap(runner)
    plan = ConfPlan(path, old, new, cmap is not None)
    if not plan.changed:
        return plan
    if cmap is not None:
        problems = corosync_conf.refusals(
            spec,
            corosync_conf.identity_from_cmap(cmap),
            corosync_conf.joined_members(cmap),
            quorate=formation.running_quorate(runner),
        )
        if problems:
            raise SpecError("refused, nothing written: " + "; ".join(problems))
    if check:
        formation.test_config(runner, new, spec.corosync_authkey)
    return plan


def apply_conf(plan: ConfPlan, write_file: Callable) -> None:
    write_file(plan.path, plan.new, mode=0o644)


# -- authkeys ----------------------------------------------------------------------------------------------------
@dataclass
class KeyPlan:
    keyfile: keys.KeyFile
    key: bytes
    uid: int
    gid: int
    differences: tuple[str, ...]

    @property
    def report(self) -> str:
        if self.differences == ("created",):
            return "authkey: created"
        parts = ["changed" if d == "content" else d for d in self.differences]
        return "authkey: " + ", ".join(parts)


def _ids(keyfile):
    try:
        uid = pwd.getpwnam(keyfile.user).pw_uid
        gid = grp.getgrnam(keyfile.group).gr_gid
    except KeyError:
        raise SpecError(
            f"{keyfile.path}: user {keyfile.user} or group {keyfile.group} does not exist "
            f"(install {'pacemaker' if keyfile.kind == 'pacemaker' else 'corosync'})"
        ) from None
    return uid, gid


def keyfiles(corosync_path=None, pacemaker_path=None) -> dict[str, keys.KeyFile]:
    """The two key files, at their standard paths unless given others."""
    return {
        "corosync": dataclasses.replace(keys.COROSYNC_KEY, path=corosync_path or keys.COROSYNC_KEY.path),
        "pacemaker": dataclasses.replace(keys.PACEMAKER_KEY, path=pacemaker_path or keys.PACEMAKER_KEY.path),
    }


def plan_keys(spec, minion_id, runner, keyfiles: Mapping[str, keys.KeyFile] | None = None) -> list[KeyPlan]:
    """The key files that differ from the declared keys; refuses a new Corosync key under a running Corosync,
    and any key to a minion that is not one of the cluster's nodes."""
    spec.node_of_minion(minion_id)
    keyfiles = keyfiles or {"corosync": keys.COROSYNC_KEY, "pacemaker": keys.PACEMAKER_KEY}
    for kind, keyfile in keyfiles.items():
        absolute_path(keyfile.path, f"the {kind} authkey path")
    plans = []
    for kind, key in (("corosync", spec.corosync_authkey), ("pacemaker", spec.pacemaker_authkey)):
        if key is None:
            continue
        keyfile = keyfiles[kind]
        uid, gid = _ids(keyfile)
        state = keys.inspect(keyfile, key, uid, gid)
        if state.differences:
            plans.append(KeyPlan(keyfile, key, uid, gid, state.differences))
    for plan in plans:
        if (
            plan.keyfile.kind == "corosync"
            and "content" in plan.differences
            and formation.running_cmap(runner) is not None
        ):
            raise SpecError(
                f"refused, nothing written: pcmk:cluster:authkeys:corosync differs from {plan.keyfile.path}, "
                f"the key the running Corosync uses ({keys.fingerprint(keys.read(plan.keyfile.path))} here, "
                f"{keys.fingerprint(plan.key)} declared): a node with another key leaves the membership; "
                "controllers must agree on one key"
            )
    return plans


def apply_keys(plans) -> None:
    for plan in plans:
        keys.write(plan.keyfile, plan.key, plan.uid, plan.gid)


# -- running ---------------------------------------------------------------------------------------------------------
SERVICES = ("corosync", "pacemaker")


@dataclass
class RunPlan:
    start: list[str]
    enable: list[str]


def plan_running(spec, minion_id, native: Mapping[str, Callable], *, enable=True, path=COROSYNC_CONF) -> RunPlan:
    spec.node_of_minion(minion_id)
    absolute_path(path, "conf (where corosync.conf is)")
    if not os.path.exists(path):
        raise SpecError(f"{path} does not exist: apply pcmk.corosync_conf before pcmk.cluster_running")
    start = [s for s in SERVICES if not native["status"](s)]
    want_enabled = [s for s in SERVICES if enable and not native["enabled"](s)]
    return RunPlan(start, want_enabled)


def apply_running(plan: RunPlan, native, spec, runner, *, timeout=None) -> formation.Formed:
    for service in plan.enable:
        if not native["enable"](service):
            raise PcmkError(f"service {service} could not be enabled (service.enable returned False)")
    for service in plan.start:
        if not native["start"](service):
            raise PcmkError(f"service {service} did not start (service.start returned False)")
    return formation.wait_formed(spec, runner, timeout=spec.timeout if timeout is None else timeout)


def plan_stopped(native: Mapping[str, Callable]) -> RunPlan:
    """What runs (and is enabled) of Pacemaker and Corosync on a node that leaves the cluster."""
    return RunPlan([s for s in SERVICES if native["status"](s)], [s for s in SERVICES if native["enabled"](s)])


def apply_stopped(plan: RunPlan, native) -> None:
    """Pacemaker first (its resources move away), then Corosync; both disabled at boot."""
    for service in reversed(SERVICES):
        if service in plan.start and not native["stop"](service):
            raise PcmkError(f"service {service} did not stop (service.stop returned False)")
    for service in plan.enable:
        if not native["disable"](service):
            raise PcmkError(f"service {service} could not be disabled (service.disable returned False)")


# -- comparing controllers ---------------------------------------------------------------------------------------------
AGREED = ("corosync_conf", "corosync_authkey", "pacemaker_authkey")


def digest(spec, running: corosync_conf.Identity | None = None) -> dict:
    """What controllers must agree on, keys as fingerprints only (``pcmk.cluster_digest``); with
    what the cluster declares and, where Corosync runs, what it runs as (name and transport)."""
    return {
        "corosync_conf": keys.fingerprint(corosync_conf.render(spec).encode()),
        "corosync_authkey": keys.fingerprint(spec.corosync_authkey),
        "pacemaker_authkey": keys.fingerprint(spec.pacemaker_authkey),
        "declared": {"name": spec.name, "transport": spec.transport},
        "running": None if running is None else {"name": running.cluster_name, "transport": running.transport},
    }


def running_identity(runner) -> corosync_conf.Identity | None:
    """The name, transport and node list the Corosync running here has; None when none runs."""
    cmap = formation.running_cmap(runner)
    return None if cmap is None else corosync_conf.identity_from_cmap(cmap)


def running_conflicts(digests: Mapping[str, Mapping]) -> list[str]:
    """A name or transport declared other than the one a controller's Corosync runs with: refused
    across the cluster, so a controller whose Corosync is stopped cannot be renamed away from the
    ones still running."""
    problems = []
    for minion, values in sorted(digests.items()):
        running, declared = values.get("running"), values.get("declared") or {}
        if not running:
            continue
        for key in ("name", "transport"):
            if running.get(key) and declared.get(key) and running[key] != declared[key]:
                problems.append(
                    f"pcmk:cluster:{key} {declared[key]!r}: {minion} runs Corosync with {key} {running[key]!r} "
                    f"(not changed while any node of the cluster runs)"
                )
    return problems


def disagreements(digests: Mapping[str, Mapping[str, str]]) -> list[str]:
    """For each item controllers disagree on, which minions hold which fingerprint."""
    problems = []
    items = sorted({k for d in digests.values() for k in d if k in AGREED})
    for item in items:
        holders: dict = {}
        for minion, values in sorted(digests.items()):
            holders.setdefault(values.get(item), []).append(minion)
        if len(holders) > 1:
            shown = "; ".join(f"{', '.join(m)}: {fp}" for fp, m in sorted(holders.items(), key=lambda kv: str(kv[0])))
            problems.append(f"{item} differs between controllers ({shown})")
    return problems
