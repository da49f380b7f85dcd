#!/bin/sh
# Install what saltext-pcmk needs on Debian 12 as root: Pacemaker, Corosync, the
# agents and a venv with Salt and this package. Safe to run again: it only
# installs what is missing.
set -eu
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
# libxml2-utils: ocf-tester (from resource-agents) checks meta-data with xmllint,
# which --no-install-recommends leaves out. shellcheck: the shipped agent is linted in the tests.
PACKAGES="pacemaker corosync pacemaker-cli-utils resource-agents libxml2-utils shellcheck pcs crmsh iproute2 util-linux procps psmisc curl"

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import saltext.pcmk, salt, lxml, saltfactories, xdist" 2>/dev/null; then
    echo "setup: installing Salt, lxml, pytest and this package into $VENV"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e ".[tests]"
fi
echo "setup: ready ($("$VENV/bin/python" -c 'import salt.version; print("salt", salt.version.__version__)'), $(pacemakerd --version | head -1))"
