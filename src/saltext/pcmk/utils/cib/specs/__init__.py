"""Declarative specs of CIB objects, one module per kind; the public ones re-exported here.

Every spec has ``apply(cib, ctx)``, changing a candidate CIB in place so it
matches the declaration, and ``references()``, the resource ids it needs to
exist. Specs never write; :mod:`saltext.pcmk.utils.cib.session` diffs,
validates and writes.

Existing elements are adopted: matched by id (or, for constraints, by what
they constrain), their ids and those of their children are kept, and only
what the declaration asks for is changed.

``base`` (Spec, id and mapping checks, durations) is below every other
module; ``placement`` (where a resource sits: top level, group, clone) is
shared by ``resource``, ``group``, ``clone`` and ``bundle``; ``template`` (resource
templates) builds on ``resource``'s AgentSpec; ``node`` (a node's own
entry) sets its standby and maintenance through ``attribute``;
``constraint``, ``attribute``, ``optionset``, ``fencing``, ``tagging`` and
``alert`` stand alone.
"""

from .alert import AlertSpec
from .attribute import AttributeSpec, ResourceMetaSpec
from .base import (
    OPERATOR_META,
    Spec,
    check_argument,
    check_arguments,
    check_id,
    check_mapping,
    check_nvsets,
    check_score,
    clone_id_for,
    duration_ms,
    norm_score,
    parse_bool,
    same_duration,
)
from .bundle import CONTAINER_KINDS, BundleSpec
from .clone import CloneOfSpec
from .constraint import (
    CONSTRAINT_ARGS,
    CONSTRAINT_TAGS,
    ConstraintAbsentSpec,
    ConstraintSpec,
    remove_constraints_referring,
)
from .fencing import FencingLevelSpec
from .group import GroupSpec
from .node import NodeSpec
from .optionset import OptionSetSpec
from .placement import CloneSpec
from .resource import RESOURCE_ARGUMENTS, AgentSpec, OpSpec, ResourceAbsentSpec, ResourceSpec, declares_clone
from .tagging import TagSpec
from .template import TEMPLATE_ARGUMENTS, TemplateAbsentSpec, TemplateSpec

__all__ = [
    "CONSTRAINT_ARGS",
    "CONTAINER_KINDS",
    "CONSTRAINT_TAGS",
    "OPERATOR_META",
    "RESOURCE_ARGUMENTS",
    "TEMPLATE_ARGUMENTS",
    "AgentSpec",
    "AlertSpec",
    "AttributeSpec",
    "BundleSpec",
    "CloneOfSpec",
    "CloneSpec",
    "ConstraintAbsentSpec",
    "ConstraintSpec",
    "FencingLevelSpec",
    "GroupSpec",
    "NodeSpec",
    "OpSpec",
    "OptionSetSpec",
    "ResourceAbsentSpec",
    "ResourceMetaSpec",
    "ResourceSpec",
    "Spec",
    "TagSpec",
    "TemplateAbsentSpec",
    "TemplateSpec",
    "check_argument",
    "check_arguments",
    "check_id",
    "check_mapping",
    "check_nvsets",
    "check_score",
    "clone_id_for",
    "declares_clone",
    "duration_ms",
    "norm_score",
    "parse_bool",
    "remove_constraints_referring",
    "same_duration",
]
