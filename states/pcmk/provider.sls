{#- Make pcmk_service the minion's service provider, from pillar, so that
    every service.running of every formula consults pcmk:services without any
    SLS change. Takes effect from the next state run (the minion re-reads its
    config then; a running salt-minion daemon is restarted by this state). #}
{%- set enabled = salt['pillar.get']('pcmk:minion_provider', False) %}
{%- set confdir = salt['config.get']('conf_file', '/etc/salt/minion') | replace('/minion', '') %}
pcmk-minion-provider:
{%- if enabled %}
  file.managed:
    - name: {{ confdir }}/minion.d/pcmk-provider.conf
    - makedirs: true
    - contents: |
        # Managed by Salt (pcmk.provider): pillar pcmk:minion_provider
        providers:
          service: pcmk_service
{%- else %}
  file.absent:
    - name: {{ confdir }}/minion.d/pcmk-provider.conf
{%- endif %}
