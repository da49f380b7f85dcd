{#- The generic wrapper: every service named in pillar pcmk:services (and its
    profile) is handed to Pacemaker or given back to the init system, as its
    ha flag says. Include it after the formulas that install the services. #}
include:
  - pcmk.agents
  - pcmk.vips
  - pcmk.restarts

{%- set services = salt['pillar.get']('pcmk:services', {}) %}
{%- for service in services | sort %}
pcmk-service-{{ service }}:
  pcmk.service_provider:
    - name: {{ service }}
    - require:
      - sls: pcmk.agents
      - sls: pcmk.vips
{%- endfor %}
