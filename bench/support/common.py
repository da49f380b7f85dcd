"""Paths, logging, running a program and a result row: what every part of the benchmark uses."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SBIN = "/usr/sbin"
AGENT = "ocf:pacemaker:Dummy"
NODE = "n1"


class BenchFailure(RuntimeError):
    """A method did not do what it must (converge, then re-apply as a no-op)."""


_STARTED = time.monotonic()


def log(msg):
    print(f"{time.monotonic() - _STARTED:6.0f}s {msg}", file=sys.stderr, flush=True)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIB_")}
    env["PATH"] = f"{env.get('PATH', '')}:/usr/local/sbin:/usr/sbin:/sbin".lstrip(":")
    env.update(extra)
    return env


def run(argv, *, env=None, input=None, check=True, timeout=900):
    proc = subprocess.run(
        [str(a) for a in argv],
        env=env or clean_env(),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise BenchFailure(f"{' '.join(map(str, argv))} exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
    return proc


def tool_stats(calls):
    """{tool: [runs, seconds]} of (tool, seconds) calls."""
    stats = collections.defaultdict(lambda: [0, 0.0])
    for name, seconds in calls:
        stats[name][0] += 1
        stats[name][1] += seconds
    return {k: [v[0], round(v[1], 3)] for k, v in sorted(stats.items())}


def row(target, method, n, phase, wall, invocations, writes, **extra):
    return {
        "target": target.name,
        "method": method,
        "n": n,
        "phase": phase,
        "wall_s": round(wall, 3),
        "invocations": invocations,
        "writes": writes,
        "estimated": False,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        **extra,
    }
