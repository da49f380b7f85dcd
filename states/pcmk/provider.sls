{#- Make pcmk_service the minion's service provider, from pillar, so that
    every service.running of every formula consults pcmk:services without any
    SLS change.

    A salt-minion daemon reads its configuration once, when it starts, and
    Salt has no way to re-read it: the drop-in alone changes nothing in a
    running minion. So whenever this state writes or removes the drop-in, the
    minion restarts, AFTER this state run has ended and sent its results.
    Not during it: a stopping Salt 3008 minion ends its running jobs, and a
    job ending on a signal ends its child processes too, so minion.restart
    (or a timed background restart) inside the run loses the run's results
    and, where nothing else restarts the minion, leaves it stopped.

    pcmk-minion-provider-restart (onchanges the drop-in) starts a background
    process that waits until the process running this state run has exited
    (at most an hour), detaches, then restarts the daemon the way
    minion.restart chooses:

      - minion_restart_command (minion config) set: the daemon is stopped
        (SIGTERM; SIGKILL after 60 s) and that command is run;
      - the daemon is systemd's salt-minion.service: systemctl restart;
      - without systemd, /etc/init.d/salt-minion: its restart;
      - otherwise the daemon is only stopped, for its supervisor to restart
        it (minion.restart's rule for a minion running in the foreground).

    The provider takes effect from the next state run after that restart (on
    the three-node test bed the minion answers again 12 to 16 s after the
    run returned). With salt-call and no salt-minion daemon running, nothing
    is restarted: each salt-call reads the configuration afresh. No change to
    the drop-in: no restart. #}
{%- set enabled = salt['pillar.get']('pcmk:minion_provider', False) %}
{%- set conf_file = salt['config.get']('conf_file', '/etc/salt/minion') %}
{%- set dropin = salt['file.join'](salt['file.dirname'](conf_file), 'minion.d', 'pcmk-provider.conf') %}
{%- set pidfile = salt['config.get']('pidfile', '/var/run/salt-minion.pid') %}
{%- set procdir = salt['file.join'](salt['config.get']('cachedir', '/var/cache/salt/minion'), 'proc') %}
{%- set restart_command = salt['config.get']('minion_restart_command', []) %}
{%- if restart_command is string %}
{%-   set restart_command = restart_command.split() %}
{%- endif %}
pcmk-minion-provider:
{%- if enabled %}
  file.managed:
    - name: {{ dropin }}
    - makedirs: true
    - contents: |
        # Managed by Salt (pcmk.provider): pillar pcmk:minion_provider
        providers:
          service: pcmk_service
{%- else %}
  file.absent:
    - name: {{ dropin }}
{%- endif %}

pcmk-minion-provider-restart:
  cmd.run:
    - bg: true
    - onchanges:
      - file: pcmk-minion-provider
    # The script is in the environment, so the state's output shows this one line.
    - name: eval "$PCMK_PROVIDER_RESTART"
    - env:
      - PCMK_PROVIDER_RESTART: |
            # pcmk.provider: restart salt-minion once this state run has ended
            unset PCMK_PROVIDER_RESTART
            trap '' HUP PIPE
            exec </dev/null
            say() { echo "pcmk.provider: $*" >&2; }
            state() { s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; set -- ${s##*) }; echo "$1 $2"; }
            alive() { set -- $(state "$1"); [ -n "$1" ] && [ "$1" != Z ] && [ "$1" != X ]; }
            pidfile={{ pidfile | quote }}
            procdir={{ procdir | quote }}
            run=$PPID
            if [ "$run" = "$(cat "$pidfile" 2>/dev/null)" ]; then
              # A minion without multiprocessing runs jobs in threads: wait for the jobs running now.
              jobs=$(ls "$procdir" 2>/dev/null)
              ended() { for j in $jobs; do [ -e "$procdir/$j" ] && return 1; done; return 0; }
            else
              # The job process (or salt-call) running this state run exits after sending its return;
              # until then it is our parent.
              ended() { set -- $(state $$); [ "$2" != "$run" ]; }
            fi
            n=0
            until ended || [ $n -ge 7200 ]; do sleep 0.5; n=$((n+1)); done
            pid=$(cat "$pidfile" 2>/dev/null)
            if [ -z "$pid" ] || ! alive "$pid"; then
              exit 0  # no salt-minion daemon runs here (salt-call): nothing to restart
            fi
            # Detach (a stopping minion ends the child processes of its jobs), then restart it.
            (
              sleep 0.2
{%- if restart_command %}
              say "restarting salt-minion (pid $pid) with minion_restart_command"
              kill -TERM "$pid"; n=0
              while alive "$pid" && [ $n -lt 120 ]; do sleep 0.5; n=$((n+1)); done
              if alive "$pid"; then kill -KILL "$pid"; sleep 1; fi
              trap - HUP PIPE
              exec {{ restart_command | map('quote') | join(' ') }}
{%- else %}
              trap - HUP PIPE
              if [ -d /run/systemd/system ]; then
                # (the pidfile names the minion process salt-minion.service's main process forks)
                if grep -qs '/salt-minion\.service$' "/proc/$pid/cgroup"; then
                  say "restarting salt-minion.service"
                  exec systemctl --no-block restart salt-minion.service
                fi
              elif [ -x /etc/init.d/salt-minion ]; then
                say "restarting salt-minion with /etc/init.d/salt-minion"
                exec /etc/init.d/salt-minion restart
              fi
              say "stopping salt-minion (pid $pid) for its supervisor to restart it (or set minion_restart_command)"
              kill -TERM "$pid"
{%- endif %}
            ) &
