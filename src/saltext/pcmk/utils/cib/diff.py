"""What a change does, per CIB object, in words an operator reads.

Each object (a resource, a constraint, a property set, a node, a fencing
level) is flattened to ``path -> value`` pairs such as ``params.ip`` or
``op monitor 10s.timeout``; two CIBs are compared object by object. Secret
parameters are masked here, the only place changes are rendered, so they can
not leak into state output or logs.
"""

MASK = "********"
OBJECT_TAGS = {
    "primitive": "resource",
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


def _flatten(element, prefix=""):
    flat = {}
    for name, value in element.attrib.items():
        if name != "id":
            flat[f"{prefix}{name}"] = value
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if _object_key(child) is not None and child.tag != "meta_attributes":
            flat[f"{prefix}member {child.get('id')}"] = str(list(element).index(child))
            continue
        if child.tag in _SET_NAMES or (child.tag == "meta_attributes"):
            label = _SET_NAMES.get(child.tag, child.tag)
            if child.find("rule") is not None:
                label = f"{label}[{child.get('id')}]"
            for nvpair in child.findall("nvpair"):
                flat[f"{prefix}{label}.{nvpair.get('name')}"] = nvpair.get("value")
            for rule in child.findall("rule"):
                flat.update(_flatten(rule, f"{prefix}{label}.rule {rule.get('id')}."))
        elif child.tag == "operations":
            for op in child.findall("op"):
                flat.update(
                    {
                        k: v
                        for k, v in _flatten(op, f"{prefix}op {op.get('name')} {op.get('interval')}.").items()
                        if not k.endswith((".name", ".interval"))
                    }
                )
        elif child.tag == "nvpair":
            flat[f"{prefix}{child.get('name')}"] = child.get("value")
        elif child.tag == "resource_ref":
            flat[f"{prefix}ref {child.get('id')}"] = str(list(element).index(child))
        else:
            flat.update(_flatten(child, f"{prefix}{child.tag} {child.get('id') or ''}.".replace(" .", ".")))
    return flat


def objects(cib, secrets_by_resource=None):
    """``{object key: flat dict}`` of the configuration section, secrets masked."""
    return {key: _masked(key, flat, secrets_by_resource or {}) for key, flat in _objects(cib).items()}


def _masked(key, flat, secrets_by_resource):
    secrets = secrets_by_resource.get(key.split(" ", 1)[1], ()) if key.startswith("resource ") else ()
    if not secrets:
        return flat
    return {
        k: (MASK if k.startswith("params.") and k[7:] in secrets and v and not v.startswith("lrm://") else v)
        for k, v in flat.items()
    }


def _objects(cib):
    found = {}
    config = cib.configuration
    for element in config.iter():
        if not isinstance(element.tag, str):
            continue
        key = _object_key(element)
        if key is None:
            continue
        found[key] = _flatten(element)
    return found


def compare(before, after, secrets_by_resource=None):
    """Changes from ``before`` to ``after`` as ``{object: {added, removed, changed}}``.

    Objects that appear or disappear are reported as ``{"created": {...}}``
    or ``{"deleted": {...}}`` with their attributes.
    """
    # Compare real values (a rotated secret is a change), mask only what is reported.
    old = _objects(before)
    new = _objects(after)
    changes = {}
    for key in sorted(set(old) | set(new)):
        secrets = secrets_by_resource or {}
        if key not in new:
            changes[key] = {"deleted": _masked(key, old[key], secrets)}
        elif key not in old:
            changes[key] = {"created": _masked(key, new[key], secrets)}
        elif old[key] != new[key]:
            entry = {}
            was, now = _masked(key, old[key], secrets), _masked(key, new[key], secrets)
            added = {k: now[k] for k in new[key] if k not in old[key]}
            removed = {k: was[k] for k in old[key] if k not in new[key]}
            changed = {
                k: {"old": was[k], "new": now[k]} for k in new[key] if k in old[key] and old[key][k] != new[key][k]
            }
            for label, part in (("added", added), ("removed", removed), ("changed", changed)):
                if part:
                    entry[label] = part
            changes[key] = entry
    return changes


def render(changes):
    """A short text version of :func:`compare`'s result, for comments and logs."""
    lines = []
    for key, entry in changes.items():
        if "created" in entry:
            lines.append(f"+ {key}")
            lines.extend(f"    + {k} = {v}" for k, v in entry["created"].items())
        elif "deleted" in entry:
            lines.append(f"- {key}")
        else:
            lines.append(f"~ {key}")
            lines.extend(f"    + {k} = {v}" for k, v in entry.get("added", {}).items())
            lines.extend(f"    - {k} (was {v})" for k, v in entry.get("removed", {}).items())
            lines.extend(f"    ~ {k}: {v['old']} -> {v['new']}" for k, v in entry.get("changed", {}).items())
    return "\n".join(lines)
