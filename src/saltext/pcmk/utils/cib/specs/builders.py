"""State arguments -> specs: the one table the state module, ``pcmk.export``'s
self-check and the aggregation of low chunks build specs with.

``BUILDERS[fun](name, **arguments)`` is the list of specs the state
``pcmk.<fun>`` converges; ``LOW_KEYS[fun]`` the low-chunk keys that are its
arguments.
"""

import inspect

from .alert import AlertSpec
from .attribute import AttributeSpec
from .base import check_arguments, check_texts
from .bundle import BundleSpec
from .clone import CloneOfSpec
from .constraint import CONSTRAINT_ARGS, ConstraintAbsentSpec, ConstraintSpec
from .fencing import FencingLevelSpec
from .group import GroupSpec
from .node import NodeSpec
from .optionset import OptionSetSpec
from .resource import RESOURCE_ARGUMENTS, ResourceAbsentSpec, ResourceSpec
from .tagging import TagSpec
from .template import TEMPLATE_ARGUMENTS, TemplateAbsentSpec, TemplateSpec


def _resource_specs(name, **kwargs):
    return [ResourceSpec.build(name, **kwargs)]


def _template_specs(name, **kwargs):
    return [TemplateSpec.build(name, **kwargs)]


# What a state may say of a resource (a template) besides its id: its agent and
# every resource (template) argument.
_RESOURCE_ARGS = frozenset({"name", "agent", *RESOURCE_ARGUMENTS})
_TEMPLATE_ARGS = frozenset({"name", "agent", *TEMPLATE_ARGUMENTS})


def _constraint_specs(name, kind=None, constraint_id=None, **kwargs):
    return [ConstraintSpec.build(constraint_id or name, kind, **kwargs)]


def _option_set_builder(kind):
    def build(name, values=None, score=None, rule=None):
        return [OptionSetSpec.build(kind, name, values, score, rule)]

    return build


def _option_set_absent_builder(kind):
    def build(name):
        return [OptionSetSpec.build(kind, name, present=False)]

    return build


BUILDERS = {
    "resource": _resource_specs,
    "resource_absent": lambda name: [ResourceAbsentSpec(name)],
    "resource_template": _template_specs,
    "resource_template_absent": lambda name: [TemplateAbsentSpec.build(name)],
    "group": lambda name, resources=None, meta=None, params=None, description=None: [
        GroupSpec.build(name, resources, meta, params, description)
    ],
    "clone": lambda name, clone_id=None, meta=None, promotable=False, params=None, description=None: [
        CloneOfSpec.build(name, clone_id, meta, promotable, params, description)
    ],
    "constraint": _constraint_specs,
    "constraint_absent": lambda name, constraint_id=None: [ConstraintAbsentSpec(constraint_id or name)],
    "property": lambda name, value=None: [AttributeSpec.build("property", name, value)],
    "property_absent": lambda name: [AttributeSpec.build("property", name, None)],
    "rsc_defaults": lambda name, value=None: [AttributeSpec.build("rsc_defaults", name, value)],
    "rsc_defaults_absent": lambda name: [AttributeSpec.build("rsc_defaults", name, None)],
    "op_defaults": lambda name, value=None: [AttributeSpec.build("op_defaults", name, value)],
    "op_defaults_absent": lambda name: [AttributeSpec.build("op_defaults", name, None)],
    **{f"{kind}_set": _option_set_builder(kind) for kind in OptionSetSpec.KINDS},
    **{f"{kind}_set_absent": _option_set_absent_builder(kind) for kind in OptionSetSpec.KINDS},
    "node_attribute": lambda name, node=None, value=None, attribute=None: [
        AttributeSpec.build("node", attribute or name, value, node=node)
    ],
    "node_attribute_absent": lambda name, node=None, attribute=None: [
        AttributeSpec.build("node", attribute or name, None, node=node)
    ],
    "node_utilization": lambda name, node=None, value=None, attribute=None: [
        AttributeSpec.build("node_utilization", attribute or name, value, node=node)
    ],
    "node_utilization_absent": lambda name, node=None, attribute=None: [
        AttributeSpec.build("node_utilization", attribute or name, None, node=node)
    ],
    "node": lambda name, node=None, score=None, description=None, standby=None, maintenance=None: [
        NodeSpec.build(node or name, score, description, standby, maintenance)
    ],
    "fencing_level": lambda name, target=None, index=1, devices=None, target_pattern=None, target_attribute=None, target_value=None: [
        FencingLevelSpec.build(
            target or name, index, devices, pattern=target_pattern, attribute=target_attribute, value=target_value
        )
    ],
    "fencing_level_absent": lambda name, target=None, index=1, target_pattern=None, target_attribute=None, target_value=None: [
        FencingLevelSpec.build(
            target or name, index, present=False, pattern=target_pattern, attribute=target_attribute, value=target_value
        )
    ],
    "tag": lambda name, resources=None: [TagSpec.build(name, resources)],
    "tag_absent": lambda name: [TagSpec.build(name, present=False)],
    "alert": lambda name, path=None, description=None, meta=None, params=None, recipients=None, select=None: [
        AlertSpec.build(name, path, description, meta, params, recipients, select)
    ],
    "alert_absent": lambda name: [AlertSpec.build(name, present=False)],
    "bundle": lambda name, container=None, network=None, storage=None, primitive=None, meta=None, description=None: [
        BundleSpec.build(name, container, network, storage, primitive, meta, description)
    ],
    "bundle_absent": lambda name: [ResourceAbsentSpec(name, kind="bundle")],
}
# Low-chunk keys that are state arguments, per function (constraint takes its
# attributes as keyword arguments).
LOW_KEYS = {
    fun: (set(inspect.signature(builder).parameters) - {"kwargs"})
    | (CONSTRAINT_ARGS if fun == "constraint" else set())
    | (_RESOURCE_ARGS if fun == "resource" else set())
    | (_TEMPLATE_ARGS if fun == "resource_template" else set())
    for fun, builder in BUILDERS.items()
}


# The YAML type of each argument that has one, per function: every boolean
# argument of every state is here, so one rule (base.parse_bool) reads them all.
ARGUMENT_TYPES = {
    "resource": {"agent": str, **RESOURCE_ARGUMENTS},
    "resource_template": {"agent": str, **TEMPLATE_ARGUMENTS},
    "clone": {"clone_id": str, "meta": (dict, list), "promotable": bool, "params": (dict, list), "description": str},
    "group": {"meta": (dict, list), "params": (dict, list), "description": str},
    "property_set": {"values": dict, "rule": dict},
    "rsc_defaults_set": {"values": dict, "rule": dict},
    "op_defaults_set": {"values": dict, "rule": dict},
    "node": {"standby": bool, "maintenance": bool, "description": str},
    "constraint": {
        "symmetrical": bool,
        "require_all": bool,
        "influence": bool,
        "rules": list,
        "sets": list,
        "constraint_id": str,
    },
    # fencing_level's index (an integer 1-9, "2" included) is FencingLevelSpec.build's to check.
    "fencing_level": {"devices": (list, str)},
}


def build(fun, name, **arguments):
    """The specs of state ``pcmk.<fun>`` with these arguments.

    Every key and string in them is checked first: a control character (which
    XML cannot hold) or a newline or tab (which Pacemaker's patch path does not
    keep) is refused naming the state and the argument.
    """
    check_texts({"name": name, **arguments}, name)
    table = ARGUMENT_TYPES.get(fun)
    if table:
        arguments = check_arguments(arguments, table, f"{fun.replace('_', ' ')} {name!r}")
    return BUILDERS[fun](name, **arguments)
