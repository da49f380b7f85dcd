"""Where a resource sits in ``<resources>``: at the top, in a group, in a clone.

Shared by the specs that move resources (:mod:`.resource`, :mod:`.group`,
:mod:`.clone`). A clone or group left empty by a move is removed with it.
"""

from dataclasses import dataclass

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.errors import SpecError

from .base import OPERATOR_META, RESOURCE_TAGS


@dataclass
class CloneSpec:
    id: str
    meta: dict | None = None
    promotable: bool = False
    params: dict | None = None  # the clone's own instance attributes (pcmk.clone)


def resources_section(cib):
    return cib.section("resources", create=True)


def place_new(cib, primitive, spec):
    if spec.group:
        group = cib.by_id(spec.group)
        if group is not None and group.tag != "group":
            raise SpecError(f"resource {spec.id!r}: {spec.group!r} is a <{group.tag}>, not a group")
        if group is None:
            group = etree.SubElement(resources_section(cib), "group", id=spec.group)
        group.append(primitive)
    else:
        resources_section(cib).append(primitive)


def detach(element):
    """Remove ``element`` from its parent; drop a clone or group left empty."""
    parent = element.getparent()
    parent.remove(element)
    if parent.tag in ("clone", "master") or (parent.tag == "group" and parent.find("primitive") is None):
        detach(parent)


def clone_of(cib, element, clone_spec, culprit):
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
        resources_section(cib).append(clone)
    return clone


# Clone meta attributes at the value Pacemaker assumes when they are absent: the
# same written or not (unless rsc_defaults says otherwise).
CLONE_META_DEFAULTS = {
    "globally-unique": "false",
    "interleave": "false",
    "notify": "false",
    "ordered": "false",
    "promotable": "false",
}


def sync_clone_meta(cib, clone, clone_spec):
    """Clone meta attributes as declared; ``promotable`` adds promotable=true (a <master> is promotable already)."""
    if isinstance(clone_spec.meta, list):
        _sync_clone_meta_sets(cib, clone, clone_spec)
        return
    meta = dict(clone_spec.meta) if clone_spec.meta is not None else None
    if clone_spec.promotable and clone.tag == "clone":
        meta = {**(meta if meta is not None else nvsets.values(clone, "meta_attributes")), "promotable": "true"}
    if clone.tag == "master" and meta is not None and nvsets.same_value(nvsets.as_text(meta.get("promotable")), "true"):
        meta.pop("promotable")  # the old schema's <master> says it by its tag
    rsc_defaults = cib.section("rsc_defaults")
    overridden = set(nvsets.values(rsc_defaults, "meta_attributes")) if rsc_defaults is not None else set()
    defaults = {k: v for k, v in CLONE_META_DEFAULTS.items() if k not in overridden}
    nvsets.sync(
        cib,
        clone,
        "meta_attributes",
        meta,
        set_id=f"{clone.get('id')}-meta_attributes",
        keep=OPERATOR_META - set(meta or ()),
        insert_at=0,
        defaults=defaults,
    )


def _sync_clone_meta_sets(cib, clone, clone_spec):
    """Clone meta declared as a list of sets: promotable goes in the first unconditional one."""
    sets = [{**nvset, "values": dict(nvset["values"])} for nvset in clone_spec.meta]
    plain = next((nvset for nvset in sets if nvset.get("rule") is None), None)
    if clone_spec.promotable and clone.tag == "clone":
        if plain is None:
            plain = {"values": {}}
            sets.insert(0, plain)
        plain["values"]["promotable"] = "true"
    if clone.tag == "master":
        for nvset in sets:
            if nvsets.same_value(nvsets.as_text(nvset["values"].get("promotable")), "true"):
                nvset["values"].pop("promotable")
    nvsets.sync_sets(
        cib,
        clone,
        "meta_attributes",
        sets,
        set_id=f"{clone.get('id')}-meta_attributes",
        keep=OPERATOR_META - nvsets.declared_names(sets),
        insert_at=0,
    )


def sync_params(cib, container, params):
    """A group's or clone's own ``instance_attributes``: Pacemaker passes them to
    every resource inside (a member's own value of a name wins). ``None``
    leaves them alone; a new set goes after the meta attributes, before the
    resources it holds."""
    children = list(container)
    first_resource = next((i for i, child in enumerate(children) if child.tag in RESOURCE_TAGS), len(children))
    nvsets.sync(
        cib,
        container,
        "instance_attributes",
        params,
        set_id=f"{container.get('id')}-instance_attributes",
        insert_at=first_resource,
    )


def place(cib, primitive, spec):
    parent = primitive.getparent()
    if spec.clone:
        clone = clone_of(cib, primitive, spec.clone, f"resource {spec.id!r}")
        if parent is not clone:
            detach(primitive)
            clone.append(primitive)
        sync_clone_meta(cib, clone, spec.clone)
    elif spec.clone is False and parent.tag in ("clone", "master"):
        detach(primitive)
        resources_section(cib).append(primitive)
    if spec.group:
        if parent.tag != "group" or parent.get("id") != spec.group:
            group = cib.by_id(spec.group)
            if group is not None and group.tag != "group":
                raise SpecError(f"resource {spec.id!r}: {spec.group!r} is a <{group.tag}>, not a group")
            if primitive.getparent() is not None and primitive.getparent().tag != "resources":
                detach(primitive)
            elif primitive.getparent() is not None:
                primitive.getparent().remove(primitive)
            if group is None:
                group = etree.SubElement(resources_section(cib), "group", id=spec.group)
            group.append(primitive)
    elif spec.group is False and parent.tag == "group":
        detach(primitive)
        resources_section(cib).append(primitive)
