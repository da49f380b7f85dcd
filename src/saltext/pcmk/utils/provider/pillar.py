"""Pillar-driven service declarations: ``pcmk:services:<service>``.

A service with ``ha: false`` (the default, so existing formulas keep working)
belongs to the init system; with ``ha: true`` it is a Pacemaker resource
whose shape comes from pillar, a profile, or both. Every pillar error names
the key, as ``pcmk:services:nova-api:clone``.
"""

import copy
import os
import re
from dataclasses import dataclass, field

from saltext.pcmk.utils.cib.specs import (
    RESOURCE_ARGUMENTS,
    ConstraintSpec,
    ResourceSpec,
    check_argument,
    check_id,
    clone_id_for,
    declares_clone,
)
from saltext.pcmk.utils.errors import SpecError

GENERIC_AGENT = "ocf:saltext:openstack-service"
RESTART_POLICIES = ("cluster", "local", "none")
# Meta attribute set only when the provider creates a service's resource, so
# that switching HA off removes what the provider made and nothing it adopted.
MARKER_META = "saltext-pcmk-service"
LEGACY_MARKER = "saltext-pcmk service {}"  # the description earlier releases wrote
VIP_AGENT = "ocf:heartbeat:IPaddr2"

_TOP_KEYS = {
    "services": dict,
    "profile": str,
    "bootstrap_minion": str,
    "restart": dict,
    "vips": dict,
    "minion_provider": bool,
    "wrappers": dict,
    "cluster": dict,  # the cluster itself: checked by membership.corosync_conf, not here
}
_RESTART_KEYS = {"settle": (int, float), "timeout": (int, float), "defer": bool}
# A service's own keys; every argument of a resource declaration is one too.
_SERVICE_KEYS = {
    "ha": bool,
    "resource": str,
    "agent": str,
    "constraints": list,
    "restart": str,
    "timeout": (int, float),
    **RESOURCE_ARGUMENTS,
}
_VIP_KEYS = {"ops": list, "meta": dict, "agent": str}  # every other key of a VIP is an agent parameter


def _next_generation(nodes, vips):
    """Only VIPs, HAProxy, Galera, RabbitMQ, Redis and the active/passive
    cinder-volume in Pacemaker; everything else under the init system.

    ``nodes`` are the cluster's node names: Galera's ``gcomm://`` address and
    how many of its instances are promoted (every node: Galera is multi-primary).
    """
    count = max(len(nodes), 1)
    haproxy_constraints = []
    haproxy = clone_id_for(resource_id_for("haproxy"))
    for vip in sorted(vips):
        haproxy_constraints += [
            {"kind": "order", "id": f"{vip}-then-haproxy", "first": vip, "then": haproxy, "order_kind": "Optional"},
            {"kind": "colocation", "id": f"{vip}-with-haproxy", "rsc": vip, "with_rsc": haproxy},
        ]
    return {
        "haproxy": {"ha": True, "clone": {"interleave": True}, "restart": "local", "constraints": haproxy_constraints},
        "mariadb": {
            "ha": True,
            "resource": "galera",
            "agent": "ocf:heartbeat:galera",
            "promotable": True,
            "clone": {"promoted-max": count, "ordered": True, "interleave": True},
            # The agent's own defaults know each distribution's paths.
            "params": {"wsrep_cluster_address": "gcomm://" + ",".join(nodes), "enable_creation": True},
            "restart": "cluster",  # a promotable clone restarts one node at a time
        },
        "rabbitmq-server": {
            "ha": True,
            "resource": "rabbitmq",
            "agent": "ocf:heartbeat:rabbitmq-cluster",
            # ordered: nodes join one by one (else each bootstraps a cluster of
            # its own); notify: a stopped node is forgotten by the others.
            "clone": {"ordered": True, "interleave": True, "notify": True},
            "params": {"set_policy": 'ha-all ^(?!amq\\.).* {"ha-mode":"all"}'},
        },
        "redis-server": {
            "ha": True,
            "resource": "redis",
            "agent": "ocf:heartbeat:redis",
            "promotable": True,
            "clone": {"notify": True, "interleave": True},
            "params": {"config": "/etc/redis/redis.conf"},
        },
        "cinder-volume": {"ha": True, "restart": "cluster"},
    }


PROFILES = {
    "next-generation": _next_generation,
    "all-systemd": lambda nodes, vips: {},
}


def _check_keys(where, data, schema):
    """``data`` with every key known and every value of its type, parsed as a state
    argument is (one rule for booleans: ``clone: "false"`` is false)."""
    if not isinstance(data, dict):
        raise SpecError(f"pillar {where} must be a mapping, got {type(data).__name__}")
    checked = {}
    for key, value in data.items():
        if key not in schema:
            raise SpecError(f"pillar {where}:{key} is not a known key (known: {', '.join(sorted(schema))})")
        checked[key] = check_argument(value, schema[key], f"pillar {where}:{key}")
    return checked


def _merge(base, override):
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def systemd_booted():
    return os.path.isdir("/run/systemd/system")


def resource_id_for(service):
    rid = re.sub(r"[^A-Za-z0-9_.-]", "-", service)
    return rid if re.match(r"^[A-Za-z_]", rid) else f"svc-{rid}"


@dataclass
class ServiceDecl:
    """One service as pillar declares it."""

    service: str
    ha: bool = False
    resource: str = ""
    agent: str | None = None
    constraints: list = field(default_factory=list)
    restart: str = "cluster"
    timeout: float = 120
    args: dict = field(default_factory=dict)  # the resource's arguments (RESOURCE_ARGUMENTS) pillar gives

    @property
    def cloned(self):
        return declares_clone(self.args)

    @property
    def group(self):
        return self.args.get("group")

    @property
    def top_id(self):
        """The id constraints and target-role act on: the clone's when cloned."""
        if self.cloned:
            return clone_id_for(self.resource, self.args.get("clone_id"))
        return self.group or self.resource

    def resource_spec(self):
        return ResourceSpec.build(self.resource, self.agent, **self.args, created_meta={MARKER_META: self.service})

    def constraint_specs(self):
        specs = []
        for index, raw in enumerate(self.constraints, start=1):
            where = f"pcmk:services:{self.service}:constraints:{index}"
            if not isinstance(raw, dict) or "kind" not in raw:
                raise SpecError(f"pillar {where} must be a mapping with a 'kind' (location, colocation, order)")
            args = dict(raw)
            kind = args.pop("kind")
            ident = args.pop("id", None) or f"{self.top_id}-{kind}-{index}"
            if kind in ("location", "colocation") and "sets" not in args:
                args.setdefault("rsc", self.top_id)
            if kind == "order" and "sets" not in args:
                args.setdefault("then", self.top_id)
            try:
                specs.append(ConstraintSpec.build(ident, kind, **args))
            except SpecError as exc:
                raise SpecError(f"pillar {where}: {exc}") from exc
        return specs

    def specs(self):
        return [self.resource_spec()] + self.constraint_specs()

    def made_by_provider(self, element):
        """True when ``element`` is the resource the provider created for this service."""
        meta = element.find("meta_attributes")
        marked = meta is not None and any(
            nv.get("name") == MARKER_META and nv.get("value") == self.service for nv in meta.iterfind("nvpair")
        )
        return marked or element.get("description") == LEGACY_MARKER.format(self.service)

    def ids(self):
        """Every id this service's resource answers to (primitive, clone, group)."""
        found = {self.resource, self.top_id}
        if self.group:
            found.add(self.group)
        return found

    def references(self):
        """Resource ids this service's constraints name, other than its own."""
        return {ref for spec in self.constraint_specs() for ref in spec.references()} - self.ids()


class ServicePillar:
    """The whole ``pcmk`` pillar, validated, with the profile applied."""

    def __init__(self, pillar, *, systemd=None, nodes=None, init_dir="/etc/init.d"):
        """``nodes``: the cluster's node names, or a callable giving them (read only
        when a profile needs them). ``init_dir``: where LSB init scripts live."""
        pillar = pillar or {}
        pillar = _check_keys("pcmk", pillar, _TOP_KEYS)
        if pillar.get("restart") is not None:
            pillar["restart"] = _check_keys("pcmk:restart", pillar["restart"], _RESTART_KEYS)
        self.raw = pillar
        self.systemd = systemd_booted() if systemd is None else systemd
        self.init_dir = init_dir
        profile_name = pillar.get("profile")
        if profile_name is not None and profile_name not in PROFILES:
            raise SpecError(
                f"pillar pcmk:profile {profile_name!r} is not a known profile (known: {', '.join(PROFILES)})"
            )
        services = pillar.get("services") or {}
        if not isinstance(services, dict):
            raise SpecError("pillar pcmk:services must be a mapping of service name to settings")
        for name, settings in services.items():
            if settings is not None and not isinstance(settings, dict):
                raise SpecError(
                    f"pillar pcmk:services:{name} must be a mapping of settings (e.g. ha: true), "
                    f"got {type(settings).__name__} {settings!r}"
                )
        vips = self.vips()  # checked here: a broken VIP is a broken pillar, whoever reads it
        base = {}
        if profile_name:
            node_names = nodes() if callable(nodes) else (nodes or [])
            base = PROFILES[profile_name](sorted(node_names), vips)
        self.services = {name: _merge(base.get(name, {}), services.get(name)) for name in set(base) | set(services)}

    def vips(self):
        """``{id: {agent, params, ops, meta}}`` from ``pcmk:vips`` (keys other than
        ops, meta and agent are the agent's parameters)."""
        raw = self.raw.get("vips") or {}
        found = {}
        for vip, settings in sorted(raw.items()):
            where = f"pcmk:vips:{vip}"
            if not isinstance(settings, dict):
                raise SpecError(
                    f"pillar {where} must be a mapping of IPaddr2 parameters (ip, cidr_netmask ...), "
                    f"got {type(settings).__name__}"
                )
            _check_keys(where, {k: v for k, v in settings.items() if k in _VIP_KEYS}, _VIP_KEYS)
            params = {k: v for k, v in settings.items() if k not in _VIP_KEYS}
            for key, value in params.items():
                if isinstance(value, (dict, list)):
                    raise SpecError(
                        f"pillar {where}:{key} must be a plain value (an agent parameter), got "
                        f"{type(value).__name__}; per-VIP operations and meta attributes go under "
                        f"{where}:ops and {where}:meta"
                    )
            found[vip] = {
                "agent": settings.get("agent") or VIP_AGENT,
                "params": params,
                "ops": settings.get("ops"),
                "meta": settings.get("meta"),
            }
            try:
                ResourceSpec.build(vip, **found[vip])
            except SpecError as exc:
                raise SpecError(f"pillar {where}: {exc}") from exc
        return found

    @property
    def restart_settings(self):
        settings = {"settle": 10, "timeout": 300, "defer": False}
        settings.update(self.raw.get("restart") or {})
        return settings

    def declaration(self, service):
        """The ServiceDecl of ``service`` (HA off when pillar does not mention it)."""
        settings = self.services.get(service)
        where = f"pcmk:services:{service}"
        if settings is None:
            return ServiceDecl(service=service, resource=resource_id_for(service))
        settings = _check_keys(where, settings, _SERVICE_KEYS)
        decl = ServiceDecl(service=service, resource=settings.get("resource") or resource_id_for(service))
        for key, value in settings.items():
            if value is None or key == "resource":
                continue
            if key in RESOURCE_ARGUMENTS:
                decl.args[key] = value
            else:
                setattr(decl, key, value)
        try:
            check_id(decl.resource, "resource")
        except SpecError as exc:
            raise SpecError(f"pillar {where}:resource: {exc}") from exc
        if decl.restart not in RESTART_POLICIES:
            raise SpecError(
                f"pillar {where}:restart must be one of {', '.join(RESTART_POLICIES)}, got {decl.restart!r}"
            )
        if decl.ha and not decl.agent and not decl.args.get("template"):  # a template gives the agent
            if self.systemd:
                decl.agent = f"systemd:{service}"
            elif (decl.args.get("params") or {}).get("binary"):
                decl.agent = GENERIC_AGENT
            elif os.path.isfile(os.path.join(self.init_dir, service)):
                decl.agent = f"lsb:{service}"
            else:
                raise SpecError(
                    f"pillar {where}:agent is missing and cannot be derived: this node has no systemd and no "
                    f"{os.path.join(self.init_dir, service)}, so give an agent, or params.binary for {GENERIC_AGENT}"
                )
        return decl

    def ha_services(self):
        return sorted(name for name in self.services if self.declaration(name).ha)

    def ordered(self):
        """Every service pillar (and its profile) names, in the order to apply
        them: after the services whose resources its constraints name.

        ``[{service, ha, requires: [services], vips: [VIP ids it names]}]``.
        """
        decls = {name: self.declaration(name) for name in sorted(self.services)}
        owner = {ident: name for name, decl in decls.items() if decl.ha for ident in decl.ids()}
        vips = set(self.vips())
        entries = {}
        for name, decl in decls.items():
            refs = decl.references() if decl.ha else set()
            entries[name] = {
                "service": name,
                "ha": decl.ha,
                "requires": sorted({owner[r] for r in refs if r in owner} - {name}),
                "vips": sorted(refs & vips),
            }
        done: set[str] = set()
        ordered: list[dict] = []
        while len(ordered) < len(entries):
            ready = [n for n, e in entries.items() if n not in done and set(e["requires"]) <= done]
            if not ready:
                cycle = sorted(n for n in entries if n not in done)
                raise SpecError(
                    f"pillar pcmk:services: the constraints of {', '.join(cycle)} name each other in a "
                    "cycle; no order to apply them exists"
                )
            for name in ready:
                done.add(name)
                ordered.append(entries[name])
        return ordered


# -- from an export: the services the provider can declare ------------------------------------
_PROVIDER_AGENTS = ("systemd:", "lsb:", "service:")


def _service_name(state):
    """The service a formula's ``service.running`` names for this exported resource, or None."""
    agent = state.args.get("agent") or ""
    if agent.startswith(_PROVIDER_AGENTS):
        return agent.split(":", 1)[1]
    if agent == GENERIC_AGENT and (state.args.get("params") or {}).get("binary"):
        return state.state_id
    return None


def services_from_export(states):
    """``(pcmk:services entries, the states still needed)`` for exported states (utils.cib.export).

    A primitive run by the init system's own agent (``systemd:<unit>``,
    ``lsb:``, ``service:``) or by the generic OpenStack agent becomes the
    entry of the service a formula names, ``ha: true``, with the resource's
    arguments (the same RESOURCE_ARGUMENTS ``pcmk.resource`` takes) and its
    clone's; its ``pcmk.resource`` and ``pcmk.clone`` states leave the SLS.
    A resource in a group or bundle, with secret parameters, or whose clone
    has more than pillar's clone keys say (params, several sets, a
    description), stays in the SLS.
    """
    clones = {s.args["name"]: s for s in states if s.fun == "clone"}
    grouped = {m for s in states if s.fun == "group" for m in s.args["resources"]}
    bundled = {s.args.get("primitive") for s in states if s.fun == "bundle"}
    services, moved = {}, set()
    for state in states:
        if state.fun != "resource" or state.state_id in grouped | bundled or state.secrets:
            continue  # secrets stay in the SLS, where they are pillar references
        service = _service_name(state)
        if service is None or service in services:
            continue
        entry = {"ha": True}
        if resource_id_for(service) != state.state_id:
            entry["resource"] = state.state_id
        entry.update({k: v for k, v in state.args.items() if k in RESOURCE_ARGUMENTS or k == "agent"})
        clone = clones.get(state.state_id)
        if clone is not None:
            extra = set(clone.args) - {"name", "clone_id", "meta", "promotable"}
            if extra or isinstance(clone.args.get("meta"), list):
                continue
            entry["clone"] = True
            for key, target in (("clone_id", "clone_id"), ("meta", "clone_meta"), ("promotable", "promotable")):
                if key in clone.args:
                    entry[target] = clone.args[key]
            moved.add(clone.state_id)
        services[service] = entry
        moved.add(state.state_id)
    return services, [s for s in states if s.state_id not in moved]
