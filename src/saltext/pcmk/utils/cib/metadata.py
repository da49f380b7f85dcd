"""Resource agent meta-data: which parameters an agent takes.

Read with ``crm_resource --show-metadata`` (the same path Pacemaker uses), at
most once per agent per run: callers keep a :class:`MetadataCache`.
"""

import difflib
import os
import re
from dataclasses import dataclass, field

from saltext.pcmk.utils.errors import SpecError, ToolError

from . import document as cibmod

STANDARDS_WITH_PROVIDER = {"ocf"}
STANDARDS = {"ocf", "lsb", "service", "systemd", "stonith", "upstart", "nagios"}


@dataclass(frozen=True)
class AgentRef:
    """``standard[:provider]:type`` as in ``ocf:heartbeat:IPaddr2``."""

    standard: str
    type: str
    provider: str | None = None

    @classmethod
    def parse(cls, text, *, culprit="agent"):
        if not isinstance(text, str) or not text:
            raise SpecError(f"{culprit}: agent must be a string like ocf:heartbeat:IPaddr2, got {text!r}")
        parts = text.split(":")
        standard = parts[0]
        if standard not in STANDARDS:
            raise SpecError(
                f"{culprit}: unknown resource standard {standard!r} in agent {text!r} (one of {sorted(STANDARDS)})"
            )
        if standard in STANDARDS_WITH_PROVIDER:
            if len(parts) != 3 or not all(parts):
                raise SpecError(f"{culprit}: agent {text!r} must be {standard}:<provider>:<type>")
            return cls(standard, parts[2], parts[1])
        if len(parts) != 2 or not parts[1]:
            raise SpecError(f"{culprit}: agent {text!r} must be {standard}:<type>")
        return cls(standard, parts[1])

    @classmethod
    def of_primitive(cls, element):
        return cls(element.get("class"), element.get("type"), element.get("provider"))

    def __str__(self):
        return ":".join(p for p in (self.standard, self.provider, self.type) if p)


@dataclass
class ParameterInfo:
    name: str
    required: bool = False
    private: bool = False
    default: str | None = None
    type: str | None = None  # <content type=...>: string, boolean, integer, time, select, ...
    options: tuple = ()  # <option value=...> of a select (enum)


@dataclass(frozen=True)
class ActionInfo:
    """One ``<action>`` of an agent's meta-data: what the agent advises for it."""

    name: str
    timeout: str | None = None
    interval: str | None = None
    role: str | None = None
    depth: str | None = None


# Operation names Pacemaker runs for any resource whatever its meta-data lists
# (the executor's own actions and those the scheduler schedules), so an op
# of one of these names is never refused.
PACEMAKER_ACTIONS = frozenset(
    {
        "start",
        "stop",
        "monitor",
        "status",
        "promote",
        "demote",
        "notify",
        "reload",
        "reload-agent",
        "migrate_to",
        "migrate_from",
        "meta-data",
        "validate-all",
    }
)
# Actions Pacemaker never schedules from the CIB (pcs leaves the same ones out).
NOT_OPERATIONS = frozenset({"meta-data", "validate-all", "status"})
# What a resource gets on create unless the declaration says otherwise: the
# actions the cluster runs on every resource of this kind. pcs also copies
# reload, migrate_* and notify; those only matter with meta attributes that
# enable them, so we leave them to the declaration.
CREATED_OPERATIONS = ("start", "stop", "monitor", "promote", "demote")
DEFAULT_MONITOR_INTERVAL = "60s"  # Pacemaker Explained's advice when the agent names none


@dataclass
class AgentMetadata:
    agent: AgentRef
    parameters: dict = field(default_factory=dict)
    action_info: list = field(default_factory=list)

    @property
    def actions(self):
        return [action.name for action in self.action_info]

    @property
    def operation_names(self):
        """Names of the operations the agent advises: kept as they are on a resource
        whose declaration does not name them (pcs made them, not the operator)."""
        return {a.name for a in self.action_info if a.name not in NOT_OPERATIONS}

    def advised_operations(self):
        """``[{name, interval, timeout[, role]}]`` for the actions a new resource gets.

        A monitor is always advised, even when the agent lists none (as pcs
        does): without one Pacemaker never notices the service dying. Actions
        with a non-zero depth (deeper checks) are left to the declaration.
        """
        advised = []
        for action in self.action_info:
            if action.name not in CREATED_OPERATIONS or action.depth not in (None, "", "0"):
                continue
            op = {"name": action.name}
            if action.name == "monitor":
                op["interval"] = action.interval or DEFAULT_MONITOR_INTERVAL
            else:
                op["interval"] = "0s"
            if action.timeout:
                op["timeout"] = action.timeout if not action.timeout.isdigit() else f"{action.timeout}s"
            if action.role:
                op["role"] = action.role
            advised.append(op)
        if not any(op["name"] == "monitor" for op in advised):
            advised.append({"name": "monitor", "interval": DEFAULT_MONITOR_INTERVAL})
        return advised

    @property
    def promotable(self):
        """Whether the agent can be promoted: its meta-data lists promote and demote."""
        return {"promote", "demote"} <= set(self.actions)

    def check_operation(self, kind, resource_id, name):
        """Refuse an op the agent does not have (an agent whose meta-data lists no actions: any name)."""
        actions = set(self.actions)
        if not actions or name in actions:
            return
        if name in PACEMAKER_ACTIONS and name not in ("promote", "demote"):
            return
        known = ", ".join(sorted(actions - NOT_OPERATIONS))
        raise SpecError(
            f"{kind} {resource_id!r}: op name {name!r}: agent {self.agent} has no such action (it has: {known})"
        )

    @property
    def private_parameters(self):
        return {name for name, info in self.parameters.items() if info.private}

    def check_params(self, resource_id, params, *, legacy=(), required=True, inherited=(), kind="resource"):
        """Raise SpecError naming the resource (``kind`` ``template`` for a
        resource template) and the parameter.

        ``legacy``: parameter names the agent no longer lists that are accepted
        anyway (the CIB already holds them with the declared value).
        ``required``: whether the agent's required parameters must be given.
        ``inherited``: parameter names given elsewhere (a primitive's template),
        which count as given.
        """
        params = params or {}
        for name in params:
            if name not in self.parameters and not self.implicit(name) and name not in legacy:
                known = ", ".join(sorted(self.parameters)) or "none"
                raise SpecError(
                    f"{kind} {resource_id!r}: agent {self.agent} has no parameter {name!r} (it takes: {known})"
                )
        for name, info in self.parameters.items():
            if required and info.required and name not in params and name not in inherited:
                raise SpecError(f"{kind} {resource_id!r}: agent {self.agent} requires parameter {name!r}")
        for name, value in params.items():
            info = self.parameters.get(name)
            if info is not None and value is not None and name not in legacy:
                problem = type_problem(info.type, value, info.options)
                if problem:
                    raise SpecError(
                        f"{kind} {resource_id!r}: parameter {name} {value!r} {problem}"
                        f" (agent {self.agent} declares it {info.type})"
                    )

    def implicit(self, name):
        # Fencing devices also take the fencer's own pcmk_* options.
        return self.agent.standard == "stonith" and (name.startswith("pcmk_") or name in {"priority", "provides"})


def _truthy(value):
    return (value or "").lower() in {"1", "true", "yes"}


# -- values of a declared type, as Pacemaker (and the OCF standard) define them ----------
# What Pacemaker reads as a boolean (crm_is_true / crm_str_to_boolean), any case.
BOOLEAN_WORDS = frozenset({"true", "yes", "y", "on", "1", "false", "no", "n", "off", "0"})
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_SCORE = re.compile(r"^([+-]?INFINITY|[+-]?[0-9]+)$", re.I)
_DURATION = re.compile(r"^\s*[0-9]+\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$", re.I)
_ISO_DURATION = re.compile(
    r"^P(?=.)(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+W)?(?:[0-9]+D)?(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+S)?)?$", re.I
)
_PERCENTAGE = re.compile(r"^[0-9]+%?$")


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def type_problem(kind, value, options=()):
    """What is wrong with ``value`` as a ``kind`` (meta-data's ``<content type>``), or None.

    Kinds: boolean, integer (and nonnegative_integer, port), score, time
    (duration, timeout), percentage, select/enum (one of ``options``); any
    other kind (string, and what a meta-data calls anything else) takes any value.
    """
    text = _text(value).strip()
    kind = (kind or "string").lower()
    if kind == "boolean":
        return None if text.lower() in BOOLEAN_WORDS else "is not a boolean (true/false, yes/no, on/off, 1/0)"
    if kind in ("integer", "nonnegative_integer", "port", "int"):
        if isinstance(value, (bool, float)) or not _INTEGER.match(text):
            return "is not an integer"
        if kind != "integer" and int(text) < 0:
            return "is negative"
        return None
    if kind == "score":
        return None if _SCORE.match(text) else "is not a score (an integer, INFINITY or -INFINITY)"
    if kind in ("time", "duration", "timeout"):
        if _DURATION.match(text) or _ISO_DURATION.match(text):
            return None
        return "is not a duration (such as 10s, 500ms, 2min, 1h, PT1M)"
    if kind == "percentage":
        return None if _PERCENTAGE.match(text) else "is not a percentage (such as 80%)"
    if kind in ("select", "enum") and options:
        # Pacemaker and the agents compare these without regard to case.
        return None if text.lower() in {o.lower() for o in options} else f"is not one of {', '.join(options)}"
    return None


def parse_metadata(agent, text):
    try:
        root = cibmod.parse(text)
    except Exception as exc:  # lxml raises several types; all mean "not meta-data"
        raise SpecError(f"agent {agent}: meta-data is not XML ({exc})") from exc
    if root.tag != "resource-agent":
        raise SpecError(f"agent {agent}: meta-data root is <{root.tag}>, not <resource-agent>")
    meta = AgentMetadata(agent)
    for param in root.iterfind("parameters/parameter"):
        content = param.find("content")
        meta.parameters[param.get("name")] = ParameterInfo(
            name=param.get("name"),
            required=_truthy(param.get("required")),
            # OCF 1.1 has no secret marker; Pacemaker's controller treats
            # private="1" parameters as secret when digesting, so we do too.
            private=_truthy(param.get("private")),
            default=None if content is None else content.get("default"),
            type=None if content is None else content.get("type"),
            options=() if content is None else tuple(o.get("value") for o in content.iterfind("option")),
        )
    meta.action_info = [
        ActionInfo(a.get("name"), a.get("timeout"), a.get("interval"), a.get("role"), a.get("depth"))
        for a in root.iterfind("actions/action")
        if a.get("name")
    ]
    return meta


class MetadataCache:
    """Agent meta-data read at most once per agent for the cache's lifetime."""

    def __init__(self, runner):
        self.runner = runner
        self._cache = {}

    def provide(self, agent, text):
        """Meta-data of an agent this run is about to install (``test=True`` of
        ``pcmk.ocf_agent``): later states check against it, not the missing file."""
        self._cache[str(agent)] = parse_metadata(agent, text)

    def forget(self, agent):
        self._cache.pop(str(agent), None)

    def get(self, agent, *, resource_id=None, kind="resource"):
        key = str(agent)
        if key not in self._cache:
            try:
                proc = self.runner.run(["crm_resource", "--show-metadata", key])
            except ToolError as exc:
                who = f"{kind} {resource_id!r}: " if resource_id else ""
                raise SpecError(f"{who}agent {key} is not installed on this node ({exc})") from exc
            self._cache[key] = parse_metadata(agent, proc.stdout)
        return self._cache[key]


# The daemons that describe Pacemaker's cluster options (crm_config properties):
# ``<daemon> metadata`` prints them as OCF-like meta-data (Pacemaker 2.1.5;
# ``crm_attribute --list-options=cluster`` says the same from 2.1.8 on).
OPTION_DAEMONS = ("pacemaker-schedulerd", "pacemaker-controld", "pacemaker-based")
DAEMON_DIRS = ("/usr/lib/pacemaker", "/usr/libexec/pacemaker", "/usr/lib64/pacemaker")
# Properties Pacemaker writes itself without describing them.
UNDESCRIBED_PROPERTIES = frozenset({"last-lrm-refresh"})


class ClusterOptions:
    """Pacemaker's cluster options (name -> ParameterInfo), asked of its daemons once per run."""

    def __init__(self, runner, dirs=DAEMON_DIRS):
        self.runner = runner
        self.dirs = dirs
        self._options = None

    def _daemon(self, name):
        for directory in self.dirs:
            path = f"{directory}/{name}"
            if os.access(path, os.X_OK):
                return path
        return None

    @property
    def options(self):
        """``{name: ParameterInfo}``; empty when no daemon describes them (then nothing is checked)."""
        if self._options is None:
            found: dict[str, ParameterInfo] = {}
            for daemon in OPTION_DAEMONS:
                path = self._daemon(daemon)
                if path is None:
                    continue
                try:
                    proc = self.runner.run([path, "metadata"])
                except ToolError:
                    continue
                for name, info in parse_metadata(AgentRef("pacemaker", daemon), proc.stdout).parameters.items():
                    found.setdefault(name, info)
            self._options = found
        return self._options

    def check_property(self, culprit, name, value, *, held=False):
        """Refuse an unknown property or a value of the wrong type, naming both.

        ``held``: the CIB already has the property by that name (Pacemaker's
        own and those an older Pacemaker described are left alone).
        """
        options = self.options
        if not options:
            return
        info = options.get(name)
        if info is None:
            if held or name in UNDESCRIBED_PROPERTIES:
                return
            close = difflib.get_close_matches(name, options, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(f"{culprit}: {name!r} is not a Pacemaker cluster property{hint}")
        if value is None:
            return
        problem = type_problem(info.type, value, info.options)
        if problem:
            raise SpecError(f"{culprit}: {name} {value!r} {problem}")
