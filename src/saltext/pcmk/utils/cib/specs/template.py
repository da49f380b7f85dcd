"""Resource templates (``<template>`` in ``<resources>``): what primitives made from them share.

A primitive with ``template="T"`` takes T's agent, params, meta, utilization
and operations; what the primitive holds itself wins (Pacemaker's scheduler
expands it: the primitive's sets are read before the template's, and its op
replaces the template's op of the same name and role). A constraint may name
a template and then applies to every primitive made from it.
"""

from dataclasses import dataclass

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.errors import SpecError

from .base import OPERATOR_META, Spec, check_id
from .constraint import remove_constraints_referring
from .placement import resources_section
from .resource import RESOURCE_ARGUMENTS, AgentSpec, set_agent

# What a template declaration says besides its id and agent: the resource
# arguments that make sense without a placement (no clone, group, template,
# or secrets kept out of the CIB, which cibsecret keys by the primitive's id).
TEMPLATE_ARGUMENTS = {
    name: RESOURCE_ARGUMENTS[name]
    for name in ("params", "meta", "ops", "utilization", "secret_params", "default_ops", "check_agent", "description")
}


@dataclass
class TemplateSpec(AgentSpec):
    """A ``<template>`` as declared; its agent's meta-data checks it as a resource's.

    Parameters the agent requires are not demanded: a template usually leaves
    them to each primitive (a VM's name, an address). On create it gets the
    operations the agent advises, as a resource does.
    """

    KIND = "template"

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
        secret_params=None,
        check_agent=True,
        default_ops=True,
        description=None,
    ):
        if agent is None:
            raise SpecError(f"template {name!r}: an agent (such as ocf:heartbeat:IPaddr2) is needed")
        return cls(
            **cls.agent_fields(
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
        )

    def touched(self):
        return [self.id]

    def apply(self, cib, ctx):
        element = cib.by_id(self.id)
        if element is not None and element.tag != "template":
            raise SpecError(f"template {self.id!r}: the id is already used by a <{element.tag}>")
        created = element is None
        agent_meta = self.checked_agent(ctx, self.agent, element, required=False)
        if element is None:
            element = etree.SubElement(resources_section(cib), "template", id=self.id)
        set_agent(element, self.agent)
        self.sync_parts(
            cib,
            element,
            agent_meta,
            created,
            params=self.params,
            meta=self.meta,
            meta_keep=OPERATOR_META - nvsets.declared_names(self.meta),
        )


def users(cib, ident):
    """Ids of the primitives made from template ``ident``, in document order."""
    return cib.configuration.xpath("resources//primitive[@template=$t]/@id", t=ident)


@dataclass
class TemplateAbsentSpec(Spec):
    """No template ``id``; refused while a primitive is made from it.

    Constraints naming the template go with it (they constrain nothing once
    it is gone, and would name a missing id).
    """

    id: str

    @classmethod
    def build(cls, name):
        return cls(check_id(name, "template"))

    def apply(self, cib, ctx):
        element = cib.by_id(self.id)
        if element is None:
            return
        if element.tag != "template":
            raise SpecError(f"template {self.id!r}: the id is used by a <{element.tag}>, not a template")
        using = users(cib, self.id)
        if using:
            raise SpecError(
                f"template {self.id!r} is still used by {', '.join(repr(u) for u in using)}: remove those "
                "primitives (pcmk.resource_absent) or give them an agent of their own first"
            )
        element.getparent().remove(element)  # <resources> stays, even empty: the schema wants it
        remove_constraints_referring(cib, {self.id})
