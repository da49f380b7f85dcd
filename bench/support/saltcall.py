"""A real ``salt-call --local state.apply`` of the workload's SLS; Pacemaker tools counted through PATH shims."""

from __future__ import annotations

import collections
import json
import shutil
import sys
import time
from pathlib import Path

import yaml

from .common import SBIN, BenchFailure, log, row, run
from .targets import check_converged, epoch_of
from .workload import sls_text, workload

SALT_CALL = str(Path(sys.executable).with_name("salt-call"))
SHIMMED = ("cibadmin", "crm_diff", "crm_verify", "crm_resource", "crm_mon", "crm_node", "crm_attribute")


def make_shims(directory, logfile):
    """A script per tool that runs the real one and logs ``tool rc first-argument``."""
    directory.mkdir(parents=True, exist_ok=True)
    for tool in SHIMMED:
        shim = directory / tool
        shim.write_text(f'#!/bin/sh\n{SBIN}/{tool} "$@"\nrc=$?\necho "{tool} $rc $1" >> "{logfile}"\nexit $rc\n')
        shim.chmod(0o755)


def bench_salt(target, n, aggregate):
    method = "salt-call aggregated" if aggregate else "salt-call per-state"
    base = target.dir / f"salt-{'agg' if aggregate else 'per'}-{n}"
    shutil.rmtree(base, ignore_errors=True)
    (base / "conf").mkdir(parents=True)
    (base / "srv").mkdir()
    (base / "srv" / "bench.sls").write_text(sls_text(n))
    logfile = base / "tools.log"
    make_shims(base / "shims", logfile)
    opts = {
        "id": "bench",
        "file_client": "local",
        "root_dir": str(base / "root"),
        "file_roots": {"base": [str(base / "srv")]},
        "log_file": str(base / "minion.log"),
        "log_level_logfile": "warning",
        "state_aggregate": ["pcmk"] if aggregate else False,
        **target.salt_opts(),
    }
    (base / "conf" / "minion").write_text(yaml.safe_dump(opts))
    env = {**target.env, "PATH": f"{base / 'shims'}:{target.env['PATH']}"}
    env.pop("CIB_file", None)
    target.reset()
    total = len(workload(n))
    rows = []
    for phase in ("converge", "re-apply"):
        logfile.write_text("")
        epoch = epoch_of(target.cib_text())
        started = time.perf_counter()
        proc = run(
            [SALT_CALL, "-c", base / "conf", "--local", "--out=json", "--log-level=quiet", "state.apply", "bench"],
            env=env,
            check=False,
        )
        wall = time.perf_counter() - started
        epoch_delta = epoch_of(target.cib_text()) - epoch
        try:
            results = json.loads(proc.stdout)["local"]
            results = {v["__id__"]: v for v in results.values()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BenchFailure(
                f"[{target.name}] {method} N={n} {phase}: no state results (exit {proc.returncode}): "
                f"{proc.stdout[-800:]} {proc.stderr[-800:]}"
            ) from exc
        failed = {k: v["comment"] for k, v in results.items() if v["result"] is not True}
        changed = [k for k, v in results.items() if v["changes"]]
        lines = [line.split() for line in logfile.read_text().splitlines() if line.strip()]
        patches = [rc for name, rc, *first in lines if name == "cibadmin" and first[:1] == ["--patch"]]
        writes = patches.count("0")
        if failed or len(results) != total:
            raise BenchFailure(
                f"[{target.name}] {method} N={n} {phase}: {len(results)} states, failures: {dict(list(failed.items())[:3])}"
            )
        if phase == "converge" and (len(changed) < total - 1 or not 1 <= writes <= len(changed)):
            raise BenchFailure(f"[{target.name}] {method} N={n}: {len(changed)} states changed with {writes} writes")
        if phase == "re-apply" and (changed or writes or epoch_delta):
            raise BenchFailure(
                f"[{target.name}] {method} N={n}: re-apply changed {changed[:5]} with {writes} writes; it must be a no-op"
            )
        if phase == "converge":
            check_converged(target, n, f"[{target.name}] {method} N={n}")
        per_tool = dict(sorted(collections.Counter(name for name, *_ in lines).items()))
        rows.append(
            row(
                target,
                method,
                n,
                phase,
                wall,
                len(lines),
                writes,
                per_tool=per_tool,
                epoch_delta=epoch_delta,
                retries=len(patches) - writes,
            )
        )
        log(f"  [{target.name}] {method:17} N={n:<4} {phase:9} {wall:8.2f}s  {len(lines):5} tools  {writes} writes")
        target.settle()
    return rows


def salt_call_overhead(target):
    """Wall time of ``salt-call --local test.true``: the start-up every salt-call row includes."""
    base = target.dir / "salt-overhead"
    (base / "conf").mkdir(parents=True, exist_ok=True)
    (base / "conf" / "minion").write_text(f"id: bench\nfile_client: local\nroot_dir: {base / 'root'}\n")
    started = time.perf_counter()
    run([SALT_CALL, "-c", base / "conf", "--local", "--out=quiet", "--log-level=quiet", "test.true"], env=target.env)
    return round(time.perf_counter() - started, 3)
