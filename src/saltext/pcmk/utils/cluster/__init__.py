"""The live cluster: its status, operations on it, and which node acts for it.

``status`` reads ``crm_mon`` and waits on it; ``operations`` starts, stops,
bans, clears and restarts resources through the CIB engine's one write path;
``bootstrap`` picks the node (and minion) that acts for the whole cluster.
"""
