"""Cluster keys made once on the Salt master and kept there (``<pki_dir>/pcmk/<cluster>/``).

For sites that would rather not make and encrypt the two authkeys
themselves: ``salt-run pcmk.cluster_keys name=<cluster>`` makes them, and the
``pcmk_cluster_keys`` ext_pillar serves them, as pillar
``pcmk:cluster:authkeys``, to the minions the cluster's pillar names as its
nodes and to no other. The master's ``pki_dir`` is where Salt keeps its own
keys: root's, 0700. A key, once made, is never replaced by this module:
replacing the keys of a running cluster splits it.
"""

from __future__ import annotations

import os
import re

from saltext.pcmk.utils.errors import SpecError
from saltext.pcmk.utils.membership import keys

KINDS = ("corosync", "pacemaker")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def default_keydir(opts) -> str:
    """``<pki_dir>/pcmk`` of the master's options."""
    return os.path.join(opts["pki_dir"], "pcmk")


def cluster_dir(keydir: str, cluster: str) -> str:
    if not isinstance(cluster, str) or not _NAME.match(cluster):
        raise SpecError(f"cluster name {cluster!r}: letters, digits, '_', '.' and '-' (at most 64)")
    return os.path.join(keydir, cluster)


def _path(keydir: str, cluster: str, kind: str) -> str:
    return os.path.join(cluster_dir(keydir, cluster), f"{kind}.key")


def ensure(keydir: str, cluster: str, size: int = keys.DEFAULT_SIZE) -> dict:
    """Make the cluster's keys that do not exist yet; ``{kind: {"fingerprint", "created"}}``.

    Each key is written to a private temporary file and linked into place,
    so two runs at once keep the first key and never a half-written one.
    """
    directory = cluster_dir(keydir, cluster)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(keydir, 0o700)
    os.chmod(directory, 0o700)
    found = {}
    for kind in KINDS:
        path = _path(keydir, cluster, kind)
        created = False
        if not os.path.exists(path):
            temporary = f"{path}.{os.getpid()}.tmp"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(keys.generate(size))
                    handle.flush()
                    os.fsync(handle.fileno())
                try:
                    os.link(temporary, path)
                    created = True
                except FileExistsError:
                    pass  # another run made it first: theirs stays
            finally:
                os.unlink(temporary)
        found[kind] = {"fingerprint": keys.fingerprint(_read(path, kind)), "created": created}
    return found


def _read(path: str, kind: str) -> bytes:
    with open(path, "rb") as handle:
        return keys.check(handle.read(), kind, path)


def read(keydir: str, cluster: str) -> dict[str, str] | None:
    """The cluster's keys as pillar holds them (base64), or None when they were not made."""
    paths = {kind: _path(keydir, cluster, kind) for kind in KINDS}
    if not all(os.path.exists(p) for p in paths.values()):
        return None
    return {kind: keys.encode(_read(path, kind)) for kind, path in paths.items()}


def serves(cluster_pillar, minion_id: str) -> str | None:
    """The cluster name whose keys ``minion_id`` gets, or None: only a declared node's minion, only
    when pillar does not give the keys itself."""
    if not isinstance(cluster_pillar, dict) or cluster_pillar.get("authkeys"):
        return None
    name = cluster_pillar.get("name")
    for node in cluster_pillar.get("nodes") or []:
        if not isinstance(node, dict):
            continue
        if node.get("minion", node.get("name")) == minion_id:
            return name if isinstance(name, str) else None
    return None
