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

from .errors import SpecError
from .model import ConstraintSpec, ResourceSpec, check_id

GENERIC_AGENT = "ocf:saltext:openstack-service"
RESTART_POLICIES = ("cluster", "local", "none")
MARKER = "saltext-pcmk service {}"  # primitive description: made by this provider, for this service

_TOP_KEYS = {
    "services": dict, "profile": str, "bootstrap_minion": str, "restart": dict, "vips": dict,
    "minion_provider": bool, "wrappers": dict,
}
_RESTART_KEYS = {"settle": (int, float), "timeout": (int, float), "defer": bool}
_SERVICE_KEYS = {
    "ha": bool, "resource": str, "agent": str, "params": dict, "meta": dict, "ops": list, "utilization": dict,
    "clone": (bool, dict), "clone_id": str, "promotable": bool, "group": str, "constraints": list,
    "restart": str, "secret_params": list, "secrets_in_cib": bool, "timeout": (int, float),
}

# "Next generation" controllers: only VIPs, HAProxy, Galera, RabbitMQ, Redis and
# the active/passive cinder-volume stay in Pacemaker; everything else runs
# under the init system. HAProxy's constraints to each VIP are added from
# ``pcmk:vips`` when the profile is applied.
PROFILES = {
    "next-generation": {
        "haproxy": {"ha": True, "clone": True, "restart": "local"},
        "mariadb": {"ha": True, "resource": "galera", "agent": "ocf:heartbeat:galera", "promotable": True,
                    "params": {"wsrep_cluster_address": "gcomm://"}},
        "rabbitmq-server": {"ha": True, "resource": "rabbitmq", "agent": "ocf:heartbeat:rabbitmq-cluster", "clone": True,
                            "params": {"set_policy": "ha-all ^(?!amq\\.).* {\"ha-mode\":\"all\"}"}},
        "redis-server": {"ha": True, "resource": "redis", "agent": "ocf:heartbeat:redis", "promotable": True},
        "cinder-volume": {"ha": True, "restart": "cluster"},
    },
    "all-systemd": {},
}


def _type_name(kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return " or ".join(dict.fromkeys(names[k] for k in kinds))


def _check_keys(where, data, schema):
    if not isinstance(data, dict):
        raise SpecError(f"pillar {where} must be a mapping, got {type(data).__name__}")
    for key, value in data.items():
        if key not in schema:
            raise SpecError(f"pillar {where}:{key} is not a known key (known: {', '.join(sorted(schema))})")
        expected = schema[key]
        if value is not None and (not isinstance(value, expected) or (expected in (int, float, (int, float)) and isinstance(value, bool))):
            raise SpecError(f"pillar {where}:{key} must be a {_type_name(expected)}, got {type(value).__name__}")


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
    params: dict | None = None
    meta: dict | None = None
    ops: list | None = None
    utilization: dict | None = None
    clone: bool | dict = False
    clone_id: str | None = None
    promotable: bool = False
    group: str | None = None
    constraints: list = field(default_factory=list)
    restart: str = "cluster"
    secret_params: list = field(default_factory=list)
    secrets_in_cib: bool = True
    timeout: float = 120

    @property
    def cloned(self):
        return bool(self.clone) or self.promotable

    @property
    def top_id(self):
        """The id constraints and target-role act on: the clone's when cloned."""
        if self.cloned:
            return self.clone_id or f"{self.resource}-clone"
        return self.group or self.resource

    def resource_spec(self):
        return ResourceSpec.build(
            self.resource, self.agent, params=self.params, meta=self.meta, ops=self.ops, utilization=self.utilization,
            clone=self.clone if self.cloned else False, clone_id=self.clone_id, promotable=self.promotable,
            group=self.group, secret_params=self.secret_params, secrets_in_cib=self.secrets_in_cib,
            description=MARKER.format(self.service),
        )

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


class ServicePillar:
    """The whole ``pcmk`` pillar, validated, with the profile applied."""

    def __init__(self, pillar, *, systemd=None):
        pillar = pillar or {}
        _check_keys("pcmk", pillar, _TOP_KEYS)
        _check_keys("pcmk:restart", pillar.get("restart") or {}, _RESTART_KEYS)
        self.raw = pillar
        self.systemd = systemd_booted() if systemd is None else systemd
        profile_name = pillar.get("profile")
        if profile_name is not None and profile_name not in PROFILES:
            raise SpecError(f"pillar pcmk:profile {profile_name!r} is not a known profile (known: {', '.join(PROFILES)})")
        services = pillar.get("services") or {}
        if not isinstance(services, dict):
            raise SpecError("pillar pcmk:services must be a mapping of service name to settings")
        base = copy.deepcopy(PROFILES.get(profile_name, {}))
        if profile_name == "next-generation":
            for vip in sorted(pillar.get("vips") or {}):
                base["haproxy"].setdefault("constraints", []).extend([
                    {"kind": "order", "id": f"{vip}-then-haproxy", "first": vip, "then": "haproxy-clone", "order_kind": "Optional"},
                    {"kind": "colocation", "id": f"{vip}-with-haproxy", "rsc": vip, "with_rsc": "haproxy-clone"},
                ])
        self.services = {name: _merge(base.get(name, {}), services.get(name)) for name in set(base) | set(services)}

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
        _check_keys(where, settings, _SERVICE_KEYS)
        decl = ServiceDecl(service=service, resource=settings.get("resource") or resource_id_for(service))
        for key in _SERVICE_KEYS:
            if settings.get(key) is not None and key != "resource":
                setattr(decl, key, settings[key])
        try:
            check_id(decl.resource, "resource")
        except SpecError as exc:
            raise SpecError(f"pillar {where}:resource: {exc}") from exc
        if decl.restart not in RESTART_POLICIES:
            raise SpecError(f"pillar {where}:restart must be one of {', '.join(RESTART_POLICIES)}, got {decl.restart!r}")
        if decl.ha and not decl.agent:
            if self.systemd:
                decl.agent = f"systemd:{service}"
            elif (decl.params or {}).get("binary"):
                decl.agent = GENERIC_AGENT
            else:
                raise SpecError(
                    f"pillar {where}:agent is missing and cannot be derived: this node has no systemd, "
                    f"so give an agent, or params.binary for {GENERIC_AGENT}"
                )
        return decl

    def ha_services(self):
        return sorted(name for name in self.services if self.declaration(name).ha)
