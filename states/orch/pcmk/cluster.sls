{#- Form the cluster from pillar pcmk:cluster on every controller, or add nodes to it.

    salt-run state.orchestrate orch.pcmk.cluster
    salt-run state.orchestrate orch.pcmk.cluster pillar='{"tgt": "ctl1,ctl2,ctl3,ctl4", "tgt_type": "list"}'

1. pcmk.cluster_check: every controller must declare the same corosync.conf
   and the same Corosync and Pacemaker authkeys (compared by fingerprint);
   otherwise nothing is touched anywhere.
   (leaving: minion ids, comma-separated, of nodes removed from pillar:
   they stop Pacemaker and Corosync first, pcmk.cluster_leave.)
2. Every controller writes its keys and corosync.conf (pcmk.cluster_config);
   on a running cluster the states refuse what would break it.
3. pcmk.corosync_reload: once every controller has the new file, one
   corosync-cfgtool -R from the bootstrap minion when the node list changed
   (a node joins or leaves; a node that left is then removed from the CIB
   with crm_node --force --remove); nothing on a bare or unchanged cluster.
4. Every controller applies pcmk.cluster (or its highstate with
   highstate: true): Corosync and Pacemaker started where they do not run
   (the new node), waiting for membership, quorum and a DC.
#}
{%- set tgt = pillar.get('tgt', salt['config.get']('pcmk.controllers', '*')) %}
{%- set tgt_type = pillar.get('tgt_type', salt['config.get']('pcmk.controllers_type', 'glob')) %}
{%- set leaving = pillar.get('leaving') %}

pcmk-cluster-check:
  salt.runner:
    - name: pcmk.cluster_check
    - tgt: '{{ tgt }}'
    - tgt_type: {{ tgt_type }}

{%- if leaving %}

pcmk-cluster-leave:
  salt.state:
    - tgt: '{{ leaving }}'
    - tgt_type: list
    - sls: pcmk.cluster_leave
    - require:
      - salt: pcmk-cluster-check
{%- endif %}

pcmk-cluster-config:
  salt.state:
    - tgt: '{{ tgt }}'
    - tgt_type: {{ tgt_type }}
    - sls: pcmk.cluster_config
    - require:
      - salt: pcmk-cluster-check
{%- if leaving %}
      - salt: pcmk-cluster-leave
{%- endif %}

pcmk-cluster-reload:
  salt.runner:
    - name: pcmk.corosync_reload
    - tgt: '{{ tgt }}'
    - tgt_type: {{ tgt_type }}
    - require:
      - salt: pcmk-cluster-config

pcmk-cluster-form:
  salt.state:
    - tgt: '{{ tgt }}'
    - tgt_type: {{ tgt_type }}
{%- if pillar.get('highstate') %}
    - highstate: true
{%- else %}
    - sls: {{ pillar.get('sls', 'pcmk.cluster') }}
{%- endif %}
    - require:
      - salt: pcmk-cluster-reload
