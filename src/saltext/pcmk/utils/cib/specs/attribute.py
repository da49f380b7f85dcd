"""Single attributes in fixed places: properties, defaults, node attributes, one resource meta attribute."""

from dataclasses import dataclass, field

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.cib.metadata import type_problem
from saltext.pcmk.utils.errors import NotFound, SpecError

from .base import Spec, check_texts
from .values import DEFAULTS_TYPES, check_typed

# A node's sets: the tag, what the culprit is called, and the id suffix pcs and
# crm_attribute give a new set (nodes-<id>, nodes-<id>-utilization).
_NODE_SETS = {
    "node": ("instance_attributes", "attribute", ""),
    "node_utilization": ("utilization", "utilization", "-utilization"),
}


def remote_node_names(cib):
    """The Pacemaker Remote nodes the configuration defines: every
    ``ocf:pacemaker:remote`` connection (the node is named by its id) and
    every guest node (a resource's ``remote-node`` meta attribute)."""
    resources = cib.root.xpath("configuration/resources")
    if not resources:
        return []
    names = resources[0].xpath(".//primitive[@class='ocf' and @provider='pacemaker' and @type='remote']/@id")
    names += resources[0].xpath(".//primitive/meta_attributes/nvpair[@name='remote-node']/@value")
    return list(dict.fromkeys(names))


def check_cluster_node(cib, node, culprit):
    """Refuse ``node`` when the CIB lists its nodes and this is none of them
    (nor a Pacemaker Remote or guest node). A CIB whose ``<nodes>`` is empty
    (an offline CIB not yet joined by any node) says nothing: then any name is taken.
    """
    known = cib.node_names()
    if not known or node in known:
        return
    remote = remote_node_names(cib)
    if node in remote:
        return
    names = ", ".join([*known, *(n for n in remote if n not in known)])
    raise NotFound(f"{culprit}: node {node!r} is not a cluster node (the CIB's nodes: {names})")


def node_entry(cib, node, culprit, *, create=False):
    """``node``'s ``<node>`` entry in ``<nodes>`` (by uname).

    A Pacemaker Remote or guest node gets an entry only once something is
    set on it: with ``create`` it is made as ``crm_attribute`` makes it (id and
    uname the node's name, ``type="remote"``), without it None is returned.
    Any other node not in ``<nodes>`` is refused, naming it.
    """
    found = cib.root.xpath("configuration/nodes/node[@uname=$n]", n=node)
    if found:
        return found[0]
    remote = remote_node_names(cib)
    if node not in remote:
        known = ", ".join([*cib.node_names(), *(n for n in remote if n not in cib.node_names())]) or "none"
        raise NotFound(f"{culprit}: node {node!r} is not in the cluster (known: {known})")
    if not create:
        return None
    return etree.SubElement(cib.section("nodes", create=True), "node", id=node, uname=node, type="remote")


@dataclass
class AttributeSpec(Spec):
    """One nvpair in a well-known set: cluster property, rsc/op default, node attribute.

    ``value`` None means absent.
    """

    scope: str  # "property" | "rsc_defaults" | "op_defaults" | "node" | "node_utilization"
    name: str
    value: object = None
    node: str | None = None
    set_id: str | None = None
    _touched: list = field(default_factory=list, init=False, repr=False, compare=False)

    SCOPES = {
        "property": ("crm_config", "cluster_property_set", "cib-bootstrap-options"),
        "rsc_defaults": ("rsc_defaults", "meta_attributes", "rsc-options"),
        "op_defaults": ("op_defaults", "meta_attributes", "op-options"),
    }

    @classmethod
    def build(cls, scope, name, value=None, node=None, set_id=None):
        if not isinstance(name, str) or not name:
            raise SpecError(f"{scope}: name must be a non-empty string, got {name!r}")
        if isinstance(value, (dict, list)):
            raise SpecError(f"{scope} {name!r}: value must be a plain value, got {type(value).__name__}")
        check_texts({"name": name, "value": value}, f"{scope} {name!r}")
        if scope in _NODE_SETS and not node:
            raise SpecError(f"node {_NODE_SETS[scope][1]} {name!r}: node is required")
        if node is not None and not isinstance(node, str):
            raise SpecError(
                f"node {_NODE_SETS.get(scope, (None, scope))[1]} {name!r}: node must be one node name, "
                f"got {type(node).__name__} {node!r}"
            )
        if value is not None:
            if scope == "node_utilization" and type_problem("integer", value):
                raise SpecError(f"node utilization {name!r} on {node!r}: value {value!r} is not an integer")
            if scope in DEFAULTS_TYPES:
                check_typed({name: value}, DEFAULTS_TYPES[scope], scope.replace("_", " "), "")
        return cls(scope, name, value, node, set_id)

    def touched(self):
        return list(self._touched)

    def apply(self, cib, ctx):
        self._touched = []
        # Removing a property is never refused: a second run finds it gone, which is as declared.
        if self.scope == "property" and self.value is not None and ctx is not None and ctx.options is not None:
            held = bool(cib.root.xpath("configuration/crm_config/cluster_property_set/nvpair[@name=$n]", n=self.name))
            ctx.options.check_property(
                f"property {self.name!r}",
                self.name,
                None if self.value is None else nvsets.as_text(self.value),
                held=held,
            )
        first_id = None
        if self.scope in _NODE_SETS:
            set_tag, what, suffix = _NODE_SETS[self.scope]
            entry = node_entry(cib, self.node, f"node {what} {self.name!r}", create=self.value is not None)
            if entry is None:
                return  # a remote node without an entry holds nothing to remove
            parent, wanted_id = entry, f"nodes-{entry.get('id')}{suffix}"
        else:
            section_name, set_tag, default_id = self.SCOPES[self.scope]
            parent = cib.section(section_name, create=self.value is not None)
            if parent is None:
                return
            wanted_id = self.set_id or default_id
            if self.scope == "property":
                first_id = default_id  # Pacemaker reads cib-bootstrap-options first, whatever the order
        if self.set_id:
            nvset = next(iter(parent.xpath(f"{set_tag}[@id=$i]", i=wanted_id)), None)
            if nvset is None and self.value is None:
                return
            if nvset is None:
                nvset = etree.SubElement(parent, set_tag, id=cib.unique_id(wanted_id))
            nvsets.set_value(cib, nvset, self.name, self.value)
            touched = [nvset]
        else:
            touched = self._set_where_read(cib, parent, set_tag, wanted_id, first_id)
        self._touched = list(touched)
        emptied = [nvset for nvset in touched if self.value is None and len(nvset) == 0]
        for nvset in emptied:
            parent.remove(nvset)
        if emptied and parent.tag in ("rsc_defaults", "op_defaults") and len(parent) == 0:
            parent.getparent().remove(parent)

    def _set_where_read(self, cib, parent, set_tag, wanted_id, first_id):
        """Set the value where Pacemaker reads it; a new name goes where pcs/crm_attribute put it.

        Absent removes the name from every unconditional set (another one
        would otherwise become the value). Returns the sets changed.
        """
        if self.value is None:
            holding = [s for s in nvsets.read_order(parent, set_tag) if s.xpath("nvpair[@name=$n]", n=self.name)]
            for nvset in holding:
                nvsets.set_value(cib, nvset, self.name, None)
            return holding
        found = nvsets.effective(parent, set_tag, self.name, first_id)
        if found is not None:
            nvset = found.getparent()
        elif self.scope in ("property", *_NODE_SETS):
            # Where crm_attribute (and pcs) write a new one: cib-bootstrap-options, nodes-<node id>.
            nvset = next(iter(parent.xpath(f"{set_tag}[@id=$i]", i=wanted_id)), None)
        else:
            nvset = nvsets.plain_set(parent, set_tag)
        if nvset is None:
            nvset = etree.SubElement(parent, set_tag, id=cib.unique_id(wanted_id))
        nvsets.set_value(cib, nvset, self.name, self.value)
        return [nvset]


@dataclass
class ResourceMetaSpec(Spec):
    """One meta attribute of any resource (``target-role`` for start/stop)."""

    id: str
    name: str
    value: object = None

    def references(self):
        return [self.id]

    def touched(self):
        return [self.id]

    def apply(self, cib, ctx):
        element = cib.resource(self.id)
        if element is None:
            raise NotFound(f"resource {self.id!r} does not exist")
        nvset = nvsets.plain_set(element, "meta_attributes")
        if nvset is None:
            if self.value is None:
                return
            nvset = etree.Element("meta_attributes", id=cib.unique_id(f"{self.id}-meta_attributes"))
            element.insert(0, nvset)
        nvsets.set_value(cib, nvset, self.name, self.value)
        if len(nvset) == 0:
            element.remove(nvset)
