"""Execution module ``pcmk``: Pacemaker's CIB, status and operations.

Every function reads and writes the CIB through ``saltext.pcmk.utils``: one
conflict-checked, validated write per call. With ``CIB_file`` set in the
environment (or ``pcmk.cib_file`` in the minion config) everything works on
that offline file instead of the live cluster.
"""

import logging
import os

from salt.exceptions import CommandExecutionError

from saltext.pcmk.utils import agents, restarts, saltglue
from saltext.pcmk.utils.cib import diff as diffmod
from saltext.pcmk.utils.cib import document as cibmod
from saltext.pcmk.utils.cib import export as exportmod
from saltext.pcmk.utils.cib import specs
from saltext.pcmk.utils.cib import validate as validatemod
from saltext.pcmk.utils.cib.metadata import AgentRef, MetadataCache
from saltext.pcmk.utils.cib.specs import builders
from saltext.pcmk.utils.cluster import operations
from saltext.pcmk.utils.cluster import status as statusmod
from saltext.pcmk.utils.errors import NotFound
from saltext.pcmk.utils.membership import converge as membership
from saltext.pcmk.utils.membership import formation
from saltext.pcmk.utils.provider.pillar import ServicePillar, services_from_export

log = logging.getLogger(__name__)

__virtualname__ = "pcmk"


def __virtual__():
    return __virtualname__


_errors_as_salt = saltglue.errors_as(CommandExecutionError)


def _session():
    return saltglue.session_from_opts(__opts__)


def _outcome(outcome):
    return {"changed": outcome.changed, "changes": outcome.changes}


def _clean(kwargs):
    return {k: v for k, v in kwargs.items() if not k.startswith("__")}


# -- reading -------------------------------------------------------------------
@_errors_as_salt
def status():
    """
    Cluster status from ``crm_mon``: DC, quorum, nodes, resources, failures.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.status
    """
    return statusmod.read(saltglue.runner_from_opts(__opts__)).to_dict()


@_errors_as_salt
def dc():
    """
    Name of the node that is the cluster's Designated Controller, or None.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.dc
    """
    return statusmod.read(saltglue.runner_from_opts(__opts__)).dc


@_errors_as_salt
def nodes():
    """
    Cluster nodes with online, standby, maintenance and DC flags.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.nodes
    """
    return [vars(n) for n in statusmod.read(saltglue.runner_from_opts(__opts__)).nodes]


@_errors_as_salt
def quorum():
    """
    True when this node's partition has quorum.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.quorum
    """
    return statusmod.read(saltglue.runner_from_opts(__opts__)).quorum


@_errors_as_salt
def cib_dump(path=None, secret_params=None):
    """
    The whole CIB as XML text, secret parameter values masked (those agents
    mark private, names containing ``pass``, ``secret`` or ``token``, and any
    named in ``secret_params``); with ``path``, the real CIB is written to that
    file instead (mode 0600, since it holds the secrets; a symlink there is
    replaced, never followed) and the path returned.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.cib_dump /root/cib-backup.xml
        salt '*' pcmk.cib_dump secret_params='[conn]'
    """
    session = _session()
    if path is None:
        return session.masked_text(secret_params or ())
    return saltglue.write_file(path, session.cib.to_text(), mode=0o600)


@_errors_as_salt
def export(path=None, secret_params=None, pillar_path=None, services_path=None):
    """
    The cluster's configuration as an SLS of ``pcmk.*`` states, so an existing
    cluster (made by pcs, crmsh, TripleO or by hand) comes under Salt in one
    command. Applying the SLS onto the CIB it came from changes nothing and
    writes nothing: every exported state is checked against that CIB with
    ``test=True`` before it is written out, and an object no state can declare
    exactly is left out, with a note at the top of the SLS (the cluster keeps
    it; undeclared objects are never touched).

    Secret parameters (agent parameters marked private, ``lrm://`` values,
    names containing ``pass``, ``secret`` or ``token``, and ``secret_params``)
    become pillar references ``pcmk:secrets:<resource>:<parameter>``; their
    values are never written. ``pillar_path`` writes the skeleton of those
    pillar keys (empty values, mode 0600) to fill in.

    ``services_path``: resources the service provider can declare (run by
    ``systemd:``, ``lsb:`` or the generic OpenStack agent, not grouped, without
    secrets) go to that pillar file as ``pcmk:services`` entries with
    ``ha: true`` instead of states, so formulas' ``service.running`` keep
    them in Pacemaker (docs/service-provider.md).

    Returns the SLS text, or with ``path`` writes it there (the directory must
    exist) and returns ``{path, states, not_exported, secrets}``.

    CLI Example:

    .. code-block:: bash

        salt-call pcmk.export path=/srv/salt/cluster/init.sls
        salt-call pcmk.export secret_params='[ipmi_password]' pillar_path=/srv/pillar/pcmk-secrets.sls
    """
    session = _session()
    cib = session.cib
    result = exportmod.export(
        cib,
        metadata=session.metadata,
        secret_names=secret_params or (),
        verify=exportmod.verifier(session, builders.build),
        runtime_prefixes=restarts.RECORD_PREFIXES,
    )
    source = __opts__.get("pcmk.cib_file") or "the live CIB"
    header = (
        f"Exported by saltext-pcmk pcmk.export from {source}, CIB {'.'.join(map(str, cib.version))}.\n"
        "Applying it onto that CIB changes nothing; see docs/export.md."
    )
    services = None
    if services_path is not None:
        services, result.states = services_from_export(result.states)
        saltglue.write_file(services_path, exportmod.yaml_text({"pcmk": {"services": services}}), mode=0o600)
        header += f"\nServices the provider declares are in {services_path}: {', '.join(sorted(services)) or 'none'}."
    text = result.sls(header=header)
    if pillar_path is not None:
        saltglue.write_file(pillar_path, exportmod.secrets_pillar(result.secret_keys()), mode=0o600)
    if path is None:
        return text
    saltglue.write_file(path, text, mode=0o644)
    return {
        "path": path,
        "states": len(result.states),
        "not_exported": result.notes,
        "secrets": result.secret_keys(),
        **({"services": sorted(services)} if services is not None else {}),
    }


@_errors_as_salt
def resource_list():
    """
    Ids of all resources (primitives, groups, clones, bundles).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.resource_list
    """
    return sorted(_session().cib.resource_ids())


@_errors_as_salt
def resource_get(resource_id, secret_params=None):
    """
    One resource's configuration, flattened (``params.*``, ``meta.*``, ``op *``).

    Secret parameter values read ``********``: those the agent marks private,
    names containing ``pass``, ``secret`` or ``token``, and those named in
    ``secret_params`` (the CIB does not record a state's ``secret_params``).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.resource_get vip
        salt '*' pcmk.resource_get db secret_params='[conn]'
    """
    return _session().describe(resource_id, secret_params or ())


@_errors_as_salt
def constraint_list():
    """
    All constraints, by id, flattened.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.constraint_list
    """
    return {k.split(" ", 1)[1]: v for k, v in diffmod.objects(_session().cib).items() if k.startswith("constraint ")}


@_errors_as_salt
def property_get(name):
    """
    A cluster property's configured value (None when not set).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.property_get stonith-enabled
    """
    return property_list().get(name)


@_errors_as_salt
def property_list():
    """
    All configured cluster properties of ``cib-bootstrap-options``.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.property_list
    """
    section = _session().cib.section("crm_config")
    if section is None:
        return {}
    return {nv.get("name"): nv.get("value") for nv in section.iterfind("cluster_property_set/nvpair")}


@_errors_as_salt
def verify(path=None):
    """
    Validate the live CIB (or the CIB file at ``path``): schema and crm_verify.
    Returns a list of problems; empty means valid.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.verify
    """
    runner = saltglue.runner_from_opts(__opts__)
    cib = cibmod.read_file(path) if path is not None else cibmod.read(runner)
    return validatemod.schema_errors(cib) + sorted(validatemod.verify_errors(runner, cib))


# -- writing -------------------------------------------------------------------
@_errors_as_salt
def resource_create(resource_id, agent=None, params=None, meta=None, ops=None, test=False, **kwargs):
    """
    Create a primitive; fails if ``resource_id`` exists. Accepts the same
    arguments as the ``pcmk.resource`` state (``clone``, ``group``,
    ``utilization``, ``secret_params``, ``template`` instead of ``agent`` ...).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.resource_create vip ocf:heartbeat:IPaddr2 params='{ip: 192.0.2.10, cidr_netmask: 24}'
        salt '*' pcmk.resource_create vm1 template=vm-template params='{config: /etc/libvirt/qemu/vm1.xml}'
    """
    session = _session()
    if session.cib.by_id(resource_id) is not None:
        raise CommandExecutionError(f"resource {resource_id!r} already exists; use pcmk.resource_update")
    spec = specs.ResourceSpec.build(resource_id, agent, params=params, meta=meta, ops=ops, **_clean(kwargs))
    return _outcome(session.converge([spec], test=test))


@_errors_as_salt
def resource_update(resource_id, agent=None, params=None, meta=None, ops=None, test=False, **kwargs):
    """
    Update an existing primitive. Parts not given are left as they are;
    parts given become exactly what is given.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.resource_update vip params='{ip: 192.0.2.11, cidr_netmask: 24}'
    """
    session = _session()
    element = session.cib.resource(resource_id)
    if element is None or element.tag != "primitive":
        raise NotFound(f"primitive {resource_id!r} does not exist")
    if agent is None and "template" not in kwargs:
        if element.get("template") is not None:  # made from a template: stays so
            kwargs["template"] = element.get("template")
        else:
            agent = str(AgentRef.of_primitive(element))
    spec = specs.ResourceSpec.build(resource_id, agent, params=params, meta=meta, ops=ops, **_clean(kwargs))
    return _outcome(session.converge([spec], test=test))


@_errors_as_salt
def resource_delete(resource_id, wait=True, timeout=120, test=False):
    """
    Stop a resource (waiting up to ``timeout`` seconds), then remove it and
    every constraint that refers to it.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.resource_delete vip timeout=60
    """
    return _outcome(operations.delete(_session(), resource_id, wait=wait, timeout=timeout, test=test))


@_errors_as_salt
def constraint_create(constraint_id, kind, test=False, **kwargs):
    """
    Create or update a constraint. ``kind`` is ``location`` (``rsc``, ``node``,
    ``score`` or ``rules``), ``colocation`` (``rsc``, ``with_rsc``, ``score``) or
    ``order`` (``first``, ``then``, ``order_kind``); any of them may use ``sets``.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.constraint_create haproxy-with-vip colocation rsc=haproxy-clone with_rsc=vip
    """
    spec = specs.ConstraintSpec.build(constraint_id, kind, **_clean(kwargs))
    return _outcome(_session().converge([spec], test=test))


@_errors_as_salt
def constraint_delete(constraint_id, test=False):
    """
    Remove a constraint by id.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.constraint_delete haproxy-with-vip
    """
    return _outcome(_session().converge([specs.ConstraintAbsentSpec(constraint_id)], test=test))


def _attribute(scope, name, value, test, **extra):
    return _outcome(_session().converge([specs.AttributeSpec.build(scope, name, value, **extra)], test=test))


@_errors_as_salt
def property_set(name, value, test=False):
    """
    Set a cluster property.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.property_set stonith-enabled false
    """
    return _attribute("property", name, value, test)


@_errors_as_salt
def property_unset(name, test=False):
    """
    Remove a cluster property (Pacemaker's default applies again).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.property_unset stonith-enabled
    """
    return _attribute("property", name, None, test)


@_errors_as_salt
def rsc_defaults_set(name, value=None, test=False):
    """
    Set a resource default (``value`` None removes it).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.rsc_defaults_set resource-stickiness 100
    """
    return _attribute("rsc_defaults", name, value, test)


@_errors_as_salt
def op_defaults_set(name, value=None, test=False):
    """
    Set an operation default (``value`` None removes it).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.op_defaults_set timeout 60s
    """
    return _attribute("op_defaults", name, value, test)


@_errors_as_salt
def standby(node):
    """
    Put a node in standby (its resources move away).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.standby ctl2
    """
    return _attribute("node", "standby", "on", False, node=node)


@_errors_as_salt
def unstandby(node):
    """
    Bring a node out of standby.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.unstandby ctl2
    """
    return _attribute("node", "standby", None, False, node=node)


@_errors_as_salt
def maintenance(enabled=True):
    """
    Switch cluster-wide maintenance mode on (True) or off (False).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.maintenance False
    """
    return _attribute("property", "maintenance-mode", bool(enabled), False)


@_errors_as_salt
def ban(resource_id, node):
    """
    Keep a resource off ``node`` (a ``cli-ban-<rsc>-on-<node>`` constraint, as
    ``crm_resource --ban`` makes it).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.ban cinder-volume ctl1
    """
    return _outcome(operations.ban(_session(), resource_id, node))


@_errors_as_salt
def clear(resource_id, node=None):
    """
    Remove bans and preferences of a resource (on ``node`` only, if given).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.clear cinder-volume
    """
    return _outcome(operations.clear(_session(), resource_id, node))


@_errors_as_salt
def cleanup(resource_id=None, node=None):
    """
    Forget failures (and re-probe) of a resource, or of all, on ``node`` or all nodes.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.cleanup vip
    """
    argv = ["crm_resource", "--cleanup"]
    if resource_id:
        argv += ["--resource", resource_id]
    if node:
        argv += ["--node", node]
    return saltglue.runner_from_opts(__opts__).run(argv).stdout.strip()


@_errors_as_salt
def start(resource_id, wait=True, timeout=120):
    """
    Let a stopped resource run (removes ``target-role``); waits until it runs.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.start vip
    """
    operations.start(_session(), resource_id, wait=wait, timeout=timeout)
    return True


@_errors_as_salt
def stop(resource_id, wait=True, timeout=120):
    """
    Stop a resource everywhere (``target-role=Stopped``); waits until it is stopped.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.stop vip
    """
    operations.stop(_session(), resource_id, wait=wait, timeout=timeout)
    return True


@_errors_as_salt
def restart(resource_id, timeout=120):
    """
    Stop a resource everywhere, start it again, and report where and how long.
    Restart requests pending for it are performed by this restart. If this
    node fails midway, the next ``pcmk.restart_pending`` anywhere restores the
    resource's ``target-role``.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.restart haproxy-clone timeout=60
    """
    return restarts.restart(_session(), resource_id, node=node_name(), minion_id=__opts__.get("id"), timeout=timeout)


@_errors_as_salt
def wait(timeout=60):
    """
    Wait until the cluster has no pending actions, at most ``timeout`` seconds.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.wait timeout=120
    """
    statusmod.wait_idle(saltglue.runner_from_opts(__opts__), timeout)
    return True


# -- resource agents -----------------------------------------------------------------
@_errors_as_salt
def agent_list(standard="ocf", provider=None):
    """
    Agents Pacemaker can use: ``standard`` (ocf, lsb, service, systemd, stonith)
    and, for ocf, optionally one ``provider``.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.agent_list ocf saltext
    """
    spec = f"{standard}:{provider}" if provider else standard
    out = saltglue.runner_from_opts(__opts__).run(["crm_resource", "--list-agents", spec]).stdout
    prefix = f"{spec}:" if standard == "ocf" and provider else ""
    return [f"{prefix}{line.strip()}" for line in out.splitlines() if line.strip()]


@_errors_as_salt
def agent_metadata(agent):
    """
    An agent's parameters (required, private, default) and actions, from its meta-data.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.agent_metadata ocf:saltext:openstack-service
    """
    meta = MetadataCache(saltglue.runner_from_opts(__opts__)).get(AgentRef.parse(agent))
    return {"agent": agent, "parameters": {n: vars(p) for n, p in meta.parameters.items()}, "actions": meta.actions}


@_errors_as_salt
def agent_validate(path, provider="local", agent_type=None):
    """
    Check an agent file without installing it: syntax, ``meta-data`` against the
    OCF DTD, and a ``validate-all`` that must not crash. Returns its parameter names.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.agent_validate /tmp/my-agent
    """
    name = f"ocf:{provider}:{agent_type or os.path.basename(path)}"
    root = agents.inspect_file(path, name)
    return {"agent": name, "valid": True, "parameters": [p.get("name") for p in root.iterfind("parameters/parameter")]}


@_errors_as_salt
def agent_deploy(provider, agent_type, source=None, test=False, saltenv="base"):
    """
    Install an OCF agent as ``/usr/lib/ocf/resource.d/<provider>/<agent_type>``
    (0755, root) after checking it; a broken agent is refused and the old one
    stays. ``source`` is ``salt://...``, a local path, or omitted for an agent
    this package ships (``openstack-service``).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.agent_deploy saltext openstack-service
        salt '*' pcmk.agent_deploy acme nova-api source=salt://ha/agents/nova-api
    """
    content = saltglue.agent_source(source, agent_type, lambda s: __salt__["cp.get_file_str"](s, saltenv=saltenv))
    diff = agents.plan(provider, agent_type, content)
    if diff is None:
        return {"changed": False, "path": agents.agent_path(provider, agent_type)}
    if not test:
        agents.deploy(provider, agent_type, content)
    return {"changed": True, "diff": diff, "path": agents.agent_path(provider, agent_type)}


# -- pillar, as the formula reads it ----------------------------------------------------
@_errors_as_salt
def pillar_services():
    """
    The services pillar ``pcmk:services`` and its ``profile`` declare, checked,
    in the order to apply them (a service after those its constraints name):
    ``[{service, ha, requires, vips}]``. The ``pcmk.services`` formula renders
    from this; a pillar error names its key.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.pillar_services
    """
    return ServicePillar(saltglue.pcmk_pillar(__salt__), nodes=[]).ordered()


@_errors_as_salt
def pillar_vips():
    """
    The virtual IPs pillar ``pcmk:vips`` declares, checked:
    ``{id: {agent, params, ops, meta}}``. The ``pcmk.vips`` formula renders from this.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.pillar_vips
    """
    return ServicePillar(saltglue.pcmk_pillar(__salt__), nodes=[]).vips()


# -- the cluster itself ------------------------------------------------------------------------------
@_errors_as_salt
def cluster_digest():
    """
    What this controller's pillar ``pcmk:cluster`` declares, as fingerprints
    (never the keys): the corosync.conf it renders, the Corosync authkey, the
    Pacemaker authkey; the declared cluster name and transport, and the ones
    a running Corosync here has. The ``pcmk.cluster_check`` runner compares
    them across controllers. The pillar is compiled from the master for the call, as a
    state run compiles it, so no pillar refresh is needed first.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.cluster_digest
    """
    spec = saltglue.cluster_spec(__salt__, fresh=True)
    return membership.digest(spec, membership.running_identity(saltglue.runner_from_opts(__opts__)))


@_errors_as_salt
def corosync_reload(conf="/etc/corosync/corosync.conf", test=False):
    """
    Reload Corosync's configuration cluster-wide (``corosync-cfgtool -R``:
    every node re-reads its own corosync.conf) when this node's file lists
    other nodes than the ones Corosync runs with, or sets a ``totem`` or
    ``quorum`` value other than the running one; otherwise nothing. Returns
    ``running``, ``added``, ``removed``, ``changed`` (node names),
    ``settings`` (keys such as ``totem.token``) and ``reloaded``. With ``test=True`` only says what differs. The
    ``pcmk.corosync_reload`` runner calls it once, on the bootstrap minion,
    after every controller has the new file.

    CLI Example:

    .. code-block:: bash

        salt ctl1 pcmk.corosync_reload test=True
    """
    runner = saltglue.runner_from_opts(__opts__)
    if test:
        return {**formation.reload_plan(runner, conf), "reloaded": False}
    return formation.reload_cluster(runner, conf)


# -- pending restarts ------------------------------------------------------------------
@_errors_as_salt
def node_name():
    """
    This minion's node name in the cluster (``crm_node --name``).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.node_name
    """
    return operations.local_node_name(saltglue.runner_from_opts(__opts__))


@_errors_as_salt
def pending_restarts():
    """
    Restart requests recorded in the CIB: ``{resource: {node: token}}``.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.pending_restarts
    """
    return restarts.pending(_session().cib)


@_errors_as_salt
def request_restart(resource_id):
    """
    Record a restart request for a resource from this node (performed once,
    cluster-wide, by ``pcmk.restart_pending`` on the bootstrap minion).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk.request_restart haproxy-clone
    """
    session = _session()
    if session.cib.resource(resource_id) is None:
        raise NotFound(f"resource {resource_id!r} does not exist")
    token = restarts.request(session, node_name(), resource_id, __opts__.get("id"))
    saltglue.announce_restart_request(__salt__, resource_id, token)
    return token


@_errors_as_salt
def restart_pending(timeout=300, resources=None):
    """
    Restart, once each, every resource with pending restart requests, and clear
    them. Safe to run twice (the second run finds nothing) and from any node:
    requests are claimed atomically, so two callers never both restart.

    CLI Example:

    .. code-block:: bash

        salt ctl1 pcmk.restart_pending timeout=600
    """
    return restarts.perform(
        _session(),
        node=node_name(),
        minion_id=__opts__.get("id"),
        resources=set(resources) if resources else None,
        timeout=timeout,
    )
