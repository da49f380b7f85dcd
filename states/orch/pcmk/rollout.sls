{#- Roll a change out to every controller, then restart what it requires once.

    salt-run state.orchestrate orch.pcmk.rollout
    salt-run state.orchestrate orch.pcmk.rollout pillar='{"sls": "openstack.nova", "tgt": "ctl*"}'

1. Every controller applies its states with pcmk:restart:defer set, so no
   controller restarts anything itself: config changes only record pending
   restart requests in the CIB.
2. Only when every controller succeeded, the bootstrap minion performs each
   pending restart once (pcmk.restart_pending runner).
#}
{%- set tgt = pillar.get('tgt', salt['config.get']('pcmk.controllers', '*')) %}
{%- set tgt_type = pillar.get('tgt_type', salt['config.get']('pcmk.controllers_type', 'glob')) %}
{%- set sls = pillar.get('sls') %}
{%- set timeout = pillar.get('restart_timeout', 300) %}

pcmk-rollout-apply:
  salt.state:
    - tgt: '{{ tgt }}'
    - tgt_type: {{ tgt_type }}
{%- if sls %}
    - sls: {{ sls }}
{%- else %}
    - highstate: true
{%- endif %}
    - pillar:
        pcmk:
          restart:
            defer: true

pcmk-rollout-restart:
  salt.runner:
    - name: pcmk.restart_pending
    - timeout: {{ timeout }}
    - tgt: '{{ tgt }}'
    - tgt_type: {{ tgt_type }}
    - require:
      - salt: pcmk-rollout-apply
