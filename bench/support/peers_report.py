"""The tables of the speed goals as converge.py --peers prints them: the methods side by side, the curve, the goals."""

from __future__ import annotations

from .tables import format_table

ISSUE_METHODS = [
    ("salt 3007 pcs states", "Salt 3007.15's `pcs` states (what Salt users had)"),
    ("salt-call aggregated", "pcmk states, `state_aggregate: [pcmk]`"),
    ("salt-call per-state", "pcmk states, Salt's default configuration"),
    ("salt-call test.ping", "`salt-call --local test.ping` (the floor)"),
    ("crmsh load update", "crmsh `crm configure load update` of the same objects (one process, one commit)"),
]


def _rows(result, table):
    return [r for r in result["rows"] if r.get("table") == table]


def _get(rows, method, phase, n=None):
    for r in rows:
        if r["method"] == method and r["phase"] == phase and (n is None or r["n"] == n):
            return r
    return None


def _cell(r, base):
    if r is None:
        return "not run"
    text = f"{r['wall_s']:.2f} s"
    if base is not None and r["method"].startswith("salt-call ") and "states" in r and r["wall_s"]:
        text += f" ({base['wall_s'] / r['wall_s']:.1f}x)"
    return text


def peers_table(result):
    rows = _rows(result, "peers")
    if not rows:
        return ""
    n = result["config"]["peers_n"]
    states = 2 * n - 1
    out = [
        f"== the speed goals: {n} ocf:pacemaker:Dummy resources with a monitor op + {n - 1} mandatory orders "
        f"({states} states), whole run wall time, one live single-node cluster; (Nx) = Salt 3007 / this",
        "",
        "| method | converge from empty | no-op re-run |",
        "|---|---|---|",
    ]
    for method, label in ISSUE_METHODS:
        cells = []
        for phase in ("converge", "no-op"):
            base = _get(rows, "salt 3007 pcs states", phase)
            cells.append(_cell(_get(rows, method, phase), base))
        out.append(f"| {label} | {cells[0]} | {cells[1]} |")
    out += ["", "-- inside the runs (our two configurations; crmsh, Salt 3007 and the floor for comparison)"]
    head = (
        "method",
        "phase",
        "wall s",
        "CPU s",
        "states' summed durations s",
        "per state ms",
        "CIB writes",
        "CIB reads",
        "epoch +",
    )
    body = []
    for method, _ in ISSUE_METHODS:
        for phase in ("converge", "no-op"):
            r = _get(rows, method, phase)
            if r is None or (method == "salt-call test.ping" and phase != "converge"):
                continue
            body.append(
                (
                    method,
                    "-" if method == "salt-call test.ping" else phase,
                    f"{r['wall_s']:.2f}",
                    f"{r['cpu_s']:.2f}" if "cpu_s" in r else "-",
                    f"{r['states_ms'] / 1000:.2f}" if "states_ms" in r else "-",
                    f"{r['per_state_ms']:.1f}" if "per_state_ms" in r else "-",
                    str(r["writes"]) if "reads" in r else "-",
                    str(r["reads"]) if "reads" in r else "-",
                    str(r.get("epoch_delta", "-")),
                )
            )
    out += format_table(head, body, left={0, 1})
    out.append(
        "   CPU s: user+system seconds of the run and every program it waited for (less sensitive than wall "
        "time to other work on the machine; Pacemaker's own daemons not included)\n"
        "   CIB writes/reads: successful `cibadmin --patch` / `cibadmin --query` runs (PATH shims); "
        "epoch +: how far the CIB's epoch moved (one per configuration write)"
    )
    return "\n".join(out)


def curve_table(result):
    rows = _rows(result, "curve") + [
        r for r in _rows(result, "peers") if r["method"].startswith("salt-call ") and "states" in r
    ]
    rows = [r for r in rows if r["method"] in ("salt-call aggregated", "salt-call per-state")]
    if not rows:
        return ""
    head = (
        "method",
        "N",
        "states",
        "converge ms/state",
        "no-op ms/state",
        "converge wall s",
        "no-op wall s",
        "measured",
    )
    body = []
    for method in ("salt-call aggregated", "salt-call per-state"):
        for n in sorted({r["n"] for r in rows if r["method"] == method}):
            conv, noop = _get(rows, method, "converge", n), _get(rows, method, "no-op", n)
            sampled = (conv or noop or {}).get("sampled")
            body.append(
                (
                    method,
                    str(n),
                    str(2 * n - 1),
                    f"{conv['per_state_ms']:.1f}" if conv else "-",
                    f"{noop['per_state_ms']:.1f}" if noop else "-",
                    f"{conv['wall_s']:.1f}" if conv and conv["wall_s"] is not None else "-",
                    f"{noop['wall_s']:.1f}" if noop and noop["wall_s"] is not None else "-",
                    f"sampled: {sampled}" if sampled else "whole run",
                )
            )
    out = [
        "== the curve: per-state cost (states' summed durations / states), our two configurations",
        *format_table(head, body, left={0, 7}),
    ]
    if any(r.get("sampled") for r in rows):
        out.append(
            "   sampled: the states of the last K resources applied (converge), then again (no-op), on a CIB "
            "holding the N-K others; `--full` runs whole SLSs; N > 50 in maintenance mode"
        )
    diff = result["meta"].get("diff")
    if diff:
        out.append(
            f"\n== diff.compare of two {diff['n']}-resource CIBs differing by one resource: {diff['seconds']:.3f} s "
            f"(median of {', '.join(f'{t:.3f}' for t in diff['runs'])})"
        )
    return "\n".join(out)


def goals(result):
    """Each speed goal against what this run measured."""
    rows = _rows(result, "peers")
    floor = _get(rows, "salt-call test.ping", "converge")
    crm = {p: _get(rows, "crmsh load update", p) for p in ("converge", "no-op")}
    s3007 = _get(rows, "salt 3007 pcs states", "converge")
    per, agg = (
        {p: _get(rows, m, p) for p in ("converge", "no-op")} for m in ("salt-call per-state", "salt-call aggregated")
    )
    lines = ["== goals (measured in this run; wall times on a busy machine are noisy)"]

    def check(ok, text):
        lines.append(f"  [{'met' if ok else 'NOT met'}] {text}")

    if per["converge"]:
        wall = per["converge"]["wall_s"]
        x = f", {s3007['wall_s'] / wall:.0f}x Salt 3007" if s3007 else ""
        check(
            wall <= 7, f"default configuration converge <= 7 s: {wall:.2f} s{x}, {per['converge']['writes']} CIB writes"
        )
    if agg["converge"]:
        check(
            agg["converge"]["wall_s"] <= 3.5 and agg["converge"]["writes"] == 1,
            f"aggregated converge one write, <= 3.5 s: {agg['converge']['wall_s']:.2f} s, {agg['converge']['writes']} writes",
        )
    for label, r in (("aggregated", agg["no-op"]), ("default", per["no-op"])):
        if r and floor:
            check(
                r["wall_s"] - floor["wall_s"] <= 1,
                f"no-op ({label}) within 1 s of the floor: {r['wall_s']:.2f} s vs {floor['wall_s']:.2f} s",
            )
            check(
                r["states_ms"] <= 300,
                f"no-op ({label}) states' summed durations < 0.3 s: {r['states_ms'] / 1000:.2f} s",
            )
            check(
                r["reads"] <= 1 and r["writes"] == 0,
                f"no-op ({label}) one CIB read, no write: {r['reads']} reads, {r['writes']} writes",
            )
    for phase in ("converge", "no-op"):
        for label, r in (("aggregated", agg[phase]), ("default", per[phase])):
            if r and crm[phase]:
                check(
                    r["states_ms"] / 1000 < crm[phase]["wall_s"],
                    f"{phase} ({label}) states' summed durations below crmsh's whole load update: "
                    f"{r['states_ms'] / 1000:.2f} s vs {crm[phase]['wall_s']:.2f} s",
                )
    curve = _rows(result, "curve") + rows
    for method in ("salt-call aggregated", "salt-call per-state"):
        for phase in ("converge", "no-op"):
            found = sorted(
                (r["n"], r["per_state_ms"])
                for r in curve
                if r["method"] == method and r["phase"] == phase and "per_state_ms" in r
            )
            if len(found) > 1:
                lo, hi = min(v for _, v in found), max(v for _, v in found)
                check(
                    hi <= 2 * lo,
                    f"{method} {phase} per-state cost flat within 2x: "
                    + ", ".join(f"N={n} {v:.0f} ms" for n, v in found),
                )
    diff = result["meta"].get("diff")
    if diff:
        check(diff["seconds"] < 1, f"diff of a {diff['n']}-resource CIB < 1 s: {diff['seconds']:.3f} s")
    return "\n".join(lines)


def peers_report(result):
    v = result["versions"]
    head = (
        f"{v.get('pacemaker')}, {v.get('pcs') and 'pcs ' + v['pcs']}, {v.get('crm')}, {v.get('salt')}, "
        f"{v.get('salt3007') or 'Salt 3007: not run'}; {result['host']['cpus']} CPUs; started {result['started']}"
    )
    parts = [head, "", peers_table(result), "", curve_table(result), "", goals(result)]
    loads = [r["loadavg_1m"] for r in result["rows"] if "loadavg_1m" in r]
    cpus = result["host"]["cpus"] or 1
    if loads and max(loads) > cpus:
        parts.append(
            f"\nthe machine was busy with other work: 1-min load average up to {max(loads):.1f} on {cpus} CPUs "
            f"(median {sorted(loads)[len(loads) // 2]:.1f}); wall times are inflated and noisy, counts are not"
        )
    return "\n".join(p for p in parts if p is not None)
