"""The parts of bench/converge.py, one concern a module.

common     paths, logging, running a program, a result row
workload   the N-resource workload: our specs, its SLS, pcs's commands
targets    an offline CIB file, or the live CIB of the node we run in
sampling   windows of steps run for real, the rest interpolated
pcmk       our library: aggregated and per-state converges
pcs        pcs, one command per step
saltcall   a real ``salt-call --local state.apply`` of the workload's SLS
report     the tables converge.py prints
peers      converge.py --peers: the methods side by side on one live cluster, the curve, a large diff
peers_report  the tables converge.py --peers prints (the side-by-side table, the curve, the goals)
tables     plain-text tables (rollout.py and nextgen.py print theirs with it too)
"""
