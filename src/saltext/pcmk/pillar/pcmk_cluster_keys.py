"""
Serve the cluster's authkeys, made on the master, to the cluster's nodes only.

.. code-block:: yaml

    # master config
    ext_pillar:
      - pcmk_cluster_keys: {}

Make the keys once with ``salt-run pcmk.cluster_keys name=<cluster>``. A
minion that pillar ``pcmk:cluster:nodes`` names as a node (its ``minion``,
else its ``name``) then gets ``pcmk:cluster:authkeys`` from
``<pki_dir>/pcmk/<cluster>/``; any other minion gets nothing. Keys given in
pillar itself win. ``keydir`` moves the store.
"""

import logging

from saltext.pcmk.utils.membership import keystore

log = logging.getLogger(__name__)

__virtualname__ = "pcmk_cluster_keys"


def __virtual__():
    return __virtualname__


def ext_pillar(minion_id, pillar, keydir=None):  # pylint: disable=unused-argument
    """``pcmk:cluster:authkeys`` for a node of the cluster ``pcmk:cluster`` declares."""
    pcmk = pillar.get("pcmk")
    name = keystore.serves(pcmk.get("cluster") if isinstance(pcmk, dict) else None, minion_id)
    if name is None:
        return {}
    found = keystore.read(keydir or keystore.default_keydir(__opts__), name)
    if found is None:
        log.warning("pcmk_cluster_keys: no keys for cluster %s yet: run salt-run pcmk.cluster_keys name=%s", name, name)
        return {}
    return {"pcmk": {"cluster": {"authkeys": found}}}
