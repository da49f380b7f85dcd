"""The tables converge.py prints: per target, the methods; where our library's time goes; notes."""

from __future__ import annotations

from .sampling import interpolate_total, windows_for
from .tables import format_table
from .targets import LiveTarget, OfflineTarget
from .workload import workload

METHOD_ORDER = ["pcmk aggregated", "salt-call aggregated", "pcmk per-state", "salt-call per-state", "pcs one-at-a-time"]
BREAKDOWN_TOOLS = ["cibadmin", "crm_verify", "crm_diff", "crm_node", "crm_resource"]


def table(rows, title):
    """Every method's rows, by N (a blank line between sizes); estimated values marked."""
    rows = sorted(rows, key=lambda r: (r["n"], METHOD_ORDER.index(r["method"]), r["phase"] != "converge"))
    head = ("method", "N", "phase", "wall s", "tool invocations", "CIB writes")
    body = []
    for r in rows:
        est = r["estimated"]
        body.append(
            (
                r["method"] + (" *" if est else ""),
                str(r["n"]),
                r["phase"],
                (f"~{r['wall_s']:.1f}" if est else f"{r['wall_s']:.2f}"),
                ("~" if est and not r.get("counts_exact") else "") + str(r["invocations"]),
                str(r["writes"]),
            )
        )
    header, rule, *lines = format_table(head, body, left={0, 2})
    out = [title, header, rule]
    for i, (cells, text) in enumerate(zip(body, lines)):
        if i and cells[1] != body[i - 1][1]:
            out.append("")
        out.append(text)
    return "\n".join(out)


def breakdown(rows, title):
    """Where the library's time goes, per tool."""
    head = ("method", "N", "phase", *BREAKDOWN_TOOLS, "python+sleep", "retries")
    body = []
    for r in sorted(rows, key=lambda r: (r["n"], r["method"], r["phase"] != "converge")):
        if "python_s" in r:
            stats, python_s, retries, label = r["per_tool"], r["python_s"], r.get("retries", 0), r["method"]
        elif "window_per_tool" in r:
            stats, python_s, retries = r["window_per_tool"], r["window_python_s"], r.get("retries_in_windows", 0)
            label = f"{r['method']} (only the {r['window_steps']} sampled steps)"
        else:
            continue
        body.append(
            (
                label,
                str(r["n"]),
                r["phase"],
                *(f"{stats[t][1]:.2f} ({stats[t][0]})" if t in stats else "-" for t in BREAKDOWN_TOOLS),
                f"{python_s:.2f}",
                str(retries),
            )
        )
    if not body:
        return ""
    return "\n".join([title, *format_table(head, body, left={0, 2})])


def interpolation_checks(rows, cfg):
    """For fully measured step-by-step runs: what the sampled estimate would have said from the same steps."""
    checks = []
    for r in rows:
        if r["estimated"] or r["phase"] != "converge" or not r.get("step_seconds") or r["n"] < 10:
            continue
        steps = workload(r["n"])
        per_window = cfg["pcs_window"] if r["method"].startswith("pcs") else cfg["window"]
        samples = [(list(range(lo, hi)), r["step_seconds"][lo:hi]) for lo, hi in windows_for(steps, per_window)]
        estimate = interpolate_total(len(steps), samples)
        measured = sum(r["step_seconds"])
        checks.append(
            f"   {r['method']} N={r['n']}: windows of {per_window} resources would estimate {estimate:.1f}s "
            f"for the {measured:.1f}s measured step by step ({(estimate - measured) / measured:+.0%})"
        )
    return checks


def notes(result):
    meta = result["meta"]
    lines = [
        "Notes:",
        "  tool invocations: Pacemaker programs our code ran (salt-call rows: counted by PATH shims); for pcs, pcs processes.",
        "  CIB writes: our versioned patches (Pacemaker bumps the epoch by 2 for each); pcs: epoch increments.",
    ]
    if meta.get("pcs_internal_tools"):
        inner = ", ".join(f"{k}: {len(v)}" for k, v in meta["pcs_internal_tools"].items())
        lines.append(f"  each pcs process itself ran Pacemaker tools (strace, offline): {inner}")
    for target in ("offline", "live"):
        if f"{target}_salt_call_test_true_s" in meta:
            lines.append(
                f"  salt-call --local test.true ({target}): {meta[f'{target}_salt_call_test_true_s']:.2f}s start-up included in every salt-call row"
            )
    loads = [r["loadavg_1m"] for r in result["rows"] if "loadavg_1m" in r]
    cpus = result["host"]["cpus"] or 1
    if loads and max(loads) > cpus:
        lines.append(
            f"  the machine was busy with other work: 1-min load average up to {max(loads):.1f} on {cpus} CPUs "
            f"(median {sorted(loads)[len(loads) // 2]:.1f}); wall times are inflated and noisy, counts are not"
        )
    return "\n".join(lines)


def report(result):
    v = result["versions"]
    out = [
        f"{v.get('pacemaker')}, {v.get('pcs') and 'pcs ' + v['pcs']}, {v.get('salt')}, "
        f"{result['host']['cpus']} CPUs; started {result['started']}",
        "",
    ]
    for target in (OfflineTarget, LiveTarget):
        rows = [r for r in result["rows"] if r["target"] == target.name]
        if not rows:
            continue
        out.append(table(rows, f"== {target.title}"))
        for r in rows:
            if r["estimated"] and r["phase"] == "converge":
                out.append(f"   * {r['method']} N={r['n']}: estimated; {r['sampled']}")
        checks = interpolation_checks(rows, result["config"])
        if checks:
            out += ["   sampling check on fully measured runs:", *checks]
        out.append("")
        text = breakdown(
            rows,
            f"-- {target.name}: where pcmk time goes: seconds (runs) per Pacemaker tool; python+sleep = the rest (incl. retry back-off)",
        )
        if text:
            out += [text, ""]
    out.append(notes(result))
    return "\n".join(out)
