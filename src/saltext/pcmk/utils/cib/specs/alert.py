"""Alerts (``<alerts><alert>``): an agent Pacemaker calls on cluster events, with its recipients."""

from dataclasses import dataclass

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.errors import SpecError

from .base import Spec, check_id, check_mapping, remove_from_section, set_attr
from .values import ALERT_META, check_typed

# ``select`` entries and the element each one is (Pacemaker's alert filters).
_SELECT = {
    "nodes": "select_nodes",
    "fencing": "select_fencing",
    "resources": "select_resources",
    "attributes": "select_attributes",
}


@dataclass
class AlertSpec(Spec):
    """An alert agent at ``path``; recipients are matched by value (pcs and crmsh name them differently)."""

    id: str
    path: str = ""
    description: str | None = None
    meta: dict | None = None
    params: dict | None = None
    recipients: list | None = None
    select: list | None = None
    present: bool = True

    @classmethod
    def build(
        cls, name, path=None, description=None, meta=None, params=None, recipients=None, select=None, present=True
    ):
        check_id(name, "alert")
        culprit = f"alert {name!r}"
        if not present:
            return cls(name, present=False)
        if not isinstance(path, str) or not path.startswith("/"):
            raise SpecError(f"{culprit}: path must be the absolute path of the alert agent, got {path!r}")
        checked = None
        if recipients is not None:
            if not isinstance(recipients, list):
                raise SpecError(f"{culprit}: recipients must be a list of values or of mappings with 'value'")
            checked = []
            for index, raw in enumerate(recipients, start=1):
                entry = {"value": raw} if isinstance(raw, str) else raw
                if not isinstance(entry, dict) or not isinstance(entry.get("value"), str) or not entry["value"]:
                    raise SpecError(f"{culprit}: recipient {index} needs a 'value'")
                unknown = sorted(set(entry) - {"value", "id", "description", "meta", "params"})
                if unknown:
                    raise SpecError(f"{culprit}: recipient {index} has unknown key {unknown[0]!r}")
                if entry.get("id") is not None:
                    check_id(entry["id"], f"{culprit} recipient")
                recipient_meta = check_mapping(entry.get("meta"), f"{culprit} recipient {index} meta")
                check_typed(recipient_meta, ALERT_META, f"{culprit} recipient {index}", "meta")
                checked.append(
                    {
                        **entry,
                        "meta": recipient_meta,
                        "params": check_mapping(entry.get("params"), f"{culprit} recipient {index} params"),
                    }
                )
            values = [r["value"] for r in checked]
            if len(set(values)) != len(values):
                raise SpecError(f"{culprit}: a recipient value is listed twice")
        if select is not None and (not isinstance(select, list) or any(s not in _SELECT for s in select)):
            raise SpecError(f"{culprit}: select must be a list of {', '.join(_SELECT)}, got {select!r}")
        meta = check_mapping(meta, f"{culprit} meta")
        check_typed(meta, ALERT_META, culprit, "meta")
        return cls(
            name,
            path,
            description,
            meta,
            check_mapping(params, f"{culprit} params"),
            checked,
            list(select) if select is not None else None,
        )

    def touched(self):
        return [self.id]

    def apply(self, cib, ctx):
        existing = cib.by_id(self.id)
        if existing is not None and existing.tag != "alert":
            raise SpecError(f"alert {self.id!r}: the id is already used by a <{existing.tag}>")
        if not self.present:
            if existing is not None:
                remove_from_section(existing)
            return
        alert = existing
        if alert is None:
            alert = etree.SubElement(cib.section("alerts", create=True), "alert", id=self.id)
        set_attr(alert, "path", self.path)
        if self.description is not None:
            set_attr(alert, "description", self.description or None)
        if self.select is not None:
            self._sync_select(alert)
        nvsets.sync(cib, alert, "meta_attributes", self.meta, set_id=f"{self.id}-meta_attributes")
        nvsets.sync(cib, alert, "instance_attributes", self.params, set_id=f"{self.id}-instance_attributes")
        if self.recipients is not None:
            self._sync_recipients(cib, alert)

    def _sync_select(self, alert):
        wanted = [_SELECT[s] for s in self.select or ()]
        select = alert.find("select")
        current = [child.tag for child in select] if select is not None else []
        if sorted(current) == sorted(wanted):
            return
        if select is not None:
            alert.remove(select)
        if wanted:
            select = etree.Element("select")
            for tag in wanted:
                etree.SubElement(select, tag)
            alert.insert(0, select)

    def _sync_recipients(self, cib, alert):
        by_value = {r.get("value"): r for r in alert.findall("recipient")}
        wanted_values = {r["value"] for r in self.recipients or ()}
        for value, element in by_value.items():
            if value not in wanted_values:
                alert.remove(element)
        for index, wanted in enumerate(self.recipients or (), start=1):
            element = by_value.get(wanted["value"])
            if element is None:
                element = etree.SubElement(
                    alert,
                    "recipient",
                    id=wanted.get("id") or cib.unique_id(f"{self.id}-recipient-{index}"),
                    value=wanted["value"],
                )
            if "description" in wanted:
                set_attr(element, "description", wanted["description"] or None)
            rid = element.get("id")
            nvsets.sync(cib, element, "meta_attributes", wanted["meta"], set_id=f"{rid}-meta_attributes")
            nvsets.sync(cib, element, "instance_attributes", wanted["params"], set_id=f"{rid}-instance_attributes")
