"""The runner's output: the table on stdout, benches/results/vs_flink.md and the SVG chart
(hand-written SVG, no plotting library).

Part of the runner (benches/flink/vs_flink.py); Python 3.11 standard library only.
"""

from __future__ import annotations

import math
import os
import platform
import re
import subprocess
import textwrap
from pathlib import Path

from vsf_measure import TIME, Side
from vsf_workloads import Workload



def fmt_rate(x: float | None) -> str:
    """Three significant figures: 457 M/s, 38.1 M/s, 1.37 M/s, 344 k/s."""
    if x is None:
        return "–"
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if x >= scale or scale == 1:
            v = x / scale
            digits = 0 if v >= 100 else 1 if v >= 10 else 2
            return f"{v:.{digits}f} {unit}/s"
    return "–"


def fmt_tick(x: float) -> str:
    for scale, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k"), (1, "")):
        if x >= scale:
            return f"{x / scale:g}{unit}"
    return f"{x:g}"


def fmt_rss(kib: int | None) -> str:
    if kib is None:
        return "–"
    return f"{kib / 1024:.0f} MiB" if kib < 10 * 1024 * 1024 else f"{kib / 1024 / 1024:.1f} GiB"


def fmt_n(n: int) -> str:
    if n and n % 1_000_000 == 0:
        return f"{n // 1_000_000} M"
    return f"{n:,}".replace(",", " ")


def side_cell(s: Side) -> str:
    """An engine's best records/s, or why there is none."""
    if s.status == "unavailable":
        return "not available yet"
    if s.status == "failed":
        return "FAILED"
    if s.status == "mismatch":
        return f"{fmt_rate(s.rate)} MISMATCH"
    if s.status == "unchecked":
        return f"{fmt_rate(s.rate)} (unchecked)"
    return fmt_rate(s.rate)


def ratio_cell(w: Workload, weir: Side, flink: Side) -> tuple[str, float | None]:
    """weir/Flink of the best records/s, only once both engines' checksums were checked."""
    if weir.status == "unavailable" or flink.status == "unavailable":
        return "not available yet", None
    if "mismatch" in (weir.status, flink.status):
        return "MISMATCH", None
    if "failed" in (weir.status, flink.status):
        return "FAILED", None
    if weir.status == "unchecked" or flink.status == "unchecked":
        return "no ratio (checksum not reported)", None
    r = weir.rate / flink.rate
    return f"{r:.1f}×" if r >= 10 else f"{r:.2f}×", r


def overhead_rows(results) -> list[tuple[str, str, str, str]]:
    """Per engine: throughput with 1 s checkpoints over without (1 M keys)."""
    if "ckpt_off_1m" not in results or "ckpt_on_1m" not in results:
        return []
    cells = []
    for e in (0, 1):
        off, on = results["ckpt_off_1m"][e], results["ckpt_on_1m"][e]
        if off.rate and on.rate and off.status in ("ok", "unchecked") and on.status in ("ok", "unchecked"):
            ratio = on.rate / off.rate
            cost = (1 - ratio) * 100
            cells.append(f"{ratio:.3f} ({cost:.1f} % slower)" if cost >= 0
                         else f"{ratio:.3f} ({-cost:.1f} % faster: noise)")
        else:
            cells.append("–")
    return [("checkpoint overhead: on/off throughput, 1 M keys", cells[0], cells[1],
             "weir on/off ≥ 0.95 (overhead ≤ 5 %)")]


def svg_chart(rows: list[tuple[str, Side, Side, str]], title: str, note: str = "") -> str:
    """Grouped bars, weir and Flink per workload, records/s on a log scale; `note` (e.g. the
    recovery times) goes at the bottom right."""
    rates = [s.rate for _, a, b, _ in rows for s in (a, b) if s.rate]
    lo = 10 ** math.floor(math.log10(min(rates))) if rates else 1e5
    hi = 10 ** math.ceil(math.log10(max(rates) * 2.5)) if rates else 1e9  # room for labels
    if hi <= lo:
        hi = lo * 10
    W, H = max(900, 90 + 110 * len(rows)), 480
    left, right, top, bottom = 70, 20, 60, 115
    plot_w, plot_h = W - left - right, H - top - bottom
    group_w = plot_w / max(len(rows), 1)
    bar_w = min(60.0, group_w * 0.32)
    colors = {"weir": "#d9480f", "flink": "#1c7ed6"}

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))

    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="16">{esc(title)}</text>',
           f'<text x="{W / 2}" y="42" text-anchor="middle" fill="#555">records/s, log scale; '
           f'label above each pair: weir/Flink</text>']
    decade = lo
    while decade <= hi * 1.0001:
        y = y_of(decade)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{W - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt_tick(decade)}</text>')
        decade *= 10
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{W - right}" y2="{top + plot_h}" stroke="#333"/>')
    for i, (label, weir, flink, ratio) in enumerate(rows):
        cx = left + group_w * (i + 0.5)
        tops = []
        for j, (s, key) in enumerate(((weir, "weir"), (flink, "flink"))):
            x = cx - bar_w - 2 if j == 0 else cx + 2
            if s.rate and s.status in ("ok", "unchecked", "mismatch"):
                y = y_of(s.rate)
                tops.append(y)
                out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                           f'height="{top + plot_h - y:.1f}" fill="{colors[key]}"/>')
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                           f'font-size="10">{esc(fmt_rate(s.rate).replace("/s", ""))}</text>')
            else:
                text = "not available yet" if s.status == "unavailable" else s.status.upper()
                yb = top + plot_h - 6
                out.append(f'<text transform="translate({x + bar_w / 2 + 4:.1f},{yb:.1f}) rotate(-90)" '
                           f'font-size="11" fill="#555">{esc(text)}</text>')
        if tops and ratio != "not available yet":
            out.append(f'<text x="{cx:.1f}" y="{min(tops) - 18:.1f}" text-anchor="middle" '
                       f'font-weight="bold">{esc(ratio)}</text>')
        lines = [ln for part in label.split("\n") for ln in textwrap.wrap(part, 15)]
        for k, part in enumerate(lines):
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 18 + 14 * k:.1f}" '
                       f'text-anchor="middle">{esc(part)}</text>')
    lx = left + 10
    for k, (name, key) in enumerate((("weir", "weir"), ("Flink 2.3 MiniCluster", "flink"))):
        out.append(f'<rect x="{lx + 200 * k}" y="{H - 28}" width="14" height="14" fill="{colors[key]}"/>')
        out.append(f'<text x="{lx + 200 * k + 20}" y="{H - 17}">{esc(name)}</text>')
    if note:
        out.append(f'<text x="{W - right}" y="{H - 36}" text-anchor="end">{esc(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def machine_facts(root: Path, flink_lib: Path) -> list[str]:
    def sh(cmd: list[str]) -> str:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"

    mem = "?"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    commit = sh(["git", "rev-parse", "--short=12", "HEAD"])
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, cwd=root).stdout.strip()
    installed = (flink_lib.parent / "INSTALLED").read_text().splitlines() if (
        flink_lib.parent / "INSTALLED").exists() else ["?"]
    return [
        f"machine: {os.cpu_count()} cores, {mem}, {platform.system()} {platform.release()}",
        f"weir: commit {commit}{' with uncommitted changes' if dirty else ''}; {sh(['rustc', '-V'])}",
        f"Flink: {installed[0]} (pyflink/lib jars), {sh(['java', '-version'])}",
    ]


def fmt_ms(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.0f} ms" if x >= 100 else f"{x:.1f} ms" if x >= 10 else f"{x:.2f} ms"


def check_cell(w: Workload, weir: Side, flink: Side) -> str:
    """How the two engines' checksums compare."""
    if weir.checked() and flink.checked():
        if w.is_recovery:
            return "both exact (every key restored once)"
        return "agree" if w.weir_records == w.flink_records else "both exact for their N"
    if "mismatch" in (weir.status, flink.status):
        return "MISMATCH"
    if weir.status == "unavailable":
        return "Flink exact" if flink.checked() else "–"
    return "–"


def recovery_rows(workloads: list[Workload], results) -> list[list[str]]:
    """The recovery table: median time from the failure to the first record after the restore."""
    rows = []
    for w in workloads:
        if not w.is_recovery:
            continue
        weir, flink = results[w.name]
        cells = []
        for s in (weir, flink):
            if s.status == "ok":
                cells.append(fmt_ms(s.recovery_median()))
            elif s.status == "unavailable":
                cells.append("not available yet")
            else:
                cells.append(s.status.upper())
        ratio = "–"
        wm, fm = weir.recovery_median(), flink.recovery_median()
        if weir.checked() and flink.checked() and wm is not None and fm:
            r = wm / fm
            ratio = f"{r:.3f}× ({'met' if r <= 0.1 else 'not met'})"
        runs = len(weir.recovery_ms) or len(flink.recovery_ms)
        rows.append([f"{w.title}: failure → first record after restore (median of {runs})",
                     cells[0], cells[1], ratio, w.goal, fmt_rss(weir.peak_rss_kib),
                     fmt_rss(flink.peak_rss_kib), check_cell(w, weir, flink)])
    return rows


RECOVERY_HEADER = ["figure", "weir", "Flink", "weir/Flink", "goal", "peak RSS weir",
                   "peak RSS Flink", "checks"]
THROUGHPUT_HEADER = ["workload", "records/run weir · Flink", "weir", "Flink", "weir/Flink", "goal",
                     "peak RSS weir", "peak RSS Flink", "checksums"]


def throughput_rows(workloads: list[Workload], results, weir_from: str):
    """The throughput table's rows, and the chart's (label, weir, Flink, ratio) rows."""
    table, chart = [], []
    for w in workloads:
        if not w.has_rate:
            continue
        weir, flink = results[w.name]
        ratio, r = ratio_cell(w, weir, flink)
        met = ""
        if w.goal_ratio is not None and r is not None:
            met = " (met)" if r >= w.goal_ratio else " (not met)"
        weir_n = w.weir_records if weir_from == "side" or weir.status == "unavailable" \
            else weir.records
        if weir_n == w.flink_records:
            recs = fmt_n(weir_n)
        else:
            recs = f"{fmt_n(weir_n) if weir_n else 'timed'} · {fmt_n(w.flink_records)}"
        table.append([w.title, recs, side_cell(weir), side_cell(flink), ratio,
                      (w.goal + met) if w.goal else "",
                      fmt_rss(weir.peak_rss_kib) if weir.status != "unavailable" else "–",
                      fmt_rss(flink.peak_rss_kib), check_cell(w, weir, flink)])
        label = w.title.replace(", ", "\n").replace("Nexmark q", "Nexmark\nq", 1)
        chart.append((label, weir, flink, ratio))
    return table, chart


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    print("  ".join(h.ljust(widths[i]) for i, h in enumerate(header)))
    print("  ".join("-" * widths[i] for i in range(len(header))))
    for row in rows:
        print("  ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)))


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |",
            *["| " + " | ".join(str(c) for c in row) + " |" for row in rows]]


def cpu_share(s: Side) -> str:
    if s.seconds <= 0:
        return "–"
    return f"{s.others_cpu_s:.2f} s in {s.seconds:.1f} s ({s.others_cpu_s / s.seconds * 100:.0f} %)"


def markdown(r) -> str:
    """benches/results/vs_flink.md for the finished run `r` (a vs_flink.Run)."""
    a, workloads, results = r.args, r.workloads, r.results
    sides = [s for pair in results.values() for s in pair if s.seconds > 0]
    others = sum(s.others_cpu_s for s in sides)
    engine_s = sum(s.seconds for s in sides)
    java_opts = os.environ.get("WEIR_FLINK_JAVA_OPTS", "")
    md = [
        "# weir vs Apache Flink, side by side", "",
        f"Measured {r.now:%Y-%m-%d %H:%M} UTC with:", "", "```", r.command, "```", "",
        *[f"- {f}" for f in r.facts],
        f"- other processes' CPU time while the engines ran: {others:.1f} s over {engine_s:.0f} s "
        f"of runs ({others / max(engine_s, 1e-9) * 100:.0f} % of one core; from /proc/stat less "
        "the runs' own rusage; per run below)",
        f"- weir side: {r.weir_how}",
        "- Flink JVM: `java <Flink's Java 17 --add-opens/--add-exports> -cp "
        f"<classes>:<pyflink/lib>/* weir.bench.flink.…`{' ' + java_opts if java_opts else ''} "
        "(default heap, so its peak RSS is mostly the JVM's heap sizing, not what the job needs; "
        "a local MiniCluster in the JVM)",
        f"- best of {a.runs} runs per engine and workload (recovery: median), all runs in one "
        "process per engine and workload (so the JVM's later runs are JIT-warm); peak RSS is that "
        f"process's, from {'`/usr/bin/time -v`' if os.access(TIME, os.X_OK) else 'the kernel rusage (ru_maxrss)'}",
        "- Flink's records/s use the job's net runtime (JobExecutionResult#getNetRuntime: "
        "deployment to finish, without the MiniCluster's start and stop); weir's use its "
        "`execute()` call (job start to finish)", "",
    ]
    if r.table:
        md += md_table(THROUGHPUT_HEADER, r.table) + [""]
    if r.extra:
        md += ["| figure | weir | Flink | goal |", "| --- | --- | --- | --- |"]
        md += [f"| {label} | {cw} | {cf} | {goal} |" for label, cw, cf, goal in r.extra] + [""]
    if r.recovery:
        md += md_table(RECOVERY_HEADER, r.recovery) + [""]
    md += [
        "![weir vs Flink, records/s per workload](vs_flink.svg)", "",
        "Workloads (parallelism 2 on both engines; sources `fromSequence(0, N-1)` / "
        "`generate_sequence(0, N-1)`):", "",
        "- stateless map/filter: `map(x * 3) → filter(x % 7 != 0) → sink`;",
        "- keyed count: `keyBy(x % 10 000) → KeyedProcessFunction` counting in `ValueState`, "
        "emitting (key, count) → sink; 1 s checkpoints into a local directory (Flink: "
        "`state.backend.type` hashmap or rocksdb, `execution.checkpointing.dir`);",
        f"- checkpoint overhead: the keyed count over {fmt_n(a.ckpt_keys)} keys (hashmap) with and "
        "without 1 s checkpoints. weir runs more records than Flink here so that its run, too, "
        "lasts seconds and takes several checkpoints; each engine's checksums are checked against "
        "the exact values for its own record count;",
        "- Nexmark q0–q3: `fromSequence → map(generator)` of Nexmark events (Person : Auction : "
        "Bid = 1 : 3 : 46, a deterministic generator written twice, benches/flink/nexmark_gen.rs "
        "and NexmarkGen.java, same events on both sides), no checkpoints; q0 every event, q1 "
        "every bid with price × 0.908 (integer cents: `price * 908 / 1000`), q2 bids with "
        "`auction % 123 == 0`, q3 persons of OR/ID/CA joined with category-10 auctions on seller "
        "(keyed function: person in `ValueState`, early auctions in `ListState`). Expected "
        "totals come from a plain single-threaded loop over the generator (`weir_side "
        "nexmark-reference`);",
        f"- recovery: the keyed count over {fmt_n(a.ckpt_keys)} keys with 1 s checkpoints and a "
        "fixed-delay restart strategy of delay 0; a probe after the count (subtask 0, attempt 0) "
        "fails once a checkpoint holding every key's state is complete; the time is from that "
        "failure to the first record any probe sees after the restore (attempt > 0). The sink "
        "checks the restore: every key must reach its exact total once and none pass it.", "",
        "Checksums: the sink of both engines counts the records reaching it and two wrapping "
        "sums (stateless: value and value mod 7; keyed: emitted count, which sums to "
        "Σ c(c+1)/2 over keys only if every key counted 1, 2, …, c, and key; Nexmark: per query, "
        "see benches/flink/nexmark.rs). The runner compares them with exact values before it "
        "prints any ratio; a difference prints MISMATCH and no ratio.", "",
        "Checkpoints completed (highest checkpoint id seen): " + ", ".join(
            f"{w.name} weir {results[w.name][0].last_checkpoint} / Flink "
            f"{results[w.name][1].last_checkpoint}" for w in workloads if w.checkpoint_ms) + ".",
        "",
        "All runs (records/s): " + "; ".join(
            f"{w.name}: weir {', '.join(fmt_rate(x) for x in results[w.name][0].rates) or '–'} · "
            f"Flink {', '.join(fmt_rate(x) for x in results[w.name][1].rates) or '–'}"
            for w in workloads if w.has_rate) + ".", "",
    ]
    for w in workloads:
        if w.is_recovery:
            weir, flink = results[w.name]
            md += [f"All recovery runs ({w.name}; weir {fmt_n(w.weir_records)}, Flink "
                   f"{fmt_n(w.flink_records)} records per run): weir "
                   f"{', '.join(fmt_ms(x) for x in weir.recovery_ms) or '–'} · Flink "
                   f"{', '.join(fmt_ms(x) for x in flink.recovery_ms) or '–'}; restarts per run: "
                   f"weir {weir.restarts or '–'}, Flink {flink.restarts or '–'}; weir's "
                   "`JobClient::downtime` (the supervisor's count, from the failure to the restarted "
                   f"tasks running): {', '.join(fmt_ms(x) for x in weir.downtime_ms) or '–'}.",
                   ""]
    md += ["Other processes' CPU time during each engine's process (share of one core; the "
           "kernel counts in 10 ms ticks, so sub-second processes read coarse): " + "; ".join(
               f"{w.name}: weir {cpu_share(results[w.name][0])} · Flink "
               f"{cpu_share(results[w.name][1])}" for w in workloads) + ".", ""]
    notes = [f"- {w.name} {s.engine}: {s.status}: {s.note}" for w in workloads
             for s in results[w.name] if s.note]
    if notes:
        md += ["Notes:", ""] + notes + [""]
    return "\n".join(md)


def recovery_note(workloads: list[Workload], results) -> str:
    """One line for the chart: the recovery figures, if measured."""
    for w in workloads:
        if w.is_recovery:
            weir, flink = results[w.name]
            wm, fm = weir.recovery_median(), flink.recovery_median()
            if weir.checked() and flink.checked() and wm is not None and fm:
                return (f"{w.title}, failure → first record: weir {fmt_ms(wm)}, "
                        f"Flink {fmt_ms(fm)} ({wm / fm:.3f}×)")
    return ""
