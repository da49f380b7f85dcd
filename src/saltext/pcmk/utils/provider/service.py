"""The Pacemaker service provider: ``service.*`` for services pillar hands to Pacemaker.

For a service with ``ha: false`` every call goes to the platform's native
service module unchanged. With ``ha: true`` the service is its Pacemaker
resource: created or updated from pillar when started or enabled, status from
the live cluster, start/stop through ``target-role``, enable/disable meaning
managed by the cluster, restart by the service's policy.

Handing over never runs a service twice: switching on stops and disables the
native copy before the cluster starts it; switching off (pillar back to
``ha: false`` while a resource this provider made still exists) moves this
node's instance off (a ban for clones, a stop for single instances) before
the native service starts, and removes the resource when no node is left.
"""

import logging
from dataclasses import dataclass

from saltext.pcmk.utils import restarts
from saltext.pcmk.utils.cib.nvsets import values
from saltext.pcmk.utils.cib.specs import ResourceAbsentSpec, ResourceMetaSpec
from saltext.pcmk.utils.cluster import operations
from saltext.pcmk.utils.cluster import status as statusmod
from saltext.pcmk.utils.errors import NotFound

log = logging.getLogger(__name__)


@dataclass
class Handover:
    """What :meth:`ServiceProvider.converge` changed (or would): per-object
    changes, the CIB diff rendered, and who runs the service now."""

    changes: dict
    rendered: str
    where: str


class ServiceProvider:
    def __init__(self, session, pillar, native, *, minion_id, node_name=None, on_request=None):
        self.on_request = on_request  # called with (resource, token) after a restart request is recorded
        self.session = session
        self.pillar = pillar
        self.native = native  # {"start": fn, ...} of the platform's service module
        self.minion_id = minion_id
        self._node_name = node_name

    # -- helpers -----------------------------------------------------------------------------
    @property
    def node_name(self):
        if self._node_name is None:
            self._node_name = operations.local_node_name(self.session.runner)
        return self._node_name

    def decl(self, name):
        return self.pillar.declaration(name)

    def native_call(self, fun, name, *args, **kwargs):
        if fun not in self.native:
            raise NotFound(f"the native service module has no {fun}()")
        return self.native[fun](name, *args, **kwargs)

    def _status(self):
        return statusmod.read(self.session.runner)

    def _runs(self, decl, current=None):
        if self.session.runner.offline:
            # A CIB file has no running cluster: a service "runs" when the
            # configuration says it should, which is what a lab can check.
            element = self.session.cib.resource(decl.top_id)
            return element is not None and values(element, "meta_attributes").get("target-role") != "Stopped"
        current = current or self._status()
        where = current.running_on(decl.top_id)
        return self.node_name in where if decl.cloned else bool(where)

    def our_resource(self, decl):
        """The resource this provider made for ``decl``'s service, if it exists."""
        element = self.session.cib.resource(decl.resource)
        return element if element is not None and decl.made_by_provider(element) else None

    # -- switching between init system and cluster ------------------------------------------------
    def ensure_resource(self, decl, *, test=False):
        """Create/update the resource and constraints from pillar; native copy off first."""
        if not test and self.session.cib.resource(decl.resource) is None and self._native_running(decl.service):
            log.info("%s: stopping the init system's copy before Pacemaker starts it", decl.service)
            self.native_call("stop", decl.service)
        if not test and self._native_knows(decl.service) and self.native_call("enabled", decl.service):
            self.native_call("disable", decl.service)
        return self.session.converge(decl.specs(), test=test)

    def _native_knows(self, service):
        try:
            return bool(self.native_call("available", service))
        except Exception:  # a native module that cannot answer does not manage the service
            return False

    def _native_running(self, service):
        return self._native_knows(service) and bool(self.native_call("status", service))

    def hand_back(self, decl, *, timeout=120):
        """Pillar says HA off but our resource exists: take this node's copy out of the cluster."""
        element = self.our_resource(decl)
        if element is None:
            return False
        top = decl.top_id if self.session.cib.resource(decl.top_id) is not None else decl.resource
        if decl.cloned and self.session.cib.resource(top) is not None:
            operations.ban(self.session, top, self.node_name)
            if not self.session.runner.offline:
                statusmod.wait_stopped(self.session.runner, top, node=self.node_name, timeout=timeout)
            current = self._status()
            online = {n.name for n in current.nodes if n.online}
            banned = {
                c.get("node")
                for c in self.session.cib.root.iterfind("configuration/constraints/rsc_location")
                if c.get("rsc") == top and c.get("id", "").startswith("cli-ban-")
            }
            if online <= banned or not current.running_on(top):
                self.session.converge([ResourceAbsentSpec(top)])
        else:
            operations.delete(self.session, top, wait=True, timeout=timeout)
        return True

    def converge(self, decl, *, test=False):
        """Make the service run where pillar says, once: the one step the
        ``pcmk.service_provider`` state takes. ``test``: change nothing, say what would change."""
        name = decl.service
        if decl.ha:
            native_on = self._native_running(name)
            outcome = self.ensure_resource(decl, test=test)
            changes = dict(outcome.changes)
            if native_on:
                changes["init system"] = {"stopped and disabled": name}
            return Handover(changes, outcome.render() if outcome.changed else "", f"Pacemaker resource {decl.top_id}")
        changes = {}
        if self.our_resource(decl) is not None:
            changes[f"resource {decl.top_id}"] = {"handed back to the init system": name}
            if not test:
                self.hand_back(decl, timeout=decl.timeout)
        if self._native_knows(name):
            for check, action, done in (("enabled", "enable", "enabled"), ("status", "start", "started")):
                if not self.native_call(check, name):
                    if not test:
                        self.native_call(action, name)
                    changes.setdefault("init system", {})[done] = name
        return Handover(changes, "", "the init system")

    # -- the service.* surface -----------------------------------------------------------------------
    def start(self, name, **kwargs):
        decl = self.decl(name)
        if not decl.ha:
            self.hand_back(decl, timeout=decl.timeout)
            return self.native_call("start", name, **kwargs)
        offline = self.session.runner.offline
        known = set() if offline else statusmod.known_failures(self.session.runner, decl.top_id)
        self.ensure_resource(decl)
        self.session.refresh()
        if values(self.session.cib.resource(decl.top_id), "meta_attributes").get("target-role") == "Stopped":
            self.session.converge([ResourceMetaSpec(decl.top_id, "target-role", None)])
        if offline:
            return True
        current = self._status()
        if not self._runs(decl, current) and any(r.failed or not r.active for r in current.instances(decl.top_id)):
            operations.cleanup(self.session, decl.top_id, self.node_name)
        statusmod.wait_running(
            self.session.runner,
            decl.top_id,
            timeout=decl.timeout,
            node=self.node_name if decl.cloned else None,
            known=known,
        )
        return True

    def stop(self, name, **kwargs):
        decl = self.decl(name)
        if not decl.ha:
            return self.native_call("stop", name, **kwargs)
        if self.session.cib.resource(decl.top_id) is None:
            return True
        operations.stop(self.session, decl.top_id, wait=True, timeout=decl.timeout)
        return True

    def status(self, name, sig=None):
        decl = self.decl(name)
        if not decl.ha:
            return self.native_call("status", name, sig) if sig else self.native_call("status", name)
        if self.session.cib.resource(decl.top_id) is None:
            return False
        return self._runs(decl)

    def restart(self, name, **kwargs):
        decl = self.decl(name)
        if not decl.ha:
            return self.native_call("restart", name, **kwargs)
        if self.session.cib.resource(decl.top_id) is None:
            return self.start(name)
        if self.session.runner.offline:
            log.info("%s: offline CIB, nothing runs to restart", name)
            return True
        if decl.restart == "cluster":
            token = restarts.request(self.session, self.node_name, decl.top_id, self.minion_id)
            if self.on_request is not None:
                self.on_request(decl.top_id, token)
            log.info(
                "%s: restart of %s requested (%s); performed once by the bootstrap minion", name, decl.top_id, token
            )
        elif decl.restart == "local":
            if decl.cloned:
                operations.restart_here(self.session, decl.top_id, self.node_name, timeout=decl.timeout)
            else:
                restarts.restart(
                    self.session, decl.top_id, node=self.node_name, minion_id=self.minion_id, timeout=decl.timeout
                )
        return True

    def enable(self, name, **kwargs):
        decl = self.decl(name)
        if not decl.ha:
            self.hand_back(decl, timeout=decl.timeout)
            return self.native_call("enable", name, **kwargs)
        self.ensure_resource(decl)
        self.session.converge([ResourceMetaSpec(decl.top_id, "is-managed", None)])
        return True

    def disable(self, name, **kwargs):
        decl = self.decl(name)
        if not decl.ha:
            return self.native_call("disable", name, **kwargs)
        if self.session.cib.resource(decl.top_id) is not None:
            self.session.converge([ResourceMetaSpec(decl.top_id, "is-managed", "false")])
        return True

    def enabled(self, name, **kwargs):
        decl = self.decl(name)
        if not decl.ha:
            return self.native_call("enabled", name, **kwargs)
        element = self.session.cib.resource(decl.top_id)
        if element is None or values(element, "meta_attributes").get("is-managed", "true") == "false":
            return False
        # service.running only calls enable() when this says False: a resource
        # that drifted from pillar is "not enabled as declared" until converged.
        return not self.session.converge(decl.specs(), test=True).changed

    def available(self, name):
        decl = self.decl(name)
        return True if decl.ha else bool(self.native_call("available", name))
