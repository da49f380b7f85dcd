"""What a change does, per CIB object, in words an operator reads.

Each object (a resource, a resource template, a constraint, a property set, a node, a fencing
level) is flattened to ``path -> value`` pairs such as ``params.ip`` or
``op monitor 10s.timeout``; two CIBs are compared object by object.

Secret parameters are masked here, the only place changes and objects are
rendered, by one rule (:func:`secret_param`) that every return path uses:
a parameter is secret when a declaration names it (``secret_params``), its
agent marks it ``private``, or its name looks secret (``pass``, ``secret``,
``token``). Where no declaration speaks for a resource's parameters any more,
every value is masked: a resource deleted (``resource_absent`` knows no
``secret_params``) and a parameter removed (the declaration dropped it, and
may have dropped it from ``secret_params`` too). ``lrm://`` (cibsecret's
placeholder) is never masked: it is not the secret.
"""

import copy
import re

from lxml import etree

from saltext.pcmk.utils.tools import MASK

SECRET_NAME = re.compile(r"pass|secret|token", re.I)
# ``params.x``, ``params[set-id].x``, ``params.x#2``; not a set's rule (``params[set-id].rule ...``).
_PARAM_KEY = re.compile(r"^params(?:\[[^\]]*\])?\.(?!rule )(?P<name>[^#]+)(?:#\d+)?$")
OBJECT_TAGS = {
    "primitive": "resource",
    "template": "template",
    "group": "group",
    "clone": "clone",
    "master": "clone",
    "bundle": "bundle",
    "rsc_location": "constraint",
    "rsc_colocation": "constraint",
    "rsc_order": "constraint",
    "rsc_ticket": "constraint",
    "cluster_property_set": "properties",
    "node": "node",
    "fencing-level": "fencing level",
    "tag": "tag",
    "alert": "alert",
}
_SET_NAMES = {"instance_attributes": "params", "meta_attributes": "meta", "utilization": "utilization"}


def _object_key(element):
    parent = element.getparent()
    if element.tag == "meta_attributes" and parent is not None and parent.tag in ("rsc_defaults", "op_defaults"):
        return f"{parent.tag} {element.get('id')}"
    kind = OBJECT_TAGS.get(element.tag)
    if kind == "node":
        return f"node {element.get('uname') or element.get('id')}"
    return f"{kind} {element.get('id')}" if kind else None


def _is_nested_object(child):
    return _object_key(child) is not None and child.tag != "meta_attributes"


def op_label(op):
    """``op monitor 10s`` (``op monitor 10s Promoted`` when a role tells two apart)."""
    role = op.get("role")
    return f"op {op.get('name')} {op.get('interval')}" + (f" {role}" if role else "")


def _put(flat, key, value):
    """Record ``key``; a name met again (a duplicate nvpair) gets ``#2``, ``#3``: the first is what Pacemaker reads."""
    if key not in flat:
        flat[key] = value
        return
    n = 2
    while f"{key}#{n}" in flat:
        n += 1
    flat[f"{key}#{n}"] = value


def _flatten(element, prefix=""):
    flat = {}
    for name, value in element.attrib.items():
        if name != "id":
            flat[f"{prefix}{name}"] = value
    plain_seen = set()
    # A member's value is its place among the members (a group's order), not among every child:
    # a bundle's network or a group's meta attributes written before it do not move it.
    members = [c for c in element if isinstance(c.tag, str) and _is_nested_object(c)]
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if _is_nested_object(child):
            flat[f"{prefix}member {child.get('id')}"] = str(members.index(child))
            continue
        if child.tag in _SET_NAMES or (child.tag == "meta_attributes"):
            label = _SET_NAMES.get(child.tag, child.tag)
            # Pacemaker reads the first unconditional set first: it is plain ``params``;
            # any other set (with a rule, or a second unconditional one) is named by its id.
            if child.find("rule") is not None or label in plain_seen:
                label = f"{label}[{child.get('id')}]"
            else:
                plain_seen.add(label)
            if child.get("score") is not None:
                flat[f"{prefix}{label} score"] = child.get("score")
            for nvpair in child.findall("nvpair"):
                _put(flat, f"{prefix}{label}.{_nvpair_name(nvpair)}", _nvpair_value(nvpair))
            for rule in child.findall("rule"):
                flat.update(_flatten(rule, f"{prefix}{label}.rule {rule.get('id')}."))
        elif child.tag == "operations":
            for op in child.findall("op"):
                label = op_label(op)
                _put(flat, f"{prefix}{label}", op.get("id"))
                for k, v in _flatten(op, f"{prefix}{label}.").items():
                    if not k.endswith((".name", ".interval", ".role")):
                        _put(flat, k, v)
        elif child.tag == "nvpair":
            _put(flat, f"{prefix}{_nvpair_name(child)}", _nvpair_value(child))
        elif child.tag in ("resource_ref", "obj_ref"):
            flat[f"{prefix}ref {child.get('id')}"] = str(list(element).index(child))
        else:
            flat.update(_flatten(child, f"{prefix}{child.tag} {child.get('id') or ''}.".replace(" .", ".")))
    return flat


def _referenced(nvpair):
    ref = nvpair.get("id-ref")
    found = nvpair.getroottree().xpath("//nvpair[@id=$i]", i=ref) if ref is not None else []
    return found[0] if found else nvpair


def _nvpair_name(nvpair):
    """An ``id-ref`` nvpair reads as the one it names (how it is written shows as ``rewritten``)."""
    return _referenced(nvpair).get("name")


def _nvpair_value(nvpair):
    return _referenced(nvpair).get("value")


def _own_xml(element):
    """Canonical XML of ``element`` without the objects nested in it (each is compared on its own)."""
    own = copy.deepcopy(element)
    for child in list(own):
        if isinstance(child.tag, str) and _is_nested_object(child):
            own.remove(child)
    return etree.tostring(own, method="c14n")


def _outside_objects(cib):
    """Canonical XML of the configuration with every object taken out: what no object key covers."""
    config = copy.deepcopy(cib.configuration)
    for element in list(config.iter()):
        if isinstance(element.tag, str) and element is not config and _object_key(element) is not None:
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)
    return etree.tostring(config, method="c14n")


REWRITTEN = "same values, written differently (ids, order or spelling)"


def truthy(value):
    """An agent meta-data flag (``private="1"``, ``required="true"``) as Pacemaker reads it."""
    return (value or "").lower() in {"1", "true", "yes"}


def looks_secret(name):
    """Whether a parameter's name alone says it holds a secret (``passwd``, ``api_token`` ...)."""
    return bool(SECRET_NAME.search(name or ""))


def param_name(key):
    """The parameter a flat key names (``params.x``, ``params[set].x``, ``params.x#2``), else None."""
    found = _PARAM_KEY.match(key)
    return found.group("name") if found else None


def secret_param(name, secrets=()):
    """The masking rule: ``name`` is declared secret (``secrets``: ``secret_params`` and the
    agent's private parameters) or its name looks secret."""
    return name in secrets or looks_secret(name)


def objects(cib, secrets_by_resource=None):
    """``{object key: flat dict}`` of the configuration section, secrets masked."""
    return {key: _masked(key, flat, secrets_by_resource or {}) for key, flat in _objects(cib).items()}


def masked_cib(cib, secrets_by_resource):
    """A copy of ``cib`` whose primitives' and templates' secret parameter values read :data:`MASK`
    (the rule of :func:`secret_param`; ``lrm://`` stays): the CIB as text for a return."""
    copied = cib.copy()
    for element in copied.configuration.iter("primitive", "template"):
        secrets = secrets_by_resource.get(element.get("id"), ())
        for nvpair in element.iterfind("instance_attributes/nvpair"):
            value = nvpair.get("value")
            if value and not value.startswith("lrm://") and secret_param(nvpair.get("name") or "", secrets):
                nvpair.set("value", MASK)
    return copied


def _masked(key, flat, secrets_by_resource, *, every=False):
    """``flat`` with secret parameter values masked (``every``: all parameter values)."""
    # Only primitives and resource templates have agents and secret_params (a group's, a clone's
    # or a node's params are not an agent's). They share the id space: a template's secrets are under its id.
    if not key.startswith(("resource ", "template ")):
        return flat
    secrets = secrets_by_resource.get(key.split(" ", 1)[1], ())
    masked = {}
    for k, v in flat.items():
        name = param_name(k)
        hide = name is not None and v and not v.startswith("lrm://") and (every or secret_param(name, secrets))
        masked[k] = MASK if hide else v
    return masked


def _index(cib):
    """``{object key: element}`` of the configuration section."""
    found = {}
    for element in cib.configuration.iter(etree.Element):
        key = _object_key(element)
        if key is not None:
            found[key] = element
    return found


def _objects(cib, elements=None):
    found = {}
    config = cib.configuration
    for element in config.iter():
        if not isinstance(element.tag, str):
            continue
        key = _object_key(element)
        if key is None:
            continue
        found[key] = _flatten(element)
        if elements is not None:
            elements[key] = element
    return found


def compare(before, after, secrets_by_resource=None):
    """Changes from ``before`` to ``after`` as ``{object: {added, removed, changed}}``.

    Objects that appear or disappear are reported as ``{"created": {...}}``
    or ``{"deleted": {...}}`` with their attributes. The result is empty only
    when the two configurations are the same XML: an object whose values read
    the same but whose XML differs (an id, the order, a spelling) is
    ``{"rewritten": ...}``, and a difference outside every object is reported
    as ``configuration``, so nothing is ever written unreported.
    """
    old_elements, new_elements = _index(before), _index(after)
    changes: dict = {}
    for key in sorted(set(old_elements) | set(new_elements)):
        was, now = old_elements.get(key), new_elements.get(key)
        if _same_bytes(was, now):
            continue  # most objects of a large CIB: no flattening
        old = None if was is None else _flatten(was)
        new = None if now is None else _flatten(now)
        entry = _entry(key, old, new, was, now, secrets_by_resource)
        if entry is not None:
            changes[key] = entry
    if not changes and not _same_xml(before, after):
        changes["configuration"] = {"rewritten": REWRITTEN}
    return changes


def _same_xml(before, after):
    """Whether two configurations are the same XML, objects' order included
    (no object's values say where it stands among the others)."""
    return _outside_objects(before) == _outside_objects(after) and before.same_configuration(after)


def _entry(key, old, new, old_element, new_element, secrets_by_resource):
    """One object's change (``old``/``new``: flat dicts, None when absent), or None."""
    # Compare real values (a rotated secret is a change), mask only what is reported.
    secrets = secrets_by_resource or {}
    if old is not None and new is not None and old == new:
        # Every write is reported: what reads the same but is written otherwise is said so.
        if _own_xml(old_element) != _own_xml(new_element):
            return {"rewritten": REWRITTEN}
        return None
    if new is None:
        # Nothing declares the deleted object's secret_params any more: no value is shown.
        return {"deleted": _masked(key, old, secrets, every=True)}
    if old is None:
        return {"created": _masked(key, new, secrets)}
    entry: dict = {}
    was, now = _masked(key, old, secrets), _masked(key, new, secrets)
    # A dropped parameter may have left secret_params with it: its old value is never shown.
    gone = _masked(key, old, secrets, every=True)
    added = {k: now[k] for k in new if k not in old}
    removed = {k: gone[k] for k in old if k not in new}
    changed = {k: {"old": was[k], "new": now[k]} for k in new if k in old and old[k] != new[k]}
    for label, part in (("added", added), ("removed", removed), ("changed", changed)):
        if part:
            entry[label] = part
    return entry


def holders(element, config):
    """``{key: element}`` of ``element`` (when it is an object) and every object around it,
    or None when ``element`` is not in ``config`` (a removed one)."""
    found: dict = {}
    for holder in (element, *element.iterancestors()):
        if holder is config:
            return found
        key = _object_key(holder)
        if key is not None:
            found.setdefault(key, holder)
    return None


def object_for_key(cib, key):
    """The element an object key (``resource r1``, ``node n1``) names in ``cib``, or None."""
    if key.startswith("node "):
        name = key[len("node ") :]
        for node in cib.root.iterfind("configuration/nodes/node"):
            if (node.get("uname") or node.get("id")) == name:
                return node
        return None
    return next((e for e in cib.with_id(key.rsplit(" ", 1)[-1]) if _object_key(e) == key), None)


def _same_bytes(a, b):
    if a is None or b is None:
        return a is b
    return etree.tostring(a, with_tail=False) == etree.tostring(b, with_tail=False)


class StepChanges:
    """Each step's changes, compared over the objects the step touched, not the whole CIB.

    A run of N states on a CIB of N objects would otherwise flatten N x N
    objects. What an object looked like before a step is what the steps
    before it left (kept here) or, untouched so far, what ``original`` holds;
    the objects an id was in before a step are where the last step touching
    it left it, or where ``original`` has it.
    """

    def __init__(self, original):
        self.original = original  # where objects untouched by the steps so far are as they were
        self._original_ids: dict | None = None  # the original never changes: its index is complete
        self._current: dict = {}  # key -> (flat or None, element or None) as the steps so far left it
        self._holders_of: dict = {}  # id -> object keys holding it, as the steps so far left it
        self.steps: list = []  # (owner, {key: (old, new, old_element, new_element)})

    def _in_original(self, ident):
        if self._original_ids is None:
            self._original_ids = {}
            for element in self.original.configuration.iterfind(".//*[@id]"):
                self._original_ids.setdefault(element.get("id"), []).append(element)
        return self._original_ids.get(ident, [])

    def _original_object(self, key):
        if key.startswith("node "):
            return object_for_key(self.original, key)
        return next((e for e in self._in_original(key.rsplit(" ", 1)[-1]) if _object_key(e) == key), None)

    def _before_element(self, key):
        if key in self._current:
            return self._current[key][1]
        return self._original_object(key)

    def _holders_before(self, ident):
        if ident in self._holders_of:
            return self._holders_of[ident]
        keys: set = set()
        for element in self._in_original(ident):
            keys.update(holders(element, self.original.configuration) or {})
        return keys

    def record(self, owner, candidate, touched):
        """The step of ``owner`` (applied to ``candidate``) touched these elements (or ids)."""
        keys = set()
        found: dict = {}  # key -> element in the candidate, as the walks met them
        config = candidate.configuration
        for item in touched:
            if isinstance(item, str):
                ident, elements = item, candidate.with_id(item)
            else:
                ident, elements = item.get("id"), [item]
            now = {}
            for element in elements:
                held = holders(element, config)
                if held is not None:
                    now.update(held)
            keys |= self._holders_before(ident) | set(now)
            self._holders_of[ident] = set(now)
            found.update(now)
        part = {}
        for key in keys:
            element = found[key] if key in found else object_for_key(candidate, key)
            old_element = self._before_element(key)
            if _same_bytes(old_element, element):
                continue  # touched, not changed: the common case of a run that changes little
            if key in self._current:
                old = self._current[key][0]
            else:
                old = None if old_element is None else _flatten(old_element)
            new = None if element is None else _flatten(element)
            new_element = None if element is None else copy.deepcopy(element)
            part[key] = (old, new, old_element, new_element)
            self._current[key] = (new, new_element)
        self.steps.append((owner, part))

    def record_exact(self, owner, before, after):
        """A step whose spec could not say what it touched: compared over the whole CIB
        (``before``: a copy of the candidate made before the step)."""
        old_elements: dict = {}
        new_elements: dict = {}
        old, new = _objects(before, old_elements), _objects(after, new_elements)
        part: dict = {}
        for key in set(old) | set(new):
            if old.get(key) != new.get(key) or _own_xml(old_elements[key]) != _own_xml(new_elements[key]):
                new_element = copy.deepcopy(new_elements[key]) if key in new_elements else None
                part[key] = (old.get(key), new.get(key), old_elements.get(key), new_element)
                self._current[key] = (new.get(key), new_element)
        if not part and not _same_xml(before, after):
            part["configuration"] = None
        self.steps.append((owner, part))
        # Where the step moved things is known only from ``after``: look there from now on.
        self.original, self._original_ids = after.copy(), None
        self._holders_of.clear()
        after.forget_ids()

    def changes(self, secrets_by_resource):
        """``{owner: changes}``, as :func:`compare` reports them."""
        result: dict = {}
        for owner, part in self.steps:
            entries = {}
            for key in sorted(part):
                if part[key] is None:  # outside every object (record_exact)
                    entries[key] = {"rewritten": REWRITTEN}
                    continue
                old, new, old_element, new_element = part[key]
                entry = _entry(key, old, new, old_element, new_element, secrets_by_resource)
                if entry is not None:
                    entries[key] = entry
            result.setdefault(owner, {}).update(entries)
        return result


def render(changes):
    """A short text version of :func:`compare`'s result, for comments and logs."""
    lines = []
    for key, entry in changes.items():
        if "created" in entry:
            lines.append(f"+ {key}")
            lines.extend(f"    + {k} = {v}" for k, v in entry["created"].items())
        elif "deleted" in entry:
            lines.append(f"- {key}")
        elif "rewritten" in entry:
            lines.append(f"~ {key}: {entry['rewritten']}")
        else:
            lines.append(f"~ {key}")
            lines.extend(f"    + {k} = {v}" for k, v in entry.get("added", {}).items())
            lines.extend(f"    - {k} (was {v})" for k, v in entry.get("removed", {}).items())
            lines.extend(f"    ~ {k}: {v['old']} -> {v['new']}" for k, v in entry.get("changed", {}).items())
    return "\n".join(lines)
