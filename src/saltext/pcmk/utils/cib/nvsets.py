"""Name/value attribute sets (instance, meta, utilization attributes).

Reconciling keeps the ids of nvpairs that already exist, whoever made them
(pcs, crmsh, an operator), so adopting a foreign resource causes no churn.
New ids follow Pacemaker's convention ``<set id>-<name>``.

A declaration is either a mapping (the object's one unconditional set) or a
list of sets, each ``{values: {...}, id:, score:, rule:}`` (every set of the
object, exactly: several unconditional ones, rule-based ones); see
:func:`sync_sets`.
"""

import re

from lxml import etree

from saltext.pcmk.utils.cib import rules

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
# What Pacemaker reads as a boolean (crm_is_true), in any case: the one list
# (specs/base.parse_bool reads state arguments by it).
TRUE_WORDS = _TRUE = frozenset({"true", "yes", "on", "y", "1"})
FALSE_WORDS = _FALSE = frozenset({"false", "no", "off", "n", "0"})


def id_part(text):
    """Make ``text`` usable inside an XML id."""
    return _ID_UNSAFE.sub("_", str(text))


def as_text(value):
    """Render a YAML/Python value the way Pacemaker expects it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def same_value(current, wanted):
    """Equal as Pacemaker reads them (booleans spelt either way match)."""
    if current == wanted:
        return True
    low_c, low_w = (current or "").lower(), (wanted or "").lower()
    return (low_c in _TRUE and low_w in _TRUE) or (low_c in _FALSE and low_w in _FALSE)


def resolved(nvpair):
    """``(name, value)`` of ``nvpair``, read through an ``id-ref`` to the nvpair it names."""
    ref = nvpair.get("id-ref")
    if ref is not None:
        target = nvpair.getroottree().xpath("//nvpair[@id=$i]", i=ref)
        if target:
            return target[0].get("name"), target[0].get("value")
    return nvpair.get("name"), nvpair.get("value")


def pairs_named(nvset, name):
    """The nvpairs of ``nvset`` called ``name`` (an ``id-ref`` one by the name it refers to)."""
    return [nv for nv in nvset.findall("nvpair") if resolved(nv)[0] == name]


def plain_set(parent, tag):
    """The first ``tag`` set under ``parent`` that has no rule (the unconditional one)."""
    for child in parent.findall(tag):
        if child.find("rule") is None:
            return child
    return None


def score_value(text):
    """A score as the number Pacemaker makes of it (``INFINITY`` is 1000000, larger ones are clamped; absent is 0)."""
    text = (text or "0").strip()
    if text.upper() in ("INFINITY", "+INFINITY"):
        return 1000000
    if text.upper() == "-INFINITY":
        return -1000000
    try:
        return max(-1000000, min(1000000, int(text)))
    except ValueError:
        return 0


def _score(nvset):
    return score_value(nvset.get("score"))


def read_order(parent, tag, first_id=None):
    """The unconditional ``tag`` sets of ``parent`` in the order Pacemaker reads them.

    As Pacemaker's scheduler (``pe__unpack_dataset_nvpairs``) does: the set
    whose id is ``first_id`` first (``cib-bootstrap-options`` for cluster
    properties, wherever it stands), then by ``score``, highest first, and
    sets of equal score *last in the document first* (Pacemaker prepends them
    to a list it then sorts stably). A name's value is the one in the first
    set that has it, and inside a set the first nvpair. Measured on Pacemaker
    2.1.5 with ``maintenance-mode`` and ``crm_simulate``
    (tests/functional/test_foreign_cibs.py).
    """
    found = [child for child in parent.findall(tag) if child.find("rule") is None]
    ranked = [
        ((nvset.get("id") != first_id) if first_id else False, -_score(nvset), -index, nvset)
        for index, nvset in enumerate(found)
    ]
    return [entry[-1] for entry in sorted(ranked, key=lambda entry: entry[:3])]


def effective(parent, tag, name, first_id=None):
    """The nvpair that gives ``name`` its value (see :func:`read_order`), or None."""
    for nvset in read_order(parent, tag, first_id):
        found = pairs_named(nvset, name)
        if found:
            return found[0]
    return None


def sync(cib, parent, tag, wanted, *, set_id, keep=(), insert_at=None, defaults=None):
    """Make the unconditional ``tag`` set of ``parent`` hold exactly ``wanted``.

    ``wanted`` None leaves the set alone. Names in ``keep`` are never removed
    (attributes Pacemaker or an operator manage, such as ``target-role``).
    ``defaults`` are values Pacemaker assumes when a name is absent: a name
    at its default is the same whether written or not (neither added nor
    removed for it).
    Returns nothing; the caller diffs the whole document afterwards.
    """
    if wanted is None:
        return
    if isinstance(wanted, list):
        sync_sets(cib, parent, tag, wanted, set_id=set_id, keep=keep, insert_at=insert_at)
        return
    defaults = defaults or {}
    current = values(parent, tag)
    wanted = {
        name: value
        for name, value in wanted.items()
        if not (name in defaults and name not in current and same_value(as_text(value), defaults[name]))
    }
    nvset = plain_set(parent, tag)
    if nvset is None:
        if not wanted:
            return
        nvset = etree.Element(tag, id=cib.unique_id(set_id))
        if insert_at is None:
            parent.append(nvset)
        else:
            parent.insert(insert_at, nvset)
    if _sync_pairs(cib, nvset, wanted, keep, defaults) and len(nvset) == 0:
        parent.remove(nvset)


def _sync_pairs(cib, nvset, wanted, keep, defaults):
    """Make ``nvset``'s pairs ``wanted`` (keeping ``keep`` and names at their ``defaults``); whether any went."""
    removed_any = False
    for nvpair in list(nvset.findall("nvpair")):
        name, value = resolved(nvpair)
        at_default = name in defaults and same_value(value, defaults[name])
        if name not in wanted and name not in keep and not at_default:
            nvset.remove(nvpair)
            removed_any = True
    for name, value in wanted.items():
        # A second nvpair of a declared name is shadowed (Pacemaker reads the first): left as found.
        set_value(cib, nvset, name, value)
    return removed_any


def sync_sets(cib, parent, tag, declared, *, set_id, keep=(), insert_at=None):
    """Make the ``tag`` sets of ``parent`` exactly ``declared``, a list of
    ``{values, id, score, rule}`` (checked by ``specs.check_nvsets``), in that order.

    A declared set is matched to an existing one by ``id``, else to the first
    unmatched one with the same rule (or none), so sets another tool made keep
    their ids. Sets not declared are removed; names in ``keep`` are never
    removed from a set that holds them. Order matters to Pacemaker (sets of
    equal score are read last first), so a different order is written.
    """
    existing = parent.findall(tag)
    matched: list = [None] * len(declared)
    by_id = {element.get("id"): element for element in existing}
    declared_ids = {wanted.get("id") for wanted in declared}
    for index, wanted in enumerate(declared):
        if wanted.get("id") in by_id:
            matched[index] = by_id[wanted["id"]]
    for index, wanted in enumerate(declared):
        if matched[index] is not None or wanted.get("id"):
            continue
        free = [e for e in existing if e not in matched and e.get("id") not in declared_ids]
        meaning = _rule_meaning(wanted)
        same = [e for e in free if _rule_meaning_of(e) == meaning]
        if same:
            matched[index] = same[0]
    for element in existing:
        if element not in matched:
            parent.remove(element)
    for index, wanted in enumerate(declared):
        nvset = matched[index]
        if nvset is None:
            default_id = set_id if index == 0 else f"{set_id}-{index + 1}"
            nvset = matched[index] = etree.Element(tag, id=cib.unique_id(wanted.get("id") or default_id))
            siblings = [e for e in parent if e.tag == tag]
            if siblings:
                siblings[-1].addnext(nvset)
            elif insert_at is not None:
                parent.insert(insert_at, nvset)
            else:
                parent.append(nvset)
        sync_set(cib, nvset, wanted, keep)
    current = [element for element in parent if element.tag == tag]
    if current != matched:
        # Move the declared sets, in order, to where the first of them stands (or insert_at).
        position = parent.index(current[0]) if current else (len(parent) if insert_at is None else insert_at)
        for element in matched:
            parent.remove(element)
        for offset, element in enumerate(matched):
            parent.insert(position + offset, element)


def sync_set(cib, nvset, wanted, keep=()):
    """Make one set its declaration ``{values, score, rule}``: score, rule (by meaning) and pairs exact."""
    score = wanted.get("score")
    if score is None:
        nvset.attrib.pop("score", None)
    elif rules.norm_score(nvset.get("score", "")) != score:
        nvset.set("score", score)
    found_rule = nvset.find("rule")
    if _rule_meaning(wanted) != _rule_meaning_of(nvset):
        if found_rule is not None:
            nvset.remove(found_rule)
        if wanted.get("rule") is not None:
            rule_id = found_rule.get("id") if found_rule is not None else cib.unique_id(f"{nvset.get('id')}-rule")
            nvset.insert(0, rules.to_element(wanted["rule"], rule_id))
    _sync_pairs(cib, nvset, wanted.get("values") or {}, keep, {})


def _rule_meaning(wanted):
    rule = wanted.get("rule")
    return None if rule is None else rules.canonical(rules.to_element(rule, "x"), scored=False)


def _rule_meaning_of(nvset):
    rule = nvset.find("rule")
    return None if rule is None else rules.canonical(rule, scored=False)


def declared_values(wanted):
    """What a declaration (mapping or list of sets) gives each name, as the unconditional
    sets give it (the first set that has it); rule-based sets are left out."""
    if wanted is None or isinstance(wanted, dict):
        return wanted
    found: dict = {}
    for nvset in wanted:
        if nvset.get("rule") is None:
            for name, value in (nvset.get("values") or {}).items():
                found.setdefault(name, value)
    return found


def set_value(cib, nvset, name, value):
    """Set one nvpair of ``nvset`` (``value`` None removes it); keeps its id."""
    existing = pairs_named(nvset, name)
    if value is None:
        for nvpair in existing:
            nvset.remove(nvpair)
        return
    text = as_text(value)
    if existing and existing[0].get("id-ref") is not None:
        if same_value(resolved(existing[0])[1], text):
            return
        # A reference shares another object's value: this one gets a value of its own instead.
        reference = existing[0]
        own = etree.Element("nvpair", id=cib.unique_id(f"{nvset.get('id')}-{id_part(name)}"), name=name, value=text)
        nvset.replace(reference, own)
    elif existing:
        if not same_value(existing[0].get("value"), text):
            existing[0].set("value", text)
    else:
        etree.SubElement(nvset, "nvpair", id=cib.unique_id(f"{nvset.get('id')}-{id_part(name)}"), name=name, value=text)


def values(parent, tag):
    """The unconditional set of ``parent`` as a dict (empty if none)."""
    nvset = plain_set(parent, tag)
    if nvset is None:
        return {}
    found: dict = {}
    for nvpair in nvset.findall("nvpair"):
        found.setdefault(*resolved(nvpair))  # the first is what Pacemaker reads
    return found


def declared_names(wanted):
    """Every name a declaration (mapping or list of sets) sets, in any set."""
    if wanted is None:
        return set()
    if isinstance(wanted, dict):
        return set(wanted)
    return {name for nvset in wanted for name in (nvset.get("values") or {})}
