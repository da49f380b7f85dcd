{#- A node leaving the cluster: Pacemaker, then Corosync, stopped and disabled.
    orch.pcmk.cluster applies it on the minions named in its `leaving` pillar
    before the others reload Corosync without them. #}
pcmk-cluster-stopped:
  pcmk.cluster_stopped:
    - aggregate: false
