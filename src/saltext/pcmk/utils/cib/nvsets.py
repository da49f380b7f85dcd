"""Name/value attribute sets (instance, meta, utilization attributes).

Reconciling keeps the ids of nvpairs that already exist, whoever made them
(pcs, crmsh, an operator), so adopting a foreign resource causes no churn.
New ids follow Pacemaker's convention ``<set id>-<name>``.
"""

import re

from lxml import etree

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_TRUE = {"true", "yes", "on", "y", "1"}
_FALSE = {"false", "no", "off", "n", "0"}


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
    if removed_any and len(nvset) == 0:
        parent.remove(nvset)


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
