#!/bin/sh
# make demo: a local single-node Pacemaker cluster in namespaces of its own,
# the demo SLS applied with salt-call --local inside it, the result in crm_mon.
# DEMO_KEEP=1 leaves the cluster running (stop: make demo-down).
set -eu
cd "$(dirname "$0")/.."
VENV="$(cd "${VENV:-.venv}" && pwd)"
PY="$VENV/bin/python"
WORK="${DEMO_WORKDIR:-/tmp/saltext-pcmk-demo}"
BED="$PY -m tests.support.cluster"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_node() { $BED exec --workdir "$WORK" --node n1 -- "$@"; }

$BED down --workdir "$WORK" >/dev/null 2>&1 || true
rm -rf "$WORK" && mkdir -p "$WORK/salt/conf" "$WORK/pillar" "$WORK/srv"
[ "${DEMO_KEEP:-0}" = 1 ] || trap '$BED down --workdir "$WORK" >/dev/null 2>&1 || true' EXIT

step "Starting a single-node Corosync/Pacemaker cluster (node n1, private namespaces)"
$BED up --workdir "$WORK" --nodes 1

step "Preparing a stand-in OpenStack API daemon and a minion config"
PORT=$($PY -c 'from tests.support.testservice import free_port; print(free_port())')
$PY - "$WORK" "$PORT" <<'PYEOF'
import pathlib, sys
from tests.support import testservice
work, port = pathlib.Path(sys.argv[1]), int(sys.argv[2])
work.chmod(0o755)
binary = testservice.install_daemon(work / "bin")
config = work / "demo-api.conf"
config.write_text(testservice.config_text(port, work / "demo-api.starts"))
(work / "pillar" / "top.sls").write_text("base:\n  '*':\n    - demo\n")
(work / "pillar" / "demo.sls").write_text(f"demo:\n  binary: {binary}\n  config: {config}\n  port: {port}\n")
PYEOF
cp demo/demo.sls "$WORK/srv/demo.sls"
cat > "$WORK/salt/conf/minion" <<CONF
id: demo-n1
file_client: local
root_dir: $WORK/salt
file_roots: {base: [$WORK/srv, $(pwd)/states]}
pillar_roots: {base: [$WORK/pillar]}
state_aggregate: [pcmk]
CONF
SALT="$VENV/bin/salt-call -c $WORK/salt/conf --local --log-level=warning --state-output=changes"

step "What would change (test=True): nothing is written"
in_node $SALT state.apply demo test=True

step "Applying the demo SLS"
in_node $SALT state.apply demo

step "Applying again: nothing to do, no CIB write"
in_node $SALT state.apply demo --state-verbose=False

step "Waiting for the cluster to settle"
in_node $SALT pcmk.wait timeout=60 >/dev/null
step "crm_mon"
in_node crm_mon --one-shot --inactive
step "The demo API answers from inside the node"
in_node curl -fsS "http://127.0.0.1:$PORT/health" && echo
