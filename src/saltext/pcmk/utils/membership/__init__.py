"""Cluster membership: Corosync and Pacemaker themselves, from pillar ``pcmk:cluster``.

``corosync_conf`` checks the pillar into a ``ClusterSpec``, renders
corosync.conf, parses an existing one and decides what a running cluster
refuses; ``keys`` handles the Corosync and Pacemaker authkeys (never shown);
``formation`` asks the running daemons (cmap, votequorum, crm_mon) and waits
for membership, quorum and a DC.
"""
