"""A stand-in OpenStack service for live tests: the test daemon, its config, its starts.

The daemon (``testdaemon.py``) appends a line per start to its ``starts_file``,
which is how tests count restarts that really happened.
"""

import configparser
import os
import pathlib
import random
import shutil
import socket
import stat

DAEMON_SRC = pathlib.Path(__file__).with_name("testdaemon.py")
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"


def install_daemon(directory):
    """An executable copy of the test daemon in ``directory`` (world-readable, for any user)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    path = directory / "testdaemon"
    path.write_text(f"#!{PYTHON}\n" + DAEMON_SRC.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    path.chmod(0o755)
    return path


def _ephemeral_floor():
    try:
        return int(pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback port free now, chosen below the kernel's ephemeral range.

    A port the kernel hands out for ``bind(0)`` is one it also hands out as the
    source port of outgoing connections, and the other test worker's Salt
    master and minions open many: between this check and the daemon's bind,
    such a connection can take it ("exited during start" in CI). Ports below
    the ephemeral range are only taken by an explicit bind.
    """
    floor = _ephemeral_floor()
    for _ in range(200):
        port = random.randrange(10000, max(floor, 10001))
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def config_text(port, starts_file, **extra):
    parser = configparser.ConfigParser()
    parser["DEFAULT"] = {"port": str(port), "starts_file": str(starts_file), **{k: str(v) for k, v in extra.items()}}
    lines = ["[DEFAULT]"] + [f"{k} = {v}" for k, v in parser["DEFAULT"].items()]
    return "\n".join(lines) + "\n"


def starts(starts_file):
    """Pids recorded by the daemon, one per start."""
    try:
        return [line.strip() for line in pathlib.Path(starts_file).read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def start_log(path):
    """``(start time, pid, greeting)`` per start, from the daemon's ``start_log``."""
    try:
        lines = pathlib.Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) == 3:
            found.append((float(parts[0]), int(parts[1]), parts[2]))
    return found


def world_readable(path):
    path = pathlib.Path(path)
    path.chmod(path.stat().st_mode | stat.S_IROTH | stat.S_IRGRP)
    return path


def pids_of(binary):
    """Live (non-zombie) processes whose command line contains ``binary``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(binary) in cmdline and state != "Z":
            found.append(int(entry))
    return found
