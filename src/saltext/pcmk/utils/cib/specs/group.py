"""An ordered group of primitives (``pcmk.group``)."""

from dataclasses import dataclass

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.errors import NotFound, SpecError

from .base import OPERATOR_META, Spec, check_id, check_nvsets, set_attr
from .placement import detach, resources_section, sync_params
from .values import check_meta


@dataclass
class GroupSpec(Spec):
    """An ordered group of existing (or same-run) primitives."""

    id: str
    members: list
    meta: dict | None = None
    params: dict | None = None
    description: str | None = None  # None: left as found; "": none

    @classmethod
    def build(cls, name, resources, meta=None, params=None, description=None):
        check_id(name, "group")
        if not isinstance(resources, list) or not resources:
            raise SpecError(f"group {name!r}: resources must be a non-empty list of primitive ids")
        for member in resources:
            check_id(member, f"group {name!r} member")
        if len(set(resources)) != len(resources):
            raise SpecError(f"group {name!r}: a member is listed twice")
        meta = check_nvsets(meta, f"group {name!r} meta")
        check_meta(meta, f"group {name!r}")
        return cls(
            name,
            list(resources),
            meta,
            check_nvsets(params, f"group {name!r} params"),
            None if description is None else nvsets.as_text(description),
        )

    def references(self):
        return list(self.members)

    def touched(self):
        return [self.id, *self.members]

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
                resources_section(cib).append(group)
        current = [child.get("id") for child in group.findall("primitive")]
        if current != self.members:
            for element in members:
                if element.getparent() is not group:
                    if element.getparent().tag in ("clone", "master"):
                        raise SpecError(
                            f"group {self.id!r}: member {element.get('id')!r} is cloned; clone the group instead"
                        )
                    if element.getparent().tag == "group":
                        detach(element)
                    else:
                        element.getparent().remove(element)
            for element in group.findall("primitive"):
                if element.get("id") not in self.members:
                    group.remove(element)
                    resources_section(cib).append(element)
            for element in members:
                group.append(element)  # appending moves it, giving the declared order
        nvsets.sync(
            cib,
            group,
            "meta_attributes",
            self.meta,
            set_id=f"{self.id}-meta_attributes",
            keep=OPERATOR_META - nvsets.declared_names(self.meta),
            insert_at=0,
        )
        sync_params(cib, group, self.params)
        if self.description is not None:
            set_attr(group, "description", self.description or None)
