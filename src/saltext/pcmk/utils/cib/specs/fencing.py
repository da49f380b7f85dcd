"""Fencing topology: which stonith devices fence a node, at which level."""

from dataclasses import dataclass

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.errors import NotFound, SpecError

from .base import Spec


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
        etree.SubElement(
            topology,
            "fencing-level",
            id=cib.unique_id(f"fl-{nvsets.id_part(self.target)}-{self.index}"),
            target=self.target,
            index=str(self.index),
            devices=devices,
        )
