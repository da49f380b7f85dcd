"""A cluster node's own entry in ``<nodes>`` (``pcmk.node``): score, description, standby, maintenance."""

from dataclasses import dataclass

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.errors import SpecError

from .attribute import AttributeSpec, node_entry
from .base import Spec, check_score, set_attr

# Node attributes Pacemaker reads as a switch (absent is off), and the value
# pcs and crm_standby write to switch one on.
NODE_SWITCHES = ("standby", "maintenance")
SWITCHED_ON = "on"


@dataclass
class NodeSpec(Spec):
    """What the configuration says of one node; each field None is left as found.

    ``score`` is the node element's own score, which Pacemaker adds to every
    resource's score for the node (0 and absent read the same). ``standby``
    and ``maintenance`` are the node's permanent instance attributes, found
    and written as :class:`AttributeSpec` finds and writes any node
    attribute: where Pacemaker reads it, a new one in ``nodes-<node id>``.
    """

    node: str
    score: str | None = None
    description: str | None = None
    standby: bool | None = None
    maintenance: bool | None = None

    @classmethod
    def build(cls, node, score=None, description=None, standby=None, maintenance=None):
        if not isinstance(node, str) or not node or any(ch.isspace() or not ch.isprintable() for ch in node):
            raise SpecError(f"node {node!r} is not a valid node name")
        culprit = f"node {node!r}"
        for name, value in (("standby", standby), ("maintenance", maintenance)):
            if value is not None and not isinstance(value, bool):
                raise SpecError(f"{culprit}: {name} must be true or false, got {value!r}")
        if isinstance(description, (dict, list, bool)):
            raise SpecError(f"{culprit}: description must be a text, got {description!r}")
        return cls(
            node,
            None if score is None else check_score(score, f"{culprit}: score"),
            None if description is None else nvsets.as_text(description),
            standby,
            maintenance,
        )

    def _writes_something(self):
        """Whether the declaration sets anything on a node that holds nothing yet."""
        return bool(
            (self.score is not None and nvsets.score_value(self.score) != 0)
            or self.description
            or self.standby
            or self.maintenance
        )

    def apply(self, cib, ctx):
        culprit = f"node {self.node!r}"
        entry = node_entry(cib, self.node, culprit, create=self._writes_something())
        if entry is None:
            return  # a remote node without an entry: nothing is set on it, as declared
        wanted_score = None if self.score is None else nvsets.score_value(self.score)
        if wanted_score is not None and nvsets.score_value(entry.get("score")) != wanted_score:
            set_attr(entry, "score", self.score if wanted_score else None)  # absent reads as 0
        if self.description is not None:
            set_attr(entry, "description", self.description or None)
        for name in NODE_SWITCHES:
            wanted = getattr(self, name)
            if wanted is None or switched_on(entry, name) == wanted:
                continue
            AttributeSpec.build("node", name, SWITCHED_ON if wanted else None, node=self.node).apply(cib, ctx)


def switched_on(entry, name):
    """Whether Pacemaker reads node attribute ``name`` of ``entry`` as on (absent: off)."""
    nvpair = nvsets.effective(entry, "instance_attributes", name)
    return nvpair is not None and nvsets.same_value(nvsets.resolved(nvpair)[1], "true")
