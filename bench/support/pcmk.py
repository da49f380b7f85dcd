"""Our library: all specs in one Session.converge() (aggregated), or one converge per step (per-state)."""

from __future__ import annotations

import time

from saltext.pcmk.utils.cib.session import Session

from .common import BenchFailure, log, row, tool_stats
from .sampling import estimate_converge, spans, windows_for
from .targets import check_converged, epoch_of
from .workload import all_specs, workload


def _timed(target, apply):
    """apply(session) in a new Session on the target: (result, seconds, session, epoch delta)."""
    session = Session(target.runner())
    epoch = epoch_of(target.cib_text())
    started = time.perf_counter()
    result = apply(session)
    wall = time.perf_counter() - started
    return result, wall, session, epoch_of(target.cib_text()) - epoch


def _row(target, method, n, phase, wall, session, **extra):
    """A measured row, logged: tool runs and time per tool, the rest as python+sleep."""
    runner = session.runner
    stats = tool_stats(runner.calls)
    log(
        f"  [{target.name}] {method:17} N={n:<4} {phase:9} {wall:8.2f}s  {runner.count():5} tools  {session.writes} writes"
    )
    return row(
        target,
        method,
        n,
        phase,
        wall,
        runner.count(),
        session.writes,
        per_tool=stats,
        python_s=round(wall - sum(v[1] for v in stats.values()), 3),
        **extra,
    )


def converge_steps(session, steps):
    """Converge each step on its own; per-step (seconds, invocations, writes, changed, tools)."""
    runner, records = session.runner, []
    for step in steps:
        calls_before, writes_before = len(runner.calls), session.writes
        started = time.perf_counter()
        outcome = session.converge(step.specs())
        seconds = time.perf_counter() - started
        new_calls = runner.calls[calls_before:]
        writes = session.writes - writes_before
        records.append(
            {
                "seconds": seconds,
                "invocations": len(new_calls),
                "metadata": sum(1 for name, _ in new_calls if name == "crm_resource"),
                "writes": writes,
                "changed": outcome.changed,
                "retries": max(0, sum(1 for name, _ in new_calls if name == "crm_diff") - writes),
                "calls": new_calls,
            }
        )
    return records


def bench_pcmk_aggregated(target, n):
    method, steps = "pcmk aggregated", workload(n)
    target.reset()
    rows = []
    for phase in ("converge", "re-apply"):
        outcome, wall, session, epoch_delta = _timed(target, lambda session: session.converge(all_specs(steps)))
        if phase == "converge":
            if not outcome.changed or session.writes != 1:
                raise BenchFailure(
                    f"[{target.name}] {method} N={n}: converge changed={outcome.changed} writes={session.writes}, want one write"
                )
            check_converged(target, n, f"[{target.name}] {method} N={n}")
        elif outcome.changed or session.writes or epoch_delta:
            raise BenchFailure(
                f"[{target.name}] {method} N={n}: re-apply changed {sorted(outcome.changes)[:5]} "
                f"with {session.writes} write(s), epoch +{epoch_delta}; it must be a no-op"
            )
        retries = max(0, sum(1 for name, _ in session.runner.calls if name == "crm_diff") - session.writes)
        rows.append(_row(target, method, n, phase, wall, session, retries=retries, epoch_delta=epoch_delta))
        target.settle()
    return rows


def _check_per_state(target, n, phase, records, steps):
    for step, rec in zip(steps, records):
        if phase == "re-apply" and (rec["changed"] or rec["writes"]):
            raise BenchFailure(
                f"[{target.name}] pcmk per-state N={n}: re-apply of {step.id} changed it "
                f"({rec['writes']} write(s)); it must be a no-op"
            )
        if phase == "converge" and step.kind != "property" and (not rec["changed"] or rec["writes"] != 1):
            raise BenchFailure(
                f"[{target.name}] pcmk per-state N={n}: converging {step.id} made "
                f"{rec['writes']} write(s) (changed={rec['changed']}), want exactly one"
            )


def bench_pcmk_per_state(target, n, phases=("converge", "re-apply")):
    """One converge per step in one Session, every step; re-apply likewise in a new Session."""
    method, steps = "pcmk per-state", workload(n)
    if "converge" in phases:
        target.reset()
    rows = []
    for phase in phases:
        records, wall, session, epoch_delta = _timed(target, lambda session: converge_steps(session, steps))
        _check_per_state(target, n, phase, records, steps)
        if phase == "converge":
            check_converged(target, n, f"[{target.name}] {method} N={n}")
        elif epoch_delta:
            raise BenchFailure(f"[{target.name}] {method} N={n}: re-apply moved the epoch by {epoch_delta}")
        extra = {
            "retries": sum(r["retries"] for r in records),
            "epoch_delta": epoch_delta,
            "step_seconds": [round(r["seconds"], 4) for r in records],
        }
        rows.append(_row(target, method, n, phase, wall, session, **extra))
        target.settle()
    return rows


def bench_pcmk_per_state_sampled(target, n, per_window):
    """Per-state converge measured in windows; the CIB brought to each window's start by one aggregated write."""
    steps = workload(n)
    target.reset()
    ranges = [range(lo, hi) for lo, hi in windows_for(steps, per_window)]
    windows, done = [], 0
    for rng in ranges:
        if rng.start > done:
            Session(target.runner()).converge(all_specs(steps[done : rng.start]))
            target.settle()
        records = converge_steps(Session(target.runner()), steps[rng.start : rng.stop])
        _check_per_state(target, n, "converge", records, steps[rng.start : rng.stop])
        windows.append((rng, records))
        done = rng.stop
        target.settle()
    if done < len(steps):
        Session(target.runner()).converge(all_specs(steps[done:]))
        target.settle()
    check_converged(target, n, f"[{target.name}] pcmk per-state (sampled) N={n}")
    desc = (
        f"{sum(len(r) for r in ranges)} of {len(steps)} converges run (windows at steps {spans(ranges)}); "
        "the re-apply is measured in full"
    )
    converge = estimate_converge(target, "pcmk per-state", n, steps, windows, desc)
    log(
        f"  [{target.name}] pcmk per-state    N={n:<4} converge  ~{converge['wall_s']:7.2f}s  ~{converge['invocations']:4} tools  {converge['writes']} writes  (sampled)"
    )
    # The re-apply is one Session over the converged CIB: cheap enough to run every step.
    return [converge, *bench_pcmk_per_state(target, n, phases=("re-apply",))]
