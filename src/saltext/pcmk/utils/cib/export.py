"""A CIB as ``pcmk.*`` states: what ``pcmk.export`` writes.

Every object of the configuration becomes the state that declares it, with
the arguments that make it exact (ids of attribute sets another tool named
are kept, a colocation without a score says ``score: null`` ...). The
guarantee is checked here, not hoped for: the states are built into specs
with the same builders the state module uses and applied to a copy of the
CIB they came from; an object whose state would change anything is left out
of the SLS with a note saying why (the running cluster keeps it, since
undeclared objects are never touched). Applying the SLS onto that CIB
therefore changes nothing.

Secret parameters (agent parameters marked private, ``lrm://`` values kept
by ``cibsecret``, names containing ``pass``, ``secret`` or ``token``, and any
the caller names) are written as pillar references
(``pcmk:secrets:<resource>:<parameter>``), never as values.

Not exported, with a note: ``cli-*`` constraints (``crm_resource --move`` /
``--ban`` at run time), ACLs, what Pacemaker writes itself (``dc-version`` ...,
remote node entries, the status section), and anything no state can say.
"""

import copy
from dataclasses import dataclass, field

import yaml

from saltext.pcmk.utils.errors import PcmkError

from . import diff as diffmod
from . import nvsets
from . import rules as rulesmod
from .metadata import AgentRef
from .specs.base import clone_id_for, duration_ms, role_meaning
from .specs.bundle import CONTAINER_KINDS
from .specs.constraint import ARGUMENT_ATTRIBUTES, CONSTRAINT_TAGS, SET_ATTRIBUTES
from .specs.optionset import PACEMAKER_MANAGED

SECRET_PILLAR = "pcmk:secrets"
_CONSTRAINT_KINDS = {tag: kind for kind, tag in CONSTRAINT_TAGS.items()}
_SET_ARGS = {attr: arg for arg, attr in SET_ATTRIBUTES.items()}
_OP_SKIP = ("id", "name", "interval")


@dataclass
class ExportedState:
    """One state of the exported SLS: ``state_id: {pcmk.<fun>: [{arg: value} ...]}``."""

    state_id: str
    fun: str
    args: dict
    objects: tuple = ()  # diff object keys ("resource d") this state declares
    secrets: dict = field(default_factory=dict)  # {param: pillar key}: rendered as references


@dataclass
class Export:
    states: list
    notes: list

    def sls(self, header=None):
        """The SLS text: a comment block with the notes, then the states in dependency order."""
        lines = [f"# {line}" for line in (header or "").splitlines()]
        if self.notes:
            lines.append("# Not exported (the cluster keeps them; no state here touches them):")
            lines.extend(f"#   - {note}" for note in self.notes)
        chunks = ["\n".join(lines) + "\n"] if lines else []
        for state in self.states:
            chunks.append(_render(state))
        return "\n".join(chunks)

    def secret_keys(self):
        """Every pillar key the SLS reads a secret from."""
        return sorted(key for state in self.states for key in state.secrets.values())


def _render(state):
    args = [{key: value} for key, value in state.args.items()]
    tokens: dict = {}
    params = state.args.get("params")
    if params is not None and state.secrets:
        # A copy: the state's own arguments keep the values the self-check converged.
        params = copy.deepcopy(params)
        for values in [params] if isinstance(params, dict) else [nvset["values"] for nvset in params]:
            for name in values.keys() & state.secrets.keys():
                values[name] = _token(tokens, state.secrets[name])
        args = [{key: params if key == "params" else value} for key, value in state.args.items()]
    text = yaml_text({state.state_id: {f"pcmk.{state.fun}": args}})
    for token, key in tokens.items():
        # A missing pillar key fails the render, naming the key, rather than writing an empty secret.
        text = text.replace(
            token, f"{{{{ (salt['pillar.get']({key!r}) or raise('pillar {key} is not set')) | yaml_dquote }}}}"
        )
    return text


def _token(tokens, key):
    token = f"PCMKSECRETREFERENCE{len(tokens)}X"
    tokens[token] = key
    return token


# -- reading attribute sets -------------------------------------------------------
class NotExpressible(PcmkError):
    """An object no state argument can say exactly."""


def _op_meaning(op):
    return (
        op["name"],
        duration_ms(op.get("interval", "0")),
        role_meaning(op.get("role")),
        tuple(
            sorted(
                (k, duration_ms(v) if k == "timeout" else tuple(sorted(v.items())) if isinstance(v, dict) else v)
                for k, v in op.items()
                if k not in ("name", "interval", "role")
            )
        ),
    )


def _beyond_advice(ops, advised):
    """The ops the agent's advice does not already give: an operation whose ops are all exactly
    as advised is left to the advice (a new resource gets it, an existing one keeps it)."""
    by_name: dict = {}
    for op in advised:
        by_name.setdefault(op["name"], set()).add(_op_meaning(op))
    held: dict = {}
    for op in ops:
        held.setdefault(op["name"], set()).add(_op_meaning(op))
    return [op for op in ops if held[op["name"]] != by_name.get(op["name"])]


def _unset_unadvised(op, advised):
    """``op`` with ``attr: null`` for what the advice would fill in on a new resource but the CIB
    does not have (a monitor pcs made without a timeout stays without one)."""
    for candidate in advised:
        if candidate["name"] == op["name"] and role_meaning(candidate.get("role")) == role_meaning(op.get("role")):
            missing = [k for k in candidate if k not in ("name", "interval", "role") and k not in op]
            return {**op, **dict.fromkeys(missing)}
    return op


def _underscored(element, keep_id=False):
    """An element's attributes as arguments (``run-command`` -> ``run_command``)."""
    return {name.replace("-", "_"): value for name, value in element.attrib.items() if keep_id or name != "id"}


def _described(element, args):
    """``args`` with the element's ``description`` when it has one (every kind that can takes it)."""
    if element.get("description") is not None:
        args["description"] = element.get("description")
    return args


def _values(nvset):
    found: dict = {}
    for nvpair in nvset.findall("nvpair"):
        name, value = nvsets.resolved(nvpair)
        if value is None:
            raise NotExpressible(f"nvpair {nvpair.get('id')!r} has no value")
        found.setdefault(name, value)
    return found


def attribute_sets(parent, tag):
    """``parent``'s ``tag`` sets as a declaration: a mapping for one plain set, else a list of sets."""
    found = parent.findall(tag)
    if not found:
        return None
    for nvset in found:
        if nvset.get("id-ref") is not None:
            raise NotExpressible(f"{tag} {nvset.get('id-ref')!r} is a reference to another set")
    if len(found) == 1 and found[0].find("rule") is None and found[0].get("score") is None:
        return _values(found[0])
    declared = []
    for nvset in found:
        entry = {"id": nvset.get("id")}
        if nvset.get("score") is not None:
            entry["score"] = nvset.get("score")
        rule = nvset.find("rule")
        if rule is not None:
            entry["rule"] = rulesmod.from_element(rule, scored=False)
        entry["values"] = _values(nvset)
        declared.append(entry)
    return declared


# -- objects -> states ------------------------------------------------------------
class Exporter:
    def __init__(self, cib, metadata=None, secret_names=(), runtime_prefixes=()):
        self.cib = cib
        self.runtime_prefixes = tuple(runtime_prefixes)
        self.metadata = metadata
        self.secret_names = set(secret_names)
        self.states = []
        self.notes = []

    def run(self):
        resources = self.cib.section("resources")
        if resources is not None:
            for element in resources.iter("template"):
                self._guard(element, self._template)
            for element in resources.iter("primitive"):
                self._guard(element, self._primitive)
            for element in resources.iter("group"):
                self._guard(element, self._group)
            for element in resources.iter("clone", "master"):
                self._guard(element, self._clone)
            for element in resources.iter("bundle"):
                self._guard(element, self._bundle)
        tags = self.cib.section("tags")
        for element in tags.findall("tag") if tags is not None else ():
            self._guard(element, self._tag)
        constraints = self.cib.section("constraints")
        for element in constraints if constraints is not None else ():
            if isinstance(element.tag, str):
                self._guard(element, self._constraint)
        self._guard(self.cib.section("crm_config"), self._properties)
        for kind in ("rsc_defaults", "op_defaults"):
            section = self.cib.section(kind)
            if section is not None:
                self._guard(section, lambda s, kind=kind: self._defaults(kind, s))
        nodes = self.cib.section("nodes")
        for element in nodes.findall("node") if nodes is not None else ():
            self._guard(element, self._node)
        topology = self.cib.section("fencing-topology")
        for element in topology.findall("fencing-level") if topology is not None else ():
            self._guard(element, self._fencing_level)
        alerts = self.cib.section("alerts")
        for element in alerts.findall("alert") if alerts is not None else ():
            self._guard(element, self._alert)
        acls = self.cib.section("acls")
        if acls is not None and len(acls):
            self.notes.append("acls: access control lists (no state declares them)")
        return Export(self.states, self.notes)

    def _guard(self, element, method):
        if element is None:
            return
        try:
            method(element)
        except NotExpressible as exc:
            self.notes.append(f"{element.tag} {element.get('id')!r}: {exc}")

    def _add(self, state_id, fun, args, objects=(), secrets=None):
        self.states.append(ExportedState(state_id, fun, args, tuple(objects), secrets or {}))

    # -- resources --
    def _agent_args(self, element, agent, args, params):
        """check_agent / default_ops as exactness needs them, for a primitive or template of ``agent``."""
        info = None
        if self.metadata is not None:
            try:
                info = self.metadata.get(agent, resource_id=element.get("id"))
            except PcmkError:
                info = None
        if info is None:
            args["check_agent"] = False
            return None
        try:
            info.check_params(element.get("id"), nvsets.declared_values(params) or {}, required=True)
        except PcmkError:
            # Legacy or missing required parameters: as the CIB holds them, without the check.
            args["check_agent"] = False
        return info

    def _secrets(self, element, params, info):
        names = set(nvsets.declared_names(params))
        private = info.private_parameters if info is not None else set()
        secret = set()
        for name in names:
            values = [params.get(name)] if isinstance(params, dict) else [s["values"].get(name) for s in params]
            if diffmod.secret_param(name, private | self.secret_names) or any(
                v is not None and str(v).startswith("lrm://") for v in values
            ):
                secret.add(name)
        return {name: f"{SECRET_PILLAR}:{element.get('id')}:{name}" for name in sorted(secret)}

    def _operations(self, element):
        operations = element.find("operations")
        if operations is None:
            return None
        if operations.get("id-ref") is not None:
            raise NotExpressible("its operations are a reference to another set")
        ops = []
        for op in operations.findall("op"):
            entry = {"name": op.get("name"), "interval": op.get("interval")}
            entry.update({k: v for k, v in op.attrib.items() if k not in _OP_SKIP})
            for child in op:
                if not isinstance(child.tag, str):
                    continue
                if child.tag != "instance_attributes" or child.find("rule") is not None:
                    raise NotExpressible(f"op {op.get('id')!r} has a <{child.tag}> no state argument says")
            params = attribute_sets(op, "instance_attributes")
            if params is not None:
                if not isinstance(params, dict):
                    raise NotExpressible(f"op {op.get('id')!r} has several instance attribute sets")
                entry["params"] = params
            ops.append(entry)
        return ops

    def _resource_args(self, element, agent):
        args: dict = {}
        params = attribute_sets(element, "instance_attributes")
        _described(element, args)
        info = self._agent_args(element, agent, args, params) if agent is not None else None
        if params is not None:
            args["params"] = params
        for tag, key in (("meta_attributes", "meta"), ("utilization", "utilization")):
            found = attribute_sets(element, tag)
            if found is not None:
                args[key] = found
        ops = self._operations(element) or []
        advised = info.advised_operations() if info is not None else None
        if advised is None:
            if ops:
                args["ops"] = ops
        elif {op["name"] for op in advised} <= {op["name"] for op in ops}:
            # What the advice gives is left to it (a new resource gets it, an existing one keeps it).
            ops = [_unset_unadvised(op, advised) for op in _beyond_advice(ops, advised)]
            if ops:
                args["ops"] = ops
        else:
            # Not all the advice is there: a new one gets exactly these ops, as the CIB has them.
            args["ops"] = [_unset_unadvised(op, advised) for op in ops]
            args["default_ops"] = False
        secrets = self._secrets(element, params, info) if params is not None else {}
        if secrets:
            args["secret_params"] = sorted(secrets)
            lrm = [n for n in secrets if str((nvsets.declared_values(params) or {}).get(n, "")).startswith("lrm://")]
            if lrm:
                args["secrets_in_cib"] = False
        return args, secrets

    def _primitive(self, element):
        template = element.get("template")
        if template is not None:
            agent = None
            head = {"template": template}
        else:
            agent = AgentRef.of_primitive(element)
            head = {"agent": str(agent)}
        args, secrets = self._resource_args(element, agent)
        self._add(element.get("id"), "resource", {**head, **args}, [f"resource {element.get('id')}"], secrets)

    def _template(self, element):
        agent = AgentRef.of_primitive(element)
        args, secrets = self._resource_args(element, agent)
        self._add(
            element.get("id"),
            "resource_template",
            {"agent": str(agent), **args},
            [f"template {element.get('id')}"],
            secrets,
        )

    def _group(self, element):
        args = {"resources": [child.get("id") for child in element.findall("primitive")]}
        for tag, key in (("meta_attributes", "meta"), ("instance_attributes", "params")):
            found = attribute_sets(element, tag)
            if found is not None:
                args[key] = found
        _described(element, args)
        self._add(element.get("id"), "group", args, [f"group {element.get('id')}"])

    def _clone(self, element):
        child = next((c for c in element if isinstance(c.tag, str) and c.tag in ("primitive", "group")), None)
        if child is None:
            raise NotExpressible("it clones no primitive or group")
        args = {}
        if element.get("id") != clone_id_for(child.get("id")):
            args["clone_id"] = element.get("id")
        meta = attribute_sets(element, "meta_attributes")
        promotable = element.tag == "master"
        if isinstance(meta, dict) and nvsets.same_value(meta.get("promotable"), "true"):
            promotable = True
            meta.pop("promotable")
        if promotable:
            args["promotable"] = True
        if meta:
            args["meta"] = meta
        params = attribute_sets(element, "instance_attributes")
        if params is not None:
            args["params"] = params
        _described(element, args)
        self._add(element.get("id"), "clone", {"name": child.get("id"), **args}, [f"clone {element.get('id')}"])

    def _bundle(self, element):
        args: dict = {}
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag in CONTAINER_KINDS:
                args["container"] = {"kind": child.tag, **_underscored(child)}
            elif child.tag == "network":
                network = _underscored(child)
                ports = [_underscored(port, keep_id=True) for port in child.findall("port-mapping")]
                if ports:
                    network["port_mappings"] = ports
                args["network"] = network
            elif child.tag == "storage":
                args["storage"] = [_underscored(mapping, keep_id=True) for mapping in child.findall("storage-mapping")]
            elif child.tag == "primitive":
                args["primitive"] = child.get("id")
            elif child.tag != "meta_attributes":
                raise NotExpressible(f"element {child.tag!r} in a bundle")
        meta = attribute_sets(element, "meta_attributes")
        if meta is not None:
            args["meta"] = meta
        _described(element, args)
        self._add(element.get("id"), "bundle", args, [f"bundle {element.get('id')}"])

    def _tag(self, element):
        self._add(
            element.get("id"),
            "tag",
            {"resources": [ref.get("id") for ref in element.findall("obj_ref")]},
            [f"tag {element.get('id')}"],
        )

    # -- constraints --
    def _constraint(self, element):
        ident = element.get("id")
        if ident.startswith("cli-"):
            self.notes.append(
                f"constraint {ident!r}: made at run time by crm_resource --move/--ban (clear it with crm_resource --clear)"
            )
            return
        kind = _CONSTRAINT_KINDS.get(element.tag)
        if kind is None:
            raise NotExpressible(f"element {element.tag!r} is not a constraint kind the states know")
        by_attr = {attr: arg for arg, attr in ARGUMENT_ATTRIBUTES[kind].items()}
        args: dict = {"kind": kind}
        for attr, value in element.attrib.items():
            if attr == "id":
                continue
            if attr not in by_attr:
                raise NotExpressible(f"attribute {attr!r} is not a {kind} constraint argument")
            args[by_attr[attr]] = value
        if kind == "colocation" and "score" not in args and element.find("resource_set") is None:
            args["score"] = None  # no score: Pacemaker's 0, not a new colocation's INFINITY
        sets, rules = [], []
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "resource_set":
                rset = {}
                for attr, value in child.attrib.items():
                    if attr == "id":
                        continue
                    if attr not in _SET_ARGS:
                        raise NotExpressible(f"resource set attribute {attr!r}")
                    rset[_SET_ARGS[attr]] = value
                rset["resources"] = [ref.get("id") for ref in child.findall("resource_ref")]
                sets.append(rset)
            elif child.tag == "rule" and kind == "location":
                rules.append(rulesmod.from_element(child))
            else:
                raise NotExpressible(f"element {child.tag!r} in a {kind} constraint")
        if sets:
            args["sets"] = sets
        if rules:
            args["rules"] = rules
        self._add(ident, "constraint", args, [f"constraint {ident}"])

    # -- options --
    def _properties(self, crm_config):
        for nvset in crm_config.findall("cluster_property_set"):
            if nvset.get("id") == "cib-bootstrap-options" and nvset.find("rule") is None and nvset.get("score") is None:
                for name, value in _values(nvset).items():
                    if name not in PACEMAKER_MANAGED:
                        self._add(
                            f"property {name}",
                            "property",
                            {"name": name, "value": value},
                            ["properties cib-bootstrap-options"],
                        )
            else:
                self._option_set("property", nvset)

    def _option_set(self, kind, nvset):
        args = {}
        if nvset.get("score") is not None:
            args["score"] = nvset.get("score")
        rule = nvset.find("rule")
        if rule is not None:
            args["rule"] = rulesmod.from_element(rule, scored=False)
        args["values"] = {
            k: v for k, v in _values(nvset).items() if not (kind == "property" and k in PACEMAKER_MANAGED)
        }
        key = f"properties {nvset.get('id')}" if kind == "property" else f"{kind} {nvset.get('id')}"
        self._add(nvset.get("id"), f"{kind}_set", args, [key])

    def _defaults(self, kind, section):
        found = section.findall("meta_attributes")
        if len(found) == 1 and found[0].find("rule") is None and found[0].get("score") is None:
            for name, value in _values(found[0]).items():
                self._add(f"{kind} {name}", kind, {"name": name, "value": value}, [f"{kind} {found[0].get('id')}"])
            return
        for nvset in found:
            self._guard(nvset, lambda s: self._option_set(kind, s))

    # -- nodes, fencing, alerts --
    def _node(self, node):
        if node.get("type") == "remote":
            return  # Pacemaker makes it for its connection resource
        uname = node.get("uname") or node.get("id")
        own = {key: node.get(key) for key in ("score", "description") if node.get(key) is not None}
        if own:
            self._add(f"node {uname}", "node", {"node": uname, **own}, [f"node {uname}"])
        for tag, fun in (("instance_attributes", "node_attribute"), ("utilization", "node_utilization")):
            sets = node.findall(tag)
            if any(s.find("rule") is not None or s.get("id-ref") is not None for s in sets):
                raise NotExpressible(f"node {uname!r}: a rule-based or referenced {tag} set")
            names: list = []
            for nvset in sets:
                names.extend(n for n in _values(nvset) if n not in names and not n.startswith(self.runtime_prefixes))
            for name in names:
                nvpair = nvsets.effective(node, tag, name)
                label = "" if fun == "node_attribute" else "utilization "
                self._add(
                    f"node {uname} {label}{name}",
                    fun,
                    {"node": uname, "attribute": name, "value": nvsets.resolved(nvpair)[1]},
                    [f"node {uname}"],
                )

    def _fencing_level(self, level):
        args = {"index": int(level.get("index"))}
        if level.get("target") is not None:
            args["target"] = level.get("target")
            who = level.get("target")
        elif level.get("target-pattern") is not None:
            args["target_pattern"] = level.get("target-pattern")
            who = level.get("target-pattern")
        elif level.get("target-attribute") is not None:
            args["target_attribute"] = level.get("target-attribute")
            args["target_value"] = level.get("target-value")
            who = f"{level.get('target-attribute')}={level.get('target-value')}"
        else:
            raise NotExpressible("no target")
        args["devices"] = level.get("devices", "").split(",")
        self._add(f"fencing level {args['index']} {who}", "fencing_level", args, [f"fencing level {level.get('id')}"])

    def _alert(self, alert):
        args = {"path": alert.get("path")}
        _described(alert, args)
        select = alert.find("select")
        if select is not None:
            names = {
                "select_nodes": "nodes",
                "select_fencing": "fencing",
                "select_resources": "resources",
                "select_attributes": "attributes",
            }
            if select.xpath("select_attributes/attribute"):
                raise NotExpressible("an attribute filter in its select")
            args["select"] = [names[child.tag] for child in select if isinstance(child.tag, str)]
        for tag, key in (("meta_attributes", "meta"), ("instance_attributes", "params")):
            found = attribute_sets(alert, tag)
            if found is not None:
                if not isinstance(found, dict):
                    raise NotExpressible(f"several {tag} sets")
                args[key] = found
        recipients = []
        for recipient in alert.findall("recipient"):
            entry = {"value": recipient.get("value"), "id": recipient.get("id")}
            _described(recipient, entry)
            for tag, key in (("meta_attributes", "meta"), ("instance_attributes", "params")):
                found = attribute_sets(recipient, tag)
                if found is not None:
                    if not isinstance(found, dict):
                        raise NotExpressible(f"recipient {recipient.get('id')!r}: several {tag} sets")
                    entry[key] = found
            recipients.append(entry)
        if recipients:
            args["recipients"] = recipients
        self._add(alert.get("id"), "alert", args, [f"alert {alert.get('id')}"])


def verifier(session, build):
    """``verify`` for :func:`export`: each state built with ``build(fun, name, **args)`` (the state
    module's own builders) and converged under ``test=True`` on ``session``'s CIB;
    ``{state_id: reason}`` for each that would change something or cannot be built.

    All states are applied to one candidate and diffed once (linear in the CIB's size); only
    when something would change are the states declaring a changed object checked one by one.
    """

    def built(states):
        refused, groups = {}, []
        for state in states:
            args = dict(state.args)
            name = args.pop("name", state.state_id)
            # Kept by cibsecret, the CIB holds lrm://: checked as that, not against the secret file.
            args.pop("secrets_in_cib", None)
            try:
                groups.append((state.state_id, build(state.fun, name, **args)))
            except PcmkError as exc:
                refused[state.state_id] = f"its state would be refused: {exc}"
        return refused, groups

    def one_by_one(groups, refused):
        for owner, specs in groups:
            session.forget_predictions()
            try:
                outcome = session.converge_groups([(owner, specs)], test=True)[owner]
            except PcmkError as exc:
                refused[owner] = f"its state would be refused: {exc}"
                continue
            if outcome.changed:
                refused[owner] = "its state would change it: " + outcome.render().replace("\n", "; ")
        session.forget_predictions()

    def verify(states):
        refused, groups = built(states)
        session.forget_predictions()
        try:
            changes = session.converge([spec for _, specs in groups for spec in specs], test=True).changes
        except PcmkError:
            one_by_one(groups, refused)
            return refused
        session.forget_predictions()
        if not changes:
            return refused
        declaring = {key: {s.state_id for s in states if key in s.objects} for key in changes}
        if all(declaring.values()):
            suspects = set().union(*declaring.values())
            one_by_one([g for g in groups if g[0] in suspects], refused)
        else:
            one_by_one(groups, refused)
        return refused

    return verify


def export(cib, *, metadata=None, secret_names=(), verify=None, runtime_prefixes=()):
    """``cib`` as an :class:`Export`.

    ``runtime_prefixes``: node attributes named so are records a running
    system keeps (restart requests and claims), not configuration: not exported.

    ``verify(states) -> {state_id: reason}``: states whose specs would change
    the CIB they came from (see the module docstring); they are dropped with a
    note, and the rest verified again until none would change anything.
    """
    exported = Exporter(cib, metadata, secret_names, runtime_prefixes).run()
    while verify is not None and exported.states:
        refused = verify(exported.states)
        if not refused:
            break
        exported.states = [s for s in exported.states if s.state_id not in refused]
        exported.notes.extend(f"{state_id}: {reason}" for state_id, reason in refused.items())
    return exported


def yaml_text(data):
    """``data`` as the YAML this module writes (keys in the order given)."""
    return yaml.safe_dump(data, sort_keys=False, width=1000)


def secrets_pillar(keys):
    """Pillar text with every key the SLS reads a secret from, its value left to fill in."""
    tree: dict = {}
    for key in keys:
        node = tree
        *parents, leaf = key.split(":")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = ""
    head = "# Secret parameters pcmk.export left out: fill in (and encrypt, e.g. with Salt's gpg renderer).\n"
    return head + yaml.safe_dump(tree, sort_keys=True)
