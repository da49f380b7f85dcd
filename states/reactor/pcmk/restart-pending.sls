{#- Reactor for 'saltext/pcmk/restart-requested' (see docs/orchestration.md).
    Each controller's event starts one runner; each waits for pcmk:reactor_quiet
    seconds without new requests, and the atomic claim makes sure only one of
    them restarts each resource. #}
pcmk-restart-when-quiet:
  runner.pcmk.restart_when_quiet:
    - args:
      - quiet: {{ salt['config.get']('pcmk.reactor_quiet', 10) }}
