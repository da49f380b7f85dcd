{#- The generic wrapper: every service pillar pcmk:services (and its profile)
    names is handed to Pacemaker or given back to the init system, as its ha
    flag says, in an order that lets pillar constraints between services
    work on the first run. Include it after the formulas that install the
    services. pcmk.pillar_services checks the pillar and names a bad key. #}
{%- set services = salt['pcmk.pillar_services']() %}
{%- set vips = salt['pcmk.pillar_vips']() %}
include:
  - pcmk.agents
  - pcmk.vips
  - pcmk.restarts

{%- for entry in services %}
pcmk-service-{{ entry.service }}:
  pcmk.service_provider:
    - name: {{ entry.service }}
    - aggregate: false  # one service at a time, in this order (see pcmk.restarts)
    - require:
      - sls: pcmk.agents
{%- for vip in entry.vips %}
      - pcmk: {{ vip }}
{%- endfor %}
{%- for dependency in entry.requires %}
      - pcmk: pcmk-service-{{ dependency }}
{%- endfor %}
{%- endfor %}
