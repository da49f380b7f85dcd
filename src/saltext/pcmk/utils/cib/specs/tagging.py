"""Tags (``<tags><tag>``): a name for several resources that constraints may use."""

from dataclasses import dataclass

from lxml import etree

from saltext.pcmk.utils.errors import SpecError

from .base import Spec, check_id, remove_from_section


@dataclass
class TagSpec(Spec):
    """A tag naming ``members`` in that order (``present=False``: no such tag)."""

    id: str
    members: list
    present: bool = True

    @classmethod
    def build(cls, name, resources=None, present=True):
        check_id(name, "tag")
        if not present:
            return cls(name, [], False)
        if not isinstance(resources, list) or not resources:
            raise SpecError(f"tag {name!r}: resources must be a non-empty list of resource ids")
        for member in resources:
            check_id(member, f"tag {name!r} member")
        if len(set(resources)) != len(resources):
            raise SpecError(f"tag {name!r}: a member is listed twice")
        return cls(name, list(resources), True)

    def references(self):
        return list(self.members)

    def touched(self):
        return [self.id]

    def apply(self, cib, ctx):
        existing = cib.by_id(self.id)
        if existing is not None and existing.tag != "tag":
            raise SpecError(f"tag {self.id!r}: the id is already used by a <{existing.tag}>")
        if not self.present:
            if existing is not None:
                remove_from_section(existing)
            return
        if existing is None:
            existing = etree.SubElement(cib.section("tags", create=True), "tag", id=self.id)
        if [ref.get("id") for ref in existing.findall("obj_ref")] == self.members:
            return
        for ref in existing.findall("obj_ref"):
            existing.remove(ref)
        for member in self.members:
            etree.SubElement(existing, "obj_ref", id=member)
