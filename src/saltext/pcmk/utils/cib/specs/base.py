"""What every spec shares: the Spec base, id and mapping checks, durations."""

import re

from saltext.pcmk.utils.cib import nvsets, rules
from saltext.pcmk.utils.cib.rules import norm_score  # noqa: F401  (re-exported)
from saltext.pcmk.utils.errors import SpecError

RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle")
# Meta attributes that operators and Pacemaker's own tools set on a live
# resource (crm_resource --stop/--unmanage, pcs resource disable): left alone
# unless the declaration names them.
OPERATOR_META = frozenset({"target-role", "is-managed"})
_VALID_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def check_id(ident, what):
    if not isinstance(ident, str) or not _VALID_ID.match(ident):
        raise SpecError(
            f"{what} {ident!r} is not a valid Pacemaker id (letters, digits, '_', '.', '-'; not starting with a digit)"
        )
    return ident


# An XML attribute name without a namespace prefix (what lxml accepts in .set()).
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# Characters XML 1.0 cannot hold at all, and the three it can that Pacemaker's
# patch path does not keep: crm_diff writes a newline or carriage return in an
# attribute as the two characters backslash and n (r), and a tab as four spaces,
# so the value would be rewritten on every run.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MANGLED = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab"}


def check_attribute_name(name, culprit):
    """``name`` as an XML attribute name, or SpecError naming it."""
    if not isinstance(name, str) or not _XML_NAME.match(name):
        raise SpecError(
            f"{culprit}: {name!r} is not a valid attribute name (letters, digits, '_', '.', '-'; not starting with a digit)"
        )
    return name


def check_text(value, culprit):
    """Refuse a string Pacemaker cannot store as given (SpecError naming ``culprit``)."""
    if not isinstance(value, str):
        return value
    bad = _NOT_XML.search(value)
    if bad:
        raise SpecError(
            f"{culprit}: {value!r} holds a control character (U+{ord(bad.group()):04X}), which XML cannot store"
        )
    for char, what in _MANGLED.items():
        if char in value:
            raise SpecError(
                f"{culprit}: {value!r} holds {what}, which Pacemaker's patch path does not keep as given"
                " (it would be rewritten on every run); give the value on one line"
            )
    return value


def check_texts(arguments, culprit):
    """Walk state arguments (mappings, lists, strings): every key and string must be storable.

    ``culprit`` names the state; the message adds the path to the value
    (``vip: params.ip``).
    """

    def walk(value, path):
        where = f"{culprit}: {path}" if path else culprit
        if isinstance(value, dict):
            for key, item in value.items():
                check_text(key, f"{where} key")
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value, start=1):
                walk(item, f"{path}[{index}]")
        else:
            check_text(value, where)

    walk(arguments, "")
    return arguments


def set_attr(element, name, value):
    """Set an attribute (None: remove it), touching the element only when it changes."""
    if value is None:
        if name in element.attrib:
            del element.attrib[name]
    elif element.get(name) != value:
        element.set(name, value)


def remove_from_section(element):
    """Remove ``element``, and its section (``<tags>``, ``<alerts>``) once that is empty."""
    section = element.getparent()
    section.remove(element)
    if len(section) == 0:
        section.getparent().remove(section)


# -- scores: checked where rules are (rules.check_score), so rule scores are too --------
check_score = rules.check_score


def clone_id_for(name, clone_id=None):
    """The id of ``name``'s clone: ``clone_id`` when given, else ``<name>-clone`` (as pcs names it).

    The one place the default is made: states, the service provider's pillar
    and the loader glue all ask here.
    """
    return clone_id or f"{name}-clone"


# -- role names: the old schema's Master/Slave and the new Promoted/Unpromoted --
LEGACY_ROLES = {"Promoted": "Master", "Unpromoted": "Slave"}
NEW_ROLES = {v: k for k, v in LEGACY_ROLES.items()}


def role_meaning(role):
    """A role as one spelling (``Master`` -> ``Promoted``), so either spelling compares equal."""
    return NEW_ROLES.get(role, role) if role is not None else None


def schema_before(cib, version):
    """Whether the CIB's ``validate-with`` is a numbered schema older than ``version`` (``(3, 7)``)."""
    match = re.match(r"pacemaker-(\d+)\.(\d+)", cib.validate_with)
    return match is not None and (int(match.group(1)), int(match.group(2))) < version


def legacy_schema(cib):
    """Whether the CIB's schema predates Promoted/Unpromoted (pacemaker-3.7)."""
    return schema_before(cib, (3, 7))


def role_for(cib, role):
    """``role`` spelt as the CIB's schema spells it."""
    if role is None:
        return None
    return (LEGACY_ROLES if legacy_schema(cib) else NEW_ROLES).get(role, role)


# -- state arguments: one rule for booleans, one type check for every argument ----------
# The words Pacemaker itself reads as a boolean (crm_is_true / crm_str_to_boolean),
# in any case: a quoted "false" in YAML means what it means to Pacemaker.
TRUE_WORDS, FALSE_WORDS = nvsets.TRUE_WORDS, nvsets.FALSE_WORDS


def parse_bool(value, culprit):
    """``value`` as a bool: true/false, the words Pacemaker reads as one (any case), 1/0; else SpecError."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise SpecError(
        f"{culprit} must be true or false (yes/no, on/off, 1/0 read as Pacemaker reads them), got {value!r}"
    )


_TYPE_NAMES = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}


def type_name(kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(dict.fromkeys(_TYPE_NAMES[k] for k in kinds))


def check_argument(value, expected, culprit):
    """A state (or pillar) argument checked against its declared YAML type(s), parsed.

    A boolean argument takes what :func:`parse_bool` takes (``clone: "false"``
    is false); a string argument takes numbers too (YAML reads ``2024`` as
    one); nothing else is converted. None (left out) passes.
    """
    if value is None:
        return None
    kinds = expected if isinstance(expected, tuple) else (expected,)
    others = tuple(k for k in kinds if k is not bool)
    if bool in kinds and not (others and isinstance(value, others) and not isinstance(value, bool)):
        return parse_bool(value, culprit)
    if isinstance(value, bool):
        raise SpecError(f"{culprit} must be a {type_name(expected)}, got {value!r}")
    if str in kinds and isinstance(value, (int, float)):
        return value
    if not isinstance(value, kinds):
        raise SpecError(f"{culprit} must be a {type_name(expected)}, got {type(value).__name__} {value!r}")
    return value


def check_arguments(arguments, table, culprit):
    """``arguments`` with each one named in ``table`` (name: type) checked and parsed."""
    return {
        key: check_argument(value, table[key], f"{culprit} {key}") if key in table else value
        for key, value in arguments.items()
    }


def check_mapping(value, culprit):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SpecError(f"{culprit} must be a mapping of name: value, got {type(value).__name__}")
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            raise SpecError(f"{culprit}.{key} must be a plain value, got {type(item).__name__}")
    return {str(k): v for k, v in value.items()}


_SET_KEYS = ("values", "id", "score", "rule")


def check_nvsets(value, culprit):
    """A mapping (the one unconditional set) or a list of sets ``{values, id, score, rule}``."""
    if value is None or isinstance(value, dict):
        return check_mapping(value, culprit)
    if not isinstance(value, list):
        raise SpecError(
            f"{culprit} must be a mapping of name: value, or a list of sets ({{values: ..., rule: ..., score: ...}}),"
            f" got {type(value).__name__}"
        )
    checked = []
    for index, nvset in enumerate(value, start=1):
        where = f"{culprit} set {index}"
        if not isinstance(nvset, dict) or "values" not in nvset:
            # Never the set itself: its values may be secrets.
            got = f"keys {sorted(map(str, nvset))}" if isinstance(nvset, dict) else type(nvset).__name__
            raise SpecError(f"{where} must be a mapping with 'values' (and optionally id, score, rule), got {got}")
        unknown = sorted(set(nvset) - set(_SET_KEYS))
        if unknown:
            raise SpecError(f"{where}: unknown key {unknown[0]!r} (takes {', '.join(_SET_KEYS)})")
        entry = {"values": check_mapping(nvset["values"] or {}, f"{where} values")}
        if nvset.get("id") is not None:
            entry["id"] = check_id(nvset["id"], f"{where} id")
        if nvset.get("score") is not None:
            entry["score"] = check_score(nvset["score"], f"{where} score")
        if nvset.get("rule") is not None:
            entry["rule"] = rules.check(nvset["rule"], f"{where} rule")
        checked.append(entry)
    ids = [entry["id"] for entry in checked if "id" in entry]
    if len(set(ids)) != len(ids):
        raise SpecError(f"{culprit}: two sets share an id")
    return checked


class Spec:
    """What every spec offers the session; most specs name no resources and no secrets."""

    def references(self):
        """Resource ids that must exist once all specs of a write are applied."""
        return []

    def secrets(self, ctx):  # pylint: disable=unused-argument
        """``{resource id: parameter names}`` to mask in reported changes."""
        return {}

    def apply(self, cib, ctx):
        raise NotImplementedError

    def touched(self):
        """After :meth:`apply`: the elements (or their ids) it may have changed,
        created or removed; their objects and the objects holding them, before
        and after, are compared. An element in hand spares a lookup of a new
        id in a large CIB. A spec that does not override this cannot tell: the
        whole configuration is compared."""
        return None

    @classmethod
    def tells_touched(cls):
        return cls.touched is not Spec.touched


# -- durations --------------------------------------------------------------
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$", re.I)
_ISO = re.compile(r"^P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)$", re.I)
_UNIT_MS = {
    None: 1000,
    "s": 1000,
    "sec": 1000,
    "ms": 1,
    "msec": 1,
    "us": 0.001,
    "usec": 0.001,
    "m": 60000,
    "min": 60000,
    "h": 3600000,
    "hr": 3600000,
}


def duration_ms(text):
    """Milliseconds of a Pacemaker duration ("10", "10s", "1min", "PT1M"), or None."""
    text = nvsets.as_text(text)
    match = _DURATION.match(text)
    if match:
        return int(match.group(1)) * _UNIT_MS[(match.group(2) or "").lower() or None]
    match = _ISO.match(text.strip())
    if match and any(match.groups()):
        h, m, s = (int(g or 0) for g in match.groups())
        return ((h * 60 + m) * 60 + s) * 1000
    return None


def same_duration(a, b):
    if a == b:
        return True
    da, db = duration_ms(a), duration_ms(b)
    return da is not None and da == db
