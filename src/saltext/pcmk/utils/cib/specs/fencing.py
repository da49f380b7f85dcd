"""Fencing topology: which stonith devices fence a node, at which level."""

from dataclasses import dataclass

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.errors import NotFound, SpecError

from .attribute import check_cluster_node
from .base import Spec


@dataclass
class FencingLevelSpec(Spec):
    """One fencing level. Its nodes are a node name (``target``), a regular
    expression on node names (``pattern``) or a node attribute's value
    (``attribute`` = ``value``)."""

    target: str
    index: int
    devices: list
    present: bool = True
    pattern: str | None = None
    attribute: str | None = None
    value: str | None = None

    @classmethod
    def build(cls, target, index, devices=None, present=True, pattern=None, attribute=None, value=None):
        if pattern is not None or attribute is not None:
            if pattern is not None and attribute is not None:
                raise SpecError(f"fencing level {target!r}: give target_pattern or target_attribute, not both")
            if attribute is not None and value is None:
                raise SpecError(f"fencing level {target!r}: target_attribute needs target_value")
            level = cls.build(target, index, devices, present)
            level.pattern = None if pattern is None else str(pattern)
            level.attribute = None if attribute is None else str(attribute)
            level.value = None if value is None else nvsets.as_text(value)
            return level
        text = str(index).strip() if isinstance(index, (int, str)) and not isinstance(index, bool) else ""
        if not text.isdigit() or not 1 <= int(text) <= 9:
            raise SpecError(f"fencing level for {target!r}: index must be an integer 1-9, got {index!r}")
        index = int(text)
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
        found = [level for level in topology.findall("fencing-level") if self._same_nodes(level)]
        if not self.present:
            for element in found:
                topology.remove(element)
            if len(topology) == 0:
                topology.getparent().remove(topology)
            return
        if self.pattern is None and self.attribute is None:
            check_cluster_node(cib, self.target, f"fencing level {self.target!r}/{self.index}: target")
        for device in self.devices:
            element = cib.by_id(device)
            if element is None or element.tag != "primitive" or element.get("class") != "stonith":
                raise NotFound(f"fencing level {self.target!r}/{self.index}: {device!r} is not a stonith resource")
        devices = ",".join(self.devices)
        if found:
            if found[0].get("devices") != devices:
                found[0].set("devices", devices)
            return
        etree.SubElement(
            topology,
            "fencing-level",
            id=cib.unique_id(f"fl-{nvsets.id_part(self.target)}-{self.index}"),
            **self._node_attrs(),
            index=str(self.index),
            devices=devices,
        )

    def _node_attrs(self):
        if self.pattern is not None:
            return {"target-pattern": self.pattern}
        if self.attribute is not None:
            return {"target-attribute": self.attribute, "target-value": self.value}
        return {"target": self.target}

    def _same_nodes(self, level):
        wanted = self._node_attrs()
        keys = ("target", "target-pattern", "target-attribute", "target-value")
        return level.get("index") == str(self.index) and all(level.get(k) == wanted.get(k) for k in keys)
