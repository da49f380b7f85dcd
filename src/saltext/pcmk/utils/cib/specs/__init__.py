"""Declarative specs of CIB objects, one module per kind; the public ones re-exported here.

Every spec has ``apply(cib, ctx)``, changing a candidate CIB in place so it
matches the declaration, and ``references()``, the resource ids it needs to
exist. Specs never write; :mod:`saltext.pcmk.utils.cib.session` diffs,
validates and writes.

Existing elements are adopted: matched by id (or, for constraints, by what
they constrain), their ids and those of their children are kept, and only
what the declaration asks for is changed.
"""

from .resource import (
    CONSTRAINT_ARGS,
    CONSTRAINT_TAGS,
    OPERATOR_META,
    AttributeSpec,
    CloneOfSpec,
    CloneSpec,
    ConstraintAbsentSpec,
    ConstraintSpec,
    FencingLevelSpec,
    GroupSpec,
    OpSpec,
    ResourceAbsentSpec,
    ResourceMetaSpec,
    ResourceSpec,
    Spec,
    check_id,
    duration_ms,
    norm_score,
    remove_constraints_referring,
    same_duration,
)

__all__ = [
    "CONSTRAINT_ARGS", "CONSTRAINT_TAGS", "OPERATOR_META", "AttributeSpec", "CloneOfSpec", "CloneSpec",
    "ConstraintAbsentSpec", "ConstraintSpec", "FencingLevelSpec", "GroupSpec", "OpSpec", "ResourceAbsentSpec",
    "ResourceMetaSpec", "ResourceSpec", "Spec", "check_id", "duration_ms", "norm_score",
    "remove_constraints_referring", "same_duration",
]
