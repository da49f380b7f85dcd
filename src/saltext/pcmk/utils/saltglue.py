"""The few pieces the Salt loader modules share (still no Salt import).

Loader modules pass their dunders in; this keeps ``modules/``, ``states/``
and ``runners/`` short and the rules in one place.
"""

import functools
import os
import tempfile

from lxml import etree

from saltext.pcmk.utils import agents, runplan
from saltext.pcmk.utils.cib.session import Session
from saltext.pcmk.utils.errors import PcmkError, SpecError
from saltext.pcmk.utils.membership import corosync_conf
from saltext.pcmk.utils.provider.pillar import ServicePillar, systemd_booted
from saltext.pcmk.utils.provider.service import ServiceProvider
from saltext.pcmk.utils.tools import ToolRunner


def failure_message(exc):
    """The message a loader module reports for ``exc``, or None when it is a bug to show as one.

    A PcmkError names its culprit already. A file that cannot be read or
    written (OSError) is named with the cause, and an XML error lxml raises
    where no check of ours caught it first says so, without a traceback or
    an exception class name.
    """
    if isinstance(exc, PcmkError):
        return str(exc)
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else "a file"
        return f"cannot use {where}: {exc.strerror or exc}"
    if isinstance(exc, etree.LxmlError):
        return f"XML error: {exc}"
    return None


HANDLED = (PcmkError, OSError, etree.LxmlError)


def errors_as(exception_class):
    """Decorator for execution module functions: PcmkError (and OSError, lxml's
    errors: :func:`failure_message`) becomes ``exception_class`` (Salt's
    CommandExecutionError), keeping the culprit's message.

    State functions have their twin in the state module itself
    (``states/pcmk.py``: ``_errors_as_result``), which must share its globals.
    """

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except HANDLED as exc:
                raise exception_class(failure_message(exc)) from exc

        return wrapper

    return decorate


def runner_from_opts(opts):
    """A ToolRunner honouring the minion's ``pcmk.cib_file`` (else the environment's CIB_file)."""
    return ToolRunner(cib_file=opts.get("pcmk.cib_file") or None)


def session_from_opts(opts):
    """A Session honouring ``pcmk.cib_file`` and ``pcmk.check_agents`` (false: no agent meta-data checks)."""
    return Session(runner_from_opts(opts), check_agents=agent_checks_on(opts))


def write_file(path, text, *, mode):
    """Write ``text`` to ``path`` whole or not at all, with ``mode`` whatever a file there had.

    A new file in the same directory is renamed over the old one, so a
    symlink at ``path`` is replaced, never followed, and a reader never sees
    half a file. Errors name the path and the cause.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) and not os.path.islink(path):
        raise SpecError(f"cannot write {path}: it is a directory")
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".pcmk-")
    except OSError as exc:
        raise SpecError(f"cannot write {path}: {exc.strerror or exc} ({directory})") from exc
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        os.unlink(temporary)
        raise SpecError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def agent_checks_on(opts):
    return opts.get("pcmk.check_agents", True) not in (False, "false", "False", 0, "0", "no")


def session_for_run(context, opts, instance_id):
    """The Session shared by every pcmk state of one state run.

    Keyed by the run's instance id: a minion running jobs in-process keeps
    ``__context__`` between jobs, and a CIB cached by an earlier job is stale.
    """
    cached = context.get("pcmk.session")
    if cached is None or cached[0] != instance_id:
        cached = (instance_id, session_from_opts(opts))
        context["pcmk.session"] = cached
    return cached[1]


def plan_for_run(context, instance_id, lowstate, aggregatable, arguments):
    """The run's low chunks, indexed once per run (see :mod:`saltext.pcmk.utils.runplan`).

    Salt wraps the same list anew for every state it calls; a run's chunks do not change.
    """
    key = (instance_id, len(lowstate or ()))
    cached = context.get("pcmk.plan")
    if cached is None or cached[0] != key:
        cached = (key, runplan.RunPlan(lowstate or (), aggregatable, arguments))
        context["pcmk.plan"] = cached
    return cached[1]


def agent_source(source, agent_type, get_file_str):
    """Text of an agent from ``salt://``, a local path, or this package's own agents.

    ``get_file_str`` is ``__salt__["cp.get_file_str"]``; it returns False for a missing file.
    """
    if source is None:
        return agents.shipped_source(agent_type)
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


_NATIVE_BY_FAMILY = {
    "Debian": "debian_service",
    "RedHat": "rh_service",
    "Suse": "rh_service",
    "Gentoo": "gentoo_service",
}


def native_service_name(opts):
    """The module Salt would use as ``service`` here, unless ``pcmk.native_service`` says otherwise."""
    if opts.get("pcmk.native_service"):
        return opts["pcmk.native_service"]
    if systemd_booted():
        return "systemd_service"
    return _NATIVE_BY_FAMILY.get((opts.get("grains") or {}).get("os_family") or "", "service")


def native_functions(raw_mod, opts, salt_funcs, context):
    """``{function: callable}`` of the native service module, loaded once per loader.

    Salt replaces ``service.*`` with the provider's functions, so the native
    module is loaded on its own (the way Salt loads providers: ``raw_mod``).
    """
    name = native_service_name(opts)
    key = f"pcmk.native.{name}"
    if key not in context:
        funcs = raw_mod(opts, name, salt_funcs)
        if not funcs:
            raise SpecError(
                f"native service module {name!r} was not found (set pcmk.native_service in the minion config)"
            )
        context[key] = {full.split(".", 1)[1]: fn for full, fn in funcs.items()}
    return context[key]


def pcmk_pillar(salt_funcs, *, fresh=False):
    """Pillar ``pcmk``, unmasked (Salt 3008 masks pillar values unless asked).

    ``fresh`` compiles it from the master now, as a state run does, instead of
    reading the minion's in-memory copy, which only a pillar refresh updates.
    """
    if fresh:
        return (salt_funcs["pillar.items"](unmask=True) or {}).get("pcmk") or {}
    return salt_funcs["pillar.get"]("pcmk", {}, unmask=True) or {}


def service_provider(raw_mod, opts, salt_funcs, context, *, session=None, overrides=None):
    """A ServiceProvider wired to pillar, the native service module and a session."""
    pillar = dict(pcmk_pillar(salt_funcs))
    if overrides:
        name, settings = overrides
        services = pillar.get("services") or {}
        if not isinstance(services, dict):
            raise SpecError("pillar pcmk:services must be a mapping of service name to settings")
        current = services.get(name) or {}
        if not isinstance(current, dict):
            raise SpecError(
                f"pillar pcmk:services:{name} must be a mapping of settings (e.g. ha: true), "
                f"got {type(current).__name__} {current!r}"
            )
        services = dict(services)
        services[name] = {**current, **settings}
        pillar["services"] = services
    if session is None:
        # Share the state run's session (states and execution modules share
        # __context__ in a run) so the provider's writes refresh what the
        # pcmk states cached; refresh, as a daemon minion keeps __context__.
        cached = context.get("pcmk.session")
        session = cached[1] if cached else session_from_opts(opts)
        session.refresh()
    return ServiceProvider(
        session,
        ServicePillar(pillar, nodes=lambda: session.cib.node_names()),
        native_functions(raw_mod, opts, salt_funcs, context),
        minion_id=opts.get("id"),
        on_request=lambda resource, token: announce_restart_request(salt_funcs, resource, token),
    )


def cluster_spec(salt_funcs, cluster=None, *, fresh=False):
    """The checked ``ClusterSpec`` of ``cluster`` (a state's argument) or else pillar ``pcmk:cluster``."""
    data = cluster if cluster is not None else pcmk_pillar(salt_funcs, fresh=fresh).get("cluster")
    return corosync_conf.spec_from_pillar(data)


RESTART_EVENT = "saltext/pcmk/restart-requested"


def announce_restart_request(salt_funcs, resource, token):
    """Tell the master (its reactor may perform pending restarts after a quiet period)."""
    try:
        salt_funcs["event.send"](RESTART_EVENT, {"resource": resource, "token": token})
    except Exception:  # pylint: disable=broad-except
        # No master (salt-call --local): the request is in the CIB all the same.
        pass
