"""A primitive as declared (agent or template, params, meta, ops, placement), and any resource absent.

What a primitive shares with a resource template (:mod:`.template`) is
:class:`AgentSpec`: the agent and its meta-data checks, params, meta,
utilization, description, and operations completed from the agent's advice
(see :meth:`AgentSpec._operations`).
"""

from dataclasses import dataclass, field

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.cib.metadata import AgentRef
from saltext.pcmk.utils.errors import SpecError

from .base import (
    OPERATOR_META,
    Spec,
    check_attribute_name,
    check_id,
    check_mapping,
    check_nvsets,
    check_texts,
    clone_id_for,
    duration_ms,
    role_for,
    role_meaning,
    same_duration,
    set_attr,
)
from .constraint import remove_constraints_referring
from .placement import CloneSpec, place, place_new
from .values import check_meta, check_op, check_utilization

OP_DURATION_ATTRS = {"interval", "timeout", "start-delay", "interval-origin"}


@dataclass
class OpSpec:
    name: str
    interval: str = "0s"
    attrs: dict = field(default_factory=dict)
    interval_given: bool = True
    advised: dict = field(default_factory=dict)  # the agent's advice: set on a new op, left as found on an existing one
    params: dict | None = None  # the op's own instance attributes (OCF_CHECK_LEVEL); None: left as found

    @classmethod
    def parse(cls, raw, culprit, *, check=True):
        """An op as declared (``check``: its values checked; the agent's advice is taken as it is)."""
        if not isinstance(raw, dict) or "name" not in raw:
            raise SpecError(
                f"{culprit}: each op must be a mapping with a 'name' (e.g. name: monitor, interval: 10s), got {raw!r}"
            )
        for key in raw:
            check_attribute_name(key, f"{culprit} op {raw['name']}")
        # An attribute given as null is "not set", so the agent's advice does not fill it in.
        attrs = {
            str(k): None if v is None else nvsets.as_text(v)
            for k, v in raw.items()
            if k not in ("name", "interval", "params")
        }
        for key, value in raw.items():
            if isinstance(value, (dict, list)) and key != "params":
                raise SpecError(f"{culprit}: op {raw['name']} {key} must be a plain value, got {value!r}")
        if check:
            check_op(raw["name"], attrs, raw.get("interval"), culprit)
        return cls(
            str(raw["name"]),
            nvsets.as_text(raw.get("interval", "0s")),
            attrs,
            interval_given="interval" in raw,
            params=check_mapping(raw.get("params"), f"{culprit} op {raw['name']} params"),
        )

    def key(self):
        ms = duration_ms(self.interval)
        return (self.name, ms if ms is not None else self.interval, role_meaning(self.attrs.get("role") or ""))


def _op_key(element):
    ms = duration_ms(element.get("interval", "0"))
    return (
        element.get("name"),
        ms if ms is not None else element.get("interval"),
        role_meaning(element.get("role", "")),
    )


# What a resource declaration says besides its id and agent, with the YAML types
# accepted for each: ResourceSpec.build's keyword arguments, the pcmk.resource
# state's, and the pillar's per-service keys all come from this one table
# (build checks the values in depth).
RESOURCE_ARGUMENTS = {
    "params": (dict, list),
    "meta": (dict, list),
    "ops": list,
    "utilization": (dict, list),
    "clone": (bool, dict),
    "clone_id": str,
    "clone_meta": dict,
    "promotable": bool,
    "group": str,
    "secret_params": list,
    "secrets_in_cib": bool,
    "default_ops": bool,
    "check_agent": bool,
    "description": str,
    "template": str,
}


def declares_clone(args):
    """Whether resource arguments ``args`` make a clone (the one rule build and its callers share)."""
    return bool(args.get("clone") or args.get("promotable") or args.get("clone_meta"))


@dataclass
class AgentSpec(Spec):
    """What a primitive and a resource template share: an agent whose meta-data
    checks the parameters and advises the operations, ``params``, ``meta``,
    ``utilization``, ``ops`` and a description.

    ``params``, ``meta``, ``ops``, ``utilization`` set to None are not managed
    (a resource adopted from pcs keeps its default operations); a value makes
    that part exact. ``description`` None is left as found, ``""`` removes it.
    """

    KIND = "resource"  # how errors name the object

    id: str
    agent: AgentRef | None
    params: dict | None = None
    meta: dict | None = None
    ops: list | None = None
    utilization: dict | None = None
    secret_params: frozenset = frozenset()
    check_agent: bool = True
    default_ops: bool = True  # on create, the operations the agent advises (pcs resource create does the same)
    description: str | None = None  # None: left as found; "": none

    @classmethod
    def agent_fields(
        cls,
        name,
        agent,
        *,
        params=None,
        meta=None,
        ops=None,
        utilization=None,
        secret_params=None,
        check_agent=True,
        default_ops=True,
        description=None,
    ):
        """The checked keyword arguments of :class:`AgentSpec` (``agent`` None: none given)."""
        check_id(name, cls.KIND)
        culprit = f"{cls.KIND} {name!r}"
        op_specs = None
        if ops is not None:
            if not isinstance(ops, list):
                raise SpecError(f"{culprit}: ops must be a list of mappings")
            op_specs = [OpSpec.parse(op, culprit) for op in ops]
            keys = [op.key() for op in op_specs]
            if len(set(keys)) != len(keys):
                raise SpecError(f"{culprit}: two ops share the same name and interval")
        if secret_params is not None and not isinstance(secret_params, (list, tuple, set, frozenset)):
            raise SpecError(f"{culprit}: secret_params must be a list of parameter names")
        for secret in secret_params or ():
            if not isinstance(secret, str) or not secret:
                raise SpecError(f"{culprit}: secret_params {secret!r} is not a parameter name")

        if not isinstance(default_ops, bool):
            raise SpecError(f"{culprit}: default_ops must be true or false, got {default_ops!r}")
        meta = check_nvsets(meta, f"{culprit} meta")
        check_meta(meta, culprit)
        utilization = check_nvsets(utilization, f"{culprit} utilization")
        check_utilization(utilization, culprit)
        return {
            "id": name,
            "agent": None if agent is None else AgentRef.parse(agent, culprit=culprit),
            "params": check_nvsets(params, f"{culprit} params"),
            "meta": meta,
            "ops": op_specs,
            "utilization": utilization,
            "secret_params": frozenset(secret_params or ()),
            "check_agent": check_agent,
            "default_ops": default_ops,
            "description": None if description is None else nvsets.as_text(description),
        }

    def agent_in_use(self):
        """The agent whose meta-data applies (a primitive made from a template: the template's)."""
        return self.agent

    def secrets(self, ctx):
        found = set(self.secret_params)
        agent = self.agent_in_use()
        if self.check_agent and ctx is not None and ctx.metadata is not None and agent is not None:
            found |= ctx.metadata.get(agent, resource_id=self.id, kind=self.KIND).private_parameters
        return {self.id: found}

    def checked_agent(self, ctx, agent, element, *, required, inherited=()):
        """The agent's meta-data once ``params`` passed its check (None: checks off).

        Parameters an older agent took may stay as the CIB holds them
        (adopting a cluster made years ago); ``required``: whether the agent's
        required parameters must be given (``inherited``: names given elsewhere).
        """
        if not self.check_agent or ctx is None or ctx.metadata is None:
            return None
        agent_meta = ctx.metadata.get(agent, resource_id=self.id, kind=self.KIND)
        declared = nvsets.declared_values(self.params)
        agent_meta.check_params(
            self.id,
            declared if declared is not None else {},
            legacy=set() if element is None else _held(element, declared or {}),
            required=required,
            inherited=inherited,
            kind=self.KIND,
        )
        for op in self.ops or ():
            agent_meta.check_operation(self.KIND, self.id, op.name)
        for secret in sorted(self.secret_params):
            known_here = secret in agent_meta.parameters or secret in (declared or {}) or secret in inherited
            if not known_here and not agent_meta.implicit(secret):
                known = ", ".join(sorted(agent_meta.parameters)) or "none"
                raise SpecError(
                    f"{self.KIND} {self.id!r}: secret_params names {secret!r}, which agent {agent} has no parameter"
                    f" of (it takes: {known}); the value would not be masked"
                )
        return agent_meta

    def sync_parts(self, cib, element, agent_meta, created, *, params, meta, meta_keep, inherited_ops=None):
        """Description, params, meta, utilization and ops of ``element`` as declared.

        ``inherited_ops`` (a primitive made from a template): the template's
        ops, which the primitive takes from Pacemaker; no advised op is added
        on create, and a declared op is completed from the template's op of
        the same name and role (the one it replaces) before the agent's advice.
        """
        if self.description is not None:
            set_attr(element, "description", self.description or None)
        nvsets.sync(cib, element, "instance_attributes", params, set_id=f"{self.id}-instance_attributes")
        nvsets.sync(cib, element, "meta_attributes", meta, set_id=f"{self.id}-meta_attributes", keep=meta_keep)
        nvsets.sync(cib, element, "utilization", self.utilization, set_id=f"{self.id}-utilization")
        ops, keep = self._operations(agent_meta, created, cib, inherited_ops)
        if ops is not None:
            _sync_ops(cib, element, ops, keep=keep)

    def _operations(self, agent_meta, created, cib, inherited_ops=None):
        """The ops to make exact, and the op names to leave as they are.

        A declared op is completed from the agent's advice for the same
        operation (an explicit attribute wins), so ``{name: monitor, interval:
        10s}`` keeps the advised timeout. Operations the agent advises that the
        declaration does not name are added on create (unless ``default_ops``
        is false; a monitor always is) and left alone on an existing resource,
        which is what makes a pcs-made resource adoptable without churn. A
        primitive made from a template (``inherited_ops`` not None) gets none
        of them on create: Pacemaker gives it the template's.
        """
        if agent_meta is None and not inherited_ops:
            return self.ops, set()
        culprit = f"{self.KIND} {self.id!r}"
        advised = (
            []
            if agent_meta is None
            else [OpSpec.parse(op, culprit, check=False) for op in _roles_for(cib, agent_meta.advised_operations())]
        )
        declared_names = {op.name for op in self.ops or ()}
        completed = [_complete(op, [*(inherited_ops or ()), *advised]) for op in self.ops or ()]
        if created:
            wanted = [
                op
                for op in advised
                if inherited_ops is None
                and op.name not in declared_names
                # default_ops false: a monitor, as pcs --no-default-ops gives, unless ops are
                # declared, which are then exactly what the resource gets.
                and (self.default_ops or (self.ops is None and op.name == "monitor"))
            ]
            return completed + wanted, set()
        if self.ops is None:
            return None, set()
        return completed, (agent_meta.operation_names - declared_names) if agent_meta is not None else set()


def check_promotable(agent_meta, culprit):
    """Refuse promoting an agent whose meta-data lists no promote and demote actions."""
    if agent_meta.actions and not agent_meta.promotable:
        raise SpecError(
            f"{culprit}: agent {agent_meta.agent} has no promote and demote actions"
            f" (it has: {', '.join(sorted(set(agent_meta.actions)))}), so it cannot be a promotable clone"
        )


def set_agent(element, agent):
    """``class``, ``provider`` and ``type`` of ``element`` as ``agent`` says (None: removed)."""
    for attr, value in (
        ("class", None if agent is None else agent.standard),
        ("provider", None if agent is None else agent.provider),
        ("type", None if agent is None else agent.type),
    ):
        set_attr(element, attr, value)


@dataclass
class ResourceSpec(AgentSpec):
    """A primitive, from an agent or a resource template, optionally cloned or in a group.

    ``clone``/``group`` None leave the placement alone, False says "not
    cloned"/"not grouped". With ``template`` the primitive takes its agent,
    params, meta, utilization and ops from that ``<template>`` (Pacemaker
    merges them; what the primitive holds wins), and ``agent`` is None.
    """

    clone: CloneSpec | bool | None = None
    group: str | bool | None = None
    local_secrets: bool = False
    created_meta: dict | None = None  # meta attributes set only when this spec creates the resource
    template: str | None = None
    # The template's agent, as the last apply found it (for secrets()).
    template_agent: AgentRef | None = field(default=None, init=False, repr=False, compare=False)
    _element: object = field(default=None, init=False, repr=False, compare=False)  # the primitive, after apply

    @classmethod
    def build(
        cls,
        name,
        agent=None,
        *,
        params=None,
        meta=None,
        ops=None,
        utilization=None,
        clone=None,
        clone_id=None,
        clone_meta=None,
        promotable=False,
        group=None,
        secret_params=None,
        check_agent=True,
        secrets_in_cib=True,
        default_ops=True,
        created_meta=None,
        description=None,
        template=None,
    ):
        check_id(name, "resource")
        culprit = f"resource {name!r}"
        # The execution module and the pillar build resources here, not through builders.build.
        check_texts(
            {
                "params": params,
                "meta": meta,
                "ops": ops,
                "utilization": utilization,
                "clone": clone,
                "description": description,
            },
            culprit,
        )
        if agent is not None and template is not None:
            raise SpecError(
                f"{culprit}: give agent or template, not both (agent {agent!r}, template {template!r}): "
                "a primitive made from a template takes the template's agent"
            )
        if agent is None and template is None:
            raise SpecError(
                f"{culprit}: an agent (such as ocf:heartbeat:IPaddr2) or a template (a pcmk.resource_template id) is needed"
            )
        if template is not None:
            check_id(template, f"{culprit} template")
            if template == name:
                raise SpecError(f"{culprit}: a primitive cannot be made from itself as template")
        fields = cls.agent_fields(
            name,
            agent,
            params=params,
            meta=meta,
            ops=ops,
            utilization=utilization,
            secret_params=secret_params,
            check_agent=check_agent,
            default_ops=default_ops,
            description=description,
        )
        clone_spec = clone
        if declares_clone({"clone": clone, "promotable": promotable, "clone_meta": clone_meta}):
            if isinstance(clone, dict):
                clone_meta = {**clone, **(clone_meta or {})}
            clone_meta = check_mapping(clone_meta, f"{culprit} clone meta")
            check_meta(clone_meta, culprit, what="clone meta")
            clone_spec = CloneSpec(
                id=check_id(clone_id_for(name, clone_id), "clone"),
                meta=clone_meta,
                promotable=bool(promotable),
            )
        if group and clone_spec:
            raise SpecError(
                f"{culprit}: a primitive is either cloned or in a group; clone the group instead (pcmk.clone)"
            )
        if group:
            check_id(group, "group")
        if not secrets_in_cib and isinstance(params, list):
            raise SpecError(f"{culprit}: secrets_in_cib false takes params as a mapping (one set), not a list of sets")
        return cls(
            **fields,
            clone=clone_spec,
            group=group,
            local_secrets=not secrets_in_cib,
            created_meta=created_meta,
            template=template,
        )

    def references(self):
        return []

    def agent_in_use(self):
        return self.template_agent if self.template is not None else self.agent

    def touched(self):
        ids: list = [self._element if self._element is not None else self.id]
        if isinstance(self.clone, CloneSpec):
            ids.append(self.clone.id)
        if isinstance(self.group, str):
            ids.append(self.group)
        return ids

    def apply(self, cib, ctx):
        # A Pacemaker Remote connection resource has the id of its <node type="remote"> entry.
        found = [e for e in cib.known_with_id(self.id) if not _remote_node_entry(e)]
        primitive = found[0] if found else None
        if primitive is not None and primitive.tag != "primitive":
            raise SpecError(f"resource {self.id!r}: the id is already used by a <{primitive.tag}>")
        created = primitive is None
        agent, inherited_params, inherited_ops = self.agent, set(), None
        if self.template is not None:
            template = template_element(cib, self.template, culprit=f"resource {self.id!r}")
            agent = self.template_agent = AgentRef.of_primitive(template)
            inherited_params = {nvsets.resolved(nv)[0] for nv in template.iterfind("instance_attributes/nvpair")}
            inherited_ops = [
                OpSpec(op.get("name"), op.get("interval", "0s"), _op_attrs(op))
                for op in template.iterfind("operations/op")
            ]
        # Undeclared params of an existing resource are left alone, so none is demanded either.
        agent_meta = self.checked_agent(
            ctx, agent, primitive, required=created or self.params is not None, inherited=inherited_params
        )
        if agent_meta is not None and isinstance(self.clone, CloneSpec) and self.clone.promotable:
            check_promotable(agent_meta, f"resource {self.id!r}: promotable true")
        if primitive is None:
            primitive = etree.Element("primitive", id=self.id)
            place_new(cib, primitive, self)
        self._element = primitive
        set_agent(primitive, None if self.template is not None else agent)
        set_attr(primitive, "template", self.template)
        params = self.params
        if params is not None and self.local_secrets:
            params = ctx.keep_local(self.id, params, self.secrets(ctx)[self.id])
        meta = self.meta
        if created and self.created_meta and not isinstance(meta, list):
            meta = {**self.created_meta, **(meta or {})}
        self.sync_parts(
            cib,
            primitive,
            agent_meta,
            created,
            params=params,
            meta=meta,
            meta_keep=(OPERATOR_META | set(self.created_meta or ())) - nvsets.declared_names(self.meta),
            inherited_ops=inherited_ops,
        )
        place(cib, primitive, self)


def template_element(cib, ident, *, culprit):
    """The ``<template>`` called ``ident`` in the candidate, or SpecError naming it."""
    found = cib.configuration.xpath("resources/template[@id=$i]", i=ident)
    if found:
        return found[0]
    other = cib.by_id(ident)
    if other is not None:
        raise SpecError(f"{culprit}: template {ident!r} is a <{other.tag}>, not a resource template")
    raise SpecError(
        f"{culprit}: template {ident!r} does not exist, neither in the CIB nor made by a "
        "pcmk.resource_template state before this one in this run (declare it first, or require it)"
    )


def _op_attrs(op):
    return {k: v for k, v in op.attrib.items() if k not in ("id", "name", "interval")}


def _held(primitive, params):
    """The names of ``params`` the primitive already holds with the same value."""
    held = set()
    for name, value in params.items():
        nvpair = nvsets.effective(primitive, "instance_attributes", name)
        if nvpair is not None and nvsets.same_value(nvsets.resolved(nvpair)[1], nvsets.as_text(value)):
            held.add(name)
    return held


def _remote_node_entry(element):
    return element.tag == "node" and element.get("type") == "remote"


def _roles_for(cib, ops):
    """Role names as the CIB's schema spells them (Promoted/Unpromoted from pacemaker-3.7 on)."""
    return [{**op, "role": role_for(cib, op["role"])} if "role" in op else op for op in ops]


def _complete(op, advised):
    """``op`` with the attributes the agent advises for the same operation and role filled in."""
    for candidate in advised:
        if candidate.name == op.name and role_meaning(candidate.attrs.get("role") or "") == role_meaning(
            op.attrs.get("role") or ""
        ):
            interval = op.interval if op.interval_given else candidate.interval
            advised = {k: v for k, v in candidate.attrs.items() if k not in op.attrs}
            return OpSpec(op.name, interval, op.attrs, interval_given=True, advised=advised, params=op.params)
    return op


def _sync_ops(cib, primitive, ops, keep=frozenset()):
    """Make the ops exact, leaving those whose name is in ``keep`` as they are."""
    operations = primitive.find("operations")
    if operations is None:
        if not ops:
            return
        operations = etree.SubElement(primitive, "operations")
    was_empty = len(operations) == 0
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
            op_id = cib.unique_id(
                f"{primitive.get('id')}-{nvsets.id_part(spec.name)}-interval-{nvsets.id_part(spec.interval)}"
            )
            op = etree.SubElement(operations, "op", id=op_id, name=spec.name, interval=spec.interval)
            attrs = {**spec.advised, **spec.attrs}
        elif not same_duration(op.get("interval"), spec.interval):
            op.set("interval", spec.interval)
        for attr in [a for a in op.attrib if a not in ("id", "name", "interval", *spec.attrs, *spec.advised)]:
            del op.attrib[attr]
        for attr, value in attrs.items():
            current = op.get(attr)
            if value is None:
                if current is not None:
                    del op.attrib[attr]
            elif attr == "role":  # Master and Promoted are one role; a new spelling is the schema's
                if role_meaning(current) != role_meaning(value):
                    op.set(attr, role_for(cib, value))
            elif current is None or not (
                same_duration(current, value) if attr in OP_DURATION_ATTRS else nvsets.same_value(current, value)
            ):
                op.set(attr, value)
        if spec.params is not None:
            nvsets.sync(cib, op, "instance_attributes", spec.params, set_id=f"{op.get('id')}-instance_attributes")
    if len(operations) == 0 and not was_empty:  # an <operations/> found empty is left as found
        primitive.remove(operations)


@dataclass
class ResourceAbsentSpec(Spec):
    """Remove a resource (primitive, group, clone or bundle), what it holds, and what refers to any of them.

    ``kind`` (a tag such as ``bundle``): refuse a resource of another kind
    with that id rather than remove it.
    """

    id: str
    kind: str | None = None

    def found(self, cib):
        """The resource to remove (None: already gone); one of another ``kind`` is refused."""
        element = cib.resource(self.id)
        if element is not None and self.kind is not None and element.tag != self.kind:
            raise SpecError(f"{self.kind} {self.id!r}: the id is a <{element.tag}>, not a <{self.kind}>; not removed")
        return element

    def apply(self, cib, ctx):
        element = self.found(cib)
        if element is None:
            return
        gone = {e.get("id") for e in element.iter() if e.get("id")}
        parent = element.getparent()
        parent.remove(element)
        # A clone or group left empty must go as well, or the CIB is invalid.
        while (
            parent.tag in ("clone", "master", "group")
            and parent.find("primitive") is None
            and parent.find("group") is None
        ):
            gone.add(parent.get("id"))
            grand = parent.getparent()
            grand.remove(parent)
            parent = grand
        remove_constraints_referring(cib, gone)
        if ctx is not None:
            ctx.removed.update(gone)
