{#- Last in every highstate: performs the pending restarts config changes
    requested (restart policy "cluster"), once, from the bootstrap minion.
    With pcmk:restart:defer (set by orch.pcmk.rollout) it leaves them to the
    orchestration. #}
pcmk-pending-restarts:
  pcmk.restart_pending:
    - order: last
    - aggregate: false  # Salt 3008 would fold it into the pcmk states' aggregate, out of order
