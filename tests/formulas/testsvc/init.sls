{#- A stand-in "core formula", written as a formula author who knows nothing
    of Pacemaker writes one: a config file and a service that restarts when
    the file changes. saltext-pcmk's tests apply it unedited. #}
{%- set svc = pillar.get('testsvc', {}) %}
testsvc-config:
  file.managed:
    - name: {{ svc.config }}
    - makedirs: true
    - mode: '0644'
    - contents: |
        [DEFAULT]
        port = {{ svc.port }}
        starts_file = {{ svc.starts_file }}
        greeting = {{ svc.greeting }}

testsvc:
  service.running:
    - enable: true
    - watch:
      - file: testsvc-config
