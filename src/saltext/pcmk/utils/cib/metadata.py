"""Resource agent meta-data: which parameters an agent takes.

Read with ``crm_resource --show-metadata`` (the same path Pacemaker uses), at
most once per agent per run: callers keep a :class:`MetadataCache`.
"""

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


@dataclass(frozen=True)
class ActionInfo:
    """One ``<action>`` of an agent's meta-data: what the agent advises for it."""

    name: str
    timeout: str | None = None
    interval: str | None = None
    role: str | None = None
    depth: str | None = None


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
            if name not in self.parameters and not self._implicit(name) and name not in legacy:
                known = ", ".join(sorted(self.parameters)) or "none"
                raise SpecError(
                    f"{kind} {resource_id!r}: agent {self.agent} has no parameter {name!r} (it takes: {known})"
                )
        for name, info in self.parameters.items():
            if required and info.required and name not in params and name not in inherited:
                raise SpecError(f"{kind} {resource_id!r}: agent {self.agent} requires parameter {name!r}")

    def _implicit(self, name):
        # Fencing devices also take the fencer's own pcmk_* options.
        return self.agent.standard == "stonith" and (name.startswith("pcmk_") or name in {"priority", "provides"})


def _truthy(value):
    return (value or "").lower() in {"1", "true", "yes"}


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
