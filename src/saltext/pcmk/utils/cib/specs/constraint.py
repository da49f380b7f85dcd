"""Location, colocation, order and ticket constraints, compared by meaning, adopted when pcs or crmsh made them."""

from dataclasses import dataclass, field

from lxml import etree

from saltext.pcmk.utils.cib import nvsets
from saltext.pcmk.utils.cib import rules as rules_mod
from saltext.pcmk.utils.errors import SpecError

from .attribute import check_cluster_node
from .base import Spec, check_id, check_score, check_texts, norm_score, parse_bool, role_for, role_meaning

CONSTRAINT_TAGS = {
    "location": "rsc_location",
    "colocation": "rsc_colocation",
    "order": "rsc_order",
    "ticket": "rsc_ticket",
}
# What identifies a constraint about the same resources (to adopt one pcs or crmsh made).
_IDENTITY = {
    "location": ("rsc", "node"),
    "colocation": ("rsc", "with-rsc"),
    "order": ("first", "then"),
    "ticket": ("rsc", "ticket"),
}
# Attribute values Pacemaker assumes when absent; equal to them means "not set".
_DEFAULTS = {
    "rsc_order": {
        "kind": "Mandatory",
        "symmetrical": "true",
        "first-action": "start",
        "then-action": "start",
        "require-all": "true",
    },
    "rsc_ticket": {"rsc-role": "Started"},
    "rsc_colocation": {"rsc-role": "Started", "with-rsc-role": "Started"},
    "rsc_location": {"role": "Started"},
    "resource_set": {"sequential": "true", "require-all": "true"},
    "rule": {"boolean-op": "and"},
}
ARGUMENT_ATTRIBUTES = {
    "location": {
        "rsc": "rsc",
        "rsc_pattern": "rsc-pattern",
        "node": "node",
        "score": "score",
        "role": "role",
        "resource_discovery": "resource-discovery",
    },
    "colocation": {
        "rsc": "rsc",
        "with_rsc": "with-rsc",
        "score": "score",
        "rsc_role": "rsc-role",
        "with_rsc_role": "with-rsc-role",
        "node_attribute": "node-attribute",
        "influence": "influence",
    },
    "order": {
        "first": "first",
        "then": "then",
        "order_kind": "kind",
        "symmetrical": "symmetrical",
        "first_action": "first-action",
        "then_action": "then-action",
        "require_all": "require-all",
    },
    "ticket": {"rsc": "rsc", "rsc_role": "rsc-role", "ticket": "ticket", "loss_policy": "loss-policy"},
}
CONSTRAINT_ARGS = frozenset({"kind", "rules", "sets"}).union(*ARGUMENT_ATTRIBUTES.values())
_ROLE_ATTRS = ("role", "rsc-role", "with-rsc-role")
SET_ATTRIBUTES = {
    "sequential": "sequential",
    "require_all": "require-all",
    "role": "role",
    "action": "action",
    "ordering": "ordering",
    "score": "score",
    "kind": "kind",
}


SET_BOOLEANS = ("sequential", "require_all")
# Constraint arguments whose schema type is xsd:boolean: read by the one rule
# (base.parse_bool), written as true/false.
_BOOLEAN_ARGS = ("symmetrical", "require_all", "influence")


def _attribute_text(key, value, culprit):
    if isinstance(value, (dict, list)):
        raise SpecError(f"{culprit}: {key} must be a plain value, got {value!r}")
    if key in _BOOLEAN_ARGS:
        return nvsets.as_text(parse_bool(value, f"{culprit}: {key}"))
    return nvsets.as_text(value)


def _canonical(element):
    """Compare constraints by meaning: no ids, defaults dropped, scores spelt one way."""
    defaults = _DEFAULTS.get(element.tag, {})
    attrs = {}
    for name, value in element.attrib.items():
        if name == "id" or (element.tag == "resource_ref" and name == "id"):
            continue
        value = norm_score(value) if name == "score" else value
        if name in _ROLE_ATTRS:
            value = role_meaning(value)
        if defaults.get(name) is not None and nvsets.same_value(value, defaults[name]):
            continue
        attrs[name] = value.lower() if value.lower() in ("true", "false") else value
    if (
        element.tag == "rsc_order"
        and "then-action" in attrs
        and attrs["then-action"] == attrs.get("first-action", "start")
    ):
        del attrs["then-action"]
    extra = element.get("id") if element.tag == "resource_ref" else None
    return (
        element.tag,
        extra,
        tuple(sorted(attrs.items())),
        tuple(_canonical(c) for c in element if isinstance(c.tag, str)),
    )


@dataclass
class ConstraintSpec(Spec):
    id: str
    kind: str
    attrs: dict
    rules: list | None = None
    sets: list | None = None
    # A colocation's score left out: INFINITY on a new one (as pcs makes it),
    # the score an existing one has (none = 0, as Pacemaker reads it) is kept.
    score_if_new: str | None = None
    _adopted: list = field(default_factory=list, init=False, repr=False, compare=False)

    @classmethod
    def build(cls, name, kind, *, rules=None, sets=None, **args):
        check_id(name, "constraint")
        culprit = f"constraint {name!r}"
        check_texts({"rules": rules, "sets": sets, **args}, culprit)
        if kind not in CONSTRAINT_TAGS:
            raise SpecError(f"{culprit}: kind must be one of {sorted(CONSTRAINT_TAGS)}, got {kind!r}")
        allowed = ARGUMENT_ATTRIBUTES[kind]
        unknown = sorted(set(args) - set(allowed))
        if unknown:
            raise SpecError(
                f"{culprit}: unknown argument {unknown[0]!r} for a {kind} constraint (takes {sorted(allowed) + ['rules' if kind == 'location' else 'sets', 'sets']})"
            )
        attrs = {
            allowed[k]: (check_score(v, f"{culprit}: score") if k == "score" else _attribute_text(k, v, culprit))
            for k, v in args.items()
            if v is not None
        }
        if kind == "colocation" and attrs.get("rsc") and attrs.get("rsc") == attrs.get("with-rsc"):
            raise SpecError(
                f"{culprit}: rsc and with_rsc are both {attrs['rsc']!r}: a resource cannot be colocated with itself"
            )
        score_if_new = None
        if sets is not None:
            if not isinstance(sets, list) or not sets:
                raise SpecError(f"{culprit}: sets must be a non-empty list of mappings with 'resources'")
            for index, rset in enumerate(sets):
                if not isinstance(rset, dict) or not isinstance(rset.get("resources"), list) or not rset["resources"]:
                    raise SpecError(f"{culprit}: set {index + 1} needs a 'resources' list")
                bad = sorted(set(rset) - set(SET_ATTRIBUTES) - {"resources"})
                if bad:
                    raise SpecError(f"{culprit}: set {index + 1} has unknown key {bad[0]!r}")
                for key in SET_BOOLEANS:
                    if rset.get(key) is not None:
                        rset[key] = parse_bool(rset[key], f"{culprit}: set {index + 1} {key}")
                if rset.get("score") is not None:
                    rset["score"] = check_score(rset["score"], f"{culprit}: set {index + 1} score")
        if rules is not None and kind != "location":
            raise SpecError(f"{culprit}: rules apply to location constraints only")
        if kind == "location":
            if sets is None and not (attrs.get("rsc") or attrs.get("rsc-pattern")):
                raise SpecError(f"{culprit}: a location constraint needs rsc (or rsc_pattern, or sets)")
            if rules is None and "node" not in attrs:
                raise SpecError(f"{culprit}: a location constraint needs node and score, or rules")
            if rules is not None and ("node" in attrs or "score" in attrs):
                raise SpecError(f"{culprit}: give either node/score or rules, not both")
            if rules is None and "score" not in attrs:
                attrs["score"] = "INFINITY"
        elif kind == "colocation":
            if sets is None and not (attrs.get("rsc") and attrs.get("with-rsc")):
                raise SpecError(f"{culprit}: a colocation constraint needs rsc and with_rsc (or sets)")
            if "score" not in args:  # score: null (given, None) says "no score"
                score_if_new = "INFINITY"
        elif kind == "order" and sets is None and not (attrs.get("first") and attrs.get("then")):
            raise SpecError(f"{culprit}: an order constraint needs first and then (or sets)")
        elif kind == "ticket" and not (attrs.get("ticket") and (attrs.get("rsc") or sets is not None)):
            raise SpecError(f"{culprit}: a ticket constraint needs ticket and rsc (or sets)")
        if rules is not None and (not isinstance(rules, list) or not rules):
            raise SpecError(f"{culprit}: rules must be a non-empty list")
        if rules is not None:
            for index, rule in enumerate(rules, start=1):
                rules_mod.check(rule, f"{culprit} rule {index}", scored=True)
        return cls(name, kind, attrs, rules, sets, score_if_new)

    def references(self):
        refs = [self.attrs[a] for a in ("rsc", "with-rsc", "first", "then") if a in self.attrs]
        for rset in self.sets or ():
            refs.extend(rset["resources"])
        return refs

    def element(self, ident):
        tag = CONSTRAINT_TAGS[self.kind]
        element = etree.Element(tag, id=ident)
        for name, value in self.attrs.items():
            element.set(name, value)
        for index, rset in enumerate(self.sets or (), start=1):
            set_el = etree.SubElement(element, "resource_set", id=f"{ident}-set-{index}")
            for key, value in rset.items():
                if key != "resources":
                    set_el.set(SET_ATTRIBUTES[key], norm_score(value) if key == "score" else nvsets.as_text(value))
            for rsc in rset["resources"]:
                etree.SubElement(set_el, "resource_ref", id=rsc)
        rules = self.rules or []
        for index, rule in enumerate(rules, start=1):
            rule_id = f"{ident}-rule" if len(rules) == 1 else f"{ident}-rule-{index}"
            element.append(rules_mod.to_element(rule, rule_id, scored=True))
        return element

    def _identity(self):
        if self.sets or self.rules:
            return None
        return tuple(self.attrs.get(k) for k in _IDENTITY[self.kind])

    def find_existing(self, cib):
        tag = CONSTRAINT_TAGS[self.kind]
        existing = next(iter(cib.known_with_id(self.id)), None)
        if existing is not None:
            if existing.tag != tag:
                raise SpecError(f"constraint {self.id!r}: the id is already used by a <{existing.tag}>")
            return existing
        identity = self._identity()
        constraints = cib.section("constraints")
        if identity is None or constraints is None:
            return None
        # Adopt a pcs/crmsh-made constraint about the same resources, so a
        # declaration never creates its duplicate; cli-* ones are bans.
        for found in _identities(cib, constraints).get((tag, identity), ()):
            if found.getparent() is constraints and _adoptable(found) and _identity_of(found) == (tag, identity):
                return found
        return None

    def touched(self):
        return self._adopted or [self.id]

    def apply(self, cib, ctx):
        if self.kind == "location" and self.attrs.get("node") is not None:
            check_cluster_node(cib, self.attrs["node"], f"constraint {self.id!r}: node")
        existing = self.find_existing(cib)
        ident = existing.get("id") if existing is not None else self.id
        self._adopted = []
        desired = self.element(ident)
        for element in desired.iter():
            for name in _ROLE_ATTRS:
                if element.get(name) is not None:
                    element.set(name, role_for(cib, element.get(name)))
        if self.score_if_new is not None:
            score = existing.get("score") if existing is not None else self.score_if_new
            if score is not None:
                desired.set("score", score)
        if existing is not None:
            self._adopted = [existing]
            if _canonical(existing) == _canonical(desired):
                return
            existing.getparent().replace(existing, desired)
        else:
            cib.section("constraints", create=True).append(desired)
        _keep_identity(cib, desired.getparent(), desired)
        self._adopted = [desired]


_KIND_OF_TAG = {tag: kind for kind, tag in CONSTRAINT_TAGS.items()}


def _adoptable(element):
    return element.tag in _KIND_OF_TAG and not element.get("id", "").startswith("cli-") and element.find("rule") is None


def _identity_of(element):
    return (element.tag, tuple(element.get(k) for k in _IDENTITY[_KIND_OF_TAG[element.tag]]))


def _identities(cib, constraints):
    """``{(tag, identity): [constraint, ...]}``: the constraints a new declaration may adopt.

    Made once per candidate instead of a scan of every constraint for every
    new one; a ConstraintSpec adds what it writes (:func:`_keep_identity`),
    a hit is checked, and the index is made again when the number of
    constraints moved otherwise (one removed by another spec).
    """
    index = cib.indexes.get("constraint identities")
    if index is not None and index[0] == len(constraints):
        return index[1]
    by_identity: dict = {}
    for element in constraints:
        if isinstance(element.tag, str) and _adoptable(element):
            by_identity.setdefault(_identity_of(element), []).append(element)
    cib.indexes["constraint identities"] = (len(constraints), by_identity)
    return by_identity


def _keep_identity(cib, constraints, element):
    index = cib.indexes.get("constraint identities")
    if index is None:
        return
    if _adoptable(element):
        index[1].setdefault(_identity_of(element), []).append(element)
    cib.indexes["constraint identities"] = (len(constraints), index[1])


@dataclass
class ConstraintAbsentSpec(Spec):
    id: str

    def touched(self):
        return [self.id]

    def apply(self, cib, ctx):
        constraints = cib.section("constraints")
        if constraints is None:
            return
        for element in constraints.xpath("*[@id=$i]", i=self.id):
            constraints.remove(element)


def remove_constraints_referring(cib, resource_ids):
    constraints = cib.section("constraints")
    if constraints is None:
        return
    for constraint in list(constraints):
        if any(constraint.get(attr) in resource_ids for attr in ("rsc", "with-rsc", "first", "then")):
            constraints.remove(constraint)
            continue
        for ref in constraint.xpath(".//resource_ref"):
            if ref.get("id") in resource_ids:
                rset = ref.getparent()
                rset.remove(ref)
                if rset.find("resource_ref") is None:
                    constraint.remove(rset)
        if constraint.find("resource_set") is None and not any(
            constraint.get(a) for a in ("rsc", "first", "rsc-pattern")
        ):
            constraints.remove(constraint)
