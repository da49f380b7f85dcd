"""State module ``pcmk``: declarative, idempotent Pacemaker configuration.

Every state builds specs (``saltext.pcmk.utils.cib.specs``) and hands them to the
run's shared Session: one CIB read per run, at most one conflict-checked write
per state, and with ``state_aggregate`` one write for all of them. A second
identical run writes nothing. ``test=True`` shows the exact diff.

.. code-block:: yaml

    vip:
      pcmk.resource:
        - agent: ocf:heartbeat:IPaddr2
        - params:
            ip: 192.0.2.10
            cidr_netmask: 24
        - ops:
          - name: monitor
            interval: 10s
"""

import functools
import logging

import salt.loader

from saltext.pcmk.utils import agents, restarts, runplan, saltglue
from saltext.pcmk.utils.cib import specs
from saltext.pcmk.utils.cib.metadata import AgentRef
from saltext.pcmk.utils.cib.specs import builders, parse_bool
from saltext.pcmk.utils.cib.specs.builders import LOW_KEYS
from saltext.pcmk.utils.cluster import operations, tickets
from saltext.pcmk.utils.errors import OwnerRefused, PcmkError
from saltext.pcmk.utils.membership import converge as membership
from saltext.pcmk.utils.provider.pillar import ServicePillar

log = logging.getLogger(__name__)

__virtualname__ = "pcmk"

# State functions whose specs can be merged into one CIB write.
# resource_absent and bundle_absent are not among them: they stop and wait before removing.
AGGREGATABLE = {
    "resource",
    "resource_template",
    "resource_template_absent",
    "group",
    "clone",
    "constraint",
    "constraint_absent",
    "property",
    "property_absent",
    "rsc_defaults",
    "rsc_defaults_absent",
    "op_defaults",
    "op_defaults_absent",
    "property_set",
    "property_set_absent",
    "rsc_defaults_set",
    "rsc_defaults_set_absent",
    "op_defaults_set",
    "op_defaults_set_absent",
    "node_attribute",
    "node_attribute_absent",
    "node_utilization",
    "node_utilization_absent",
    "node",
    "fencing_level",
    "fencing_level_absent",
    "tag",
    "tag_absent",
    "alert",
    "alert_absent",
    "bundle",
}


def __virtual__():
    return __virtualname__


def _specs_from_chunk(chunk):
    fun = chunk["fun"]
    kwargs = {k: v for k, v in chunk.items() if k in LOW_KEYS[fun]}
    return builders.build(fun, **kwargs)


# -- the one place errors become result: False -----------------------------------------
def _errors_as_result(func):
    """Decorator for every state function (the twin of ``saltglue.errors_as`` for
    execution modules): PcmkError (and OSError, lxml's errors:
    ``saltglue.failure_message``) becomes ``result: False`` with the culprit's
    message and no changes.

    It lives here, not in saltglue, because Salt injects ``__low__``,
    ``__instance_id__`` and ``__lowstate__`` into the globals of the function it
    calls: the wrapper must share this module's globals.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except saltglue.HANDLED as exc:
            return {
                "name": args[0] if args else kwargs.get("name"),
                "changes": {},
                "result": False,
                "comment": saltglue.failure_message(exc),
            }

    return wrapper


# -- the one place specs meet the CIB -----------------------------------------------------
def _state_args(extra):
    """Split Salt's extra keywords: our aggregation batch, and real arguments.

    Salt hands low-chunk keys such as ``__agg__`` and per-state ``aggregate``
    to state functions; only what remains is the user's.
    """
    batch = extra.get("__pcmk_batch__") or []
    return batch, {k: v for k, v in extra.items() if not k.startswith("__") and k != "aggregate"}


def _converge(name, fun, extra, **kwargs):
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    test = bool(__opts__.get("test"))
    batch, unknown = _state_args(extra)
    own_tag = __utils__["state.gen_tag"](__low__) if __low__ else name
    if unknown and fun != "constraint":
        raise PcmkError(f"{name}: unknown argument {sorted(unknown)[0]!r} for pcmk.{fun}")
    session = saltglue.session_for_run(__context__, __opts__, __instance_id__)
    if own_tag in session.refused:
        # An earlier state's write held this state's part and refused it: report it here.
        raise PcmkError(session.refused.pop(own_tag))
    if own_tag in session.aggregated:
        # An earlier state wrote this one's part along with its own.
        outcome, note = session.aggregated.pop(own_tag)
    else:
        outcome, note = _converge_with_followers(session, own_tag, fun, name, batch, kwargs, unknown, test)
    agent_check_off = kwargs.get("check_agent") is not None and not parse_bool(kwargs["check_agent"], "check_agent")
    if fun in ("resource", "resource_template") and (agent_check_off or not saltglue.agent_checks_on(__opts__)):
        why = "check_agent: false" if agent_check_off else "pcmk.check_agents: false"
        note += f" (agent meta-data check skipped: {why})"
    if not outcome.changed:
        ret["comment"] = f"{name} is already as declared{note}"
    elif test:
        ret.update(result=None, changes=outcome.changes, comment=f"would change{note}:\n{outcome.render()}")
    else:
        ret.update(changes=outcome.changes, comment=f"changed{note}:\n{outcome.render()}")
    return ret


def _plan():
    return saltglue.plan_for_run(__context__, __instance_id__, __lowstate__, AGGREGATABLE, LOW_KEYS)


def _converge_with_followers(session, own_tag, fun, name, batch, kwargs, unknown, test):
    """Converge this state, with the states Salt aggregated into it or, without
    aggregation, the pcmk states that follow it (``utils/runplan.py``), in one
    write; the others' outcomes are kept for them to report. ``(outcome, note)``."""
    groups = [(own_tag, builders.build(fun, name, **kwargs, **unknown))]
    lookahead = not batch and fun in AGGREGATABLE and runplan.lookahead_allowed(__opts__, __low__ or {})
    if lookahead:
        batch = _plan().following(own_tag, __running__ or {})
    for chunk in batch:
        tag = __utils__["state.gen_tag"](chunk)
        try:
            groups.append((tag, _specs_from_chunk(chunk)))
        except PcmkError as exc:
            if lookahead:
                break  # it fails on its own when Salt runs it; the states after it wait for their turn
            session.refused[tag] = str(exc)
    outcomes = _converge_attributed(session, own_tag, groups, test, truncate=lookahead)
    outcome = outcomes.pop(own_tag)
    if not outcomes:
        return outcome, ""
    if lookahead:
        for tag, part in outcomes.items():
            session.aggregated[tag] = (part, f" (in the CIB write of {own_tag})")
        return outcome, f" (in one CIB write with the {len(outcomes)} pcmk state(s) after it)"
    for tag, part in outcomes.items():
        session.aggregated[tag] = (part, " (written by an aggregated pcmk state)")
    return outcome, f" (in one CIB write with {len(outcomes)} aggregated pcmk state(s))"


def _converge_attributed(session, own_tag, groups, test, truncate=False):
    """Converge ``groups`` (this state's, then those joined to it) in one write.

    A failure is the state's that caused it: when another state's specs are
    refused (OwnerRefused names it), that state is taken out of the write and
    its refusal kept for it to report when Salt runs it; the others are
    written without it, as they would be without aggregation (``truncate``:
    the states after it are taken out too, to converge on their own, in their
    turn, as states that may depend on it). When this state's own specs are
    refused, it fails and writes nothing, and the others converge on their own
    when Salt runs them.
    """
    declared = _plan().declared
    while True:
        try:
            return session.converge_groups(groups, test=test, declared=declared)
        except OwnerRefused as exc:
            tags = [tag for tag, _ in groups]
            if exc.owner == own_tag or exc.owner not in tags:
                raise exc.cause from exc
            session.refused[exc.owner] = str(exc)
            if truncate:
                groups = groups[: tags.index(exc.owner)]
            else:
                groups = [group for group in groups if group[0] != exc.owner]


def mod_aggregate(low, chunks, running):
    """Merge the pcmk states Salt lets us aggregate into this one's single write."""
    if low.get("fun") not in AGGREGATABLE:
        return low
    batch = []
    for chunk in chunks:
        if chunk.get("state") != "pcmk" or chunk.get("fun") not in AGGREGATABLE:
            continue
        if chunk.get("__agg__") or __utils__["state.gen_tag"](chunk) in running:
            continue
        if __utils__["state.gen_tag"](chunk) == __utils__["state.gen_tag"](low):
            continue
        chunk["__agg__"] = True
        batch.append({k: v for k, v in chunk.items() if not k.startswith("__") or k == "__id__"})
    if batch:
        low["__pcmk_batch__"] = batch
    return low


# -- states ------------------------------------------------------------------------
@_errors_as_result
def resource(
    name,
    agent=None,
    params=None,
    meta=None,
    ops=None,
    utilization=None,
    clone=None,
    clone_id=None,
    clone_meta=None,
    promotable=False,
    group=None,
    secret_params=None,
    secrets_in_cib=True,
    default_ops=True,
    check_agent=True,
    description=None,
    template=None,
    **kwargs,
):
    """
    Ensure a primitive resource exists exactly as declared.

    name
        The resource id.
    agent
        ``ocf:<provider>:<type>``, ``systemd:<unit>``, ``lsb:<script>`` or ``stonith:<type>``.
        Parameters are checked against the agent's meta-data on this node.
    template
        Instead of ``agent``: the id of a resource template
        (``pcmk.resource_template``, or a crmsh ``rsc_template``) the
        primitive is made from (``template="<id>"``, no class or type of its
        own). It takes the template's agent, params, meta, utilization and
        ops; its own ``params``, ``meta``, ``utilization`` add to or override
        them, and an op of its own replaces the template's op of the same
        name and role (completed from it, then from the agent's advice). A
        new primitive gets no advised ops of its own (Pacemaker gives it the
        template's), and the agent's required parameters may come from the
        template. The template must exist, or be declared by a state before
        this one (or required by it). Give exactly one of ``agent`` and
        ``template``.
    params, meta, utilization
        Mappings; when given they become exact (undeclared entries are
        removed, except ``target-role`` and ``is-managed`` in ``meta``, which
        operators set at run time). Omitted: left as they are.
    ops
        List of ``{name, interval, timeout, ...}`` (an op's ``params`` are its
        own instance attributes, e.g. ``{OCF_CHECK_LEVEL: 10}``). A new resource gets the
        operations its agent's meta-data advises (start, stop, monitor,
        promote, demote, with the advised intervals and timeouts), as ``pcs
        resource create`` does; an op named here replaces the advice for that
        operation, completed from it (``{name: monitor, interval: 30s}`` keeps
        the advised timeout). On an existing resource the ops named here are
        exact and the others the agent advises are left as they are (so a
        resource pcs made is adopted without churn); ops of other names are
        removed. Omitted: the ops of an existing resource are left alone.
    default_ops
        ``False``: a new resource gets only the ops named in ``ops`` and a
        monitor (like ``pcs resource create --no-default-ops``).
    clone / clone_id / clone_meta / promotable
        Run as a clone (``<name>-clone`` unless ``clone_id``); ``clone`` may be
        a mapping of clone meta attributes; ``promotable: true`` for a
        promotable clone. ``clone: false`` takes it out of a clone.
    group
        Member of this group (created if missing), appended in order.
    secret_params
        Parameter names never shown in changes, comments or logs. Parameters
        the agent marks ``private`` are secret too.
    secrets_in_cib
        ``False`` keeps secret values out of the CIB like ``cibsecret``: the CIB
        holds ``lrm://`` and this node a root-only file. Every node must run
        the state (each writes its own file).
    description
        The resource's description (``""``: none); left as it is when omitted.
    check_agent
        ``False`` skips every check against the agent's meta-data on this node
        (parameters, advised operations, private parameters), for an agent
        installed only where the resource runs or an offline lab; the comment
        says the check was skipped. The minion option ``pcmk.check_agents:
        false`` does the same for a whole run. With the check on, a declared
        parameter the installed agent no longer lists is accepted when the
        CIB already holds it with that value (a cluster made years ago), and
        an existing resource whose ``params`` are not declared is not asked
        for the agent's required parameters.

    .. code-block:: yaml

        haproxy:
          pcmk.resource:
            - agent: ocf:heartbeat:haproxy
            - clone: true
            - ops:
              - {name: monitor, interval: 10s}
        vm1:
          pcmk.resource:
            - template: vm-template
            - params: {config: /etc/libvirt/qemu/vm1.xml}
            - require:
              - pcmk: vm-template
    """
    return _converge(
        name,
        "resource",
        kwargs,
        agent=agent,
        template=template,
        params=params,
        meta=meta,
        ops=ops,
        utilization=utilization,
        clone=clone,
        clone_id=clone_id,
        clone_meta=clone_meta,
        promotable=promotable,
        group=group,
        secret_params=secret_params,
        secrets_in_cib=secrets_in_cib,
        default_ops=default_ops,
        check_agent=check_agent,
        description=description,
    )


@_errors_as_result
def resource_absent(name, wait=True, timeout=120, **kwargs):
    """
    Ensure a resource is gone: stopped first (waiting at most ``timeout``
    seconds), then removed with every constraint that names it. A group,
    clone or bundle goes with what it holds (and the constraints naming that).

    .. code-block:: yaml

        old-vip:
          pcmk.resource_absent:
            - timeout: 60
    """
    return _absent(name, "resource_absent", None, wait, timeout, kwargs)


def _absent(name, fun, kind, wait, timeout, kwargs):
    if __opts__.get("test") or not wait:
        return _converge(name, fun, kwargs)
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    session = saltglue.session_for_run(__context__, __opts__, __instance_id__)
    outcome = operations.delete(session, name, wait=True, timeout=timeout, kind=kind)
    if outcome.changed:
        ret.update(changes=outcome.changes, comment=f"stopped and removed:\n{outcome.render()}")
    else:
        ret["comment"] = f"{name} is already absent"
    return ret


@_errors_as_result
def resource_template(
    name,
    agent,
    params=None,
    meta=None,
    ops=None,
    utilization=None,
    secret_params=None,
    default_ops=True,
    check_agent=True,
    description=None,
    **kwargs,
):
    """
    Ensure a resource template (``<template>`` in ``<resources>``) exists
    exactly as declared: what primitives made from it (``pcmk.resource``
    with ``template: <name>``) share. A constraint may name the template
    wherever it names a resource, and then applies to every primitive made
    from it.

    agent
        As for ``pcmk.resource``; parameters are checked against the
        agent's meta-data on this node, but the ones it requires are not
        demanded (each primitive may give them).
    params, meta, utilization, ops, default_ops, secret_params, description, check_agent
        As for ``pcmk.resource``: given, they are exact; left out, not
        managed. A new template gets the operations its agent advises,
        completed by the ones named in ``ops``.

    .. code-block:: yaml

        vm-template:
          pcmk.resource_template:
            - agent: ocf:heartbeat:VirtualDomain
            - params: {hypervisor: "qemu:///system"}
            - meta: {allow-migrate: true}
            - utilization: {memory: 2048}
            - ops:
              - {name: monitor, interval: 30s, timeout: 60s}
    """
    return _converge(
        name,
        "resource_template",
        kwargs,
        agent=agent,
        params=params,
        meta=meta,
        ops=ops,
        utilization=utilization,
        secret_params=secret_params,
        default_ops=default_ops,
        check_agent=check_agent,
        description=description,
    )


@_errors_as_result
def resource_template_absent(name, **kwargs):
    """
    Ensure no resource template ``name`` exists; constraints naming it go
    with it. Refused, naming them, while primitives are made from it:
    remove them first (``pcmk.resource_absent``, required by this state).

    .. code-block:: yaml

        vm-template:
          pcmk.resource_template_absent:
            - require:
              - pcmk: vm1-gone
    """
    return _converge(name, "resource_template_absent", kwargs)


@_errors_as_result
def group(name, resources, meta=None, params=None, description=None, **kwargs):
    """
    Ensure an ordered group of primitives exists with exactly these members.

    meta
        The group's meta attributes, exact when given (``target-role`` and
        ``is-managed`` are left alone unless named).
    params
        The group's own instance attributes, exact when given: Pacemaker
        passes them to every member (a member's own value of the same name
        wins). Left out: left as they are.
    description
        Text Pacemaker keeps with the group (``""`` removes it).

    .. code-block:: yaml

        web:
          pcmk.group:
            - resources: [web-vip, web-server]
            - params: {trace_ra: 1}
    """
    return _converge(name, "group", kwargs, resources=resources, meta=meta, params=params, description=description)


@_errors_as_result
def tag(name, resources, **kwargs):
    """
    Ensure a tag names exactly these resources, in this order. A constraint
    may name the tag wherever it names a resource (``rsc``, ``with_rsc``,
    ``first``, ``then``, sets), and then applies to every resource tagged.

    .. code-block:: yaml

        openstack-apis:
          pcmk.tag:
            - resources: [nova-api-clone, glance-api-clone, cinder-api-clone]
    """
    return _converge(name, "tag", kwargs, resources=resources)


@_errors_as_result
def tag_absent(name, **kwargs):
    """
    Ensure no tag ``name`` exists (the resources it named stay).

    .. code-block:: yaml

        openstack-apis:
          pcmk.tag_absent: []
    """
    return _converge(name, "tag_absent", kwargs)


@_errors_as_result
def bundle(name, container, network=None, storage=None, primitive=None, meta=None, description=None, **kwargs):
    """
    Ensure a bundle: Pacemaker runs ``container`` as replicas (one per node
    unless ``replicas_per_host`` says more) and, when ``primitive`` is given,
    that primitive inside each replica, through Pacemaker Remote.

    Keys are spelt with underscores (``run_command``) or as the XML spells
    them (``run-command``). A part left out is left as found (an existing
    bundle keeps it); a part given is exact. An attribute at the value
    Pacemaker assumes when it is absent (``replicas`` 1 or ``promoted_max``,
    ``replicas_per_host`` 1, ``promoted_max`` 0, ``add_host`` true,
    ``host_netmask`` 32) is the same written or not.

    container
        ``{kind, image, replicas, replicas_per_host, promoted_max,
        run_command, network, options}``; ``kind`` is ``docker``, ``podman``
        or ``rkt``, ``image`` is required, ``promoted_max`` (``masters`` in
        the old schema, whose spelling a bundle keeps) makes the primitive
        promotable. ``network`` here is the container runtime's own option
        (``host``, ``bridge`` ...).
    network
        ``{ip_range_start, control_port, host_interface, host_netmask,
        add_host, port_mappings}``; ``port_mappings`` is a list of ``{id,
        port, internal_port}`` or ``{id, range}``, exact when given, each
        matched by ``id`` when given, else by port (or range), so the
        ``<bundle>-port-map-<port>`` ones pcs makes keep their ids. A
        bundle with a primitive needs ``ip_range_start`` or
        ``control_port``.
    storage
        List of ``{id, source_dir or source_dir_root, target_dir,
        options}``, exact; matched by ``id`` when given, else by
        ``target_dir`` (pcs names them ``<bundle>-storage-map``, ``-1`` ...).
    primitive
        The id of the primitive the bundle runs (existing, or made by an
        earlier state of the run, which this state must ``require``): it is
        moved into the bundle from the top level or a group. One in a clone
        or in another bundle, or a second one, is refused. ``pcmk.resource``
        on it later leaves it in the bundle.
    meta
        The bundle's meta attributes, exact when given (``target-role`` and
        ``is-managed`` are left alone unless named); a mapping, or a list of
        sets ``{values, id, score, rule}`` as ``pcmk.group``'s ``meta``.
    description
        The bundle's description (``""``: none).

    .. code-block:: yaml

        haproxy:
          pcmk.resource:
            - agent: ocf:heartbeat:haproxy
            - check_agent: false    # the agent lives in the image
        haproxy-bundle:
          pcmk.bundle:
            - container:
                kind: podman
                image: cluster.common.tag/haproxy:pcmklatest
                replicas: 3
                network: host
                options: --user=root --log-driver=journald
                run_command: /bin/bash /usr/local/bin/kolla_start
            - network:
                control_port: 3121
                port_mappings: [{port: 8080}]
            - storage:
              - source_dir: /var/lib/kolla/config_files/haproxy.json
                target_dir: /var/lib/kolla/config_files/config.json
                options: ro
            - primitive: haproxy
            - meta: {container-attribute-target: host}
            - require: [{pcmk: haproxy}]
    """
    return _converge(
        name,
        "bundle",
        kwargs,
        container=container,
        network=network,
        storage=storage,
        primitive=primitive,
        meta=meta,
        description=description,
    )


@_errors_as_result
def bundle_absent(name, wait=True, timeout=120, **kwargs):
    """
    Ensure no bundle ``name`` exists: as ``pcmk.resource_absent``, stopped
    first (waiting at most ``timeout`` seconds), then removed with its
    primitive and every constraint naming either. An id that is not a
    bundle is refused, not removed.

    .. code-block:: yaml

        haproxy-bundle:
          pcmk.bundle_absent:
            - timeout: 60
    """
    return _absent(name, "bundle_absent", "bundle", wait, timeout, kwargs)


@_errors_as_result
def alert(name, path, description=None, meta=None, params=None, recipients=None, select=None, **kwargs):
    """
    Ensure an alert: Pacemaker runs the agent at ``path`` on cluster events.

    meta, params
        The alert's meta attributes (``timeout``, ``timestamp-format``) and
        instance attributes, exact when given.
    recipients
        List of values (a file, an address ...) or mappings ``{value, id,
        description, meta, params}``; exact when given. Recipients are
        matched by value, so ones pcs or crmsh made are kept with their ids.
    select
        Which events: any of ``nodes``, ``fencing``, ``resources``,
        ``attributes`` (all when left out).

    .. code-block:: yaml

        log-events:
          pcmk.alert:
            - path: /usr/share/pacemaker/alerts/alert_file.sh.sample
            - meta: {timeout: 15s}
            - recipients: [/var/log/pcmk_alerts.log]
            - select: [nodes, fencing, resources]
    """
    return _converge(
        name,
        "alert",
        kwargs,
        path=path,
        description=description,
        meta=meta,
        params=params,
        recipients=recipients,
        select=select,
    )


@_errors_as_result
def alert_absent(name, **kwargs):
    """
    Ensure no alert ``name`` exists.

    .. code-block:: yaml

        log-events:
          pcmk.alert_absent: []
    """
    return _converge(name, "alert_absent", kwargs)


@_errors_as_result
def clone(name, clone_id=None, meta=None, promotable=False, params=None, description=None, **kwargs):
    """
    Ensure a primitive or group ``name`` runs as a clone (id ``<name>-clone``
    unless ``clone_id``), or a promotable clone.

    meta
        The clone's meta attributes, exact when given.
    params
        The clone's own instance attributes, exact when given: Pacemaker
        passes them to the cloned resource (its own value of the same name
        wins). Left out: left as they are.
    description
        Text Pacemaker keeps with the clone (``""`` removes it).

    .. code-block:: yaml

        rabbitmq:
          pcmk.clone:
            - meta: {interleave: true}
            - params: {trace_ra: 1}
    """
    return _converge(
        name,
        "clone",
        kwargs,
        clone_id=clone_id,
        meta=meta,
        promotable=promotable,
        params=params,
        description=description,
    )


@_errors_as_result
def constraint(name, kind, constraint_id=None, **kwargs):
    """
    Ensure a constraint exists exactly as declared. The state id is the
    constraint id unless ``constraint_id`` is given. A constraint that pcs or
    crmsh made about the same resources is adopted instead of duplicated.

    kind: location
        ``rsc`` (or ``rsc_pattern``), ``node`` + ``score`` (default INFINITY),
        or ``rules`` (list of ``{score, boolean_op, expressions: [{attribute,
        operation, value, type}]}``); ``role``, ``resource_discovery``.
    kind: colocation
        ``rsc``, ``with_rsc``, ``score``, ``rsc_role``, ``with_rsc_role``. ``score``
        left out: INFINITY on a new colocation (as pcs makes it), the score an
        existing one has is kept (none, which Pacemaker reads as 0, included);
        ``score: null`` says "no score attribute".
    kind: order
        ``first``, ``then``, ``order_kind`` (Mandatory, Optional, Serialize; named so because ``kind`` says which constraint),
        ``symmetrical``, ``first_action``, ``then_action``.
    sets
        Instead of single resources: a list of ``{resources: [...],
        sequential, require_all, role, action}``.

    .. code-block:: yaml

        haproxy-with-vip:
          pcmk.constraint:
            - kind: colocation
            - rsc: haproxy-clone
            - with_rsc: vip
    """
    return _converge(name, "constraint", kwargs, kind=kind, constraint_id=constraint_id)


@_errors_as_result
def constraint_absent(name, constraint_id=None, **kwargs):
    """
    Ensure no constraint has this id.

    .. code-block:: yaml

        old-order:
          pcmk.constraint_absent
    """
    return _converge(name, "constraint_absent", kwargs, constraint_id=constraint_id)


@_errors_as_result
def property(name, value, **kwargs):  # pylint: disable=redefined-builtin
    """
    Ensure a cluster property (``cib-bootstrap-options``) has this value.

    .. code-block:: yaml

        stonith-enabled:
          pcmk.property:
            - value: false
    """
    return _converge(name, "property", kwargs, value=value)


@_errors_as_result
def property_absent(name, **kwargs):
    """
    Ensure a cluster property is not set (Pacemaker's default applies).

    .. code-block:: yaml

        maintenance-mode:
          pcmk.property_absent
    """
    return _converge(name, "property_absent", kwargs)


@_errors_as_result
def rsc_defaults(name, value, **kwargs):
    """
    Ensure a resource default (``rsc_defaults``) has this value.

    .. code-block:: yaml

        resource-stickiness:
          pcmk.rsc_defaults:
            - value: 100
    """
    return _converge(name, "rsc_defaults", kwargs, value=value)


@_errors_as_result
def rsc_defaults_absent(name, **kwargs):
    """
    Ensure a resource default is not set.

    .. code-block:: yaml

        resource-stickiness:
          pcmk.rsc_defaults_absent
    """
    return _converge(name, "rsc_defaults_absent", kwargs)


@_errors_as_result
def op_defaults(name, value, **kwargs):
    """
    Ensure an operation default (``op_defaults``) has this value.

    .. code-block:: yaml

        timeout:
          pcmk.op_defaults:
            - value: 60s
    """
    return _converge(name, "op_defaults", kwargs, value=value)


@_errors_as_result
def op_defaults_absent(name, **kwargs):
    """
    Ensure an operation default is not set.

    .. code-block:: yaml

        timeout:
          pcmk.op_defaults_absent
    """
    return _converge(name, "op_defaults_absent", kwargs)


@_errors_as_result
def property_set(name, values, score=None, rule=None, **kwargs):
    """
    Ensure the cluster property set ``name`` holds exactly ``values``, read
    when its ``rule`` holds, in the order of its ``score`` (highest first).
    Properties Pacemaker writes itself (``dc-version`` ...) are left alone.
    The rule's shape is the one location constraints take (docs/states.md).

    .. code-block:: yaml

        weekend-maintenance:
          pcmk.property_set:
            - score: 100
            - rule:
                expressions:
                  - date: {operation: date_spec, date_spec: {weekdays: "6-7"}}
            - values:
                maintenance-mode: true
    """
    return _converge(name, "property_set", kwargs, values=values, score=score, rule=rule)


@_errors_as_result
def property_set_absent(name, **kwargs):
    """
    Ensure the cluster property set ``name`` does not exist.

    .. code-block:: yaml

        weekend-maintenance:
          pcmk.property_set_absent
    """
    return _converge(name, "property_set_absent", kwargs)


@_errors_as_result
def rsc_defaults_set(name, values, score=None, rule=None, **kwargs):
    """
    Ensure the resource defaults set ``name`` holds exactly ``values`` (when
    its ``rule`` holds; a ``resource`` expression makes defaults for one agent).

    .. code-block:: yaml

        ipaddr-defaults:
          pcmk.rsc_defaults_set:
            - rule:
                expressions:
                  - resource: {class: ocf, provider: heartbeat, type: IPaddr2}
            - values:
                resource-stickiness: 200
    """
    return _converge(name, "rsc_defaults_set", kwargs, values=values, score=score, rule=rule)


@_errors_as_result
def rsc_defaults_set_absent(name, **kwargs):
    """
    Ensure the resource defaults set ``name`` does not exist.

    .. code-block:: yaml

        ipaddr-defaults:
          pcmk.rsc_defaults_set_absent
    """
    return _converge(name, "rsc_defaults_set_absent", kwargs)


@_errors_as_result
def op_defaults_set(name, values, score=None, rule=None, **kwargs):
    """
    Ensure the operation defaults set ``name`` holds exactly ``values`` (when
    its ``rule`` holds; an ``op`` expression makes defaults for one operation).

    .. code-block:: yaml

        monitor-defaults:
          pcmk.op_defaults_set:
            - rule:
                expressions:
                  - op: {name: monitor}
            - values:
                timeout: 40s
    """
    return _converge(name, "op_defaults_set", kwargs, values=values, score=score, rule=rule)


@_errors_as_result
def op_defaults_set_absent(name, **kwargs):
    """
    Ensure the operation defaults set ``name`` does not exist.

    .. code-block:: yaml

        monitor-defaults:
          pcmk.op_defaults_set_absent
    """
    return _converge(name, "op_defaults_set_absent", kwargs)


@_errors_as_result
def node_attribute(name, node, value, attribute=None, **kwargs):
    """
    Ensure a permanent node attribute (``attribute``, default the state name)
    has this value on ``node``.

    .. code-block:: yaml

        ctl1-galera-bootstrap:
          pcmk.node_attribute:
            - node: ctl1
            - attribute: galera-bootstrap
            - value: true
    """
    return _converge(name, "node_attribute", kwargs, node=node, value=value, attribute=attribute)


@_errors_as_result
def node_attribute_absent(name, node, attribute=None, **kwargs):
    """
    Ensure a permanent node attribute is not set on ``node``.

    .. code-block:: yaml

        standby:
          pcmk.node_attribute_absent:
            - node: ctl2
    """
    return _converge(name, "node_attribute_absent", kwargs, node=node, attribute=attribute)


@_errors_as_result
def node_utilization(name, node, value, attribute=None, **kwargs):
    """
    Ensure a node offers ``value`` of a utilization attribute (``attribute``,
    default the state name), such as its CPUs or memory. With the cluster
    property ``placement-strategy`` (``utilization``, ``balanced``,
    ``minimal``), Pacemaker places a resource only where what the resources
    there use (``pcmk.resource``'s ``utilization``) fits.

    .. code-block:: yaml

        placement-strategy:
          pcmk.property:
            - value: balanced
        ctl1-cpu:
          pcmk.node_utilization:
            - node: ctl1
            - attribute: cpu
            - value: 16
    """
    return _converge(name, "node_utilization", kwargs, node=node, value=value, attribute=attribute)


@_errors_as_result
def node_utilization_absent(name, node, attribute=None, **kwargs):
    """
    Ensure a node has no utilization attribute ``attribute`` (default the state name).

    .. code-block:: yaml

        ctl1-cpu:
          pcmk.node_utilization_absent:
            - node: ctl1
            - attribute: cpu
    """
    return _converge(name, "node_utilization_absent", kwargs, node=node, attribute=attribute)


@_errors_as_result
def node(name, node=None, score=None, description=None, standby=None, maintenance=None, **kwargs):  # pylint: disable=redefined-outer-name
    """
    Ensure a cluster node's entry in ``<nodes>`` says what is declared; an
    argument left out (or null) is left as found.

    node
        The node's name (``crm_node --name``); default the state name. A node
        not in the CIB is refused, unless it is a Pacemaker Remote node (an
        ``ocf:pacemaker:remote`` resource) or a guest node (``remote-node``
        meta attribute), whose entry is made as ``crm_attribute`` makes it.
    score
        The node's own score (an integer, ``INFINITY``, ``-INFINITY``), added
        to every resource's score for the node: ``-INFINITY`` keeps every
        resource off it. ``0`` removes it (absent reads as 0).
    description
        The node's description (``""``: none).
    standby
        ``true``: the node's resources move away and none starts there;
        ``false``: out of standby. The permanent node attribute ``standby``,
        as ``pcs node standby`` and ``crm_standby`` set it (a standby they set
        is adopted as it is).
    maintenance
        ``true``: the resources on the node are left alone (not monitored,
        started or stopped); ``false``: managed again. The permanent node
        attribute ``maintenance``, as ``pcs node maintenance`` sets it.

    .. code-block:: yaml

        ctl4:
          pcmk.node:
            - score: -INFINITY
            - description: spare, runs nothing

    Rolling maintenance by pillar: name the node being worked on in pillar,
    apply the state, do the work, clear the pillar, apply again.

    .. code-block:: yaml+jinja

        {% set draining = salt['pillar.get']('cluster:draining', []) %}
        {% for n in ['ctl1', 'ctl2', 'ctl3'] %}
        node-{{ n }}:
          pcmk.node:
            - node: {{ n }}
            - standby: {{ n in draining }}
        {% endfor %}
    """
    return _converge(
        name,
        "node",
        kwargs,
        node=node,
        score=score,
        description=description,
        standby=standby,
        maintenance=maintenance,
    )


@_errors_as_result
def ticket(name, granted=None, standby=None, ticket=None, **kwargs):  # pylint: disable=redefined-outer-name
    """
    Ensure a ticket (``ticket``, default the state name) is granted or
    revoked, active or standby, on this cluster (site). An argument left out
    (or null) is left as found.

    A ticket is what an ``rsc_ticket`` constraint (``pcmk.constraint`` with
    ``kind: ticket``) makes a resource depend on: the resource runs only while
    its ticket is granted and active, and when it is revoked the
    constraint's ``loss_policy`` applies. Tickets live in the CIB's status
    section, so this state changes them with Pacemaker's ``crm_ticket``
    (``--grant``, ``--revoke``, ``--standby``, ``--activate``) after reading
    their state, never with a configuration write; it runs nothing when the
    ticket is already as declared. With booth managing the ticket, let booth
    grant it instead.

    granted
        ``true``: granted to this site (``crm_ticket --grant --force``);
        ``false``: revoked (``--revoke --force``). A ticket never granted
        reads as revoked.
    standby
        ``true``: the resources that depend on the ticket stop as if it were
        revoked, without its loss-policy (``--standby``); ``false``: active
        again (``--activate``). Standby is applied before a revoke, and a
        grant before activating.

    With ``state_aggregate: [pcmk]``, give it ``aggregate: false``.

    .. code-block:: yaml

        site-a:
          pcmk.ticket:
            - granted: true
            - standby: false
            - aggregate: false

    Granted where pillar says the site is active:

    .. code-block:: yaml+jinja

        site-a:
          pcmk.ticket:
            - granted: {{ salt['pillar.get']('cluster:active_site') == 'a' }}
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    unknown = _state_args(kwargs)[1]
    if unknown:
        raise PcmkError(f"{name}: unknown argument {sorted(unknown)[0]!r} for pcmk.ticket")
    spec = tickets.TicketSpec.build(ticket or name, granted, standby)
    test = bool(__opts__.get("test"))
    session = saltglue.session_for_run(__context__, __opts__, __instance_id__)
    outcome = tickets.converge(session, spec, test=test)
    if not outcome.changed:
        ret["comment"] = f"ticket {spec.id} is already as declared"
    elif test:
        ret.update(result=None, changes=outcome.changes, comment=f"would change:\n{outcome.render()}")
    else:
        ret.update(changes=outcome.changes, comment=f"changed:\n{outcome.render()}")
    return ret


@_errors_as_result
def fencing_level(
    name, devices, index=1, target=None, target_pattern=None, target_attribute=None, target_value=None, **kwargs
):
    """
    Ensure a fencing level: ``target`` (default the state name) is fenced by
    ``devices`` (stonith resource ids) at ``index`` (1-9). Instead of one
    node, ``target_pattern`` (a regular expression on node names) or
    ``target_attribute`` with ``target_value`` (nodes whose attribute has
    that value) say which nodes the level is for.

    .. code-block:: yaml

        ctl1:
          pcmk.fencing_level:
            - index: 1
            - devices: [ipmi-ctl1]
        controllers-by-pdu:
          pcmk.fencing_level:
            - target_pattern: ^ctl[0-9]+$
            - index: 2
            - devices: [pdu]
    """
    return _converge(
        name,
        "fencing_level",
        kwargs,
        target=target,
        index=index,
        devices=devices,
        target_pattern=target_pattern,
        target_attribute=target_attribute,
        target_value=target_value,
    )


@_errors_as_result
def fencing_level_absent(
    name, index=1, target=None, target_pattern=None, target_attribute=None, target_value=None, **kwargs
):
    """
    Ensure no fencing level ``index`` exists for ``target`` (or for
    ``target_pattern``, or ``target_attribute`` = ``target_value``).

    .. code-block:: yaml

        ctl1:
          pcmk.fencing_level_absent:
            - index: 2
    """
    return _converge(
        name,
        "fencing_level_absent",
        kwargs,
        target=target,
        index=index,
        target_pattern=target_pattern,
        target_attribute=target_attribute,
        target_value=target_value,
    )


@_errors_as_result
def ocf_agent(name, provider, agent_type=None, source=None, ocf_tester=None, saltenv="base", **kwargs):
    """
    Ensure an OCF resource agent is installed as
    ``/usr/lib/ocf/resource.d/<provider>/<agent_type>`` (0755, root).

    The new file is checked before it replaces the old one: shell/python
    syntax, ``meta-data`` against the OCF DTD (with start, stop, monitor and
    meta-data actions), ``validate-all`` not crashing, and, with
    ``ocf_tester: {params: {...}}``, a full ``ocf-tester`` run (which starts and
    stops the service on this node). A broken agent is refused and the old one
    stays. The tester's parameters reach the agent through its environment,
    never its command line; ``ocf_tester: {secret_params: [...]}`` names the
    secret ones (besides those the agent marks private and names containing
    ``pass``, ``secret`` or ``token``), masked in the log and in any error. Run it on every node, and ``require`` it from each ``pcmk.resource``
    using the agent.

    name
        Agent type, unless ``agent_type`` is given.
    source
        ``salt://...``, a local path, or omitted for an agent this package
        ships (``openstack-service``).

    .. code-block:: yaml

        openstack-service-agent:
          pcmk.ocf_agent:
            - provider: saltext
            - agent_type: openstack-service
    """
    agent_type = agent_type or name
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    unknown = _state_args(kwargs)[1]
    if unknown:
        raise PcmkError(f"{name}: unknown argument {sorted(unknown)[0]!r} for pcmk.ocf_agent")
    content = saltglue.agent_source(source, agent_type, lambda s: __salt__["cp.get_file_str"](s, saltenv=saltenv))
    diff = agents.plan(provider, agent_type, content)
    if diff is None:
        ret["comment"] = f"agent ocf:{provider}:{agent_type} is already installed as declared"
        return ret
    session = saltglue.session_for_run(__context__, __opts__, __instance_id__)
    agent_ref = AgentRef("ocf", agent_type, provider)
    if __opts__.get("test"):
        # The same checks as the real run; resources later in this run are
        # checked against the agent this state would install.
        metadata = agents.check_candidate(provider, agent_type, content)
        if session.metadata is not None:
            session.metadata.provide(agent_ref, metadata)
        ret.update(result=None, changes={"diff": diff}, comment=f"agent ocf:{provider}:{agent_type} would be installed")
        return ret
    tester, tester_secrets = None, ()
    if ocf_tester is not None:
        settings = ocf_tester if isinstance(ocf_tester, dict) else {}
        unknown = sorted(set(settings) - {"params", "secret_params"})
        if unknown:
            raise PcmkError(f"{name}: ocf_tester takes params and secret_params, not {unknown[0]!r}")
        tester = settings.get("params") or {}
        tester_secrets = settings.get("secret_params") or ()
        if not isinstance(tester, dict) or not isinstance(tester_secrets, (list, tuple)):
            raise PcmkError(f"{name}: ocf_tester params must be a mapping and secret_params a list of names")
    path = agents.deploy(
        provider, agent_type, content, ocf_tester_params=tester, ocf_tester_secrets=tuple(tester_secrets)
    )
    if session.metadata is not None:
        session.metadata.forget(agent_ref)
    ret.update(changes={"diff": diff}, comment=f"agent ocf:{provider}:{agent_type} installed as {path}")
    return ret


def _provider(name=None, settings=None, session=None):
    overrides = (name, settings) if settings else None
    return saltglue.service_provider(
        salt.loader.raw_mod, __opts__, __salt__, __context__, session=session, overrides=overrides
    )


@_errors_as_result
def service_provider(name, **kwargs):
    """
    Hand a service to Pacemaker, or give it back to the init system, as pillar
    ``pcmk:services:<name>`` says (arguments given here override pillar keys
    of the same name: ``ha``, ``agent``, ``params``, ``clone``, ``constraints``,
    ``restart`` ...).

    With ``ha: true``: the init system's copy is stopped and disabled at boot,
    and the resource with its constraints is created or updated (the cluster
    starts it). With ``ha: false``, if a resource this provider made exists,
    this node's instance leaves the cluster (a ban for clones, a stop for a
    single instance; the resource is removed when no node is left) and the
    service is enabled and started by the init system.

    A ``watch`` on config files requests a restart by the service's policy.

    .. code-block:: yaml

        nova-api-ha:
          pcmk.service_provider:
            - name: nova-api
            - watch:
              - file: /etc/nova/nova.conf
    """
    _, settings = _state_args(kwargs)
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    test = bool(__opts__.get("test"))
    session = saltglue.session_for_run(__context__, __opts__, __instance_id__)
    provider = _provider(name, settings, session)
    handover = provider.converge(provider.decl(name), test=test)
    changes, rendered, where = handover.changes, handover.rendered, handover.where
    if not changes:
        ret["comment"] = f"{name} is run by {where} as declared"
    elif test:
        ret.update(
            result=None,
            changes=changes,
            comment=f"{name} would be run by {where}" + (f":\n{rendered}" if rendered else ""),
        )
    else:
        ret.update(changes=changes, comment=f"{name} is now run by {where}" + (f":\n{rendered}" if rendered else ""))
    return ret


@_errors_as_result
def restart_pending(name, settle=None, timeout=None, **kwargs):
    """
    Perform pending restarts at the end of a highstate, without orchestration.

    Put it last (``order: last``) on every controller. The bootstrap minion
    waits until no new restart request has appeared for ``settle`` seconds
    (coalescing controllers that apply the same change together), then
    restarts each requested resource once. The other controllers wait (at most
    ``timeout``) for their own requests to be performed and, if the bootstrap
    minion is not running its own highstate, perform them themselves, so a
    change never goes without its restart. With pillar
    ``pcmk:restart:defer: true`` (set by the orchestrate SLS) it does nothing:
    the orchestration restarts once after every controller has its config.

    .. code-block:: yaml

        pcmk-restarts:
          pcmk.restart_pending:
            - order: last
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    session = saltglue.session_for_run(__context__, __opts__, __instance_id__)
    pillar = ServicePillar(saltglue.pcmk_pillar(__salt__))
    settings = pillar.restart_settings
    settle = settings["settle"] if settle is None else settle
    timeout = settings["timeout"] if timeout is None else timeout
    session.refresh()
    if settings["defer"]:
        ret["comment"] = (
            f"restarts deferred to orchestration (pcmk:restart:defer); pending: {sorted(restarts.pending(session.cib)) or 'none'}"
        )
        return ret
    if session.runner.offline:
        # A CIB file has no cluster to restart anything: the requests stay
        # in it for the live cluster, as they would with defer.
        ret["comment"] = (
            f"offline CIB: restarts are left to the live cluster; pending: {sorted(restarts.pending(session.cib)) or 'none'}"
        )
        return ret
    if __opts__.get("test"):
        pending = sorted(restarts.pending(session.cib))
        if pending:
            ret.update(result=None, changes={"would restart": pending}, comment="restarts are pending")
        else:
            ret["comment"] = "no restart is pending"
        return ret
    results = restarts.end_of_run(
        session,
        operations.local_node_name(session.runner),
        minion_id=__opts__.get("id"),
        override=pillar.raw.get("bootstrap_minion"),
        settle=settle,
        timeout=timeout,
    )
    if results:
        ret["changes"] = results
        failed = {r: v for r, v in results.items() if v.get("result") == "failed"}
        ret["result"] = not failed
        ret["comment"] = "; ".join(f"{r}: {v['result']}" for r, v in results.items())
    else:
        ret["comment"] = "no restart was pending for this node"
    return ret


# -- the cluster itself: Corosync and Pacemaker from pillar pcmk:cluster --------------------------------
@_errors_as_result
def corosync_conf(name=membership.COROSYNC_CONF, cluster=None, check=True, **kwargs):
    """
    Render ``/etc/corosync/corosync.conf`` from pillar ``pcmk:cluster`` (or the
    ``cluster`` argument, same layout): the same text on every controller,
    written whole (0644) only when it differs, with a unified diff under
    ``test=True``. ``corosync -t`` checks the candidate first (``check: false``
    skips it).

    Refused before anything is written, naming the culprit: a broken pillar
    (unknown keys, duplicate node ids or names, an address count that is not
    the link count, a minion that is not one of the nodes), and, while
    Corosync runs here, a change of cluster name or transport, a node id or
    name reused for another node, and a node list whose running members would
    not have quorum under it. While Corosync runs, the new file takes effect
    at the next ``corosync-cfgtool -R`` (not run by this state).

    .. code-block:: yaml

        /etc/corosync/corosync.conf:
          pcmk.corosync_conf: []
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    spec = saltglue.cluster_spec(__salt__, cluster)
    membership.absolute_path(name, "the corosync.conf path (the state's name)")
    plan = membership.plan_conf(spec, __opts__["id"], saltglue.runner_from_opts(__opts__), path=name, check=check)
    if not plan.changed:
        ret["comment"] = f"{name} is as declared (cluster {spec.name})"
        return ret
    ret["changes"] = {"diff": plan.diff()}
    if __opts__.get("test"):
        ret.update(result=None, comment=f"{name} would be written (cluster {spec.name})")
        return ret
    membership.apply_conf(plan, saltglue.write_file)
    ret["comment"] = f"{name} written (cluster {spec.name})" + (
        "; Corosync runs: the change takes effect at corosync-cfgtool -R" if plan.corosync_running else ""
    )
    return ret


@_errors_as_result
def authkey(name="cluster", cluster=None, corosync_path=None, pacemaker_path=None, **kwargs):
    """
    Install the Corosync and Pacemaker authkeys of pillar
    ``pcmk:cluster:authkeys`` (base64; keep them encrypted with Salt's GPG
    renderer): ``/etc/corosync/authkey`` (root, 0400) and
    ``/etc/pacemaker/authkey`` (hacluster:haclient, 0400, as pcs installs it:
    Pacemaker's controller reads it). Written whole, only when content, owner
    or mode differ (``corosync_path``, ``pacemaker_path`` put them elsewhere). The keys are never shown: changes say ``authkey: created``
    or ``authkey: changed``. A Corosync key that differs from the one a
    running Corosync uses is refused (the node would leave the membership),
    nothing written.

    .. code-block:: yaml

        cluster-authkeys:
          pcmk.authkey: []
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    spec = saltglue.cluster_spec(__salt__, cluster)
    plans = membership.plan_keys(
        spec, __opts__["id"], saltglue.runner_from_opts(__opts__), membership.keyfiles(corosync_path, pacemaker_path)
    )
    if not plans:
        ret["comment"] = "authkeys are as declared"
        return ret
    ret["changes"] = {plan.keyfile.path: plan.report for plan in plans}
    if __opts__.get("test"):
        ret.update(result=None, comment="authkeys would be written: " + ", ".join(ret["changes"]))
        return ret
    membership.apply_keys(plans)
    ret["comment"] = "authkeys written: " + ", ".join(ret["changes"])
    return ret


@_errors_as_result
def cluster_running(name="cluster", cluster=None, timeout=None, enable=True, conf=membership.COROSYNC_CONF, **kwargs):
    """
    Start Corosync, then Pacemaker, through the platform's service module
    (the native one, ``pcmk.native_service`` in the minion config names
    another), enable them at boot (``enable: false`` does not), and wait
    until every node of ``pcmk:cluster`` is a Corosync member, the partition
    is quorate, every node is online in Pacemaker and a DC is elected. The
    timeout (``timeout``, else ``pcmk:cluster:timeout``, 300 s) fails the
    state naming what did not come and which nodes it lacked (``conf``: where
    corosync.conf is; it must exist). Nothing that
    runs is restarted: a second run changes nothing.

    .. code-block:: yaml

        cluster-running:
          pcmk.cluster_running:
            - require:
              - pcmk: corosync-conf
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    spec = saltglue.cluster_spec(__salt__, cluster)
    native = saltglue.native_functions(salt.loader.raw_mod, __opts__, __salt__, __context__)
    plan = membership.plan_running(spec, __opts__["id"], native, enable=enable, path=conf)
    changes = {**{s: "started" for s in plan.start}, **{f"{s} at boot": "enabled" for s in plan.enable}}
    if __opts__.get("test"):
        if changes:
            ret.update(result=None, changes=changes, comment="would start: " + (", ".join(plan.start) or "nothing"))
        else:
            ret["comment"] = "corosync and pacemaker run"
        return ret
    formed = membership.apply_running(plan, native, spec, saltglue.runner_from_opts(__opts__), timeout=timeout)
    ret.update(changes=changes, comment=f"cluster {spec.name}: {formed}")
    return ret


@_errors_as_result
def cluster_stopped(name="cluster", **kwargs):
    """
    Take this node out of the cluster's life: stop Pacemaker (its resources
    move to the other nodes), then Corosync, and disable both at boot,
    through the platform's service module. ``orch.pcmk.cluster`` with
    ``leaving`` applies it (``pcmk.cluster_leave``) on the nodes removed from
    pillar before the others reload Corosync without them. A second run
    changes nothing.

    .. code-block:: yaml

        cluster-stopped:
          pcmk.cluster_stopped: []
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    native = saltglue.native_functions(salt.loader.raw_mod, __opts__, __salt__, __context__)
    plan = membership.plan_stopped(native)
    changes = {**{s: "stopped" for s in plan.start}, **{f"{s} at boot": "disabled" for s in plan.enable}}
    if not changes:
        ret["comment"] = "corosync and pacemaker are stopped"
        return ret
    ret["changes"] = changes
    if __opts__.get("test"):
        ret.update(result=None, comment="would stop: " + (", ".join(plan.start) or "nothing"))
        return ret
    membership.apply_stopped(plan, native)
    ret["comment"] = "stopped: " + (", ".join(reversed(plan.start)) or "nothing")
    return ret


@_errors_as_result
def mod_watch(name, sfun=None, **kwargs):
    """
    ``watch`` on ``pcmk.service_provider`` restarts the service by its policy;
    on ``pcmk.resource`` it records a cluster-wide restart request (performed
    once by the bootstrap minion, see ``pcmk.restart_pending``).
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    if sfun not in ("service_provider", "resource"):
        ret["comment"] = f"pcmk.{sfun} does nothing on watch"
        return ret
    if __opts__.get("test"):
        ret.update(result=None, comment=f"a restart of {name} would be requested")
        return ret
    session = saltglue.session_for_run(__context__, __opts__, __instance_id__)
    if sfun == "service_provider":
        provider = _provider(session=session)
        decl = provider.decl(name)
        provider.restart(name)
        what = (
            {
                "cluster": "requested (performed once cluster-wide)",
                "local": "done on this node",
                "none": "not done (policy none)",
            }[decl.restart]
            if decl.ha
            else "done by the init system"
        )
    else:
        top = specs.clone_id_for(name, kwargs.get("clone_id")) if specs.declares_clone(kwargs) else name
        token = restarts.request(session, operations.local_node_name(session.runner), top, __opts__.get("id"))
        saltglue.announce_restart_request(__salt__, top, token)
        what = "requested (performed once cluster-wide)"
    ret.update(changes={"restart": what}, comment=f"restart of {name} {what}")
    return ret
