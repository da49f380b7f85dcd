"""Steps done one at a time, sampled: windows of whole resources run for real, the total interpolated."""

from __future__ import annotations

from .common import row, tool_stats


def windows_for(steps, per_window_resources, count=3):
    """Step index ranges of `count` windows of whole resources: start, middle(s), end."""
    starts = [i for i, s in enumerate(steps) if s.kind == "resource"]
    n = len(starts)
    k = min(per_window_resources, n)
    ranges = []
    for first in sorted({round(j * (n - k) / (count - 1)) for j in range(count)}):
        lo = 0 if first == 0 else starts[first]  # the first window includes the property step
        hi = starts[first + k] if first + k < n else len(steps)
        if ranges and lo < ranges[-1][1]:
            lo = ranges[-1][1]
        if lo < hi:
            ranges.append((lo, hi))
    return ranges


def interpolate_total(total_steps, samples):
    """Sum over all steps of a per-step value, linearly interpolated between window means."""
    points = sorted((sum(idx) / len(idx), sum(vals) / len(vals)) for idx, vals in samples if idx)

    def at(i):
        if i <= points[0][0]:
            return points[0][1]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            if i <= x1:
                return y0 + (y1 - y0) * (i - x0) / (x1 - x0)
        return points[-1][1]

    return sum(at(i) for i in range(total_steps))


def spans(ranges):
    """'0-4, 27-31, 55-59': the steps the windows ran."""
    return ", ".join(f"{r.start}-{r.stop - 1}" for r in ranges)


def estimate_converge(target, method, n, steps, windows, desc, *, exact_counts=False):
    """The converge row of a sampled method. windows: [(range, records)]; records have seconds/invocations/writes
    (and, for our library, metadata/retries/calls)."""
    total = len(steps)
    measured = {i for rng, _ in windows for i in rng}
    unmeasured_writes = sum(1 for i in range(total) if i not in measured)  # each writes once (checked in windows)
    conv_writes = sum(r["writes"] for _, recs in windows for r in recs) + unmeasured_writes
    samples_t = [(list(rng), [r["seconds"] for r in recs]) for rng, recs in windows]
    samples_i = [(list(rng), [r["invocations"] - r.get("metadata", 0) for r in recs]) for rng, recs in windows]
    conv_inv = total if exact_counts else round(interpolate_total(total, samples_i)) + 1  # + the one meta-data read
    if any("calls" in r for _, recs in windows for r in recs):
        calls = [c for _, recs in windows for r in recs for c in r["calls"]]
        seconds = sum(r["seconds"] for _, recs in windows for r in recs)
        stats = tool_stats(calls)
        window_stats = {
            "window_steps": sum(len(recs) for _, recs in windows),
            "window_per_tool": stats,
            "window_python_s": round(seconds - sum(v[1] for v in stats.values()), 3),
        }
    else:
        window_stats = {}
    return row(
        target,
        method,
        n,
        "converge",
        interpolate_total(total, samples_t),
        conv_inv,
        conv_writes,
        windows=[
            {"steps": [rng.start, rng.stop], "seconds": [round(r["seconds"], 4) for r in recs]} for rng, recs in windows
        ],
        retries_in_windows=sum(r.get("retries", 0) for _, recs in windows for r in recs),
        **window_stats,
        **estimated(desc, exact_counts),
    )


def estimated(desc, exact_counts):
    """What marks a row as estimated, and how."""
    return {"estimated": True, "sampled": desc, "counts_exact": exact_counts}
