"""A clone of an existing primitive or group (``pcmk.clone``)."""

from dataclasses import dataclass

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.cib.metadata import AgentRef
from saltext.pcmk.utils.errors import NotFound, SpecError

from .base import Spec, check_id, check_nvsets, clone_id_for, set_attr
from .placement import CloneSpec, clone_of, sync_clone_meta, sync_params
from .resource import check_promotable
from .values import check_meta


@dataclass
class CloneOfSpec(Spec):
    """Clone an existing primitive or group (``pcmk.clone``)."""

    rsc: str
    clone: CloneSpec
    description: str | None = None  # None: left as found; "": none

    @classmethod
    def build(cls, rsc, clone_id=None, meta=None, promotable=False, params=None, description=None):
        check_id(rsc, "clone resource")
        meta = check_nvsets(meta, f"clone of {rsc!r} meta")
        check_meta(meta, f"clone of {rsc!r}")
        return cls(
            rsc,
            CloneSpec(
                check_id(clone_id_for(rsc, clone_id), "clone"),
                meta,
                bool(promotable),
                check_nvsets(params, f"clone of {rsc!r} params"),
            ),
            None if description is None else nvsets.as_text(description),
        )

    def references(self):
        return [self.rsc]

    def touched(self):
        return [self.clone.id, self.rsc]

    def apply(self, cib, ctx):
        element = cib.by_id(self.rsc)
        if element is None or element.tag not in ("primitive", "group"):
            raise NotFound(
                f"clone {self.clone.id!r}: resource {self.rsc!r} does not exist (or is not a primitive or group)"
            )
        checks_on = ctx is not None and ctx.metadata is not None
        if checks_on and self.clone.promotable and element.tag == "primitive" and element.get("class"):
            agent_meta = ctx.metadata.get(AgentRef.of_primitive(element), resource_id=self.rsc)
            check_promotable(agent_meta, f"clone of {self.rsc!r}: promotable true")
        clone = clone_of(cib, element, self.clone, f"clone {self.clone.id!r}")
        if element.getparent() is not clone:
            if element.getparent().tag == "group":
                raise SpecError(
                    f"clone {self.clone.id!r}: {self.rsc!r} is in group {element.getparent().get('id')!r}; clone the group"
                )
            element.getparent().remove(element)
            clone.append(element)
        sync_clone_meta(cib, clone, self.clone)
        sync_params(cib, clone, self.clone.params)
        if self.description is not None:
            set_attr(clone, "description", self.description or None)
