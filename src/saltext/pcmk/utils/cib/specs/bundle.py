"""Bundles (``pcmk.bundle``): a container image Pacemaker runs as replicas, with one primitive inside.

A ``<bundle>`` holds a container element (``docker``, ``podman`` or ``rkt``:
image, replicas, run-command ...), an optional ``<network>`` with
``<port-mapping>`` children, an optional ``<storage>`` with
``<storage-mapping>`` children, meta attributes and at most one primitive,
which Pacemaker runs inside every replica through Pacemaker Remote (the
shape is ``element-bundle`` in Pacemaker's ``resources-*.rng``).

Adopted without churn like every spec: the bundle is matched by id; a port
mapping by its id when one is declared, else by its port (or range); a
storage mapping by its id, else by its target directory; so the ids ``pcs
resource bundle create`` gives (``<bundle>-port-map-<port>``,
``<bundle>-storage-map``, ``-1`` ...) are kept, and new mappings are named the
same way. A part left out (network, port mappings, storage, meta, primitive,
description) is left as found; a declared one becomes exact, an attribute at
the value Pacemaker assumes when it is absent (replicas: promoted-max if
positive, else 1; replicas-per-host 1; promoted-max 0; add-host true;
host-netmask 32) being the same written or not. ``promoted-max`` and the old
schema's ``masters`` are one attribute: an existing one keeps its spelling.

The primitive named by ``primitive`` (existing, or made earlier in the same
run) is moved into the bundle, out of the top level or a group (a group left
empty goes), as :mod:`.group` moves members. A primitive in a clone or in
another bundle, or a second primitive for a bundle that holds one already,
is refused rather than moved where it would start outside a container.
A bundle is removed, with its primitive and every constraint naming either,
by :class:`.resource.ResourceAbsentSpec`.

No container runtime runs bundles on this project's test beds: what a
declared bundle means is proven offline, by Pacemaker's scheduler planning
its replicas (``crm_simulate``, tests/functional/test_bundles.py).
"""

import re
from dataclasses import dataclass

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.errors import NotFound, SpecError

from .base import OPERATOR_META, Spec, check_id, check_nvsets, schema_before, set_attr
from .placement import detach, resources_section

CONTAINER_KINDS = ("docker", "podman", "rkt")

# Declared key -> XML attribute, per element. Keys are spelt with underscores
# as every argument of this package is (constraint.py's _ARG_ATTRS); the XML's
# own hyphenated spelling (run-command, control-port ...) is accepted as well.
_CONTAINER_ATTRS = {
    "image": "image",
    "replicas": "replicas",
    "replicas_per_host": "replicas-per-host",
    "promoted_max": "promoted-max",
    "masters": "promoted-max",  # the schema before pacemaker-3.0 calls it so
    "run_command": "run-command",
    "network": "network",
    "options": "options",
}
_NETWORK_ATTRS = {
    "ip_range_start": "ip-range-start",
    "control_port": "control-port",
    "host_interface": "host-interface",
    "host_netmask": "host-netmask",
    "add_host": "add-host",
}
_PORT_ATTRS = {"port": "port", "internal_port": "internal-port", "range": "range"}
_STORAGE_ATTRS = {
    "source_dir": "source-dir",
    "source_dir_root": "source-dir-root",
    "target_dir": "target-dir",
    "options": "options",
}
# Integer attributes: (least, greatest or None, how an error says it).
_PORT = (1, 65535, "a port number (1-65535)")
_INTEGERS = {
    "replicas": (1, None, "a positive integer"),
    "replicas-per-host": (1, None, "a positive integer"),
    "promoted-max": (0, None, "a non-negative integer"),
    "masters": (0, None, "a non-negative integer"),
    "host-netmask": (0, 128, "a netmask length in bits"),
    "control-port": _PORT,
    "port": _PORT,
    "internal-port": _PORT,
}
_BOOLEANS = {"add-host"}
_NETWORK_DEFAULTS = {"add-host": "true", "host-netmask": "32"}
# Where a new child goes: the order pcs writes them in (the schema interleaves them).
_CHILD_RANK = {
    **dict.fromkeys(CONTAINER_KINDS, 0),
    "network": 1,
    "storage": 2,
    "meta_attributes": 3,
    "instance_attributes": 3,
    "primitive": 4,
}
_DIGITS = re.compile(r"^\+?\d+$")


def _int_text(text):
    """``text`` as Pacemaker reads an integer ("03" and "3" alike), or as it is when it is none."""
    stripped = str(text).strip()
    return str(int(stripped)) if _DIGITS.match(stripped) else text


def _same(attr, current, wanted):
    if attr in _INTEGERS:
        return _int_text(current) == _int_text(wanted)
    if attr in _BOOLEANS:
        return nvsets.same_value(current, wanted)
    return current == wanted


def _value(attr, value, culprit):
    """A declared attribute value as the XML text, checked against what the schema takes."""
    if isinstance(value, (dict, list)):
        raise SpecError(f"{culprit} must be a plain value, got {type(value).__name__}")
    if attr in _INTEGERS:
        least, greatest, words = _INTEGERS[attr]
        text = "" if isinstance(value, bool) else str(value).strip()
        number = int(text) if _DIGITS.match(text) else None
        if number is None or number < least or (greatest is not None and number > greatest):
            raise SpecError(f"{culprit} must be {words}, got {value!r}")
        return str(number)
    if attr in _BOOLEANS:
        text = nvsets.as_text(value)
        for spelling in ("true", "false"):
            if nvsets.same_value(text, spelling):
                return spelling  # the schema's xsd:boolean takes true/false/1/0 only
        raise SpecError(f"{culprit} must be true or false, got {value!r}")
    text = nvsets.as_text(value)
    if not text:
        raise SpecError(f"{culprit} must not be empty")
    if attr == "range" and not re.fullmatch(r"[0-9-]+", text):
        raise SpecError(f"{culprit} must be a port range such as 8000-8010, got {value!r}")
    return text


def _attrs(raw, table, culprit, extra=()):
    """``({XML attribute: text}, {extra key: value})`` of a declared mapping; a null value is not declared."""
    if not isinstance(raw, dict):
        raise SpecError(f"{culprit} must be a mapping, got {type(raw).__name__}")
    attrs: dict = {}
    rest: dict = {}
    given: dict = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        target = rest if name in extra else attrs
        attr = name if name in extra else table.get(name)
        if attr is None:
            raise SpecError(f"{culprit}: unknown key {key!r} (takes {', '.join(sorted([*table, *extra]))})")
        if attr in given:
            raise SpecError(f"{culprit}: {given[attr]!r} and {key!r} say the same; give one")
        given[attr] = key
        if value is not None:
            target[attr] = value if name in extra else _value(attr, value, f"{culprit} {key}")
    return attrs, rest


@dataclass
class MappingDecl:
    """A declared port or storage mapping: its id (None: matched by what it maps) and attributes."""

    id: str | None
    attrs: dict


def _port_key(attrs):
    if attrs.get("port") is not None:
        return ("port", _int_text(attrs.get("port")))
    return ("range", attrs.get("range"))


def _storage_key(attrs):
    return attrs.get("target-dir")


def _mappings(raw, table, culprit, check):
    if not isinstance(raw, list):
        raise SpecError(f"{culprit}s must be a list of mappings, got {type(raw).__name__}")
    found = []
    for index, item in enumerate(raw, start=1):
        where = f"{culprit} {index}"
        attrs, rest = _attrs(item, table, where, extra=("id",))
        ident = rest.get("id")
        if ident is not None:
            check_id(ident, f"{where} id")
        check(attrs, where)
        found.append(MappingDecl(ident, attrs))
    ids = [m.id for m in found if m.id is not None]
    if len(set(ids)) != len(ids):
        raise SpecError(f"{culprit}s: an id is given twice")
    return found


def _check_port(attrs, where):
    if ("port" in attrs) == ("range" in attrs):
        raise SpecError(f"{where} needs either port (with internal_port if it differs) or range")
    if "internal-port" in attrs and "range" in attrs:
        raise SpecError(f"{where}: internal_port goes with port, not with range")


def _check_storage(attrs, where):
    if ("source-dir" in attrs) == ("source-dir-root" in attrs):
        raise SpecError(f"{where} needs either source_dir or source_dir_root")
    if "target-dir" not in attrs:
        raise SpecError(f"{where} needs target_dir")


def _unique_keys(mappings, key, culprit, what):
    keys = [key(m.attrs) for m in mappings]
    for value in keys:
        if keys.count(value) > 1:
            shown = " ".join(value) if isinstance(value, tuple) else value
            raise SpecError(f"{culprit}: two {what}s for {shown}")


@dataclass
class BundleSpec(Spec):
    """A bundle as declared; a part set to None is left as found (see the module's docstring)."""

    id: str
    kind: str | None = None  # docker, podman, rkt
    container: dict | None = None  # {XML attribute: text}; promoted-max stands for masters too
    network: dict | None = None
    port_mappings: list | None = None
    storage: list | None = None
    primitive: str | None = None
    meta: dict | list | None = None  # one mapping, or a list of sets {values, id, score, rule}
    description: str | None = None  # None: left as found; "": none

    @classmethod
    def build(cls, name, container=None, network=None, storage=None, primitive=None, meta=None, description=None):
        check_id(name, "bundle")
        culprit = f"bundle {name!r}"
        kind = container_attrs = None
        if container is not None:
            container_attrs, rest = _attrs(container, _CONTAINER_ATTRS, f"{culprit}: container", extra=("kind",))
            kind = rest.get("kind")
            if kind is None:
                raise SpecError(f"{culprit}: container needs a kind ({', '.join(CONTAINER_KINDS)})")
            if kind not in CONTAINER_KINDS:
                raise SpecError(f"{culprit}: container kind {kind!r} is not one of {', '.join(CONTAINER_KINDS)}")
            if "image" not in container_attrs:
                raise SpecError(f"{culprit}: container needs an image")
        network_attrs = ports = None
        if network is not None:
            network_attrs, rest = _attrs(network, _NETWORK_ATTRS, f"{culprit}: network", extra=("port_mappings",))
            if rest.get("port_mappings") is not None:
                ports = _mappings(rest["port_mappings"], _PORT_ATTRS, f"{culprit}: port mapping", _check_port)
                _unique_keys(ports, _port_key, culprit, "port mapping")
        storage_maps = None
        if storage is not None:
            storage_maps = _mappings(storage, _STORAGE_ATTRS, f"{culprit}: storage mapping", _check_storage)
            _unique_keys(storage_maps, _storage_key, culprit, "storage mapping")
        if primitive is not None:
            check_id(primitive, f"{culprit} primitive")
        return cls(
            id=name,
            kind=kind,
            container=container_attrs,
            network=network_attrs,
            port_mappings=ports,
            storage=storage_maps,
            primitive=primitive,
            meta=check_nvsets(meta, f"{culprit} meta"),
            description=None if description is None else nvsets.as_text(description),
        )

    def references(self):
        return [self.primitive] if self.primitive else []

    def apply(self, cib, ctx):
        culprit = f"bundle {self.id!r}"
        if schema_before(cib, (2, 8)):
            raise SpecError(f"{culprit}: bundles need the CIB schema pacemaker-2.8 or later ({cib.validate_with})")
        if self.kind == "podman" and schema_before(cib, (3, 2)):
            raise SpecError(
                f"{culprit}: podman needs the CIB schema pacemaker-3.2 or later; this CIB validates with "
                f"{cib.validate_with} (cibadmin --upgrade)"
            )
        bundle = cib.by_id(self.id)
        if bundle is not None and bundle.tag != "bundle":
            raise SpecError(f"{culprit}: the id is already used by a <{bundle.tag}>")
        inner = self._primitive(cib, bundle, culprit)
        if bundle is None:
            if self.kind is None:
                raise SpecError(f"{culprit}: a new bundle needs a container (kind and image)")
            bundle = etree.Element("bundle", id=self.id)
            where = inner.getparent() if inner is not None else None
            if where is not None and where.tag == "resources":
                where.insert(where.index(inner), bundle)  # where its primitive stood
            else:
                resources_section(cib).append(bundle)
        if self.description is not None:
            set_attr(bundle, "description", self.description or None)
        if self.kind is not None:
            self._sync_container(cib, bundle, self.kind)
        if self.network is not None:
            self._sync_network(cib, bundle, culprit)
        if self.storage is not None:
            holder = _child(bundle, "storage")
            _sync_mappings(
                cib, holder.element, "storage-mapping", self.storage, _storage_key, self._storage_id, culprit
            )
            holder.drop_if_emptied()
        nvsets.sync(
            cib,
            bundle,
            "meta_attributes",
            self.meta,
            set_id=f"{self.id}-meta_attributes",
            keep=OPERATOR_META - nvsets.declared_names(self.meta),
            insert_at=_position(bundle, "meta_attributes"),
        )
        if inner is not None and inner.getparent() is not bundle:
            if inner.getparent().tag == "group":
                detach(inner)  # a group left empty goes
            else:
                inner.getparent().remove(inner)
            bundle.append(inner)
        _check_reachable(bundle, culprit)

    def _primitive(self, cib, bundle, culprit):
        """The declared primitive's element (None: none declared); refused when missing or where it may not move from."""
        if self.primitive is None:
            return None
        element = cib.resource(self.primitive)
        if element is None:
            # Refused here rather than left to the session's reference check: with
            # state_aggregate, a primitive created after this spec in the same write
            # would pass that check and stay outside the bundle.
            raise NotFound(
                f"{culprit}: primitive {self.primitive!r} does not exist (if a state of this run declares it, "
                "require that state)"
            )
        if element.tag != "primitive":
            raise SpecError(f"{culprit}: {self.primitive!r} is a <{element.tag}>; a bundle holds one primitive")
        held = bundle.find("primitive") if bundle is not None else None
        if held is not None and held is not element:
            raise SpecError(
                f"{culprit}: the bundle holds primitive {held.get('id')!r}; remove it (pcmk.resource_absent) "
                f"before declaring {self.primitive!r}"
            )
        parent = element.getparent()
        if parent.tag in ("clone", "master"):
            raise SpecError(
                f"{culprit}: primitive {self.primitive!r} is in clone {parent.get('id')!r}; a bundle runs its "
                "replicas itself: take it out of the clone first (clone: false)"
            )
        if parent.tag == "bundle" and parent is not bundle:
            raise SpecError(f"{culprit}: primitive {self.primitive!r} is in bundle {parent.get('id')!r}")
        return element

    def _sync_container(self, cib, bundle, kind: str):
        container = next((c for c in bundle if c.tag in CONTAINER_KINDS), None)
        if container is None:
            container = etree.Element(kind)
            bundle.insert(_position(bundle, kind), container)
        elif container.tag != kind:
            container.tag = kind
        wanted = dict(self.container or {})
        # masters (the schema before pacemaker-3.0) and promoted-max are one attribute: keep the spelling found.
        if (
            container.get("masters") is not None
            and container.get("promoted-max") is None
            or container.get("promoted-max") is None
            and schema_before(cib, (3, 0))
        ):
            spelling = "masters"
        else:
            spelling = "promoted-max"
        if "promoted-max" in wanted:
            wanted[spelling] = wanted.pop("promoted-max")
        promoted = int(wanted.get(spelling, "0"))
        defaults = {"replicas": str(max(promoted, 1)), "replicas-per-host": "1", "promoted-max": "0", "masters": "0"}
        _sync_attrs(container, wanted, defaults)

    def _sync_network(self, cib, bundle, culprit):
        holder = _child(bundle, "network")
        _sync_attrs(holder.element, self.network, _NETWORK_DEFAULTS)
        if self.port_mappings is not None:
            _sync_mappings(cib, holder.element, "port-mapping", self.port_mappings, _port_key, self._port_id, culprit)
        holder.drop_if_emptied()

    def _port_id(self, attrs):
        return f"{self.id}-port-map-{nvsets.id_part(attrs.get('port') or attrs.get('range'))}"

    def _storage_id(self, attrs):  # pylint: disable=unused-argument
        return f"{self.id}-storage-map"


def _check_reachable(bundle, culprit):
    """Pacemaker reaches a bundle's primitive through ip-range-start or control-port.

    Without either, Pacemaker 2.1.5 ignores the whole bundle ("Cannot control
    <bundle> inside <primitive> without either ip-range-start or
    control-port"), and ``crm_verify`` prints that only with ``-V``, so the
    session's check would not see it: refused here.
    """
    primitive = bundle.find("primitive")
    network = bundle.find("network")
    if primitive is None or (network is not None and (network.get("ip-range-start") or network.get("control-port"))):
        return
    raise SpecError(
        f"{culprit}: Pacemaker cannot reach primitive {primitive.get('id')!r} inside the bundle without "
        "network ip_range_start or control_port"
    )


def _position(bundle, tag):
    """The index a new ``tag`` child takes: after the kinds of child pcs writes before it."""
    rank = _CHILD_RANK[tag]
    for index, child in enumerate(bundle):
        if isinstance(child.tag, str) and _CHILD_RANK.get(child.tag, 0) > rank:
            return index
    return len(bundle)


@dataclass
class _Child:
    """A ``<network>`` or ``<storage>`` being reconciled; one found empty is left as found."""

    bundle: etree._Element
    element: etree._Element
    found_empty: bool

    def drop_if_emptied(self):
        if not self.found_empty and not self.element.attrib and len(self.element) == 0:
            self.bundle.remove(self.element)


def _child(bundle, tag):
    element = bundle.find(tag)
    if element is not None:
        return _Child(bundle, element, not element.attrib and len(element) == 0)
    element = etree.Element(tag)
    bundle.insert(_position(bundle, tag), element)
    return _Child(bundle, element, False)


def _sync_attrs(element, wanted, defaults=None):
    """Make ``element``'s attributes (its id aside) exactly ``wanted``; one at its default is the same written or not."""
    defaults = defaults or {}
    for name in [a for a in element.attrib if a != "id" and a not in wanted]:
        if not (name in defaults and _same(name, element.get(name), defaults[name])):
            del element.attrib[name]
    for name, value in wanted.items():
        current = element.get(name)
        if current is None:
            if not (name in defaults and _same(name, value, defaults[name])):
                element.set(name, value)
        elif not _same(name, current, value):
            element.set(name, value)


def _sync_mappings(cib, parent, tag, declared, key, new_id, culprit):
    """Make ``parent``'s ``tag`` children the ``declared`` mappings: matched by id, else by ``key``; ids kept."""
    free = list(parent.findall(tag))
    matched: dict = {}
    for index, mapping in enumerate(declared):
        if mapping.id is None:
            continue
        found = next((e for e in free if e.get("id") == mapping.id), None)
        if found is None:
            other = cib.by_id(mapping.id)
            if other is not None:
                raise SpecError(f"{culprit}: {tag} id {mapping.id!r} is already used by a <{other.tag}>")
            continue
        matched[index] = found
        free.remove(found)
    for index, mapping in enumerate(declared):
        if mapping.id is None:
            found = next((e for e in free if key(e.attrib) == key(mapping.attrs)), None)
            if found is not None:
                matched[index] = found
                free.remove(found)
    for element in free:
        parent.remove(element)
    for index, mapping in enumerate(declared):
        element = matched.get(index)
        if element is None:
            element = etree.SubElement(parent, tag, id=mapping.id or cib.unique_id(new_id(mapping.attrs)))
        _sync_attrs(element, mapping.attrs)
