{#- The demo: the generic OpenStack agent deployed, a stand-in API service
    under Pacemaker, a cloned Dummy, and the constraints between them. #}
include:
  - pcmk.agents

resource-stickiness:
  pcmk.rsc_defaults:
    - value: 100

demo-api:
  pcmk.resource:
    - agent: ocf:saltext:openstack-service
    - params:
        binary: {{ pillar['demo']['binary'] }}
        config: {{ pillar['demo']['config'] }}
        monitor_url: http://127.0.0.1:{{ pillar['demo']['port'] }}/health
    - ops:
      - {name: monitor, interval: 10s, timeout: 20s}
    - require:
      - sls: pcmk.agents

demo-dummy:
  pcmk.resource:
    - agent: ocf:pacemaker:Dummy
    - clone: {interleave: true}

demo-api-after-dummy:
  pcmk.constraint:
    - kind: order
    - first: demo-dummy-clone
    - then: demo-api
    - require:
      - pcmk: demo-api
      - pcmk: demo-dummy
