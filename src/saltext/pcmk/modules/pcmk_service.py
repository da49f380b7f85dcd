"""Service provider ``pcmk_service``: Pacemaker or the init system, per service, by pillar.

Make it the minion's service provider (no SLS needs editing)::

    # /etc/salt/minion.d/pcmk.conf
    providers:
      service: pcmk_service

or name it on one state with ``provider: pcmk_service``. Each call looks up
``pcmk:services:<name>`` in pillar: with ``ha: true`` the service is its
Pacemaker resource, otherwise the call goes to the platform's own service
module (``systemd_service``, ``debian_service`` ...; ``pcmk.native_service``
in the minion config overrides the choice).
"""

import salt.loader
from salt.exceptions import CommandExecutionError

from saltext.pcmk.utils import saltglue
from saltext.pcmk.utils.cluster import status as statusmod

__virtualname__ = "pcmk_service"


def __virtual__():
    return __virtualname__


def _provider():
    return saltglue.service_provider(salt.loader.raw_mod, __opts__, __salt__, __context__)


_errors_as_salt = saltglue.errors_as(CommandExecutionError)


def _clean(kwargs):
    return {k: v for k, v in kwargs.items() if not k.startswith("__")}


@_errors_as_salt
def start(name, **kwargs):
    """
    Start a service: HA services are created/updated from pillar and started by
    the cluster (waiting until they run); others start natively.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.start nova-api
    """
    return _provider().start(name, **_clean(kwargs))


@_errors_as_salt
def stop(name, **kwargs):
    """
    Stop a service: HA services are stopped cluster-wide (``target-role=Stopped``).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.stop nova-api
    """
    return _provider().stop(name, **_clean(kwargs))


@_errors_as_salt
def restart(name, **kwargs):
    """
    Restart a service. HA services follow their pillar ``restart`` policy:
    ``cluster`` records a pending restart in the CIB (performed once by the
    bootstrap minion), ``local`` restarts this node's instance and waits,
    ``none`` does nothing.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.restart nova-api
    """
    return _provider().restart(name, **_clean(kwargs))


@_errors_as_salt
def full_restart(name, **kwargs):
    """
    Same as :py:func:`restart` (defined so ``mod_watch`` needs no module reload).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.full_restart nova-api
    """
    return _provider().restart(name, **_clean(kwargs))


@_errors_as_salt
def reload(name, **kwargs):
    """
    Reload: HA services follow the restart policy; others reload natively.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.reload nova-api
    """
    provider = _provider()
    if provider.decl(name).ha:
        return provider.restart(name)
    return provider.native_call("reload", name, **_clean(kwargs))


@_errors_as_salt
def force_reload(name, **kwargs):
    """
    Force-reload: HA services follow the restart policy; others natively.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.force_reload nova-api
    """
    provider = _provider()
    if provider.decl(name).ha:
        return provider.restart(name)
    return provider.native_call("force_reload", name, **_clean(kwargs))


@_errors_as_salt
def status(name, sig=None):
    """
    True when the service runs: an HA clone on this node, an HA single
    instance anywhere in the cluster; others by the native module.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.status nova-api
    """
    return _provider().status(name, sig)


@_errors_as_salt
def enable(name, **kwargs):
    """
    HA services: create/update the resource and let the cluster manage it
    (the init system's own start at boot is disabled). Others: enable natively.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.enable nova-api
    """
    return _provider().enable(name, **_clean(kwargs))


@_errors_as_salt
def disable(name, **kwargs):
    """
    HA services: leave the resource unmanaged (``is-managed=false``). Others natively.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.disable nova-api
    """
    return _provider().disable(name, **_clean(kwargs))


@_errors_as_salt
def enabled(name, **kwargs):
    """
    HA services: the resource exists and the cluster manages it.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.enabled nova-api
    """
    return _provider().enabled(name, **_clean(kwargs))


@_errors_as_salt
def disabled(name, **kwargs):
    """
    The opposite of :py:func:`enabled`.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.disabled nova-api
    """
    return not _provider().enabled(name, **_clean(kwargs))


@_errors_as_salt
def available(name):
    """
    HA services are always available (the cluster runs them); others natively.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.available nova-api
    """
    return _provider().available(name)


@_errors_as_salt
def missing(name):
    """
    The opposite of :py:func:`available`.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.missing nova-api
    """
    return not _provider().available(name)


@_errors_as_salt
def get_all():
    """
    Native services plus every HA service pillar declares.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.get_all
    """
    provider = _provider()
    native = provider.native["get_all"]() if "get_all" in provider.native else []
    return sorted(set(native) | set(provider.pillar.ha_services()))


def offline():
    """
    Always False: the provider needs the running system (and cluster).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.offline
    """
    return False


@_errors_as_salt
def masked(name, runtime=False):
    """
    HA services are never masked; others natively (False where unsupported).

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.masked nova-api
    """
    provider = _provider()
    if provider.decl(name).ha or "masked" not in provider.native:
        return False
    return provider.native_call("masked", name, runtime)


@_errors_as_salt
def info(name):
    """
    What the provider knows: HA flag, resource id, agent, restart policy, and
    where the resource runs.

    CLI Example:

    .. code-block:: bash

        salt '*' pcmk_service.info nova-api
    """
    provider = _provider()
    decl = provider.decl(name)
    found = {"name": name, "ha": decl.ha}
    if decl.ha:
        found.update(resource=decl.top_id, agent=decl.agent, restart=decl.restart, clone=decl.cloned)
        if provider.session.cib.resource(decl.top_id) is not None:
            found["running_on"] = statusmod.read(provider.session.runner).running_on(decl.top_id)
    return found
