"""Live cluster status from ``crm_mon --output-as=xml``, and waiting on it."""

import time
from dataclasses import asdict, dataclass, field

from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.errors import ResourceFailed, ToolError, WaitTimeout

# Roles of an instance whose last operation finished. crm_mon marks an
# instance "active" already while it is Starting (and not while an unmonitored
# one is Stopping), so "active" alone says nothing about being done.
RUNNING_ROLES = frozenset({"Started", "Promoted", "Unpromoted", "Master", "Slave"})
SETTLED_ROLES = RUNNING_ROLES | {"Stopped"}
PROMOTED_ROLES = frozenset({"Promoted", "Master"})


def _bool(value):
    return value == "true"


@dataclass
class NodeStatus:
    name: str
    id: str
    online: bool
    standby: bool
    maintenance: bool
    is_dc: bool
    unclean: bool


@dataclass
class ResourceStatus:
    id: str
    agent: str
    role: str
    active: bool
    managed: bool
    failed: bool
    nodes: list
    parent: str | None = None  # the clone or group it belongs to

    @property
    def running(self):
        return self.active and self.role in RUNNING_ROLES

    @property
    def settled(self):
        return self.role in SETTLED_ROLES and (self.active == (self.role in RUNNING_ROLES))


@dataclass
class ClusterStatus:
    dc: str | None
    quorum: bool
    stonith_enabled: bool
    maintenance_mode: bool
    nodes: list = field(default_factory=list)
    resources: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def node(self, name):
        return next((n for n in self.nodes if n.name == name), None)

    def members(self):
        """Nodes that are online cluster members in good standing (not unclean)."""
        return [n for n in self.nodes if n.online and not n.unclean]

    def instances(self, resource_id):
        """Status entries of a resource: a primitive, or every instance of a clone/group."""
        return [
            r
            for r in self.resources
            if r.id == resource_id or r.id.split(":")[0] == resource_id or r.parent == resource_id
        ]

    def running_on(self, resource_id):
        """Node names where an instance of ``resource_id`` runs, its start finished."""
        return sorted({n for r in self.instances(resource_id) if r.running for n in r.nodes})

    def busy(self, resource_id, node=None):
        """An instance (on ``node``, if given) is between operations: starting, stopping, ..."""
        return any(not r.settled for r in self.instances(resource_id) if node is None or node in r.nodes or not r.nodes)

    def stopped(self, resource_id, node=None):
        """No instance (on ``node``, if given) runs or is still stopping."""
        return not self.busy(resource_id, node) and (
            node not in self.running_on(resource_id) if node else not self.running_on(resource_id)
        )

    def failures_of(self, resource_id):
        """Failed operations of ``resource_id``'s primitives, as crm_mon lists them."""
        primitives = {r.id.split(":")[0] for r in self.instances(resource_id)} | {resource_id}
        return [f for f in self.failures if f.get("op_key", "").rsplit("_", 2)[0].split(":")[0] in primitives]

    def to_dict(self):
        return asdict(self)


def _resources(container, parent=None):
    found = []
    for element in container:
        if element.tag == "resource":
            found.append(
                ResourceStatus(
                    id=element.get("id"),
                    agent=element.get("resource_agent", ""),
                    role=element.get("role", ""),
                    active=_bool(element.get("active")),
                    managed=_bool(element.get("managed", "true")),
                    failed=_bool(element.get("failed")),
                    nodes=[n.get("name") for n in element.findall("node")],
                    parent=parent,
                )
            )
        elif element.tag in ("clone", "group", "bundle"):
            found.extend(_resources(element, element.get("id") if parent is None else parent))
    return found


def parse(text):
    root = cibmod.parse(text)
    summary = root.find("summary")
    dc = summary.find("current_dc") if summary is not None else None
    options = summary.find("cluster_options") if summary is not None else None
    status = ClusterStatus(
        dc=dc.get("name") if dc is not None and _bool(dc.get("present")) else None,
        quorum=dc is not None and _bool(dc.get("with_quorum")),
        stonith_enabled=options is not None and _bool(options.get("stonith-enabled")),
        maintenance_mode=options is not None and _bool(options.get("maintenance-mode")),
    )
    for node in root.iterfind("nodes/node"):
        status.nodes.append(
            NodeStatus(
                name=node.get("name"),
                id=node.get("id"),
                online=_bool(node.get("online")),
                standby=_bool(node.get("standby")),
                maintenance=_bool(node.get("maintenance")),
                is_dc=_bool(node.get("is_dc")),
                unclean=_bool(node.get("unclean")),
            )
        )
    resources = root.find("resources")
    if resources is not None:
        status.resources = _resources(resources)
    for failure in root.iterfind("failures/failure"):
        status.failures.append(dict(failure.attrib))
    return status


def read(runner):
    proc = runner.run(["crm_mon", "--one-shot", "--inactive", "--output-as=xml"])
    return parse(proc.stdout)


def wait_for(runner, predicate, *, timeout, what, interval=1.0):
    """Poll status until ``predicate(status)`` holds; say ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        current = read(runner)
        if predicate(current):
            return current
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _failure_key(failure):
    return (failure.get("op_key"), failure.get("node"), failure.get("call"), failure.get("last-rc-change"))


def failure_keys(status, resource_id):
    """What has already failed, so a wait can tell new failures from old ones."""
    return {_failure_key(f) for f in status.failures_of(resource_id)}


def known_failures(runner, resource_id):
    return failure_keys(read(runner), resource_id)


def _raise_new_failure(current, resource_id, known):
    """A start, promote or monitor failure that is not in ``known`` ends a wait with the agent's reason."""
    new = [
        f
        for f in current.failures_of(resource_id)
        if _failure_key(f) not in known and f.get("task") in ("start", "promote", "monitor")
    ]
    if new:
        failure = new[0]
        raise ResourceFailed(
            f"{resource_id}: {failure.get('task')} failed on {failure.get('node')} "
            f"({failure.get('exitstatus')}{': ' + failure['exitreason'] if failure.get('exitreason') else ''})"
        )


def wait_running(runner, resource_id, *, timeout, node=None, nodes=(), known=frozenset()):
    """Until ``resource_id`` runs (on ``node``, or on every one of ``nodes``) with no operation pending.

    A new failure ends the wait with the agent's reason.
    """
    nodes = [node] if node else list(nodes)
    where = f" on {', '.join(nodes)}" if nodes else ""

    def ready(current):
        _raise_new_failure(current, resource_id, known)
        running = current.running_on(resource_id)
        placed = all(n in running for n in nodes) if nodes else bool(running)
        return placed and not current.busy(resource_id, node)

    return wait_for(runner, ready, timeout=timeout, what=f"{resource_id} to run{where}")


def promoted_on(status, resource_id):
    """Node names where an instance of ``resource_id`` is promoted."""
    return sorted({n for r in status.instances(resource_id) if r.running and r.role in PROMOTED_ROLES for n in r.nodes})


def wait_promoted(runner, resource_id, *, node, timeout, known=frozenset()):
    """Until ``node``'s instance of a promotable clone is promoted again (a new failure ends the wait)."""

    def ready(current):
        _raise_new_failure(current, resource_id, known)
        return node in promoted_on(current, resource_id) and not current.busy(resource_id, node)

    return wait_for(runner, ready, timeout=timeout, what=f"{resource_id} to be promoted on {node}")


def wait_stopped(runner, resource_id, *, timeout, node=None):
    """Until no instance of ``resource_id`` (on ``node``) runs or is still stopping."""
    where = f" on {node}" if node else " everywhere"
    return wait_for(
        runner, lambda s: s.stopped(resource_id, node), timeout=timeout, what=f"{resource_id} to stop{where}"
    )


def wait_idle(runner, timeout):
    """Wait until the cluster has no pending actions (``crm_resource --wait``)."""
    try:
        runner.run(["crm_resource", "--wait", f"--timeout={int(timeout)}s"], timeout=timeout + 30)
    except ToolError as exc:
        raise WaitTimeout(f"the cluster did not settle within {timeout}s ({exc})") from exc
