"""A whole set of cluster properties or resource/operation defaults (``pcmk.property_set`` ...).

The per-name states (``pcmk.property`` ...) find a name wherever Pacemaker
reads it; a set state declares one set exactly, with the ``score`` and
``rule`` that decide when and in which order Pacemaker reads it (a
maintenance window, defaults for one resource agent, ...).
"""

from dataclasses import dataclass

from lxml import etree

from saltext.pcmk.utils.cib import nvsets, rules
from saltext.pcmk.utils.errors import SpecError

from .base import Spec, check_id, check_mapping
from .values import DEFAULTS_TYPES, check_typed

# kind -> (section, set tag)
SET_SECTIONS = {
    "property": ("crm_config", "cluster_property_set"),
    "rsc_defaults": ("rsc_defaults", "meta_attributes"),
    "op_defaults": ("op_defaults", "meta_attributes"),
}
# Properties Pacemaker writes itself into cib-bootstrap-options: never removed by a declaration.
PACEMAKER_MANAGED = frozenset(
    {"dc-version", "cluster-infrastructure", "cluster-name", "have-watchdog", "last-lrm-refresh"}
)


@dataclass
class OptionSetSpec(Spec):
    kind: str
    id: str
    values: dict | None = None  # None: absent
    score: str | None = None
    rule: dict | None = None

    KINDS = tuple(SET_SECTIONS)

    @classmethod
    def build(cls, kind, name, values=None, score=None, rule=None, present=True):
        culprit = f"{kind.replace('_', ' ')} set {name!r}"
        check_id(name, f"{kind.replace('_', ' ')} set")
        if not present:
            return cls(kind, name)
        if values is None:
            raise SpecError(f"{culprit}: values is required (a mapping of name: value)")
        values = check_mapping(values, f"{culprit} values")
        if kind in DEFAULTS_TYPES:
            check_typed(values, DEFAULTS_TYPES[kind], culprit, "")
        return cls(
            kind,
            name,
            values,
            None if score is None else rules.check_score(score, f"{culprit}: score"),
            None if rule is None else rules.check(rule, f"{culprit} rule"),
        )

    def touched(self):
        return [self.id]

    def apply(self, cib, ctx):
        if self.kind == "property" and self.values and ctx is not None and ctx.options is not None:
            held = set(cib.root.xpath("configuration/crm_config/cluster_property_set/nvpair/@name"))
            for name, value in self.values.items():
                ctx.options.check_property(
                    f"property set {self.id!r}",
                    name,
                    None if value is None else nvsets.as_text(value),
                    held=name in held or name in PACEMAKER_MANAGED,
                )
        section_name, tag = SET_SECTIONS[self.kind]
        section = cib.section(section_name, create=self.values is not None)
        found = cib.by_id(self.id)
        if found is not None and (found.tag != tag or found.getparent() is not section):
            raise SpecError(
                f"{self.kind.replace('_', ' ')} set {self.id!r}: the id is already used by a <{found.tag}>"
                f" in <{found.getparent().tag}>"
            )
        if self.values is None:
            if found is not None:
                section.remove(found)
                if section.tag != "crm_config" and len(section) == 0:
                    section.getparent().remove(section)
            return
        if found is None:
            found = etree.SubElement(section, tag, id=self.id)
        keep = PACEMAKER_MANAGED if self.kind == "property" else ()
        nvsets.sync_set(cib, found, {"values": self.values, "score": self.score, "rule": self.rule}, keep)
