{#- The OCF agents this package ships, on every controller, before any
    resource uses them (resources should require: - sls: pcmk.agents). #}
pcmk-agent-openstack-service:
  pcmk.ocf_agent:
    - name: openstack-service
    - provider: saltext
    - aggregate: false  # Salt 3008 would fold it into the pcmk states' aggregate, out of order
