"""A tiny init system for tests on machines without one (CI containers have no PID-1 init).

Stands in for the platform's native service module (``pcmk.native_service:
fakeinit_service``): services are declared as JSON files in
``fakeinit.dir`` (``<name>.json`` with ``argv``), started in the background
with start-stop-daemon and tracked by pid file; "enabled at boot" is a marker
file. Everything it reports is true of real processes.
"""

import json
import os
import subprocess

__virtualname__ = "fakeinit_service"


def __virtual__():
    return __virtualname__


def _dir():
    return __opts__.get("fakeinit.dir", "/run/fakeinit")


def _unit(name):
    path = os.path.join(_dir(), f"{name}.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _pidfile(name):
    return os.path.join(_dir(), f"{name}.pid")


def available(name):
    return os.path.exists(os.path.join(_dir(), f"{name}.json"))


def missing(name):
    return not available(name)


def get_all():
    return sorted(f[:-5] for f in os.listdir(_dir()) if f.endswith(".json")) if os.path.isdir(_dir()) else []


def status(name, sig=None):
    proc = subprocess.run(["start-stop-daemon", "--status", "--pidfile", _pidfile(name)], check=False)
    return proc.returncode == 0


def start(name, **kwargs):
    if status(name):
        return True
    argv = _unit(name)["argv"]
    proc = subprocess.run(
        [
            "start-stop-daemon",
            "--start",
            "--background",
            "--make-pidfile",
            "--pidfile",
            _pidfile(name),
            "--output",
            "/dev/null",
            "--startas",
            argv[0],
            "--",
        ]
        + argv[1:],
        check=False,
    )
    return proc.returncode == 0


def stop(name, **kwargs):
    proc = subprocess.run(
        ["start-stop-daemon", "--stop", "--retry", "TERM/10/KILL/5", "--pidfile", _pidfile(name), "--remove-pidfile"],
        check=False,
    )
    return proc.returncode in (0, 1)


def restart(name, **kwargs):
    return stop(name) and start(name)


def reload(name, **kwargs):
    return restart(name)


def _marker(name):
    return os.path.join(_dir(), f"{name}.enabled")


def enable(name, **kwargs):
    open(_marker(name), "w", encoding="utf-8").close()
    return True


def disable(name, **kwargs):
    if os.path.exists(_marker(name)):
        os.unlink(_marker(name))
    return True


def enabled(name, **kwargs):
    return os.path.exists(_marker(name))


def disabled(name):
    return not enabled(name)
