"""The service provider: services handed to Pacemaker by pillar.

``pillar`` reads ``pcmk:services`` (with profiles and VIPs) into service
declarations and their specs; ``service`` is the ``service.*`` surface that
acts on them, through the cluster operations and pending restarts.
"""
