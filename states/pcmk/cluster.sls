{#- The cluster itself, from pillar pcmk:cluster: authkeys, corosync.conf
    (pcmk.cluster_config), then Corosync and Pacemaker started and formed
    (membership, quorum, a DC). Apply it on every controller at once
    (salt -L ctl1,ctl2,ctl3 state.apply pcmk.cluster), or run
    orch.pcmk.cluster, which first checks that all controllers declare the
    same cluster and keys and reloads Corosync once when nodes join or leave. #}
include:
  - pcmk.cluster_config
{%- if salt['pillar.get']('pcmk:cluster') %}

pcmk-cluster-running:
  pcmk.cluster_running:
    - aggregate: false
    - require:
      - pcmk: pcmk-corosync-conf
{%- endif %}
