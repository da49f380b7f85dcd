"""The workload for size N: a property, then N resources, each with a location and (from the second) an order.

Each step says what our library applies for it, the SLS a state run declares,
and the pcs commands Salt's old pcs states ran for it.
"""

from __future__ import annotations

import yaml

from saltext.pcmk.utils.cib import specs as model

from .common import AGENT, NODE


class Step:
    """One declaration: what our library applies and what pcs would run for it."""

    def __init__(self, kind, ident, index, *, prev=None):
        self.kind, self.id, self.index, self.prev = kind, ident, index, prev

    def specs(self):
        if self.kind == "property":
            return [model.AttributeSpec.build("property", "stonith-enabled", False)]
        if self.kind == "resource":
            return [
                model.ResourceSpec.build(
                    self.id, AGENT, params={"fake": str(self.index)}, ops=[{"name": "monitor", "interval": "10s"}]
                )
            ]
        if self.kind == "location":
            return [model.ConstraintSpec.build(self.id, "location", rsc=f"r{self.index}", node=NODE, score=50)]
        return [model.ConstraintSpec.build(self.id, "order", first=self.prev, then=f"r{self.index}")]

    def sls(self):
        if self.kind == "property":
            return {"pcmk.property": [{"value": False}]}
        if self.kind == "resource":
            return {
                "pcmk.resource": [
                    {"agent": AGENT},
                    {"params": {"fake": str(self.index)}},
                    {"ops": [{"name": "monitor", "interval": "10s"}]},
                ]
            }
        if self.kind == "location":
            return {"pcmk.constraint": [{"kind": "location"}, {"rsc": f"r{self.index}"}, {"node": NODE}, {"score": 50}]}
        return {"pcmk.constraint": [{"kind": "order"}, {"first": self.prev}, {"then": f"r{self.index}"}]}

    def pcs_create(self):
        if self.kind == "property":
            return ["property", "set", "stonith-enabled=false"]
        if self.kind == "resource":
            return ["resource", "create", self.id, AGENT, f"fake={self.index}", "op", "monitor", "interval=10s"]
        if self.kind == "location":
            return ["constraint", "location", f"r{self.index}", "prefers", f"{NODE}=50"]
        return ["constraint", "order", self.prev, "then", f"r{self.index}", f"id={self.id}"]

    def pcs_show(self):
        """The existence check Salt's old pcs states ran before (not) creating (pcs 0.11 spelling)."""
        if self.kind == "property":
            return ["property", "config"], "stonith-enabled: false"
        if self.kind == "resource":
            return ["resource", "config", self.id], None
        return ["constraint", self.kind, "config", "--full"], f"(id:{self.id})"


def workload(n):
    steps = [Step("property", "stonith-enabled", 0)]
    for i in range(1, n + 1):
        steps.append(Step("resource", f"r{i}", i))
        steps.append(Step("location", f"location-r{i}-n1-50", i))
        if i > 1:
            steps.append(Step("order", f"order-r{i - 1}-r{i}-mandatory", i, prev=f"r{i - 1}"))
    return steps


def all_specs(steps):
    """The specs of these steps, as one aggregated converge takes them."""
    return [spec for step in steps for spec in step.specs()]


def sls_text(n):
    return yaml.safe_dump({step.id: step.sls() for step in workload(n)}, sort_keys=False)


# ---- the speed goals workload: N resources with a monitor op, N-1 mandatory orders (2N-1 states) ----


def chain_workload(n):
    """rI (ocf:pacemaker:Dummy, fake=I, monitor 10s), each from the second after its order on r(I-1)."""
    steps = []
    for i in range(1, n + 1):
        steps.append(Step("resource", f"r{i}", i))
        if i > 1:
            steps.append(Step("order", f"order-r{i - 1}-r{i}-mandatory", i, prev=f"r{i - 1}"))
    return steps


def chain_sls_text(n, lo=1):
    """The pcmk states of resources lo..n (and their orders): the whole workload when lo is 1."""
    return yaml.safe_dump({s.id: s.sls() for s in chain_workload(n) if s.index >= lo}, sort_keys=False)


def salt3007_sls_text(n):
    """The same workload as Salt 3007's ``pcs`` states declare it (salt/states/pcs.py)."""
    states = {}
    for step in chain_workload(n):
        if step.kind == "resource":
            states[f"pcs_resource_{step.id}"] = {
                "pcs.resource_present": [
                    {"resource_id": step.id},
                    {"resource_type": AGENT},
                    {"resource_options": [f"fake={step.index}", "op", "monitor", "interval=10s"]},
                ]
            }
        else:
            states[f"pcs_constraint_{step.id}"] = {
                "pcs.constraint_present": [
                    {"constraint_id": step.id},
                    {"constraint_type": "order"},
                    {"constraint_options": [step.prev, "then", f"r{step.index}"]},
                ]
            }
    return yaml.safe_dump(states, sort_keys=False)


def crm_text(n):
    """The same objects in crm configure syntax, for ``crm configure load update``."""
    lines = []
    for step in chain_workload(n):
        if step.kind == "resource":
            lines.append(f"primitive {step.id} {AGENT} params fake={step.index} op monitor interval=10s")
        else:
            lines.append(f"order {step.id} Mandatory: {step.prev} r{step.index}")
    return "\n".join(lines) + "\n"
