"""Pacemaker rules as YAML and back: one shape for location constraints and rule-based attribute sets.

A rule is a mapping; its ``expressions`` list holds the rule's children, each
one of::

    {attribute: "#uname", operation: eq, value: n1}       # <expression> (type, value_source too)
    {date: {operation: in_range, start: "2027-01-01", duration: {months: 1}}}
    {date: {operation: date_spec, date_spec: {hours: "9-16", weekdays: "1-5"}}}
    {resource: {class: ocf, provider: heartbeat, type: IPaddr2}}   # <rsc_expression>
    {op: {name: monitor, interval: 10s}}                           # <op_expression>
    {rule: {...}}                                                  # a nested rule

Names are the XML attribute names with ``_`` for ``-`` (``boolean_op``,
``score_attribute``, ``value_source``); the XML spelling is accepted too.
:func:`from_element` reads any rule back into this shape (what ``pcmk.export``
writes), and :func:`to_element` builds the XML; ids are made from the rule's
own id, and rules compare by meaning, never by id.
"""

import re

from lxml import etree

from saltext.pcmk.utils.errors import SpecError

_RULE_ATTRS = ("score", "score-attribute", "role", "boolean-op")
_EXPRESSION_ATTRS = ("attribute", "operation", "value", "type", "value-source")
_DATE_ATTRS = ("operation", "start", "end")
_DATE_PARTS = (
    "years",
    "months",
    "weeks",
    "weekyears",
    "weekdays",
    "monthdays",
    "yeardays",
    "hours",
    "minutes",
    "seconds",
    "moon",
)
_RSC_ATTRS = ("class", "provider", "type")
_OP_ATTRS = ("name", "interval")
# expression key -> (XML tag, attributes)
_KINDS = {
    "date": ("date_expression", _DATE_ATTRS),
    "resource": ("rsc_expression", _RSC_ATTRS),
    "op": ("op_expression", _OP_ATTRS),
}


_SCORE_ALIASES = {
    "inf": "INFINITY",
    "+inf": "INFINITY",
    "infinity": "INFINITY",
    "+infinity": "INFINITY",
    "-inf": "-INFINITY",
    "-infinity": "-INFINITY",
}


_SCORE = re.compile(r"^(-?INFINITY|[+-]?[0-9]+)$")


def check_score(value, culprit):
    """``value`` as a score Pacemaker's schema takes (an integer, ``INFINITY``, ``-INFINITY``), or SpecError."""
    text = norm_score(value)
    if isinstance(value, (bool, dict, list, float)) or value is None or not _SCORE.match(text):
        raise SpecError(f"{culprit} {value!r} is not a score (an integer, INFINITY or -INFINITY)")
    return text


def _text(value):
    """A YAML scalar as rule XML spells it (a YAML boolean as Pacemaker's true/false)."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def norm_score(value):
    """A score spelt one way (``inf``, ``+INFINITY`` -> ``INFINITY``)."""
    text = _text(value).strip()
    return _SCORE_ALIASES.get(text.lower(), text)


def _xml_name(key):
    return str(key).replace("_", "-")


def _yaml_name(attr):
    return attr.replace("-", "_")


def _attrs_of(data, allowed, culprit):
    """``data``'s keys as XML attribute names, refusing any not in ``allowed``."""
    if not isinstance(data, dict):
        raise SpecError(f"{culprit} must be a mapping, got {data!r}")
    found = {}
    for key, value in data.items():
        attr = _xml_name(key)
        if attr not in allowed:
            raise SpecError(f"{culprit}: unknown key {key!r} (takes {', '.join(_yaml_name(a) for a in allowed)})")
        if isinstance(value, (dict, list)):
            raise SpecError(f"{culprit}.{key} must be a plain value, got {type(value).__name__}")
        found[attr] = _text(value)
    return found


def check(data, culprit, *, scored=False):
    """Refuse a rule that is not of the shape above, naming the culprit; returns ``data``.

    ``scored``: a location rule, which has a score (INFINITY when left out).
    """
    if not isinstance(data, dict):
        raise SpecError(f"{culprit} must be a mapping with an 'expressions' list, got {data!r}")
    rule_attrs = _attrs_of({k: v for k, v in data.items() if k != "expressions"}, _RULE_ATTRS, culprit)
    if rule_attrs.get("score") is not None:
        check_score(rule_attrs["score"], f"{culprit}: score")
    expressions = data.get("expressions")
    if not isinstance(expressions, list) or not expressions:
        raise SpecError(f"{culprit} needs a non-empty 'expressions' list")
    if not scored and any(_xml_name(k) in ("score", "score-attribute") for k in data):
        raise SpecError(f"{culprit}: only a location rule has a score")
    for index, expression in enumerate(expressions, start=1):
        where = f"{culprit} expression {index}"
        if not isinstance(expression, dict):
            raise SpecError(f"{where} must be a mapping, got {expression!r}")
        kinds = [k for k in expression if k in (*_KINDS, "rule")]
        if len(kinds) > 1 or (kinds and len(expression) != 1):
            raise SpecError(f"{where}: give one of attribute..., date, resource, op or rule")
        if not kinds:
            attrs = _attrs_of(expression, _EXPRESSION_ATTRS, where)
            if "attribute" not in attrs or "operation" not in attrs:
                raise SpecError(f"{where} needs attribute and operation")
        elif kinds[0] == "rule":
            check(expression["rule"], f"{where} rule", scored=scored)
        elif kinds[0] == "date":
            date = expression["date"]
            plain = (
                {k: v for k, v in (date or {}).items() if k not in ("date_spec", "duration")}
                if isinstance(date, dict)
                else date
            )
            attrs = _attrs_of(plain, _DATE_ATTRS, f"{where} date")
            if "operation" not in attrs:
                raise SpecError(f"{where} date needs an operation (in_range, gt, lt, date_spec)")
            for part in ("date_spec", "duration"):
                if part in date:
                    _attrs_of(date[part], _DATE_PARTS, f"{where} date {part}")
        else:
            _attrs_of(expression[kinds[0]], _KINDS[kinds[0]][1], f"{where} {kinds[0]}")
    return data


def to_element(data, rule_id, *, scored=False):
    """The ``<rule>`` element for ``data`` (checked by :func:`check` first), ids under ``rule_id``."""
    rule = etree.Element("rule", id=rule_id)
    for attr, value in _attrs_of({k: v for k, v in data.items() if k != "expressions"}, _RULE_ATTRS, "rule").items():
        rule.set(attr, norm_score(value) if attr == "score" else value)
    if scored and rule.get("score") is None and rule.get("score-attribute") is None:
        rule.set("score", "INFINITY")
    for number, expression in enumerate(data["expressions"]):
        child_id = f"{rule_id}-expr" + (f"-{number}" if number else "")
        if "rule" in expression:
            rule.append(to_element(expression["rule"], f"{rule_id}-rule-{number}", scored=scored))
            continue
        kind = next((k for k in _KINDS if k in expression), None)
        if kind is None:
            etree.SubElement(rule, "expression", id=child_id, attrib=_attrs_of(expression, _EXPRESSION_ATTRS, "rule"))
            continue
        tag, allowed = _KINDS[kind]
        body = expression[kind]
        plain = {k: v for k, v in body.items() if k not in ("date_spec", "duration")}
        element = etree.SubElement(rule, tag, id=child_id, attrib=_attrs_of(plain, allowed, "rule"))
        for part in ("date_spec", "duration"):
            if kind == "date" and part in body:
                etree.SubElement(
                    element, part, id=f"{child_id}-{part}", attrib=_attrs_of(body[part], _DATE_PARTS, "rule")
                )
    return rule


def from_element(rule, *, scored=True):
    """A ``<rule>`` as the YAML shape :func:`to_element` takes (ids left out).

    ``scored`` false (a rule of an attribute set): a score, which Pacemaker
    ignores there but crmsh writes, is left out.
    """
    skip = () if scored else ("score", "score-attribute")
    data = {_yaml_name(a): rule.get(a) for a in _RULE_ATTRS if rule.get(a) is not None and a not in skip}
    expressions = []
    for child in rule:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "rule":
            expressions.append({"rule": from_element(child, scored=scored)})
        elif child.tag == "expression":
            expressions.append({_yaml_name(a): child.get(a) for a in _EXPRESSION_ATTRS if child.get(a) is not None})
        else:
            kind = next((k for k, (tag, _) in _KINDS.items() if tag == child.tag), None)
            if kind is None:
                continue
            body = {_yaml_name(a): child.get(a) for a in _KINDS[kind][1] if child.get(a) is not None}
            for part in ("date_spec", "duration"):
                found = child.find(part)
                if found is not None:
                    body[part] = {a: found.get(a) for a in _DATE_PARTS if found.get(a) is not None}
            expressions.append({kind: body})
    data["expressions"] = expressions
    return data


def canonical(rule, *, scored=True):
    """What a rule means, comparable across ids and spellings (``and`` is the default boolean-op)."""
    data = from_element(rule, scored=scored)
    if data.get("boolean_op", "and") == "and":
        data.pop("boolean_op", None)

    def frozen(value):
        if isinstance(value, dict):
            return tuple(sorted((k, frozen(v)) for k, v in value.items()))
        if isinstance(value, list):
            return tuple(frozen(v) for v in value)
        return value

    return frozen(data)
