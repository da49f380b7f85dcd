{#- The cluster itself, from pillar pcmk:cluster: authkeys, corosync.conf,
    Corosync and Pacemaker started and formed (membership, quorum, a DC).
    Apply it on every controller at once (salt -C 'ctl*' state.apply
    pcmk.cluster, or orch.pcmk.cluster, which first checks that all
    controllers declare the same cluster and keys). #}
{%- if salt['pillar.get']('pcmk:cluster') %}
pcmk-cluster-authkeys:
  pcmk.authkey:
    - aggregate: false

pcmk-corosync-conf:
  pcmk.corosync_conf:
    - name: /etc/corosync/corosync.conf
    - aggregate: false
    - require:
      - pcmk: pcmk-cluster-authkeys

pcmk-cluster-running:
  pcmk.cluster_running:
    - aggregate: false
    - require:
      - pcmk: pcmk-corosync-conf
{%- else %}
pcmk-cluster-undeclared:
  test.fail_without_changes:
    - name: "pillar pcmk:cluster is empty: declare the cluster's name and nodes (see pillar.example)"
{%- endif %}
