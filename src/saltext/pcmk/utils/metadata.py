"""Resource agent meta-data: which parameters an agent takes.

Read with ``crm_resource --show-metadata`` (the same path Pacemaker uses), at
most once per agent per run: callers keep a :class:`MetadataCache`.
"""

from dataclasses import dataclass, field

from . import cib as cibmod
from .errors import SpecError, ToolError

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
            raise SpecError(f"{culprit}: unknown resource standard {standard!r} in agent {text!r} (one of {sorted(STANDARDS)})")
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


@dataclass
class AgentMetadata:
    agent: AgentRef
    parameters: dict = field(default_factory=dict)
    actions: list = field(default_factory=list)

    @property
    def private_parameters(self):
        return {name for name, info in self.parameters.items() if info.private}

    def check_params(self, resource_id, params):
        """Raise SpecError naming the resource and the parameter."""
        params = params or {}
        for name in params:
            if name not in self.parameters and not self._implicit(name):
                known = ", ".join(sorted(self.parameters)) or "none"
                raise SpecError(
                    f"resource {resource_id!r}: agent {self.agent} has no parameter {name!r} (it takes: {known})"
                )
        for name, info in self.parameters.items():
            if info.required and name not in params:
                raise SpecError(f"resource {resource_id!r}: agent {self.agent} requires parameter {name!r}")

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
    meta.actions = [a.get("name") for a in root.iterfind("actions/action")]
    return meta


class MetadataCache:
    """Agent meta-data read at most once per agent for the cache's lifetime."""

    def __init__(self, runner):
        self.runner = runner
        self._cache = {}

    def get(self, agent, *, resource_id=None):
        key = str(agent)
        if key not in self._cache:
            try:
                proc = self.runner.run(["crm_resource", "--show-metadata", key])
            except ToolError as exc:
                who = f"resource {resource_id!r}: " if resource_id else ""
                raise SpecError(f"{who}agent {key} is not installed on this node ({exc})") from exc
            self._cache[key] = parse_metadata(agent, proc.stdout)
        return self._cache[key]
