"""A running Corosync and Pacemaker, asked rather than guessed: cmap, votequorum, crm_mon.

:func:`running_cmap` reads Corosync's configuration map (``corosync-cmapctl``)
or says Corosync does not run; :func:`wait_formed` waits for the declared
nodes to be Corosync members, for quorum, for every node online in
Pacemaker and for a DC, and on timeout names the one of these that did not
come (and which nodes it lacked).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass

from saltext.pcmk.utils.cluster import status as cluster_status
from saltext.pcmk.utils.errors import PcmkError, SpecError, ToolError, ToolMissing, WaitTimeout
from saltext.pcmk.utils.membership import corosync_conf, keys

CMAP_PREFIXES = ("totem.", "nodelist.", "runtime.members.", "quorum.")


COROSYNC_PIDFILE = "/var/run/corosync.pid"


def corosync_pid(pidfile=COROSYNC_PIDFILE) -> int | None:
    """The pid of the Corosync running here (its pid file names a live process), else None."""
    try:
        with open(pidfile, encoding="ascii") as handle:
            pid = int(handle.read().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def running_cmap(runner, *, attempts=10, pause=0.5, sleep=time.sleep, pid_of=corosync_pid) -> dict[str, str] | None:
    """Corosync's cmap (the keys this package reads), or None when Corosync does not run here.

    One snapshot of the whole map (``corosync-cmapctl``), so the cluster name,
    node list and members come from the same moment. A Corosync that runs but
    does not answer ("Failed to initialize the cmap API"), or answers without
    its configuration (no ``totem`` key: between a reload's delete and
    re-add, say), is asked again; one that still does not is an error, never
    "not running": a refusal that depends on what runs (a cluster renamed
    while Corosync runs) must not pass because the question went unanswered.
    """
    problem = ""
    for attempt in range(attempts):
        proc = runner.run(["corosync-cmapctl"], ok_codes=range(256))
        if proc.returncode == 0:
            found = corosync_conf.parse_cmap(proc.stdout)
            if any(key.startswith("totem.") for key in found):
                return {k: v for k, v in found.items() if k.startswith(CMAP_PREFIXES)}
            problem = "its configuration map holds no totem settings"
        elif pid_of() is None:
            return None  # no Corosync to ask
        else:
            problem = (proc.stderr or proc.stdout).strip() or f"exit {proc.returncode}"
        if attempt + 1 < attempts:
            sleep(pause)
    raise PcmkError(
        f"Corosync runs on this node (pid {pid_of()}) but corosync-cmapctl cannot read its configuration "
        f"map: {problem}; nothing was changed"
    )


def nodelist_of_cmap(cmap: dict[str, str]) -> dict[int, tuple]:
    """``{nodeid: (name, addresses)}`` of the node list Corosync runs with."""
    nodes: dict[str, dict] = {}
    for key, value in cmap.items():
        parts = key.split(".")
        if len(parts) == 4 and parts[:2] == ["nodelist", "node"]:
            nodes.setdefault(parts[2], {})[parts[3]] = value
    return {int(n["nodeid"]): _entry(n) for n in nodes.values() if "nodeid" in n}


def nodelist_of_conf(parsed: dict) -> dict[int, tuple]:
    """``{nodeid: (name, addresses)}`` of a parsed corosync.conf."""
    found = {}
    for nodelist in parsed.get("nodelist") or []:
        for node in nodelist.get("node") or []:
            if "nodeid" in node:
                found[int(node["nodeid"])] = _entry(node)
    return found


def _entry(node: dict) -> tuple:
    addrs = tuple(node[f"ring{i}_addr"] for i in range(8) if f"ring{i}_addr" in node)
    return (node.get("name"), addrs)


SETTING_SECTIONS = ("totem", "quorum")
_FLAGS = {"yes": "1", "on": "1", "true": "1", "no": "0", "off": "0", "false": "0"}


def _setting(value: str) -> str:
    value = str(value).strip()
    return _FLAGS.get(value.lower(), value)


def settings_of_cmap(cmap: dict[str, str]) -> dict[str, str]:
    """The ``totem`` and ``quorum`` settings Corosync runs with (``totem.token``), from its cmap.

    Only a section's own keys: Corosync adds derived ones deeper down
    (``totem.interface.0.bindnetaddr`` for a node list) that no file sets.
    """
    found = {}
    for key, value in cmap.items():
        parts = key.split(".")
        if len(parts) == 2 and parts[0] in SETTING_SECTIONS:
            found[key] = _setting(value)
    return found


def settings_of_conf(parsed: dict) -> dict[str, str]:
    """The ``totem`` and ``quorum`` settings a parsed corosync.conf sets, keyed as in cmap."""
    found = {}
    for section in SETTING_SECTIONS:
        for block in parsed.get(section) or []:
            for key, value in block.items():
                if isinstance(value, str):
                    found[f"{section}.{key}"] = _setting(value)
    return found


def reload_plan(runner, conf_path: str) -> dict:
    """What ``corosync-cfgtool -R`` would change here: ``{"running", "added", "removed", "changed"}``
    (node names) and ``settings`` (the ``totem``/``quorum`` keys whose value differs, as ``totem.token``)."""
    cmap = running_cmap(runner)
    if cmap is None:
        return {"running": False, "added": [], "removed": [], "changed": [], "settings": []}
    with open(conf_path, encoding="utf-8") as handle:
        parsed = corosync_conf.parse(handle.read(), conf_path)
    wanted, have = nodelist_of_conf(parsed), nodelist_of_cmap(cmap)
    wanted_settings, have_settings = settings_of_conf(parsed), settings_of_cmap(cmap)
    return {
        "running": True,
        "added": sorted(wanted[i][0] for i in set(wanted) - set(have)),
        "removed": sorted(have[i][0] for i in set(have) - set(wanted)),
        "changed": sorted(wanted[i][0] for i in set(wanted) & set(have) if wanted[i] != have[i]),
        "settings": sorted(
            key
            for key in set(wanted_settings) | set(have_settings)
            if wanted_settings.get(key) != have_settings.get(key)
        ),
    }


def reload_needed(plan: dict) -> bool:
    return plan["running"] and any(plan[k] for k in ("added", "removed", "changed", "settings"))


def reload_cluster(runner, conf_path: str) -> dict:
    """``corosync-cfgtool -R`` (every node of the cluster re-reads its own corosync.conf), only when this
    node's file differs from what Corosync runs with (its node list, a ``totem`` or ``quorum`` setting),
    then ``crm_node --force --remove`` of each node the file no longer lists; the plan, with ``reloaded``."""
    plan = reload_plan(runner, conf_path)
    needed = reload_needed(plan)
    if needed:
        runner.run(["corosync-cfgtool", "-R"])
        # As pcs does after the reload: a node that left is dropped from the CIB's nodes and status.
        for name in plan["removed"]:
            runner.run(["crm_node", "--force", "--remove", name])
    return {**plan, "reloaded": needed}


def quorate(runner) -> bool | None:
    """votequorum's answer (``corosync-quorumtool -s``): True/False, None when Corosync does not answer."""
    proc = runner.run(["corosync-quorumtool", "-s"], ok_codes=range(256))
    for line in proc.stdout.splitlines():
        if line.startswith("Quorate:"):
            return line.split(":", 1)[1].strip().lower() == "yes"
    return None


def running_quorate(runner, *, attempts=10, pause=0.5, sleep=time.sleep) -> bool:
    """votequorum's answer from a Corosync known to run: asked again while it does not answer,
    then an error (a quorum refusal must not pass because the question went unanswered)."""
    for attempt in range(attempts):
        answer = quorate(runner)
        if answer is not None:
            return answer
        if attempt + 1 < attempts:
            sleep(pause)
    raise PcmkError("Corosync runs on this node but corosync-quorumtool -s does not say whether it is quorate")


def test_config(runner, text: str, corosync_key: bytes | None) -> None:
    """``corosync -t`` on a candidate corosync.conf in a private directory; SpecError with Corosync's reason.

    The candidate is tested with a key file of its own (``totem.keyfile``), so neither
    /etc/corosync nor the running daemon is touched.
    """
    with tempfile.TemporaryDirectory(prefix="pcmk-corosync-") as tmp:
        keyfile = os.path.join(tmp, "authkey")
        with open(os.open(keyfile, os.O_WRONLY | os.O_CREAT, 0o400), "wb") as handle:
            handle.write(corosync_key or keys.generate())
        conf = os.path.join(tmp, "corosync.conf")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(text.replace("totem {\n", f"totem {{\n    keyfile: {keyfile}\n", 1))
        try:
            runner.run(["corosync", "-t", "-c", conf])
        except ToolMissing:
            raise
        except ToolError as exc:
            reason = " ".join(line.split("]", 1)[-1].strip() for line in (exc.stderr or exc.stdout).splitlines()[-3:])
            reason = reason.replace(conf, "corosync.conf")
            raise SpecError(f"corosync -t refuses the rendered corosync.conf: {reason}") from None


@dataclass
class Formed:
    members: list[str]
    dc: str
    seconds: float

    def __str__(self) -> str:
        return f"{len(self.members)} members ({', '.join(self.members)}), quorate, DC {self.dc}"


def _missing(spec, runner):
    """(what is still missing, detail), or None when the cluster is formed; also the DC."""
    try:
        cmap = running_cmap(runner, attempts=1)
    except PcmkError as exc:  # starting: the wait asks again
        return ("Corosync to answer on this node", str(exc)), None
    if cmap is None:
        return ("Corosync to answer on this node", "corosync-cmapctl cannot reach it"), None
    joined = corosync_conf.joined_members(cmap)
    lacking = [f"{n.name} (id {n.nodeid})" for n in spec.nodes if n.nodeid not in joined]
    if lacking:
        return ("Corosync membership of every declared node", "not joined: " + ", ".join(lacking)), None
    if not quorate(runner):
        return ("quorum", f"votequorum says not quorate with {len(joined)} members"), None
    try:
        current = cluster_status.read(runner)
    except ToolError as exc:
        return ("Pacemaker to answer (crm_mon)", str(exc)), None
    online = {n.name for n in current.nodes if n.online}
    offline = [n.name for n in spec.nodes if n.name not in online]
    if offline:
        return ("every declared node online in Pacemaker", "not online: " + ", ".join(offline)), None
    if not current.dc:
        return ("a DC (Pacemaker's designated controller)", "no DC elected yet"), None
    return None, current.dc


def wait_formed(spec, runner, *, timeout: float, interval: float = 1.0) -> Formed:
    """Wait until the declared cluster is formed; WaitTimeout names what did not come, and what it lacked."""
    began = time.monotonic()
    while True:
        missing, dc = _missing(spec, runner)
        if missing is None:
            return Formed([n.name for n in spec.nodes], dc, time.monotonic() - began)
        if time.monotonic() - began >= timeout:
            what, detail = missing
            raise WaitTimeout(f"cluster {spec.name}: timed out after {timeout:.0f}s waiting for {what} ({detail})")
        time.sleep(interval)
