#!/bin/sh
# Install the real OpenStack controller daemons the `realdaemons` tests run
# under Pacemaker inside the namespaced test nodes. Safe to run again: it only
# installs what is missing.
#
# Nothing may run on the HOST: the daemons only ever run inside the test
# nodes' namespaces, started by Pacemaker's agents. So a policy-rc.d that
# refuses every start (exit 101) is in place while dpkg runs (an existing one,
# e.g. Docker's, is kept as it is), and afterwards the host copies are
# disabled and any process the packages managed to start is stopped.
set -eu

PACKAGES="haproxy mariadb-server mariadb-client galera-4 rabbitmq-server redis-server redis-tools memcached"
# Init scripts and the host processes they could have started.
SERVICES="haproxy mariadb rabbitmq-server redis-server memcached"
PROCESSES="haproxy mariadbd mysqld beam.smp epmd redis-server memcached"
POLICY=/usr/sbin/policy-rc.d

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done

if [ -n "$missing" ]; then
    echo "setup-daemons: installing Debian packages:$missing"
    own_policy=""
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\n# saltext-pcmk setup-daemons.sh: no service starts on the host\nexit 101\n' >"$POLICY"
        chmod 0755 "$POLICY"
        own_policy=yes
    fi
    # Remove our policy-rc.d whatever happens to apt-get.
    trap 'if [ -n "$own_policy" ]; then rm -f "$POLICY"; fi' EXIT
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "setup-daemons: all packages present"
    exit 0
fi

# Only after an install: a later run must not touch daemons an operator runs.
# Host copies stay off: no boot-time start (SysV links; systemd units if any).
for svc in $SERVICES; do
    if [ -x "/etc/init.d/$svc" ] && command -v update-rc.d >/dev/null; then
        update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
    if [ -d /run/systemd/system ]; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
done

# Anything the packages started anyway, in the host's own network namespace
# only (test nodes run the same binaries in namespaces of their own).
host_net=$(readlink /proc/self/ns/net)
for name in $PROCESSES; do
    for pid in $(pgrep -x "$name" || true); do
        if [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$host_net" ]; then
            echo "setup-daemons: stopping host $name (pid $pid)"
            kill "$pid" 2>/dev/null || true
        fi
    done
done

echo "setup-daemons: ready ($(dpkg-query -W -f='${Package} ${Version}\n' haproxy mariadb-server galera-4 rabbitmq-server redis-server memcached | tr '\n' ';'))"
