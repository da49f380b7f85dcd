"""Declarative specs of CIB objects and how each reconciles itself.

Every spec has ``apply(cib, ctx)``, changing a candidate CIB in place so it
matches the declaration, and ``references()``, the resource ids it needs to
exist. Specs never write; :mod:`.session` diffs, validates and writes.

Existing elements are adopted: matched by id (or, for constraints, by what
they constrain), their ids and those of their children are kept, and only
what the declaration asks for is changed.
"""

import re
from dataclasses import dataclass, field

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.cib.metadata import AgentRef
from saltext.pcmk.utils.errors import NotFound, SpecError

RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle")
# Meta attributes that operators and Pacemaker's own tools set on a live
# resource (crm_resource --stop/--unmanage, pcs resource disable): left alone
# unless the declaration names them.
OPERATOR_META = frozenset({"target-role", "is-managed"})
_VALID_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def check_id(ident, what):
    if not isinstance(ident, str) or not _VALID_ID.match(ident):
        raise SpecError(f"{what} {ident!r} is not a valid Pacemaker id (letters, digits, '_', '.', '-'; not starting with a digit)")
    return ident


def _mapping(value, culprit):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SpecError(f"{culprit} must be a mapping of name: value, got {type(value).__name__}")
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            raise SpecError(f"{culprit}.{key} must be a plain value, got {type(item).__name__}")
    return {str(k): v for k, v in value.items()}


class Spec:
    """What every spec offers the session; most specs name no resources and no secrets."""

    def references(self):
        """Resource ids that must exist once all specs of a write are applied."""
        return []

    def secrets(self, ctx):  # pylint: disable=unused-argument
        """``{resource id: parameter names}`` to mask in reported changes."""
        return {}

    def apply(self, cib, ctx):
        raise NotImplementedError


# -- durations --------------------------------------------------------------
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$", re.I)
_ISO = re.compile(r"^P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)$", re.I)
_UNIT_MS = {None: 1000, "s": 1000, "sec": 1000, "ms": 1, "msec": 1, "us": 0.001, "usec": 0.001,
            "m": 60000, "min": 60000, "h": 3600000, "hr": 3600000}


def duration_ms(text):
    """Milliseconds of a Pacemaker duration ("10", "10s", "1min", "PT1M"), or None."""
    text = nvsets.as_text(text)
    match = _DURATION.match(text)
    if match:
        return int(match.group(1)) * _UNIT_MS[(match.group(2) or "").lower() or None]
    match = _ISO.match(text.strip())
    if match and any(match.groups()):
        h, m, s = (int(g or 0) for g in match.groups())
        return ((h * 60 + m) * 60 + s) * 1000
    return None


def same_duration(a, b):
    if a == b:
        return True
    da, db = duration_ms(a), duration_ms(b)
    return da is not None and da == db


# -- resources ---------------------------------------------------------------
OP_DURATION_ATTRS = {"interval", "timeout", "start-delay", "interval-origin"}


@dataclass
class OpSpec:
    name: str
    interval: str = "0s"
    attrs: dict = field(default_factory=dict)
    interval_given: bool = True
    advised: dict = field(default_factory=dict)  # the agent's advice: set on a new op, left as found on an existing one

    @classmethod
    def parse(cls, raw, culprit):
        if not isinstance(raw, dict) or "name" not in raw:
            raise SpecError(f"{culprit}: each op must be a mapping with a 'name' (e.g. name: monitor, interval: 10s), got {raw!r}")
        attrs = {str(k): nvsets.as_text(v) for k, v in raw.items() if k not in ("name", "interval")}
        return cls(str(raw["name"]), nvsets.as_text(raw.get("interval", "0s")), attrs, interval_given="interval" in raw)

    def key(self):
        ms = duration_ms(self.interval)
        return (self.name, ms if ms is not None else self.interval, self.attrs.get("role", ""))


def _op_key(element):
    ms = duration_ms(element.get("interval", "0"))
    return (element.get("name"), ms if ms is not None else element.get("interval"), element.get("role", ""))


@dataclass
class CloneSpec:
    id: str
    meta: dict | None = None
    promotable: bool = False


@dataclass
class ResourceSpec(Spec):
    """A primitive, optionally cloned or in a group.

    ``params``, ``meta``, ``ops``, ``utilization`` set to None are not managed
    (a resource adopted from pcs keeps its default operations); a value makes
    that part exact. ``clone``/``group`` None leave the placement alone, False
    says "not cloned"/"not grouped".
    """

    id: str
    agent: AgentRef
    params: dict | None = None
    meta: dict | None = None
    ops: list | None = None
    utilization: dict | None = None
    clone: CloneSpec | bool | None = None
    group: str | bool | None = None
    secret_params: frozenset = frozenset()
    check_agent: bool = True
    local_secrets: bool = False
    default_ops: bool = True  # on create, the operations the agent advises (pcs resource create does the same)
    created_meta: dict | None = None  # meta attributes set only when this spec creates the resource

    @classmethod
    def build(cls, name, agent, *, params=None, meta=None, ops=None, utilization=None, clone=None,
              clone_id=None, clone_meta=None, promotable=False, group=None, secret_params=None, check_agent=True,
              secrets_in_cib=True, default_ops=True, created_meta=None):
        check_id(name, "resource")
        culprit = f"resource {name!r}"
        agent_ref = AgentRef.parse(agent, culprit=culprit)
        op_specs = None
        if ops is not None:
            if not isinstance(ops, list):
                raise SpecError(f"{culprit}: ops must be a list of mappings")
            op_specs = [OpSpec.parse(op, culprit) for op in ops]
            keys = [op.key() for op in op_specs]
            if len(set(keys)) != len(keys):
                raise SpecError(f"{culprit}: two ops share the same name and interval")
        clone_spec = clone
        if clone or promotable or clone_meta:
            if isinstance(clone, dict):
                clone_meta = {**clone, **(clone_meta or {})}
            clone_spec = CloneSpec(
                id=check_id(clone_id or f"{name}-clone", "clone"),
                meta=_mapping(clone_meta, f"{culprit} clone meta"),
                promotable=bool(promotable),
            )
        if group and clone_spec:
            raise SpecError(f"{culprit}: a primitive is either cloned or in a group; clone the group instead (pcmk.clone)")
        if group:
            check_id(group, "group")
        if secret_params is not None and not isinstance(secret_params, (list, tuple, set, frozenset)):
            raise SpecError(f"{culprit}: secret_params must be a list of parameter names")
        if not isinstance(default_ops, bool):
            raise SpecError(f"{culprit}: default_ops must be true or false, got {default_ops!r}")
        return cls(
            id=name,
            agent=agent_ref,
            params=_mapping(params, f"{culprit} params"),
            meta=_mapping(meta, f"{culprit} meta"),
            ops=op_specs,
            utilization=_mapping(utilization, f"{culprit} utilization"),
            clone=clone_spec,
            group=group,
            secret_params=frozenset(secret_params or ()),
            check_agent=check_agent,
            local_secrets=not secrets_in_cib,
            default_ops=default_ops,
            created_meta=created_meta,
        )

    def references(self):
        return []

    def secrets(self, ctx):
        found = set(self.secret_params)
        if self.check_agent and ctx.metadata is not None:
            found |= ctx.metadata.get(self.agent, resource_id=self.id).private_parameters
        return {self.id: found}

    def apply(self, cib, ctx):
        agent_meta = None
        if self.check_agent and ctx.metadata is not None:
            agent_meta = ctx.metadata.get(self.agent, resource_id=self.id)
            agent_meta.check_params(self.id, self.params if self.params is not None else {})
        primitive = cib.by_id(self.id)
        if primitive is not None and primitive.tag != "primitive":
            raise SpecError(f"resource {self.id!r}: the id is already used by a <{primitive.tag}>")
        created = primitive is None
        if created:
            primitive = etree.Element("primitive", id=self.id)
            _place_new(cib, primitive, self)
        for attr, value in (("class", self.agent.standard), ("provider", self.agent.provider), ("type", self.agent.type)):
            if value is None:
                primitive.attrib.pop(attr, None)
            elif primitive.get(attr) != value:
                primitive.set(attr, value)
        params = self.params
        if params is not None and self.local_secrets:
            params = ctx.keep_local(self.id, params, self.secrets(ctx)[self.id])
        nvsets.sync(cib, primitive, "instance_attributes", params, set_id=f"{self.id}-instance_attributes")
        meta_keep = (OPERATOR_META | set(self.created_meta or ())) - set(self.meta or ())
        meta = self.meta
        if created and self.created_meta:
            meta = {**self.created_meta, **(meta or {})}
        nvsets.sync(cib, primitive, "meta_attributes", meta, set_id=f"{self.id}-meta_attributes", keep=meta_keep)
        nvsets.sync(cib, primitive, "utilization", self.utilization, set_id=f"{self.id}-utilization")
        ops, keep = self._operations(agent_meta, created, cib)
        if ops is not None:
            _sync_ops(cib, primitive, ops, keep=keep)
        _place(cib, primitive, self)

    def _operations(self, agent_meta, created, cib):
        """The ops to make exact, and the op names to leave as they are.

        A declared op is completed from the agent's advice for the same
        operation (an explicit attribute wins), so ``{name: monitor, interval:
        10s}`` keeps the advised timeout. Operations the agent advises that the
        declaration does not name are added on create (unless ``default_ops``
        is false; a monitor always is) and left alone on an existing resource,
        which is what makes a pcs-made resource adoptable without churn.
        """
        if agent_meta is None:
            return self.ops, set()
        advised = [OpSpec.parse(op, f"resource {self.id!r}") for op in _roles_for(cib, agent_meta.advised_operations())]
        declared_names = {op.name for op in self.ops or ()}
        completed = [_complete(op, advised) for op in self.ops or ()]
        if created:
            wanted = [op for op in advised if op.name not in declared_names
                      and (self.default_ops or (op.name == "monitor" and "monitor" not in declared_names))]
            return completed + wanted, set()
        if self.ops is None:
            return None, set()
        return completed, agent_meta.operation_names - declared_names


_LEGACY_ROLES = {"Promoted": "Master", "Unpromoted": "Slave"}
_NEW_ROLES = {v: k for k, v in _LEGACY_ROLES.items()}


def _roles_for(cib, ops):
    """Role names as the CIB's schema spells them (Promoted/Unpromoted from pacemaker-3.7 on)."""
    match = re.match(r"pacemaker-(\d+)\.(\d+)", cib.validate_with)
    legacy = bool(match) and (int(match.group(1)), int(match.group(2))) < (3, 7)
    names = _LEGACY_ROLES if legacy else _NEW_ROLES
    return [{**op, "role": names.get(op["role"], op["role"])} if "role" in op else op for op in ops]


def _complete(op, advised):
    """``op`` with the attributes the agent advises for the same operation and role filled in."""
    for candidate in advised:
        if candidate.name == op.name and candidate.attrs.get("role", "") == op.attrs.get("role", ""):
            interval = op.interval if op.interval_given else candidate.interval
            advised = {k: v for k, v in candidate.attrs.items() if k not in op.attrs}
            return OpSpec(op.name, interval, op.attrs, interval_given=True, advised=advised)
    return op


def _resources(cib):
    return cib.section("resources", create=True)


def _place_new(cib, primitive, spec):
    if spec.group:
        group = cib.by_id(spec.group)
        if group is not None and group.tag != "group":
            raise SpecError(f"resource {spec.id!r}: {spec.group!r} is a <{group.tag}>, not a group")
        if group is None:
            group = etree.SubElement(_resources(cib), "group", id=spec.group)
        group.append(primitive)
    else:
        _resources(cib).append(primitive)


def _sync_ops(cib, primitive, ops, keep=frozenset()):
    """Make the ops exact, leaving those whose name is in ``keep`` as they are."""
    operations = primitive.find("operations")
    if operations is None:
        if not ops:
            return
        operations = etree.SubElement(primitive, "operations")
    existing = {}
    for op in list(operations.findall("op")):
        key = _op_key(op)
        if op.get("name") in keep and key not in existing:
            continue
        if key in existing or key not in {o.key() for o in ops}:
            operations.remove(op)
        else:
            existing[key] = op
    for spec in ops:
        op = existing.get(spec.key())
        attrs = spec.attrs
        if op is None:
            op_id = cib.unique_id(f"{primitive.get('id')}-{nvsets.id_part(spec.name)}-interval-{nvsets.id_part(spec.interval)}")
            op = etree.SubElement(operations, "op", id=op_id, name=spec.name, interval=spec.interval)
            attrs = {**spec.advised, **spec.attrs}
        elif not same_duration(op.get("interval"), spec.interval):
            op.set("interval", spec.interval)
        for attr in [a for a in op.attrib if a not in ("id", "name", "interval", *spec.attrs, *spec.advised)]:
            del op.attrib[attr]
        for attr, value in attrs.items():
            current = op.get(attr)
            if current is None or not (same_duration(current, value) if attr in OP_DURATION_ATTRS else nvsets.same_value(current, value)):
                op.set(attr, value)
    if len(operations) == 0:
        primitive.remove(operations)


def _detach(element):
    """Remove ``element`` from its parent; drop a clone or group left empty."""
    parent = element.getparent()
    parent.remove(element)
    if parent.tag in ("clone", "master") or (parent.tag == "group" and parent.find("primitive") is None):
        _detach(parent)


def _clone_of(cib, element, clone_spec, culprit):
    """The clone that is to hold ``element``: the declared one, the one it is in
    already (crmsh names clones otherwise: adopted, not doubled), or a new one
    where the element stands."""
    clone = cib.by_id(clone_spec.id)
    if clone is not None and clone.tag not in ("clone", "master"):
        raise SpecError(f"{culprit}: clone id {clone_spec.id!r} is already used by a <{clone.tag}>")
    if clone is not None:
        return clone
    parent = element.getparent()
    if parent.tag in ("clone", "master"):
        return parent
    clone = etree.Element("clone", id=clone_spec.id)
    if parent.tag == "resources":
        parent.insert(parent.index(element), clone)
    else:
        _resources(cib).append(clone)
    return clone


def _sync_clone_meta(cib, clone, clone_spec):
    """Clone meta attributes as declared; ``promotable`` adds promotable=true (a <master> is promotable already)."""
    meta = dict(clone_spec.meta) if clone_spec.meta is not None else None
    if clone_spec.promotable and clone.tag == "clone":
        meta = {**(meta if meta is not None else nvsets.values(clone, "meta_attributes")), "promotable": "true"}
    nvsets.sync(cib, clone, "meta_attributes", meta, set_id=f"{clone.get('id')}-meta_attributes",
                keep=OPERATOR_META - set(meta or ()), insert_at=0)


def _place(cib, primitive, spec):
    parent = primitive.getparent()
    if spec.clone:
        clone = _clone_of(cib, primitive, spec.clone, f"resource {spec.id!r}")
        if parent is not clone:
            _detach(primitive)
            clone.append(primitive)
        _sync_clone_meta(cib, clone, spec.clone)
    elif spec.clone is False and parent.tag in ("clone", "master"):
        _detach(primitive)
        _resources(cib).append(primitive)
    if spec.group:
        if parent.tag != "group" or parent.get("id") != spec.group:
            group = cib.by_id(spec.group)
            if group is not None and group.tag != "group":
                raise SpecError(f"resource {spec.id!r}: {spec.group!r} is a <{group.tag}>, not a group")
            if primitive.getparent() is not None and primitive.getparent().tag != "resources":
                _detach(primitive)
            elif primitive.getparent() is not None:
                primitive.getparent().remove(primitive)
            if group is None:
                group = etree.SubElement(_resources(cib), "group", id=spec.group)
            group.append(primitive)
    elif spec.group is False and parent.tag == "group":
        _detach(primitive)
        _resources(cib).append(primitive)


@dataclass
class GroupSpec(Spec):
    """An ordered group of existing (or same-run) primitives."""

    id: str
    members: list
    meta: dict | None = None

    @classmethod
    def build(cls, name, resources, meta=None):
        check_id(name, "group")
        if not isinstance(resources, list) or not resources:
            raise SpecError(f"group {name!r}: resources must be a non-empty list of primitive ids")
        for member in resources:
            check_id(member, f"group {name!r} member")
        if len(set(resources)) != len(resources):
            raise SpecError(f"group {name!r}: a member is listed twice")
        return cls(name, list(resources), _mapping(meta, f"group {name!r} meta"))

    def references(self):
        return list(self.members)


    def apply(self, cib, ctx):
        group = cib.by_id(self.id)
        if group is not None and group.tag != "group":
            raise SpecError(f"group {self.id!r}: the id is already used by a <{group.tag}>")
        members = []
        for member in self.members:
            element = cib.by_id(member)
            if element is None:
                raise NotFound(f"group {self.id!r}: member {member!r} does not exist")
            if element.tag != "primitive":
                raise SpecError(f"group {self.id!r}: member {member!r} is a <{element.tag}>; groups hold primitives")
            members.append(element)
        if group is None:
            group = etree.Element("group", id=self.id)
            first_parent = members[0].getparent()
            if first_parent.tag == "resources":
                first_parent.insert(first_parent.index(members[0]), group)
            else:
                _resources(cib).append(group)
        current = [child.get("id") for child in group.findall("primitive")]
        if current != self.members:
            for element in members:
                if element.getparent() is not group:
                    if element.getparent().tag in ("clone", "master"):
                        raise SpecError(f"group {self.id!r}: member {element.get('id')!r} is cloned; clone the group instead")
                    if element.getparent().tag == "group":
                        _detach(element)
                    else:
                        element.getparent().remove(element)
            for element in group.findall("primitive"):
                if element.get("id") not in self.members:
                    group.remove(element)
                    _resources(cib).append(element)
            for element in members:
                group.append(element)  # appending moves it, giving the declared order
        nvsets.sync(cib, group, "meta_attributes", self.meta, set_id=f"{self.id}-meta_attributes",
                    keep=OPERATOR_META - set(self.meta or ()), insert_at=0)


@dataclass
class CloneOfSpec(Spec):
    """Clone an existing primitive or group (``pcmk.clone``)."""

    rsc: str
    clone: CloneSpec

    @classmethod
    def build(cls, rsc, clone_id=None, meta=None, promotable=False):
        check_id(rsc, "clone resource")
        return cls(rsc, CloneSpec(check_id(clone_id or f"{rsc}-clone", "clone"), _mapping(meta, f"clone of {rsc!r} meta"), bool(promotable)))

    def references(self):
        return [self.rsc]


    def apply(self, cib, ctx):
        element = cib.by_id(self.rsc)
        if element is None or element.tag not in ("primitive", "group"):
            raise NotFound(f"clone {self.clone.id!r}: resource {self.rsc!r} does not exist (or is not a primitive or group)")
        clone = _clone_of(cib, element, self.clone, f"clone {self.clone.id!r}")
        if element.getparent() is not clone:
            if element.getparent().tag == "group":
                raise SpecError(f"clone {self.clone.id!r}: {self.rsc!r} is in group {element.getparent().get('id')!r}; clone the group")
            element.getparent().remove(element)
            clone.append(element)
        _sync_clone_meta(cib, clone, self.clone)


@dataclass
class ResourceAbsentSpec(Spec):
    """Remove a resource (primitive, group or clone) and what refers to it."""

    id: str


    def apply(self, cib, ctx):
        element = cib.resource(self.id)
        if element is None:
            return
        gone = {e.get("id") for e in element.iter() if e.get("id")}
        parent = element.getparent()
        parent.remove(element)
        # A clone or group left empty must go as well, or the CIB is invalid.
        while parent.tag in ("clone", "master", "group") and parent.find("primitive") is None and parent.find("group") is None:
            gone.add(parent.get("id"))
            grand = parent.getparent()
            grand.remove(parent)
            parent = grand
        remove_constraints_referring(cib, gone)
        if ctx is not None:
            ctx.removed.update(gone)


def remove_constraints_referring(cib, resource_ids):
    constraints = cib.section("constraints")
    if constraints is None:
        return
    for constraint in list(constraints):
        if any(constraint.get(attr) in resource_ids for attr in ("rsc", "with-rsc", "first", "then")):
            constraints.remove(constraint)
            continue
        for ref in constraint.xpath(".//resource_ref"):
            if ref.get("id") in resource_ids:
                rset = ref.getparent()
                rset.remove(ref)
                if rset.find("resource_ref") is None:
                    constraint.remove(rset)
        if constraint.find("resource_set") is None and not any(constraint.get(a) for a in ("rsc", "first", "rsc-pattern")):
            constraints.remove(constraint)


# -- constraints -----------------------------------------------------------------
CONSTRAINT_TAGS = {"location": "rsc_location", "colocation": "rsc_colocation", "order": "rsc_order"}
_SCORE_ALIASES = {"inf": "INFINITY", "+inf": "INFINITY", "infinity": "INFINITY", "+infinity": "INFINITY",
                  "-inf": "-INFINITY", "-infinity": "-INFINITY"}
# Attribute values Pacemaker assumes when absent; equal to them means "not set".
_DEFAULTS = {
    "rsc_order": {"kind": "Mandatory", "symmetrical": "true", "first-action": "start", "then-action": "start"},
    "rsc_colocation": {"rsc-role": "Started", "with-rsc-role": "Started"},
    "rsc_location": {"role": "Started"},
    "resource_set": {"sequential": "true", "require-all": "true"},
    "rule": {"boolean-op": "and"},
}
_ARG_ATTRS = {
    "location": {"rsc": "rsc", "rsc_pattern": "rsc-pattern", "node": "node", "score": "score", "role": "role",
                 "resource_discovery": "resource-discovery"},
    "colocation": {"rsc": "rsc", "with_rsc": "with-rsc", "score": "score", "rsc_role": "rsc-role",
                   "with_rsc_role": "with-rsc-role", "node_attribute": "node-attribute"},
    "order": {"first": "first", "then": "then", "order_kind": "kind", "symmetrical": "symmetrical",
              "first_action": "first-action", "then_action": "then-action"},
}
CONSTRAINT_ARGS = frozenset({"kind", "rules", "sets"}).union(*_ARG_ATTRS.values())
_SET_ATTRS = {"sequential": "sequential", "require_all": "require-all", "role": "role", "action": "action",
              "ordering": "ordering", "score": "score", "kind": "kind"}


def norm_score(value):
    text = nvsets.as_text(value).strip()
    return _SCORE_ALIASES.get(text.lower(), text)


def _canonical(element):
    """Compare constraints by meaning: no ids, defaults dropped, scores spelt one way."""
    defaults = _DEFAULTS.get(element.tag, {})
    attrs = {}
    for name, value in element.attrib.items():
        if name == "id" or (element.tag == "resource_ref" and name == "id"):
            continue
        value = norm_score(value) if name == "score" else value
        if defaults.get(name) is not None and nvsets.same_value(value, defaults[name]):
            continue
        attrs[name] = value.lower() if value.lower() in ("true", "false") else value
    if element.tag == "rsc_order" and "then-action" in attrs and attrs["then-action"] == attrs.get("first-action", "start"):
        del attrs["then-action"]
    extra = element.get("id") if element.tag == "resource_ref" else None
    return (element.tag, extra, tuple(sorted(attrs.items())), tuple(_canonical(c) for c in element if isinstance(c.tag, str)))


@dataclass
class ConstraintSpec(Spec):
    id: str
    kind: str
    attrs: dict
    rules: list | None = None
    sets: list | None = None

    @classmethod
    def build(cls, name, kind, *, rules=None, sets=None, **args):
        check_id(name, "constraint")
        culprit = f"constraint {name!r}"
        if kind not in CONSTRAINT_TAGS:
            raise SpecError(f"{culprit}: kind must be one of {sorted(CONSTRAINT_TAGS)}, got {kind!r}")
        allowed = _ARG_ATTRS[kind]
        unknown = sorted(set(args) - set(allowed))
        if unknown:
            raise SpecError(f"{culprit}: unknown argument {unknown[0]!r} for a {kind} constraint (takes {sorted(allowed) + ['rules' if kind == 'location' else 'sets', 'sets']})")
        attrs = {allowed[k]: (norm_score(v) if k == "score" else nvsets.as_text(v)) for k, v in args.items() if v is not None}
        if sets is not None:
            if not isinstance(sets, list) or not sets:
                raise SpecError(f"{culprit}: sets must be a non-empty list of mappings with 'resources'")
            for index, rset in enumerate(sets):
                if not isinstance(rset, dict) or not isinstance(rset.get("resources"), list) or not rset["resources"]:
                    raise SpecError(f"{culprit}: set {index + 1} needs a 'resources' list")
                bad = sorted(set(rset) - set(_SET_ATTRS) - {"resources"})
                if bad:
                    raise SpecError(f"{culprit}: set {index + 1} has unknown key {bad[0]!r}")
        if rules is not None and kind != "location":
            raise SpecError(f"{culprit}: rules apply to location constraints only")
        if kind == "location":
            if sets is None and not (attrs.get("rsc") or attrs.get("rsc-pattern")):
                raise SpecError(f"{culprit}: a location constraint needs rsc (or rsc_pattern, or sets)")
            if rules is None and "node" not in attrs:
                raise SpecError(f"{culprit}: a location constraint needs node and score, or rules")
            if rules is not None and ("node" in attrs or "score" in attrs):
                raise SpecError(f"{culprit}: give either node/score or rules, not both")
            if rules is None and "score" not in attrs:
                attrs["score"] = "INFINITY"
        elif kind == "colocation":
            if sets is None and not (attrs.get("rsc") and attrs.get("with-rsc")):
                raise SpecError(f"{culprit}: a colocation constraint needs rsc and with_rsc (or sets)")
            attrs.setdefault("score", "INFINITY")
        elif kind == "order":
            if sets is None and not (attrs.get("first") and attrs.get("then")):
                raise SpecError(f"{culprit}: an order constraint needs first and then (or sets)")
        if rules is not None:
            if not isinstance(rules, list) or not rules:
                raise SpecError(f"{culprit}: rules must be a non-empty list")
            for index, rule in enumerate(rules):
                if not isinstance(rule, dict) or not isinstance(rule.get("expressions"), list) or not rule["expressions"]:
                    raise SpecError(f"{culprit}: rule {index + 1} needs an 'expressions' list")
        return cls(name, kind, attrs, rules, sets)

    def references(self):
        refs = [self.attrs[a] for a in ("rsc", "with-rsc", "first", "then") if a in self.attrs]
        for rset in self.sets or ():
            refs.extend(rset["resources"])
        return refs


    def element(self, ident):
        tag = CONSTRAINT_TAGS[self.kind]
        element = etree.Element(tag, id=ident)
        for name, value in self.attrs.items():
            element.set(name, value)
        for index, rset in enumerate(self.sets or (), start=1):
            set_el = etree.SubElement(element, "resource_set", id=f"{ident}-set-{index}")
            for key, value in rset.items():
                if key != "resources":
                    set_el.set(_SET_ATTRS[key], norm_score(value) if key == "score" else nvsets.as_text(value))
            for rsc in rset["resources"]:
                etree.SubElement(set_el, "resource_ref", id=rsc)
        for index, rule in enumerate(self.rules or (), start=1):
            rule_id = f"{ident}-rule" if len(self.rules) == 1 else f"{ident}-rule-{index}"
            rule_el = etree.SubElement(element, "rule", id=rule_id)
            for key in ("score", "score_attribute", "role"):
                if key in rule:
                    rule_el.set(key.replace("_", "-"), norm_score(rule[key]) if key == "score" else nvsets.as_text(rule[key]))
            if "boolean_op" in rule:
                rule_el.set("boolean-op", nvsets.as_text(rule["boolean_op"]))
            if "score" not in rule and "score_attribute" not in rule:
                rule_el.set("score", "INFINITY")
            for number, expr in enumerate(rule["expressions"]):
                expr_id = f"{rule_id}-expr" + (f"-{number}" if number else "")
                expr_el = etree.SubElement(rule_el, "expression", id=expr_id)
                for key in ("attribute", "operation", "value", "type", "value_source"):
                    if key in expr:
                        expr_el.set(key.replace("value_source", "value-source"), nvsets.as_text(expr[key]))
        return element

    def _identity(self):
        if self.sets or self.rules:
            return None
        keys = {"location": ("rsc", "node"), "colocation": ("rsc", "with-rsc"), "order": ("first", "then")}[self.kind]
        return tuple(self.attrs.get(k) for k in keys)

    def find_existing(self, cib):
        tag = CONSTRAINT_TAGS[self.kind]
        existing = cib.by_id(self.id)
        if existing is not None:
            if existing.tag != tag:
                raise SpecError(f"constraint {self.id!r}: the id is already used by a <{existing.tag}>")
            return existing
        identity = self._identity()
        constraints = cib.section("constraints")
        if identity is None or constraints is None:
            return None
        keys = {"location": ("rsc", "node"), "colocation": ("rsc", "with-rsc"), "order": ("first", "then")}[self.kind]
        for candidate in constraints.findall(tag):
            # Adopt a pcs/crmsh-made constraint about the same resources, so a
            # declaration never creates its duplicate; cli-* ones are bans.
            if candidate.get("id", "").startswith("cli-"):
                continue
            if tuple(candidate.get(k) for k in keys) == identity and candidate.find("rule") is None:
                return candidate
        return None

    def apply(self, cib, ctx):
        existing = self.find_existing(cib)
        ident = existing.get("id") if existing is not None else self.id
        desired = self.element(ident)
        if existing is not None:
            if _canonical(existing) == _canonical(desired):
                return
            existing.getparent().replace(existing, desired)
        else:
            cib.section("constraints", create=True).append(desired)


@dataclass
class ConstraintAbsentSpec(Spec):
    id: str


    def apply(self, cib, ctx):
        constraints = cib.section("constraints")
        if constraints is None:
            return
        for element in constraints.xpath("*[@id=$i]", i=self.id):
            constraints.remove(element)


# -- attributes in fixed places -------------------------------------------------
@dataclass
class AttributeSpec(Spec):
    """One nvpair in a well-known set: cluster property, rsc/op default, node attribute.

    ``value`` None means absent.
    """

    scope: str  # "property" | "rsc_defaults" | "op_defaults" | "node"
    name: str
    value: object = None
    node: str | None = None
    set_id: str | None = None

    SCOPES = {
        "property": ("crm_config", "cluster_property_set", "cib-bootstrap-options"),
        "rsc_defaults": ("rsc_defaults", "meta_attributes", "rsc-options"),
        "op_defaults": ("op_defaults", "meta_attributes", "op-options"),
    }

    @classmethod
    def build(cls, scope, name, value=None, node=None, set_id=None):
        if not isinstance(name, str) or not name:
            raise SpecError(f"{scope}: name must be a non-empty string, got {name!r}")
        if isinstance(value, (dict, list)):
            raise SpecError(f"{scope} {name!r}: value must be a plain value, got {type(value).__name__}")
        if scope == "node" and not node:
            raise SpecError(f"node attribute {name!r}: node is required")
        return cls(scope, name, value, node, set_id)


    def apply(self, cib, ctx):
        if self.scope == "node":
            nodes = cib.root.xpath("configuration/nodes/node[@uname=$n]", n=self.node)
            if not nodes:
                known = ", ".join(cib.node_names()) or "none"
                raise NotFound(f"node attribute {self.name!r}: node {self.node!r} is not in the cluster (known: {known})")
            parent, set_tag, wanted_id = nodes[0], "instance_attributes", f"nodes-{nodes[0].get('id')}"
        else:
            section_name, set_tag, default_id = self.SCOPES[self.scope]
            parent = cib.section(section_name, create=self.value is not None)
            if parent is None:
                return
            wanted_id = self.set_id or default_id
        if self.set_id:
            nvset = next(iter(parent.xpath(f"{set_tag}[@id=$i]", i=wanted_id)), None)
        else:
            nvset = nvsets.plain_set(parent, set_tag)
        if nvset is None:
            if self.value is None:
                return
            nvset = etree.SubElement(parent, set_tag, id=cib.unique_id(wanted_id))
        nvsets.set_value(cib, nvset, self.name, self.value)
        if self.value is None and len(nvset) == 0:
            parent.remove(nvset)
            if parent.tag in ("rsc_defaults", "op_defaults") and len(parent) == 0:
                parent.getparent().remove(parent)


@dataclass
class FencingLevelSpec(Spec):
    target: str
    index: int
    devices: list
    present: bool = True

    @classmethod
    def build(cls, target, index, devices=None, present=True):
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise SpecError(f"fencing level for {target!r}: index must be an integer 1-9, got {index!r}") from None
        if not 1 <= index <= 9:
            raise SpecError(f"fencing level for {target!r}: index must be 1-9, got {index}")
        if present:
            if isinstance(devices, str):
                devices = [d for d in devices.split(",") if d]
            if not devices:
                raise SpecError(f"fencing level {target!r}/{index}: devices must name at least one stonith resource")
        return cls(str(target), index, list(devices or ()), present)

    def references(self):
        return list(self.devices) if self.present else []


    def apply(self, cib, ctx):
        topology = cib.section("fencing-topology", create=self.present)
        if topology is None:
            return
        found = topology.xpath("fencing-level[@target=$t and @index=$i]", t=self.target, i=str(self.index))
        if not self.present:
            for element in found:
                topology.remove(element)
            if len(topology) == 0:
                topology.getparent().remove(topology)
            return
        for device in self.devices:
            element = cib.by_id(device)
            if element is None or element.tag != "primitive" or element.get("class") != "stonith":
                raise NotFound(f"fencing level {self.target!r}/{self.index}: {device!r} is not a stonith resource")
        devices = ",".join(self.devices)
        if found:
            if found[0].get("devices") != devices:
                found[0].set("devices", devices)
            return
        etree.SubElement(topology, "fencing-level", id=cib.unique_id(f"fl-{nvsets.id_part(self.target)}-{self.index}"),
                         target=self.target, index=str(self.index), devices=devices)


@dataclass
class ResourceMetaSpec(Spec):
    """One meta attribute of any resource (``target-role`` for start/stop)."""

    id: str
    name: str
    value: object = None

    def references(self):
        return [self.id]


    def apply(self, cib, ctx):
        element = cib.resource(self.id)
        if element is None:
            raise NotFound(f"resource {self.id!r} does not exist")
        nvset = nvsets.plain_set(element, "meta_attributes")
        if nvset is None:
            if self.value is None:
                return
            nvset = etree.Element("meta_attributes", id=cib.unique_id(f"{self.id}-meta_attributes"))
            element.insert(0, nvset)
        nvsets.set_value(cib, nvset, self.name, self.value)
        if len(nvset) == 0:
            element.remove(nvset)
