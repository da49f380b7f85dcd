{#- The cluster's files from pillar pcmk:cluster: authkeys and corosync.conf, nothing started.
    orch.pcmk.cluster applies it on every controller before one cluster-wide
    Corosync reload (pcmk.corosync_reload runner), then pcmk.cluster. #}
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
{%- else %}
pcmk-cluster-undeclared:
  test.fail_without_changes:
    - name: "pillar pcmk:cluster is empty: declare the cluster's name and nodes (see pillar.example)"
{%- endif %}
