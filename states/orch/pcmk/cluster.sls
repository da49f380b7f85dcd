{#- Form (or converge) the cluster from pillar pcmk:cluster on every controller.

    salt-run state.orchestrate orch.pcmk.cluster
    salt-run state.orchestrate orch.pcmk.cluster pillar='{"tgt": "ctl*", "sls": "pcmk.cluster"}'

1. pcmk.cluster_check: every controller must declare the same corosync.conf
   and the same Corosync and Pacemaker authkeys (compared by fingerprint);
   otherwise nothing is touched anywhere.
2. Every controller applies pcmk.cluster (or its highstate with
   highstate: true) at once: keys, corosync.conf, Corosync and Pacemaker
   started, waiting for membership, quorum and a DC.
#}
{%- set tgt = pillar.get('tgt', salt['config.get']('pcmk.controllers', '*')) %}
{%- set tgt_type = pillar.get('tgt_type', salt['config.get']('pcmk.controllers_type', 'glob')) %}

pcmk-cluster-check:
  salt.runner:
    - name: pcmk.cluster_check
    - tgt: '{{ tgt }}'
    - tgt_type: {{ tgt_type }}

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
      - salt: pcmk-cluster-check
