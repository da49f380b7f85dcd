"""A primitive as declared (agent, params, meta, ops, placement), and any resource absent.

Operations are completed from the agent's advice: see
:meth:`ResourceSpec._operations`.
"""

from dataclasses import dataclass, field

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.cib.metadata import AgentRef
from saltext.pcmk.utils.errors import SpecError

from .base import (
    OPERATOR_META,
    Spec,
    check_id,
    check_mapping,
    check_nvsets,
    clone_id_for,
    duration_ms,
    role_for,
    role_meaning,
    same_duration,
    set_attr,
)
from .constraint import remove_constraints_referring
from .placement import CloneSpec, place, place_new

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
    def parse(cls, raw, culprit):
        if not isinstance(raw, dict) or "name" not in raw:
            raise SpecError(
                f"{culprit}: each op must be a mapping with a 'name' (e.g. name: monitor, interval: 10s), got {raw!r}"
            )
        attrs = {str(k): nvsets.as_text(v) for k, v in raw.items() if k not in ("name", "interval", "params")}
        return cls(
            str(raw["name"]),
            nvsets.as_text(raw.get("interval", "0s")),
            attrs,
            interval_given="interval" in raw,
            params=check_mapping(raw.get("params"), f"{culprit} op {raw['name']} params"),
        )

    def key(self):
        ms = duration_ms(self.interval)
        return (self.name, ms if ms is not None else self.interval, role_meaning(self.attrs.get("role", "")))


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
}


def declares_clone(args):
    """Whether resource arguments ``args`` make a clone (the one rule build and its callers share)."""
    return bool(args.get("clone") or args.get("promotable") or args.get("clone_meta"))


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
    description: str | None = None  # None: left as found; "": none

    @classmethod
    def build(
        cls,
        name,
        agent,
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
    ):
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
        if declares_clone({"clone": clone, "promotable": promotable, "clone_meta": clone_meta}):
            if isinstance(clone, dict):
                clone_meta = {**clone, **(clone_meta or {})}
            clone_spec = CloneSpec(
                id=check_id(clone_id_for(name, clone_id), "clone"),
                meta=check_mapping(clone_meta, f"{culprit} clone meta"),
                promotable=bool(promotable),
            )
        if group and clone_spec:
            raise SpecError(
                f"{culprit}: a primitive is either cloned or in a group; clone the group instead (pcmk.clone)"
            )
        if group:
            check_id(group, "group")
        if secret_params is not None and not isinstance(secret_params, (list, tuple, set, frozenset)):
            raise SpecError(f"{culprit}: secret_params must be a list of parameter names")
        if not secrets_in_cib and isinstance(params, list):
            raise SpecError(f"{culprit}: secrets_in_cib false takes params as a mapping (one set), not a list of sets")
        if not isinstance(default_ops, bool):
            raise SpecError(f"{culprit}: default_ops must be true or false, got {default_ops!r}")
        return cls(
            id=name,
            agent=agent_ref,
            params=check_nvsets(params, f"{culprit} params"),
            meta=check_nvsets(meta, f"{culprit} meta"),
            ops=op_specs,
            utilization=check_nvsets(utilization, f"{culprit} utilization"),
            clone=clone_spec,
            group=group,
            secret_params=frozenset(secret_params or ()),
            check_agent=check_agent,
            local_secrets=not secrets_in_cib,
            default_ops=default_ops,
            created_meta=created_meta,
            description=None if description is None else nvsets.as_text(description),
        )

    def references(self):
        return []

    def secrets(self, ctx):
        found = set(self.secret_params)
        if self.check_agent and ctx.metadata is not None:
            found |= ctx.metadata.get(self.agent, resource_id=self.id).private_parameters
        return {self.id: found}

    def apply(self, cib, ctx):
        # A Pacemaker Remote connection resource has the id of its <node type="remote"> entry.
        found = [e for e in cib.configuration.xpath(".//*[@id=$i]", i=self.id) if not _remote_node_entry(e)]
        primitive = found[0] if found else None
        if primitive is not None and primitive.tag != "primitive":
            raise SpecError(f"resource {self.id!r}: the id is already used by a <{primitive.tag}>")
        created = primitive is None
        agent_meta = None
        if self.check_agent and ctx.metadata is not None:
            agent_meta = ctx.metadata.get(self.agent, resource_id=self.id)
            # Parameters an older agent took may stay as the CIB holds them
            # (adopting a cluster made years ago); undeclared params of an
            # existing resource are left alone, so none is demanded either.
            declared = nvsets.declared_values(self.params)
            agent_meta.check_params(
                self.id,
                declared if declared is not None else {},
                legacy=set() if created else _held(primitive, declared or {}),
                required=created or self.params is not None,
            )
        if primitive is None:
            primitive = etree.Element("primitive", id=self.id)
            place_new(cib, primitive, self)
        for attr, value in (
            ("class", self.agent.standard),
            ("provider", self.agent.provider),
            ("type", self.agent.type),
        ):
            set_attr(primitive, attr, value)
        if self.description is not None:
            set_attr(primitive, "description", self.description or None)
        params = self.params
        if params is not None and self.local_secrets:
            params = ctx.keep_local(self.id, params, self.secrets(ctx)[self.id])
        nvsets.sync(cib, primitive, "instance_attributes", params, set_id=f"{self.id}-instance_attributes")
        meta_keep = (OPERATOR_META | set(self.created_meta or ())) - nvsets.declared_names(self.meta)
        meta = self.meta
        if created and self.created_meta and not isinstance(meta, list):
            meta = {**self.created_meta, **(meta or {})}
        nvsets.sync(cib, primitive, "meta_attributes", meta, set_id=f"{self.id}-meta_attributes", keep=meta_keep)
        nvsets.sync(cib, primitive, "utilization", self.utilization, set_id=f"{self.id}-utilization")
        ops, keep = self._operations(agent_meta, created, cib)
        if ops is not None:
            _sync_ops(cib, primitive, ops, keep=keep)
        place(cib, primitive, self)

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
            wanted = [
                op
                for op in advised
                if op.name not in declared_names
                and (self.default_ops or (op.name == "monitor" and "monitor" not in declared_names))
            ]
            return completed + wanted, set()
        if self.ops is None:
            return None, set()
        return completed, agent_meta.operation_names - declared_names


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
        if candidate.name == op.name and role_meaning(candidate.attrs.get("role", "")) == role_meaning(
            op.attrs.get("role", "")
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
            if attr == "role":  # Master and Promoted are one role; a new spelling is the schema's
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
