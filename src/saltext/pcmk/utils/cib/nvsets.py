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


def plain_set(parent, tag):
    """The first ``tag`` set under ``parent`` that has no rule (the unconditional one)."""
    for child in parent.findall(tag):
        if child.find("rule") is None:
            return child
    return None


def sync(cib, parent, tag, wanted, *, set_id, keep=(), insert_at=None):
    """Make the unconditional ``tag`` set of ``parent`` hold exactly ``wanted``.

    ``wanted`` None leaves the set alone. Names in ``keep`` are never removed
    (attributes Pacemaker or an operator manage, such as ``target-role``).
    Returns nothing; the caller diffs the whole document afterwards.
    """
    if wanted is None:
        return
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
        name = nvpair.get("name")
        if name not in wanted and name not in keep:
            nvset.remove(nvpair)
            removed_any = True
    for name, value in wanted.items():
        for duplicate in nvset.xpath("nvpair[@name=$n]", n=name)[1:]:
            nvset.remove(duplicate)
        set_value(cib, nvset, name, value)
    if removed_any and len(nvset) == 0:
        parent.remove(nvset)


def set_value(cib, nvset, name, value):
    """Set one nvpair of ``nvset`` (``value`` None removes it); keeps its id."""
    existing = nvset.xpath("nvpair[@name=$n]", n=name)
    if value is None:
        for nvpair in existing:
            nvset.remove(nvpair)
        return
    text = as_text(value)
    if existing:
        if not same_value(existing[0].get("value"), text):
            existing[0].set("value", text)
    else:
        etree.SubElement(nvset, "nvpair", id=cib.unique_id(f"{nvset.get('id')}-{id_part(name)}"), name=name, value=text)


def values(parent, tag):
    """The unconditional set of ``parent`` as a dict (empty if none)."""
    nvset = plain_set(parent, tag)
    if nvset is None:
        return {}
    return {nv.get("name"): nv.get("value") for nv in nvset.findall("nvpair")}
