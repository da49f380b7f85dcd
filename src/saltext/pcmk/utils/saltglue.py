"""The few pieces the Salt loader modules share (still no Salt import).

Loader modules pass their dunders in; this keeps ``modules/``, ``states/``
and ``runners/`` short and the rules in one place.
"""

from . import agentfiles
from .errors import SpecError
from .session import Session
from .tools import ToolRunner


def runner_from_opts(opts):
    """A ToolRunner honouring the minion's ``pcmk.cib_file`` (else the environment's CIB_file)."""
    return ToolRunner(cib_file=opts.get("pcmk.cib_file") or None)


def session_for_run(context, opts, instance_id):
    """The Session shared by every pcmk state of one state run.

    Keyed by the run's instance id: a minion running jobs in-process keeps
    ``__context__`` between jobs, and a CIB cached by an earlier job is stale.
    """
    cached = context.get("pcmk.session")
    if cached is None or cached[0] != instance_id:
        cached = (instance_id, Session(runner_from_opts(opts)))
        context["pcmk.session"] = cached
    return cached[1]


def declared_resources(lowstate):
    """Resource ids (and their clone ids) declared by pcmk states in this run."""
    declared = set()
    for chunk in lowstate or ():
        if chunk.get("state") != "pcmk":
            continue
        if chunk.get("fun") in ("resource", "group", "service_provider"):
            declared.add(chunk.get("name"))
            if chunk.get("fun") == "resource" and (chunk.get("clone") or chunk.get("promotable")):
                declared.add(chunk.get("clone_id") or f"{chunk.get('name')}-clone")
            if chunk.get("fun") == "resource" and chunk.get("group"):
                declared.add(chunk.get("group"))
        elif chunk.get("fun") == "clone":
            declared.add(chunk.get("clone_id") or f"{chunk.get('name')}-clone")
    return declared


def agent_source(source, agent_type, get_file_str):
    """Text of an agent from ``salt://``, a local path, or this package's own agents.

    ``get_file_str`` is ``__salt__["cp.get_file_str"]``; it returns False for a missing file.
    """
    if source is None:
        return agentfiles.shipped_source(agent_type)
    if source.startswith("salt://"):
        text = get_file_str(source)
        if text is False or text is None:
            raise SpecError(f"agent source {source} was not found on the master")
        return text
    try:
        with open(source, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise SpecError(f"agent source {source}: {exc.strerror}") from exc
