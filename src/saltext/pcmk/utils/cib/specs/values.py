"""Values Pacemaker defines a type for, checked before anything is written.

Cluster properties are described by Pacemaker's own daemons
(:class:`~saltext.pcmk.utils.cib.metadata.ClusterOptions`). Resource meta
attributes and operation attributes are not described by any tool of
Pacemaker 2.1.5 (``crm_resource --list-options`` arrived in 2.1.8), so the
ones whose type *Pacemaker Explained* documents are listed here, and only
they are checked; any other meta attribute (an agent's own, a future
Pacemaker's) is taken as written.
"""

from saltext.pcmk.utils.cib.metadata import type_problem
from saltext.pcmk.utils.errors import SpecError

ROLES = ("Stopped", "Started", "Unpromoted", "Promoted", "Slave", "Master")
# Pacemaker Explained 2.1, "Resource Meta-Attributes" and "Clone Options":
# name -> (type, options).
RESOURCE_META = {
    "priority": ("integer", ()),
    "critical": ("boolean", ()),
    "target-role": ("select", ROLES),
    "is-managed": ("boolean", ()),
    "maintenance": ("boolean", ()),
    "resource-stickiness": ("score", ()),
    "requires": ("select", ("nothing", "quorum", "fencing", "unfencing")),
    "migration-threshold": ("score", ()),
    "failure-timeout": ("time", ()),
    "multiple-active": ("select", ("block", "stop_only", "stop_start", "stop_unexpected")),
    "allow-migrate": ("boolean", ()),
    "allow-unhealthy-nodes": ("boolean", ()),
    "container-attribute-target": ("select", ("host",)),
    "globally-unique": ("boolean", ()),
    "clone-max": ("nonnegative_integer", ()),
    "clone-node-max": ("nonnegative_integer", ()),
    "clone-min": ("nonnegative_integer", ()),
    "notify": ("boolean", ()),
    "ordered": ("boolean", ()),
    "interleave": ("boolean", ()),
    "promotable": ("boolean", ()),
    "promoted-max": ("nonnegative_integer", ()),
    "promoted-node-max": ("nonnegative_integer", ()),
    "master-max": ("nonnegative_integer", ()),
    "master-node-max": ("nonnegative_integer", ()),
    "remote-port": ("port", ()),
    "remote-connect-timeout": ("time", ()),
}
# Pacemaker Explained 2.1, "Operation Properties": name -> (type, options).
OP_ATTRIBUTES = {
    "interval": ("time", ()),
    "timeout": ("time", ()),
    "start-delay": ("time", ()),
    "enabled": ("boolean", ()),
    "record-pending": ("boolean", ()),
    "role": ("select", ROLES),
    "on-fail": (
        "select",
        ("ignore", "block", "stop", "restart", "standby", "fence", "restart-container", "demote"),
    ),
}
# Pacemaker Explained 2.1, "Alert Meta-Attributes" (of an alert and of a recipient).
ALERT_META = {"timeout": ("time", ())}
# Operation defaults are operation attributes; a resource default is a meta attribute.
DEFAULTS_TYPES = {"rsc_defaults": RESOURCE_META, "op_defaults": OP_ATTRIBUTES}


def check_typed(values, table, culprit, what):
    """Each name in ``values`` (a mapping) that ``table`` types, checked; SpecError naming name and value."""
    for name, value in (values or {}).items():
        if value is None or name not in table:
            continue
        kind, options = table[name]
        problem = type_problem(kind, value, options)
        if problem:
            raise SpecError(f"{culprit}: {what + ' ' if what else ''}{name} {value!r} {problem}")


def check_meta(meta, culprit, table=RESOURCE_META, what="meta"):
    """A resource's (or a default set's) meta: a mapping or a list of sets (check_nvsets' shapes)."""
    if meta is None:
        return
    for values in [meta] if isinstance(meta, dict) else [s["values"] for s in meta]:
        check_typed(values, table, culprit, what)


def check_utilization(utilization, culprit):
    """Utilization values are integers (Pacemaker 2.1 compares them as such)."""
    if utilization is None:
        return
    for values in [utilization] if isinstance(utilization, dict) else [s["values"] for s in utilization]:
        for name, value in (values or {}).items():
            if value is not None and type_problem("integer", value):
                raise SpecError(f"{culprit}: utilization {name} {value!r} is not an integer")


def check_op(op_name, attrs, interval, culprit):
    """An op's interval and typed attributes (durations, booleans, role, on-fail)."""
    where = f"{culprit}: op {op_name}"
    check_typed({"interval": interval, **attrs}, OP_ATTRIBUTES, where, "")
